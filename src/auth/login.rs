//! Signing in with email and password.

use secrecy::{ExposeSecret, SecretString};

use crate::audit::{self, AuditEvent, RequestMeta};
use crate::auth::password::PasswordHasher;
use crate::db::Db;
use crate::domain::Email;
use crate::error::AppResult;
use crate::members::{self, User};
use crate::tenancy::Tenant;

/// Checks an email and password against the tenant's people. Every attempt costs one
/// bcrypt verification, whether or not the email exists, and is audited.
pub async fn password_login(
    db: &Db,
    hasher: &PasswordHasher,
    tenant: &Tenant,
    email: &str,
    password: SecretString,
    meta: RequestMeta,
) -> AppResult<Option<User>> {
    let email = Email::parse(email).ok();
    let lookup = email.clone();
    let user = match lookup {
        Some(e) => {
            db.tenant(&tenant.schema, move |conn| members::find_by_email(conn, &e))
                .await?
        }
        None => None,
    };
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let password_ok = hasher.verify(password, hash).await?;
    let admitted = user.filter(|u| password_ok && u.is_active());

    let slug = tenant.slug.to_string();
    let attempted = email.map(|e| e.to_string());
    let admitted_for_audit = admitted.clone();
    db.tenant(&tenant.schema, move |conn| {
        match &admitted_for_audit {
            Some(u) => {
                members::touch_login(conn, u.id)?;
                let ev = AuditEvent::new("login.succeeded")
                    .actor(Some(u.id), Some(&u.email))
                    .target(&u.email)
                    .details(serde_json::json!({ "method": "password" }));
                audit::record(conn, &slug, &meta, ev)?;
            }
            None => {
                let target = attempted.as_deref().unwrap_or("(invalid email)");
                let ev = AuditEvent::new("login.failed").target(target).details(
                    serde_json::json!({ "method": "password", "reason": "invalid_credentials" }),
                );
                audit::record(conn, &slug, &meta, ev)?;
            }
        }
        Ok(())
    })
    .await?;
    Ok(admitted)
}

/// A submitted password, kept out of logs.
pub fn secret(raw: String) -> SecretString {
    SecretString::from(raw)
}

/// Whether a submitted secret is empty.
pub fn is_blank(s: &SecretString) -> bool {
    s.expose_secret().is_empty()
}
