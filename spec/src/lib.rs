//! The Partner Installation contract, as data.
//!
//! `partner-installation.openapi.yaml` is the single source of truth for every message the
//! project sends or receives. This crate embeds it and validates JSON instances against one
//! of its component schemas with a real JSON Schema (2020-12) validator, so tests, the CLI's
//! `validate` command and the simulator all judge payloads by the same document instead of
//! by a second hand-written copy of the rules.
//!
//! It is deliberately separate from `jobpack-core`: the phone library never validates against
//! the schema at run time (its serde model is the runtime contract), so the validator and its
//! regex engine stay out of the mobile binary.
//!
//! A component schema is validated by building a small root document that holds the
//! document's `components` and a `$ref` to the wanted schema; every `#/components/...`
//! reference inside the OpenAPI file then resolves against that root unchanged.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Value, json};

/// The OpenAPI document as shipped in the repository.
pub const OPENAPI_YAML: &str = include_str!("../partner-installation.openapi.yaml");

/// Directory holding the valid and invalid example payloads, for tests and tools.
pub const EXAMPLES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

/// The JSON Schema (2020-12) of the Question Based Closure Matrix file format.
pub const CLOSURE_MATRIX_SCHEMA: &str = include_str!("../closure-matrix.schema.json");

/// Example closure matrices (`valid/`, `invalid/`), judged by both the schema and the core's
/// loader in tests.
pub const CLOSURE_MATRIX_EXAMPLES_DIR: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/examples/closure-matrix");

/// Why the contract itself could not be loaded or a schema could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("the OpenAPI document is not valid YAML: {0}")]
    Yaml(String),
    #[error("the OpenAPI document has no components.schemas section")]
    NoSchemas,
    #[error("no schema named {0:?} in the OpenAPI document")]
    UnknownSchema(String),
    #[error("schema {name:?} does not compile: {reason}")]
    Compile { name: String, reason: String },
}

/// One way an instance breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the instance (`/params/location/latitude`), empty for the root.
    pub instance_path: String,
    /// What is wrong, in the validator's words.
    pub message: String,
    /// Where in the schema the rule lives, for people debugging the contract.
    pub schema_path: String,
}

impl Violation {
    /// The instance path as people read it: `$` for the root, `$.params.location` below it.
    pub fn json_path(&self) -> String {
        let mut out = String::from("$");
        for segment in self.instance_path.split('/').skip(1) {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                out.push('[');
                out.push_str(&segment);
                out.push(']');
            } else {
                out.push('.');
                out.push_str(&segment);
            }
        }
        out
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.json_path(), self.message)
    }
}

/// The loaded contract with one compiled validator per component schema.
pub struct Spec {
    document: Value,
    validators: BTreeMap<String, jsonschema::Validator>,
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spec")
            .field("schemas", &self.validators.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Spec {
    /// Loads the embedded document and compiles every component schema.
    pub fn load() -> Result<Self, SpecError> {
        Self::from_yaml(OPENAPI_YAML)
    }

    /// Loads a document given as YAML text (used by tests of broken documents).
    pub fn from_yaml(yaml: &str) -> Result<Self, SpecError> {
        let document: Value =
            serde_norway::from_str(yaml).map_err(|e| SpecError::Yaml(e.to_string()))?;
        let components = document
            .get("components")
            .cloned()
            .ok_or(SpecError::NoSchemas)?;
        let names: Vec<String> = components
            .get("schemas")
            .and_then(Value::as_object)
            .ok_or(SpecError::NoSchemas)?
            .keys()
            .cloned()
            .collect();
        let mut validators = BTreeMap::new();
        for name in names {
            let root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$ref": format!("#/components/schemas/{name}"),
                "components": components,
            });
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&root)
                .map_err(|e| SpecError::Compile {
                    name: name.clone(),
                    reason: e.to_string(),
                })?;
            validators.insert(name, validator);
        }
        Ok(Self {
            document,
            validators,
        })
    }

    /// The whole document as JSON.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Names of the component schemas, sorted.
    pub fn schema_names(&self) -> impl Iterator<Item = &str> {
        self.validators.keys().map(String::as_str)
    }

    /// Validates `instance` against the component schema `schema`; every violation is
    /// returned, not just the first, so a person can fix a payload in one go.
    pub fn validate(&self, schema: &str, instance: &Value) -> Result<Vec<Violation>, SpecError> {
        let validator = self
            .validators
            .get(schema)
            .ok_or_else(|| SpecError::UnknownSchema(schema.to_owned()))?;
        Ok(validator
            .iter_errors(instance)
            .map(|e| Violation {
                instance_path: e.instance_path().to_string(),
                message: e.to_string(),
                schema_path: e.schema_path().to_string(),
            })
            .collect())
    }

    /// True when `instance` satisfies the component schema `schema`.
    pub fn is_valid(&self, schema: &str, instance: &Value) -> Result<bool, SpecError> {
        self.validators
            .get(schema)
            .map(|v| v.is_valid(instance))
            .ok_or_else(|| SpecError::UnknownSchema(schema.to_owned()))
    }
}

