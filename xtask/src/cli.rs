//! The command line: one subcommand per task, each taking its task's own
//! options struct, and the flags every task shares (`--env`,
//! `--project-name`) declared once and resolved to a project once.

use std::path::Path;

use clap::{Parser, Subcommand};

use crate::config::{Env, SetupConf};
use crate::error::exit_codes_text;
use crate::project::{BadProjectName, Project};
use crate::{rotate, setup, verify};

/// `--env` and `--project-name`: which project a command works on.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ProjectArgs {
    /// The environment (required by setup and rotate).
    #[arg(long, value_enum)]
    pub env: Option<Env>,
    /// The project folder at the repository root (default: setup.conf's name for the environment, e.g. receptor-dev).
    #[arg(long, value_name = "NAME")]
    pub project_name: Option<String>,
}

impl ProjectArgs {
    /// The environment and the project folder's name. `--env` picks the
    /// environment, whose folder `setup.conf` names; a `--project-name`
    /// alone takes the environment `setup.conf` names it for, else dev.
    pub fn pick<'a>(&'a self, conf: &'a SetupConf) -> (Env, &'a str) {
        let name = self.project_name.as_deref();
        let env = self.env.unwrap_or_else(|| {
            conf.project
                .iter()
                .find(|(_, n)| Some(n.as_str()) == name)
                .map_or(Env::Dev, |(env, _)| env)
        });
        (env, name.unwrap_or(conf.project_name(env)))
    }

    /// The environment and its project folder under `root`.
    pub fn resolve(&self, root: &Path, conf: &SetupConf) -> Result<(Env, Project), BadProjectName> {
        let (env, name) = self.pick(conf);
        Ok((env, Project::new(root, name)?))
    }
}

/// Receptor's key management: lay out the Supabase stack and keep its secrets.
#[derive(Parser, Debug)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, after_help = exit_codes_text(ALL_CODES))]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const ALL_CODES: &[i32] = &[0, 1, 2, 3, 4, 5, 6];

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Lay out a project folder from the stack template and fill its .env.
    ///
    /// dev: every missing infrastructure (Tier 1) secret is generated from the
    /// operating system's random source; empty values and published defaults
    /// count as missing. Sound values are kept, and ANON_KEY / SERVICE_ROLE_KEY
    /// are kept while they verify under JWT_SECRET. JWT_KEYS gets a new ES256
    /// signing key when it has none; JWT_JWKS and the *_ASYMMETRIC keys follow
    /// it, and the HS256 oct key inside both sets follows JWT_SECRET.
    ///
    /// staging, prod: nothing is ever generated. Each Tier 1 secret comes from
    /// the environment variable of the same name (JWT_SECRET, POSTGRES_PASSWORD,
    /// …), else is kept from the project's .env, else is asked for on the
    /// terminal (unseen, typed twice); with no terminal (CI set, standard input
    /// not a terminal, or --non-interactive) the run fails at once, naming every
    /// missing variable. ANON_KEY / SERVICE_ROLE_KEY, when injected, must verify
    /// under JWT_SECRET with their role; otherwise they are minted from it
    /// (likewise JWT_JWKS and the *_ASYMMETRIC keys under JWT_KEYS). An
    /// injected value that differs from the .env of an existing project is a
    /// rotation: it is refused unless --force says the stack is fresh.
    ///
    /// Every environment: Tier 2 secrets are resolved from setup.conf's
    /// [secrets] references (${VAR}, bws:<key>, doppler:<NAME>) with one call
    /// per vault, [settings] are written as they are, and a summary shows what
    /// happened to each variable and where its value came from. A second run
    /// changes nothing. No value is ever printed.
    #[command(
        after_help = after_help(SETUP_EXAMPLES, &[0, 2, 3, 4, 5]),
        mut_arg("env", |a| a.required(true).help("The environment: dev generates secrets; staging and prod never do"))
    )]
    Setup(setup::Options),
    /// Give keys of a running stack new values, ending consistent whatever fails.
    ///
    /// New values are generated in dev; in staging and prod they come from
    /// the environment variable of the same name, else a prompt. Tier 2
    /// values always come from their source: setup.conf's reference (the
    /// environment, bws, doppler), else the variable of the same name. A new JWT_SECRET re-mints ANON_KEY and
    /// SERVICE_ROLE_KEY and rebuilds the HS256 oct key inside JWT_KEYS /
    /// JWT_JWKS (the ES256 signing key stays); SUPABASE_SECRET_KEY and
    /// SUPABASE_PUBLISHABLE_KEY get new sb_ keys (the old ones stop working
    /// when Kong is recreated); a new POSTGRES_PASSWORD is set on the service roles inside the database.
    ///
    /// Under the project lock: back up .env (backups/), write the new one,
    /// change the database, recreate exactly the services that read the
    /// changed variables, wait for health, then check as a client (old keys
    /// refused, new ones accepted, the Edge Function answers, every service
    /// role logs in). Any failure puts the previous .env and database values
    /// back, recreates and checks again (exit 1). Each run is recorded in the
    /// project's audit.log, without values.
    ///
    /// rotate signing-key: a new ES256 signing key without logging anybody
    /// out, in stages, each applied as above and recorded in the project's
    /// signing-key-rotation.json. standby: key B joins JWT_KEYS (verify only)
    /// and JWT_JWKS; the verifiers, then auth, are recreated. switch (600 s
    /// after standby, for caches of the JWKS; at once with
    /// --no-external-verifiers): B signs, the old key A only verifies, the
    /// ES256 API keys are re-minted with B; auth and Kong are recreated.
    /// revoke (JWT_EXPIRY + --margin after the switch; --now to force): A
    /// leaves both sets. Tokens signed by each key are checked at every
    /// verifier behind the gateway. Without --stage the next stage runs when
    /// it is due. A project still signing with JWT_SECRET moves to an EC key
    /// the same way, and keeps the HS256 key verify-only. A stage cut short
    /// is rolled back by the next run before it goes on.
    ///
    /// rotate NAME --overlap DURATION (SUPABASE_SECRET_KEY,
    /// SUPABASE_PUBLISHABLE_KEY, ANON_KEY, SERVICE_ROLE_KEY): the new key goes
    /// to NAME, the old one to NAME_PREVIOUS, and the gateway accepts both as
    /// the same role; rotate NAME --stage revoke (once DURATION has passed;
    /// --now to force) empties NAME_PREVIOUS and the old key gets 401. The
    /// end of each overlap, and the step under way, are kept in
    /// api-key-overlap.json; --status shows them. A step cut short is rolled
    /// back by the next run before it goes on.
    #[command(
        after_help = after_help(ROTATE_EXAMPLES, ALL_CODES),
        mut_arg("env", |a| a.required(true).help(
            "The environment: dev generates new values; staging and prod take them from their source"
        ))
    )]
    Rotate(rotate::Options),
    /// Check the repository and a project's secrets; print findings, never values.
    ///
    /// The repository scope (the default, what CI runs; needs no secret): no
    /// .env, backup or project folder tracked by git and all of them ignored;
    /// setup.conf holds no secret and no ref, URL or vault program setup
    /// would refuse; docker/.env.example holds no secret; the compose file,
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
    #[command(
        after_help = after_help(VERIFY_EXAMPLES, &[0, 1, 2]),
        mut_arg("env", |a| a.help("The project's environment: staging and prod get the stricter checks"))
    )]
    Verify(verify::Options),
}

