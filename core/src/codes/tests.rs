use super::*;

fn seed() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/seed/cityfibre-partner-installation-api.txt"
    );
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("the seed is expected beside the repository at {path}: {e}"))
}

/// The lines of the seed between two headings.
fn seed_table(from: &str, to: &str) -> Vec<String> {
    let text = seed();
    let start = text.find(from).expect("table heading") + from.len();
    let end = start + text[start..].find(to).expect("next heading");
    text[start..end]
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_closure_code_of_the_seed_is_in_the_catalogue_with_its_description() {
    let catalogue = Catalogue::embedded();
    let rows = seed_table(
        "Closure Codes Description\n",
        "Installation Secondary Closure Codes",
    );
    let mut seen = 0;
    for row in rows {
        if row.starts_with("Other reason") {
            continue;
        }
        let (codes, description) = row.split_once(' ').unwrap();
        for code in codes.split('/') {
            let entry = catalogue
                .closure_code(code)
                .unwrap_or_else(|| panic!("{code} missing"));
            assert_eq!(entry.description, description, "{code}");
            seen += 1;
        }
    }
    assert_eq!(seen, 35, "RNA/NA count as two codes");
    assert_eq!(catalogue.closure_codes().count(), 35);
}

#[test]
fn every_secondary_code_of_the_seed_is_in_the_catalogue_under_its_parent() {
    let catalogue = Catalogue::embedded();
    let rows = seed_table(
        "Closure Code Secondary Closure Code Secondary Closure Code Description\n",
        "Installation Question Based Closure",
    );
    assert_eq!(rows.len(), 80);
    for row in &rows {
        let mut parts = row.splitn(3, ' ');
        let (parent, code, description) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let rule = catalogue
            .check_closure(parent, Some(code))
            .unwrap_or_else(|e| panic!("{row}: {e}"));
        assert_eq!(rule.secondary.as_deref(), Some(code));
        assert!(rule.description.ends_with(description), "{row}");
    }
    assert_eq!(catalogue.secondary_codes().count(), rows.len());
}

#[test]
fn property_flags_and_provisioning_statuses_match_the_seed() {
    let catalogue = Catalogue::embedded();
    for code in ["CHP", "DAN", "DTL", "SUR", "MDU", "WSD"] {
        assert!(catalogue.property_flag(code).is_some(), "{code}");
    }
    assert_eq!(
        catalogue.property_flag("DAN").unwrap().when,
        FlagMoment::BeforeTravel
    );
    let successes: Vec<u8> = catalogue
        .provisioning_statuses()
        .filter(|s| s.success)
        .map(|s| s.id)
        .collect();
    assert_eq!(successes, [1, 2]);
    let rescans: Vec<u8> = catalogue
        .provisioning_statuses()
        .filter(|s| s.rescan_allowed)
        .map(|s| s.id)
        .collect();
    assert_eq!(rescans, [5, 6, 7]);
    assert_eq!(
        catalogue.provisioning_status(4).unwrap().outcome,
        ProvisioningOutcome::Retrying
    );
    assert_eq!(
        catalogue.provisioning_status(8),
        Err(CodeError::UnknownProvisioningStatus { id: 8 })
    );
}

#[test]
fn con_and_pop_need_a_secondary_code_and_the_error_names_the_choices() {
    let catalogue = Catalogue::embedded();
    for code in ["CON", "POP"] {
        match catalogue.check_closure(code, None) {
            Err(CodeError::MissingSecondaryCode { closure, choices }) => {
                assert_eq!(closure, code);
                assert!(choices.contains(&format!("{code}01")), "{choices}");
            }
            other => panic!("{code}: {other:?}"),
        }
        // An empty string from a form is the same as nothing.
        assert!(catalogue.check_closure(code, Some("")).is_err());
    }
    // Other codes with a table may close without one.
    assert!(catalogue.check_closure("EXTHAZ", None).is_ok());
    assert!(catalogue.check_closure("SP", None).is_ok());
}

#[test]
fn a_secondary_code_must_belong_to_its_parent() {
    let catalogue = Catalogue::embedded();
    assert_eq!(
        catalogue.check_closure("CON", Some("POP01")),
        Err(CodeError::SecondaryOfAnotherParent {
            secondary: "POP01".into(),
            parent: "POP".into(),
            closure: "CON".into(),
        })
    );
    assert_eq!(
        catalogue.check_closure("SP", Some("CON01")),
        Err(CodeError::SecondaryOfAnotherParent {
            secondary: "CON01".into(),
            parent: "CON".into(),
            closure: "SP".into(),
        })
    );
    assert_eq!(
        catalogue.check_closure("CON", Some("CON99")),
        Err(CodeError::UnknownSecondaryCode {
            secondary: "CON99".into()
        })
    );
}

#[test]
fn unknown_codes_are_refused_with_their_name() {
    let err = Catalogue::embedded()
        .check_closure("ZZZ", None)
        .unwrap_err();
    assert_eq!(err, CodeError::UnknownClosureCode { code: "ZZZ".into() });
    assert!(err.to_string().contains("ZZZ"));
}

#[test]
fn a_partner_file_can_enable_other_reason_and_add_codes() {
    let partner = r#"{
        "otherReason": {"enabled": true, "attendance": "noAccess"},
        "closureCodes": [
            {"code": "SP", "description": "Service Provided (partner wording)", "attendance": "attended", "requiresProvisionedOnt": true},
            {"code": "WTHR", "description": "Weather", "attendance": "notAttended"}
        ],
        "secondaryCodes": [{"parent": "WTHR", "code": "WTHR01", "description": "Storm"}]
    }"#;
    let catalogue = Catalogue::with_partner_file(partner).unwrap();
    let other = catalogue.check_closure("ZZZ", None).unwrap();
    assert!(other.other_reason);
    assert_eq!(other.attendance, Attendance::NoAccess);
    assert_eq!(
        catalogue.closure_code("SP").unwrap().description,
        "Service Provided (partner wording)"
    );
    let weather = catalogue.check_closure("WTHR", Some("WTHR01")).unwrap();
    assert_eq!(weather.attendance, Attendance::NotAttended);
    // Other reason still refuses garbage and never relaxes the rules of known codes.
    assert!(catalogue.check_closure("not a code", None).is_err());
    assert!(catalogue.check_closure("CON", None).is_err());
    assert!(catalogue.check_closure("CON", Some("POP01")).is_err());
}

