//! PostgreSQL of the stack: in its database service, reached through Compose
//! (SQL scripts on psql's standard input over the container's local socket,
//! and logins over TCP the way a service makes them), or, for a database that
//! is not a Compose service, at `POSTGRES_HOST:POSTGRES_PORT` with this
//! machine's psql (see `host_psql`). psql's failures become typed errors
//! here; no other module reads what psql prints.
//!
//! Secret values reach the database only as psql variables set from the
//! script on standard input, hex-encoded so that no character of a value can
//! break out of its quotes; SQL reads them with `current_setting('receptor.NAME')`.

use crate::compose::{Compose, ComposeError};
use crate::secrets::Secret;

/// The compose service that runs PostgreSQL in the Supabase template.
pub const SERVICE: &str = "db";
/// The bootstrap superuser; the local socket trusts it.
pub const ADMIN: &str = "supabase_admin";

/// The roles that take `POSTGRES_PASSWORD`, where they exist. Not
/// `supabase_read_only_user`, which has a password of its own.
pub const SERVICE_ROLES: &[&str] = &[
    "anon",
    "authenticated",
    "authenticator",
    "dashboard_user",
    "pgbouncer",
    "postgres",
    "service_role",
    "supabase_admin",
    "supabase_auth_admin",
    "supabase_functions_admin",
    "supabase_replication_admin",
    "supabase_storage_admin",
];

/// `SERVICE_ROLES` as an SQL array literal (plain identifiers: no quoting issue).
pub fn service_roles_sql() -> String {
    let quoted: Vec<String> = SERVICE_ROLES.iter().map(|r| format!("'{r}'")).collect();
    format!("ARRAY[{}]::text[]", quoted.join(", "))
}

#[derive(Debug, thiserror::Error)]
pub enum PsqlError {
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// The statements ran and the database said no; the transaction rolled back.
    #[error("the database refused the statements for database {database}: {message}")]
    Refused { database: String, message: String },
    /// psql could not connect at all.
    #[error("psql cannot reach database {database}: {message}")]
    Unreachable { database: String, message: String },
    /// The database is not a Compose service and this machine has no psql.
    #[error(
        "the database is not a Compose service (no service of the compose file runs a postgres image), and this machine has no psql to reach POSTGRES_HOST:POSTGRES_PORT ({host}:{port}): install the PostgreSQL client (apt-get install postgresql-client), or name the service with database_service in setup.conf"
    )]
    NoHostPsql { host: String, port: String },
    /// `POSTGRES_HOST` / `POSTGRES_PORT` would not reach psql as a host and a port.
    #[error("POSTGRES_HOST:POSTGRES_PORT ({host}:{port}) is not a host and port psql can be given")]
    BadHostPort { host: String, port: String },
}

/// Where the database is reached.
#[derive(Debug, Clone)]
pub enum Place {
    /// Inside this Compose service, over its local socket.
    Service(String),
    /// From this machine over TCP (a database outside Compose), as the
    /// superuser with the first of `passwords` the server takes.
    Host {
        host: String,
        port: String,
        passwords: Vec<Secret>,
    },
}

/// Whether a login with a password was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    Accepted,
    /// `password authentication failed`.
    Refused,
}

/// A script for psql: secret variables first, then SQL that reads them.
#[derive(Debug, Default, Clone)]
pub struct Script {
    secrets: Vec<(String, Secret)>,
    sql: String,
    transaction: bool,
}

impl Script {
    pub fn new() -> Script {
        Script::default()
    }

