//! Answer types and the validation that turns what an engineer typed into the canonical
//! answer string CityFibre receives.
//!
//! The protocol carries every answer as a string (`QuestionAnswer.answer`), so the same fact
//! typed two ways (`y`, `YES`, `true`) must leave the phone as one string (`Yes`), or
//! CityFibre's matrix cannot compare it with its own answer definitions. Each type therefore
//! accepts a few forgiving input forms and emits exactly one canonical form:
//!
//! | type | accepted input | canonical answer |
//! |---|---|---|
//! | yes/no | `yes`, `y`, `true`, `1` / `no`, `n`, `false`, `0` (any case) | `Yes` / `No` |
//! | single choice | a choice (any case) or its 1-based number | the choice as written in the matrix |
//! | multiple choice | choices or numbers separated by `,` or `;` | the choices in matrix order joined by `; ` |
//! | number | `-18.5`, `-18,5`, `-18.5 dBm` (the question's unit may follow) | shortest decimal form, no unit: `-18.5` |
//! | text | any text without control characters (newlines and tabs allowed) | trimmed text |
//! | time | `7:56`, `07:56`, `0756`, `07.56` | `HH:MM` (24 h) |
//! | date | `2024-06-01`, `01/06/2024` (UK day first) | `YYYY-MM-DD` |
//!
//! Nothing here panics on input: every refusal is an [`AnswerError`] that says what was
//! expected, so the UI (and `jobpack flow walk`) can show it and ask again.

use std::fmt;

use chrono::NaiveDate;

/// The separator of a multiple-choice answer's canonical form (choices may not contain it).
pub const CHOICE_SEPARATOR: &str = "; ";

/// Most decimal places a number question may ask for.
pub const MAX_DECIMALS: u8 = 6;

/// How a question is answered, with the limits the matrix gives.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerType {
    YesNo,
    SingleChoice {
        choices: Vec<String>,
    },
    MultipleChoice {
        choices: Vec<String>,
        /// At least this many choices (1 unless the matrix says otherwise).
        min_selected: u32,
        /// At most this many; `None` means any number of the choices.
        max_selected: Option<u32>,
    },
    Number {
        unit: Option<String>,
        min: Option<f64>,
        max: Option<f64>,
        /// Decimal places allowed (0: whole numbers).
        decimals: u8,
    },
    Text {
        /// At most this many characters (the loader allows up to `MAX_TEXT_LENGTH`).
        max_length: u32,
    },
    Time,
    Date,
}

/// Why a raw answer was refused. Each variant says what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnswerError {
    #[error("question {code:?} is not in the closure matrix")]
    UnknownQuestion { code: String },
    #[error("an answer is needed")]
    Empty,
    #[error("{got:?} is not yes or no")]
    NotYesNo { got: String },
    #[error("{got:?} is not one of: {}", choices.join(", "))]
    NotAChoice { got: String, choices: Vec<String> },
    #[error("{got:?} is chosen twice")]
    ChosenTwice { got: String },
    #[error("choose at least {min} (got {got})")]
    TooFewChoices { min: usize, got: usize },
    #[error("choose at most {max} (got {got})")]
    TooManyChoices { max: usize, got: usize },
    #[error("{got:?} is not a number{}", unit_suffix(unit.as_deref()))]
    NotANumber { got: String, unit: Option<String> },
    #[error("{got:?} has a unit other than {unit}")]
    WrongUnit { got: String, unit: String },
    #[error("{got:?} has more than {max} decimal places")]
    TooManyDecimals { got: String, max: u8 },
    #[error("{got} is outside {}", range_text(*min, *max, unit.as_deref()))]
    OutOfRange {
        got: String,
        min: Option<f64>,
        max: Option<f64>,
        unit: Option<String>,
    },
    #[error("the text is {got} characters long; at most {max} are allowed")]
    TooLong { max: usize, got: usize },
    #[error("the text contains a control character (only new lines and tabs are allowed)")]
    ControlCharacter,
    #[error("{got:?} is not a time of day (HH:MM, 24-hour)")]
    NotATime { got: String },
    #[error("{got:?} is not a date (YYYY-MM-DD or DD/MM/YYYY)")]
    NotADate { got: String },
}

fn unit_suffix(unit: Option<&str>) -> String {
    unit.map(|u| format!(" (in {u})")).unwrap_or_default()
}

