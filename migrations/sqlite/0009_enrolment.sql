-- Staff invites: a single-use code, stored only as its SHA-256 (the code itself is shown once
-- to the inviter and sent by SMS), for a role at a place, expiring. Accepting one creates the
-- account and its grant; an invite is never deleted, so the audit trail keeps its id.
CREATE TABLE invites (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    code_hash      TEXT    NOT NULL UNIQUE,
    role           TEXT    NOT NULL CHECK (role IN ('resident', 'building_lead', 'grid_worker',
                       'community_official', 'street_chief', 'ops', 'admin')),
    place_id       INTEGER REFERENCES places (id),
    display_name   TEXT    NOT NULL,
    romanised_name TEXT,
    -- E.164, as `accounts.phone`.
    phone          TEXT,
    email          TEXT,
    invited_by     INTEGER NOT NULL REFERENCES accounts (id),
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    accepted_at    INTEGER,
    -- The account the invite made.
    account_id     INTEGER REFERENCES accounts (id),
    revoked_at     INTEGER,
    CHECK ((role IN ('ops', 'admin')) = (place_id IS NULL))
);
CREATE INDEX invites_phone ON invites (phone);
CREATE INDEX invites_place ON invites (place_id);
