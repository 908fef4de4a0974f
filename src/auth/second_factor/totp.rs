//! Authenticator apps (RFC 6238 codes through `totp-rs`): a 160-bit secret sealed at
//! rest, confirmed by a first code before it counts, and codes accepted once each (the
//! time step of the last accepted code is kept, and no code of that step or an earlier
//! one is accepted again).

use diesel::prelude::*;
use rand::RngCore;
use time::OffsetDateTime;
use totp_rs::{Builder, Totp};
use uuid::Uuid;

use super::{FactorKeys, SecondFactors, Who, mail, recovery};
use crate::crypto;
use crate::db::schema::tenant::totp_factors;
use crate::error::{AppError, AppResult};
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::second_factor;
use crate::models::tenant::Tenant;

/// What the enrollment page shows: the secret as text, and the same as a QR code.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// The secret in base32, grouped by four for reading aloud or typing.
    pub secret_text: String,
    /// The `otpauth://` link the QR code holds.
    pub link: String,
    /// The QR code as an SVG element (no XML declaration), to place in the page.
    pub qr_svg: String,
}

/// An authenticator for checking codes only (no names needed).
fn checker(secret: Vec<u8>) -> AppResult<Totp> {
    Builder::new()
        .with_secret(secret)
        .build()
        .map_err(AppError::internal)
}

/// The secret of a person's row, unsealed; `None` when this `SECRET_KEY` did not seal it.
fn unseal(keys: &FactorKeys, user_id: Uuid, sealed: &[u8]) -> Option<Vec<u8>> {
    crypto::open(&keys.seal, user_id.as_bytes(), sealed)
}

/// `issuer` and `account` without the colon the otpauth label reserves.
fn label_part(raw: &str) -> String {
    raw.replace(':', " ").chars().take(80).collect()
}

fn enrollment(secret: Vec<u8>, issuer: &str, account: &str) -> AppResult<Enrollment> {
    let totp = Builder::new()
        .with_secret(secret)
        .with_issuer(Some(label_part(issuer)))
        .with_account_name(label_part(account))
        .build()
        .map_err(AppError::internal)?;
    let link = totp.to_url().map_err(AppError::internal)?;
    let base32 = totp.secret().to_base32();
    let secret_text = base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let svg = qrcode::QrCode::new(link.as_bytes())
        .map_err(AppError::internal)?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    let qr_svg = svg
        .split_once("?>")
        .map_or(svg.as_str(), |(_, rest)| rest)
        .replacen(
            "<svg ",
            r#"<svg role="img" aria-label="QR code of your authenticator app's secret" class="qr" "#,
            1,
        );
    Ok(Enrollment {
        secret_text,
        link,
        qr_svg,
    })
}

/// The enrollment under way for `who` (the same secret on every visit until it is
/// confirmed, so a page reload does not undo a scan), or a new one. `None` when an
/// authenticator app is already confirmed.
pub async fn start(
    deps: &SecondFactors<'_>,
    tenant: &Tenant,
    who: &Who,
) -> AppResult<Option<Enrollment>> {
    let keys = deps.keys.clone();
    let (issuer, who) = (tenant.name.clone(), who.clone());
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let row: Option<(Vec<u8>, Option<OffsetDateTime>)> = totp_factors::table
                .find(who.id)
                .select((totp_factors::secret_sealed, totp_factors::confirmed_at))
                .for_update()
                .first(conn)
                .optional()?;
            let existing = match row {
                Some((_, Some(_))) => return Ok(None),
                Some((sealed, None)) => unseal(&keys, who.id, &sealed),
                None => None,
            };
            let secret = match existing {
                Some(s) => s,
                None => {
                    let mut secret = vec![0u8; 20];
                    rand::thread_rng().fill_bytes(&mut secret);
                    let sealed = crypto::seal(&keys.seal, who.id.as_bytes(), &secret)
                        .map_err(AppError::internal)?;
                    diesel::insert_into(totp_factors::table)
                        .values((
                            totp_factors::user_id.eq(who.id),
                            totp_factors::secret_sealed.eq(&sealed),
                        ))
                        .on_conflict(totp_factors::user_id)
                        .do_update()
                        .set((
                            totp_factors::secret_sealed.eq(&sealed),
                            totp_factors::confirmed_at.eq(None::<OffsetDateTime>),
                            totp_factors::last_used_step.eq(None::<i64>),
                            totp_factors::created_at.eq(diesel::dsl::now),
                        ))
                        .execute(conn)?;
                    secret
                }
            };
            enrollment(secret, &issuer, &who.email).map(Some)
        })
        .await
}

/// How confirming an enrollment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// The app counts from now; with the recovery codes to show once, when it is the
    /// person's first factor.
    Added(Option<Vec<String>>),
    /// The code was not right (or no enrollment was under way).
    WrongCode,
}

