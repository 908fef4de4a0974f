//! Values parsed once from input that carry their guarantee from then on.

pub mod password;
pub mod reference;

use std::fmt;

pub use password::{NewPassword, PasswordPolicy};

/// Why a piece of input was refused, in words for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The form field (or JSON key) at fault.
    pub field: &'static str,
    /// What to do about it.
    pub message: String,
}

impl FieldError {
    /// A refusal of `field` with a message.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }

    /// The message for `field` among a form's errors, if it has one.
    pub fn message_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
        errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

fn bounded_text(
    field: &'static str,
    label: &str,
    raw: &str,
    max: usize,
) -> Result<String, FieldError> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, format!("Enter {label}.")));
    }
    if v.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("{} must be at most {max} characters.", capitalize(label)),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("{} cannot contain control characters.", capitalize(label)),
        ));
    }
    Ok(v.to_string())
}

fn capitalize(s: &str) -> String {
    let s = s.trim_start_matches("your ").trim_start_matches("the ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// An organization's address in the portal: `/t/<slug>/`.
///
/// Lowercase ASCII letters and digits in dash-separated words, starting with a letter,
/// 3 to 40 characters. Only a value of this type ever reaches SQL as a schema name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantSlug(String);

/// Slugs that would read as part of the portal itself.
const RESERVED_SLUGS: &[&str] = &[
    "admin", "api", "app", "auth", "health", "login", "logout", "public", "signup", "sso",
    "static", "status", "support", "system", "www",
];

impl TenantSlug {
    /// The shortest slug.
    pub const MIN_LEN: usize = 3;
    /// The longest slug.
    pub const MAX_LEN: usize = 40;

    /// Parses a slug, refusing anything outside the strict form.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let v = raw.trim();
        let len = v.len();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&len) {
            return Err(FieldError::new(
                "slug",
                format!(
                    "The address must be {} to {} characters long.",
                    Self::MIN_LEN,
                    Self::MAX_LEN
                ),
            ));
        }
        if !is_strict_slug(v) {
            return Err(FieldError::new(
                "slug",
                "Use lowercase letters, digits and single dashes, starting with a letter (for example acme-labs).",
            ));
        }
        if RESERVED_SLUGS.contains(&v) {
            return Err(FieldError::new(
                "slug",
                "That address is reserved. Choose another.",
            ));
        }
        Ok(Self(v.to_string()))
    }

    /// Proposes a slug from an organization name ("Acme Labs, Inc." → "acme-labs-inc").
    pub fn suggest(name: &str) -> Option<Self> {
        let mut out = String::new();
        for c in name.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        let trimmed: String = out.trim_matches('-').chars().take(Self::MAX_LEN).collect();
        let trimmed = trimmed
            .trim_end_matches('-')
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '-');
        let candidate = if trimmed.len() < Self::MIN_LEN {
            format!("org-{trimmed}").trim_end_matches('-').to_string()
        } else {
            trimmed.to_string()
        };
        Self::parse(&candidate).ok()
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tenant's PostgreSQL schema: `tenant_<slug with - as _>`.
    pub fn schema_name(&self) -> SchemaName {
        SchemaName(format!("tenant_{}", self.0.replace('-', "_")))
    }
}

fn is_strict_slug(v: &str) -> bool {
    let bytes = v.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_lowercase) || v.ends_with('-') {
        return false;
    }
    let mut prev_dash = false;
    for &b in bytes {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => prev_dash = false,
            b'-' if !prev_dash => prev_dash = true,
            _ => return false,
        }
    }
    true
}

impl fmt::Display for TenantSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant schema's name, derived only from a [`TenantSlug`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaName(String);

impl SchemaName {
    /// Rebuilds the schema name of a registry row, checking it has the derived form.
    pub fn from_registry(raw: &str) -> Option<Self> {
        let slug = raw.strip_prefix("tenant_")?.replace('_', "-");
        let slug = TenantSlug::parse(&slug).ok()?;
        (slug.schema_name().0 == raw).then(|| slug.schema_name())
    }

    /// The bare name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a quoted SQL identifier. Slug rules already exclude quotes; quoting
    /// anyway keeps the identifier exact whatever the reserved words of PostgreSQL.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0.replace('"', "\"\""))
    }
}

