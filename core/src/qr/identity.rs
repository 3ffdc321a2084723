//! ONT identity: turning a decoded label payload into an FSAN, serial number and MAC.
//!
//! Labels come from several vendors and several label generations, and nobody has
//! published what the payload looks like, so the parser does not trust any layout or
//! field order. It works in two passes:
//!
//! 1. **Fields.** The payload is split into `(key, value)` pairs by whichever layout fits:
//!    JSON (walked recursively), a URL query, a CSV header row over value rows, or the
//!    generic text form (`key:value` / `key=value` separated by newlines, `;`, `&`, `|`,
//!    `,` or tabs). Keys are compared after dropping everything but letters and digits, so
//!    `GPON SN`, `gpon_sn` and `GPON-S/N` are the same key.
//! 2. **Shapes.** An FSAN has a recognisable shape (four vendor letters and eight hex
//!    digits, or sixteen hex digits whose first eight spell the vendor in ASCII), so every
//!    token of the payload that is not claimed by a serial or MAC field is also checked for
//!    that shape. A bare FSAN therefore parses, and so does free text such as
//!    `ONT ALCLB443689D`.
//!
//! Misreads cost a failed provisioning, so the parser prefers refusing to guessing: a
//! field labelled as an FSAN that is not one is an error, two different FSANs are an error,
//! and an FSAN from an unknown vendor is accepted but carries a warning the UI must show.

use std::fmt;

/// ONT vendors CityFibre deploys, recognised from the FSAN's vendor prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Vendor {
    /// Nokia (Alcatel-Lucent), prefix `ALCL`.
    Nokia,
    /// Calix, prefix `CXNK`.
    Calix,
    /// Any other four-letter vendor code; accepted with a warning.
    Other(String),
}

impl Vendor {
    fn from_prefix(prefix: &str) -> Self {
        match prefix {
            "ALCL" => Vendor::Nokia,
            "CXNK" => Vendor::Calix,
            other => Vendor::Other(other.to_owned()),
        }
    }

    /// The four-letter vendor code as it appears in the FSAN.
    pub fn code(&self) -> &str {
        match self {
            Vendor::Nokia => "ALCL",
            Vendor::Calix => "CXNK",
            Vendor::Other(code) => code,
        }
    }

    /// A human name for display and for the CLI's `vendor` field.
    pub fn name(&self) -> &str {
        match self {
            Vendor::Nokia => "Nokia",
            Vendor::Calix => "Calix",
            Vendor::Other(code) => code,
        }
    }

    /// The maker behind a vendor code, for the codes whose labels the parser documents
    /// (docs/QR.md); `None` for codes we know nothing about.
    pub fn maker(&self) -> Option<&'static str> {
        Some(match self.code() {
            "ALCL" => "Nokia",
            "CXNK" => "Calix",
            "HWTC" => "Huawei",
            "ZTEG" => "ZTE",
            "ADTN" => "Adtran",
            "SCOM" => "Sercomm",
            "GNXS" => "Genexis",
            "FHTT" => "FiberHome",
            "SMBS" => "Sagemcom",
            "DSNW" => "DASAN Zhone",
            "UBNT" => "Ubiquiti",
            "TPLG" => "TP-Link",
            _ => return None,
        })
    }

    /// Whether this is one of CityFibre's ONT vendors.
    pub fn is_known(&self) -> bool {
        !matches!(self, Vendor::Other(_))
    }
}

/// Why a string is not an FSAN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsanError {
    #[error("an FSAN is plain ASCII letters and digits")]
    NotAscii,
    #[error("an FSAN has 12 characters (4 letters + 8 hex digits) or 16 hex digits, got {0}")]
    Length(usize),
    #[error("the first four characters of an FSAN must be letters (the vendor code)")]
    Vendor,
    #[error("the last eight characters of an FSAN must be hex digits")]
    Serial,
    #[error("the 16-digit form must be hex and its first 8 digits must spell 4 letters")]
    HexForm,
}

/// A GPON serial number (FSAN): a four-letter vendor code and eight hex digits, stored in
/// canonical upper-case 12-character form (`ALCLB443689D`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fsan(String);

