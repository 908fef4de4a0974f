//! An organization's data as one JSON document (format `tenant-portal.export/1`,
//! described in the README): the organization and its settings, then its members,
//! invitations and audit log, each read in batches so a large organization never sits
//! in memory. No secret leaves: no password hash, no invitation token (nor its hash),
//! no Authentik or SSO identifiers.

use diesel::prelude::*;
use futures_util::Stream;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::db::Db;
use crate::db::schema::tenant::{audit_log, invitations, users};
use crate::error::AppResult;
use crate::models::tenant::Tenant;
use crate::models::tenant_settings;

/// Rows per database round trip.
const BATCH: i64 = 500;

/// The document's format name.
pub const EXPORT_FORMAT: &str = "tenant-portal.export/1";

fn at(t: OffsetDateTime) -> Value {
    t.format(&Rfc3339).map(Value::String).unwrap_or(Value::Null)
}

fn maybe(t: Option<OffsetDateTime>) -> Value {
    t.map(at).unwrap_or(Value::Null)
}

type MemberRow = (
    Uuid,
    String,
    String,
    String,
    String,
    bool,
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
    OffsetDateTime,
);

fn members(conn: &mut PgConnection, after: Option<Uuid>) -> AppResult<(Vec<Value>, Option<Uuid>)> {
    let mut q = users::table
        .select((
            users::id,
            users::email,
            users::name,
            users::role,
            users::status,
            users::external_id.is_not_null(),
            users::email_verified_at,
            users::last_login_at,
            users::created_at,
        ))
        .order(users::id.asc())
        .limit(BATCH)
        .into_boxed();
    if let Some(id) = after {
        q = q.filter(users::id.gt(id));
    }
    let rows: Vec<MemberRow> = q.load(conn)?;
    let last = rows.last().map(|r| r.0);
    let values = rows
        .into_iter()
        .map(
            |(id, email, name, role, status, sso, verified, login, created)| {
                json!({
                    "id": id, "email": email, "name": name, "role": role, "status": status,
                    "signs_in_with_sso": sso, "email_verified_at": maybe(verified),
                    "last_login_at": maybe(login), "created_at": at(created),
                })
            },
        )
        .collect();
    Ok((values, last))
}

type InvitationRow = (
    Uuid,
    String,
    String,
    OffsetDateTime,
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
    OffsetDateTime,
);

fn invitations_batch(
    conn: &mut PgConnection,
    after: Option<Uuid>,
) -> AppResult<(Vec<Value>, Option<Uuid>)> {
    let mut q = invitations::table
        .select((
            invitations::id,
            invitations::email,
            invitations::role,
            invitations::expires_at,
            invitations::accepted_at,
            invitations::revoked_at,
            invitations::created_at,
        ))
        .order(invitations::id.asc())
        .limit(BATCH)
        .into_boxed();
    if let Some(id) = after {
        q = q.filter(invitations::id.gt(id));
    }
    let rows: Vec<InvitationRow> = q.load(conn)?;
    let last = rows.last().map(|r| r.0);
    let values = rows
        .into_iter()
        .map(|(id, email, role, expires, accepted, revoked, created)| {
            json!({
                "id": id, "email": email, "role": role, "expires_at": at(expires),
                "accepted_at": maybe(accepted), "revoked_at": maybe(revoked),
                "created_at": at(created),
            })
        })
        .collect();
    Ok((values, last))
}

type AuditRow = (
    i64,
    OffsetDateTime,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Value,
);

fn audit_batch(
    conn: &mut PgConnection,
    after: Option<i64>,
) -> AppResult<(Vec<Value>, Option<i64>)> {
    let mut q = audit_log::table
        .select((
            audit_log::id,
            audit_log::occurred_at,
            audit_log::actor_email,
            audit_log::action,
            audit_log::target,
            audit_log::ip,
            audit_log::details,
        ))
        .order(audit_log::id.asc())
        .limit(BATCH)
        .into_boxed();
    if let Some(id) = after {
        q = q.filter(audit_log::id.gt(id));
    }
    let rows: Vec<AuditRow> = q.load(conn)?;
    let last = rows.last().map(|r| r.0);
    let values = rows
        .into_iter()
        .map(|(id, when, actor, action, target, ip, details)| {
            json!({
                "id": id, "occurred_at": at(when), "actor": actor, "action": action,
                "target": target, "ip": ip, "details": details,
            })
        })
        .collect();
    Ok((values, last))
}

