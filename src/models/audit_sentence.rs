//! Audit events in words: the sentence a person reads on the dashboard and the audit
//! log, and a short name for each kind of event (the log's filter). The CSV export
//! keeps the raw codes; these words are only for reading.

use serde_json::Value;

/// A sentence saying what happened, built from the stored fields of an event.
/// `details` may be `Null` when the page did not load them.
pub fn sentence(
    actor: Option<&str>,
    action: &str,
    target: Option<&str>,
    details: &Value,
) -> String {
    let who = actor.unwrap_or("Someone");
    let target_or = |default: &'static str| target.unwrap_or(default);
    let detail = |key: &str| details.get(key).and_then(Value::as_str);
    let role_word = |key: &str| detail(key).map(|r| r.to_lowercase());
    match action {
        "organization.created" => format!("{who} created the organization"),
        "user.signed_up" => format!("{who} joined"),
        "login.succeeded" => match (detail("method"), detail("second_factor")) {
            (Some("sso"), _) => format!("{who} signed in with single sign-on"),
            (Some("passkey"), _) => match detail("passkey") {
                Some(name) => format!("{who} signed in with the passkey \"{name}\""),
                None => format!("{who} signed in with a passkey"),
            },
            (_, Some(f)) => format!(
                "{who} signed in with their password and {}",
                factor_words(f)
            ),
            _ => format!("{who} signed in"),
        },
        "second_factor.added" => format!(
            "{who} added {}",
            factor_name(detail("method").unwrap_or(""))
        ),
        "second_factor.removed" => format!(
            "{who} removed {}",
            factor_name(detail("method").unwrap_or(""))
        ),
        "second_factor.used" => format!(
            "{who} gave {}",
            factor_words(detail("method").unwrap_or(""))
        ),
        "second_factor.refused" => format!(
            "A wrong {} was refused for {}",
            match detail("method") {
                Some("totp") => "authenticator app code",
                Some("recovery_code") => "recovery code",
                _ => "second-factor answer",
            },
            target.or(actor).unwrap_or("an account")
        ),
        "second_factor.reset" => format!(
            "{who} reset the second factors of {}",
            target_or("a person")
        ),
        "recovery_code.used" => format!("{who} used a recovery code"),
        "recovery_codes.regenerated" => format!("{who} made new recovery codes"),
        "step_up.confirmed" => format!("{who} confirmed who they are for a sensitive change"),
        "login.sso_refused_second_factor" => format!(
            "Single sign-on refused for {}: the provider reported no second factor",
            target.or(actor).unwrap_or("an unknown account")
        ),
        "login.failed" => match (detail("method"), detail("reason")) {
            (Some("passkey"), Some(reason)) => format!(
                "Refused passkey sign-in for {}: {reason}",
                target.or(actor).unwrap_or("an unknown account")
            ),
            _ => format!(
                "Failed sign-in for {}",
                target.or(actor).unwrap_or("an unknown account")
            ),
        },
        "login.sso_failed" | "login.sso_refused" => format!(
            "Single sign-on refused for {}",
            target.or(actor).unwrap_or("an unknown account")
        ),
        "logout" => format!("{who} signed out"),
        "user.registered" => format!("{who} registered"),
        "email.verified" => format!("{who} confirmed their email address"),
        "password.reset_requested" => {
            format!("Password reset requested for {}", target_or("an account"))
        }
        "password.reset" => format!("{who} set a new password through a reset link"),
        "user.password_set" => format!("{who} set a new password for {}", target_or("an account")),
        "invitation.sent" => match role_word("role") {
            Some(role) => format!("{who} invited {} as {role}", target_or("someone")),
            None => format!("{who} invited {}", target_or("someone")),
        },
        "invitation.resent" => format!(
            "{who} sent a new invitation link to {}",
            target_or("someone")
        ),
        "invitation.revoked" => {
            format!("{who} withdrew the invitation of {}", target_or("someone"))
        }
        "invitation.accepted" => format!("{who} accepted an invitation and joined"),
        "invitation.sso_refused" => format!(
            "An invitation for {} was refused at single sign-on",
            target.or(actor).unwrap_or("someone")
        ),
        "member.role_changed" => match (role_word("from"), role_word("to")) {
            (Some(from), Some(to)) => format!(
                "{who} changed the role of {} from {from} to {to}",
                target_or("a person")
            ),
            _ => format!("{who} changed the role of {}", target_or("a person")),
        },
        "member.deactivated" => format!("{who} deactivated {}", target_or("a person")),
        "member.reactivated" => format!("{who} reactivated {}", target_or("a person")),
        "profile.updated" => format!("{who} changed their name"),
        "password.changed" => format!("{who} changed their password"),
        "settings.updated" => format!("{who} changed the organization's settings"),
        "account.locked" => format!(
            "Sign-in paused for {} after failed attempts",
            target_or("an account")
        ),
        "account.unlocked" => format!("Sign-in for {} resumed", target_or("an account")),
        "login.refused_locked" => {
            format!("Refused sign-in for {}: paused", target_or("an account"))
        }
        "login.refused_unverified" => format!(
            "Refused sign-in for {}: email not confirmed",
            target_or("an account")
        ),
        "login.refused_sso_required" => format!(
            "Refused password sign-in for {}: single sign-on is required",
            target_or("an account")
        ),
        "user.created" => format!("{who} added {}", target_or("a person")),
        "user.provisioned" => format!("{who} joined through single sign-on"),
        "user.sso_linked" => format!("{who} linked their account to single sign-on"),
        "token.issued" => format!("{who} gave a program access to the API"),
        "token.revoked" => format!("{who} revoked a program's API access"),
        "token.refresh_reused" => format!(
            "A used API refresh token of {} was presented again; that access was ended",
            actor.or(target).unwrap_or("someone")
        ),
        other => passkey_sentence(who, other, details)
            .unwrap_or_else(|| format!("{who}: {}", label(other))),
    }
}

