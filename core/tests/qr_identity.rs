//! The ONT label parser: every layout we have seen or expect, and the refusals that
//! protect provisioning from misreads.

use jobpack_core::qr::{
    Fsan, FsanError, IdentityError, IdentityWarning, Vendor, parse_ont_payload,
};
use proptest::prelude::*;

#[test]
fn fsan_hex_form_normalises_to_vendor_letters() {
    let f = Fsan::parse("414C434CB443689D").unwrap();
    assert_eq!(f.as_str(), "ALCLB443689D");
    assert_eq!(f.vendor(), Vendor::Nokia);
    assert_eq!(f.to_hex_form(), "414C434CB443689D");
    assert_eq!(
        Fsan::parse(" alclb443689d ").unwrap().as_str(),
        "ALCLB443689D"
    );
}

#[test]
fn fsan_rejects_wrong_shapes() {
    assert_eq!(Fsan::parse("ALCLB443689"), Err(FsanError::Length(11)));
    assert_eq!(Fsan::parse("AL1LB443689D"), Err(FsanError::Vendor));
    assert_eq!(Fsan::parse("ALCLB443689Z"), Err(FsanError::Serial));
    // 0x31 is '1', not a letter.
    assert_eq!(Fsan::parse("314C434CB443689D"), Err(FsanError::HexForm));
    assert_eq!(Fsan::parse("ÄLCLB443689D"), Err(FsanError::NotAscii));
}

#[test]
fn bare_fsan() {
    let id = parse_ont_payload("ALCLB443689D").unwrap();
    assert_eq!(id.fsan.as_str(), "ALCLB443689D");
    assert_eq!(id.vendor, Vendor::Nokia);
    assert!(id.serial.is_none() && id.mac.is_none() && id.warnings.is_empty());
    let id = parse_ont_payload("414c434cb443689d\n").unwrap();
    assert_eq!(id.fsan.as_str(), "ALCLB443689D");
}

#[test]
fn key_colon_lines_in_any_order() {
    let a = "MAC: 00:11:22:aa:bb:cc\nS/N: YP1234567890\nGPON SN: CXNK0012AB34";
    let b = "GPON SN: CXNK0012AB34\nMAC: 00:11:22:aa:bb:cc\nS/N: YP1234567890";
    for payload in [a, b] {
        let id = parse_ont_payload(payload).unwrap();
        assert_eq!(id.fsan.as_str(), "CXNK0012AB34");
        assert_eq!(id.vendor, Vendor::Calix);
        assert_eq!(id.serial.as_deref(), Some("YP1234567890"));
        assert_eq!(id.mac.as_deref(), Some("00:11:22:AA:BB:CC"));
    }
}

#[test]
fn key_equals_semicolons() {
    let id = parse_ont_payload("sn=21ABC0042;mac=001122AABBCC;fsan=414C434CB443689D").unwrap();
    assert_eq!(id.fsan.as_str(), "ALCLB443689D");
    assert_eq!(id.serial.as_deref(), Some("21ABC0042"));
    assert_eq!(id.mac.as_deref(), Some("00:11:22:AA:BB:CC"));
}

#[test]
fn json_nested() {
    let id = parse_ont_payload(
        r#"{"device":{"mac":"00-11-22-AA-BB-CC","fsan":"ALCLB443689D"},"serialNumber":"NOK123"}"#,
    )
    .unwrap();
    assert_eq!(id.fsan.as_str(), "ALCLB443689D");
    assert_eq!(id.serial.as_deref(), Some("NOK123"));
    assert_eq!(id.mac.as_deref(), Some("00:11:22:AA:BB:CC"));
}

#[test]
fn url_query() {
    let id =
        parse_ont_payload("https://ont.example/l?mac=0011.22aa.bbcc&sn=X%2D1&gpon_sn=CXNK0012AB34")
            .unwrap();
    assert_eq!(id.fsan.as_str(), "CXNK0012AB34");
    assert_eq!(id.serial.as_deref(), Some("X-1"));
    assert_eq!(id.mac.as_deref(), Some("00:11:22:AA:BB:CC"));
}

#[test]
fn csv_header_and_values() {
    let id =
        parse_ont_payload("MAC,Serial Number,FSAN\n001122AABBCC,SN998877,ALCLB443689D").unwrap();
    assert_eq!(id.fsan.as_str(), "ALCLB443689D");
    assert_eq!(id.serial.as_deref(), Some("SN998877"));
    assert_eq!(id.mac.as_deref(), Some("00:11:22:AA:BB:CC"));
}

