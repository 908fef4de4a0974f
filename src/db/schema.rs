//! Table definitions for diesel. Public tables live in the `public` schema; tenant
//! tables are declared unqualified so that the transaction's `search_path` picks the
//! tenant's schema. No public table shares a name with a tenant table.

/// Tables of the platform registry (`public` schema).
pub mod public {
    diesel::table! {
        /// One row per organization.
        public.tenants (id) {
            id -> Uuid,
            slug -> Text,
            schema_name -> Text,
            name -> Text,
            business_type -> Text,
            country -> Bpchar,
            status -> Text,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
        }
    }

    diesel::table! {
        /// Platform operators.
        public.platform_admins (id) {
            id -> Uuid,
            email -> Text,
            name -> Text,
            password_hash -> Nullable<Text>,
            last_login_at -> Nullable<Timestamptz>,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
        }
    }

    diesel::table! {
        /// Platform-level audit events.
        public.platform_audit_log (id) {
            id -> Int8,
            occurred_at -> Timestamptz,
            actor -> Nullable<Text>,
            action -> Text,
            target -> Nullable<Text>,
            details -> Jsonb,
        }
    }
}

/// Tables inside each tenant schema.
pub mod tenant {
    diesel::table! {
        /// The people of one organization.
        users (id) {
            id -> Uuid,
            email -> Text,
            name -> Text,
            password_hash -> Nullable<Text>,
            role -> Text,
            status -> Text,
            external_id -> Nullable<Text>,
            email_verified_at -> Nullable<Timestamptz>,
            last_login_at -> Nullable<Timestamptz>,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
        }
    }

    diesel::table! {
        /// The organization's security events.
        audit_log (id) {
            id -> Int8,
            occurred_at -> Timestamptz,
            actor_id -> Nullable<Uuid>,
            actor_email -> Nullable<Text>,
            action -> Text,
            target -> Nullable<Text>,
            ip -> Nullable<Text>,
            user_agent -> Nullable<Text>,
            details -> Jsonb,
        }
    }
}
