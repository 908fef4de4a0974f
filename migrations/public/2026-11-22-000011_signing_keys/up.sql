-- The portal's keys for signing its access tokens. The private half is sealed with a
-- key derived from SECRET_KEY, so a database dump cannot mint tokens. A key is
-- published from its creation, signs from `activates_at` until the next key
-- activates, and stays published until the tokens it signed have expired.
CREATE TABLE signing_keys (
    kid                TEXT PRIMARY KEY,
    algorithm          TEXT NOT NULL CHECK (algorithm = 'EdDSA'),
    public_key         BYTEA NOT NULL,
    sealed_private_key BYTEA NOT NULL,
    activates_at       TIMESTAMPTZ NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
