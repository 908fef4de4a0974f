DROP INDEX tenants_purge_due;
ALTER TABLE tenants
    DROP COLUMN purged_at,
    DROP COLUMN purge_after,
    DROP COLUMN delete_requested_by,
    DROP COLUMN delete_requested_at,
    DROP COLUMN status_before_delete;
ALTER TABLE tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check
    CHECK (status IN ('active', 'suspended'));
