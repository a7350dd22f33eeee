-- Kept in step with ../sqlite/0003_meetings.sql.
-- The living room: a meeting's lifecycle and members, its append-only log (every action in the
-- room, so late joiners catch up exactly), and its votes with ballots kept apart from voters.

ALTER TABLE meetings ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE meetings ADD COLUMN state TEXT NOT NULL DEFAULT 'published';
ALTER TABLE meetings ADD COLUMN secretary_id BIGINT  REFERENCES accounts (id);
-- Private meetings (mediations) are seen only by their members.
ALTER TABLE meetings ADD COLUMN private BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE meetings ADD COLUMN agenda TEXT NOT NULL DEFAULT '[]';
ALTER TABLE meetings ADD COLUMN starts_at BIGINT;
ALTER TABLE meetings ADD COLUMN minutes TEXT;
-- The seq of the last log entry: every action checks and moves it.
ALTER TABLE meetings ADD COLUMN last_seq BIGINT  NOT NULL DEFAULT 0;

-- Parties and mediators of a mediation, representatives of a hearing, voters of an appraisal.
CREATE TABLE meeting_members (
    meeting_id BIGINT  NOT NULL REFERENCES meetings (id),
    account_id BIGINT  NOT NULL REFERENCES accounts (id),
    role       TEXT    NOT NULL CHECK (role IN ('party', 'mediator', 'representative')),
    PRIMARY KEY (meeting_id, account_id)
);

-- Append-only.
CREATE TABLE meeting_events (
    meeting_id BIGINT  NOT NULL REFERENCES meetings (id),
    seq        BIGINT  NOT NULL,
    actor_id   BIGINT  REFERENCES accounts (id),
    kind       TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (meeting_id, seq)
);

-- One receipt per voter and vote: what stops a second ballot, also when two race.
CREATE TABLE vote_receipts (
    meeting_id BIGINT  NOT NULL REFERENCES meetings (id),
    vote_no    BIGINT  NOT NULL,
    voter_id   BIGINT  NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (meeting_id, vote_no, voter_id)
);

-- The ballots. An anonymous ballot has a random id, no voter and no time, so nothing in the
-- store links it back to its receipt.
CREATE TABLE vote_ballots (
    ballot_id  TEXT    PRIMARY KEY,
    meeting_id BIGINT  NOT NULL REFERENCES meetings (id),
    vote_no    BIGINT  NOT NULL,
    voter_id   BIGINT  REFERENCES accounts (id),
    choices    TEXT    NOT NULL
);
CREATE INDEX vote_ballots_vote ON vote_ballots (meeting_id, vote_no);

-- Results of applied room commands, so a retried command applies once.
CREATE TABLE meeting_commands (
    account_id BIGINT  NOT NULL REFERENCES accounts (id),
    request_id TEXT    NOT NULL,
    meeting_id BIGINT  NOT NULL REFERENCES meetings (id),
    last_seq   BIGINT  NOT NULL,
    PRIMARY KEY (account_id, request_id)
);
