//! The one way the tool runs another program (git, Compose, docker, a vault
//! CLI): arguments as argv elements, a cleared environment plus an explicit
//! allow-list, no terminal (its own session and process group), standard
//! input from bytes, stdout and stderr captured without deadlock, and a
//! deadline, covering the output too, after which the whole group is killed.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::secrets::Secret;

/// Variables every child keeps from its parent when they are set: where
/// programs are, the user's home and scratch folders, the language. Every
/// `LC_*` variable is kept too.
pub const KEPT: &[&str] = &["PATH", "HOME", "TMPDIR", "LANG", "TZ"];

/// What a program that reaches the network needs besides [`KEPT`].
pub const NETWORK: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// What the docker CLI needs to find the engine besides [`KEPT`].
pub const DOCKER: &[&str] = &[
    "DOCKER_HOST",
    "DOCKER_CONTEXT",
    "DOCKER_CONFIG",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "DOCKER_API_VERSION",
    "XDG_RUNTIME_DIR",
];

/// How long a killed child's output may take to close before the run gives up on it.
const AFTER_KILL: Duration = Duration::from_secs(2);

/// One program to run. Built with the methods below, run with [`Program::run`]
/// or [`Program::stream`]; a `Program` can be run again.
#[derive(Clone)]
pub struct Program {
    program: OsString,
    args: Vec<OsString>,
    dir: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    /// Names kept from the parent besides [`KEPT`].
    passed: Vec<&'static str>,
    /// The parent's variables; `None`: this process's environment.
    parent: Option<Vec<(String, OsString)>>,
    /// Variables set for the child after the kept ones.
    set: Vec<(String, OsString)>,
    /// Values hidden from any error text: the secrets set and any others given.
    hidden: Vec<Secret>,
    /// Exit codes that are not failures; `None`: every code.
    ok: Option<Vec<i32>>,
}

impl fmt::Debug for Program {
    /// The program and its arguments (never a secret: those go through the
    /// environment or stdin); the environment by names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Program")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("dir", &self.dir)
            .field("stdin_bytes", &self.stdin.as_ref().map(Vec::len))
            .field("timeout", &self.timeout)
            .field("set", &self.set.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What a finished child left. `Debug` hides the output: it can hold secrets.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl fmt::Debug for Finished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finished")
            .field("status", &self.status)
            .field("stdout_bytes", &self.stdout.len())
            .field("stderr_bytes", &self.stderr.len())
            .finish()
    }
}

impl Finished {
    /// The exit code, or 128 + the signal that ended it.
    pub fn code(&self) -> i32 {
        code_of(self.status)
    }

    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Standard output as text (lossy).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

fn code_of(status: ExitStatus) -> i32 {
    status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(-1)
}

/// Why a program did not run to an accepted end. Text in it is redacted of
/// every value the call was told is secret.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("{program} is not installed or not on PATH")]
    NotInstalled { program: String },
    #[error("{program} could not be started: {detail}")]
    Spawn { program: String, detail: String },
    #[error("{program} did not finish within {} s and was stopped", .timeout.as_secs())]
    TimedOut { program: String, timeout: Duration },
    #[error("{program} failed with exit code {code}: {}", last_line(.stderr))]
    Failed {
        program: String,
        code: i32,
        /// The child's standard error, redacted.
        stderr: String,
    },
}

/// The last line of `text` that is not blank, trimmed.
pub fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message")
}

