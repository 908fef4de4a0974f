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
            status: if self.status == "suspended" {
                TenantStatus::Suspended
            } else {
                TenantStatus::Active
            },
            created_at: self.created_at,
        })
    }
}

/// The registry row of this slug, if any.
pub fn find_by_slug(conn: &mut PgConnection, slug: &TenantSlug) -> AppResult<Option<Tenant>> {
    tenants::table
        .filter(tenants::slug.eq(slug.as_str()))
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?
        .map(TenantRow::into_tenant)
        .transpose()
}

/// The slug of the tenant with this id, if any.
pub fn slug_of(conn: &mut PgConnection, id: Uuid) -> AppResult<Option<String>> {
    Ok(tenants::table
        .find(id)
        .select(tenants::slug)
        .first(conn)
        .optional()?)
}

/// Every tenant, by slug.
pub fn all(conn: &mut PgConnection) -> AppResult<Vec<Tenant>> {
    tenants::table
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
    Ok(
        diesel::update(tenants::table.filter(tenants::slug.eq(slug)))
            .set((
                tenants::status.eq(status),
                tenants::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?,
    )
}

/// Up to `limit` tenants whose slug sorts after `after`, by slug: a walk over the whole
/// registry that never holds all of it at once.
pub fn page_after(
    conn: &mut PgConnection,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<Tenant>> {
    let mut q = tenants::table
        .order(tenants::slug.asc())
        .limit(limit)
        .select(TenantRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(tenants::slug.gt(after.to_string()));
    }
    q.load(conn)?
        .into_iter()
        .map(TenantRow::into_tenant)
        .collect()
}

/// How many organizations the registry holds.
pub fn count(conn: &mut PgConnection) -> AppResult<i64> {
    Ok(tenants::table.count().get_result(conn)?)
}
