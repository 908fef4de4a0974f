//! The body of `POST /api/v1/users`, and the checks that make the API answer exactly
//! what its document promises: a body valid by the schema goes on to the sign-up
//! service, and a body the schema refuses is refused with 422 before it gets there
//! (the service itself trims and lowercases, which the API does not promise).
//!
//! Each pattern below is spelled once for the document and once as a Rust check; the
//! schemathesis run of the suite (`tests/it/schemathesis.rs`) sends both what the
//! patterns allow and what they refuse, and fails when the two disagree.

use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType};
use utoipa::openapi::{KnownFormat, SchemaFormat, Type};

use crate::domain::reference::{self, BUSINESS_TYPE_ALIASES, BUSINESS_TYPES, COUNTRIES};
use crate::domain::{FieldError, TenantSlug};
use crate::error::{AppError, AppResult};
use crate::tenancy::provision::SignupInput;

/// Control characters (Unicode category Cc), which no name may hold.
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";
/// Control characters and white space (what `str::trim` removes, and U+FEFF).
const BLANK: &str =
    r"\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff";

/// An email address the portal takes: an ASCII dot-atom, `@`, a host name of two or
/// more labels.
const EMAIL_PATTERN: &str = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$";
/// A slug: lowercase letters and digits in words joined by single hyphens, starting
/// with a letter.
const SLUG_PATTERN: &str = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$";

/// The longest email address (RFC 5321).
const EMAIL_MAX: usize = 254;
/// The longest local part of an address (RFC 5321).
const LOCAL_MAX: usize = 64;
/// The shortest and longest password, in characters.
const PASSWORD_CHARS: (usize, usize) = (10, 72);
/// The longest organization or person name, in characters.
const NAME_MAX: usize = 100;

/// A new organization and its first admin.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "email": "ops@sonicus.example",
    "password": "Correct-Horse-Battery-9142",
    "company_name": "Sonicus",
    "business_type": "technology",
    "country": "US"
}))]
pub struct NewOrganization {
    /// The admin's email address.
    #[schema(schema_with = email_schema)]
    pub email: String,
    /// The admin's password.
    #[schema(schema_with = password_schema)]
    pub password: String,
    /// The organization's name.
    #[schema(schema_with = company_name_schema)]
    pub company_name: String,
    /// The kind of business.
    #[schema(schema_with = business_type_schema)]
    pub business_type: String,
    /// The country.
    #[schema(schema_with = country_schema)]
    pub country: String,
    /// The admin's name.
    #[serde(default)]
    #[schema(schema_with = person_name_schema)]
    pub name: Option<String>,
    /// The organization's address.
    #[serde(default)]
    #[schema(schema_with = slug_schema)]
    pub slug: Option<String>,
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::new(Type::String))
}

fn nullable_string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
}

fn email_schema() -> ObjectBuilder {
    string()
        .description(Some(
            "The admin's email address: an ASCII dot-atom at a host name with a dot. It is stored lowercased.",
        ))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(EMAIL_MAX))
        .pattern(Some(EMAIL_PATTERN))
}

fn password_schema() -> ObjectBuilder {
    string()
        .description(Some(
            "The admin's password: 10 to 72 characters and at most 72 bytes in UTF-8, not easy to guess (a zxcvbn score of 3 or more, not built from the email address, the name or the company name). One over 72 bytes or too easy to guess is answered 422 with `error.fields.password`.",
        ))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .min_length(Some(PASSWORD_CHARS.0))
        .max_length(Some(PASSWORD_CHARS.1))
}

fn company_name_schema() -> ObjectBuilder {
    string()
        .description(Some(
            "The organization's name: up to 100 characters, not only spaces, no control characters.",
        ))
        .min_length(Some(1))
        .max_length(Some(NAME_MAX))
        .pattern(Some(format!("^[^{CONTROL}]*[^{BLANK}][^{CONTROL}]*$")))
}

fn person_name_schema() -> ObjectBuilder {
    nullable_string()
        .description(Some(
            "The admin's name: up to 100 characters, no control characters. When left out, null or blank, the local part of the email address.",
        ))
        .max_length(Some(NAME_MAX))
        .pattern(Some(format!("^[^{CONTROL}]*$")))
}

fn slug_schema() -> ObjectBuilder {
    nullable_string()
        .description(Some(
            "The organization's address (`/t/<slug>/`): 3 to 40 characters, lowercase letters and digits in words joined by single hyphens, starting with a letter. When left out or null, made from the company name. A reserved or taken address is answered 409.",
        ))
        .min_length(Some(TenantSlug::MIN_LEN))
        .max_length(Some(TenantSlug::MAX_LEN))
        .pattern(Some(SLUG_PATTERN))
}

