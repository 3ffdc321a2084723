use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::codes::Catalogue;
use crate::protocol::{FileReference, Source, Timestamp};

pub(super) fn catalogue() -> Catalogue {
    Catalogue::embedded()
}

fn default_matrix() -> Matrix {
    Matrix::default_for(&catalogue()).unwrap_or_else(|p| panic!("{p}"))
}

pub(super) fn at(minute: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_717_232_400_000 + minute * 60_000).expect("a valid time")
}

/// A valid raw answer for a question; `seed` picks among the possible ones so that different
/// seeds take different branches.
fn valid_raw(question: &Question, seed: u64) -> String {
    let s = seed as usize;
    match &question.answer {
        AnswerType::YesNo => ["yes", "no"][s % 2].to_owned(),
        AnswerType::SingleChoice { choices } => choices[s % choices.len()].clone(),
        AnswerType::MultipleChoice {
            choices,
            min_selected,
            max_selected,
        } => {
            let max = max_selected.map_or(choices.len(), |m| m as usize);
            let min = (*min_selected).max(1) as usize;
            let count = min + s % (max - min + 1);
            (0..count)
                .map(|i| choices[(s + i) % choices.len()].clone())
                .collect::<Vec<_>>()
                .join(", ")
        }
        AnswerType::Number { min, max, .. } => {
            let lo = min.unwrap_or(-100.0);
            let hi = max.unwrap_or(100.0);
            let value = [lo, hi, ((lo + hi) / 2.0).round(), -20.0, -30.0][s % 5];
            format!("{}", value.clamp(lo, hi))
        }
        AnswerType::Text { max_length } => format!("note {seed}")
            .chars()
            .take(*max_length as usize)
            .collect(),
        AnswerType::Time => format!("{}:{:02}", s % 24, s % 60),
        AnswerType::Date => format!("{:02}/06/2024", 1 + s % 28),
    }
}

/// Answers every question of the path with valid answers until it is complete.
fn complete(matrix: &Matrix, context: &FlowContext, answers: &mut Answers, seed: u64) {
    for i in 0..100 {
        let Some(question) = matrix.next_question(context, answers) else {
            return;
        };
        let raw = valid_raw(question, seed.wrapping_add(i));
        let answer = matrix
            .validate_answer(&question.code, &raw)
            .unwrap_or_else(|e| panic!("{}: {raw:?} refused: {e}", question.code));
        answers.record(&question.code, answer, at(i as i64));
    }
    panic!("the walk did not end within 100 answers");
}

fn photos_for(matrix: &Matrix, context: &FlowContext, answers: &Answers) -> BTreeMap<String, u32> {
    matrix
        .walk(context, answers)
        .answered
        .iter()
        .map(|q| (q.code.clone(), q.photo_requirement(context, answers).min))
        .collect()
}

fn file(code: &str) -> FileReference {
    FileReference {
        name: format!("{code}.jpg"),
        mime_type: "image/jpeg".into(),
        object_path: format!("s3://bucket/jobs/J1/{code}.jpg"),
        url: None,
    }
}

fn codes_on_path(matrix: &Matrix, context: &FlowContext, answers: &Answers) -> Vec<String> {
    matrix
        .walk(context, answers)
        .answered
        .iter()
        .map(|q| q.code.clone())
        .collect()
}

pub(super) fn answer(matrix: &Matrix, answers: &mut Answers, code: &str, raw: &str, minute: i64) {
    let canonical = matrix
        .validate_answer(code, raw)
        .unwrap_or_else(|e| panic!("{code}: {e}"));
    answers.record(code, canonical, at(minute));
}

// ------------------------------------------------------------------ the default matrix

#[test]
fn the_default_matrix_loads_and_says_it_is_the_default() {
    let matrix = default_matrix();
    assert!(matrix.info().is_default);
    assert!(DEFAULT_MATRIX_JSON.contains("replaces this file"));
    let sponge = matrix.question("1100").expect("the seed's sponge question");
    assert_eq!(sponge.text, "Did Sponge Pass?");
    assert_eq!(sponge.answer, AnswerType::YesNo);
    let first_call = matrix
        .question("4900")
        .expect("the seed's first-call question");
    assert_eq!(first_call.answer, AnswerType::Time);
    assert_eq!(first_call.min_photos, 2);
}

#[test]
fn every_closure_code_of_the_catalogue_has_a_closure_flow_with_questions() {
    let matrix = default_matrix();
    let catalogue = catalogue();
    assert_eq!(
        matrix.uncovered_closure_codes(&catalogue),
        Vec::<&str>::new()
    );
    for code in catalogue.closure_codes() {
        let context = FlowContext::closure(&code.code, None);
        assert!(
            matrix.next_question(&context, &Answers::new()).is_some(),
            "{} asks nothing",
            code.code
        );
    }
    assert!(
        matrix
            .flow_for(Journey::Visit, None, None)
            .is_some_and(|f| f.id == "visit")
    );
}

/// Every closure code, alone and with each of its secondary codes, and a few seeds so that
/// different branches are taken: valid answers and the required photos close every gap, and
/// the payload is what the protocol accepts.
#[test]
fn every_closure_and_secondary_code_can_be_completed() {
    let matrix = default_matrix();
    let catalogue = catalogue();
    let mut cases = 0;
    for code in catalogue.closure_codes() {
        let secondaries: Vec<Option<String>> = std::iter::once(None)
            .chain(
                catalogue
                    .secondary_codes_of(&code.code)
                    .map(|s| Some(s.code.clone())),
            )
            .collect();
        for secondary in secondaries {
            for seed in 0..4 {
                let mut context = FlowContext::closure(&code.code, secondary.as_deref());
                context.ont_status = Some(2);
                let mut answers = Answers::new();
                complete(&matrix, &context, &mut answers, seed);
                let photos = photos_for(&matrix, &context, &answers);
                let gaps = matrix.checklist(&context, &answers, &photos, &catalogue);
                if code.secondary_required && secondary.is_none() {
                    let allowed: Vec<String> = catalogue
                        .secondary_codes_of(&code.code)
                        .map(|s| s.code.clone())
                        .collect();
                    assert_eq!(
                        gaps,
                        vec![Gap::MissingSecondaryCode {
                            closure: code.code.clone(),
                            allowed
                        }]
                    );
                } else {
                    assert_eq!(gaps, vec![], "{} {secondary:?} seed {seed}", code.code);
                }
                let files: BTreeMap<String, Vec<FileReference>> = photos
                    .iter()
                    .map(|(q, n)| (q.clone(), (0..*n).map(|_| file(q)).collect()))
                    .collect();
                let payload = matrix.questions_answers(&context, &answers, &files);
                assert!(!payload.is_empty(), "{} sends no answers", code.code);
                for qa in &payload {
                    qa.validate().unwrap_or_else(|e| panic!("{qa:?}: {e}"));
                    assert_eq!(qa.source, Source::CloseJob);
                    let question = matrix.question(&qa.question_code).unwrap();
                    assert_eq!(qa.question, question.text);
                    let wanted = question.photo_requirement(&context, &answers);
                    assert_eq!(qa.files.len(), wanted.min as usize);
                }
                cases += 1;
            }
        }
    }
    assert!(cases > 4 * 100, "only {cases} cases");
}

