//! Signing in through single sign-on: admission from the provider's groups and
//! just-in-time provisioning of the person in the tenant schema, linked by the
//! provider's `sub` (`users.external_id`).

use diesel::prelude::*;

use crate::auth::oidc::{SsoPerson, admission};
use crate::db::Db;
use crate::domain::{Email, PersonName, Role};
use crate::error::AppResult;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::authentik_outbox::Outbox;
use crate::models::tenant::Tenant;
use crate::models::user::{self, User};

/// What admitting people from the provider's groups needs.
#[derive(Clone, Copy)]
pub struct SsoAdmission<'a> {
    /// The database.
    pub db: &'a Db,
    /// Groups are `<prefix><slug>-<role>`.
    pub group_prefix: &'a str,
    /// The group of platform admins.
    pub super_admin_group: &'a str,
    /// Authentik provisioning, on or off (people admitted through an invitation are
    /// provisioned like any other).
    pub outbox: Outbox,
    /// `DEVICE_AUTH_REQUIRED`: everyone's single sign-on must show a second factor.
    pub device_auth_required: bool,
}

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
    Refused(String),
}

/// The refusal of a person whose claims cannot be stored.
pub const UNSTORABLE: &str = "The identity provider sent a value with a NUL character, which this portal cannot store. Ask your administrator to correct the account at the provider.";

const NO_EMAIL: &str = "The identity provider did not share a valid email address, which this organization needs. Ask your administrator.";
const DEACTIVATED: &str =
    "Your account in this organization is deactivated. Ask an administrator to reactivate it.";
const UNVERIFIED_LINK: &str = "An account with this email address already exists here, and the identity provider has not verified that the address is yours, so the two were not linked. Ask your administrator.";
/// The refusal of a single sign-on that shows no second factor where one is required.
pub const NO_SECOND_FACTOR: &str = "This organization requires a second factor, and your identity provider did not report one for this sign-in. Sign in at your identity provider with a second factor (an authenticator app or a passkey), then try again; if it does not ask for one, ask your administrator.";
const OTHER_LINK: &str = "An account with this email address already exists here and belongs to another single sign-on identity. Ask your administrator.";

/// Admits (or not) a person the provider vouched for, creating or updating their
/// account. Every outcome is audited.
pub async fn sign_in(
    rules: &SsoAdmission<'_>,
    tenant: &Tenant,
    person: &SsoPerson,
    meta: RequestMeta,
    method: &'static str,
) -> AppResult<SsoOutcome> {
    if person.has_nul() {
        tracing::warn!(tenant = %tenant.slug, "single sign-on refused: a claim holds NUL");
        return Ok(SsoOutcome::Refused(UNSTORABLE.into()));
    }
    let admission = admission::admit(
        &person.groups,
        rules.group_prefix,
        &tenant.slug,
        rules.super_admin_group,
    );
    let email = person.email.as_deref().and_then(|e| Email::parse(e).ok());
    let shown = email
        .as_ref()
        .map(|e| e.as_str().to_string())
        .unwrap_or_else(|| format!("sub:{}", person.sub));
    let slug = tenant.slug.to_string();
    let person = person.clone();
    let everywhere = rules.device_auth_required;
    rules
        .db
        .tenant(&tenant.schema, move |conn| {
            let ctx = Ctx {
                method,
                everywhere,
                slug: &slug,
                meta: &meta,
                person: &person,
                shown: &shown,
            };
            decide(conn, &ctx, admission, email)
        })
        .await
}

/// What every audit entry of one sign-in shares.
struct Ctx<'a> {
    /// `sso`, or `token_exchange` for the JSON API.
    method: &'static str,
    /// `DEVICE_AUTH_REQUIRED`.
    everywhere: bool,
    slug: &'a str,
    meta: &'a RequestMeta,
    person: &'a SsoPerson,
    /// The email, or the `sub` when there is none.
    shown: &'a str,
}

impl Ctx<'_> {
    fn refuse(&self, conn: &mut PgConnection, reason: &str) -> AppResult<()> {
        let ev = AuditEvent::new("login.sso_refused")
            .target(self.shown)
            .details(
                serde_json::json!({ "method": self.method, "sub": self.person.sub, "reason": reason }),
            );
        audit::record(conn, self.slug, self.meta, ev)
    }
}

