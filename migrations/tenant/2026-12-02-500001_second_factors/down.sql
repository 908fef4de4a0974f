DROP TABLE recovery_codes;
DROP TABLE totp_factors;
DROP TABLE passkeys;
ALTER TABLE tenant_settings DROP COLUMN passkey_sign_in, DROP COLUMN second_factor;
