//! Signing in through single sign-on: admission from the provider's groups and
//! just-in-time provisioning of the person in the tenant schema, linked by the
//! provider's `sub` (`users.external_id`).

use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::app::AppState;
use crate::audit::{self, AuditEvent, RequestMeta};
use crate::auth::oidc::{SsoPerson, admission};
use crate::db::schema::tenant::users;
use crate::domain::{Email, PersonName, Role};
use crate::error::AppResult;
use crate::members::{self, User};
use crate::tenancy::Tenant;

/// How a single sign-on ended.
#[derive(Debug)]
pub enum SsoOutcome {
    /// Admitted: start a session with this person and role.
    SignedIn {
        /// The person, as now stored.
        user: User,
        /// Their role, from the groups.
        role: Role,
        /// Whether they are also a platform admin.
        platform_admin: bool,
    },
    /// No group of this tenant: no account, a 403 page.
    NoAccess,
    /// Admitted by the groups, but the account cannot be used; says why.
    Refused(&'static str),
}

const NO_EMAIL: &str = "The identity provider did not share a valid email address, which this organization needs. Ask your administrator.";
const DEACTIVATED: &str =
    "Your account in this organization is deactivated. Ask an administrator to reactivate it.";
const UNVERIFIED_LINK: &str = "An account with this email address already exists here, and the identity provider has not verified that the address is yours, so the two were not linked. Ask your administrator.";
const OTHER_LINK: &str = "An account with this email address already exists here and belongs to another single sign-on identity. Ask your administrator.";

/// Admits (or not) a person the provider vouched for, creating or updating their
/// account. Every outcome is audited.
pub async fn sign_in(
    state: &AppState,
    tenant: &Tenant,
    person: &SsoPerson,
    meta: RequestMeta,
) -> AppResult<SsoOutcome> {
    let Some(oidc) = state.oidc.as_ref() else {
        return Ok(SsoOutcome::Refused("Single sign-on is not configured."));
    };
    let s = oidc.settings();
    let admission = admission::admit(
        &person.groups,
        &s.group_prefix,
        &tenant.slug,
        &s.super_admin_group,
    );
    let email = person.email.as_deref().and_then(|e| Email::parse(e).ok());
    let shown = email
        .as_ref()
        .map(|e| e.as_str().to_string())
        .unwrap_or_else(|| format!("sub:{}", person.sub));
    let slug = tenant.slug.to_string();
    let person = person.clone();
    state
        .db
        .tenant(&tenant.schema, move |conn| {
            let refuse = |conn: &mut PgConnection, action: &str, reason: &'static str| {
                let ev = AuditEvent::new(action).target(&shown).details(
                    serde_json::json!({ "method": "sso", "sub": person.sub, "reason": reason }),
                );
                audit::record(conn, &slug, &meta, ev)
            };
            let Some(role) = admission.role else {
                refuse(conn, "login.sso_refused", "no group for this organization")?;
                return Ok(SsoOutcome::NoAccess);
            };
            let Some(email) = email else {
                refuse(conn, "login.sso_refused", "no valid email")?;
                return Ok(SsoOutcome::Refused(NO_EMAIL));
            };
            let Some(name) = display_name(&person, &email) else {
                refuse(conn, "login.sso_refused", "no usable name")?;
                return Ok(SsoOutcome::Refused(NO_EMAIL));
            };
            let outcome = provision(conn, &slug, &meta, &person, &email, &name, role)?;
            match outcome {
                Ok(user) if !user.is_active() => {
                    refuse(conn, "login.sso_refused", "deactivated")?;
                    Ok(SsoOutcome::Refused(DEACTIVATED))
                }
                Ok(user) => {
                    let ev = AuditEvent::new("login.succeeded")
                        .actor(Some(user.id), Some(&user.email))
                        .target(&user.email)
                        .details(serde_json::json!({
                            "method": "sso",
                            "role": role.as_str(),
                            "platform_admin": admission.platform_admin,
                        }));
                    audit::record(conn, &slug, &meta, ev)?;
                    Ok(SsoOutcome::SignedIn {
                        user,
                        role,
                        platform_admin: admission.platform_admin,
                    })
                }
                Err(reason) => {
                    refuse(conn, "login.sso_refused", reason)?;
                    Ok(SsoOutcome::Refused(reason))
                }
            }
        })
        .await
}

/// The name to show: the provider's name, else the username, else the email's local part.
fn display_name(person: &SsoPerson, email: &Email) -> Option<PersonName> {
    let local = email.as_str().split('@').next();
    [
        person.name.as_deref(),
        person.preferred_username.as_deref(),
        local,
    ]
    .into_iter()
    .flatten()
    .map(|n| n.trim().chars().take(100).collect::<String>())
    .find_map(|n| PersonName::parse(&n).ok())
}

/// Finds the person by `sub`, else links an account with the same verified email, else
/// creates one; updates name, email, role and the last sign-in. `Err` says why the
/// account cannot be used.
fn provision(
    conn: &mut PgConnection,
    slug: &str,
    meta: &RequestMeta,
    person: &SsoPerson,
    email: &Email,
    name: &PersonName,
    role: Role,
) -> AppResult<Result<User, &'static str>> {
    let verified_at = person.email_verified.then(OffsetDateTime::now_utc);
    let by_sub: Option<Uuid> = users::table
        .filter(users::external_id.eq(&person.sub))
        .select(users::id)
        .for_update()
        .first(conn)
        .optional()?;
    let by_email: Option<(Uuid, Option<String>)> = users::table
        .filter(users::email.eq(email.as_str()))
        .select((users::id, users::external_id))
        .for_update()
        .first(conn)
        .optional()?;
    let id = match (by_sub, by_email) {
        (Some(id), Some((other, _))) if other != id => {
            // The provider's email moved to an address another account holds here.
            return Ok(Err(OTHER_LINK));
        }
        (Some(id), _) => id,
        (None, Some((_, Some(_)))) => return Ok(Err(OTHER_LINK)),
        (None, Some((id, None))) => {
            if !person.email_verified {
                return Ok(Err(UNVERIFIED_LINK));
            }
            diesel::update(users::table.find(id))
                .set(users::external_id.eq(&person.sub))
                .execute(conn)?;
            let ev = AuditEvent::new("user.sso_linked")
                .actor(Some(id), Some(email.as_str()))
                .target(email.as_str())
                .details(serde_json::json!({ "sub": person.sub, "email_verified": true }));
            audit::record(conn, slug, meta, ev)?;
            id
        }
        (None, None) => {
            let user = members::insert(conn, email, name, None, role)?;
            diesel::update(users::table.find(user.id))
                .set(users::external_id.eq(&person.sub))
                .execute(conn)?;
            let ev = AuditEvent::new("user.provisioned")
                .actor(Some(user.id), Some(email.as_str()))
                .target(email.as_str())
                .details(serde_json::json!({ "method": "sso", "sub": person.sub, "role": role.as_str() }));
            audit::record(conn, slug, meta, ev)?;
            user.id
        }
    };
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(email.as_str()),
            users::name.eq(name.as_str()),
            users::role.eq(role.as_str()),
            users::last_login_at.eq(diesel::dsl::now),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    if let Some(at) = verified_at {
        diesel::update(
            users::table
                .find(id)
                .filter(users::email_verified_at.is_null()),
        )
        .set(users::email_verified_at.eq(at))
        .execute(conn)?;
    }
    Ok(members::find(conn, id)?.ok_or(OTHER_LINK))
}
