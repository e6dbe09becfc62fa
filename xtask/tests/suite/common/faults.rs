//! Fault injection: runs stopped at a named pause point or killed at a
//! random moment, and the invariants a project keeps whatever happened.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use xtask::envfile::EnvFile;
use xtask::private_file::is_temp_name;
use xtask::secrets::{CATALOG, Tier};

use super::{Run, Sandbox, copy_dir};

/// The variable that makes the xtask stop itself at a named step (in
/// builds with the `test-hooks` feature).
pub const PAUSE_VAR: &str = "RECEPTOR_TEST_PAUSE_AT";

/// What a started run did before the test looked at it.
pub enum Started {
    /// Stopped at the pause point (SIGSTOP), waiting for SIGKILL or SIGCONT.
    Stopped(Child),
    /// Ran to its end without reaching the pause point.
    Exited(Output),
}

/// Starts `run` with `RECEPTOR_TEST_PAUSE_AT=spec` and waits until it stops there or exits.
pub fn start_paused(run: Run, spec: &str) -> Started {
    let mut cmd = run.env(PAUSE_VAR, spec).cmd;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the xtask binary starts");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Started::Exited(child.wait_with_output().unwrap());
        }
        if state_of(child.id()) == Some('T') {
            return Started::Stopped(child);
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the run neither stopped at {spec} nor exited"
        );
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// Like [`start_paused`], and fails the test when the run never reached `spec`.
pub fn stop_at(run: Run, spec: &str) -> Child {
    match start_paused(run, spec) {
        Started::Stopped(child) => child,
        Started::Exited(out) => panic!(
            "the run never reached pause point {spec}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The one-letter state of a process (`R`, `S`, `T` stopped, `Z`), from /proc.
pub fn state_of(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// SIGKILL, then reap.
pub fn kill(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// SIGKILL, then reap; what the run had printed until then.
pub fn kill_with_output(mut child: Child) -> Output {
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

/// SIGCONT to a stopped run, which goes on by itself.
pub fn cont(child: &Child) {
    // SAFETY: kill(2) on a child we own and have not reaped yet.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGCONT) };
    assert_eq!(rc, 0, "SIGCONT failed");
}

/// SIGCONT to a stopped run; returns its output once it ends.
pub fn resume(child: Child) -> Output {
    cont(&child);
    child.wait_with_output().unwrap()
}

/// Every file under `dir`, relative, with its bytes and mode.
pub fn files(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (Vec<u8>, u32)>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries {
            let entry = entry.unwrap();
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                walk(root, &path, out);
            } else {
                let mode = fs::symlink_metadata(&path).unwrap().permissions().mode() & 0o777;
                let bytes = fs::read(&path).unwrap_or_default();
                out.insert(path.strip_prefix(root).unwrap().to_path_buf(), (bytes, mode));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A `.env` with the values of every catalog secret blanked: what stays the
/// same whatever the generated values are.
pub fn shape(env: &str) -> String {
    env.split_inclusive('\n')
        .map(|line| {
            for spec in CATALOG {
                if let Some(rest) = line.strip_prefix(spec.name)
                    && rest.starts_with('=')
                {
                    return format!("{}=\n", spec.name);
                }
            }
            line.to_string()
        })
        .collect()
}

/// Which `.env` a crashed run left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Left {
    /// No `.env` (there was none before).
    Absent,
    /// The complete old file, byte for byte.
    Old,
    /// The complete new file.
    New,
}

/// A project state a crash trial starts from, and what a complete run makes of it.
pub struct Scenario {
    pub name: &'static str,
    /// A sandbox holding the starting state, copied for each trial.
    pub seed: Sandbox,
    pub project: &'static str,
    /// The `.env` before the run (`None`: no project yet).
    pub before: Option<String>,
    /// The shape of the `.env` an uninterrupted run writes.
    pub new_shape: String,
    /// Values an uninterrupted run keeps, which a new `.env` must hold too.
    pub kept: Vec<(String, String)>,
    pub args: Vec<String>,
}

impl Scenario {
    /// A repository with no project folder yet.
    pub fn fresh() -> Scenario {
        Scenario::finish("fresh project", Sandbox::new(), None, vec![])
    }

    /// A project whose `.env` needs work: a blank JWT_SECRET (so the keys are
    /// re-minted), a published default, a custom value to keep, a comment.
    pub fn stale() -> Scenario {
        let seed = Sandbox::new();
        seed.xtask(["setup", "--env", "dev"])
            .env("PATH", "/nonexistent")
            .succeeds();
        let env = seed.env_values("receptor-dev");
        let custom = "KeptPostgresPassword0123456789ab";
        let text = seed
            .read("receptor-dev/.env")
            .replace(&format!("JWT_SECRET={}", env["JWT_SECRET"]), "JWT_SECRET=")
            .replace(
                &format!("VAULT_ENC_KEY={}", env["VAULT_ENC_KEY"]),
                "VAULT_ENC_KEY=your-32-character-encryption-key",
            )
            .replace(
                &format!("POSTGRES_PASSWORD={}", env["POSTGRES_PASSWORD"]),
                &format!("POSTGRES_PASSWORD={custom}"),
            )
            + "# a note of mine\n";
        seed.write("receptor-dev/.env", &text);
        fs::set_permissions(seed.path("receptor-dev/.env"), fs::Permissions::from_mode(0o600)).unwrap();
        Scenario::finish(
            "stale project",
            seed,
            Some(text),
            vec![("POSTGRES_PASSWORD".into(), custom.into())],
        )
    }

    fn finish(name: &'static str, seed: Sandbox, before: Option<String>, kept: Vec<(String, String)>) -> Scenario {
        let mut scenario = Scenario {
            name,
            seed,
            project: "receptor-dev",
            before,
            new_shape: String::new(),
            kept,
            args: ["setup", "--env", "dev"].map(String::from).to_vec(),
        };
        let reference = scenario.trial();
        scenario.run(&reference).succeeds().stdout_has("wrote");
        scenario.new_shape = shape(&reference.read("receptor-dev/.env"));
        scenario
    }

    /// A fresh copy of the starting state.
    pub fn trial(&self) -> Sandbox {
        let sb = Sandbox::new();
        let project = self.seed.path(self.project);
        if project.exists() {
            copy_dir(&project, &sb.path(self.project));
            fs::set_permissions(sb.path(self.project), fs::Permissions::from_mode(0o700)).unwrap();
        }
        sb
    }

    /// The command under test, without Docker on PATH (setup needs none, and
    /// skips its drift check quickly).
    pub fn run(&self, sb: &Sandbox) -> Run {
        sb.xtask(&self.args).env("PATH", "/nonexistent")
    }

    /// Checks what a crashed run left, and returns which `.env` that is.
    pub fn check_after_crash(&self, sb: &Sandbox, context: &str) -> Left {
        let dir = sb.path(self.project);
        let found = files(&dir);
        let template = files(&sb.path("docker"));
        let mut left = Left::Absent;
        for (path, (bytes, mode)) in &found {
            let name = path.file_name().unwrap().to_str().unwrap();
            let shown = path.display();
            if is_temp_name(name) {
                if name.starts_with("..env.tmp.") || path.starts_with("backups") {
                    assert_eq!(*mode, 0o600, "{context}: temporary file {shown} is not private");
                }
                continue;
            }
            let text = String::from_utf8_lossy(bytes);
            if path == Path::new(".env") {
                left = self.which_env(&text, context);
                assert_eq!(*mode, 0o600, "{context}: .env mode");
            } else if path.starts_with("backups") {
                assert_eq!(
                    Some(text.as_ref()),
                    self.before.as_deref(),
                    "{context}: backup {shown} is not a complete copy of the earlier .env"
                );
                assert_eq!(*mode, 0o600, "{context}: backup mode");
            } else if path == Path::new(".gitignore") {
                assert!(text.contains("\n*\n"), "{context}: .gitignore is incomplete: {text:?}");
            } else if path == Path::new(".xtask.lock") {
                assert!(bytes.is_empty());
            } else if path == Path::new(".xtask-stack") || path.starts_with(".xtask-template") {
                // Where the template came from, and a copy of it as laid out.
            } else {
                let (expected, _) = template
                    .get(path)
                    .unwrap_or_else(|| panic!("{context}: unexpected file {shown}"));
                assert!(
                    expected == bytes,
                    "{context}: template file {shown} is not a complete copy"
                );
            }
        }
        if left == Left::Absent {
            assert!(self.before.is_none(), "{context}: .env disappeared");
        }
        left
    }

    fn which_env(&self, text: &str, context: &str) -> Left {
        if Some(text) == self.before.as_deref() {
            return Left::Old;
        }
        assert_eq!(
            shape(text),
            self.new_shape,
            "{context}: .env is neither the old file nor a complete new one"
        );
        let env = EnvFile::parse(Path::new(".env"), text.to_string()).expect("the new .env parses");
        for spec in CATALOG
            .iter()
            .filter(|s| s.tier == Tier::One && !s.when_declared && s.name != "JWT_KEYS" && s.name != "JWT_JWKS")
            // The previous keys of an overlap are empty outside one.
            .filter(|s| s.previous_of().is_none())
        {
            assert!(
                !env.get(spec.name).unwrap_or_default().is_empty(),
                "{context}: {} is empty in the new .env",
                spec.name
            );
        }
        for (key, value) in &self.kept {
            assert_eq!(
                env.get(key).as_deref(),
                Some(value.as_str()),
                "{context}: {key} was not kept"
            );
        }
        Left::New
    }

    /// After a crash: a re-run succeeds and leaves no temporary file, the
    /// next one changes nothing. Returns the re-run's stdout.
    pub fn recover(&self, sb: &Sandbox, left: Left, context: &str) -> String {
        let out = self.run(sb).output();
        assert_eq!(out.code, 0, "{context}: re-run failed\n{}\n{}", out.stdout, out.stderr);
        if left == Left::New {
            assert!(
                out.stdout.contains("no changes"),
                "{context}: the new .env was complete, yet the re-run changed it:\n{}",
                out.stdout
            );
        }
        self.check_after_crash(sb, &format!("{context}, after the re-run"));
        let after = files(&sb.path(self.project));
        for path in after.keys() {
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(!is_temp_name(name), "{context}: {} survived the re-run", path.display());
        }
        let env = sb.read(&format!("{}/.env", self.project));
        let backups = after.keys().filter(|p| p.starts_with("backups")).count();
        self.run(sb).succeeds().stdout_has("no changes");
        assert_eq!(sb.read(&format!("{}/.env", self.project)), env);
        let backups_now = files(&sb.path(self.project))
            .keys()
            .filter(|p| p.starts_with("backups"))
            .count();
        assert_eq!(backups_now, backups, "{context}: a run with no changes took a backup");
        out.stdout
    }
}
