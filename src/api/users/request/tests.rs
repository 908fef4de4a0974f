use super::*;

#[test]
fn emails_are_dot_atoms_at_host_names_with_a_dot() {
    for ok in [
        "a@b.co",
        "ops@sonicus.example",
        "A.B+c@x-y.example.com",
        "a!#$%&'*+/=?^_`{|}~-@b.io",
    ] {
        assert!(is_email(ok), "{ok}");
    }
    let long_label = format!("a@{}.de", "b".repeat(64));
    let long_local = format!("{}@b.de", "a".repeat(65));
    for bad in [
        "",
        "a",
        "a@b",
        "@b.co",
        "a@",
        " a@b.co",
        "a@b.co ",
        "a..b@c.de",
        ".a@c.de",
        "a.@c.de",
        "a@-c.de",
        "a@c-.de",
        "a@c..de",
        "a@c.de.",
        "a@c_d.de",
        "ä@c.de",
        "a@ä.de",
        "a b@c.de",
        "a@b@c.de",
        "\"a\"@c.de",
        &long_label,
        &long_local,
    ] {
        assert!(!is_email(bad), "{bad:?}");
    }
}

#[test]
fn slugs_follow_the_strict_form() {
    for ok in ["acme", "acme-labs", "a1-2b", "abc"] {
        assert!(is_slug(ok), "{ok}");
    }
    for bad in [
        "", "ab", "Acme", "1abc", "-abc", "abc-", "a--b", " acme", "acme ", "ac_me",
    ] {
        assert!(!is_slug(bad), "{bad:?}");
    }
    assert!(!is_slug(&"a".repeat(41)));
}

#[test]
fn company_names_need_a_visible_character_and_no_control_characters() {
    for ok in ["Acme", " Acme ", "株式会社", "a"] {
        assert!(is_company_name(ok), "{ok:?}");
    }
    for bad in [
        "", " ", "\u{3000}", "\u{feff}", "Acme\n", "A\u{0}", "A\u{85}",
    ] {
        assert!(!is_company_name(bad), "{bad:?}");
    }
    assert!(is_company_name(&"é".repeat(100)));
    assert!(!is_company_name(&"é".repeat(101)));
}

fn sonicus() -> NewOrganization {
    NewOrganization {
        email: "ops@sonicus.example".into(),
        password: "Correct-Horse-Battery-9142".into(),
        company_name: "Sonicus".into(),
        business_type: "technology".into(),
        country: "US".into(),
        name: None,
        slug: None,
    }
}

#[test]
fn the_sonicus_guide_payload_is_accepted_with_technology_as_software() {
    let input = sonicus().check().expect("accepted");
    assert_eq!(input.business_type, "software");
    assert_eq!(input.name, "ops");
    assert_eq!(input.slug.as_deref(), Some("sonicus"));
}

#[test]
fn values_outside_the_document_are_refused_field_by_field() {
    let body = NewOrganization {
        country: "us".into(),
        business_type: " software".into(),
        slug: Some("".into()),
        name: Some("a\u{7}".into()),
        ..sonicus()
    };
    let Err(AppError::Validation(fields)) = body.check() else {
        panic!("refused");
    };
    let names: Vec<_> = fields.iter().map(|f| f.field).collect();
    assert_eq!(names, ["business_type", "country", "name", "slug"]);
}

#[test]
fn a_reserved_address_is_a_conflict_and_a_reserved_name_gets_another() {
    let body = NewOrganization {
        slug: Some("admin".into()),
        ..sonicus()
    };
    assert!(matches!(body.check(), Err(AppError::Conflict(_))));
    let body = NewOrganization {
        company_name: "API".into(),
        ..sonicus()
    };
    assert_eq!(body.check().unwrap().slug.as_deref(), Some("org-api"));
}
