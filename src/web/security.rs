//! `GET /t/{slug}/security` and `POST /t/{slug}/security/unlock`: admins see the
//! email addresses whose sign-in is paused and can lift a lock early.

use actix_web::{HttpResponse, http::header, web};
use askama::Template;
use askama_web::WebTemplate;
use diesel::prelude::*;
use time::OffsetDateTime;

use crate::app::AppState;
use crate::audit::{self, AuditEvent, RequestMeta};
use crate::auth::{csrf::CsrfToken, session::TenantUser};
use crate::db::schema::tenant::login_throttle;
use crate::domain::Email;
use crate::error::{AppError, AppResult};

/// One paused sign-in.
pub struct Lock {
    email: String,
    until: String,
    failures: i32,
}

#[derive(Template, WebTemplate)]
#[template(path = "security.html")]
pub struct SecurityPage {
    csrf: String,
    slug: String,
    tenant_name: String,
    locks: Vec<Lock>,
    unlocked: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct SecurityQuery {
    unlocked: Option<String>,
}

const ADMINS_ONLY: &str = "Only admins can see and lift sign-in locks.";

/// `GET /t/{slug}/security`.
pub async fn page(
    state: web::Data<AppState>,
    user: TenantUser,
    csrf: CsrfToken,
    q: web::Query<SecurityQuery>,
) -> AppResult<SecurityPage> {
    user.require_admin(ADMINS_ONLY)?;
    let rows: Vec<(String, Option<OffsetDateTime>, i32)> = state
        .db
        .tenant(&user.tenant.schema, |conn| {
            Ok(login_throttle::table
                .filter(login_throttle::locked_until.gt(diesel::dsl::now))
                .order(login_throttle::locked_until.desc())
                .select((
                    login_throttle::email,
                    login_throttle::locked_until,
                    login_throttle::failures,
                ))
                .limit(200)
                .load(conn)?)
        })
        .await?;
    Ok(SecurityPage {
        csrf: csrf.0,
        slug: user.tenant.slug.to_string(),
        tenant_name: user.tenant.name.clone(),
        locks: rows
            .into_iter()
            .map(|(email, until, failures)| Lock {
                email,
                until: until.map(crate::display::minute).unwrap_or_default(),
                failures,
            })
            .collect(),
        unlocked: q.unlocked.clone().filter(|e| e.len() <= Email::MAX_LEN),
    })
}

#[derive(serde::Deserialize)]
pub struct UnlockForm {
    #[serde(default)]
    email: String,
}

/// `POST /t/{slug}/security/unlock`.
pub async fn unlock(
    state: web::Data<AppState>,
    user: TenantUser,
    meta: RequestMeta,
    form: web::Form<UnlockForm>,
) -> AppResult<HttpResponse> {
    user.require_admin(ADMINS_ONLY)?;
    let email = Email::parse(&form.email)?;
    let slug = user.tenant.slug.to_string();
    let admin = user.identity.clone();
    let target = email.clone();
    let lifted = state
        .db
        .tenant(&user.tenant.schema, move |conn| {
            let n = diesel::delete(login_throttle::table.find(target.as_str())).execute(conn)?;
            if n > 0 {
                let ev = AuditEvent::new("account.unlocked")
                    .actor(Some(admin.uid), Some(&admin.email))
                    .target(target.as_str())
                    .details(serde_json::json!({ "reason": "unlocked by an admin" }));
                audit::record(conn, &slug, &meta, ev)?;
            }
            Ok(n > 0)
        })
        .await?;
    if !lifted {
        return Err(AppError::NotFound);
    }
    let q: String = url::form_urlencoded::byte_serialize(email.as_str().as_bytes()).collect();
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/t/{}/security?unlocked={q}", user.tenant.slug),
        ))
        .finish())
}
