// @generated automatically by Diesel CLI.

diesel::table! {
    authentik_outbox (id) {
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
        claimed_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Int8,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        claimed_by -> Nullable<Uuid>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    platform_admins (id) {
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
    platform_audit_log (id) {
        id -> Int8,
        occurred_at -> Timestamptz,
        actor -> Nullable<Text>,
        action -> Text,
        target -> Nullable<Text>,
        details -> Jsonb,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        algorithm -> Text,
        public_key -> Bytea,
        sealed_private_key -> Bytea,
        activates_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    spare_schemas (schema_name) {
        schema_name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        slug -> Text,
        schema_name -> Text,
        name -> Text,
        business_type -> Text,
        #[max_length = 2]
        country -> Bpchar,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        member_count -> Int4,
        admin_count -> Int4,
        admin_emails -> Text,
        last_activity_at -> Nullable<Timestamptz>,
        status_before_delete -> Nullable<Text>,
        delete_requested_at -> Nullable<Timestamptz>,
        delete_requested_by -> Nullable<Text>,
        purge_after -> Nullable<Timestamptz>,
        purged_at -> Nullable<Timestamptz>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    authentik_outbox,
    mail_outbox,
    platform_admins,
    platform_audit_log,
    signing_keys,
    spare_schemas,
    tenants,
);
