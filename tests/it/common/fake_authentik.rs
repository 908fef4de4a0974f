//! A stateful fake of Authentik's admin API (`/api/v3/`), in-process on a free port.
//! It keeps users and groups in memory in the shapes of Authentik's schema, checks the
//! Bearer token, and can be told to fail (5xx, 429), hang, answer slowly after doing
//! the work, or stop listening and come back on the same port.

use std::{
    net::TcpListener,
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::ServerHandle, web};
use serde_json::{Value, json};
use uuid::Uuid;

/// A user as the fake stores it.
#[derive(Debug, Clone)]
pub struct FakeUser {
    pub pk: i64,
    pub uuid: Uuid,
    pub username: String,
    pub name: String,
    pub email: String,
    pub is_active: bool,
}

/// A group as the fake stores it.
#[derive(Debug, Clone)]
pub struct FakeGroup {
    pub pk: Uuid,
    pub num_pk: i64,
    pub name: String,
    pub users: Vec<i64>,
}

/// How the fake answers right now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Like Authentik.
    Normal,
    /// Every request gets this status (500, 503, 429).
    Fail(u16),
    /// Every request waits this long before being answered normally.
    Hang(Duration),
}

#[derive(Debug)]
struct State {
    token: String,
    users: Vec<FakeUser>,
    groups: Vec<FakeGroup>,
    next_pk: i64,
    mode: Mode,
    /// Requests that get `Fail`, then back to normal (`None`: until told).
    fail_left: Option<u32>,
    retry_after: Option<u64>,
    /// User creations that are applied, then answered after this delay.
    slow_creates: u32,
    slow_delay: Duration,
    requests: u64,
    creates: u64,
}

/// The fake; dropping it stops the server.
pub struct FakeAuthentik {
    pub port: u16,
    state: Arc<Mutex<State>>,
    handle: Mutex<Option<ServerHandle>>,
}

impl FakeAuthentik {
    /// Starts a fake that accepts `token`.
    pub async fn start(token: &str) -> FakeAuthentik {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let fake = FakeAuthentik {
            port,
            state: Arc::new(Mutex::new(State {
                token: token.to_string(),
                users: Vec::new(),
                groups: Vec::new(),
                next_pk: 7,
                mode: Mode::Normal,
                fail_left: None,
                retry_after: None,
                slow_creates: 0,
                slow_delay: Duration::ZERO,
                requests: 0,
                creates: 0,
            })),
            handle: Mutex::new(None),
        };
        fake.resume().await;
        fake
    }

    /// `http://127.0.0.1:<port>`, what `AUTHENTIK_URL` is set to.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Stops listening: connections are refused.
    pub async fn stop(&self) {
        let handle = self.handle.lock().unwrap().take();
        if let Some(h) = handle {
            h.stop(false).await;
        }
    }

