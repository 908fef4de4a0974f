//! `passkeys`: the WebAuthn credentials people registered, in the tenant's schema.
//! `credential` holds the relying party's stored state of the credential (public key,
//! sign count, backup flags) as the WebAuthn library serialises it; the model keeps it
//! as JSON and never looks inside.

use diesel::prelude::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::schema::tenant::passkeys;
use crate::error::{AppError, AppResult};

/// One registered passkey.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = passkeys)]
pub struct PasskeyRow {
    /// Id, for the profile's buttons.
    pub id: Uuid,
    /// Its owner.
    pub user_id: Uuid,
    /// The name its owner gave it.
    pub name: String,
    /// The authenticator's credential id.
    pub credential_id: Vec<u8>,
    /// The stored credential (JSON of the WebAuthn library's `Passkey`).
    pub credential: serde_json::Value,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When it last signed someone in or confirmed something.
    pub last_used_at: Option<OffsetDateTime>,
}

/// A person's passkeys, oldest first.
pub fn list_of(conn: &mut PgConnection, user_id: Uuid) -> AppResult<Vec<PasskeyRow>> {
    Ok(passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order((passkeys::created_at.asc(), passkeys::id.asc()))
        .select(PasskeyRow::as_select())
        .load(conn)?)
}

/// The passkey with this credential id, locked until the transaction ends, so two
/// uses of one credential at once update its sign count one after the other.
pub fn find_by_credential_for_update(
    conn: &mut PgConnection,
    credential_id: &[u8],
) -> AppResult<Option<PasskeyRow>> {
    Ok(passkeys::table
        .filter(passkeys::credential_id.eq(credential_id))
        .select(PasskeyRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// Stores a new passkey. A credential id already registered in this organization is
/// refused with a clear message.
pub fn insert(
    conn: &mut PgConnection,
    user_id: Uuid,
    name: &str,
    credential_id: &[u8],
    credential: serde_json::Value,
) -> AppResult<PasskeyRow> {
    diesel::insert_into(passkeys::table)
        .values((
            passkeys::user_id.eq(user_id),
            passkeys::name.eq(name),
            passkeys::credential_id.eq(credential_id),
            passkeys::credential.eq(credential),
        ))
        .returning(PasskeyRow::as_returning())
        .get_result(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => AppError::Conflict("This passkey is already registered.".into()),
            other => other.into(),
        })
}

/// Renames one of a person's passkeys; its previous name, or none when the person has
/// no such passkey.
pub fn rename(
    conn: &mut PgConnection,
    user_id: Uuid,
    id: Uuid,
    name: &str,
) -> AppResult<Option<String>> {
    let before = passkeys::table
        .filter(passkeys::id.eq(id).and(passkeys::user_id.eq(user_id)))
        .select(passkeys::name)
        .for_update()
        .first::<String>(conn)
        .optional()?;
    if before.is_some() {
        diesel::update(passkeys::table.filter(passkeys::id.eq(id)))
            .set(passkeys::name.eq(name))
            .execute(conn)?;
    }
    Ok(before)
}

/// Removes one of a person's passkeys; its name, or none when the person has no such
/// passkey.
pub fn remove(conn: &mut PgConnection, user_id: Uuid, id: Uuid) -> AppResult<Option<String>> {
    Ok(diesel::delete(
        passkeys::table.filter(passkeys::id.eq(id).and(passkeys::user_id.eq(user_id))),
    )
    .returning(passkeys::name)
    .get_result::<String>(conn)
    .optional()?)
}

/// After a use: the credential's new state (sign count, backup flags) and the time.
pub fn record_use(
    conn: &mut PgConnection,
    id: Uuid,
    credential: Option<serde_json::Value>,
) -> AppResult<()> {
    let now = OffsetDateTime::now_utc();
    let target = passkeys::table.filter(passkeys::id.eq(id));
    match credential {
        Some(c) => diesel::update(target)
            .set((passkeys::last_used_at.eq(now), passkeys::credential.eq(c)))
            .execute(conn)?,
        None => diesel::update(target)
            .set(passkeys::last_used_at.eq(now))
            .execute(conn)?,
    };
    Ok(())
}

/// Whether the organization lets people sign in with a passkey alone
/// (`tenant_settings.passkey_sign_in`), and whether it wants staff and admins to sign
/// in through single sign-on.
pub fn sign_in_rules(conn: &mut PgConnection) -> AppResult<(bool, bool)> {
    use crate::db::schema::tenant::tenant_settings;
    Ok(tenant_settings::table
        .select((
            tenant_settings::passkey_sign_in,
            tenant_settings::require_sso_for_staff,
        ))
        .first(conn)?)
}
