//! The repository scope: what CI checks on every commit, with no secret at hand.
//!
//! Nothing secret is tracked or left unignored; `setup.conf` and
//! `docker/.env.example` hold no secret; the template, the catalog and the
//! compose file agree; and no tracked file (nor, with `--history`, any blob
//! of history) holds a secret-shaped string or a project's current values.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::assign;
use super::finding::{Check, Finding, Outcome, Where};
use super::scan::{ALLOW_MARKER, Kind, KnownValue, Scanner};
use crate::compose::interpolation;
use crate::config::{ConfigError, Problem, SetupConf};
use crate::envfile::EnvFile;
use crate::error::{Error, Result};
use crate::git::{self, Tracked};
use crate::secrets::{CATALOG, Make, defaults, jwt};

static TRACKED: Check = Check {
    id: "repo.untracked-secrets",
    scope: "repo",
    title: "no .env, .env backup or project folder is tracked by git",
};
static IGNORED: Check = Check {
    id: "repo.ignore-rules",
    scope: "repo",
    title: ".gitignore covers .env files, their backups and project folders",
};
static PROJECT_IGNORE: Check = Check {
    id: "repo.project-gitignore",
    scope: "repo",
    title: "every project folder holds its own .gitignore of `*`",
};
static SETUP_CONF: Check = Check {
    id: "repo.setup-conf",
    scope: "repo",
    title: "setup.conf reads as setup reads it: secrets by reference, no ref, URL or vault program setup refuses",
};
static ENV_EXAMPLE: Check = Check {
    id: "repo.env-example",
    scope: "repo",
    title: "docker/.env.example holds no real secret",
};
static COMPOSE_DECLARED: Check = Check {
    id: "repo.compose-vars-declared",
    scope: "repo",
    title: "every variable docker/docker-compose.yml interpolates is in docker/.env.example",
};
static CATALOG_DECLARED: Check = Check {
    id: "repo.catalog-declared",
    scope: "repo",
    title: "every catalog secret is in docker/.env.example",
};
static CATALOG_READ: Check = Check {
    id: "repo.catalog-read",
    scope: "repo",
    title: "every catalog secret is read by some service of docker/docker-compose.yml",
};
static LEAK_JWT: Check = Check {
    id: "repo.leak-jwt",
    scope: "repo",
    title: "no tracked file holds a Supabase-shaped JWT",
};
static LEAK_SB_SECRET: Check = Check {
    id: "repo.leak-sb-secret",
    scope: "repo",
    title: "no tracked file holds an sb_secret_ key",
};
static LEAK_PRIVATE_KEY: Check = Check {
    id: "repo.leak-private-key",
    scope: "repo",
    title: "no tracked file holds a private key block or a private JWK",
};
static LEAK_ASSIGNED: Check = Check {
    id: "repo.leak-assigned",
    scope: "repo",
    title: "no tracked configuration file assigns a catalog secret a real value",
};
static LEAK_KNOWN: Check = Check {
    id: "repo.leak-known-value",
    scope: "repo",
    title: "no tracked file holds a current secret value of a project folder",
};
static HISTORY: Check = Check {
    id: "repo.history-leaks",
    scope: "repo",
    title: "no blob in git history holds a secret",
};

/// Every check of this scope, in report order.
pub static CHECKS: &[&Check] = &[
    &TRACKED,
    &IGNORED,
    &PROJECT_IGNORE,
    &SETUP_CONF,
    &ENV_EXAMPLE,
    &COMPOSE_DECLARED,
    &CATALOG_DECLARED,
    &CATALOG_READ,
    &LEAK_JWT,
    &LEAK_SB_SECRET,
    &LEAK_PRIVATE_KEY,
    &LEAK_ASSIGNED,
    &LEAK_KNOWN,
    &HISTORY,
];

const TEMPLATE: &str = "docker";
const EXAMPLE: &str = "docker/.env.example";
const COMPOSE: &str = "docker/docker-compose.yml";

/// What the repository scope was asked for.
#[derive(Debug, Default)]
pub struct Options {
    /// Also scan every blob reachable from any ref.
    pub history: bool,
}

