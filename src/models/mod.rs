//! The model layer: one module per table, each with its row type, its typed columns
//! and its queries (diesel DSL on `db::schema`). Services work through these; they do
//! not hold rows of their own.

pub mod api_session;
pub mod audit_log;
pub mod audit_sentence;
pub mod authentik_outbox;
pub mod invitation;
pub mod lease;
pub mod login_throttle;
pub mod mail_outbox;
pub mod passkey;
pub mod platform_admin;
pub mod platform_audit;
pub mod second_factor;
pub mod spare_schema;
pub mod sql_enum;
pub mod tenant;
pub mod tenant_settings;
pub mod user;
pub mod user_token;
