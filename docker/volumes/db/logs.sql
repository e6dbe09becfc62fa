-- Runs once, at first boot: schema for Logflare (analytics service) in _supabase.
\c _supabase
CREATE SCHEMA IF NOT EXISTS _analytics;
ALTER SCHEMA _analytics OWNER TO supabase_admin;
