-- The member and admin counters of every organization are kept by one function in
-- `public`, called from a one-line trigger in each tenant schema.
--
-- PostgreSQL compiles a PL/pgSQL trigger function once per trigger, and keeps every
-- expression of every compiled copy as a saved plan for the life of the connection.
-- With the whole logic in each schema's trigger that was about fifteen saved plans per
-- organization a connection ever changed, and PostgreSQL walks all of a connection's
-- saved plans whenever any schema is created or renamed: with thousands of
-- organizations each sign-up slowed every connection down. The trigger now keeps one
-- plan per organization; the logic below is compiled once per connection, and its
-- fixed search path keeps its plans valid whichever organization calls it.
CREATE FUNCTION registry_apply(
    op TEXT,
    tenant_schema TEXT,
    old_status TEXT,
    old_role TEXT,
    old_email TEXT,
    old_login TIMESTAMPTZ,
    new_status TEXT,
    new_role TEXT,
    new_email TEXT,
    new_login TIMESTAMPTZ
) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
    -- The row before (none for an insert) and after (none for a delete).
    was_member INT := (coalesce(old_status, '') = 'active')::INT;
    is_member  INT := (coalesce(new_status, '') = 'active')::INT;
    was_admin  INT := (coalesce(old_status, '') = 'active' AND old_role = 'admin')::INT;
    is_admin   INT := (coalesce(new_status, '') = 'active' AND new_role = 'admin')::INT;
    admins_changed BOOLEAN;
    emails TEXT;
BEGIN
    admins_changed := was_admin <> is_admin
        OR (op = 'UPDATE' AND is_admin = 1 AND old_email <> new_email);
    IF was_member <> is_member OR admins_changed THEN
        -- The row lock first: the address list read next then sees every concurrent
        -- change that committed before us (each statement takes a fresh snapshot).
        PERFORM 1 FROM public.tenants WHERE schema_name = tenant_schema FOR UPDATE;
        IF admins_changed THEN
            EXECUTE format(
                'SELECT coalesce(string_agg(email, '' '' ORDER BY email), '''') FROM %I.users '
                'WHERE status = ''active'' AND role = ''admin''', tenant_schema)
                INTO emails;
        END IF;
        UPDATE public.tenants
           SET member_count = member_count + is_member - was_member,
               admin_count = admin_count + is_admin - was_admin,
               admin_emails = coalesce(emails, admin_emails),
               last_activity_at = greatest(last_activity_at, now())
         WHERE schema_name = tenant_schema;
    END IF;
    -- A sign-in is activity; written at most once a minute so busy organizations do
    -- not queue on their registry row.
    IF op = 'UPDATE' AND new_login IS DISTINCT FROM old_login AND new_login IS NOT NULL THEN
        UPDATE public.tenants
           SET last_activity_at = new_login
         WHERE schema_name = tenant_schema
           AND (last_activity_at IS NULL
                OR last_activity_at < new_login - interval '1 minute');
    END IF;
END
$$;

-- The tenant schemas' triggers call this (see the tenant migration of the same name).
CREATE FUNCTION registry_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.registry_apply(TG_OP, TG_TABLE_SCHEMA,
        OLD.status, OLD.role, OLD.email, OLD.last_login_at,
        NEW.status, NEW.role, NEW.email, NEW.last_login_at);
    RETURN NULL;
END
$$;
