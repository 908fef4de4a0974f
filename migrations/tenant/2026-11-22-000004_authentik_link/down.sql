ALTER TABLE users DROP COLUMN authentik_uuid, DROP COLUMN authentik_pk;
