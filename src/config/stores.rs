//! The services the portal keeps its state in: `DATABASE_URL`, `PORTAL_DB_POOL_SIZE`,
//! `REDIS_URL` and `REDIS_KEY_PREFIX`.

use super::Reader;

/// The database of a development machine, used when `DATABASE_URL` is unset outside
/// production.
pub(super) const DEV_DATABASE_URL: &str =
    "postgres://postgres@127.0.0.1:5432/tenant_portal?sslmode=disable";
/// Redis of a development machine, used when `REDIS_URL` is unset outside production.
pub(super) const DEV_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// PostgreSQL.
pub(super) struct Database {
    pub(super) url: String,
    pub(super) pool_size: usize,
    pub(super) spare_schemas: usize,
}

/// Reads `DATABASE_URL` (required in production), `PORTAL_DB_POOL_SIZE` (twice the
/// cores) and
/// `TENANT_SPARE_SCHEMAS` (2).
pub(super) fn database(r: &mut Reader<'_>, prod: bool) -> Database {
    let url = r.service_url(
        "DATABASE_URL",
        &["postgres", "postgresql"],
        DEV_DATABASE_URL,
        prod,
    );
    let pool_size = r
        .number("PORTAL_DB_POOL_SIZE", 1, 1000)
        .map_or_else(default_pool_size, |n| n as usize);
    let spare_schemas = r.number("TENANT_SPARE_SCHEMAS", 0, 1000).unwrap_or(2) as usize;
    Database {
        url,
        pool_size,
        spare_schemas,
    }
}

/// Redis.
pub(super) struct Redis {
    pub(super) url: String,
    pub(super) key_prefix: String,
}

/// Reads `REDIS_URL` (required in production) and `REDIS_KEY_PREFIX` (`portal`).
pub(super) fn redis(r: &mut Reader<'_>, prod: bool) -> Redis {
    let url = r.service_url("REDIS_URL", &["redis", "rediss"], DEV_REDIS_URL, prod);
    let key_prefix = r
        .text("REDIS_KEY_PREFIX")
        .unwrap_or_else(|| "portal".into());
    Redis { url, key_prefix }
}

/// Twice the cores, at least 4. Connections beyond what the cores can run at once do
/// not add throughput: their PostgreSQL backends and the threads driving them wait in
/// the operating system's run queue instead, where a request holding a connection can
/// sit out many other threads' time slices mid-transaction (on 2 cores, 16 connections
/// gave a dashboard p99 of ~250 ms at 32 clients, 4 gave ~22 ms at the same
/// throughput). Waiting for a connection in the pool's own queue is fair and cheap.
fn default_pool_size() -> usize {
    std::thread::available_parallelism()
        .map_or(4, |n| n.get() * 2)
        .max(4)
}
