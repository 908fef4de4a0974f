//! `portal authentik sync` and `portal authentik status`: repair drift between the
//! portal and Authentik, and show what waits in the outbox.

use std::sync::Arc;

use diesel::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use uuid::Uuid;

use super::client::AuthentikClient;
use super::reconcile::{self, Changes, Person};
use super::worker;
use crate::config::Settings;
use crate::db::{Db, schema::tenant::users};
use crate::domain::Role;
use crate::error::AppResult;
use crate::models::authentik_outbox as outbox;
use crate::models::tenant::{self as tenant_rows, Tenant};

/// What a sync did to one tenant.
#[derive(Debug, Clone)]
pub struct TenantReport {
    /// The tenant.
    pub slug: String,
    /// The changes made (or, in a dry run, needed).
    pub changes: Changes,
    /// Why the tenant could not be finished, if it could not.
    pub error: Option<String>,
}

type Row = (Uuid, String, String, String, String, Option<i64>);

/// Reconciles one tenant: its groups, each person, and stray group members.
pub async fn tenant(
    db: &Db,
    client: &AuthentikClient,
    prefix: &str,
    t: &Tenant,
    dry_run: bool,
) -> TenantReport {
    let mut changes = Vec::new();
    let error = reconcile_tenant(db, client, prefix, t, dry_run, &mut changes)
        .await
        .err();
    TenantReport {
        slug: t.slug.to_string(),
        changes,
        error,
    }
}