/// The sentences of passkey events (`details` name the passkey or the reason).
fn passkey_sentence(who: &str, action: &str, details: &Value) -> Option<String> {
    let detail = |key: &str| details.get(key).and_then(Value::as_str);
    let named = |key: &str| {
        detail(key)
            .map(|n| format!("the passkey \"{n}\""))
            .unwrap_or_else(|| "a passkey".into())
    };
    let reason = detail("reason").unwrap_or("not accepted");
    Some(match action {
        "passkey.added" => format!("{who} added {}", named("passkey")),
        "passkey.removed" => format!("{who} removed {}", named("passkey")),
        "passkey.renamed" => match (detail("from"), detail("to")) {
            (Some(from), Some(to)) => format!("{who} renamed the passkey \"{from}\" to \"{to}\""),
            _ => format!("{who} renamed a passkey"),
        },
        "passkey.add_refused" => format!("{who} could not add a passkey: {reason}"),
        "passkey.used" => format!(
            "{who} confirmed with {} ({})",
            named("passkey"),
            detail("purpose").unwrap_or("confirmation")
        ),
        "passkey.refused" => format!("A passkey of {who} was refused: {reason}"),
        "passkey.counter_refused" => format!(
            "A passkey of {who} was refused: its sign count went backwards, so it may have been copied"
        ),
        _ => return None,
    })
}

/// A second factor's stored name as the thing a person has.
fn factor_name(method: &str) -> &'static str {
    match method {
        "totp" => "an authenticator app",
        "passkey" => "a passkey",
        _ => "a second factor",
    }
}

/// A second factor's stored name as what a person gives at sign-in.
fn factor_words(method: &str) -> &'static str {
    match method {
        "totp" => "an authenticator app code",
        "recovery_code" => "a recovery code",
        "passkey" => "a passkey",
        _ => "a second factor",
    }
}

