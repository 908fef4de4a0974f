//! The pool of spare schemas: built and migrated ahead of time in the background, so
//! that a sign-up only renames one (see `provision::insert_tenant`).

use diesel::Connection;

use crate::db::{Db, migrate};
use crate::domain::SchemaName;
use crate::error::{AppError, AppResult};
use crate::models::spare_schema;

/// Builds spares until `target` are ready; returns how many it built. Each spare is
/// built and recorded in one transaction, so a half-built one is never in the pool.
pub async fn refill(db: &Db, target: usize) -> AppResult<usize> {
    let mut built = 0;
    loop {
        let ready = db.run(spare_schema::count).await?;
        if ready >= target as i64 {
            return Ok(built);
        }
        db.creating(|conn| {
            conn.transaction(|conn| {
                let schema = SchemaName::new_spare();
                migrate::migrate_tenant(conn, &schema).map_err(AppError::Internal)?;
                spare_schema::add(conn, &schema)
            })
        })
        .await?;
        built += 1;
    }
}

/// How many spares are ready.
pub async fn ready(db: &Db) -> AppResult<i64> {
    db.run(spare_schema::count).await
}
