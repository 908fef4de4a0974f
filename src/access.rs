//! The one door for an organization's admin work.
//!
//! Every admin change (members, invitations, settings, sign-in locks) runs through
//! [`AdminRequest::change`]: one transaction scoped to the tenant's schema that re-reads
//! the acting person with their row locked, refuses unless they are an active admin
//! *now* (the session's word is never enough: a demoted admin's session may still say
//! admin), runs the change and records its audit rows in the same transaction.
//! Admin-only pages read through [`AdminRequest::read`], with the same check.

use std::sync::Arc;

use diesel::PgConnection;
use uuid::Uuid;

use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::models::audit_log::{self, AuditEvent, RequestMeta};
use crate::models::tenant::Tenant;
use crate::models::user::{self, User};

/// The refusal for anyone who is not an active admin of the organization.
pub const NOT_AN_ADMIN: &str = "Only the organization's active admins can do this.";

/// An admin's request: where, who, from where.
#[derive(Debug, Clone)]
pub struct AdminRequest {
    /// The organization.
    pub tenant: Arc<Tenant>,
    /// The person acting as admin, by id (their role is read from the database).
    pub admin: Uuid,
    /// Their address and browser, for the audit log.
    pub meta: RequestMeta,
}

/// The transaction of one admin change.
pub struct AdminTx<'c> {
    /// The connection, in the tenant-scoped transaction.
    pub conn: &'c mut PgConnection,
    admin: User,
    slug: String,
    meta: RequestMeta,
}

impl AdminTx<'_> {
    /// The acting admin as the database has them now (row locked).
    pub fn admin(&self) -> &User {
        &self.admin
    }

    /// Records an event of this change, done by the acting admin.
    pub fn record(&mut self, event: AuditEvent<'_>) -> AppResult<()> {
        let event = event.actor(Some(self.admin.id), Some(&self.admin.email));
        audit_log::record(self.conn, &self.slug, &self.meta, event)
    }
}

impl AdminRequest {
    /// Runs `change` as this admin, in one transaction with its audit rows.
    pub async fn change<T, F>(&self, db: &Db, change: F) -> AppResult<T>
    where
        F: for<'c> FnOnce(&mut AdminTx<'c>) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (id, slug, meta) = (self.admin, self.tenant.slug.to_string(), self.meta.clone());
        db.tenant(&self.tenant.schema, move |conn| {
            let admin = active_admin(user::find_for_update(conn, id)?)?;
            let mut tx = AdminTx {
                conn,
                admin,
                slug,
                meta,
            };
            change(&mut tx)
        })
        .await
    }

    /// Reads what only admins may see, after the same check (no lock: nothing changes).
    pub async fn read<T, F>(&self, db: &Db, read: F) -> AppResult<T>
    where
        F: FnOnce(&mut PgConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let id = self.admin;
        db.tenant(&self.tenant.schema, move |conn| {
            active_admin(user::find(conn, id)?)?;
            read(conn)
        })
        .await
    }
}

fn active_admin(found: Option<User>) -> AppResult<User> {
    found
        .filter(User::is_active_admin)
        .ok_or_else(|| AppError::Forbidden(NOT_AN_ADMIN.into()))
}
