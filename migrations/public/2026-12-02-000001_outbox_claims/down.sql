ALTER TABLE authentik_outbox DROP COLUMN claimed_by;