    /// Makes `value` readable as `current_setting('receptor.NAME')` for the
    /// whole session. `name` is a plain identifier chosen by the caller.
    pub fn secret(mut self, name: &str, value: &Secret) -> Script {
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "a psql variable name is a plain identifier"
        );
        self.secrets.push((name.to_string(), value.clone()));
        self
    }

    pub fn sql(mut self, text: &str) -> Script {
        self.sql.push_str(text);
        if !text.ends_with('\n') {
            self.sql.push('\n');
        }
        self
    }

    /// Runs the SQL as one transaction: all of it, or none of it.
    pub fn in_transaction(mut self) -> Script {
        self.transaction = true;
        self
    }

    pub fn is_empty(&self) -> bool {
        self.sql.trim().is_empty()
    }

    /// The bytes for psql's standard input. Holds the secrets, hex-encoded.
    fn render(&self) -> Vec<u8> {
        let mut out = String::from("\\set ON_ERROR_STOP on\n\\set VERBOSITY terse\n");
        for (name, value) in &self.secrets {
            out.push_str(&format!("\\set {name}_hex '{}'\n", hex(value)));
            out.push_str(&format!(
                "SELECT set_config('receptor.{name}', convert_from(decode(:'{name}_hex', 'hex'), 'UTF8'), false) IS NOT NULL AS receptor_{name}_set \\gset\n"
            ));
            out.push_str(&format!("\\unset {name}_hex\n"));
        }
        if self.transaction {
            out.push_str("BEGIN;\n");
            out.push_str(&self.sql);
            out.push_str("COMMIT;\n");
        } else {
            out.push_str(&self.sql);
        }
        out.into_bytes()
    }

    /// The hex forms of the script's secrets, for redacting anything psql prints.
    pub fn encoded_secrets(&self) -> Vec<Secret> {
        self.secrets.iter().map(|(_, value)| Secret::new(hex(value))).collect()
    }
}

fn hex(value: &Secret) -> String {
    value.expose().bytes().map(|b| format!("{b:02x}")).collect()
}

/// Where the database of a project is: its Compose service when the compose
/// file has one, else `POSTGRES_HOST:POSTGRES_PORT` of `env`, reached from
/// this machine with the first of `passwords` the server takes.
pub fn locate(compose: &Compose, env: &crate::envfile::EnvFile, passwords: &[Secret]) -> Result<Place, ComposeError> {
    if let Some(service) = compose.database_service()? {
        return Ok(Place::Service(service));
    }
    let setting = |name: &str, default: &str| {
        env.get(name)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    let mut unique: Vec<Secret> = Vec::new();
    for password in passwords {
        if !password.is_empty() && !unique.contains(password) {
            unique.push(password.clone());
        }
    }
    Ok(Place::Host {
        host: setting("POSTGRES_HOST", "localhost"),
        port: setting("POSTGRES_PORT", "5432"),
        passwords: unique,
    })
}

/// psql for the database of one Compose project.
pub struct Psql<'a> {
    compose: &'a Compose,
    place: Place,
}

