//! Asking an operator at a terminal for a missing secret: on `/dev/tty`,
//! with echo off, typed twice, checked against its rule. Never without a
//! terminal: in CI, with `--non-interactive` or with no terminal on
//! standard input the caller fails at once instead of waiting. [`Prompt`]
//! is the terminal as a source of values, the last of a Tier 1 secret's.

use std::cell::UnsafeCell;
use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicI32, Ordering};

use super::lookup::{Check, Found, Nothing, Query, ValueSource};
use super::{Environment, Source};
use crate::error::Result as TaskResult;
use crate::secrets::Secret;
use crate::secrets::rules::Violation;

/// How many times a value may be refused before the prompt gives up.
pub const TRIES: usize = 3;

/// Why nobody can be asked; `Ok` when a terminal is there.
pub fn availability(non_interactive: bool, env: &Environment) -> Result<(), &'static str> {
    if non_interactive {
        Err("--non-interactive")
    } else if env.plain("CI").is_some_and(|ci| !matches!(ci, "false" | "0")) {
        Err("CI is set")
    } else if !io::stdin().is_terminal() {
        Err("standard input is not a terminal")
    } else if OpenOptions::new().read(true).write(true).open("/dev/tty").is_err() {
        Err("no controlling terminal")
    } else {
        Ok(())
    }
}

/// The terminal prompt as a source: asks for each value on the one
/// terminal of the run, opened on the first question.
pub struct Prompt {
    environment: Rc<Environment>,
    non_interactive: bool,
    /// Why nobody may be asked whatever the terminal (`--dry-run`).
    never: Option<&'static str>,
    terminal: Option<Terminal>,
}

impl Prompt {
    pub fn new(environment: Rc<Environment>, non_interactive: bool) -> Prompt {
        Prompt {
            environment,
            non_interactive,
            never: None,
            terminal: None,
        }
    }

    /// A prompt that never asks, for the reason given (a flag).
    pub fn never(self, why: &'static str) -> Prompt {
        Prompt {
            never: Some(why),
            ..self
        }
    }

    /// Whether somebody can be asked; else why not.
    pub fn availability(&self) -> Result<(), &'static str> {
        match self.never {
            Some(why) => Err(why),
            None => availability(self.non_interactive, &self.environment),
        }
    }
}

impl ValueSource for Prompt {
    /// Asks for `query.key`, refusing what the query's check objects to;
    /// `Found::Nothing` says why nobody can be asked.
    fn get(&mut self, query: &Query<'_>) -> TaskResult<Found> {
        let Some((spec, check)) = query.ask else {
            return Ok(Found::Nothing(Nothing::NobodyToAsk("nobody is asked")));
        };
        let terminal = match &mut self.terminal {
            Some(terminal) => terminal,
            None => {
                if let Err(why) = self.availability() {
                    return Ok(Found::Nothing(Nothing::NobodyToAsk(why)));
                }
                let opened = Terminal::open().map_err(|_| PromptError::NoTerminal)?;
                self.terminal.insert(opened)
            }
        };
        let value = terminal.ask_new(query.key, &spec.rule.describe(), check)?;
        Ok(Found::Value(value, Source::Prompt))
    }

    fn asks(&self) -> bool {
        true
    }
}

/// Why a typed value is refused and asked for again; said after the variable's name.
#[derive(Debug, thiserror::Error)]
pub enum Unfit {
    #[error("{0}")]
    Breaks(Violation),
    /// A new value was asked for, and the current one typed.
    #[error("is the current value; type the new one")]
    Current,
}

impl From<Violation> for Unfit {
    fn from(why: Violation) -> Unfit {
        Unfit::Breaks(why)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// The terminal was there when asked about, and could not be opened.
    #[error("no controlling terminal to ask for the new values on")]
    NoTerminal,
    #[error("{name}: no value entered (interrupted)")]
    Interrupted { name: String },
    #[error("{name}: no acceptable value after {TRIES} tries")]
    GaveUp { name: String },
    #[error("{name}: the terminal failed: {kind}")]
    Terminal { name: String, kind: io::ErrorKind },
}

/// The controlling terminal, opened for prompting.
pub struct Terminal {
    tty: File,
}

impl Terminal {
    pub fn open() -> io::Result<Terminal> {
        let tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
        Ok(Terminal { tty })
    }