pub fn run(root: &Path, options: &Options) -> Result<Vec<Outcome>> {
    git::ensure_work_tree(root).map_err(could_not_run)?;
    let tracked = git::tracked_files(root).map_err(could_not_run)?;
    let conf = SetupConf::load(&root.join("setup.conf"));
    let names = configured_names(conf.as_ref().ok());
    let projects = project_folders(root, &names);

    let mut outcomes = vec![
        untracked_secrets(&tracked, &projects),
        ignore_rules(root, &names, &projects)?,
        project_gitignore(root, &projects),
        setup_conf(root, conf.err()),
        env_example(root),
    ];
    outcomes.extend(template_agreement(root));
    let (scanner, mut known_outcome) = known_values(root, &projects);
    let (leak_outcomes, scanned) = leaks(root, &tracked, &scanner, &mut known_outcome)?;
    outcomes.extend(leak_outcomes);
    outcomes.push(known_outcome);
    if options.history {
        outcomes.push(history(root, &scanned, &scanner)?);
    }
    Ok(outcomes)
}

fn could_not_run(err: git::GitError) -> Error {
    super::CouldNotRun::Git(err).into()
}

/// The project names of `setup.conf` (its defaults when it cannot be read).
fn configured_names(conf: Option<&SetupConf>) -> Vec<String> {
    let fallback = SetupConf::default();
    let conf = conf.unwrap_or(&fallback);
    conf.project.iter().map(|(_, name)| name.clone()).collect()
}

/// Project folders present at the root: those named in `setup.conf`, and any
/// other folder that `setup` has laid out (its lock file, or a `.env` beside a
/// compose file).
pub fn project_folders(root: &Path, names: &[String]) -> Vec<String> {
    let mut found = BTreeSet::new();
    for name in names {
        if root.join(name).is_dir() {
            found.insert(name.clone());
        }
    }
    if let Ok(entries) = std::fs::read_dir(root) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let dir = entry.path();
            if name.starts_with('.') || name == TEMPLATE || !dir.is_dir() {
                continue;
            }
            let laid_out = dir.join(".env").exists() && dir.join("docker-compose.yml").exists();
            if laid_out || dir.join(".xtask.lock").exists() {
                found.insert(name);
            }
        }
    }
    found.into_iter().collect()
}

/// Names of files that hold environment values and are never committed:
/// `.env`, `.env.local`, `.env_prod`, `.envrc`, `production.env`,
/// `secrets.env`, `x.env.bak`, `x.env.previous`. Templates (`.env.example`,
/// `.env.sample`, `.env.template`) are not.
fn is_env_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let template = [".example", ".sample", ".template", ".dist"]
        .iter()
        .any(|t| name.ends_with(t));
    !template
        && (name.starts_with(".env")
            || name.ends_with(".env")
            || name.ends_with(".env.bak")
            || name.ends_with(".env.previous"))
}

