//! The platform: super-admins who see every organization, create, suspend and
//! reactivate them, and read the platform audit log.

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use futures_util::future::LocalBoxFuture;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::app::AppState;
use crate::audit::{self, AuditEvent, RequestMeta};
use crate::auth::tokens;
use crate::db::schema::public::{platform_admins, platform_audit_log, tenants};
use crate::domain::{BusinessType, Country, Email, FieldError, OrganizationName, Role, TenantSlug};
use crate::error::{AppError, AppResult};
use crate::members::invitations;
use crate::tenancy::provision::{self, NewOrganization};
use crate::tenancy::{Tenant, TenantRegistry, TenantStatus};

const PLATFORM: &str = "platform";

/// A signed-in platform super-admin, as the session remembers them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlatformIdentity {
    /// Row id in `platform_admins`.
    pub id: Uuid,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
}

/// The signed-in super-admin of a request; others are sent to `/admin/login`.
pub struct PlatformUser(pub PlatformIdentity);

impl FromRequest for PlatformUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        Box::pin(async move {
            session
                .get::<PlatformIdentity>(PLATFORM)
                .ok()
                .flatten()
                .map(PlatformUser)
                .ok_or(AppError::SignInRequired {
                    login_url: "/admin/login".into(),
                })
        })
    }
}

/// Starts a platform session (a new session id, nothing else in it).
pub fn start(session: &Session, who: PlatformIdentity) -> AppResult<()> {
    session.renew();
    session.clear();
    session.insert(PLATFORM, who).map_err(AppError::internal)
}

pub(crate) fn record(
    conn: &mut PgConnection,
    actor: &str,
    action: &str,
    target: &str,
    details: serde_json::Value,
) -> AppResult<()> {
    diesel::insert_into(platform_audit_log::table)
        .values((
            platform_audit_log::actor.eq(actor),
            platform_audit_log::action.eq(action),
            platform_audit_log::target.eq(target),
            platform_audit_log::details.eq(details),
        ))
        .execute(conn)?;
    Ok(())
}

/// Grants the platform to a person the identity provider puts in the super-admin
/// group: their platform-admin row is created or renamed (it has no password, so only
/// single sign-on opens it) and the sign-in is in the platform audit log.
pub async fn admit_from_sso(
    state: &AppState,
    email: &str,
    name: &str,
) -> AppResult<PlatformIdentity> {
    let (email, name) = (email.to_string(), name.to_string());
    state
        .db
        .run(move |conn| {
            let (id, email, name): (Uuid, String, String) =
                diesel::insert_into(platform_admins::table)
                    .values((
                        platform_admins::email.eq(&email),
                        platform_admins::name.eq(&name),
                    ))
                    .on_conflict(platform_admins::email)
                    .do_update()
                    .set((
                        platform_admins::name.eq(&name),
                        platform_admins::last_login_at.eq(Some(OffsetDateTime::now_utc())),
                        platform_admins::updated_at.eq(diesel::dsl::now),
                    ))
                    .returning((
                        platform_admins::id,
                        platform_admins::email,
                        platform_admins::name,
                    ))
                    .get_result(conn)?;
            record(
                conn,
                &email,
                "platform.login.sso",
                &email,
                serde_json::json!({}),
            )?;
            Ok(PlatformIdentity { id, email, name })
        })
        .await
}

/// Adds platform rights to a session that was just started.
pub fn add_to_session(session: &Session, who: PlatformIdentity) -> AppResult<()> {
    session.insert(PLATFORM, who).map_err(AppError::internal)
}

