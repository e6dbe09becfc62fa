-- Runs once, when the database volume is first created (init-scripts, as a superuser).
-- Gives the service login roles the password from the container's POSTGRES_PASSWORD:
-- psql reads it through a backtick shell command, so no password is written here.
-- Changing POSTGRES_PASSWORD later does NOT re-run this file; `cargo xtask` rotates it
-- with ALTER USER inside the running database instead.
\set pgpass `echo "$POSTGRES_PASSWORD"`

ALTER USER authenticator WITH PASSWORD :'pgpass';
ALTER USER pgbouncer WITH PASSWORD :'pgpass';
ALTER USER supabase_auth_admin WITH PASSWORD :'pgpass';
ALTER USER supabase_functions_admin WITH PASSWORD :'pgpass';
ALTER USER supabase_storage_admin WITH PASSWORD :'pgpass';
