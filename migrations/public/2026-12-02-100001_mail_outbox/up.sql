-- Mail waiting to leave. A row is written in the same transaction as what it announces
-- (a sign-up, an invitation, a reset request), so a mail server that is down or a
-- restart loses nothing; the server's mail worker sends due rows and retries with
-- backoff. The body may hold a live link: it is emptied once the mail has left, and
-- sent rows are deleted after a while.
CREATE TABLE mail_outbox (
    id              BIGSERIAL PRIMARY KEY,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_by      UUID,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- The worker's claim: due pending rows, oldest first.
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, id) WHERE status = 'pending';
-- Trimming settled rows.
CREATE INDEX mail_outbox_settled ON mail_outbox (updated_at) WHERE status <> 'pending';
