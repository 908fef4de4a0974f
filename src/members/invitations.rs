//! Invitations: an admin invites an address with a role; the mailed single-use link
//! lets the person create their account with that role.

use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::AdminRequest;
use crate::auth::password::PasswordHasher;
use crate::auth::tokens::{self, TokenProblem};
use crate::db::Db;
use crate::db::schema::tenant::{invitations, users};
use crate::domain::{Email, NewPassword, PasswordPolicy, PersonName, Role};
use crate::error::{AppError, AppResult};
use crate::mail::Mail;
use crate::mail::Mailer;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::tenant::Tenant;
use crate::models::user::{self, User};

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
}

/// An open invitation, as admins see it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    /// Id.
    pub id: Uuid,
    /// Invited address.
    pub email: String,
    /// Role the person gets.
    pub role: Role,
    /// Until when the newest link works.
    pub expires_at: OffsetDateTime,
    /// How many times the link was mailed.
    pub sent_count: i32,
    /// When it was first sent.
    pub created_at: OffsetDateTime,
}

impl Invitation {
    /// Whether the link still works.
    pub fn is_expired(&self) -> bool {
        self.expires_at <= OffsetDateTime::now_utc()
    }
}

/// Open invitations, newest first.
pub fn open(conn: &mut PgConnection) -> AppResult<Vec<Invitation>> {
    Ok(invitations::table
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .order(invitations::created_at.desc())
        .select(Invitation::as_select())
        .limit(500)
        .load(conn)?)
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
    let (raw, stored) = tokens::generate();
    let expires = deps.expiry()?;
    let to = email.clone();
    let inviter = req
        .change(deps.db, move |tx| {
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
            let renewed = open_invitation(tx.conn, &email, role, by, &stored, expires)?;
            tx.record(
                AuditEvent::new("invitation.sent")
                    .target(email.as_str())
                    .details(serde_json::json!({ "role": role.as_str(), "renewed": renewed })),
            )?;
            Ok(tx.admin().name.clone())
        })
        .await?;
    mail_invitation(deps, &req.tenant, &inviter, to.as_str(), role, &raw);
    Ok(())
}

