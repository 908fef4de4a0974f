//! The test harness: each test gets the real portal on a random port, against the real
//! PostgreSQL (a fresh database of its own) and Redis.

pub mod authentik_env;
pub mod browser;
pub mod factors;
pub mod fake_authentik;
pub mod fake_op;
pub mod keys;
pub mod own_postgres;
pub mod smtp;
pub mod soft_passkey;
pub mod sso_support;

use std::{collections::HashMap, net::TcpListener, process::Child, sync::Arc, time::Duration};

use diesel::{Connection, PgConnection, RunQueryDsl, sql_types::Text};
use reqwest::{StatusCode, cookie::CookieStore};
use tenant_portal::{app::Application, config::Settings, db::migrate};

/// The database server tests create their databases on.
pub fn admin_database_url() -> String {
    without_tls(
        std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
    )
}

/// Tests talk to a local server: no TLS (`sslmode=disable`) unless the URL asks for it.
/// libpq's OpenSSL state can be torn down at process exit while pooled connections
/// are still closing on other threads, which aborts a test binary that passed.
fn without_tls(url: String) -> String {
    if url.contains("sslmode=") {
        return url;
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}sslmode=disable")
}

/// The Redis tests use (sessions of different tests never collide: keys are random).
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn database_url(name: &str) -> String {
    let admin = admin_database_url();
    let (path, query) = admin.split_once('?').unwrap_or((&admin, ""));
    let base = path.rsplit_once('/').map(|(b, _)| b).unwrap_or(path);
    format!("{base}/{name}?{query}")
}

/// Pass `(OWN_WORKERS, "1")` to `spawn_with` for a portal that runs no background work
/// (outbox delivery, key maintenance): the test runs it itself.
pub const OWN_WORKERS: &str = "TEST_OWN_WORKERS";

/// A strong password accepted by the policy.
pub const PASSWORD: &str = "Correct-Horse-Battery-9142";

/// One running portal and its database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The test database's name.
    pub db_name: String,
    /// Its URL.
    pub database_url: String,
    /// Where this portal writes its mail.
    pub mail_dir: std::path::PathBuf,
}

/// A mail as the portal wrote it to the mail folder.
#[derive(Debug, Clone)]
pub struct Mail {
    pub subject: String,
    pub body: String,
}

impl Mail {
    /// The path (from `/t/`) of the first link in the mail that contains `part`.
    pub fn link(&self, part: &str) -> String {
        let url = self
            .body
            .split_whitespace()
            .find(|w| w.contains("://") && w.contains(part))
            .unwrap_or_else(|| panic!("no link with {part} in: {}", self.body));
        let start = url.find("/t/").expect("a portal link");
        url[start..].to_string()
    }
}

/// A browser-like client: keeps cookies, does not follow redirects.
pub struct Visitor {
    /// The HTTP client.
    pub http: reqwest::Client,
    /// Its cookies.
    pub jar: Arc<reqwest::cookie::Jar>,
    address: String,
}

/// A page as the test sees it.
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The `Set-Cookie` header that sets `name`, whole (value and attributes).
    pub fn set_cookie(&self, name: &str) -> String {
        set_cookie(&self.headers, name)
    }

    /// The CSRF token embedded in the page's forms.
    pub fn csrf(&self) -> String {
        hidden_value(&self.body, "csrf_token").expect("page has a csrf_token field")
    }
}

/// The `Set-Cookie` header that sets `name`, whole (value and attributes).
pub fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie set"))
        .to_string()
}

/// The value of a hidden input in HTML.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