#[test]
fn con_and_pop_without_secondary_code_list_the_allowed_ones() {
    let matrix = default_matrix();
    let catalogue = catalogue();
    for code in ["CON", "POP"] {
        let gaps = matrix.checklist(
            &FlowContext::closure(code, None),
            &Answers::new(),
            &BTreeMap::new(),
            &catalogue,
        );
        let Some(Gap::MissingSecondaryCode { closure, allowed }) = gaps.first() else {
            panic!("{code}: {gaps:?}");
        };
        assert_eq!(closure, code);
        assert!(allowed.contains(&format!("{code}01")), "{allowed:?}");
        assert!(gaps[0].to_string().contains(&format!("{code}01")));
    }
}

// ------------------------------------------------------------------ answer types

fn validate(answer: &AnswerType, raw: &str) -> Result<String, AnswerError> {
    answer.canonical(raw)
}

#[test]
fn yes_no_answers_are_yes_or_no() {
    for raw in ["yes", "Y", " TRUE ", "1"] {
        assert_eq!(validate(&AnswerType::YesNo, raw).as_deref(), Ok("Yes"));
    }
    for raw in ["no", "n", "False", "0"] {
        assert_eq!(validate(&AnswerType::YesNo, raw).as_deref(), Ok("No"));
    }
    assert_eq!(
        validate(&AnswerType::YesNo, "maybe"),
        Err(AnswerError::NotYesNo {
            got: "maybe".into()
        })
    );
    assert_eq!(validate(&AnswerType::YesNo, "  "), Err(AnswerError::Empty));
}

#[test]
fn single_choice_takes_the_value_or_its_number() {
    let t = AnswerType::SingleChoice {
        choices: vec!["Gel wrap".into(), "Lead-in duct".into(), "2".into()],
    };
    assert_eq!(validate(&t, "gel WRAP").as_deref(), Ok("Gel wrap"));
    assert_eq!(validate(&t, "1").as_deref(), Ok("Gel wrap"));
    // A choice that is itself a number wins over the position.
    assert_eq!(validate(&t, "2").as_deref(), Ok("2"));
    let err = validate(&t, "4").unwrap_err();
    assert!(matches!(err, AnswerError::NotAChoice { .. }));
    assert!(
        err.to_string().contains("Gel wrap, Lead-in duct, 2"),
        "{err}"
    );
    assert!(matches!(
        validate(&t, "Drain"),
        Err(AnswerError::NotAChoice { .. })
    ));
}

#[test]
fn multiple_choice_is_joined_in_matrix_order() {
    let t = AnswerType::MultipleChoice {
        choices: vec!["Power".into(), "PON".into(), "LOS".into(), "LAN".into()],
        min_selected: 1,
        max_selected: Some(3),
    };
    assert_eq!(validate(&t, "lan, power").as_deref(), Ok("Power; LAN"));
    assert_eq!(validate(&t, "2;1").as_deref(), Ok("Power; PON"));
    assert_eq!(
        validate(&t, "PON, pon"),
        Err(AnswerError::ChosenTwice { got: "PON".into() })
    );
    assert_eq!(
        validate(&t, "1,2,3,4"),
        Err(AnswerError::TooManyChoices { max: 3, got: 4 })
    );
    assert_eq!(
        validate(&t, ", ;"),
        Err(AnswerError::TooFewChoices { min: 1, got: 0 })
    );
    assert!(matches!(
        validate(&t, "Power, Phone"),
        Err(AnswerError::NotAChoice { .. })
    ));
    let two = AnswerType::MultipleChoice {
        choices: vec!["A".into(), "B".into(), "C".into()],
        min_selected: 2,
        max_selected: None,
    };
    assert_eq!(
        validate(&two, "A"),
        Err(AnswerError::TooFewChoices { min: 2, got: 1 })
    );
    assert_eq!(
        split_choices("Power; LAN").collect::<Vec<_>>(),
        ["Power", "LAN"]
    );
}

