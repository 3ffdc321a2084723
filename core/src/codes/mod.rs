//! The code catalogue: closure codes, secondary closure codes, property flags and ONT
//! provisioning statuses, as data.
//!
//! CityFibre publishes these tables on its API page and changes them from time to time, and a
//! partner may agree extra codes with CityFibre. So the tables are not Rust enums: the seed's
//! tables ship embedded (`catalogue.json`) and a partner file can add or replace entries and
//! switch on the seed's "Other reason" handling (codes outside the tables are sent anyway and
//! CityFibre files them as "Other reason"). The rules that use the tables live here too, so the
//! UI, the lifecycle and the simulator all give the same answer and the same typed error.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::protocol::{OutboundCall, OutboundRequest};

/// The tables as shipped, from CityFibre's public page.
const EMBEDDED: &str = include_str!("catalogue.json");

/// When in the visit a closure code can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Attendance {
    /// The engineer is on site (SP, HAZ, CON, ...).
    Attended,
    /// The engineer went but could not get in (RNA, NA, NAPUV, ...): en route or on site.
    NoAccess,
    /// The visit did not happen (MBORC, FTA, NTR, ...): before arriving.
    NotAttended,
}

impl fmt::Display for Attendance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Attended => "attended",
            Self::NoAccess => "no access",
            Self::NotAttended => "not attended",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosureCode {
    pub code: String,
    pub description: String,
    pub attendance: Attendance,
    /// SP: the ONT must have been provisioned (status 1 or 2) before closing.
    #[serde(default)]
    pub requires_provisioned_ont: bool,
    /// CON and POP: a secondary code must be given.
    #[serde(default)]
    pub secondary_required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecondaryCode {
    pub parent: String,
    pub code: String,
    pub description: String,
}

/// When a property flag matters to the engineer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FlagMoment {
    /// Before setting off (DAN): the engineer must know before travelling.
    BeforeTravel,
    /// For the whole job (CHP, SUR, DTL, MDU, WSD).
    OnJob,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyFlag {
    pub code: String,
    pub description: String,
    pub when: FlagMoment,
}

/// What a provisioning status means for the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProvisioningOutcome {
    Provisioned,
    Failed,
    Retrying,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningStatus {
    pub id: u8,
    pub success: bool,
    pub details: String,
    pub description: String,
    pub outcome: ProvisioningOutcome,
    /// 5, 6, 7: the engineer may scan another (or the same, correctly read) device.
    #[serde(default)]
    pub rescan_allowed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vendors: Vec<String>,
}

/// The seed's "Other reason" handling: codes outside the tables are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherReason {
    pub enabled: bool,
    /// How such a code is treated by the lifecycle.
    pub attendance: Attendance,
}

/// The file format, for both the embedded tables and a partner file (where every section is
/// optional and entries add to or replace the embedded ones by code).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CatalogueFile {
    #[serde(rename = "$comment", default, skip_serializing)]
    _comment: Option<String>,
    #[serde(default)]
    closure_codes: Vec<ClosureCode>,
    #[serde(default)]
    secondary_codes: Vec<SecondaryCode>,
    #[serde(default)]
    property_flags: Vec<PropertyFlag>,
    #[serde(default)]
    provisioning_statuses: Vec<ProvisioningStatus>,
    #[serde(default)]
    other_reason: Option<OtherReason>,
}

/// A catalogue that could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue file is not valid: {0}")]
    Parse(String),
    #[error("code {code:?} is not 2-8 capital letters")]
    BadCode { code: String },
    #[error("secondary code {code:?} names parent {parent:?}, which is not a closure code")]
    OrphanSecondary { code: String, parent: String },
    #[error("provisioning status {id} is outside 1-7")]
    BadStatus { id: u8 },
    #[error("provisioning status {id} is missing from the catalogue")]
    MissingStatus { id: u8 },
}

/// A code or combination of codes the rules refuse. Every variant names the code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("closure code {code:?} is not in the catalogue")]
    UnknownClosureCode { code: String },
    #[error("closure code {closure} needs a secondary closure code ({choices})")]
    MissingSecondaryCode { closure: String, choices: String },
    #[error("secondary closure code {secondary:?} is not in the catalogue")]
    UnknownSecondaryCode { secondary: String },
    #[error("secondary closure code {secondary} belongs to {parent}, not to {closure}")]
    SecondaryOfAnotherParent {
        secondary: String,
        parent: String,
        closure: String,
    },
    #[error("ONT provisioning status {id} is not in the catalogue")]
    UnknownProvisioningStatus { id: u8 },
}

