//! One organization as the platform sees it: the registry's figures, its sign-in
//! rules, its Authentik backlog and the platform's events about it.

use super::{OrgLine, Platform};
use crate::domain::TenantSlug;
use crate::error::{AppError, AppResult};
use crate::models::authentik_outbox::{self, Backlog};
use crate::models::platform_audit;
use crate::models::second_factor::{AdminFactors, admins_with_factors};
use crate::models::tenant::{self, Listed};
use crate::models::tenant_settings::{self, TenantSettings};

/// Platform events shown on an organization's page.
const EVENTS: i64 = 20;

/// Everything the organization's page shows.
#[derive(Debug, Clone)]
pub struct OrgProfile {
    /// The registry's line (name, status, members, admins' addresses, activity).
    pub line: OrgLine,
    /// Active admins.
    pub admin_count: i32,
    /// Its sign-in rules, read from its schema (none once the schema is dropped).
    pub settings: Option<TenantSettings>,
    /// Its admins and their second factors (empty once the schema is dropped).
    pub admin_factors: Vec<AdminFactors>,
    /// Who asked for its deletion, and when its schema is dropped (or was).
    pub deletion: Option<(String, String)>,
    /// Its Authentik changes waiting or refused, when provisioning is on.
    pub outbox: Option<Backlog>,
    /// The platform's newest events about it: when, who, what.
    pub events: Vec<(String, Option<String>, String)>,
}

/// The page of the organization with this slug; 404 when there is none.
pub async fn organization(
    deps: &Platform<'_>,
    slug: &TenantSlug,
    provisioning: bool,
) -> AppResult<OrgProfile> {
    let key = slug.clone();
    let (listed, found, outbox, events) = deps
        .db
        .run(move |conn| {
            let listed: Option<Listed> = tenant::listed(conn, key.as_str())?;
            let found = tenant::find_by_slug(conn, &key)?;
            let outbox = if provisioning {
                Some(authentik_outbox::backlog(conn, Some(key.as_str()))?)
            } else {
                None
            };
            let events = platform_audit::about(conn, key.as_str(), EVENTS)?;
            Ok((listed, found, outbox, events))
        })
        .await?;
    let Some(listed) = listed else {
        return Err(AppError::NotFound);
    };
    let (settings, admin_factors) = match found {
        Some(t) => {
            let (s, a) = deps
                .db
                .tenant(&t.schema, |conn| {
                    Ok((tenant_settings::load(conn)?, admins_with_factors(conn)?))
                })
                .await?;
            (Some(s), a)
        }
        None => (None, Vec::new()),
    };
    let deletion = match (&listed.purged_at, &listed.purge_after) {
        (Some(at), _) | (None, Some(at)) => Some((
            listed.delete_requested_by.clone().unwrap_or_default(),
            crate::display::minute(*at),
        )),
        _ => None,
    };
    Ok(OrgProfile {
        deletion,
        admin_count: listed.admin_count,
        line: OrgLine::from(listed),
        settings,
        admin_factors,
        outbox,
        events: events
            .into_iter()
            .map(|(at, actor, action, _)| (crate::display::minute(at), actor, action))
            .collect(),
    })
}
