//! `POST /api/v1/auth/token/exchange|refresh|revoke` and `POST /api/v1/auth/jwks/refresh`.

use actix_web::{HttpResponse, http::header, web};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::api_tokens::{self, AccessClaims, Refreshed, TokenPair};
use crate::auth::jwks::TokenRejected;
use crate::auth::oidc::{SsoPerson, admission};
use crate::auth::rate_limit::Quota;
use crate::auth::sso::{self, SsoOutcome};
use crate::domain::{FieldError, Role, TenantSlug};
use crate::error::{ApiError, AppError, AppResult};
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::user::User;
use crate::models::{api_session, platform_admin};
use crate::tenancy::{Tenant, TenantRegistry, TenantStatus};

use super::bearer::Bearer;

/// The exchange's request.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ExchangeRequest {
    /// A JWT issued by Authentik (`JWT_ISSUER`) for `JWT_AUDIENCE`.
    pub authentik_token: String,
    /// The organization: its slug or its id.
    pub tenant_id: String,
}

/// The refresh's request.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    /// The refresh token last received.
    pub refresh_token: String,
}

/// The revocation's request (RFC 7009).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RevokeRequest {
    /// A refresh token or an access token.
    pub token: String,
    /// `refresh_token` or `access_token`; optional, the portal tells them apart.
    #[serde(default)]
    pub token_type_hint: Option<String>,
}

/// The answer to a revocation: an empty object.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Revoked {}

/// The identity provider's key set, fetched now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeysFetched {
    /// How many keys it holds.
    pub keys: usize,
    /// Where it was fetched from.
    pub url: String,
}

const NOT_CONFIGURED: &str = "The token exchange is not configured on this portal (JWT_ISSUER and JWT_AUDIENCE, or single sign-on).";

async fn limit(state: &AppState, meta: &RequestMeta) -> AppResult<()> {
    let quota = Quota::per_minute(state.settings.tokens.rate_per_minute);
    state
        .limits
        .limit(
            "token-ip",
            meta.ip.as_deref().unwrap_or_default(),
            quota,
            "Too many token requests.",
        )
        .await
}

fn tokens_response(pair: &TokenPair) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(pair)
}

fn refused(e: TokenRejected) -> AppError {
    match e {
        TokenRejected::Expired => AppError::TokenExpired,
        TokenRejected::KeysUnavailable => AppError::Unavailable("identity provider"),
        other => AppError::InvalidToken(format!("The Authentik token was refused: {other}.")),
    }
}

async fn find_tenant(registry: &TenantRegistry, raw: &str) -> AppResult<std::sync::Arc<Tenant>> {
    let raw = raw.trim();
    let found = if let Ok(id) = Uuid::parse_str(raw) {
        registry.find_by_id(id).await?
    } else if let Ok(slug) = TenantSlug::parse(raw) {
        registry.find(&slug).await?
    } else {
        return Err(AppError::Validation(vec![FieldError::new(
            "tenant_id",
            "Give the organization's slug (as in its address) or its id.",
        )]));
    };
    let tenant = found.ok_or(AppError::TenantNotFound)?;
    if tenant.status == TenantStatus::Suspended {
        return Err(AppError::TenantSuspended);
    }
    Ok(tenant)
}

