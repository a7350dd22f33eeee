-- Sign-in sessions, so that tokens can be revoked (logout, logout everywhere), and the audit log
-- of privileged actions.

-- One row per sign-in. Both tokens of a session carry its id (`sid`); a refresh keeps the id
-- and spends the refresh token in force (`generation`), noting when (`rotated_at`): the token
-- just spent still works for a short while, for a second tab or process that raced the first.
-- A row may be deleted once its latest
-- refresh token has expired (`expires_at`): no token of it can be used after that.
CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    generation INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    rotated_at INTEGER
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_revoked ON sessions (revoked_at);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Who did what privileged action to what, where, when and with what outcome. Ids and names of
-- actions only: no message bodies, no personal data.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor_id   INTEGER NOT NULL REFERENCES accounts (id),
    action     TEXT    NOT NULL,
    -- What was acted on, written like a channel: `account:5`, `issue:12`, `meeting:3`.
    target     TEXT    NOT NULL,
    -- The place the action is about, and its street (what a street chief may read).
    place_id   INTEGER REFERENCES places (id),
    street_id  INTEGER REFERENCES places (id),
    -- A non-personal qualifier, e.g. the role granted.
    detail     TEXT,
    outcome    TEXT    NOT NULL CHECK (outcome IN ('ok', 'denied')),
    request_id TEXT
);
CREATE INDEX audit_log_street ON audit_log (street_id, id);