#[test]
fn numbers_are_checked_for_unit_range_and_decimals() {
    let dbm = AnswerType::Number {
        unit: Some("dBm".into()),
        min: Some(-40.0),
        max: Some(5.0),
        decimals: 2,
    };
    for (raw, canonical) in [
        ("-18.5", "-18.5"),
        ("-18.50 dBm", "-18.5"),
        ("-18,5dbm", "-18.5"),
        ("\u{2212}18.25", "-18.25"),
        ("+004", "4"),
        ("-0", "0"),
        ("-0.00", "0"),
        ("5", "5"),
        ("-40", "-40"),
    ] {
        assert_eq!(validate(&dbm, raw).as_deref(), Ok(canonical), "{raw}");
    }
    assert!(matches!(
        validate(&dbm, "-18.555"),
        Err(AnswerError::TooManyDecimals { max: 2, .. })
    ));
    assert!(matches!(
        validate(&dbm, "-41"),
        Err(AnswerError::OutOfRange { .. })
    ));
    let err = validate(&dbm, "6").unwrap_err();
    assert!(err.to_string().contains("-40 to 5 dBm"), "{err}");
    assert!(matches!(
        validate(&dbm, "-18 mW"),
        Err(AnswerError::WrongUnit { .. })
    ));
    for raw in [
        "abc", "1e3", "--5", "1.", ".5", "1.2.3", "NaN", "inf", "12 34",
    ] {
        assert!(
            matches!(validate(&dbm, raw), Err(AnswerError::NotANumber { .. })),
            "{raw}: {:?}",
            validate(&dbm, raw)
        );
    }
    let whole = AnswerType::Number {
        unit: None,
        min: None,
        max: None,
        decimals: 0,
    };
    assert_eq!(validate(&whole, "1200").as_deref(), Ok("1200"));
    assert!(matches!(
        validate(&whole, "12.5"),
        Err(AnswerError::TooManyDecimals { max: 0, .. })
    ));
    assert!(matches!(
        validate(&whole, "12 m"),
        Err(AnswerError::NotANumber { .. })
    ));
}

#[test]
fn free_text_is_trimmed_limited_and_free_of_control_characters() {
    let t = AnswerType::Text { max_length: 5 };
    assert_eq!(validate(&t, "  héllo ").as_deref(), Ok("héllo"));
    assert_eq!(validate(&t, "a\nb").as_deref(), Ok("a\nb"));
    assert_eq!(
        validate(&t, "toolong"),
        Err(AnswerError::TooLong { max: 5, got: 7 })
    );
    assert_eq!(validate(&t, "a\u{7}b"), Err(AnswerError::ControlCharacter));
    assert_eq!(validate(&t, ""), Err(AnswerError::Empty));
}

#[test]
fn times_become_hh_mm() {
    for (raw, canonical) in [
        ("07:56", "07:56"),
        ("7:56", "07:56"),
        ("0756", "07:56"),
        ("7.56", "07:56"),
        ("23:59", "23:59"),
        ("00:00", "00:00"),
    ] {
        assert_eq!(validate(&AnswerType::Time, raw).as_deref(), Ok(canonical));
    }
    for raw in [
        "24:00",
        "7:5",
        "7:60",
        "756",
        "noon",
        "07:56:00",
        "-1:30",
        "٠٧:٥٦",
    ] {
        assert!(
            matches!(
                validate(&AnswerType::Time, raw),
                Err(AnswerError::NotATime { .. })
            ),
            "{raw}"
        );
    }
}

#[test]
fn dates_become_iso() {
    assert_eq!(
        validate(&AnswerType::Date, "2024-06-01").as_deref(),
        Ok("2024-06-01")
    );
    assert_eq!(
        validate(&AnswerType::Date, "1/6/2024").as_deref(),
        Ok("2024-06-01")
    );
    for raw in [
        "2024-02-30",
        "31/04/2024",
        "06/01/24",
        "tomorrow",
        "20240601",
        "12345-01-01",
    ] {
        assert!(
            matches!(
                validate(&AnswerType::Date, raw),
                Err(AnswerError::NotADate { .. })
            ),
            "{raw}"
        );
    }
}

#[test]
fn validating_an_unknown_question_is_a_typed_error() {
    assert_eq!(
        default_matrix().validate_answer("0000", "yes"),
        Err(AnswerError::UnknownQuestion {
            code: "0000".into()
        })
    );
}

// ------------------------------------------------------------------ branching

#[test]
fn the_visit_branches_on_answers() {
    let matrix = default_matrix();
    let context = FlowContext::new(Journey::Visit);
    let mut answers = Answers::new();
    answer(&matrix, &mut answers, "1000", "yes", 0);
    assert_eq!(
        matrix.next_question(&context, &answers).unwrap().code,
        "1100"
    );
    answer(&matrix, &mut answers, "1100", "no", 1);
    assert_eq!(
        matrix.next_question(&context, &answers).unwrap().code,
        "1110"
    );
    answer(&matrix, &mut answers, "1110", "gel wrap", 2);
    answer(&matrix, &mut answers, "1120", "no", 3);
    let walk = matrix.walk(&context, &answers);
    assert!(walk.is_complete(), "an uncleared blockage ends the visit");

    let mut passed = Answers::new();
    answer(&matrix, &mut passed, "1000", "yes", 0);
    answer(&matrix, &mut passed, "1100", "yes", 1);
    assert_eq!(
        matrix.next_question(&context, &passed).unwrap().code,
        "1200"
    );

    let mut refused = Answers::new();
    answer(&matrix, &mut refused, "1000", "no", 0);
    assert!(matrix.walk(&context, &refused).is_complete());
}

#[test]
fn the_visit_asks_flag_questions_only_for_flagged_jobs() {
    let matrix = default_matrix();
    let mut answers = Answers::new();
    answer(&matrix, &mut answers, "1000", "yes", 0);
    let plain = FlowContext::new(Journey::Visit);
    assert_eq!(matrix.next_question(&plain, &answers).unwrap().code, "1100");
    let mut flagged = FlowContext::new(Journey::Visit);
    flagged.property_flags = vec!["MDU".into(), "DAN".into()];
    assert_eq!(
        matrix.next_question(&flagged, &answers).unwrap().code,
        "1010"
    );
    answer(&matrix, &mut answers, "1010", "yes", 1);
    assert_eq!(
        matrix.next_question(&flagged, &answers).unwrap().code,
        "1020"
    );
    // A refused risk assessment asks why, and stops the visit questions.
    let mut stopped = answers.clone();
    answer(&matrix, &mut stopped, "1010", "no", 2);
    assert_eq!(
        matrix.next_question(&flagged, &stopped).unwrap().code,
        "1011"
    );
    answer(&matrix, &mut stopped, "1011", "Dog loose in the garden", 3);
    assert!(matrix.walk(&flagged, &stopped).is_complete());
}

