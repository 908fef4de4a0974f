//! tenant-portal: a multi-tenant organization portal.
//!
//! [`app::Application::build`] builds the whole portal from [`config::Settings`]; the
//! command-line tool and every integration test go through it.

pub mod access;
pub mod api;
pub mod app;
pub mod auth;
pub mod authentik;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod display;
pub mod domain;
pub mod error;
pub mod health;
pub mod mail;
pub mod members;
pub mod models;
pub mod platform;
pub mod telemetry;
pub mod tenancy;
pub mod web;
