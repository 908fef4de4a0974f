//! Background work beside the server: the Authentik outbox worker, the mail worker and
//! the signing-key maintenance. Started by `serve` (and explicitly by tests), stopped on shutdown.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::AppState;
use crate::app::mail_worker::MailWorker;
use crate::auth::signing::SigningKeys;
use crate::authentik::worker::Worker;

/// The running background tasks.
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts the background work of a portal. The signing keys are made or rotated
    /// before this returns (a database that is down only delays the first token).
    pub async fn start(state: &AppState) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        // The outbox is delivered in the background; requests never wait for Authentik.
        if let (Some(client), Some(a)) = (&state.authentik, &state.settings.authentik) {
            let worker = Worker::new(
                state.db.clone(),
                client.clone(),
                a.clone(),
                state.settings.authentik_group_prefix.clone(),
            );
            tasks.push(tokio::spawn(worker.run(stopped.clone())));
        }
        // Mail leaves from the queue its transactions wrote; requests never wait for it.
        let mail = MailWorker::new(
            state.db.clone(),
            state.mailer.clone(),
            state.settings.mail_queue,
        );
        tasks.push(tokio::spawn(mail.run(stopped.clone())));
        if let Err(e) = state.signing.maintain().await {
            tracing::warn!(error = %e, "token signing keys not ready yet");
        }
        let every = state.settings.tokens.key_reload;
        tasks.push(tokio::spawn(maintain_keys(
            state.signing.clone(),
            every,
            stopped.clone(),
        )));
        tasks.push(tokio::spawn(purge_deleted(
            state.db.clone(),
            state.outbox(),
            stopped.clone(),
        )));
        if state.settings.tenant_spare_schemas > 0 {
            tasks.push(tokio::spawn(refill_spares(
                state.db.clone(),
                state.settings.tenant_spare_schemas,
                stopped,
            )));
        }
        Self { stop, tasks }
    }

    /// Asks every task to stop and waits until they have.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "background task ended badly");
            }
        }
    }
}

/// Looks at the signing keys again every `every` until stopped.
async fn maintain_keys(
    keys: Arc<SigningKeys>,
    every: std::time::Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = keys.maintain().await {
            tracing::warn!(error = %e, "token signing keys not maintained");
        }
    }
}

/// Drops the schemas of deleted organizations whose grace period is over: at start,
/// then every hour (the grace is counted in days), until stopped.
async fn purge_deleted(
    db: crate::db::Db,
    outbox: crate::models::authentik_outbox::Outbox,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = crate::platform::purge_due(&db, outbox, 100).await {
            tracing::warn!(error = %e, "deleted organizations not purged yet");
        }
    }
}

/// Keeps `target` spare schemas ready for sign-ups, looking once a second (a count on a
/// small table) until stopped.
async fn refill_spares(db: crate::db::Db, target: usize, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = crate::tenancy::spares::refill(&db, target).await {
            tracing::warn!(error = %e, "spare tenant schemas not refilled");
        }
    }
}