#[test]
fn the_ont_status_selects_questions() {
    let matrix = default_matrix();
    let mut answers = Answers::new();
    answer(&matrix, &mut answers, "2600", "ONT would not provision", 0);
    let next_with = |status: Option<u8>| {
        let mut context = FlowContext::closure("PSP", None);
        context.ont_status = status;
        matrix
            .next_question(&context, &answers)
            .unwrap()
            .code
            .clone()
    };
    assert_eq!(next_with(Some(3)), "2610");
    assert_eq!(next_with(Some(6)), "2620");
    assert_eq!(next_with(None), "2630");
    assert_eq!(next_with(Some(2)), "2000");

    let mut visit = FlowContext::new(Journey::Visit);
    visit.ont_status = Some(4);
    let mut done = Answers::new();
    answer(&matrix, &mut done, "1000", "yes", 0);
    answer(&matrix, &mut done, "1100", "yes", 1);
    answer(&matrix, &mut done, "1200", "1", 2);
    answer(&matrix, &mut done, "1210", "Hall", 3);
    assert_eq!(matrix.next_question(&visit, &done).unwrap().code, "1310");
    visit.ont_status = Some(1);
    assert!(matrix.walk(&visit, &done).is_complete());
}

#[test]
fn closure_and_secondary_codes_select_flows_and_branches() {
    let matrix = default_matrix();
    let first = |code: &str, secondary: Option<&str>| {
        let context = FlowContext::closure(code, secondary);
        let mut answers = Answers::new();
        complete(&matrix, &context, &mut answers, 0);
        codes_on_path(&matrix, &context, &answers)
    };
    assert!(first("NAPUV", None).contains(&"4930".to_owned()));
    assert!(!first("RNA", None).contains(&"4930".to_owned()));
    assert_eq!(first("RNA", None)[0], "4900");
    // A secondary code with its own flow.
    assert_eq!(first("REVNA", Some("REVNA02"))[0], "4950");
    assert_eq!(first("REVNA", Some("REVNA01"))[0], "4900");
    // Secondary-specific branches inside one flow.
    assert!(first("CON", Some("CON05")).contains(&"6010".to_owned()));
    assert!(first("EXTCON", Some("EXTCON07")).contains(&"6020".to_owned()));
    assert!(
        !first("CON", Some("CON01"))
            .iter()
            .any(|c| c == "6010" || c == "6020")
    );
    assert!(first("POP", Some("POP03")).contains(&"2000".to_owned()));
    assert!(!first("POP", Some("POP01")).contains(&"2000".to_owned()));
    // The hazard type is asked only when no secondary code says it.
    assert_eq!(first("HAZ", None)[0], "3000");
    assert_eq!(first("EXTHAZ", Some("EXTHAZ05"))[0], "3010");
    assert!(first("EXTHAZ", Some("EXTHAZ05")).contains(&"3020".to_owned()));
}

#[test]
fn the_light_level_branches_on_its_range() {
    let matrix = default_matrix();
    let context = FlowContext::closure("SP", None);
    let mut answers = Answers::new();
    answer(&matrix, &mut answers, "2000", "-18.2", 0);
    assert_eq!(
        matrix.next_question(&context, &answers).unwrap().code,
        "2100"
    );
    answer(&matrix, &mut answers, "2000", "-29", 1);
    assert_eq!(
        matrix.next_question(&context, &answers).unwrap().code,
        "2010"
    );
    answer(&matrix, &mut answers, "2000", "-27", 2);
    assert_eq!(
        matrix.next_question(&context, &answers).unwrap().code,
        "2100"
    );
    // ONT lights: LOS lit asks whether the fault was cleared.
    answer(&matrix, &mut answers, "2100", "Power, PON, LOS", 3);
    assert_eq!(
        matrix.next_question(&context, &answers).unwrap().code,
        "2110"
    );
    answer(&matrix, &mut answers, "2100", "Power, PON, LAN", 4);
    assert_eq!(
        matrix.next_question(&context, &answers).unwrap().code,
        "2200"
    );
}

// ------------------------------------------------------------------ editing, payload

#[test]
fn changing_an_earlier_answer_takes_later_answers_off_the_payload() {
    let matrix = default_matrix();
    let context = FlowContext::closure("SP", None);
    let mut answers = Answers::new();
    answer(&matrix, &mut answers, "2000", "-30", 0);
    answer(&matrix, &mut answers, "2010", "2", 1);
    answer(&matrix, &mut answers, "2100", "Power, PON", 2);
    let before = matrix.questions_answers(&context, &answers, &BTreeMap::new());
    assert_eq!(
        before
            .iter()
            .map(|q| q.question_code.as_str())
            .collect::<Vec<_>>(),
        ["2000", "2010", "2100"]
    );
    // The meter was misread: the level is in range after all.
    answer(&matrix, &mut answers, "2000", "-20", 3);
    let after = matrix.questions_answers(&context, &answers, &BTreeMap::new());
    assert_eq!(
        after
            .iter()
            .map(|q| q.question_code.as_str())
            .collect::<Vec<_>>(),
        ["2000", "2100"]
    );
    assert_eq!(after[0].answer, "-20");
    assert_eq!(
        after[0].response_received.0,
        at(3),
        "the time of the new answer"
    );
    assert_eq!(after[1].response_received.0, at(2));
    // History keeps everything.
    assert_eq!(answers.history().len(), 4);
    assert!(answers.history().iter().any(|a| a.question_code == "2010"));
    // And going back restores the answer still in history.
    answer(&matrix, &mut answers, "2000", "-31", 4);
    let again = matrix.questions_answers(&context, &answers, &BTreeMap::new());
    assert_eq!(again[1].question_code, "2010");
    assert_eq!(again[1].response_received.0, at(1));
}

