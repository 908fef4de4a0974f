-- A purged organization's Authentik groups are deleted through the outbox too.
ALTER TABLE authentik_outbox DROP CONSTRAINT authentik_outbox_kind_check;
ALTER TABLE authentik_outbox ADD CONSTRAINT authentik_outbox_kind_check
    CHECK (kind IN ('tenant_created', 'person_changed', 'tenant_deleted'));
