//! Crash safety: `setup` SIGKILLed at each named step and at random moments.
//! Whatever the moment, `.env` is the complete old file or the complete new
//! one, backups are complete, leftovers are only temporary files that the
//! next run removes, and two re-runs reach "no changes".

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::common::faults::{self, Left, Scenario};
use crate::common::stack::Stack;

/// Each named pause point a run of the scenario must reach; the test kills it there.
fn named_trials(scenario: &Scenario, specs: &[&str]) -> BTreeMap<Left, usize> {
    let mut outcomes = BTreeMap::new();
    for spec in specs {
        let sb = scenario.trial();
        let context = format!("{}, killed at {spec}", scenario.name);
        let child = faults::stop_at(scenario.run(&sb), spec);
        faults::kill(child);
        let left = scenario.check_after_crash(&sb, &context);
        scenario.recover(&sb, left, &context);
        *outcomes.entry(left).or_insert(0) += 1;
    }
    eprintln!("{}: {} named kills survived: {outcomes:?}", scenario.name, specs.len());
    outcomes
}

#[test]
fn killed_at_each_named_step_of_a_fresh_setup() {
    let outcomes = named_trials(
        &Scenario::fresh(),
        &[
            "locked",
            "copy-mid-write",
            "copy-mid-write:docker-compose.yml",
            "copy-mid-write:.env.example",
            "created:.gitignore",
            "mid-write:.gitignore",
            "after-rename:.gitignore",
            "created:.env",
            "mid-write:.env",
            "before-rename:.env",
            "after-rename:.env",
        ],
    );
    assert_eq!(outcomes.get(&Left::Absent), Some(&10));
    assert_eq!(
        outcomes.get(&Left::New),
        Some(&1),
        "after the rename the new file stands"
    );
}

#[test]
fn killed_at_each_named_step_of_a_setup_that_changes_an_env() {
    let outcomes = named_trials(
        &Scenario::stale(),
        &[
            "locked",
            "before-backup",
            "created:.env.*",
            "mid-write:.env.*",
            "before-rename:.env.*",
            "after-rename:.env.*",
            "after-backup",
            "created:.env",
            "mid-write:.env",
            "before-rename:.env",
            "after-rename:.env",
        ],
    );
    assert_eq!(outcomes.get(&Left::Old), Some(&10));
    assert_eq!(outcomes.get(&Left::New), Some(&1));
}

/// Kills `trials` runs of the scenario after a random delay spread over a
/// whole uninterrupted run; returns how many runs the kill interrupted.
fn random_kills(scenario: &Scenario, trials: usize) -> usize {
    let seed = std::env::var("RECEPTOR_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random::<u64>());
    let mut rng = StdRng::seed_from_u64(seed);
    // How long a whole run takes here, spawn included: the fastest of five,
    // so that most kills land before the run ends.
    let mut spans = Vec::new();
    for _ in 0..5 {
        let sb = scenario.trial();
        let start = Instant::now();
        scenario.run(&sb).succeeds();
        spans.push(start.elapsed());
    }
    spans.sort();
    // A run that ended before its kill means runs got faster than measured
    // (the machine's load fell): the span shrinks, so the kills keep landing.
    let mut span = spans[0].as_micros() as u64;
    let mut interrupted = 0;
    let mut mid_write = 0;
    let mut outcomes = BTreeMap::new();
    for trial in 0..trials {
        let sb = scenario.trial();
        let delay = rng.random_range(0..span);
        let context = format!(
            "{}, trial {trial}, killed after {delay} µs (RECEPTOR_FAULT_SEED={seed})",
            scenario.name
        );
        let mut cmd = scenario.run(&sb).cmd;
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_micros(delay));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.code().is_none() {
            interrupted += 1;
        } else {
            span = (span * 3 / 4).max(1);
        }
        let left = scenario.check_after_crash(&sb, &context);
        let temps = faults::files(&sb.path(scenario.project))
            .keys()
            .any(|p| xtask::private_file::is_temp_name(&p.file_name().unwrap().to_string_lossy()));
        mid_write += usize::from(temps);
        scenario.recover(&sb, left, &context);
        *outcomes.entry(left).or_insert(0) += 1;
    }
    eprintln!(
        "{}: {trials} random kills over a {span} µs run, {interrupted} interrupted it ({mid_write} while a file was being written), all survived: {outcomes:?} (RECEPTOR_FAULT_SEED={seed})",
        scenario.name
    );
    interrupted
}

