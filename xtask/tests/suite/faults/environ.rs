//! What every child receives. Canary secrets are planted in the xtask's own
//! environment; a recording stand-in put first on PATH under each tool's
//! name (git, docker, docker-compose and the vault CLIs) copies its own
//! `/proc/PID/cmdline` and `/proc/PID/environ` (exactly what the xtask gave
//! it), then runs the real tool found further on PATH. A canary may reach
//! one child only: the vault token its own vault CLI needs. None reaches an
//! argv.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::inject::{pairs, tier1};
use crate::common::stack::Stack;
use crate::common::stand_in::StandIn;
use crate::common::{Sandbox, copy_dir, git};

const TOOLS: &[&str] = &["git", "docker", "docker-compose", "bws", "doppler"];
const BWS_TOKEN: &str = "0.CanaryEnvironBwsToken.secret:B3h5D+YgLvFiQhWkIq6Bow==";
const DOPPLER_TOKEN: &str = "dp.st.CanaryEnvironDopplerToken";
const PROJECT_ID: &str = "e325ea69-a3ab-4dff-836f-b02e013fe530";

/// Secrets of the caller's that no child needs.
fn bystanders() -> Vec<(&'static str, String)> {
    [
        ("GITHUB_TOKEN", "ghp_CanaryEnvironGithubToken0123456789"),
        ("AWS_SECRET_ACCESS_KEY", "CanaryEnvironAwsSecretKey0123456789"),
        ("GIT_CANARY_TOKEN", "CanaryEnvironGitVariable0123456789"),
        ("PGPASSWORD", "CanaryEnvironCallersPgPassword0123"),
        ("DOCKER_AUTH_CONFIG", "CanaryEnvironDockerAuthConfig0123"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect()
}

/// Writes the recording stand-in under each tool's name into `bin`.
fn recorders(bin: &Path) {
    fs::create_dir_all(bin.join("calls")).unwrap();
    let script = "#!/bin/sh\n\
        # Receptor test stand-in (environ recorder): records the argv and the\n\
        # environment this call received, then runs the real tool further on PATH.\n\
        set -eu\n\
        self_dir=$(CDPATH='' cd -- \"$(dirname -- \"$0\")\" && pwd)\n\
        name=$(basename -- \"$0\")\n\
        record=$(mktemp \"$self_dir/calls/$name.XXXXXXXX\")\n\
        cat /proc/$$/cmdline > \"$record.argv\"\n\
        cat /proc/$$/environ > \"$record.environ\"\n\
        old_ifs=$IFS\n\
        IFS=:\n\
        for dir in $PATH; do\n\
          IFS=$old_ifs\n\
          if [ \"$dir\" != \"$self_dir\" ] && [ -x \"$dir/$name\" ] && [ ! -d \"$dir/$name\" ]; then\n\
            exec \"$dir/$name\" \"$@\"\n\
          fi\n\
        done\n\
        echo \"recorder: no real $name on PATH\" >&2\n\
        exit 127\n";
    for tool in TOOLS {
        let path = bin.join(tool);
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// One recorded call: the tool, its argv, its environment.
struct Call {
    tool: String,
    argv: Vec<u8>,
    environ: Vec<(String, String)>,
}

impl Call {
    fn argv_has(&self, word: &str) -> bool {
        self.argv.split(|b| *b == 0).any(|a| a == word.as_bytes())
    }
}

fn calls(bin: &Path) -> Vec<Call> {
    let mut calls = Vec::new();
    for entry in fs::read_dir(bin.join("calls")).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        let Some(record) = path.to_str().and_then(|p| p.strip_suffix(".environ")) else {
            continue;
        };
        let name = Path::new(record).file_name().unwrap().to_string_lossy().into_owned();
        let tool = name.rsplit_once('.').unwrap().0.to_string();
        let environ = fs::read(&path)
            .unwrap()
            .split(|b| *b == 0)
            .filter(|v| !v.is_empty())
            .map(|v| {
                let text = String::from_utf8_lossy(v).into_owned();
                let (k, v) = text.split_once('=').unwrap_or((&text, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        calls.push(Call {
            tool,
            argv: fs::read(format!("{record}.argv")).unwrap(),
            environ,
        });
    }
    calls
}

/// Every place a secret of `secrets` reached a child, except where `allowed`
/// says that child must have it (tool, variable name).
fn reached(calls: &[Call], secrets: &[(&str, String)], allowed: impl Fn(&Call, &str, &str) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    for call in calls {
        for (secret, value) in secrets {
            if call.argv.windows(value.len()).any(|w| w == value.as_bytes()) {
                found.push(format!("{secret} in the argv of {}", call.tool));
            }
            for (name, held) in &call.environ {
                if held.contains(value.as_str()) && !allowed(call, secret, name) {
                    found.push(format!("{secret} in {name} of {}'s environment", call.tool));
                }
            }
        }
        for (name, _) in &call.environ {
            if name.starts_with("GIT_CANARY") || name == "CI" {
                found.push(format!("{name} in {}'s environment", call.tool));
            }
        }
    }
    found
}

/// A bare repository with the stack template at tag v1, for `stack.source = "upstream"`.
fn upstream(sb: &Sandbox) -> String {
    let work = sb.path("upstream-work");
    copy_dir(&sb.path("docker"), &work.join("docker"));
    git(&work, &["init", "-q"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "upstream"]);
    git(&work, &["tag", "v1"]);
    let bare = sb.path("upstream.git");
    git(
        &sb.root,
        &["clone", "-q", "--bare", work.to_str().unwrap(), bare.to_str().unwrap()],
    );
    format!("file://{}", bare.display())
}

#[test]
fn setup_in_ci_hands_no_child_a_secret_it_does_not_need() {
    let sb = Sandbox::new();
    let url = upstream(&sb);
    sb.write(
        "setup.conf",
        &format!(
            "[stack]\nsource = \"upstream\"\nupstream_url = \"{url}\"\nupstream_ref = \"v1\"\n\n\
             [secrets]\nSMTP_PASS = \"bws:smtp-pass\"\nOPENAI_API_KEY = \"doppler:OPENAI_API_KEY\"\n\n\
             [vaults]\ntimeout_secs = 20\n\n\
             [vaults.bws.staging]\nproject_id = \"{PROJECT_ID}\"\n\n\
             [vaults.doppler.staging]\nproject = \"receptor\"\nconfig = \"stg\"\n"
        ),
    );
    let listing = serde_json::json!([{"id": "0b3c2f4e-1111-4017-a55a-b02f014d4158",
        "organizationId": "10e8cbfa-7bd2-4361-bd6f-b02e013f9c41", "projectId": PROJECT_ID,
        "key": "smtp-pass", "value": "CanaryEnvironSmtpFromBws", "note": "",
        "creationDate": "2026-01-01T00:00:00Z", "revisionDate": "2026-01-01T00:00:00Z"}]);
    let vaults = StandIn::new(&sb, "bws", &listing.to_string());
    StandIn::new(&sb, "doppler", r#"{"OPENAI_API_KEY":"sk-CanaryEnvironOpenAi"}"#);
    let bin = sb.path("environ-recorders");
    recorders(&bin);

    let tier1 = tier1();
    let bystanders = bystanders();
    let path = format!(
        "{}:{}:{}",
        bin.display(),
        vaults.bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = sb
        .xtask(["setup", "--env", "staging"])
        .env("PATH", &path)
        .env("CI", "true")
        .envs(&pairs(&tier1))
        .envs(&pairs(&bystanders))
        .env("BWS_ACCESS_TOKEN", BWS_TOKEN)
        .env("DOPPLER_TOKEN", DOPPLER_TOKEN)
        .succeeds();
    out.never_shows(&[BWS_TOKEN, DOPPLER_TOKEN]);

    let calls = calls(&bin);
    let count = |tool: &str| calls.iter().filter(|c| c.tool == tool).count();
    assert!(count("git") >= 4, "the upstream template is fetched with git");
    assert!(count("docker") >= 1, "setup asks docker whether the stack runs");
    assert_eq!((count("bws"), count("doppler")), (1, 1));

    let mut secrets: Vec<(&str, String)> = tier1.clone();
    secrets.extend(bystanders);
    secrets.push(("BWS_ACCESS_TOKEN", BWS_TOKEN.into()));
    secrets.push(("DOPPLER_TOKEN", DOPPLER_TOKEN.into()));
    let leaks = reached(&calls, &secrets, |call, secret, name| {
        secret == name
            && ((call.tool == "bws" && name == "BWS_ACCESS_TOKEN")
                || (call.tool == "doppler" && name == "DOPPLER_TOKEN"))
    });
    assert!(leaks.is_empty(), "secrets reached children:\n{}", leaks.join("\n"));
    for (tool, token) in [("bws", "BWS_ACCESS_TOKEN"), ("doppler", "DOPPLER_TOKEN")] {
        let call = calls.iter().find(|c| c.tool == tool).unwrap();
        assert!(
            call.environ.iter().any(|(k, _)| k == token),
            "{tool} receives its token"
        );
    }
}

#[test]
fn a_running_stack_s_compose_docker_and_psql_children_get_only_what_they_need() {
    let stack = Stack::up();
    let bin = stack.sb.path("environ-recorders");
    recorders(&bin);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let bystanders = bystanders();
    let project = stack.project.clone();
    for args in [
        vec!["verify", "--project-name", project.as_str(), "--live"],
        vec!["setup", "--env", "dev", "--project-name", project.as_str()],
    ] {
        stack
            .sb
            .xtask(&args)
            .env("PATH", &path)
            .env("CI", "true")
            .envs(&pairs(&bystanders))
            .env("BWS_ACCESS_TOKEN", BWS_TOKEN)
            .env("DOPPLER_TOKEN", DOPPLER_TOKEN)
            .succeeds();
    }

    let calls = calls(&bin);
    let compose = |c: &&Call| c.tool == "docker" && c.argv_has("compose");
    assert!(calls.iter().filter(compose).count() >= 3, "Compose ran");
    assert!(
        calls.iter().any(|c| c.tool == "docker" && c.argv_has("inspect")),
        "docker inspect ran"
    );
    let logins: Vec<&Call> = calls
        .iter()
        .filter(|c| c.argv_has("exec") && c.argv_has("psql") && c.argv_has("PGPASSWORD"))
        .collect();
    assert!(!logins.is_empty(), "psql logged in through compose exec");

    // The caller's secrets reach no child; the stack's own reach only the
    // compose exec that logs in with psql, as its PGPASSWORD.
    let mut secrets = bystanders;
    secrets.push(("BWS_ACCESS_TOKEN", BWS_TOKEN.into()));
    secrets.push(("DOPPLER_TOKEN", DOPPLER_TOKEN.into()));
    let env = stack.env();
    let stack_secrets: Vec<(&str, String)> = xtask::secrets::CATALOG
        .iter()
        .filter_map(|spec| {
            env.get(spec.name)
                .filter(|v| v.len() >= 8)
                .map(|v| (spec.name, v.clone()))
        })
        .collect();
    let mut leaks = reached(&calls, &secrets, |_, _, _| false);
    leaks.extend(reached(&calls, &stack_secrets, |call, _, name| {
        name == "PGPASSWORD" && call.argv_has("exec") && call.argv_has("PGPASSWORD")
    }));
    assert!(leaks.is_empty(), "secrets reached children:\n{}", leaks.join("\n"));
    assert!(
        logins.iter().all(|c| c
            .environ
            .iter()
            .any(|(k, v)| k == "PGPASSWORD" && stack_secrets.iter().any(|(_, s)| s == v))),
        "each psql login receives the stack's password as PGPASSWORD, not the caller's"
    );
}
