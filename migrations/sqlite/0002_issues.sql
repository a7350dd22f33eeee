-- The issue loop: issues, their append-only timeline, followers, every resident's submission,
-- deadline clocks, and the results of applied commands (so a retried command applies once).

CREATE TABLE issues (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    category        TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    place_id        INTEGER NOT NULL REFERENCES places (id),
    -- The place's ancestors, copied so statistics and listings need no tree walk.
    grid_id         INTEGER NOT NULL REFERENCES places (id),
    community_id    INTEGER NOT NULL REFERENCES places (id),
    street_id       INTEGER NOT NULL REFERENCES places (id),
    lat             REAL,
    lon             REAL,
    reporter_id     INTEGER NOT NULL REFERENCES accounts (id),
    submitted_by    INTEGER NOT NULL REFERENCES accounts (id),
    public          INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    priority        TEXT    NOT NULL,
    level           TEXT    NOT NULL,
    assignee_id     INTEGER REFERENCES accounts (id),
    resolution      TEXT,
    closure_reason  TEXT,
    rated           INTEGER,
    duplicate_of    INTEGER REFERENCES issues (id),
    reopen_count    INTEGER NOT NULL DEFAULT 0,
    return_count    INTEGER NOT NULL DEFAULT 0,
    has_after_photo INTEGER NOT NULL DEFAULT 0,
    -- Bit per clock (accept 1, acknowledge 2, resolve 4, rate 8) ever missed; never cleared.
    overdue         INTEGER NOT NULL DEFAULT 0,
    satisfaction    TEXT,
    stars           INTEGER,
    created_at      INTEGER NOT NULL,
    accepted_at     INTEGER,
    resolved_at     INTEGER,
    closed_at       INTEGER,
    updated_at      INTEGER NOT NULL,
    -- Optimistic concurrency: every change checks and bumps it.
    version         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX issues_community ON issues (community_id, state);
CREATE INDEX issues_street ON issues (street_id, state);
CREATE INDEX issues_assignee ON issues (assignee_id, state);
CREATE INDEX issues_reporter ON issues (reporter_id);
CREATE INDEX issues_grid_category ON issues (grid_id, category, created_at);

-- Append-only: rows are inserted, never updated or deleted.
CREATE TABLE issue_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id   INTEGER NOT NULL REFERENCES issues (id),
    seq        INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    from_state TEXT,
    to_state   TEXT,
    actor_id   INTEGER REFERENCES accounts (id),
    visibility TEXT    NOT NULL CHECK (visibility IN ('public', 'internal')),
    body       TEXT,
    data       TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (issue_id, seq)
);

CREATE TABLE issue_followers (
    issue_id   INTEGER NOT NULL REFERENCES issues (id),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issue_id, account_id)
);
CREATE INDEX issue_followers_account ON issue_followers (account_id);

-- Every report, including those merged into another issue (first_issue_id keeps where it began).
CREATE TABLE issue_submissions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id       INTEGER NOT NULL REFERENCES issues (id),
    first_issue_id INTEGER NOT NULL REFERENCES issues (id),
    reporter_id    INTEGER NOT NULL REFERENCES accounts (id),
    submitted_by   INTEGER NOT NULL REFERENCES accounts (id),
    body           TEXT    NOT NULL,
    created_at     INTEGER NOT NULL
);

CREATE TABLE issue_deadlines (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id   INTEGER NOT NULL REFERENCES issues (id),
    clock      TEXT    NOT NULL CHECK (clock IN ('accept', 'acknowledge', 'resolve', 'rate')),
    started_at INTEGER NOT NULL,
    warn_at    INTEGER NOT NULL,
    due_at     INTEGER NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    warned     INTEGER NOT NULL DEFAULT 0,
    breached   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX issue_deadlines_issue ON issue_deadlines (issue_id, active);
CREATE INDEX issue_deadlines_warn ON issue_deadlines (active, warned, warn_at);
CREATE INDEX issue_deadlines_due ON issue_deadlines (active, breached, due_at);

CREATE TABLE applied_commands (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    request_id TEXT    NOT NULL,
    issue_id   INTEGER NOT NULL REFERENCES issues (id),
    reply      TEXT    NOT NULL,
    first_seq  INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, request_id)
);

-- Photos of an issue. The file lives in the data directory under its content hash.
CREATE TABLE issue_photos (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id    INTEGER NOT NULL REFERENCES issues (id),
    sha256      TEXT    NOT NULL,
    media_type  TEXT    NOT NULL CHECK (media_type IN ('jpeg', 'png', 'webp')),
    kind        TEXT    NOT NULL CHECK (kind IN ('before', 'after', 'evidence')),
    size        INTEGER NOT NULL,
    uploaded_by INTEGER NOT NULL REFERENCES accounts (id),
    created_at  INTEGER NOT NULL
);
CREATE INDEX issue_photos_issue ON issue_photos (issue_id);
