//! The model and the OpenAPI document agree: every example in `spec/examples` is judged the
//! same way by the JSON Schema validator and by the Rust model, every valid message survives
//! a round trip, and every payload the core emits satisfies the document.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use jobpack_core::codes::Catalogue;
use jobpack_core::protocol::{Message, MessageKind, Timestamp, parse_message};
use jobpack_spec::{EXAMPLES_DIR, Spec};
use serde_json::Value;

fn examples(validity: &str) -> Vec<(String, PathBuf, Value)> {
    let root = Path::new(EXAMPLES_DIR).join(validity);
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("examples dir") {
        let dir = dir.unwrap().path();
        let schema = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let value: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
            out.push((schema.clone(), path, value));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

fn kind_for_schema(schema: &str) -> MessageKind {
    MessageKind::ALL
        .into_iter()
        .find(|k| k.schema_name() == schema)
        .unwrap_or_else(|| panic!("no message kind for example folder {schema}"))
}

/// Equal JSON, where two strings that are the same instant in any accepted timestamp form
/// count as equal (inbound forms are re-emitted as RFC 3339).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_json(v, w))
        }
        (Value::String(x), Value::String(y)) if x != y => {
            match (Timestamp::parse_lenient(x), Timestamp::parse_lenient(y)) {
                (Ok(s), Ok(t)) => s.as_datetime() == t.as_datetime(),
                _ => false,
            }
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

#[test]
fn every_valid_example_passes_the_schema_and_the_model_and_round_trips() {
    let spec = Spec::load().unwrap();
    let catalogue = Catalogue::embedded();
    let all = examples("valid");
    assert!(all.len() >= 25, "only {} valid examples", all.len());
    for (schema, path, value) in all {
        let violations = spec.validate(&schema, &value).unwrap();
        assert!(violations.is_empty(), "{}: {violations:#?}", path.display());
        let kind = kind_for_schema(&schema);
        assert_eq!(
            MessageKind::classify(&value),
            Some(kind),
            "{} is recognised as {schema}",
            path.display()
        );
        let message = parse_message(kind, &value)
            .unwrap_or_else(|e| panic!("{}: model refuses: {e}", path.display()));
        if let Message::Outbound(request) = &message {
            catalogue
                .check_request(request)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        let emitted = message.to_value().unwrap();
        assert!(
            same_json(&value, &emitted),
            "{} changes on a round trip:\n{value:#}\n{emitted:#}",
            path.display()
        );
        assert!(
            spec.validate(&schema, &emitted).unwrap().is_empty(),
            "{}: the re-emitted form breaks the schema",
            path.display()
        );
        assert_eq!(
            parse_message(kind, &emitted).unwrap(),
            message,
            "{}: the model round trip is lossless",
            path.display()
        );
    }
}

#[test]
fn every_invalid_example_is_refused_by_the_schema_and_by_the_model() {
    let spec = Spec::load().unwrap();
    let catalogue = Catalogue::embedded();
    let all = examples("invalid");
    assert!(all.len() >= 25, "only {} invalid examples", all.len());
    for (schema, path, value) in all {
        let violations = spec.validate(&schema, &value).unwrap();
        assert!(
            !violations.is_empty(),
            "{}: the schema accepts an invalid example",
            path.display()
        );
        let model = parse_message(kind_for_schema(&schema), &value);
        let refused = match &model {
            Err(_) => true,
            Ok(Message::Outbound(request)) => catalogue.check_request(request).is_err(),
            Ok(_) => false,
        };
        assert!(
            refused,
            "{}: the model accepts an invalid example: {model:?}",
            path.display()
        );
    }
}

#[test]
fn every_message_has_valid_and_invalid_examples() {
    let spec = Spec::load().unwrap();
    let valid: BTreeSet<String> = examples("valid").into_iter().map(|e| e.0).collect();
    let invalid: BTreeSet<String> = examples("invalid").into_iter().map(|e| e.0).collect();
    for kind in MessageKind::ALL {
        let name = kind.schema_name();
        assert!(
            spec.schema_names().any(|n| n == name),
            "{name} is not in the document"
        );
        assert!(invalid.contains(name), "no invalid example for {name}");
        // A notifyJob with an unknown type can only be invalid.
        if kind != MessageKind::NotifyJob {
            assert!(valid.contains(name), "no valid example for {name}");
        }
    }
}

#[test]
fn valid_outbound_examples_also_pass_the_general_notify_schema() {
    let spec = Spec::load().unwrap();
    for (schema, path, value) in examples("valid") {
        if schema.starts_with("Notify") {
            assert!(
                spec.validate("NotifyJobRequest", &value)
                    .unwrap()
                    .is_empty(),
                "{}",
                path.display()
            );
        }
    }
}
