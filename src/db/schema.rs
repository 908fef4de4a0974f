//! Table definitions for diesel, generated from the migrations by `diesel print-schema`
//! (diesel.toml says how; `scripts/check-schema` checks them and `--write` regenerates
//! them). Edit the migrations, never the generated files.
//!
//! Every table is declared unqualified. Tenant tables must be, so that the transaction's
//! `search_path` picks the tenant's schema; diesel leaves `public` tables unqualified as
//! its default schema, and they resolve through `search_path` too (`public` is on it in
//! every transaction). That is safe because no public table shares a name with a tenant
//! table, which `scripts/check-schema` checks.

/// Tables of the platform registry (`public` schema, `migrations/public`).
pub mod public;
/// Tables inside each tenant schema (`migrations/tenant`).
pub mod tenant;
