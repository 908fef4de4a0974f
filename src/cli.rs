//! The `portal` command: the verbs an operator uses.

use std::io::{BufRead, IsTerminal};

use clap::{Parser, Subcommand};
use diesel::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;
use secrecy::ExposeSecret;

use crate::audit::{self, AuditEvent, RequestMeta};
use crate::auth::password::PasswordHasher;
use crate::authentik::outbox;
use crate::config::Settings;
use crate::db::{migrate, schema::public::platform_admins, schema::tenant::users};
use crate::domain::{
    BusinessType, Country, Email, NewPassword, OrganizationName, PasswordPolicy, PersonName, Role,
    TenantSlug,
};
use crate::members;
use crate::tenancy::{Tenant, provision, registry::TenantRow};

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
    /// Apply pending migrations to the registry and to every tenant schema.
    Migrate,
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
        Command::Migrate => migrate_all(&settings),
        Command::Demo => demo(&settings),
        Command::Tenant(TenantCommand::List) => tenant_list(&settings),
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
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn connect(settings: &Settings) -> anyhow::Result<PgConnection> {
    PgConnection::establish(settings.database_url.expose_secret())
        .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL (DATABASE_URL): {e}"))
}

fn all_tenants(conn: &mut PgConnection) -> anyhow::Result<Vec<Tenant>> {
    use crate::db::schema::public::tenants;
    let rows: Vec<TenantRow> = tenants::table
        .order(tenants::slug.asc())
        .select(TenantRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|r| r.into_tenant().map_err(|e| anyhow::anyhow!("{e}")))
        .collect()
}

/// Applies public migrations, then tenant migrations in every tenant schema.
pub fn migrate_all(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = connect(settings)?;
    let n = migrate::migrate_public(&mut conn)?;
    println!("registry: {n} migration(s) applied");
    let tenants = all_tenants(&mut conn)?;
    let bar = ProgressBar::new(tenants.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("tenants {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut applied = 0;
    for t in &tenants {
        bar.set_message(t.slug.to_string());
        applied += migrate::migrate_tenant(&mut conn, &t.schema)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "tenants: {} schema(s) checked, {applied} migration(s) applied",
        tenants.len()
    );
    Ok(())
}

fn tenant_list(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = connect(settings)?;
    let tenants = all_tenants(&mut conn)?;
    println!("{:<40} {:<10} {:<8} NAME", "SLUG", "STATUS", "COUNTRY");
    for t in &tenants {
        let status = match t.status {
            crate::tenancy::TenantStatus::Active => "active",
            crate::tenancy::TenantStatus::Suspended => "suspended",
        };
        println!("{:<40} {:<10} {:<8} {}", t.slug, status, t.country, t.name);
    }
    println!("{} organization(s)", tenants.len());
    Ok(())
}

fn field<T>(r: Result<T, crate::domain::FieldError>) -> anyhow::Result<T> {
    r.map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))
}

#[allow(clippy::too_many_arguments)]
fn tenant_create(
    settings: &Settings,
    slug: &str,
    name: &str,
    business_type: &str,
    country: &str,
    admin_email: Option<&str>,
    admin_name: &str,
) -> anyhow::Result<()> {
    let org = provision::NewOrganization {
        name: field(OrganizationName::parse(name))?,
        business_type: field(BusinessType::parse(business_type))?,
        country: field(Country::parse(country))?,
        slug: field(TenantSlug::parse(slug))?,
    };
    let admin = match admin_email {
        Some(e) => Some((
            field(Email::parse(e))?,
            field(PersonName::parse(admin_name))?,
        )),
        None => None,
    };
    let hasher = PasswordHasher::new(settings.password_hash_rounds)?;
    let password = generate_password();
    let hash = hasher.hash_blocking(&password)?;
    let mut conn = connect(settings)?;
    migrate::migrate_public(&mut conn)?;
    let tenant = conn
        .transaction(|conn| -> Result<Tenant, crate::error::AppError> {
            let tenant = provision::insert_tenant(conn, &org, "portal tenant create")?;
            outbox::enqueue_tenant(conn, tenant.slug.as_str())?;
            if let Some((email, name)) = &admin {
                let user = members::insert(conn, email, name, Some(&hash), Role::Admin)?;
                members::mark_verified(conn, user.id)?;
                outbox::enqueue_person(conn, tenant.slug.as_str(), &user, "created")?;
                let ev = AuditEvent::new("user.created")
                    .actor(None, Some("portal tenant create"))
                    .target(&user.email)
                    .details(serde_json::json!({ "role": "admin" }));
                audit::record(conn, tenant.slug.as_str(), &RequestMeta::default(), ev)?;
            }
            Ok(tenant)
        })
        .map_err(|e| anyhow::anyhow!("{}", e.explain().1))?;
    println!("created organization {} ({})", tenant.slug, tenant.name);
    println!("  schema:  {}", tenant.schema.as_str());
    println!("  sign in: {}t/{}/login", settings.base_url, tenant.slug);
    if let Some((email, _)) = admin {
        println!("  admin:   {email}");
        println!("  password: {}  (shown once)", password.expose());
    }
    Ok(())
}

