-- Notifications: a stored inbox per person, what each person wants to be told and how, and
-- the durable outboxes that turn what happened into inbox entries and deliveries beyond the
-- socket (Web Push, the webhook relay for SMS/WeChat, email).

-- The language a person's notifications are written in, and quiet hours (minutes after local
-- midnight in the deployment's time zone; both NULL: none) during which only urgent kinds
-- are pushed at once.
ALTER TABLE accounts ADD COLUMN language TEXT NOT NULL DEFAULT 'zh';
ALTER TABLE accounts ADD COLUMN quiet_start INTEGER;
ALTER TABLE accounts ADD COLUMN quiet_end INTEGER;

-- What happened and may tell someone: written in the same transaction as the change that
-- caused it (an issue step, a meeting starting, an appraisal opening), then expanded into
-- notifications by one node at a time (`claimed_by` / `claimed_until`, a lease that lapses
-- when that node dies). `cause` is JSON (domain::notify::Cause).
CREATE TABLE notify_causes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    cause         TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_by    TEXT,
    claimed_until INTEGER,
    done_at       INTEGER
);
CREATE INDEX notify_causes_pending ON notify_causes (done_at, id);

-- One person's notification, written in their language when it was made. `dedupe_key` names
-- the cause and the step, so expanding a cause twice makes nothing twice.
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    kind         TEXT    NOT NULL,
    subject_kind TEXT    NOT NULL,
    subject_id   INTEGER NOT NULL,
    title        TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    urgent       INTEGER NOT NULL DEFAULT 0,
    dedupe_key   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    read_at      INTEGER,
    UNIQUE (account_id, dedupe_key)
);
CREATE INDEX notifications_inbox ON notifications (account_id, id);
CREATE INDEX notifications_subject ON notifications (account_id, subject_kind, subject_id);
CREATE INDEX notifications_age ON notifications (created_at);

-- A person's choice for one kind on one channel; no row: the kind's default.
CREATE TABLE notify_prefs (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    kind       TEXT    NOT NULL,
    channel    TEXT    NOT NULL CHECK (channel IN ('push', 'webhook', 'email')),
    enabled    INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, channel)
);

-- A browser's Web Push subscription (RFC 8030): where to post and the keys to encrypt for
-- (RFC 8291). Removed when the push service answers 404 or 410.
CREATE TABLE push_subscriptions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    endpoint     TEXT    NOT NULL UNIQUE,
    p256dh       TEXT    NOT NULL,
    auth         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX push_subscriptions_account ON push_subscriptions (account_id);

-- One send on one channel to one target (a push subscription's id, a phone number, an email
-- address): delivered at least once, retried with backoff, dead after the last attempt.
-- `idempotency_key` is sent along so a receiver can drop a repeat. `payload` holds what is
-- sent when it is not a notification's (a digest).
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id INTEGER REFERENCES notifications (id) ON DELETE CASCADE,
    account_id      INTEGER NOT NULL REFERENCES accounts (id),
    channel         TEXT    NOT NULL CHECK (channel IN ('push', 'webhook', 'email')),
    target          TEXT    NOT NULL,
    payload         TEXT,
    state           TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'sent', 'skipped', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL,
    claimed_by      TEXT,
    claimed_until   INTEGER,
    last_error      TEXT,
    idempotency_key TEXT    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    done_at         INTEGER
);
CREATE INDEX deliveries_due ON deliveries (state, next_at);
CREATE INDEX deliveries_notification ON deliveries (notification_id);

-- One digest per person per local day: the insert is the claim, so several nodes send one.
CREATE TABLE digests (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    day        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, day)
);
