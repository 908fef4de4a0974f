//! Signing in with email and password, with lockout after repeated failures.

use diesel::prelude::*;
use secrecy::SecretString;
use time::OffsetDateTime;

use crate::access::AdminRequest;
use crate::auth::password::PasswordHasher;
use crate::db::Db;
use crate::db::schema::tenant::login_throttle;
use crate::domain::{Email, Role};
use crate::error::AppResult;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::login_throttle as throttle_rows;
use crate::models::second_factor::{self, FactorSummary};
use crate::models::tenant::Tenant;
use crate::models::tenant_settings as settings;
use crate::models::user::{self, User};

/// What password sign-in needs.
#[derive(Clone, Copy)]
pub struct SignIn<'a> {
    /// The database.
    pub db: &'a Db,
    /// bcrypt on the blocking pool.
    pub hasher: &'a PasswordHasher,
    /// Wrong passwords in a row before sign-in for that email pauses.
    pub max_failed_attempts: u32,
    /// How long the pause lasts.
    pub lockout_duration: std::time::Duration,
    /// `DEVICE_AUTH_REQUIRED`: everyone must have a second factor.
    pub device_auth_required: bool,
}

/// How a sign-in attempt ended.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Right email and password: start a session.
    SignedIn(User),
    /// Wrong email or password (never says which).
    Refused,
    /// Too many failures for this email; sign-in paused for this many seconds.
    Locked {
        /// Seconds until the lock ends.
        retry_after: u64,
    },
    /// The organization signs in through single sign-on only.
    PasswordLoginDisabled,
    /// Right password, but the organization wants a verified email first.
    Unverified(User),
    /// Right password, but the organization wants its staff and admins to sign in
    /// through single sign-on.
    SsoRequired(User),
    /// Right password of a person with a second factor: not signed in until it is
    /// given (the failure count of the address is kept until then).
    SecondFactor(User, FactorSummary),
    /// Right password of a person who must have a second factor and has none: not
    /// signed in until they have added one.
    MustEnroll(User),
}

/// Failure count and lock of one email.
pub type Throttle = Option<(i32, Option<OffsetDateTime>)>;

/// Checks an email and password against the tenant's people. Every attempt costs one
/// bcrypt verification, whether or not the email exists or is locked, and is audited.
/// Locks count per email address, known or not, so a lock reveals nothing.
pub async fn password_login(
    deps: &SignIn<'_>,
    tenant: &Tenant,
    email: &str,
    password: SecretString,
    meta: RequestMeta,
) -> AppResult<LoginOutcome> {
    let email = Email::parse(email).ok();
    let lookup = email.clone();
    let (rules, user, throttle) = deps
        .db
        .tenant(&tenant.schema, move |conn| {
            let s = settings::load(conn)?;
            let (user, throttle) = match &lookup {
                Some(e) => (user::find_by_email(conn, e)?, throttle_of(conn, e)?),
                None => (None, None),
            };
            Ok((s, user, throttle))
        })
        .await?;
    if !rules.password_login {
        return Ok(LoginOutcome::PasswordLoginDisabled);
    }
    let now = OffsetDateTime::now_utc();
    let locked_until = throttle.and_then(|(_, until)| until).filter(|u| *u > now);
    let hash = match locked_until {
        // Locked: the password is not even compared, but the same time is spent.
        Some(_) => None,
        None => user.as_ref().and_then(|u| u.password_hash.clone()),
    };
    let password_ok = deps.hasher.verify(password, hash).await?;

    let Some(email) = email else {
        let ev = AuditEvent::new("login.failed").target("(invalid email)");
        record(deps, tenant, meta, ev).await?;
        return Ok(LoginOutcome::Refused);
    };
    if let Some(until) = locked_until {
        let ev = AuditEvent::new("login.refused_locked").target(email.as_str());
        record(deps, tenant, meta, ev).await?;
        let secs = (until - now).whole_seconds().max(1) as u64;
        return Ok(LoginOutcome::Locked { retry_after: secs });
    }
    match user.filter(|u| password_ok && u.is_active()) {
        Some(u) => admit(deps, tenant, meta, &rules, u).await,
        None => count_failure(deps, tenant, meta, email, "password").await,
    }
}

/// The right password of an active person: signed in, unless the organization's rules
/// want single sign-on or a confirmed address first. Checked only after the password,
/// so a refusal tells nobody else a role.
async fn admit(
    deps: &SignIn<'_>,
    tenant: &Tenant,
    meta: RequestMeta,
    rules: &settings::TenantSettings,
    u: User,
) -> AppResult<LoginOutcome> {
    let refusal = if rules.require_sso_for_staff && u.role != Role::Member {
        Some((
            "login.refused_sso_required",
            LoginOutcome::SsoRequired(u.clone()),
        ))
    } else if rules.require_email_verification && u.email_verified_at.is_none() {
        Some((
            "login.refused_unverified",
            LoginOutcome::Unverified(u.clone()),
        ))
    } else {
        None
    };
    if let Some((action, outcome)) = refusal {
        let ev = AuditEvent::new(action)
            .actor(Some(u.id), Some(&u.email))
            .target(&u.email);
        record(deps, tenant, meta, ev).await?;
        return Ok(outcome);
    }
    let slug = tenant.slug.to_string();
    let user = u.clone();
    let required = rules
        .second_factor
        .requires(u.role, deps.device_auth_required);
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let factors = second_factor::summary(conn, user.id)?;
            if factors.has_any() {
                // The failures of the address are forgotten only once the second step
                // is passed too, so a known password cannot reset the count of codes.
                return Ok(LoginOutcome::SecondFactor(user, factors));
            }
            if required {
                return Ok(LoginOutcome::MustEnroll(user));
            }
            throttle_rows::clear(conn, &user.email)?;
            user::touch_login(conn, user.id)?;
            let ev = AuditEvent::new("login.succeeded")
                .actor(Some(user.id), Some(&user.email))
                .target(&user.email)
                .details(serde_json::json!({ "method": "password" }));
            audit::record(conn, &slug, &meta, ev)?;
            Ok(LoginOutcome::SignedIn(user))
        })
        .await
}