fn demo(settings: &Settings) -> anyhow::Result<()> {
    let slug = field(TenantSlug::parse("demo"))?;
    let email = field(Email::parse("admin@demo.example"))?;
    let name = field(PersonName::parse("Demo Admin"))?;
    let hasher = PasswordHasher::new(settings.password_hash_rounds)?;
    let password = generate_password();
    let hash = hasher.hash_blocking(&password)?;
    let mut conn = connect(settings)?;
    migrate::migrate_public(&mut conn)?;
    let existing = all_tenants(&mut conn)?.into_iter().find(|t| t.slug == slug);
    conn.transaction(|conn| -> Result<(), crate::error::AppError> {
        let tenant = match existing {
            Some(t) => {
                migrate::migrate_tenant(conn, &t.schema)
                    .map_err(crate::error::AppError::Internal)?;
                t
            }
            None => {
                let t = provision::insert_tenant(
                    conn,
                    &provision::NewOrganization {
                        name: OrganizationName::parse("Demo Company")?,
                        business_type: BusinessType::parse("software")?,
                        country: Country::parse("US")?,
                        slug: slug.clone(),
                    },
                    "portal demo",
                )?;
                outbox::enqueue_tenant(conn, t.slug.as_str())?;
                t
            }
        };
        let id = match members::find_by_email(conn, &email)? {
            Some(u) => {
                diesel::update(users::table.find(u.id))
                    .set((users::password_hash.eq(&hash), users::status.eq("active")))
                    .execute(conn)?;
                u.id
            }
            None => {
                let user = members::insert(conn, &email, &name, Some(&hash), Role::Admin)?;
                outbox::enqueue_person(conn, tenant.slug.as_str(), &user, "created")?;
                user.id
            }
        };
        members::mark_verified(conn, id)?;
        let ev = AuditEvent::new("user.password_set")
            .actor(None, Some("portal demo"))
            .target(email.as_str());
        audit::record(conn, tenant.slug.as_str(), &RequestMeta::default(), ev)
    })
    .map_err(|e| anyhow::anyhow!("{}", e.explain().1))?;
    println!();
    println!(
        "  Demo organization ready: {}t/{slug}/login",
        settings.base_url
    );
    println!("  email:    {email}");
    println!("  password: {}", password.expose());
    println!();
    Ok(())
}