    /// Listens again on the same port, with the same users and groups.
    pub async fn resume(&self) {
        let mut listener = None;
        for _ in 0..100 {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let listener = listener.expect("the fake's port is free again");
        let state = self.state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .app_data(web::PayloadConfig::new(1 << 20))
                .default_service(web::to(handle))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .expect("fake listens")
        .run();
        *self.handle.lock().unwrap() = Some(server.handle());
        tokio::spawn(server);
    }

    /// Answers every request with `status` until [`heal`](Self::heal).
    pub fn fail_with(&self, status: u16) {
        let mut s = self.st();
        s.mode = Mode::Fail(status);
        s.fail_left = None;
    }

    /// Answers the next `n` requests with `status` (and `Retry-After`, if given).
    pub fn fail_times(&self, status: u16, n: u32, retry_after: Option<u64>) {
        let mut s = self.st();
        s.mode = Mode::Fail(status);
        s.fail_left = Some(n);
        s.retry_after = retry_after;
    }

    /// Waits this long before answering each request.
    pub fn hang(&self, d: Duration) {
        self.st().mode = Mode::Hang(d);
    }

    /// Back to normal.
    pub fn heal(&self) {
        let mut s = self.st();
        s.mode = Mode::Normal;
        s.fail_left = None;
        s.retry_after = None;
    }

    /// The next `n` user creations happen at once but are answered after `delay` (a
    /// lost answer: the client times out although the user exists).
    pub fn slow_user_creation(&self, n: u32, delay: Duration) {
        let mut s = self.st();
        s.slow_creates = n;
        s.slow_delay = delay;
    }

    /// Requests received so far (including refused ones).
    pub fn requests(&self) -> u64 {
        self.st().requests
    }

    /// `POST /core/users/` received so far.
    pub fn user_creations(&self) -> u64 {
        self.st().creates
    }

    /// All users.
    pub fn users(&self) -> Vec<FakeUser> {
        self.st().users.clone()
    }

    /// Users with this email.
    pub fn users_with_email(&self, email: &str) -> Vec<FakeUser> {
        self.users()
            .into_iter()
            .filter(|u| u.email.eq_ignore_ascii_case(email))
            .collect()
    }

    /// All groups.
    pub fn groups(&self) -> Vec<FakeGroup> {
        self.st().groups.clone()
    }

    /// The names of the groups this email's user is in, sorted.
    pub fn groups_of(&self, email: &str) -> Vec<String> {
        let s = self.st();
        let Some(u) = s.users.iter().find(|u| u.email.eq_ignore_ascii_case(email)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = s
            .groups
            .iter()
            .filter(|g| g.users.contains(&u.pk))
            .map(|g| g.name.clone())
            .collect();
        names.sort();
        names
    }

    /// Changes membership behind the portal's back (drift).
    pub fn set_membership(&self, email: &str, group: &str, member: bool) {
        let mut s = self.st();
        let pk = s
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .expect("user exists")
            .pk;
        let g = s
            .groups
            .iter_mut()
            .find(|g| g.name == group)
            .expect("group exists");
        g.users.retain(|u| *u != pk);
        if member {
            g.users.push(pk);
        }
    }
}

impl Drop for FakeAuthentik {
    fn drop(&mut self) {
        if let Some(h) = self.handle.lock().unwrap().take() {
            drop(h.stop(false));
        }
    }
}

fn user_json(s: &State, u: &FakeUser) -> Value {
    let groups: Vec<&FakeGroup> = s
        .groups
        .iter()
        .filter(|g| g.users.contains(&u.pk))
        .collect();
    json!({
        "pk": u.pk, "username": u.username, "name": u.name, "is_active": u.is_active,
        "last_login": null, "is_superuser": false,
        "groups": groups.iter().map(|g| g.pk).collect::<Vec<_>>(),
        "groups_obj": groups.iter().map(|g| json!({
            "pk": g.pk, "num_pk": g.num_pk, "name": g.name, "is_superuser": false,
            "parent": null, "parent_name": null, "attributes": {}
        })).collect::<Vec<_>>(),
        "email": u.email, "avatar": "", "attributes": {}, "uid": format!("uid{}", u.pk),
        "path": "users", "type": "internal", "uuid": u.uuid,
    })
}

fn group_json(g: &FakeGroup) -> Value {
    json!({
        "pk": g.pk, "num_pk": g.num_pk, "name": g.name, "is_superuser": false,
        "parent": null, "parent_name": null, "users": g.users, "users_obj": [],
        "attributes": {}, "roles": [], "roles_obj": []
    })
}

fn page(results: Vec<Value>) -> Value {
    let n = results.len();
    json!({
        "pagination": {
            "next": 0, "previous": 0, "count": n, "current": 1, "total_pages": 1,
            "start_index": if n > 0 { 1 } else { 0 }, "end_index": n
        },
        "results": results,
        "autocomplete": {}
    })
}

fn invalid(field: &str, message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ field: [message] }))
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "detail": "No User matches the given query." }))
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    // Modes first: an outage answers before any work.
    let (mode, retry_after) = {
        let mut s = state.lock().unwrap();
        s.requests += 1;
        let mode = s.mode;
        if let (Mode::Fail(_), Some(left)) = (mode, s.fail_left) {
            if left <= 1 {
                s.mode = Mode::Normal;
                s.fail_left = None;
            } else {
                s.fail_left = Some(left - 1);
            }
        }
        (mode, s.retry_after)
    };
    match mode {
        Mode::Fail(code) => {
            let mut res = HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap());
            if let Some(secs) = retry_after {
                res.insert_header(("Retry-After", secs.to_string()));
            }
            return res.json(json!({ "detail": "failing on purpose" }));
        }
        Mode::Hang(d) => tokio::time::sleep(d).await,
        Mode::Normal => {}
    }
    let (response, delay) = answer(&req, &body, &state);
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    response
}

