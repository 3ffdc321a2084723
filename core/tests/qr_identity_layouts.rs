//! Every ONT label layout the parser knows, as one table (docs/QR.md lists the same
//! layouts with where each came from). Each row says what the label's text says: which
//! value is the FSAN, which the manufacturer's serial, and where the text cannot tell, the
//! candidates the engineer is asked to pick from.

use jobpack_core::qr::{IdentityError, IdentityWarning, Vendor, parse_ont_payload};

struct Row {
    /// Short name, as in docs/QR.md's table.
    layout: &'static str,
    payload: &'static str,
    fsan: &'static str,
    serial: Option<&'static str>,
    mac: Option<&'static str>,
    candidates: &'static [&'static str],
}

const MAC: &str = "B3:A0:11:22:33:44";

const ROWS: &[Row] = &[
    Row {
        layout: "bare FSAN",
        payload: "ALCLB443689D",
        fsan: "ALCLB443689D",
        serial: None,
        mac: None,
        candidates: &[],
    },
    Row {
        layout: "bare FSAN, 16-hex form",
        payload: "414C434CB443689D",
        fsan: "ALCLB443689D",
        serial: None,
        mac: None,
        candidates: &[],
    },
    Row {
        layout: "issue #17: SN is the FSAN, SERIAL the maker's serial, PN ignored",
        payload: "SN=ALCLB443689D;SERIAL=FH2301A0B1C2;MAC=B3:A0:11:22:33:44;PN=3FE49568AA",
        fsan: "ALCLB443689D",
        serial: Some("FH2301A0B1C2"),
        mac: Some(MAC),
        candidates: &[],
    },
    Row {
        layout: "issue #17: positional FSAN,SERIAL,MAC",
        payload: "ALCLB443689D,FH2301A0B1C2,B3:A0:11:22:33:44",
        fsan: "ALCLB443689D",
        serial: Some("FH2301A0B1C2"),
        mac: Some(MAC),
        candidates: &[],
    },
    Row {
        layout: "positional, order shuffled",
        payload: "B3:A0:11:22:33:44,FH2301A0B1C2,ALCLB443689D",
        fsan: "ALCLB443689D",
        serial: Some("FH2301A0B1C2"),
        mac: Some(MAC),
        candidates: &[],
    },
    Row {
        layout: "positional, one value per line",
        payload: "ALCLB443689D\nFH2301A0B1C2\nB3-A0-11-22-33-44\n",
        fsan: "ALCLB443689D",
        serial: Some("FH2301A0B1C2"),
        mac: Some(MAC),
        candidates: &[],
    },
    Row {
        layout: "positional, pipes, Nokia part number left out",
        payload: "ALCLB443689D|3FE49568AA|FH2301A0B1C2|B3:A0:11:22:33:44",
        fsan: "ALCLB443689D",
        serial: Some("FH2301A0B1C2"),
        mac: Some(MAC),
        candidates: &[],
    },
    Row {
        layout: "positional, two possible serials: the engineer picks",
        payload: "ALCLB443689D,FH2301A0B1C2,YP9988776655,B3:A0:11:22:33:44",
        fsan: "ALCLB443689D",
        serial: None,
        mac: Some(MAC),
        candidates: &["FH2301A0B1C2", "YP9988776655"],
    },
    Row {
        layout: "GPON SN / S/N / MAC lines (synthetic frames)",
        payload: "GPON SN: CXNK0012AB34\nS/N: YP1234567890\nMAC: 00:11:22:AA:BB:CC",
        fsan: "CXNK0012AB34",
        serial: Some("YP1234567890"),
        mac: Some("00:11:22:AA:BB:CC"),
        candidates: &[],
    },
    Row {
        layout: "fsan=;sn=;mac= (synthetic frames)",
        payload: "fsan=ALCLB443689D;sn=Q7RT2K9PLM3X;mac=001122AABBCC",
        fsan: "ALCLB443689D",
        serial: Some("Q7RT2K9PLM3X"),
        mac: Some("00:11:22:AA:BB:CC"),
        candidates: &[],
    },
    Row {
        layout: "JSON (synthetic frames)",
        payload: r#"{"fsan":"CXNK0012AB34","serial":"261234567890","mac":"00:02:5D:AA:BB:CC"}"#,
        fsan: "CXNK0012AB34",
        serial: Some("261234567890"),
        mac: Some("00:02:5D:AA:BB:CC"),
        candidates: &[],
    },
    Row {
        layout: "Nokia sticker: S/N is the FSAN, no maker's serial",
        payload: "S/N: ALCLB443689D\nMAC: B3:A0:11:22:33:44",
        fsan: "ALCLB443689D",
        serial: None,
        mac: Some(MAC),
        candidates: &[],
    },
    Row {
        layout: "keys without separator (KEY value)",
        payload: "GPON S/N ALCLB443689D\nSerial No FH2301A0B1C2\nMAC B3:A0:11:22:33:44",
        fsan: "ALCLB443689D",
        serial: Some("FH2301A0B1C2"),
        mac: Some(MAC),
        candidates: &[],
    },
    Row {
        layout: "key spellings: Serial No., GPON-SN, MAC ID",
        payload: "Serial No.: FH2301A0B1C2; GPON-SN: ALCLB443689D; MAC ID: b3a0.1122.3344",
        fsan: "ALCLB443689D",
        serial: Some("FH2301A0B1C2"),
        mac: Some(MAC),
        candidates: &[],
    },
    Row {
        layout: "tab-separated header over values",
        payload: "FSAN\tSERIAL\tMAC\nALCLB443689D\tFH2301A0B1C2\tB3:A0:11:22:33:44",
        fsan: "ALCLB443689D",
        serial: Some("FH2301A0B1C2"),
        mac: Some(MAC),
        candidates: &[],
    },
    Row {
        layout: "URL, SN is the FSAN, SERIAL the maker's serial",
        payload: "https://ont.example/p?sn=ALCLB443689D&serial=FH2301A0B1C2&mac=B3A011223344",
        fsan: "ALCLB443689D",
        serial: Some("FH2301A0B1C2"),
        mac: Some(MAC),
        candidates: &[],
    },
    Row {
        layout: "URL with the FSAN in the path",
        payload: "https://ont.example/d/CXNK0012AB34",
        fsan: "CXNK0012AB34",
        serial: None,
        mac: None,
        candidates: &[],
    },
    Row {
        layout: "label says the serial is the FSAN",
        payload: "FSAN: ALCLB443689D\nSerial Number: ALCLB443689D",
        fsan: "ALCLB443689D",
        serial: Some("ALCLB443689D"),
        mac: None,
        candidates: &[],
    },
    Row {
        layout: "spelled-out serial holding the only FSAN",
        payload: "Serial Number: ALCLB443689D\nMAC: B3:A0:11:22:33:44",
        fsan: "ALCLB443689D",
        serial: None,
        mac: Some(MAC),
        candidates: &[],
    },
    Row {
        layout: "SN and SERIAL both beside an FSAN field: the engineer picks",
        payload: "GPON SN: ALCLB443689D\nSN: 12345678\nSerial Number: FH2301A0B1C2",
        fsan: "ALCLB443689D",
        serial: None,
        mac: None,
        candidates: &["FH2301A0B1C2", "12345678"],
    },
    Row {
        layout: "ONT ID holding the FSAN",
        payload: "ONT ID: ALCLB443689D; Serial: FH2301A0B1C2",
        fsan: "ALCLB443689D",
        serial: Some("FH2301A0B1C2"),
        mac: None,
        candidates: &[],
    },
    Row {
        layout: "ONT ID as the OLT's number is ignored",
        payload: "ONT ID: 7; GPON SN: ALCLB443689D",
        fsan: "ALCLB443689D",
        serial: None,
        mac: None,
        candidates: &[],
    },
    Row {
        layout: "Calix: FSAN, numeric serial, pipes",
        payload: "CXNK0012AB34|261234567890|00:02:5D:AA:BB:CC",
        fsan: "CXNK0012AB34",
        serial: Some("261234567890"),
        mac: Some("00:02:5D:AA:BB:CC"),
        candidates: &[],
    },
    Row {
        layout: "Huawei: SN in the 16-hex form",
        payload: "SN:48575443A1B2C3D4\nMAC:00:E0:FC:11:22:33",
        fsan: "HWTCA1B2C3D4",
        serial: None,
        mac: Some("00:E0:FC:11:22:33"),
        candidates: &[],
    },
    Row {
        layout: "ZTE: GPON SN and S/N",
        payload: "GPON SN:ZTEGC1234567\nS/N:ZTE0Q2AB3456789\nMAC:98:F4:28:11:22:33",
        fsan: "ZTEGC1234567",
        serial: Some("ZTE0Q2AB3456789"),
        mac: Some("98:F4:28:11:22:33"),
        candidates: &[],
    },
    Row {
        layout: "Adtran: PON Serial and Serial Number",
        payload: "PON Serial: ADTN1234ABCD, Serial Number: LBADTN2301AB123, MAC: 00:A0:C8:11:22:33",
        fsan: "ADTN1234ABCD",
        serial: Some("LBADTN2301AB123"),
        mac: Some("00:A0:C8:11:22:33"),
        candidates: &[],
    },
    Row {
        layout: "Sercomm: JSON with nested device object",
        payload: r#"{"device":{"gponSn":"SCOM0A1B2C3D","sn":"S2301000123","mac":"00-C0-02-11-22-33"}}"#,
        fsan: "SCOM0A1B2C3D",
        serial: Some("S2301000123"),
        mac: Some("00:C0:02:11:22:33"),
        candidates: &[],
    },
    Row {
        layout: "Genexis: CSV header over values",
        payload: "PON SN,Serial,MAC\nGNXS01234567,GX2301234567,00:0F:94:11:22:33",
        fsan: "GNXS01234567",
        serial: Some("GX2301234567"),
        mac: Some("00:0F:94:11:22:33"),
        candidates: &[],
    },
    Row {
        layout: "free text with the FSAN",
        payload: "Nokia G-010G-Q ONT ALCLB443689D 00:11:22:AA:BB:CC",
        fsan: "ALCLB443689D",
        serial: None,
        mac: Some("00:11:22:AA:BB:CC"),
        candidates: &[],
    },
];

