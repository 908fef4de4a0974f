//! An organization's own rules: who may register, how people sign in.

use diesel::prelude::*;

use crate::db::schema::tenant::tenant_settings;
use crate::domain::{Email, FieldError, Role};
use crate::error::{AppError, AppResult};

/// Who may create an account at `/t/{slug}/register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Anyone.
    Open,
    /// Only people with an invitation.
    InviteOnly,
    /// Anyone whose email is in one of the listed domains.
    Domains,
}

impl Registration {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Registration::Open => "open",
            Registration::InviteOnly => "invite_only",
            Registration::Domains => "domains",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw.trim() {
            "open" => Ok(Registration::Open),
            "invite_only" => Ok(Registration::InviteOnly),
            "domains" => Ok(Registration::Domains),
            _ => Err(FieldError::new(
                "registration",
                "Choose open, invite-only or limited to email domains.",
            )),
        }
    }
}

/// Who of the organization must have a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecondFactorRule {
    /// Nobody must; anyone may.
    #[default]
    Optional,
    /// Admins must.
    Admins,
    /// Everyone must.
    Everyone,
}

impl SecondFactorRule {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactorRule::Optional => "optional",
            SecondFactorRule::Admins => "admins",
            SecondFactorRule::Everyone => "everyone",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw.trim() {
            "optional" => Ok(SecondFactorRule::Optional),
            "admins" => Ok(SecondFactorRule::Admins),
            "everyone" => Ok(SecondFactorRule::Everyone),
            _ => Err(FieldError::new(
                "second_factor",
                "Choose optional, required for admins or required for everyone.",
            )),
        }
    }

    /// Whether a person of this role must have a second factor; `everywhere` is the
    /// platform's `DEVICE_AUTH_REQUIRED`, which wins over the organization's rule.
    pub fn requires(self, role: Role, everywhere: bool) -> bool {
        everywhere
            || match self {
                SecondFactorRule::Optional => false,
                SecondFactorRule::Admins => role == Role::Admin,
                SecondFactorRule::Everyone => true,
            }
    }
}

/// The settings row.
#[derive(Debug, Clone)]
pub struct TenantSettings {
    /// Registration mode.
    pub registration: Registration,
    /// Domains allowed when the mode is `Domains`, lowercase.
    pub allowed_domains: Vec<String>,
    /// Whether people of this tenant may sign in with a password.
    pub password_login: bool,
    /// Whether a person must verify their email before signing in.
    pub require_email_verification: bool,
    /// Whether staff and admins must sign in through single sign-on (never a password).
    pub require_sso_for_staff: bool,
    /// Who must have a second factor.
    pub second_factor: SecondFactorRule,
    /// Whether people may sign in with a passkey alone (no email, no password).
    pub passkey_sign_in: bool,
}

impl TenantSettings {
    /// The rules as the audit log keeps them.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "registration": self.registration.as_str(),
            "allowed_domains": self.allowed_domains,
            "password_login": self.password_login,
            "require_email_verification": self.require_email_verification,
            "require_sso_for_staff": self.require_sso_for_staff,
            "second_factor": self.second_factor.as_str(),
            "passkey_sign_in": self.passkey_sign_in,
        })
    }

    /// Whether someone with this email may register on their own.
    pub fn admits(&self, email: &Email) -> bool {
        match self.registration {
            Registration::Open => true,
            Registration::InviteOnly => false,
            Registration::Domains => {
                let domain = email
                    .as_str()
                    .rsplit_once('@')
                    .map(|(_, d)| d)
                    .unwrap_or("");
                self.allowed_domains.iter().any(|d| d == domain)
            }
        }
    }
}