/// Stops each run at `anchor`, lets it go on, and kills it after a random
/// delay spread over the rest of the run: the writes that follow the anchor
/// are hit at moments no pause point names. Returns how many kills landed
/// before the run ended.
fn random_kills_after(scenario: &Scenario, anchor: &str, trials: usize) -> usize {
    let seed = std::env::var("RECEPTOR_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random::<u64>());
    let mut rng = StdRng::seed_from_u64(seed);
    let mut spans = Vec::new();
    for _ in 0..5 {
        let sb = scenario.trial();
        let child = faults::stop_at(scenario.run(&sb), anchor);
        let start = Instant::now();
        let out = faults::resume(child);
        spans.push(start.elapsed());
        assert!(out.status.success());
    }
    spans.sort();
    // Shrinks after a kill that came too late, as in `random_kills`.
    let mut span = spans[0].as_micros() as u64;
    let (mut interrupted, mut mid_write) = (0, 0);
    let mut outcomes = BTreeMap::new();
    for trial in 0..trials {
        let sb = scenario.trial();
        let delay = rng.random_range(0..span);
        let context = format!(
            "{}, trial {trial}, killed {delay} µs after {anchor} (RECEPTOR_FAULT_SEED={seed})",
            scenario.name
        );
        let mut child = faults::stop_at(scenario.run(&sb), anchor);
        faults::cont(&child);
        std::thread::sleep(Duration::from_micros(delay));
        let _ = child.kill();
        if child.wait().unwrap().code().is_none() {
            interrupted += 1;
        } else {
            span = (span * 3 / 4).max(1);
        }
        let left = scenario.check_after_crash(&sb, &context);
        let temps = faults::files(&sb.path(scenario.project))
            .keys()
            .any(|p| xtask::private_file::is_temp_name(&p.file_name().unwrap().to_string_lossy()));
        mid_write += usize::from(temps);
        scenario.recover(&sb, left, &context);
        *outcomes.entry(left).or_insert(0) += 1;
    }
    eprintln!(
        "{}: {trials} random kills in the {span} µs after {anchor}, {interrupted} interrupted the run ({mid_write} while a file was being written), all survived: {outcomes:?} (RECEPTOR_FAULT_SEED={seed})",
        scenario.name
    );
    interrupted
}

#[test]
fn killed_at_random_moments_after_the_lock_of_a_fresh_setup() {
    let interrupted = random_kills_after(&Scenario::fresh(), "locked", 40);
    assert!(
        interrupted >= 25,
        "only {interrupted} of 40 kills landed during the run"
    );
}

#[test]
fn killed_at_random_moments_after_the_backup_starts() {
    let interrupted = random_kills_after(&Scenario::stale(), "before-backup", 40);
    assert!(
        interrupted >= 25,
        "only {interrupted} of 40 kills landed during the run"
    );
}

#[test]
fn killed_at_random_moments_of_a_fresh_setup() {
    let interrupted = random_kills(&Scenario::fresh(), 60);
    assert!(
        interrupted >= 40,
        "only {interrupted} of 60 kills landed during the run"
    );
}

#[test]
fn killed_at_random_moments_of_a_setup_that_changes_an_env() {
    let interrupted = random_kills(&Scenario::stale(), 60);
    assert!(
        interrupted >= 40,
        "only {interrupted} of 60 kills landed during the run"
    );
}

/// A run killed after writing `.env` but before recreating the containers:
/// the next `setup` says the running stack is behind and how to apply it.
#[test]
fn a_kill_between_writing_env_and_up_is_reported_by_the_next_setup() {
    let stack = Stack::up();
    let old = stack.env();
    let path = format!("{}/.env", stack.project);
    stack.sb.write(
        &path,
        &stack
            .sb
            .read(&path)
            .replace(&format!("JWT_SECRET={}", old["JWT_SECRET"]), "JWT_SECRET="),
    );
    let args = ["setup", "--env", "dev", "--project-name", &stack.project];
    let up: Vec<&str> = args.iter().copied().chain(["--up"]).collect();
    let child = faults::stop_at(stack.sb.xtask(&up), "before-up");
    faults::kill(child);
    let new = stack.env();
    assert_ne!(new["JWT_SECRET"], old["JWT_SECRET"]);
    assert!(!new["JWT_SECRET"].is_empty(), "the new .env was written whole");

    let out = stack.sb.xtask(args).succeeds();
    out.stdout_has("no changes")
        .stdout_has("the running stack does not use these .env values yet")
        .stdout_has("kong: ANON_KEY, SERVICE_ROLE_KEY")
        .stdout_has(&format!("--project-name {} --up", stack.project));
    out.never_shows(&[&new["JWT_SECRET"], &new["ANON_KEY"], &old["JWT_SECRET"]]);
    assert_eq!(stack.rest(&new["ANON_KEY"]), 401);

    stack.sb.xtask(&up).succeeds();
    assert_eq!(stack.rest(&new["ANON_KEY"]), 404);
    stack
        .sb
        .xtask(args)
        .succeeds()
        .stdout_has("the running stack uses the values in .env");
}
