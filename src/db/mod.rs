//! Database access: the pool, the one helper for tenant queries, migrations.

pub mod migrate;
pub mod pool;
pub mod schema;

use std::time::Duration;

use deadpool::managed::{Object, Pool, QueueMode};
use deadpool_diesel::Runtime;
use deadpool_diesel::postgres::Manager;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::domain::SchemaName;
use crate::error::{AppError, AppResult};

/// A pool of PostgreSQL connections shared by every request.
#[derive(Clone)]
pub struct Db {
    pool: Pool<pool::ConnectionManager>,
}

impl Db {
    /// Builds the pool; connections open lazily.
    pub fn new(database_url: &str, max_size: usize) -> anyhow::Result<Self> {
        // No `SELECT 1` on checkout, and no thread hand-off for the check either (see
        // `pool`). Broken connections are dropped from the pool when a query reports
        // them (see `run`).
        let manager = pool::ConnectionManager(Manager::new(database_url, Runtime::Tokio1));
        let pool = Pool::builder(manager)
            .max_size(max_size)
            // The most recently used connection first: at light load a few backends
            // stay warm (their plan and catalog caches) instead of all of them in turn.
            .queue_mode(QueueMode::Lifo)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .runtime(Runtime::Tokio1)
            .build()?;
        Ok(Self { pool })
    }

    /// Runs `f` on a pooled connection, off the async executor.
    pub async fn run<F, T>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let conn = self.pool.get().await?;
        let result = conn.interact(f).await?;
        if matches!(result, Err(AppError::Unavailable("database"))) {
            // A broken connection must not go back to the pool.
            let _ = Object::take(conn);
        }
        result
    }

    /// Runs `f` in one transaction on the `public` schema (the platform registry).
    pub async fn public<F, T>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| conn.transaction(f)).await
    }

    /// Runs `f` in one transaction that sees the tenant's schema first:
    /// `SET LOCAL search_path TO "<schema>", public`. `LOCAL` ends with the
    /// transaction, so a pooled connection (or a pooler) never leaks it.
    pub async fn tenant<F, T>(&self, schema: &SchemaName, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let begin = format!("BEGIN; {}", tenant_search_path(schema));
        self.run(move |conn| tenant_transaction(conn, &begin, f))
            .await
    }

    /// The pool's size, idle connections and waiters, for metrics.
    pub fn status(&self) -> deadpool_diesel::Status {
        self.pool.status()
    }

    /// Checks that a connection can be had and answers.
    pub async fn ping(&self) -> AppResult<()> {
        self.run(|conn| {
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
        .await
    }
}

/// The statement that scopes a transaction to one tenant.
pub fn tenant_search_path(schema: &SchemaName) -> String {
    format!("SET LOCAL search_path TO {}, public", schema.quoted())
}

/// Runs `f` in a transaction opened by `begin`, which also scopes it to the tenant: one
/// round trip for `BEGIN` and `SET LOCAL` together instead of two. Otherwise exactly
/// diesel's `Connection::transaction` (nested transactions inside `f` are savepoints).
fn tenant_transaction<T>(
    conn: &mut PgConnection,
    begin: &str,
    f: impl FnOnce(&mut PgConnection) -> AppResult<T>,
) -> AppResult<T> {
    if let Err(e) = AnsiTransactionManager::begin_transaction_sql(conn, begin) {
        // `BEGIN` may have run before the failure; diesel does not know of it.
        let _ = conn.batch_execute("ROLLBACK");
        return Err(e.into());
    }
    match f(conn) {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => match AnsiTransactionManager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(e),
            Err(rollback) => Err(rollback.into()),
        },
    }
}
