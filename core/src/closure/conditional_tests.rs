//! Optional questions, requirements under a condition and photo rules: what the walk, the
//! checklist and the payload make of them, and what loading refuses.

use std::collections::BTreeMap;

use super::tests::{answer, at, catalogue, has, problems};
use super::*;

/// S: a photo of the obstruction only when the sponge did not pass (and none otherwise);
/// P: two photos of the ONT position for MDU properties; R: required for MDU only;
/// N: an optional comment; E: always required.
const CONDITIONAL: &str = r#"{
  "name": "t", "version": "1",
  "questions": [
    {"code": "S", "text": "Did Sponge Pass?", "answer": {"type": "yesNo"}, "maxPhotos": 0,
     "photoRules": [{"when": {"answer": "S", "equals": "No"}, "minPhotos": 1, "maxPhotos": 3,
                     "photoHint": "the obstruction"}]},
    {"code": "P", "text": "Where is the ONT?", "answer": {"type": "text", "maxLength": 100},
     "photoHint": "the ONT",
     "photoRules": [{"when": {"flag": "MDU"}, "minPhotos": 2}]},
    {"code": "R", "text": "Riser reference", "answer": {"type": "text", "maxLength": 50},
     "requiredWhen": {"flag": "MDU"}},
    {"code": "N", "text": "Any comment?", "answer": {"type": "text", "maxLength": 500},
     "optional": true},
    {"code": "E", "text": "Customer happy?", "answer": {"type": "yesNo"}}
  ],
  "flows": [
    {"id": "f", "journey": "closure", "closureCodes": ["SP"], "steps": [
      {"question": "S"}, {"question": "P"}, {"question": "R"}, {"question": "N"},
      {"question": "E", "next": [{"when": {"answer": "N", "answered": true}, "goto": "end"}]}
    ]}
  ]
}"#;

fn matrix() -> Matrix {
    Matrix::from_json(CONDITIONAL, &catalogue()).unwrap_or_else(|p| panic!("{p}"))
}

/// Service provided, with a provisioned ONT (status 2), for a job with these flags.
fn sp(flags: &[&str]) -> FlowContext {
    FlowContext {
        property_flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        ont_status: Some(2),
        ..FlowContext::closure("SP", None)
    }
}

fn codes(questions: &[&Question]) -> Vec<String> {
    questions.iter().map(|q| q.code.clone()).collect()
}

fn gaps(m: &Matrix, context: &FlowContext, answers: &Answers, photos: &[(&str, u32)]) -> Vec<Gap> {
    let photos: BTreeMap<String, u32> = photos.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect();
    m.checklist(context, answers, &photos, &catalogue())
}

#[test]
fn an_optional_question_is_offered_skippable_and_never_a_gap() {
    let m = matrix();
    let context = sp(&[]);
    let mut answers = Answers::new();
    answer(&m, &mut answers, "S", "yes", 0);
    answer(&m, &mut answers, "P", "hall cupboard", 1);

    let walk = m.walk(&context, &answers);
    assert_eq!(codes(&walk.answered), ["S", "P"]);
    // R is required only for MDU; N is optional: both are passed over, E is asked.
    assert_eq!(codes(&walk.optional), ["R", "N"]);
    assert_eq!(walk.next.map(|q| q.code.as_str()), Some("E"));
    let found = gaps(&m, &context, &answers, &[]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        matches!(&found[0], Gap::UnansweredQuestion { question_code, .. } if question_code == "E")
    );

    answer(&m, &mut answers, "E", "yes", 2);
    assert!(gaps(&m, &context, &answers, &[]).is_empty());
    let sent: Vec<String> = m
        .questions_answers(&context, &answers, &BTreeMap::new())
        .into_iter()
        .map(|a| a.question_code)
        .collect();
    assert_eq!(sent, ["S", "P", "E"], "skipped questions are not sent");
}

