//! The outbox worker: started by the server when Authentik is configured, it delivers
//! due rows, backs off when Authentik refuses, and waits while the circuit is open.
//! Asked to stop, it finishes the row under way and hands the rest of its batch back.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use uuid::Uuid;

use super::client::{AuthentikClient, AuthentikError, backoff};
use super::reconcile::{self, Person};
use crate::config::AuthentikSettings;
use crate::db::{Db, schema::tenant::users};
use crate::domain::{Role, TenantSlug};
use crate::error::{AppError, AppResult};
use crate::models::authentik_outbox::{self as outbox, OutboxRow};
use crate::models::{platform_audit, tenant};

/// Rows claimed at once.
const BATCH: i64 = 16;
/// How long a claimed row stays hidden from other workers unless its worker renews the
/// claim (every third of it while delivering): a crashed worker's rows are back this
/// soon, and a stalled one cannot settle rows another worker took over.
pub const LEASE: Duration = Duration::from_secs(15);
/// The longest wait between attempts of a refused row.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Renews a claim until dropped.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What the worker needs.
pub struct Worker {
    /// This worker's claims are fenced by this id.
    me: Uuid,
    db: Db,
    client: Arc<AuthentikClient>,
    settings: AuthentikSettings,
    prefix: String,
}

impl Worker {
    /// A worker over this database and client.
    pub fn new(
        db: Db,
        client: Arc<AuthentikClient>,
        settings: AuthentikSettings,
        prefix: String,
    ) -> Self {
        Self {
            me: Uuid::new_v4(),
            db,
            client,
            settings,
            prefix,
        }
    }

