ALTER TABLE tenant_settings DROP COLUMN require_sso_for_staff;
