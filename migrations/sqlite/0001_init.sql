-- The spine: places, accounts with role grants, meetings (their rooms), channel messages.
-- Times are Unix milliseconds in INTEGER columns, the same in both backends.

CREATE TABLE places (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL CHECK (kind IN ('street', 'community', 'grid', 'building')),
    parent_id  INTEGER REFERENCES places (id),
    name       TEXT    NOT NULL,
    name_zh    TEXT    NOT NULL,
    -- A street has no parent; every other place has one.
    CHECK ((kind = 'street') = (parent_id IS NULL))
);
CREATE INDEX places_parent ON places (parent_id);

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE role_grants (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    role       TEXT    NOT NULL CHECK (role IN ('resident', 'building_lead', 'grid_worker',
                   'community_official', 'street_chief', 'ops', 'admin')),
    -- Ops and admin hold no scope.
    place_id   INTEGER REFERENCES places (id),
    CHECK ((role IN ('ops', 'admin')) = (place_id IS NULL))
);
CREATE UNIQUE INDEX role_grants_unique ON role_grants (account_id, role, COALESCE(place_id, 0));

CREATE TABLE meetings (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL CHECK (kind IN ('hearing', 'mediation', 'appraisal', 'general')),
    title      TEXT    NOT NULL,
    place_id   INTEGER NOT NULL REFERENCES places (id),
    chair_id   INTEGER NOT NULL REFERENCES accounts (id),
    created_at INTEGER NOT NULL
);

-- Messages posted to channels. (author_id, request_id) makes a retried post apply once.
CREATE TABLE messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel     TEXT    NOT NULL,
    author_id   INTEGER NOT NULL REFERENCES accounts (id),
    author_role TEXT,
    request_id  TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (author_id, request_id)
);
CREATE INDEX messages_channel ON messages (channel, id);
