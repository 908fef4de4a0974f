//! Hand-written statements that PostgreSQL prepares once per tenant and connection.
//!
//! diesel never keeps `sql_query` statements prepared, so PostgreSQL parses, analyses
//! and plans them on every request; for the dashboard's statement that was a fifth of
//! all the server's CPU under load. A statement here is kept in the connection's
//! statement cache instead. Its text starts with a comment naming the tenant's schema:
//! a plan is tied to the `search_path` it was made under, and one text per tenant
//! keeps each tenant's plan instead of replanning whenever the connection changes
//! tenant. How many tenants a connection keeps statements for is bounded by
//! `lanes::TENANTS_PER_CONNECTION`.
//!
//! Run them through `Db::tenant_prepared`, which has PostgreSQL plan them generically
//! from their first run on a connection.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Untyped, Uuid as SqlUuid};
use diesel::{QueryResult, RunQueryDsl};
use uuid::Uuid;

use crate::domain::SchemaName;

/// A statement whose one parameter, an id, comes last; it reads the tenant's own tables
/// unqualified, through the transaction's `search_path`.
pub trait ByIdSql {
    /// The statement up to its parameter, which is appended as `$1`.
    const SQL: &'static str;
}

/// `S::SQL` for one tenant and id, ready to run with diesel's `RunQueryDsl`; rows are
/// read by name (`QueryableByName`).
pub struct ById<'a, S> {
    schema: &'a SchemaName,
    id: Uuid,
    sql: std::marker::PhantomData<S>,
}

impl<'a, S: ByIdSql> ById<'a, S> {
    /// The statement for the tenant whose schema is `schema`, with `$1 = id`.
    pub fn new(schema: &'a SchemaName, id: Uuid) -> Self {
        Self {
            schema,
            id,
            sql: std::marker::PhantomData,
        }
    }
}

impl<S: ByIdSql> QueryFragment<Pg> for ById<'_, S> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // A schema name has the checked form `tenant_…` or `spare_…`: it cannot end
        // the comment.
        out.push_sql("/* ");
        out.push_sql(self.schema.as_str());
        out.push_sql(" */ ");
        out.push_sql(S::SQL);
        out.push_bind_param::<SqlUuid, _>(&self.id)?;
        Ok(())
    }
}

impl<S> QueryId for ById<'_, S> {
    type QueryId = ();
    // No static id: diesel keys the cached statement by its text, which differs per
    // tenant.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<S> Query for ById<'_, S> {
    type SqlType = Untyped;
}

impl<S> RunQueryDsl<diesel::PgConnection> for ById<'_, S> {}
