//! Concurrency: `setup` runs started together on one project take turns on
//! the project lock; exactly one of them writes, nothing is lost.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::faults::{self, Scenario};
use crate::common::{Outcome, Sandbox};

/// Starts `n` runs at once and returns what each printed.
fn together(scenario: &Scenario, sb: &Sandbox, n: usize) -> Vec<Outcome> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            let mut cmd = scenario.run(sb).cmd;
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| Outcome::from(c.wait_with_output().unwrap()))
        .collect()
}

/// 2 to 8 runs at once, three rounds each, on a fresh and on a stale project.
fn rounds(scenario: &Scenario) -> usize {
    let mut runs = 0;
    for n in 2..=8 {
        for round in 0..3 {
            let context = format!("{}: {n} runs at once, round {round}", scenario.name);
            let sb = scenario.trial();
            let outs = together(scenario, &sb, n);
            runs += n;
            for out in &outs {
                assert_eq!(out.code, 0, "{context}\n{}\n{}", out.stdout, out.stderr);
            }
            let writers = outs
                .iter()
                .filter(|o| o.stdout.contains("wrote receptor-dev/.env"))
                .count();
            let idle = outs.iter().filter(|o| o.stdout.contains("no changes")).count();
            assert_eq!((writers, idle), (1, n - 1), "{context}: exactly one run writes");
            let backups = outs.iter().filter(|o| o.stdout.contains("backed up")).count();
            assert_eq!(backups, usize::from(scenario.before.is_some()), "{context}");
            let left = scenario.check_after_crash(&sb, &context);
            assert_eq!(left, faults::Left::New, "{context}");
            scenario.recover(&sb, left, &context);
        }
    }
    runs
}

#[test]
fn concurrent_setups_on_a_fresh_project_write_one_generation() {
    let runs = rounds(&Scenario::fresh());
    eprintln!("fresh project: {runs} runs in 21 concurrent groups, one writer each");
}

#[test]
fn concurrent_setups_on_a_stale_project_back_up_once_and_write_once() {
    let runs = rounds(&Scenario::stale());
    eprintln!("stale project: {runs} runs in 21 concurrent groups, one writer and one backup each");
}

/// A run that finds the lock taken says it is waiting, then carries on
/// when the holder finishes, and finds nothing left to do.
#[test]
fn a_second_run_waits_for_the_lock_and_says_so() {
    let scenario = Scenario::stale();
    let sb = scenario.trial();
    let holder = faults::stop_at(scenario.run(&sb), "locked");
    let err_path = sb.path("second.stderr");
    let mut cmd = scenario.run(&sb).cmd;
    cmd.stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let second = cmd.spawn().unwrap();
    let start = Instant::now();
    while !std::fs::read_to_string(&err_path)
        .unwrap_or_default()
        .contains("waiting for another cargo xtask run on this project to finish")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the second run never said it waits"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !sb.path("receptor-dev/backups").exists(),
        "the second run wrote while the first held the lock"
    );
    let first = Outcome::from(faults::resume(holder));
    let second = Outcome::from(second.wait_with_output().unwrap());
    assert_eq!((first.code, second.code), (0, 0), "{}\n{}", first.stderr, second.stdout);
    first.stdout_has("wrote receptor-dev/.env");
    second.stdout_has("no changes");
}
