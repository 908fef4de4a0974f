//! `/t/{slug}/members`: admins see, search and change their organization's people,
//! and manage invitations.

use actix_web::{HttpResponse, http::StatusCode, web};
use askama::Template;
use askama_web::WebTemplate;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::{Email, FieldError, Role};
use crate::error::{AppError, AppResult};
use crate::members::changes::{self, Change, Outcome};
use crate::members::directory::{self, Filter, MemberRow, PER_PAGE, Status};
use crate::members::invitations;
use crate::models::invitation::{self, Invitation};
use crate::web::confirm::{self, Confirmation, Question};
use crate::web::csrf::CsrfToken;
use crate::web::layout::{Section, TenantLayout};
use crate::web::notice::Notice;
use crate::web::respond::back_with;
use crate::web::second_factor::require_step_up;
use crate::web::session::TenantAdmin;

#[derive(Template, WebTemplate)]
#[template(path = "members.html")]
pub struct MembersPage {
    layout: TenantLayout,
    csrf: String,
    slug: String,
    tenant_name: String,
    me: Uuid,
    rows: Vec<MemberRow>,
    total: i64,
    page: i64,
    pages: i64,
    q: String,
    role: String,
    status: String,
    invitations: Vec<Invitation>,
    notice: Option<Notice>,
    invite_email: String,
    invite_role: String,
    invite_error: Option<String>,
    /// Why the last change was refused.
    change_error: Option<String>,
    /// The signed-in admin is the only active one: their own role and deactivation
    /// are locked, and the page says why before anyone tries.
    sole_admin: bool,
    roles: [(&'static str, &'static str); 3],
}

impl MembersPage {
    /// The list's URL for another page, keeping the filters.
    fn page_url(&self, page: i64) -> String {
        let enc =
            |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
        format!(
            "/t/{}/members?q={}&role={}&status={}&page={page}",
            self.slug,
            enc(&self.q),
            enc(&self.role),
            enc(&self.status)
        )
    }

    fn show_members(&self) -> bool {
        self.status != Status::Invited.as_str()
    }
}

const ROLES: [(&str, &str); 3] = [("admin", "Admin"), ("staff", "Staff"), ("member", "Member")];

#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    status: String,
    page: Option<String>,
}

async fn build(
    state: &AppState,
    user: &TenantAdmin,
    csrf: CsrfToken,
    q: ListQuery,
) -> AppResult<MembersPage> {
    let query: String = q.q.trim().chars().take(100).collect();
    let filter = Filter {
        query: Some(query.clone()),
        role: Role::parse(&q.role).ok(),
        status: Status::parse(&q.status),
        page: q
            .page
            .as_deref()
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
            .clamp(1, 1_000_000),
    };
    let uid = user.identity.uid;
    let f = filter.clone();
    let ((rows, total), open, admins) = user
        .request
        .read(&state.db, move |conn| {
            Ok((
                directory::page(conn, &f)?,
                invitation::open(conn)?,
                crate::models::user::count_active_admins(conn)?,
            ))
        })
        .await?;
    Ok(MembersPage {
        layout: TenantLayout::new(user, &csrf, Section::Members),
        csrf: csrf.0,
        slug: user.tenant.slug.to_string(),
        tenant_name: user.tenant.name.clone(),
        me: uid,
        rows,
        total,
        page: filter.page,
        pages: ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        q: query,
        role: filter
            .role
            .map(|r| r.as_str().to_string())
            .unwrap_or_default(),
        status: filter
            .status
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        invitations: open,
        notice: user.session.take_notice(),
        invite_email: String::new(),
        invite_role: "member".into(),
        invite_error: None,
        change_error: None,
        sole_admin: admins <= 1,
        roles: ROLES,
    })
}

/// `GET /t/{slug}/members`.
pub async fn list(
    state: web::Data<AppState>,
    user: TenantAdmin,
    csrf: CsrfToken,
    q: web::Query<ListQuery>,
) -> AppResult<MembersPage> {
    build(&state, &user, csrf, q.into_inner()).await
}

/// Back to the member list, where `done` is shown once.
fn back(user: &TenantAdmin, done: String) -> AppResult<HttpResponse> {
    back_with(
        &user.session,
        format!("/t/{}/members", user.tenant.slug),
        Notice::done(done),
    )
}

#[derive(serde::Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