const SETUP_EXAMPLES: &str = "\
  cargo xtask setup --env dev                        # receptor-dev/ from docker/
  cargo xtask setup --env dev --project-name demo    # demo/ instead
  cargo xtask setup --env dev --upstream             # Supabase's docker/ at setup.conf's pinned ref
  cargo xtask setup --env dev --upstream v1.2.3      # ... at another ref
  cargo xtask setup --env dev --upstream v1.3.0 --upgrade       # move the project to a new ref
  cargo xtask setup --env dev --upstream --adopt ~/supabase/docker  # take over an install
  cargo xtask setup --env dev --up                   # then docker compose up -d --wait
  cargo xtask setup --env staging --dry-run          # the plan and the files it would change; writes nothing
  cargo xtask setup --env staging                    # injected values; asks for the missing ones
  cargo xtask setup --env staging --non-interactive  # CI: fails at once if any is missing
  doppler run -- cargo xtask setup --env prod        # Tier 1 injected from Doppler
  cargo xtask setup --env prod --force               # a fresh stack: accept injected values that differ";

const ROTATE_EXAMPLES: &str = "\
  cargo xtask rotate JWT_SECRET --env dev --dry-run        # show the plan, change nothing
  cargo xtask rotate JWT_SECRET --env dev                  # asks before ending user sessions
  cargo xtask rotate POSTGRES_PASSWORD --env prod          # from $POSTGRES_PASSWORD, else a prompt
  cargo xtask rotate SMTP_PASS --env staging               # Tier 2: from setup.conf's reference
  cargo xtask rotate --tier 1 --env dev --yes              # every Tier 1 key but the encrypting ones
  cargo xtask rotate --rollback --env dev                  # put the newest backup back
  cargo xtask rotate --rollback .env.20261128T194705Z --env dev
  cargo xtask rotate signing-key --env prod --dry-run     # the plan of every stage still to run
  cargo xtask rotate signing-key --env prod               # the next stage, when it is due
  cargo xtask rotate signing-key --env prod --status      # stage, key ids, when the next is due
  cargo xtask rotate signing-key --env dev --stage switch --no-external-verifiers
  cargo xtask rotate SUPABASE_SECRET_KEY --env prod --overlap 24h   # the old key works too until revoke
  cargo xtask rotate SUPABASE_SECRET_KEY --env prod --stage revoke  # once the overlap has ended";

const VERIFY_EXAMPLES: &str = "\
  cargo xtask verify                                 # the repository, as CI runs it
  cargo xtask verify --history                       # ... and every blob of git history
  cargo xtask verify --env dev                       # receptor-dev/.env against the catalog
  cargo xtask verify --env prod --strict             # receptor-prod/, warnings fail too
  cargo xtask verify --scope all --project-name demo # the repository and demo/
  cargo xtask verify --format junit > verify.xml     # a GitLab test report";

fn after_help(examples: &str, codes: &[i32]) -> String {
    // The examples start with a string continuation, which eats the first
    // line's indent: it is put back here.
    format!("Examples:\n  {examples}\n\n{}", exit_codes_text(codes))
}

/// Runs the command and returns its exit code; errors are printed as
/// `error: …` lines on standard error.
pub fn run(cli: Cli, root: &Path) -> i32 {
    let result = match cli.command {
        Command::Setup(options) => setup::run(root, &options).map(|()| 0),
        Command::Rotate(options) => rotate::run(root, &options).map(|()| 0),
        Command::Verify(options) => verify::run(root, &options).map(|report| {
            print!("{}", verify::render(&report, options.format));
            report.exit_code()
        }),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            for line in err.to_string().lines() {
                eprintln!("error: {line}");
            }
            err.exit_code()
        }
    }
}
