//! A PostgreSQL server of a test's own (initdb + pg_ctl on a free port), to stop and
//! start at will.

use std::path::PathBuf;
use std::process::Command;

use diesel::{Connection, PgConnection, RunQueryDsl};

/// The running (or stopped) server and its data folder.
pub struct OwnPostgres {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
}

/// The newest installed PostgreSQL's programs.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop().expect("pg_ctl is installed")
}

/// Runs a PostgreSQL program as the `postgres` user when we are root (the server
/// refuses to run as root).
fn run(program: PathBuf, args: &[&str]) {
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let status = if as_root {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
    } else {
        Command::new(&program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
    };
    assert!(
        status.map(|s| s.success()).unwrap_or(false),
        "{} {args:?} failed",
        program.display()
    );
}

impl OwnPostgres {
    /// Creates a cluster in a temporary folder and starts it on a free port, with a
    /// database `portal` holding the portal's public tables.
    pub fn start() -> OwnPostgres {
        let dir = std::env::temp_dir().join(format!("tp-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("data folder");
        let _ = Command::new("chown")
            .args(["postgres:postgres", &dir.display().to_string()])
            .status();
        let pg = OwnPostgres {
            port: super::free_port(),
            bin: bin_dir(),
            dir,
        };
        let data = pg.dir.display().to_string();
        run(
            pg.bin.join("initdb"),
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        pg.restart();
        let mut admin = PgConnection::establish(&pg.url("postgres")).expect("own PostgreSQL");
        diesel::sql_query("CREATE DATABASE portal")
            .execute(&mut admin)
            .expect("create database");
        let mut conn = PgConnection::establish(&pg.url("portal")).expect("connect");
        tenant_portal::db::migrate::migrate_public(&mut conn).expect("public migrations");
        pg
    }

    /// The URL of one of its databases.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// Starts it (again) on the same port and waits until it answers.
    pub fn restart(&self) {
        let data = self.dir.display().to_string();
        let log = self.dir.join("server.log").display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off",
            self.port
        );
        run(
            self.bin.join("pg_ctl"),
            &["-D", &data, "-l", &log, "-o", &options, "-w", "start"],
        );
    }

    /// Stops it at once, as a crash would (connections are cut).
    pub fn stop(&self) {
        let data = self.dir.display().to_string();
        run(
            self.bin.join("pg_ctl"),
            &["-D", &data, "-m", "immediate", "-w", "stop"],
        );
    }

    /// Runs SQL on database `portal` and returns the first column of each row.
    pub fn query_strings(&self, sql: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        let mut conn = PgConnection::establish(&self.url("portal")).expect("connect");
        diesel::sql_query(sql)
            .load::<Row>(&mut conn)
            .expect("query")
            .into_iter()
            .map(|r| r.v)
            .collect()
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.dir.display().to_string();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
