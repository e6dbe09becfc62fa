//! Docker Compose: the one place the tool runs it. Flavour detection, a
//! controlled environment, typed errors, consumers of each variable, drift.
//!
//! Compose output can hold secrets (`config` prints them resolved): nothing
//! it prints reaches the user without passing through [`Redactor`].

mod consumers;
mod drift;
mod errors;
pub mod files;
mod flavour;
pub mod gateway_cache;
pub mod interpolation;
mod redact;
pub mod start_first;
mod state;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use consumers::{
    Consumers, DATABASE_READS_AT_INIT, consumers_from_config, database_service, is_database_image, layers,
};
pub use drift::{Drift, ServiceDrift};
pub use errors::ComposeError;
pub use flavour::Flavour;
pub use redact::Redactor;
pub use state::{ContainerState, Health};

use crate::process::{self, Finished, Program};
use crate::secrets::Secret;

/// How long one Compose or docker command may take, besides the wait an
/// `up --wait` is given: then it is stopped with all it started.
const TIMEOUT: Duration = Duration::from_secs(600);

/// The docker CLI (or a standalone Compose) with the environment a compose
/// child keeps: what it needs to find the engine ([`process::DOCKER`]),
/// nothing of the caller's shell that could override a `.env` value.
fn docker(program: &str, timeout: Duration) -> Program {
    Program::new(program, timeout).pass(process::DOCKER)
}

/// `up -d --wait --wait-timeout TIMEOUT --no-deps`: the named services only,
/// their dependencies left running as they are.
fn up_without_deps(timeout: &str) -> Vec<&str> {
    vec!["up", "--detach", "--wait", "--wait-timeout", timeout, "--no-deps"]
}

/// One Compose project: a folder with its compose file and `.env`.
#[derive(Debug, Clone)]
pub struct Compose {
    flavour: Flavour,
    pub project_name: String,
    pub dir: PathBuf,
    file: PathBuf,
    /// Further compose files layered over `file` (`-f` each, in order).
    overrides: Vec<PathBuf>,
    /// Variables set on every compose child after the kept ones.
    child_env: Vec<(String, String)>,
    redactor: Redactor,
    /// The database service named by `setup.conf` (empty: none); else derived from the images.
    database: Option<String>,
}

/// What a command run inside a container printed, and how it exited.
/// Both streams are redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// A service's container as `ps` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    pub service: String,
    pub container_id: String,
    pub state: ContainerState,
    pub health: Health,
    /// Compose's hash of the service configuration the container was made from.
    pub config_hash: String,
}

impl ServiceState {
    pub fn is_running(&self) -> bool {
        self.state == ContainerState::Running
    }

    /// Running, and healthy or without a healthcheck.
    pub fn is_serving(&self) -> bool {
        self.is_running() && matches!(self.health, Health::Healthy | Health::Unchecked)
    }
}

/// Whether the engine has any container of Compose project `project_name`,
/// asked with one `docker ps` (no Compose start-up): false when Docker is
/// absent or down. Lets callers skip Compose entirely when nothing runs.
pub fn has_containers(project_name: &str) -> bool {
    let label = format!("label=com.docker.compose.project={project_name}");
    docker("docker", Duration::from_secs(60))
        .args(["ps", "--all", "--quiet", "--filter", &label])
        .run()
        .is_ok_and(|out| !out.stdout.trim_ascii().is_empty())
}