fn answer(
    req: &HttpRequest,
    body: &[u8],
    state: &Mutex<State>,
) -> (HttpResponse, Option<Duration>) {
    let mut s = state.lock().unwrap();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != format!("Bearer {}", s.token) {
        return (
            HttpResponse::Unauthorized().json(json!({ "detail": "Token invalid/expired" })),
            None,
        );
    }
    let query: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let path = req.path().strip_prefix("/api/v3/").unwrap_or("");
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let method = req.method().as_str();
    let res = match (method, parts.as_slice()) {
        ("GET", ["admin", "version"]) => HttpResponse::Ok().json(json!({
            "version_current": "2025.10.1", "version_latest": "2025.10.1",
            "version_latest_valid": true, "build_hash": "fake", "outdated": false,
            "outpost_outdated": false
        })),
        ("GET", ["core", "users"]) => {
            let results = s
                .users
                .iter()
                .filter(|u| q("email").is_none_or(|e| u.email == e))
                .filter(|u| q("username").is_none_or(|n| u.username == n))
                .map(|u| user_json(&s, u))
                .collect();
            HttpResponse::Ok().json(page(results))
        }
        ("POST", ["core", "users"]) => {
            s.creates += 1;
            if json.get("password").is_some() {
                return (
                    invalid("password", "The portal must never send a password."),
                    None,
                );
            }
            let username = json["username"].as_str().unwrap_or_default().to_string();
            let name = json["name"].as_str().unwrap_or_default().to_string();
            if username.is_empty() {
                return (invalid("username", "This field is required."), None);
            }
            if name.is_empty() {
                return (invalid("name", "This field is required."), None);
            }
            if s.users.iter().any(|u| u.username == username) {
                return (invalid("username", "This field must be unique."), None);
            }
            let pk = s.next_pk;
            s.next_pk += 1;
            let user = FakeUser {
                pk,
                uuid: Uuid::new_v4(),
                username,
                name,
                email: json["email"].as_str().unwrap_or_default().to_string(),
                is_active: json["is_active"].as_bool().unwrap_or(true),
            };
            s.users.push(user.clone());
            let delay = (s.slow_creates > 0).then(|| {
                s.slow_creates -= 1;
                s.slow_delay
            });
            return (HttpResponse::Created().json(user_json(&s, &user)), delay);
        }
        (m, ["core", "users", id]) => {
            let Some(i) = id
                .parse::<i64>()
                .ok()
                .and_then(|pk| s.users.iter().position(|u| u.pk == pk))
            else {
                return (not_found(), None);
            };
            match m {
                "GET" => HttpResponse::Ok().json(user_json(&s, &s.users[i])),
                "PATCH" | "PUT" => {
                    if let Some(v) = json["is_active"].as_bool() {
                        s.users[i].is_active = v;
                    }
                    if let Some(v) = json["name"].as_str() {
                        s.users[i].name = v.to_string();
                    }
                    if let Some(v) = json["email"].as_str() {
                        s.users[i].email = v.to_string();
                    }
                    HttpResponse::Ok().json(user_json(&s, &s.users[i]))
                }
                "DELETE" => {
                    let pk = s.users.remove(i).pk;
                    for g in &mut s.groups {
                        g.users.retain(|u| *u != pk);
                    }
                    HttpResponse::NoContent().finish()
                }
                _ => HttpResponse::MethodNotAllowed().finish(),
            }
        }
        ("GET", ["core", "groups"]) => {
            let results = s
                .groups
                .iter()
                .filter(|g| q("name").is_none_or(|n| g.name == n))
                .map(group_json)
                .collect();
            HttpResponse::Ok().json(page(results))
        }
        ("POST", ["core", "groups"]) => {
            let name = json["name"].as_str().unwrap_or_default().to_string();
            if name.is_empty() {
                return (invalid("name", "This field is required."), None);
            }
            if s.groups.iter().any(|g| g.name == name) {
                return (
                    invalid("name", "group with this name already exists."),
                    None,
                );
            }
            let g = FakeGroup {
                pk: Uuid::new_v4(),
                num_pk: s.groups.iter().map(|g| g.num_pk).max().unwrap_or(0) + 1,
                name,
                users: Vec::new(),
            };
            s.groups.push(g.clone());
            HttpResponse::Created().json(group_json(&g))
        }
        // Like Authentik: the group's UUID in the path, 204 without a body, 404 for a
        // group that does not exist; its memberships go with it.
        ("DELETE", ["core", "groups", id]) => {
            let Some(gi) = id
                .parse::<Uuid>()
                .ok()
                .and_then(|pk| s.groups.iter().position(|g| g.pk == pk))
            else {
                return (not_found(), None);
            };
            s.groups.remove(gi);
            HttpResponse::NoContent().finish()
        }
        ("POST", ["core", "groups", id, action @ ("add_user" | "remove_user")]) => {
            let Some(gi) = id
                .parse::<Uuid>()
                .ok()
                .and_then(|pk| s.groups.iter().position(|g| g.pk == pk))
            else {
                return (not_found(), None);
            };
            let Some(pk) = json["pk"].as_i64() else {
                return (invalid("pk", "This field is required."), None);
            };
            if !s.users.iter().any(|u| u.pk == pk) {
                return (invalid("pk", "User does not exist."), None);
            }
            let g = &mut s.groups[gi];
            g.users.retain(|u| *u != pk);
            if *action == "add_user" {
                g.users.push(pk);
            }
            HttpResponse::NoContent().finish()
        }
        _ => HttpResponse::NotFound().json(json!({ "detail": "Not found." })),
    };
    (res, None)
}
