//! Stand-ins for the vault command-line tools (`bws`, `doppler`), whose
//! services this machine cannot reach: small shell scripts under the tool's
//! own name (setup only ever runs `bws` and `doppler` found on PATH), written
//! into a `stand-in-bin` folder put first on the PATH, that print the
//! documented JSON and record their arguments and the names of their
//! environment variables.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::Sandbox;

pub struct StandIn {
    /// The folder to put first on the PATH.
    pub bin: PathBuf,
    record: PathBuf,
    /// `stand-in-<tool>`: the prefix of its record files.
    name: String,
    /// The program name setup runs: `bws` or `doppler`.
    tool: String,
}

impl StandIn {
    /// `<tool>` in `stand-in-bin/`, printing `stdout` and succeeding.
    pub fn new(sb: &Sandbox, tool: &str, stdout: &str) -> StandIn {
        let bin = sb.path("stand-in-bin");
        let record = sb.path("stand-in-records");
        fs::create_dir_all(&bin).unwrap();
        fs::create_dir_all(&record).unwrap();
        let stand_in = StandIn {
            bin,
            record,
            name: format!("stand-in-{tool}"),
            tool: tool.to_string(),
        };
        fs::write(stand_in.file("stdout"), stdout).unwrap();
        stand_in.script(&format!("cat '{}'", stand_in.file("stdout").display()));
        stand_in
    }

    fn file(&self, what: &str) -> PathBuf {
        self.record.join(format!("{}.{what}", self.name))
    }

    /// Writes the script: record, then `tail` decides what happens.
    fn script(&self, tail: &str) {
        let path = self.bin.join(&self.tool);
        let text = format!(
            "#!/bin/sh\n\
             # Stand-in for a vault CLI: records its call, prints the documented JSON.\n\
             echo call >> '{calls}'\n\
             printf '%s\\n' \"$@\" > '{argv}'\n\
             awk 'BEGIN {{ for (k in ENVIRON) print k }}' | sort > '{env}'\n\
             {tail}\n",
            calls = self.file("calls").display(),
            argv = self.file("argv").display(),
            env = self.file("env").display(),
        );
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Prints `stderr` (the real tool's kind of message) and exits with `code`.
    pub fn fails(self, code: i32, stderr: &str) -> StandIn {
        fs::write(self.file("stderr"), stderr).unwrap();
        self.script(&format!("cat '{}' >&2\nexit {code}", self.file("stderr").display()));
        self
    }

    /// Not installed: the program is gone from `stand-in-bin/`.
    pub fn removed(self) -> StandIn {
        fs::remove_file(self.bin.join(&self.tool)).unwrap();
        self
    }

    /// Never answers.
    pub fn hangs(self) -> StandIn {
        self.script("sleep 60");
        self
    }

    /// Prints its JSON and exits, leaving a background child that keeps
    /// standard output open for 40 s (as a CLI's update checker can).
    pub fn leaves_a_child_holding_stdout(self) -> StandIn {
        self.script(&format!("cat '{}'\nsleep 40 &", self.file("stdout").display()));
        self
    }

    pub fn calls(&self) -> usize {
        fs::read_to_string(self.file("calls")).map_or(0, |t| t.lines().count())
    }

    pub fn argv(&self) -> Vec<String> {
        fs::read_to_string(self.file("argv"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// The names of the variables its environment held (awk adds none).
    pub fn env_names(&self) -> Vec<String> {
        fs::read_to_string(self.file("env"))
            .unwrap_or_default()
            .lines()
            .filter(|n| !["PWD", "SHLVL", "_", "OLDPWD", "AWKPATH", "AWKLIBPATH"].contains(n))
            .map(String::from)
            .collect()
    }
}
