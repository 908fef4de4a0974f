//! `GET /health/live` and `GET /health/ready`.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::app::AppState;

/// The process answers.
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Whether each component the portal needs answers; 503 when one it cannot work
/// without is down.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (report, authentik) = tokio::join!(check(&state), authentik(&state));
    let ok = report
        .iter()
        .all(|(name, r)| r.is_ok() || !is_required(name));
    let mut components: serde_json::Map<String, serde_json::Value> = report
        .into_iter()
        .map(|(name, r)| {
            let v = match r {
                Ok(()) => json!({ "status": "up" }),
                Err(e) => json!({ "status": "down", "error": e }),
            };
            (name.to_string(), v)
        })
        .collect();
    // Authentik can be down without the portal being unready: changes wait in the outbox.
    if let Some(a) = authentik {
        components.insert("authentik".into(), a);
    }
    let body =
        json!({ "status": if ok { "ready" } else { "unavailable" }, "components": components });
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Checks every component; used by readiness and `portal check`.
pub async fn check(state: &AppState) -> Vec<(&'static str, Result<(), String>)> {
    let deadline = Duration::from_secs(3);
    let db = async {
        match tokio::time::timeout(deadline, state.db.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err("cannot reach PostgreSQL".to_string()),
            Err(_) => Err("PostgreSQL did not answer in time".to_string()),
        }
    };
    let redis = async {
        state
            .redis_ping()
            .await
            .map_err(|_| "cannot reach Redis".to_string())
    };
    let oidc = async {
        match &state.oidc {
            Some(o) => Some(match tokio::time::timeout(deadline, o.check()).await {
                Ok(r) => r,
                Err(_) => Err("the OpenID Provider did not answer in time".to_string()),
            }),
            None => None,
        }
    };
    let (db, redis, oidc) = tokio::join!(db, redis, oidc);
    let mut report = vec![("database", db), ("redis", redis)];
    if let Some(oidc) = oidc {
        report.push(("oidc", oidc));
    }
    report
}

/// Whether the portal cannot serve without this component. Single sign-on down leaves
/// password sign-in and signed-in people working, so it is reported, not fatal.
pub fn is_required(component: &str) -> bool {
    component != "oidc"
}

/// Authentik's state for readiness: `up` or `degraded` (never failing readiness), with
/// the outbox backlog. `None` when Authentik is not configured.
pub async fn authentik(state: &AppState) -> Option<serde_json::Value> {
    let client = state.authentik.as_ref()?;
    let deadline = Duration::from_secs(2);
    let probe = async {
        if !client.available() {
            return Err("circuit open: Authentik failed repeatedly".to_string());
        }
        match tokio::time::timeout(deadline, client.version()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("Authentik did not answer in time".to_string()),
        }
    };
    let backlog = async {
        let q = state
            .db
            .run(|conn| crate::models::authentik_outbox::backlog(conn, None));
        tokio::time::timeout(deadline, q).await.ok()?.ok()
    };
    let (probe, backlog) = tokio::join!(probe, backlog);
    let mut v = match probe {
        Ok(()) => json!({ "status": "up" }),
        Err(e) => json!({ "status": "degraded", "error": e }),
    };
    v["circuit"] = json!(format!("{:?}", client.circuit()).to_lowercase());
    if let Some(b) = backlog {
        v["outbox"] = json!(b);
    }
    Some(v)
}
