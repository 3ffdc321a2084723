//! The core's own copy of every photo, content-addressed: `<dir>/<sha256>.jpg`.
//!
//! The shell's camera file or gallery item may vanish (the OS clears caches, the engineer
//! deletes it); the copy here is what gets uploaded, possibly days later. A file is written
//! to a temporary name, flushed to disk, renamed into place and the directory flushed too,
//! so after a crash or a power cut a final name holds the whole photo or nothing. Content
//! addressing makes attaching the same photo twice a no-op and lets the uploader check, by
//! hashing, that the file is still exactly the photo named in its upload item.
//!
//! With a key ([`PhotoStore::with_key`], from the shell's keystore) every file is sealed with
//! AES-256-GCM (ring, the library rustls already uses): `JPKENC1\0`, a random 96-bit nonce,
//! then the ciphertext and its tag, the photo's hash as associated data so a file cannot be
//! passed off under another photo's name. Files written before a key was given stay readable
//! and are sealed the next time they are stored. Files are created 0600 in a 0700 folder.
//!
//! The directory belongs to one database: [`PhotoStore::beside_database`] puts it next to the
//! SQLite file and names it after it, so removing unreferenced files never touches another
//! database's photos.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::hash::PhotoHash;
use super::ingest::PreparedPhoto;

const TEMP_PREFIX: &str = ".incoming-";
const EXTENSION: &str = ".jpg";

/// What went wrong with the local photo files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    #[error("photo storage at {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("photo {sha256} is not on this device")]
    Missing { sha256: PhotoHash },
    #[error(
        "photo {sha256} on this device is damaged (its bytes hash to {actual}); take the photo again"
    )]
    Corrupt {
        sha256: PhotoHash,
        actual: PhotoHash,
    },
    #[error("the prepared photo's bytes do not match its hash {0}")]
    HashMismatch(PhotoHash),
    /// The file is sealed and the key given cannot open it (another key, or none).
    #[error("photo {sha256} is encrypted with another key; the file was left untouched")]
    WrongKey { sha256: PhotoHash },
}

const SEALED_MAGIC: &[u8; 8] = b"JPKENC1\0";
const NONCE_LEN: usize = 12;

/// A 256-bit key for photos at rest.
#[derive(Clone)]
pub struct PhotoKey(std::sync::Arc<ring::aead::LessSafeKey>);

impl PhotoKey {
    /// A key from 32 bytes (the shell's keystore holds them).
    pub fn new(bytes: &[u8]) -> Result<Self, String> {
        let unbound = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, bytes)
            .map_err(|_| format!("a photo key has 32 bytes, not {}", bytes.len()))?;
        Ok(Self(std::sync::Arc::new(ring::aead::LessSafeKey::new(
            unbound,
        ))))
    }

    fn seal(&self, sha256: &PhotoHash, plain: &[u8]) -> Result<Vec<u8>, String> {
        use ring::rand::SecureRandom;
        let mut nonce = [0u8; NONCE_LEN];
        ring::rand::SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| "no randomness for a nonce".to_owned())?;
        let mut out = Vec::with_capacity(SEALED_MAGIC.len() + NONCE_LEN + plain.len() + 16);
        out.extend_from_slice(SEALED_MAGIC);
        out.extend_from_slice(&nonce);
        let mut body = plain.to_vec();
        self.0
            .seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(sha256.to_string().as_bytes()),
                &mut body,
            )
            .map_err(|_| "sealing failed".to_owned())?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    fn open(&self, sha256: &PhotoHash, sealed: &[u8]) -> Option<Vec<u8>> {
        let rest = sealed.strip_prefix(SEALED_MAGIC.as_slice())?;
        if rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = ring::aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self
            .0
            .open_in_place(
                nonce,
                ring::aead::Aad::from(sha256.to_string().as_bytes()),
                &mut body,
            )
            .ok()?;
        Some(plain.to_vec())
    }
}

impl std::fmt::Debug for PhotoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhotoKey(<redacted>)")
    }
}

/// A directory of photos named by their hash.
#[derive(Debug, Clone)]
pub struct PhotoStore {
    dir: PathBuf,
    key: Option<PhotoKey>,
}

fn io_error(path: &Path, error: &io::Error) -> StorageError {
    StorageError::Io {
        path: path.to_owned(),
        reason: error.to_string(),
    }
}

