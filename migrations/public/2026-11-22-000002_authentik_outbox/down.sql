DROP TABLE authentik_outbox;
