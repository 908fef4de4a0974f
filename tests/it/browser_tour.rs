//! Every page a person can reach, walked in one real browser at desktop (1280×800) and
//! phone (390×844) widths: the navigation is there and leads where it says, no page
//! scrolls sideways on a phone, and axe-core finds no serious or critical problem.
//! Screenshots of each page at both widths land in `<target>/screenshots/` for people
//! to look at.

use std::path::PathBuf;

use fantoccini::{Client, Locator};

use crate::common::browser::{Driver, click, fill, submit, text, wait_for_path};
use crate::common::factors::code;
use crate::common::{PASSWORD, TestApp};

const WIDTHS: [(u32, u32); 2] = [(1280, 800), (390, 844)];

/// What a page's frame should offer.
#[derive(Clone, Copy, PartialEq)]
enum Frame {
    /// Signed out: no organization navigation.
    Public,
    /// A member: the organization navigation with the dashboard only.
    Member,
    /// An admin: every section.
    Admin,
    /// The platform pages.
    Platform,
}

struct Tour {
    b: Client,
    base: String,
    axe: String,
    shots: PathBuf,
    problems: Vec<String>,
}

impl Tour {
    async fn new(b: Client, base: &str) -> Tour {
        let axe_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/axe/node_modules/axe-core/axe.min.js");
        let axe = std::fs::read_to_string(&axe_path)
            .unwrap_or_else(|_| panic!("{} (scripts/test installs it)", axe_path.display()));
        // The test binary lives in <target>/debug/deps.
        let target = std::env::current_exe()
            .ok()
            .and_then(|p| p.ancestors().nth(3).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("target"));
        let shots = target.join("screenshots");
        std::fs::create_dir_all(&shots).expect("screenshot folder");
        Tour {
            b,
            base: base.to_string(),
            axe,
            shots,
            problems: Vec::new(),
        }
    }

    /// Opens `path` and checks it at both widths.
    async fn visit(&mut self, path: &str, name: &str, frame: Frame) {
        self.b
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("open page");
        self.check(name, frame).await;
    }

    /// Checks the page the browser shows now, at both widths.
    async fn check(&mut self, name: &str, frame: Frame) {
        for (w, h) in WIDTHS {
            self.b.set_window_size(w, h).await.expect("resize");
            let inner: i64 = self.js("return window.innerWidth").await;
            let wide: i64 = self
                .js("return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
                .await;
            if wide > inner {
                self.problems.push(format!(
                    "{name} at {w}px: the page is {wide}px wide in a {inner}px window"
                ));
            }
            let violations = self.axe().await;
            for v in violations {
                self.problems.push(format!("{name} at {w}px: axe: {v}"));
            }
            let png = self.b.screenshot().await.expect("screenshot");
            let _ = std::fs::write(self.shots.join(format!("{name}-{w}.png")), png);
        }
        self.b.set_window_size(1280, 800).await.expect("resize");
        self.check_frame(name, frame).await;
    }

    /// Screenshots of one part of the page (below the fold) at both widths, for people
    /// to look at; the page itself is checked by [`Tour::check`].
    async fn shoot_part(&mut self, name: &str, css: &str) {
        for (w, h) in WIDTHS {
            self.b.set_window_size(w, h).await.expect("resize");
            let found: bool = self
                .js(&format!(
                    "const e = document.querySelector('{css}'); if (e) {{ e.scrollIntoView(); }} return !!e;"
                ))
                .await;
            if !found {
                self.problems.push(format!("{name}: no {css} on the page"));
            }
            let png = self.b.screenshot().await.expect("screenshot");
            let _ = std::fs::write(self.shots.join(format!("{name}-{w}.png")), png);
        }
        self.b.set_window_size(1280, 800).await.expect("resize");
    }

    async fn check_frame(&mut self, name: &str, frame: Frame) {
        let links: Vec<String> = self
            .js::<Vec<String>>(
                "return [...document.querySelectorAll('nav.sections a')].map(a => a.textContent.trim())",
            )
            .await;
        let expected: &[&str] = match frame {
            Frame::Public => &[],
            Frame::Member => &["Dashboard"],
            Frame::Admin => &[
                "Dashboard",
                "Members",
                "Audit log",
                "Settings",
                "Sign-in security",
            ],
            Frame::Platform => &["Organizations", "Connections", "Platform audit log"],
        };
        if links != expected {
            self.problems.push(format!(
                "{name}: navigation {links:?}, expected {expected:?}"
            ));
        }
        let sign_out: bool = self
            .js("return !!document.querySelector('#sign-out button')")
            .await;
        if sign_out != (frame != Frame::Public) {
            self.problems
                .push(format!("{name}: sign-out button present: {sign_out}"));
        }
    }

    async fn js<T: serde::de::DeserializeOwned>(&self, script: &str) -> T {
        let v = self.b.execute(script, vec![]).await.expect(script);
        serde_json::from_value(v).expect(script)
    }

    /// The serious and critical problems axe-core finds on the page.
    async fn axe(&self) -> Vec<String> {
        // WebDriver scripts are not subject to the page's Content-Security-Policy.
        self.b
            .execute(&format!("{}\nreturn true;", self.axe), vec![])
            .await
            .expect("inject axe-core");
        let found = self
            .b
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] }).then(r => done(
                   r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at '
                       + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))
                 ), e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("run axe-core");
        serde_json::from_value(found).unwrap_or_default()
    }

    fn finish(self) {
        assert!(
            self.problems.is_empty(),
            "{} problem(s):\n{}\n(screenshots in {})",
            self.problems.len(),
            self.problems.join("\n"),
            self.shots.display()
        );
    }
}

