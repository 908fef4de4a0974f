//! Database access: the pool, the one helper for tenant queries, migrations.

pub mod migrate;
pub mod schema;

use std::time::Duration;

use deadpool_diesel::postgres::{Manager, Object, Pool};
use deadpool_diesel::{ManagerConfig, RecyclingMethod, Runtime};
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::domain::SchemaName;
use crate::error::{AppError, AppResult};

/// A pool of PostgreSQL connections shared by every request.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

impl Db {
    /// Builds the pool; connections open lazily.
    pub fn new(database_url: &str, max_size: usize) -> anyhow::Result<Self> {
        // The transaction manager's health is checked on every checkout anyway; skipping
        // the default `SELECT 1` saves a round trip per request. Broken connections are
        // dropped from the pool when a query reports them (see `run`).
        let config = ManagerConfig {
            recycling_method: RecyclingMethod::CustomFunction(Box::new(|_| Ok(()))),
        };
        let manager = Manager::from_config(database_url, Runtime::Tokio1, config);
        let pool = Pool::builder(manager)
            .max_size(max_size)
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
        let set_path = tenant_search_path(schema);
        self.run(move |conn| {
            conn.transaction(|conn| {
                diesel::sql_query(set_path).execute(conn)?;
                f(conn)
            })
        })
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
