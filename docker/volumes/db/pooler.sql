-- Runs once, at first boot: schema for Supavisor's tenants in _supabase.
-- Supavisor caches the pgbouncer password in here: after a POSTGRES_PASSWORD rotation
-- this schema is dropped and recreated.
\c _supabase
CREATE SCHEMA IF NOT EXISTS _supavisor;
ALTER SCHEMA _supavisor OWNER TO supabase_admin;