/// `POST /t/{slug}/members/invite`.
pub async fn invite(
    state: web::Data<AppState>,
    user: TenantAdmin,
    csrf: CsrfToken,
    form: web::Form<InviteForm>,
) -> AppResult<HttpResponse> {
    let parsed = Email::parse(&form.email).and_then(|e| Ok((e, Role::parse(&form.role)?)));
    let result = match parsed {
        Ok((email, role)) => {
            invitations::invite(&state.invitations(), &user.request, email.clone(), role)
                .await
                .map(|_| email)
        }
        Err(e) => Err(AppError::Validation(vec![e])),
    };
    let (status, message) = match result {
        Ok(email) => return back(&user, format!("Invitation sent to {email}.")),
        Err(AppError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            errors
                .into_iter()
                .map(|e: FieldError| e.message)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Err(AppError::Conflict(m)) => (StatusCode::CONFLICT, m),
        Err(e) => return Err(e),
    };
    let mut page = build(&state, &user, csrf, ListQuery::default()).await?;
    page.invite_email = form.email.trim().chars().take(Email::MAX_LEN).collect();
    page.invite_role = form.role.chars().take(10).collect();
    page.invite_error = Some(message);
    super::render(status, &page)
}

/// `POST /t/{slug}/members/invitations/{id}/resend`.
pub async fn resend(
    state: web::Data<AppState>,
    user: TenantAdmin,
    path: web::Path<(String, Uuid)>,
) -> AppResult<HttpResponse> {
    let email = invitations::resend(&state.invitations(), &user.request, path.1).await?;
    back(&user, format!("A new invitation link was sent to {email}."))
}

/// `POST /t/{slug}/members/invitations/{id}/revoke`: asks first unless `confirm=yes`.
pub async fn revoke(
    state: web::Data<AppState>,
    user: TenantAdmin,
    csrf: CsrfToken,
    path: web::Path<(String, Uuid)>,
    form: web::Form<Confirmation>,
) -> AppResult<HttpResponse> {
    if !form.given() {
        let slug = &user.tenant.slug;
        let invited = invitation_email(&state, &user, path.1).await?;
        let q = Question::new(
            format!("/t/{slug}/members/invitations/{}/revoke", path.1),
            format!("withdraw the invitation for {invited}"),
            "The link in the invitation stops working; you can invite them again later.",
            format!("/t/{slug}/members"),
        );
        return confirm::ask(&user, &csrf, Section::Members, q);
    }
    let email = invitations::revoke(&state.invitations(), &user.request, path.1).await?;
    back(&user, format!("The invitation for {email} was withdrawn."))
}

/// The address of an open invitation, for naming it in the question; a withdrawn or
/// unknown one is not found.
async fn invitation_email(state: &AppState, user: &TenantAdmin, id: Uuid) -> AppResult<String> {
    let open = user.request.read(&state.db, invitation::open).await?;
    open.into_iter()
        .find(|i| i.id == id)
        .map(|i| i.email)
        .ok_or(AppError::NotFound)
}

#[derive(serde::Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    role: String,
    confirm: Option<String>,
}

async fn apply(
    state: &AppState,
    user: &TenantAdmin,
    csrf: CsrfToken,
    id: Uuid,
    change: Change,
    form: &ChangeForm,
) -> AppResult<HttpResponse> {
    let confirmed = form.confirm.as_deref() == Some("yes");
    let outcome = changes::change(
        &state.member_changes(),
        &user.request,
        id,
        change,
        confirmed,
    )
    .await;
    let outcome = match outcome {
        // A rule (the last admin) refused it: the list again, saying why.
        Err(AppError::Conflict(why)) => {
            let mut page = build(state, user, csrf, ListQuery::default()).await?;
            page.change_error = Some(why);
            return super::render(StatusCode::CONFLICT, &page);
        }
        other => other?,
    };
    match outcome {
        Outcome::Done(m) => back(user, done_message(&m.email, change)),
        Outcome::Unchanged(m) => back(user, format!("Nothing to change for {}.", m.email)),
        Outcome::Confirm(m) => {
            let own = m.id == user.identity.uid;
            let (what, consequence) = confirm_words(&m.email, change, own);
            let slug = &user.tenant.slug;
            let mut q = Question::new(
                format!("/t/{slug}/members/{id}/{}", change.path()),
                what,
                consequence,
                format!("/t/{slug}/members"),
            );
            q.keep.push(("role", form.role.chars().take(10).collect()));
            confirm::ask(user, &csrf, Section::Members, q)
        }
    }
}

/// What the confirmation asks ("deactivate sam@…") and what will follow from it.
fn confirm_words(email: &str, change: Change, own: bool) -> (String, &'static str) {
    match (change, own) {
        (Change::Deactivate, false) => (
            format!("deactivate {email}"),
            "They are signed out everywhere at once, their API access ends, and they cannot sign in until an admin reactivates them.",
        ),
        (Change::Deactivate, true) => (
            change.describe(),
            "You are signed out at once and cannot sign in again until another admin reactivates you.",
        ),
        _ => (
            change.describe(),
            "You may lose access to the admin pages, including this one.",
        ),
    }
}

fn done_message(email: &str, change: Change) -> String {
    match change {
        Change::Role(r) => format!("{email} is now {}.", r.label().to_lowercase()),
        Change::Deactivate => format!("{email} is deactivated and signed out everywhere."),
        Change::Reactivate => format!("{email} can sign in again."),
    }
}

/// `POST /t/{slug}/members/{id}/role`.
pub async fn role(
    state: web::Data<AppState>,
    user: TenantAdmin,
    csrf: CsrfToken,
    path: web::Path<(String, Uuid)>,
    form: web::Form<ChangeForm>,
) -> AppResult<HttpResponse> {
    let role = Role::parse(&form.role)?;
    if path.1 != user.identity.uid {
        // Another person's role asks for a fresh confirmation; the way back asks the
        // question again with the role that was chosen.
        let back = super::member_role::role_question_url(&user, path.1, role);
        if let Some(go) = require_step_up(&user, &back) {
            // Someone who is no longer an admin is refused, not sent to confirm.
            user.request.read(&state.db, |_| Ok(())).await?;
            return Ok(go);
        }
    }
    apply(&state, &user, csrf, path.1, Change::Role(role), &form).await
}

/// `POST /t/{slug}/members/{id}/deactivate`.
pub async fn deactivate(
    state: web::Data<AppState>,
    user: TenantAdmin,
    csrf: CsrfToken,
    path: web::Path<(String, Uuid)>,
    form: web::Form<ChangeForm>,
) -> AppResult<HttpResponse> {
    apply(&state, &user, csrf, path.1, Change::Deactivate, &form).await
}

/// `POST /t/{slug}/members/{id}/reactivate`.
pub async fn reactivate(
    state: web::Data<AppState>,
    user: TenantAdmin,
    csrf: CsrfToken,
    path: web::Path<(String, Uuid)>,
    form: web::Form<ChangeForm>,
) -> AppResult<HttpResponse> {
    apply(&state, &user, csrf, path.1, Change::Reactivate, &form).await
}