impl Fsan {
    /// Parses the 12-character form or the 16-hex-digit form (`414C434CB443689D`),
    /// ignoring surrounding whitespace and case, and normalises to the 12-character form.
    pub fn parse(input: &str) -> Result<Fsan, FsanError> {
        let s = input.trim();
        if !s.is_ascii() {
            return Err(FsanError::NotAscii);
        }
        let n = s.len();
        match n {
            12 => {
                let (vendor, serial) = s.split_at(4);
                if !vendor.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(FsanError::Vendor);
                }
                if !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(FsanError::Serial);
                }
                Ok(Fsan(s.to_ascii_uppercase()))
            }
            16 => {
                if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(FsanError::HexForm);
                }
                let (vendor_hex, serial) = s.split_at(8);
                let mut vendor = String::with_capacity(4);
                for i in 0..4 {
                    let byte = u8::from_str_radix(&vendor_hex[i * 2..i * 2 + 2], 16)
                        .map_err(|_| FsanError::HexForm)?;
                    if !byte.is_ascii_alphabetic() {
                        return Err(FsanError::HexForm);
                    }
                    vendor.push(byte.to_ascii_uppercase() as char);
                }
                Ok(Fsan(format!("{vendor}{}", serial.to_ascii_uppercase())))
            }
            other => Err(FsanError::Length(other)),
        }
    }

    /// The canonical 12-character form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The vendor named by the prefix.
    pub fn vendor(&self) -> Vendor {
        Vendor::from_prefix(&self.0[..4])
    }

    /// The 16-hex-digit form, as some provisioning systems expect it.
    pub fn to_hex_form(&self) -> String {
        let mut out = String::with_capacity(16);
        for b in self.0[..4].bytes() {
            out.push_str(&format!("{b:02X}"));
        }
        out.push_str(&self.0[4..]);
        out
    }
}

impl fmt::Display for Fsan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Fsan {
    type Err = FsanError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fsan::parse(s)
    }
}

/// Things the UI must show but that do not stop the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityWarning {
    /// The FSAN's vendor is not one of CityFibre's ONT vendors (Nokia, Calix).
    UnknownVendor(String),
    /// Two different serial numbers were present. No longer produced: the parser returns
    /// them as [`OntIdentity::serial_candidates`] for the engineer to pick from.
    AmbiguousSerial(String, String),
    /// Two different MACs were present; the first is used.
    AmbiguousMac(String, String),
    /// A field labelled as a MAC did not hold one; it was ignored.
    InvalidMac(String),
}

impl fmt::Display for IdentityWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityWarning::UnknownVendor(v) => {
                write!(
                    f,
                    "vendor {v} is not a CityFibre ONT vendor (Nokia ALCL, Calix CXNK)"
                )
            }
            IdentityWarning::AmbiguousSerial(a, b) => {
                write!(f, "two serial numbers on the label ({a}, {b}); using {a}")
            }
            IdentityWarning::AmbiguousMac(a, b) => {
                write!(f, "two MAC addresses on the label ({a}, {b}); using {a}")
            }
            IdentityWarning::InvalidMac(v) => {
                write!(f, "ignored a MAC field that is not a MAC: {v}")
            }
        }
    }
}

/// The identity of an ONT as read from its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OntIdentity {
    pub fsan: Fsan,
    /// The manufacturer serial number, where the label says which value it is. Equal to
    /// the FSAN only when a field labelled as the serial holds the FSAN beside a separate
    /// FSAN field.
    pub serial: Option<String>,
    /// The MAC address normalised to `AA:BB:CC:DD:EE:FF`, where present.
    pub mac: Option<String>,
    pub vendor: Vendor,
    pub warnings: Vec<IdentityWarning>,
    /// When the label holds several values that could be the manufacturer's serial and
    /// its text does not say which one is: `serial` is `None` and the engineer picks one
    /// of these (see [`OntIdentity::with_serial`]). Empty otherwise.
    pub serial_candidates: Vec<String>,
}

impl OntIdentity {
    /// Whether the engineer must pick the serial among [`Self::serial_candidates`].
    pub fn needs_serial_choice(&self) -> bool {
        self.serial.is_none() && !self.serial_candidates.is_empty()
    }

    /// The identity with the engineer's pick as its serial; the pick must be one of the
    /// candidates the label offered.
    pub fn with_serial(mut self, chosen: &str) -> Result<OntIdentity, IdentityError> {
        let chosen = chosen.trim();
        if !self.serial_candidates.iter().any(|c| c == chosen) {
            return Err(IdentityError::NotACandidate {
                chosen: short(chosen),
                candidates: self.serial_candidates.clone(),
            });
        }
        self.serial = Some(chosen.to_owned());
        self.serial_candidates.clear();
        Ok(self)
    }
}

