//! Receptor platform tooling: `cargo xtask setup`, `rotate` and `verify`.
//!
//! This file only parses flags and dispatches; each task lives in its own module.

use clap::{Parser, Subcommand};

use xtask::config::Env;
use xtask::rotate::Selection;
use xtask::verify::{self, Format, Scope};
use xtask::{project, rotate, setup};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  findings (verify), or a change that failed and was rolled back
  2  bad input: usage, setup.conf, .env, project name, a weak or default secret
  3  a required secret or confirmation is missing and there is no terminal to ask on,
     or its prompt was abandoned
  4  an external tool failed or is missing: git, Docker Compose, a vault CLI
  5  the file system: a file cannot be written, or another run holds the lock
  6  a change failed and its rollback failed too: the stack needs attention";

/// Receptor's key management: lay out the Supabase stack and keep its secrets.
#[derive(Parser, Debug)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Lay out a project folder from the stack template and fill its .env.
    ///
    /// dev: every missing infrastructure (Tier 1) secret is generated from the
    /// operating system's random source; empty values and published defaults
    /// count as missing. Sound values are kept, and ANON_KEY / SERVICE_ROLE_KEY
    /// are kept while they verify under JWT_SECRET.
    ///
    /// staging, prod: nothing is ever generated. Each Tier 1 secret comes from
    /// the environment variable of the same name (JWT_SECRET, POSTGRES_PASSWORD,
    /// …), else is kept from the project's .env, else is asked for on the
    /// terminal (unseen, typed twice); with no terminal (CI set, standard input
    /// not a terminal, or --non-interactive) the run fails at once, naming every
    /// missing variable. ANON_KEY / SERVICE_ROLE_KEY, when injected, must verify
    /// under JWT_SECRET with their role; otherwise they are minted from it. An
    /// injected value that differs from the .env of an existing project is a
    /// rotation: it is refused unless --force says the stack is fresh.
    ///
    /// Every environment: Tier 2 secrets are resolved from setup.conf's
    /// [secrets] references (${VAR}, bws:<key>, doppler:<NAME>) with one call
    /// per vault, [settings] are written as they are, and a summary shows what
    /// happened to each variable and where its value came from. A second run
    /// changes nothing. No value is ever printed.
    #[command(after_help = concat!(
        "Examples:\n",
        "  cargo xtask setup --env dev                        # receptor-dev/ from docker/\n",
        "  cargo xtask setup --env dev --project-name demo    # demo/ instead\n",
        "  cargo xtask setup --env dev --upstream             # Supabase's docker/ at setup.conf's pinned ref\n",
        "  cargo xtask setup --env dev --upstream v1.2.3      # ... at another ref\n",
        "  cargo xtask setup --env dev --upstream v1.3.0 --upgrade  # move the project to a new ref\n",
        "  cargo xtask setup --env dev --upstream --adopt ~/supabase/docker  # take over an install\n",
        "  cargo xtask setup --env dev --up                   # then docker compose up -d --wait\n",
        "  cargo xtask setup --env staging                    # injected values; asks for the missing ones\n",
        "  cargo xtask setup --env staging --non-interactive  # CI: fails at once if any is missing\n",
        "  doppler run -- cargo xtask setup --env prod        # Tier 1 injected from Doppler\n",
        "  cargo xtask setup --env prod --force               # a fresh stack: accept injected values that differ\n",
        "\n",
        "Exit codes: 0 done, 2 bad input or a refused value, 3 a secret is missing and there is no terminal,\n",
        "4 git, Docker Compose or a vault CLI failed, 5 cannot write or locked"
    ))]
    Setup {
        /// The environment: dev generates secrets; staging and prod never do.
        #[arg(long, value_enum)]
        env: Env,
        /// The project folder at the repository root (default: from setup.conf, e.g. receptor-dev).
        #[arg(long, value_name = "NAME")]
        project_name: Option<String>,
        /// Take the stack from Supabase's git repository instead of docker/, at REF
        /// (default: stack.upstream_ref in setup.conf).
        #[arg(long, value_name = "REF", num_args = 0..=1)]
        upstream: Option<Option<String>>,
        /// Never prompt: fail at once (exit 3) when a Tier 1 secret is missing.
        /// Implied when CI is set or standard input is not a terminal.
        #[arg(long)]
        non_interactive: bool,
        /// Staging and prod: write injected Tier 1 values that differ from the
        /// project's .env. Only for a stack known to be fresh; a stack in use
        /// needs `cargo xtask rotate`.
        #[arg(long)]
        force: bool,
        /// Then start the stack (docker compose up -d --wait) and show each service's health.
        #[arg(long)]
        up: bool,
        /// Move an existing project to this run's stack template (another ref,
        /// or between embedded and upstream): unmodified template files are
        /// replaced, modified ones kept with the new version next to each as
        /// FILE.new, and new .env.example variables added.
        #[arg(long)]
        upgrade: bool,
        /// Take over an existing upstream install at DIR (its compose files,
        /// volumes/ and the .env that generate-keys.sh wrote) as this project:
        /// every sound value is kept, keys that verify are not re-minted, only
        /// published placeholders are replaced; DIR itself is left as it is.
        #[arg(long, value_name = "DIR")]
        adopt: Option<std::path::PathBuf>,
    },
    /// Give keys of a running stack new values, ending consistent whatever fails.
    ///
    /// New values are generated in dev; in staging and prod they come from
    /// the environment variable of the same name, else a prompt. Tier 2
    /// values always come from their source: setup.conf's reference (the
    /// environment, bws, doppler), else the variable of the same name. A new JWT_SECRET re-mints ANON_KEY and
    /// SERVICE_ROLE_KEY and rebuilds JWT_KEYS / JWT_JWKS; a new
    /// POSTGRES_PASSWORD is set on the service roles inside the database.
    ///
    /// Under the project lock: back up .env (backups/), write the new one,
    /// change the database, recreate exactly the services that read the
    /// changed variables, wait for health, then check as a client (old keys
    /// refused, new ones accepted, the Edge Function answers, every service
    /// role logs in). Any failure puts the previous .env and database values
    /// back, recreates and checks again (exit 1). Each run is recorded in the
    /// project's audit.log, without values.
    #[command(after_help = concat!(
        "Examples:\n",
        "  cargo xtask rotate JWT_SECRET --env dev --dry-run        # show the plan, change nothing\n",
        "  cargo xtask rotate JWT_SECRET --env dev                  # asks before ending user sessions\n",
        "  cargo xtask rotate POSTGRES_PASSWORD --env prod          # from $POSTGRES_PASSWORD, else a prompt\n",
        "  cargo xtask rotate SMTP_PASS --env staging               # Tier 2: from setup.conf's reference\n",
        "  cargo xtask rotate --tier 1 --env dev --yes              # every Tier 1 key but the encrypting ones\n",
        "  cargo xtask rotate --rollback --env dev                  # put the newest backup back\n",
        "  cargo xtask rotate --rollback .env.20261128T194705Z --env dev\n",
        "\n",
        "Exit codes: 0 done, 1 failed and rolled back, 2 bad input or refused, 3 confirmation\n",
        "or new value missing with no terminal, 4 Docker Compose or psql failed (nothing changed),\n",
        "5 cannot write or locked, 6 failed and the rollback failed too (the message says what to run)"
    ))]
    Rotate {
        /// The variables to rotate (see docs/key-management.md).
        #[arg(value_name = "NAME", required_unless_present_any = ["tier", "all", "rollback"], conflicts_with_all = ["tier", "all", "rollback"])]
        names: Vec<String>,
        /// Every Tier 1 key the tool makes (the encrypting ones only with the override).
        #[arg(long, value_name = "TIER", value_parser = clap::value_parser!(u8).range(1..=1), conflicts_with_all = ["all", "rollback"])]
        tier: Option<u8>,
        /// Tier 1, and every Tier 2 secret that is set or has a new value.
        #[arg(long, conflicts_with = "rollback")]
        all: bool,
        /// The environment: dev generates new values; staging and prod take them from their source.
        #[arg(long, value_enum)]
        env: Env,
        /// The project folder at the repository root (default: from setup.conf, e.g. receptor-dev).
        #[arg(long, value_name = "NAME")]
        project_name: Option<String>,
        /// Confirm ending every user session (JWT_SECRET) without asking: for automation.
        #[arg(long)]
        yes: bool,
        /// Never prompt (for a missing value or a confirmation): fail at once instead.
        #[arg(long)]
        non_interactive: bool,
        /// Show the plan (variables, services, database statements with values redacted) and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// The gateway to check against (default: http://127.0.0.1:$KONG_HTTP_PORT).
        #[arg(long, value_name = "URL")]
        gateway_url: Option<String>,
        /// Allow VAULT_ENC_KEY and REALTIME_DB_ENC_KEY: data encrypted with the old key becomes unreadable.
        #[arg(long = "i-understand-encrypted-data-becomes-unreadable")]
        allow_encrypting: bool,
        /// Put a backup of .env back (the newest that differs from .env, or the one named), with its database values.
        #[arg(long, value_name = "BACKUP", num_args = 0..=1)]
        rollback: Option<Option<String>>,
    },
    /// Check the repository and a project's secrets; print findings, never values.
    ///
    /// The repository scope (the default, what CI runs; needs no secret): no
    /// .env, backup or project folder tracked by git and all of them ignored;
    /// setup.conf and docker/.env.example hold no secret; the compose file,
    /// .env.example and the catalog agree; no tracked file holds a
    /// Supabase-shaped JWT, an sb_secret_ key, a private key block or the
    /// current value of a project's secret. A line carrying
    /// `receptor-verify: allow` is never reported.
    ///
    /// The project scope (--env and/or --project-name): the project's .env
    /// against the catalog: every required secret set and within its rule, no
    /// published default, API keys that verify under JWT_SECRET with their role,
    /// not expired (a warning within 30 days), the file 0600 and yours; in
    /// staging and prod also Tier 2 references resolved and no localhost URLs.
    #[command(after_help = concat!(
        "Examples:\n",
        "  cargo xtask verify                                 # the repository, as CI runs it\n",
        "  cargo xtask verify --history                       # ... and every blob of git history\n",
        "  cargo xtask verify --env dev                       # receptor-dev/.env against the catalog\n",
        "  cargo xtask verify --env prod --strict             # receptor-prod/, warnings fail too\n",
        "  cargo xtask verify --scope all --project-name demo # the repository and demo/\n",
        "  cargo xtask verify --format junit > verify.xml     # a GitLab test report\n",
        "\n",
        "Exit codes: 0 clean, 1 findings, 2 could not run (not a git repository, no such project folder, ...)"
    ))]
    Verify {
        /// What to check (default: project when --env or --project-name is given, else repo).
        #[arg(long, value_enum)]
        scope: Option<Scope>,
        /// The project's environment: staging and prod get the stricter checks.
        #[arg(long, value_enum)]
        env: Option<Env>,
        /// The project folder (default: from setup.conf for --env, e.g. receptor-dev).
        #[arg(long, value_name = "NAME")]
        project_name: Option<String>,
        /// Also scan every blob reachable from any git ref for leaked secrets.
        #[arg(long)]
        history: bool,
        /// How to print the report.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Warnings count as findings (exit 1).
        #[arg(long)]
        strict: bool,
        /// Also check the running stack: drift, the gateway, an Edge Function, database logins.
        #[arg(long)]
        live: bool,
        /// With --live: the gateway's URL (default: http://127.0.0.1:KONG_HTTP_PORT).
        #[arg(long, value_name = "URL", requires = "live")]
        gateway_url: Option<String>,
    },
}

