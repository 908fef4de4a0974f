//! The messages that tell a person about their second factors: one was added or
//! removed, a recovery code was used, an admin reset them. Queued in the transaction of
//! the change, so a change never happens unannounced. None carries a link or a code.

use diesel::PgConnection;

use crate::error::AppResult;
use crate::mail::Mail;
use crate::models::mail_outbox;

const NOT_YOU: &str = "If this was not you, sign in, change your password and check your \
                       second factors on your profile, or ask an admin of your organization \
                       for help.";

fn queue(conn: &mut PgConnection, to: &str, subject: String, what: String) -> AppResult<()> {
    let body = format!("Hello,\n\n{what}\n\n{NOT_YOU}\n");
    mail_outbox::enqueue(
        conn,
        &Mail {
            to: to.to_string(),
            subject,
            body,
        },
    )
}

/// A factor (e.g. "an authenticator app", "a passkey") was added to the account.
pub fn factor_added(conn: &mut PgConnection, to: &str, org: &str, what: &str) -> AppResult<()> {
    queue(
        conn,
        to,
        format!("A second factor was added to your {org} account"),
        format!("{what} was just added as a second factor of your {org} account ({to})."),
    )
}

/// A factor was removed from the account.
pub fn factor_removed(conn: &mut PgConnection, to: &str, org: &str, what: &str) -> AppResult<()> {
    queue(
        conn,
        to,
        format!("A second factor was removed from your {org} account"),
        format!("{what} was just removed from the second factors of your {org} account ({to})."),
    )
}

/// A recovery code was used to sign in; `left` are still unused.
pub fn recovery_code_used(
    conn: &mut PgConnection,
    to: &str,
    org: &str,
    left: i64,
) -> AppResult<()> {
    queue(
        conn,
        to,
        format!("A recovery code was used for your {org} account"),
        format!(
            "A recovery code of your {org} account ({to}) was just used. It cannot be used \
             again; {left} of your recovery codes are left. You can make a new set on your \
             profile."
        ),
    )
}

/// An admin removed every second factor of the account.
pub fn factors_reset(conn: &mut PgConnection, to: &str, org: &str, by: &str) -> AppResult<()> {
    queue(
        conn,
        to,
        format!("Your second factors for {org} were reset"),
        format!(
            "{by} removed every second factor of your {org} account ({to}): authenticator \
             app, passkeys and recovery codes. You were signed out everywhere. Sign in again \
             and add a second factor on your profile."
        ),
    )
}
