DROP INDEX tenants_updated_at;
DROP TRIGGER tenants_touch ON tenants;
DROP FUNCTION tenants_touch();
