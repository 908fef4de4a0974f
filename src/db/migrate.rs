//! Migrations: `migrations/public` for the registry, `migrations/tenant` for every
//! tenant schema. Both are compiled into the binary.

use diesel::migration::Migration;
use diesel::{Connection, PgConnection, QueryResult, RunQueryDsl};
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
        lock_schema(conn, schema)?;
        diesel::sql_query(format!("CREATE SCHEMA IF NOT EXISTS {quoted}")).execute(conn)?;
        diesel::sql_query(format!("SET LOCAL search_path TO {quoted}")).execute(conn)?;
        let n = run(conn, TENANT)?;
        // Later statements of an enclosing transaction expect the registry visible too.
        diesel::sql_query(format!("SET LOCAL search_path TO {quoted}, public")).execute(conn)?;
        Ok(n)
    })
}

/// Two `portal migrate` runs (or a run and a sign-up) never migrate one schema at once:
/// the second waits for the first's transaction and then finds nothing pending.
fn lock_schema(conn: &mut PgConnection, schema: &SchemaName) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind::<diesel::sql_types::Integer, _>(SCHEMA_LOCK_SPACE)
        .bind::<diesel::sql_types::Text, _>(schema.as_str())
        .execute(conn)
        .map(drop)
}

/// The first key of the per-schema advisory locks (the second is the name's hash).
const SCHEMA_LOCK_SPACE: i32 = 0x7465_6e74;

/// Migrates one existing schema as `portal migrate` does for a running portal: in its
/// own transaction (a crash leaves it fully migrated or untouched), and giving up on a
/// table lock after `lock_timeout` rather than queueing the portal's own queries behind
/// a migration that waits for a busy table.
pub fn migrate_existing(
    conn: &mut PgConnection,
    schema: &SchemaName,
    lock_timeout: std::time::Duration,
) -> anyhow::Result<usize> {
    conn.transaction(|conn| {
        let ms = lock_timeout.as_millis().max(1);
        diesel::sql_query(format!("SET LOCAL lock_timeout = {ms}")).execute(conn)?;
        migrate_tenant(conn, schema)
    })
}

/// The names of the tenant migrations that have not run in `schema` yet (all of them
/// when the schema does not exist). Changes nothing: diesel creates its bookkeeping
/// table on the way, so the look runs in a transaction that is rolled back.
pub fn pending_tenant(conn: &mut PgConnection, schema: &SchemaName) -> anyhow::Result<Vec<String>> {
    let quoted = schema.quoted();
    pending_in(
        conn,
        &[
            format!("CREATE SCHEMA IF NOT EXISTS {quoted}"),
            format!("SET LOCAL search_path TO {quoted}"),
        ],
        TENANT,
    )
}

/// The names of the registry migrations that have not run yet; changes nothing.
pub fn pending_public(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    pending_in(
        conn,
        &["SET LOCAL search_path TO public".to_string()],
        PUBLIC,
    )
}

/// The migrations of `source` not yet applied where `setup` points, read in a
/// transaction that is always rolled back.
fn pending_in(
    conn: &mut PgConnection,
    setup: &[String],
    source: EmbeddedMigrations,
) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    let outcome = conn.transaction::<(), anyhow::Error, _>(|conn| {
        for statement in setup {
            diesel::sql_query(statement).execute(conn)?;
        }
        names = conn
            .pending_migrations(source)
            .map_err(|e| anyhow::anyhow!("cannot read the applied migrations: {e}"))?
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        Err(anyhow::Error::new(LookOnly))
    });
    match outcome {
        Err(e) if e.is::<LookOnly>() => Ok(names),
        Err(e) => Err(e),
        Ok(()) => Ok(names),
    }
}

/// Ends a look-only transaction with a rollback.
#[derive(Debug, thiserror::Error)]
#[error("look only")]
struct LookOnly;
