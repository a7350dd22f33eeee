-- Places become managed: a compound (小区) level between community and grid, archiving instead
-- of deleting, a building's units and floors, sibling names unique (the CSV import finds places
-- by them), and a change counter the nodes compare to forget the place paths they cached.
--
-- SQLite cannot alter a CHECK, so the table is rebuilt the documented way
-- (https://www.sqlite.org/lang_altertable.html#otheralter): with foreign keys off, create the
-- new table, copy, drop the old one, rename the new one, check the foreign keys, commit.
-- `PRAGMA foreign_keys` is ignored inside a transaction, and sqlx-sqlite 0.8 runs every
-- migration in one (it ignores `-- no-transaction`), so `SqlStore::connect` turns foreign
-- keys off on the connection that migrates, before the transaction begins, and on again
-- after. Ids are copied unchanged, so every reference (grants, issues, meetings, the audit
-- log) still points at the same place; the check at the end fails the migration otherwise.

CREATE TABLE places_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL
                CHECK (kind IN ('street', 'community', 'compound', 'grid', 'building')),
    parent_id   INTEGER REFERENCES places (id),
    name        TEXT    NOT NULL,
    name_zh     TEXT    NOT NULL,
    -- Unix ms; a place is never deleted (issues and meetings point at it), only archived.
    archived_at INTEGER,
    -- Buildings only.
    units       INTEGER CHECK (units > 0),
    floors      INTEGER CHECK (floors > 0),
    updated_at  INTEGER NOT NULL DEFAULT 0,
    CHECK ((kind = 'street') = (parent_id IS NULL)),
    CHECK (kind = 'building' OR (units IS NULL AND floors IS NULL))
);
INSERT INTO places_new (id, kind, parent_id, name, name_zh)
    SELECT id, kind, parent_id, name, name_zh FROM places;
DROP TABLE places;
ALTER TABLE places_new RENAME TO places;
CREATE INDEX places_parent ON places (parent_id);
CREATE UNIQUE INDEX places_sibling_name ON places (COALESCE(parent_id, 0), name_zh);

-- Bumped by every move: a node that sees it changed forgets the place paths it cached.
CREATE TABLE place_changes (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO place_changes (id, version) VALUES (1, 0);

-- Fails the migration (and so rolls nothing forward) should any reference now dangle.
CREATE TEMP TABLE places_fk_violations (n INTEGER CHECK (n = 0));
INSERT INTO places_fk_violations SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE places_fk_violations;
