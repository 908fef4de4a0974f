//! `public.tenants`: the registry of organizations.

use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::schema::public::tenants;
use crate::domain::{SchemaName, TenantSlug};
use crate::error::{AppError, AppResult};

/// Whether an organization may use the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantStatus {
    /// In use.
    Active,
    /// Stopped by a platform admin; nobody signs in.
    Suspended,
}

/// An organization of the registry.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Registry id.
    pub id: Uuid,
    /// Its address.
    pub slug: TenantSlug,
    /// Its schema.
    pub schema: SchemaName,
    /// Display name.
    pub name: String,
    /// Business type key.
    pub business_type: String,
    /// Country code.
    pub country: String,
    /// Active or suspended.
    pub status: TenantStatus,
    /// When it signed up.
    pub created_at: OffsetDateTime,
}

/// A registry row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    id: Uuid,
    slug: String,
    schema_name: String,
    name: String,
    business_type: String,
    country: String,
    status: String,
    created_at: OffsetDateTime,
}

impl TenantRow {
    /// Checks a stored row; a row that breaks the slug rules is refused, not trusted.
    pub fn into_tenant(self) -> AppResult<Tenant> {
        let bad = || AppError::internal(anyhow::anyhow!("registry row {} is malformed", self.id));
        let slug = TenantSlug::parse(&self.slug).map_err(|_| bad())?;
        let schema = SchemaName::from_registry(&self.schema_name).ok_or_else(bad)?;
        if schema != slug.schema_name() {
            return Err(bad());
        }
        Ok(Tenant {
            id: self.id,
            slug,
            schema,
            name: self.name.clone(),
            business_type: self.business_type.clone(),
            country: self.country.trim().to_string(),
            // An organization waiting for its deletion is closed like a suspended one.
            status: if self.status == "suspended" || self.status == "deleting" {
                TenantStatus::Suspended
            } else {
                TenantStatus::Active
            },
            created_at: self.created_at,
        })
    }
}

/// The stored status of a deleted organization's tombstone: its schema is gone.
pub const DELETED: &str = "deleted";

/// The registry row of this slug, if any (a tombstone is none: nothing is left).
pub fn find_by_slug(conn: &mut PgConnection, slug: &TenantSlug) -> AppResult<Option<Tenant>> {
    tenants::table
        .filter(tenants::slug.eq(slug.as_str()))
        .filter(tenants::status.ne(DELETED))
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?
        .map(TenantRow::into_tenant)
        .transpose()
}

/// Registry rows changed after `since` (every row when `None`), tombstones included so
/// a reader can forget them, with the database's clock at the read.
pub fn changed_since(
    conn: &mut PgConnection,
    since: Option<OffsetDateTime>,
) -> AppResult<(OffsetDateTime, Vec<Changed>)> {
    let now: OffsetDateTime =
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamptz>("now()"))
            .get_result(conn)?;
    let mut query = tenants::table
        .select((TenantRow::as_select(), tenants::status))
        .into_boxed();
    if let Some(since) = since {
        query = query.filter(tenants::updated_at.gt(since));
    }
    let rows: Vec<(TenantRow, String)> = query.load(conn)?;
    let changed = rows
        .into_iter()
        .map(|(row, status)| {
            let (id, slug) = (row.id, row.slug.clone());
            let tenant = if status == DELETED {
                None
            } else {
                match row.into_tenant() {
                    Ok(t) => Some(t),
                    Err(e) => {
                        tracing::warn!(error = %e, "registry row left out");
                        None
                    }
                }
            };
            Changed { id, slug, tenant }
        })
        .collect();
    Ok((now, changed))
}

/// One changed registry row: the organization as it now is, or none when it is gone.
#[derive(Debug)]
pub struct Changed {
    /// Registry id.
    pub id: Uuid,
    /// Its address as stored.
    pub slug: String,
    /// The organization, unless deleted (or its row is malformed).
    pub tenant: Option<Tenant>,
}

/// The slug of the tenant with this id, if any.
pub fn slug_of(conn: &mut PgConnection, id: Uuid) -> AppResult<Option<String>> {
    Ok(tenants::table
        .find(id)
        .select(tenants::slug)
        .first(conn)
        .optional()?)
}