/// Why a payload does not identify an ONT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("the label payload is empty")]
    Empty,
    #[error("no FSAN found in the label payload")]
    NoFsan,
    #[error("the label holds two different FSANs ({0} and {1}); refusing to guess")]
    ConflictingFsan(String, String),
    #[error("field {field:?} should hold an FSAN but holds {value:?}: {reason}")]
    InvalidFsan {
        field: String,
        value: String,
        reason: FsanError,
    },
    #[error("{chosen:?} is not one of the label's serial candidates {candidates:?}")]
    NotACandidate {
        chosen: String,
        candidates: Vec<String>,
    },
}

/// At most 40 characters of an untrusted value, for error messages.
fn short(value: &str) -> String {
    value.chars().take(40).collect()
}

/// Parses any supported payload layout into an ONT identity.
///
/// Which value is the FSAN and which the manufacturer's serial is decided by what the
/// label says, in this order:
///
/// 1. a field whose key names the FSAN (`FSAN`, `GPON SN`, `PON S/N`, `XGS-PON SN`...) is
///    the FSAN, and must be one;
/// 2. a generic serial key (`SN`, `S/N`, `SNR`, `ONT ID`...) holding a value of the FSAN's
///    shape is the FSAN (Nokia prints the FSAN as `S/N`; `SN=ALCL…;SERIAL=FH…`): it is
///    then *not* also the serial;
/// 3. a key that spells out the serial (`SERIAL`, `Serial No`, `Serial Number`, `MFG SN`)
///    is the manufacturer's serial; only when nothing else gave an FSAN and it holds one
///    is it read as the FSAN instead (and then not also as the serial);
/// 4. unlabelled tokens of FSAN shape anywhere are FSANs;
/// 5. without any serial field, the unlabelled entries of a list (`FSAN,SERIAL,MAC`, one
///    value per line) that are neither the FSAN, nor a MAC, nor a known part-number form
///    are serial candidates: one is the serial, several are left for the engineer.
///
/// Several different serial values are never resolved by order: they become
/// [`OntIdentity::serial_candidates`].
pub fn parse_ont_payload(payload: &str) -> Result<OntIdentity, IdentityError> {
    let text = payload.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}' || c == '\0');
    if text.is_empty() {
        return Err(IdentityError::Empty);
    }
    let fields = split_fields(text);

    let mut fsans: Vec<Fsan> = Vec::new();
    let mut macs: Vec<String> = Vec::new();
    let mut warnings = Vec::new();
    // Values that may hold an FSAN by shape alone (unlabelled or unknown labels).
    let mut loose: Vec<&str> = Vec::new();
    // Unlabelled list entries: serial candidates when no field names a serial.
    let mut positional: Vec<&str> = Vec::new();
    let mut explicit_serials: Vec<&str> = Vec::new();
    let mut generic_serials: Vec<&str> = Vec::new();

    for (key, value, raw) in &fields {
        let value = value.trim().trim_matches('"').trim();
        if value.is_empty() {
            continue;
        }
        match key.as_deref().map(classify_key) {
            Some(KeyKind::Fsan) => {
                let fsan = Fsan::parse(value).map_err(|reason| IdentityError::InvalidFsan {
                    field: short(key.as_deref().unwrap_or_default()),
                    value: short(value),
                    reason,
                })?;
                push_unique(&mut fsans, fsan);
            }
            Some(KeyKind::Serial) => explicit_serials.push(value),
            Some(KeyKind::DeviceId) => {
                if let Some(f) = fsan_by_shape(value) {
                    push_unique(&mut fsans, f);
                }
            }
            Some(KeyKind::GenericSerial) => generic_serials.push(value),
            Some(KeyKind::Mac) => match normalise_mac(value) {
                Some(mac) => {
                    if !macs.contains(&mac) {
                        macs.push(mac);
                    }
                }
                None => warnings.push(IdentityWarning::InvalidMac(short(value))),
            },
            Some(KeyKind::Other) => {}
            Some(KeyKind::Unknown) => loose.push(raw),
            None => {
                loose.push(raw);
                positional.push(value);
            }
        }
    }

    // Step 2: a generic serial key holding an FSAN is the FSAN, not a serial.
    let mut serials: Vec<String> = Vec::new();
    let mut generic_rest: Vec<&str> = Vec::new();
    let labelled = fsans.len();
    for v in &generic_serials {
        match fsan_by_shape(v) {
            // Beside a field that names the FSAN, a different value of FSAN shape from a
            // vendor we know nothing about is more likely a serial that happens to look
            // like one; from a known vendor it is a second FSAN (refused below).
            Some(f) if labelled > 0 && !fsans.contains(&f) && f.vendor().maker().is_none() => {
                generic_rest.push(v)
            }
            Some(f) => push_unique(&mut fsans, f),
            None => generic_rest.push(v),
        }
    }
    // Step 3: a spelled-out serial is the serial, unless it is the only FSAN there is.
    let has_fsan = !fsans.is_empty()
        || loose
            .iter()
            .any(|v| tokens(v).any(|t| fsan_by_shape(t).is_some()));
    for v in &explicit_serials {
        if !has_fsan && let Some(f) = fsan_by_shape(v) {
            push_unique(&mut fsans, f);
            continue;
        }
        push_unique_str(&mut serials, v);
    }
    for v in generic_rest {
        push_unique_str(&mut serials, v);
    }
    // Step 4: FSANs and MACs by shape.
    for v in &loose {
        for token in tokens(v) {
            if let Some(f) = fsan_by_shape(token) {
                push_unique(&mut fsans, f);
            }
        }
        if let Some(mac) = find_mac_by_shape(v)
            && !macs.contains(&mac)
        {
            macs.push(mac);
        }
    }

    let fsan = match fsans.as_slice() {
        [] => return Err(IdentityError::NoFsan),
        [one] => one.clone(),
        [a, b, ..] => return Err(IdentityError::ConflictingFsan(a.to_string(), b.to_string())),
    };
    // Step 5: the leftover entries of an unlabelled list.
    if serials.is_empty() {
        for v in &positional {
            if looks_like_serial(v, &fsan) {
                push_unique_str(&mut serials, v);
            }
        }
    }
    let vendor = fsan.vendor();
    if !vendor.is_known() {
        warnings.push(IdentityWarning::UnknownVendor(vendor.code().to_owned()));
    }
    if let [a, b, ..] = macs.as_slice() {
        warnings.push(IdentityWarning::AmbiguousMac(a.clone(), b.clone()));
    }
    let (serial, serial_candidates) = if serials.len() == 1 {
        (serials.pop(), Vec::new())
    } else {
        (None, serials)
    };
    Ok(OntIdentity {
        fsan,
        serial,
        mac: macs.into_iter().next(),
        vendor,
        warnings,
        serial_candidates,
    })
}

