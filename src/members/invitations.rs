//! Invitations: an admin invites an address with a role; the mailed single-use link
//! lets the person create their account with that role.

use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::AdminRequest;
use crate::auth::password::PasswordHasher;
use crate::crypto;
use crate::db::Db;
use crate::db::schema::tenant::users;
use crate::domain::{Email, NewPassword, PasswordPolicy, PersonName, Role};
use crate::error::{AppError, AppResult};
use crate::mail::Mail;
use crate::mail::Mailer;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::authentik_outbox::Outbox;
use crate::models::invitation;
use crate::models::mail_outbox;
use crate::models::tenant::Tenant;
use crate::models::user::{self, User};
use crate::models::user_token::TokenProblem;

/// What invitations need.
#[derive(Clone, Copy)]
pub struct Invitations<'a> {
    /// The database.
    pub db: &'a Db,
    /// bcrypt on the blocking pool.
    pub hasher: &'a PasswordHasher,
    /// Outgoing mail.
    pub mailer: &'a Mailer,
    /// How long an invitation link works.
    pub invitation_ttl: std::time::Duration,
    /// Authentik provisioning, on or off.
    pub outbox: Outbox,
}

/// When an invitation sent now stops working.
impl Invitations<'_> {
    /// When an invitation sent now stops working.
    pub fn expiry(&self) -> AppResult<OffsetDateTime> {
        let ttl = time::Duration::try_from(self.invitation_ttl).map_err(AppError::internal)?;
        Ok(OffsetDateTime::now_utc() + ttl)
    }
}

/// Invites an address with a role and mails the link. Inviting an address that
/// already has an open invitation renews it (new link, new role).
pub async fn invite(
    deps: &Invitations<'_>,
    req: &AdminRequest,
    email: Email,
    role: Role,
) -> AppResult<()> {
    let (raw, stored) = crypto::generate_token();
    let expires = deps.expiry()?;
    let letter = invitation_mail(deps, req.tenant.slug.as_str(), &req.tenant.name, &raw);
    req.change(deps.db, move |tx| {
        if let Some(u) = user::find_by_email(tx.conn, &email)? {
            return Err(AppError::Conflict(if u.is_active() {
                format!("{} is already a member of this organization.", u.email)
            } else {
                format!(
                    "{} was a member and is deactivated: reactivate them in the list instead.",
                    u.email
                )
            }));
        }
        let by = Some(tx.admin().id);
        let renewed = invitation::open_or_renew(tx.conn, &email, role, by, &stored, expires)?;
        // Committed with the invitation: the mail leaves once, whatever happens next.
        let mail = letter.mail(&tx.admin().name, email.as_str(), role);
        mail_outbox::enqueue(tx.conn, &mail)?;
        tx.record(
            AuditEvent::new("invitation.sent")
                .target(email.as_str())
                .details(serde_json::json!({ "role": role.as_str(), "renewed": renewed })),
        )
    })
    .await
}

/// Mails a new link for an open invitation; the older link stops working.
pub async fn resend(deps: &Invitations<'_>, req: &AdminRequest, id: Uuid) -> AppResult<String> {
    let (raw, stored) = crypto::generate_token();
    let expires = deps.expiry()?;
    let letter = invitation_mail(deps, req.tenant.slug.as_str(), &req.tenant.name, &raw);
    req.change(deps.db, move |tx| {
        let (email, role) =
            invitation::renew_link(tx.conn, id, &stored, expires)?.ok_or(AppError::NotFound)?;
        let mail = letter.mail(&tx.admin().name, &email, role);
        mail_outbox::enqueue(tx.conn, &mail)?;
        tx.record(AuditEvent::new("invitation.resent").target(&email))?;
        Ok(email)
    })
    .await
}

/// Withdraws an open invitation: its link stops working.
pub async fn revoke(deps: &Invitations<'_>, req: &AdminRequest, id: Uuid) -> AppResult<String> {
    req.change(deps.db, move |tx| {
        let email = invitation::withdraw(tx.conn, id)?.ok_or(AppError::NotFound)?;
        tx.record(AuditEvent::new("invitation.revoked").target(&email))?;
        Ok(email)
    })
    .await
}

/// An invitation mail for one link, to be completed (inviter, address, role) and
/// queued inside the transaction that opens the invitation.
#[derive(Clone)]
pub struct InvitationMail {
    link: String,
    org: String,
    days: u64,
}

