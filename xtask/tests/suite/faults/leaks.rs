//! Leaks: every subcommand, on success and on each failure path, with known
//! canary secrets planted in the environment and in `.env`. Not one byte of
//! a secret may reach stdout, stderr, a file the run writes (other than
//! `.env` and its backups), or a child's argv, recorded by the stand-ins of
//! stand-ins/recorders put first on PATH.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::Command;

use xtask::secrets::{CATALOG, Make, generate, jwt};

use crate::common::faults::files;
use crate::common::{Outcome, Sandbox, git, repo};

/// A sound value for every catalog secret, each one unique and known.
fn canaries(tag: &str) -> BTreeMap<&'static str, String> {
    let mut values = BTreeMap::new();
    let jwt_secret = generate::for_spec(xtask::secrets::catalog::find("JWT_SECRET").unwrap()).unwrap();
    let model = xtask::secrets::asymmetric::fresh_values(&jwt_secret);
    // The previous keys of an overlap: each a second sound value of its key's kind.
    let previous_model = xtask::secrets::asymmetric::fresh_values(&jwt_secret);
    for spec in CATALOG {
        let value = match spec.make {
            Make::Previous(of) => match xtask::secrets::catalog::find(of).unwrap().make {
                Make::Minted(role) => jwt::mint(role, &jwt_secret, jwt::now() - 60).expose().to_string(),
                _ => {
                    let (_, value) = previous_model.iter().find(|(name, _)| *name == of).unwrap();
                    value.expose().to_string()
                }
            },
            _ if spec.is_asymmetric() => {
                let (_, value) = model.iter().find(|(name, _)| *name == spec.name).unwrap();
                value.expose().to_string()
            }
            Make::Random { .. } if spec.name == "JWT_SECRET" => jwt_secret.expose().to_string(),
            Make::Random { .. } => generate::for_spec(spec).unwrap().expose().to_string(),
            Make::Minted(role) => jwt::mint(role, &jwt_secret, jwt::now()).expose().to_string(),
            Make::Supplied => format!("{tag}Supplied{}Canary0123456789", spec.name.replace('_', "")),
            _ => unreachable!("{} is part of the asymmetric model", spec.name),
        };
        values.insert(spec.name, value);
    }
    values
}

/// What a case does to the sandbox before its run.
type Prepare = dyn Fn(&Sandbox, &Canaries);

/// One run of the xtask under the microscope.
struct Case {
    name: &'static str,
    args: Vec<String>,
    code: i32,
    /// Prepares the sandbox (after the canary `.env` is in place).
    prepare: Box<Prepare>,
}

struct Canaries {
    in_env: BTreeMap<&'static str, String>,
    in_file: BTreeMap<&'static str, String>,
}

impl Canaries {
    fn env_text(&self) -> String {
        let mut text = String::from("# planted by the leak test\nSITE_URL=http://localhost:3000\n");
        for (name, value) in &self.in_file {
            // A key set is JSON: single quotes keep its double quotes literal.
            if value.contains('"') {
                text.push_str(&format!("{name}='{value}'\n"));
            } else {
                text.push_str(&format!("{name}={value}\n"));
            }
        }
        text
    }

    fn all(&self) -> Vec<&str> {
        self.in_env
            .values()
            .chain(self.in_file.values())
            .map(String::as_str)
            .collect()
    }
}

fn case(name: &'static str, args: &[&str], code: i32, prepare: impl Fn(&Sandbox, &Canaries) + 'static) -> Case {
    Case {
        name,
        args: args.iter().map(|s| s.to_string()).collect(),
        code,
        prepare: Box::new(prepare),
    }
}

fn nothing(_: &Sandbox, _: &Canaries) {}

/// Replaces the `.env` line of `key` with `line`.
fn edit_line(sb: &Sandbox, key: &str, line: &str) {
    let text = sb.read("receptor-dev/.env");
    let edited: String = text
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{key}=")) {
                line.to_string()
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    sb.write("receptor-dev/.env", &edited);
}

