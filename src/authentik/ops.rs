//! The operations the portal performs on Authentik, typed after its API schema.

use reqwest::Method;
use uuid::Uuid;

use super::client::{AuthentikClient, AuthentikError};
use super::models::{Group, NewGroup, NewUser, Paginated, User, UserAccount, UserPatch, Version};

impl AuthentikClient {
    /// `GET /admin/version/`: whether Authentik answers and accepts the token.
    pub async fn version(&self) -> Result<Version, AuthentikError> {
        self.get("admin/version/", &[]).await
    }

    /// The user with exactly this email (case-insensitive), if any.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, AuthentikError> {
        let page: Paginated<User> = self.get("core/users/", &[("email", email)]).await?;
        Ok(page
            .results
            .into_iter()
            .find(|u| u.email.eq_ignore_ascii_case(email)))
    }

    /// The user with exactly this username, if any.
    pub async fn find_user_by_username(
        &self,
        username: &str,
    ) -> Result<Option<User>, AuthentikError> {
        let page: Paginated<User> = self.get("core/users/", &[("username", username)]).await?;
        Ok(page.results.into_iter().find(|u| u.username == username))
    }

    /// The user with this pk, if it still exists.
    pub async fn get_user(&self, pk: i64) -> Result<Option<User>, AuthentikError> {
        match self.get(&format!("core/users/{pk}/"), &[]).await {
            Ok(u) => Ok(Some(u)),
            Err(AuthentikError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a user, without a password: people sign in to Authentik through its
    /// own flows, never with a password the portal handed over.
    pub async fn create_user(&self, user: &NewUser) -> Result<User, AuthentikError> {
        self.send(Method::POST, "core/users/", user, false)
            .await?
            .ok_or_else(|| AuthentikError::Unexpected("empty answer to user creation".into()))
    }

    /// The user with this email, created when missing (username = email). Returns
    /// whether it was created. Safe to repeat: a retry finds what a lost answer made.
    pub async fn find_or_create_user(
        &self,
        email: &str,
        name: &str,
    ) -> Result<(User, bool), AuthentikError> {
        if let Some(u) = self.find_user_by_email(email).await? {
            return Ok((u, false));
        }
        if let Some(u) = self.find_user_by_username(email).await? {
            return Ok((u, false));
        }
        let new = NewUser {
            username: email.to_string(),
            name: name.to_string(),
            email: email.to_string(),
            is_active: true,
            path: Some("tenant-portal".into()),
        };
        match self.create_user(&new).await {
            Ok(u) => Ok((u, true)),
            // Created meanwhile by someone else: the username is taken.
            Err(AuthentikError::Validation(v)) => match self.find_user_by_username(email).await? {
                Some(u) => Ok((u, false)),
                None => Err(AuthentikError::Validation(v)),
            },
            Err(e) => Err(e),
        }
    }

    /// Changes some fields of a user.
    pub async fn update_user(&self, pk: i64, patch: &UserPatch) -> Result<User, AuthentikError> {
        self.send(Method::PATCH, &format!("core/users/{pk}/"), patch, true)
            .await?
            .ok_or_else(|| AuthentikError::Unexpected("empty answer to user update".into()))
    }

    /// Stops the user from signing in, keeping the account.
    pub async fn deactivate_user(&self, pk: i64) -> Result<User, AuthentikError> {
        let patch = UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        };
        self.update_user(pk, &patch).await
    }

    /// Deletes a user; a user already gone is fine.
    pub async fn delete_user(&self, pk: i64) -> Result<(), AuthentikError> {
        match self.delete(&format!("core/users/{pk}/")).await {
            Ok(()) | Err(AuthentikError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The group with exactly this name, if any.
    pub async fn find_group(&self, name: &str) -> Result<Option<Group>, AuthentikError> {
        let page: Paginated<Group> = self.get("core/groups/", &[("name", name)]).await?;
        Ok(page.results.into_iter().find(|g| g.name == name))
    }

    /// The group with this name, created when missing; returns whether it was created.
    pub async fn find_or_create_group(&self, name: &str) -> Result<(Group, bool), AuthentikError> {
        if let Some(g) = self.find_group(name).await? {
            return Ok((g, false));
        }
        let new = NewGroup {
            name: name.to_string(),
        };
        match self.send(Method::POST, "core/groups/", &new, false).await {
            Ok(Some(g)) => Ok((g, true)),
            Ok(None) => Err(AuthentikError::Unexpected(
                "empty answer to group creation".into(),
            )),
            // The name is unique: someone created it meanwhile.
            Err(AuthentikError::Validation(v)) => match self.find_group(name).await? {
                Some(g) => Ok((g, false)),
                None => Err(AuthentikError::Validation(v)),
            },
            Err(e) => Err(e),
        }
    }

    /// `DELETE /core/groups/{uuid}/`: deletes a group (its memberships go with it); a
    /// group already gone is fine.
    pub async fn delete_group(&self, group: Uuid) -> Result<(), AuthentikError> {
        match self.delete(&format!("core/groups/{group}/")).await {
            Ok(()) | Err(AuthentikError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Adds a user to a group (no change when already in it).
    pub async fn add_user_to_group(&self, group: Uuid, user: i64) -> Result<(), AuthentikError> {
        let path = format!("core/groups/{group}/add_user/");
        self.send::<serde_json::Value, _>(Method::POST, &path, &UserAccount { pk: user }, true)
            .await
            .map(|_| ())
    }

    /// Removes a user from a group (no change when not in it).
    pub async fn remove_user_from_group(
        &self,
        group: Uuid,
        user: i64,
    ) -> Result<(), AuthentikError> {
        let path = format!("core/groups/{group}/remove_user/");
        self.send::<serde_json::Value, _>(Method::POST, &path, &UserAccount { pk: user }, true)
            .await
            .map(|_| ())
    }
}
