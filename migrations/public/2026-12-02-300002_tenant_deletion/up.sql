-- Deleting an organization: `deleting` right away (nobody signs in; a platform admin
-- can restore it until `purge_after`), then `deleted` once a background job has
-- dropped its schema. The `deleted` row stays as a tombstone: its slug is never
-- handed out again by accident.
ALTER TABLE tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check
    CHECK (status IN ('active', 'suspended', 'deleting', 'deleted'));
ALTER TABLE tenants
    -- The status to go back to when a deletion is undone.
    ADD COLUMN status_before_delete TEXT,
    ADD COLUMN delete_requested_at  TIMESTAMPTZ,
    ADD COLUMN delete_requested_by  TEXT,
    ADD COLUMN purge_after          TIMESTAMPTZ,
    ADD COLUMN purged_at            TIMESTAMPTZ;
-- The purge job's question: which deletions are due?
CREATE INDEX tenants_purge_due ON tenants (purge_after) WHERE status = 'deleting';
