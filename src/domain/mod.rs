//! Values parsed once from input that carry their guarantee from then on.

pub mod password;
pub mod reference;
mod slug;

use std::fmt;

pub use password::{NewPassword, PasswordPolicy};
pub use slug::{SchemaName, TenantSlug};

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

/// A person's role inside one tenant. Stored as its name (`models::sql_enum` maps it).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
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

/// Whether a person of a tenant may use the portal. Stored as its name.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// Signs in and uses the portal.
    Active,
    /// Stopped by an admin: no sign-in, no session.
    Deactivated,
}

impl MemberStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Deactivated => "deactivated",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(MemberStatus::Active),
            "deactivated" => Some(MemberStatus::Deactivated),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
