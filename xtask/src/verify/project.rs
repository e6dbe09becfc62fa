//! The project scope: one project folder's `.env` against the catalog.
//!
//! Every required Tier 1 secret is set and follows its rule, none is a
//! published default, the API keys verify under `JWT_SECRET` with their role
//! and are not about to expire, the asymmetric key model holds together
//! (`key_model`), and the file is private to its owner. In staging and prod,
//! Tier 2 references are resolved and dev-only values gone.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::finding::{Check, Finding, Outcome, Where};
use super::key_model;
use super::repo::shell_word;
use crate::cli::ProjectArgs;
use crate::compose::files;
use crate::config::{Env, Reference, SetupConf};
use crate::envfile::{EnvError, EnvFile};
use crate::error::Result;
use crate::project::Project;
use crate::rotate::overlap;
use crate::secrets::jwt::{self, KeyCheck, KeyFault};
use crate::secrets::rules::{self, Violation};
use crate::secrets::{CATALOG, Make, Role, Tier, catalog, defaults, name};

static ENV_FILE: Check = Check {
    id: "project.env-file",
    scope: "project",
    title: "the .env exists and reads the way Docker Compose reads it",
};
static MODE: Check = Check {
    id: "project.file-mode",
    scope: "project",
    title: "the .env and its backups are private (mode 0600) in a private folder",
};
static OWNER: Check = Check {
    id: "project.owner",
    scope: "project",
    title: "the .env is owned by the user running verify",
};
static REQUIRED: Check = Check {
    id: "project.required",
    scope: "project",
    title: "every required Tier 1 secret is set",
};
static DEFAULTS: Check = Check {
    id: "project.no-defaults",
    scope: "project",
    title: "no secret holds a published default value",
};
static RULES: Check = Check {
    id: "project.rules",
    scope: "project",
    title: "every secret follows its catalog rule",
};
static OVERLAP: Check = Check {
    id: "project.overlap",
    scope: "project",
    title: "API keys in an overlap: each previous key valid, not the current one, revoked once the overlap ends",
};
static API_KEYS: Check = Check {
    id: "project.api-keys",
    scope: "project",
    title: "ANON_KEY and SERVICE_ROLE_KEY verify under JWT_SECRET with their role and iss supabase",
};
static EXPIRY: Check = Check {
    id: "project.key-expiry",
    scope: "project",
    title: "the API keys (HS256 and ES256) are not expired, nor within 30 days of it",
};
static TIER2: Check = Check {
    id: "project.tier2-resolved",
    scope: "project",
    title: "every Tier 2 secret referenced in setup.conf is set (staging and prod)",
};
static COMPOSE: Check = Check {
    id: "project.compose",
    scope: "project",
    title: "the project's compose files hold no published default, and read every secret the .env sets",
};
static DEV_VALUES: Check = Check {
    id: "project.no-dev-values",
    scope: "project",
    title: "no dev-only value: localhost URLs, auto-confirmed sign-ups (staging and prod)",
};

/// Every check of this scope, in report order.
pub static CHECKS: &[&Check] = &[
    &ENV_FILE,
    &MODE,
    &OWNER,
    &REQUIRED,
    &DEFAULTS,
    &RULES,
    &API_KEYS,
    &EXPIRY,
    &key_model::SIGNING_KEYS,
    &key_model::PUBLIC_KEYS,
    &key_model::ASYMMETRIC_API_KEYS,
    &key_model::OPAQUE_KEYS,
    &COMPOSE,
    &TIER2,
    &DEV_VALUES,
];

/// Which project, and which environment's rules apply to it.
#[derive(Debug)]
pub struct Target {
    pub env: Env,
    pub name: String,
}

impl Target {
    /// The project `--env` and `--project-name` name (see [`ProjectArgs::pick`]).
    pub fn resolve(conf: &SetupConf, args: &ProjectArgs) -> Target {
        let (env, name) = args.pick(conf);
        Target {
            env,
            name: name.to_string(),
        }
    }
}

/// What a project check needs to know to word its findings.
struct Context<'a> {
    conf: &'a SetupConf,
    target: &'a Target,
    env_path: String,
}

