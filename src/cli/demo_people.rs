//! The people, invitation and activity `portal demo` gives the demo organization, so
//! the first look at the portal shows what it is for rather than empty pages.

use diesel::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::{Email, PersonName, Role};
use crate::error::AppResult;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::authentik_outbox::Outbox;
use crate::models::{invitation, user};

/// The demo's colleagues: email, name, role.
const PEOPLE: [(&str, &str, Role); 3] = [
    ("olivia@demo.example", "Olivia Martin", Role::Staff),
    ("sam@demo.example", "Sam Rivera", Role::Member),
    ("priya@demo.example", "Priya Shah", Role::Member),
];

/// The address with an open invitation.
const INVITED: &str = "newhire@demo.example";

/// Adds the colleagues (each once), an open invitation and a little history, inside
/// the caller's transaction. People already there are left as they are, so running
/// `portal demo` again adds nothing twice.
pub(super) fn seed(
    conn: &mut PgConnection,
    slug: &str,
    outbox: &Outbox,
    admin: (Uuid, &str),
    hash: &str,
) -> AppResult<()> {
    let meta = RequestMeta {
        ip: Some("127.0.0.1".into()),
        user_agent: Some("portal demo".into()),
    };
    let (admin_id, admin_email) = admin;
    for (email, name, role) in PEOPLE {
        let email = Email::parse(email)?;
        if user::find_by_email(conn, &email)?.is_some() {
            continue;
        }
        let person =
            user::insert_signing_in(conn, &email, &PersonName::parse(name)?, Some(hash), role)?;
        user::mark_verified(conn, person.id)?;
        outbox.person_changed(conn, slug, &person, "created")?;
        let invited = AuditEvent::new("invitation.sent")
            .actor(Some(admin_id), Some(admin_email))
            .target(email.as_str())
            .details(serde_json::json!({ "role": role.as_str() }));
        audit::record(conn, slug, &meta, invited)?;
        let joined = AuditEvent::new("invitation.accepted")
            .actor(Some(person.id), Some(email.as_str()))
            .details(serde_json::json!({ "role": role.as_str(), "method": "password" }));
        audit::record(conn, slug, &meta, joined)?;
        let signed_in =
            AuditEvent::new("login.succeeded").actor(Some(person.id), Some(email.as_str()));
        audit::record(conn, slug, &meta, signed_in)?;
    }
    let invited = Email::parse(INVITED)?;
    if user::find_by_email(conn, &invited)?.is_none() {
        // Nobody receives this link: the token is thrown away, only its hash is kept.
        let (_, token_hash) = crate::crypto::generate_token();
        let expires = OffsetDateTime::now_utc() + Duration::days(7);
        let renewed = invitation::open_or_renew(
            conn,
            &invited,
            Role::Member,
            Some(admin_id),
            &token_hash,
            expires,
        )?;
        if !renewed {
            let ev = AuditEvent::new("invitation.sent")
                .actor(Some(admin_id), Some(admin_email))
                .target(invited.as_str())
                .details(serde_json::json!({ "role": "member" }));
            audit::record(conn, slug, &meta, ev)?;
        }
    }
    Ok(())
}
