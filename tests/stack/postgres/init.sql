-- First-start SQL of receptor-test/postgres, run once by entrypoint.sh as supabase_admin
-- (the bootstrap superuser, like upstream) over the local socket. Values come from the
-- environment through \getenv, never from a command line.
\set ON_ERROR_STOP on
\getenv pgpass POSTGRES_PASSWORD
\set jwt_secret ''
\getenv jwt_secret JWT_SECRET

-- The roles of upstream's db image, LOGIN where upstream grants it, each with
-- POSTGRES_PASSWORD (supabase_admin got it from initdb).
CREATE ROLE postgres LOGIN CREATEROLE CREATEDB REPLICATION BYPASSRLS PASSWORD :'pgpass';
CREATE ROLE anon NOLOGIN NOINHERIT PASSWORD :'pgpass';
CREATE ROLE authenticated NOLOGIN NOINHERIT PASSWORD :'pgpass';
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS PASSWORD :'pgpass';
CREATE ROLE authenticator LOGIN NOINHERIT PASSWORD :'pgpass';
GRANT anon, authenticated, service_role TO authenticator;
CREATE ROLE dashboard_user NOLOGIN CREATEROLE CREATEDB REPLICATION PASSWORD :'pgpass';
CREATE ROLE pgbouncer LOGIN PASSWORD :'pgpass';
CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE PASSWORD :'pgpass';
CREATE ROLE supabase_functions_admin LOGIN NOINHERIT CREATEROLE PASSWORD :'pgpass';
CREATE ROLE supabase_replication_admin LOGIN REPLICATION PASSWORD :'pgpass';
CREATE ROLE supabase_storage_admin LOGIN NOINHERIT CREATEROLE PASSWORD :'pgpass';
CREATE ROLE supabase_read_only_user LOGIN BYPASSRLS PASSWORD :'pgpass';

-- Older installs copy JWT_SECRET into a database setting (upstream's jwt.sql).
SELECT :'jwt_secret' <> '' AS has_jwt_secret \gset
\if :has_jwt_secret
ALTER DATABASE postgres SET "app.settings.jwt_secret" TO :'jwt_secret';
\endif

-- Upstream keeps the pooler's and the analytics' state in the database _supabase, and
-- its db-passwd.sh rotates them there: drop and recreate _supavisor (the tenant caches
-- the old password), update the URL in _analytics.source_backends.
CREATE DATABASE _supabase OWNER postgres;
\connect _supabase
CREATE SCHEMA _analytics AUTHORIZATION supabase_admin;
CREATE TABLE _analytics.source_backends (
    id bigserial PRIMARY KEY,
    type text NOT NULL,
    config jsonb NOT NULL DEFAULT '{}',
    inserted_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE _analytics.source_backends OWNER TO supabase_admin;
INSERT INTO _analytics.source_backends (type, config)
VALUES ('postgres', jsonb_build_object(
    'url', format('postgresql://supabase_admin:%s@db:5432/postgres', :'pgpass')));

CREATE SCHEMA _supavisor AUTHORIZATION supabase_admin;
CREATE TABLE _supavisor.tenants (
    external_id text PRIMARY KEY,
    db_host text NOT NULL,
    db_port integer NOT NULL,
    db_database text NOT NULL
);
ALTER TABLE _supavisor.tenants OWNER TO supabase_admin;
INSERT INTO _supavisor.tenants VALUES ('receptor-test', 'db', 5432, 'postgres');