/// The invitation mail for link token `raw` into the organization `slug` named `org`.
pub fn invitation_mail(deps: &Invitations<'_>, slug: &str, org: &str, raw: &str) -> InvitationMail {
    InvitationMail {
        link: deps.mailer.link(&format!("/t/{slug}/invitations/{raw}")),
        org: org.to_string(),
        days: deps.invitation_ttl.as_secs() / 86400,
    }
}

impl InvitationMail {
    /// The message from `inviter` to `to`, inviting them as `role`.
    pub fn mail(&self, inviter: &str, to: &str, role: Role) -> Mail {
        let body = format!(
            "Hello,\n\n\
             {inviter} invited you to join {org} as {role}.\n\
             Open this link within {days} days to create your account:\n\n\
             {link}\n\n\
             The link works once. If you did not expect this, ignore this message.\n",
            org = self.org,
            role = role.label().to_lowercase(),
            days = self.days,
            link = self.link,
        );
        Mail {
            to: to.to_string(),
            subject: format!("You are invited to join {}", self.org),
            body,
        }
    }
}

/// The open invitation behind a link, or why the link does not work.
fn find(
    conn: &mut PgConnection,
    raw: &str,
    lock: bool,
) -> AppResult<Result<(Uuid, String, Role), TokenProblem>> {
    if raw.len() > 100 {
        return Ok(Err(TokenProblem::Unknown));
    }
    invitation::find_by_hash(conn, &crypto::hash_token(raw), lock)
}

/// What an invitation link offers, without using it.
pub async fn peek(
    deps: &Invitations<'_>,
    tenant: &Tenant,
    raw: String,
) -> AppResult<Result<(String, Role), TokenProblem>> {
    deps.db
        .tenant(&tenant.schema, move |conn| {
            Ok(find(conn, &raw, false)?.map(|(_, email, role)| (email, role)))
        })
        .await
}

/// Why an invitation was not accepted.
#[derive(Debug)]
pub enum AcceptRefused {
    /// The link does not work (any more).
    Link(TokenProblem),
    /// Name or password refused.
    Input(Vec<crate::domain::FieldError>),
}

/// Accepts an invitation: creates the person with the invited role and a confirmed
/// email (the link reached their mailbox).
pub async fn accept(
    deps: &Invitations<'_>,
    tenant: &Tenant,
    raw: String,
    name: &str,
    password: &str,
    meta: RequestMeta,
) -> AppResult<Result<User, AcceptRefused>> {
    let (email, _) = match peek(deps, tenant, raw.clone()).await? {
        Ok(found) => found,
        Err(p) => return Ok(Err(AcceptRefused::Link(p))),
    };
    let mut errors = Vec::new();
    let name = PersonName::parse(name).map_err(|e| errors.push(e)).ok();
    let context = [email.as_str(), tenant.name.as_str()];
    let password = NewPassword::parse(password, PasswordPolicy::default(), &context)
        .map_err(|e| errors.push(e))
        .ok();
    let (Some(name), Some(password)) = (name, password) else {
        return Ok(Err(AcceptRefused::Input(errors)));
    };
    let hash = deps.hasher.hash(&password).await?;
    let slug = tenant.slug.to_string();
    let outbox = deps.outbox;
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let (id, email, role) = match find(conn, &raw, true)? {
                Ok(found) => found,
                Err(p) => return Ok(Err(AcceptRefused::Link(p))),
            };
            let email = Email::parse(&email)?;
            let user = user::insert_signing_in(conn, &email, &name, Some(&hash), role)?;
            let user: User = diesel::update(users::table.find(user.id))
                .set(users::email_verified_at.eq(Some(OffsetDateTime::now_utc())))
                .returning(User::as_returning())
                .get_result(conn)?;
            mark_accepted(conn, &slug, &meta, id, &user, role, "password")?;
            outbox.person_changed(conn, &slug, &user, "created")?;
            Ok(Ok(user))
        })
        .await
}

/// Marks an invitation accepted by the person it created and audits it, inside the
/// caller's transaction (which also tells Authentik about the person).
pub fn mark_accepted(
    conn: &mut PgConnection,
    slug: &str,
    meta: &RequestMeta,
    id: Uuid,
    user: &User,
    role: Role,
    method: &str,
) -> AppResult<()> {
    invitation::set_accepted(conn, id)?;
    let ev = AuditEvent::new("invitation.accepted")
        .actor(Some(user.id), Some(&user.email))
        .target(&user.email)
        .details(serde_json::json!({ "role": role.as_str(), "method": method }));
    audit::record(conn, slug, meta, ev)
}