async fn reconcile_tenant(
    db: &Db,
    client: &AuthentikClient,
    prefix: &str,
    t: &Tenant,
    dry_run: bool,
    changes: &mut Changes,
) -> Result<(), String> {
    let slug = t.slug.as_str();
    // An organization waiting for its deletion keeps its groups (for a restore), but
    // nobody in them: a sync must not give its people their access back.
    let closing = being_deleted(db, slug).await?;
    let groups = if closing {
        reconcile::tenant_groups(client, prefix, slug, true, &mut Vec::new()).await
    } else {
        reconcile::tenant_groups(client, prefix, slug, dry_run, changes).await
    }
    .map_err(|e| e.to_string())?;
    let rows: Vec<Row> = db
        .tenant(&t.schema, |conn| {
            Ok(users::table
                .order(users::created_at.asc())
                .select((
                    users::id,
                    users::email,
                    users::name,
                    users::role,
                    users::status,
                    users::authentik_pk,
                ))
                .load(conn)?)
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut expected = Vec::new();
    for (id, email, name, role, status, pk) in rows {
        let role = (status == "active" && !closing)
            .then(|| Role::parse(&role).ok())
            .flatten();
        let p = Person {
            email,
            name,
            role,
            authentik_pk: pk,
        };
        let link = reconcile::person(client, prefix, &groups, &p, dry_run, changes)
            .await
            .map_err(|e| format!("{}: {e}", p.email))?;
        if let Some((new_pk, uuid)) = link {
            if let Some(r) = role {
                expected.push((r, new_pk));
            }
            if pk != Some(new_pk) {
                changes.push(format!("link {} to Authentik user pk {new_pk}", p.email));
                if !dry_run {
                    worker::save_link(db, &t.slug, id, new_pk, uuid)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
        }
    }
    reconcile::prune_groups(client, &groups, &expected, dry_run, changes)
        .await
        .map_err(|e| e.to_string())
}

/// Whether the registry says this organization waits for its deletion.
async fn being_deleted(db: &Db, slug: &str) -> Result<bool, String> {
    let key = slug.to_string();
    let status = db
        .run(move |conn| tenant_rows::stored_status(conn, &key))
        .await
        .map_err(|e| e.to_string())?;
    Ok(status.as_deref() == Some("deleting"))
}

fn connect(settings: &Settings) -> anyhow::Result<(Db, Arc<AuthentikClient>)> {
    use secrecy::ExposeSecret;
    let a = settings.authentik.as_ref().ok_or_else(|| {
        anyhow::anyhow!("Authentik is not configured: set AUTHENTIK_URL and AUTHENTIK_TOKEN")
    })?;
    let db = Db::new(settings.database_url.expose_secret(), 2)?;
    Ok((db, Arc::new(AuthentikClient::new(a)?)))
}

/// Organizations read per round trip by `portal authentik sync`.
const SYNC_PAGE: i64 = 200;

/// `portal authentik sync [--tenant <slug>] [--dry-run]`.
pub async fn cli_sync(
    settings: &Settings,
    only: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let (db, client) = connect(settings)?;
    let only = match only {
        Some(raw) => Some(
            crate::domain::TenantSlug::parse(raw)
                .map_err(|_| anyhow::anyhow!("no organization has the address {raw}"))?,
        ),
        None => None,
    };
    let len = match &only {
        Some(_) => 1,
        None => db
            .run(tenant_rows::count_live)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let bar = ProgressBar::new(len.max(0) as u64);
    bar.set_style(
        ProgressStyle::with_template("sync {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let prefix = &settings.authentik_group_prefix;
    let (mut checked, mut total, mut failed) = (0usize, 0usize, 0usize);
    // Organizations are read a page at a time (keyset on the slug) and reported as
    // they are done, so 10,000 of them never sit in memory at once.
    let mut after: Option<String> = None;
    loop {
        let batch = match &only {
            Some(slug) if after.is_none() => {
                let key = slug.clone();
                let found = db
                    .run(move |conn| tenant_rows::find_by_slug(conn, &key))
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                match found {
                    Some(t) => vec![t],
                    None => anyhow::bail!("no organization has the address {slug}"),
                }
            }
            Some(_) => Vec::new(),
            None => {
                let from = after.clone();
                db.run(move |conn| tenant_rows::page_after(conn, from.as_deref(), SYNC_PAGE))
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
            }
        };
        let Some(last) = batch.last() else { break };
        after = Some(last.slug.to_string());
        for t in &batch {
            bar.set_message(t.slug.to_string());
            let r = tenant(&db, &client, prefix, t, dry_run).await;
            for c in &r.changes {
                bar.suspend(|| println!("{}: {c}", r.slug));
            }
            total += r.changes.len();
            if let Some(e) = &r.error {
                bar.suspend(|| println!("{}: ERROR {e}", r.slug));
                failed += 1;
            }
            checked += 1;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let verb = if dry_run { "would change" } else { "changed" };
    println!(
        "{checked} organization(s) checked; {verb} {total} thing(s){}",
        if dry_run {
            " (dry run: nothing was changed)"
        } else {
            ""
        }
    );
    if failed > 0 {
        anyhow::bail!("{failed} organization(s) could not be synchronized");
    }
    Ok(())
}

/// `portal authentik status [--retry-failed]`: the outbox backlog and failed rows.
pub async fn cli_status(settings: &Settings, retry_failed: bool) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let db = Db::new(settings.database_url.expose_secret(), 1)?;
    let (backlog, failed, retried) = db
        .public(move |conn| -> AppResult<_> {
            let retried = if retry_failed {
                outbox::retry_failed(conn)?
            } else {
                0
            };
            Ok((
                outbox::backlog(conn, None)?,
                outbox::failed(conn, 20)?,
                retried,
            ))
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if retry_failed {
        println!("{retried} failed row(s) queued again");
    }
    println!("pending: {}", backlog.pending);
    println!("failed:  {}", backlog.failed);
    if let Some(age) = backlog.oldest_pending_secs {
        println!("oldest pending: {age:.0} s");
    }
    for f in failed {
        println!(
            "  #{} {} {} {} after {} attempt(s): {}",
            f.id,
            f.tenant_slug,
            f.kind,
            f.email.unwrap_or_default(),
            f.attempts,
            f.last_error.unwrap_or_default()
        );
    }
    Ok(())
}