fn push_unique(list: &mut Vec<Fsan>, f: Fsan) {
    if !list.contains(&f) {
        list.push(f);
    }
}

fn push_unique_str(list: &mut Vec<String>, v: &str) {
    if !list.iter().any(|s| s == v) {
        list.push(v.to_owned());
    }
}

/// An unlabelled list entry that may be the manufacturer's serial: one word of 6-32
/// letters, digits or dashes with at least one digit, that is not the FSAN (in either
/// form), not a MAC, and not a vendor part number (Nokia's `3FE…`/`3TN…` codes).
fn looks_like_serial(v: &str, fsan: &Fsan) -> bool {
    let n = v.len();
    if !(6..=32).contains(&n)
        || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        || !v.bytes().any(|b| b.is_ascii_digit())
    {
        return false;
    }
    if Fsan::parse(v).is_ok_and(|f| f == *fsan) || fsan_by_shape(v).is_some() {
        return false;
    }
    if v.contains('-') && normalise_mac(v).is_some() {
        return false;
    }
    !is_part_number(v)
}

/// Vendor part numbers printed beside the serial: Nokia (`3FE47150BA`, `3TN00123AB`).
fn is_part_number(v: &str) -> bool {
    let u = v.to_ascii_uppercase();
    (u.starts_with("3FE") || u.starts_with("3TN"))
        && u.len() == 10
        && u[3..8].bytes().all(|b| b.is_ascii_digit())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    /// Names the FSAN: `FSAN`, `GPON SN`, `PON S/N`, `XGS-PON Serial`.
    Fsan,
    /// Spells out the manufacturer's serial: `SERIAL`, `Serial No`, `MFG SN`.
    Serial,
    /// A serial key that may mean either: `SN`, `S/N`, `SNR`, `ONT SN`.
    GenericSerial,
    /// `ONT ID`, `Device ID`: the FSAN when it has the FSAN's shape, else ignored.
    DeviceId,
    Mac,
    /// A key we know and do not need: part number, model, versions, Wi-Fi, dates.
    Other,
    Unknown,
}