    /// Delivers until `stop` turns true; a round under way is finished first, so no
    /// row is left half delivered.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        tracing::info!("Authentik outbox worker started");
        while !*stop.borrow() {
            let delivered = match self.round_until(Some(&stop)).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "Authentik outbox round failed");
                    0
                }
            };
            // A full batch suggests more are due: go on at once.
            if delivered < BATCH as usize {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.outbox_poll) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        tracing::info!("Authentik outbox worker stopped");
    }

    /// Claims and delivers one batch; returns how many rows it handled.
    pub async fn round(&self) -> AppResult<usize> {
        self.round_until(None).await
    }

    /// One batch; once `stop` turns true the row under way is finished and the rest
    /// handed back at once, for another instance.
    async fn round_until(
        &self,
        stop: Option<&tokio::sync::watch::Receiver<bool>>,
    ) -> AppResult<usize> {
        if !self.client.available() {
            return Ok(0);
        }
        let me = self.me;
        let rows = self
            .db
            .run(move |conn| outbox::claim(conn, me, BATCH, LEASE))
            .await?;
        let n = rows.len();
        if n == 0 {
            return Ok(0);
        }
        let _heartbeat = self.keep_claimed(rows.iter().map(|r| r.id).collect());
        self.deliver_batch(rows, stop).await.map(|()| n)
    }

    /// Renews the claim on `ids` every third of the lease until dropped (however the
    /// round ends, even cancelled, the renewals end with it).
    fn keep_claimed(&self, ids: Vec<i64>) -> Heartbeat {
        let (db, me) = (self.db.clone(), self.me);
        Heartbeat(tokio::spawn(async move {
            let mut tick = tokio::time::interval(LEASE / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                let ids = ids.clone();
                if let Err(e) = db
                    .run(move |conn| outbox::renew(conn, me, &ids, LEASE))
                    .await
                {
                    tracing::warn!(error = %e, "Authentik outbox claim not renewed");
                }
            }
        }))
    }

    /// Delivers claimed rows in order; stops at an outage, or when asked to stop, and
    /// hands the rest back.
    async fn deliver_batch(
        &self,
        rows: Vec<OutboxRow>,
        stop: Option<&tokio::sync::watch::Receiver<bool>>,
    ) -> AppResult<()> {
        let me = self.me;
        let mut rest = rows.into_iter();
        while let Some(row) = rest.next() {
            let id = row.id;
            let result = self.deliver(&row).await;
            let outage = matches!(&result, Err(Failure::Authentik(e)) if e.is_outage());
            self.record(&row, result).await?;
            if stop.is_some_and(|s| *s.borrow()) {
                let ids: Vec<i64> = rest.map(|r| r.id).collect();
                self.db
                    .run(move |conn| outbox::release(conn, me, &ids, Duration::ZERO))
                    .await?;
                break;
            }
            if outage {
                // Authentik is down: hand the rest back rather than fail them one by one.
                let ids: Vec<i64> = rest.map(|r| r.id).collect();
                let pause = self.client.circuit_pause();
                self.db
                    .run(move |conn| outbox::release(conn, me, &ids, pause))
                    .await?;
                tracing::debug!(row = id, "Authentik unavailable; outbox paused");
                break;
            }
        }
        Ok(())
    }

    async fn record(&self, row: &OutboxRow, result: Result<(), Failure>) -> AppResult<()> {
        let id = row.id;
        let attempts = row.attempts as u32 + 1;
        let max = self.settings.outbox_max_attempts;
        let base = self.settings.outbox_backoff;
        let pause = self.client.circuit_pause();
        let kind = row.kind.clone();
        let me = self.me;
        match result {
            Ok(()) => {
                self.db
                    .run(move |conn| outbox::mark_done(conn, me, id))
                    .await
            }
            Err(Failure::Authentik(e)) if e.is_outage() => {
                let msg = e.to_string();
                self.db
                    .run(move |conn| outbox::reschedule(conn, me, id, pause, &msg, false))
                    .await
            }
            Err(f) if attempts >= max => {
                let msg = f.to_string();
                tracing::error!(
                    row = id, kind, attempts, error = %msg,
                    "Authentik outbox row failed; an operator must look at it"
                );
                self.db
                    .run(move |conn| outbox::mark_failed(conn, me, id, &msg))
                    .await
            }
            Err(f) => {
                let msg = f.to_string();
                let wait = backoff(base, attempts - 1).min(MAX_BACKOFF);
                tracing::warn!(
                    row = id, kind, attempts, error = %msg,
                    "Authentik outbox row refused; will retry"
                );
                self.db
                    .run(move |conn| outbox::reschedule(conn, me, id, wait, &msg, true))
                    .await
            }
        }
    }

    async fn deliver(&self, row: &OutboxRow) -> Result<(), Failure> {
        let key = row.tenant_slug.clone();
        let standing = Standing::of(
            self.db
                .run(move |conn| tenant::stored_status(conn, &key))
                .await?
                .as_deref(),
        );
        let mut changes = Vec::new();
        if row.kind == outbox::TENANT_DELETED {
            self.delete_groups(row, standing, &mut changes).await?;
        } else {
            let groups = if standing == Standing::Open {
                reconcile::tenant_groups(
                    &self.client,
                    &self.prefix,
                    &row.tenant_slug,
                    false,
                    &mut changes,
                )
                .await?
            } else {
                // A deleted tenant's groups are only ever emptied, never made again.
                reconcile::tenant_groups(
                    &self.client,
                    &self.prefix,
                    &row.tenant_slug,
                    true,
                    &mut Vec::new(),
                )
                .await?
            };
            if row.kind == outbox::PERSON_CHANGED {
                self.deliver_person(row, standing, &groups, &mut changes)
                    .await?;
            }
        }
        if !changes.is_empty() {
            tracing::info!(row = row.id, tenant = %row.tenant_slug, ?changes, "Authentik updated");
        }
        Ok(())
    }

    async fn deliver_person(
        &self,
        row: &OutboxRow,
        standing: Standing,
        groups: &reconcile::TenantGroups,
        changes: &mut reconcile::Changes,
    ) -> Result<(), Failure> {
        let Some(person_id) = row.person_id else {
            return Err(Failure::Malformed("person row without a person"));
        };
        let slug = TenantSlug::parse(&row.tenant_slug)
            .map_err(|_| Failure::Malformed("bad tenant slug"))?;
        let email = row.payload["email"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = row.payload["name"].as_str().unwrap_or_default().to_string();
        let person = match standing {
            Standing::Open => load_person(&self.db, &slug, person_id, email, name).await?,
            Standing::Closing => Person {
                // Still stored, but with no role in a tenant being deleted.
                role: None,
                ..load_person(&self.db, &slug, person_id, email, name).await?
            },
            // The schema is gone: the row's email is all there is.
            Standing::Purged => Person {
                email,
                name,
                role: None,
                authentik_pk: None,
            },
        };
        let link =
            reconcile::person(&self.client, &self.prefix, groups, &person, false, changes).await?;
        if let Some((pk, uuid)) = link
            && person.authentik_pk != Some(pk)
            && standing != Standing::Purged
        {
            save_link(&self.db, &slug, person_id, pk, uuid).await?;
        }
        Ok(())
    }

    /// Deletes a purged tenant's groups, and says so in the platform audit log. Only
    /// while the registry says the tenant is purged: nothing can restore it then.
    async fn delete_groups(
        &self,
        row: &OutboxRow,
        standing: Standing,
        changes: &mut reconcile::Changes,
    ) -> Result<(), Failure> {
        if standing != Standing::Purged {
            tracing::warn!(row = row.id, tenant = %row.tenant_slug, "tenant not deleted; its groups are kept");
            return Ok(());
        }
        reconcile::delete_tenant_groups(&self.client, &self.prefix, &row.tenant_slug, changes)
            .await?;
        let (slug, deleted) = (row.tenant_slug.clone(), changes.clone());
        self.db
            .run(move |conn| {
                platform_audit::record(
                    conn,
                    "portal (Authentik outbox)",
                    "tenant.authentik_groups_deleted",
                    &slug,
                    serde_json::json!({ "changes": deleted }),
                )
            })
            .await?;
        Ok(())
    }
}

