//! Bringing Authentik in line with the portal: a tenant's groups, a person's user and
//! group membership. The worker and `portal authentik sync` share these steps; every
//! step finds before it creates, so running it twice changes nothing the second time.

use uuid::Uuid;

use super::client::{AuthentikClient, AuthentikError};
use super::models::{Group, User};
use crate::domain::Role;

const ROLES: [Role; 3] = [Role::Admin, Role::Staff, Role::Member];

/// The Authentik group of a tenant's role: `<prefix><slug>-<role>`.
pub fn group_name(prefix: &str, slug: &str, role: Role) -> String {
    format!("{prefix}{slug}-{role}")
}

/// Whether a group name is some tenant's role group.
fn is_tenant_group(prefix: &str, name: &str) -> bool {
    name.strip_prefix(prefix).is_some_and(|rest| {
        ["-admin", "-staff", "-member"]
            .iter()
            .any(|suffix| rest.len() > suffix.len() && rest.ends_with(suffix))
    })
}

/// What a reconciliation step changed (or, in a dry run, would change).
pub type Changes = Vec<String>;

/// A tenant's three groups, as found (a dry run may not find them all).
#[derive(Debug, Clone)]
pub struct TenantGroups {
    /// `(role, name, group if it exists)`.
    pub groups: Vec<(Role, String, Option<Group>)>,
}

impl TenantGroups {
    fn of(&self, role: Role) -> Option<&Group> {
        self.groups
            .iter()
            .find(|(r, _, _)| *r == role)
            .and_then(|(_, _, g)| g.as_ref())
    }

    fn name(&self, role: Role) -> &str {
        self.groups
            .iter()
            .find(|(r, _, _)| *r == role)
            .map(|(_, n, _)| n.as_str())
            .unwrap_or_default()
    }
}

/// Makes the tenant's admin, staff and member groups exist.
pub async fn tenant_groups(
    client: &AuthentikClient,
    prefix: &str,
    slug: &str,
    dry_run: bool,
    changes: &mut Changes,
) -> Result<TenantGroups, AuthentikError> {
    let mut groups = Vec::with_capacity(3);
    for role in ROLES {
        let name = group_name(prefix, slug, role);
        let group = if dry_run {
            let g = client.find_group(&name).await?;
            if g.is_none() {
                changes.push(format!("create group {name}"));
            }
            g
        } else {
            let (g, created) = client.find_or_create_group(&name).await?;
            if created {
                changes.push(format!("created group {name}"));
            }
            Some(g)
        };
        groups.push((role, name, group));
    }
    Ok(TenantGroups { groups })
}

/// Deletes the tenant's admin, staff and member groups, those that exist.
pub async fn delete_tenant_groups(
    client: &AuthentikClient,
    prefix: &str,
    slug: &str,
    changes: &mut Changes,
) -> Result<(), AuthentikError> {
    for role in ROLES {
        let name = group_name(prefix, slug, role);
        if let Some(g) = client.find_group(&name).await? {
            client.delete_group(g.pk).await?;
            changes.push(format!("deleted group {name}"));
        }
    }
    Ok(())
}

/// A person as the portal knows them.
#[derive(Debug, Clone)]
pub struct Person {
    /// Email (the Authentik username).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role in the tenant, or `None` when deactivated or removed.
    pub role: Option<Role>,
    /// The linked Authentik user, if linked.
    pub authentik_pk: Option<i64>,
}

/// The person's Authentik user, found by its stored pk, then by email.
async fn find_user(client: &AuthentikClient, p: &Person) -> Result<Option<User>, AuthentikError> {
    if let Some(pk) = p.authentik_pk
        && let Some(u) = client.get_user(pk).await?
    {
        return Ok(Some(u));
    }
    client.find_user_by_email(&p.email).await
}