/// `setup`'s success and failure paths.
fn setup_cases() -> Vec<Case> {
    let dev = ["setup", "--env", "dev"];
    let staging = ["setup", "--env", "staging"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { dev.iter().chain(extra).copied().collect() };
    vec![
        case("setup, fresh project", &dev, 0, |sb, _| {
            fs::remove_dir_all(sb.path("receptor-dev")).unwrap();
        }),
        case("setup, every value sound: no changes", &dev, 0, nothing),
        case(
            "setup, a default replaced and the old file backed up",
            &dev,
            0,
            |sb, _| {
                edit_line(sb, "VAULT_ENC_KEY", "VAULT_ENC_KEY=your-32-character-encryption-key");
            },
        ),
        case(
            "setup --up, Compose echoes the .env in its error",
            &with(&["--up"]),
            4,
            |sb, _| {
                fs::write(sb.path("recorders/echo-env-file"), "").unwrap();
            },
        ),
        case(
            "setup --up, a secret interpolated into an invalid image name",
            &with(&["--up"]),
            4,
            |sb, _| {
                sb.write(
                    "receptor-dev/docker-compose.yml",
                    "services:\n  db:\n    image: \"registry.invalid/${POSTGRES_PASSWORD}:${JWT_SECRET}:x\"\n",
                );
            },
        ),
        case("setup, a value with a glued `#`", &dev, 2, |sb, c| {
            edit_line(sb, "SMTP_PASS", &format!("SMTP_PASS={}#tail", c.in_file["SMTP_PASS"]));
        }),
        case("setup, a pasted secret on a line of its own", &dev, 2, |sb, c| {
            let text = sb.read("receptor-dev/.env") + &c.in_file["OPENAI_API_KEY"] + "\n";
            sb.write("receptor-dev/.env", &text);
        }),
        case("setup, text after a closing quote", &dev, 2, |sb, c| {
            edit_line(sb, "SMTP_PASS", &format!("SMTP_PASS='x'{}", c.in_file["SMTP_PASS"]));
        }),
        case("setup, a weak value", &dev, 2, |sb, c| {
            edit_line(
                sb,
                "VAULT_ENC_KEY",
                &format!("VAULT_ENC_KEY={}x", c.in_file["VAULT_ENC_KEY"]),
            );
        }),
        case(
            "setup, a key signed with another secret is re-minted",
            &dev,
            0,
            |sb, c| {
                edit_line(sb, "ANON_KEY", &format!("ANON_KEY={}", c.in_env["ANON_KEY"]));
            },
        ),
        case("setup, not UTF-8", &dev, 2, |sb, _| {
            let mut bytes = fs::read(sb.path("receptor-dev/.env")).unwrap();
            bytes.extend(b"BROKEN=\xff\xfe\n");
            fs::write(sb.path("receptor-dev/.env"), bytes).unwrap();
        }),
        case("setup, a literal secret in setup.conf", &dev, 2, |sb, c| {
            let conf = sb.read("setup.conf");
            let literal = format!("SMTP_PASS = \"{}\"", c.in_env["SMTP_PASS"]);
            sb.write("setup.conf", &conf.replace("SMTP_PASS = \"${SMTP_PASS}\"", &literal));
        }),
        case("setup, a secret of the wrong type in setup.conf", &dev, 2, |sb, c| {
            let conf = sb.read("setup.conf");
            let wrong = format!("source = \"{}\"", c.in_env["SMTP_PASS"]);
            sb.write("setup.conf", &conf.replace("source = \"embedded\"", &wrong));
        }),
        case("setup, .env is a symbolic link", &dev, 5, |sb, _| {
            fs::rename(sb.path("receptor-dev/.env"), sb.path("elsewhere.env")).unwrap();
            symlink(sb.path("elsewhere.env"), sb.path("receptor-dev/.env")).unwrap();
        }),
        case("setup, the project folder cannot be written", &dev, 5, |sb, _| {
            edit_line(sb, "JWT_SECRET", "JWT_SECRET=");
            let ok = Command::new("chattr")
                .arg("+i")
                .arg(sb.path("receptor-dev"))
                .status()
                .expect("chattr (e2fsprogs) is installed")
                .success();
            assert!(ok, "chattr +i failed");
        }),
        case(
            "setup --upstream, the repository is unreachable",
            &with(&["--upstream"]),
            4,
            |sb, _| {
                let conf = sb.read("setup.conf");
                sb.write(
                    "setup.conf",
                    &point_upstream_at(&conf, "file:///nonexistent/supabase.git"),
                );
            },
        ),
        case(
            "setup --upstream v1, fetched with git",
            &with(&["--upstream", "v1"]),
            0,
            |sb, _| {
                let work = sb.path("upstream");
                crate::common::copy_dir(&sb.path("docker"), &work.join("docker"));
                git(&work, &["init", "-q"]);
                git(&work, &["add", "-A"]);
                git(&work, &["commit", "-qm", "upstream"]);
                git(&work, &["tag", "v1"]);
                let conf = sb.read("setup.conf");
                sb.write(
                    "setup.conf",
                    &point_upstream_at(&conf, &format!("file://{}", work.display())),
                );
            },
        ),
        case("setup --env staging, every Tier 1 value injected", &staging, 0, nothing),
        case(
            "setup --env prod, every Tier 1 value injected",
            &["setup", "--env", "prod"],
            0,
            nothing,
        ),
        case(
            "setup --env staging, injected values differ from those in use",
            &staging,
            2,
            |sb, _| crate::common::copy_dir(&sb.path("receptor-dev"), &sb.path("receptor-stg")),
        ),
        case("setup --env staging, a weak injected value", &staging, 2, |sb, _| {
            sb.write(".weak", "VAULT_ENC_KEY");
        }),
        case(
            "setup --env staging, a value missing and no terminal",
            &staging,
            3,
            |sb, _| {
                sb.write(".unset", "JWT_SECRET");
            },
        ),
        case(
            "setup, a project name that is a path",
            &with(&["--project-name", "../x"]),
            2,
            nothing,
        ),
    ]
}

/// The sandbox as a git repository, everything committed.
fn as_git_repo(sb: &Sandbox) {
    fs::copy(repo().join(".gitignore"), sb.path(".gitignore")).unwrap();
    sb.git(&["init", "-q"]);
    sb.commit_all("the stack template");
}

/// `verify`'s passing and failing paths, on the project and on the repository.
fn verify_cases() -> Vec<Case> {
    let dev = ["verify", "--env", "dev"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { dev.iter().chain(extra).copied().collect() };
    vec![
        case("verify --env dev, every value sound", &dev, 0, nothing),
        case(
            "verify --env dev --format json",
            &with(&["--format", "json"]),
            0,
            nothing,
        ),
        case(
            "verify --env dev --format junit",
            &with(&["--format", "junit"]),
            0,
            nothing,
        ),
        case("verify --env dev, a weak value", &dev, 1, |sb, c| {
            edit_line(
                sb,
                "VAULT_ENC_KEY",
                &format!("VAULT_ENC_KEY={}x", c.in_file["VAULT_ENC_KEY"]),
            );
        }),
        case(
            "verify --env dev --format json, a weak value",
            &with(&["--format", "json"]),
            1,
            |sb, c| {
                edit_line(
                    sb,
                    "VAULT_ENC_KEY",
                    &format!("VAULT_ENC_KEY={}x", c.in_file["VAULT_ENC_KEY"]),
                );
            },
        ),
        case(
            "verify --env dev, a key signed with another secret",
            &dev,
            1,
            |sb, c| {
                edit_line(sb, "ANON_KEY", &format!("ANON_KEY={}", c.in_env["ANON_KEY"]));
            },
        ),
        case("verify --env dev, .env readable by others", &dev, 1, |sb, _| {
            fs::set_permissions(
                sb.path("receptor-dev/.env"),
                std::os::unix::fs::PermissionsExt::from_mode(0o644),
            )
            .unwrap();
        }),
        case("verify --env dev, a value with a glued `#`", &dev, 1, |sb, c| {
            edit_line(sb, "SMTP_PASS", &format!("SMTP_PASS={}#tail", c.in_file["SMTP_PASS"]));
        }),
        case(
            "verify --env dev, a pasted secret on a line of its own",
            &dev,
            1,
            |sb, c| {
                let text = sb.read("receptor-dev/.env") + &c.in_file["OPENAI_API_KEY"] + "\n";
                sb.write("receptor-dev/.env", &text);
            },
        ),
        case(
            "verify --env staging --strict, the dev values copied",
            &["verify", "--env", "staging", "--strict"],
            1,
            |sb, _| crate::common::copy_dir(&sb.path("receptor-dev"), &sb.path("receptor-stg")),
        ),
        case("verify, outside a git repository", &["verify"], 2, nothing),
        case("verify, a tracked .env", &["verify"], 1, |sb, _| {
            as_git_repo(sb);
            sb.git(&["add", "-f", "receptor-dev/.env"]);
            sb.commit_all("oops");
        }),
        case(
            "verify, a secret pasted into a tracked file",
            &["verify"],
            1,
            |sb, c| {
                as_git_repo(sb);
                sb.write("notes.md", &format!("service key: {}\n", c.in_file["SERVICE_ROLE_KEY"]));
                sb.commit_all("notes");
            },
        ),
        case(
            "verify --history, a secret in a past commit",
            &["verify", "--history"],
            1,
            |sb, c| {
                as_git_repo(sb);
                sb.write(
                    "deploy.sh",
                    &format!("export SERVICE_ROLE_KEY={}\n", c.in_file["SERVICE_ROLE_KEY"]),
                );
                sb.commit_all("deploy");
                sb.write("deploy.sh", "export SERVICE_ROLE_KEY=\"$FROM_VAULT\"\n");
                sb.commit_all("from the vault");
            },
        ),
    ]
}

/// `setup.conf` with its `[stack]` `upstream_url` set to `url`.
fn point_upstream_at(conf: &str, url: &str) -> String {
    let kept: String = conf
        .lines()
        .filter(|l| !l.trim_start().starts_with("upstream_url"))
        .map(|l| format!("{l}\n"))
        .collect();
    if kept.contains("[stack]") {
        kept.replace("[stack]\n", &format!("[stack]\nupstream_url = \"{url}\"\n"))
    } else {
        format!("{kept}\n[stack]\nupstream_url = \"{url}\"\n")
    }
}

/// Every place a run could have put a secret, searched byte for byte.
fn leaks(sb: &Sandbox, out: &Outcome, before: &BTreeMap<PathBuf, (Vec<u8>, u32)>, secrets: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut search = |place: &str, bytes: &[u8]| {
        for (i, secret) in secrets.iter().enumerate() {
            if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                found.push(format!("secret #{i} in {place}"));
            }
        }
    };
    search("stdout", out.stdout.as_bytes());
    search("stderr", out.stderr.as_bytes());
    search(
        "children's argv",
        &fs::read(sb.path("recorders/argv.log")).unwrap_or_default(),
    );
    for (path, (bytes, _)) in files(&sb.root) {
        let written = before.get(&path).is_none_or(|(old, _)| *old != bytes);
        let in_project = |rest: &str| {
            let mut parts = path.components().map(|c| c.as_os_str().to_string_lossy().into_owned());
            parts.next().is_some_and(|p| p.starts_with("receptor-")) && parts.next().is_some_and(|p| p == rest)
        };
        let holds_secrets = in_project(".env") || in_project("backups") || path.starts_with("recorders");
        if written && !holds_secrets {
            search(&format!("file {}", path.display()), &bytes);
        }
    }
    found
}

/// Runs each case with every canary planted; returns the leaks, one line each.
fn hunt(cases: Vec<Case>) -> (usize, Vec<String>) {
    let mut all = Vec::new();
    let mut runs = 0;
    for case in cases {
        let sb = Sandbox::new();
        let canaries = Canaries {
            in_env: canaries("Env"),
            in_file: canaries("File"),
        };
        sb.write("receptor-dev/.env", &canaries.env_text());
        fs::set_permissions(
            sb.path("receptor-dev/.env"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let bin = sb.path("recorders");
        fs::create_dir_all(&bin).unwrap();
        for tool in ["git", "docker", "docker-compose"] {
            fs::copy(repo().join("stand-ins/recorders/recorder.sh"), bin.join(tool)).unwrap();
        }
        (case.prepare)(&sb, &canaries);
        let before = files(&sb.root);
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let mut run = sb.xtask(&case.args).env("PATH", &path);
        let weak = fs::read_to_string(sb.path(".weak")).unwrap_or_default();
        let unset = fs::read_to_string(sb.path(".unset")).unwrap_or_default();
        for (name, value) in &canaries.in_env {
            if *name == unset {
                continue;
            }
            let value = if *name == weak {
                format!("{value}x")
            } else {
                value.clone()
            };
            run = run.env(name, &value);
        }
        let started = std::time::Instant::now();
        let out = run.output();
        eprintln!("{}: exit {} in {:?}", case.name, out.code, started.elapsed());
        let _ = Command::new("chattr").arg("-i").arg(sb.path("receptor-dev")).status();
        runs += 1;
        assert_eq!(
            out.code, case.code,
            "{}: exit code\nstdout:\n{}\nstderr:\n{}",
            case.name, out.stdout, out.stderr
        );
        // The secrets: every canary, and whatever the run generated.
        let mut secrets: Vec<String> = canaries.all().iter().map(|s| s.to_string()).collect();
        for project in ["receptor-dev", "receptor-stg", "receptor-prod"] {
            let Ok(text) = fs::read_to_string(sb.path(&format!("{project}/.env"))) else {
                continue;
            };
            let env = crate::common::parse_env(&text);
            secrets.extend(
                CATALOG
                    .iter()
                    .filter_map(|s| env.get(s.name))
                    .filter(|v| v.len() >= 8)
                    .cloned(),
            );
        }
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        for leak in leaks(&sb, &out, &before, &secrets) {
            all.push(format!("{}: {leak}", case.name));
        }
        if case.name.contains("fetched with git") || case.name.contains("unreachable") {
            let log = fs::read(sb.path("recorders/argv.log")).unwrap_or_default();
            assert!(
                log.starts_with(b"git\0"),
                "{}: the git recorder saw no call; the argv check would prove nothing",
                case.name
            );
        }
        if case.name.starts_with("setup --up,") {
            let log =
                String::from_utf8_lossy(&fs::read(sb.path("recorders/argv.log")).unwrap_or_default()).into_owned();
            assert!(
                log.contains("docker\0compose\0") && log.contains("\0up\0"),
                "{}: the docker recorder saw no `compose up`",
                case.name
            );
        }
    }
    (runs, all)
}

#[test]
fn verify_never_shows_a_secret_on_any_path() {
    let (runs, leaks) = hunt(verify_cases());
    eprintln!("verify: {runs} runs, {} leaks", leaks.len());
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}

#[test]
fn setup_never_shows_a_secret_on_any_path() {
    let (runs, leaks) = hunt(setup_cases());
    eprintln!("setup: {runs} runs, {} leaks", leaks.len());
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}
