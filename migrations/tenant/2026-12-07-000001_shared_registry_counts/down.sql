-- This schema's own copy of the counters' function again, as before the shared one.
DROP TRIGGER users_registry_counts ON users;
CREATE FUNCTION registry_counts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_member INT := 0;
    is_member  INT := 0;
    was_admin  INT := 0;
    is_admin   INT := 0;
    admins_changed BOOLEAN;
    emails TEXT;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        was_member := (OLD.status = 'active')::INT;
        was_admin  := (OLD.status = 'active' AND OLD.role = 'admin')::INT;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        is_member := (NEW.status = 'active')::INT;
        is_admin  := (NEW.status = 'active' AND NEW.role = 'admin')::INT;
    END IF;
    admins_changed := was_admin <> is_admin
        OR (TG_OP = 'UPDATE' AND is_admin = 1 AND OLD.email <> NEW.email);
    IF was_member <> is_member OR admins_changed THEN
        -- The row lock first: the address list read next then sees every concurrent
        -- change that committed before us (each statement takes a fresh snapshot).
        PERFORM 1 FROM public.tenants WHERE schema_name = TG_TABLE_SCHEMA FOR UPDATE;
        IF admins_changed THEN
            EXECUTE format(
                'SELECT coalesce(string_agg(email, '' '' ORDER BY email), '''') FROM %I.users '
                'WHERE status = ''active'' AND role = ''admin''', TG_TABLE_SCHEMA)
                INTO emails;
        END IF;
        UPDATE public.tenants
           SET member_count = member_count + is_member - was_member,
               admin_count = admin_count + is_admin - was_admin,
               admin_emails = coalesce(emails, admin_emails),
               last_activity_at = greatest(last_activity_at, now())
         WHERE schema_name = TG_TABLE_SCHEMA;
    END IF;
    -- A sign-in is activity; written at most once a minute so busy organizations do
    -- not queue on their registry row.
    IF TG_OP = 'UPDATE' AND NEW.last_login_at IS DISTINCT FROM OLD.last_login_at
       AND NEW.last_login_at IS NOT NULL THEN
        UPDATE public.tenants
           SET last_activity_at = NEW.last_login_at
         WHERE schema_name = TG_TABLE_SCHEMA
           AND (last_activity_at IS NULL
                OR last_activity_at < NEW.last_login_at - interval '1 minute');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_registry_counts
    AFTER INSERT OR DELETE OR UPDATE OF status, role, email, last_login_at ON users
    FOR EACH ROW EXECUTE FUNCTION registry_counts();
