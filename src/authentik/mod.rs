//! Keeping Authentik in step with the portal through its admin API.
//!
//! The [`client`] talks to Authentik (Bearer token, retries, circuit breaker) with the
//! typed [`models`] of its API schema.

pub mod breaker;
pub mod client;
pub mod models;
mod ops;

pub use client::{AuthentikClient, AuthentikError};
