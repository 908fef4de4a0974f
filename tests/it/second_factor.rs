//! A person adds an authenticator app, signs in with its codes (each accepted once),
//! falls back on a recovery code, and locks their sign-in by guessing codes just as
//! by guessing passwords.

use reqwest::StatusCode;

use crate::common::factors::{code, enroll, recovery_codes_on, secret_on};
use crate::common::{PASSWORD, TestApp, Visitor};

const STEP: &str = "/t/acme/login/second-factor";

/// Signs in with the password; the answer is the way to the second step.
async fn password_step(app: &TestApp, email: &str) -> Visitor {
    let v = app.visitor();
    let p = v.login("acme", email, PASSWORD).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some(STEP));
    v
}

async fn give(v: &Visitor, method: &str, code: &str) -> crate::common::Page {
    v.submit(STEP, STEP, &[("method", method), ("code", code)])
        .await
}

#[tokio::test]
async fn an_app_is_added_with_a_first_code_and_then_asked_for_after_the_password() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;

    // The enrollment page shows the secret as text and as a QR code.
    let page = ada.get("/t/acme/profile/authenticator").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<svg role=\"img\""), "{}", page.body);
    let secret = secret_on(&page);
    // A reload shows the same secret: a scan is not undone.
    assert_eq!(
        secret_on(&ada.get("/t/acme/profile/authenticator").await),
        secret
    );

    // A wrong first code does not turn it on.
    let wrong = ada
        .submit(
            "/t/acme/profile/authenticator",
            "/t/acme/profile/authenticator",
            &[("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("That code is not right"));
    let profile = ada.get("/t/acme/profile").await;
    assert!(profile.body.contains("id=\"add-totp\""), "still off");

    // The right one does, and the recovery codes are shown once.
    let first = code(&secret, 0);
    let on = ada
        .submit(
            "/t/acme/profile/authenticator",
            "/t/acme/profile/authenticator",
            &[("code", &first)],
        )
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER, "{}", on.body);
    let to = on.location.unwrap();
    assert!(to.starts_with("/t/acme/profile/recovery-codes"), "{to}");
    let codes = recovery_codes_on(&ada.get(&to).await);
    assert_eq!(codes.len(), 10);
    let again = ada.get(&to).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "shown once only");
    let profile = ada.get("/t/acme/profile").await;
    assert!(profile.body.contains("id=\"totp-on\""));
    assert!(profile.body.contains("10 of 10 left"));
    app.wait_for_mail("ada@acme.test", "A second factor was added", 1)
        .await;
    ada.logout("acme").await;

    // The password alone signs nobody in.
    let v = password_step(&app, "ada@acme.test").await;
    assert_eq!(
        v.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    let step = v.get(STEP).await;
    assert!(step.body.contains("Code from your authenticator app"));

    // The code that confirmed the app was used already: refused.
    let replay = give(&v, "totp", &first).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "{}", replay.body);
    assert!(replay.body.contains("already used"));
    // The next code of the app signs in.
    let next = code(&secret, 1);
    let done = give(&v, "totp", &next).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/t/acme/dashboard"));
    assert_eq!(v.get("/t/acme/dashboard").await.status, StatusCode::OK);

    // And that code, too, works once: another browser cannot use it again.
    let other = password_step(&app, "ada@acme.test").await;
    let replay = give(&other, "totp", &next).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);

    let audit = v.get("/t/acme/audit").await.body;
    assert!(audit.contains("added an authenticator app"), "{audit}");
    assert!(audit.contains("signed in with their password and an authenticator app code"));
    assert!(audit.contains("A wrong authenticator app code was refused for ada@acme.test"));
}

