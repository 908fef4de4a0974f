//! Database access: the pool, the one helper for tenant queries, migrations.

mod lanes;
pub mod migrate;
pub mod pool;
pub mod prepared;
pub mod schema;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use deadpool::managed::{Object, Pool};
use deadpool_diesel::Runtime;
use deadpool_diesel::postgres::Manager;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::domain::SchemaName;
use crate::error::{AppError, AppResult};

/// How long a request waits for a connection before the database counts as unavailable.
const WAIT: Duration = Duration::from_secs(5);

/// PostgreSQL connections shared by every request: one lane per connection, each tenant
/// served on its home lane when it can be (see `lanes`).
#[derive(Clone)]
pub struct Db {
    /// One single-connection pool per lane.
    pools: Arc<[Pool<pool::ConnectionManager>]>,
    lanes: lanes::Lanes,
    served: Arc<lanes::Served>,
    /// The home of the next request that belongs to no tenant, in turn.
    next: Arc<AtomicUsize>,
    counts: Arc<Counters>,
}

/// How tenants' requests found their connections, since the start.
#[derive(Default)]
struct Counters {
    tenant: AtomicU64,
    away: AtomicU64,
    replaced_for_tenants: AtomicU64,
    replaced_for_creating: AtomicU64,
}

/// How tenants' requests found their connections, since the start (for metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneCounts {
    /// Uses of a connection for one tenant's work.
    pub tenant: u64,
    /// Of those, the ones served on a connection other than the tenant's home.
    pub away: u64,
    /// Connections replaced after serving `lanes::TENANTS_PER_CONNECTION` tenants.
    pub replaced_for_tenants: u64,
    /// Connections replaced after creating `lanes::ORGANIZATIONS_PER_CONNECTION`
    /// organizations.
    pub replaced_for_creating: u64,
}

impl Db {
    /// Builds `max_size` lanes; connections open lazily.
    pub fn new(database_url: &str, max_size: usize) -> anyhow::Result<Self> {
        let count = max_size.max(1);
        let pools = (0..count)
            .map(|_| {
                // No `SELECT 1` on checkout, and no thread hand-off for the check either
                // (see `pool`). Broken connections are dropped when a query reports
                // them (see `run_on`).
                let manager = pool::ConnectionManager(Manager::new(database_url, Runtime::Tokio1));
                Pool::builder(manager)
                    .max_size(1)
                    .wait_timeout(Some(WAIT))
                    .create_timeout(Some(WAIT))
                    .recycle_timeout(Some(WAIT))
                    .runtime(Runtime::Tokio1)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            pools: pools.into(),
            lanes: lanes::Lanes::new(count),
            served: Arc::new(lanes::Served::new(count)),
            next: Arc::new(AtomicUsize::new(0)),
            counts: Arc::default(),
        })
    }

    /// Runs `f` on a pooled connection, off the async executor.
    pub async fn run<F, T>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let home = self.next.fetch_add(1, Ordering::Relaxed) as u64;
        self.run_on(home, Use::Any, f).await
    }

    /// Runs `f`, which builds a tenant schema (a spare) or creates an organization, on a
    /// pooled connection; counted against the connection's share of organizations
    /// created (see `lanes::ORGANIZATIONS_PER_CONNECTION`).
    pub async fn creating<F, T>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let home = self.next.fetch_add(1, Ordering::Relaxed) as u64;
        self.run_on(home, Use::Creating, f).await
    }

    /// Runs `f` on the lane for `home` (or another free one), off the async executor;
    /// `work` is counted against what the connection may keep.
    async fn run_on<F, T>(&self, home: u64, work: Use, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let checkout = async {
            let lease = self.lanes.acquire(home).await;
            let conn = self.pools[lease.lane()].get().await?;
            Ok::<_, AppError>((lease, conn))
        };
        let (lease, conn) = tokio::time::timeout(WAIT, checkout)
            .await
            .map_err(|_| AppError::Unavailable("database"))??;
        let opened = Object::metrics(&conn).created;
        let counts = &self.counts;
        let retire = match work {
            Use::Any => false,
            Use::Tenant(tenant) => {
                counts.tenant.fetch_add(1, Ordering::Relaxed);
                if !lease.at_home() {
                    counts.away.fetch_add(1, Ordering::Relaxed);
                }
                let retire = self.served.note(lease.lane(), opened, tenant);
                if retire {
                    counts.replaced_for_tenants.fetch_add(1, Ordering::Relaxed);
                }
                retire
            }
            Use::Creating => {
                let retire = self.served.note_created(lease.lane(), opened);
                if retire {
                    counts.replaced_for_creating.fetch_add(1, Ordering::Relaxed);
                }
                retire
            }
        };
        let result = conn.interact(f).await?;
        if retire || matches!(result, Err(AppError::Unavailable("database"))) {
            // A broken connection must not go back to the pool; one that has prepared
            // statements for too many tenants is replaced to free them.
            let _ = Object::take(conn);
        } else {
            drop(conn);
        }
        // Only now, with the connection back in (or out of) its pool, the lane is
        // handed to the next request.
        drop(lease);
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
        self.tenant_begun(schema, "", f).await
    }

    /// As [`Db::tenant`], for work that runs `prepared`'s per-tenant statements: their
    /// plans are generic from the first run (`SET LOCAL plan_cache_mode =
    /// force_generic_plan`). Their one parameter is an id, whose value never changes the
    /// best plan; by default PostgreSQL would plan each statement afresh for its first
    /// five runs on every connection, and with thousands of organizations taking turns
    /// most runs are among a statement's first five. Every other prepared statement in
    /// the transaction is planned generically too: keep to lookups by key there.
    pub async fn tenant_prepared<F, T>(&self, schema: &SchemaName, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.tenant_begun(
            schema,
            "; SET LOCAL plan_cache_mode = force_generic_plan",
            f,
        )
        .await
    }

    /// A tenant transaction whose opening batch ends with `more`.
    async fn tenant_begun<F, T>(&self, schema: &SchemaName, more: &str, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let begin = format!("BEGIN; {}{more}", tenant_search_path(schema));
        let key = lanes::Lanes::key_of(schema.as_str());
        self.run_on(key, Use::Tenant(key), move |conn| {
            tenant_transaction(conn, &begin, f)
        })
        .await
    }

    /// The connections open, idle and the requests waiting, for metrics.
    pub fn status(&self) -> deadpool_diesel::Status {
        let mut total = deadpool_diesel::Status {
            max_size: 0,
            size: 0,
            available: 0,
            waiting: self.lanes.waiting(),
        };
        for pool in self.pools.iter() {
            let status = pool.status();
            total.max_size += status.max_size;
            total.size += status.size;
            total.available += status.available;
        }
        total
    }

    /// How tenants' requests found their connections since the start.
    pub fn lane_counts(&self) -> LaneCounts {
        let c = &self.counts;
        LaneCounts {
            tenant: c.tenant.load(Ordering::Relaxed),
            away: c.away.load(Ordering::Relaxed),
            replaced_for_tenants: c.replaced_for_tenants.load(Ordering::Relaxed),
            replaced_for_creating: c.replaced_for_creating.load(Ordering::Relaxed),
        }
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

/// What a use of a connection leaves behind in it, for `lanes::Served`.
#[derive(Clone, Copy)]
enum Use {
    /// Nothing that grows with the number of organizations.
    Any,
    /// The statements and caches of one tenant (by its key).
    Tenant(u64),
    /// A new organization.
    Creating,
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
