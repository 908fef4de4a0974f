//! Security events: one row in the tenant's `audit_log` (inside the same transaction
//! as the change it records) and one structured log line.

use std::net::IpAddr;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use diesel::prelude::*;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::schema::tenant::audit_log;
use crate::error::{AppError, AppResult};

/// Who sent a request, as far as the audit log is concerned.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// Client IP address.
    pub ip: Option<String>,
    /// Browser or client name, shortened.
    pub user_agent: Option<String>,
}

impl RequestMeta {
    /// Reads the client address and user agent of a request.
    pub fn of(req: &HttpRequest) -> Self {
        Self {
            ip: client_ip(req).map(|a| a.to_string()),
            user_agent: req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(256).collect()),
        }
    }
}

/// The client's address: the peer, or, when the peer is a trusted proxy
/// (`PORTAL_TRUSTED_PROXIES`), the nearest untrusted address in `X-Forwarded-For`.
/// Anyone can send that header, so it is believed only from a proxy we run.
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted: &[IpAddr] = req
        .app_data::<web::Data<crate::app::AppState>>()
        .map(|s| s.settings.trusted_proxies.as_slice())
        .unwrap_or(&[]);
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return Some(ip),
            // A malformed hop: stop believing the chain here.
            Err(_) => break,
        }
    }
    Some(peer)
}

impl FromRequest for RequestMeta {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::of(req)))
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    /// What happened, dotted (`login.succeeded`).
    pub action: &'a str,
    /// The person who did it, if known.
    pub actor_id: Option<Uuid>,
    /// Their email, kept even if the person is later removed.
    pub actor_email: Option<&'a str>,
    /// What it was done to.
    pub target: Option<&'a str>,
    /// Anything else worth keeping; never secrets.
    pub details: Value,
}

impl<'a> AuditEvent<'a> {
    /// An event with no actor, target or details yet.
    pub fn new(action: &'a str) -> Self {
        Self {
            action,
            actor_id: None,
            actor_email: None,
            target: None,
            details: Value::Object(Default::default()),
        }
    }

    /// Sets the actor.
    pub fn actor(mut self, id: Option<Uuid>, email: Option<&'a str>) -> Self {
        self.actor_id = id;
        self.actor_email = email;
        self
    }

    /// Sets the target.
    pub fn target(mut self, target: &'a str) -> Self {
        self.target = Some(target);
        self
    }

    /// Sets the details.
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Records an event in the tenant schema the connection's transaction is scoped to.
pub fn record(
    conn: &mut PgConnection,
    tenant: &str,
    meta: &RequestMeta,
    event: AuditEvent<'_>,
) -> AppResult<()> {
    tracing::info!(
        target: "audit",
        tenant,
        action = event.action,
        actor = event.actor_email,
        subject = event.target,
        ip = meta.ip.as_deref(),
        "audit event"
    );
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor_id.eq(event.actor_id),
            audit_log::actor_email.eq(event.actor_email),
            audit_log::action.eq(event.action),
            audit_log::target.eq(event.target),
            audit_log::ip.eq(meta.ip.as_deref()),
            audit_log::user_agent.eq(meta.user_agent.as_deref()),
            audit_log::details.eq(&event.details),
        ))
        .execute(conn)?;
    Ok(())
}

/// A stored event, for pages.
#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    /// Row id.
    pub id: i64,
    /// When.
    #[serde(with = "unix_seconds")]
    pub occurred_at: OffsetDateTime,
    /// Who, by email.
    pub actor_email: Option<String>,
    /// What.
    pub action: String,
    /// To what.
    pub target: Option<String>,
    /// From where.
    pub ip: Option<String>,
}

impl AuditEntry {
    /// A sentence for the dashboard's activity list.
    pub fn describe(&self) -> String {
        let who = self.actor_email.as_deref().unwrap_or("Someone");
        let target = self.target.as_deref().unwrap_or("an account");
        match self.action.as_str() {
            "organization.created" => format!("{who} created the organization"),
            "user.signed_up" => format!("{who} joined"),
            "login.succeeded" => format!("{who} signed in"),
            "login.failed" => format!(
                "Failed sign-in for {}",
                self.target
                    .as_deref()
                    .or(self.actor_email.as_deref())
                    .unwrap_or("an unknown account")
            ),
            "logout" => format!("{who} signed out"),
            "user.registered" => format!("{who} registered"),
            "email.verified" => format!("{who} confirmed their email address"),
            "password.reset_requested" => format!("Password reset requested for {target}"),
            "password.reset" => format!("{who} set a new password through a reset link"),
            "user.password_set" => format!("{who} set a new password for {target}"),
            "invitation.sent" => format!("{who} invited {target}"),
            "invitation.resent" => format!("{who} sent a new invitation link to {target}"),
            "invitation.revoked" => format!("{who} withdrew the invitation of {target}"),
            "invitation.accepted" => format!("{who} accepted an invitation and joined"),
            "member.role_changed" => format!("{who} changed the role of {target}"),
            "member.deactivated" => format!("{who} deactivated {target}"),
            "member.reactivated" => format!("{who} reactivated {target}"),
            "profile.updated" => format!("{who} changed their name"),
            "password.changed" => format!("{who} changed their password"),
            "settings.updated" => format!("{who} changed the organization's settings"),
            "account.locked" => format!("Sign-in paused for {target} after failed attempts"),
            "account.unlocked" => format!("Sign-in for {target} resumed"),
            "login.refused_locked" => format!("Refused sign-in for {target}: paused"),
            "login.refused_unverified" => {
                format!("Refused sign-in for {target}: email not confirmed")
            }
            "user.created" => format!(
                "{who} added {}",
                self.target.as_deref().unwrap_or("a person")
            ),
            other => format!("{who}: {other}"),
        }
    }

    /// The time as shown on pages (UTC).
    pub fn when(&self) -> String {
        crate::display::minute(self.occurred_at)
    }
}

/// The newest events of the tenant.
pub fn recent(conn: &mut PgConnection, limit: i64) -> AppResult<Vec<AuditEntry>> {
    Ok(audit_log::table
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)?)
}

/// Timestamps as seconds since the epoch, as `extract(epoch ...)` gives them in JSON.
mod unix_seconds {
    use serde::{Deserialize, Deserializer};
    use time::OffsetDateTime;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let secs = f64::deserialize(d)?;
        OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128)
            .map_err(serde::de::Error::custom)
    }
}
