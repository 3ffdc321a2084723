//! A throw-away PostgreSQL server, for the hub's tests, the demo (`jobpack demo --postgres`)
//! and the figures: a fresh cluster in a temp dir, made and started with Debian's own binaries
//! (`/usr/lib/postgresql/<version>/bin`), listening only on a Unix socket in that dir (no TCP
//! port to collide on, nothing reachable off the machine), stopped when dropped. PostgreSQL
//! refuses to run as root, so under root the cluster belongs to the `postgres` user
//! (`runuser`). Missing binaries are an error that says what to install: callers fail, they
//! never skip.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The port only names the socket file (`.s.PGSQL.5432`); nothing listens on TCP.
const PORT: u16 = 5432;

/// A running throw-away cluster; stopped (immediately, it holds nothing worth keeping) and
/// deleted on drop.
pub struct LocalPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
}

/// Debian's newest installed server binaries.
fn bin_dir() -> Result<PathBuf, String> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => Ok(bin),
        None => Err(
            "no PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin/initdb): \
             install Debian's `postgresql` package (scripts/install.sh need_postgresql, which \
             scripts/test.sh and scripts/demo.sh --postgres run)"
                .into(),
        ),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl LocalPostgres {
    /// Makes and starts a fresh cluster; the error carries PostgreSQL's own words.
    pub fn start() -> Result<LocalPostgres, String> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("jp-pg-")
            .tempdir()
            .map_err(|e| format!("temp dir for PostgreSQL: {e}"))?;
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err("could not give the cluster dir to the postgres user".into());
            }
        }
        let server = LocalPostgres {
            dir,
            bin,
            as_postgres,
        };
        let data = server.data();
        let data = path(&data)?;
        server.run(
            "initdb",
            &[
                "-D",
                data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        let options = format!(
            "-h '' -k {} -p {PORT} -c max_connections=200",
            server.dir.path().display()
        );
        let log = server.dir.path().join("server.log");
        server.run(
            "pg_ctl",
            &[
                "-D",
                data,
                "-l",
                path(&log)?,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        Ok(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let binary = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&binary);
            c
        } else {
            Command::new(&binary)
        };
        let output = command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| format!("could not run {}: {e}", binary.display()))?;
        if output.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        Err(format!(
            "{program} {args:?} failed: {}\n{}\n{log}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }

    /// A connection string for the server's `postgres` database.
    pub fn url(&self) -> String {
        format!(
            "host={} port={PORT} user=postgres dbname=postgres",
            self.dir.path().display()
        )
    }
}

fn path(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", p.display()))
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        let data = self.data();
        let Ok(data) = path(&data) else {
            return;
        };
        let binary = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&binary);
            c
        } else {
            Command::new(&binary)
        };
        let _ = command
            .args(["-D", data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}
