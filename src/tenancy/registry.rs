//! Registry look-ups with a small in-process cache: every tenant page resolves its slug,
//! and the registry changes rarely.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use uuid::Uuid;

use crate::db::Db;
use crate::domain::TenantSlug;
use crate::error::AppResult;
use crate::models::tenant::{self, Tenant};

const HIT_TTL: Duration = Duration::from_secs(30);
const MISS_TTL: Duration = Duration::from_secs(5);
// Room for 10,000 organizations and their misses; an entry is a few hundred bytes.
const MAX_ENTRIES: usize = 20_000;

type Entry = (Instant, Option<Arc<Tenant>>);

/// Finds tenants by slug.
pub struct TenantRegistry {
    db: Db,
    cache: RwLock<HashMap<String, Entry>>,
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
        let key = slug.clone();
        let found = self
            .db
            .run(move |conn| tenant::find_by_slug(conn, &key))
            .await?
            .map(Arc::new);
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= MAX_ENTRIES {
                // Expired entries go first; only a cache full of live ones starts over.
                cache.retain(|_, (at, hit)| {
                    at.elapsed() < if hit.is_some() { HIT_TTL } else { MISS_TTL }
                });
                if cache.len() >= MAX_ENTRIES {
                    cache.clear();
                }
            }
            cache.insert(slug.as_str().to_string(), (Instant::now(), found.clone()));
        }
        Ok(found)
    }

    /// The tenant with this id, if any (through the slug cache).
    pub async fn find_by_id(&self, id: Uuid) -> AppResult<Option<Arc<Tenant>>> {
        let slug: Option<String> = self.db.run(move |conn| tenant::slug_of(conn, id)).await?;
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
        self.db.run(tenant::all).await
    }
}
