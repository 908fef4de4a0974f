-- Single sign-on: an organization may require staff and admins to sign in through the
-- identity provider, never with a local password.
ALTER TABLE tenant_settings
    ADD COLUMN require_sso_for_staff BOOLEAN NOT NULL DEFAULT false;