/// A short name for a kind of event, for the audit log's filter.
pub fn label(action: &str) -> String {
    let known = match action {
        "organization.created" => "Organization created",
        "user.signed_up" => "Signed up",
        "login.succeeded" => "Signed in",
        "login.failed" => "Failed sign-in",
        "login.sso_failed" => "Single sign-on failed",
        "login.sso_refused" => "Single sign-on refused",
        "logout" => "Signed out",
        "user.registered" => "Registered",
        "email.verified" => "Email confirmed",
        "password.reset_requested" => "Password reset requested",
        "password.reset" => "Password reset",
        "user.password_set" => "Password set by an admin",
        "invitation.sent" => "Invitation sent",
        "invitation.resent" => "Invitation sent again",
        "invitation.revoked" => "Invitation withdrawn",
        "invitation.accepted" => "Invitation accepted",
        "invitation.sso_refused" => "Invitation refused at single sign-on",
        "member.role_changed" => "Role changed",
        "member.deactivated" => "Member deactivated",
        "member.reactivated" => "Member reactivated",
        "profile.updated" => "Name changed",
        "password.changed" => "Password changed",
        "settings.updated" => "Settings changed",
        "account.locked" => "Sign-in paused",
        "account.unlocked" => "Sign-in resumed",
        "login.refused_locked" => "Sign-in refused: paused",
        "login.refused_unverified" => "Sign-in refused: email not confirmed",
        "login.refused_sso_required" => "Sign-in refused: single sign-on required",
        "user.created" => "Person added",
        "user.provisioned" => "Joined through single sign-on",
        "user.sso_linked" => "Linked to single sign-on",
        "token.issued" => "API access given",
        "token.revoked" => "API access revoked",
        "token.refresh_reused" => "API refresh token reused",
        "passkey.added" => "Passkey added",
        "passkey.removed" => "Passkey removed",
        "passkey.renamed" => "Passkey renamed",
        "passkey.add_refused" => "Passkey refused when added",
        "passkey.used" => "Passkey used to confirm",
        "passkey.refused" => "Passkey refused",
        "passkey.counter_refused" => "Passkey refused: possibly copied",
        "second_factor.added" => "Second factor added",
        "second_factor.removed" => "Second factor removed",
        "second_factor.used" => "Second factor given",
        "second_factor.refused" => "Wrong second-factor code",
        "second_factor.reset" => "Second factors reset",
        "recovery_code.used" => "Recovery code used",
        "recovery_codes.regenerated" => "Recovery codes renewed",
        "step_up.confirmed" => "Confirmed for a sensitive change",
        "login.sso_refused_second_factor" => "Single sign-on refused: no second factor",
        _ => "",
    };
    if known.is_empty() {
        // An event this version does not know yet: its code, made readable.
        let words = action.replace(['.', '_'], " ");
        let mut chars = words.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    } else {
        known.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_change_names_both_roles() {
        let d = serde_json::json!({ "from": "staff", "to": "admin" });
        assert_eq!(
            sentence(
                Some("olivia@a.test"),
                "member.role_changed",
                Some("sam@a.test"),
                &d
            ),
            "olivia@a.test changed the role of sam@a.test from staff to admin"
        );
        assert_eq!(
            sentence(
                Some("o@a.test"),
                "member.role_changed",
                Some("s@a.test"),
                &Value::Null
            ),
            "o@a.test changed the role of s@a.test"
        );
    }

    #[test]
    fn second_factor_events_read_as_sentences() {
        let totp = serde_json::json!({ "method": "totp" });
        assert_eq!(
            sentence(
                Some("ada@a.test"),
                "second_factor.added",
                Some("ada@a.test"),
                &totp
            ),
            "ada@a.test added an authenticator app"
        );
        let both = serde_json::json!({ "method": "password", "second_factor": "recovery_code" });
        assert_eq!(
            sentence(Some("ada@a.test"), "login.succeeded", None, &both),
            "ada@a.test signed in with their password and a recovery code"
        );
        assert_eq!(label("second_factor.reset"), "Second factors reset");
    }

    #[test]
    fn unknown_events_still_read_as_words() {
        assert_eq!(label("sessions.ended_all"), "Sessions ended all");
        assert_eq!(sentence(None, "x.y", None, &Value::Null), "Someone: X y");
        assert_eq!(label("settings.updated"), "Settings changed");
    }
}

#[cfg(test)]
mod passkey_tests {
    use super::*;

    #[test]
    fn passkey_events_read_as_sentences() {
        let d = serde_json::json!({ "passkey": "Work laptop" });
        assert_eq!(
            sentence(Some("ada@a.test"), "passkey.added", Some("ada@a.test"), &d),
            "ada@a.test added the passkey \"Work laptop\""
        );
        let d = serde_json::json!({ "method": "passkey", "passkey": "Phone" });
        assert_eq!(
            sentence(
                Some("ada@a.test"),
                "login.succeeded",
                Some("ada@a.test"),
                &d
            ),
            "ada@a.test signed in with the passkey \"Phone\""
        );
        let d = serde_json::json!({ "method": "passkey", "reason": "unknown passkey" });
        assert_eq!(
            sentence(None, "login.failed", Some("(unknown passkey)"), &d),
            "Refused passkey sign-in for (unknown passkey): unknown passkey"
        );
        let d = serde_json::json!({ "from": "Old", "to": "New" });
        assert_eq!(
            sentence(Some("b@a.test"), "passkey.renamed", None, &d),
            "b@a.test renamed the passkey \"Old\" to \"New\""
        );
        assert_eq!(
            label("passkey.counter_refused"),
            "Passkey refused: possibly copied"
        );
    }
}
