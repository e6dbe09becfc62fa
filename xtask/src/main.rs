//! Receptor platform tooling: `cargo xtask setup`, `rotate` and `verify`.
//!
//! This file only parses flags and dispatches (`xtask::cli`); each task
//! lives in its own module.

use clap::Parser;

fn main() {
    let cli = xtask::cli::Cli::parse();
    let root = xtask::project::repo_root();
    std::process::exit(xtask::cli::run(cli, &root));
}
