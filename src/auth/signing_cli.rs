//! `portal keys list` and `portal keys rotate [--now]`: the operator's view of the
//! token signing keys.

use time::OffsetDateTime;

use crate::auth::signing::SigningKeys;
use crate::db::Db;

/// Lists the keys, after making a new one when `rotate` is set (`Some(true)`: signing
/// at once).
pub async fn run(settings: &crate::config::Settings, rotate: Option<bool>) -> anyhow::Result<()> {
    let db = Db::new(
        secrecy::ExposeSecret::expose_secret(&settings.database_url),
        2,
    )?;
    let keys = SigningKeys::new(db, settings.secret_bytes(), settings.tokens.clone());
    if let Some(now) = rotate {
        let at = if now {
            OffsetDateTime::now_utc()
        } else {
            let ahead = time::Duration::try_from(settings.tokens.key_publish_ahead)?;
            OffsetDateTime::now_utc() + ahead
        };
        let kid = keys.rotate(at).await?;
        println!("new signing key {kid}: published now, signs from {at}");
        println!("running instances pick it up within JWT_SIGNING_KEY_RELOAD_SECONDS");
    }
    let now = OffsetDateTime::now_utc();
    let list = keys.list().await?;
    let current = list
        .iter()
        .rev()
        .find(|(_, at, _)| *at <= now)
        .map(|k| k.0.clone());
    println!("{:<18} {:<32} state", "kid", "signs from");
    for (kid, at, usable) in &list {
        let state = match (Some(kid) == current.as_ref(), *at > now, usable) {
            (_, _, false) => "sealed with another SECRET_KEY (verify only)",
            (true, _, _) => "signing",
            (_, true, _) => "published, signs later",
            _ => "published until its tokens expire",
        };
        println!("{kid:<18} {:<32} {state}", at.to_string());
    }
    Ok(())
}
