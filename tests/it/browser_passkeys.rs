//! Passkeys in a real browser: Chromium with a virtual authenticator (WebDriver's
//! WebAuthn extension). A person adds a passkey on their profile, signs out and signs
//! in with it alone; an authenticator that cannot verify its user is refused with a
//! clear message. The passkey pages pass axe-core and are photographed at desktop and
//! phone widths (`<target>/screenshots/passkeys-*.png`).

use std::path::PathBuf;

use fantoccini::{Client, Locator};

use crate::common::browser::{Driver, click, fill, text, wait_for_path};
use crate::common::{PASSWORD, soft_passkey};

const WIDTHS: [(u32, u32); 2] = [(1280, 800), (390, 844)];

/// Signs in with the password in the browser.
async fn password_sign_in(b: &Client, base: &str) {
    b.goto(&format!("{base}/t/acme/login")).await.unwrap();
    fill(b, "#email", "ada@acme.test").await;
    fill(b, "#password", PASSWORD).await;
    click(
        b,
        Locator::Css("form[action$='/login'] button[type=submit]"),
    )
    .await;
    wait_for_path(b, "/t/acme/dashboard").await;
}

/// Screenshots of the page at both widths (scrolled to `part`), and the serious or
/// critical problems axe-core finds at each.
async fn look_at(b: &Client, name: &str, part: &str) -> Vec<String> {
    let axe_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/axe/node_modules/axe-core/axe.min.js");
    let axe = std::fs::read_to_string(&axe_path)
        .unwrap_or_else(|_| panic!("{} (scripts/test installs it)", axe_path.display()));
    let shots = std::env::current_exe()
        .ok()
        .and_then(|p| p.ancestors().nth(3).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut problems = Vec::new();
    for (w, h) in WIDTHS {
        b.set_window_size(w, h).await.unwrap();
        b.execute(&format!("{axe}\nreturn true;"), vec![])
            .await
            .unwrap();
        let found = b
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] }).then(r => done(
                   r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ': ' + v.help)), e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .unwrap();
        let found: Vec<String> = serde_json::from_value(found).unwrap_or_default();
        problems.extend(found.into_iter().map(|v| format!("{name} at {w}px: {v}")));
        let wide = b
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth",
                vec![],
            )
            .await
            .unwrap();
        if wide == serde_json::Value::Bool(true) {
            problems.push(format!("{name} at {w}px scrolls sideways"));
        }
        b.execute(
            "document.querySelector(arguments[0]).scrollIntoView()",
            vec![serde_json::json!(part)],
        )
        .await
        .unwrap();
        let png = b.screenshot().await.unwrap();
        std::fs::write(shots.join(format!("passkeys-{name}-{w}.png")), png).unwrap();
    }
    b.set_window_size(1280, 900).await.unwrap();
    problems
}

/// Waits until the passkey status line says something, and returns it.
async fn status_text(b: &Client) -> String {
    for _ in 0..100 {
        let said = text(b, "#passkey-status").await;
        if !said.is_empty() && !said.starts_with("Follow your browser") {
            return said;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the page never said what happened");
}

#[tokio::test]
async fn a_person_adds_a_passkey_in_the_browser_and_signs_in_with_it_alone() {
    let (app, origin) = soft_passkey::portal(&[]).await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let base = origin.as_str().trim_end_matches('/').to_string();
    let driver = Driver::start();
    let b = driver.browser().await;
    driver.add_authenticator(&b, true).await;
    password_sign_in(&b, &base).await;

    b.goto(&format!("{base}/t/acme/profile")).await.unwrap();
    assert_eq!(text(&b, "#no-passkeys").await, "You have no passkeys yet.");
    fill(&b, "#passkey_name", "This laptop").await;
    click(&b, Locator::Css("#passkey-add button[type=submit]")).await;
    // A first second factor comes with recovery codes, shown once.
    wait_for_path(&b, "/t/acme/profile/recovery-codes").await;
    click(&b, Locator::Id("codes-saved")).await;
    wait_for_path(&b, "/t/acme/profile").await;
    assert_eq!(
        text(&b, "#profile-notice").await,
        "Your passkey \"This laptop\" is added."
    );
    assert_eq!(text(&b, ".passkey-name").await, "This laptop");
    let mut problems = look_at(&b, "profile", "#passkeys-section").await;
    problems.extend(look_at(&b, "profile-factors", "#second-factors").await);

    click(&b, Locator::Css("#sign-out button")).await;
    wait_for_path(&b, "/t/acme/login").await;
    problems.extend(look_at(&b, "login", "#passkey-login").await);
    click(&b, Locator::Id("passkey-button")).await;
    wait_for_path(&b, "/t/acme/dashboard").await;
    assert_eq!(text(&b, "#whoami-name").await, "Ada Lovelace");

    // With the password, the passkey is the second step.
    click(&b, Locator::Css("#sign-out button")).await;
    wait_for_path(&b, "/t/acme/login").await;
    fill(&b, "#email", "ada@acme.test").await;
    fill(&b, "#password", PASSWORD).await;
    click(
        &b,
        Locator::Css("form[action$='/login'] button[type=submit]"),
    )
    .await;
    wait_for_path(&b, "/t/acme/login/second-factor").await;
    problems.extend(look_at(&b, "second-step", "#passkey-step").await);
    click(&b, Locator::Id("passkey-button")).await;
    wait_for_path(&b, "/t/acme/dashboard").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn an_authenticator_that_cannot_verify_its_user_is_refused_with_a_clear_message() {
    let (app, origin) = soft_passkey::portal(&[]).await;
    app.signup("Acme", "acme", "ada@acme.test").await;
    let base = origin.as_str().trim_end_matches('/').to_string();
    let driver = Driver::start();
    let b = driver.browser().await;
    // No PIN, no fingerprint: it can only show that someone touched it.
    driver.add_authenticator(&b, false).await;
    password_sign_in(&b, &base).await;

    b.goto(&format!("{base}/t/acme/profile")).await.unwrap();
    fill(&b, "#passkey_name", "Cheap key").await;
    b.find(Locator::Css("#passkey-add button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let said = status_text(&b).await;
    assert!(said.contains("could not confirm it is you"), "{said}");
    assert_eq!(text(&b, "#no-passkeys").await, "You have no passkeys yet.");
    let problems = look_at(&b, "profile-refused", "#passkeys-section").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        app.query_strings("SELECT name AS v FROM tenant_acme.passkeys")
            .is_empty()
    );
}
