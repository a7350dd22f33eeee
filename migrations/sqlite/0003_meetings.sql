-- The living room: a meeting's lifecycle and members, its append-only log (every action in the
-- room, so late joiners catch up exactly), and its votes with ballots kept apart from voters.

ALTER TABLE meetings ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN state TEXT NOT NULL DEFAULT 'published';
ALTER TABLE meetings ADD COLUMN secretary_id INTEGER REFERENCES accounts (id);
-- Private meetings (mediations) are seen only by their members.
ALTER TABLE meetings ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meetings ADD COLUMN agenda TEXT NOT NULL DEFAULT '[]';
ALTER TABLE meetings ADD COLUMN starts_at INTEGER;
ALTER TABLE meetings ADD COLUMN minutes TEXT;
-- The seq of the last log entry: every action checks and moves it.
ALTER TABLE meetings ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;

-- Parties and mediators of a mediation, representatives of a hearing, voters of an appraisal.
CREATE TABLE meeting_members (
    meeting_id INTEGER NOT NULL REFERENCES meetings (id),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    role       TEXT    NOT NULL CHECK (role IN ('party', 'mediator', 'representative')),
    PRIMARY KEY (meeting_id, account_id)
);

-- Append-only.
CREATE TABLE meeting_events (
    meeting_id INTEGER NOT NULL REFERENCES meetings (id),
    seq        INTEGER NOT NULL,
    actor_id   INTEGER REFERENCES accounts (id),
    kind       TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (meeting_id, seq)
);

-- One receipt per voter and vote: what stops a second ballot, also when two race.
CREATE TABLE vote_receipts (
    meeting_id INTEGER NOT NULL REFERENCES meetings (id),
    vote_no    INTEGER NOT NULL,
    voter_id   INTEGER NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (meeting_id, vote_no, voter_id)
) WITHOUT ROWID;

-- The ballots. An anonymous ballot has a random id, no voter and no time, so nothing in the
-- store links it back to its receipt. WITHOUT ROWID (here and for receipts): rows are kept in
-- key order, random for ballots, by voter for receipts, so not even insertion order is left.
CREATE TABLE vote_ballots (
    ballot_id  TEXT    PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings (id),
    vote_no    INTEGER NOT NULL,
    voter_id   INTEGER REFERENCES accounts (id),
    choices    TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX vote_ballots_vote ON vote_ballots (meeting_id, vote_no);

-- Results of applied room commands, so a retried command applies once.
CREATE TABLE meeting_commands (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    request_id TEXT    NOT NULL,
    meeting_id INTEGER NOT NULL REFERENCES meetings (id),
    last_seq   INTEGER NOT NULL,
    PRIMARY KEY (account_id, request_id)
);
