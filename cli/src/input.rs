//! Reading the files (and standard input) the commands are given, with a size limit.
//!
//! Everything the tool reads is a small document: a payload, a matrix, a partner catalogue,
//! certificates, a photo. A file far larger than any real one is refused before it is read
//! whole, so a mistaken path (a disk image, `/dev/zero`) or a hostile file costs a clear error
//! instead of the machine's memory.

use std::io::{self, Read};
use std::path::Path;

/// Largest JSON document (payload, matrix, catalogue) or PEM file read.
pub const MAX_DOCUMENT_BYTES: u64 = 8 * 1024 * 1024;

/// Reads `path` (`-` is standard input) as UTF-8, refusing more than `max` bytes.
pub fn read_text(path: &Path, max: u64) -> io::Result<String> {
    let bytes = read_bytes(path, max)?;
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Reads `path` (`-` is standard input), refusing more than `max` bytes.
pub fn read_bytes(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        io::stdin().lock().take(max + 1).read_to_end(&mut bytes)?;
    } else {
        let file = std::fs::File::open(path)?;
        if let Ok(meta) = file.metadata() {
            if meta.is_file() && meta.len() > max {
                return Err(too_large(max));
            }
        }
        file.take(max + 1).read_to_end(&mut bytes)?;
    }
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(bytes)
}

fn too_large(max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("larger than the {max} bytes this command reads"),
    )
}