/// Where a row's tenant stands, as the registry says at delivery time: every row
/// brings Authentik in line with that, so rows queued before a restore (or a
/// deletion) cannot undo it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Active or suspended (or not in the registry): people keep their groups.
    Open,
    /// Waiting for its deletion: nobody has a role; the groups stay for a restore.
    Closing,
    /// Its schema is dropped: the groups go too.
    Purged,
}

impl Standing {
    fn of(status: Option<&str>) -> Self {
        match status {
            Some("deleting") => Standing::Closing,
            Some(tenant::DELETED) => Standing::Purged,
            _ => Standing::Open,
        }
    }
}

/// Why a delivery did not succeed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Authentik(#[from] AuthentikError),
    #[error("database: {0}")]
    Database(#[from] AppError),
    #[error("malformed outbox row: {0}")]
    Malformed(&'static str),
}

#[derive(Queryable)]
struct Stored {
    email: String,
    name: String,
    role: String,
    status: String,
    authentik_pk: Option<i64>,
}

/// The person as stored now; a removed person keeps the email the row recorded.
pub(super) async fn load_person(
    db: &Db,
    slug: &TenantSlug,
    id: Uuid,
    email: String,
    name: String,
) -> AppResult<Person> {
    let stored: Option<Stored> = db
        .tenant(&slug.schema_name(), move |conn| {
            Ok(users::table
                .find(id)
                .select((
                    users::email,
                    users::name,
                    users::role,
                    users::status,
                    users::authentik_pk,
                ))
                .first(conn)
                .optional()?)
        })
        .await?;
    Ok(match stored {
        Some(s) => Person {
            role: if s.status == "active" {
                Role::parse(&s.role).ok()
            } else {
                None
            },
            email: s.email,
            name: s.name,
            authentik_pk: s.authentik_pk,
        },
        None => Person {
            email,
            name,
            role: None,
            authentik_pk: None,
        },
    })
}

/// Stores which Authentik user a person is.
pub(super) async fn save_link(
    db: &Db,
    slug: &TenantSlug,
    id: Uuid,
    pk: i64,
    uuid: Uuid,
) -> AppResult<()> {
    db.tenant(&slug.schema_name(), move |conn| {
        diesel::update(users::table.find(id))
            .set((
                users::authentik_pk.eq(Some(pk)),
                users::authentik_uuid.eq(Some(uuid)),
            ))
            .execute(conn)?;
        Ok(())
    })
    .await
}
