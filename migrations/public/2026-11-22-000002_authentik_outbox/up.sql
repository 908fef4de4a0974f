-- Changes waiting to reach Authentik. A row is written in the same transaction as the
-- local change it mirrors, so nothing is lost when Authentik is down; the server's
-- worker delivers rows in order per ordering_key (a tenant, or a person's email).
CREATE TABLE authentik_outbox (
    id              BIGSERIAL PRIMARY KEY,
    ordering_key    TEXT NOT NULL,
    tenant_slug     TEXT NOT NULL,
    person_id       UUID,
    kind            TEXT NOT NULL CHECK (kind IN ('tenant_created', 'person_changed')),
    payload         JSONB NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    attempts        INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- The worker's claim: due pending rows, oldest first.
CREATE INDEX authentik_outbox_due ON authentik_outbox (next_attempt_at, id) WHERE status = 'pending';
-- "Is an earlier row of this key still pending?"
CREATE INDEX authentik_outbox_key ON authentik_outbox (ordering_key, id) WHERE status = 'pending';
-- Dashboard and status counts per tenant.
CREATE INDEX authentik_outbox_tenant ON authentik_outbox (tenant_slug, status) WHERE status <> 'done';