fn head(conn: &mut PgConnection, tenant: &Tenant) -> AppResult<String> {
    let settings = tenant_settings::load(conn)?;
    let organization = json!({
        "slug": tenant.slug.as_str(), "name": tenant.name,
        "business_type": tenant.business_type, "country": tenant.country,
        "created_at": at(tenant.created_at),
    });
    Ok(format!(
        "{{\"format\":{},\"exported_at\":{},\"organization\":{},\"settings\":{},\"members\":[",
        json!(EXPORT_FORMAT),
        at(OffsetDateTime::now_utc()),
        organization,
        settings.describe(),
    ))
}

/// Where the export is.
#[derive(Clone, Copy)]
enum Step {
    Head,
    Members(Option<Uuid>),
    Invitations(Option<Uuid>),
    Audit(Option<i64>),
    Done,
}

/// Reads the next chunk: the JSON text and the step after it.
fn next_chunk(conn: &mut PgConnection, tenant: &Tenant, step: Step) -> AppResult<(String, Step)> {
    // A batch continues its array with a comma unless it is the array's first.
    let join = |values: Vec<Value>, first: bool| {
        let body: Vec<String> = values.iter().map(Value::to_string).collect();
        let sep = if first || body.is_empty() { "" } else { "," };
        format!("{sep}{}", body.join(","))
    };
    Ok(match step {
        Step::Head => (head(conn, tenant)?, Step::Members(None)),
        Step::Members(after) => match members(conn, after)? {
            (v, Some(last)) => (join(v, after.is_none()), Step::Members(Some(last))),
            _ => ("],\"invitations\":[".into(), Step::Invitations(None)),
        },
        Step::Invitations(after) => match invitations_batch(conn, after)? {
            (v, Some(last)) => (join(v, after.is_none()), Step::Invitations(Some(last))),
            _ => ("],\"audit_log\":[".into(), Step::Audit(None)),
        },
        Step::Audit(after) => match audit_batch(conn, after)? {
            (v, Some(last)) => (join(v, after.is_none()), Step::Audit(Some(last))),
            _ => ("]}\n".into(), Step::Done),
        },
        Step::Done => (String::new(), Step::Done),
    })
}

/// The organization's export as a stream of JSON text chunks, one database round trip
/// each. A failure midway ends the stream with the error (the download is cut short,
/// never silently incomplete: the document is then not valid JSON).
pub fn export_organization(db: Db, tenant: Tenant) -> impl Stream<Item = AppResult<String>> {
    futures_util::stream::unfold(Step::Head, move |step| {
        let (db, tenant) = (db.clone(), tenant.clone());
        async move {
            if matches!(step, Step::Done) {
                return None;
            }
            let schema = tenant.schema.clone();
            let chunk = db
                .tenant(&schema, move |conn| next_chunk(conn, &tenant, step))
                .await;
            Some(match chunk {
                Ok((text, next)) => (Ok(text), next),
                Err(e) => (Err(e), Step::Done),
            })
        }
    })
}

/// Records a platform admin's export in both audit logs, before it starts.
pub async fn record_platform_export(db: &Db, tenant: &Tenant, actor: &str) -> AppResult<()> {
    let (slug, who) = (tenant.slug.to_string(), actor.to_string());
    db.tenant(&tenant.schema, move |conn| {
        crate::models::platform_audit::record(
            conn,
            &who,
            "tenant.exported",
            &slug,
            json!({ "by": "platform" }),
        )?;
        let ev = crate::models::audit_log::AuditEvent::new("organization.exported")
            .actor(None, Some(&who))
            .target(&slug)
            .details(json!({ "by": "platform" }));
        crate::models::audit_log::record(conn, &slug, &Default::default(), ev)
    })
    .await
}

/// Records an organization admin's export of their own organization in both audit
/// logs, through the admin door (they must be an active admin now).
pub async fn record_own_export(db: &Db, req: &crate::access::AdminRequest) -> AppResult<()> {
    let slug = req.tenant.slug.to_string();
    req.change(db, move |tx| {
        let who = tx.admin().email.clone();
        crate::models::platform_audit::record(
            tx.conn,
            &who,
            "tenant.exported",
            &slug,
            json!({ "by": "organization" }),
        )?;
        tx.record(crate::models::audit_log::AuditEvent::new("organization.exported").target(&slug))
    })
    .await
}