#[test]
fn nokia_serial_field_holding_the_fsan() {
    // A MAC field missing a byte is not a MAC, but it is not fatal either.
    let id = parse_ont_payload("S/N: ALCLB443689D\nMAC: 00:11:22:AA:BB").unwrap();
    assert_eq!(id.mac, None);
    assert_eq!(
        id.warnings,
        vec![IdentityWarning::InvalidMac("00:11:22:AA:BB".into())]
    );
    let id = parse_ont_payload("S/N: ALCLB443689D\nMAC: 00-11-22-AA-BB-CC").unwrap();
    assert_eq!(id.fsan.as_str(), "ALCLB443689D");
    // `S/N` holding the FSAN is the FSAN: the label does not say the manufacturer's
    // serial is that value too (issue #17), so no serial is reported.
    assert_eq!(id.serial, None);
}

#[test]
fn free_text_with_fsan() {
    let id = parse_ont_payload("Nokia G-010G-Q ONT ALCLB443689D 00:11:22:AA:BB:CC").unwrap();
    assert_eq!(id.fsan.as_str(), "ALCLB443689D");
    assert_eq!(id.mac.as_deref(), Some("00:11:22:AA:BB:CC"));
}

#[test]
fn unknown_vendor_is_accepted_with_a_warning() {
    let id = parse_ont_payload("FSAN: HWTC12345678").unwrap();
    assert_eq!(id.vendor, Vendor::Other("HWTC".into()));
    assert_eq!(
        id.warnings,
        vec![IdentityWarning::UnknownVendor("HWTC".into())]
    );
}

#[test]
fn refusals() {
    assert_eq!(parse_ont_payload("  \n"), Err(IdentityError::Empty));
    assert_eq!(
        parse_ont_payload("https://example.com/"),
        Err(IdentityError::NoFsan)
    );
    assert_eq!(
        parse_ont_payload("MAC: 00:11:22:AA:BB:CC"),
        Err(IdentityError::NoFsan)
    );
    assert!(matches!(
        parse_ont_payload("ALCLB443689D\nCXNK0012AB34"),
        Err(IdentityError::ConflictingFsan(..))
    ));
    assert!(matches!(
        parse_ont_payload("FSAN: ALCLB44368"),
        Err(IdentityError::InvalidFsan { .. })
    ));
    // The same FSAN twice, in two forms, is one FSAN.
    let id = parse_ont_payload("fsan=ALCLB443689D;sn=414C434CB443689D").unwrap();
    assert_eq!(id.fsan.as_str(), "ALCLB443689D");
}

#[test]
fn mac_shapes() {
    use jobpack_core::qr::normalise_mac;
    for m in [
        "00:11:22:aa:bb:cc",
        "00-11-22-AA-BB-CC",
        "001122aabbcc",
        "0011.22aa.bbcc",
    ] {
        assert_eq!(
            normalise_mac(m).as_deref(),
            Some("00:11:22:AA:BB:CC"),
            "{m}"
        );
    }
    for m in ["00:11:22:aa:bb", "0:011:22:aa:bb:cc", "00112233445G"] {
        assert_eq!(normalise_mac(m), None, "{m}");
    }
}

fn fsan_strategy() -> impl Strategy<Value = String> {
    ("(ALCL|CXNK|HWTC|ZTEG)", "[0-9A-F]{8}").prop_map(|(v, s)| format!("{v}{s}"))
}

proptest! {
    #[test]
    fn never_panics(s in "\\PC{0,200}") {
        let _ = parse_ont_payload(&s);
    }

    #[test]
    fn fields_in_any_order_and_layout(
        fsan in fsan_strategy(),
        serial in "[A-Z0-9]{6,14}",
        mac in "[0-9A-F]{12}",
        order in Just(vec![0usize, 1, 2]).prop_shuffle(),
        layout in 0usize..5,
    ) {
        let fields = [("fsan", fsan.clone()), ("serial", serial.clone()), ("mac", mac.clone())];
        let ordered: Vec<&(&str, String)> = order.iter().map(|&i| &fields[i]).collect();
        let payload = match layout {
            0 => ordered.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n"),
            1 => ordered.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";"),
            2 => format!("{{{}}}", ordered.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect::<Vec<_>>().join(",")),
            3 => format!("https://x.example/o?{}", ordered.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")),
            _ => format!(
                "{}\n{}",
                ordered.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(","),
                ordered.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(",")
            ),
        };
        let id = parse_ont_payload(&payload).unwrap();
        prop_assert_eq!(id.fsan.as_str(), fsan.as_str());
        prop_assert_eq!(id.serial.as_deref(), Some(serial.as_str()));
        let mac_norm = jobpack_core::qr::normalise_mac(&mac).unwrap();
        prop_assert_eq!(id.mac.as_deref(), Some(mac_norm.as_str()));
    }

    #[test]
    fn hex_form_round_trips(fsan in fsan_strategy()) {
        let f = Fsan::parse(&fsan).unwrap();
        let hex = f.to_hex_form();
        prop_assert_eq!(Fsan::parse(&hex).unwrap(), f.clone());
        prop_assert_eq!(parse_ont_payload(&hex).unwrap().fsan, f);
    }
}
