//! Organization addresses (`TenantSlug`) and the schema names made from them.

use std::fmt;

use super::FieldError;

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

    /// A new name for a spare schema (`spare_<32 hex digits>`), which no slug can give.
    pub fn new_spare() -> Self {
        Self(format!("spare_{}", uuid::Uuid::new_v4().simple()))
    }

    /// Rebuilds the name of a spare schema row, checking its form.
    pub fn from_spare_row(raw: &str) -> Option<Self> {
        let hex = raw.strip_prefix("spare_")?;
        (hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(raw.to_string()))
    }

    /// The name as a quoted SQL identifier. Slug rules already exclude quotes; quoting
    /// anyway keeps the identifier exact whatever the reserved words of PostgreSQL.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0.replace('"', "\"\""))
    }
}