/// A closure the rules accept, with what the lifecycle needs to know about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosureRule {
    pub code: String,
    pub secondary: Option<String>,
    pub description: String,
    pub attendance: Attendance,
    pub requires_provisioned_ont: bool,
    /// True when the code is outside the tables and accepted as "Other reason".
    pub other_reason: bool,
}

/// The loaded tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    closure: BTreeMap<String, ClosureCode>,
    secondary: BTreeMap<String, SecondaryCode>,
    flags: BTreeMap<String, PropertyFlag>,
    statuses: BTreeMap<u8, ProvisioningStatus>,
    other_reason: OtherReason,
}

impl Catalogue {
    /// The tables from CityFibre's public page.
    pub fn embedded() -> Self {
        match Self::from_base_json(EMBEDDED) {
            Ok(c) => c,
            // The embedded file is checked by a unit test; reaching this is a build defect.
            Err(e) => unreachable!("embedded catalogue is invalid: {e}"),
        }
    }

    /// The embedded tables with a partner file's entries applied on top.
    pub fn with_partner_file(json: &str) -> Result<Self, CatalogueError> {
        let mut catalogue = Self::embedded();
        catalogue.apply(parse_file(json)?)?;
        Ok(catalogue)
    }

    fn from_base_json(json: &str) -> Result<Self, CatalogueError> {
        let mut catalogue = Self {
            closure: BTreeMap::new(),
            secondary: BTreeMap::new(),
            flags: BTreeMap::new(),
            statuses: BTreeMap::new(),
            other_reason: OtherReason {
                enabled: false,
                attendance: Attendance::Attended,
            },
        };
        catalogue.apply(parse_file(json)?)?;
        for id in 1..=7 {
            if !catalogue.statuses.contains_key(&id) {
                return Err(CatalogueError::MissingStatus { id });
            }
        }
        Ok(catalogue)
    }

    fn apply(&mut self, file: CatalogueFile) -> Result<(), CatalogueError> {
        for c in file.closure_codes {
            check_code(&c.code)?;
            self.closure.insert(c.code.clone(), c);
        }
        for s in file.secondary_codes {
            check_code_with_digits(&s.code)?;
            self.secondary.insert(s.code.clone(), s);
        }
        for f in file.property_flags {
            check_code(&f.code)?;
            self.flags.insert(f.code.clone(), f);
        }
        for s in file.provisioning_statuses {
            if !(1..=7).contains(&s.id) {
                return Err(CatalogueError::BadStatus { id: s.id });
            }
            self.statuses.insert(s.id, s);
        }
        if let Some(o) = file.other_reason {
            self.other_reason = o;
        }
        if let Some(orphan) = self
            .secondary
            .values()
            .find(|s| !self.closure.contains_key(&s.parent))
        {
            return Err(CatalogueError::OrphanSecondary {
                code: orphan.code.clone(),
                parent: orphan.parent.clone(),
            });
        }
        Ok(())
    }

    /// The whole catalogue in the file format (what a partner file starts from).
    pub fn to_json(&self) -> String {
        let file = CatalogueFile {
            _comment: None,
            closure_codes: self.closure.values().cloned().collect(),
            secondary_codes: self.secondary.values().cloned().collect(),
            property_flags: self.flags.values().cloned().collect(),
            provisioning_statuses: self.statuses.values().cloned().collect(),
            other_reason: Some(self.other_reason.clone()),
        };
        serde_json::to_string_pretty(&file).unwrap_or_default()
    }

    pub fn closure_codes(&self) -> impl Iterator<Item = &ClosureCode> {
        self.closure.values()
    }

    pub fn closure_code(&self, code: &str) -> Option<&ClosureCode> {
        self.closure.get(code)
    }

