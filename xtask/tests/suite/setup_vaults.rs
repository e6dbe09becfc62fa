//! Tier 2 secrets from the vaults `setup.conf` references name, through
//! stand-ins for `bws` and `doppler` (their services cannot be reached from
//! here) that print the documented JSON and record how they were called.

use crate::common;

use std::time::{Duration, Instant};

use common::Sandbox;
use common::inject::{canaries, pairs, tier1};
use common::stand_in::StandIn;
use xtask::envfile::EnvFile;

const BWS_TOKEN: &str = "0.CanaryBwsAccessToken.secretpart:B3h5D+YgLvFiQhWkIq6Bow==";
const DOPPLER_TOKEN: &str = "dp.st.CanaryDopplerServiceToken";
const PROJECT_ID: &str = "e325ea69-a3ab-4dff-836f-b02e013fe530";

/// Values with quotes, a `$`, `=`, non-ASCII: each must land in .env exactly.
const SMTP: &str = "Canary it's \"quoted\" $HOME a=b ünïcødé";
const OPENAI: &str = "sk-CanaryOpenAi$1=2'x'";
const CLOUDFLARED: &str = "CanaryTunnel eyJh==";

fn conf(extra: &str) -> String {
    format!(
        "[secrets]\n\
         SMTP_PASS = \"bws:smtp-pass\"\n\
         OPENAI_API_KEY = \"doppler:OPENAI_API_KEY\"\n\
         CLOUDFLARED_TOKEN = \"bws:be8e0ad8-d545-4017-a55a-b02f014d4158\"\n\
         SMS_TWILIO_AUTH_TOKEN = \"${{TWILIO_TOKEN}}\"\n\n\
         [vaults]\ntimeout_secs = 2\n\n\
         [vaults.bws.staging]\nproject_id = \"{PROJECT_ID}\"\n\n\
         [vaults.doppler.staging]\nproject = \"receptor\"\nconfig = \"stg\"\n{extra}"
    )
}

fn bws_listing(smtp: &str) -> String {
    serde_json::json!([
        {"id": "0b3c2f4e-1111-4017-a55a-b02f014d4158", "organizationId": "10e8cbfa-7bd2-4361-bd6f-b02e013f9c41",
         "projectId": PROJECT_ID, "key": "smtp-pass", "value": smtp, "note": "",
         "creationDate": "2026-01-01T00:00:00Z", "revisionDate": "2026-01-01T00:00:00Z"},
        {"id": "be8e0ad8-d545-4017-a55a-b02f014d4158", "organizationId": "10e8cbfa-7bd2-4361-bd6f-b02e013f9c41",
         "projectId": PROJECT_ID, "key": "cloudflared", "value": CLOUDFLARED, "note": "tunnel",
         "creationDate": "2026-01-01T00:00:00Z", "revisionDate": "2026-01-01T00:00:00Z"}
    ])
    .to_string()
}

fn doppler_download() -> String {
    serde_json::json!({
        "DOPPLER_PROJECT": "receptor", "DOPPLER_CONFIG": "stg", "DOPPLER_ENVIRONMENT": "stg",
        "OPENAI_API_KEY": OPENAI
    })
    .to_string()
}

/// A sandbox with setup.conf pointing at the stand-ins, and the stand-ins.
fn vaults(extra: &str, smtp: &str) -> (Sandbox, StandIn, StandIn) {
    let sb = Sandbox::new();
    sb.write("setup.conf", &conf(extra));
    let bws = StandIn::new(&sb, "bws", &bws_listing(smtp));
    let doppler = StandIn::new(&sb, "doppler", &doppler_download());
    (sb, bws, doppler)
}