/// A path as one shell word.
pub fn shell_word(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./@%+=:,".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

fn untracked_secrets(tracked: &[Tracked], projects: &[String]) -> Outcome {
    let mut outcome = Outcome::new(&TRACKED);
    for project in projects {
        let prefix = format!("{project}/");
        let count = tracked.iter().filter(|t| t.path.starts_with(&prefix)).count();
        if count > 0 {
            outcome.push(Finding::fail(
                Where::file(&prefix),
                format!("project folder {project} has {count} files tracked by git, .env included"),
                format!(
                    "git rm -r --cached {} && git commit, then rotate every secret it held",
                    shell_word(project)
                ),
            ));
        }
    }
    for file in tracked {
        let in_project = projects.iter().any(|p| file.path.starts_with(&format!("{p}/")));
        if !in_project && is_env_file(&file.path) {
            outcome.push(Finding::fail(
                Where::file(&file.path),
                "a .env file or .env backup is tracked by git",
                format!(
                    "git rm --cached {} && git commit, then rotate every secret it held",
                    shell_word(&file.path)
                ),
            ));
        }
    }
    outcome
}

fn ignore_rules(root: &Path, names: &[String], projects: &[String]) -> Result<Outcome> {
    let mut outcome = Outcome::new(&IGNORED);
    // Representative paths, and the rule that covers each in Receptor's .gitignore.
    let mut probes: Vec<(String, String)> = [
        (".env", ".env"),
        (".env.local", ".env.*"),
        (".env.bak", ".env.*"),
        ("x/.env", ".env"),
        ("x/.env.production", ".env.*"),
        ("x/stack.env.bak", "*.env.bak"),
        ("x/stack.env.previous", "*.env.previous"),
        ("x/production.env", "*.env"),
        ("x/.env_prod", ".env_*"),
        ("x/.env-prod", ".env-*"),
        (".envrc", ".envrc"),
    ]
    .iter()
    .map(|(p, r)| (p.to_string(), r.to_string()))
    .collect();
    let all: BTreeSet<&String> = names.iter().chain(projects).collect();
    for name in all {
        probes.push((format!("{name}/.env"), ".env".into()));
        probes.push((format!("{name}/backups/.env.20260101T000000Z"), ".env.*".into()));
    }
    for project in projects {
        probes.push((format!("{project}/docker-compose.yml"), format!("/{project}/")));
    }
    let paths: Vec<String> = probes.iter().map(|(p, _)| p.clone()).collect();
    let covered = git::ignored(root, &paths).map_err(could_not_run)?;
    for ((path, rule), covered) in probes.iter().zip(covered) {
        if !covered {
            outcome.push(Finding::fail(
                Where::file(path),
                "is not covered by .gitignore: `git add -A` would stage it",
                format!("add the line {rule} to .gitignore"),
            ));
        }
    }
    Ok(outcome)
}

fn project_gitignore(root: &Path, projects: &[String]) -> Outcome {
    let mut outcome = Outcome::new(&PROJECT_IGNORE);
    for project in projects {
        let path = format!("{project}/.gitignore");
        let bytes = crate::no_follow::read(&root.join(&path)).unwrap_or_default();
        if !String::from_utf8_lossy(&bytes).lines().any(|l| l.trim() == "*") {
            outcome.push(Finding::fail(
                Where::file(&path),
                format!("project folder {project} has no .gitignore of `*`"),
                format!("echo '*' >> {}", shell_word(&path)),
            ));
        }
    }
    outcome
}

fn setup_conf(root: &Path, error: Option<ConfigError>) -> Outcome {
    let mut outcome = Outcome::new(&SETUP_CONF);
    match error {
        None => {}
        Some(ConfigError::Invalid {
            line,
            column,
            message,
            problem,
            ..
        }) => {
            let text = std::fs::read_to_string(root.join("setup.conf")).unwrap_or_default();
            let message = super::redact_values(&message, &text);
            let fix = match problem {
                Problem::LiteralSecret { name } => format!(
                    "replace the value on line {line} with a reference: {name} = \"${{{name}}}\", then rotate the exposed secret"
                ),
                Problem::Other => format!("fix setup.conf at line {line}, column {column}"),
            };
            outcome.push(Finding::fail(Where::file("setup.conf").line(Some(line)), message, fix));
        }
        Some(err @ ConfigError::Read { .. }) => outcome.push(Finding::fail(
            Where::file("setup.conf"),
            err.to_string(),
            "make setup.conf readable",
        )),
    }
    outcome
}

fn env_example(root: &Path) -> Outcome {
    let mut outcome = Outcome::new(&ENV_EXAMPLE);
    let example = match EnvFile::load(&root.join(EXAMPLE)) {
        Ok(example) => example,
        Err(err) => {
            outcome.push(Finding::fail(
                Where::file(EXAMPLE),
                super::relative(root, &err.to_string()),
                "restore it from git: git checkout -- docker/.env.example",
            ));
            return outcome;
        }
    };
    for spec in CATALOG {
        let value = example.get(spec.name).unwrap_or_default();
        let published = defaults::is_known_default(&value)
            || (matches!(spec.make, Make::Minted(_)) && jwt::signed_by_known_default(&value));
        if !value.is_empty() && !published {
            outcome.push(Finding::fail(
                Where::file(EXAMPLE)
                    .line(example.line_of(spec.name))
                    .with_variable(spec.name),
                format!("{} holds a value that is not a published placeholder", spec.name),
                format!(
                    "empty it ({}=) in docker/.env.example, then rotate it wherever it was used: cargo xtask rotate {}",
                    spec.name, spec.name
                ),
            ));
        }
    }
    outcome
}

fn template_agreement(root: &Path) -> Vec<Outcome> {
    let mut declared_out = Outcome::new(&COMPOSE_DECLARED);
    let mut catalog_out = Outcome::new(&CATALOG_DECLARED);
    let mut read_out = Outcome::new(&CATALOG_READ);
    let example = EnvFile::load(&root.join(EXAMPLE)).ok();
    let declared: HashSet<String> = example
        .as_ref()
        .map(|e| e.keys())
        .unwrap_or_default()
        .into_iter()
        .collect();
    let compose = crate::no_follow::read(&root.join(COMPOSE))
        .map_err(|e| e.to_string())
        .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_string()));
    match compose {
        Err(err) => {
            for outcome in [&mut declared_out, &mut read_out] {
                outcome.push(Finding::fail(
                    Where::file(COMPOSE),
                    format!("cannot read the compose file: {err}"),
                    "restore it from git: git checkout -- docker/docker-compose.yml",
                ));
            }
        }
        Ok(text) => {
            let used = interpolation::interpolations(&text);
            let mut reported = HashSet::new();
            for var in &used {
                if example.is_some() && !declared.contains(&var.name) && reported.insert(var.name.clone()) {
                    declared_out.push(Finding::fail(
                        Where::file(COMPOSE).line(Some(var.line)).with_variable(&var.name),
                        format!("{} is interpolated but not declared in docker/.env.example", var.name),
                        format!("add {}= to docker/.env.example", var.name),
                    ));
                }
            }
            let read: HashSet<&str> = used.iter().map(|v| v.name.as_str()).collect();
            for spec in CATALOG.iter().filter(|s| !s.when_declared && !read.contains(s.name)) {
                read_out.push(Finding::fail(
                    Where::file(COMPOSE).with_variable(spec.name),
                    format!("no service reads {}", spec.name),
                    format!(
                        "reference ${{{}}} in the environment of the service that needs it, or drop it from xtask/src/secrets/catalog.rs",
                        spec.name
                    ),
                ));
            }
        }
    }
    if example.is_none() {
        catalog_out.push(Finding::fail(
            Where::file(EXAMPLE),
            "cannot be read (see repo.env-example)",
            "restore it from git: git checkout -- docker/.env.example",
        ));
    } else {
        for spec in CATALOG
            .iter()
            .filter(|s| !s.when_declared && !declared.contains(s.name))
        {
            catalog_out.push(Finding::fail(
                Where::file(EXAMPLE).with_variable(spec.name),
                format!("catalog secret {} is not declared", spec.name),
                format!("add {}= to docker/.env.example", spec.name),
            ));
        }
    }
    vec![declared_out, catalog_out, read_out]
}