/// Every tenant with a schema, by slug (tombstones are left out: nothing may
/// recreate their schema).
pub fn all(conn: &mut PgConnection) -> AppResult<Vec<Tenant>> {
    tenants::table
        .filter(tenants::status.ne(DELETED))
        .order(tenants::slug.asc())
        .select(TenantRow::as_select())
        .load(conn)?
        .into_iter()
        .map(TenantRow::into_tenant)
        .collect()
}

/// Sets the status (`active` or `suspended`) of the tenant with this slug; how many
/// rows changed (0 when there is none).
pub fn set_status(conn: &mut PgConnection, slug: &str, status: &str) -> AppResult<usize> {
    Ok(diesel::update(
        tenants::table
            .filter(tenants::slug.eq(slug))
            .filter(tenants::status.eq_any(["active", "suspended"])),
    )
    .set((
        tenants::status.eq(status),
        tenants::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?)
}

/// A registry row as the platform's organization list shows it: everything comes from
/// the registry, none of it from the tenant's schema.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct Listed {
    /// Address.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Stored status.
    pub status: String,
    /// Active members (kept by the tenant's `users` trigger).
    pub member_count: i32,
    /// Active admins.
    pub admin_count: i32,
    /// Active admins' addresses, space-separated.
    pub admin_emails: String,
    /// Last sign-in or membership change.
    pub last_activity_at: Option<OffsetDateTime>,
    /// When it signed up.
    pub created_at: OffsetDateTime,
    /// Who asked for its deletion.
    pub delete_requested_by: Option<String>,
    /// When its schema is dropped, while a deletion waits.
    pub purge_after: Option<OffsetDateTime>,
    /// When its schema was dropped.
    pub purged_at: Option<OffsetDateTime>,
}

/// Where a page of the organization list starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// From the first slug.
    First,
    /// The slugs after this one.
    After(String),
    /// The slugs before this one (a page back).
    Before(String),
}

/// Which organizations to list.
#[derive(Debug, Clone)]
pub struct ListFilter {
    /// Text contained in the slug, name or an admin's address.
    pub search: Option<String>,
    /// Exactly this stored status.
    pub status: Option<String>,
    /// Where the page starts.
    pub cursor: Cursor,
}

fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Up to `limit` organizations in slug order from the cursor (a `Before` page comes
/// back in slug order too). Keyset paging: the cost of a page does not grow with how
/// far into the list it is.
pub fn list(conn: &mut PgConnection, f: &ListFilter, limit: i64) -> AppResult<Vec<Listed>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    let mut q = tenants::table.select(Listed::as_select()).into_boxed();
    if let Some(search) = f.search.as_deref().filter(|s| !s.is_empty()) {
        // The same expression as the trigram index `tenants_search`.
        q = q.filter(
            sql::<Bool>("(slug || ' ' || name || ' ' || admin_emails) ILIKE ")
                .bind::<Text, _>(like_pattern(search)),
        );
    }
    if let Some(status) = &f.status {
        q = q.filter(tenants::status.eq(status.clone()));
    }
    let backwards = matches!(f.cursor, Cursor::Before(_));
    q = match &f.cursor {
        Cursor::First => q.order(tenants::slug.asc()),
        Cursor::After(s) => q
            .filter(tenants::slug.gt(s.clone()))
            .order(tenants::slug.asc()),
        Cursor::Before(s) => q
            .filter(tenants::slug.lt(s.clone()))
            .order(tenants::slug.desc()),
    };
    let mut rows = q.limit(limit).load(conn)?;
    if backwards {
        rows.reverse();
    }
    Ok(rows)
}

/// The registry row of this slug as the platform shows it, whatever its status.
pub fn listed(conn: &mut PgConnection, slug: &str) -> AppResult<Option<Listed>> {
    Ok(tenants::table
        .filter(tenants::slug.eq(slug))
        .select(Listed::as_select())
        .first(conn)
        .optional()?)
}

