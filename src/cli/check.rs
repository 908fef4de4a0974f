//! `portal check`: the configuration, and every component the portal needs.

use diesel::prelude::*;
use secrecy::ExposeSecret;

use super::runtime;
use crate::auth::exchange::KeysNotFetched;
use crate::config::Settings;

pub(super) fn check(settings: Settings) -> i32 {
    println!(
        "configuration: ok ({:?}, listening on {})",
        settings.environment, settings.bind
    );
    for w in &settings.warnings {
        println!("  warning: {w}");
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    rt.block_on(async move {
        let state = match crate::app::AppState::connect(settings).await {
            Ok(s) => s,
            Err(e) => {
                println!("redis: FAILED ({e})");
                return 1;
            }
        };
        let mut code = 0;
        // Authentik is reported but never fails the check: changes wait in the outbox.
        if let Some(a) = crate::health::authentik(&state).await {
            let status = a["status"].as_str().unwrap_or("unknown");
            match a["error"].as_str() {
                Some(e) => println!("authentik: {status} ({e})"),
                None => println!("authentik: {status}"),
            }
        }
        for (name, r) in crate::health::check(&state).await {
            match r {
                Ok(()) => println!("{name}: ok"),
                Err(e) => {
                    // The pool hides why; a direct connection says it (no password:
                    // libpq's messages never include it).
                    let detail = match name {
                        "database" => {
                            let url = state.settings.database_url.expose_secret().to_string();
                            tokio::task::spawn_blocking(move || PgConnection::establish(&url).err())
                                .await
                                .ok()
                                .flatten()
                                .map(|c| c.to_string().trim().to_string())
                        }
                        _ => None,
                    };
                    println!("{name}: FAILED ({})", detail.unwrap_or(e));
                    code = 1;
                }
            }
        }
        report_mail_queue(&state).await;
        if !state.settings.password_auth_enabled {
            report_password_hashes(&state).await;
        }
        if !check_exchange_keys(&state).await {
            code = 1;
        }
        code
    })
}

/// Says what waits in the mail queue; a backlog is reported, never a failure (the
/// mail leaves once the mail server answers).
async fn report_mail_queue(state: &crate::app::AppState) {
    match state.db.run(crate::models::mail_outbox::backlog).await {
        Ok(b) => {
            let oldest = b
                .oldest_pending_secs
                .map(|s| format!(", oldest {s:.0} s"))
                .unwrap_or_default();
            println!(
                "mail queue: {} pending{oldest}, {} given up",
                b.pending, b.dead
            );
        }
        Err(e) => println!("mail queue: unknown ({e})"),
    }
}

/// With `PASSWORD_AUTH_ENABLED=false`, warns about the organizations whose people still
/// have a password hash (unused now, but a secret kept for nothing, and the way back in
/// should the switch be turned on again). A warning, never a failure.
async fn report_password_hashes(state: &crate::app::AppState) {
    let found = async {
        let tenants = state.db.run(crate::models::tenant::all).await?;
        let mut found = Vec::new();
        for t in tenants {
            let n = state
                .db
                .tenant(&t.schema, crate::models::user::count_with_password)
                .await?;
            if n > 0 {
                found.push((t.slug.to_string(), n));
            }
        }
        Ok::<_, crate::error::AppError>(found)
    }
    .await;
    match found {
        Ok(found) if found.is_empty() => {
            println!("password hashes: none (password sign-in is off)");
        }
        Ok(found) => {
            let total: i64 = found.iter().map(|(_, n)| n).sum();
            println!(
                "  warning: PASSWORD_AUTH_ENABLED=false, but {total} people in {} organizations still have a password hash:",
                found.len()
            );
            for (slug, n) in found {
                let people = if n == 1 { "person" } else { "people" };
                println!("    {slug}: {n} {people}");
            }
        }
        Err(e) => println!("password hashes: unknown ({e})"),
    }
}

/// Fetches the key set the token exchange checks Authentik tokens against and says how
/// many keys it holds; false when it cannot be fetched.
async fn check_exchange_keys(state: &crate::app::AppState) -> bool {
    let Some(ex) = &state.exchange else {
        println!("jwks: not configured (token exchange off: set JWT_ISSUER and JWT_AUDIENCE)");
        return true;
    };
    match ex.fetch_keys_now().await {
        Ok((n, url)) => {
            println!("jwks: ok ({n} keys at {url})");
            true
        }
        Err(KeysNotFetched::Discovery(e)) => {
            println!("jwks: FAILED (discovery of {}: {e})", ex.settings().issuer);
            false
        }
        Err(KeysNotFetched::Fetch { url, error }) => {
            println!("jwks: FAILED ({url}: {error})");
            false
        }
    }
}