impl Context<'_> {
    /// The setup command for this project, e.g. `cargo xtask setup --env dev`.
    fn setup(&self) -> String {
        let mut command = format!("cargo xtask setup --env {}", self.target.env.name());
        if self.conf.project_name(self.target.env) != self.target.name {
            command.push_str(&format!(" --project-name {}", shell_word(&self.target.name)));
        }
        command
    }

    fn at(&self, env: &EnvFile, name: &str) -> Where {
        Where::file(&self.env_path).line(env.line_of(name)).with_variable(name)
    }

    fn strict(&self) -> bool {
        self.target.env != Env::Dev
    }
}

pub fn run(root: &Path, conf: &SetupConf, target: &Target) -> Result<Vec<Outcome>> {
    let project = Project::new(root, &target.name)?;
    if !project.check_folder()? {
        return Err(super::CouldNotRun::NoProjectFolder {
            name: target.name.clone(),
            stage: target.env,
        }
        .into());
    }
    let cx = Context {
        conf,
        target,
        env_path: format!("{}/.env", target.name),
    };
    let mut env_file = Outcome::new(&ENV_FILE);
    let path = project.env_file();
    let env = match project.load_env() {
        Ok(Some(env)) => env,
        Ok(None) => {
            env_file.push(Finding::fail(
                Where::file(&cx.env_path),
                format!("project folder {} has no .env", target.name),
                format!("run {}", cx.setup()),
            ));
            return Ok(vec![env_file]);
        }
        // A link, a FIFO, a second hard link: verify does not look through it.
        Err(EnvError::Path(err)) => return Err(err.into()),
        Err(err) => {
            let message = err.to_string();
            let message = message
                .strip_prefix(&format!("{}: ", path.display()))
                .unwrap_or(&message);
            env_file.push(Finding::fail(
                Where::file(&cx.env_path),
                message.to_string(),
                format!("fix {} as the message says", cx.env_path),
            ));
            return Ok(vec![env_file]);
        }
    };
    let read = files::variables_read(&project.dir);
    let mut outcomes = vec![
        env_file,
        file_mode(&cx, &project),
        owner(&cx, &path),
        required(&cx, &env, read.as_ref()),
        no_defaults(&cx, &env),
        rules_hold(&cx, &env),
    ];
    let mut keys = api_keys(&cx, &env);
    let at = |name: &str| cx.at(&env, name);
    let wording = key_model::Wording {
        at: &at,
        setup: cx.setup(),
        strict: cx.strict(),
    };
    let model = key_model::run(&wording, &env, &mut keys[1]);
    outcomes.extend(keys);
    outcomes.extend(model);
    outcomes.push(overlaps(&cx, &project, &env)?);
    outcomes.push(compose_files(&cx, &project, &env, read.as_ref()));
    if cx.strict() {
        outcomes.push(tier2_resolved(&cx, &env));
        outcomes.push(no_dev_values(&cx, &env));
    }
    Ok(outcomes)
}

fn file_mode(cx: &Context, project: &Project) -> Outcome {
    let mut outcome = Outcome::new(&MODE);
    let name = &cx.target.name;
    let mode = |p: &Path| std::fs::symlink_metadata(p).map(|m| m.mode() & 0o777).unwrap_or(0);
    let env_mode = mode(&project.env_file());
    if env_mode & 0o077 != 0 {
        outcome.push(Finding::fail(
            Where::file(&cx.env_path),
            format!("is open to other users (mode {env_mode:04o})"),
            format!("chmod 600 {}", shell_word(&cx.env_path)),
        ));
    }
    let backups = crate::no_follow::folder_at(&project.backup_dir()).unwrap_or(false);
    if let Some(entries) = backups.then(|| std::fs::read_dir(project.backup_dir()).ok()).flatten() {
        for entry in entries.flatten() {
            let backup_mode = mode(&entry.path());
            if backup_mode & 0o077 != 0 {
                let shown = format!("{name}/backups/{}", entry.file_name().to_string_lossy());
                outcome.push(Finding::fail(
                    Where::file(&shown),
                    format!("a backup of the .env is open to other users (mode {backup_mode:04o})"),
                    format!("chmod 600 {}", shell_word(&shown)),
                ));
            }
        }
    }
    let dir_mode = mode(&project.dir);
    if dir_mode & 0o077 != 0 {
        outcome.push(Finding::warn(
            Where::file(format!("{name}/")),
            format!("the project folder is open to other users (mode {dir_mode:04o})"),
            format!("chmod 700 {}", shell_word(name)),
        ));
    }
    outcome
}