    /// Asks for a new value of `name`: typed twice, unseen, and refused
    /// (then asked again) while `check` objects. `rule` is shown first.
    pub fn ask_new(&mut self, name: &str, rule: &str, check: &Check<'_>) -> Result<Secret, PromptError> {
        let terminal = |err: io::Error| PromptError::Terminal {
            name: name.into(),
            kind: err.kind(),
        };
        // Echo goes off before the first prompt shows and stays off until the
        // value is settled, so nothing typed in between is ever seen.
        let _quiet = Quiet::new(self.tty.try_clone().map_err(terminal)?).map_err(terminal)?;
        writeln!(
            self.tty,
            "{name} is not set in the environment ({rule}); the input is not shown"
        )
        .map_err(terminal)?;
        for _ in 0..TRIES {
            let first = self.read_hidden(&format!("  {name}: "), name)?;
            if first.is_empty() {
                writeln!(self.tty, "  empty; try again").map_err(terminal)?;
                continue;
            }
            if let Err(why) = check(first.expose()) {
                writeln!(self.tty, "  {name} {why}; try again").map_err(terminal)?;
                continue;
            }
            let second = self.read_hidden(&format!("  {name} again: "), name)?;
            if first != second {
                writeln!(self.tty, "  the two entries differ; try again").map_err(terminal)?;
                continue;
            }
            return Ok(first);
        }
        Err(PromptError::GaveUp { name: name.into() })
    }

    /// Reads one line (echo is off). Ctrl-C and Ctrl-D abandon the prompt;
    /// Backspace and Ctrl-U edit; arrow keys and other escapes are ignored.
    fn read_hidden(&mut self, prompt: &str, name: &str) -> Result<Secret, PromptError> {
        let terminal = |err: io::Error| PromptError::Terminal {
            name: name.into(),
            kind: err.kind(),
        };
        self.tty.write_all(prompt.as_bytes()).map_err(terminal)?;
        self.tty.flush().map_err(terminal)?;
        let line = read_line(&mut self.tty);
        let _ = self.tty.write_all(b"\n");
        match line.map_err(terminal)? {
            Some(bytes) => Ok(Secret::new(String::from_utf8_lossy(&bytes).into_owned())),
            None => Err(PromptError::Interrupted { name: name.into() }),
        }
    }
}

/// Reads keys until Enter; `None` when the operator gave up (Ctrl-C, Ctrl-D, end of input).
fn read_line(tty: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    #[derive(PartialEq)]
    enum Escape {
        None,
        Started,
        /// A CSI (`ESC [`) or SS3 (`ESC O`) sequence: it ends with a byte in 0x40..=0x7e.
        Sequence,
    }
    let mut line: Vec<u8> = Vec::new();
    let mut escape = Escape::None;
    let mut byte = [0u8; 1];
    loop {
        if tty.read(&mut byte)? == 0 {
            return Ok(None);
        }
        let b = byte[0];
        match escape {
            Escape::Started => {
                escape = if b == b'[' || b == b'O' {
                    Escape::Sequence
                } else {
                    Escape::None
                };
                continue;
            }
            Escape::Sequence => {
                if (0x40..=0x7e).contains(&b) {
                    escape = Escape::None;
                }
                continue;
            }
            Escape::None => {}
        }
        match b {
            b'\r' | b'\n' => return Ok(Some(line)),
            0x03 => return Ok(None),
            0x04 if line.is_empty() => return Ok(None),
            0x7f | 0x08 => {
                // Drop one whole UTF-8 character.
                while let Some(last) = line.pop() {
                    if last & 0xc0 != 0x80 {
                        break;
                    }
                }
            }
            0x15 => line.clear(),
            0x1b => escape = Escape::Started,
            b if b < 0x20 => {}
            b => line.push(b),
        }
    }
}

/// The terminal with echo, line editing and signal keys off; restored on
/// drop, and on SIGTERM, SIGHUP, SIGINT and SIGQUIT (then the signal ends
/// the process as it would have). Only SIGKILL leaves it as it is.
struct Quiet {
    tty: File,
    saved: libc::termios,
    handlers: Vec<(libc::c_int, libc::sigaction)>,
}

/// The signals that restore the terminal before ending the process.
const RESTORING: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT, libc::SIGQUIT];

