//! Which connection serves which request: each tenant has a home connection.
//!
//! PostgreSQL keeps a prepared statement's plan per connection, and the dashboard's
//! statement is prepared once per tenant (see `prepared`). If every connection served
//! every tenant, each would prepare the statement for all of them: with 10,000
//! organizations that is memory in every backend and a fresh plan on most requests.
//! Instead each tenant has a home lane (one connection), chosen by hashing its schema:
//!
//! - a request takes its home lane when it is free, else any free lane (an idle
//!   connection is never left idle while a request waits), else it queues at home;
//! - a lane that comes free serves its own queue first, then the longest other one, so
//!   no request waits behind an idle connection and nobody is starved.
//!
//! `Served` bounds what one connection remembers: after serving `TENANTS_PER_CONNECTION`
//! distinct tenants, or creating `ORGANIZATIONS_PER_CONNECTION` organizations, the
//! connection is closed and a fresh one takes its place, which drops the statements it
//! prepared (the driver's statement cache has no eviction) and PostgreSQL's caches.
//! `/metrics` counts both rules at work: uses away from home and replaced connections.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::oneshot;

/// How many distinct tenants one connection serves before it is replaced.
pub const TENANTS_PER_CONNECTION: usize = 4_000;

/// How many organizations (or spare schemas) one connection creates before it is
/// replaced. Each leaves a compiled copy of the counters'
/// trigger and its saved plans in the backend, and PostgreSQL walks all of a backend's
/// saved plans for every catalog change it hears of; every sign-up is such a change, so
/// without a bound sign-ups slow down as organizations accumulate.
pub const ORGANIZATIONS_PER_CONNECTION: usize = 100;

/// The lanes, shared by every request.
#[derive(Clone)]
pub struct Lanes(Arc<Mutex<State>>);

struct State {
    busy: Vec<bool>,
    queues: Vec<VecDeque<oneshot::Sender<Lease>>>,
}

/// The right to use one lane's connection; handed to the next waiter when dropped.
pub struct Lease {
    lanes: Lanes,
    lane: usize,
    home: usize,
    armed: bool,
}

impl Lease {
    /// The lane held.
    pub fn lane(&self) -> usize {
        self.lane
    }

    /// Whether the lane held is the home of the request it was acquired for.
    pub fn at_home(&self) -> bool {
        self.lane == self.home
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.armed {
            self.lanes.release(self.lane);
        }
    }
}

fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state is consistent after every statement; a panic elsewhere leaves it usable.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Lanes {
    /// `count` lanes, all free.
    pub fn new(count: usize) -> Self {
        let count = count.max(1);
        Self(Arc::new(Mutex::new(State {
            busy: vec![false; count],
            queues: (0..count).map(|_| VecDeque::new()).collect(),
        })))
    }

    /// Requests waiting for a lane.
    pub fn waiting(&self) -> usize {
        lock(&self.0).queues.iter().map(VecDeque::len).sum()
    }

    /// A stable key for a tenant, from which its home lane is chosen.
    pub fn key_of(name: &str) -> u64 {
        let mut hasher = DefaultHasher::new();
        name.hash(&mut hasher);
        hasher.finish()
    }

    /// Takes the lane `home % count` if free, else any free lane, else waits at home.
    pub async fn acquire(&self, home: u64) -> Lease {
        loop {
            let rx = {
                let mut state = lock(&self.0);
                let count = state.busy.len();
                let home = (home % count as u64) as usize;
                let free = if state.busy[home] {
                    state.busy.iter().position(|busy| !busy)
                } else {
                    Some(home)
                };
                if let Some(lane) = free {
                    state.busy[lane] = true;
                    return self.lease(lane, home);
                }
                let (tx, rx) = oneshot::channel();
                state.queues[home].push_back(tx);
                rx
            };
            // A queued request is always answered: a lane is handed over, or (should
            // its turn ever be dropped unsent) it asks again.
            if let Ok(lease) = rx.await {
                return lease;
            }
        }
    }

    fn lease(&self, lane: usize, home: usize) -> Lease {
        Lease {
            lanes: self.clone(),
            lane,
            home,
            armed: true,
        }
    }

    /// Hands `lane` to the next waiter (its own queue first, then the longest), or
    /// marks it free. A waiter that gave up is skipped.
    fn release(&self, lane: usize) {
        loop {
            let next = {
                let mut state = lock(&self.0);
                let from = if state.queues[lane].is_empty() {
                    (0..state.queues.len()).max_by_key(|&q| state.queues[q].len())
                } else {
                    Some(lane)
                };
                match from.and_then(|q| Some((q, state.queues[q].pop_front()?))) {
                    Some(next) => next,
                    None => {
                        state.busy[lane] = false;
                        return;
                    }
                }
            };
            // Sent outside the lock: a lease that cannot be delivered is disarmed and
            // the lane offered to the next waiter. One delivered but never received is
            // dropped with the channel, and its own drop releases the lane.
            let (home, tx) = next;
            match tx.send(self.lease(lane, home)) {
                Ok(()) => return,
                Err(mut undelivered) => undelivered.armed = false,
            }
        }
    }
}