fn range_text(min: Option<f64>, max: Option<f64>, unit: Option<&str>) -> String {
    let unit = unit.map(|u| format!(" {u}")).unwrap_or_default();
    match (min, max) {
        (Some(a), Some(b)) => format!("{a} to {b}{unit}"),
        (Some(a), None) => format!("at least {a}{unit}"),
        (None, Some(b)) => format!("at most {b}{unit}"),
        (None, None) => "any number".to_owned(),
    }
}

impl AnswerType {
    /// The type's name in the matrix format (`yesNo`, `singleChoice`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::YesNo => "yesNo",
            Self::SingleChoice { .. } => "singleChoice",
            Self::MultipleChoice { .. } => "multipleChoice",
            Self::Number { .. } => "number",
            Self::Text { .. } => "text",
            Self::Time => "time",
            Self::Date => "date",
        }
    }

    /// What a person is expected to type, for a prompt.
    pub fn describe(&self) -> String {
        let numbered = |choices: &[String]| {
            choices
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{}) {c}", i + 1))
                .collect::<Vec<_>>()
                .join("  ")
        };
        match self {
            Self::YesNo => "yes/no".to_owned(),
            Self::SingleChoice { choices } => format!("one of: {}", numbered(choices)),
            Self::MultipleChoice {
                choices,
                min_selected,
                max_selected,
            } => {
                let how_many = match max_selected {
                    Some(max) if max == min_selected => format!("{max}"),
                    Some(max) => format!("{min_selected} to {max}"),
                    None => format!("at least {min_selected}"),
                };
                format!(
                    "choose {how_many}, separated by commas: {}",
                    numbered(choices)
                )
            }
            Self::Number {
                unit,
                min,
                max,
                decimals,
            } => {
                let places = match decimals {
                    0 => "whole number".to_owned(),
                    1 => "number, up to 1 decimal place".to_owned(),
                    d => format!("number, up to {d} decimal places"),
                };
                format!("{places}, {}", range_text(*min, *max, unit.as_deref()))
            }
            Self::Text { max_length } => format!("text, at most {max_length} characters"),
            Self::Time => "time of day, HH:MM".to_owned(),
            Self::Date => "date, YYYY-MM-DD".to_owned(),
        }
    }

    /// Turns raw input into the canonical answer string, or says what was expected.
    pub fn canonical(&self, raw: &str) -> Result<String, AnswerError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(AnswerError::Empty);
        }
        match self {
            Self::YesNo => yes_no(text),
            Self::SingleChoice { choices } => pick(choices, text).map(|i| choices[i].clone()),
            Self::MultipleChoice {
                choices,
                min_selected,
                max_selected,
            } => multiple(choices, *min_selected, *max_selected, text),
            Self::Number {
                unit,
                min,
                max,
                decimals,
            } => number(text, unit.as_deref(), *min, *max, *decimals),
            Self::Text { max_length } => free_text(text, *max_length),
            Self::Time => time_of_day(text),
            Self::Date => date(text),
        }
    }
}

impl fmt::Display for AnswerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

fn yes_no(text: &str) -> Result<String, AnswerError> {
    match text.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Ok("Yes".to_owned()),
        "no" | "n" | "false" | "0" => Ok("No".to_owned()),
        _ => Err(AnswerError::NotYesNo {
            got: text.to_owned(),
        }),
    }
}

/// Index of the choice `text` names: its value (any case) first, then its 1-based number.
fn pick(choices: &[String], text: &str) -> Result<usize, AnswerError> {
    let text = text.trim();
    if let Some(i) = choices.iter().position(|c| c.eq_ignore_ascii_case(text)) {
        return Ok(i);
    }
    text.parse::<usize>()
        .ok()
        .filter(|n| (1..=choices.len()).contains(n))
        .map(|n| n - 1)
        .ok_or_else(|| AnswerError::NotAChoice {
            got: text.to_owned(),
            choices: choices.to_vec(),
        })
}

fn multiple(
    choices: &[String],
    min_selected: u32,
    max_selected: Option<u32>,
    text: &str,
) -> Result<String, AnswerError> {
    // u32 -> usize is exact on every target the core builds for (32 and 64 bits).
    let min_selected = min_selected as usize;
    let max_selected = max_selected.map(|m| m as usize);
    let mut chosen = vec![false; choices.len()];
    let mut count = 0;
    for item in text.split([',', ';']).map(str::trim) {
        if item.is_empty() {
            continue;
        }
        let i = pick(choices, item)?;
        if chosen[i] {
            return Err(AnswerError::ChosenTwice {
                got: choices[i].clone(),
            });
        }
        chosen[i] = true;
        count += 1;
    }
    if count < min_selected.max(1) {
        return Err(AnswerError::TooFewChoices {
            min: min_selected.max(1),
            got: count,
        });
    }
    if let Some(max) = max_selected.filter(|max| count > *max) {
        return Err(AnswerError::TooManyChoices { max, got: count });
    }
    Ok(choices
        .iter()
        .zip(chosen)
        .filter(|(_, on)| *on)
        .map(|(c, _)| c.as_str())
        .collect::<Vec<_>>()
        .join(CHOICE_SEPARATOR))
}

