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

    diesel::table! {
        /// Failed sign-ins and locks, per email.
        login_throttle (email) {
            email -> Text,
            failures -> Int4,
            locked_until -> Nullable<Timestamptz>,
            updated_at -> Timestamptz,
        }
    }

    diesel::table! {
        /// Single-use mailed links, stored hashed.
        user_tokens (id) {
            id -> Uuid,
            user_id -> Uuid,
            purpose -> Text,
            token_hash -> Text,
            expires_at -> Timestamptz,
            used_at -> Nullable<Timestamptz>,
            created_at -> Timestamptz,
        }
    }

    diesel::table! {
        /// The organization's rules (one row).
        tenant_settings (id) {
            id -> Bool,
            registration -> Text,
            allowed_domains -> Array<Text>,
            password_login -> Bool,
            require_email_verification -> Bool,
            require_sso_for_staff -> Bool,
            updated_at -> Timestamptz,
        }
    }

    diesel::table! {
        /// Invitations to join, until accepted or revoked.
        invitations (id) {
            id -> Uuid,
            email -> Text,
            role -> Text,
            token_hash -> Text,
            invited_by -> Nullable<Uuid>,
            expires_at -> Timestamptz,
            accepted_at -> Nullable<Timestamptz>,
            revoked_at -> Nullable<Timestamptz>,
            sent_count -> Int4,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
        }
    }

    diesel::joinable!(user_tokens -> users (user_id));
    diesel::allow_tables_to_appear_in_same_query!(users, user_tokens, invitations);
}
