//! What request handlers share: settings, pools and clients, built once from the
//! settings; and the narrow handles each service takes, made from them.

use std::sync::Arc;

use secrecy::ExposeSecret;

use crate::auth::exchange::Exchange;
use crate::auth::jwks::KeySets;
use crate::auth::login::SignIn;
use crate::auth::oidc::Oidc;
use crate::auth::passkeys::{Ceremonies, PasskeyDeps, Passkeys};
use crate::auth::password::PasswordHasher;
use crate::auth::rate_limit::Limits;
use crate::auth::rate_limit::RateLimiter;
use crate::auth::recovery::Recovery;
use crate::auth::second_factor::{FactorKeys, SecondFactors};
use crate::auth::session_store::{self, SessionIndex, SessionKeys};
use crate::auth::signing::SigningKeys;
use crate::auth::sso::SsoAdmission;
use crate::auth::verification::Verification;
use crate::authentik::AuthentikClient;
use crate::config::Settings;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::mail::Mailer;
use crate::members::changes::MemberChanges;
use crate::members::invitations::Invitations;
use crate::members::profile::Profiles;
use crate::members::registration::Registrations;
use crate::models::authentik_outbox::Outbox;
use crate::platform::Platform;
use crate::tenancy::TenantRegistry;

/// What every request handler may use. Only delivery code (pages, API, CLI, health)
/// sees it; services get the narrow handles below.
pub struct AppState {
    /// Validated settings.
    pub settings: Settings,
    /// PostgreSQL pool.
    pub db: Db,
    /// bcrypt on the blocking pool.
    pub hasher: PasswordHasher,
    /// Redis, for the session store and health checks.
    pub redis: crate::auth::redis_gate::GatedRedis,
    /// Every session of a person.
    pub sessions: SessionIndex,
    /// Outgoing mail.
    pub mailer: Mailer,
    /// Rate limits shared by every instance.
    pub limits: Limits,
    /// Single sign-on, when `OIDC_ISSUER_URL` is set.
    pub oidc: Option<Oidc>,
    /// Authentik's admin API, when `AUTHENTIK_URL` and `AUTHENTIK_TOKEN` are set.
    pub authentik: Option<Arc<AuthentikClient>>,
    /// The portal's own token signing keys.
    pub signing: Arc<SigningKeys>,
    /// The token exchange, when an issuer of Authentik tokens is known.
    pub exchange: Option<Exchange>,
    /// The registry of organizations, kept in memory (refreshed by the workers).
    pub registry: Arc<TenantRegistry>,
    /// Passkeys, when `PORTAL_BASE_URL` names the portal by a domain name.
    pub passkeys: Option<Arc<Passkeys>>,
    /// The keys of second factors (sealed authenticator secrets, recovery-code hashes).
    pub factor_keys: FactorKeys,
}

impl AppState {
    /// Connects to PostgreSQL (lazily) and Redis, and prepares the password hasher.
    pub async fn connect(settings: Settings) -> anyhow::Result<Self> {
        // TLS for outgoing HTTPS (identity provider keys): one crypto provider for the
        // process. A second call finds it installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let db = Db::new(settings.database_url.expose_secret(), settings.db_pool_size)?;
        let redis = session_store::connect(settings.redis_url.expose_secret())
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to Redis at REDIS_URL: {e}"))?;
        let (rounds, threads, queue) = (
            settings.password_hash_rounds,
            settings.password_hash_threads,
            settings.password_hash_queue,
        );
        let hasher =
            tokio::task::spawn_blocking(move || PasswordHasher::new(rounds, threads, queue))
                .await??;
        let mailer = Mailer::new(
            settings.smtp_url.as_ref().map(|s| s.expose_secret()),
            &settings.mail_from,
            settings.mail_dir.clone(),
            &settings.base_url,
        )?;
        let limits = Limits::new(
            RateLimiter::new(
                redis.clone(),
                &settings.redis_key_prefix,
                settings.rate_limit_enabled,
            ),
            settings.rate_limit_login_per_minute,
            settings.rate_limit_signup_per_hour,
            settings.rate_limit_general_per_minute,
        );
        let key_sets = Arc::new(key_sets(&settings)?);
        let oidc = match settings.oidc.clone() {
            Some(o) => Some(Oidc::new(o, &settings.base_url, key_sets.clone())?),
            None => None,
        };
        crate::authentik::client::install_crypto_provider();
        let authentik = match &settings.authentik {
            Some(a) => Some(Arc::new(AuthentikClient::new(a)?)),
            None => None,
        };
        let signing = Arc::new(SigningKeys::new(
            db.clone(),
            settings.secret_bytes(),
            settings.tokens.clone(),
        ));
        let exchange = match settings.tokens.exchange.clone() {
            Some(x) => Some(Exchange::new(x, key_sets.clone())?),
            None => None,
        };
        let passkeys = match Passkeys::new(
            &settings.base_url,
            settings.webauthn_user_verification,
            Ceremonies::new(redis.clone(), &settings.redis_key_prefix),
        ) {
            Ok(p) => Some(Arc::new(p)),
            Err(why) => {
                tracing::warn!("{why}");
                None
            }
        };
        Ok(Self {
            registry: Arc::new(TenantRegistry::new(db.clone())),
            passkeys,
            factor_keys: FactorKeys::new(settings.secret_bytes()),
            sessions: SessionIndex::new(
                redis.clone(),
                SessionKeys::new(&settings.redis_key_prefix),
            ),
            oidc,
            signing,
            exchange,
            settings,
            db,
            hasher,
            redis,
            mailer,
            limits,
            authentik,
        })
    }

