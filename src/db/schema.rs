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

    diesel::table! {
        /// Changes waiting to reach Authentik (see `authentik::outbox`).
        public.authentik_outbox (id) {
            id -> Int8,
            ordering_key -> Text,
            tenant_slug -> Text,
            person_id -> Nullable<Uuid>,
            kind -> Text,
            payload -> Jsonb,
            status -> Text,
            attempts -> Int4,
            next_attempt_at -> Timestamptz,
            last_error -> Nullable<Text>,
            created_at -> Timestamptz,
            updated_at -> Timestamptz,
        }
    }

    diesel::table! {
        /// The portal's token signing keys (private halves sealed).
        public.signing_keys (kid) {
            kid -> Text,
            algorithm -> Text,
            public_key -> Bytea,
            sealed_private_key -> Bytea,
            activates_at -> Timestamptz,
            created_at -> Timestamptz,
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
            authentik_pk -> Nullable<Int8>,
            authentik_uuid -> Nullable<Uuid>,
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

    diesel::table! {
        /// Sessions of the JSON API (one per token exchange).
        api_sessions (id) {
            id -> Uuid,
            user_id -> Uuid,
            created_at -> Timestamptz,
            last_used_at -> Timestamptz,
            expires_at -> Timestamptz,
            revoked_at -> Nullable<Timestamptz>,
            revoked_reason -> Nullable<Text>,
            platform_admin -> Bool,
            ip -> Nullable<Text>,
            user_agent -> Nullable<Text>,
        }
    }

    diesel::table! {
        /// Refresh tokens (hashed), one family per API session.
        refresh_tokens (token_hash) {
            token_hash -> Text,
            session_id -> Uuid,
            issued_at -> Timestamptz,
            expires_at -> Timestamptz,
            used_at -> Nullable<Timestamptz>,
        }
    }

    diesel::joinable!(user_tokens -> users (user_id));
    diesel::joinable!(api_sessions -> users (user_id));
    diesel::joinable!(refresh_tokens -> api_sessions (session_id));
    diesel::allow_tables_to_appear_in_same_query!(
        users,
        user_tokens,
        invitations,
        api_sessions,
        refresh_tokens
    );
}