fn owner(cx: &Context, path: &Path) -> Outcome {
    let mut outcome = Outcome::new(&OWNER);
    let me = crate::no_follow::euid();
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && meta.uid() != me
    {
        let sudo = if me == 0 { "" } else { "sudo " };
        outcome.push(Finding::fail(
            Where::file(&cx.env_path),
            format!(
                "is owned by uid {}, not by the user running verify (uid {me})",
                meta.uid()
            ),
            format!("{sudo}chown {me} {}", shell_word(&cx.env_path)),
        ));
    }
    outcome
}

/// A secret none of the project's compose files reads is not required.
fn required(cx: &Context, env: &EnvFile, read: Option<&BTreeSet<String>>) -> Outcome {
    let mut outcome = Outcome::new(&REQUIRED);
    for spec in CATALOG.iter().filter(|s| s.tier == Tier::One && !s.optional) {
        if spec.when_declared && env.line_of(spec.name).is_none() {
            continue;
        }
        if read.is_some_and(|read| !read.contains(spec.name)) {
            continue;
        }
        if env.get(spec.name).unwrap_or_default().is_empty() {
            let fix = if cx.strict() {
                format!("export {} (a masked CI/CD variable) and run {}", spec.name, cx.setup())
            } else {
                format!("run {}", cx.setup())
            };
            let place = match env.line_of(spec.name) {
                Some(_) => cx.at(env, spec.name),
                None => Where::file(&cx.env_path).with_variable(spec.name),
            };
            outcome.push(Finding::fail(place, format!("{} is not set", spec.name), fix));
        }
    }
    outcome
}

/// The compose files the project runs: a literal published default in an
/// `environment:` entry fails, naming file:line; a secret the `.env` sets
/// that no service reads is pointed out as unused.
fn compose_files(cx: &Context, project: &Project, env: &EnvFile, read: Option<&BTreeSet<String>>) -> Outcome {
    let mut outcome = Outcome::new(&COMPOSE);
    for found in files::literal_defaults(&project.dir) {
        let shown = format!("{}/{}", cx.target.name, found.file);
        let variable = &found.variable;
        outcome.push(Finding::fail(
            Where::file(&shown).line(Some(found.line)).with_variable(variable),
            format!("{variable} is a published default written in the compose file itself: every install has the same value"),
            format!(
                "read it from .env instead ({variable}: ${{NAME}}, NAME a secret of docs/key-management.md), then run {}",
                cx.setup()
            ),
        ));
    }
    let Some(read) = read else {
        return outcome;
    };
    for spec in CATALOG.iter().filter(|s| s.tier == Tier::One) {
        if !read.contains(spec.name) && !env.get(spec.name).unwrap_or_default().is_empty() {
            outcome.push(Finding::warn(
                cx.at(env, spec.name),
                format!("{} is set, but no service of {}'s compose files reads it", spec.name, cx.target.name),
                "nothing to rotate or protect: the stack runs without it (a compose file that should read it needs an entry)"
                    .to_string(),
            ));
        }
    }
    outcome
}

/// Whether `value` of `spec` is public: a published placeholder, or a key a public secret signed.
fn is_published(make: Make, value: &str) -> bool {
    defaults::is_known_default(value) || (matches!(make, Make::Minted(_)) && jwt::signed_by_known_default(value))
}

fn no_defaults(cx: &Context, env: &EnvFile) -> Outcome {
    let mut outcome = Outcome::new(&DEFAULTS);
    for spec in CATALOG {
        let value = env.get(spec.name).unwrap_or_default();
        if value.is_empty() || !is_published(spec.make, &value) {
            continue;
        }
        let message = match spec.make {
            Make::Minted(_) => format!(
                "{} is signed with a published JWT secret: anybody can forge it",
                spec.name
            ),
            _ => format!("{} is a published default value, known to anybody", spec.name),
        };
        let fix = match (cx.strict(), spec.tier) {
            (false, Tier::One) => format!("run {} (replaces published defaults)", cx.setup()),
            (_, Tier::Two) => format!("set your own {} in {}", spec.name, cx.env_path),
            (true, Tier::One) => format!("cargo xtask rotate {}", spec.name),
        };
        outcome.push(Finding::fail(cx.at(env, spec.name), message, fix));
    }
    // Variables the catalog does not describe (the Supabase CLI's fixed keys, say) too.
    for name in uncatalogued_defaults(env) {
        outcome.push(Finding::fail(
            cx.at(env, &name),
            format!("{name} is a published default value, known to anybody"),
            format!("replace {name} in {} with a value of your own", cx.env_path),
        ));
    }
    outcome
}

