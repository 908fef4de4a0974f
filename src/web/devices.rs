//! A person's signed-in browsers, as the profile and the dashboard list them.

use crate::app::AppState;
use crate::auth::session_store::LiveSession;
use crate::error::{AppError, AppResult};
use crate::web::session::TenantUser;

/// A session as the page shows it.
pub struct SessionView {
    /// The session's handle.
    pub sid: String,
    /// Browser and system in words ("Firefox on Windows 10").
    pub device: String,
    /// The full User-Agent, for hover.
    pub raw_device: String,
    /// The address it was first used from.
    pub ip: Option<String>,
    /// When it began (UTC).
    pub signed_in: String,
    /// How long ago it was last used.
    pub last_used: String,
    /// When it was last used (UTC).
    pub last_used_exact: String,
    /// It is the session of this request.
    pub current: bool,
}

/// A session's Unix time, as the page shows it.
fn when(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(crate::display::minute)
        .unwrap_or_default()
}

impl SessionView {
    fn new(s: LiveSession, mine: &str) -> Self {
        let raw_device = s.device.unwrap_or_default();
        let seen = time::OffsetDateTime::from_unix_timestamp(s.seen).ok();
        Self {
            current: s.sid == mine,
            device: crate::display::device(&raw_device),
            raw_device,
            ip: s.ip,
            signed_in: when(s.iat),
            last_used: seen
                .map(|t| crate::display::relative(t, time::OffsetDateTime::now_utc()))
                .unwrap_or_default(),
            last_used_exact: when(s.seen),
            sid: s.sid,
        }
    }
}

/// The person's live sessions as the pages show them (the store lists the most
/// recently used first).
pub async fn devices(state: &AppState, user: &TenantUser) -> AppResult<Vec<SessionView>> {
    let sessions = state
        .sessions
        .list(user.tenant.id, user.identity.uid)
        .await
        .map_err(|_| AppError::Unavailable("session store"))?;
    let me = &user.identity;
    Ok(sessions
        .into_iter()
        .map(|(_, mut s)| {
            // On the first page after sign-in the store does not have the browser yet:
            // it is written with this response.
            if s.sid == me.sid {
                s.device = s.device.or_else(|| me.device.clone());
                s.ip = s.ip.or_else(|| me.ip.clone());
            }
            SessionView::new(s, &me.sid)
        })
        .collect())
}