#[test]
fn every_layout() {
    let mut failures = Vec::new();
    for row in ROWS {
        let got = match parse_ont_payload(row.payload) {
            Ok(id) => id,
            Err(e) => {
                failures.push(format!("{}: refused: {e}", row.layout));
                continue;
            }
        };
        let candidates: Vec<&str> = got.serial_candidates.iter().map(String::as_str).collect();
        if got.fsan.as_str() != row.fsan
            || got.serial.as_deref() != row.serial
            || got.mac.as_deref() != row.mac
            || candidates != row.candidates
        {
            failures.push(format!(
                "{}: got fsan {} serial {:?} mac {:?} candidates {:?}",
                row.layout, got.fsan, got.serial, got.mac, candidates
            ));
        }
        assert_eq!(
            got.needs_serial_choice(),
            !row.candidates.is_empty(),
            "{}",
            row.layout
        );
        // A serial equal to the FSAN only where a field labelled as the serial says so.
        if got.serial.as_deref() == Some(row.fsan) {
            assert!(row.payload.contains("Serial Number"), "{}", row.layout);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn vendors_by_prefix() {
    for (payload, maker) in [
        ("ALCLB443689D", "Nokia"),
        ("CXNK0012AB34", "Calix"),
        ("HWTCA1B2C3D4", "Huawei"),
        ("ZTEGC1234567", "ZTE"),
        ("ADTN1234ABCD", "Adtran"),
        ("SCOM0A1B2C3D", "Sercomm"),
        ("GNXS01234567", "Genexis"),
    ] {
        let id = parse_ont_payload(payload).unwrap();
        assert_eq!(id.vendor.maker(), Some(maker), "{payload}");
        // Only CityFibre's vendors come without a warning.
        let warned = id
            .warnings
            .iter()
            .any(|w| matches!(w, IdentityWarning::UnknownVendor(_)));
        assert_eq!(warned, !matches!(id.vendor, Vendor::Nokia | Vendor::Calix));
    }
    assert_eq!(
        parse_ont_payload("QQQQ12345678").unwrap().vendor.maker(),
        None
    );
}

#[test]
fn the_pick_must_be_a_candidate() {
    let id = parse_ont_payload("ALCLB443689D,FH2301A0B1C2,YP9988776655").unwrap();
    assert!(id.needs_serial_choice());
    assert!(matches!(
        id.clone().with_serial("ALCLB443689D"),
        Err(IdentityError::NotACandidate { .. })
    ));
    let picked = id.with_serial("YP9988776655").unwrap();
    assert_eq!(picked.serial.as_deref(), Some("YP9988776655"));
    assert!(!picked.needs_serial_choice());
}

#[test]
fn two_fsans_are_still_refused() {
    assert!(matches!(
        parse_ont_payload("SN=ALCLB443689D;GPON SN=CXNK0012AB34"),
        Err(IdentityError::ConflictingFsan(..))
    ));
    // A field named as the FSAN that holds something else is an error, not a serial.
    assert!(matches!(
        parse_ont_payload("GPON SN: FH2301A0B1C2"),
        Err(IdentityError::InvalidFsan { .. })
    ));
}

/// A real DASAN Zhone ZNID-GPON-2426 label's text (transcribed in
/// DanEscher98/EmbeddedScripts, see docs/QR.md): `S/N` is the maker's numeric serial and
/// no FSAN is printed. No identity is made up from it: the parser refuses, and the
/// engineer types the FSAN.
#[test]
fn a_zhone_label_without_an_fsan_is_refused() {
    let r = parse_ont_payload("P/N: 810-09107-01\nS/N: 303901101\nMAC address: 0002713B86AD");
    assert!(
        matches!(
            r,
            Err(IdentityError::NoFsan | IdentityError::InvalidFsan { .. })
        ),
        "{r:?}"
    );
}