/// A wrong password (or an unknown or deactivated person): counted against the
/// address, which is locked at the limit.
async fn count_failure(
    deps: &SignIn<'_>,
    tenant: &Tenant,
    meta: RequestMeta,
    email: Email,
    method: &'static str,
) -> AppResult<LoginOutcome> {
    let limit = Lockout::new(deps.max_failed_attempts, deps.lockout_duration);
    let slug = tenant.slug.to_string();
    let locked = deps
        .db
        .tenant(&tenant.schema, move |conn| {
            register_failure(conn, &slug, &meta, &email, limit, method)
        })
        .await?;
    Ok(match locked {
        Some(secs) => LoginOutcome::Locked { retry_after: secs },
        None => LoginOutcome::Refused,
    })
}

/// The failure count and lock of an address.
pub fn throttle_of(conn: &mut PgConnection, email: &Email) -> AppResult<Throttle> {
    Ok(login_throttle::table
        .find(email.as_str())
        .select((login_throttle::failures, login_throttle::locked_until))
        .first(conn)
        .optional()?)
}

/// Failures in a row before an address is locked, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Lockout {
    /// Failures in a row that lock the address.
    pub max: i32,
    /// How long the lock lasts.
    pub lockout: time::Duration,
}

impl Lockout {
    /// The limits of these settings.
    pub fn new(max_failed_attempts: u32, duration: std::time::Duration) -> Self {
        Self {
            max: max_failed_attempts as i32,
            lockout: time::Duration::try_from(duration).unwrap_or(time::Duration::minutes(15)),
        }
    }
}

/// Counts a failure of `method` (a wrong password, or a wrong code at the second
/// step); locks the email at the limit. Returns the lock's length when this failure
/// locked it.
pub fn register_failure(
    conn: &mut PgConnection,
    slug: &str,
    meta: &RequestMeta,
    email: &Email,
    limit: Lockout,
    method: &str,
) -> AppResult<Option<u64>> {
    let Lockout { max, lockout } = limit;
    let now = OffsetDateTime::now_utc();
    let previous: Throttle = login_throttle::table
        .find(email.as_str())
        .select((login_throttle::failures, login_throttle::locked_until))
        .for_update()
        .first(conn)
        .optional()?;
    let failures = match previous {
        // A lock that ran out: the count starts again.
        Some((_, Some(until))) if until <= now => {
            let ev = AuditEvent::new("account.unlocked")
                .target(email.as_str())
                .details(serde_json::json!({ "reason": "lock expired" }));
            audit::record(conn, slug, meta, ev)?;
            1
        }
        Some((n, _)) => n + 1,
        None => 1,
    };
    let lock = (failures >= max).then(|| now + lockout);
    diesel::insert_into(login_throttle::table)
        .values((
            login_throttle::email.eq(email.as_str()),
            login_throttle::failures.eq(failures),
            login_throttle::locked_until.eq(lock),
        ))
        .on_conflict(login_throttle::email)
        .do_update()
        .set((
            login_throttle::failures.eq(failures),
            login_throttle::locked_until.eq(lock),
            login_throttle::updated_at.eq(now),
        ))
        .execute(conn)?;
    let ev = AuditEvent::new("login.failed")
        .target(email.as_str())
        .details(serde_json::json!({ "method": method, "failures": failures }));
    audit::record(conn, slug, meta, ev)?;
    if lock.is_some() {
        let ev = AuditEvent::new("account.locked")
            .target(email.as_str())
            .details(
                serde_json::json!({ "failures": failures, "minutes": lockout.whole_minutes() }),
            );
        audit::record(conn, slug, meta, ev)?;
        return Ok(Some(lockout.whole_seconds().max(1) as u64));
    }
    Ok(None)
}

async fn record(
    deps: &SignIn<'_>,
    tenant: &Tenant,
    meta: RequestMeta,
    ev: AuditEvent<'_>,
) -> AppResult<()> {
    let slug = tenant.slug.to_string();
    let action = ev.action.to_string();
    let target = ev.target.map(str::to_string);
    let actor_id = ev.actor_id;
    let actor_email = ev.actor_email.map(str::to_string);
    let details = ev.details.clone();
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let ev = AuditEvent {
                action: &action,
                actor_id,
                actor_email: actor_email.as_deref(),
                target: target.as_deref(),
                details,
            };
            audit::record(conn, &slug, &meta, ev)
        })
        .await
}

/// A submitted password, kept out of logs.
pub fn secret(raw: String) -> SecretString {
    SecretString::from(raw)
}

/// The sign-ins paused now, for the organization's admins.
pub async fn current_locks(db: &Db, req: &AdminRequest) -> AppResult<Vec<throttle_rows::Lock>> {
    req.read(db, throttle_rows::current_locks).await
}

/// Lifts the lock of an address early, through the admin door; whether there was one.
pub async fn lift_lock(db: &Db, req: &AdminRequest, email: Email) -> AppResult<bool> {
    req.change(db, move |tx| {
        let lifted = throttle_rows::clear(tx.conn, email.as_str())?;
        if lifted {
            tx.record(
                AuditEvent::new("account.unlocked")
                    .target(email.as_str())
                    .details(serde_json::json!({ "reason": "unlocked by an admin" })),
            )?;
        }
        Ok(lifted)
    })
    .await
}
