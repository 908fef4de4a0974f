//! Recovery codes: ten single-use codes, shown once, for the day the authenticator app
//! or the passkeys are out of reach. Only a keyed hash of each is stored (HMAC-SHA256
//! under a key derived from `SECRET_KEY`, bound to the person), so a copy of the
//! database alone cannot test guesses. A new set replaces the old one.

use diesel::prelude::*;
use rand::Rng;
use uuid::Uuid;

use super::{FactorKeys, SecondFactors, Who};
use crate::crypto;
use crate::db::schema::tenant::recovery_codes;
use crate::error::AppResult;
use crate::models::audit_log::{self as audit, AuditEvent, RequestMeta};
use crate::models::second_factor;
use crate::models::tenant::Tenant;

/// Codes in a set.
pub const CODES_PER_SET: usize = 10;

/// Letters and digits that cannot be mistaken for one another (no 0/o, 1/l/i).
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A new code, `xxxxx-xxxxx` (about 49 bits).
fn new_code() -> String {
    let mut rng = rand::thread_rng();
    let mut pick = || ALPHABET[rng.gen_range(0..ALPHABET.len())] as char;
    let first: String = (0..5).map(|_| pick()).collect();
    let second: String = (0..5).map(|_| pick()).collect();
    format!("{first}-{second}")
}

/// A code as typed, in the one form that is hashed: lowercase, without spaces or dashes.
fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

fn hash(keys: &FactorKeys, user_id: Uuid, code: &str) -> String {
    let mut data = user_id.as_bytes().to_vec();
    data.extend(normalize(code).as_bytes());
    hex::encode(crypto::hmac_sha256(&keys.recovery, &data))
}

/// Replaces the recovery codes of `user_id` with a new set, returned to be shown once.
pub fn issue(conn: &mut PgConnection, keys: &FactorKeys, user_id: Uuid) -> AppResult<Vec<String>> {
    delete_all(conn, user_id)?;
    let codes: Vec<String> = (0..CODES_PER_SET).map(|_| new_code()).collect();
    let rows: Vec<_> = codes
        .iter()
        .map(|c| {
            (
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(hash(keys, user_id, c)),
            )
        })
        .collect();
    diesel::insert_into(recovery_codes::table)
        .values(rows)
        .execute(conn)?;
    Ok(codes)
}

/// A first set of recovery codes, when the factor just added (an authenticator app or a
/// passkey, already written in this transaction) is the person's only one; `None`
/// otherwise. Call it in the transaction that adds the factor, and show the codes once.
pub fn issue_if_first(
    conn: &mut PgConnection,
    keys: &FactorKeys,
    user_id: Uuid,
) -> AppResult<Option<Vec<String>>> {
    let f = second_factor::summary(conn, user_id)?;
    let factors = f.passkeys + i64::from(f.totp);
    if factors == 1 {
        Ok(Some(issue(conn, keys, user_id)?))
    } else {
        Ok(None)
    }
}

/// Spends a recovery code of `user_id`: whether it was one of theirs, unused.
pub fn consume(
    conn: &mut PgConnection,
    keys: &FactorKeys,
    user_id: Uuid,
    code: &str,
) -> AppResult<bool> {
    if normalize(code).len() != 10 {
        return Ok(false);
    }
    let spent = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(hash(keys, user_id, code)))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(diesel::dsl::now))
    .execute(conn)?;
    Ok(spent == 1)
}

/// Unused recovery codes of `user_id`.
pub fn remaining(conn: &mut PgConnection, user_id: Uuid) -> AppResult<i64> {
    Ok(second_factor::summary(conn, user_id)?.recovery_codes_left)
}

/// Deletes every recovery code of `user_id` (no factor left, or a reset).
pub fn delete_all(conn: &mut PgConnection, user_id: Uuid) -> AppResult<usize> {
    Ok(
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
            .execute(conn)?,
    )
}

/// A new set for `who`, the old one dead, audited; `None` when they have no second
/// factor (recovery codes are the way back to one).
pub async fn regenerate(
    deps: &SecondFactors<'_>,
    tenant: &Tenant,
    who: &Who,
    meta: RequestMeta,
) -> AppResult<Option<Vec<String>>> {
    let keys = deps.keys.clone();
    let (slug, who) = (tenant.slug.to_string(), who.clone());
    deps.db
        .tenant(&tenant.schema, move |conn| {
            if !second_factor::summary(conn, who.id)?.has_any() {
                return Ok(None);
            }
            let codes = issue(conn, &keys, who.id)?;
            let ev = AuditEvent::new("recovery_codes.regenerated")
                .actor(Some(who.id), Some(&who.email))
                .target(&who.email);
            audit::record(conn, &slug, &meta, ev)?;
            Ok(Some(codes))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_readable_and_typed_forms_hash_alike() {
        let keys = FactorKeys::new(b"k");
        let id = Uuid::new_v4();
        let code = new_code();
        assert_eq!(code.len(), 11);
        assert!(
            code.chars()
                .all(|c| c == '-' || ALPHABET.contains(&(c as u8)))
        );
        let typed = format!(" {} ", code.to_uppercase().replace('-', " "));
        assert_eq!(hash(&keys, id, &code), hash(&keys, id, &typed));
        assert_ne!(hash(&keys, id, &code), hash(&keys, Uuid::new_v4(), &code));
    }
}