#[test]
fn answering_an_optional_question_later_puts_it_on_the_path_with_its_branches() {
    let m = matrix();
    let context = sp(&[]);
    let mut answers = Answers::new();
    answer(&m, &mut answers, "S", "yes", 0);
    answer(&m, &mut answers, "P", "hall", 1);
    answer(&m, &mut answers, "N", "dog in garden", 2);
    let walk = m.walk(&context, &answers);
    assert_eq!(codes(&walk.answered), ["S", "P", "N"]);
    assert_eq!(codes(&walk.optional), ["R"]);
    let sent: Vec<String> = m
        .questions_answers(&context, &answers, &BTreeMap::new())
        .into_iter()
        .map(|a| a.question_code)
        .collect();
    assert_eq!(sent, ["S", "P", "N"], "in path order");
}

#[test]
fn a_requirement_under_a_condition_follows_the_condition() {
    let m = matrix();
    let mut answers = Answers::new();
    answer(&m, &mut answers, "S", "yes", 0);
    answer(&m, &mut answers, "P", "riser", 1);
    let mdu = sp(&["MDU"]);
    let walk = m.walk(&mdu, &answers);
    assert_eq!(walk.next.map(|q| q.code.as_str()), Some("R"));
    assert!(walk.optional.is_empty());
    assert!(
        m.question("R")
            .is_some_and(|q| q.is_required(&mdu, &answers))
    );
    assert!(
        m.question("R")
            .is_some_and(|q| !q.is_required(&sp(&[]), &answers))
    );
    let found = gaps(&m, &mdu, &answers, &[("P", 2)]);
    assert!(
        matches!(&found[0], Gap::UnansweredQuestion { question_code, .. } if question_code == "R"),
        "{found:?}"
    );
}

