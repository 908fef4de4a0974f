-- Every running portal keeps the registry in memory and re-reads only the rows changed
-- since its last look. A change to what it keeps (slug, name, status, ...) moves
-- `updated_at`, whoever makes it; the counters kept by the tenant schemas' triggers do
-- not, so busy organizations are not re-read for every sign-in.
CREATE FUNCTION tenants_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := greatest(now(), OLD.updated_at);
    RETURN NEW;
END
$$;

CREATE TRIGGER tenants_touch
    BEFORE UPDATE ON tenants
    FOR EACH ROW
    WHEN ((OLD.slug, OLD.schema_name, OLD.name, OLD.business_type, OLD.country, OLD.status)
          IS DISTINCT FROM
          (NEW.slug, NEW.schema_name, NEW.name, NEW.business_type, NEW.country, NEW.status))
    EXECUTE FUNCTION tenants_touch();

CREATE INDEX tenants_updated_at ON tenants (updated_at);
