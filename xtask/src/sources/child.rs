//! Runs a vault's command-line tool the one safe way: arguments as argv
//! elements (never a secret among them), a controlled environment that
//! carries the token, no standard input, and a time limit after which the
//! tool and everything it started are killed.

use std::fmt;
use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::Environment;
use crate::secrets::Secret;

/// Variables every child gets from this process when they are set: where
/// programs are, the user's configuration, and how to reach the network.
const PASSED_THROUGH: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// What to run.
pub struct Invocation<'a> {
    pub program: &'a str,
    pub args: Vec<String>,
    /// Non-secret variables the tool needs, besides [`PASSED_THROUGH`].
    pub settings: Vec<(&'static str, String)>,
    /// Secret variables (tokens): set in the child's environment only.
    pub secrets: Vec<(&'static str, Secret)>,
    pub timeout: Duration,
}

/// What a finished child left. `Debug` hides the output: it holds secrets.
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
        self.status
            .code()
            .or_else(|| self.status.signal().map(|s| 128 + s))
            .unwrap_or(-1)
    }
}

#[derive(Debug)]
pub enum ChildError {
    NotInstalled,
    Spawn(io::Error),
    TimedOut,
}

/// Runs `call` with the variables of `env` named in [`PASSED_THROUGH`] plus
/// its own, and nothing else.
pub fn run(call: &Invocation<'_>, env: &Environment) -> Result<Finished, ChildError> {
    let mut cmd = Command::new(call.program);
    cmd.args(&call.args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout can kill whatever it started too.
        .process_group(0);
    for name in PASSED_THROUGH {
        if let Some(value) = env.plain(name) {
            cmd.env(name, value);
        }
    }
    for (name, value) in &call.settings {
        cmd.env(name, value);
    }
    for (name, value) in &call.secrets {
        cmd.env(name, value.expose());
    }
    let mut child = cmd.spawn().map_err(|err| match err.kind() {
        io::ErrorKind::NotFound => ChildError::NotInstalled,
        _ => ChildError::Spawn(err),
    })?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait(&mut child, call.timeout);
    if status.is_none() {
        kill_group(&mut child);
    }
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    match status {
        Some(status) => Ok(Finished { status, stdout, stderr }),
        None => Err(ChildError::TimedOut),
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut out);
        }
        out
    })
}

/// The exit status, or `None` when `timeout` passed first.
fn wait(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(_) => return None,
        }
    }
}

fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals the process group the
        // child leads (it was spawned with process_group(0)); no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        Environment::from_pairs([
            ("PATH", "/usr/bin:/bin"),
            ("HOME", "/root"),
            ("UNRELATED_SECRET", "canary"),
        ])
    }

    fn sh(script: &str, timeout: Duration) -> Result<Finished, ChildError> {
        run(
            &Invocation {
                program: "/bin/sh",
                args: vec!["-c".into(), script.into()],
                settings: vec![("TOOL_SETTING", "on".into())],
                secrets: vec![("TOOL_TOKEN", Secret::new("t0ken"))],
                timeout,
            },
            &env(),
        )
    }

    #[test]
    fn the_child_sees_only_the_controlled_environment() {
        let out = sh("env | cut -d= -f1 | sort", Duration::from_secs(10)).unwrap();
        let names = String::from_utf8(out.stdout).unwrap();
        let names: Vec<&str> = names
            .lines()
            .filter(|n| *n != "PWD" && *n != "SHLVL" && *n != "_")
            .collect();
        assert_eq!(names, ["HOME", "PATH", "TOOL_SETTING", "TOOL_TOKEN"]);
    }

    #[test]
    fn a_slow_child_and_its_children_are_killed_at_the_deadline() {
        let start = Instant::now();
        let result = sh("sleep 30 & sleep 30; echo late", Duration::from_millis(300));
        assert!(matches!(result, Err(ChildError::TimedOut)), "{result:?}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_missing_program_is_told_apart() {
        let result = run(
            &Invocation {
                program: "receptor-no-such-program",
                args: vec![],
                settings: vec![],
                secrets: vec![],
                timeout: Duration::from_secs(1),
            },
            &env(),
        );
        assert!(matches!(result, Err(ChildError::NotInstalled)));
    }
}
