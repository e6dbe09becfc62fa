-- Runs once, at first boot: the internal database that holds the Logflare (_analytics)
-- and Supavisor (_supavisor) schemas, kept apart from the application database.
CREATE DATABASE _supabase WITH OWNER supabase_admin;
