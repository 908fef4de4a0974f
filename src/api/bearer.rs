//! Bearer authentication for the JSON API: the portal's own access tokens.
//!
//! The signature and lifetime are checked without a database round trip; the caller
//! is then read in the tenant's schema (one transaction), so a deactivated person or
//! a revoked session stops at once, and the role in force is the current one.

use std::sync::Arc;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::api_tokens::AccessClaims;
use crate::auth::signing::OwnTokenRejected;
use crate::domain::{Role, TenantSlug};
use crate::error::{ApiError, AppError, AppResult};
use crate::models::api_session;
use crate::models::user::User;
use crate::tenancy::{Tenant, TenantRegistry, TenantStatus};

/// A verified access token.
pub struct Bearer(pub AccessClaims);

const INVALID: &str = "The access token is not valid.";
const ENDED: &str = "The session of this access token has ended, or its person can no longer use this organization. Exchange an Authentik token again.";

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            // The scheme name is case-insensitive (RFC 9110).
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_string());
        Box::pin(async move {
            let state =
                state.ok_or_else(|| AppError::internal(anyhow::anyhow!("no application state")))?;
            let token = token
                .filter(|t| !t.is_empty())
                .ok_or(AppError::BearerMissing)?;
            let claims: AccessClaims = state.signing.verify(&token).await.map_err(|e| match e {
                OwnTokenRejected::Expired => AppError::TokenExpired,
                OwnTokenRejected::Invalid => AppError::InvalidToken(INVALID.into()),
            })?;
            if claims.kind != "access" {
                return Err(AppError::InvalidToken(INVALID.into()).into());
            }
            Ok(Bearer(claims))
        })
    }
}

/// The person behind a token, as the database says now.
pub struct ApiCaller {
    /// Their organization.
    pub tenant: Arc<Tenant>,
    /// The person.
    pub user: User,
    /// Their current role.
    pub role: Role,
    /// The API session.
    pub session: Uuid,
    /// Whether the session carries platform rights.
    pub platform_admin: bool,
}

impl Bearer {
    /// Loads the caller: the token's tenant (active), the person (active) and the
    /// session (neither revoked nor expired).
    pub async fn caller(
        &self,
        state: &AppState,
        registry: &TenantRegistry,
    ) -> AppResult<ApiCaller> {
        let c = &self.0;
        let invalid = || AppError::InvalidToken(INVALID.into());
        let slug = TenantSlug::parse(&c.tenant).map_err(|_| invalid())?;
        let tenant = registry
            .find(&slug)
            .await?
            .filter(|t| t.id.to_string() == c.tenant_id)
            .ok_or_else(invalid)?;
        if tenant.status == TenantStatus::Suspended {
            return Err(AppError::TenantSuspended);
        }
        let user_id = Uuid::parse_str(&c.sub).map_err(|_| invalid())?;
        let session = Uuid::parse_str(&c.session_id).map_err(|_| invalid())?;
        let (user, platform_admin) = state
            .db
            .tenant(&tenant.schema, move |conn| {
                api_session::caller(conn, user_id, session)
            })
            .await?
            .ok_or_else(|| AppError::InvalidToken(ENDED.into()))?;
        let role = user.role;
        Ok(ApiCaller {
            tenant,
            user,
            role,
            session,
            platform_admin,
        })
    }
}