/// Makes the person's Authentik user match the person: an active person has a user,
/// active, in exactly their role's group of this tenant; a deactivated or removed one
/// is in none of them, and is deactivated when no other tenant's group holds them.
/// Returns the user to link the person to (`None` when there is none).
pub async fn person(
    client: &AuthentikClient,
    prefix: &str,
    groups: &TenantGroups,
    p: &Person,
    dry_run: bool,
    changes: &mut Changes,
) -> Result<Option<(i64, Uuid)>, AuthentikError> {
    let found = find_user(client, p).await?;
    let user = match (found, p.role) {
        (Some(u), _) => u,
        (None, None) => return Ok(None),
        (None, Some(role)) if dry_run => {
            changes.push(format!("create user {}", p.email));
            changes.push(format!("add {} to {}", p.email, groups.name(role)));
            return Ok(None);
        }
        (None, Some(_)) => {
            let (u, created) = client.find_or_create_user(&p.email, &p.name).await?;
            if created {
                changes.push(format!("created user {} (pk {})", p.email, u.pk));
            }
            u
        }
    };
    if p.role.is_some() && !user.is_active {
        changes.push(format!("reactivate user {}", p.email));
        if !dry_run {
            client
                .update_user(
                    user.pk,
                    &super::models::UserPatch {
                        is_active: Some(true),
                        ..Default::default()
                    },
                )
                .await?;
        }
    }
    sync_groups(client, groups, &user, p, dry_run, changes).await?;
    if p.role.is_none() && user.is_active {
        deactivate_if_orphaned(client, prefix, groups, &user, &p.email, dry_run, changes).await?;
    }
    Ok(Some((user.pk, user.uuid)))
}

/// Puts the user in exactly the group of the person's role in this tenant.
async fn sync_groups(
    client: &AuthentikClient,
    groups: &TenantGroups,
    user: &User,
    p: &Person,
    dry_run: bool,
    changes: &mut Changes,
) -> Result<(), AuthentikError> {
    for role in ROLES {
        let wanted = p.role == Some(role);
        let Some(group) = groups.of(role) else {
            if wanted {
                changes.push(format!("add {} to {}", p.email, groups.name(role)));
            }
            continue;
        };
        // The user's own list is fresh; the group's may predate earlier steps.
        let member = user.groups.contains(&group.pk);
        if wanted && !member {
            changes.push(format!("add {} to {}", p.email, group.name));
            if !dry_run {
                client.add_user_to_group(group.pk, user.pk).await?;
            }
        } else if !wanted && member {
            changes.push(format!("remove {} from {}", p.email, group.name));
            if !dry_run {
                client.remove_user_from_group(group.pk, user.pk).await?;
            }
        }
    }
    Ok(())
}

/// Deactivates a user who left this tenant when no other tenant's group holds them.
async fn deactivate_if_orphaned(
    client: &AuthentikClient,
    prefix: &str,
    groups: &TenantGroups,
    user: &User,
    email: &str,
    dry_run: bool,
    changes: &mut Changes,
) -> Result<(), AuthentikError> {
    // Without the group names the answer is unknown: keep the account active.
    if user.groups_obj.is_none() {
        return Ok(());
    }
    let own: Vec<&str> = ROLES.iter().map(|r| groups.name(*r)).collect();
    let elsewhere = user
        .group_names()
        .any(|n| is_tenant_group(prefix, n) && !own.contains(&n));
    if !elsewhere {
        changes.push(format!("deactivate user {email}"));
        if !dry_run {
            client.deactivate_user(user.pk).await?;
        }
    }
    Ok(())
}

/// Removes from the tenant's groups every Authentik user who is not an active person
/// of the tenant with that role (`expected` holds the pks per role).
pub async fn prune_groups(
    client: &AuthentikClient,
    groups: &TenantGroups,
    expected: &[(Role, i64)],
    dry_run: bool,
    changes: &mut Changes,
) -> Result<(), AuthentikError> {
    for role in ROLES {
        let Some(group) = groups.of(role) else {
            continue;
        };
        // The group as it is now: earlier steps may have changed it.
        let Some(current) = client.find_group(&group.name).await? else {
            continue;
        };
        for pk in current.users {
            if !expected.contains(&(role, pk)) {
                changes.push(format!("remove user pk {pk} from {}", group.name));
                if !dry_run {
                    client.remove_user_from_group(group.pk, pk).await?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_group_names() {
        assert_eq!(
            group_name("tenant-", "acme", Role::Staff),
            "tenant-acme-staff"
        );
        assert!(is_tenant_group("tenant-", "tenant-acme-labs-member"));
        assert!(!is_tenant_group("tenant-", "portal-super-admin"));
        assert!(!is_tenant_group("tenant-", "tenant--admin"));
    }
}