#[test]
fn the_payload_carries_text_source_time_and_files() {
    let matrix = default_matrix();
    let context = FlowContext::closure("RNA", None);
    let mut answers = Answers::new();
    answer(&matrix, &mut answers, "4900", "7:56", 5);
    let files = BTreeMap::from([(
        "4900".to_owned(),
        vec![file("4900-call-log"), file("4900-door")],
    )]);
    let payload = matrix.questions_answers(&context, &answers, &files);
    assert_eq!(payload.len(), 1);
    let qa = &payload[0];
    assert_eq!(
        qa.question,
        "Time of first call Mandatory Photos of call log & Photos of door/house"
    );
    assert_eq!(qa.answer, "07:56");
    assert_eq!(qa.source, Source::CloseJob);
    assert_eq!(qa.response_received.0, at(5));
    assert_eq!(qa.files.len(), 2);
    qa.validate().unwrap();

    let visit = FlowContext::new(Journey::Visit);
    let mut visit_answers = Answers::new();
    answer(&matrix, &mut visit_answers, "1000", "y", 0);
    answer(&matrix, &mut visit_answers, "1100", "y", 1);
    let sent = matrix.questions_answers(&visit, &visit_answers, &BTreeMap::new());
    assert_eq!(sent[1].question, "Did Sponge Pass?");
    assert_eq!(sent[1].answer, "Yes");
    assert!(sent.iter().all(|q| q.source == Source::NotifyJob));
}

#[test]
fn visit_answers_can_steer_the_closure_flow() {
    let matrix = default_matrix();
    let mut context = FlowContext::closure("SP", None);
    context.ont_status = Some(1);
    let mut answers = Answers::new();
    complete(&matrix, &context, &mut answers, 0);
    assert!(!codes_on_path(&matrix, &context, &answers).contains(&"2070".to_owned()));
    answer(&matrix, &mut answers, "1120", "yes", 50);
    assert_eq!(
        matrix.next_question(&context, &answers).unwrap().code,
        "2070"
    );
}

// ------------------------------------------------------------------ checklist

#[test]
fn the_checklist_names_each_missing_thing() {
    let matrix = default_matrix();
    let catalogue = catalogue();
    let mut context = FlowContext::closure("SP", None);
    let gaps = matrix.checklist(&context, &Answers::new(), &BTreeMap::new(), &catalogue);
    assert_eq!(
        gaps,
        vec![
            Gap::OntNotProvisioned {
                closure: "SP".into(),
                status: None
            },
            Gap::UnansweredQuestion {
                question_code: "2000".into(),
                text: "Optical light level at the ONT".into(),
                more_may_follow: true,
            },
        ]
    );
    context.ont_status = Some(3);
    let gaps = matrix.checklist(&context, &Answers::new(), &BTreeMap::new(), &catalogue);
    assert!(gaps.contains(&Gap::OntNotProvisioned {
        closure: "SP".into(),
        status: Some(3)
    }));
    context.ont_status = Some(1);
    let gaps = matrix.checklist(&context, &Answers::new(), &BTreeMap::new(), &catalogue);
    assert!(
        !gaps
            .iter()
            .any(|g| matches!(g, Gap::OntNotProvisioned { .. }))
    );

    // Photos: required and have.
    let no_access = FlowContext::closure("NA", None);
    let mut answers = Answers::new();
    answer(&matrix, &mut answers, "4900", "08:10", 0);
    let photos = BTreeMap::from([("4900".to_owned(), 1)]);
    let gaps = matrix.checklist(&no_access, &answers, &photos, &catalogue);
    assert_eq!(
        gaps[0],
        Gap::MissingPhotos {
            question_code: "4900".into(),
            text: matrix.question("4900").unwrap().text.clone(),
            required: 2,
            have: 1,
            hint: Some("the phone's call log, and the door or front of the house".into()),
            required_by: None,
        }
    );
    assert!(gaps[0].to_string().contains("needs 2 photo(s), 1 attached"));

    // Codes the catalogue refuses.
    let gaps = matrix.checklist(
        &FlowContext::closure("XYZ", None),
        &Answers::new(),
        &BTreeMap::new(),
        &catalogue,
    );
    assert!(matches!(&gaps[0], Gap::ClosureCodeRefused { code, .. } if code == "XYZ"));
    let gaps = matrix.checklist(
        &FlowContext::closure("CON", Some("POP01")),
        &Answers::new(),
        &BTreeMap::new(),
        &catalogue,
    );
    assert!(
        matches!(&gaps[0], Gap::ClosureCodeRefused { .. }),
        "{gaps:?}"
    );
    let gaps = matrix.checklist(
        &FlowContext::new(Journey::Closure),
        &Answers::new(),
        &BTreeMap::new(),
        &catalogue,
    );
    assert_eq!(gaps, vec![Gap::NoClosureCode]);
}

#[test]
fn an_answer_the_replaced_matrix_no_longer_accepts_is_a_gap() {
    let matrix = default_matrix();
    let context = FlowContext::closure("MBORC", None);
    let mut answers = Answers::new();
    answers.record("5200", "Alien invasion".into(), at(0));
    let gaps = matrix.checklist(&context, &answers, &BTreeMap::new(), &catalogue());
    assert!(
        matches!(&gaps[0], Gap::InvalidAnswer { question_code, reason: AnswerError::NotAChoice { .. }, .. } if question_code == "5200"),
        "{gaps:?}"
    );
}

// ------------------------------------------------------------------ malformed matrices

pub(super) fn problems(json: &str) -> Vec<MatrixProblem> {
    match Matrix::from_json(json, &catalogue()) {
        Ok(_) => panic!("the matrix loaded"),
        Err(p) => p.0,
    }
}

pub(super) fn has(
    problems: &[MatrixProblem],
    place: &str,
    pred: impl Fn(&ProblemKind) -> bool,
) -> bool {
    problems.iter().any(|p| p.place == place && pred(&p.kind))
}

const SMALL: &str = r#"{
  "name": "t", "version": "1",
  "questions": [
    {"code": "A", "text": "Yes or no?", "answer": {"type": "yesNo"}},
    {"code": "B", "text": "How far?", "answer": {"type": "number", "unit": "m", "min": 0, "max": 10}},
    {"code": "C", "text": "Which?", "answer": {"type": "multipleChoice", "choices": ["x", "y"]}}
  ],
  "flows": [
    {"id": "f", "journey": "closure", "closureCodes": ["SP"], "steps": [
      {"question": "A", "next": [{"when": {"answer": "A", "equals": "No"}, "goto": "C"}]},
      {"question": "B"},
      {"question": "C"}
    ]}
  ]
}"#;

fn small_with(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(SMALL).unwrap();
    edit(&mut v);
    v.to_string()
}

