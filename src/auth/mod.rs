//! Authentication: passwords, sessions, CSRF.

pub mod csrf;
pub mod login;
pub mod password;
pub mod session;
pub mod session_store;
pub mod tokens;
