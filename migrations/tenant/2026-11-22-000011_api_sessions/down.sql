DROP TABLE refresh_tokens; DROP TABLE api_sessions;