/// Exchanges an Authentik token for the portal's own access and refresh tokens.
#[utoipa::path(
    post,
    path = "/api/v1/auth/token/exchange",
    tag = "tokens",
    request_body = ExchangeRequest,
    responses(
        (status = 200, description = "Tokens for the person in the organization", body = crate::auth::api_tokens::TokenPair,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "BadRequest: the body is not JSON, or the token exchange is not configured on this portal", body = super::openapi::ErrorDoc),
        (status = 401, description = "InvalidToken or TokenExpired: the Authentik token was refused (it is checked before anything else)", body = super::openapi::ErrorDoc,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"tenant-portal\", error=\"invalid_token\"`"))),
        (status = 403, description = "TenantAccessDenied: no group for the organization, or the account is deactivated; TenantSuspended", body = super::openapi::ErrorDoc),
        (status = 404, description = "TenantNotFound", body = super::openapi::ErrorDoc),
        (status = 422, description = "ValidationError: JSON not of this shape, or a `tenant_id` that is neither a slug nor an id", body = super::openapi::ErrorDoc),
        (status = 503, description = "ServiceUnavailable: the identity provider's keys cannot be fetched, or the database cannot be reached", body = super::openapi::ErrorDoc),
    )
)]
pub async fn exchange(
    state: web::Data<AppState>,
    registry: web::Data<TenantRegistry>,
    meta: RequestMeta,
    body: web::Json<ExchangeRequest>,
) -> Result<HttpResponse, ApiError> {
    limit(&state, &meta).await?;
    let ex = state
        .exchange
        .as_ref()
        .ok_or_else(|| AppError::BadRequest(NOT_CONFIGURED.into()))?;
    let body = body.into_inner();
    // The token first: an unauthenticated caller learns nothing about organizations.
    let claims = ex.validate(&body.authentik_token).await.map_err(refused)?;
    let tenant = find_tenant(&registry, &body.tenant_id).await?;
    let person = SsoPerson {
        sub: claims.sub,
        email: claims.email,
        email_verified: claims.email_verified.unwrap_or(false),
        name: claims.name,
        preferred_username: claims.preferred_username,
        groups: claims.groups,
        id_token: String::new(),
        // The token exchange admits services' callers by their groups; second factors
        // are the sign-in pages' matter.
        amr: Vec::new(),
        acr: None,
    };
    let (user, role, platform_admin) = admit(&state, &tenant, &person, meta.clone()).await?;
    if platform_admin {
        crate::platform::admit_from_sso(&state.platform(), &user.email, &user.name).await?;
    }
    let (t, settings, u) = (tenant.clone(), state.settings.tokens.clone(), user.clone());
    let (session, refresh) = state
        .db
        .tenant(&tenant.schema, move |conn| {
            api_tokens::open_session(conn, &t, &settings, &u, platform_admin, &meta)
        })
        .await?;
    let pair = api_tokens::pair(
        &state.signing,
        &state.settings.tokens,
        &tenant,
        &user,
        role,
        session,
        platform_admin,
        refresh,
    )?;
    Ok(tokens_response(&pair))
}

/// The person the Authentik token names, admitted to the organization by their groups
/// (and created or updated like a single sign-on): who, in which role, and whether
/// they are also a platform admin.
async fn admit(
    state: &AppState,
    tenant: &Tenant,
    person: &SsoPerson,
    meta: RequestMeta,
) -> Result<(User, Role, bool), ApiError> {
    let rules = state.sso_admission();
    match sso::sign_in(&rules, tenant, person, meta, "token_exchange").await? {
        SsoOutcome::SignedIn {
            user,
            role,
            platform_admin,
        } => Ok((user, role, platform_admin)),
        SsoOutcome::NoAccess => {
            let groups = admission::groups_for(rules.group_prefix, &tenant.slug).join(", ");
            Err(AppError::TenantAccessDenied(format!(
                "This account has no access to {}. An administrator of the identity provider can grant it with one of the groups {groups}.",
                tenant.name
            ))
            .into())
        }
        SsoOutcome::Refused(reason) => Err(AppError::TenantAccessDenied(reason).into()),
    }
}

const REUSED: &str = "This refresh token was already used. To be safe, every token of its session is now revoked; exchange an Authentik token again.";
const UNKNOWN: &str = "This refresh token is not valid. Exchange an Authentik token again.";

/// Uses a refresh token once: a new access token and the next refresh token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/token/refresh",
    tag = "tokens",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair; the refresh token presented no longer works", body = crate::auth::api_tokens::TokenPair,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, description = "InvalidToken: unknown, expired, revoked or already used (then its whole session is revoked)", body = super::openapi::ErrorDoc,
            headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"tenant-portal\", error=\"invalid_token\"`"))),
        (status = 403, description = "TenantSuspended", body = super::openapi::ErrorDoc),
    )
)]
pub async fn refresh(
    state: web::Data<AppState>,
    registry: web::Data<TenantRegistry>,
    meta: RequestMeta,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    limit(&state, &meta).await?;
    let raw = body.into_inner().refresh_token;
    let tenant = match api_tokens::slug_of_refresh(&raw).map(TenantSlug::parse) {
        Some(Ok(slug)) => registry.find(&slug).await?,
        _ => None,
    }
    .ok_or_else(|| AppError::InvalidToken(UNKNOWN.into()))?;
    if tenant.status == TenantStatus::Suspended {
        return Err(AppError::TenantSuspended.into());
    }
    let (t, settings) = (tenant.clone(), state.settings.tokens.clone());
    let outcome = state
        .db
        .tenant(&tenant.schema, move |conn| {
            api_tokens::rotate(conn, &t, &settings, &raw, &meta)
        })
        .await?;
    match outcome {
        Refreshed::Rotated {
            user,
            session,
            platform_admin,
            refresh_token,
        } => {
            let role = user.role;
            let pair = api_tokens::pair(
                &state.signing,
                &state.settings.tokens,
                &tenant,
                &user,
                role,
                session,
                platform_admin,
                refresh_token,
            )?;
            Ok(tokens_response(&pair))
        }
        Refreshed::Reused => Err(AppError::InvalidToken(REUSED.into()).into()),
        Refreshed::Refused(m) => Err(AppError::InvalidToken(m.into()).into()),
    }
}

