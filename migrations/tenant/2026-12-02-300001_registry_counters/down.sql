DROP TRIGGER users_registry_counts ON users;
DROP FUNCTION registry_counts();
