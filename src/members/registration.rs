//! End users joining an organization on their own at `/t/{slug}/register`, as far
//! as the organization's settings allow.

use crate::app::AppState;
use crate::audit::{self, AuditEvent, RequestMeta};
use crate::domain::{Email, FieldError, NewPassword, PasswordPolicy, PersonName, Role};
use crate::error::{AppError, AppResult};
use crate::members::{self, User};
use crate::tenancy::Tenant;
use crate::tenancy::settings::{self, Registration, TenantSettings};

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
pub fn closed_reason(state: &AppState, s: &TenantSettings) -> Option<&'static str> {
    if s.registration == Registration::InviteOnly {
        Some("This organization admits people by invitation only. Ask an admin to invite you.")
    } else if !state.settings.password_auth_enabled || !s.password_login {
        Some(
            "This organization signs in with single sign-on only, so accounts are not created here.",
        )
    } else {
        None
    }
}

/// The organization's settings.
pub async fn tenant_settings(state: &AppState, tenant: &Tenant) -> AppResult<TenantSettings> {
    state.db.tenant(&tenant.schema, settings::load).await
}

/// Creates a `member` account. Refuses with `Forbidden` when the organization does
/// not take registrations, `Validation` for bad input or an email outside the
/// allowed domains, and `Conflict` when the email already has an account.
pub async fn register(
    state: &AppState,
    tenant: &Tenant,
    input: &RegisterInput,
    meta: RequestMeta,
) -> AppResult<(User, TenantSettings)> {
    let s = tenant_settings(state, tenant).await?;
    if let Some(reason) = closed_reason(state, &s) {
        return Err(AppError::Forbidden(reason.into()));
    }
    let (name, email, password) = parse(input, tenant)?;
    if !s.admits(&email) {
        return Err(AppError::Validation(vec![FieldError::new(
            "email",
            format!(
                "{} accepts accounts only for addresses at {}.",
                tenant.name,
                s.allowed_domains.join(", ")
            ),
        )]));
    }
    let hash = state.hasher.hash(&password).await?;
    let slug = tenant.slug.to_string();
    let user = state
        .db
        .tenant(&tenant.schema, move |conn| {
            // Taken emails are refused by the unique index, so two racing
            // registrations cannot both succeed.
            let user = members::insert(conn, &email, &name, Some(&hash), Role::Member)?;
            let ev = AuditEvent::new("user.registered")
                .actor(Some(user.id), Some(&user.email))
                .target(&user.email)
                .details(serde_json::json!({ "role": "member", "method": "password" }));
            audit::record(conn, &slug, &meta, ev)?;
            Ok(user)
        })
        .await?;
    Ok((user, s))
}

fn parse(input: &RegisterInput, tenant: &Tenant) -> AppResult<(PersonName, Email, NewPassword)> {
    let mut errors = Vec::new();
    let name = PersonName::parse(&input.name)
        .map_err(|e| errors.push(e))
        .ok();
    let email = Email::parse(&input.email).map_err(|e| errors.push(e)).ok();
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
