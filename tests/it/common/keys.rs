//! Keys for tests of provider-signed tokens: RSA keys made with openssl for the run
//! (nothing secret is committed) and an in-process JWKS server whose key set can be
//! swapped and whose fetches are counted.

use std::process::Command;
use std::sync::{Arc, Mutex, atomic::AtomicUsize, atomic::Ordering};

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// An RSA key made for this test run with openssl (nothing secret is committed).
pub struct TestKey {
    pub kid: String,
    pub private_pem: Vec<u8>,
    pub public_pem: Vec<u8>,
    pub jwk: Value,
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl TestKey {
    pub fn new(kid: &str) -> TestKey {
        let dir = std::env::temp_dir().join(format!("jwks-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("key.pem");
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl is installed");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        let key_s = key.to_str().unwrap();
        run(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            key_s,
        ]);
        let public_pem = run(&["pkey", "-in", key_s, "-pubout"]);
        let modulus = String::from_utf8(run(&["rsa", "-in", key_s, "-noout", "-modulus"])).unwrap();
        let n = hex::decode(modulus.trim().trim_start_matches("Modulus=")).unwrap();
        let private_pem = std::fs::read(&key).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        TestKey {
            kid: kid.to_string(),
            private_pem,
            public_pem,
            jwk: json!({ "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                         "n": b64(&n), "e": b64(&[1, 0, 1]) }),
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(&self.private_pem).unwrap(),
        )
        .unwrap()
    }
}

/// An in-process key server whose key set can be swapped and whose fetches are counted.
pub struct KeyServer {
    pub url: String,
    keys: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
    pub handle: actix_web::dev::ServerHandle,
}

impl KeyServer {
    pub async fn start(keys: &[&TestKey]) -> KeyServer {
        let set = Arc::new(Mutex::new(
            json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }),
        ));
        let hits = Arc::new(AtomicUsize::new(0));
        let (s, h) = (set.clone(), hits.clone());
        let server = HttpServer::new(move || {
            let (s, h) = (s.clone(), h.clone());
            App::new().route(
                "/jwks",
                web::get().to(move || {
                    let (s, h) = (s.clone(), h.clone());
                    async move {
                        h.fetch_add(1, Ordering::SeqCst);
                        HttpResponse::Ok().json(s.lock().unwrap().clone())
                    }
                }),
            )
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        KeyServer {
            url: format!("http://127.0.0.1:{port}/jwks"),
            keys: set,
            hits,
            handle,
        }
    }

    pub fn publish(&self, keys: &[&TestKey]) {
        *self.keys.lock().unwrap() =
            json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() });
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}
