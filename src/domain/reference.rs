//! Reference data for the sign-up form: countries and business types.
pub const COUNTRIES: &[(&str, &str)] = &[("DE", "Germany"), ("US", "United States")];
pub const BUSINESS_TYPES: &[(&str, &str)] =
    &[("software", "Software & technology"), ("other", "Other")];
pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}
