//! Kong's DNS cache after a rotation: a project laid out as Supabase's own compose
//! file is (kong publishes the gateway's port, no kong-front, no `KONG_DNS_VALID_TTL`,
//! so Kong keeps each service's address for the 600 s of Docker's DNS) has Kong
//! recreated after the services behind it, and requests through the gateway reach
//! the new containers. On the real test stack; fails, never skips, without Docker.

use std::collections::BTreeMap;
use std::process::Command;

use crate::common::stack::Stack;

/// The address of each of `services` on the project's network.
fn addresses(stack: &Stack, services: &[&str]) -> BTreeMap<String, String> {
    let ids = stack.container_ids();
    services
        .iter()
        .map(|service| {
            let out = Command::new("docker")
                .args([
                    "inspect",
                    "--format",
                    "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                ])
                .arg(&ids[*service])
                .output()
                .expect("docker inspect runs");
            (
                service.to_string(),
                String::from_utf8_lossy(&out.stdout).trim().to_string(),
            )
        })
        .collect()
}

#[test]
fn kong_is_recreated_after_the_services_it_caches_and_the_gateway_reaches_their_new_containers() {
    let stack = Stack::up_kong_published();
    // Its address, lower than those of auth, functions and rest, is free now.
    stack.remove("one-off");
    let behind = ["auth", "functions", "rest"];
    let (ids, before) = (stack.container_ids(), addresses(&stack, &behind));

    let plan = stack.rotate(&["POSTGRES_PASSWORD", "--dry-run"]).succeeds();
    plan.stdout_has(
        "then kong is recreated too: it caches the addresses of auth, functions, rest for 600 s (no KONG_DNS_VALID_TTL",
    );
    assert_eq!(stack.container_ids(), ids, "a dry run changes nothing");

    let out = stack.rotate(&["POSTGRES_PASSWORD", "--yes"]).succeeds();
    out.stdout_has("recreating kong: it caches the addresses of auth, functions, rest for 600 s");
    out.stdout_has("auth, functions, rest recreated, then kong;");
    let after = stack.container_ids();
    for service in ["auth", "functions", "kong", "rest"] {
        assert_ne!(ids[service], after[service], "{service} was recreated");
    }
    // What makes Kong's cache wrong: a recreated service answers at another address.
    let now = addresses(&stack, &behind);
    assert!(
        behind.iter().any(|s| before[*s] != now[*s]),
        "every service came back at its old address ({before:?}), so this test could not fail"
    );
    // Within Kong's 600 s: every route reaches the container now behind its name.
    stack.assert_works_with(&stack.env());
}

/// The rollback of a failed rotation recreates the services again, and Kong after them.
#[cfg(feature = "test-hooks")]
#[test]
fn a_rotation_rolled_back_has_kong_recreated_after_the_restored_services_too() {
    let stack = Stack::up_kong_published();
    stack.remove("one-off");
    let old = stack.env();

    let out = stack
        .rotate(&["POSTGRES_PASSWORD", "--yes"])
        .env("RECEPTOR_TEST_FAIL_AT", "check")
        .fails_with(1);
    out.stdout_has("rolling back to the previous .env");
    let refreshes = out
        .stdout
        .matches("recreating kong: it caches the addresses of")
        .count();
    assert_eq!(
        refreshes, 2,
        "after the rotation's recreate and after the rollback's:\n{}",
        out.stdout
    );
    stack.assert_works_with(&old);
}