impl<'a> Psql<'a> {
    /// In the template's `db` service.
    pub fn new(compose: &'a Compose) -> Psql<'a> {
        Psql::at(compose, Place::Service(SERVICE.to_string()))
    }

    pub fn at(compose: &'a Compose, place: Place) -> Psql<'a> {
        Psql { compose, place }
    }

    pub fn place(&self) -> &Place {
        &self.place
    }

    /// Runs psql with `args` as [`Compose::exec_with`] would in the service,
    /// or from this machine for [`Place::Host`].
    fn exec(
        &self,
        compose: &Compose,
        args: &[&str],
        stdin: &[u8],
        env: &[(&str, &Secret)],
    ) -> Result<crate::compose::ExecOutput, PsqlError> {
        match &self.place {
            Place::Service(service) => Ok(compose.exec_with(service, args, stdin, env)?),
            Place::Host { host, port, passwords } => {
                crate::host_psql::exec(compose, host, port, passwords, &args[1..], stdin, env)
            }
        }
    }

    /// Runs `script` in `database` as the superuser over the local socket.
    /// Returns what the script printed (tuples only, unaligned).
    pub fn run(&self, database: &str, script: &Script) -> Result<String, PsqlError> {
        let compose = self.compose.also_redacting(script.encoded_secrets());
        let out = self.exec(
            &compose,
            &["psql", "-X", "-q", "-t", "-A", "-U", ADMIN, "-d", database, "-f", "-"],
            &script.render(),
            &[],
        )?;
        if out.success() {
            return Ok(out.stdout);
        }
        let message = first_error(&out.stderr);
        // psql exits 2 when the connection itself failed, 3 when a statement failed.
        if out.code == 3 {
            Err(PsqlError::Refused {
                database: database.to_string(),
                message,
            })
        } else {
            Err(PsqlError::Unreachable {
                database: database.to_string(),
                message,
            })
        }
    }

    /// A query without secrets; one output line a row.
    pub fn query(&self, database: &str, sql: &str) -> Result<Vec<String>, PsqlError> {
        let out = self.run(database, &Script::new().sql(sql))?;
        Ok(out.lines().map(str::to_string).filter(|l| !l.is_empty()).collect())
    }

    /// The roles of [`SERVICE_ROLES`] that exist and may log in, sorted.
    pub fn login_roles(&self, database: &str) -> Result<Vec<String>, PsqlError> {
        self.query(
            database,
            &format!(
                "SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname = ANY({}) ORDER BY 1;",
                service_roles_sql()
            ),
        )
    }

    /// Whether `database` exists, asking over a connection to `main`.
    pub fn database_exists(&self, main: &str, database: &str) -> Result<bool, PsqlError> {
        let rows = self.query(
            main,
            &format!(
                "SELECT 1 FROM pg_database WHERE datname = '{}';",
                database.replace('\'', "''")
            ),
        )?;
        Ok(!rows.is_empty())
    }

    /// Logs in as `role` with `password` over TCP inside the container, the
    /// way a service connects. The password travels in `PGPASSWORD`.
    pub fn login(&self, role: &str, password: &Secret, database: &str) -> Result<Login, PsqlError> {
        let compose = self.compose.also_redacting([password.clone()]);
        let out = self.exec(
            &compose,
            &[
                "psql",
                "-X",
                "-w",
                "-q",
                "-t",
                "-A",
                "-h",
                "127.0.0.1",
                "-U",
                role,
                "-d",
                database,
                "-c",
                "SELECT 1",
            ],
            b"",
            &[("PGPASSWORD", password)],
        )?;
        if out.success() && out.stdout.trim() == "1" {
            return Ok(Login::Accepted);
        }
        if out.stderr.contains("password authentication failed") {
            return Ok(Login::Refused);
        }
        Err(PsqlError::Unreachable {
            database: database.to_string(),
            message: first_error(&out.stderr),
        })
    }
}

/// The first line psql reports as an error, without psql's `psql:<stdin>:N:` prefix.
fn first_error(stderr: &str) -> String {
    let line = stderr
        .lines()
        .map(str::trim)
        .find(|l| l.contains("ERROR") || l.contains("FATAL") || l.contains("error"))
        .or_else(|| stderr.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or("no message");
    let line = match line.find("ERROR:") {
        Some(at) => &line[at..],
        None => line,
    };
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_reaches_psql_hex_encoded_whatever_it_holds() {
        let value = Secret::new("it's a \\ 'quote' $$ and :'var'");
        let script = Script::new().secret("pw", &value).sql("SELECT 1;");
        let text = String::from_utf8(script.render()).unwrap();
        assert!(!text.contains(value.expose()));
        assert!(text.contains(&format!("\\set pw_hex '{}'", hex(&value))));
        assert!(text.contains("current_setting") || text.contains("set_config('receptor.pw'"));
        assert!(text.starts_with("\\set ON_ERROR_STOP on\n"));
        assert_eq!(script.encoded_secrets()[0].expose(), hex(&value));
    }

    #[test]
    fn the_error_line_loses_psql_prefix_and_spacing() {
        assert_eq!(
            first_error("psql:<stdin>:7: ERROR:  function x() does not exist\n"),
            "ERROR: function x() does not exist"
        );
        assert_eq!(
            first_error("psql: error: connection to server on socket failed: FATAL:  role \"x\" does not exist"),
            "psql: error: connection to server on socket failed: FATAL: role \"x\" does not exist"
        );
    }
}