    /// Secondary codes of one closure code, in code order.
    pub fn secondary_codes_of<'a>(
        &'a self,
        closure: &'a str,
    ) -> impl Iterator<Item = &'a SecondaryCode> + 'a {
        self.secondary.values().filter(move |s| s.parent == closure)
    }

    pub fn secondary_codes(&self) -> impl Iterator<Item = &SecondaryCode> {
        self.secondary.values()
    }

    pub fn property_flags(&self) -> impl Iterator<Item = &PropertyFlag> {
        self.flags.values()
    }

    pub fn property_flag(&self, code: &str) -> Option<&PropertyFlag> {
        self.flags.get(code)
    }

    pub fn provisioning_statuses(&self) -> impl Iterator<Item = &ProvisioningStatus> {
        self.statuses.values()
    }

    pub fn provisioning_status(&self, id: u8) -> Result<&ProvisioningStatus, CodeError> {
        self.statuses
            .get(&id)
            .ok_or(CodeError::UnknownProvisioningStatus { id })
    }

    pub fn other_reason(&self) -> &OtherReason {
        &self.other_reason
    }

    /// Applies the closure rules: the code must be known (or "Other reason" enabled), a
    /// secondary code is mandatory where the table says so (CON, POP), and a secondary code
    /// given must belong to its closure code.
    pub fn check_closure(
        &self,
        code: &str,
        secondary: Option<&str>,
    ) -> Result<ClosureRule, CodeError> {
        let secondary = secondary.filter(|s| !s.is_empty());
        let Some(closure) = self.closure.get(code) else {
            let well_formed = check_code(code).is_ok()
                && secondary.is_none_or(|s| check_code_with_digits(s).is_ok());
            if self.other_reason.enabled && well_formed {
                return Ok(ClosureRule {
                    code: code.to_owned(),
                    secondary: secondary.map(str::to_owned),
                    description: "Other reason".to_owned(),
                    attendance: self.other_reason.attendance,
                    requires_provisioned_ont: false,
                    other_reason: true,
                });
            }
            return Err(CodeError::UnknownClosureCode {
                code: code.to_owned(),
            });
        };
        match secondary {
            None if closure.secondary_required => Err(CodeError::MissingSecondaryCode {
                closure: closure.code.clone(),
                choices: self
                    .secondary_codes_of(&closure.code)
                    .map(|s| s.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
            None => Ok(self.rule(closure, None)),
            Some(s) => match self.secondary.get(s) {
                None => Err(CodeError::UnknownSecondaryCode {
                    secondary: s.to_owned(),
                }),
                Some(sc) if sc.parent != closure.code => Err(CodeError::SecondaryOfAnotherParent {
                    secondary: sc.code.clone(),
                    parent: sc.parent.clone(),
                    closure: closure.code.clone(),
                }),
                Some(sc) => Ok(self.rule(closure, Some(sc))),
            },
        }
    }

    /// Applies the code rules to a message on its way out (or, in the simulator, arriving):
    /// a `closeJob` must carry codes the catalogue accepts.
    pub fn check_request(&self, request: &OutboundRequest) -> Result<(), CodeError> {
        match &request.call {
            OutboundCall::CloseJob(close) => self
                .check_closure(&close.closure_code, close.secondary_closure_code.as_deref())
                .map(drop),
            OutboundCall::NotifyJob(_) => Ok(()),
        }
    }

    fn rule(&self, c: &ClosureCode, s: Option<&SecondaryCode>) -> ClosureRule {
        ClosureRule {
            code: c.code.clone(),
            secondary: s.map(|s| s.code.clone()),
            description: match s {
                Some(s) => format!("{} - {}", c.description, s.description),
                None => c.description.clone(),
            },
            attendance: c.attendance,
            requires_provisioned_ont: c.requires_provisioned_ont,
            other_reason: false,
        }
    }
}

impl Default for Catalogue {
    fn default() -> Self {
        Self::embedded()
    }
}

fn parse_file(json: &str) -> Result<CatalogueFile, CatalogueError> {
    serde_json::from_str(json).map_err(|e| CatalogueError::Parse(e.to_string()))
}

fn check_code(code: &str) -> Result<(), CatalogueError> {
    if (2..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(CatalogueError::BadCode {
            code: code.to_owned(),
        })
    }
}

/// Secondary codes are a parent code with up to two digits (CON01, REVUNF, CIVWAY).
fn check_code_with_digits(code: &str) -> Result<(), CatalogueError> {
    let letters = code.trim_end_matches(|c: char| c.is_ascii_digit());
    if code.len() - letters.len() <= 2 && check_code(letters).is_ok() {
        Ok(())
    } else {
        Err(CatalogueError::BadCode {
            code: code.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests;
