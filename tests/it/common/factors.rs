//! Second factors as a person uses them: reading the secret off the enrollment page,
//! computing the codes their authenticator app would show, confirming a step-up.

use reqwest::StatusCode;

use super::{Page, Visitor};

/// The authenticator secret as the enrollment page shows it (base32 in groups of four).
pub fn secret_on(page: &Page) -> String {
    let start = page
        .body
        .find(r#"id="totp-secret""#)
        .unwrap_or_else(|| panic!("no secret on the page: {}", page.body));
    let rest = &page.body[start..];
    let text = &rest[rest.find('>').unwrap() + 1..rest.find('<').unwrap()];
    text.split_whitespace().collect()
}

/// The code an authenticator app with this secret shows `steps` time steps from now
/// (the portal accepts the step before and after its own, as RFC 6238 advises).
pub fn code(secret: &str, steps: i64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret)
        .expect("base32 secret")
        .to_vec();
    let totp = totp_rs::Builder::new()
        .with_secret(bytes)
        .build()
        .expect("a valid secret");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    totp.generate((now + steps * 30) as u64).to_string()
}

/// Adds an authenticator app from the profile of a signed-in person: reads the secret,
/// confirms it with the current code. Returns the secret and the recovery codes shown.
pub async fn enroll(v: &Visitor, slug: &str) -> (String, Vec<String>) {
    let path = format!("/t/{slug}/profile/authenticator");
    let page = v.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let secret = secret_on(&page);
    let done = v.submit(&path, &path, &[("code", &code(&secret, 0))]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let to = done.location.expect("a redirect");
    let codes = if to.contains("/recovery-codes") {
        recovery_codes_on(&v.get(&to).await)
    } else {
        Vec::new()
    };
    (secret, codes)
}

/// The recovery codes listed on the page that shows them once.
pub fn recovery_codes_on(page: &Page) -> Vec<String> {
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.body
        .split("<li><code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_string())
        .collect()
}

/// Confirms who the person is on the step-up page (password, and a code when given),
/// returning to `next`.
pub async fn step_up(
    v: &Visitor,
    slug: &str,
    password: &str,
    code: Option<&str>,
    next: &str,
) -> Page {
    let page = format!("/t/{slug}/profile/confirm?next={}", urlencode(next));
    let mut fields = vec![("password", password), ("next", next)];
    if let Some(c) = code {
        fields.push(("code", c));
    }
    v.submit(&page, &format!("/t/{slug}/profile/confirm"), &fields)
        .await
}

/// A query-string value.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
