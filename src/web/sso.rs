//! `GET /t/{slug}/sso` (off to the OpenID Provider) and `GET /auth/oidc/callback`
//! (back from it).

use actix_web::{HttpResponse, web};

use crate::app::AppState;
use crate::auth::oidc::{PendingLogin, SsoError, SsoPerson, admission};
use crate::auth::sso::{self, SsoOutcome};
use crate::error::{AppError, AppResult};
use crate::members::sso_invitation;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::tenancy::{Tenant, TenantRegistry, TenantStatus};
use crate::web::respond::see_other;
use crate::web::session::{PortalSession, SsoAuthentication, safe_next};
use crate::web::tenant::CurrentTenant;

#[derive(serde::Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

/// `GET /t/{slug}/sso`: remembers the sign-in in the session and sends the person to
/// the provider.
pub async fn start(
    state: web::Data<AppState>,
    tenant: CurrentTenant,
    session: PortalSession,
    meta: RequestMeta,
    q: web::Query<StartQuery>,
) -> AppResult<HttpResponse> {
    let next = q.next.as_deref().map(|n| safe_next(&tenant, Some(n)));
    go_to_provider(&state, &tenant, &session, &meta, next, None).await
}

/// Starts a sign-in at the provider, remembering it (and the invitation it accepts,
/// if any) in the session.
pub(super) async fn go_to_provider(
    state: &AppState,
    tenant: &Tenant,
    session: &PortalSession,
    meta: &RequestMeta,
    next: Option<String>,
    invitation: Option<String>,
) -> AppResult<HttpResponse> {
    let oidc = state.oidc.as_ref().ok_or(AppError::NotFound)?;
    state
        .limits
        .limit_sso(meta.ip.as_deref().unwrap_or_default())
        .await?;
    let (url, mut pending) = oidc.begin(tenant, next).await.map_err(|e| {
        tracing::warn!(error = %e, "cannot start single sign-on");
        AppError::Unavailable("identity provider")
    })?;
    pending.invitation = invitation;
    session.set_pending_sso(pending)?;
    Ok(see_other(url.as_str()))
}

#[derive(serde::Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

const USED: &str = "This sign-in has already been completed, has expired, or was started in another browser. Start again from your organization's sign-in page.";
const DECLINED: &str = "Your identity provider did not sign you in (it was cancelled or refused there). Please start again.";
const FAILED: &str =
    "The sign-in through your identity provider could not be verified. Please start again.";

/// `GET /auth/oidc/callback`: the one redirect URI. Only `code` and `state` are read
/// from the query; the tenant and everything else come from the session.
pub async fn callback(
    state: web::Data<AppState>,
    registry: web::Data<TenantRegistry>,
    session: PortalSession,
    meta: RequestMeta,
    q: web::Query<CallbackQuery>,
) -> AppResult<HttpResponse> {
    let oidc = state.oidc.as_ref().ok_or(AppError::NotFound)?;
    // Taken out at once: whatever happens next, this callback cannot be used again.
    let pending: PendingLogin = session
        .take_pending_sso()
        .ok_or_else(|| AppError::BadRequest(USED.into()))?;
    claim_state_once(&state, &pending.state).await?;
    let tenant = find_tenant(&registry, &pending).await?;
    let person = verified_person(&state, &tenant, &pending, q.into_inner(), meta.clone()).await?;
    let outcome = match pending.invitation.clone() {
        Some(invitation) => {
            sso_invitation::accept(&state.sso_admission(), &tenant, &person, invitation, meta)
                .await?
        }
        None => sso::sign_in(&state.sso_admission(), &tenant, &person, meta, "sso").await?,
    };
    match outcome {
        SsoOutcome::SignedIn {
            user,
            role,
            platform_admin,
        } => {
            // A first sign-in has created the account by now: from here on, nothing
            // turns that into an error page.
            crate::web::respond::committed(&session, &tenant, "Your account is ready.");
            session.sign_in(&tenant, user.id, role, &user.email, &user.name)?;
            if platform_admin {
                let platform = state.platform();
                match crate::platform::admit_from_sso(&platform, &user.email, &user.name).await {
                    Ok(who) => session.add_platform(who)?,
                    // Signed in to the organization all the same; the platform rights
                    // come with the next sign-in.
                    Err(e) => tracing::warn!(error = %e, "platform rights not granted this time"),
                }
            }
            session.set_id_token(&person.id_token)?;
            session.set_sso_authentication(SsoAuthentication {
                amr: person.amr.clone(),
                acr: person.acr.clone(),
            })?;
            Ok(see_other(safe_next(&tenant, pending.next.as_deref())))
        }
        SsoOutcome::NoAccess => {
            let prefix = &oidc.settings().group_prefix;
            let groups = admission::groups_for(prefix, &tenant.slug).join(", ");
            Err(AppError::Forbidden(format!(
                "Your single sign-on account has no access to {}. An administrator of your identity provider can grant it by adding you to one of the groups {groups}.",
                tenant.name
            )))
        }
        SsoOutcome::Refused(reason) => Err(AppError::Forbidden(reason)),
    }
}