/// Checks a super-admin's email and password; the same bcrypt cost whether or not the
/// email exists. Every attempt is in the platform audit log.
pub async fn login(
    state: &AppState,
    email: &str,
    password: SecretString,
    meta: &RequestMeta,
) -> AppResult<Option<PlatformIdentity>> {
    let email = Email::parse(email).ok();
    let lookup = email.clone();
    let row: Option<(Uuid, String, String, Option<String>)> = state
        .db
        .run(move |conn| {
            let Some(e) = lookup else { return Ok(None) };
            Ok(platform_admins::table
                .filter(platform_admins::email.eq(e.as_str()))
                .select((
                    platform_admins::id,
                    platform_admins::email,
                    platform_admins::name,
                    platform_admins::password_hash,
                ))
                .first(conn)
                .optional()?)
        })
        .await?;
    let hash = row.as_ref().and_then(|r| r.3.clone());
    let ok = state.hasher.verify(password, hash).await?;
    let who = row
        .filter(|_| ok)
        .map(|(id, email, name, _)| PlatformIdentity { id, email, name });
    let target = email.map(|e| e.as_str().to_string()).unwrap_or_default();
    let action = if who.is_some() {
        "platform.login.succeeded"
    } else {
        "platform.login.failed"
    };
    let ip = meta.ip.clone();
    let signed_in = who.as_ref().map(|w| w.id);
    state
        .db
        .run(move |conn| {
            if let Some(id) = signed_in {
                diesel::update(platform_admins::table.find(id))
                    .set(platform_admins::last_login_at.eq(Some(OffsetDateTime::now_utc())))
                    .execute(conn)?;
            }
            record(
                conn,
                &target,
                action,
                &target,
                serde_json::json!({ "ip": ip }),
            )
        })
        .await?;
    Ok(who)
}

/// One organization as the platform sees it.
#[derive(Debug, QueryableByName)]
pub struct TenantSummary {
    /// Address.
    #[diesel(sql_type = Text)]
    pub slug: String,
    /// Name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// `active` or `suspended`.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Active members.
    #[diesel(sql_type = BigInt)]
    pub members: i64,
    /// Created, as `YYYY-MM-DD`.
    #[diesel(sql_type = Text)]
    pub created: String,
}

/// Every organization with its active member count, in one statement.
pub async fn tenants_overview(
    state: &AppState,
    registry: &TenantRegistry,
) -> AppResult<Vec<TenantSummary>> {
    let all = registry.list().await?;
    if all.is_empty() {
        return Ok(Vec::new());
    }
    // Schema names come from the registry and were checked when read; quoted anyway.
    let counts: Vec<String> = all
        .iter()
        .map(|t| {
            format!(
                "SELECT '{id}'::uuid AS id, count(*) AS members FROM {schema}.users WHERE status = 'active'",
                id = t.id,
                schema = t.schema.quoted()
            )
        })
        .collect();
    let sql = format!(
        "SELECT t.slug, t.name, t.status, c.members, to_char(t.created_at, 'YYYY-MM-DD') AS created \
         FROM tenants t JOIN ({}) c ON c.id = t.id ORDER BY t.slug",
        counts.join(" UNION ALL ")
    );
    state
        .db
        .run(move |conn| Ok(diesel::sql_query(sql).load(conn)?))
        .await
}

/// The platform's newest audit entries.
pub async fn recent_events(
    state: &AppState,
    limit: i64,
) -> AppResult<Vec<(String, Option<String>, String, Option<String>)>> {
    state
        .db
        .run(move |conn| {
            let rows: Vec<(OffsetDateTime, Option<String>, String, Option<String>)> =
                platform_audit_log::table
                    .order(platform_audit_log::id.desc())
                    .limit(limit)
                    .select((
                        platform_audit_log::occurred_at,
                        platform_audit_log::actor,
                        platform_audit_log::action,
                        platform_audit_log::target,
                    ))
                    .load(conn)?;
            let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
            Ok(rows
                .into_iter()
                .map(|(at, actor, action, target)| {
                    (at.format(&f).unwrap_or_default(), actor, action, target)
                })
                .collect())
        })
        .await
}

