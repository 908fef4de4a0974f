-- People invited by an admin, until they accept. Only a SHA-256 of the token is kept.
CREATE TABLE invitations (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'member')),
    token_hash  TEXT NOT NULL UNIQUE,
    invited_by  UUID REFERENCES users (id) ON DELETE SET NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    accepted_at TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    sent_count  INT NOT NULL DEFAULT 1,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- At most one open invitation per address.
CREATE UNIQUE INDEX invitations_open_email ON invitations (email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- The members list searches and sorts by these.
CREATE INDEX users_lower_name ON users (lower(name), id);
-- "Contains" search over email and name (pg_trgm lives in public).
CREATE INDEX users_search ON users
    USING gin ((lower(email) || ' ' || lower(name)) public.gin_trgm_ops);
CREATE INDEX users_created_at ON users (created_at DESC, id);
CREATE INDEX audit_log_action ON audit_log (action, occurred_at DESC);