/// Reads the settings of the tenant the transaction is scoped to.
pub fn load(conn: &mut PgConnection) -> AppResult<TenantSettings> {
    let (
        registration,
        allowed_domains,
        password_login,
        require_email_verification,
        require_sso_for_staff,
        second_factor,
        passkey_sign_in,
    ): (String, Vec<Option<String>>, bool, bool, bool, String, bool) = tenant_settings::table
        .select((
            tenant_settings::registration,
            tenant_settings::allowed_domains,
            tenant_settings::password_login,
            tenant_settings::require_email_verification,
            tenant_settings::require_sso_for_staff,
            tenant_settings::second_factor,
            tenant_settings::passkey_sign_in,
        ))
        .first(conn)?;
    // A `text[]` may hold NULL elements (so diesel reads `Nullable<Text>`); the settings
    // form never stores one, so a NULL means a broken row: refuse it, never skip it.
    let allowed_domains = allowed_domains
        .into_iter()
        .collect::<Option<Vec<String>>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("allowed_domains holds a NULL")))?;
    Ok(TenantSettings {
        registration: Registration::parse(&registration).unwrap_or(Registration::InviteOnly),
        allowed_domains,
        password_login,
        require_email_verification,
        require_sso_for_staff,
        // The column's CHECK admits only the three names; were it ever something else,
        // the strictest rule is the safe reading.
        second_factor: SecondFactorRule::parse(&second_factor)
            .unwrap_or(SecondFactorRule::Everyone),
        passkey_sign_in,
    })
}

/// Stores new settings for the tenant the transaction is scoped to.
pub fn save(conn: &mut PgConnection, s: &TenantSettings) -> AppResult<()> {
    diesel::update(tenant_settings::table)
        .set((
            tenant_settings::registration.eq(s.registration.as_str()),
            tenant_settings::allowed_domains.eq(&s.allowed_domains),
            tenant_settings::password_login.eq(s.password_login),
            tenant_settings::require_email_verification.eq(s.require_email_verification),
            tenant_settings::require_sso_for_staff.eq(s.require_sso_for_staff),
            tenant_settings::second_factor.eq(s.second_factor.as_str()),
            tenant_settings::passkey_sign_in.eq(s.passkey_sign_in),
            tenant_settings::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Most domains a tenant may list.
pub const MAX_DOMAINS: usize = 50;

/// Parses a list of email domains separated by commas, spaces or lines; a leading
/// `@` is allowed. Lowercased, deduplicated, in the order given.
pub fn parse_domains(raw: &str) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for item in raw.split(|c: char| c == ',' || c == ';' || c.is_whitespace()) {
        let d = item.trim().trim_start_matches('@').to_ascii_lowercase();
        if d.is_empty() {
            continue;
        }
        if !is_domain(&d) {
            let shown: String = d.chars().take(60).collect();
            return Err(FieldError::new(
                "allowed_domains",
                format!("{shown} is not a domain name. Write domains like example.com."),
            ));
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    if out.len() > MAX_DOMAINS {
        return Err(FieldError::new(
            "allowed_domains",
            format!("List at most {MAX_DOMAINS} domains."),
        ));
    }
    Ok(out)
}

fn is_domain(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    d.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_split_cleaned_and_checked() {
        assert_eq!(
            parse_domains("Acme.test, @sub.acme.test\nacme.test").unwrap(),
            vec!["acme.test", "sub.acme.test"]
        );
        assert!(parse_domains("").unwrap().is_empty());
        for bad in [
            "acme",
            "-acme.test",
            "ac me.test;x",
            "acme..test",
            "a_b.test",
        ] {
            assert!(parse_domains(bad).is_err(), "{bad}");
        }
        let many = (0..51)
            .map(|i| format!("d{i}.test"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse_domains(&many).is_err());
    }

    #[test]
    fn admission_follows_the_mode() {
        let mut s = TenantSettings {
            registration: Registration::Domains,
            allowed_domains: vec!["acme.test".into()],
            password_login: true,
            require_email_verification: false,
            require_sso_for_staff: false,
            second_factor: SecondFactorRule::Optional,
            passkey_sign_in: true,
        };
        let inside = Email::parse("ada@acme.test").unwrap();
        let outside = Email::parse("eve@evil.test").unwrap();
        let lookalike = Email::parse("eve@notacme.test").unwrap();
        assert!(s.admits(&inside));
        assert!(!s.admits(&outside));
        assert!(!s.admits(&lookalike));
        s.registration = Registration::Open;
        assert!(s.admits(&outside));
        s.registration = Registration::InviteOnly;
        assert!(!s.admits(&inside));
    }
}
