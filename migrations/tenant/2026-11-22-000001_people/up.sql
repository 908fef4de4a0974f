-- Applied inside every tenant schema; names stay unqualified so search_path picks the schema.
CREATE TABLE users (
    id                UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email             TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    password_hash     TEXT,
    role              TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'member')),
    status            TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    external_id       TEXT UNIQUE,
    email_verified_at TIMESTAMPTZ,
    last_login_at     TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX users_role_status ON users (role, status);

CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_id    UUID,
    actor_email TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    ip          TEXT,
    user_agent  TEXT,
    details     JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_occurred_at ON audit_log (occurred_at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor_id, occurred_at DESC);