/// The closure matrix schema, compiled.
pub struct ClosureMatrixSchema {
    validator: jsonschema::Validator,
}

impl fmt::Debug for ClosureMatrixSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClosureMatrixSchema")
    }
}

impl ClosureMatrixSchema {
    /// Compiles the embedded schema.
    pub fn load() -> Result<Self, SpecError> {
        let name = "closure-matrix";
        let schema: Value =
            serde_json::from_str(CLOSURE_MATRIX_SCHEMA).map_err(|e| SpecError::Compile {
                name: name.to_owned(),
                reason: e.to_string(),
            })?;
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .map_err(|e| SpecError::Compile {
                name: name.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Self { validator })
    }

    /// Every way `matrix` breaks the schema (empty when it satisfies it).
    pub fn validate(&self, matrix: &Value) -> Vec<Violation> {
        self.validator
            .iter_errors(matrix)
            .map(|e| Violation {
                instance_path: e.instance_path().to_string(),
                message: e.to_string(),
                schema_path: e.schema_path().to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_document_loads_and_compiles_every_schema() {
        let spec = Spec::load().expect("the shipped document compiles");
        assert!(spec.schema_names().any(|n| n == "CloseJobRequest"));
        assert_eq!(
            spec.document()["openapi"].as_str(),
            Some("3.1.0"),
            "OpenAPI 3.1 uses JSON Schema 2020-12"
        );
    }

    #[test]
    fn unknown_schema_is_a_typed_error() {
        let spec = Spec::load().unwrap();
        assert!(matches!(
            spec.validate("NoSuchThing", &json!({})),
            Err(SpecError::UnknownSchema(name)) if name == "NoSuchThing"
        ));
    }

    #[test]
    fn broken_yaml_is_a_typed_error() {
        assert!(matches!(
            Spec::from_yaml("openapi: [unclosed"),
            Err(SpecError::Yaml(_))
        ));
        assert!(matches!(
            Spec::from_yaml("openapi: 3.1.0\n"),
            Err(SpecError::NoSchemas)
        ));
    }

    #[test]
    fn json_path_reads_like_a_path() {
        let v = Violation {
            instance_path: "/params/questions_answers/0/files/1/object_path".into(),
            message: String::new(),
            schema_path: String::new(),
        };
        assert_eq!(
            v.json_path(),
            "$.params.questions_answers[0].files[1].object_path"
        );
        let root = Violation {
            instance_path: String::new(),
            message: String::new(),
            schema_path: String::new(),
        };
        assert_eq!(root.json_path(), "$");
    }

    #[test]
    fn a_bad_timestamp_is_reported_at_its_path() {
        let spec = Spec::load().unwrap();
        let violations = spec
            .validate("Rfc3339Timestamp", &json!("2022-03-18T17:39:21+0000"))
            .unwrap();
        assert!(!violations.is_empty(), "outbound timestamps need a colon");
        assert!(
            spec.is_valid("LenientTimestamp", &json!("2022-03-18T17:39:21+0000"))
                .unwrap()
        );
    }

    #[test]
    fn the_default_closure_matrix_satisfies_the_schema() {
        let schema = ClosureMatrixSchema::load().expect("the schema compiles");
        let default: Value =
            serde_json::from_str(include_str!("../../core/src/closure/default-matrix.json"))
                .expect("the default matrix is JSON");
        let violations = schema.validate(&default);
        assert!(violations.is_empty(), "{violations:#?}");
        assert_eq!(default["isDefault"], Value::Bool(true));
    }

    /// `invalid/` breaks the schema; `loader-invalid/` satisfies it and breaks only rules a
    /// schema cannot express (the core's loader refuses both; see its tests).
    #[test]
    fn closure_matrix_examples_are_judged_as_their_folder_says() {
        let schema = ClosureMatrixSchema::load().unwrap();
        for (folder, want_valid) in [
            ("valid", true),
            ("invalid", false),
            ("loader-invalid", true),
        ] {
            let dir = std::path::Path::new(CLOSURE_MATRIX_EXAMPLES_DIR).join(folder);
            let mut seen = 0;
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let value: Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let violations = schema.validate(&value);
                assert_eq!(
                    violations.is_empty(),
                    want_valid,
                    "{}: {violations:#?}",
                    path.display()
                );
                seen += 1;
            }
            assert!(seen > 0, "no examples in {}", dir.display());
        }
    }
}
