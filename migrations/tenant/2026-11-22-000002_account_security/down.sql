DROP TABLE tenant_settings;
DROP TABLE user_tokens;
DROP TABLE login_throttle;
