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
    /// Two different serial numbers were present; the first is used.
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
    /// The manufacturer serial number, where the label carries one.
    pub serial: Option<String>,
    /// The MAC address normalised to `AA:BB:CC:DD:EE:FF`, where present.
    pub mac: Option<String>,
    pub vendor: Vendor,
    pub warnings: Vec<IdentityWarning>,
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
}

/// Parses any supported payload layout into an ONT identity.
pub fn parse_ont_payload(payload: &str) -> Result<OntIdentity, IdentityError> {
    let text = payload.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}' || c == '\0');
    if text.is_empty() {
        return Err(IdentityError::Empty);
    }
    let fields = split_fields(text);

    let mut fsans: Vec<Fsan> = Vec::new();
    let mut serials: Vec<String> = Vec::new();
    let mut macs: Vec<String> = Vec::new();
    let mut warnings = Vec::new();
    // Values that may hold an FSAN by shape alone (unlabelled or unknown labels).
    let mut loose: Vec<&str> = Vec::new();
    let mut serial_values: Vec<&str> = Vec::new();
    let mut has_fsan_field = false;

    for (key, value, raw) in &fields {
        let value = value.trim().trim_matches('"').trim();
        if value.is_empty() {
            continue;
        }
        match key.as_deref().map(classify_key) {
            Some(KeyKind::Fsan) => {
                has_fsan_field = true;
                let fsan = Fsan::parse(value).map_err(|reason| IdentityError::InvalidFsan {
                    field: key.clone().unwrap_or_default(),
                    value: value.to_owned(),
                    reason,
                })?;
                push_unique(&mut fsans, fsan);
            }
            Some(KeyKind::Serial) => {
                let serial = value.to_owned();
                if !serials.contains(&serial) {
                    serials.push(serial);
                }
                serial_values.push(value);
            }
            Some(KeyKind::Mac) => match normalise_mac(value) {
                Some(mac) => {
                    if !macs.contains(&mac) {
                        macs.push(mac);
                    }
                }
                None => warnings.push(IdentityWarning::InvalidMac(value.to_owned())),
            },
            Some(KeyKind::Unknown) | None => loose.push(raw),
        }
    }

    // Nokia labels often print the FSAN as "S/N": without an FSAN field, a serial
    // that has the FSAN shape is the FSAN.
    if !has_fsan_field {
        for v in &serial_values {
            if let Ok(f) = Fsan::parse(v) {
                push_unique(&mut fsans, f);
            }
        }
    }
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
    let vendor = fsan.vendor();
    if !vendor.is_known() {
        warnings.push(IdentityWarning::UnknownVendor(vendor.code().to_owned()));
    }
    if let [a, b, ..] = serials.as_slice() {
        warnings.push(IdentityWarning::AmbiguousSerial(a.clone(), b.clone()));
    }
    if let [a, b, ..] = macs.as_slice() {
        warnings.push(IdentityWarning::AmbiguousMac(a.clone(), b.clone()));
    }
    Ok(OntIdentity {
        fsan,
        serial: serials.into_iter().next(),
        mac: macs.into_iter().next(),
        vendor,
        warnings,
    })
}

fn push_unique(list: &mut Vec<Fsan>, f: Fsan) {
    if !list.contains(&f) {
        list.push(f);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Fsan,
    Serial,
    Mac,
    Unknown,
}

fn classify_key(key: &str) -> KeyKind {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if k.contains("mac") {
        KeyKind::Mac
    } else if k.contains("fsan")
        || k.starts_with("gpon")
        || k.starts_with("xgspon")
        || k.starts_with("xgs")
        || k.starts_with("pon")
        || k == "ontid"
    {
        KeyKind::Fsan
    } else if k == "sn"
        || k.ends_with("sn")
        || k.contains("serial")
        || k == "snr"
        || k.starts_with("sno")
    {
        KeyKind::Serial
    } else {
        KeyKind::Unknown
    }
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
