-- What the platform's organization list shows, kept in the registry so that a page of
-- organizations reads this table only, never a tenant schema. A trigger on each tenant's
-- `users` table (tenant migration of the same name) keeps these columns current in the
-- same transaction as the membership change; that migration also backfills them.
ALTER TABLE tenants
    ADD COLUMN member_count     INT NOT NULL DEFAULT 0,
    ADD COLUMN admin_count      INT NOT NULL DEFAULT 0,
    -- The active admins' addresses, space-separated: searched, and shown on the
    -- organization's page.
    ADD COLUMN admin_emails     TEXT NOT NULL DEFAULT '',
    ADD COLUMN last_activity_at TIMESTAMPTZ;

-- "Contains" search over slug, name and admin addresses at 10,000 organizations.
CREATE INDEX tenants_search ON tenants
    USING gin ((slug || ' ' || name || ' ' || admin_emails) public.gin_trgm_ops);
-- Keyset pages of one status, by slug.
CREATE INDEX tenants_status_slug ON tenants (status, slug);
-- The platform audit log, filtered by organization or actor, newest first.
CREATE INDEX platform_audit_log_target ON platform_audit_log (target, id DESC);
CREATE INDEX platform_audit_log_actor ON platform_audit_log (actor, id DESC);
