//! The test builder: a throwaway copy of the repository, the real xtask
//! binary run in it, and assertions on what a user would see.

#![allow(dead_code)]

pub mod faults;
pub mod independent;
pub mod inject;
pub mod pty;
pub mod snapshot;
pub mod stack;
pub mod stand_in;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The repository this test suite belongs to.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A scratch repository: `docker/` and `setup.conf` copied from the real one.
pub struct Sandbox {
    pub root: PathBuf,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Sandbox {
    pub fn new() -> Sandbox {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let root = std::env::temp_dir().join(format!("xtask-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        copy_dir(&repo().join("docker"), &root.join("docker"));
        fs::copy(repo().join("setup.conf"), root.join("setup.conf")).unwrap();
        Sandbox { root }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    pub fn write(&self, relative: &str, text: &str) -> &Sandbox {
        let path = self.path(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        self
    }

    pub fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    pub fn mode(&self, relative: &str) -> u32 {
        fs::metadata(self.path(relative)).unwrap().permissions().mode() & 0o777
    }

    /// A run of the xtask binary with a clean environment.
    pub fn xtask<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        xtask_in(&self.root, args)
    }

    /// A scratch repository that is also a git repository: the real `.gitignore`
    /// copied too, and everything committed.
    pub fn git_repo() -> Sandbox {
        let sb = Sandbox::new();
        fs::copy(repo().join(".gitignore"), sb.path(".gitignore")).unwrap();
        sb.git(&["init", "-q"]);
        sb.commit_all("the stack template");
        sb
    }

    /// Runs git in the sandbox, asserting success; returns its stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.root, args)
    }

    /// Stages everything git does not ignore and commits it.
    pub fn commit_all(&self, message: &str) -> &Sandbox {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self
    }

    /// Every `KEY=value` of a project's `.env`, read plainly.
    pub fn env_values(&self, project: &str) -> BTreeMap<String, String> {
        parse_env(&self.read(&format!("{project}/.env")))
    }
}

/// Runs the real git in `dir` with a fixed identity and default branch,
/// asserting success; returns its stdout without the final newline.
/// A sandbox with one dev project, `p`, laid out by `setup --env dev`.
pub fn dev_project() -> (Sandbox, String) {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev", "--project-name", "p"]).succeeds();
    (sb, "p".to_string())
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let sh = xshell::Shell::new().unwrap();
    sh.change_dir(dir);
    let identity = [
        "-c",
        "user.name=Receptor Test",
        "-c",
        "user.email=test@example.invalid",
        "-c",
        "init.defaultBranch=main",
        "-c",
        "commit.gpgsign=false",
    ];
    xshell::cmd!(sh, "git {identity...} {args...}")
        .quiet()
        .read()
        .unwrap_or_else(|err| panic!("git must be installed and succeed: {err}"))
}

/// A run of the xtask binary in `dir` with a clean environment.
pub fn xtask_in<I, S>(dir: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    binary_in(Path::new(env!("CARGO_BIN_EXE_xtask")), dir, args)
}

/// A run of the xtask binary `bin` (another build of it) in `dir` with a clean environment.
pub fn binary_in<I, S>(bin: &Path, dir: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut cmd = Command::new(bin);
    cmd.args(args.into_iter().map(|a| a.as_ref().to_string()))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .stdin(Stdio::null());
    Run { cmd }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-R").arg("-i").arg(&self.root).output();
        let _ = fs::remove_dir_all(&self.root);
    }
}

pub fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('\'').to_string()))
        .collect()
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every entry under `root`: its mode, and a file's bytes or a link's target.
pub fn tree(root: &Path) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let content = if meta.is_dir() {
                stack.push(path.clone());
                Vec::new()
            } else if meta.file_type().is_symlink() {
                fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes()
            } else {
                fs::read(&path).unwrap()
            };
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            out.insert(relative, (meta.permissions().mode(), content));
        }
    }
    out
}

/// Asserts that no entry under `root` was added, removed or changed (mode,
/// bytes, link target) since `before` was taken with [`tree`].
pub fn assert_unchanged(before: &BTreeMap<PathBuf, (u32, Vec<u8>)>, root: &Path, what: &str) {
    let after = tree(root);
    let added: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    let removed: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    let changed: Vec<_> = before
        .iter()
        .filter(|(k, v)| after.get(*k).is_some_and(|a| a != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        added.is_empty() && removed.is_empty() && changed.is_empty(),
        "{what} changed files: added {added:?}, removed {removed:?}, changed {changed:?}"
    );
}

pub struct Run {
    pub cmd: Command,
}

impl Run {
    pub fn env(mut self, key: &str, value: &str) -> Run {
        self.cmd.env(key, value);
        self
    }

    pub fn envs(mut self, pairs: &[(&str, &str)]) -> Run {
        for (key, value) in pairs {
            self.cmd.env(key, value);
        }
        self
    }

    /// More arguments after those given to `xtask`.
    pub fn args_more<I, S>(mut self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.cmd.args(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Puts `dir` (stand-in programs) first on the PATH.
    pub fn path_first(mut self, dir: &Path) -> Run {
        let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default());
        self.cmd.env("PATH", path);
        self
    }

    /// Runs in a new pseudo-terminal, as an operator at a keyboard would.
    pub fn in_pty(self) -> pty::Pty {
        pty::Pty::spawn(self.cmd)
    }

    pub fn output(mut self) -> Outcome {
        let output = self.cmd.output().expect("the xtask binary runs");
        Outcome::from(output)
    }

    /// Runs, and fails the test when the run has not ended after `limit`
    /// (it is killed then): for inputs that once made it block forever.
    pub fn output_within(mut self, limit: std::time::Duration) -> Outcome {
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("the xtask binary runs");
        let start = std::time::Instant::now();
        while child.try_wait().expect("the run can be waited for").is_none() {
            if start.elapsed() > limit {
                let _ = child.kill();
                let out = Outcome::from(child.wait_with_output().unwrap());
                panic!(
                    "the run still had not ended after {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    out.stdout, out.stderr
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Outcome::from(child.wait_with_output().unwrap())
    }

    /// Runs and asserts exit code 0.
    pub fn succeeds(self) -> Outcome {
        let out = self.output();
        assert_eq!(
            out.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
        out
    }

    /// Runs and asserts the exit code.
    pub fn fails_with(self, code: i32) -> Outcome {
        let out = self.output();
        assert_eq!(
            out.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
        out
    }
}

pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Outcome {
    fn from(output: Output) -> Outcome {
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Outcome {
    pub fn stdout_has(&self, needle: &str) -> &Outcome {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }

    pub fn stderr_has(&self, needle: &str) -> &Outcome {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    /// Asserts that no byte of output holds any of `secrets`.
    pub fn never_shows(&self, secrets: &[&str]) -> &Outcome {
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            assert!(!self.stdout.contains(secret), "a secret value reached stdout");
            assert!(!self.stderr.contains(secret), "a secret value reached stderr");
        }
        self
    }

    /// Stdout parsed as JSON (`--format json`).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// The table lines of `check` that are not passes.
    pub fn findings_of(&self, check: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| !l.starts_with("pass") && l.split_whitespace().nth(1) == Some(check))
            .collect()
    }

    /// The error is exactly one line starting `error: `.
    pub fn one_line_error(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected one line on stderr:\n{}", self.stderr);
        assert!(lines[0].starts_with("error: "), "{}", self.stderr);
        lines[0]
    }
}