#[test]
fn the_small_matrix_loads() {
    let m = Matrix::from_json(SMALL, &catalogue()).unwrap_or_else(|p| panic!("{p}"));
    assert!(!m.info().is_default);
    let context = FlowContext::closure("SP", None);
    let mut answers = Answers::new();
    answer(&m, &mut answers, "A", "no", 0);
    assert_eq!(m.next_question(&context, &answers).unwrap().code, "C");
}

#[test]
fn each_kind_of_problem_is_named_with_its_place() {
    use serde_json::json;
    type Case = (
        Box<dyn Fn(&mut serde_json::Value)>,
        &'static str,
        fn(&ProblemKind) -> bool,
    );
    let cases: Vec<Case> = vec![
        (
            Box::new(|v| v["flows"][0]["steps"][1]["question"] = json!("Z")),
            "/flows/0/steps/1/question",
            |k| matches!(k, ProblemKind::UnknownQuestion(q) if q == "Z"),
        ),
        (
            Box::new(|v| v["flows"][0]["steps"][2]["next"] = json!([{"goto": "B"}])),
            "/flows/0/steps/2/next/0/goto",
            |k| matches!(k, ProblemKind::Cycle(path) if path == &["B", "C", "B"]),
        ),
        (
            Box::new(|v| v["flows"][0]["steps"][0]["next"] = json!([{"goto": "C"}])),
            "/flows/0/steps/1",
            |k| matches!(k, ProblemKind::UnreachableStep(q) if q == "B"),
        ),
        (
            Box::new(|v| v["questions"][0]["text"] = json!("  ")),
            "/questions/0/text",
            |k| matches!(k, ProblemKind::Empty),
        ),
        (
            Box::new(|v| {
                v["questions"][0].as_object_mut().unwrap().remove("text");
            }),
            "/questions/0",
            |k| matches!(k, ProblemKind::MissingField("text")),
        ),
        (
            Box::new(|v| v["questions"][1]["answer"]["min"] = json!(20)),
            "/questions/1/answer/min",
            |k| matches!(k, ProblemKind::ContradictoryRange { .. }),
        ),
        (
            Box::new(|v| {
                v["questions"][2]["answer"]["minSelected"] = json!(2);
                v["questions"][2]["answer"]["maxSelected"] = json!(1);
            }),
            "/questions/2/answer/minSelected",
            |k| matches!(k, ProblemKind::ContradictoryRange { .. }),
        ),
        (
            Box::new(|v| v["questions"][2]["answer"]["maxSelected"] = json!(3)),
            "/questions/2/answer/maxSelected",
            |k| matches!(k, ProblemKind::OutOfLimits { .. }),
        ),
        (
            Box::new(|v| v["flows"][0]["closureCodes"] = json!(["SP", "ZZZ"])),
            "/flows/0/closureCodes/1",
            |k| matches!(k, ProblemKind::UnknownClosureCode(c) if c == "ZZZ"),
        ),
        (
            Box::new(|v| v["flows"][0]["closureCodes"] = json!(["SP", "SP"])),
            "/flows/0/closureCodes/1",
            |k| matches!(k, ProblemKind::DuplicateCode(c) if c == "SP"),
        ),
        (
            Box::new(|v| v["flows"][0]["secondaryCodes"] = json!(["POP01"])),
            "/flows/0/secondaryCodes/0",
            |k| matches!(k, ProblemKind::SecondaryOfAnotherCode { parent, .. } if parent == "POP"),
        ),
        (
            Box::new(|v| {
                v["flows"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("closureCodes");
                v["flows"][0]["secondaryCodes"] = json!(["POP01"]);
            }),
            "/flows/0/secondaryCodes",
            |k| matches!(k, ProblemKind::SecondaryWithoutClosure),
        ),
        (
            Box::new(|v| v["questions"][1]["code"] = json!("A")),
            "/questions/1/code",
            |k| matches!(k, ProblemKind::DuplicateQuestion { first, .. } if first == "/questions/0/code"),
        ),
        (
            Box::new(|v| v["questions"][1]["code"] = json!("has space")),
            "/questions/1/code",
            |k| matches!(k, ProblemKind::BadQuestionCode(_)),
        ),
        (
            Box::new(|v| {
                let steps = v["flows"][0]["steps"].as_array_mut().unwrap();
                steps.push(json!({"question": "A"}));
            }),
            "/flows/0/steps/3/question",
            |k| matches!(k, ProblemKind::DuplicateStep { .. }),
        ),
        (
            Box::new(|v| v["flows"][0]["steps"][0]["next"][0]["goto"] = json!("Q")),
            "/flows/0/steps/0/next/0/goto",
            |k| matches!(k, ProblemKind::UnknownTarget(t) if t == "Q"),
        ),
        (
            Box::new(|v| v["flows"][0]["steps"][0]["next"][0]["when"]["equals"] = json!("Maybe")),
            "/flows/0/steps/0/next/0/when/equals",
            |k| {
                matches!(
                    k,
                    ProblemKind::ImpossibleAnswer {
                        reason: AnswerError::NotYesNo { .. },
                        ..
                    }
                )
            },
        ),
        (
            Box::new(|v| {
                v["flows"][0]["steps"][0]["askWhen"] = json!({"answer": "B", "atLeast": 1})
            }),
            "/flows/0/steps/0/askWhen",
            |k| matches!(k, ProblemKind::AnswerNotYetGiven(q) if q == "B"),
        ),
        (
            Box::new(|v| {
                v["flows"][0]["steps"][1]["askWhen"] = json!({"answer": "A", "atLeast": 1})
            }),
            "/flows/0/steps/1/askWhen",
            |k| matches!(k, ProblemKind::RangeOnNonNumber { .. }),
        ),
        (
            Box::new(|v| {
                v["flows"][0]["steps"][2]["askWhen"] =
                    json!({"answer": "B", "atLeast": 5, "atMost": 1})
            }),
            "/flows/0/steps/2/askWhen/atLeast",
            |k| matches!(k, ProblemKind::ContradictoryRange { .. }),
        ),
        (
            Box::new(|v| v["flows"][0]["steps"][1]["askWhen"] = json!({"flag": "XXX"})),
            "/flows/0/steps/1/askWhen/flag",
            |k| matches!(k, ProblemKind::UnknownFlag(f) if f == "XXX"),
        ),
        (
            Box::new(|v| v["flows"][0]["steps"][1]["askWhen"] = json!({"ontStatus": [2, 9]})),
            "/flows/0/steps/1/askWhen/ontStatus/1",
            |k| {
                matches!(
                    k,
                    ProblemKind::OutOfLimits { .. } | ProblemKind::UnknownOntStatus(9)
                )
            },
        ),
        (
            Box::new(|v| {
                v["flows"][0]["steps"][1]["askWhen"] = json!({"flag": "DAN", "ontStatus": [2]})
            }),
            "/flows/0/steps/1/askWhen",
            |k| matches!(k, ProblemKind::BadCondition(_)),
        ),
        (
            Box::new(|v| {
                v["flows"][0]["steps"][0]["next"] =
                    json!([{"goto": "B"}, {"when": {"answer": "A", "equals": "No"}, "goto": "C"}]);
            }),
            "/flows/0/steps/0/next/1",
            |k| matches!(k, ProblemKind::DeadRule),
        ),
        (
            Box::new(|v| {
                let flow = v["flows"][0].clone();
                v["flows"].as_array_mut().unwrap().push(flow);
            }),
            "/flows/1/id",
            |k| matches!(k, ProblemKind::DuplicateFlow { .. }),
        ),
        (
            Box::new(|v| {
                let mut flow = v["flows"][0].clone();
                flow["id"] = json!("g");
                flow["closureCodes"] = json!(["PSP", "SP"]);
                v["flows"].as_array_mut().unwrap().push(flow);
            }),
            "/flows/1",
            |k| matches!(k, ProblemKind::OverlappingFlows { case, .. } if case.contains("SP")),
        ),
        (
            Box::new(|v| {
                v["questions"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"code": "D", "text": "Never asked", "answer": {"type": "date"}}));
            }),
            "/questions/3/code",
            |k| matches!(k, ProblemKind::UnusedQuestion(q) if q == "D"),
        ),
        (
            Box::new(|v| v["questions"][0]["answer"]["type"] = json!("photo")),
            "/questions/0/answer/type",
            |k| matches!(k, ProblemKind::NotOneOf { .. }),
        ),
        (
            Box::new(|v| v["questions"][2]["answer"]["choices"] = json!(["x", "X"])),
            "/questions/2/answer/choices/1",
            |k| matches!(k, ProblemKind::DuplicateChoice(_)),
        ),
        (
            Box::new(|v| v["questions"][2]["answer"]["choices"] = json!(["x, y", "z"])),
            "/questions/2/answer/choices/0",
            |k| matches!(k, ProblemKind::ChoiceWithSeparator(_)),
        ),
        (
            Box::new(|v| v["questions"][0]["minPhotos"] = json!(-1)),
            "/questions/0/minPhotos",
            |k| matches!(k, ProblemKind::WrongType(_)),
        ),
        (
            Box::new(|v| v["questions"][0]["photos"] = json!(2)),
            "/questions/0/photos",
            |k| matches!(k, ProblemKind::UnknownField(f) if f == "photos"),
        ),
        (
            Box::new(|v| v["flows"][0]["journey"] = json!("install")),
            "/flows/0/journey",
            |k| matches!(k, ProblemKind::NotOneOf { .. }),
        ),
        (
            Box::new(|v| v["flows"][0]["steps"] = json!([])),
            "/flows/0/steps",
            |k| matches!(k, ProblemKind::Empty),
        ),
    ];
    for (i, (edit, place, kind)) in cases.into_iter().enumerate() {
        let found = Matrix::from_json(&small_with(edit), &catalogue())
            .err()
            .map(|p| p.0)
            .unwrap_or_default();
        assert!(
            has(&found, place, kind),
            "case {i}: nothing expected at {place}; got:\n{}",
            found
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn loading_reports_every_problem_not_just_the_first() {
    let json = small_with(|v| {
        v["questions"][0]["text"] = serde_json::json!("");
        v["questions"][1]["answer"]["min"] = serde_json::json!(99);
        v["flows"][0]["closureCodes"] = serde_json::json!(["NOPE"]);
        v["flows"][0]["steps"][0]["next"][0]["goto"] = serde_json::json!("nowhere");
    });
    let found = problems(&json);
    for place in [
        "/questions/0/text",
        "/questions/1/answer/min",
        "/flows/0/closureCodes/0",
        "/flows/0/steps/0/next/0/goto",
    ] {
        assert!(found.iter().any(|p| p.place == place), "{place}: {found:?}");
    }
    let text = MatrixProblems(found).to_string();
    assert!(
        text.contains("/flows/0/steps/0/next/0/goto: \"nowhere\" is neither"),
        "{text}"
    );
}

#[test]
fn not_json_and_wrong_shapes_are_problems_too() {
    let found = problems("{\"name\": ");
    assert!(matches!(found[0].kind, ProblemKind::NotJson(_)));
    assert_eq!(found[0].to_string().split(':').next(), Some("/"));
    let found = problems("[]");
    assert!(has(&found, "", |k| matches!(k, ProblemKind::WrongType(_))));
    let found = problems(r#"{"name": "x", "version": "1", "questions": {}, "flows": [1]}"#);
    assert!(has(&found, "/questions", |k| matches!(
        k,
        ProblemKind::WrongType(_)
    )));
    assert!(has(&found, "/flows/0", |k| matches!(
        k,
        ProblemKind::WrongType(_)
    )));
}

/// The example matrices in `spec/examples/closure-matrix`: `valid/` loads; `invalid/` and
/// `loader-invalid/` are refused, with a problem at each place their `$comment` expects.
/// (The schema's verdict on the same files is tested in `jobpack-spec`.)
#[test]
fn the_spec_example_matrices_are_judged_as_their_folder_says() {
    let root = Path::new(jobpack_spec::CLOSURE_MATRIX_EXAMPLES_DIR);
    let schema = jobpack_spec::ClosureMatrixSchema::load().unwrap();
    for folder in ["valid", "invalid", "loader-invalid"] {
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            let result = Matrix::from_json(&text, &catalogue());
            let schema_ok = schema.validate(&value).is_empty();
            match folder {
                "valid" => {
                    assert!(result.is_ok(), "{}: {:?}", path.display(), result.err());
                    assert!(schema_ok);
                }
                _ => {
                    let found = result.expect_err(&path.display().to_string()).0;
                    assert_eq!(schema_ok, folder == "loader-invalid", "{}", path.display());
                    let expect = value["$comment"].as_str().unwrap_or_default();
                    let places = expect.trim_start_matches("expect ").split(", ");
                    for place in places {
                        assert!(
                            found.iter().any(|p| p.place == place),
                            "{}: nothing at {place}: {found:?}",
                            path.display()
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn the_default_matrix_refuses_a_catalogue_that_moved_its_codes() {
    let partner =
        r#"{"secondaryCodes": [{"parent": "POP", "code": "CON05", "description": "Moved"}]}"#;
    let catalogue = Catalogue::with_partner_file(partner).unwrap();
    let problems = Matrix::default_for(&catalogue).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| matches!(&p.kind, ProblemKind::SecondaryOfAnotherCode { code, .. } if code == "CON05")
                || matches!(&p.kind, ProblemKind::UnknownSecondaryCode(_))),
        "{problems}"
    );
}

// ------------------------------------------------------------------ property tests

fn every_context() -> impl Strategy<Value = FlowContext> {
    let catalogue = catalogue();
    let mut pairs: Vec<(Option<String>, Option<String>)> = vec![(None, None)];
    for code in catalogue.closure_codes() {
        pairs.push((Some(code.code.clone()), None));
        for s in catalogue.secondary_codes_of(&code.code) {
            pairs.push((Some(code.code.clone()), Some(s.code.clone())));
        }
    }
    let flags = ["DAN", "CHP", "SUR", "DTL", "MDU", "WSD"];
    (
        prop::sample::select(pairs),
        prop::bool::ANY,
        prop::collection::vec(prop::sample::select(flags.to_vec()), 0..4),
        prop::option::of(1u8..=7),
    )
        .prop_map(|((closure, secondary), visit, flags, ont)| FlowContext {
            journey: if visit {
                Journey::Visit
            } else {
                Journey::Closure
            },
            closure_code: closure,
            secondary_code: secondary,
            property_flags: flags.into_iter().map(str::to_owned).collect(),
            ont_status: ont,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any context, random valid answers (and random edits of earlier answers): the walk ends
    /// within as many answers as the flow has steps, and nothing panics.
    #[test]
    fn walking_with_random_valid_answers_terminates(
        context in every_context(),
        seeds in prop::collection::vec(any::<u64>(), 40),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u64>()), 0..3),
    ) {
        let matrix = default_matrix();
        let steps = matrix
            .flow_for(context.journey, context.closure_code.as_deref(), context.secondary_code.as_deref())
            .map_or(0, |f| f.steps.len());
        let mut answers = Answers::new();
        let mut given = 0;
        for seed in &seeds {
            let Some(question) = matrix.next_question(&context, &answers) else { break };
            let raw = valid_raw(question, *seed);
            let canonical = matrix.validate_answer(&question.code, &raw);
            prop_assert!(canonical.is_ok(), "{}: {raw:?}: {canonical:?}", question.code);
            answers.record(&question.code, canonical.unwrap(), at(given));
            given += 1;
        }
        prop_assert!(matrix.walk(&context, &answers).is_complete());
        prop_assert!(given as usize <= steps);
        for (index, seed) in edits {
            let path = matrix.walk(&context, &answers).answered;
            if path.is_empty() { break }
            let question = path[index.index(path.len())];
            let canonical = matrix.validate_answer(&question.code, &valid_raw(question, seed)).unwrap();
            answers.record(&question.code, canonical, at(given));
            given += 1;
            let payload = matrix.questions_answers(&context, &answers, &BTreeMap::new());
            for qa in &payload {
                prop_assert!(qa.validate().is_ok());
            }
            let _ = matrix.checklist(&context, &answers, &BTreeMap::new(), &catalogue());
        }
    }

    /// Whatever an engineer types, every question answers with a canonical string or a typed
    /// error, and a canonical answer is accepted again unchanged.
    #[test]
    fn any_input_gives_an_answer_or_an_error(raw in ".{0,40}", pick in any::<prop::sample::Index>()) {
        let matrix = default_matrix();
        let question = &matrix.questions()[pick.index(matrix.questions().len())];
        if let Ok(canonical) = matrix.validate_answer(&question.code, &raw) {
            prop_assert_eq!(matrix.validate_answer(&question.code, &canonical), Ok(canonical.clone()));
        }
    }
}

#[test]
fn thousands_of_copies_of_one_flow_give_a_bounded_summarised_report() {
    let mut value: serde_json::Value = serde_json::from_str(DEFAULT_MATRIX_JSON).unwrap();
    let flow = value["flows"][0].clone();
    let flows = value["flows"].as_array_mut().unwrap();
    for i in 0..3_000 {
        let mut copy = flow.clone();
        copy["id"] = serde_json::json!(format!("copy-{i}"));
        flows.push(copy);
    }
    let huge_code = "X".repeat(1_000_000);
    value["questions"][0]["code"] = serde_json::json!(huge_code);
    let problems = Matrix::from_json(&value.to_string(), &catalogue()).unwrap_err();
    assert_eq!(problems.len(), MAX_LISTED_PROBLEMS + 1);
    let last = problems.iter().last().unwrap();
    assert!(
        matches!(last.kind, ProblemKind::MoreProblems(n) if n > 2_000),
        "{last}"
    );
    let printed: usize = problems.iter().map(|p| p.to_string().len()).sum();
    assert!(
        printed < (MAX_LISTED_PROBLEMS + 1) * (MAX_PROBLEM_LINE + 40),
        "every line is bounded, the huge value quoted by a prefix only ({printed} bytes)"
    );
}