impl TestApp {
    /// Starts a portal with the default test settings.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Starts a portal with some settings overridden.
    pub async fn spawn_with(overrides: &[(&str, &str)]) -> TestApp {
        let db_name = format!("tp_test_{}", uuid::Uuid::new_v4().simple());
        let database_url = database_url(&db_name);
        {
            let name = db_name.clone();
            let url = database_url.clone();
            tokio::task::spawn_blocking(move || {
                let mut admin = PgConnection::establish(&admin_database_url())
                    .expect("PostgreSQL answers at TEST_DATABASE_URL");
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .expect("create test database");
                let mut conn = PgConnection::establish(&url).expect("connect to test database");
                migrate::migrate_public(&mut conn).expect("public migrations");
            })
            .await
            .expect("database set-up");
        }
        let mut vars: HashMap<String, String> = [
            ("DATABASE_URL", database_url.as_str()),
            ("PORTAL_BIND", "127.0.0.1:0"),
            ("AUTH_PASSWORD_HASH_ROUNDS", "4"),
            ("PORTAL_DB_POOL_SIZE", "4"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        vars.insert("REDIS_URL".into(), redis_url());
        // Tests share one Redis: each test's rate limits live in a namespace of their
        // own, and are generous unless a test asks for tight ones.
        vars.insert(
            "REDIS_KEY_PREFIX".into(),
            format!("test-{}", uuid::Uuid::new_v4().simple()),
        );
        vars.insert("RATE_LIMIT_LOGIN_PER_MINUTE".into(), "1000".into());
        vars.insert("RATE_LIMIT_SIGNUP_PER_HOUR".into(), "10000".into());
        vars.insert("RATE_LIMIT_GENERAL_PER_MINUTE".into(), "60000".into());
        // Mail leaves through the queue: look at it often so tests do not wait.
        vars.insert("PORTAL_MAIL_POLL_MS".into(), "100".into());
        vars.insert(
            "SECRET_KEY".into(),
            "t".repeat(32) + &uuid::Uuid::new_v4().simple().to_string(),
        );
        let mail_dir =
            std::env::temp_dir().join(format!("tp-mail-{}", uuid::Uuid::new_v4().simple()));
        vars.insert("PORTAL_MAIL_DIR".into(), mail_dir.display().to_string());
        for (k, v) in overrides {
            vars.insert(k.to_string(), v.to_string());
        }
        // Not a setting of the portal: whether the test runs the background work itself.
        let own_workers = vars.remove(OWN_WORKERS).is_some();
        let settings = Settings::from_map(&vars).expect("valid test settings");
        let app = Application::build(settings).await.expect("portal starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        // The background work runs as in `portal serve`, beside the server.
        let workers = if own_workers {
            None
        } else {
            Some(app.start_workers().await)
        };
        tokio::spawn(async move {
            let served = app.run_until_stopped().await;
            if let Some(w) = workers {
                w.stop().await;
            }
            served
        });
        TestApp {
            address,
            db_name,
            database_url,
            mail_dir,
        }
    }

    /// A new visitor with an empty cookie jar.
    pub fn visitor(&self) -> Visitor {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            // Below the server's keep-alive (5 s): a connection is never reused just as
            // the server closes it for idling, which would lose that request.
            .pool_idle_timeout(Duration::from_secs(3))
            .build()
            .expect("client");
        Visitor {
            http,
            jar,
            address: self.address.clone(),
        }
    }

    /// Runs SQL on the test database and returns the first column of each row.
    pub fn query_strings(&self, sql: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            v: String,
        }
        let mut conn = PgConnection::establish(&self.database_url).expect("connect");
        diesel::sql_query(sql)
            .load::<Row>(&mut conn)
            .expect("query")
            .into_iter()
            .map(|r| r.v)
            .collect()
    }

    /// Every mail written to this address so far, oldest first, as `Subject` and body.
    pub fn mails_to(&self, to: &str) -> Vec<Mail> {
        let Ok(dir) = std::fs::read_dir(&self.mail_dir) else {
            return Vec::new();
        };
        let mut names: Vec<_> = dir.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        names.sort();
        names
            .into_iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|text| {
                let (head, body) = text.split_once("\n\n")?;
                let header = |name: &str| {
                    head.lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim().to_string())
                };
                (header("To:")? == to).then(|| Mail {
                    subject: header("Subject:").unwrap_or_default(),
                    body: body.to_string(),
                })
            })
            .collect()
    }

    /// The mails to this address whose subject contains `subject`, oldest first.
    pub fn mails_about(&self, to: &str, subject: &str) -> Vec<Mail> {
        self.mails_to(to)
            .into_iter()
            .filter(|m| m.subject.contains(subject))
            .collect()
    }

    /// Waits (mail leaves in the background) until this address has received `n`
    /// mails whose subject contains `subject`, and returns the newest.
    pub async fn wait_for_mail(&self, to: &str, subject: &str, n: usize) -> Mail {
        for _ in 0..200 {
            let mails = self.mails_about(to, subject);
            if mails.len() >= n {
                return mails.into_iter().last().expect("a mail");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{to} received {} mails about {subject:?}, expected {n}",
            self.mails_about(to, subject).len()
        );
    }

    /// Signs up an organization with a new visitor; returns the signed-in visitor.
    pub async fn signup(&self, company: &str, slug: &str, email: &str) -> Visitor {
        let v = self.visitor();
        let page = v.signup(company, slug, email, PASSWORD).await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "sign-up failed: {}",
            page.body
        );
        assert_eq!(
            page.location.as_deref(),
            Some(format!("/t/{slug}/dashboard").as_str())
        );
        v
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let name = self.db_name.clone();
        // Best effort: a database left behind only costs disk.
        let _ = std::thread::spawn(move || {
            if let Ok(mut admin) = PgConnection::establish(&admin_database_url()) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut admin);
            }
        })
        .join();
        let _ = std::fs::remove_dir_all(&self.mail_dir);
    }
}