/// Revokes the session of a refresh or access token. Answers 200 whether or not the
/// token was known (RFC 7009), so it reveals nothing.
#[utoipa::path(
    post,
    path = "/api/v1/auth/token/revoke",
    tag = "tokens",
    request_body = RevokeRequest,
    responses(
        (status = 200, description = "Revoked, or nothing to revoke", body = Revoked),
    )
)]
pub async fn revoke(
    state: web::Data<AppState>,
    registry: web::Data<TenantRegistry>,
    meta: RequestMeta,
    body: web::Json<RevokeRequest>,
) -> Result<HttpResponse, ApiError> {
    limit(&state, &meta).await?;
    let token = body.into_inner().token;
    let target = match api_tokens::slug_of_refresh(&token) {
        Some(slug) => TenantSlug::parse(slug).ok().map(|s| (s, None)),
        None => match state.signing.verify::<AccessClaims>(&token).await {
            Ok(c) => TenantSlug::parse(&c.tenant)
                .ok()
                .zip(Uuid::parse_str(&c.session_id).ok())
                .map(|(s, id)| (s, Some(id))),
            Err(_) => None,
        },
    };
    if let Some((slug, session)) = target
        && let Some(tenant) = registry.find(&slug).await?
    {
        let slug = tenant.slug.to_string();
        state
            .db
            .tenant(&tenant.schema, move |conn| {
                let found = match session {
                    Some(id) => Some(id),
                    None => {
                        api_session::session_of_refresh(conn, &crate::crypto::hash_token(&token))?
                            .map(|(id, _)| id)
                    }
                };
                if let Some(id) = found
                    && api_session::revoke(conn, id, "revoked by client")?
                {
                    let ev = AuditEvent::new("token.revoked")
                        .details(serde_json::json!({ "session_id": id }));
                    audit::record(conn, &slug, &meta, ev)?;
                }
                Ok(())
            })
            .await?;
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Revoked {}))
}

/// Fetches the identity provider's key set now (platform admins), for instance right
/// after rotating keys in Authentik.
#[utoipa::path(
    post,
    path = "/api/v1/auth/jwks/refresh",
    tag = "tokens",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The key set was fetched", body = KeysFetched),
        (status = 400, description = "BadRequest: the token exchange is not configured on this portal", body = super::openapi::ErrorDoc),
        (status = 403, description = "InsufficientPermissions: not a platform admin; TenantSuspended", body = super::openapi::ErrorDoc),
        (status = 503, description = "ServiceUnavailable: the identity provider cannot be reached", body = super::openapi::ErrorDoc),
    )
)]
pub async fn jwks_refresh(
    state: web::Data<AppState>,
    registry: web::Data<TenantRegistry>,
    bearer: Bearer,
) -> Result<HttpResponse, ApiError> {
    let caller = bearer.caller(&state, &registry).await?;
    let email = caller.user.email.clone();
    let admitted = caller.platform_admin
        && state
            .db
            .run(move |conn| Ok(platform_admin::find_by_email(conn, &email)?.is_some()))
            .await?;
    if !admitted {
        return Err(AppError::Forbidden(
            "Only platform admins can refresh the identity provider's keys.".into(),
        )
        .into());
    }
    let ex = state
        .exchange
        .as_ref()
        .ok_or_else(|| AppError::BadRequest(NOT_CONFIGURED.into()))?;
    let (count, url) = ex.fetch_keys_now().await.map_err(|e| {
        tracing::warn!(error = ?e, "identity provider keys not fetched");
        AppError::Unavailable("identity provider")
    })?;
    crate::platform::keys_refreshed(&state.platform(), &caller.user.email, count, &url).await?;
    Ok(HttpResponse::Ok().json(KeysFetched { keys: count, url }))
}
