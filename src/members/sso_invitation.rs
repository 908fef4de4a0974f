//! Accepting an invitation through single sign-on: the invitation, not the provider's
//! groups, says who may join and with which role; the provider says who the person is.
//! The account is linked to the provider's `sub`, so later sign-ins find it.

use diesel::PgConnection;

use crate::auth::oidc::{SsoPerson, admission};
use crate::auth::sso::{SsoAdmission, SsoOutcome, display_name};
use crate::domain::{Email, PersonName, Role};
use crate::error::AppResult;
use crate::members::invitations;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::authentik_outbox::Outbox;
use crate::models::invitation;
use crate::models::tenant::Tenant;
use crate::models::user;
use crate::models::user_token::TokenProblem;

const ALREADY_MEMBER: &str = "You already have an account in this organization. Sign in with single sign-on or your password instead; the invitation stays open for its address.";

/// Creates the invited person from the identity the provider vouched for, when the
/// provider's email is the invited address. Every outcome is audited.
pub async fn accept(
    rules: &SsoAdmission<'_>,
    tenant: &Tenant,
    person: &SsoPerson,
    invitation_hash: String,
    meta: RequestMeta,
) -> AppResult<SsoOutcome> {
    if person.has_nul() {
        tracing::warn!(tenant = %tenant.slug, "invitation through SSO refused: a claim holds NUL");
        return Ok(SsoOutcome::Refused(crate::auth::sso::UNSTORABLE.into()));
    }
    let platform_admin = admission::admit(
        &person.groups,
        rules.group_prefix,
        &tenant.slug,
        rules.super_admin_group,
    )
    .platform_admin;
    let slug = tenant.slug.to_string();
    let person = person.clone();
    let outbox = rules.outbox;
    let everywhere = rules.device_auth_required;
    rules
        .db
        .tenant(&tenant.schema, move |conn| {
            decide(
                conn,
                (&slug, &meta, outbox),
                &person,
                &invitation_hash,
                (platform_admin, everywhere),
            )
        })
        .await
}

fn decide(
    conn: &mut PgConnection,
    (slug, meta, outbox): (&str, &RequestMeta, Outbox),
    person: &SsoPerson,
    invitation_hash: &str,
    (platform_admin, everywhere): (bool, bool),
) -> AppResult<SsoOutcome> {
    let mut admitted = admissible(conn, person, invitation_hash)?;
    if let Ok((_, role, email, _)) = &admitted {
        // Where the organization requires a second factor of this role, the provider
        // must show one; the invitation stays open for a sign-in that does.
        let rule = crate::models::tenant_settings::load(conn)?.second_factor;
        if rule.requires(*role, everywhere) && !person.shows_second_factor() {
            admitted = Err(Refusal {
                target: email.as_str().to_string(),
                reason: "no second factor in amr",
                message: crate::auth::sso::NO_SECOND_FACTOR.to_string(),
            });
        }
    }
    let (id, role, email, name) = match admitted {
        Ok(found) => found,
        Err(Refusal {
            target,
            reason,
            message,
        }) => {
            let ev = AuditEvent::new("invitation.sso_refused")
                .target(&target)
                .details(
                    serde_json::json!({ "method": "sso", "sub": person.sub, "reason": reason }),
                );
            audit::record(conn, slug, meta, ev)?;
            return Ok(SsoOutcome::Refused(message));
        }
    };
    let created = user::insert(conn, &email, &name, None, role)?;
    // The link reached the invited mailbox, so the address is confirmed.
    let user = user::link_sso_identity(conn, created.id, &person.sub)?;
    invitations::mark_accepted(conn, slug, meta, id, &user, role, "sso")?;
    outbox.person_changed(conn, slug, &user, "created")?;
    let ev = AuditEvent::new("login.succeeded")
        .actor(Some(user.id), Some(&user.email))
        .target(&user.email)
        .details(serde_json::json!({
            "method": "sso",
            "role": role.as_str(),
            "invitation": true,
            "platform_admin": platform_admin,
        }));
    audit::record(conn, slug, meta, ev)?;
    Ok(SsoOutcome::SignedIn {
        user,
        role,
        platform_admin,
    })
}

/// Why an invitation was not accepted through single sign-on.
struct Refusal {
    target: String,
    reason: &'static str,
    message: String,
}

/// The invitation (locked), its role, and the invited person's address and name, when
/// the provider's identity may accept it.
fn admissible(
    conn: &mut PgConnection,
    person: &SsoPerson,
    invitation_hash: &str,
) -> AppResult<Result<(uuid::Uuid, Role, Email, PersonName), Refusal>> {
    let refuse = |target: &str, reason, message: String| {
        Ok(Err(Refusal {
            target: target.to_string(),
            reason,
            message,
        }))
    };
    let (id, invited, role) = match invitation::find_by_hash(conn, invitation_hash, true)? {
        Ok(found) => found,
        Err(problem) => {
            let message = match problem {
                TokenProblem::Used => {
                    "This invitation has already been accepted. Sign in with the account it created."
                }
                TokenProblem::Expired => {
                    "This invitation has expired. Ask an admin of the organization to send a new one."
                }
                other => other.message(),
            };
            return refuse("", "invitation not usable", message.to_string());
        }
    };
    let email = person.email.as_deref().and_then(|e| Email::parse(e).ok());
    let Some(email) = email.filter(|e| e.as_str() == invited) else {
        let shown = person.email.as_deref().unwrap_or("no email address");
        return refuse(
            &invited,
            "provider email is not the invited address",
            format!(
                "This invitation is for {invited}, but your identity provider signed you in as {shown}. Sign in there with the invited address, or ask an admin to invite the address you use."
            ),
        );
    };
    if user::find_by_sub_or_email(conn, &person.sub, &email)?.is_some() {
        return refuse(&invited, "already a member", ALREADY_MEMBER.into());
    }
    let Some(name) = display_name(person, &email) else {
        return refuse(
            &invited,
            "no usable name",
            "The identity provider did not share a usable name. Ask your administrator.".into(),
        );
    };
    Ok(Ok((id, role, email, name)))
}