#[test]
fn broken_partner_files_are_typed_errors() {
    assert!(matches!(
        Catalogue::with_partner_file("{"),
        Err(CatalogueError::Parse(_))
    ));
    assert!(matches!(
        Catalogue::with_partner_file(r#"{"closureCodes": 3}"#),
        Err(CatalogueError::Parse(_))
    ));
    assert!(matches!(
        Catalogue::with_partner_file(r#"{"surprise": []}"#),
        Err(CatalogueError::Parse(_))
    ));
    assert_eq!(
        Catalogue::with_partner_file(
            r#"{"secondaryCodes": [{"parent": "NOPE", "code": "NOPE01", "description": "x"}]}"#
        ),
        Err(CatalogueError::OrphanSecondary {
            code: "NOPE01".into(),
            parent: "NOPE".into()
        })
    );
    assert_eq!(
        Catalogue::with_partner_file(
            r#"{"closureCodes": [{"code": "sp", "description": "x", "attendance": "attended"}]}"#
        ),
        Err(CatalogueError::BadCode { code: "sp".into() })
    );
    assert_eq!(
        Catalogue::with_partner_file(
            r#"{"provisioningStatuses": [{"id": 9, "success": true, "details": "x", "description": "x", "outcome": "provisioned"}]}"#
        ),
        Err(CatalogueError::BadStatus { id: 9 })
    );
}

#[test]
fn attendance_of_the_no_access_and_cant_attend_codes() {
    let catalogue = Catalogue::embedded();
    for code in ["RNA", "NA", "NAPUV", "REVNA", "CIVNA"] {
        assert_eq!(
            catalogue.closure_code(code).unwrap().attendance,
            Attendance::NoAccess,
            "{code}"
        );
    }
    for code in ["MBORC", "FTA", "NTR"] {
        assert_eq!(
            catalogue.closure_code(code).unwrap().attendance,
            Attendance::NotAttended,
            "{code}"
        );
    }
    let needs_ont: Vec<&str> = catalogue
        .closure_codes()
        .filter(|c| c.requires_provisioned_ont)
        .map(|c| c.code.as_str())
        .collect();
    assert_eq!(needs_ont, ["SP"]);
}

#[test]
fn the_catalogue_written_out_reads_back_the_same() {
    let catalogue = Catalogue::embedded();
    let again = Catalogue::from_base_json(&catalogue.to_json()).unwrap();
    assert_eq!(again, catalogue);
}