    /// Whether people can sign in through single sign-on on this portal; until then an
    /// organization cannot turn password sign-in off.
    pub fn sso_configured(&self) -> bool {
        self.oidc.is_some()
    }

    /// Checks that Redis answers.
    pub async fn redis_ping(&self) -> AppResult<()> {
        let mut conn = self.redis.clone();
        session_store::with_deadline(redis::cmd("PING").query_async::<String>(&mut conn))
            .await
            .map(|_| ())
            .map_err(|_| AppError::Unavailable("session store"))
    }

    /// The Authentik outbox: on when provisioning is configured.
    pub fn outbox(&self) -> Outbox {
        Outbox::new(self.authentik.is_some())
    }

    /// Passkeys, when the portal offers them.
    pub fn passkeys(&self) -> Option<PasskeyDeps<'_>> {
        self.passkeys.as_deref().map(|passkeys| PasskeyDeps {
            db: &self.db,
            passkeys,
            keys: &self.factor_keys,
            device_auth_required: self.settings.device_auth_required,
        })
    }

    /// Password sign-in with lockout.
    pub fn sign_in(&self) -> SignIn<'_> {
        SignIn {
            db: &self.db,
            hasher: &self.hasher,
            max_failed_attempts: self.settings.max_failed_attempts,
            lockout_duration: self.settings.lockout_duration,
            device_auth_required: self.settings.device_auth_required,
        }
    }

    /// Second factors: the second step of sign-in, enrollment, recovery codes.
    pub fn second_factors(&self) -> SecondFactors<'_> {
        SecondFactors {
            db: &self.db,
            keys: &self.factor_keys,
            max_failed_attempts: self.settings.max_failed_attempts,
            lockout_duration: self.settings.lockout_duration,
            device_auth_required: self.settings.device_auth_required,
        }
    }

    /// Password reset.
    pub fn recovery(&self) -> Recovery<'_> {
        Recovery {
            db: &self.db,
            hasher: &self.hasher,
            mailer: &self.mailer,
            sessions: &self.sessions,
            password_auth_enabled: self.settings.password_auth_enabled,
            password_reset_ttl: self.settings.password_reset_ttl,
        }
    }

    /// Email verification.
    pub fn verification(&self) -> Verification<'_> {
        Verification {
            db: &self.db,
            mailer: &self.mailer,
            limits: &self.limits,
            email_verification_ttl: self.settings.email_verification_ttl,
        }
    }

    /// Admins' changes to members.
    pub fn member_changes(&self) -> MemberChanges<'_> {
        MemberChanges {
            db: &self.db,
            sessions: &self.sessions,
            outbox: self.outbox(),
        }
    }

    /// Invitations.
    pub fn invitations(&self) -> Invitations<'_> {
        Invitations {
            db: &self.db,
            hasher: &self.hasher,
            mailer: &self.mailer,
            invitation_ttl: self.settings.invitation_ttl,
            outbox: self.outbox(),
        }
    }

    /// A person's own changes.
    pub fn profiles(&self) -> Profiles<'_> {
        Profiles {
            db: &self.db,
            hasher: &self.hasher,
        }
    }

    /// Self-registration.
    pub fn registrations(&self) -> Registrations<'_> {
        Registrations {
            db: &self.db,
            hasher: &self.hasher,
            password_auth_enabled: self.settings.password_auth_enabled,
            outbox: self.outbox(),
            verification: self.verification(),
        }
    }

    /// The platform operators' work.
    pub fn platform(&self) -> Platform<'_> {
        Platform {
            db: &self.db,
            hasher: &self.hasher,
            invitations: self.invitations(),
        }
    }

    /// Admission through the provider's groups: the group prefix and the platform's
    /// super-admin group, from the SSO settings when single sign-on is on, else the
    /// defaults every reader of groups shares.
    pub fn sso_admission(&self) -> SsoAdmission<'_> {
        let (group_prefix, super_admin_group) = match self.oidc.as_ref() {
            Some(oidc) => {
                let s = oidc.settings();
                (s.group_prefix.as_str(), s.super_admin_group.as_str())
            }
            None => (
                self.settings.authentik_group_prefix.as_str(),
                "portal-super-admin",
            ),
        };
        SsoAdmission {
            db: &self.db,
            group_prefix,
            super_admin_group,
            outbox: self.outbox(),
            device_auth_required: self.settings.device_auth_required,
        }
    }
}

/// The identity provider key set caches: the token exchange's settings when it is on
/// (they default to single sign-on's), else single sign-on's.
fn key_sets(settings: &Settings) -> anyhow::Result<KeySets> {
    use std::time::Duration;
    let (ttl, min_refetch) = match (&settings.tokens.exchange, &settings.oidc) {
        (Some(x), _) => (x.jwks_ttl, x.jwks_min_refresh),
        (None, Some(o)) => (Duration::from_secs(3600), o.jwks_min_refresh),
        (None, None) => (Duration::from_secs(3600), Duration::from_secs(60)),
    };
    let timeout = settings
        .oidc
        .as_ref()
        .map_or(Duration::from_secs(10), |o| o.http_timeout);
    // Never follow redirects: key set addresses come from configuration or discovery.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()?;
    Ok(KeySets::new(http, ttl, min_refetch))
}
