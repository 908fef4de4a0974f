//! `portal migrate`: the registry first, then every tenant schema, several at a time.
//!
//! Each schema is migrated in its own transaction, so stopping the run at any moment (a
//! crash, Ctrl-C: PostgreSQL rolls back the transaction of a closed connection) leaves
//! every schema fully migrated or untouched, and the next run continues with what is
//! still pending. A schema that fails is reported and the others go on; the run then
//! exits non-zero. The registry is read a page at a time, so 10,000 organizations never
//! sit in memory at once.

use std::io::IsTerminal;
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};

use super::connect;
use crate::config::Settings;
use crate::db::migrate;
use crate::domain::{SchemaName, TenantSlug};
use crate::models::{spare_schema, tenant};

/// What `portal migrate` was asked to do.
pub(super) struct Options {
    /// Schemas migrated at once (each on its own connection).
    pub jobs: Option<usize>,
    /// Only list what would run where.
    pub dry_run: bool,
    /// Only this organization's schema (after the registry).
    pub tenant: Option<String>,
}

/// One schema to migrate, and how the report names it.
struct Target {
    label: String,
    schema: SchemaName,
    /// A spare schema waiting for a sign-up (which may take it during the run).
    spare: bool,
}

/// Registry rows read per query.
const PAGE: i64 = 500;
/// A migration waiting this long for a table the running portal uses gives up (the
/// schema is reported as failed and retried by the next run) instead of making the
/// portal's queries queue behind it.
const LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// How often progress is printed when standard error is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Schemas at once when `--jobs` is not given: PostgreSQL spends much of a migration
/// waiting for the commit's disk flush, so a little more than one per core pays.
fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
        .clamp(2, 8)
}

/// Runs `portal migrate`.
pub(super) fn run(settings: &Settings, opts: Options) -> anyhow::Result<()> {
    let jobs = opts.jobs.unwrap_or_else(default_jobs).max(1);
    let mut conn = connect(settings)?;
    let only = match opts.tenant.as_deref() {
        Some(raw) => Some(find_target(&mut conn, raw)?),
        None => None,
    };
    if opts.dry_run {
        let pending = migrate::pending_public(&mut conn)?;
        for name in &pending {
            println!("registry: would run {name}");
        }
        if !registry_exists(&mut conn)? {
            println!("no registry yet: no tenant schemas to migrate");
            return Ok(());
        }
    } else {
        let n = migrate::migrate_public(&mut conn)?;
        println!("registry: {n} migration(s) applied");
    }
    // After a dry run the spare table may not exist yet (its migration only listed).
    let spares = spares_exist(&mut conn)?;
    let total = match &only {
        Some(_) => 1,
        None => {
            let tenants = tenant::count_live(&mut conn).map_err(|e| anyhow::anyhow!("{e}"))?;
            let spare = match spares {
                true => spare_schema::count(&mut conn).map_err(|e| anyhow::anyhow!("{e}"))?,
                false => 0,
            };
            (tenants + spare) as u64
        }
    };
    let work = if opts.dry_run {
        Work::Look
    } else {
        Work::Apply
    };
    let mut conns = Vec::with_capacity(jobs);
    for _ in 0..jobs.min(total.max(1) as usize) {
        conns.push(connect(settings)?);
    }
    let progress = Progress::new(total, work);
    let (tx, rx) = mpsc::sync_channel::<Target>(jobs * 4);
    let rx = Mutex::new(rx);
    let fed = std::thread::scope(|scope| {
        for c in conns {
            let (rx, progress) = (&rx, &progress);
            scope.spawn(move || worker(settings, c, rx, progress, work));
        }
        let fed = feed(&mut conn, only, spares, &tx);
        drop(tx);
        fed
    });
    fed?;
    progress.finish()
}

/// Whether the run applies migrations or only looks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Work {
    Apply,
    Look,
}

/// The one target of `--tenant`, or a clear refusal.
fn find_target(conn: &mut PgConnection, raw: &str) -> anyhow::Result<Target> {
    let slug = TenantSlug::parse(raw).map_err(|e| anyhow::anyhow!("--tenant: {}", e.message))?;
    let found = registry_exists(conn)?
        .then(|| tenant::find_by_slug(conn, &slug))
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .flatten();
    let t = found.ok_or_else(|| anyhow::anyhow!("no organization has the address {slug}"))?;
    Ok(Target {
        label: t.slug.to_string(),
        schema: t.schema,
        spare: false,
    })
}

diesel::define_sql_function! {
    fn to_regclass(name: diesel::sql_types::Text) -> diesel::sql_types::Nullable<diesel::sql_types::Oid>;
}

fn registry_exists(conn: &mut PgConnection) -> anyhow::Result<bool> {
    let oid: Option<u32> = diesel::select(to_regclass("public.tenants")).get_result(conn)?;
    Ok(oid.is_some())
}

fn spares_exist(conn: &mut PgConnection) -> anyhow::Result<bool> {
    let oid: Option<u32> = diesel::select(to_regclass("public.spare_schemas")).get_result(conn)?;
    Ok(oid.is_some())
}