impl Visitor {
    /// The portal's base address.
    pub fn address(&self) -> String {
        self.address.clone()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A response as a [`Page`] (status, redirect target, headers, body).
    pub async fn page(res: reqwest::Response) -> Page {
        let status = res.status();
        let headers = res.headers().clone();
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = res.text().await.unwrap_or_default();
        Page {
            status,
            location,
            headers,
            body,
        }
    }

    /// GET a path.
    pub async fn get(&self, path: &str) -> Page {
        Self::page(self.http.get(self.url(path)).send().await.expect("GET")).await
    }

    /// POST a form as is (no CSRF token added).
    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::page(
            self.http
                .post(self.url(path))
                .form(form)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// POST a form with the CSRF token taken from the page at `form_page`.
    pub async fn submit(&self, form_page: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.get(form_page).await.csrf();
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        self.post_raw(path, &form).await
    }

    /// Presses "Yes" on a confirmation page: posts its form to `action` as the page
    /// would (its CSRF token and `confirm=yes`).
    pub async fn answer_yes(&self, question: &Page, action: &str) -> Page {
        let token = question.csrf();
        self.post_raw(
            action,
            &[("csrf_token", token.as_str()), ("confirm", "yes")],
        )
        .await
    }

    /// Fills in and sends the sign-up form.
    pub async fn signup(&self, company: &str, slug: &str, email: &str, password: &str) -> Page {
        self.submit(
            "/signup",
            "/signup",
            &[
                ("company_name", company),
                ("business_type", "software"),
                ("country", "DE"),
                ("name", "Ada Lovelace"),
                ("email", email),
                ("password", password),
                ("slug", slug),
            ],
        )
        .await
    }

    /// Signs in to a tenant.
    pub async fn login(&self, slug: &str, email: &str, password: &str) -> Page {
        let page = format!("/t/{slug}/login");
        self.submit(&page, &page, &[("email", email), ("password", password)])
            .await
    }

    /// Signs out of a tenant, with the token from its dashboard.
    pub async fn logout(&self, slug: &str) -> Page {
        let token = self.get(&format!("/t/{slug}/login")).await.csrf();
        self.post_raw(&format!("/t/{slug}/logout"), &[("csrf_token", &token)])
            .await
    }

    /// The value of a cookie the visitor holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.address.parse().expect("url");
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_string))
    }
}

/// A Redis server of a test's own, to stop and start at will.
pub struct OwnRedis {
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts redis-server on a free port and waits until it answers.
    pub fn start() -> OwnRedis {
        let port = free_port();
        let mut r = OwnRedis { port, child: None };
        r.restart();
        r
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Stops it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP port free right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Starts a server on a free port (`command` builds it for the port) and waits until it
/// says on its output that it is ready: a line starting with `ready`. Whether a port
/// answers says nothing of who answers (another process, even another test's server,
/// may have taken the port first), so a server that exits or stays silent for `wait` is
/// stopped and started again on another port. `what` names it in failures.
pub fn start_on_free_port(
    what: &str,
    mut command: impl FnMut(u16) -> std::process::Command,
    ready: &'static str,
    wait: Duration,
) -> (Child, u16) {
    use std::process::Stdio;
    for _ in 0..3 {
        let port = free_port();
        let mut child = command(port)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{what} could not be run: {e}"));
        let said = said_line(child.stdout.take().expect("piped stdout"), ready);
        if said.recv_timeout(wait).is_ok() {
            return (child, port);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("{what} did not start");
}

/// Reads a child's output on a thread of its own (to the end, so that the child never
/// blocks on a full pipe); the channel gets one message once a line starts with
/// `prefix`, and is closed without one if the child exits first.
fn said_line(
    out: std::process::ChildStdout,
    prefix: &'static str,
) -> std::sync::mpsc::Receiver<()> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            match line {
                Ok(line) if line.starts_with(prefix) => {
                    let _ = tx.send(());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    rx
}

/// Asserts that a destructive action answered with its confirmation question instead
/// of acting: the page names `what` is about to happen and offers one button that
/// posts `action` again with `confirm=yes` and a CSRF token.
pub fn assert_asks(page: &Page, action: &str, what: &str) {
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Please confirm"), "{}", page.body);
    assert!(
        page.body.contains(&format!("You are about to {what}.")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!(r#"<form method="post" action="{action}""#)),
        "{}",
        page.body
    );
    assert_eq!(hidden_value(&page.body, "confirm").as_deref(), Some("yes"));
    assert!(!page.csrf().is_empty());
}
