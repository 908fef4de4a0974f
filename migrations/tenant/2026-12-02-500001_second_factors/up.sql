-- Second factors of local accounts: passkeys (WebAuthn), an authenticator app (TOTP)
-- and single-use recovery codes; and the organization's rule for who must have one.
ALTER TABLE tenant_settings
    ADD COLUMN second_factor TEXT NOT NULL DEFAULT 'optional'
        CHECK (second_factor IN ('optional', 'admins', 'everyone')),
    ADD COLUMN passkey_sign_in BOOLEAN NOT NULL DEFAULT TRUE;

-- One row per registered passkey. `credential` is the relying party's stored state of
-- the credential (public key, sign count, backup flags) as the WebAuthn library keeps
-- it; `credential_id` is the authenticator's id, unique within the organization.
CREATE TABLE passkeys (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 60),
    credential_id BYTEA NOT NULL UNIQUE,
    credential    JSONB NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at  TIMESTAMPTZ
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

-- At most one authenticator app per person. The secret is sealed with a key derived
-- from SECRET_KEY; it counts only once `confirmed_at` is set (a first code was right).
-- `last_used_step` is the time step of the last accepted code, so no code is accepted
-- twice.
CREATE TABLE totp_factors (
    user_id        UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed  BYTEA NOT NULL,
    confirmed_at   TIMESTAMPTZ,
    last_used_step BIGINT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Single-use recovery codes, stored hashed; a new set replaces the old one.
CREATE TABLE recovery_codes (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
