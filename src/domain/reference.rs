//! Reference data for the sign-up form: countries and business types.

/// ISO 3166-1 alpha-2 code and English short name, sorted by name.
pub const COUNTRIES: &[(&str, &str)] = &[
    ("AF", "Afghanistan"),
    ("AX", "Åland Islands"),
    ("AL", "Albania"),
    ("DZ", "Algeria"),
    ("AS", "American Samoa"),
    ("AD", "Andorra"),
    ("AO", "Angola"),
    ("AI", "Anguilla"),
    ("AQ", "Antarctica"),
    ("AG", "Antigua and Barbuda"),
    ("AR", "Argentina"),
    ("AM", "Armenia"),
    ("AW", "Aruba"),
    ("AU", "Australia"),
    ("AT", "Austria"),
    ("AZ", "Azerbaijan"),
    ("BS", "Bahamas"),
    ("BH", "Bahrain"),
    ("BD", "Bangladesh"),
    ("BB", "Barbados"),
    ("BY", "Belarus"),
    ("BE", "Belgium"),
    ("BZ", "Belize"),
    ("BJ", "Benin"),
    ("BM", "Bermuda"),
    ("BT", "Bhutan"),
    ("BO", "Bolivia"),
    ("BQ", "Bonaire, Sint Eustatius and Saba"),
    ("BA", "Bosnia and Herzegovina"),
    ("BW", "Botswana"),
    ("BV", "Bouvet Island"),
    ("BR", "Brazil"),
    ("IO", "British Indian Ocean Territory"),
    ("VG", "British Virgin Islands"),
    ("BN", "Brunei"),
    ("BG", "Bulgaria"),
    ("BF", "Burkina Faso"),
    ("BI", "Burundi"),
    ("CV", "Cabo Verde"),
    ("KH", "Cambodia"),
    ("CM", "Cameroon"),
    ("CA", "Canada"),
    ("KY", "Cayman Islands"),
    ("CF", "Central African Republic"),
    ("TD", "Chad"),
    ("CL", "Chile"),
    ("CN", "China"),
    ("CX", "Christmas Island"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CO", "Colombia"),
    ("KM", "Comoros"),
    ("CG", "Congo"),
    ("CD", "Congo (Democratic Republic)"),
    ("CK", "Cook Islands"),
    ("CR", "Costa Rica"),
    ("CI", "Côte d'Ivoire"),
    ("HR", "Croatia"),
    ("CU", "Cuba"),
    ("CW", "Curaçao"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DK", "Denmark"),
    ("DJ", "Djibouti"),
    ("DM", "Dominica"),
    ("DO", "Dominican Republic"),
    ("EC", "Ecuador"),
    ("EG", "Egypt"),
    ("SV", "El Salvador"),
    ("GQ", "Equatorial Guinea"),
    ("ER", "Eritrea"),
    ("EE", "Estonia"),
    ("SZ", "Eswatini"),
    ("ET", "Ethiopia"),
    ("FK", "Falkland Islands"),
    ("FO", "Faroe Islands"),
    ("FJ", "Fiji"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("GF", "French Guiana"),
    ("PF", "French Polynesia"),
    ("TF", "French Southern Territories"),
    ("GA", "Gabon"),
    ("GM", "Gambia"),
    ("GE", "Georgia"),
    ("DE", "Germany"),
    ("GH", "Ghana"),
    ("GI", "Gibraltar"),
    ("GR", "Greece"),
    ("GL", "Greenland"),
    ("GD", "Grenada"),
    ("GP", "Guadeloupe"),
    ("GU", "Guam"),
    ("GT", "Guatemala"),
    ("GG", "Guernsey"),
    ("GN", "Guinea"),
    ("GW", "Guinea-Bissau"),
    ("GY", "Guyana"),
    ("HT", "Haiti"),
    ("HM", "Heard Island and McDonald Islands"),
    ("VA", "Holy See"),
    ("HN", "Honduras"),
    ("HK", "Hong Kong"),
    ("HU", "Hungary"),
    ("IS", "Iceland"),
    ("IN", "India"),
    ("ID", "Indonesia"),
    ("IR", "Iran"),
    ("IQ", "Iraq"),
    ("IE", "Ireland"),
    ("IM", "Isle of Man"),
    ("IL", "Israel"),
    ("IT", "Italy"),
    ("JM", "Jamaica"),
    ("JP", "Japan"),
    ("JE", "Jersey"),
    ("JO", "Jordan"),
    ("KZ", "Kazakhstan"),
    ("KE", "Kenya"),
    ("KI", "Kiribati"),
    ("KW", "Kuwait"),
    ("KG", "Kyrgyzstan"),
    ("LA", "Laos"),
    ("LV", "Latvia"),
    ("LB", "Lebanon"),
    ("LS", "Lesotho"),
    ("LR", "Liberia"),
    ("LY", "Libya"),
    ("LI", "Liechtenstein"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("MO", "Macao"),
    ("MG", "Madagascar"),
    ("MW", "Malawi"),
    ("MY", "Malaysia"),
    ("MV", "Maldives"),
    ("ML", "Mali"),
    ("MT", "Malta"),
    ("MH", "Marshall Islands"),
    ("MQ", "Martinique"),
    ("MR", "Mauritania"),
    ("MU", "Mauritius"),
    ("YT", "Mayotte"),
    ("MX", "Mexico"),
    ("FM", "Micronesia"),
    ("MD", "Moldova"),
    ("MC", "Monaco"),
    ("MN", "Mongolia"),
    ("ME", "Montenegro"),
    ("MS", "Montserrat"),
    ("MA", "Morocco"),
    ("MZ", "Mozambique"),
    ("MM", "Myanmar"),
    ("NA", "Namibia"),
    ("NR", "Nauru"),
    ("NP", "Nepal"),
    ("NL", "Netherlands"),
    ("NC", "New Caledonia"),
    ("NZ", "New Zealand"),
    ("NI", "Nicaragua"),
    ("NE", "Niger"),
    ("NG", "Nigeria"),
    ("NU", "Niue"),
    ("NF", "Norfolk Island"),
    ("KP", "North Korea"),
    ("MK", "North Macedonia"),
    ("MP", "Northern Mariana Islands"),
    ("NO", "Norway"),
    ("OM", "Oman"),
    ("PK", "Pakistan"),
    ("PW", "Palau"),
    ("PS", "Palestine"),
    ("PA", "Panama"),
    ("PG", "Papua New Guinea"),
    ("PY", "Paraguay"),
    ("PE", "Peru"),
    ("PH", "Philippines"),
    ("PN", "Pitcairn"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("PR", "Puerto Rico"),
    ("QA", "Qatar"),
    ("RE", "Réunion"),
    ("RO", "Romania"),
    ("RU", "Russia"),
    ("RW", "Rwanda"),
    ("BL", "Saint Barthélemy"),
    ("SH", "Saint Helena, Ascension and Tristan da Cunha"),
    ("KN", "Saint Kitts and Nevis"),
    ("LC", "Saint Lucia"),
    ("MF", "Saint Martin (French part)"),
    ("PM", "Saint Pierre and Miquelon"),
    ("VC", "Saint Vincent and the Grenadines"),
    ("WS", "Samoa"),
    ("SM", "San Marino"),
    ("ST", "Sao Tome and Principe"),
    ("SA", "Saudi Arabia"),
    ("SN", "Senegal"),
    ("RS", "Serbia"),
    ("SC", "Seychelles"),
    ("SL", "Sierra Leone"),
    ("SG", "Singapore"),
    ("SX", "Sint Maarten (Dutch part)"),
    ("SK", "Slovakia"),
    ("SI", "Slovenia"),
    ("SB", "Solomon Islands"),
    ("SO", "Somalia"),
    ("ZA", "South Africa"),
    ("GS", "South Georgia and the South Sandwich Islands"),
    ("KR", "South Korea"),
    ("SS", "South Sudan"),
    ("ES", "Spain"),
    ("LK", "Sri Lanka"),
    ("SD", "Sudan"),
    ("SR", "Suriname"),
    ("SJ", "Svalbard and Jan Mayen"),
    ("SE", "Sweden"),
    ("CH", "Switzerland"),
    ("SY", "Syria"),
    ("TW", "Taiwan"),
    ("TJ", "Tajikistan"),
    ("TZ", "Tanzania"),
    ("TH", "Thailand"),
    ("TL", "Timor-Leste"),
    ("TG", "Togo"),
    ("TK", "Tokelau"),
    ("TO", "Tonga"),
    ("TT", "Trinidad and Tobago"),
    ("TN", "Tunisia"),
    ("TR", "Türkiye"),
    ("TM", "Turkmenistan"),
    ("TC", "Turks and Caicos Islands"),
    ("TV", "Tuvalu"),
    ("UG", "Uganda"),
    ("UA", "Ukraine"),
    ("AE", "United Arab Emirates"),
    ("GB", "United Kingdom"),
    ("US", "United States"),
    ("UM", "United States Minor Outlying Islands"),
    ("VI", "United States Virgin Islands"),
    ("UY", "Uruguay"),
    ("UZ", "Uzbekistan"),
    ("VU", "Vanuatu"),
    ("VE", "Venezuela"),
    ("VN", "Vietnam"),
    ("WF", "Wallis and Futuna"),
    ("EH", "Western Sahara"),
    ("YE", "Yemen"),
    ("ZM", "Zambia"),
    ("ZW", "Zimbabwe"),
];

/// Business types offered at sign-up: stable key stored in the registry, and label.
pub const BUSINESS_TYPES: &[(&str, &str)] = &[
    ("software", "Software & technology"),
    ("agency", "Agency & creative services"),
    ("consulting", "Consulting"),
    ("ecommerce", "E-commerce"),
    ("education", "Education"),
    ("finance", "Finance & insurance"),
    ("healthcare", "Healthcare"),
    ("hospitality", "Hospitality & travel"),
    ("manufacturing", "Manufacturing"),
    ("media", "Media & entertainment"),
    ("nonprofit", "Nonprofit"),
    ("professional_services", "Professional services"),
    ("public_sector", "Public sector"),
    ("real_estate", "Real estate"),
    ("retail", "Retail"),
    ("other", "Other"),
];

/// Other names for business types that integrations send, and the key each stands for:
/// the Sonicus integration guide signs up with `technology`.
pub const BUSINESS_TYPE_ALIASES: &[(&str, &str)] = &[("technology", "software")];

/// The stored key for a business type key or one of its aliases.
pub fn business_type_key(name: &str) -> Option<&'static str> {
    BUSINESS_TYPES
        .iter()
        .map(|(k, _)| (*k, *k))
        .chain(BUSINESS_TYPE_ALIASES.iter().copied())
        .find(|(n, _)| *n == name)
        .map(|(_, key)| key)
}

/// The country name for an ISO code, if the code is one we list.
pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// The label of a business type key, if it is one we offer.
pub fn business_type_label(key: &str) -> Option<&'static str> {
    BUSINESS_TYPES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, label)| *label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Sort key: lowercase, with the accented letters used in the list mapped to their
    /// base letter, so "Åland Islands" sorts with A and "Côte d'Ivoire" with Co.
    fn sort_key(name: &str) -> String {
        name.chars()
            .map(|c| match c {
                'Å' | 'å' | 'Á' | 'á' | 'À' | 'à' | 'Â' | 'â' | 'Ã' | 'ã' | 'Ä' | 'ä' => {
                    'a'
                }
                'Ç' | 'ç' => 'c',
                'É' | 'é' | 'È' | 'è' | 'Ê' | 'ê' | 'Ë' | 'ë' => 'e',
                'Í' | 'í' | 'Î' | 'î' | 'Ï' | 'ï' => 'i',
                'Ó' | 'ó' | 'Ô' | 'ô' | 'Õ' | 'õ' | 'Ö' | 'ö' => 'o',
                'Ú' | 'ú' | 'Û' | 'û' | 'Ü' | 'ü' => 'u',
                c => c.to_ascii_lowercase(),
            })
            .collect()
    }

    #[test]
    fn country_codes_are_unique() {
        let codes: HashSet<_> = COUNTRIES.iter().map(|(c, _)| *c).collect();
        assert_eq!(codes.len(), COUNTRIES.len());
    }

    #[test]
    fn country_codes_are_two_uppercase_ascii_letters() {
        for (code, name) in COUNTRIES {
            assert!(
                code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()),
                "{code} ({name})"
            );
        }
    }

    #[test]
    fn all_assigned_codes_are_listed() {
        assert_eq!(COUNTRIES.len(), 249);
    }

    #[test]
    fn country_names_are_unique_and_sorted() {
        for pair in COUNTRIES.windows(2) {
            let (a, b) = (pair[0].1, pair[1].1);
            assert!(sort_key(a) < sort_key(b), "{a:?} should come before {b:?}");
        }
        for (_, name) in COUNTRIES {
            assert!(sort_key(name).is_ascii(), "unmapped accent in {name:?}");
        }
    }

    #[test]
    fn country_lookup() {
        assert_eq!(country_name("DE"), Some("Germany"));
        assert_eq!(country_name("US"), Some("United States"));
        assert_eq!(country_name("GB"), Some("United Kingdom"));
        assert_eq!(country_name("CI"), Some("Côte d'Ivoire"));
        assert_eq!(country_name("ZZ"), None);
        assert_eq!(country_name("de"), None);
        assert_eq!(country_name(""), None);
    }

    #[test]
    fn business_types_are_unique_and_include_software_and_other() {
        let keys: HashSet<_> = BUSINESS_TYPES.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys.len(), BUSINESS_TYPES.len());
        assert!(keys.contains("software"));
        assert!(keys.contains("other"));
        for (key, label) in BUSINESS_TYPES {
            assert!(
                !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{key}"
            );
            assert!(!label.is_empty(), "{key}");
        }
    }

    #[test]
    fn aliases_stand_for_listed_keys_and_keys_for_themselves() {
        assert_eq!(business_type_key("technology"), Some("software"));
        assert_eq!(business_type_key("retail"), Some("retail"));
        assert_eq!(business_type_key("Technology"), None);
        assert_eq!(business_type_key("nope"), None);
        for (alias, key) in BUSINESS_TYPE_ALIASES {
            assert!(business_type_label(key).is_some(), "{alias} → {key}");
            assert!(
                business_type_label(alias).is_none(),
                "{alias} is a key already"
            );
        }
    }

    #[test]
    fn business_type_lookup() {
        assert_eq!(
            business_type_label("software"),
            Some("Software & technology")
        );
        assert_eq!(business_type_label("other"), Some("Other"));
        assert_eq!(business_type_label("nope"), None);
    }
}
