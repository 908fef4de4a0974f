//! The domain types accept what they should and nothing else.

use super::*;

#[test]
fn strict_slugs_only() {
    for ok in ["acme", "acme-labs", "a1b2", "x9-y8-z7"] {
        assert!(TenantSlug::parse(ok).is_ok(), "{ok}");
    }
    let long = "a".repeat(300);
    for bad in [
        "a;drop",
        "../x",
        "Acme",
        "ab",
        "1abc",
        "-abc",
        "abc-",
        "a--b",
        "ünï",
        "a b c",
        "acme_labs",
        "admin",
        "tenant\"x",
        long.as_str(),
    ] {
        assert!(TenantSlug::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn schema_names_follow_slugs_and_round_trip() {
    let slug = TenantSlug::parse("acme-labs").unwrap();
    let schema = slug.schema_name();
    assert_eq!(schema.as_str(), "tenant_acme_labs");
    assert_eq!(schema.quoted(), "\"tenant_acme_labs\"");
    assert_eq!(SchemaName::from_registry("tenant_acme_labs"), Some(schema));
    assert_eq!(SchemaName::from_registry("public"), None);
    assert_eq!(SchemaName::from_registry("tenant_x\"; drop"), None);
}

#[test]
fn slug_suggestions_come_from_names() {
    let s = |n: &str| TenantSlug::suggest(n).map(|s| s.as_str().to_string());
    assert_eq!(s("Acme Labs, Inc."), Some("acme-labs-inc".into()));
    assert_eq!(s("  Über Café "), Some("ber-caf".into()));
    assert_eq!(s("42 Widgets"), Some("widgets".into()));
    assert_eq!(s("X"), Some("org-x".into()));
    assert_eq!(s("Admin"), None);
}

#[test]
fn emails_are_normalized_and_checked() {
    assert_eq!(
        Email::parse("  Ada@Example.COM ").unwrap().as_str(),
        "ada@example.com"
    );
    for bad in [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "a b@example.com",
        "a@b@c.com",
        "ada@exa..mple.com",
    ] {
        assert!(Email::parse(bad).is_err(), "{bad}");
    }
    let long = format!("{}@example.com", "a".repeat(250));
    assert!(Email::parse(&long).unwrap_err().message.contains("254"));
}

#[test]
fn names_are_bounded() {
    assert!(PersonName::parse("   ").is_err());
    assert!(
        PersonName::parse(&"x".repeat(101))
            .unwrap_err()
            .message
            .contains("100")
    );
    assert_eq!(
        PersonName::parse(" Ada Lovelace ").unwrap().as_str(),
        "Ada Lovelace"
    );
    assert!(OrganizationName::parse("a\u{0}b").is_err());
}

#[test]
fn roles_parse() {
    assert_eq!(Role::parse("staff").unwrap(), Role::Staff);
    assert!(Role::parse("owner").is_err());
}
