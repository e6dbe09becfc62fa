//! What a rotation changes inside the running database, before any container
//! is recreated (the containers still hold the old values, and the `db`
//! container's local socket needs no password):
//!
//! - `POSTGRES_PASSWORD`: the password of each service role that exists; then,
//!   in database `_supabase`, the pooler's schema `_supavisor` is dropped and
//!   recreated (its tenant caches the old password) and the password inside
//!   `_analytics.source_backends` URLs is replaced
//! - `JWT_SECRET`: `app.settings.jwt_secret` of the main database, only where
//!   it is set (older installs copy the secret there)
//!
//! One transaction per database. Values reach SQL through psql variables
//! (see `psql`), quoted by `format('%L')`.

use crate::psql::{Psql, PsqlError, Script, service_roles_sql};
use crate::secrets::Secret;

/// The statement the `database` fail point adds: one the database refuses.
#[cfg(feature = "test-hooks")]
use crate::hooks::fail::REFUSED_SQL;
use crate::hooks::hook;
#[cfg(not(feature = "test-hooks"))]
const REFUSED_SQL: &str = "";

/// The database values to apply; `None` leaves that part alone.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub password: Option<Secret>,
    pub jwt_secret: Option<Secret>,
}

impl Target {
    pub fn is_empty(&self) -> bool {
        self.password.is_none() && self.jwt_secret.is_none()
    }
}

/// The pooler's and analytics' database.
pub const INTERNAL_DB: &str = "_supabase";

const ROLE_PASSWORDS: &str = r#"DO $receptor$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ROLES LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('ALTER ROLE %I WITH PASSWORD %L', r, current_setting('receptor.postgres_password'));
        END IF;
    END LOOP;
END
$receptor$;
"#;

const JWT_SETTING: &str = r#"DO $receptor$
BEGIN
    IF coalesce(current_setting('app.settings.jwt_secret', true), '') <> '' THEN
        EXECUTE format('ALTER DATABASE %I SET app.settings.jwt_secret TO %L',
                       current_database(), current_setting('receptor.jwt_secret'));
    END IF;
END
$receptor$;
"#;

const INTERNAL: &str = r#"DO $receptor$
DECLARE
    owner_name name;
BEGIN
    SELECT pg_get_userbyid(nspowner) INTO owner_name FROM pg_namespace WHERE nspname = '_supavisor';
    IF FOUND THEN
        DROP SCHEMA _supavisor CASCADE;
        EXECUTE format('CREATE SCHEMA _supavisor AUTHORIZATION %I', owner_name);
    END IF;
    IF to_regclass('_analytics.source_backends') IS NOT NULL THEN
        EXECUTE $update$
            UPDATE _analytics.source_backends
               SET config = jsonb_set(config, '{url}', to_jsonb(
                       substring(config->>'url' from '^[A-Za-z][A-Za-z0-9+.-]*://[^:@/]+:')
                       || $1
                       || substring(config->>'url' from '@.*$')))
             WHERE substring(config->>'url' from '^[A-Za-z][A-Za-z0-9+.-]*://([^:@/]+):[^@]*@') = ANY($2)
        $update$ USING current_setting('receptor.postgres_password'), ROLES;
    END IF;
END
$receptor$;
"#;

/// The statements, for the plan: values shown as `[REDACTED]`.
pub fn describe(target: &Target, main_db: &str) -> Vec<String> {
    let mut out = Vec::new();
    if target.password.is_some() || target.jwt_secret.is_some() {
        out.push(format!("in database {main_db}, one transaction:"));
    }
    if target.password.is_some() {
        out.push(format!(
            "  ALTER ROLE <role> WITH PASSWORD [REDACTED]  for each of {} that exists",
            crate::psql::SERVICE_ROLES.join(", ")
        ));
    }
    if target.jwt_secret.is_some() {
        out.push(format!(
            "  ALTER DATABASE {main_db} SET app.settings.jwt_secret TO [REDACTED]  only where it is set"
        ));
    }
    if target.password.is_some() {
        out.push(format!("in database {INTERNAL_DB} (where it exists), one transaction:"));
        out.push("  DROP SCHEMA _supavisor CASCADE; CREATE SCHEMA _supavisor  where it exists".to_string());
        out.push(
            "  UPDATE _analytics.source_backends SET the password in config.url TO [REDACTED]  where the table exists"
                .to_string(),
        );
    }
    out
}

/// Applies `target`: one transaction in the main database, then one in
/// `_supabase` where it exists. (The `database` fail point makes the last
/// transaction fail after the earlier one committed.)
pub fn apply(psql: &Psql<'_>, target: &Target, main_db: &str) -> Result<Vec<String>, PsqlError> {
    let mut done = Vec::new();
    if target.is_empty() {
        return Ok(done);
    }
    let internal = match &target.password {
        Some(_) => psql.database_exists(main_db, INTERNAL_DB)?,
        None => false,
    };
    let mut main = Script::new();
    if let Some(password) = &target.password {
        main = main
            .secret("postgres_password", password)
            .sql(&ROLE_PASSWORDS.replace("ROLES", &service_roles_sql()));
    }
    if let Some(secret) = &target.jwt_secret {
        main = main.secret("jwt_secret", secret).sql(JWT_SETTING);
    }
    let refuse = hook!(fail crate::step::Step::Database);
    if refuse && !internal {
        main = main.sql(REFUSED_SQL);
    }
    psql.run(main_db, &main.in_transaction())?;
    if target.password.is_some() {
        done.push("service role passwords changed".to_string());
    }
    if target.jwt_secret.is_some() {
        done.push(format!("app.settings.jwt_secret of {main_db} updated where set"));
    }
    if let (Some(password), true) = (&target.password, internal) {
        let mut script = Script::new()
            .secret("postgres_password", password)
            .sql(&INTERNAL.replace("ROLES", &service_roles_sql()));
        if refuse {
            script = script.sql(REFUSED_SQL);
        }
        psql.run(INTERNAL_DB, &script.in_transaction())?;
        done.push(format!(
            "{INTERNAL_DB}: _supavisor recreated, _analytics.source_backends updated"
        ));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_redacts_and_names_every_statement() {
        let target = Target {
            password: Some(Secret::new("p4ssw0rdp4ssw0rd")),
            jwt_secret: Some(Secret::new("j".repeat(40))),
        };
        let shown = describe(&target, "postgres").join("\n");
        assert!(!shown.contains("p4ssw0rd") && !shown.contains("jjjj"));
        for needle in [
            "ALTER ROLE",
            "supabase_storage_admin",
            "app.settings.jwt_secret",
            "_supavisor",
            "_analytics.source_backends",
        ] {
            assert!(shown.contains(needle), "{needle}");
        }
        assert!(!shown.contains("supabase_read_only_user"));
        let jwt_only = Target {
            password: None,
            jwt_secret: Some(Secret::new("j".repeat(40))),
        };
        assert!(!describe(&jwt_only, "postgres").join("\n").contains("ALTER ROLE"));
    }
}
