-- Trigram indexes make "contains" searches (members by name or email) fast. pg_trgm
-- ships with PostgreSQL and is a trusted extension: the database owner may add it.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
