-- The counters' trigger calls the shared function in `public` (see the registry
-- migration of the same name) instead of this schema's own copy. Applied alone (the
-- schema check, without the registry), the schema keeps its own copy.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname = 'public' AND p.proname = 'registry_apply') THEN
        RETURN;
    END IF;
    DROP TRIGGER users_registry_counts ON users;
    DROP FUNCTION registry_counts();
    CREATE TRIGGER users_registry_counts
        AFTER INSERT OR DELETE OR UPDATE OF status, role, email, last_login_at ON users
        FOR EACH ROW EXECUTE FUNCTION public.registry_counts();
END
$$;
