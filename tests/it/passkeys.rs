//! Passkeys, in process, with a software authenticator: a person adds one and signs in
//! with it alone; answers for another site or relying party, a challenge answered
//! twice, a passkey of another organization, a copied passkey, a deactivated person and
//! an organization that turned passkey sign-in off are all refused; renaming and
//! removing, with their audit sentences and mails.

use reqwest::StatusCode;
use url::Url;

use crate::common::soft_passkey::{
    Answer, authenticator, execute, options, portal, register, sign_in, sign_in_with,
};
use crate::common::{TestApp, assert_asks};

const PROFILE: &str = "/t/acme/profile";

async fn audit_text(v: &crate::common::Visitor, slug: &str) -> String {
    let page = v.get(&format!("/t/{slug}/audit")).await;
    assert_eq!(page.status, StatusCode::OK);
    page.body.replace("&quot;", "\"").replace("&#34;", "\"")
}

#[tokio::test]
async fn a_person_adds_a_passkey_and_then_signs_in_with_it_alone() {
    let (app, origin) = portal(&[]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let mut soft = authenticator();

    let key = register(&ada, "acme", &mut soft, &origin, "Work laptop").await;
    assert_eq!(key.page.status, StatusCode::SEE_OTHER, "{}", key.page.body);
    // A first second factor comes with recovery codes, shown once.
    let codes = key.page.location.clone().unwrap_or_default();
    assert!(
        codes.starts_with("/t/acme/profile/recovery-codes"),
        "{codes}"
    );
    let codes = ada.get(&codes).await.body;
    assert_eq!(codes.matches("<li><code>").count(), 10, "{codes}");
    let profile = ada.get(PROFILE).await.body.replace("&#34;", "\"");
    assert!(
        profile.contains("Your passkey \"Work laptop\" is added."),
        "{profile}"
    );
    assert!(profile.contains(r#"<strong class="passkey-name">Work laptop</strong>"#));
    assert!(profile.contains("never used yet"));
    let mail = app
        .wait_for_mail("ada@acme.test", "A passkey was added", 1)
        .await;
    assert!(mail.body.contains("\"Work laptop\""), "{}", mail.body);
    assert!(
        audit_text(&ada, "acme")
            .await
            .contains("added the passkey \"Work laptop\"")
    );

    // Signed out, the sign-in page offers the passkey; it signs Ada in, no email typed.
    ada.logout("acme").await;
    let login = ada.get("/t/acme/login").await.body;
    assert!(login.contains("Sign in with a passkey"));
    let page = sign_in(&ada, "acme", &mut soft, &origin, &key, Answer::default()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/t/acme/dashboard"));
    assert_eq!(ada.get("/t/acme/dashboard").await.status, StatusCode::OK);
    assert!(!ada.get(PROFILE).await.body.contains("never used yet"));
    assert!(
        audit_text(&ada, "acme")
            .await
            .contains("ada@acme.test signed in with the passkey \"Work laptop\"")
    );
}

#[tokio::test]
async fn answers_for_another_site_relying_party_or_without_verification_are_refused() {
    let (app, origin) = portal(&[]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let mut soft = authenticator();
    let key = register(&ada, "acme", &mut soft, &origin, "Phone").await;
    assert_eq!(key.page.status, StatusCode::SEE_OTHER, "{}", key.page.body);
    ada.logout("acme").await;

    let evil = Url::parse(&format!(
        "http://evil.test:{}",
        origin.port().expect("a port")
    ))
    .unwrap();
    let refusals = [
        (
            Answer {
                origin: Some(&evil),
                ..Answer::default()
            },
            "could not be verified for this site",
        ),
        (
            Answer {
                rp_id: Some("evil.test"),
                ..Answer::default()
            },
            "could not be verified for this site",
        ),
        (
            Answer {
                unverified: true,
                ..Answer::default()
            },
            "did not verify that it is you",
        ),
    ];
    for (how, message) in refusals {
        let page = sign_in(&ada, "acme", &mut soft, &origin, &key, how).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
        assert!(page.body.contains(message), "{message}: {}", page.body);
        assert!(page.body.contains(r#"id="login-error""#));
        assert_eq!(
            ada.get("/t/acme/dashboard").await.status,
            StatusCode::SEE_OTHER,
            "nobody is signed in"
        );
    }
    let signed_in = sign_in(&ada, "acme", &mut soft, &origin, &key, Answer::default()).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert!(
        audit_text(&ada, "acme")
            .await
            .contains("Refused passkey sign-in for ada@acme.test: user not verified")
    );
}

#[tokio::test]
async fn a_challenge_is_answered_once() {
    let (app, origin) = portal(&[]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let mut soft = authenticator();
    let key = register(&ada, "acme", &mut soft, &origin, "Phone").await;
    ada.logout("acme").await;

    let (_, json) = options(&ada, "/t/acme/login", "/t/acme/login/passkey/options").await;
    let first =
        crate::common::soft_passkey::answer(&mut soft, &origin, json, &key, Answer::default());
    assert_eq!(
        sign_in_with(&ada, "acme", &first).await.status,
        StatusCode::SEE_OTHER
    );
    ada.logout("acme").await;

    // The same answer again: its challenge is gone.
    let replay = sign_in_with(&ada, "acme", &first).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(replay.body.contains("expired or was already used"));
    // Against a fresh challenge, the old answer does not fit.
    let (status, _) = options(&ada, "/t/acme/login", "/t/acme/login/passkey/options").await;
    assert_eq!(status, StatusCode::OK);
    let replay = sign_in_with(&ada, "acme", &first).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{}", replay.body);
    // And that challenge is used up too, though the answer was wrong.
    let (_, json) = options(&ada, "/t/acme/login", "/t/acme/login/passkey/options").await;
    let fresh =
        crate::common::soft_passkey::answer(&mut soft, &origin, json, &key, Answer::default());
    assert_eq!(
        sign_in_with(&ada, "acme", &fresh).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        sign_in_with(&ada, "acme", &fresh).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn a_passkey_of_one_organization_signs_nobody_into_another() {
    let (app, origin) = portal(&[]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let mut soft = authenticator();
    let key = register(&ada, "acme", &mut soft, &origin, "Phone").await;
    let gus = app.signup("Globex", "globex", "gus@globex.test").await;
    let stranger = app.visitor();

    let page = sign_in(
        &stranger,
        "globex",
        &mut soft,
        &origin,
        &key,
        Answer::default(),
    )
    .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    assert!(page.body.contains("not registered with this organization"));
    assert_eq!(
        stranger.get("/t/globex/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    assert!(
        audit_text(&gus, "globex")
            .await
            .contains("Refused passkey sign-in for (unknown passkey): unknown passkey")
    );
    // At home it still works.
    let home = sign_in(
        &stranger,
        "acme",
        &mut soft,
        &origin,
        &key,
        Answer::default(),
    )
    .await;
    assert_eq!(home.location.as_deref(), Some("/t/acme/dashboard"));
}

#[tokio::test]
async fn a_passkey_whose_counter_went_backwards_is_refused_and_audited() {
    let (app, origin) = portal(&[]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let mut soft = authenticator();
    let key = register(&ada, "acme", &mut soft, &origin, "Old key").await;
    // The stored count is ahead of the authenticator's: someone used a copy of it.
    execute(
        &app,
        "UPDATE tenant_acme.passkeys SET credential = jsonb_set(credential, '{cred,counter}', '1000')",
    );
    ada.logout("acme").await;
    let page = sign_in(&ada, "acme", &mut soft, &origin, &key, Answer::default()).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    assert!(
        page.body.contains("suggests it was copied"),
        "{}",
        page.body
    );
    let actions = app.query_strings("SELECT action AS v FROM tenant_acme.audit_log ORDER BY id");
    assert!(
        actions.iter().any(|a| a == "passkey.counter_refused"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn deactivated_people_and_organizations_without_passkey_sign_in_are_refused() {
    let (app, origin) = portal(&[]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let mut soft = authenticator();
    let key = register(&ada, "acme", &mut soft, &origin, "Phone").await;
    ada.logout("acme").await;

    execute(&app, "UPDATE tenant_acme.users SET status = 'deactivated'");
    let page = sign_in(&ada, "acme", &mut soft, &origin, &key, Answer::default()).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.body.contains("Your account is deactivated."));
    execute(&app, "UPDATE tenant_acme.users SET status = 'active'");

    // Back in, Ada turns passkey sign-in off for her organization.
    let page = sign_in(&ada, "acme", &mut soft, &origin, &key, Answer::default()).await;
    assert_eq!(page.location.as_deref(), Some("/t/acme/dashboard"));
    let settings = ada.get("/t/acme/settings").await.body;
    assert!(settings.contains(r#"id="passkey_sign_in" name="passkey_sign_in" value="on" checked"#));
    let saved = ada
        .submit(
            "/t/acme/settings",
            "/t/acme/settings",
            &[
                ("registration", "invite_only"),
                ("password_login", "on"),
                ("second_factor", "optional"),
                ("passkey_sign_in_shown", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert!(
        !ada.get("/t/acme/settings")
            .await
            .body
            .contains(r#"name="passkey_sign_in" value="on" checked"#)
    );
    ada.logout("acme").await;
    assert!(
        !ada.get("/t/acme/login")
            .await
            .body
            .contains("Sign in with a passkey")
    );
    let (status, json) = options(&ada, "/t/acme/login", "/t/acme/login/passkey/options").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        json["error"],
        "Signing in with a passkey alone is not available here."
    );
}

#[tokio::test]
async fn a_person_renames_and_removes_a_passkey() {
    let (app, origin) = portal(&[]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let mut soft = authenticator();
    let key = register(&ada, "acme", &mut soft, &origin, "Phone").await;
    let id = app.query_strings("SELECT id::text AS v FROM tenant_acme.passkeys")[0].clone();

    let rename = format!("{PROFILE}/passkeys/{id}/rename");
    let bad = ada.submit(PROFILE, &rename, &[("name", "  ")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body
            .contains("Give the passkey a name of 1 to 60 characters")
    );
    let renamed = ada.submit(PROFILE, &rename, &[("name", "Pixel 9")]).await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    assert!(ada.get(PROFILE).await.body.contains(">Pixel 9</strong>"));
    assert!(
        audit_text(&ada, "acme")
            .await
            .contains("renamed the passkey \"Phone\" to \"Pixel 9\"")
    );

    // Nobody else's passkey can be touched.
    let bea = app.signup("Bravo", "bravo", "bea@bravo.test").await;
    let other = format!("/t/bravo/profile/passkeys/{id}/remove");
    let page = bea
        .submit("/t/bravo/profile", &other, &[("confirm", "yes")])
        .await;
    // Bea has no second factor: her fresh confirmation is her password.
    let confirm = page.location.clone().unwrap_or_default();
    assert!(confirm.starts_with("/t/bravo/profile/confirm"), "{confirm}");
    let confirmed = bea
        .submit(
            &confirm,
            "/t/bravo/profile/confirm",
            &[
                ("password", crate::common::PASSWORD),
                ("next", other.as_str()),
            ],
        )
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    let page = bea
        .submit("/t/bravo/profile", &other, &[("confirm", "yes")])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    // Removing asks for a fresh confirmation first: a passkey will do.
    let remove = format!("{PROFILE}/passkeys/{id}/remove");
    let asked = ada.get(&remove).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    let confirm = asked.location.clone().unwrap_or_default();
    assert!(
        confirm.starts_with("/t/acme/profile/confirm?next="),
        "{confirm}"
    );
    assert!(ada.get(&confirm).await.body.contains("Use a passkey"));
    let (_, json) = options(&ada, &confirm, "/t/acme/profile/confirm/passkey/options").await;
    let answer =
        crate::common::soft_passkey::answer(&mut soft, &origin, json, &key, Answer::default());
    let confirmed = ada
        .submit(
            &confirm,
            "/t/acme/profile/confirm/passkey",
            &[("credential", answer.as_str()), ("next", remove.as_str())],
        )
        .await;
    assert_eq!(
        confirmed.location.as_deref(),
        Some(remove.as_str()),
        "{}",
        confirmed.body
    );
    let asked = ada.get(&remove).await;
    assert_asks(&asked, &remove, "remove this passkey");
    let removed = ada.answer_yes(&asked, &remove).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let profile = ada.get(PROFILE).await.body;
    assert!(profile.contains("You have no passkeys yet."));
    let mail = app
        .wait_for_mail("ada@acme.test", "A passkey was removed", 1)
        .await;
    assert!(mail.body.contains("\"Pixel 9\""));
    let audit = audit_text(&ada, "acme").await;
    assert!(audit.contains("removed the passkey \"Pixel 9\""));
    assert!(audit.contains("confirmed with the passkey \"Pixel 9\" (confirmation)"));
    // With its last factor went the recovery codes.
    assert!(
        app.query_strings("SELECT id::text AS v FROM tenant_acme.recovery_codes")
            .is_empty()
    );
}

#[tokio::test]
async fn forms_without_an_answer_and_portals_without_a_domain_name_are_told_so() {
    let (app, _) = portal(&[]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    // A browser without scripts posts the form as it is.
    let page = ada
        .submit(PROFILE, "/t/acme/profile/passkeys", &[("name", "Laptop")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("Your browser did not send a passkey."));

    // At an IP address there are no passkeys at all.
    let plain = TestApp::spawn().await;
    let bob = plain.signup("Acme", "acme", "bob@acme.test").await;
    assert!(!bob.get(PROFILE).await.body.contains("Passkeys"));
    bob.logout("acme").await;
    assert!(
        !bob.get("/t/acme/login")
            .await
            .body
            .contains("Sign in with a passkey")
    );
    let (status, _) = options(&bob, "/t/acme/login", "/t/acme/login/passkey/options").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
