//! The connection pool's manager: deadpool-diesel's, with a recycle check that stays on
//! the async thread.
//!
//! deadpool-diesel checks a connection on every checkout by sending a closure to the
//! blocking thread pool, even when the check only reads in-memory state. That is a
//! second thread hand-off per request beside the query's own: on a small machine where
//! the blocking threads compete for the cores with PostgreSQL's backends, every
//! hand-off is a chance to wait out the other threads' time slices, and a request that
//! loses that draw twice is the dashboard's latency tail. The check here reads the
//! transaction state directly; it never does I/O, so it may run on the executor.

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_diesel::postgres::Manager as DieselManager;
use diesel::PgConnection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};

/// Opens connections as deadpool-diesel does; checks them without a thread hand-off.
pub struct ConnectionManager(pub DieselManager);

impl managed::Manager for ConnectionManager {
    type Type = deadpool_diesel::Connection<PgConnection>;
    type Error = deadpool_diesel::Error;

    async fn create(&self) -> Result<Self::Type, Self::Error> {
        managed::Manager::create(&self.0).await
    }

    async fn recycle(&self, obj: &mut Self::Type, _: &Metrics) -> RecycleResult<Self::Error> {
        // An idle connection is locked by nobody; one that is (a query cut off by a
        // cancelled request still running) is not handed out again.
        let Ok(mut conn) = obj.try_lock() else {
            return Err(RecycleError::message("connection still in use"));
        };
        if AnsiTransactionManager::is_broken_transaction_manager(&mut *conn) {
            return Err(RecycleError::message(
                "connection left inside a transaction",
            ));
        }
        Ok(())
    }
}