fn business_type_schema() -> ObjectBuilder {
    let names = BUSINESS_TYPES
        .iter()
        .map(|(k, _)| *k)
        .chain(BUSINESS_TYPE_ALIASES.iter().map(|(alias, _)| *alias));
    string()
        .description(Some(
            "The kind of business, a key of the sign-up list; `technology` stands for `software`.",
        ))
        .enum_values(Some(names))
}

fn country_schema() -> ObjectBuilder {
    string()
        .description(Some(
            "The country: an ISO 3166-1 alpha-2 code, in capitals.",
        ))
        .enum_values(Some(COUNTRIES.iter().map(|(code, _)| *code)))
}

fn is_blank(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
                ..='\u{200a}'
                    | '\u{2028}'
                    | '\u{2029}'
                    | '\u{202f}'
                    | '\u{205f}'
                    | '\u{3000}'
                    | '\u{feff}'
        )
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c)
}

fn is_label(label: &str) -> bool {
    let b = label.as_bytes();
    (1..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// [`EMAIL_PATTERN`] and the length limits.
fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    v.chars().count() <= EMAIL_MAX
        && local.len() <= LOCAL_MAX
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
        && domain.split('.').count() >= 2
        && domain.split('.').all(is_label)
}

/// [`SLUG_PATTERN`] and the length limits.
fn is_slug(v: &str) -> bool {
    (TenantSlug::MIN_LEN..=TenantSlug::MAX_LEN).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_lowercase())
        && v.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// The company name pattern and length.
fn is_company_name(v: &str) -> bool {
    (1..=NAME_MAX).contains(&v.chars().count())
        && !v.chars().any(char::is_control)
        && v.chars().any(|c| !is_blank(c))
}

/// The person name pattern and length.
fn is_person_name(v: &str) -> bool {
    v.chars().count() <= NAME_MAX && !v.chars().any(char::is_control)
}

/// The password length, in characters (the byte limit and strength are the service's).
fn is_password_length(v: &str) -> bool {
    (PASSWORD_CHARS.0..=PASSWORD_CHARS.1).contains(&v.chars().count())
}

impl NewOrganization {
    /// Checks the body against the document: every field error at once (422), or the
    /// sign-up service's input. A slug the document allows but the portal reserves is
    /// answered like a taken one (409).
    pub fn check(self) -> AppResult<SignupInput> {
        let mut errors = Vec::new();
        let mut refuse = |ok: bool, field: &'static str, message: &str| {
            if !ok {
                errors.push(FieldError::new(field, message));
            }
        };
        refuse(
            is_email(&self.email),
            "email",
            "Enter an email address like name@example.com.",
        );
        refuse(
            is_password_length(&self.password),
            "password",
            "Use 10 to 72 characters.",
        );
        refuse(
            is_company_name(&self.company_name),
            "company_name",
            "Enter the company name: up to 100 characters, without control characters.",
        );
        let business_type = reference::business_type_key(&self.business_type);
        refuse(
            business_type.is_some(),
            "business_type",
            "Choose the type of business from the list.",
        );
        refuse(
            reference::country_name(&self.country).is_some(),
            "country",
            "Give the country as an ISO 3166-1 alpha-2 code in capitals, like US.",
        );
        refuse(
            self.name.as_deref().is_none_or(is_person_name),
            "name",
            "A name can be up to 100 characters, without control characters.",
        );
        refuse(
            self.slug.as_deref().is_none_or(is_slug),
            "slug",
            "The address must be 3 to 40 lowercase letters and digits, in words joined by single hyphens, starting with a letter.",
        );
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        if let Some(slug) = self.slug.as_deref()
            && TenantSlug::parse(slug).is_err()
        {
            return Err(AppError::Conflict(format!(
                "The address {slug} is reserved. Choose another."
            )));
        }
        let name = match self.name.filter(|n| !n.trim().is_empty()) {
            Some(name) => name,
            // The API may leave the name out: the address's local part stands in.
            None => self.email.split('@').next().unwrap_or_default().to_string(),
        };
        let slug = self
            .slug
            .or_else(|| derived_slug(&self.company_name).map(|s| s.as_str().to_string()));
        Ok(SignupInput {
            company_name: self.company_name,
            business_type: business_type.unwrap_or_default().to_string(),
            country: self.country,
            name,
            email: self.email,
            password: self.password,
            slug,
        })
    }
}

/// An address made from the company name; one the portal reserves ("API", "Admin")
/// gets an `org-` in front.
fn derived_slug(company_name: &str) -> Option<TenantSlug> {
    TenantSlug::suggest(company_name)
        .or_else(|| TenantSlug::suggest(&format!("org {company_name}")))
}

#[cfg(test)]
mod tests;