impl PhotoStore {
    /// Opens (creating) the store in `dir`, removing temporary files a crash left behind.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let dir = dir.into();
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&dir).map_err(|e| io_error(&dir, &e))?;
        let store = Self { dir, key: None };
        store.remove_leftover_temporaries()?;
        Ok(store)
    }

    /// The directory for the database at `database`: `<database file name>.photos` beside it.
    pub fn dir_beside_database(database: &Path) -> PathBuf {
        let mut name = database
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "jobpack".into());
        name.push(".photos");
        database.with_file_name(name)
    }

    /// Opens the store of the database at `database`.
    pub fn beside_database(database: &Path) -> Result<Self, StorageError> {
        Self::open(Self::dir_beside_database(database))
    }

    /// The same store, sealing what it writes and opening what it reads with `key`.
    pub fn with_key(mut self, key: PhotoKey) -> Self {
        self.key = Some(key);
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the photo with `sha256` is (or would be) kept.
    pub fn path_of(&self, sha256: &PhotoHash) -> PathBuf {
        self.dir.join(format!("{sha256}{EXTENSION}"))
    }

    /// Stores `photo` durably and returns its path. Storing a photo that is already there
    /// (and intact) writes nothing; a damaged copy is replaced.
    pub fn put(&self, photo: &PreparedPhoto) -> Result<PathBuf, StorageError> {
        if PhotoHash::of(&photo.jpeg) != photo.sha256 {
            return Err(StorageError::HashMismatch(photo.sha256.clone()));
        }
        let path = self.path_of(&photo.sha256);
        match self.read_verified(&photo.sha256) {
            // Intact, and sealed if it should be.
            Ok(_) if self.key.is_none() || self.is_sealed(&path) => return Ok(path),
            Ok(_) | Err(StorageError::Missing { .. } | StorageError::Corrupt { .. }) => {}
            Err(other) => return Err(other),
        }
        let bytes = match &self.key {
            Some(key) => {
                key.seal(&photo.sha256, &photo.jpeg)
                    .map_err(|reason| StorageError::Io {
                        path: path.clone(),
                        reason,
                    })?
            }
            None => photo.jpeg.clone(),
        };
        let temp = self.dir.join(format!(
            "{TEMP_PREFIX}{}-{}",
            photo.sha256,
            uuid::Uuid::new_v4().simple()
        ));
        let written = (|| {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&temp)?;
            file.write_all(&bytes)?;
            file.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(io_error(&temp, &e));
        }
        if let Err(e) = fs::rename(&temp, &path) {
            let _ = fs::remove_file(&temp);
            return Err(io_error(&path, &e));
        }
        self.sync_dir()?;
        Ok(path)
    }

    /// The photo's bytes, checked against its hash.
    pub fn read_verified(&self, sha256: &PhotoHash) -> Result<Vec<u8>, StorageError> {
        let path = self.path_of(sha256);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StorageError::Missing {
                    sha256: sha256.clone(),
                });
            }
            Err(e) => return Err(io_error(&path, &e)),
        };
        let bytes = if bytes.starts_with(SEALED_MAGIC) {
            match self.key.as_ref().and_then(|k| k.open(sha256, &bytes)) {
                Some(plain) => plain,
                None => {
                    return Err(StorageError::WrongKey {
                        sha256: sha256.clone(),
                    });
                }
            }
        } else {
            bytes
        };
        let actual = PhotoHash::of(&bytes);
        if &actual != sha256 {
            return Err(StorageError::Corrupt {
                sha256: sha256.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    fn is_sealed(&self, path: &Path) -> bool {
        let mut head = [0u8; 8];
        fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
            .is_ok()
            && &head == SEALED_MAGIC
    }

    /// Whether the photo is stored (without checking its bytes).
    pub fn contains(&self, sha256: &PhotoHash) -> bool {
        self.path_of(sha256).is_file()
    }

    /// Every photo in the store.
    pub fn list(&self) -> Result<Vec<PhotoHash>, StorageError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, &e))? {
            let entry = entry.map_err(|e| io_error(&self.dir, &e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(hash) = name
                .strip_suffix(EXTENSION)
                .and_then(|h| PhotoHash::parse(h).ok())
            {
                out.push(hash);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Removes the local copy of one photo (retention); `false` when it was not there.
    pub fn remove(&self, sha256: &PhotoHash) -> Result<bool, StorageError> {
        let path = self.path_of(sha256);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error(&path, &e)),
        }
    }

    /// Removes every photo not in `keep` (the ones the database still references, whose
    /// uploads are pending or that a job still shows). Returns how many were removed.
    pub fn remove_unreferenced(&self, keep: &HashSet<PhotoHash>) -> Result<usize, StorageError> {
        let mut removed = 0;
        for hash in self.list()? {
            if keep.contains(&hash) {
                continue;
            }
            let path = self.path_of(&hash);
            match fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path, &e)),
            }
        }
        if removed > 0 {
            self.sync_dir()?;
        }
        Ok(removed)
    }

    fn remove_leftover_temporaries(&self) -> Result<(), StorageError> {
        for entry in fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, &e))? {
            let entry = entry.map_err(|e| io_error(&self.dir, &e))?;
            if entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(TEMP_PREFIX))
            {
                let path = entry.path();
                fs::remove_file(&path).map_err(|e| io_error(&path, &e))?;
            }
        }
        Ok(())
    }

    /// Makes a rename or removal in the directory durable (POSIX needs the directory itself
    /// flushed; Windows cannot open a directory this way and does not need it).
    fn sync_dir(&self) -> Result<(), StorageError> {
        #[cfg(unix)]
        {
            fs::File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_error(&self.dir, &e))?;
        }
        Ok(())
    }
}