/// Marks an active or suspended organization for deletion: closed at once, its schema
/// dropped after `purge_after`. How many rows changed (0: none such, or already going).
pub fn request_delete(
    conn: &mut PgConnection,
    slug: &str,
    by: &str,
    purge_after: OffsetDateTime,
) -> AppResult<usize> {
    Ok(diesel::update(
        tenants::table
            .filter(tenants::slug.eq(slug))
            .filter(tenants::status.eq_any(["active", "suspended"])),
    )
    .set((
        tenants::status_before_delete.eq(tenants::status.nullable()),
        tenants::status.eq("deleting"),
        tenants::delete_requested_at.eq(diesel::dsl::now),
        tenants::delete_requested_by.eq(by),
        tenants::purge_after.eq(purge_after),
        tenants::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?)
}

/// Undoes a deletion whose schema still exists: the status it had before comes back.
pub fn restore(conn: &mut PgConnection, slug: &str) -> AppResult<usize> {
    use diesel::dsl::sql;
    use diesel::sql_types::Text;
    Ok(diesel::update(
        tenants::table
            .filter(tenants::slug.eq(slug))
            .filter(tenants::status.eq("deleting")),
    )
    .set((
        tenants::status.eq(sql::<Text>("coalesce(status_before_delete, 'active')")),
        tenants::status_before_delete.eq(None::<String>),
        tenants::delete_requested_at.eq(None::<OffsetDateTime>),
        tenants::delete_requested_by.eq(None::<String>),
        tenants::purge_after.eq(None::<OffsetDateTime>),
        tenants::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?)
}

/// The stored status of the registry row of this slug (`active`, `suspended`,
/// `deleting`, `deleted`), whatever it is; `None` when there is no row.
pub fn stored_status(conn: &mut PgConnection, slug: &str) -> AppResult<Option<String>> {
    Ok(tenants::table
        .filter(tenants::slug.eq(slug))
        .select(tenants::status)
        .first(conn)
        .optional()?)
}

/// The schema name of the registry row of this slug, whatever its status.
pub fn schema_of(conn: &mut PgConnection, slug: &str) -> AppResult<Option<String>> {
    Ok(tenants::table
        .filter(tenants::slug.eq(slug))
        .select(tenants::schema_name)
        .first(conn)
        .optional()?)
}

/// Up to `limit` organizations whose grace period is over, oldest first.
pub fn due_for_purge(conn: &mut PgConnection, limit: i64) -> AppResult<Vec<String>> {
    Ok(tenants::table
        .filter(tenants::status.eq("deleting"))
        .filter(tenants::purge_after.le(diesel::dsl::now))
        .order(tenants::purge_after.asc())
        .limit(limit)
        .select(tenants::slug)
        .load(conn)?)
}

/// Locks a due deletion's row and returns its schema name, when it is still due (a
/// restore may have come first).
pub fn lock_due(conn: &mut PgConnection, slug: &str) -> AppResult<Option<String>> {
    Ok(tenants::table
        .filter(tenants::slug.eq(slug))
        .filter(tenants::status.eq("deleting"))
        .filter(tenants::purge_after.le(diesel::dsl::now))
        .select(tenants::schema_name)
        .for_update()
        .first(conn)
        .optional()?)
}

/// Turns a purged organization's row into its tombstone.
pub fn mark_purged(conn: &mut PgConnection, slug: &str) -> AppResult<()> {
    diesel::update(tenants::table.filter(tenants::slug.eq(slug)))
        .set((
            tenants::status.eq(DELETED),
            tenants::purged_at.eq(diesel::dsl::now),
            tenants::member_count.eq(0),
            tenants::admin_count.eq(0),
            tenants::admin_emails.eq(""),
            tenants::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` organizations with a schema after this slug, by slug: how commands
/// that visit every organization walk them without loading them all.
pub fn page_after(
    conn: &mut PgConnection,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<Tenant>> {
    let mut q = tenants::table
        .filter(tenants::status.ne(DELETED))
        .order(tenants::slug.asc())
        .limit(limit)
        .select(TenantRow::as_select())
        .into_boxed();
    if let Some(slug) = after {
        q = q.filter(tenants::slug.gt(slug.to_string()));
    }
    q.load(conn)?
        .into_iter()
        .map(TenantRow::into_tenant)
        .collect()
}

/// How many organizations have a schema (a progress bar's length).
pub fn count_live(conn: &mut PgConnection) -> AppResult<i64> {
    Ok(tenants::table
        .filter(tenants::status.ne(DELETED))
        .count()
        .get_result(conn)?)
}
