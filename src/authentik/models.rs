//! Request and response bodies of Authentik's admin API (`/api/v3/`), as its OpenAPI
//! schema describes them. Only the fields the portal uses are typed; the rest is
//! ignored on input and left to Authentik's defaults on output.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `pagination` object of every list answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Pagination {
    /// Number of the next page, 0 when there is none.
    #[serde(default)]
    pub next: f64,
    /// Number of the previous page, 0 when there is none.
    #[serde(default)]
    pub previous: f64,
    /// Total number of results.
    #[serde(default)]
    pub count: f64,
    /// This page's number (from 1).
    #[serde(default)]
    pub current: f64,
    /// How many pages there are.
    #[serde(default)]
    pub total_pages: f64,
    /// Index of the first result on this page.
    #[serde(default)]
    pub start_index: f64,
    /// Index of the last result on this page.
    #[serde(default)]
    pub end_index: f64,
}

/// A page of a list: `{"pagination": {...}, "results": [...]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Paginated<T> {
    /// Where this page is in the whole list.
    pub pagination: Pagination,
    /// The items.
    pub results: Vec<T>,
}

/// A group as embedded in a user (`groups_obj`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserGroup {
    /// The group's UUID.
    pub pk: Uuid,
    /// Its name.
    pub name: String,
}

/// An Authentik user (`User`). Its primary key is an integer; `uuid` is stable too.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    /// Integer primary key.
    pub pk: i64,
    /// Login name; the portal uses the email address.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Email address (may be empty in Authentik).
    #[serde(default)]
    pub email: String,
    /// Whether the user may sign in.
    pub is_active: bool,
    /// UUIDs of the groups the user is in.
    #[serde(default)]
    pub groups: Vec<Uuid>,
    /// The same groups with their names (`include_groups=true`, the default).
    #[serde(default)]
    pub groups_obj: Option<Vec<UserGroup>>,
    /// Stable UUID of the user.
    pub uuid: Uuid,
}

impl User {
    /// Names of the user's groups, as far as the answer included them.
    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.groups_obj.iter().flatten().map(|g| g.name.as_str())
    }
}

/// Body of `POST /core/users/` (`UserRequest`). It has no password field on purpose:
/// no password ever leaves the portal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Whether the user may sign in.
    pub is_active: bool,
    /// Folder-like path Authentik files the user under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Body of `PATCH /core/users/{id}/` (`PatchedUserRequest`): only what is set changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserPatch {
    /// New display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Activate or deactivate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
}

/// An Authentik group (`Group`). Its primary key is a UUID.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Group {
    /// UUID primary key.
    pub pk: Uuid,
    /// Unique name.
    pub name: String,
    /// Integer pks of the members.
    #[serde(default)]
    pub users: Vec<i64>,
}

/// Body of `POST /core/groups/` (`GroupRequest`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewGroup {
    /// Unique name.
    pub name: String,
}

/// Body of `POST /core/groups/{group_uuid}/add_user/` and `remove_user/`
/// (`UserAccountRequest`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserAccount {
    /// The user's integer pk.
    pub pk: i64,
}

/// Answer of `GET /admin/version/` (`Version`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Version {
    /// The running version.
    pub version_current: String,
    /// Build hash, when known.
    #[serde(default)]
    pub build_hash: String,
}
