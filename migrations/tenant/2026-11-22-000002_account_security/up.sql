-- Failed sign-ins per email address, whether or not a person has that address, so a
-- lock looks the same for known and unknown emails.
CREATE TABLE login_throttle (
    email        TEXT PRIMARY KEY,
    failures     INT NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Single-use links mailed to a person: password reset, email verification.
-- Only a SHA-256 of the token is stored.
CREATE TABLE user_tokens (
    id         UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose);

-- The organization's own rules; exactly one row.
CREATE TABLE tenant_settings (
    id                         BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    registration               TEXT NOT NULL DEFAULT 'invite_only'
                               CHECK (registration IN ('open', 'invite_only', 'domains')),
    allowed_domains            TEXT[] NOT NULL DEFAULT '{}',
    password_login             BOOLEAN NOT NULL DEFAULT true,
    require_email_verification BOOLEAN NOT NULL DEFAULT false,
    updated_at                 TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO tenant_settings DEFAULT VALUES;