/// PON technology prefixes that turn a serial key into an FSAN key.
const PON_PREFIXES: [&str; 6] = ["xgspon", "ngpon2", "ngpon", "gpon", "xgs", "pon"];
/// What may follow a PON prefix in an FSAN key (`GPON SN`, `GPON Serial Number`, `GPON`).
const PON_SUFFIXES: [&str; 8] = [
    "",
    "sn",
    "sno",
    "snr",
    "serial",
    "serialno",
    "serialnumber",
    "id",
];
const SPELLED_SERIAL: [&str; 6] = ["mfgsn", "mfrsn", "mansn", "hwsn", "devsn", "esn"];
const GENERIC_SERIAL: [&str; 5] = ["sn", "sno", "snr", "snno", "ontsn"];
/// Device-id keys: the FSAN when they hold one, otherwise nothing we use (a GPON ONT ID is
/// also the small number the OLT assigns).
const DEVICE_ID: [&str; 4] = ["ontid", "onuid", "deviceid", "equipmentid"];
const OTHER_KEYS: [&str; 24] = [
    "pn", "part", "model", "type", "hw", "sw", "fw", "ver", "date", "mfd", "ssid", "wifi", "wlan",
    "key", "pass", "pwd", "wpa", "psk", "ean", "upc", "imei", "prod", "cmiit", "ics",
];

fn classify_key(key: &str) -> KeyKind {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if k.contains("mac") {
        return KeyKind::Mac;
    }
    if k.contains("fsan") {
        return KeyKind::Fsan;
    }
    for p in PON_PREFIXES {
        if let Some(rest) = k.strip_prefix(p)
            && PON_SUFFIXES.contains(&rest)
        {
            return KeyKind::Fsan;
        }
    }
    if DEVICE_ID.contains(&k.as_str()) {
        return KeyKind::DeviceId;
    }
    if k.contains("serial") || SPELLED_SERIAL.contains(&k.as_str()) {
        return KeyKind::Serial;
    }
    if GENERIC_SERIAL.contains(&k.as_str()) || k.ends_with("sn") || k.starts_with("sno") {
        return KeyKind::GenericSerial;
    }
    if OTHER_KEYS.iter().any(|o| k.starts_with(o)) {
        return KeyKind::Other;
    }
    KeyKind::Unknown
}

/// Splits the payload into `(key, value)` pairs using the first layout that fits.
/// A `(key, value, raw piece)` triple; the raw piece is scanned by shape when the key
/// means nothing to us (it may not have been a key at all).
type Field = (Option<String>, String, String);

fn split_fields(text: &str) -> Vec<Field> {
    if text.starts_with('{') || text.starts_with('[') {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
            let mut out = Vec::new();
            walk_json(None, &value, &mut out);
            return out;
        }
    }
    if let Some(query) = url_query(text) {
        return query
            .split(['&', ';'])
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) => (
                    Some(percent_decode(k)),
                    percent_decode(v),
                    percent_decode(pair),
                ),
                None => (None, percent_decode(pair), percent_decode(pair)),
            })
            .collect();
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if let Some(rows) = csv_with_header(&lines) {
        return rows;
    }
    let mut out = Vec::new();
    for line in lines {
        // A line with a single key is split only on its first separator, so a MAC's
        // colons stay in the value.
        for piece in line.split([';', '&', '|', '\t', ',']) {
            let piece = piece.trim();
            if piece.is_empty() {
                continue;
            }
            match split_key_value(piece) {
                Some((k, v)) => out.push((
                    Some(k.trim().to_owned()),
                    v.trim().to_owned(),
                    piece.to_owned(),
                )),
                None => out.push((None, piece.to_owned(), piece.to_owned())),
            }
        }
    }
    out
}

