//! The registry as every tenant page sees it: an in-process copy of `public.tenants`,
//! kept current by re-reading only the rows changed since the last look (every
//! [`REFRESH_EVERY`], by the background work), so resolving a slug costs no round trip
//! whether one organization is busy or ten thousand take turns.
//!
//! The copy holds one entry per organization in the registry (a few hundred bytes
//! each: about 3 MB at 10,000) plus a bounded list of recent misses. A change made on
//! another instance (a suspension, say) reaches this one within one refresh. Should the
//! refresh stop working, every entry falls back to a 30-second life, as a plain cache.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Db;
use crate::domain::TenantSlug;
use crate::error::AppResult;
use crate::models::tenant::{self, Changed, Tenant};

/// How often the background work re-reads the changed registry rows.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);
/// Without a successful refresh for this long, entries live this long from their read.
const HIT_TTL: Duration = Duration::from_secs(30);
/// How long an unknown slug is remembered as unknown.
const MISS_TTL: Duration = Duration::from_secs(5);
/// Unknown slugs remembered at most (a scan of made-up slugs cannot grow the copy).
const MAX_MISSES: usize = 10_000;
/// A change is looked for this far before the previous refresh's clock, so a
/// transaction that began before that read and committed after it is still seen.
const OVERLAP: time::Duration = time::Duration::seconds(60);

type Entry = (Instant, Arc<Tenant>);

#[derive(Default)]
struct Mirror {
    by_slug: HashMap<String, Entry>,
    by_id: HashMap<Uuid, String>,
    misses: HashMap<String, Instant>,
    /// The database's clock at the last successful refresh, and when that was here.
    refreshed: Option<(OffsetDateTime, Instant)>,
}

impl Mirror {
    fn put(&mut self, at: Instant, t: Arc<Tenant>) {
        let slug = t.slug.as_str().to_string();
        self.misses.remove(&slug);
        if let Some(old) = self.by_id.insert(t.id, slug.clone())
            && old != slug
        {
            self.by_slug.remove(&old);
        }
        self.by_slug.insert(slug, (at, t));
    }

    fn forget(&mut self, id: Uuid, slug: &str) {
        if let Some(old) = self.by_id.remove(&id) {
            self.by_slug.remove(&old);
        }
        self.by_slug.remove(slug);
    }

    fn miss(&mut self, slug: &str) {
        if self.misses.len() >= MAX_MISSES {
            self.misses.retain(|_, at| at.elapsed() < MISS_TTL);
            if self.misses.len() >= MAX_MISSES {
                self.misses.clear();
            }
        }
        self.misses.insert(slug.to_string(), Instant::now());
    }

    /// Whether the refresh keeps entries current, so they need no life of their own.
    fn kept_current(&self) -> bool {
        self.refreshed.is_some_and(|(_, at)| at.elapsed() < HIT_TTL)
    }
}

/// Finds tenants by slug.
pub struct TenantRegistry {
    db: Db,
    copy: RwLock<Mirror>,
}

/// What a look in the copy found.
enum Look {
    Found(Arc<Tenant>),
    Unknown,
    Ask,
}

impl TenantRegistry {
    /// A registry over the database; empty until the first refresh, and until then
    /// every slug is read from the database once and kept.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            copy: RwLock::new(Mirror::default()),
        }
    }

    fn look(&self, slug: &str) -> Look {
        let Ok(copy) = self.copy.read() else {
            return Look::Ask;
        };
        if let Some((at, t)) = copy.by_slug.get(slug) {
            if copy.kept_current() || at.elapsed() < HIT_TTL {
                return Look::Found(t.clone());
            }
        } else if copy
            .misses
            .get(slug)
            .is_some_and(|at| at.elapsed() < MISS_TTL)
        {
            return Look::Unknown;
        }
        Look::Ask
    }

    /// The tenant with this slug, if any.
    pub async fn find(&self, slug: &TenantSlug) -> AppResult<Option<Arc<Tenant>>> {
        match self.look(slug.as_str()) {
            Look::Found(t) => return Ok(Some(t)),
            Look::Unknown => return Ok(None),
            Look::Ask => {}
        }
        // Not in the copy: made moments ago (maybe on another instance), changed here
        // just now, or unknown.
        let key = slug.clone();
        let found = self
            .db
            .run(move |conn| tenant::find_by_slug(conn, &key))
            .await?
            .map(Arc::new);
        if let Ok(mut copy) = self.copy.write() {
            match &found {
                Some(t) => copy.put(Instant::now(), t.clone()),
                None => copy.miss(slug.as_str()),
            }
        }
        Ok(found)
    }

    /// The tenant with this id, if any.
    pub async fn find_by_id(&self, id: Uuid) -> AppResult<Option<Arc<Tenant>>> {
        let known = self
            .copy
            .read()
            .ok()
            .and_then(|c| c.by_id.get(&id).cloned());
        let slug = match known {
            Some(slug) => Some(slug),
            None => self.db.run(move |conn| tenant::slug_of(conn, id)).await?,
        };
        let Some(slug) = slug.and_then(|s| TenantSlug::parse(&s).ok()) else {
            return Ok(None);
        };
        Ok(self.find(&slug).await?.filter(|t| t.id == id))
    }

    /// Forgets a tenant after this instance changed it: the next look reads it again.
    pub fn invalidate(&self, slug: &TenantSlug) {
        if let Ok(mut copy) = self.copy.write()
            && let Some((_, t)) = copy.by_slug.get(slug.as_str())
        {
            let id = t.id;
            copy.forget(id, slug.as_str());
        }
    }

    /// Reads the registry rows changed since the last refresh (all of them the first
    /// time) into the copy. Run by the background work every [`REFRESH_EVERY`].
    pub async fn refresh(&self) -> AppResult<usize> {
        let since = self
            .copy
            .read()
            .ok()
            .and_then(|c| c.refreshed)
            .map(|(clock, _)| clock - OVERLAP);
        let (clock, changed) = self
            .db
            .run(move |conn| tenant::changed_since(conn, since))
            .await?;
        let n = changed.len();
        if let Ok(mut copy) = self.copy.write() {
            let now = Instant::now();
            for Changed { id, slug, tenant } in changed {
                match tenant {
                    Some(t) => copy.put(now, Arc::new(t)),
                    None => copy.forget(id, &slug),
                }
            }
            copy.refreshed = Some((clock, now));
        }
        Ok(n)
    }

    /// Every tenant, by slug.
    pub async fn list(&self) -> AppResult<Vec<Tenant>> {
        self.db.run(tenant::all).await
    }
}
