-- Verification codes (sent by SMS, for signing up and resetting a password) and one-time reset
-- codes an official hands a person, and residents' requests to live in a building.

-- A code is kept only as an HMAC under a key of the server's (`code_hash`, with a per-code
-- `salt`), never as typed. `phone` is set for SMS codes, `account_id` for an official's reset
-- code. `client_key` is an HMAC of the requesting address (IPv6: its /64), so the count per
-- address needs no address at rest. A row whose number has no account for a reset is still
-- written (`sent` 0): the per-number count then cannot tell enrolled numbers from others.
CREATE TABLE codes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    purpose     TEXT    NOT NULL CHECK (purpose IN ('signup', 'reset', 'official_reset')),
    phone       TEXT,
    account_id  INTEGER REFERENCES accounts (id),
    salt        TEXT    NOT NULL,
    code_hash   TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    used_at     INTEGER,
    sent        INTEGER NOT NULL DEFAULT 1,
    client_key  TEXT,
    created_by  INTEGER REFERENCES accounts (id)
);
CREATE INDEX codes_phone ON codes (phone, created_at);
CREATE INDEX codes_client ON codes (client_key, created_at);
CREATE INDEX codes_account ON codes (account_id, created_at);

-- A resident's request to be known as living in a building: made at sign-up or on a move,
-- decided by the community's officials, its street chief or an admin. Approving it grants the
-- resident role for the building's community.
CREATE TABLE residency_requests (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    building_id INTEGER NOT NULL REFERENCES places (id),
    state       TEXT    NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'approved', 'refused')),
    reason      TEXT,
    created_at  INTEGER NOT NULL,
    decided_at  INTEGER,
    decided_by  INTEGER REFERENCES accounts (id)
);
-- One open request per account at a time.
CREATE UNIQUE INDEX residency_one_pending ON residency_requests (account_id)
    WHERE state = 'pending';
CREATE INDEX residency_state ON residency_requests (state, id);