/// Hands every target to the workers, reading the registry, then the spare schemas
/// waiting for sign-ups, a page at a time.
fn feed(
    conn: &mut PgConnection,
    only: Option<Target>,
    spares: bool,
    tx: &mpsc::SyncSender<Target>,
) -> anyhow::Result<()> {
    if let Some(t) = only {
        // A send fails only when every worker is gone, which they report themselves.
        let _ = tx.send(t);
        return Ok(());
    }
    let mut after: Option<String> = None;
    loop {
        let page =
            tenant::page_after(conn, after.as_deref(), PAGE).map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.slug.to_string());
        for t in page {
            let target = Target {
                label: t.slug.to_string(),
                schema: t.schema,
                spare: false,
            };
            if tx.send(target).is_err() {
                return Ok(());
            }
        }
    }
    if !spares {
        return Ok(());
    }
    let mut after: Option<String> = None;
    loop {
        let page = spare_schema::page_after(conn, after.as_deref(), PAGE)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = Some(last.as_str().to_string());
        for schema in page {
            let target = Target {
                label: "spare".into(),
                schema,
                spare: true,
            };
            if tx.send(target).is_err() {
                return Ok(());
            }
        }
    }
}

/// Migrates (or looks at) schemas until there are none left. A connection that broke
/// is replaced, so one bad moment fails one schema, not the rest of the run.
fn worker(
    settings: &Settings,
    mut conn: PgConnection,
    rx: &Mutex<mpsc::Receiver<Target>>,
    progress: &Progress,
    work: Work,
) {
    loop {
        let next = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(target) = next else { return };
        let outcome = match work {
            Work::Apply if target.spare => migrate_spare(&mut conn, &target.schema),
            Work::Apply => migrate::migrate_existing(&mut conn, &target.schema, LOCK_TIMEOUT)
                .map(Outcome::Applied),
            Work::Look => migrate::pending_tenant(&mut conn, &target.schema).map(Outcome::Pending),
        };
        if outcome.is_err()
            && diesel::sql_query("SELECT 1").execute(&mut conn).is_err()
            && let Ok(fresh) = connect(settings)
        {
            conn = fresh;
        }
        progress.done(&target, outcome);
    }
}

/// Migrates a spare unless a sign-up took it since the run listed it (the organization's
/// schema is then migrated under its new name, or was already current).
fn migrate_spare(conn: &mut PgConnection, schema: &SchemaName) -> anyhow::Result<Outcome> {
    conn.transaction(|conn| {
        if !spare_schema::lock(conn, schema).map_err(|e| anyhow::anyhow!("{e}"))? {
            return Ok(Outcome::Applied(0));
        }
        migrate::migrate_existing(conn, schema, LOCK_TIMEOUT).map(Outcome::Applied)
    })
}

/// What one schema came to.
enum Outcome {
    Applied(usize),
    Pending(Vec<String>),
}

#[derive(Default)]
struct Counts {
    done: u64,
    failed: u64,
    applied: u64,
    /// Schemas with something pending (dry run).
    behind: u64,
    last_line: Option<Instant>,
}

/// Counts and a progress bar with ETA on a terminal; plain lines every few seconds
/// otherwise (logs, CI).
struct Progress {
    bar: Option<ProgressBar>,
    counts: Mutex<Counts>,
    started: Instant,
    total: u64,
    work: Work,
}

impl Progress {
    fn new(total: u64, work: Work) -> Self {
        let bar = (std::io::stderr().is_terminal() && work == Work::Apply).then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "schemas {bar:30} {pos}/{len} ({per_sec}, eta {eta}) {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Self {
            bar,
            counts: Mutex::new(Counts::default()),
            started: Instant::now(),
            total,
            work,
        }
    }

    fn say(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn done(&self, target: &Target, outcome: anyhow::Result<Outcome>) {
        let Ok(mut c) = self.counts.lock() else {
            return;
        };
        c.done += 1;
        match outcome {
            Ok(Outcome::Applied(n)) => c.applied += n as u64,
            Ok(Outcome::Pending(names)) => {
                if !names.is_empty() {
                    c.behind += 1;
                    println!(
                        "{} ({}): would run {}",
                        target.label,
                        target.schema.as_str(),
                        names.join(", ")
                    );
                }
            }
            Err(e) => {
                c.failed += 1;
                self.say(format!(
                    "failed: {} ({}): {e:#}",
                    target.label,
                    target.schema.as_str()
                ));
            }
        }
        if let Some(bar) = &self.bar {
            bar.set_position(c.done);
            if c.failed > 0 {
                bar.set_message(format!("{} failed", c.failed));
            }
        } else if self.work == Work::Apply && c.last_line.is_none_or(|t| t.elapsed() >= PLAIN_EVERY)
        {
            c.last_line = Some(Instant::now());
            eprintln!("{}", self.line(&c));
        }
    }

    /// `1200/10000 schema(s), 3 failed, eta 41s`.
    fn line(&self, c: &Counts) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let left = self.total.saturating_sub(c.done) as f64;
        let eta = if c.done > 0 {
            format!(", eta {:.0}s", elapsed / c.done as f64 * left)
        } else {
            String::new()
        };
        format!(
            "schemas {}/{}, {} failed{eta}",
            c.done, self.total, c.failed
        )
    }

    fn finish(self) -> anyhow::Result<()> {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let c = self.counts.into_inner().unwrap_or_default();
        let secs = self.started.elapsed().as_secs_f64();
        match self.work {
            Work::Apply => println!(
                "tenants: {} schema(s) checked, {} migration(s) applied, {} failed ({secs:.1}s)",
                c.done, c.applied, c.failed
            ),
            Work::Look => println!(
                "dry run: {} schema(s) checked, {} with pending migrations, {} failed; nothing changed",
                c.done, c.behind, c.failed
            ),
        }
        if c.failed > 0 {
            anyhow::bail!(
                "{} schema(s) failed (listed above); the others are done. Fix the cause and run `portal migrate` again: it continues where this run stopped.",
                c.failed
            );
        }
        Ok(())
    }
}