/// The distinct tenants each lane's current connection has served.
pub struct Served(Mutex<Vec<Seen>>);

#[derive(Default)]
struct Seen {
    connection: Option<Instant>,
    tenants: HashSet<u64>,
    created: usize,
}

impl Seen {
    /// The record of the connection created at `connection`, started afresh when the
    /// lane's connection is a new one.
    fn of(&mut self, connection: Instant) -> &mut Self {
        if self.connection != Some(connection) {
            *self = Seen {
                connection: Some(connection),
                ..Seen::default()
            };
        }
        self
    }
}

impl Served {
    /// Tracking for `lanes` lanes.
    pub fn new(lanes: usize) -> Self {
        Self(Mutex::new((0..lanes).map(|_| Seen::default()).collect()))
    }

    /// Records that the connection created at `connection` on `lane` serves `tenant`;
    /// true when it has now served too many and should be closed after this use.
    pub fn note(&self, lane: usize, connection: Instant, tenant: u64) -> bool {
        let mut lanes = lock(&self.0);
        let seen = lanes[lane].of(connection);
        seen.tenants.insert(tenant);
        if seen.tenants.len() >= TENANTS_PER_CONNECTION {
            *seen = Seen::default();
            return true;
        }
        false
    }

    /// Records that the connection created at `connection` on `lane` creates an
    /// organization; true when it has now created too many and should be closed after
    /// this use.
    pub fn note_created(&self, lane: usize, connection: Instant) -> bool {
        let mut lanes = lock(&self.0);
        let seen = lanes[lane].of(connection);
        seen.created += 1;
        if seen.created >= ORGANIZATIONS_PER_CONNECTION {
            *seen = Seen::default();
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn soon<F: std::future::Future>(f: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(5), f)
            .await
            .expect("a free lane is handed over at once")
    }

    #[tokio::test]
    async fn a_tenant_uses_its_home_lane_and_another_free_one_when_home_is_busy() {
        let lanes = Lanes::new(3);
        let first = soon(lanes.acquire(4)).await;
        assert_eq!(first.lane(), 1);
        assert!(first.at_home());
        let second = soon(lanes.acquire(4)).await;
        assert_ne!(
            second.lane(),
            1,
            "a busy home sends the request to a free lane"
        );
        assert!(!second.at_home());
        drop(first);
        assert_eq!(soon(lanes.acquire(1)).await.lane(), 1);
    }

    #[tokio::test]
    async fn a_freed_lane_serves_its_own_queue_first_then_the_others() {
        let lanes = Lanes::new(2);
        let zero = soon(lanes.acquire(0)).await;
        let one = soon(lanes.acquire(1)).await;
        // Two wait at lane 1, one at lane 0.
        let at_one_a = tokio::spawn({
            let l = lanes.clone();
            async move { l.acquire(1).await.lane() }
        });
        let at_one_b = tokio::spawn({
            let l = lanes.clone();
            async move { l.acquire(1).await.lane() }
        });
        let at_zero = tokio::spawn({
            let l = lanes.clone();
            async move {
                let lease = l.acquire(0).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                lease.lane()
            }
        });
        while lanes.waiting() < 3 {
            tokio::task::yield_now().await;
        }
        // Lane 0 comes free: its own waiter first.
        drop(zero);
        assert_eq!(soon(at_zero).await.unwrap(), 0);
        // Lane 0 again free, its queue empty: it serves lane 1's queue while lane 1
        // is still held.
        assert_eq!(soon(at_one_a).await.unwrap(), 0);
        assert_eq!(soon(at_one_b).await.unwrap(), 0);
        assert_eq!(lanes.waiting(), 0);
        drop(one);
    }

    #[tokio::test]
    async fn a_waiter_that_gave_up_does_not_keep_the_lane() {
        let lanes = Lanes::new(1);
        let held = soon(lanes.acquire(0)).await;
        let gave_up = tokio::time::timeout(Duration::from_millis(20), lanes.acquire(0)).await;
        assert!(gave_up.is_err());
        drop(held);
        assert_eq!(soon(lanes.acquire(0)).await.lane(), 0);
    }

    #[test]
    fn a_connection_is_retired_after_serving_many_tenants_and_a_new_one_starts_afresh() {
        let served = Served::new(1);
        let old = Instant::now();
        for tenant in 0..TENANTS_PER_CONNECTION as u64 - 1 {
            assert!(!served.note(0, old, tenant));
        }
        // Tenants already counted do not count again.
        assert!(!served.note(0, old, 0));
        assert!(served.note(0, old, u64::MAX));
        let new = old + Duration::from_millis(1);
        assert!(!served.note(0, new, 1));
    }

    #[test]
    fn a_connection_is_retired_after_creating_many_organizations() {
        let served = Served::new(2);
        let old = Instant::now();
        for _ in 0..ORGANIZATIONS_PER_CONNECTION - 1 {
            assert!(!served.note_created(0, old));
        }
        // The other lane's connection counts on its own.
        assert!(!served.note_created(1, old));
        assert!(served.note_created(0, old));
        // Its replacement starts from nothing.
        let new = old + Duration::from_millis(1);
        assert!(!served.note_created(0, new));
    }
}
