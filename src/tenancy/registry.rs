//! Registry look-ups with a small in-process cache: every tenant page resolves its slug,
//! and the registry changes rarely.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Tenant, TenantStatus};
use crate::db::{Db, schema::public::tenants};
use crate::domain::{SchemaName, TenantSlug};
use crate::error::{AppError, AppResult};

const HIT_TTL: Duration = Duration::from_secs(30);
const MISS_TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 10_000;

type Entry = (Instant, Option<Arc<Tenant>>);

/// Finds tenants by slug.
pub struct TenantRegistry {
    db: Db,
    cache: RwLock<HashMap<String, Entry>>,
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

impl TenantRegistry {
    /// A registry over the database.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// The tenant with this slug, if any.
    pub async fn find(&self, slug: &TenantSlug) -> AppResult<Option<Arc<Tenant>>> {
        if let Some((at, hit)) = self
            .cache
            .read()
            .ok()
            .and_then(|c| c.get(slug.as_str()).cloned())
        {
            let ttl = if hit.is_some() { HIT_TTL } else { MISS_TTL };
            if at.elapsed() < ttl {
                return Ok(hit);
            }
        }
        let key = slug.as_str().to_string();
        let found = self
            .db
            .run(move |conn| {
                tenants::table
                    .filter(tenants::slug.eq(&key))
                    .select(TenantRow::as_select())
                    .first(conn)
                    .optional()
                    .map_err(AppError::from)
            })
            .await?
            .map(TenantRow::into_tenant)
            .transpose()?
            .map(Arc::new);
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
            cache.insert(slug.as_str().to_string(), (Instant::now(), found.clone()));
        }
        Ok(found)
    }

    /// The tenant with this id, if any (through the slug cache).
    pub async fn find_by_id(&self, id: Uuid) -> AppResult<Option<Arc<Tenant>>> {
        let slug: Option<String> = self
            .db
            .run(move |conn| {
                tenants::table
                    .find(id)
                    .select(tenants::slug)
                    .first(conn)
                    .optional()
                    .map_err(AppError::from)
            })
            .await?;
        let Some(slug) = slug.and_then(|s| TenantSlug::parse(&s).ok()) else {
            return Ok(None);
        };
        Ok(self.find(&slug).await?.filter(|t| t.id == id))
    }

    /// Forgets a cached entry after the tenant changed.
    pub fn invalidate(&self, slug: &TenantSlug) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(slug.as_str());
        }
    }

    /// Every tenant, by slug.
    pub async fn list(&self) -> AppResult<Vec<Tenant>> {
        self.db
            .run(|conn| {
                tenants::table
                    .order(tenants::slug.asc())
                    .select(TenantRow::as_select())
                    .load(conn)
                    .map_err(AppError::from)
            })
            .await?
            .into_iter()
            .map(TenantRow::into_tenant)
            .collect()
    }
}
