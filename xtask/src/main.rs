//! Receptor platform tooling: `cargo xtask setup`, `rotate` and `verify`.
//!
//! This file only parses flags and dispatches; each task lives in its own module.

use clap::{Parser, Subcommand};

use xtask::config::Env;
use xtask::{project, setup};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  findings (verify), or a change that failed and was rolled back
  2  bad input: usage, setup.conf, .env, project name, a weak or default secret
  3  a required secret is missing and there is no terminal to ask on
  4  an external tool failed or is missing: git, Docker Compose, a vault CLI
  5  the file system: a file cannot be written, or another run holds the lock";

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
    /// In dev, every missing infrastructure (Tier 1) secret is generated from
    /// the operating system's random source; empty values and published
    /// defaults count as missing. Existing sound values are always kept, and
    /// ANON_KEY / SERVICE_ROLE_KEY are kept while they verify under JWT_SECRET.
    /// Third-party (Tier 2) secrets are never generated. A second run changes
    /// nothing. No value is ever printed.
    #[command(after_help = concat!(
        "Examples:\n",
        "  cargo xtask setup --env dev                        # receptor-dev/ from docker/\n",
        "  cargo xtask setup --env dev --project-name demo    # demo/ instead\n",
        "  cargo xtask setup --env dev --upstream             # Supabase's docker/ at setup.conf's pinned ref\n",
        "  cargo xtask setup --env dev --upstream v1.2.3      # ... at another ref\n",
        "  cargo xtask setup --env dev --up                   # then docker compose up -d --wait\n",
        "\n",
        "Exit codes: 0 done, 2 bad input, 4 git failed, 5 cannot write or locked"
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
        /// Then start the stack (docker compose up -d --wait) and show each service's health.
        #[arg(long)]
        up: bool,
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
            up,
        } => setup::run(
            &root,
            &setup::Options {
                env,
                project_name,
                upstream,
                up,
            },
        ),
    };
    if let Err(err) = result {
        for line in err.to_string().lines() {
            eprintln!("error: {line}");
        }
        std::process::exit(err.exit_code());
    }
}
