-- Ready, fully migrated schemas waiting for a new organization: sign-up renames one
-- instead of building a schema and its tables while the person waits. A row exists
-- exactly while its schema is spare; taking one deletes the row in the transaction
-- that renames the schema, so a spare is never given twice.
CREATE TABLE spare_schemas (
    schema_name TEXT PRIMARY KEY CHECK (schema_name ~ '^spare_[0-9a-f]{32}$'),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
