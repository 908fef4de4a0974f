DELETE FROM authentik_outbox WHERE kind = 'tenant_deleted';
ALTER TABLE authentik_outbox DROP CONSTRAINT authentik_outbox_kind_check;
ALTER TABLE authentik_outbox ADD CONSTRAINT authentik_outbox_kind_check
    CHECK (kind IN ('tenant_created', 'person_changed'));