fn read_or_generate(password_stdin: bool, context: &[&str]) -> anyhow::Result<(NewPassword, bool)> {
    if !password_stdin {
        return Ok((generate_password(), true));
    }
    if std::io::stdin().is_terminal() {
        eprintln!("Type the password and press Enter:");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let raw = line.trim_end_matches(['\r', '\n']);
    Ok((
        field(NewPassword::parse(raw, PasswordPolicy::default(), context))?,
        false,
    ))
}

fn admin_create(
    settings: &Settings,
    email: &str,
    name: &str,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let email = field(Email::parse(email))?;
    let name = field(PersonName::parse(name))?;
    let (password, generated) = read_or_generate(password_stdin, &[email.as_str(), name.as_str()])?;
    let hash = PasswordHasher::new(settings.password_hash_rounds)?.hash_blocking(&password)?;
    let mut conn = connect(settings)?;
    migrate::migrate_public(&mut conn)?;
    let inserted = diesel::insert_into(platform_admins::table)
        .values((
            platform_admins::email.eq(email.as_str()),
            platform_admins::name.eq(name.as_str()),
            platform_admins::password_hash.eq(&hash),
        ))
        .on_conflict_do_nothing()
        .execute(&mut conn)?;
    if inserted == 0 {
        anyhow::bail!(
            "a platform admin with email {email} already exists; use `portal admin reset-password`"
        );
    }
    println!("created platform super-admin {email}");
    if generated {
        println!("  password: {}  (shown once)", password.expose());
    }
    Ok(())
}

fn admin_reset(settings: &Settings, email: &str, password_stdin: bool) -> anyhow::Result<()> {
    let email = field(Email::parse(email))?;
    let (password, generated) = read_or_generate(password_stdin, &[email.as_str()])?;
    let hash = PasswordHasher::new(settings.password_hash_rounds)?.hash_blocking(&password)?;
    let mut conn = connect(settings)?;
    let updated =
        diesel::update(platform_admins::table.filter(platform_admins::email.eq(email.as_str())))
            .set((
                platform_admins::password_hash.eq(&hash),
                platform_admins::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut conn)?;
    if updated == 0 {
        anyhow::bail!("no platform admin has the email {email}");
    }
    println!("new password set for {email}");
    if generated {
        println!("  password: {}  (shown once)", password.expose());
    }
    Ok(())
}

/// A random password of four groups of five letters and digits: strong and typeable.
pub fn generate_password() -> NewPassword {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let groups: Vec<String> = (0..4)
        .map(|_| {
            (0..5)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect()
        })
        .collect();
    let raw = groups.join("-");
    NewPassword::parse(&raw, PasswordPolicy::default(), &[])
        .unwrap_or_else(|_| unreachable_strong(&raw))
}

fn unreachable_strong(raw: &str) -> NewPassword {
    // 20 random characters from 31 always pass the policy; parse once more with no
    // strength requirement rather than panic if a future policy disagrees.
    let lenient = PasswordPolicy {
        min_chars: 1,
        min_score: 0,
    };
    NewPassword::parse(raw, lenient, &[]).unwrap_or_else(|_| generate_password())
}

fn check(settings: Settings) -> i32 {
    println!(
        "configuration: ok ({:?}, listening on {})",
        settings.environment, settings.bind
    );
    for w in &settings.warnings {
        println!("  warning: {w}");
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    rt.block_on(async move {
        let state = match crate::app::AppState::connect(settings).await {
            Ok(s) => s,
            Err(e) => {
                println!("redis: FAILED ({e})");
                return 1;
            }
        };
        let mut code = 0;
        // Authentik is reported but never fails the check: changes wait in the outbox.
        if let Some(a) = crate::health::authentik(&state).await {
            let status = a["status"].as_str().unwrap_or("unknown");
            match a["error"].as_str() {
                Some(e) => println!("authentik: {status} ({e})"),
                None => println!("authentik: {status}"),
            }
        }
        for (name, r) in crate::health::check(&state).await {
            match r {
                Ok(()) => println!("{name}: ok"),
                Err(e) => {
                    // The pool hides why; a direct connection says it (no password:
                    // libpq's messages never include it).
                    let detail = match name {
                        "database" => {
                            let url = state.settings.database_url.expose_secret().to_string();
                            tokio::task::spawn_blocking(move || PgConnection::establish(&url).err())
                                .await
                                .ok()
                                .flatten()
                                .map(|c| c.to_string().trim().to_string())
                        }
                        _ => None,
                    };
                    println!("{name}: FAILED ({})", detail.unwrap_or(e));
                    code = 1;
                }
            }
        }
        if !check_exchange_keys(&state).await {
            code = 1;
        }
        code
    })
}

/// Fetches the key set the token exchange checks Authentik tokens against and says how
/// many keys it holds; false when it cannot be fetched.
async fn check_exchange_keys(state: &crate::app::AppState) -> bool {
    let Some(ex) = &state.exchange else {
        println!("jwks: not configured (token exchange off: set JWT_ISSUER and JWT_AUDIENCE)");
        return true;
    };
    let keys = match ex.keys().await {
        Ok(k) => k,
        Err(e) => {
            println!("jwks: FAILED (discovery of {}: {e})", ex.settings().issuer);
            return false;
        }
    };
    match keys.refresh().await {
        Ok(n) => {
            println!("jwks: ok ({n} keys at {})", keys.url());
            true
        }
        Err(e) => {
            println!("jwks: FAILED ({}: {e})", keys.url());
            false
        }
    }
}
