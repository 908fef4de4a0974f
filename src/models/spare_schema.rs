//! `public.spare_schemas`: ready, fully migrated schemas waiting for an organization.

use diesel::prelude::*;

use crate::db::schema::public::spare_schemas;
use crate::domain::SchemaName;
use crate::error::AppResult;

/// Takes the oldest spare no other transaction is taking, if any: its row is deleted
/// in the caller's transaction, so it is the caller's alone once that commits, and back
/// in the pool if it rolls back. `SKIP LOCKED` lets concurrent sign-ups each take
/// another spare instead of waiting for one another.
pub fn take(conn: &mut PgConnection) -> AppResult<Option<SchemaName>> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Text)]
        schema_name: String,
    }
    let taken: Option<Taken> = diesel::sql_query(
        "DELETE FROM spare_schemas WHERE schema_name = ( \
             SELECT schema_name FROM spare_schemas ORDER BY created_at \
             LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING schema_name",
    )
    .get_result(conn)
    .optional()?;
    Ok(taken.and_then(|t| SchemaName::from_spare_row(&t.schema_name)))
}

/// Records a spare whose schema the caller's transaction has just built.
pub fn add(conn: &mut PgConnection, schema: &SchemaName) -> AppResult<()> {
    diesel::insert_into(spare_schemas::table)
        .values(spare_schemas::schema_name.eq(schema.as_str()))
        .execute(conn)?;
    Ok(())
}

/// How many spares are ready.
pub fn count(conn: &mut PgConnection) -> AppResult<i64> {
    Ok(spare_schemas::table.count().get_result(conn)?)
}

/// Up to `limit` spares whose names sort after `after`, by name (for `portal migrate`).
pub fn page_after(
    conn: &mut PgConnection,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<SchemaName>> {
    let mut q = spare_schemas::table
        .order(spare_schemas::schema_name.asc())
        .limit(limit)
        .select(spare_schemas::schema_name)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(spare_schemas::schema_name.gt(after.to_string()));
    }
    Ok(q.load::<String>(conn)?
        .iter()
        .filter_map(|s| SchemaName::from_spare_row(s))
        .collect())
}

/// Locks the row of this spare for the caller's transaction; false when it was taken
/// meanwhile (a sign-up skips a locked spare, so it cannot take it while locked).
pub fn lock(conn: &mut PgConnection, schema: &SchemaName) -> AppResult<bool> {
    let found: Option<String> = spare_schemas::table
        .find(schema.as_str())
        .select(spare_schemas::schema_name)
        .for_update()
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}
