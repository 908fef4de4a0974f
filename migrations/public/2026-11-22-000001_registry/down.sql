DROP TABLE platform_audit_log;
DROP TABLE platform_admins;
DROP TABLE tenants;
