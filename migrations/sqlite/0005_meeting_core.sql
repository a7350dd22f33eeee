-- Meetings made over the API: the state their log starts from, capacity and registration with a
-- waiting list and check-in codes, and the issues a meeting is about.

-- Seeded meetings start published; meetings made over the API start as drafts.
ALTER TABLE meetings ADD COLUMN initial_state TEXT NOT NULL DEFAULT 'published';
-- A hearing held in rounds links the round before.
ALTER TABLE meetings ADD COLUMN previous_round INTEGER REFERENCES meetings (id);
-- A hearing's published decision (its follow-up items are in the log entry).
ALTER TABLE meetings ADD COLUMN decision TEXT;
-- Seats; absent means unlimited.
ALTER TABLE meetings ADD COLUMN capacity INTEGER;

CREATE TABLE meeting_registrations (
    meeting_id    INTEGER NOT NULL REFERENCES meetings (id),
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    status        TEXT    NOT NULL CHECK (status IN ('registered', 'waiting', 'cancelled')),
    -- Shown at the door (or as a QR code) to check in.
    code          TEXT    NOT NULL,
    registered_at INTEGER NOT NULL,
    checked_in_at INTEGER,
    PRIMARY KEY (meeting_id, account_id)
);
CREATE UNIQUE INDEX meeting_registrations_code ON meeting_registrations (meeting_id, code);

CREATE TABLE meeting_issues (
    meeting_id INTEGER NOT NULL REFERENCES meetings (id),
    issue_id   INTEGER NOT NULL REFERENCES issues (id),
    PRIMARY KEY (meeting_id, issue_id)
);