/// `key: value`, `key=value`, or `KEY value` where KEY is a known label.
fn split_key_value(piece: &str) -> Option<(&str, &str)> {
    // "MAC B3:A0:11:22:33:44": a known key, a space, and a MAC with colons of its own.
    if let Some((k, v)) = piece.rsplit_once(char::is_whitespace)
        && !k.contains([':', '='])
        && normalise_mac(v).is_some()
        && !matches!(classify_key(k), KeyKind::Unknown)
    {
        return Some((k, v));
    }
    let colon = piece.find(':');
    let equals = piece.find('=');
    let at = match (colon, equals) {
        (Some(c), Some(e)) => Some(c.min(e)),
        (c, e) => c.or(e),
    };
    if let Some(at) = at {
        let (k, v) = (&piece[..at], &piece[at + 1..]);
        // A bare MAC ("00:11:22:...") has a hex pair before its first colon: not a key.
        let key_like = k.chars().any(|c| c.is_ascii_alphabetic()) || k.trim().is_empty();
        if key_like && !k.trim().is_empty() && normalise_mac(piece).is_none() {
            return Some((k, v));
        }
        return None;
    }
    // "S/N 12345" or "GPON SN ALCL..." : the last whitespace-separated word is the value.
    let (k, v) = piece.rsplit_once(char::is_whitespace)?;
    if classify_key(k) != KeyKind::Unknown {
        Some((k, v))
    } else {
        None
    }
}

fn walk_json(key: Option<&str>, value: &serde_json::Value, out: &mut Vec<Field>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                walk_json(Some(k), v, out);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                walk_json(key, v, out);
            }
        }
        serde_json::Value::String(s) => out.push((key.map(str::to_owned), s.clone(), s.clone())),
        serde_json::Value::Number(n) => {
            let n = n.to_string();
            out.push((key.map(str::to_owned), n.clone(), n));
        }
        serde_json::Value::Bool(_) | serde_json::Value::Null => {}
    }
}

fn url_query(text: &str) -> Option<&str> {
    if text.contains(char::is_whitespace) {
        return None;
    }
    let (_, rest) = text.split_once('?')?;
    let query = rest.split('#').next().unwrap_or(rest);
    query.contains('=').then_some(query)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A header row of labels over one or more rows of values, with the same delimiter.
fn csv_with_header(lines: &[&str]) -> Option<Vec<Field>> {
    let (header, rows) = lines.split_first()?;
    if rows.is_empty() {
        return None;
    }
    let delim = [',', ';', '\t']
        .into_iter()
        .find(|d| header.contains(*d) && !header.contains(':') && !header.contains('='))?;
    let keys: Vec<&str> = header.split(delim).map(str::trim).collect();
    if keys.iter().all(|k| classify_key(k) == KeyKind::Unknown) {
        return None;
    }
    let mut out = Vec::new();
    for row in rows {
        let values: Vec<&str> = row.split(delim).map(str::trim).collect();
        if values.len() != keys.len() {
            return None;
        }
        for (k, v) in keys.iter().zip(values) {
            let v = v.trim_matches('"').to_owned();
            out.push((Some((*k).to_owned()), v.clone(), v));
        }
    }
    Some(out)
}

fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
}

/// An FSAN recognised by shape alone: 4 letters + 8 hex digits, or the 16-hex form.
/// Shape matching is stricter than [`Fsan::parse`] on case: an all-hex 12-character
/// token is a MAC more often than an FSAN, so the vendor must contain a non-hex letter.
fn fsan_by_shape(token: &str) -> Option<Fsan> {
    let fsan = Fsan::parse(token).ok()?;
    if token.len() == 12 && token[..4].bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(fsan)
}

fn find_mac_by_shape(s: &str) -> Option<String> {
    s.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .find_map(|t| {
            let t = t.trim();
            // Only separated forms: an unlabelled 12-hex run is too ambiguous.
            if t.contains([':', '-', '.']) {
                normalise_mac(t)
            } else {
                None
            }
        })
}

/// Normalises `aa:bb:cc:dd:ee:ff`, `AA-BB-...`, `aabb.ccdd.eeff` and `AABBCCDDEEFF`
/// to `AA:BB:CC:DD:EE:FF`.
pub fn normalise_mac(value: &str) -> Option<String> {
    let v = value.trim();
    let hex: String = v
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.' | ' '))
        .collect();
    if hex.len() != 12 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    // Separators, where present, must sit on group boundaries.
    let seps: Vec<usize> = v
        .char_indices()
        .filter(|(_, c)| matches!(c, ':' | '-' | '.' | ' '))
        .map(|(i, _)| i)
        .collect();
    let ok = match seps.len() {
        0 => true,
        5 => seps.iter().enumerate().all(|(n, &i)| i == 2 + n * 3),
        2 => seps == [4, 9],
        _ => false,
    };
    if !ok {
        return None;
    }
    let upper = hex.to_ascii_uppercase();
    let mut out = String::with_capacity(17);
    for (i, pair) in upper.as_bytes().chunks(2).enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(std::str::from_utf8(pair).ok()?);
    }
    Some(out)
}