#[tokio::test]
async fn wrong_codes_count_toward_the_lockout_like_wrong_passwords() {
    let app = TestApp::spawn_with(&[("AUTH_MAX_FAILED_ATTEMPTS", "3")]).await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let (secret, _) = enroll(&ada, "acme").await;
    ada.logout("acme").await;

    // One wrong password, then two wrong codes: the third failure locks the address.
    let v = app.visitor();
    let p = v
        .login("acme", "ada@acme.test", "Wrong-Guess-Number-1")
        .await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    let v = password_step(&app, "ada@acme.test").await;
    assert_eq!(
        give(&v, "totp", "123456").await.status,
        StatusCode::UNAUTHORIZED
    );
    let locked = give(&v, "totp", "654321").await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    assert!(locked.headers.contains_key("retry-after"));
    assert!(locked.body.contains("sign-in for this account is paused"));

    // The step is over: the password is asked again, and is refused while paused.
    let gone = v.get(STEP).await;
    assert_eq!(gone.location.as_deref(), Some("/t/acme/login?again=1"));
    let p = v.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        v.get("/t/acme/dashboard").await.status,
        StatusCode::SEE_OTHER
    );
    let refused: Vec<String> = app.query_strings(
        "SELECT action AS v FROM tenant_acme.audit_log WHERE action IN \
         ('second_factor.refused', 'account.locked') ORDER BY id",
    );
    assert_eq!(
        refused,
        [
            "second_factor.refused",
            "second_factor.refused",
            "account.locked"
        ]
    );
    // Once the pause is lifted, the right password and a right code sign in.
    app.query_strings("DELETE FROM tenant_acme.login_throttle RETURNING email AS v");
    let v = password_step(&app, "ada@acme.test").await;
    let right = give(&v, "totp", &code(&secret, 1)).await;
    assert_eq!(right.location.as_deref(), Some("/t/acme/dashboard"));
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_the_person_is_told() {
    let app = TestApp::spawn().await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    let (_, codes) = enroll(&ada, "acme").await;
    ada.logout("acme").await;

    let v = password_step(&app, "ada@acme.test").await;
    // Typed loosely (capitals, a space for the dash), it is the same code.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let done = give(&v, "recovery_code", &typed).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(v.get("/t/acme/dashboard").await.status, StatusCode::OK);
    let mail = app
        .wait_for_mail("ada@acme.test", "A recovery code was used", 1)
        .await;
    assert!(
        mail.body.contains("9 of your recovery codes are left"),
        "{}",
        mail.body
    );
    assert!(!mail.body.contains(&codes[3]));
    assert!(v.get("/t/acme/profile").await.body.contains("9 of 10 left"));
    // New codes (the sign-in just passed counts as a fresh confirmation): the old
    // ones die.
    let renew = "/t/acme/profile/recovery-codes/new";
    let q = v.get(renew).await;
    assert!(q.body.contains("make new recovery codes"), "{}", q.body);
    let made = v.answer_yes(&q, renew).await;
    assert_eq!(
        made.location.as_deref(),
        Some("/t/acme/profile/recovery-codes")
    );
    let fresh = recovery_codes_on(&v.get("/t/acme/profile/recovery-codes").await);
    assert_eq!(fresh.len(), 10);
    assert!(!fresh.contains(&codes[4]));
    assert!(
        v.get("/t/acme/profile")
            .await
            .body
            .contains("10 of 10 left")
    );
    v.logout("acme").await;

    let again = password_step(&app, "ada@acme.test").await;
    let refused = give(&again, "recovery_code", &codes[3]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.contains("not right or was already used"));
    let old = give(&again, "recovery_code", &codes[4]).await;
    assert_eq!(
        old.status,
        StatusCode::UNAUTHORIZED,
        "replaced by the new set"
    );
    let audit = app.query_strings(
        "SELECT action AS v FROM tenant_acme.audit_log WHERE action IN \
         ('recovery_code.used', 'recovery_codes.regenerated') ORDER BY id",
    );
    assert_eq!(audit, ["recovery_code.used", "recovery_codes.regenerated"]);
}

#[tokio::test]
async fn the_second_step_is_short_lived_and_bound_to_its_organization() {
    // Attempts end the step before they would lock the address.
    let app = TestApp::spawn_with(&[
        ("AUTH_MAX_FAILED_ATTEMPTS", "20"),
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "100"),
    ])
    .await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    enroll(&ada, "acme").await;
    ada.logout("acme").await;
    app.signup("Bobco", "bobco", "bob@bobco.test").await;

    let v = password_step(&app, "ada@acme.test").await;
    // Another organization's step page knows nothing of it.
    let other = v.get("/t/bobco/login/second-factor").await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    assert_eq!(other.location.as_deref(), Some("/t/bobco/login?again=1"));
    // Five wrong codes end it: the password is asked again.
    for _ in 0..4 {
        assert_eq!(
            give(&v, "totp", "111111").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let fifth = give(&v, "totp", "111111").await;
    assert_eq!(fifth.location.as_deref(), Some("/t/acme/login?again=1"));
    let login = v.get("/t/acme/login?again=1").await;
    assert!(login.body.contains("Please sign in again"));
    // An unknown method is a clear 400.
    let v = password_step(&app, "ada@acme.test").await;
    let bad = give(&v, "sms", "123456").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn codes_count_toward_the_sign_in_rate_limit() {
    let app = TestApp::spawn_with(&[
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "4"),
        ("AUTH_MAX_FAILED_ATTEMPTS", "100"),
    ])
    .await;
    let ada = app.signup("Acme", "acme", "ada@acme.test").await;
    enroll(&ada, "acme").await;
    ada.logout("acme").await;
    let v = password_step(&app, "ada@acme.test").await;
    let mut limited = None;
    for attempt in 0..10 {
        let p = give(&v, "totp", "123456").await;
        if p.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((attempt, p));
            break;
        }
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    }
    let (attempt, page) = limited.expect("the limit stops guessing");
    assert!(attempt <= 4, "after {attempt} codes");
    assert!(page.headers.contains_key("retry-after"));
}
