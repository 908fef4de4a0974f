//! The integration tests, one binary: a module per capability, and `common`, the
//! harness they share. Each test starts the real portal on a random port against the
//! real PostgreSQL (a fresh database of its own) and Redis, so tests run in parallel.
//! Run some with a filter on the module path, e.g. `cargo nextest run signup::`.

mod common;

mod api_contract;
mod api_users;
mod architecture;
mod audit;
mod authentik_client;
mod authentik_provisioning;
mod authentik_sync;
mod authentik_workers;
mod blueprint;
mod browser;
mod browser_passkeys;
mod browser_sso;
mod browser_tour;
mod cli;
mod csrf;
mod email_verification;
mod faults;
mod health;
mod jwks;
mod lockout;
mod login;
mod mail;
mod members;
mod metrics;
mod migrate_interrupted;
mod newcomer;
mod overload;
mod passkeys;
mod passkeys_second_factor;
mod password_reset;
mod platform;
mod platform_authentik;
mod platform_lifecycle;
mod platform_orgs;
mod profile;
mod rate_limit;
mod registration;
mod schemathesis;
mod second_factor;
mod second_factor_admin;
mod second_factor_policy;
mod session_lifetime;
mod shutdown;
mod signup;
mod spare_schemas;
mod sso;
mod sso_adversarial;
mod sso_settings;
mod tenancy;
mod token_api;
mod unstorable_text;
