-- The Authentik user a person is linked to (its integer pk and its uuid), once the
-- outbox worker has found or created it.
ALTER TABLE users ADD COLUMN authentik_pk BIGINT, ADD COLUMN authentik_uuid UUID;