impl Program {
    /// `program` (a name looked up on the child's `PATH`, or a path), stopped
    /// after `timeout`. Only exit code 0 is a success until [`Program::ok_codes`]
    /// or [`Program::any_status`] say otherwise.
    pub fn new(program: impl AsRef<OsStr>, timeout: Duration) -> Program {
        Program {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            dir: None,
            stdin: None,
            timeout,
            passed: Vec::new(),
            parent: None,
            set: Vec::new(),
            hidden: Vec::new(),
            ok: Some(vec![0]),
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Program {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Program
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// The child's working folder.
    pub fn dir(mut self, dir: &Path) -> Program {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// `bytes` on the child's standard input (else it reads `/dev/null`),
    /// written while its output is read: a child that fills a pipe never blocks.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Program {
        self.stdin = Some(bytes.into());
        self
    }

    /// Keeps `names` from the parent too, when they are set (see [`NETWORK`], [`DOCKER`]).
    pub fn pass(mut self, names: &[&'static str]) -> Program {
        self.passed.extend_from_slice(names);
        self
    }

    /// Takes the kept variables from `vars` instead of this process's environment.
    pub fn parent_env(mut self, vars: impl IntoIterator<Item = (String, OsString)>) -> Program {
        self.parent = Some(vars.into_iter().collect());
        self
    }

    /// Sets a variable that is not secret.
    pub fn setting(mut self, name: &str, value: impl AsRef<OsStr>) -> Program {
        self.set.push((name.to_string(), value.as_ref().to_os_string()));
        self
    }

    /// Sets a secret variable (a token, a password): in the child's
    /// environment only, and hidden from any error text.
    pub fn secret(mut self, name: &str, value: &Secret) -> Program {
        self.set.push((name.to_string(), OsString::from(value.expose())));
        self.hidden.push(value.clone());
        self
    }

    /// Hides `values` too from the error text of this call.
    pub fn hiding(mut self, values: impl IntoIterator<Item = Secret>) -> Program {
        self.hidden.extend(values);
        self
    }

    /// Exit codes besides failures, e.g. `[0, 1]` for a yes/no answer.
    pub fn ok_codes(mut self, codes: &[i32]) -> Program {
        self.ok = Some(codes.to_vec());
        self
    }

    /// Every exit code comes back as [`Finished`], for the caller to read.
    pub fn any_status(mut self) -> Program {
        self.ok = None;
        self
    }

    fn name(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }

    /// The child's whole environment: the kept variables, then those set.
    fn environment(&self) -> Vec<(OsString, OsString)> {
        let kept = |name: &str| KEPT.contains(&name) || name.starts_with("LC_") || self.passed.contains(&name);
        let parent: Vec<(String, OsString)> = match &self.parent {
            Some(vars) => vars.clone(),
            None => std::env::vars_os()
                .filter_map(|(k, v)| k.into_string().ok().map(|k| (k, v)))
                .collect(),
        };
        let mut env: Vec<(OsString, OsString)> = parent
            .into_iter()
            .filter(|(k, v)| kept(k) && !v.is_empty())
            .map(|(k, v)| (k.into(), v))
            .collect();
        for (name, value) in &self.set {
            env.retain(|(k, _)| k != name.as_str());
            env.push((name.into(), value.clone()));
        }
        env
    }

    fn expression(&self) -> Result<duct::Expression, ProcessError> {
        if let Some(dir) = &self.dir
            && !dir.is_dir()
        {
            return Err(ProcessError::Spawn {
                program: self.name(),
                detail: format!("{} is not a folder", dir.display()),
            });
        }
        let mut expr = duct::cmd(&self.program, &self.args)
            .full_env(self.environment())
            .stderr_capture()
            .unchecked()
            .before_spawn(|cmd| {
                let parent = std::process::id() as libc::pid_t;
                // SAFETY: runs in the forked child before exec and only makes
                // async-signal-safe system calls (setsid, prctl, getppid, _exit).
                unsafe {
                    cmd.pre_exec(move || detach(parent));
                }
                Ok(())
            });
        expr = match &self.stdin {
            Some(bytes) => expr.stdin_bytes(bytes.clone()),
            None => expr.stdin_null(),
        };
        if let Some(dir) = &self.dir {
            expr = expr.dir(dir);
        }
        Ok(expr)
    }

    fn spawn_error(&self, err: io::Error) -> ProcessError {
        match err.kind() {
            io::ErrorKind::NotFound => ProcessError::NotInstalled { program: self.name() },
            _ => ProcessError::Spawn {
                program: self.name(),
                detail: err.kind().to_string(),
            },
        }
    }

    fn timed_out(&self) -> ProcessError {
        ProcessError::TimedOut {
            program: self.name(),
            timeout: self.timeout,
        }
    }

    fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        let mut hidden: Vec<&str> = self
            .hidden
            .iter()
            .map(Secret::expose)
            .filter(|v| !v.is_empty())
            .collect();
        hidden.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for value in hidden {
            out = out.replace(value, "[REDACTED]");
        }
        out
    }

    /// The finished child, or why it is not one: not installed, not started,
    /// stopped at the deadline, or an exit code the call does not accept.
    fn judge(&self, finished: Finished) -> Result<Finished, ProcessError> {
        let code = finished.code();
        match &self.ok {
            Some(ok) if !ok.contains(&code) => Err(ProcessError::Failed {
                program: self.name(),
                code,
                stderr: self.redact(&String::from_utf8_lossy(&finished.stderr)),
            }),
            _ => Ok(finished),
        }
    }

    /// Runs the program to its end, its output captured.
    pub fn run(&self) -> Result<Finished, ProcessError> {
        let handle = self
            .expression()?
            .stdout_capture()
            .start()
            .map_err(|e| self.spawn_error(e))?;
        let group = handle.pids().first().copied();
        let deadline = Instant::now() + self.timeout;
        match handle.wait_deadline(deadline) {
            Ok(Some(_)) => {}
            Ok(None) => {
                kill_group(group);
                let _ = handle.kill();
                let _ = handle.wait_timeout(AFTER_KILL);
                return Err(self.timed_out());
            }
            Err(err) => {
                kill_group(group);
                return Err(ProcessError::Spawn {
                    program: self.name(),
                    detail: err.kind().to_string(),
                });
            }
        }
        let output = handle.into_output().map_err(|e| self.spawn_error(e))?;
        self.judge(Finished {
            status: output.status,
            stdout: output.stdout,
            stderr: output.stderr,
        })
    }

    /// Runs the program with `read` consuming its standard output as it
    /// comes (for output too large to hold), under the same deadline.
    /// Returns what `read` returned once the child has ended.
    pub fn stream<T>(&self, read: impl FnOnce(&mut dyn BufRead) -> io::Result<T>) -> Result<T, ProcessError> {
        let reader = self.expression()?.reader().map_err(|e| self.spawn_error(e))?;
        let group = reader.pids().first().copied();
        let (done, finished) = mpsc::channel::<()>();
        let fired = Arc::new(AtomicBool::new(false));
        let watchdog = {
            let fired = Arc::clone(&fired);
            let timeout = self.timeout;
            std::thread::spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(timeout) {
                    fired.store(true, Ordering::SeqCst);
                    kill_group(group);
                }
            })
        };
        let mut buffered = BufReader::with_capacity(1 << 20, &reader);
        let result = read(&mut buffered);
        // The rest of the output, so the child can finish and be waited for.
        let drained = io::copy(&mut buffered, &mut io::sink());
        drop(buffered);
        let _ = done.send(());
        let _ = watchdog.join();
        if fired.load(Ordering::SeqCst) {
            let _ = reader.kill();
            return Err(self.timed_out());
        }
        let output = match reader.try_wait() {
            Ok(Some(output)) => output,
            _ => {
                let _ = reader.kill();
                return Err(ProcessError::Spawn {
                    program: self.name(),
                    detail: "its output ended before it did".into(),
                });
            }
        };
        // Standard output went to `read`; the status and stderr are judged here.
        self.judge(Finished {
            status: output.status,
            stdout: Vec::new(),
            stderr: output.stderr.clone(),
        })?;
        let value = result.map_err(|err| ProcessError::Spawn {
            program: self.name(),
            detail: format!("reading its output: {}", err.kind()),
        })?;
        drained.map_err(|err| ProcessError::Spawn {
            program: self.name(),
            detail: format!("reading its output: {}", err.kind()),
        })?;
        Ok(value)
    }
}

/// In the child, before exec: a session of its own (no controlling
/// terminal, so nothing can prompt; its own process group, so a deadline
/// kills all it started), killed if this process dies first (Linux ties
/// that to the thread that started it: the one that waits for it here).
fn detach(parent: libc::pid_t) -> io::Result<()> {
    // SAFETY: plain system calls on the calling process; no memory is shared.
    unsafe {
        if libc::setsid() == -1 {
            return Err(io::Error::last_os_error());
        }
        #[cfg(target_os = "linux")]
        {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                libc::_exit(137);
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = parent;
    }
    Ok(())
}

/// Kills the process group `leader` leads (the child and everything it started).
fn kill_group(leader: Option<u32>) {
    if let Some(pid) = leader.and_then(|p| libc::pid_t::try_from(p).ok()).filter(|p| *p > 1) {
        // SAFETY: kill(2) with a negative pid signals the process group the
        // child leads (it called setsid); no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent() -> Vec<(String, OsString)> {
        [
            ("PATH", "/usr/bin:/bin"),
            ("HOME", "/root"),
            ("LC_CTYPE", "C.UTF-8"),
            ("UNRELATED_SECRET", "canary"),
            ("GIT_DIR", "/elsewhere"),
            ("DOCKER_HOST", "unix:///x.sock"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect()
    }

    fn sh(script: &str, timeout: Duration) -> Program {
        Program::new("/bin/sh", timeout)
            .args(["-c", script])
            .parent_env(parent())
            .setting("TOOL_SETTING", "on")
            .secret("TOOL_TOKEN", &Secret::new("t0ken-canary"))
    }

    fn names(out: &Finished) -> Vec<String> {
        out.stdout_text()
            .lines()
            .filter(|n| !["PWD", "SHLVL", "_"].contains(n))
            .map(String::from)
            .collect()
    }

    #[test]
    fn the_child_sees_only_the_kept_and_the_set_variables() {
        let out = sh("env | cut -d= -f1 | sort", Duration::from_secs(10)).run().unwrap();
        assert_eq!(names(&out), ["HOME", "LC_CTYPE", "PATH", "TOOL_SETTING", "TOOL_TOKEN"]);
        let out = sh("env | cut -d= -f1 | sort", Duration::from_secs(10))
            .pass(DOCKER)
            .run()
            .unwrap();
        assert!(names(&out).contains(&"DOCKER_HOST".to_string()));
    }

    #[test]
    fn the_child_leads_a_session_of_its_own_so_nothing_can_prompt() {
        let out = sh("echo $$ $(cut -d' ' -f5,6 /proc/$$/stat)", Duration::from_secs(10))
            .run()
            .unwrap();
        let text = out.stdout_text();
        let ids: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(ids.len(), 3, "{text}");
        assert_eq!(ids[1], ids[0], "the child leads its own process group: {text}");
        assert_eq!(
            ids[2], ids[0],
            "and its own session, without a controlling terminal: {text}"
        );
    }

    #[test]
    fn a_slow_child_and_its_children_are_killed_at_the_deadline() {
        let start = Instant::now();
        let result = sh("sleep 30 & sleep 30; echo late", Duration::from_millis(300)).run();
        assert!(matches!(result, Err(ProcessError::TimedOut { .. })), "{result:?}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn the_deadline_covers_a_background_child_holding_the_output_open() {
        let marker = std::env::temp_dir().join(format!("receptor-process-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let script = format!("(sleep 3; touch '{}') & echo '[]'", marker.display());
        let start = Instant::now();
        let result = sh(&script, Duration::from_millis(500)).run();
        assert!(matches!(result, Err(ProcessError::TimedOut { .. })), "{result:?}");
        assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
        std::thread::sleep(Duration::from_secs(4));
        assert!(!marker.exists(), "the background child was killed with its group");
    }

    #[test]
    fn much_input_and_much_output_at_once_never_deadlock() {
        let input = vec![b'x'; 4 << 20];
        let out = sh("cat; cat /dev/null >&2", Duration::from_secs(20))
            .stdin(input.clone())
            .run()
            .unwrap();
        assert_eq!(out.stdout.len(), input.len());
        let out = sh("head -c 3000000 /dev/zero >&2; echo done", Duration::from_secs(20))
            .run()
            .unwrap();
        assert_eq!(out.stderr.len(), 3_000_000);
    }

    #[test]
    fn a_missing_program_a_failure_and_a_timeout_are_told_apart() {
        let missing = Program::new("receptor-no-such-program", Duration::from_secs(1)).run();
        assert!(matches!(missing, Err(ProcessError::NotInstalled { .. })), "{missing:?}");
        let failed = sh("echo \"bad t0ken-canary\" >&2; exit 3", Duration::from_secs(5)).run();
        match failed {
            Err(err @ ProcessError::Failed { code: 3, .. }) => {
                let text = err.to_string();
                assert_eq!(text, "/bin/sh failed with exit code 3: bad [REDACTED]");
            }
            other => panic!("{other:?}"),
        }
        let accepted = sh("exit 1", Duration::from_secs(5)).ok_codes(&[0, 1]).run().unwrap();
        assert_eq!(accepted.code(), 1);
        let any = sh("exit 7", Duration::from_secs(5)).any_status().run().unwrap();
        assert_eq!(any.code(), 7);
        let dir = Program::new("/bin/true", Duration::from_secs(1))
            .dir(Path::new("/nonexistent-receptor"))
            .run();
        assert!(matches!(dir, Err(ProcessError::Spawn { .. })), "{dir:?}");
    }

    #[test]
    fn streamed_output_is_read_as_it_comes_under_the_deadline() {
        let lines = sh("printf 'a\\nb\\n'", Duration::from_secs(5))
            .stream(|r| Ok(r.lines().map_while(Result::ok).collect::<Vec<_>>()))
            .unwrap();
        assert_eq!(lines, ["a", "b"]);
        let first = sh("echo one; echo two", Duration::from_secs(5))
            .stream(|r| {
                let mut line = String::new();
                r.read_line(&mut line)?;
                Ok(line)
            })
            .unwrap();
        assert_eq!(first, "one\n");
        let start = Instant::now();
        let slow = sh("echo one; sleep 30", Duration::from_millis(300)).stream(|r| {
            let mut all = String::new();
            r.read_to_string(&mut all)?;
            Ok(all)
        });
        assert!(matches!(slow, Err(ProcessError::TimedOut { .. })), "{slow:?}");
        assert!(start.elapsed() < Duration::from_secs(5));
        let failed = sh("echo out; exit 2", Duration::from_secs(5)).stream(|_| Ok(()));
        assert!(
            matches!(failed, Err(ProcessError::Failed { code: 2, .. })),
            "{failed:?}"
        );
    }
}