/// The selected choices of a canonical multiple-choice answer.
pub fn split_choices(answer: &str) -> impl Iterator<Item = &str> {
    answer.split(CHOICE_SEPARATOR)
}

fn number(
    text: &str,
    unit: Option<&str>,
    min: Option<f64>,
    max: Option<f64>,
    decimals: u8,
) -> Result<String, AnswerError> {
    let not_a_number = || AnswerError::NotANumber {
        got: text.to_owned(),
        unit: unit.map(str::to_owned),
    };
    // Split off a trailing unit: everything after the last digit.
    let end = text
        .rfind(|c: char| c.is_ascii_digit())
        .ok_or_else(not_a_number)?;
    let (digits, suffix) = text.split_at(end + 1);
    let suffix = suffix.trim();
    if !suffix.is_empty() {
        match unit {
            Some(u) if suffix.eq_ignore_ascii_case(u) => {}
            Some(u) if suffix.chars().any(char::is_alphabetic) => {
                return Err(AnswerError::WrongUnit {
                    got: text.to_owned(),
                    unit: u.to_owned(),
                });
            }
            _ => return Err(not_a_number()),
        }
    }
    // Engineers type minus signs from all sorts of keyboards and decimal commas.
    let digits = digits
        .trim()
        .replace(['\u{2212}', '\u{2013}'], "-")
        .replace(',', ".");
    let (sign, magnitude) = match digits.strip_prefix(['-', '+']) {
        Some(rest) => (if digits.starts_with('-') { "-" } else { "" }, rest),
        None => ("", digits.as_str()),
    };
    let (whole, fraction) = magnitude.split_once('.').unwrap_or((magnitude, ""));
    let well_formed = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && (fraction.is_empty() != magnitude.contains('.'))
        && whole.len() <= 15;
    if !well_formed {
        return Err(not_a_number());
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > usize::from(decimals) {
        return Err(AnswerError::TooManyDecimals {
            got: text.to_owned(),
            max: decimals,
        });
    }
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let is_zero = whole == "0" && fraction.is_empty();
    let canonical = format!(
        "{}{whole}{}{fraction}",
        if is_zero { "" } else { sign },
        if fraction.is_empty() { "" } else { "." },
    );
    let value: f64 = canonical.parse().map_err(|_| not_a_number())?;
    if min.is_some_and(|m| value < m) || max.is_some_and(|m| value > m) {
        return Err(AnswerError::OutOfRange {
            got: canonical,
            min,
            max,
            unit: unit.map(str::to_owned),
        });
    }
    Ok(canonical)
}

fn free_text(text: &str, max_length: u32) -> Result<String, AnswerError> {
    let max_length = max_length as usize;
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(AnswerError::ControlCharacter);
    }
    let length = text.chars().count();
    if length > max_length {
        return Err(AnswerError::TooLong {
            max: max_length,
            got: length,
        });
    }
    Ok(text.to_owned())
}

fn time_of_day(text: &str) -> Result<String, AnswerError> {
    let bad = || AnswerError::NotATime {
        got: text.to_owned(),
    };
    let (hours, minutes) = match text.split_once([':', '.', 'h']) {
        Some(parts) => parts,
        None if text.len() == 4 && text.is_ascii() => text.split_at(2),
        None => return Err(bad()),
    };
    let field = |s: &str, max: u32| {
        (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
            .filter(|v| *v <= max)
    };
    match (field(hours, 23), field(minutes, 59)) {
        (Some(h), Some(m)) if minutes.len() == 2 => Ok(format!("{h:02}:{m:02}")),
        _ => Err(bad()),
    }
}

fn date(text: &str) -> Result<String, AnswerError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y"))
        .ok()
        // chrono accepts five-digit years and one-digit fields; the canonical form is fixed width.
        .filter(|d| (1900..=9999).contains(&chrono::Datelike::year(d)))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .ok_or_else(|| AnswerError::NotADate {
            got: text.to_owned(),
        })
}