#[test]
fn a_photo_asked_for_by_an_answer_is_a_gap_naming_its_condition_until_the_answer_changes() {
    let m = matrix();
    let context = sp(&[]);
    let mut answers = Answers::new();
    answer(&m, &mut answers, "S", "no", 0);

    let found = gaps(&m, &context, &answers, &[]);
    let Some(Gap::MissingPhotos {
        question_code,
        required,
        have,
        hint,
        required_by,
        ..
    }) = found.first()
    else {
        panic!("{found:?}");
    };
    assert_eq!((question_code.as_str(), *required, *have), ("S", 1, 0));
    assert_eq!(hint.as_deref(), Some("the obstruction"));
    let condition = required_by.as_ref().expect("the rule's condition");
    assert_eq!(condition.to_string(), r#"the answer to S is "No""#);
    assert!(
        found[0]
            .to_string()
            .ends_with(r#"because the answer to S is "No""#)
    );

    // Editing the answer re-evaluates the gap: "Yes" asks for no photo.
    answer(&m, &mut answers, "S", "yes", 1);
    let found = gaps(&m, &context, &answers, &[]);
    assert!(
        !found.iter().any(|g| matches!(g, Gap::MissingPhotos { .. })),
        "{found:?}"
    );
    // ...and allows none, so a photo taken for "No" must go.
    let found = gaps(&m, &context, &answers, &[("S", 1)]);
    assert!(
        found.iter().any(|g| matches!(
            g,
            Gap::TooManyPhotos { question_code, allowed: 0, have: 1, required_by: None, .. }
                if question_code == "S"
        )),
        "{found:?}"
    );
    // The most the question ever accepts is the largest maximum of its rules.
    assert_eq!(m.question("S").and_then(Question::max_photos_ever), Some(3));
    assert_eq!(m.question("P").and_then(Question::max_photos_ever), None);
}

#[test]
fn photos_for_mdu_properties_only() {
    let m = matrix();
    let mut answers = Answers::new();
    answer(&m, &mut answers, "S", "yes", 0);
    answer(&m, &mut answers, "P", "riser cupboard, floor 2", 1);
    let question = m.question("P").expect("P");

    let plain = question.photo_requirement(&sp(&[]), &answers);
    assert_eq!((plain.min, plain.required_by), (0, None));
    let mdu = question.photo_requirement(&sp(&["MDU"]), &answers);
    assert_eq!(mdu.min, 2);
    assert_eq!(
        mdu.hint.as_deref(),
        Some("the ONT"),
        "the question's hint when the rule has none"
    );
    assert_eq!(
        mdu.required_by.map(|c| c.to_string()).as_deref(),
        Some("the job is flagged MDU")
    );
    let found = gaps(&m, &sp(&["MDU"]), &answers, &[("P", 1)]);
    assert!(
        found.iter().any(|g| matches!(
            g,
            Gap::MissingPhotos { question_code, required: 2, have: 1, required_by: Some(_), .. }
                if question_code == "P"
        )),
        "{found:?}"
    );
}

#[test]
fn older_matrix_files_mean_what_they_meant() {
    // No optional, requiredWhen, maxPhotos or photoRules: every question on the path is
    // required and its photo minimum fixed, as before.
    let m = Matrix::default_for(&catalogue()).unwrap_or_else(|p| panic!("{p}"));
    let first_call = m.question("4900").expect("4900");
    assert_eq!(first_call.requirement, Requirement::Always);
    let context = FlowContext::closure("RNA", None);
    let wanted = first_call.photo_requirement(&context, &Answers::new());
    assert_eq!(
        (wanted.min, wanted.max, wanted.required_by),
        (2, None, None)
    );
}

#[test]
fn loading_refuses_conditions_that_cannot_work() {
    use serde_json::json;
    let with = |questions: serde_json::Value, steps: serde_json::Value| {
        json!({
            "name": "t", "version": "1",
            "questions": questions,
            "flows": [{"id": "f", "journey": "closure", "closureCodes": ["SP"], "steps": steps}]
        })
        .to_string()
    };
    let yes_no = |code: &str| json!({"code": code, "text": code, "answer": {"type": "yesNo"}});

    // An optional question whose photos would always be required.
    let mut a = yes_no("A");
    a["optional"] = json!(true);
    a["minPhotos"] = json!(1);
    let found = problems(&with(json!([a]), json!([{"question": "A"}])));
    assert!(has(&found, "/questions/0/minPhotos", |k| matches!(
        k,
        ProblemKind::OptionalWithPhotos(1)
    )));

    // Optional and required under a condition at once.
    let mut a = yes_no("A");
    a["optional"] = json!(true);
    a["requiredWhen"] = json!({"flag": "MDU"});
    let found = problems(&with(json!([a]), json!([{"question": "A"}])));
    assert!(has(&found, "/questions/0/requiredWhen", |k| matches!(
        k,
        ProblemKind::OptionalAndRequiredWhen
    )));

    // A maximum below a minimum, the question's own and a rule's (which inherits the max).
    let mut a = yes_no("A");
    a["minPhotos"] = json!(2);
    a["maxPhotos"] = json!(1);
    let found = problems(&with(json!([a]), json!([{"question": "A"}])));
    assert!(has(&found, "/questions/0/maxPhotos", |k| matches!(
        k,
        ProblemKind::PhotoMaximumBelowMinimum { min: 2, max: 1 }
    )));
    let mut a = yes_no("A");
    a["maxPhotos"] = json!(1);
    a["photoRules"] = json!([{"when": {"answer": "A", "equals": "No"}, "minPhotos": 3}]);
    let found = problems(&with(json!([a]), json!([{"question": "A"}])));
    assert!(has(&found, "/questions/0/photoRules/0", |k| matches!(
        k,
        ProblemKind::PhotoMaximumBelowMinimum { min: 3, max: 1 }
    )));

    // Conditions that can never hold where the question is asked.
    let mut a = yes_no("A");
    a["photoRules"] = json!([{"when": {"closureCode": ["RNA"]}, "minPhotos": 1}]);
    let found = problems(&with(json!([a]), json!([{"question": "A"}])));
    assert!(has(&found, "/questions/0/photoRules/0/when", |k| matches!(
        k,
        ProblemKind::NeverHolds(_)
    )));
    let steps = json!([
        {"question": "A", "askWhen": {"all": [{"flag": "MDU"}, {"not": {"flag": "MDU"}}]}}
    ]);
    let found = problems(&with(json!([yes_no("A")]), steps));
    assert!(has(&found, "/flows/0/steps/0/askWhen", |k| matches!(
        k,
        ProblemKind::NeverHolds(_)
    )));
    let steps = json!([
        {"question": "A"},
        {"question": "B", "askWhen": {"all": [
            {"answer": "A", "equals": "Yes"}, {"answer": "A", "equals": "No"}
        ]}}
    ]);
    let found = problems(&with(json!([yes_no("A"), yes_no("B")]), steps));
    assert!(has(&found, "/flows/0/steps/1/askWhen", |k| matches!(
        k,
        ProblemKind::NeverHolds(_)
    )));
    let number = json!({"code": "L", "text": "L",
        "answer": {"type": "number", "unit": "dBm", "min": -40, "max": 5}});
    let steps = json!([
        {"question": "L"},
        {"question": "A", "askWhen": {"answer": "L", "atLeast": 10}}
    ]);
    let found = problems(&with(json!([number, yes_no("A")]), steps));
    assert!(has(&found, "/flows/0/steps/1/askWhen", |k| matches!(
        k,
        ProblemKind::NeverHolds(_)
    )));

    // A requirement may not read its own answer or one given later; a photo rule may read
    // its own question's answer (checked by the valid CONDITIONAL matrix).
    let mut a = yes_no("A");
    a["requiredWhen"] = json!({"answer": "B", "equals": "Yes"});
    let found = problems(&with(
        json!([a, yes_no("B")]),
        json!([{"question": "A"}, {"question": "B"}]),
    ));
    assert!(has(
        &found,
        "/questions/0/requiredWhen",
        |k| matches!(k, ProblemKind::AnswerNotYetGiven(q) if q == "B")
    ));
    let mut a = yes_no("A");
    a["requiredWhen"] = json!({"answer": "A", "answered": true});
    let found = problems(&with(json!([a]), json!([{"question": "A"}])));
    assert!(has(
        &found,
        "/questions/0/requiredWhen",
        |k| matches!(k, ProblemKind::AnswerNotYetGiven(q) if q == "A")
    ));
}

#[test]
fn a_question_asked_in_several_flows_is_judged_where_its_conditions_can_hold() {
    use serde_json::json;
    // The rule names RNA: it cannot hold in the SP flow but can in the RNA one, so the
    // matrix is fine and the rule applies only there.
    let text = json!({
        "name": "t", "version": "1",
        "questions": [{"code": "A", "text": "A", "answer": {"type": "yesNo"},
            "photoRules": [{"when": {"closureCode": ["RNA"]}, "minPhotos": 1}]}],
        "flows": [
            {"id": "sp", "journey": "closure", "closureCodes": ["SP"], "steps": [{"question": "A"}]},
            {"id": "rna", "journey": "closure", "closureCodes": ["RNA"], "steps": [{"question": "A"}]}
        ]
    })
    .to_string();
    let m = Matrix::from_json(&text, &catalogue()).unwrap_or_else(|p| panic!("{p}"));
    let mut answers = Answers::new();
    answers.record("A", "Yes".into(), at(0));
    let a = m.question("A").expect("A");
    assert_eq!(
        a.photo_requirement(&FlowContext::closure("SP", None), &answers)
            .min,
        0
    );
    assert_eq!(
        a.photo_requirement(&FlowContext::closure("RNA", None), &answers)
            .min,
        1
    );
}
