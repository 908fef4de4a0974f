-- Sessions of the JSON API: one per token exchange. Its refresh tokens form a family;
-- revoking the session ends them all.
CREATE TABLE api_sessions (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ,
    revoked_reason TEXT,
    -- Whether the exchange found the person in the platform's super-admin group.
    platform_admin BOOLEAN NOT NULL DEFAULT false,
    ip             TEXT,
    user_agent     TEXT
);
CREATE INDEX api_sessions_user ON api_sessions (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens, stored as SHA-256 only. Each works once: using one issues the next.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES api_sessions (id) ON DELETE CASCADE,
    issued_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