fn decide(
    conn: &mut PgConnection,
    ctx: &Ctx<'_>,
    admission: admission::Admission,
    email: Option<Email>,
) -> AppResult<SsoOutcome> {
    let Some(role) = admission.role else {
        ctx.refuse(conn, "no group for this organization")?;
        return Ok(SsoOutcome::NoAccess);
    };
    let Some((email, name)) = email.and_then(|e| display_name(ctx.person, &e).map(|n| (e, n)))
    else {
        ctx.refuse(conn, "no valid email")?;
        return Ok(SsoOutcome::Refused(NO_EMAIL.into()));
    };
    if ctx.method == "sso" && !second_factor_shown(conn, ctx, role)? {
        return Ok(SsoOutcome::Refused(NO_SECOND_FACTOR.into()));
    }
    match provision(conn, ctx, &email, &name, role)? {
        Ok(user) => {
            let ev = AuditEvent::new("login.succeeded")
                .actor(Some(user.id), Some(&user.email))
                .target(&user.email)
                .details(serde_json::json!({
                    "method": ctx.method,
                    "role": role.as_str(),
                    "platform_admin": admission.platform_admin,
                }));
            audit::record(conn, ctx.slug, ctx.meta, ev)?;
            Ok(SsoOutcome::SignedIn {
                user,
                role,
                platform_admin: admission.platform_admin,
            })
        }
        Err((reason, message)) => {
            ctx.refuse(conn, reason)?;
            Ok(SsoOutcome::Refused(message.into()))
        }
    }
}

/// Whether a sign-in page's single sign-on satisfies the organization's second-factor
/// rule: when the rule (or `DEVICE_AUTH_REQUIRED`) requires one of this role, the
/// provider's `amr` must show one. A refusal is audited with the `amr` received.
fn second_factor_shown(conn: &mut PgConnection, ctx: &Ctx<'_>, role: Role) -> AppResult<bool> {
    let rule = crate::models::tenant_settings::load(conn)?.second_factor;
    if !rule.requires(role, ctx.everywhere) || ctx.person.shows_second_factor() {
        return Ok(true);
    }
    let ev = AuditEvent::new("login.sso_refused_second_factor")
        .target(ctx.shown)
        .details(serde_json::json!({
            "method": ctx.method,
            "sub": ctx.person.sub,
            "amr": ctx.person.amr,
            "acr": ctx.person.acr,
        }));
    audit::record(conn, ctx.slug, ctx.meta, ev)?;
    Ok(false)
}

/// The name to show: the provider's name, else the username, else the email's local part.
pub(crate) fn display_name(person: &SsoPerson, email: &Email) -> Option<PersonName> {
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

/// Why an account cannot be used: a short reason for the audit log, a sentence for
/// the person.
type Refusal = (&'static str, &'static str);

/// Finds the person by `sub`, else links an account with the same verified email, else
/// creates one; updates name, email, role and the last sign-in. Nothing is written for
/// an account that cannot be used.
fn provision(
    conn: &mut PgConnection,
    ctx: &Ctx<'_>,
    email: &Email,
    name: &PersonName,
    role: Role,
) -> AppResult<Result<User, Refusal>> {
    let person = ctx.person;
    let by_sub = user::find_by_sub_for_update(conn, &person.sub)?;
    let by_email = user::find_by_email_for_update(conn, email)?;
    let other = ("email belongs to another account", OTHER_LINK);
    let deactivated = ("deactivated", DEACTIVATED);
    let id = match (by_sub, by_email) {
        // The provider's email moved to an address another account holds here.
        (Some(s), Some(e)) if s.id != e.id => return Ok(Err(other)),
        (Some(s), _) if !s.is_active() => return Ok(Err(deactivated)),
        (Some(s), _) => s.id,
        (None, Some(e)) if e.external_id.is_some() => return Ok(Err(other)),
        (None, Some(_)) if !person.email_verified => {
            return Ok(Err((
                "existing account, email not verified",
                UNVERIFIED_LINK,
            )));
        }
        (None, Some(e)) if !e.is_active() => return Ok(Err(deactivated)),
        (None, Some(e)) => {
            user::set_external_id(conn, e.id, &person.sub)?;
            let ev = AuditEvent::new("user.sso_linked")
                .actor(Some(e.id), Some(email.as_str()))
                .target(email.as_str())
                .details(serde_json::json!({ "sub": person.sub, "email_verified": true }));
            audit::record(conn, ctx.slug, ctx.meta, ev)?;
            e.id
        }
        (None, None) => {
            let user = user::insert(conn, email, name, None, role)?;
            user::set_external_id(conn, user.id, &person.sub)?;
            let ev = AuditEvent::new("user.provisioned")
                .actor(Some(user.id), Some(email.as_str()))
                .target(email.as_str())
                .details(serde_json::json!({ "method": ctx.method, "sub": person.sub, "role": role.as_str() }));
            audit::record(conn, ctx.slug, ctx.meta, ev)?;
            user.id
        }
    };
    let updated = user::update_from_provider(conn, id, email, name, role, person.email_verified)?;
    Ok(updated.ok_or(other))
}
