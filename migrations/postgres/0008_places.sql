-- Places become managed: a compound (小区) level between community and grid, archiving instead
-- of deleting, a building's units and floors, sibling names unique (the CSV import finds places
-- by them), and a change counter the nodes compare to forget the place paths they cached.
-- Kept in step with ../sqlite/0008_places.sql.
ALTER TABLE places DROP CONSTRAINT places_kind_check;
ALTER TABLE places ADD CONSTRAINT places_kind_check
    CHECK (kind IN ('street', 'community', 'compound', 'grid', 'building'));
ALTER TABLE places
    ADD COLUMN archived_at BIGINT,
    ADD COLUMN units       BIGINT CHECK (units > 0),
    ADD COLUMN floors      BIGINT CHECK (floors > 0),
    ADD COLUMN updated_at  BIGINT NOT NULL DEFAULT 0;
ALTER TABLE places ADD CONSTRAINT places_building_attributes
    CHECK (kind = 'building' OR (units IS NULL AND floors IS NULL));
CREATE UNIQUE INDEX places_sibling_name ON places (COALESCE(parent_id, 0), name_zh);

CREATE TABLE place_changes (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO place_changes (id, version) VALUES (1, 0);
