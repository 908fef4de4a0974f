//! Single sign-on test support: the real OpenID Provider in `tests/oidc-provider`
//! (node + oidc-provider), and a client that walks redirects across the portal and
//! the provider the way a browser does.

use std::{
    path::PathBuf,
    process::{Child, Command},
    time::Duration,
};

use reqwest::StatusCode;

use crate::common::{Page, TestApp, Visitor, free_port, start_on_free_port};

/// The tenant the provider's groups name.
pub const SLUG: &str = "acme";

/// The test OpenID Provider, stopped when dropped.
pub struct TestProvider {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The client secret it was started with.
    pub client_secret: String,
    child: Child,
}

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider")
}

impl TestProvider {
    /// Starts `node server.js` on a free port for a portal at `portal_base_url`. Node
    /// starts slowly on a loaded machine, and another process may take the port first
    /// (even another test's provider, which a mere connect would mistake for this
    /// one): the provider counts as started once it says on its own output that it
    /// listens, and one that exits is started again on another port.
    pub fn start(portal_base_url: &str) -> TestProvider {
        let dir = provider_dir();
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "run `npm ci` in tests/oidc-provider first (scripts/test does)"
        );
        let client_secret = format!("secret-{}", uuid::Uuid::new_v4().simple());
        let (child, port) = start_on_free_port(
            "the test OpenID Provider (node)",
            |port| {
                let mut node =
                    Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()));
                node.arg("server.js")
                    .current_dir(&dir)
                    .env("PORT", port.to_string())
                    .env("PORTAL_BASE_URL", portal_base_url)
                    .env("CLIENT_ID", "tenant-portal")
                    .env("CLIENT_SECRET", &client_secret)
                    .env("TENANT_SLUG", SLUG);
                node
            },
            "test OpenID Provider at ",
            Duration::from_secs(60),
        );
        TestProvider {
            port,
            client_secret,
            child,
        }
    }

    /// Its issuer, Authentik style (trailing slash).
    pub fn issuer(&self) -> String {
        format!(
            "http://127.0.0.1:{}/application/o/tenant-portal/",
            self.port
        )
    }

    /// Changes a person at the provider (name, email, groups, email_verified).
    pub async fn set_user(&self, login: &str, change: serde_json::Value) {
        let res = reqwest::Client::new()
            .put(format!(
                "http://127.0.0.1:{}/__test/users/{login}",
                self.port
            ))
            .json(&change)
            .send()
            .await
            .expect("provider control");
        assert!(res.status().is_success());
    }

    /// A JWT access token for a person, signed with the provider's published key.
    pub async fn jwt_of(&self, login: &str) -> String {
        reqwest::get(format!("http://127.0.0.1:{}/__test/jwt/{login}", self.port))
            .await
            .expect("provider control")
            .error_for_status()
            .expect("a known person")
            .text()
            .await
            .expect("a token")
    }

    /// The provider's `sub` of a person.
    pub async fn sub_of(&self, login: &str) -> String {
        let all: serde_json::Value =
            reqwest::get(format!("http://127.0.0.1:{}/__test/users", self.port))
                .await
                .expect("provider users")
                .json()
                .await
                .expect("json");
        all[login]["sub"].as_str().expect("sub").to_string()
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A portal (with organization `acme`, signed up by ada@acme.test) wired to a fresh
/// test provider.
pub async fn portal_with_provider(extra: &[(&str, &str)]) -> (TestApp, TestProvider) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let op = TestProvider::start(&base);
    let bind = format!("127.0.0.1:{port}");
    let issuer = op.issuer();
    let mut vars: Vec<(&str, &str)> = vec![
        ("PORTAL_BIND", &bind),
        ("PORTAL_BASE_URL", &base),
        ("OIDC_ISSUER_URL", &issuer),
        ("OIDC_CLIENT_ID", "tenant-portal"),
        ("OIDC_CLIENT_SECRET", &op.client_secret),
    ];
    vars.extend_from_slice(extra);
    let app = TestApp::spawn_with(&vars).await;
    app.signup("Acme", SLUG, "ada@acme.test").await;
    (app, op)
}

/// GET of an absolute URL, no redirect followed.
pub async fn get_abs(v: &Visitor, url: &str) -> Page {
    Visitor::page(v.http.get(url).send().await.expect("GET")).await
}

/// POST of a form to an absolute URL, no redirect followed.
pub async fn post_abs(v: &Visitor, url: &str, form: &[(&str, &str)]) -> Page {
    Visitor::page(v.http.post(url).form(form).send().await.expect("POST")).await
}

/// Resolves a `Location` against the URL that sent it.
pub fn resolve(base: &str, location: &str) -> String {
    url::Url::parse(base)
        .and_then(|b| b.join(location))
        .expect("valid redirect")
        .to_string()
}

/// Follows redirects from `url` until a page that is not a redirect, or until the next
/// URL would be one `stop` accepts (returned unvisited). Returns the last URL and page.
pub async fn follow(
    v: &Visitor,
    mut url: String,
    stop: impl Fn(&str) -> bool,
) -> (String, Option<Page>) {
    for _ in 0..20 {
        if stop(&url) {
            return (url, None);
        }
        let page = get_abs(v, &url).await;
        match (&page.location, page.status.is_redirection()) {
            (Some(loc), true) => url = resolve(&url, loc),
            _ => return (url, Some(page)),
        }
    }
    panic!("too many redirects");
}

/// Where a sign-in through the provider came back to the portal.
pub struct Callback {
    /// The callback URL the provider sent the browser to.
    pub url: String,
    /// The portal's answer to it.
    pub page: Page,
}

/// Starts SSO at the portal, signs in at the provider as `login`, and returns the
/// portal's answer to the callback.
pub async fn sso_sign_in(app: &TestApp, v: &Visitor, login: &str) -> Callback {
    sso_sign_in_from(app, v, login, &format!("/t/{SLUG}/sso")).await
}

/// As [`sso_sign_in`], starting from the portal page `path` that sends to the provider.
pub async fn sso_sign_in_from(app: &TestApp, v: &Visitor, login: &str, path: &str) -> Callback {
    let start = format!("{}{path}", app.address);
    let is_callback = |u: &str| u.contains("/auth/oidc/callback");
    let (url, page) = follow(v, start, is_callback).await;
    let url = match page {
        None => url,
        Some(form) => {
            assert_eq!(form.status, StatusCode::OK, "{}", form.body);
            assert!(form.body.contains("login-form"), "{}", form.body);
            let action = resolve(
                &url,
                &format!("/interaction/{}/login", interaction_uid(&url)),
            );
            let sent = post_abs(v, &action, &[("login", login)]).await;
            assert!(sent.status.is_redirection(), "{}", sent.body);
            let next = resolve(&action, sent.location.as_deref().expect("location"));
            let (url, page) = follow(v, next, is_callback).await;
            assert!(
                page.is_none(),
                "provider did not come back: {:?}",
                page.map(|p| p.body)
            );
            url
        }
    };
    let page = get_abs(v, &url).await;
    Callback { url, page }
}

fn interaction_uid(url: &str) -> String {
    url.rsplit("/interaction/")
        .next()
        .and_then(|rest| rest.split(['/', '?']).next())
        .expect("interaction URL")
        .to_string()
}
