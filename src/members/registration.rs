//! End users joining an organization on their own at `/t/{slug}/register`, as far
//! as the organization's settings allow.

use crate::auth::password::PasswordHasher;
use crate::auth::verification::{Recipient, Verification};
use crate::db::Db;
use crate::domain::{Email, FieldError, NewPassword, PasswordPolicy, PersonName, Role};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::authentik_outbox::Outbox;
use crate::models::tenant::Tenant;
use crate::models::tenant_settings::{Registration, TenantSettings};
use crate::models::user::{self, User};

/// What self-registration needs.
#[derive(Clone, Copy)]
pub struct Registrations<'a> {
    /// The database.
    pub db: &'a Db,
    /// bcrypt on the blocking pool.
    pub hasher: &'a PasswordHasher,
    /// Whether the portal allows password sign-in at all.
    pub password_auth_enabled: bool,
    /// Authentik provisioning, on or off.
    pub outbox: Outbox,
    /// The confirmation mail, queued with the account.
    pub verification: Verification<'a>,
}

/// The registration form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RegisterInput {
    /// The person's name.
    #[serde(default)]
    pub name: String,
    /// Their email.
    #[serde(default)]
    pub email: String,
    /// Their password.
    #[serde(default)]
    pub password: String,
}

/// Why nobody may register here, or `None` when registration is possible.
pub fn closed_reason(deps: &Registrations<'_>, s: &TenantSettings) -> Option<&'static str> {
    if s.registration == Registration::InviteOnly {
        Some("This organization admits people by invitation only. Ask an admin to invite you.")
    } else if !deps.password_auth_enabled || !s.password_login {
        Some(
            "This organization signs in with single sign-on only, so accounts are not created here.",
        )
    } else {
        None
    }
}

/// A registration that passed every check that needs no account to be created:
/// what [`create`] takes. Only these count against the registration limit, so the
/// handler checks, then takes from the limit, then creates.
pub struct Checked {
    name: PersonName,
    email: Email,
    password: NewPassword,
    settings: TenantSettings,
}

impl Checked {
    /// The address the account would get (normalised), e.g. for the per-address limit.
    pub fn email(&self) -> &Email {
        &self.email
    }
}

/// Checks a registration without creating anything. Refuses with `Forbidden` when
/// the organization does not take registrations, and `Validation` naming every
/// problem at once (an email outside the allowed domains included).
pub async fn check(
    deps: &Registrations<'_>,
    tenant: &Tenant,
    input: &RegisterInput,
) -> AppResult<Checked> {
    let settings = crate::tenancy::settings_of(deps.db, tenant).await?;
    if let Some(reason) = closed_reason(deps, &settings) {
        return Err(AppError::Forbidden(reason.into()));
    }
    let (name, email, password) = parse(input, tenant, &settings)?;
    Ok(Checked {
        name,
        email,
        password,
        settings,
    })
}

/// Creates the `member` account of a checked registration with its queued
/// confirmation mail, and returns it with the
/// organization's settings. `Conflict` when the email already has an account.
pub async fn create(
    deps: &Registrations<'_>,
    tenant: &Tenant,
    checked: Checked,
    meta: RequestMeta,
) -> AppResult<(User, TenantSettings)> {
    let Checked {
        name,
        email,
        password,
        settings,
    } = checked;
    let hash = deps.hasher.hash(&password).await?;
    let slug = tenant.slug.to_string();
    let outbox = deps.outbox;
    let welcome = deps.verification.mail();
    let t = tenant.clone();
    let user = deps
        .db
        .tenant(&tenant.schema, move |conn| {
            // Taken emails are refused by the unique index, so two racing
            // registrations cannot both succeed.
            let user = user::insert_signing_in(conn, &email, &name, Some(&hash), Role::Member)?;
            outbox.person_changed(conn, &slug, &user, "created")?;
            let ev = AuditEvent::new("user.registered")
                .actor(Some(user.id), Some(&user.email))
                .target(&user.email)
                .details(serde_json::json!({ "role": "member", "method": "password" }));
            audit::record(conn, &slug, &meta, ev)?;
            // The confirmation mail is committed with the account: nothing is left to
            // do after the commit that could fail.
            welcome.queue(conn, &t, &Recipient::from(&user))?;
            Ok(user)
        })
        .await?;
    Ok((user, settings))
}

fn parse(
    input: &RegisterInput,
    tenant: &Tenant,
    s: &TenantSettings,
) -> AppResult<(PersonName, Email, NewPassword)> {
    let mut errors = Vec::new();
    let name = PersonName::parse(&input.name)
        .map_err(|e| errors.push(e))
        .ok();
    let email = Email::parse(&input.email).map_err(|e| errors.push(e)).ok();
    if let Some(email) = &email
        && !s.admits(email)
    {
        errors.push(FieldError::new(
            "email",
            format!(
                "{} accepts accounts only for addresses at {}.",
                tenant.name,
                s.allowed_domains.join(", ")
            ),
        ));
    }
    let context = [
        input.email.as_str(),
        input.name.as_str(),
        tenant.name.as_str(),
    ];
    let password = NewPassword::parse(&input.password, PasswordPolicy::default(), &context)
        .map_err(|e| errors.push(e))
        .ok();
    match (name, email, password) {
        (Some(n), Some(e), Some(p)) if errors.is_empty() => Ok((n, e, p)),
        _ => Err(AppError::Validation(errors)),
    }
}
