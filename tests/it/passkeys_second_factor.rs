//! Passkeys as a second factor: the second step of a password sign-in, the factor a
//! newcomer adds when their organization requires one, and a fresh confirmation; the
//! last passkey of someone who must have a factor stays.

use reqwest::StatusCode;
use url::Url;

use crate::common::soft_passkey::{
    Answer, answer, authenticator, execute, options, portal, register, register_at, sign_in,
};
use crate::common::{PASSWORD, assert_asks};

#[tokio::test]
async fn a_password_sign_in_of_someone_with_a_passkey_asks_for_it_as_the_second_step() {
    let (app, origin) = portal(&[]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let mut soft = authenticator();
    let key = register(&ada, "acme", &mut soft, &origin, "Phone").await;
    ada.logout("acme").await;

    let page = ada.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(
        page.location.as_deref(),
        Some("/t/acme/login/second-factor")
    );
    let step = "/t/acme/login/second-factor";
    assert!(ada.get(step).await.body.contains("Use a passkey"));
    assert_eq!(
        ada.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );

    // A passkey answer made for another site: refused, the sign-in still waits.
    let evil = Url::parse(&format!("http://evil.test:{}", origin.port().unwrap())).unwrap();
    let (status, json) = options(&ada, step, &format!("{step}/passkey/options")).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let how = Answer {
        origin: Some(&evil),
        ..Answer::default()
    };
    let wrong = answer(&mut soft, &origin, json, &key, how);
    let refused = ada
        .submit(
            step,
            &format!("{step}/passkey"),
            &[("credential", wrong.as_str())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    assert!(refused.body.contains("could not be verified for this site"));

    let (_, json) = options(&ada, step, &format!("{step}/passkey/options")).await;
    let right = answer(&mut soft, &origin, json, &key, Answer::default());
    let done = ada
        .submit(
            step,
            &format!("{step}/passkey"),
            &[("credential", right.as_str())],
        )
        .await;
    assert_eq!(
        done.location.as_deref(),
        Some("/t/acme/dashboard"),
        "{}",
        done.body
    );
    let audit = ada.get("/t/acme/audit").await.body;
    assert!(
        audit.contains("ada@acme.test signed in with their password and a passkey"),
        "{audit}"
    );
}

#[tokio::test]
async fn a_newcomer_adds_a_passkey_when_their_organization_requires_a_factor_and_keeps_it() {
    let (app, origin) = portal(&[]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    execute(
        &app,
        "UPDATE tenant_acme.tenant_settings SET second_factor = 'everyone'",
    );
    ada.logout("acme").await;

    let page = ada.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(page.location.as_deref(), Some("/t/acme/login/enroll"));
    let enroll = "/t/acme/login/enroll";
    assert!(ada.get(enroll).await.body.contains("Or a passkey"));
    let mut soft = authenticator();
    let action = format!("{enroll}/passkey");
    let key = register_at(&ada, enroll, &action, &mut soft, &origin, "Laptop").await;
    let codes = key.page.location.clone().unwrap_or_default();
    assert!(
        codes.starts_with("/t/acme/profile/recovery-codes"),
        "{}",
        key.page.body
    );
    assert_eq!(ada.get(&codes).await.body.matches("<li><code>").count(), 10);
    assert_eq!(ada.get("/t/acme/dashboard").await.status, StatusCode::OK);

    // The sign-in was a fresh confirmation; the only factor stays all the same.
    let id = app.query_strings("SELECT id::text AS v FROM tenant_acme.passkeys")[0].clone();
    let remove = format!("/t/acme/profile/passkeys/{id}/remove");
    let asked = ada.get(&remove).await;
    assert_asks(&asked, &remove, "remove this passkey");
    let refused = ada.answer_yes(&asked, &remove).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("Your organization requires a second factor")
    );
    assert_eq!(
        app.query_strings("SELECT name AS v FROM tenant_acme.passkeys"),
        vec!["Laptop".to_string()]
    );
}

#[tokio::test]
async fn a_passkey_sign_in_is_a_fresh_confirmation() {
    let (app, origin) = portal(&[]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let mut soft = authenticator();
    let key = register(&ada, "acme", &mut soft, &origin, "Phone").await;
    let id = app.query_strings("SELECT id::text AS v FROM tenant_acme.passkeys")[0].clone();
    let remove = format!("/t/acme/profile/passkeys/{id}/remove");
    // Signed up minutes ago with a password only: removal asks to confirm first.
    assert_eq!(ada.get(&remove).await.status, StatusCode::SEE_OTHER);

    ada.logout("acme").await;
    let page = sign_in(&ada, "acme", &mut soft, &origin, &key, Answer::default()).await;
    assert_eq!(page.location.as_deref(), Some("/t/acme/dashboard"));
    assert_asks(&ada.get(&remove).await, &remove, "remove this passkey");
}