/// The variables outside the catalog that hold a published default.
fn uncatalogued_defaults(env: &EnvFile) -> Vec<String> {
    defaults::outside_catalog(env.keys().into_iter().map(|name| {
        let value = env.get(&name).unwrap_or_default();
        (name, value)
    }))
}

fn rules_hold(cx: &Context, env: &EnvFile) -> Outcome {
    let mut outcome = Outcome::new(&RULES);
    let others = |name: &str| env.get(name);
    for spec in CATALOG.iter().filter(|s| matches!(s.make, Make::Random { .. })) {
        let value = env.get(spec.name).unwrap_or_default();
        if value.is_empty() || is_published(spec.make, &value) {
            continue;
        }
        match rules::check(spec, &value, &others) {
            Ok(()) | Err(Violation::KnownDefault) => {}
            Err(why) => outcome.push(Finding::fail(
                cx.at(env, spec.name),
                format!("{} {why}", spec.name),
                format!("cargo xtask rotate {}", spec.name),
            )),
        }
    }
    outcome
}

/// The keys of `rotate NAME --overlap`: a previous key is judged as the
/// current one and must differ from it; an overlap under way says until when,
/// one past its end is a warning.
fn overlaps(cx: &Context, project: &Project, env: &EnvFile) -> Result<Outcome> {
    let mut outcome = Outcome::new(&OVERLAP);
    let others = |name: &str| env.get(name);
    let mut state = None;
    for (name, previous) in overlap::pairs() {
        let value = env.get(previous).unwrap_or_default();
        if value.is_empty() {
            continue;
        }
        let spec = catalog::find(previous).expect("a pair comes from the catalog");
        if env.get(name).unwrap_or_default().is_empty() {
            outcome.push(Finding::fail(
                cx.at(env, previous),
                format!("{previous} is set, but {name} is empty: an overlap needs the new key"),
                format!("set {name} (cargo xtask rotate {name}), or empty {previous}"),
            ));
            continue;
        }
        if let Err(why) = rules::check(spec, &value, &others) {
            outcome.push(Finding::fail(
                cx.at(env, previous),
                format!("{previous} {why}"),
                format!("cargo xtask rotate {name} --stage revoke --now"),
            ));
            continue;
        }
        if state.is_none() {
            state = Some(overlap::State::load(project)?);
        }
        let state = state.as_ref().expect("loaded above");
        let now = overlap::now();
        let line = overlap::line(name, previous, env, state, now);
        match state.overlaps.get(name) {
            Some(window) if window.ends_at > now => outcome.push(Finding::pass(cx.at(env, previous), line)),
            _ => outcome.push(Finding::warn(
                cx.at(env, previous),
                format!("the overlap of {name} has ended: the old key is still accepted"),
                format!("cargo xtask rotate {name} --stage revoke"),
            )),
        }
    }
    Ok(outcome)
}

/// The role claim of a key that verifies under `secret`, if any.
fn role_of(value: &str, secret: &str) -> Option<String> {
    match jwt::check(value, secret) {
        KeyCheck::Valid { role, .. } => Some(role),
        _ => None,
    }
}

/// A role claim, shown in a message only when it is a plain word.
fn role_phrase(role: &str) -> String {
    jwt::claim_phrase("role", role)
}

