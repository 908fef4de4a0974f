//! Authentication: passwords, passkeys, sessions, CSRF, single sign-on.

pub mod api_tokens;
pub mod exchange;
pub mod jwks;
pub mod login;
pub mod oidc;
pub mod passkeys;
pub mod password;
pub mod rate_limit;
pub mod recovery;
pub mod redis_gate;
pub mod second_factor;
pub mod session_store;
pub mod signing;
pub mod signing_cli;
pub mod sso;

pub mod verification;
