//! The organization list: one registry query per page, whatever the number of
//! organizations, and no tenant schema read.

use serde::Deserialize;

use super::Platform;
use crate::error::AppResult;
use crate::models::tenant::{self, Cursor, ListFilter, Listed};

/// Organizations per page.
pub const ORGS_PER_PAGE: i64 = 50;

/// The statuses a list may be filtered by.
pub const STATUSES: &[&str] = &["active", "suspended", "deleting", "deleted"];

/// The list's filters as the address bar carries them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrgQuery {
    /// Search text (slug, name or an admin's address).
    #[serde(default)]
    pub q: String,
    /// One of [`STATUSES`]; anything else lists every status.
    #[serde(default)]
    pub status: String,
    /// Show the organizations after this slug.
    #[serde(default)]
    pub after: String,
    /// Show the organizations before this slug.
    #[serde(default)]
    pub before: String,
}

impl OrgQuery {
    /// The search as used: trimmed and bounded.
    pub fn search(&self) -> String {
        self.q.trim().chars().take(100).collect()
    }

    /// The status filter, when it is a known status.
    pub fn status(&self) -> Option<&'static str> {
        STATUSES.iter().copied().find(|s| *s == self.status.trim())
    }

    fn cursor(&self) -> Cursor {
        let bounded = |s: &str| s.trim().chars().take(40).collect::<String>();
        if !self.after.trim().is_empty() {
            Cursor::After(bounded(&self.after))
        } else if !self.before.trim().is_empty() {
            Cursor::Before(bounded(&self.before))
        } else {
            Cursor::First
        }
    }

    /// The query string of these filters with another cursor (`after` or `before`).
    pub fn link(&self, cursor: &str, slug: &str) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        let search = self.search();
        if !search.is_empty() {
            s.append_pair("q", &search);
        }
        if let Some(status) = self.status() {
            s.append_pair("status", status);
        }
        s.append_pair(cursor, slug);
        format!("/admin?{}", s.finish())
    }
}

/// One organization of the list.
#[derive(Debug, Clone)]
pub struct OrgLine {
    /// Address.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: String,
    /// Active members.
    pub members: i32,
    /// Active admins' addresses.
    pub admins: Vec<String>,
    /// Last activity, or "Never".
    pub last_activity: String,
    /// Created, as `YYYY-MM-DD`.
    pub created: String,
}

impl From<Listed> for OrgLine {
    fn from(l: Listed) -> Self {
        let day = time::macros::format_description!("[year]-[month]-[day]");
        OrgLine {
            admins: l
                .admin_emails
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            slug: l.slug,
            name: l.name,
            status: l.status,
            members: l.member_count,
            last_activity: l
                .last_activity_at
                .map(crate::display::minute)
                .unwrap_or_else(|| "Never".into()),
            created: l.created_at.format(&day).unwrap_or_default(),
        }
    }
}

/// A page of organizations and the links to its neighbours.
#[derive(Debug, Clone, Default)]
pub struct OrgListing {
    /// The organizations, by slug.
    pub rows: Vec<OrgLine>,
    /// The link to the previous page, when there is one.
    pub previous: Option<String>,
    /// The link to the next page, when there is one.
    pub next: Option<String>,
}

/// A page of the organization list.
pub async fn organizations(deps: &Platform<'_>, query: &OrgQuery) -> AppResult<OrgListing> {
    let cursor = query.cursor();
    let filter = ListFilter {
        search: Some(query.search()),
        status: query.status().map(str::to_string),
        cursor: cursor.clone(),
    };
    // One row more than shown tells whether the list goes on in that direction.
    let mut rows = deps
        .db
        .run(move |conn| tenant::list(conn, &filter, ORGS_PER_PAGE + 1))
        .await?;
    let more = rows.len() as i64 > ORGS_PER_PAGE;
    if more {
        match cursor {
            Cursor::Before(_) => {
                rows.remove(0);
            }
            _ => {
                rows.pop();
            }
        }
    }
    let (first, last) = match (rows.first(), rows.last()) {
        (Some(f), Some(l)) => (f.slug.clone(), l.slug.clone()),
        _ => return Ok(OrgListing::default()),
    };
    let (has_previous, has_next) = match cursor {
        Cursor::First => (false, more),
        Cursor::After(_) => (true, more),
        Cursor::Before(_) => (more, true),
    };
    Ok(OrgListing {
        rows: rows.into_iter().map(OrgLine::from).collect(),
        previous: has_previous.then(|| query.link("before", &first)),
        next: has_next.then(|| query.link("after", &last)),
    })
}