fn api_keys(cx: &Context, env: &EnvFile) -> Vec<Outcome> {
    let mut keys = Outcome::new(&API_KEYS);
    let mut expiry = Outcome::new(&EXPIRY);
    let secret = env.get(name::JWT_SECRET).unwrap_or_default();
    let now = jwt::now();
    let minted: Vec<(&str, Role)> = CATALOG
        .iter()
        .filter_map(|s| match s.make {
            Make::Minted(role) => Some((s.name, role)),
            _ => None,
        })
        .collect();
    for &(name, role) in &minted {
        let value = env.get(name).unwrap_or_default();
        if value.is_empty() || is_published(Make::Minted(role), &value) {
            continue;
        }
        let fix = if cx.strict() {
            format!("cargo xtask rotate {name}")
        } else {
            format!("run {} (mints the key again)", cx.setup())
        };
        let at = cx.at(env, name);
        match jwt::judge(&value, &secret, role, now) {
            Ok(None) => {}
            Ok(Some(warning)) => expiry.push(Finding::warn(
                at,
                format!("{name} {warning}"),
                format!("cargo xtask rotate {name}"),
            )),
            Err(KeyFault::WrongRole(found)) => {
                // Swapped: each key carries the other's role.
                let swapped_with = minted.iter().find(|(other, other_role)| {
                    *other != name
                        && found == other_role.claim()
                        && role_of(&env.get(other).unwrap_or_default(), &secret).as_deref() == Some(role.claim())
                });
                let message = match swapped_with {
                    Some((other, _)) => {
                        format!("{name} has {}: {name} and {other} are swapped", role_phrase(&found))
                    }
                    None => format!(
                        "{name} has {} where role {} is required",
                        role_phrase(&found),
                        role.claim()
                    ),
                };
                keys.push(Finding::fail(at, message, fix));
            }
            Err(fault @ (KeyFault::Expired | KeyFault::ExpiresWithinTheHour { .. })) => {
                expiry.push(Finding::fail(at, format!("{name} {fault}"), fix))
            }
            Err(KeyFault::BadSignature) => keys.push(Finding::fail(
                at,
                format!("{name} is not signed with JWT_SECRET (PostgREST would answer PGRST301)"),
                fix,
            )),
            Err(fault) => keys.push(Finding::fail(at, format!("{name} {fault}"), fix)),
        }
    }
    vec![keys, expiry]
}

fn tier2_resolved(cx: &Context, env: &EnvFile) -> Outcome {
    let mut outcome = Outcome::new(&TIER2);
    let setup = cx.setup();
    for (name, reference) in cx.conf.secrets.iter() {
        if !env.get(name).unwrap_or_default().is_empty() {
            continue;
        }
        let source = match reference {
            Reference::Env(var) => format!("export {var} (a masked CI/CD variable)"),
            Reference::Bitwarden(key) => format!("store {key} in Bitwarden Secrets Manager"),
            Reference::Doppler(key) => format!("set {key} in Doppler"),
        };
        let place = match env.line_of(name) {
            Some(_) => cx.at(env, name),
            None => Where::file(&cx.env_path).with_variable(name),
        };
        outcome.push(Finding::fail(
            place,
            format!("{name} is referenced in setup.conf but empty in {}", cx.env_path),
            format!(
                "{source}, then run {setup} (or drop the reference from setup.conf if the stack does not use {name})"
            ),
        ));
    }
    outcome
}

fn no_dev_values(cx: &Context, env: &EnvFile) -> Outcome {
    let mut outcome = Outcome::new(&DEV_VALUES);
    let local = ["localhost", "127.0.0.1", "0.0.0.0", "[::1]"];
    for key in env.keys() {
        let value = env.get(&key).unwrap_or_default();
        let is_url = key.ends_with("_URL") || key.ends_with("_URLS");
        if is_url && crate::secrets::catalog::find(&key).is_none() && local.iter().any(|l| value.contains(l)) {
            outcome.push(Finding::fail(
                cx.at(env, &key),
                format!("{key} points to this machine (localhost)"),
                format!("set {key} to the stack's public URL in {}", cx.env_path),
            ));
        }
        if key.ends_with("_AUTOCONFIRM") && value == "true" {
            outcome.push(Finding::warn(
                cx.at(env, &key),
                format!("{key} confirms sign-ups without verification, a dev setting"),
                format!("set {key}=false in {}", cx.env_path),
            ));
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_and_project_name_follow_setup_conf() {
        let conf = SetupConf::default();
        let args = |env: Option<Env>, name: Option<&str>| ProjectArgs {
            env,
            project_name: name.map(String::from),
        };
        let t = Target::resolve(&conf, &args(Some(Env::Prod), None));
        assert_eq!((t.env, t.name.as_str()), (Env::Prod, "receptor-prod"));
        let t = Target::resolve(&conf, &args(None, Some("receptor-stg")));
        assert_eq!((t.env, t.name.as_str()), (Env::Staging, "receptor-stg"));
        let t = Target::resolve(&conf, &args(None, Some("my-stack")));
        assert_eq!((t.env, t.name.as_str()), (Env::Dev, "my-stack"));
        let t = Target::resolve(&conf, &args(None, None));
        assert_eq!((t.env, t.name.as_str()), (Env::Dev, "receptor-dev"));
    }

    #[test]
    fn only_plain_roles_are_shown() {
        assert_eq!(role_phrase("service_role"), "role service_role");
        assert_eq!(role_phrase("sk-live-0123"), "an unexpected role");
    }
}
