// @generated automatically by Diesel CLI.

diesel::table! {
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
    login_throttle (email) {
        email -> Text,
        failures -> Int4,
        locked_until -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        credential_id -> Bytea,
        credential -> Jsonb,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Uuid,
        user_id -> Uuid,
        code_hash -> Text,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Uuid,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    tenant_settings (id) {
        id -> Bool,
        registration -> Text,
        allowed_domains -> Array<Nullable<Text>>,
        password_login -> Bool,
        require_email_verification -> Bool,
        updated_at -> Timestamptz,
        require_sso_for_staff -> Bool,
        second_factor -> Text,
        passkey_sign_in -> Bool,
    }
}

diesel::table! {
    totp_factors (user_id) {
        user_id -> Uuid,
        secret_sealed -> Bytea,
        confirmed_at -> Nullable<Timestamptz>,
        last_used_step -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
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

diesel::joinable!(api_sessions -> users (user_id));
diesel::joinable!(invitations -> users (invited_by));
diesel::joinable!(passkeys -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(refresh_tokens -> api_sessions (session_id));
diesel::joinable!(totp_factors -> users (user_id));
diesel::joinable!(user_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_sessions,
    audit_log,
    invitations,
    login_throttle,
    passkeys,
    recovery_codes,
    refresh_tokens,
    tenant_settings,
    totp_factors,
    user_tokens,
    users,
);
