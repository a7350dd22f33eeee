-- Appraisals (政务评议会): a meeting of kind 'appraisal' whose electorate (the meeting's
-- 'representative' members) scores appraisees on weighted dimensions, one ballot each.

-- The setup (appraisees, dimensions, low-score threshold) is JSON, fixed at creation.
-- `revision` moves with every change (state, ballot, void): writes check it, and live events
-- are keyed by it. It counts nothing: the tally is always recomputed from the ballots.
CREATE TABLE appraisals (
    meeting_id   INTEGER PRIMARY KEY REFERENCES meetings (id),
    state        TEXT    NOT NULL DEFAULT 'prepared'
                         CHECK (state IN ('prepared', 'balloting', 'counting', 'published')),
    anonymous    INTEGER NOT NULL CHECK (anonymous IN (0, 1)),
    setup        TEXT    NOT NULL,
    revision     INTEGER NOT NULL DEFAULT 0,
    opened_at    INTEGER,
    closed_at    INTEGER,
    published_at INTEGER
);

-- One receipt per elector: what stops a second ballot, also when two race. The request id
-- lets a retried ballot be answered as the first was.
CREATE TABLE appraisal_receipts (
    meeting_id INTEGER NOT NULL REFERENCES appraisals (meeting_id),
    voter_id   INTEGER NOT NULL REFERENCES accounts (id),
    request_id TEXT,
    PRIMARY KEY (meeting_id, voter_id)
) WITHOUT ROWID;

-- The ballots. An anonymous ballot has a random id, no voter and no time, so nothing in the
-- store links it back to its receipt; WITHOUT ROWID keeps rows in key order (random for
-- ballots, by voter for receipts), so not even insertion order is left. A voided ballot stays,
-- with its reason.
CREATE TABLE appraisal_ballots (
    ballot_id   TEXT    PRIMARY KEY,
    meeting_id  INTEGER NOT NULL REFERENCES appraisals (meeting_id),
    voter_id    INTEGER REFERENCES accounts (id),
    cast_at     INTEGER,
    scores      TEXT    NOT NULL,
    grades      TEXT    NOT NULL,
    comment     TEXT,
    status      TEXT    NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'void')),
    void_reason TEXT,
    CHECK ((status = 'void') = (void_reason IS NOT NULL))
) WITHOUT ROWID;
CREATE INDEX appraisal_ballots_meeting ON appraisal_ballots (meeting_id);

-- Every change made to a ballot while counting: who, when, which ballot, why. Append-only.
CREATE TABLE appraisal_ballot_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id INTEGER NOT NULL REFERENCES appraisals (meeting_id),
    ballot_id  TEXT    NOT NULL REFERENCES appraisal_ballots (ballot_id),
    change     TEXT    NOT NULL CHECK (change IN ('void')),
    reason     TEXT    NOT NULL,
    actor_id   INTEGER NOT NULL REFERENCES accounts (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX appraisal_ballot_changes_meeting ON appraisal_ballot_changes (meeting_id);

-- Rectification items opened on publication for low scores, one per appraisee at most.
CREATE TABLE appraisal_follow_ups (
    meeting_id   INTEGER NOT NULL REFERENCES appraisals (meeting_id),
    appraisee    INTEGER NOT NULL,
    title        TEXT    NOT NULL,
    owner_id     INTEGER NOT NULL REFERENCES accounts (id),
    due_at       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (meeting_id, appraisee)
);
