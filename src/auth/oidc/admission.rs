//! Who may enter a tenant through single sign-on, and as what: the provider's groups
//! `<prefix><slug>-admin|staff|member` (prefix `AUTHENTIK_GROUP_PREFIX`, `tenant-` by
//! default) and `portal-super-admin` (`OIDC_SUPER_ADMIN_GROUP`) for platform admins.

use crate::domain::{Role, TenantSlug};

/// What a person's groups grant in one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// The role in this tenant; none means no entry.
    pub role: Option<Role>,
    /// Whether the person is a platform admin.
    pub platform_admin: bool,
}

/// Reads the groups. Names are compared whole, so tenant `acme` is not entered through
/// a group of tenant `acme-staff`; with several roles the highest wins.
pub fn admit(
    groups: &[String],
    prefix: &str,
    slug: &TenantSlug,
    super_admin_group: &str,
) -> Admission {
    let role_of = |g: &str| {
        let rest = g.strip_prefix(prefix)?.strip_prefix(slug.as_str())?;
        match rest {
            "-admin" => Some(Role::Admin),
            "-staff" => Some(Role::Staff),
            "-member" => Some(Role::Member),
            _ => None,
        }
    };
    let rank = |r: &Role| match r {
        Role::Admin => 3,
        Role::Staff => 2,
        Role::Member => 1,
    };
    Admission {
        role: groups.iter().filter_map(|g| role_of(g)).max_by_key(rank),
        platform_admin: groups.iter().any(|g| g == super_admin_group),
    }
}

/// The group names that would admit someone to a tenant, for the refusal page.
pub fn groups_for(prefix: &str, slug: &TenantSlug) -> [String; 3] {
    ["admin", "staff", "member"].map(|r| format!("{prefix}{slug}-{r}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(g: &[&str]) -> Vec<String> {
        g.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_highest_role_of_this_tenant_wins() {
        let slug = TenantSlug::parse("acme").unwrap();
        let a = admit(
            &groups(&[
                "tenant-acme-member",
                "tenant-acme-staff",
                "tenant-globex-admin",
            ]),
            "tenant-",
            &slug,
            "portal-super-admin",
        );
        assert_eq!(a.role, Some(Role::Staff));
        assert!(!a.platform_admin);
    }

    #[test]
    fn another_tenants_groups_admit_nobody() {
        let slug = TenantSlug::parse("acme").unwrap();
        let a = admit(
            &groups(&[
                "tenant-acme-staff-admin",
                "tenant-acmex-admin",
                "acme-admin",
                "portal-super-admin",
            ]),
            "tenant-",
            &slug,
            "portal-super-admin",
        );
        assert_eq!(a.role, None);
        assert!(a.platform_admin);
    }

    #[test]
    fn the_prefix_is_configurable() {
        let slug = TenantSlug::parse("acme").unwrap();
        let a = admit(&groups(&["org-acme-admin"]), "org-", &slug, "x");
        assert_eq!(a.role, Some(Role::Admin));
        assert_eq!(groups_for("org-", &slug)[1], "org-acme-staff");
    }
}
