//! Migrations: `migrations/public` for the registry, `migrations/tenant` for every
//! tenant schema. Both are compiled into the binary.

use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::domain::SchemaName;

/// Migrations of the `public` schema.
pub const PUBLIC: EmbeddedMigrations = embed_migrations!("migrations/public");
/// Migrations applied inside every tenant schema.
pub const TENANT: EmbeddedMigrations = embed_migrations!("migrations/tenant");

/// Serializes migrations between processes (two `portal migrate` at once).
const MIGRATION_LOCK: i64 = 0x7465_6e61_6e74;

fn run(conn: &mut PgConnection, set: EmbeddedMigrations) -> anyhow::Result<usize> {
    let applied = conn
        .run_pending_migrations(set)
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    Ok(applied.len())
}

/// Applies pending public migrations; returns how many ran.
pub fn migrate_public(conn: &mut PgConnection) -> anyhow::Result<usize> {
    conn.transaction(|conn| {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
            .execute(conn)?;
        diesel::sql_query("SET LOCAL search_path TO public").execute(conn)?;
        run(conn, PUBLIC)
    })
}

/// Creates the tenant's schema if needed and applies pending tenant migrations in it.
///
/// Runs inside the caller's transaction when there is one (sign-up creates the registry
/// row, the schema and the first person atomically). Only the tenant schema is on the
/// search path, so the migrations' bookkeeping table lands in the tenant schema too.
pub fn migrate_tenant(conn: &mut PgConnection, schema: &SchemaName) -> anyhow::Result<usize> {
    conn.transaction(|conn| {
        let quoted = schema.quoted();
        diesel::sql_query(format!("CREATE SCHEMA IF NOT EXISTS {quoted}")).execute(conn)?;
        diesel::sql_query(format!("SET LOCAL search_path TO {quoted}")).execute(conn)?;
        let n = run(conn, TENANT)?;
        // Later statements of an enclosing transaction expect the registry visible too.
        diesel::sql_query(format!("SET LOCAL search_path TO {quoted}, public")).execute(conn)?;
        Ok(n)
    })
}
