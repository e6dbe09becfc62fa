//! A pseudo-terminal for driving the xtask as an operator at a keyboard
//! would: the binary gets it as its controlling terminal (`/dev/tty`) and
//! as standard input and output; the test reads the screen and types.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub struct Pty {
    master: File,
    child: Child,
    screen: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Pty {
    pub fn spawn(mut cmd: Command) -> Pty {
        let (mut master, mut slave) = (-1, -1);
        // SAFETY: openpty writes two new descriptors; the null pointers ask for defaults.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened and are owned by nobody else.
        let (master, slave) = unsafe { (File::from_raw_fd(master), File::from_raw_fd(slave)) };
        cmd.stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // A new session whose controlling terminal is the pty (its stdin).
                if libc::setsid() == -1 || libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("the xtask binary runs in a pty");
        // The Command holds the slave's descriptors: drop it, so the master
        // sees the end when the child exits.
        drop(cmd);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let screen = Arc::clone(&screen);
            let mut master = master.try_clone().unwrap();
            thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match master.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => screen.lock().unwrap().extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => break, // EIO: the child closed the terminal
                    }
                }
            })
        };
        Pty {
            master,
            child,
            screen,
            reader: Some(reader),
        }
    }

    /// Everything the terminal has shown so far.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Waits until the screen shows `needle` `count` times in all.
    pub fn expect_nth(&self, needle: &str, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.screen().matches(needle).count() < count {
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {needle:?} ({count}x):\n{}",
                self.screen()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn expect(&self, needle: &str) {
        self.expect_nth(needle, 1);
    }

    /// The process id of the xtask in the terminal.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The terminal's local modes as the xtask left them (`c_lflag`: ECHO,
    /// ICANON…), read through the terminal's own side.
    pub fn local_modes(&self) -> libc::tcflag_t {
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: the master is open; the buffer is as long as said.
        let rc = unsafe { libc::ptsname_r(self.master.as_raw_fd(), name.as_mut_ptr(), name.len()) };
        assert_eq!(rc, 0, "ptsname_r");
        // SAFETY: ptsname_r wrote a NUL-terminated name.
        let path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
            .to_str()
            .unwrap()
            .to_string();
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&path)
            .unwrap();
        // SAFETY: termios is plain old data; tcgetattr fills it.
        let mut modes: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: an open terminal and a valid pointer.
        assert_eq!(unsafe { libc::tcgetattr(slave.as_raw_fd(), &mut modes) }, 0);
        modes.c_lflag
    }

    /// Types `keys` (use "\r" for Enter).
    pub fn send(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Waits for the exit; returns its code and the whole screen.
    pub fn finish(mut self) -> (i32, String) {
        self.wait()
    }

    /// Waits for the exit; returns its code, the whole screen, and the
    /// terminal's local modes as the xtask left them.
    pub fn finish_with_modes(mut self) -> (i32, String, libc::tcflag_t) {
        let (code, screen) = self.wait();
        (code, screen, self.local_modes())
    }

    fn wait(&mut self) -> (i32, String) {
        // Generous: a rotation recreates services, and a loaded machine is slow; a
        // prompt that waits for input still never gets there.
        let deadline = Instant::now() + Duration::from_secs(180);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the xtask did not exit:\n{}", self.screen());
            }
            thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        (status.code().unwrap_or(-1), self.screen())
    }
}
