-- Runs once, at first boot: Realtime keeps its tenant tables in _realtime
-- (its DB_AFTER_CONNECT_QUERY sets search_path to this schema).
CREATE SCHEMA IF NOT EXISTS _realtime;
ALTER SCHEMA _realtime OWNER TO supabase_admin;
