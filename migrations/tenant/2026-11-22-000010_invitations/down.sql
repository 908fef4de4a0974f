DROP INDEX IF EXISTS audit_log_action;
DROP INDEX IF EXISTS users_created_at;
DROP INDEX IF EXISTS users_search;
DROP INDEX IF EXISTS users_lower_name;
DROP TABLE IF EXISTS invitations;
