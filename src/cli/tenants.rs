//! `portal tenant list|create` and `portal demo`.

use diesel::prelude::*;

use super::admins::generate_password;
use secrecy::ExposeSecret;

use super::{all_tenants, connect, field};
use crate::auth::password::PasswordHasher;
use crate::config::Settings;
use crate::db::{migrate, schema::tenant::users};
use crate::domain::{BusinessType, Country, Email, OrganizationName, PersonName, Role, TenantSlug};
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::authentik_outbox::Outbox;
use crate::models::user;
use crate::tenancy::{Tenant, provision};

/// Organizations read per round trip by `portal tenant list`.
const LIST_BATCH: i64 = 500;

/// Prints every organization page by page (keyset on the slug), so 10,000
/// organizations never sit in memory at once; the running count is the progress.
pub(super) fn tenant_list(settings: &Settings) -> anyhow::Result<()> {
    use crate::models::tenant::{Cursor, ListFilter, list};
    let mut conn = connect(settings)?;
    println!(
        "{:<40} {:<10} {:>8} {:<17} NAME",
        "SLUG", "STATUS", "MEMBERS", "LAST ACTIVITY"
    );
    let mut cursor = Cursor::First;
    let mut seen = 0usize;
    loop {
        let filter = ListFilter {
            search: None,
            status: None,
            cursor: cursor.clone(),
        };
        let page = list(&mut conn, &filter, LIST_BATCH).map_err(|e| anyhow::anyhow!("{e}"))?;
        for t in &page {
            let activity = t
                .last_activity_at
                .map(crate::display::minute)
                .unwrap_or_else(|| "never".into());
            println!(
                "{:<40} {:<10} {:>8} {:<17} {}",
                t.slug,
                t.status,
                t.member_count,
                activity.trim_end_matches(" UTC"),
                t.name
            );
        }
        seen += page.len();
        match page.last() {
            Some(last) if page.len() as i64 == LIST_BATCH => {
                eprintln!(
                    "... {} so far",
                    crate::display::count(seen as i64, "organization", "organizations")
                );
                cursor = Cursor::After(last.slug.clone());
            }
            _ => break,
        }
    }
    println!(
        "{}",
        crate::display::count(seen as i64, "organization", "organizations")
    );
    Ok(())
}

/// `portal tenant delete <slug>`: closes the organization now; its schema is dropped
/// once the grace period (`TENANT_DELETE_GRACE_DAYS`) is over.
pub(super) fn tenant_delete(settings: &Settings, slug: &str) -> anyhow::Result<()> {
    let slug = field(TenantSlug::parse(slug))?;
    let grace = settings.tenant_delete_grace;
    // The pool lives and dies inside the runtime: its connections close on its threads.
    let purge = super::runtime()?.block_on(async {
        let db = crate::db::Db::new(settings.database_url.expose_secret(), 1)?;
        let registry = crate::tenancy::TenantRegistry::new(db.clone());
        let outbox = Outbox::new(settings.authentik.is_some());
        crate::platform::request_deletion(
            &db,
            &registry,
            outbox,
            "portal tenant delete",
            &slug,
            grace,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.explain().1))
    })?;
    println!(
        "{slug} is closed; its data is dropped after {} unless restored (portal tenant restore {slug})",
        crate::display::minute(purge)
    );
    Ok(())
}

/// `portal tenant restore <slug>`: undoes a deletion during its grace period.
pub(super) fn tenant_restore(settings: &Settings, slug: &str) -> anyhow::Result<()> {
    let slug = field(TenantSlug::parse(slug))?;
    super::runtime()?.block_on(async {
        let db = crate::db::Db::new(settings.database_url.expose_secret(), 1)?;
        let registry = crate::tenancy::TenantRegistry::new(db.clone());
        let outbox = Outbox::new(settings.authentik.is_some());
        crate::platform::restore(&db, &registry, outbox, "portal tenant restore", &slug)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.explain().1))
    })?;
    println!("{slug} is restored: its people can sign in again");
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn tenant_create(
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
    let hasher = PasswordHasher::single(settings.password_hash_rounds)?;
    let outbox = Outbox::new(settings.authentik.is_some());
    let password = generate_password();
    let hash = hasher.hash_blocking(&password)?;
    let mut conn = connect(settings)?;
    migrate::migrate_public(&mut conn)?;
    let tenant = conn
        .transaction(|conn| -> Result<Tenant, crate::error::AppError> {
            let tenant = provision::insert_tenant(conn, &org, "portal tenant create")?;
            outbox.tenant_created(conn, tenant.slug.as_str())?;
            if let Some((email, name)) = &admin {
                let user = user::insert(conn, email, name, Some(&hash), Role::Admin)?;
                user::mark_verified(conn, user.id)?;
                outbox.person_changed(conn, tenant.slug.as_str(), &user, "created")?;
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

pub(super) fn demo(settings: &Settings) -> anyhow::Result<()> {
    let slug = field(TenantSlug::parse("demo"))?;
    let email = field(Email::parse("admin@demo.example"))?;
    let name = field(PersonName::parse("Demo Admin"))?;
    let hasher = PasswordHasher::single(settings.password_hash_rounds)?;
    let outbox = Outbox::new(settings.authentik.is_some());
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
                outbox.tenant_created(conn, t.slug.as_str())?;
                t
            }
        };
        let id = match user::find_by_email(conn, &email)? {
            Some(u) => {
                diesel::update(users::table.find(u.id))
                    .set((users::password_hash.eq(&hash), users::status.eq("active")))
                    .execute(conn)?;
                u.id
            }
            None => {
                let user = user::insert(conn, &email, &name, Some(&hash), Role::Admin)?;
                outbox.person_changed(conn, tenant.slug.as_str(), &user, "created")?;
                user.id
            }
        };
        user::mark_verified(conn, id)?;
        let ev = AuditEvent::new("user.password_set")
            .actor(None, Some("portal demo"))
            .target(email.as_str());
        audit::record(conn, tenant.slug.as_str(), &RequestMeta::default(), ev)?;
        super::demo_people::seed(
            conn,
            tenant.slug.as_str(),
            &outbox,
            (id, email.as_str()),
            &hash,
        )
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