#[test]
fn vault_values_are_resolved_with_one_call_each_and_tokens_never_in_argv() {
    let (sb, bws, doppler) = vaults("", SMTP);
    let values = tier1();
    let out = sb
        .xtask(["setup", "--env", "staging", "--non-interactive"])
        .path_first(&bws.bin)
        .envs(&pairs(&values))
        .env("BWS_ACCESS_TOKEN", BWS_TOKEN)
        .env("DOPPLER_TOKEN", DOPPLER_TOKEN)
        .env("TWILIO_TOKEN", "CanaryTwilio")
        .env("UNRELATED_CANARY", "CanaryNotForChildren")
        .succeeds();

    let file = EnvFile::load(&sb.path("receptor-stg/.env")).unwrap();
    assert_eq!(file.get("SMTP_PASS").as_deref(), Some(SMTP));
    assert_eq!(file.get("OPENAI_API_KEY").as_deref(), Some(OPENAI));
    assert_eq!(
        file.get("CLOUDFLARED_TOKEN").as_deref(),
        Some(CLOUDFLARED),
        "by secret id"
    );
    assert_eq!(file.get("SMS_TWILIO_AUTH_TOKEN").as_deref(), Some("CanaryTwilio"));

    assert_eq!(
        (bws.calls(), doppler.calls()),
        (1, 1),
        "one call per vault, not one per secret"
    );
    assert_eq!(bws.argv(), ["secret", "list", PROJECT_ID, "--output", "json"]);
    assert_eq!(
        doppler.argv(),
        [
            "secrets",
            "download",
            "--no-file",
            "--format",
            "json",
            "--project",
            "receptor",
            "--config",
            "stg"
        ]
    );
    for argv in [bws.argv(), doppler.argv()] {
        let joined = argv.join(" ");
        assert!(!joined.contains("Canary"), "a token reached argv: {joined}");
    }
    let bws_env = bws.env_names();
    assert!(bws_env.contains(&"BWS_ACCESS_TOKEN".to_string()), "{bws_env:?}");
    assert!(!bws_env.contains(&"DOPPLER_TOKEN".to_string()), "{bws_env:?}");
    let doppler_env = doppler.env_names();
    assert!(doppler_env.contains(&"DOPPLER_TOKEN".to_string()), "{doppler_env:?}");
    assert!(
        !doppler_env.contains(&"BWS_ACCESS_TOKEN".to_string()),
        "{doppler_env:?}"
    );
    for names in [&bws_env, &doppler_env] {
        for leaked in ["UNRELATED_CANARY", "JWT_SECRET", "TWILIO_TOKEN", "CI"] {
            assert!(
                !names.contains(&leaked.to_string()),
                "{leaked} reached a vault CLI: {names:?}"
            );
        }
    }

    let rows: Vec<String> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().take(4).collect::<Vec<_>>().join(" "))
        .collect();
    for expected in [
        "SMTP_PASS 2 set bws",
        "OPENAI_API_KEY 2 set doppler",
        "CLOUDFLARED_TOKEN 2 set bws",
        "SMS_TWILIO_AUTH_TOKEN 2 set environment",
    ] {
        assert!(
            rows.contains(&expected.to_string()),
            "no row {expected:?}:\n{}",
            out.stdout
        );
    }
    out.never_shows(&[SMTP, OPENAI, CLOUDFLARED, BWS_TOKEN, DOPPLER_TOKEN, "CanaryTwilio"])
        .never_shows(&canaries(&values));
}

#[test]
fn a_vault_value_with_a_line_break_is_refused_naming_the_variable() {
    let (sb, bws, _doppler) = vaults("", "Canary line one\nline two");
    let values = tier1();
    let run = || {
        sb.xtask(["setup", "--env", "staging"])
            .path_first(&bws.bin)
            .envs(&pairs(&values))
            .env("BWS_ACCESS_TOKEN", BWS_TOKEN)
            .env("DOPPLER_TOKEN", DOPPLER_TOKEN)
    };
    let out = run().fails_with(2);
    let line = out.one_line_error();
    assert!(
        line.contains("SMTP_PASS: the value from bws holds a line break, which a .env cannot carry"),
        "{line}"
    );
    out.never_shows(&["Canary line one", "line two"]);
    assert!(!sb.path("receptor-stg/.env").exists(), "nothing was written");
}