#[tokio::test]
async fn every_page_has_its_navigation_fits_a_phone_and_passes_axe() {
    let app = TestApp::spawn().await;
    let admin = app.signup("Acme Logistics", "acme", "ada@acme.test").await;
    admin
        .submit(
            "/t/acme/members",
            "/t/acme/members/invite",
            &[("email", "mia@acme.test"), ("role", "member")],
        )
        .await;
    admin
        .submit(
            "/t/acme/members",
            "/t/acme/members/invite",
            &[
                (
                    "email",
                    "a-rather-long-address-for-a-phone@subsidiary.acme.test",
                ),
                ("role", "staff"),
            ],
        )
        .await;
    let driver = Driver::start();
    let mut t = Tour::new(driver.browser().await, &app.address).await;

    // Signed out.
    t.visit("/", "landing", Frame::Public).await;
    t.visit("/signup", "signup", Frame::Public).await;
    t.visit("/t/acme/login", "login", Frame::Public).await;
    t.visit("/t/acme/password/forgot", "forgot", Frame::Public)
        .await;
    t.visit("/t/acme/register", "register", Frame::Public).await;
    t.visit("/no-such-page", "not-found", Frame::Public).await;
    t.visit("/admin/login", "admin-login", Frame::Public).await;

    // A member joins through their invitation and sees their own pages.
    let mail = app.wait_for_mail("mia@acme.test", "invited", 1).await;
    t.visit(&mail.link("/invitations/"), "invitation", Frame::Public)
        .await;
    fill(&t.b, "#name", "Mia Wong").await;
    fill(&t.b, "#password", PASSWORD).await;
    submit(&t.b).await;
    wait_for_path(&t.b, "/t/acme/dashboard").await;
    t.check("member-dashboard", Frame::Member).await;
    // Their own browser, named, marked as this device.
    let devices = text(&t.b, "#devices").await;
    assert!(
        devices.contains("Chrome on Linux") && devices.to_lowercase().contains("this device"),
        "{devices}"
    );
    t.visit("/t/acme/profile", "member-profile", Frame::Member)
        .await;
    // A page only admins may open: refused, inside the member's own frame.
    t.visit("/t/acme/members", "member-refused", Frame::Member)
        .await;
    assert_eq!(text(&t.b, "#error-title").await, "Not allowed");
    click(&t.b, Locator::Id("back-to-dashboard")).await;
    wait_for_path(&t.b, "/t/acme/dashboard").await;
    click(&t.b, Locator::Css("#sign-out button")).await;
    wait_for_path(&t.b, "/t/acme/login").await;

    // The admin: every section, reached through the navigation.
    fill(&t.b, "#email", "ada@acme.test").await;
    fill(&t.b, "#password", PASSWORD).await;
    submit(&t.b).await;
    wait_for_path(&t.b, "/t/acme/dashboard").await;
    t.check("dashboard", Frame::Admin).await;
    // A new organization's first steps, with the full sign-in address to copy.
    let url: String = t
        .js("return document.getElementById('sign-in-url').value")
        .await;
    assert!(
        url.starts_with("http") && url.ends_with("/t/acme/login"),
        "{url}"
    );
    let copy_shown: bool = t
        .js("return !document.querySelector('button[data-copy]').hidden")
        .await;
    assert!(
        copy_shown,
        "the copy button appears where the clipboard works"
    );
    for (label, path, name) in [
        ("Members", "/t/acme/members", "members"),
        ("Audit log", "/t/acme/audit", "audit"),
        ("Settings", "/t/acme/settings", "settings"),
        ("Sign-in security", "/t/acme/security", "security"),
        ("Dashboard", "/t/acme/dashboard", "dashboard-again"),
    ] {
        click(
            &t.b,
            Locator::Css(&format!("nav.sections a[href='{path}']")),
        )
        .await;
        wait_for_path(&t.b, path).await;
        let current = text(&t.b, "nav.sections a[aria-current=page]").await;
        assert_eq!(current, label, "the current section is marked");
        if name != "dashboard-again" {
            t.check(name, Frame::Admin).await;
        }
    }
    click(&t.b, Locator::Id("user-menu-profile")).await;
    wait_for_path(&t.b, "/t/acme/profile").await;
    t.check("profile", Frame::Admin).await;
    t.visit("/t/acme/no-such-page", "tenant-not-found", Frame::Admin)
        .await;
    assert_eq!(text(&t.b, "#error-title").await, "Page not found");

    // Destructive actions ask once, naming what follows; the last-admin rule is shown
    // before anyone tries.
    t.b.goto(&format!("{}/t/acme/members", app.address))
        .await
        .unwrap();
    assert!(text(&t.b, "#sole-admin-rule").await.contains("only admin"));
    let row = "#members tr[data-email='mia@acme.test']";
    t.b.find(Locator::Css(&format!("{row} details.confirm summary")))
        .await
        .expect("Deactivate…")
        .click()
        .await
        .unwrap();
    let asked = text(&t.b, &format!("{row} .confirm-panel")).await;
    assert!(asked.contains("signed out everywhere"), "{asked}");
    assert_eq!(
        app.query_strings(
            "SELECT status::text AS v FROM tenant_acme.users WHERE email = 'mia@acme.test'"
        ),
        ["active"],
        "opening the question changes nothing"
    );
    t.check("members-confirm", Frame::Admin).await;
    click(&t.b, Locator::Css(&format!("{row} .confirm-panel button"))).await;
    assert!(
        text(&t.b, "#members-notice")
            .await
            .contains("mia@acme.test is deactivated")
    );

    // The audit log reads as sentences.
    t.b.goto(&format!("{}/t/acme/audit", app.address))
        .await
        .unwrap();
    let log = text(&t.b, "#audit").await;
    assert!(
        log.contains("ada@acme.test invited mia@acme.test as member"),
        "{log}"
    );
    assert!(
        log.contains("mia@acme.test accepted an invitation and joined"),
        "{log}"
    );
    assert!(
        !log.contains("invitation.sent"),
        "raw codes stay in the details: {log}"
    );

    // Second factors: an authenticator app added from the profile, its recovery codes
    // shown once, the fresh confirmation, and the second step of the next sign-in.
    t.visit(
        "/t/acme/profile/authenticator",
        "authenticator",
        Frame::Admin,
    )
    .await;
    let secret: String = text(&t.b, "#totp-secret")
        .await
        .split_whitespace()
        .collect();
    fill(&t.b, "#first-code", &code(&secret, 0)).await;
    submit(&t.b).await;
    wait_for_path(&t.b, "/t/acme/profile/recovery-codes").await;
    t.check("recovery-codes", Frame::Admin).await;
    click(&t.b, Locator::Id("codes-saved")).await;
    wait_for_path(&t.b, "/t/acme/profile").await;
    t.check("profile-with-factors", Frame::Admin).await;
    t.shoot_part("profile-factors-part", "#second-factors")
        .await;
    t.visit("/t/acme/members", "members-with-factors", Frame::Admin)
        .await;
    t.shoot_part("members-factors-part", "#members").await;
    t.visit(
        "/t/acme/profile/confirm?next=%2Ft%2Facme%2Fprofile",
        "step-up",
        Frame::Admin,
    )
    .await;
    click(&t.b, Locator::Css("#sign-out button")).await;
    wait_for_path(&t.b, "/t/acme/login").await;
    fill(&t.b, "#email", "ada@acme.test").await;
    fill(&t.b, "#password", PASSWORD).await;
    submit(&t.b).await;
    wait_for_path(&t.b, "/t/acme/login/second-factor").await;
    t.check("second-factor", Frame::Public).await;
    fill(&t.b, "#totp-code", &code(&secret, 1)).await;
    submit(&t.b).await;
    wait_for_path(&t.b, "/t/acme/dashboard").await;
    // An organization that requires a second factor: someone without one adds it
    // right after the password.
    app.signup("Beta Freight", "beta", "bo@beta.test").await;
    app.query_strings(
        "UPDATE tenant_beta.tenant_settings SET second_factor = 'everyone' \
         RETURNING second_factor AS v",
    );
    t.b.goto(&format!("{}/t/beta/login", app.address))
        .await
        .unwrap();
    fill(&t.b, "#email", "bo@beta.test").await;
    fill(&t.b, "#password", PASSWORD).await;
    submit(&t.b).await;
    wait_for_path(&t.b, "/t/beta/login/enroll").await;
    t.check("enroll-at-sign-in", Frame::Public).await;

    // The platform pages.
    app.query_strings(
        "INSERT INTO public.platform_admins (email, name, password_hash) \
         SELECT 'root@platform.test', 'Root Admin', password_hash FROM tenant_acme.users \
         WHERE email = 'ada@acme.test' RETURNING email AS v",
    );
    t.b.goto(&format!("{}/admin/login", app.address))
        .await
        .unwrap();
    fill(&t.b, "#email", "root@platform.test").await;
    fill(&t.b, "#password", PASSWORD).await;
    submit(&t.b).await;
    wait_for_path(&t.b, "/admin").await;
    t.check("admin", Frame::Platform).await;
    t.visit(
        "/admin/organizations/acme",
        "admin-organization",
        Frame::Platform,
    )
    .await;
    t.shoot_part("admin-organization-factors-part", "#admin-factors")
        .await;
    t.visit(
        "/admin/organizations/acme/suspend",
        "admin-suspend",
        Frame::Platform,
    )
    .await;
    t.visit("/admin/audit", "admin-audit", Frame::Platform)
        .await;
    t.visit("/admin/no-such-page", "admin-not-found", Frame::Platform)
        .await;
    assert_eq!(text(&t.b, "#error-title").await, "Page not found");

    t.b.clone().close().await.expect("close browser");
    t.finish();
}