/// The current secret values of every project folder's `.env`, for the known-value scan.
fn known_values(root: &Path, projects: &[String]) -> (Scanner, Outcome) {
    let mut outcome = Outcome::new(&LEAK_KNOWN);
    let mut known = Vec::new();
    for project in projects {
        let origin = format!("{project}/.env");
        let path = root.join(&origin);
        if !path.exists() {
            continue;
        }
        let env = match EnvFile::load(&path) {
            Ok(env) => env,
            Err(err) => {
                outcome.push(Finding::warn(
                    Where::file(&origin),
                    format!(
                        "its values were not searched for: {}",
                        super::relative(root, &err.to_string())
                    ),
                    format!(
                        "fix the file, then run cargo xtask verify --project-name {}",
                        shell_word(project)
                    ),
                ));
                continue;
            }
        };
        for spec in CATALOG {
            let value = env.get(spec.name).unwrap_or_default();
            let published = defaults::is_known_default(&value)
                || (matches!(spec.make, Make::Minted(_)) && jwt::signed_by_known_default(&value));
            // A publishable key is public by design: finding it is no leak.
            if !value.is_empty() && !published && !value.starts_with("sb_publishable_") {
                known.push(KnownValue {
                    origin: origin.clone(),
                    variable: spec.name.to_string(),
                    value: crate::secrets::Secret::new(value),
                });
            }
        }
    }
    (Scanner::new(known), outcome)
}

