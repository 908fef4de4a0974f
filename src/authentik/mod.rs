//! Keeping Authentik in step with the portal through its admin API.
//!
//! Local changes write an [`outbox`] row in their own transaction; the [`worker`]
//! delivers it with the [`client`] (retries, circuit breaker) and the idempotent steps
//! of [`reconcile`]; `portal authentik sync` ([`sync`]) repairs drift.

pub mod breaker;
pub mod client;
pub mod models;
mod ops;
pub mod outbox;
pub mod reconcile;
pub mod sync;
pub mod worker;

pub use client::{AuthentikClient, AuthentikError};
