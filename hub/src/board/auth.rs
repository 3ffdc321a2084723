//! The board's authentication: one shared office token, sessions in memory, CSRF tokens.
//!
//! * **The token** is 32 random bytes (hex) written to `board.token` in the hub's directory on
//!   first start, mode 0600 (created with that mode, never readable by others even briefly).
//!   Whoever can read the hub's directory can run the hub's commands anyway, so the file adds
//!   no new holder of power; `jobpack hub board-token` prints it for the office. It is
//!   compared in constant time.
//! * **Sessions** are random 32-byte ids in an `HttpOnly; Secure; SameSite=Strict` cookie with
//!   an expiry (8 hours, also enforced here), kept in memory: a hub restart logs everyone out,
//!   which costs one login and saves a sessions table (and its twin in every backend).
//! * **CSRF**: every session has its own random token, rendered into each form and checked
//!   (constant time) on every POST, on top of `SameSite=Strict`.
//! * **Guessing** is slowed: each failed login waits [`FAILED_LOGIN_DELAY`] before answering,
//!   and after [`FAILURES_PER_MINUTE`] failures in a minute every login is refused until the
//!   window moves on (a 256-bit token is not guessable anyway; this keeps the log and the CPU
//!   quiet).

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

use crate::HubError;
use crate::error::file_error;

/// The token file in the hub's directory.
pub const TOKEN_FILE: &str = "board.token";
/// The session cookie's name.
pub const COOKIE: &str = "jobpack_board";
/// How long a session lasts after login.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// How long a failed login waits before it is answered.
pub const FAILED_LOGIN_DELAY: Duration = Duration::from_millis(400);
/// Failed logins per minute after which logins are refused until the minute has passed.
pub const FAILURES_PER_MINUTE: usize = 20;

/// `bytes` random bytes from the system's CSPRNG, hex.
pub fn random_hex(bytes: usize) -> Result<String, HubError> {
    let mut buffer = vec![0u8; bytes];
    SystemRandom::new()
        .fill(&mut buffer)
        .map_err(|_| HubError::Invalid {
            field: "random",
            reason: "the system's random source failed".into(),
        })?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

/// Reads `board.token` in `dir`, creating it (0600) when it is missing.
pub fn load_or_create_token(dir: &Path) -> Result<String, HubError> {
    std::fs::create_dir_all(dir).map_err(file_error(dir))?;
    let path = dir.join(TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let token = text.trim().to_owned();
            if token.len() < 32 {
                return Err(HubError::Invalid {
                    field: "board.token",
                    reason: format!(
                        "{} holds a token shorter than 32 characters; delete it to make a new one",
                        path.display()
                    ),
                });
            }
            Ok(token)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = random_hex(32)?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&path).map_err(file_error(&path))?;
            std::io::Write::write_all(&mut file, format!("{token}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(file_error(&path))?;
            Ok(token)
        }
        Err(e) => Err(file_error(&path)(e)),
    }
}

/// Equal in constant time (for equal lengths; a length difference is not a secret here).
pub fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub csrf: String,
    pub expires: Instant,
}

/// What a login attempt gets.
#[derive(Debug, PartialEq, Eq)]
pub enum Login {
    /// A new session id.
    Granted(String),
    Refused,
    /// Too many failures this minute; not even checked.
    Throttled,
}

/// The board's sessions and failed-login window.
pub struct Sessions {
    token: String,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<VecDeque<Instant>>,
}

impl Sessions {
    pub fn new(token: String) -> Sessions {
        Sessions {
            token,
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(VecDeque::new()),
        }
    }

    /// Checks `given` against the board token; a session on success. The caller delays a
    /// refusal's answer by [`FAILED_LOGIN_DELAY`].
    pub fn login(&self, given: &str) -> Result<Login, HubError> {
        let now = Instant::now();
        {
            let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
            while failures
                .front()
                .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
            {
                failures.pop_front();
            }
            if failures.len() >= FAILURES_PER_MINUTE {
                return Ok(Login::Throttled);
            }
            if !same(given.trim(), &self.token) {
                failures.push_back(now);
                return Ok(Login::Refused);
            }
        }
        let id = random_hex(32)?;
        let session = Session {
            csrf: random_hex(32)?,
            expires: now + SESSION_TTL,
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(id.clone(), session);
        Ok(Login::Granted(id))
    }

    /// The live session named by a `Cookie` header, if any.
    pub fn session(&self, cookie_header: Option<&str>) -> Option<Session> {
        let id = cookie_value(cookie_header?, COOKIE)?;
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        // Looked up by id; the id is 256 random bits, so a timing difference in the map's
        // lookup tells an attacker nothing usable.
        sessions
            .get(id)
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    pub fn logout(&self, cookie_header: Option<&str>) {
        if let Some(id) = cookie_header.and_then(|h| cookie_value(h, COOKIE)) {
            self.sessions
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(id);
        }
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

/// The `Set-Cookie` value for a new session.
pub fn session_cookie(id: &str) -> String {
    format!(
        "{COOKIE}={id}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
        SESSION_TTL.as_secs()
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn expired_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_file_is_made_once_private_and_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let first = load_or_create_token(dir.path()).expect("token");
        assert_eq!(first.len(), 64);
        assert_eq!(load_or_create_token(dir.path()).expect("again"), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_short_token_file_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join(TOKEN_FILE), "short").expect("write");
        assert!(load_or_create_token(dir.path()).is_err());
    }

    #[test]
    fn login_needs_the_token_and_failures_are_throttled() {
        let sessions = Sessions::new("a".repeat(64));
        assert_eq!(sessions.login("b").expect("login"), Login::Refused);
        let Login::Granted(id) = sessions.login(&"a".repeat(64)).expect("login") else {
            panic!("the right token is refused");
        };
        let header = format!("other=1; {COOKIE}={id}");
        assert!(sessions.session(Some(&header)).is_some());
        assert!(sessions.session(Some("jobpack_board=forged")).is_none());
        sessions.logout(Some(&header));
        assert!(sessions.session(Some(&header)).is_none());
        for _ in 1..FAILURES_PER_MINUTE {
            assert_eq!(sessions.login("wrong").expect("login"), Login::Refused);
        }
        // Even the right token is not checked once the window is full.
        assert_eq!(
            sessions.login(&"a".repeat(64)).expect("login"),
            Login::Throttled
        );
    }
}