fn main() {
    let cli = Cli::parse();
    let root = project::repo_root();
    let result = match cli.command {
        Command::Setup {
            env,
            project_name,
            upstream,
            non_interactive,
            force,
            up,
            upgrade,
            adopt,
        } => setup::run(
            &root,
            &setup::Options {
                env,
                project_name,
                upstream,
                non_interactive,
                force,
                up,
                upgrade,
                adopt,
            },
        )
        .map(|()| 0),
        Command::Rotate {
            names,
            tier,
            all,
            env,
            project_name,
            yes,
            non_interactive,
            dry_run,
            gateway_url,
            allow_encrypting,
            rollback,
        } => {
            let selection = if all {
                Some(Selection::All)
            } else if tier.is_some() {
                Some(Selection::Tier1)
            } else if names.is_empty() {
                None
            } else {
                Some(Selection::Names(names))
            };
            rotate::run(
                &root,
                &rotate::Options {
                    env,
                    project_name,
                    selection,
                    yes,
                    non_interactive,
                    dry_run,
                    gateway_url,
                    allow_encrypting,
                    rollback,
                },
            )
            .map(|()| 0)
        }
        Command::Verify {
            scope,
            env,
            project_name,
            history,
            format,
            strict,
            live,
            gateway_url,
        } => verify::run(
            &root,
            &verify::Options {
                scope,
                env,
                project_name,
                history,
                strict,
                live,
                gateway_url,
            },
        )
        .map(|report| {
            print!("{}", verify::render(&report, format));
            report.exit_code()
        }),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            for line in err.to_string().lines() {
                eprintln!("error: {line}");
            }
            std::process::exit(err.exit_code());
        }
    }
}
