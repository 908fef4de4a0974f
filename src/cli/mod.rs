//! The `portal` command: the verbs an operator uses.

use clap::{Parser, Subcommand};
use diesel::prelude::*;
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::models::tenant::Tenant;

mod admins;
mod check;
mod demo_people;
mod migrate;
mod tenants;

use admins::{admin_create, admin_reset};
use check::check;
use tenants::{demo, tenant_create, tenant_delete, tenant_list, tenant_restore};

/// tenant-portal: a multi-tenant organization portal.
#[derive(Parser)]
#[command(name = "portal", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal on PORTAL_BIND.
    Serve,
    /// Apply pending migrations to the registry and to every tenant schema, several
    /// schemas at a time, each in its own transaction (a stopped run leaves every schema
    /// migrated or untouched; run it again to continue).
    Migrate {
        /// Schemas migrated at once (default: twice the cores, 2 to 8).
        #[arg(long)]
        jobs: Option<usize>,
        /// Only list which migrations would run in which schema; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Only this organization's schema (after the registry).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Create (or refresh) the demo organization and print its sign-in.
    Demo,
    /// Manage organizations.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage platform super-admins.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Check the configuration and that PostgreSQL and Redis answer.
    Check,
    /// Keep Authentik in step with the portal.
    #[command(subcommand)]
    Authentik(AuthentikCommand),
    /// The portal's token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// List the published keys and which one signs.
    List,
    /// Make a new signing key: published now, signing after
    /// JWT_SIGNING_KEY_PUBLISH_AHEAD_MINUTES (or at once with --now).
    Rotate {
        /// Sign with it at once (a suspected leak); verifiers learn it on their next
        /// key set fetch.
        #[arg(long)]
        now: bool,
    },
}

#[derive(Subcommand)]
enum AuthentikCommand {
    /// Reconcile Authentik with every organization: create missing groups and users,
    /// fix group membership, and report what changed.
    Sync {
        /// Only this organization.
        #[arg(long)]
        tenant: Option<String>,
        /// Only report what would change.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show the outbox backlog and the changes Authentik refused.
    Status {
        /// Queue the failed changes again (after fixing their cause).
        #[arg(long)]
        retry_failed: bool,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create an organization with its own schema.
    Create {
        /// Its address, /t/<slug>.
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Business type key.
        #[arg(long, default_value = "other")]
        business_type: String,
        /// ISO country code.
        #[arg(long, default_value = "US")]
        country: String,
        /// Also create an admin with this email (password printed once).
        #[arg(long)]
        admin_email: Option<String>,
        /// The admin's name.
        #[arg(long, default_value = "Administrator")]
        admin_name: String,
    },
    /// List organizations.
    List,
    /// Delete an organization: closed now, its data dropped after the grace period.
    Delete {
        /// Its address.
        slug: String,
    },
    /// Undo a deletion during its grace period.
    Restore {
        /// Its address.
        slug: String,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a platform super-admin.
    Create {
        /// Email.
        #[arg(long)]
        email: String,
        /// Name.
        #[arg(long, default_value = "Platform admin")]
        name: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password for a platform super-admin.
    ResetPassword {
        /// Email.
        #[arg(long)]
        email: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Runs the command line; returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            eprintln!("Fix these in the environment or in .env (see .env.example).");
            return 2;
        }
    };
    crate::telemetry::init(settings.log_json);
    let result = match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate {
            jobs,
            dry_run,
            tenant,
        } => migrate::run(
            &settings,
            migrate::Options {
                jobs,
                dry_run,
                tenant,
            },
        ),
        Command::Demo => demo(&settings),
        Command::Tenant(TenantCommand::List) => tenant_list(&settings),
        Command::Tenant(TenantCommand::Delete { slug }) => tenant_delete(&settings, &slug),
        Command::Tenant(TenantCommand::Restore { slug }) => tenant_restore(&settings, &slug),
        Command::Tenant(TenantCommand::Create {
            slug,
            name,
            business_type,
            country,
            admin_email,
            admin_name,
        }) => tenant_create(
            &settings,
            &slug,
            &name,
            &business_type,
            &country,
            admin_email.as_deref(),
            &admin_name,
        ),
        Command::Admin(AdminCommand::Create {
            email,
            name,
            password_stdin,
        }) => admin_create(&settings, &email, &name, password_stdin),
        Command::Admin(AdminCommand::ResetPassword {
            email,
            password_stdin,
        }) => admin_reset(&settings, &email, password_stdin),
        Command::Check => return check(settings),
        Command::Authentik(AuthentikCommand::Sync { tenant, dry_run }) => {
            runtime().and_then(|rt| {
                rt.block_on(crate::authentik::sync::cli_sync(
                    &settings,
                    tenant.as_deref(),
                    dry_run,
                ))
            })
        }
        Command::Authentik(AuthentikCommand::Status { retry_failed }) => runtime().and_then(|rt| {
            rt.block_on(crate::authentik::sync::cli_status(&settings, retry_failed))
        }),
        Command::Keys(cmd) => {
            let rotate = match cmd {
                KeysCommand::List => None,
                KeysCommand::Rotate { now } => Some(now),
            };
            runtime().and_then(|rt| rt.block_on(crate::auth::signing_cli::run(&settings, rotate)))
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    for w in &settings.warnings {
        tracing::warn!("{w}");
    }
    runtime()?.block_on(async move {
        let bind = settings.bind;
        let base = settings.base_url.clone();
        let app = crate::app::Application::build(settings).await?;
        tracing::info!(%bind, url = %base, "tenant-portal listening");
        app.serve().await?;
        Ok(())
    })
}

fn connect(settings: &Settings) -> anyhow::Result<PgConnection> {
    PgConnection::establish(settings.database_url.expose_secret())
        .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL (DATABASE_URL): {e}"))
}

fn all_tenants(conn: &mut PgConnection) -> anyhow::Result<Vec<Tenant>> {
    crate::models::tenant::all(conn).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A domain refusal, as the command's error.
fn field<T>(r: Result<T, crate::domain::FieldError>) -> anyhow::Result<T> {
    r.map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))
}