/// Opens (or renews) the invitation of an address inside the caller's transaction;
/// returns whether an open one was renewed.
pub fn open_invitation(
    conn: &mut PgConnection,
    email: &Email,
    role: Role,
    invited_by: Option<Uuid>,
    token_hash: &str,
    expires: OffsetDateTime,
) -> AppResult<bool> {
    let renewed = diesel::update(
        invitations::table
            .filter(invitations::email.eq(email.as_str()))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set((
        invitations::role.eq(role.as_str()),
        invitations::token_hash.eq(token_hash),
        invitations::expires_at.eq(expires),
        invitations::invited_by.eq(invited_by),
        invitations::sent_count.eq(invitations::sent_count + 1),
        invitations::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?;
    if renewed == 0 {
        diesel::insert_into(invitations::table)
            .values((
                invitations::email.eq(email.as_str()),
                invitations::role.eq(role.as_str()),
                invitations::token_hash.eq(token_hash),
                invitations::invited_by.eq(invited_by),
                invitations::expires_at.eq(expires),
            ))
            .execute(conn)?;
    }
    Ok(renewed > 0)
}

/// Mails a new link for an open invitation; the older link stops working.
pub async fn resend(deps: &Invitations<'_>, req: &AdminRequest, id: Uuid) -> AppResult<String> {
    let (raw, stored) = tokens::generate();
    let expires = deps.expiry()?;
    let (email, role, inviter) = req
        .change(deps.db, move |tx| {
            let (email, role): (String, Role) = diesel::update(
                invitations::table
                    .find(id)
                    .filter(invitations::accepted_at.is_null())
                    .filter(invitations::revoked_at.is_null()),
            )
            .set((
                invitations::token_hash.eq(&stored),
                invitations::expires_at.eq(expires),
                invitations::sent_count.eq(invitations::sent_count + 1),
                invitations::updated_at.eq(diesel::dsl::now),
            ))
            .returning((invitations::email, invitations::role))
            .get_result(tx.conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
            tx.record(AuditEvent::new("invitation.resent").target(&email))?;
            Ok((email, role, tx.admin().name.clone()))
        })
        .await?;
    mail_invitation(deps, &req.tenant, &inviter, &email, role, &raw);
    Ok(email)
}

/// Withdraws an open invitation: its link stops working.
pub async fn revoke(deps: &Invitations<'_>, req: &AdminRequest, id: Uuid) -> AppResult<String> {
    req.change(deps.db, move |tx| {
        let email: String = diesel::update(
            invitations::table
                .find(id)
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::revoked_at.is_null()),
        )
        .set((
            invitations::revoked_at.eq(Some(OffsetDateTime::now_utc())),
            invitations::updated_at.eq(diesel::dsl::now),
        ))
        .returning(invitations::email)
        .get_result(tx.conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
        tx.record(AuditEvent::new("invitation.revoked").target(&email))?;
        Ok(email)
    })
    .await
}

/// Mails an invitation link.
pub fn mail_invitation(
    deps: &Invitations<'_>,
    tenant: &Tenant,
    inviter: &str,
    to: &str,
    role: Role,
    raw: &str,
) {
    let link = deps
        .mailer
        .link(&format!("/t/{}/invitations/{raw}", tenant.slug));
    let days = deps.invitation_ttl.as_secs() / 86400;
    let body = format!(
        "Hello,\n\n\
         {inviter} invited you to join {org} as {role}.\n\
         Open this link within {days} days to create your account:\n\n\
         {link}\n\n\
         The link works once. If you did not expect this, ignore this message.\n",
        inviter = inviter,
        org = tenant.name,
        role = role.label().to_lowercase(),
    );
    deps.mailer.send_later(Mail {
        to: to.to_string(),
        subject: format!("You are invited to join {}", tenant.name),
        body,
    });
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
    find_by_hash(conn, &tokens::hash(raw), lock)
}

/// [`find`] by the stored hash of the link's token.
pub fn find_by_hash(
    conn: &mut PgConnection,
    token_hash: &str,
    lock: bool,
) -> AppResult<Result<(Uuid, String, Role), TokenProblem>> {
    type Row = (
        Uuid,
        String,
        String,
        OffsetDateTime,
        Option<OffsetDateTime>,
        Option<OffsetDateTime>,
    );
    let query = invitations::table
        .filter(invitations::token_hash.eq(token_hash))
        .select((
            invitations::id,
            invitations::email,
            invitations::role,
            invitations::expires_at,
            invitations::accepted_at,
            invitations::revoked_at,
        ));
    let row: Option<Row> = if lock {
        query.for_update().first(conn).optional()?
    } else {
        query.first(conn).optional()?
    };
    let Some((id, email, role, expires_at, accepted_at, revoked_at)) = row else {
        return Ok(Err(TokenProblem::Unknown));
    };
    if accepted_at.is_some() {
        return Ok(Err(TokenProblem::Used));
    }
    if revoked_at.is_some() {
        return Ok(Err(TokenProblem::Revoked));
    }
    if expires_at <= OffsetDateTime::now_utc() {
        return Ok(Err(TokenProblem::Expired));
    }
    let role = Role::parse(&role).map_err(|_| AppError::internal(anyhow::anyhow!("bad role")))?;
    Ok(Ok((id, email, role)))
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
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let (id, email, role) = match find(conn, &raw, true)? {
                Ok(found) => found,
                Err(p) => return Ok(Err(AcceptRefused::Link(p))),
            };
            let email = Email::parse(&email)?;
            let user = user::insert(conn, &email, &name, Some(&hash), role)?;
            let user: User = diesel::update(users::table.find(user.id))
                .set(users::email_verified_at.eq(Some(OffsetDateTime::now_utc())))
                .returning(User::as_returning())
                .get_result(conn)?;
            mark_accepted(conn, &slug, &meta, id, &user, role, "password")?;
            Ok(Ok(user))
        })
        .await
}

/// Marks an invitation accepted by the person it created, feeds the Authentik outbox
/// and audits it, inside the caller's transaction.
pub fn mark_accepted(
    conn: &mut PgConnection,
    slug: &str,
    meta: &RequestMeta,
    id: Uuid,
    user: &User,
    role: Role,
    method: &str,
) -> AppResult<()> {
    diesel::update(invitations::table.find(id))
        .set((
            invitations::accepted_at.eq(Some(OffsetDateTime::now_utc())),
            invitations::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    crate::models::authentik_outbox::enqueue_person(conn, slug, user, "created")?;
    let ev = AuditEvent::new("invitation.accepted")
        .actor(Some(user.id), Some(&user.email))
        .target(&user.email)
        .details(serde_json::json!({ "role": role.as_str(), "method": method }));
    audit::record(conn, slug, meta, ev)
}