/// Whether a hit fails (or only warns), its message and its fix.
fn describe(scanner: &Scanner, kind: Kind) -> (bool, String, String) {
    let allow = format!("or mark a documented example with `{ALLOW_MARKER}` on its line");
    match kind {
        Kind::Assigned(name) => (
            true,
            format!("assigns {name} a value that passes its rule: possibly a real secret"),
            format!(
                "replace it with a reference (${{{name}}}), then cargo xtask rotate {name} wherever it was used; {allow}"
            ),
        ),
        Kind::Jwt => (
            true,
            "a Supabase-shaped JWT, possibly a live API key".into(),
            format!("remove it; if it is a live key, rotate its signer: cargo xtask rotate JWT_SECRET; {allow}"),
        ),
        Kind::ServiceRoleJwt => (
            true,
            "a JWT with role service_role, possibly a live privileged API key".into(),
            format!(
                "remove it; if it is a live key, rotate its signer (JWT_SECRET or the signing key in JWT_KEYS); {allow}"
            ),
        ),
        Kind::DefaultJwt => (
            false,
            "a JWT signed with a published default secret (known-insecure)".into(),
            format!("remove it, {allow}"),
        ),
        Kind::SbSecret => (
            true,
            "an opaque Supabase secret key (sb_secret_)".into(),
            format!("remove it and revoke the key in the project that issued it; {allow}"),
        ),
        Kind::SelfHostedSbSecret => (
            true,
            "a self-hosted stack's secret key (sb_secret_, its checksum verifies)".into(),
            format!("remove it and rotate it: cargo xtask rotate SUPABASE_SECRET_KEY; {allow}"),
        ),
        Kind::DefaultSbSecret => (
            false,
            "the Supabase CLI's published sb_secret_ key (known-insecure)".into(),
            format!("remove it, {allow}"),
        ),
        Kind::PrivateKey => (
            true,
            "a private key block".into(),
            format!("remove it and replace the key pair; {allow}"),
        ),
        Kind::PrivateJwk => (
            true,
            "a JWK holding private key material (d, or an oct key's k)".into(),
            format!("remove it and replace the key (for JWT_KEYS, rotate the signing key and JWT_SECRET); {allow}"),
        ),
        Kind::DefaultJwk => (
            false,
            "an oct JWK of a published default JWT secret (known-insecure)".into(),
            format!("remove it, {allow}"),
        ),
        Kind::Known(index) => {
            let known = scanner.known(index);
            (
                true,
                format!("holds the current value of {} from {}", known.variable, known.origin),
                format!("remove it, then cargo xtask rotate {}", known.variable),
            )
        }
    }
}

fn finding(scanner: &Scanner, kind: Kind, place: Where, fix_prefix: &str) -> Finding {
    let (fails, message, fix) = describe(scanner, kind);
    let fix = format!("{fix_prefix}{fix}");
    if fails {
        Finding::fail(place, message, fix)
    } else {
        Finding::warn(place, message, fix)
    }
}

/// Every hit of one file's content, by line (its own values are not news to the `.env` they come from).
fn hits_of(scanner: &Scanner, path: &str, bytes: &[u8]) -> Vec<(usize, Kind)> {
    let assignments = assign::applies_to(path) && path != EXAMPLE;
    let mut hits = scanner.scan(bytes, assignments);
    hits.retain(|(_, kind)| !matches!(kind, Kind::Known(k) if scanner.known(*k).origin == path));
    hits
}

/// The place of a hit, with the variable it names.
fn place_of(scanner: &Scanner, path: &str, line: usize, kind: Kind) -> Where {
    let place = Where::file(path).line(Some(line));
    match kind {
        Kind::Known(k) => place.with_variable(&scanner.known(k).variable),
        Kind::Assigned(name) => place.with_variable(name),
        _ => place,
    }
}

/// The leak outcomes of the work tree and the index.
struct LeakOutcomes {
    jwt: Outcome,
    sb: Outcome,
    key: Outcome,
    assigned: Outcome,
}

impl LeakOutcomes {
    fn new() -> LeakOutcomes {
        LeakOutcomes {
            jwt: Outcome::new(&LEAK_JWT),
            sb: Outcome::new(&LEAK_SB_SECRET),
            key: Outcome::new(&LEAK_PRIVATE_KEY),
            assigned: Outcome::new(&LEAK_ASSIGNED),
        }
    }

    fn push(&mut self, known: &mut Outcome, kind: Kind, finding: Finding) {
        let outcome = match kind {
            Kind::Assigned(_) => &mut self.assigned,
            Kind::Jwt | Kind::ServiceRoleJwt | Kind::DefaultJwt => &mut self.jwt,
            Kind::SbSecret | Kind::SelfHostedSbSecret | Kind::DefaultSbSecret => &mut self.sb,
            Kind::PrivateKey | Kind::PrivateJwk | Kind::DefaultJwk => &mut self.key,
            Kind::Known(_) => known,
        };
        outcome.push(finding);
    }
}

