//! `portal tenant list|create` and `portal demo`.

use diesel::prelude::*;

use super::admins::generate_password;
use super::{all_tenants, connect, field};
use crate::auth::password::PasswordHasher;
use crate::config::Settings;
use crate::db::{migrate, schema::tenant::users};
use crate::domain::{BusinessType, Country, Email, OrganizationName, PersonName, Role, TenantSlug};
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::authentik_outbox::Outbox;
use crate::models::user;
use crate::tenancy::{Tenant, provision};

pub(super) fn tenant_list(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = connect(settings)?;
    let tenants = all_tenants(&mut conn)?;
    // The slug and country types print without honouring a width, so the columns are
    // laid out from plain strings.
    let rows: Vec<[String; 4]> = tenants
        .iter()
        .map(|t| {
            let status = match t.status {
                crate::tenancy::TenantStatus::Active => "active",
                crate::tenancy::TenantStatus::Suspended => "suspended",
            };
            [
                t.slug.to_string(),
                status.to_string(),
                t.country.to_string(),
                t.name.clone(),
            ]
        })
        .collect();
    print!("{}", table(["SLUG", "STATUS", "COUNTRY", "NAME"], &rows));
    println!(
        "{}",
        crate::display::count(tenants.len() as i64, "organization", "organizations")
    );
    Ok(())
}

/// Columns padded to their widest cell (counted in characters), two spaces apart;
/// the last column is not padded.
fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
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

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up_whatever_the_cell_widths() {
        let rows = [
            [
                "a-very-long-slug".to_string(),
                "active".into(),
                "NL".into(),
                "Ä Co".into(),
            ],
            [
                "ab".to_string(),
                "suspended".into(),
                "US".into(),
                "B".into(),
            ],
        ];
        let out = super::table(["SLUG", "STATUS", "COUNTRY", "NAME"], &rows);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "SLUG              STATUS     COUNTRY  NAME");
        assert_eq!(lines[1], "a-very-long-slug  active     NL       Ä Co");
        assert_eq!(lines[2], "ab                suspended  US       B");
    }
}