/// The new-organization form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewTenantInput {
    /// Name.
    #[serde(default)]
    pub company_name: String,
    /// Wanted address; made from the name when empty.
    #[serde(default)]
    pub slug: String,
    /// Business type key.
    #[serde(default)]
    pub business_type: String,
    /// Country code.
    #[serde(default)]
    pub country: String,
    /// Who is invited as its first admin (optional).
    #[serde(default)]
    pub admin_email: String,
}

fn parse(input: &NewTenantInput) -> Result<(NewOrganization, Option<Email>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = OrganizationName::parse(&input.company_name)
        .map_err(|e| errors.push(e))
        .ok();
    let business_type = BusinessType::parse(&input.business_type)
        .map_err(|e| errors.push(e))
        .ok();
    let country = Country::parse(&input.country)
        .map_err(|e| errors.push(e))
        .ok();
    let slug = if input.slug.trim().is_empty() {
        TenantSlug::suggest(&input.company_name)
            .ok_or_else(|| FieldError::new("slug", "Choose an address (for example acme-labs)."))
    } else {
        TenantSlug::parse(input.slug.trim())
    }
    .map_err(|e| errors.push(e))
    .ok();
    let admin = if input.admin_email.trim().is_empty() {
        None
    } else {
        Email::parse(&input.admin_email)
            .map_err(|mut e| {
                e.field = "admin_email";
                errors.push(e)
            })
            .ok()
    };
    match (name, business_type, country, slug) {
        (Some(name), Some(business_type), Some(country), Some(slug)) if errors.is_empty() => Ok((
            NewOrganization {
                name,
                business_type,
                country,
                slug,
            },
            admin,
        )),
        _ => Err(errors),
    }
}

/// Creates an organization; its first admin, if named, gets an invitation.
pub async fn create_tenant(
    state: &AppState,
    actor: &PlatformIdentity,
    input: &NewTenantInput,
    meta: RequestMeta,
) -> AppResult<Tenant> {
    let (org, admin) = parse(input).map_err(AppError::Validation)?;
    let (raw, stored) = tokens::generate();
    let expires = invitations::expiry(state)?;
    let who = actor.email.clone();
    let invite_to = admin.clone();
    let tenant = state
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let tenant = provision::insert_tenant(conn, &org, &who)?;
                if let Some(email) = &invite_to {
                    invitations::open_invitation(conn, email, Role::Admin, None, &stored, expires)?;
                    let ev = AuditEvent::new("invitation.sent")
                        .actor(None, Some(&who))
                        .target(email.as_str())
                        .details(serde_json::json!({ "role": "admin", "by": "platform" }));
                    audit::record(conn, tenant.slug.as_str(), &meta, ev)?;
                }
                Ok(tenant)
            })
        })
        .await?;
    if let Some(email) = admin {
        invitations::mail_invitation(
            state,
            &tenant,
            &actor.name,
            email.as_str(),
            Role::Admin,
            &raw,
        );
    }
    Ok(tenant)
}

/// Suspends or reactivates an organization. A suspended organization's pages answer
/// with a clear page and nobody signs in.
pub async fn set_status(
    state: &AppState,
    registry: &TenantRegistry,
    actor: &PlatformIdentity,
    slug: &TenantSlug,
    status: TenantStatus,
) -> AppResult<()> {
    let (value, action) = match status {
        TenantStatus::Suspended => ("suspended", "tenant.suspended"),
        TenantStatus::Active => ("active", "tenant.reactivated"),
    };
    let key = slug.as_str().to_string();
    let who = actor.email.clone();
    let changed = state
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let n = diesel::update(tenants::table.filter(tenants::slug.eq(&key)))
                    .set((
                        tenants::status.eq(value),
                        tenants::updated_at.eq(diesel::dsl::now),
                    ))
                    .execute(conn)?;
                if n > 0 {
                    record(conn, &who, action, &key, serde_json::json!({}))?;
                }
                Ok(n > 0)
            })
        })
        .await?;
    registry.invalidate(slug);
    if changed {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}