/// Confirms the enrollment of `who` with a first code. The app is added, audited and
/// mailed about in one transaction, with a first set of recovery codes if it is their
/// first factor.
pub async fn confirm(
    deps: &SecondFactors<'_>,
    tenant: &Tenant,
    who: &Who,
    code: &str,
    meta: RequestMeta,
) -> AppResult<Confirmed> {
    let keys = deps.keys.clone();
    let (slug, org, who) = (tenant.slug.to_string(), tenant.name.clone(), who.clone());
    let code = code.trim().replace(' ', "");
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let now = OffsetDateTime::now_utc();
            let row: Option<Vec<u8>> = totp_factors::table
                .find(who.id)
                .filter(totp_factors::confirmed_at.is_null())
                .select(totp_factors::secret_sealed)
                .for_update()
                .first(conn)
                .optional()?;
            let step = match row.and_then(|s| unseal(&keys, who.id, &s)) {
                Some(secret) => checker(secret)?.check(&code, unix(now)),
                None => None,
            };
            let ev = |action| {
                AuditEvent::new(action)
                    .actor(Some(who.id), Some(&who.email))
                    .target(&who.email)
                    .details(serde_json::json!({ "method": "totp" }))
            };
            let Some(step) = step else {
                audit::record(conn, &slug, &meta, ev("second_factor.refused"))?;
                return Ok(Confirmed::WrongCode);
            };
            diesel::update(totp_factors::table.find(who.id))
                .set((
                    totp_factors::confirmed_at.eq(now),
                    totp_factors::last_used_step.eq(step as i64),
                ))
                .execute(conn)?;
            audit::record(conn, &slug, &meta, ev("second_factor.added"))?;
            mail::factor_added(conn, &who.email, &org, "an authenticator app")?;
            let codes = recovery::issue_if_first(conn, &keys, who.id)?;
            Ok(Confirmed::Added(codes))
        })
        .await
}

/// Accepts a code of the confirmed app of `user_id` once: a code of a time step at or
/// before the last accepted one is refused (RFC 6238, 5.2). The row is locked, so two
/// requests with the same code cannot both pass.
pub fn accept(
    conn: &mut PgConnection,
    keys: &FactorKeys,
    user_id: Uuid,
    code: &str,
    now: OffsetDateTime,
) -> AppResult<bool> {
    let row: Option<(Vec<u8>, Option<i64>)> = totp_factors::table
        .find(user_id)
        .filter(totp_factors::confirmed_at.is_not_null())
        .select((totp_factors::secret_sealed, totp_factors::last_used_step))
        .for_update()
        .first(conn)
        .optional()?;
    let Some((sealed, last)) = row else {
        return Ok(false);
    };
    let Some(secret) = unseal(keys, user_id, &sealed) else {
        tracing::warn!("an authenticator secret cannot be unsealed with this SECRET_KEY");
        return Ok(false);
    };
    let code = code.replace(' ', "");
    let Some(step) = checker(secret)?.check(&code, unix(now)) else {
        return Ok(false);
    };
    let step = step as i64;
    if last.is_some_and(|l| step <= l) {
        return Ok(false);
    }
    diesel::update(totp_factors::table.find(user_id))
        .set(totp_factors::last_used_step.eq(step))
        .execute(conn)?;
    Ok(true)
}

/// How removing the app ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// Removed (and, with no factor left, the recovery codes too).
    Done,
    /// There was no confirmed app.
    NotFound,
    /// The organization requires a second factor and this is the last one.
    LastRequired,
}

/// Removes the authenticator app of `who`, audited and mailed about. The last factor of
/// a person who must have one stays.
pub async fn remove(
    deps: &SecondFactors<'_>,
    tenant: &Tenant,
    who: &Who,
    meta: RequestMeta,
) -> AppResult<Removed> {
    let everywhere = deps.device_auth_required;
    let (slug, org, who) = (tenant.slug.to_string(), tenant.name.clone(), who.clone());
    deps.db
        .tenant(&tenant.schema, move |conn| {
            let me =
                crate::models::user::find_for_update(conn, who.id)?.ok_or(AppError::NotFound)?;
            let factors = second_factor::summary(conn, who.id)?;
            if !factors.totp {
                return Ok(Removed::NotFound);
            }
            if factors.passkeys == 0 && super::required_for(conn, &me, everywhere)? {
                return Ok(Removed::LastRequired);
            }
            diesel::delete(totp_factors::table.find(who.id)).execute(conn)?;
            if factors.passkeys == 0 {
                recovery::delete_all(conn, who.id)?;
            }
            let ev = AuditEvent::new("second_factor.removed")
                .actor(Some(who.id), Some(&who.email))
                .target(&who.email)
                .details(serde_json::json!({ "method": "totp" }));
            audit::record(conn, &slug, &meta, ev)?;
            mail::factor_removed(conn, &who.email, &org, "an authenticator app")?;
            Ok(Removed::Done)
        })
        .await
}

fn unix(t: OffsetDateTime) -> u64 {
    t.unix_timestamp().max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_enrollment_shows_the_secret_the_link_and_an_inline_qr_code() {
        let e = enrollment(vec![1u8; 20], "Acme: Inc", "ada@acme.test").unwrap();
        assert!(e.link.starts_with("otpauth://totp/"), "{}", e.link);
        assert!(e.link.contains("issuer=Acme"), "{}", e.link);
        assert_eq!(
            e.secret_text.replace(' ', ""),
            "AEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIB"
        );
        assert!(
            e.qr_svg.starts_with("<svg role=\"img\""),
            "{}",
            &e.qr_svg[..60]
        );
    }
}
