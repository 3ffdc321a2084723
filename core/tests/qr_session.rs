//! Scan sessions: confirmation across frames, misread rejection, duplicates, manual entry.

use std::time::{Duration, Instant};

use jobpack_core::qr::{
    ChooseSerialError, Frame, IdentityError, LumaImage, ManualEntry, ManualEntryError, Rotation,
    ScanProgress, ScanSession, SessionConfig,
};

fn no_duplicates() -> jobpack_core::qr::DuplicateCheck {
    Box::new(|_| None)
}

const LABEL: &str = "GPON SN: ALCLB443689D\nS/N: YP1234567890\nMAC: 00:11:22:AA:BB:CC";

#[test]
fn one_frame_is_not_enough() {
    let mut s = ScanSession::new(SessionConfig::default(), no_duplicates());
    let t = Instant::now();
    match s.feed_payload_at(LABEL, t) {
        ScanProgress::SeenOnce { identity, count } => {
            assert_eq!(identity.fsan.as_str(), "ALCLB443689D");
            assert_eq!(count, 1);
        }
        other => panic!("{other:?}"),
    }
    match s.feed_payload_at(LABEL, t + Duration::from_millis(120)) {
        ScanProgress::Confirmed(id) => assert_eq!(id.serial.as_deref(), Some("YP1234567890")),
        other => panic!("{other:?}"),
    }
    // Once confirmed the session stays confirmed, whatever comes next.
    assert!(matches!(
        s.feed_payload_at("ALCLFFFFFFFF", t + Duration::from_millis(200)),
        ScanProgress::Confirmed(_)
    ));
}

