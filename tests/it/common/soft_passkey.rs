//! Passkeys without a browser: a portal reachable as `http://localhost:<port>` (WebAuthn
//! needs a domain name), and a software authenticator (webauthn-authenticator-rs's
//! `SoftPasskey`) that answers the portal's challenges as a browser would, or, for the
//! refusals, as a browser never would (another origin, another relying party).

use reqwest::StatusCode;
use url::Url;
use webauthn_authenticator_rs::AuthenticatorBackend;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, RequestChallengeResponse, UserVerificationPolicy,
};

use super::{Page, TestApp, Visitor, free_port};

/// A portal whose `PORTAL_BASE_URL` is `http://localhost:<port>`, and that origin.
pub async fn portal(extra: &[(&str, &str)]) -> (TestApp, Url) {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let base = format!("http://localhost:{port}");
    let mut vars = vec![
        ("PORTAL_BIND", bind.as_str()),
        ("PORTAL_BASE_URL", base.as_str()),
    ];
    vars.extend_from_slice(extra);
    let app = TestApp::spawn_with(&vars).await;
    (app, Url::parse(&base).expect("origin"))
}

/// A software authenticator that verifies its user (PIN or biometrics, as far as the
/// portal can tell).
pub fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

/// POSTs the form of `page` to `options` (as the page's script does) and reads the JSON.
pub async fn options(v: &Visitor, page: &str, options: &str) -> (StatusCode, serde_json::Value) {
    let token = v.get(page).await.csrf();
    let res = v
        .http
        .post(format!("{}{options}", v.address()))
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .expect("POST options");
    let status = res.status();
    (status, res.json().await.unwrap_or_default())
}

/// A registered passkey, as the test knows it.
pub struct Registered {
    /// The credential id.
    pub id: Vec<u8>,
    /// The account handle the portal gave the authenticator.
    pub user_handle: Vec<u8>,
    /// The portal's answer to the registration form.
    pub page: Page,
}

/// Adds a passkey named `name` on the visitor's profile in `slug`.
pub async fn register(
    v: &Visitor,
    slug: &str,
    soft: &mut SoftPasskey,
    origin: &Url,
    name: &str,
) -> Registered {
    let profile = format!("/t/{slug}/profile");
    register_at(
        v,
        &profile,
        &format!("{profile}/passkeys"),
        soft,
        origin,
        name,
    )
    .await
}

/// Adds a passkey through the form of `page` that posts to `action` (its options at
/// `action/options`).
pub async fn register_at(
    v: &Visitor,
    page: &str,
    action: &str,
    soft: &mut SoftPasskey,
    origin: &Url,
    name: &str,
) -> Registered {
    let (status, json) = options(v, page, &format!("{action}/options")).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let mut ccr: CreationChallengeResponse = serde_json::from_value(json).expect("options");
    let user_handle = ccr.public_key.user.id.to_vec();
    // The portal asks for a discoverable credential, which this software authenticator
    // cannot keep; the portal cannot tell, so the test stores the handle itself.
    if let Some(sel) = ccr.public_key.authenticator_selection.as_mut() {
        sel.require_resident_key = false;
        sel.resident_key = None;
    }
    let answer = soft
        .perform_register(origin.clone(), ccr.public_key, 60_000)
        .expect("the authenticator registers");
    let json = serde_json::to_string(&answer).expect("answer");
    let page = v
        .submit(
            page,
            action,
            &[("name", name), ("credential", json.as_str())],
        )
        .await;
    Registered {
        id: answer.raw_id.to_vec(),
        user_handle,
        page,
    }
}

/// How the test's authenticator answers a sign-in challenge.
#[derive(Clone, Copy, Default)]
pub struct Answer<'a> {
    /// Claim this origin instead of the portal's.
    pub origin: Option<&'a Url>,
    /// Sign for this relying party id instead of the portal's.
    pub rp_id: Option<&'a str>,
    /// Do not verify the user (presence only).
    pub unverified: bool,
}

/// Answers sign-in `options` with the credential `id` of the account `user_handle`.
pub fn answer(
    soft: &mut SoftPasskey,
    origin: &Url,
    options: serde_json::Value,
    key: &Registered,
    how: Answer<'_>,
) -> String {
    let mut rcr: RequestChallengeResponse = serde_json::from_value(options).expect("options");
    // A discoverable sign-in names no credential; this authenticator needs one.
    rcr.public_key.allow_credentials = vec![AllowCredentials {
        type_: "public-key".into(),
        id: key.id.clone(),
        transports: None,
    }];
    if let Some(rp) = how.rp_id {
        rcr.public_key.rp_id = rp.into();
    }
    if how.unverified {
        rcr.public_key.user_verification = UserVerificationPolicy::Discouraged_DO_NOT_USE;
    }
    let origin = how.origin.unwrap_or(origin).clone();
    let mut cred = AuthenticatorBackend::perform_auth(soft, origin, rcr.public_key, 60_000)
        .expect("the authenticator signs");
    cred.response.user_handle = Some(key.user_handle.clone());
    serde_json::to_string(&cred).expect("answer")
}

/// Posts a passkey answer to the sign-in form of `slug`.
pub async fn sign_in_with(v: &Visitor, slug: &str, answer: &str) -> Page {
    let login = format!("/t/{slug}/login");
    v.submit(
        &login,
        &format!("{login}/passkey"),
        &[("credential", answer)],
    )
    .await
}

/// Asks for sign-in options at `slug` and answers them.
pub async fn sign_in(
    v: &Visitor,
    slug: &str,
    soft: &mut SoftPasskey,
    origin: &Url,
    key: &Registered,
    how: Answer<'_>,
) -> Page {
    let login = format!("/t/{slug}/login");
    let (status, json) = options(v, &login, &format!("{login}/passkey/options")).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let answer = answer(soft, origin, json, key, how);
    sign_in_with(v, slug, &answer).await
}

/// Runs SQL against the test database.
pub fn execute(app: &TestApp, sql: &str) {
    use diesel::{Connection, RunQueryDsl};
    let mut conn = diesel::PgConnection::establish(&app.database_url).expect("connect");
    diesel::sql_query(sql).execute(&mut conn).expect(sql);
}
