//! An in-process OpenID Provider whose id_tokens each test mints as it likes (good,
//! forged, expired, ...), to check that the portal refuses every bad one. It speaks
//! just enough of the protocol: discovery, authorize (answers at once), token (single-
//! use codes, PKCE checked), JWKS (counting fetches), userinfo.

use std::{
    collections::HashMap,
    net::TcpListener,
    sync::{Arc, Mutex},
};

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use sha2::Digest;

/// The client the portal is configured with.
pub const CLIENT_ID: &str = "tenant-portal";
/// Its secret (the key of HS256 tokens).
pub const CLIENT_SECRET: &str = "fake-provider-client-secret-0123456789";
/// The person every default token names.
pub const SUB: &str = "fake-sub-sam";

/// An RSA signing key with its public JWK.
#[derive(Clone)]
pub struct RsaKey {
    /// Key id.
    pub kid: String,
    /// For signing.
    pub encoding: EncodingKey,
    /// The public key as published (with `kid`).
    pub jwk: Jwk,
    /// The public key as PEM text (what an algorithm-confusion attacker uses as HMAC key).
    pub public_pem: String,
}

impl RsaKey {
    /// A fresh 2048-bit key.
    pub fn generate(kid: &str) -> RsaKey {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("rsa key");
        let der = private.to_pkcs1_der().expect("der");
        let encoding = EncodingKey::from_rsa_der(der.as_bytes());
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).expect("jwk");
        jwk.common.key_id = Some(kid.to_string());
        let public_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem");
        RsaKey {
            kid: kid.to_string(),
            encoding,
            jwk,
            public_pem,
        }
    }

    /// Signs claims with RS256 under this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(self.kid.clone());
        sign(&h, claims, &self.encoding)
    }
}

/// Signs claims with any header and key.
pub fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("sign")
}

/// An unsigned token (`alg: none`).
pub fn unsigned(claims: &Value) -> String {
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}

/// What the provider knows when it mints a token.
pub struct Minting {
    /// The nonce of the authorization request.
    pub nonce: String,
    /// Its issuer.
    pub issuer: String,
}

impl Minting {
    /// The claims of a good token for Sam, staff of `acme`.
    pub fn claims(&self) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        json!({
            "iss": self.issuer, "aud": CLIENT_ID, "sub": SUB, "iat": now, "exp": now + 300,
            "nonce": self.nonce, "email": "sam@acme.test", "email_verified": true,
            "name": "Sam Staff", "groups": ["tenant-acme-staff"],
        })
    }
}

type Minter = Box<dyn Fn(&Minting) -> String + Send>;

/// What a test can change while the provider runs.
pub struct FakeState {
    /// The published key set.
    pub jwks: Vec<Jwk>,
    /// How many times the key set was fetched.
    pub jwks_hits: usize,
    /// Makes the id_token of the next token response.
    pub minter: Minter,
    /// The `sub` userinfo answers with.
    pub userinfo_sub: String,
    codes: HashMap<String, (String, String)>,
    issuer: String,
}

/// A running fake provider.
pub struct FakeOp {
    /// Its issuer (Authentik form, trailing slash).
    pub issuer: String,
    /// Its state.
    pub state: Arc<Mutex<FakeState>>,
    /// The key it signs with by default.
    pub key: RsaKey,
}

impl FakeOp {
    /// Starts on a free port, publishing `key` and signing good tokens with it.
    pub async fn start() -> FakeOp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let issuer = format!("http://127.0.0.1:{port}/application/o/fake/");
        let key = RsaKey::generate("key-1");
        let signer = key.clone();
        let state = Arc::new(Mutex::new(FakeState {
            jwks: vec![key.jwk.clone()],
            jwks_hits: 0,
            minter: Box::new(move |m| signer.sign(&m.claims())),
            userinfo_sub: SUB.into(),
            codes: HashMap::new(),
            issuer: issuer.clone(),
        }));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new().app_data(data.clone()).service(
                web::scope("/application/o/fake")
                    .route(
                        "/.well-known/openid-configuration",
                        web::get().to(discovery),
                    )
                    .route("/authorize", web::get().to(authorize))
                    .route("/token", web::post().to(token))
                    .route("/jwks", web::get().to(jwks))
                    .route("/userinfo", web::get().to(userinfo)),
            )
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        FakeOp { issuer, state, key }
    }

    /// Sets how the next id_tokens are made.
    pub fn mint(&self, f: impl Fn(&Minting) -> String + Send + 'static) {
        self.state.lock().unwrap().minter = Box::new(f);
    }

    /// How many times the portal fetched the key set.
    pub fn jwks_hits(&self) -> usize {
        self.state.lock().unwrap().jwks_hits
    }
}

type Shared = web::Data<Arc<Mutex<FakeState>>>;

async fn discovery(s: Shared) -> HttpResponse {
    let issuer = s.lock().unwrap().issuer.clone();
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}authorize"),
        "token_endpoint": format!("{issuer}token"),
        "jwks_uri": format!("{issuer}jwks"),
        "userinfo_endpoint": format!("{issuer}userinfo"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "HS256"],
    }))
}

async fn authorize(s: Shared, q: web::Query<HashMap<String, String>>) -> HttpResponse {
    let code = uuid::Uuid::new_v4().simple().to_string();
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    s.lock()
        .unwrap()
        .codes
        .insert(code.clone(), (get("nonce"), get("code_challenge")));
    let mut to = url::Url::parse(&get("redirect_uri")).expect("redirect_uri");
    to.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"));
    HttpResponse::Found()
        .insert_header(("location", to.to_string()))
        .finish()
}

async fn token(s: Shared, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    let mut st = s.lock().unwrap();
    let code = form.get("code").cloned().unwrap_or_default();
    let Some((nonce, challenge)) = st.codes.remove(&code) else {
        return HttpResponse::BadRequest().json(json!({ "error": "invalid_grant" }));
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    if computed != challenge {
        return HttpResponse::BadRequest().json(json!({ "error": "invalid_grant" }));
    }
    let minting = Minting {
        nonce,
        issuer: st.issuer.clone(),
    };
    let id_token = (st.minter)(&minting);
    HttpResponse::Ok().json(json!({
        "access_token": format!("at-{code}"), "token_type": "Bearer", "expires_in": 300,
        "id_token": id_token,
    }))
}

async fn jwks(s: Shared) -> HttpResponse {
    let mut st = s.lock().unwrap();
    st.jwks_hits += 1;
    HttpResponse::Ok().json(json!({ "keys": st.jwks }))
}

async fn userinfo(s: Shared) -> HttpResponse {
    let sub = s.lock().unwrap().userinfo_sub.clone();
    HttpResponse::Ok().json(json!({ "sub": sub, "email": "sam@acme.test" }))
}