#[test]
fn a_single_frame_misread_is_not_confirmed() {
    let mut s = ScanSession::new(SessionConfig::default(), no_duplicates());
    let t = Instant::now();
    let misread = LABEL.replace("B443689D", "B443688D");
    assert!(matches!(
        s.feed_payload_at(LABEL, t),
        ScanProgress::SeenOnce { .. }
    ));
    // A different reading restarts the count from that reading.
    match s.feed_payload_at(&misread, t + Duration::from_millis(50)) {
        ScanProgress::SeenOnce { identity, count } => {
            assert_eq!(identity.fsan.as_str(), "ALCLB443688D");
            assert_eq!(count, 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.feed_payload_at(LABEL, t + Duration::from_millis(100)),
        ScanProgress::SeenOnce { count: 1, .. }
    ));
    assert!(matches!(
        s.feed_payload_at(LABEL, t + Duration::from_millis(150)),
        ScanProgress::Confirmed(_)
    ));
}

#[test]
fn agreeing_frames_must_fall_within_the_window() {
    let mut s = ScanSession::new(SessionConfig::default(), no_duplicates());
    let t = Instant::now();
    s.feed_payload_at(LABEL, t);
    assert!(matches!(
        s.feed_payload_at(LABEL, t + Duration::from_secs(10)),
        ScanProgress::SeenOnce { count: 1, .. }
    ));
    assert!(matches!(
        s.feed_payload_at(LABEL, t + Duration::from_secs(11)),
        ScanProgress::Confirmed(_)
    ));
}

#[test]
fn non_ont_codes_are_reported_not_confirmed() {
    let mut s = ScanSession::new(SessionConfig::default(), no_duplicates());
    let t = Instant::now();
    match s.feed_payload_at("https://example.com/", t) {
        ScanProgress::NotOntLabel { raw, error } => {
            assert_eq!(raw, "https://example.com/");
            assert_eq!(error, IdentityError::NoFsan);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn duplicate_device_is_flagged_on_confirmation() {
    let check = Box::new(|f: &jobpack_core::qr::Fsan| {
        (f.as_str() == "ALCLB443689D").then(|| "JOB-0042".to_owned())
    });
    let mut s = ScanSession::new(SessionConfig::default(), check);
    let t = Instant::now();
    s.feed_payload_at(LABEL, t);
    match s.feed_payload_at(LABEL, t + Duration::from_millis(80)) {
        ScanProgress::Duplicate {
            identity,
            other_job,
        } => {
            assert_eq!(identity.fsan.as_str(), "ALCLB443689D");
            assert_eq!(other_job, "JOB-0042");
        }
        other => panic!("{other:?}"),
    }
    s.reset();
    assert!(matches!(
        s.feed_payload_at("CXNK0012AB34", t),
        ScanProgress::SeenOnce { .. }
    ));
}

#[test]
fn frames_from_the_camera_path_confirm() {
    // A real photo fed twice through the frame path, as a camera stream would.
    // QR_SAMPLES for a worktree that does not sit beside `shared/`.
    let samples = std::env::var_os("QR_SAMPLES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/qr-samples")
        });
    let path = samples.join("qrcode-2/1.png");
    let img = LumaImage::open(path).unwrap();
    let frame = Frame::luma(&img.data, img.width, img.height, img.width, Rotation::R0).unwrap();
    let mut s = ScanSession::new(SessionConfig::default(), no_duplicates());
    // The sample is not an ONT label: it decodes, and is reported as such.
    assert!(matches!(s.feed(&frame), ScanProgress::NotOntLabel { .. }));
    let blank = vec![200u8; 320 * 240];
    let frame = Frame::luma(&blank, 320, 240, 320, Rotation::R0).unwrap();
    assert_eq!(s.feed(&frame), ScanProgress::Nothing);
}

#[test]
fn manual_entry_needs_two_matching_valid_entries() {
    let mut m = ManualEntry::new(no_duplicates());
    assert!(matches!(
        m.enter_second("ALCLB443689D"),
        Err(ManualEntryError::OutOfOrder)
    ));
    assert!(matches!(
        m.enter_first("ALCLB44368"),
        Err(ManualEntryError::First(_))
    ));
    m.enter_first("alclb443689d").unwrap();
    assert!(matches!(
        m.enter_second("ALCLB443698D"),
        Err(ManualEntryError::Mismatch { .. })
    ));
    // A mismatch starts over: the first entry must be given again.
    assert!(matches!(
        m.enter_second("ALCLB443689D"),
        Err(ManualEntryError::OutOfOrder)
    ));
    // The 16-hex form of the same FSAN is the same value.
    let id = m.confirm("ALCLB443689D", "414C434CB443689D").unwrap();
    assert_eq!(id.fsan.as_str(), "ALCLB443689D");
    assert!(matches!(
        m.confirm("ALCLB443689D", "XYZ"),
        Err(ManualEntryError::Second(_))
    ));
}

#[test]
fn manual_entry_checks_duplicates() {
    let mut m = ManualEntry::new(Box::new(|_| Some("JOB-7".to_owned())));
    assert_eq!(
        m.confirm("CXNK0012AB34", "CXNK0012AB34"),
        Err(ManualEntryError::Duplicate {
            fsan: "CXNK0012AB34".into(),
            other_job: "JOB-7".into()
        })
    );
}

#[test]
fn a_label_that_does_not_say_which_is_the_serial_asks_the_engineer() {
    let t = Instant::now();
    let mut s = ScanSession::new(SessionConfig::default(), no_duplicates());
    let label = "ALCLB443689D,FH2301A0B1C2,YP9988776655";
    assert!(matches!(
        s.feed_payload_at(label, t),
        ScanProgress::SeenOnce { .. }
    ));
    let id = match s.feed_payload_at(label, t + Duration::from_millis(50)) {
        ScanProgress::ChooseSerial(id) => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(id.serial, None);
    assert_eq!(id.serial_candidates, ["FH2301A0B1C2", "YP9988776655"]);
    // The outcome waits for the pick: more frames do not change it.
    assert!(matches!(
        s.feed_payload_at(label, t + Duration::from_millis(90)),
        ScanProgress::ChooseSerial(_)
    ));
    // Only a candidate can be picked; a refused pick leaves the question open.
    assert!(matches!(
        s.choose_serial("ALCLB443689D"),
        Err(ChooseSerialError::Refused(_))
    ));
    match s.choose_serial("YP9988776655") {
        Ok(ScanProgress::Confirmed(id)) => {
            assert_eq!(id.fsan.as_str(), "ALCLB443689D");
            assert_eq!(id.serial.as_deref(), Some("YP9988776655"));
            assert!(id.serial_candidates.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.choose_serial("FH2301A0B1C2"),
        Err(ChooseSerialError::NothingToChoose)
    );
}

#[test]
fn a_duplicate_fsan_is_reported_before_any_serial_question() {
    let t = Instant::now();
    let check = Box::new(|_: &jobpack_core::qr::Fsan| Some("JOB-7".to_owned()));
    let mut s = ScanSession::new(SessionConfig::default(), check);
    let label = "ALCLB443689D,FH2301A0B1C2,YP9988776655";
    s.feed_payload_at(label, t);
    assert!(matches!(
        s.feed_payload_at(label, t + Duration::from_millis(40)),
        ScanProgress::Duplicate { .. }
    ));
}

#[test]
fn the_issue_17_labels_confirm_the_right_serial() {
    let t = Instant::now();
    for label in [
        "SN=ALCLB443689D;SERIAL=FH2301A0B1C2;MAC=B3:A0:11:22:33:44;PN=3FE49568AA",
        "ALCLB443689D,FH2301A0B1C2,B3:A0:11:22:33:44",
    ] {
        let mut s = ScanSession::new(SessionConfig::default(), no_duplicates());
        s.feed_payload_at(label, t);
        match s.feed_payload_at(label, t + Duration::from_millis(40)) {
            ScanProgress::Confirmed(id) => {
                assert_eq!(id.fsan.as_str(), "ALCLB443689D", "{label}");
                assert_eq!(id.serial.as_deref(), Some("FH2301A0B1C2"), "{label}");
                assert_eq!(id.mac.as_deref(), Some("B3:A0:11:22:33:44"), "{label}");
            }
            other => panic!("{label}: {other:?}"),
        }
    }
}

#[test]
fn a_label_with_two_codes_confirms_the_onts() {
    // The ONT's code beside a Wi-Fi code on one label.
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/qr/two-codes.jpg");
    let img = LumaImage::open(path).unwrap();
    let frame = img.frame().unwrap();
    let mut s = ScanSession::new(SessionConfig::default(), no_duplicates());
    let t = Instant::now();
    assert!(matches!(
        s.feed_at(&frame, t),
        ScanProgress::SeenOnce { .. }
    ));
    match s.feed_at(&frame, t + Duration::from_millis(33)) {
        ScanProgress::Confirmed(id) => {
            assert_eq!(id.fsan.as_str(), "ALCLB443689D");
            assert_eq!(id.serial.as_deref(), Some("FH2301A0B1C2"));
        }
        other => panic!("{other:?}"),
    }
}