/// The terminal a signal handler restores, and the settings it restores.
/// `TTY` is -1 while no prompt runs; `SAVED` is written before `TTY` is set.
static TTY: AtomicI32 = AtomicI32::new(-1);
static SAVED: SavedTermios = SavedTermios(UnsafeCell::new(MaybeUninit::uninit()));

struct SavedTermios(UnsafeCell<MaybeUninit<libc::termios>>);
// SAFETY: written only while `TTY` is -1 (no handler reads it), read only
// by the handler after `TTY` is set; prompts do not run concurrently.
unsafe impl Sync for SavedTermios {}

extern "C" fn restore_and_end(signal: libc::c_int) {
    let fd = TTY.load(Ordering::SeqCst);
    // SAFETY: tcsetattr, signal and raise are async-signal-safe; SAVED was
    // initialised before TTY was set to an open terminal.
    unsafe {
        if fd >= 0 {
            libc::tcsetattr(fd, libc::TCSANOW, (*SAVED.0.get()).as_ptr());
        }
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

impl Quiet {
    fn new(tty: File) -> io::Result<Quiet> {
        let fd = tty.as_raw_fd();
        // SAFETY: termios is plain old data; tcgetattr fills it or fails.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd is an open terminal for the lifetime of `tty`; the pointer is valid.
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: no handler reads SAVED while TTY is -1 (see SavedTermios).
        unsafe { (*SAVED.0.get()).write(saved) };
        TTY.store(fd, Ordering::SeqCst);
        let mut quiet = Quiet {
            tty,
            saved,
            handlers: Vec::new(),
        };
        for signal in RESTORING {
            // SAFETY: a zeroed sigaction is valid; the handler is async-signal-safe.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = restore_and_end as *const () as libc::sighandler_t;
                libc::sigemptyset(&mut action.sa_mask);
                let mut previous: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, &action, &mut previous) == 0 {
                    quiet.handlers.push((signal, previous));
                }
            }
        }
        let mut settings = saved;
        settings.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::ISIG | libc::IEXTEN);
        settings.c_cc[libc::VMIN] = 1;
        settings.c_cc[libc::VTIME] = 0;
        // TCSAFLUSH drops keys typed ahead, while echo was still on.
        // SAFETY: as above; `settings` is a valid termios derived from the saved one.
        if unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &settings) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(quiet)
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new` on the same open
        // terminal, then the signal handlers that were there before.
        unsafe {
            libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSANOW, &self.saved);
            TTY.store(-1, Ordering::SeqCst);
            for (signal, previous) in &self.handlers {
                libc::sigaction(*signal, previous, std::ptr::null_mut());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(bytes: &[u8]) -> Option<Vec<u8>> {
        read_line(&mut &bytes[..]).unwrap()
    }

    #[test]
    fn editing_keys_work_and_escapes_are_ignored() {
        assert_eq!(keys(b"abc\r").unwrap(), b"abc");
        assert_eq!(keys(b"abx\x7fc\n").unwrap(), b"abc");
        assert_eq!(keys("é\x7fe\r".as_bytes()).unwrap(), b"e");
        assert_eq!(keys(b"junk\x15ok\r").unwrap(), b"ok");
        assert_eq!(keys(b"a\x1b[Ab\x1bOCc\r").unwrap(), b"abc");
        assert_eq!(keys(b"\x04"), None);
        assert_eq!(keys(b"abc\x03"), None);
        assert_eq!(keys(b"no enter"), None);
    }

    #[test]
    fn nobody_is_asked_when_told_not_to_or_in_ci() {
        let env = Environment::from_pairs([]);
        assert_eq!(availability(true, &env), Err("--non-interactive"));
        let ci = Environment::from_pairs([("CI", "true")]);
        assert_eq!(availability(false, &ci), Err("CI is set"));
        let not_ci = Environment::from_pairs([("CI", "false")]);
        assert_ne!(availability(false, &not_ci), Err("CI is set"));
    }
}