/// The person the provider vouches for in the callback, or the refusal (audited).
async fn verified_person(
    state: &AppState,
    tenant: &Tenant,
    pending: &PendingLogin,
    q: CallbackQuery,
    meta: RequestMeta,
) -> AppResult<SsoPerson> {
    let oidc = state.oidc.as_ref().ok_or(AppError::NotFound)?;
    let declined = q.error.is_some();
    let result = match (q.error, q.code, q.state) {
        (Some(err), _, _) => Err(SsoError::Provider(
            err.chars()
                .filter(char::is_ascii_graphic)
                .take(64)
                .collect(),
        )),
        (None, Some(code), Some(st)) => oidc.finish(pending, &st, &code).await,
        _ => Err(SsoError::State("no code or state")),
    };
    match result {
        Ok(p) => Ok(p),
        Err(e) => {
            tracing::warn!(tenant = %tenant.slug, error = %e, "single sign-on refused");
            audit_failure(state, tenant, meta, &e).await?;
            Err(match e {
                SsoError::Unavailable(_) => AppError::Unavailable("identity provider"),
                SsoError::State(_) => AppError::BadRequest(USED.into()),
                _ if declined => AppError::Forbidden(DECLINED.into()),
                _ => AppError::Forbidden(FAILED.into()),
            })
        }
    }
}

/// Records a `state` as used, in Redis, so that even two simultaneous requests with the
/// same session cannot both complete one sign-in.
async fn claim_state_once(state: &AppState, flow_state: &str) -> AppResult<()> {
    use sha2::Digest;
    let key = format!(
        "{}:oidc-state:{}",
        state.settings.redis_key_prefix,
        hex::encode(sha2::Sha256::digest(flow_state.as_bytes()))
    );
    let mut conn = state.redis.clone();
    let first: Option<String> = redis::cmd("SET")
        .arg(&key)
        .arg(1)
        .arg("NX")
        .arg("EX")
        .arg(900)
        .query_async(&mut conn)
        .await
        .map_err(|_| AppError::Unavailable("session store"))?;
    first
        .map(|_| ())
        .ok_or_else(|| AppError::BadRequest(USED.into()))
}

async fn find_tenant(
    registry: &TenantRegistry,
    pending: &PendingLogin,
) -> AppResult<std::sync::Arc<Tenant>> {
    let slug = crate::domain::TenantSlug::parse(&pending.slug)
        .map_err(|_| AppError::BadRequest(USED.into()))?;
    let tenant = registry
        .find(&slug)
        .await?
        .filter(|t| t.id == pending.tenant_id)
        .ok_or(AppError::TenantNotFound)?;
    if tenant.status == TenantStatus::Suspended {
        return Err(AppError::TenantSuspended);
    }
    Ok(tenant)
}

async fn audit_failure(
    state: &AppState,
    tenant: &Tenant,
    meta: RequestMeta,
    e: &SsoError,
) -> AppResult<()> {
    let slug = tenant.slug.to_string();
    let reason = e.to_string();
    state
        .db
        .tenant(&tenant.schema, move |conn| {
            let ev = AuditEvent::new("login.sso_failed")
                .details(serde_json::json!({ "method": "sso", "reason": reason }));
            audit::record(conn, &slug, &meta, ev)
        })
        .await
}

/// Where a person goes after signing out: the provider's end-session endpoint when
/// they signed in through it and it offers one, else the tenant's sign-in page.
pub async fn after_logout(state: &AppState, tenant: &Tenant, id_token: Option<String>) -> String {
    let login = format!("/t/{}/login?signed_out=1", tenant.slug);
    let (Some(oidc), Some(id_token)) = (state.oidc.as_ref(), id_token) else {
        return login;
    };
    let Ok(back) = state.settings.base_url.join(&login) else {
        return login;
    };
    match oidc.end_session_url(&id_token, &back).await {
        Some(url) => url.to_string(),
        None => login,
    }
}
