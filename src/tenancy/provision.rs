//! Creating an organization: registry row, schema, tables, first admin, in one
//! transaction. Either all of it exists afterwards or none of it does.

use diesel::prelude::*;

use crate::auth::password::PasswordHasher;
use crate::db::{Db, migrate, schema::public::tenants};
use crate::domain::{
    BusinessType, Country, Email, FieldError, NewPassword, OrganizationName, PasswordPolicy,
    PersonName, Role, TenantSlug,
};
use crate::error::{AppError, AppResult};
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::authentik_outbox::Outbox;
use crate::models::platform_audit;
use crate::models::spare_schema;
use crate::models::tenant::{Tenant, TenantRow};
use crate::models::user::{self, User};

/// What a sign-up form or API call submits, as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct SignupInput {
    /// Organization name.
    #[serde(default)]
    pub company_name: String,
    /// Business type key.
    #[serde(default)]
    pub business_type: String,
    /// ISO country code.
    #[serde(default)]
    pub country: String,
    /// The admin's name.
    #[serde(default)]
    pub name: String,
    /// The admin's email.
    #[serde(default)]
    pub email: String,
    /// The admin's password.
    #[serde(default)]
    pub password: String,
    /// Wanted address; derived from the name when empty.
    #[serde(default)]
    pub slug: Option<String>,
}

/// The organization part of a sign-up, parsed.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    /// Display name.
    pub name: OrganizationName,
    /// Business type.
    pub business_type: BusinessType,
    /// Country.
    pub country: Country,
    /// Address.
    pub slug: TenantSlug,
}

/// A whole sign-up, parsed: the organization and its first admin.
#[derive(Debug, Clone)]
pub struct Signup {
    /// The organization.
    pub organization: NewOrganization,
    /// Admin's name.
    pub name: PersonName,
    /// Admin's email.
    pub email: Email,
    /// Admin's password.
    pub password: NewPassword,
}

impl SignupInput {
    /// Parses every field, reporting all problems at once.
    pub fn parse(&self, policy: PasswordPolicy) -> Result<Signup, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = keep(&mut errors, OrganizationName::parse(&self.company_name));
        let business_type = keep(&mut errors, BusinessType::parse(&self.business_type));
        let country = keep(&mut errors, Country::parse(&self.country));
        let person = keep(&mut errors, PersonName::parse(&self.name));
        let email = keep(&mut errors, Email::parse(&self.email));
        let wanted = self
            .slug
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let slug = match wanted {
            Some(s) => keep(&mut errors, TenantSlug::parse(s)),
            None if self.company_name.trim().is_empty() => None,
            None => keep(
                &mut errors,
                TenantSlug::suggest(&self.company_name).ok_or_else(|| {
                    FieldError::new(
                        "slug",
                        "Choose an address for your organization (for example acme-labs).",
                    )
                }),
            ),
        };
        let context = [
            self.email.as_str(),
            self.name.as_str(),
            self.company_name.as_str(),
        ];
        let password = keep(
            &mut errors,
            NewPassword::parse(&self.password, policy, &context),
        );
        match (name, business_type, country, person, email, slug, password) {
            (
                Some(name),
                Some(business_type),
                Some(country),
                Some(person),
                Some(email),
                Some(slug),
                Some(password),
            ) if errors.is_empty() => Ok(Signup {
                organization: NewOrganization {
                    name,
                    business_type,
                    country,
                    slug,
                },
                name: person,
                email,
                password,
            }),
            _ => Err(errors),
        }
    }
}

fn keep<T>(errors: &mut Vec<FieldError>, r: Result<T, FieldError>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// The message for an address that is already in use.
pub fn slug_taken(slug: &TenantSlug) -> AppError {
    AppError::Validation(vec![FieldError::new(
        "slug",
        format!("The address {slug} is already taken. Choose another."),
    )])
}

/// Creates the organization and signs up its admin; Authentik follows through the
/// outbox when provisioning is on. `welcome` runs last inside the same transaction
/// (e.g. queueing the confirmation mail), so nothing is left to do after the commit
/// that could fail.
pub async fn create_organization<W>(
    db: &Db,
    hasher: &PasswordHasher,
    outbox: Outbox,
    signup: Signup,
    meta: RequestMeta,
    welcome: W,
) -> AppResult<(Tenant, User)>
where
    W: FnOnce(&mut PgConnection, &Tenant, &User) -> AppResult<()> + Send + 'static,
{
    let hash = hasher.hash(&signup.password).await?;
    db.creating(move |conn| {
        conn.transaction(|conn| {
            let tenant = insert_tenant(conn, &signup.organization, signup.email.as_str())?;
            let user = user::insert_signing_in(
                conn,
                &signup.email,
                &signup.name,
                Some(&hash),
                Role::Admin,
            )?;
            // Authentik follows from the outbox, committed with the organization itself.
            outbox.tenant_created(conn, tenant.slug.as_str())?;
            outbox.person_changed(conn, tenant.slug.as_str(), &user, "created")?;
            let actor = AuditEvent::new("organization.created")
                .actor(Some(user.id), Some(&user.email))
                .target(tenant.slug.as_str());
            audit::record(conn, tenant.slug.as_str(), &meta, actor)?;
            let joined = AuditEvent::new("user.signed_up")
                .actor(Some(user.id), Some(&user.email))
                .target(&user.email)
                .details(serde_json::json!({ "role": "admin", "method": "password" }));
            audit::record(conn, tenant.slug.as_str(), &meta, joined)?;
            welcome(conn, &tenant, &user)?;
            Ok((tenant, user))
        })
    })
    .await
}

diesel::table! {
    pg_catalog.pg_namespace (nspname) {
        nspname -> Text,
    }
}

/// Registers a tenant and builds its schema, inside the caller's transaction.
/// Leaves the transaction's search path on the new tenant.
pub fn insert_tenant(
    conn: &mut PgConnection,
    org: &NewOrganization,
    created_by: &str,
) -> AppResult<Tenant> {
    let row: TenantRow = diesel::insert_into(tenants::table)
        .values((
            tenants::slug.eq(org.slug.as_str()),
            tenants::schema_name.eq(org.slug.schema_name().as_str()),
            tenants::name.eq(org.name.as_str()),
            tenants::business_type.eq(org.business_type.key()),
            tenants::country.eq(org.country.code()),
        ))
        .on_conflict_do_nothing()
        .returning(TenantRow::as_returning())
        .get_result(conn)
        .optional()?
        .ok_or_else(|| slug_taken(&org.slug))?;
    let tenant = row.into_tenant()?;
    // A schema left behind outside the registry is never adopted by a new tenant.
    let leftover: bool = diesel::select(diesel::dsl::exists(
        pg_namespace::table.filter(pg_namespace::nspname.eq(tenant.schema.as_str())),
    ))
    .get_result(conn)?;
    if leftover {
        return Err(slug_taken(&org.slug));
    }
    // A ready spare becomes the organization's schema by a rename; the migrations then
    // only confirm it is current (or bring it up to date when a deploy added one since).
    // Without a spare the schema is built here, as before.
    if let Some(spare) = spare_schema::take(conn)? {
        diesel::sql_query(format!(
            "ALTER SCHEMA {} RENAME TO {}",
            spare.quoted(),
            tenant.schema.quoted()
        ))
        .execute(conn)?;
    }
    migrate::migrate_tenant(conn, &tenant.schema).map_err(AppError::Internal)?;
    platform_audit::record(
        conn,
        created_by,
        "tenant.created",
        tenant.slug.as_str(),
        serde_json::json!({}),
    )?;
    Ok(tenant)
}