#[test]
fn vault_failures_are_typed_exit_4_and_never_echo_what_the_tool_said() {
    let values = tier1();
    let run = |sb: &Sandbox, bin: &std::path::Path| {
        sb.xtask(["setup", "--env", "staging"])
            .path_first(bin)
            .envs(&pairs(&values))
            .env("BWS_ACCESS_TOKEN", BWS_TOKEN)
            .env("DOPPLER_TOKEN", DOPPLER_TOKEN)
    };
    type Shape = Box<dyn Fn(StandIn) -> StandIn>;
    let cases: Vec<(&str, Shape, &str)> = vec![
        (
            "not authenticated",
            Box::new(|s| s.fails(1, "Error: [401 Unauthorized] token CanaryStderrSecret rejected")),
            "bws: not authenticated: BWS_ACCESS_TOKEN was refused",
        ),
        (
            "malformed",
            Box::new(|s| {
                std::fs::write(
                    s.bin.join("../stand-in-records/stand-in-bws.stdout"),
                    "CanaryStderrSecret {",
                )
                .unwrap();
                s
            }),
            "bws: malformed output: expected a JSON array of secrets: not JSON at line 1 column 1",
        ),
        (
            "other failure",
            Box::new(|s| s.fails(7, "panic: CanaryStderrSecret")),
            "bws failed with exit code 7; run `bws secret list e325ea69-a3ab-4dff-836f-b02e013fe530 --output json` yourself to see why",
        ),
    ];
    for (what, make, message) in cases {
        let (sb, bws, _doppler) = vaults("", SMTP);
        let bws = make(bws);
        let out = run(&sb, &bws.bin).fails_with(4);
        let line = out.one_line_error();
        assert!(line.starts_with(&format!("error: {message}")), "{what}: {line}");
        out.never_shows(&["CanaryStderrSecret", BWS_TOKEN, SMTP])
            .never_shows(&canaries(&values));
        assert!(!sb.path("receptor-stg/.env").exists(), "{what}: nothing written");
    }

    // A key the project lacks, named with the others in one message.
    let (sb, bws, _doppler) = vaults("", SMTP);
    sb.write(
        "setup.conf",
        &conf("")
            .replace("bws:smtp-pass", "bws:no-such-key")
            .replace("doppler:OPENAI_API_KEY", "doppler:NO_SUCH"),
    );
    let out = run(&sb, &bws.bin).fails_with(4);
    out.stderr_has(&format!("bws: secret no-such-key not found in project {PROJECT_ID}"))
        .stderr_has("doppler: secret NO_SUCH not found in project receptor, config stg");
    assert_eq!(out.stderr.lines().count(), 2, "{}", out.stderr);

    // Not installed: no bws anywhere on the PATH.
    let (sb, bws, _doppler) = vaults("", SMTP);
    let bws = bws.removed();
    let out = run(&sb, &bws.bin).env("PATH", bws.bin.to_str().unwrap()).fails_with(4);
    assert!(
        out.one_line_error()
            .contains("bws is not installed or not on PATH; install the Bitwarden Secrets Manager CLI (bws)"),
        "{}",
        out.stderr
    );

    // No token: refused before the tool is even called.
    let (sb, bws, _doppler) = vaults("", SMTP);
    let out = sb
        .xtask(["setup", "--env", "staging"])
        .path_first(&bws.bin)
        .envs(&pairs(&values))
        .fails_with(4);
    assert!(
        out.one_line_error().contains("BWS_ACCESS_TOKEN is not set"),
        "{}",
        out.stderr
    );
    assert_eq!(bws.calls(), 0);
}

/// Runs setup with `bws` as the Bitwarden CLI; asserts it is stopped at the
/// 2 s timeout with a one-line error, quickly, and nothing is written.
fn stopped_at_the_timeout(sb: &Sandbox, bws: &StandIn) {
    let start = Instant::now();
    let out = sb
        .xtask(["setup", "--env", "staging"])
        .path_first(&bws.bin)
        .envs(&pairs(&tier1()))
        .env("BWS_ACCESS_TOKEN", BWS_TOKEN)
        .fails_with(4);
    assert!(start.elapsed() < Duration::from_secs(15), "took {:?}", start.elapsed());
    assert!(
        out.one_line_error()
            .contains("bws did not finish within 2 s and was stopped"),
        "{}",
        out.stderr
    );
    assert!(
        !sb.path("receptor-stg").exists(),
        "nothing written after a vault failed"
    );
}

#[test]
fn a_vault_that_never_answers_is_stopped_at_the_timeout() {
    let (sb, bws, _doppler) = vaults("", SMTP);
    stopped_at_the_timeout(&sb, &bws.hangs());
}

#[test]
fn the_timeout_covers_a_background_child_that_keeps_the_output_open() {
    let (sb, bws, _doppler) = vaults("", SMTP);
    stopped_at_the_timeout(&sb, &bws.leaves_a_child_holding_stdout());
}