/// An email address, trimmed and lowercased, of a plausible form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// The longest address accepted (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Parses an address.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let v = raw.trim().to_lowercase();
        if v.is_empty() {
            return Err(FieldError::new("email", "Enter your email address."));
        }
        if v.len() > Self::MAX_LEN {
            return Err(FieldError::new(
                "email",
                format!(
                    "An email address can be at most {} characters.",
                    Self::MAX_LEN
                ),
            ));
        }
        let valid = match v.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
                    && domain
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
                    && !local
                        .chars()
                        .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c))
            }
            None => false,
        };
        if !valid {
            return Err(FieldError::new(
                "email",
                "Enter an email address like name@example.com.",
            ));
        }
        Ok(Self(v))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// Parses a name of 1 to 100 characters.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        bounded_text("name", "your name", raw, 100).map(Self)
    }
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organization's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationName(String);

impl OrganizationName {
    /// Parses a name of 1 to 100 characters.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        bounded_text("company_name", "the company name", raw, 100).map(Self)
    }
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 3166-1 alpha-2 country code from the list offered at sign-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country(&'static str);

impl Country {
    /// Parses a listed country code.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim().to_ascii_uppercase();
        reference::COUNTRIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(c, _)| Self(c))
            .ok_or_else(|| FieldError::new("country", "Choose your country from the list."))
    }
    /// The two-letter code.
    pub fn code(&self) -> &'static str {
        self.0
    }
}

/// A business type key from the list offered at sign-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessType(&'static str);

impl BusinessType {
    /// Parses a listed business type key.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let key = raw.trim();
        reference::BUSINESS_TYPES
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(k, _)| Self(k))
            .ok_or_else(|| {
                FieldError::new(
                    "business_type",
                    "Choose the type of business from the list.",
                )
            })
    }
    /// The stored key.
    pub fn key(&self) -> &'static str {
        self.0
    }
}

/// A person's role inside one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the organization: members, settings, audit.
    Admin,
    /// Works in the organization.
    Staff,
    /// An end user of the organization.
    Member,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Member => "member",
        }
    }

    /// Parses a stored or submitted role name.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw.trim() {
            "admin" => Ok(Role::Admin),
            "staff" => Ok(Role::Staff),
            "member" => Ok(Role::Member),
            _ => Err(FieldError::new("role", "Choose admin, staff or member.")),
        }
    }

    /// A label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Staff => "Staff",
            Role::Member => "Member",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_slugs_only() {
        for ok in ["acme", "acme-labs", "a1b2", "x9-y8-z7"] {
            assert!(TenantSlug::parse(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(300);
        for bad in [
            "a;drop",
            "../x",
            "Acme",
            "ab",
            "1abc",
            "-abc",
            "abc-",
            "a--b",
            "ünï",
            "a b c",
            "acme_labs",
            "admin",
            "tenant\"x",
            long.as_str(),
        ] {
            assert!(TenantSlug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn schema_names_follow_slugs_and_round_trip() {
        let slug = TenantSlug::parse("acme-labs").unwrap();
        let schema = slug.schema_name();
        assert_eq!(schema.as_str(), "tenant_acme_labs");
        assert_eq!(schema.quoted(), "\"tenant_acme_labs\"");
        assert_eq!(SchemaName::from_registry("tenant_acme_labs"), Some(schema));
        assert_eq!(SchemaName::from_registry("public"), None);
        assert_eq!(SchemaName::from_registry("tenant_x\"; drop"), None);
    }

    #[test]
    fn slug_suggestions_come_from_names() {
        let s = |n: &str| TenantSlug::suggest(n).map(|s| s.0);
        assert_eq!(s("Acme Labs, Inc."), Some("acme-labs-inc".into()));
        assert_eq!(s("  Über Café "), Some("ber-caf".into()));
        assert_eq!(s("42 Widgets"), Some("widgets".into()));
        assert_eq!(s("X"), Some("org-x".into()));
        assert_eq!(s("Admin"), None);
    }

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
            "ada@exa..mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).unwrap_err().message.contains("254"));
    }

    #[test]
    fn names_are_bounded() {
        assert!(PersonName::parse("   ").is_err());
        assert!(
            PersonName::parse(&"x".repeat(101))
                .unwrap_err()
                .message
                .contains("100")
        );
        assert_eq!(
            PersonName::parse(" Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert!(OrganizationName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn roles_parse() {
        assert_eq!(Role::parse("staff").unwrap(), Role::Staff);
        assert!(Role::parse("owner").is_err());
    }
}