/// Scans every tracked file twice over where they differ: the work tree (on
/// every core) and the index (the staged copy, what the next commit holds).
/// Each content is scanned once, by blob id. Returns the outcomes and the
/// ids scanned, for the history scan to pass over.
fn leaks(
    root: &Path,
    tracked: &[Tracked],
    scanner: &Scanner,
    known_outcome: &mut Outcome,
) -> Result<(Vec<Outcome>, HashSet<String>)> {
    // Only a file git sees as possibly modified is hashed: the others are their index blob.
    let modified = git::maybe_modified(root).map_err(could_not_run)?;
    let next = AtomicUsize::new(0);
    let found: Mutex<Vec<(usize, usize, Kind)>> = Mutex::new(Vec::new());
    let work_ids: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let (mut hits, mut ids) = (Vec::new(), Vec::new());
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = tracked.get(index) else { break };
                    let path = root.join(&file.path);
                    if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                        continue; // deleted in the work tree, or a symbolic link: the index copy is scanned
                    }
                    let Ok(bytes) = std::fs::read(&path) else { continue };
                    let id = if modified.contains(&file.path) {
                        git::blob_id(&bytes, &file.blob)
                    } else {
                        file.blob.clone()
                    };
                    ids.push((index, id));
                    for (line, hit) in hits_of(scanner, &file.path, &bytes) {
                        hits.push((index, line, hit));
                    }
                }
                found.lock().expect("no scan thread panics").extend(hits);
                work_ids.lock().expect("no scan thread panics").extend(ids);
            });
        }
    });
    let mut found = found.into_inner().expect("no scan thread panics");
    let work_ids = work_ids.into_inner().expect("no scan thread panics");
    let mut scanned: HashSet<String> = work_ids.iter().map(|(_, id)| id.clone()).collect();
    let mut same = vec![false; tracked.len()];
    for (index, id) in &work_ids {
        same[*index] = *id == tracked[*index].blob;
    }
    // The staged copies that differ from the work tree, each content once.
    let mut staged = Vec::new();
    for (index, file) in tracked.iter().enumerate() {
        if !same[index] && scanned.insert(file.blob.clone()) {
            staged.push((file.blob.clone(), file.path.clone()));
        }
    }
    let mut staged_hits = Vec::new();
    git::for_each_blob(root, &staged, |path, id, bytes| {
        for (line, hit) in hits_of(scanner, path, bytes) {
            staged_hits.push((path.to_string(), id.to_string(), line, hit));
        }
    })
    .map_err(could_not_run)?;

    found.sort();
    let mut out = LeakOutcomes::new();
    for (index, line, hit) in found {
        let path = &tracked[index].path;
        out.push(
            known_outcome,
            hit,
            finding(scanner, hit, place_of(scanner, path, line, hit), ""),
        );
    }
    staged_hits.sort();
    for (path, id, line, hit) in staged_hits {
        let place = place_of(scanner, &path, line, hit).object(&id);
        let prefix = format!(
            "the copy in the git index (what the next commit holds) has it: fix the file and git add {}, then ",
            shell_word(&path)
        );
        out.push(known_outcome, hit, finding(scanner, hit, place, &prefix));
    }
    Ok((vec![out.jwt, out.sb, out.key, out.assigned], scanned))
}

/// Scans every blob of history not scanned already (the work tree and the
/// index). Published defaults are not reported there: they are public, so
/// there is nothing to rewrite out of history.
fn history(root: &Path, scanned: &HashSet<String>, scanner: &Scanner) -> Result<Outcome> {
    let mut outcome = Outcome::new(&HISTORY);
    git::for_each_history_blob(root, scanned, |path, id, bytes| {
        let published = |kind: &Kind| matches!(kind, Kind::DefaultJwt | Kind::DefaultSbSecret | Kind::DefaultJwk);
        for (line, hit) in hits_of(scanner, path, bytes).into_iter().filter(|(_, h)| !published(h)) {
            let place = place_of(scanner, path, line, hit).object(id);
            let prefix = format!(
                "find the commits with git log --all --find-object={id}, rewrite them out of history (git filter-repo), then "
            );
            outcome.push(finding(scanner, hit, place, &prefix));
        }
    })
    .map_err(could_not_run)?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_and_their_backups_are_recognised() {
        for path in [
            ".env",
            "a/.env",
            ".env.local",
            "x/.env.20260101T000000Z",
            "s.env.bak",
            "a/s.env.previous",
            "production.env",
            "deploy/secrets.env",
            ".env_prod",
            "a/.envrc",
        ] {
            assert!(is_env_file(path), "{path}");
        }
        for path in [
            ".env.example",
            "docker/.env.example",
            "app/.env.sample",
            "prod.env.template",
            "env.rs",
            "envfile.rs",
            "README.md",
        ] {
            assert!(!is_env_file(path), "{path}");
        }
    }

    #[test]
    fn paths_become_one_shell_word() {
        assert_eq!(shell_word("receptor-dev/.env"), "receptor-dev/.env");
        assert_eq!(shell_word("my docs/it's.md"), r"'my docs/it'\''s.md'");
    }
}