impl Compose {
    /// The project in `dir`, named `project_name`. Detects the Compose flavour.
    /// `redactor` holds the secret values that must never be shown.
    pub fn new(project_name: &str, dir: &Path, redactor: Redactor) -> Result<Compose, ComposeError> {
        let flavour = flavour::detect()?;
        let file = [
            "docker-compose.yml",
            "docker-compose.yaml",
            "compose.yaml",
            "compose.yml",
        ]
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| ComposeError::InvalidFile {
            detail: format!("no compose file in {}", dir.display()),
        })?;
        Ok(Compose {
            flavour,
            project_name: project_name.to_string(),
            dir: dir.to_path_buf(),
            file,
            overrides: Vec::new(),
            child_env: Vec::new(),
            redactor,
            database: None,
        })
    }

    /// The same project with `file` layered over its compose file (for the
    /// `health` fail point).
    #[cfg(feature = "test-hooks")]
    pub fn with_override_file(&self, file: &Path) -> Compose {
        let mut compose = self.clone();
        compose.overrides.push(file.to_path_buf());
        compose
    }

    /// The same project with `name=value` in every compose child's environment
    /// (for example another `DOCKER_HOST`, for the `recreate` fail point).
    /// Never a secret: use [`Compose::exec_with`].
    #[cfg(feature = "test-hooks")]
    pub fn with_child_env(&self, name: &str, value: &str) -> Compose {
        let mut compose = self.clone();
        compose.child_env.push((name.to_string(), value.to_string()));
        compose
    }

    /// The same project, also hiding `values` in anything it shows.
    pub fn also_redacting(&self, values: impl IntoIterator<Item = Secret>) -> Compose {
        let mut compose = self.clone();
        compose.redactor = self.redactor.with(values);
        compose
    }

    /// `text` with every secret value of this project hidden.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    pub fn flavour(&self) -> &Flavour {
        &self.flavour
    }

    /// A compose command with the project's flags and a controlled environment:
    /// the caller's shell cannot override a `.env` value during interpolation.
    fn command(&self, args: &[&str], timeout: Duration) -> Program {
        let (program, first) = self.flavour.program();
        let mut cmd = docker(program, timeout).args(first);
        for (name, value) in &self.child_env {
            cmd = cmd.setting(name, value);
        }
        cmd = cmd
            .arg("-p")
            .arg(&self.project_name)
            .arg("--project-directory")
            .arg(&self.dir)
            .arg("--env-file")
            .arg(self.dir.join(".env"))
            .arg("-f")
            .arg(&self.file);
        for file in &self.overrides {
            cmd = cmd.arg("-f").arg(file);
        }
        cmd.args(args).dir(&self.dir).any_status()
    }

    /// Runs `args`, returning stdout; a failure becomes a typed, redacted error.
    fn run(&self, args: &[&str]) -> Result<String, ComposeError> {
        self.run_for(args, None, TIMEOUT)
    }

    fn run_for(&self, args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<String, ComposeError> {
        let output = self.spawn(args, stdin, &[], timeout)?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.success() {
            return Ok(stdout);
        }
        let stderr = self.redactor.redact(&String::from_utf8_lossy(&output.stderr));
        Err(errors::classify(&stderr, Some(output.code())))
    }

    /// Runs compose with `args`, `stdin` on its standard input and `env` added
    /// to its environment (values the child passes on by name, never in argv).
    fn spawn(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(&str, &Secret)],
        timeout: Duration,
    ) -> Result<Finished, ComposeError> {
        let mut cmd = self.command(args, timeout);
        for (name, value) in env {
            cmd = cmd.secret(name, value);
        }
        if let Some(bytes) = stdin {
            cmd = cmd.stdin(bytes);
        }
        cmd.run().map_err(ComposeError::from)
    }

    /// `config -q`: whether the compose file and `.env` are valid together.
    pub fn validate(&self) -> Result<(), ComposeError> {
        self.run(&["config", "-q"]).map(|_| ())
    }

    /// Which services read which `.env` variable, from the uninterpolated file,
    /// and which service is the database ([`Compose::database_service`]).
    pub fn consumers(&self) -> Result<Consumers, ComposeError> {
        let database = self.database_service()?;
        Ok(consumers_from_config(
            &self.uninterpolated_config()?,
            database.as_deref(),
        ))
    }

    /// The service that runs the database: the one `setup.conf` names
    /// (`database_service`, empty for none), else the one service whose image
    /// is a PostgreSQL server; `None` when the database is not a Compose service.
    pub fn database_service(&self) -> Result<Option<String>, ComposeError> {
        match &self.database {
            Some(name) if name.is_empty() => Ok(None),
            Some(name) => Ok(Some(name.clone())),
            None => Ok(database_service(&self.resolved_config()?)),
        }
    }

    /// The same project with the database service `setup.conf` names
    /// (`Some("")`: none) instead of the one its images tell.
    pub fn with_database_service(&self, service: Option<&str>) -> Compose {
        let mut compose = self.clone();
        compose.database = service.map(str::to_string);
        compose
    }

    /// The configuration before interpolation: it holds no `.env` value.
    fn uninterpolated_config(&self) -> Result<serde_json::Value, ComposeError> {
        let json = self.run(&["config", "--no-interpolate", "--format", "json"])?;
        serde_json::from_str(&json).map_err(|_| ComposeError::Unexpected {
            detail: "config --format json printed something else".into(),
        })
    }

    /// `services` in the order [`Compose::recreate`] takes them: dependents first.
    pub fn recreate_layers(&self, services: &[String]) -> Result<Vec<Vec<String>>, ComposeError> {
        Ok(layers(&self.uninterpolated_config()?, services))
    }

    /// Recreates `services` a layer at a time, dependents first (and
    /// `--force-recreate` when `force`; else only containers whose
    /// configuration differs are recreated). A service's dependencies keep
    /// running while it comes back. The stateless services behind the gateway
    /// are recreated start-first ([`start_first`]); the others with
    /// `up --no-deps --wait`, their old container stopped first.
    pub fn recreate(&self, services: &[String], force: bool, wait_secs: u64) -> Result<(), ComposeError> {
        let config = self.uninterpolated_config()?;
        let database = self.database_service()?;
        for layer in layers(&config, services) {
            let method = start_first::method(&config, &layer, database.as_deref());
            if !method.stop_first.is_empty() {
                self.recreate_stop_first(&method.stop_first, force, wait_secs)?;
            }
            if !method.start_first.is_empty() {
                self.recreate_start_first(&method.start_first, force, wait_secs)?;
            }
        }
        Ok(())
    }

    /// How `services` would be recreated: start-first or stop-first.
    pub fn recreate_method(&self, services: &[String]) -> Result<start_first::Method, ComposeError> {
        let database = self.database_service()?;
        Ok(start_first::method(
            &self.uninterpolated_config()?,
            services,
            database.as_deref(),
        ))
    }

    /// Whether Kong must be recreated after `services` because it caches their
    /// addresses too long ([`gateway_cache`]). With `before` (the containers before
    /// the recreate), only those that got a new container count; without, all of
    /// them (a plan). A Kong that does not run resolves afresh when it starts.
    pub fn gateway_refresh(
        &self,
        services: &[String],
        before: Option<&[ServiceState]>,
    ) -> Result<Option<gateway_cache::Refresh>, ComposeError> {
        let now = self.ps()?;
        if !now.iter().any(|s| s.service == start_first::GATEWAY && s.is_running()) {
            return Ok(None);
        }
        let renewed: Vec<String> = match before {
            None => services.to_vec(),
            Some(before) => services
                .iter()
                .filter(|service| {
                    let ids = |states: &[ServiceState]| -> Vec<String> {
                        states
                            .iter()
                            .filter(|s| &&s.service == service)
                            .map(|s| s.container_id.clone())
                            .collect()
                    };
                    ids(before) != ids(&now)
                })
                .cloned()
                .collect(),
        };
        Ok(gateway_cache::refresh(&self.uninterpolated_config()?, &renewed))
    }

    /// `up --no-deps --wait` of `services`: Compose stops each old container
    /// before it starts the new one.
    fn recreate_stop_first(&self, services: &[String], force: bool, wait_secs: u64) -> Result<(), ComposeError> {
        let timeout = wait_secs.to_string();
        let mut args = up_without_deps(&timeout);
        if force {
            args.push("--force-recreate");
        }
        args.push("--");
        args.extend(services.iter().map(String::as_str));
        self.up_with(&args, wait_secs)
    }

    /// The new container of each of `services` started next to its old one
    /// (`--scale` one more, `--no-recreate`: the old keeps its configuration),
    /// all in one `up`, waited healthy; then, after the longest drain, the old
    /// ones stopped and removed. New containers that do not get healthy are
    /// removed and the old ones keep serving. A service without a running
    /// container gets Compose's plain `up`; one whose configuration is
    /// unchanged (and not `force`) is left alone.
    fn recreate_start_first(
        &self,
        services: &[(String, Duration)],
        force: bool,
        wait_secs: u64,
    ) -> Result<(), ComposeError> {
        let states = self.ps()?;
        let names: Vec<&str> = services.iter().map(|(name, _)| name.as_str()).collect();
        let hashes = self.config_hashes(&names)?;
        let (mut plain, mut replaced, mut drain) = (Vec::new(), Vec::new(), Duration::ZERO);
        for (service, service_drain) in services {
            let old: Vec<&ServiceState> = states.iter().filter(|s| &s.service == service).collect();
            if old.is_empty() || old.iter().any(|s| !s.is_running()) {
                plain.push(service.clone());
            } else if force || old.len() > 1 || hashes.get(service) != Some(&old[0].config_hash) {
                drain = drain.max(*service_drain);
                replaced.push((service.as_str(), old));
            }
        }
        if !plain.is_empty() {
            self.recreate_stop_first(&plain, force, wait_secs)?;
        }
        if replaced.is_empty() {
            return Ok(());
        }
        let timeout = wait_secs.to_string();
        let scales: Vec<String> = replaced
            .iter()
            // One token, `--scale=SVC=N`: the value can never be read as an option.
            .map(|(service, old)| format!("--scale={service}={}", old.len() + 1))
            .collect();
        let mut up = up_without_deps(&timeout);
        up.push("--no-recreate");
        up.extend(scales.iter().map(String::as_str));
        up.push("--");
        up.extend(replaced.iter().map(|(service, _)| *service));
        let old_ids: Vec<String> = replaced
            .iter()
            .flat_map(|(_, old)| old.iter().map(|s| s.container_id.clone()))
            .collect();
        if let Err(err) = self.up_with(&up, wait_secs) {
            let new: Vec<String> = self
                .ps()
                .unwrap_or_default()
                .into_iter()
                .filter(|s| replaced.iter().any(|(service, _)| s.service == *service))
                .map(|s| s.container_id)
                .filter(|id| !old_ids.contains(id))
                .collect();
            let _ = self.remove_containers(&new);
            return Err(err);
        }
        std::thread::sleep(drain);
        self.remove_containers(&old_ids)
    }

    /// Compose's hash of each of `services`' configuration, as their
    /// containers' label holds it.
    fn config_hashes(&self, services: &[&str]) -> Result<std::collections::BTreeMap<String, String>, ComposeError> {
        let out = self.run(&["config", &format!("--hash={}", services.join(","))])?;
        Ok(out
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                Some((words.next()?.to_string(), words.next()?.to_string()))
            })
            .collect())
    }

    /// Stops (with each container's own stop signal, 10 seconds' grace) and
    /// removes the containers `ids`; their volumes stay.
    fn remove_containers(&self, ids: &[String]) -> Result<(), ComposeError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.docker_cli(&["stop", "--time", "10", "--"], ids)?;
        self.docker_cli(&["rm", "--"], ids)
    }

    /// Runs the docker CLI with `args` then `ids`, in the environment compose
    /// children get; a failure becomes a typed, redacted error.
    fn docker_cli(&self, args: &[&str], ids: &[String]) -> Result<(), ComposeError> {
        let mut cmd = docker("docker", TIMEOUT);
        for (name, value) in &self.child_env {
            cmd = cmd.setting(name, value);
        }
        let output = cmd.args(args).args(ids).any_status().run()?;
        if output.success() {
            return Ok(());
        }
        let stderr = self.redactor.redact(&String::from_utf8_lossy(&output.stderr));
        Err(errors::classify(&stderr, Some(output.code())))
    }

    /// The fully resolved configuration. It holds plaintext secrets: never print it.
    fn resolved_config(&self) -> Result<serde_json::Value, ComposeError> {
        let json = self.run(&["config", "--format", "json"])?;
        serde_json::from_str(&json).map_err(|_| ComposeError::Unexpected {
            detail: "config --format json printed something else".into(),
        })
    }

    /// Containers of the project, running or not.
    pub fn ps(&self) -> Result<Vec<ServiceState>, ComposeError> {
        let out = self.run(&["ps", "--all", "--format", "json"])?;
        let mut states = Vec::new();
        let trimmed = out.trim();
        let values: Vec<serde_json::Value> = if trimmed.starts_with('[') {
            serde_json::from_str(trimmed).unwrap_or_default()
        } else {
            trimmed.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
        };
        for v in values {
            let text = |key: &str| v.get(key).and_then(|x| x.as_str()).unwrap_or_default().to_string();
            states.push(ServiceState {
                service: text("Service"),
                container_id: text("ID"),
                state: ContainerState::parse(&text("State")),
                health: Health::parse(&text("Health")),
                config_hash: text("Labels")
                    .split(',')
                    .find_map(|label| label.strip_prefix("com.docker.compose.config-hash="))
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        states.sort_by(|a, b| a.service.cmp(&b.service));
        Ok(states)
    }

    /// `up -d --wait`: starts (or recreates where the configuration changed)
    /// `services` (all when empty) and waits until they are running and healthy.
    pub fn up(&self, services: &[String], force_recreate: bool, wait_secs: u64) -> Result<(), ComposeError> {
        let timeout = wait_secs.to_string();
        let mut args = vec!["up", "--detach", "--wait", "--wait-timeout", timeout.as_str()];
        if force_recreate {
            args.extend(["--force-recreate", "--no-deps"]);
        }
        args.push("--");
        args.extend(services.iter().map(String::as_str));
        self.up_with(&args, wait_secs)
    }

    /// Runs an `up` command line, given `wait_secs` besides the usual time;
    /// a service that fails to get healthy is named.
    fn up_with(&self, args: &[&str], wait_secs: u64) -> Result<(), ComposeError> {
        match self.run_for(args, None, TIMEOUT + Duration::from_secs(wait_secs)) {
            Err(ComposeError::Failed { .. }) | Err(ComposeError::Unhealthy { .. }) => {
                let unhealthy: Vec<String> = self
                    .ps()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|s| s.health == Health::Unhealthy || !s.is_running())
                    .map(|s| s.service)
                    .collect();
                Err(ComposeError::Unhealthy { services: unhealthy })
            }
            other => other.map(|_| ()),
        }
    }

    /// `restart`: kept for the harness to show it does not apply a changed `.env`.
    pub fn restart(&self, services: &[String]) -> Result<(), ComposeError> {
        let mut args = vec!["restart", "--"];
        args.extend(services.iter().map(String::as_str));
        self.run(&args).map(|_| ())
    }

    /// `down`, keeping volumes unless `volumes` is set.
    pub fn down(&self, volumes: bool) -> Result<(), ComposeError> {
        let mut args = vec!["down", "--remove-orphans", "--timeout", "5"];
        if volumes {
            args.push("--volumes");
        }
        self.run(&args).map(|_| ())
    }

    /// Runs `command` in `service`'s container with `stdin` on its standard
    /// input (how secrets reach a child: never its argv). Returns stdout.
    pub fn exec(&self, service: &str, command: &[&str], stdin: &[u8]) -> Result<String, ComposeError> {
        let mut args = vec!["exec", "-T", "--", service];
        args.extend_from_slice(command);
        self.run_for(&args, Some(stdin), TIMEOUT)
            .map(|out| self.redactor.redact(&out))
    }

    /// Like [`Compose::exec`], with `env` in the command's environment: each
    /// name goes on compose's argv as `-e NAME` and its value through compose's
    /// own environment, never argv. A command that runs and fails is not an
    /// error here: its exit code and output come back for its owner to read.
    /// Errors are Compose's own: no engine, no such service, not running.
    pub fn exec_with(
        &self,
        service: &str,
        command: &[&str],
        stdin: &[u8],
        env: &[(&str, &Secret)],
    ) -> Result<ExecOutput, ComposeError> {
        let mut args = vec!["exec", "-T"];
        for (name, _) in env {
            args.extend(["-e", name]);
        }
        args.extend(["--", service]);
        args.extend_from_slice(command);
        let output = self.spawn(&args, Some(stdin), env, TIMEOUT)?;
        let stderr = self.redactor.redact(&String::from_utf8_lossy(&output.stderr));
        if !output.success()
            && let Some(err) = errors::classify_exec(&stderr)
        {
            return Err(err);
        }
        Ok(ExecOutput {
            code: output.status.code().unwrap_or(-1),
            stdout: self.redactor.redact(&String::from_utf8_lossy(&output.stdout)),
            stderr,
        })
    }

    /// Which running services run with values other than those now in `.env`.
    pub fn drift(&self) -> Result<Drift, ComposeError> {
        let resolved = self.resolved_config()?;
        let uninterpolated = self.uninterpolated_config()?;
        let database = match &self.database {
            Some(name) => Some(name.clone()).filter(|n| !n.is_empty()),
            None => database_service(&resolved),
        };
        let consumers = consumers_from_config(&uninterpolated, database.as_deref());
        let mut report = Drift::default();
        for state in self.ps()?.into_iter().filter(ServiceState::is_running) {
            let env = drift::container_env(&state.container_id)?;
            let init_only = consumers.init_only_of(&state.service);
            let (drift, expected) =
                drift::compare_with_init(&state.service, &resolved, &uninterpolated, &env, &init_only);
            report.services.extend(drift);
            report.expected.extend(expected);
        }
        Ok(report)
    }
}