#[test]
fn dev_calls_a_vault_only_when_a_reference_asks_for_it() {
    // The committed setup.conf: ${VAR} references only.
    let sb = Sandbox::new();
    let bws = StandIn::new(&sb, "bws", &bws_listing(SMTP));
    sb.xtask(["setup", "--env", "dev"])
        .path_first(&bws.bin)
        .env("OPENAI_API_KEY", "sk-CanaryDevOpenAi")
        .succeeds()
        .never_shows(&["sk-CanaryDevOpenAi"]);
    assert_eq!(sb.env_values("receptor-dev")["OPENAI_API_KEY"], "sk-CanaryDevOpenAi");
    assert_eq!(bws.calls(), 0);

    // A bws reference in dev: called once, with the dev project.
    let (sb, bws, doppler) = vaults("\n[vaults.bws.dev]\nproject_id = \"dev-project\"\n", SMTP);
    sb.write(
        "setup.conf",
        &conf("\n[vaults.bws.dev]\nproject_id = \"dev-project\"\n")
            .replace("OPENAI_API_KEY = \"doppler:OPENAI_API_KEY\"\n", ""),
    );
    sb.xtask(["setup", "--env", "dev"])
        .path_first(&bws.bin)
        .env("BWS_ACCESS_TOKEN", BWS_TOKEN)
        .succeeds();
    assert_eq!(bws.argv(), ["secret", "list", "dev-project", "--output", "json"]);
    assert_eq!(doppler.calls(), 0);
    let file = EnvFile::load(&sb.path("receptor-dev/.env")).unwrap();
    assert_eq!(file.get("SMTP_PASS").as_deref(), Some(SMTP));
}

#[test]
fn setup_conf_mistakes_in_vault_settings_name_line_and_column() {
    let sb = Sandbox::new();
    sb.write("setup.conf", "[vaults.bws]\nproject_id = \"--exfiltrate\"\n");
    let out = sb.xtask(["setup", "--env", "dev"]).fails_with(2);
    assert!(
        out.one_line_error()
            .contains("setup.conf:2:14: a vault project, config or id may hold only"),
        "{}",
        out.stderr
    );
    sb.write("setup.conf", "[secrets]\nJWT_SECRET = \"bws:jwt\"\n");
    let out = sb.xtask(["setup", "--env", "dev"]).fails_with(2);
    assert!(
        out.one_line_error()
            .contains("setup.conf:2:1: JWT_SECRET is an infrastructure (Tier 1) secret"),
        "{}",
        out.stderr
    );
    sb.write("setup.conf", "[vaults.doppler.prod]\nconfg = \"prd\"\n");
    let out = sb.xtask(["setup", "--env", "dev"]).fails_with(2);
    assert!(
        out.one_line_error().contains("setup.conf:2:1: unknown field `confg`"),
        "{}",
        out.stderr
    );
}

/// A committed setup.conf could name any program and hand it the vault
/// token: the program is always the vault's own CLI, found on PATH.
#[test]
fn setup_conf_never_chooses_the_program_that_gets_a_vault_token() {
    for (table, program) in [("bws", "sh"), ("doppler", "stand-in-bin/doppler"), ("bws", "bws-debug")] {
        let (sb, bws, doppler) = vaults(&format!("\n[vaults.{table}]\ncommand = \"{program}\"\n"), SMTP);
        let out = sb
            .xtask(["setup", "--env", "staging", "--non-interactive"])
            .path_first(&bws.bin)
            .envs(&pairs(&tier1()))
            .env("BWS_ACCESS_TOKEN", BWS_TOKEN)
            .env("DOPPLER_TOKEN", DOPPLER_TOKEN)
            .fails_with(2);
        let line = out.one_line_error();
        assert!(line.contains("setup.conf:"), "{line}");
        assert!(
            line.contains(&format!("vaults.{table}.command may only be {table}, found on PATH"))
                || line.contains("a vault command must be a program name found on PATH"),
            "{program}: {line}"
        );
        out.never_shows(&[BWS_TOKEN, DOPPLER_TOKEN]);
        assert_eq!((bws.calls(), doppler.calls()), (0, 0), "{program}: no vault was called");
        assert!(!sb.path("receptor-stg").exists(), "{program}: nothing laid out");
    }
}
