//! Background work beside the server: the Authentik outbox worker, the mail worker,
//! the signing-key maintenance, the purge of deleted organizations and the spare-schema
//! refill. Started by `serve` (and explicitly by tests), stopped on shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

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
        // Made or rotated just above: the next look is one reload interval away.
        let keys: Arc<SigningKeys> = state.signing.clone();
        tasks.push(tokio::spawn(repeat(
            state.settings.tokens.key_reload,
            false,
            stopped.clone(),
            "token signing keys not maintained",
            move || {
                let keys = keys.clone();
                async move { keys.maintain().await }
            },
        )));
        // The registry copy every tenant page reads: all of it at start, then only the
        // rows changed since.
        let registry = state.registry.clone();
        tasks.push(tokio::spawn(repeat(
            crate::tenancy::registry::REFRESH_EVERY,
            true,
            stopped.clone(),
            "the registry copy not refreshed",
            move || {
                let registry = registry.clone();
                async move { registry.refresh().await.map(drop) }
            },
        )));
        // Deleted organizations whose grace period is over: at start, then hourly (the
        // grace is counted in days).
        let (db, outbox) = (state.db.clone(), state.outbox());
        tasks.push(tokio::spawn(repeat(
            Duration::from_secs(3600),
            true,
            stopped.clone(),
            "deleted organizations not purged yet",
            move || {
                let db = db.clone();
                async move { crate::platform::purge_due(&db, outbox, 100).await.map(drop) }
            },
        )));
        // Spare schemas for sign-ups, looked at once a second (a count on a small table).
        let target = state.settings.tenant_spare_schemas;
        if target > 0 {
            let db = state.db.clone();
            tasks.push(tokio::spawn(repeat(
                Duration::from_secs(1),
                true,
                stopped,
                "spare tenant schemas not refilled",
                move || {
                    let db = db.clone();
                    async move { crate::tenancy::spares::refill(&db, target).await.map(drop) }
                },
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

/// Runs `job` every `period` until stopped: at once when `at_start`, else first after
/// one period. A failed run is logged with `failed` and tried again next time.
async fn repeat<F, Fut, E>(
    period: Duration,
    at_start: bool,
    mut stop: watch::Receiver<bool>,
    failed: &'static str,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    if !at_start {
        tick.tick().await;
    }
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = job().await {
            tracing::warn!(error = %e, "{failed}");
        }
    }
}
