//! The members list: search, filters and pages, in one statement per page.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::Role;
use crate::error::AppResult;

/// Members per page.
pub const PER_PAGE: i64 = 50;

/// Which members to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Part of a name or email.
    pub query: Option<String>,
    /// Only this role.
    pub role: Option<Role>,
    /// Only this status.
    pub status: Option<Status>,
    /// Page number, from 1.
    pub page: i64,
}

/// A member's status as admins see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// May sign in.
    Active,
    /// Sign-in paused after failed attempts.
    Locked,
    /// May not sign in.
    Deactivated,
    /// Invited, not joined yet (listed with the invitations).
    Invited,
}

impl Status {
    /// The name in URLs and on the page.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Locked => "locked",
            Status::Deactivated => "deactivated",
            Status::Invited => "invited",
        }
    }

    /// Parses a filter value; anything else means no filter.
    pub fn parse(raw: &str) -> Option<Self> {
        [
            Status::Active,
            Status::Locked,
            Status::Deactivated,
            Status::Invited,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// One row of the list.
#[derive(Debug, QueryableByName)]
pub struct MemberRow {
    /// Id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Email.
    #[diesel(sql_type = Text)]
    pub email: String,
    /// Role name.
    #[diesel(sql_type = Text)]
    pub role: String,
    /// `active`, `locked` or `deactivated`.
    #[diesel(sql_type = Text)]
    pub status: String,
    /// Has a password.
    #[diesel(sql_type = Bool)]
    pub has_password: bool,
    /// Has signed in through single sign-on.
    #[diesel(sql_type = Bool)]
    pub has_sso: bool,
    /// Last sign-in.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_login_at: Option<OffsetDateTime>,
    /// Has a confirmed authenticator app.
    #[diesel(sql_type = Bool)]
    pub has_totp: bool,
    /// Passkeys registered.
    #[diesel(sql_type = BigInt)]
    pub passkeys: i64,
}

impl MemberRow {
    /// How the person signs in.
    pub fn method(&self) -> &'static str {
        match (self.has_password, self.has_sso) {
            (true, true) => "Password and SSO",
            (false, true) => "SSO",
            (true, false) => "Password",
            (false, false) => "None yet",
        }
    }

    /// The person's second factors in words ("Authenticator app, 2 passkeys").
    pub fn factors(&self) -> String {
        let mut parts = Vec::new();
        if self.has_totp {
            parts.push("Authenticator app".to_string());
        }
        match self.passkeys {
            0 => {}
            1 => parts.push("1 passkey".into()),
            n => parts.push(format!("{n} passkeys")),
        }
        if parts.is_empty() {
            "None".into()
        } else {
            parts.join(", ")
        }
    }

    /// Whether the person has a second factor an admin could reset.
    pub fn has_factor(&self) -> bool {
        self.has_totp || self.passkeys > 0
    }

    /// Last sign-in, for the page.
    pub fn last_seen(&self) -> String {
        self.last_login_at
            .map(crate::display::minute)
            .unwrap_or_else(|| "Never".into())
    }

    /// The last sign-in in words ("3 hours ago"), or "Never".
    pub fn last_seen_ago(&self) -> String {
        self.last_login_at
            .map(|t| crate::display::relative(t, OffsetDateTime::now_utc()))
            .unwrap_or_else(|| "Never".into())
    }

    /// The last sign-in for `<time datetime>`, empty when there was none.
    pub fn last_seen_machine(&self) -> String {
        self.last_login_at
            .map(crate::display::machine)
            .unwrap_or_default()
    }
}

/// A lowercase "contains" pattern; LIKE wildcards are escaped so a search for `50%`
/// means that text.
fn like_pattern(q: &str) -> String {
    let escaped = q
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The members matching the filter: the FROM and WHERE shared by the page and its
/// count. Only the filters in use appear (`$n IS NULL` keeps the others' parameters
/// referenced), so the planner can use the search's trigram index.
fn matching(f: &Filter) -> String {
    let search = if f.query.is_some() {
        "lower(u.email) || ' ' || lower(u.name) LIKE $1"
    } else {
        "$1::text IS NULL"
    };
    let role = if f.role.is_some() {
        "u.role = $2"
    } else {
        "$2::text IS NULL"
    };
    let status = if f.status.is_some() {
        "$3 = CASE WHEN u.status = 'deactivated' THEN 'deactivated' \
           WHEN t.locked_until > now() THEN 'locked' ELSE 'active' END"
    } else {
        "$3::text IS NULL"
    };
    format!(
        "FROM users u LEFT JOIN login_throttle t ON t.email = u.email \
         WHERE {search} AND {role} AND {status}"
    )
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// One page of members matching the filter, with the total count: two statements,
/// the page walking the `(lower(name), id)` index rather than sorting every member.
pub fn page(conn: &mut PgConnection, f: &Filter) -> AppResult<(Vec<MemberRow>, i64)> {
    let query = f
        .query
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(like_pattern);
    let f = &Filter {
        query: query.clone(),
        ..f.clone()
    };
    let matching = matching(f);
    let role = f.role.map(Role::as_str);
    let status = f.status.map(Status::as_str);
    let columns = "u.id, u.name, u.email, u.role, \
           CASE WHEN u.status = 'deactivated' THEN 'deactivated' \
                WHEN t.locked_until > now() THEN 'locked' ELSE 'active' END AS status, \
           u.password_hash IS NOT NULL AS has_password, \
           u.external_id IS NOT NULL AS has_sso, u.last_login_at, \
           EXISTS (SELECT 1 FROM totp_factors f WHERE f.user_id = u.id \
                   AND f.confirmed_at IS NOT NULL) AS has_totp, \
           (SELECT count(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys";
    // A search matches few people scattered through the index: collect them with one
    // scan, then sort that handful. Without a search, walk the name index in order.
    let page_sql = if query.is_some() {
        format!(
            "WITH m AS MATERIALIZED (SELECT {columns}, lower(u.name) AS sort_name {matching}) \
             SELECT id, name, email, role, status, has_password, has_sso, last_login_at, \
             has_totp, passkeys \
             FROM m ORDER BY sort_name, id LIMIT $4 OFFSET $5"
        )
    } else {
        format!("SELECT {columns} {matching} ORDER BY lower(u.name), u.id LIMIT $4 OFFSET $5")
    };
    let rows: Vec<MemberRow> = diesel::sql_query(page_sql)
        .bind::<Nullable<Text>, _>(query.clone())
        .bind::<Nullable<Text>, _>(role)
        .bind::<Nullable<Text>, _>(status)
        .bind::<BigInt, _>(PER_PAGE)
        .bind::<BigInt, _>((f.page.max(1) - 1) * PER_PAGE)
        .load(conn)?;
    let total = diesel::sql_query(format!("SELECT count(*) AS n {matching}"))
        .bind::<Nullable<Text>, _>(query)
        .bind::<Nullable<Text>, _>(role)
        .bind::<Nullable<Text>, _>(status)
        .get_result::<Count>(conn)?
        .n;
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_literal() {
        assert_eq!(like_pattern("50%_Off"), "%50\\%\\_off%");
        assert_eq!(like_pattern("a\\b"), "%a\\\\b%");
    }

    #[test]
    fn status_filter_names_round_trip() {
        for s in ["active", "locked", "deactivated", "invited"] {
            assert_eq!(Status::parse(s).map(Status::as_str), Some(s));
        }
        assert_eq!(Status::parse("everyone"), None);
    }
}
