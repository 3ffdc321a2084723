//! The shape of the file: typed readers for objects (with their allowed keys), strings,
//! arrays, code lists and bounded numbers. Each reports what it expected at its place and
//! returns `None`, so the caller leaves the broken part out and reading goes on.

use serde_json::{Map, Value};

use super::problems::ProblemKind;
use super::{Catalogue, Loader};

impl Loader<'_> {
    pub(super) fn object<'v>(
        &mut self,
        value: &'v Value,
        place: &str,
        allowed: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Some(obj) = value.as_object() else {
            self.problem(place, ProblemKind::WrongType("an object"));
            return None;
        };
        for key in obj.keys() {
            if key != "$comment" && !allowed.contains(&key.as_str()) {
                self.problem(
                    &format!("{place}/{}", pointer_escape(key)),
                    ProblemKind::UnknownField(key.clone()),
                );
            }
        }
        Some(obj)
    }

    pub(super) fn string(&mut self, value: &Value, place: &str) -> Option<String> {
        match value.as_str() {
            None => {
                self.problem(place, ProblemKind::WrongType("a string"));
                None
            }
            Some(s) if s.trim().is_empty() => {
                self.problem(place, ProblemKind::Empty);
                None
            }
            Some(s) => Some(s.to_owned()),
        }
    }

    pub(super) fn required_string(
        &mut self,
        obj: &Map<String, Value>,
        key: &'static str,
        place: &str,
    ) -> Option<String> {
        match obj.get(key) {
            None => {
                self.problem(place, ProblemKind::MissingField(key));
                None
            }
            Some(v) => self.string(v, &format!("{place}/{key}")),
        }
    }

    pub(super) fn required_array<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &'static str,
        place: &str,
    ) -> Option<&'v Vec<Value>> {
        match obj.get(key) {
            None => {
                self.problem(place, ProblemKind::MissingField(key));
                None
            }
            Some(Value::Array(a)) => Some(a),
            Some(_) => {
                self.problem(
                    &format!("{place}/{key}"),
                    ProblemKind::WrongType("an array"),
                );
                None
            }
        }
    }

    pub(super) fn string_list(&mut self, value: &Value, place: &str) -> Option<Vec<String>> {
        let Some(list) = value.as_array() else {
            self.problem(place, ProblemKind::WrongType("an array of strings"));
            return None;
        };
        if list.is_empty() {
            self.problem(place, ProblemKind::Empty);
            return None;
        }
        let mut out = Vec::new();
        for (i, v) in list.iter().enumerate() {
            out.push(self.string(v, &format!("{place}/{i}"))?);
        }
        Some(out)
    }

    /// An optional list of catalogue codes (absent: empty, meaning "any"); `unknown` says
    /// what is wrong with a code the catalogue does not have.
    pub(super) fn code_list(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        place: &str,
        unknown: impl Fn(&Catalogue, &str) -> Option<ProblemKind>,
    ) -> Option<Vec<String>> {
        let Some(value) = obj.get(key) else {
            return Some(Vec::new());
        };
        let at = format!("{place}/{key}");
        let codes = self.string_list(value, &at)?;
        let mut ok = true;
        for (i, code) in codes.iter().enumerate() {
            if codes[..i].contains(code) {
                self.problem(
                    &format!("{at}/{i}"),
                    ProblemKind::DuplicateCode(code.clone()),
                );
                ok = false;
            } else if let Some(kind) = unknown(self.catalogue, code) {
                self.problem(&format!("{at}/{i}"), kind);
                ok = false;
            }
        }
        ok.then_some(codes)
    }

    pub(super) fn number(&mut self, value: &Value, place: &str) -> Option<f64> {
        let n = value.as_f64().filter(|n| n.is_finite());
        if n.is_none() {
            self.problem(place, ProblemKind::WrongType("a number"));
        }
        n
    }

    pub(super) fn bounded_uint(
        &mut self,
        value: &Value,
        place: &str,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        let Some(n) = value.as_u64() else {
            self.problem(place, ProblemKind::WrongType("a whole number"));
            return None;
        };
        if n < min || n > max {
            self.problem(
                place,
                ProblemKind::OutOfLimits {
                    value: n.to_string(),
                    limits: format!("{min}..={max}"),
                },
            );
            return None;
        }
        Some(n)
    }
}

pub(super) fn is_question_code(code: &str) -> bool {
    (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
