//! Receptor's integration tests, one binary (one link, `common` compiled
//! once): each module drives the real `xtask` binary as a user would.
//! Filter by module: `cargo nextest run -p xtask -E 'test(/^setup_dev::/)'`.

mod common;

mod compose_stack;
mod output_snapshots;
mod rotate_dry_run;
mod rotate_external_db;
mod rotate_gateway_cache;
mod rotate_paths;
mod rotate_rollback;
mod rotate_terminal;
mod rotate_unfinished_stage;
mod rotate_zero_drop;
mod setup_dev;
mod setup_dry_run;
mod setup_injected;
mod setup_prompt;
mod setup_upstream;
mod setup_upstream_layouts;
mod setup_vaults;
mod stack_keys;
mod stand_in_front;
mod tidy;
mod verify_live;
mod verify_output;
mod verify_project;
mod verify_repo;

// These stop the binary at pause points or make steps fail: they need the hooks.
#[cfg(feature = "test-hooks")]
mod faults;
#[cfg(feature = "test-hooks")]
mod rotate_api_key_overlap;
#[cfg(feature = "test-hooks")]
mod rotate_failures;
#[cfg(feature = "test-hooks")]
mod rotate_signing_key;
