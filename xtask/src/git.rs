//! Git: the stack template taken from Supabase's repository (a shallow,
//! sparse checkout of its `docker/` folder at a pinned ref), and the questions
//! `verify` asks of this repository (tracked files, ignore rules, history).
//!
//! Every call goes through [`crate::process`] with the same hardening: a
//! cleared environment (no `GIT_*` or secret of the caller reaches git), no
//! prompt, `--` before every URL, ref and path, the `ext::` transport and
//! unknown remote helpers refused, and a deadline.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{self, ProcessError, Program};

/// How long fetching the stack template may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a local step (init, checkout, a query) may take.
const LOCAL_TIMEOUT: Duration = Duration::from_secs(120);
/// How long reading the whole history (`verify --history`) may take.
const HISTORY_TIMEOUT: Duration = Duration::from_secs(1800);

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(
        "git is not installed or not on PATH; install git, or use the embedded stack (stack.source = \"embedded\")"
    )]
    NotInstalled,
    #[error("cannot reach {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("{url} has no ref {reference}; check stack.upstream_ref in setup.conf")]
    RefNotFound { url: String, reference: String },
    #[error("{url} at {reference} has no docker/ folder")]
    NoDockerFolder { url: String, reference: String },
    #[error(
        "the upstream {what} starts with `-`, which git would take for an option; check stack.upstream_{what} in setup.conf and --upstream"
    )]
    OptionLike { what: &'static str },
    #[error("git {step} did not finish within {} s and was stopped; check the network and run again", .timeout.as_secs())]
    TimedOut { step: &'static str, timeout: Duration },
    #[error("git {step} failed: {detail}")]
    Failed { step: &'static str, detail: String },
    #[error("{dir} is not inside a git repository; run verify in a clone of the Receptor repository")]
    NotARepository { dir: PathBuf },
}

impl GitError {
    fn of(step: &'static str, err: ProcessError) -> GitError {
        match err {
            ProcessError::NotInstalled { .. } => GitError::NotInstalled,
            ProcessError::TimedOut { timeout, .. } => GitError::TimedOut { step, timeout },
            ProcessError::Spawn { detail, .. } => GitError::Failed { step, detail },
            ProcessError::Failed { stderr, .. } => GitError::Failed {
                step,
                detail: process::last_line(&stderr).to_string(),
            },
        }
    }
}

/// git in `dir`, hardened: only the kept variables of the environment (and
/// what a fetch over the network or ssh needs), prompts off, messages in
/// English, and configuration that no repository or user file can loosen:
/// the `ext::` transport and remote helpers refused (local repositories and
/// `file://` allowed), no fsmonitor program run.
fn git(dir: &Path, timeout: Duration) -> Program {
    Program::new("git", timeout)
        .dir(dir)
        .pass(process::NETWORK)
        .pass(&["SSH_AUTH_SOCK"])
        .setting("GIT_TERMINAL_PROMPT", "0")
        .setting("GIT_ASKPASS", "true")
        .setting("SSH_ASKPASS", "true")
        .setting("GCM_INTERACTIVE", "never")
        .setting("GIT_PROTOCOL_FROM_USER", "0")
        .setting("LC_ALL", "C")
        .args([
            "-c",
            "protocol.ext.allow=never",
            "-c",
            "protocol.file.allow=always",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.quotePath=off",
        ])
}

/// A new private (0700) temporary folder for [`fetch_docker_folder`], with
/// an unpredictable name, removed when dropped.
pub fn scratch_folder() -> Result<tempfile::TempDir, GitError> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix("receptor-upstream-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|err| GitError::Failed {
            step: "temporary folder",
            detail: err.kind().to_string(),
        })
}

/// Fetches `docker/` of `url` at `reference` (a tag, branch or commit) into
/// `dest`, an empty private folder the caller owns (a temporary folder).
/// Returns the path of the fetched `docker/`.
pub fn fetch_docker_folder(url: &str, reference: &str, dest: &Path) -> Result<PathBuf, GitError> {
    // `--` already keeps them from being options; refusing them says why.
    if url.starts_with('-') {
        return Err(GitError::OptionLike { what: "url" });
    }
    if reference.starts_with('-') {
        return Err(GitError::OptionLike { what: "ref" });
    }
    if !std::fs::read_dir(dest).is_ok_and(|mut entries| entries.next().is_none()) {
        return Err(GitError::Failed {
            step: "init",
            detail: format!("{} is not an empty folder", dest.display()),
        });
    }
    let local = |step: &'static str, args: &[&str]| {
        git(dest, LOCAL_TIMEOUT)
            .args(args)
            .run()
            .map_err(|err| GitError::of(step, err))
    };
    local("init", &["init", "--quiet"])?;
    local("remote add", &["remote", "add", "--", "origin", url])?;
    local(
        "sparse-checkout",
        &["sparse-checkout", "set", "--no-cone", "--", "/docker/"],
    )?;
    let fetched = git(dest, FETCH_TIMEOUT)
        .args([
            "fetch",
            "--quiet",
            "--depth",
            "1",
            "--no-tags",
            "--",
            "origin",
            reference,
        ])
        .run();
    match fetched {
        Ok(_) => {}
        Err(ProcessError::Failed { stderr, .. }) => {
            let detail = process::last_line(&stderr).to_string();
            let lower = detail.to_lowercase();
            return Err(
                if lower.contains("couldn't find remote ref")
                    || lower.contains("not our ref")
                    || lower.contains("no such remote ref")
                    || lower.contains("invalid refspec")
                {
                    GitError::RefNotFound {
                        url: url.into(),
                        reference: reference.into(),
                    }
                } else {
                    GitError::Unreachable {
                        url: url.into(),
                        detail,
                    }
                },
            );
        }
        Err(err) => return Err(GitError::of("fetch", err)),
    }
    local("checkout", &["checkout", "--quiet", "--detach", "FETCH_HEAD"])?;
    let docker = dest.join("docker");
    if !docker.is_dir() {
        return Err(GitError::NoDockerFolder {
            url: url.into(),
            reference: reference.into(),
        });
    }
    Ok(docker)
}

/// The commit checked out in `dest` by [`fetch_docker_folder`].
pub fn fetched_commit(dest: &Path) -> Result<String, GitError> {
    let out = query(dest, "rev-parse", &["rev-parse", "--verify", "HEAD"], b"", &[0])?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// A file in the git index.
#[derive(Clone, Debug)]
pub struct Tracked {
    /// Relative to the folder git ran in, with `/` separators.
    pub path: String,
    /// The object id of the staged content.
    pub blob: String,
}

/// Runs one read-only git query in `dir`; `ok` lists the exit codes that are not failures.
fn query(dir: &Path, step: &'static str, args: &[&str], stdin: &[u8], ok: &[i32]) -> Result<Vec<u8>, GitError> {
    git(dir, LOCAL_TIMEOUT)
        .args(args)
        .stdin(stdin)
        .ok_codes(ok)
        .run()
        .map(|out| out.stdout)
        .map_err(|err| GitError::of(step, err))
}

/// Fails with [`GitError::NotARepository`] unless `dir` is inside a work tree.
pub fn ensure_work_tree(dir: &Path) -> Result<(), GitError> {
    match query(dir, "rev-parse", &["rev-parse", "--is-inside-work-tree"], b"", &[0]) {
        Ok(out) if out.starts_with(b"true") => Ok(()),
        Err(GitError::NotInstalled) => Err(GitError::NotInstalled),
        _ => Err(GitError::NotARepository { dir: dir.into() }),
    }
}

/// Whether the index of the work tree `dir` holds `name` or anything under
/// it (a tracked file, or a folder holding one). Outside a work tree: false.
pub fn tracks(dir: &Path, name: &str) -> Result<bool, GitError> {
    let literal = format!(":(literal){name}");
    match query(dir, "ls-files", &["ls-files", "-z", "--", &literal], b"", &[0]) {
        Ok(out) => Ok(!out.is_empty()),
        Err(GitError::NotInstalled) => Err(GitError::NotInstalled),
        Err(_) if ensure_work_tree(dir).is_err() => Ok(false),
        Err(err) => Err(err),
    }
}

/// Every file in the index, relative to `dir`.
pub fn tracked_files(dir: &Path) -> Result<Vec<Tracked>, GitError> {
    let out = query(dir, "ls-files", &["ls-files", "-z", "--stage"], b"", &[0])?;
    let mut files = Vec::new();
    for record in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        // `<mode> <object> <stage>\t<path>`
        let text = String::from_utf8_lossy(record);
        if let Some((meta, path)) = text.split_once('\t') {
            let blob = meta.split(' ').nth(1).unwrap_or_default().to_string();
            files.push(Tracked {
                path: path.to_string(),
                blob,
            });
        }
    }
    Ok(files)
}

/// The tracked paths whose work-tree file may differ from the index (git's
/// own stat check: a file touched but unchanged may be listed too).
pub fn maybe_modified(dir: &Path) -> Result<HashSet<String>, GitError> {
    let out = query(dir, "diff-files", &["diff-files", "--name-only", "-z"], b"", &[0])?;
    Ok(out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

/// For each of `paths` (relative to `dir`), whether the ignore rules cover it,
/// whether or not it is tracked.
pub fn ignored(dir: &Path, paths: &[String]) -> Result<Vec<bool>, GitError> {
    let mut stdin = Vec::new();
    for path in paths {
        stdin.extend_from_slice(path.as_bytes());
        stdin.push(0);
    }
    let out = query(
        dir,
        "check-ignore",
        &["check-ignore", "--no-index", "--stdin", "-z", "-v", "-n"],
        &stdin,
        &[0, 1],
    )?;
    // `<source> NUL <line> NUL <pattern> NUL <path> NUL`; an empty source means no rule.
    let fields: Vec<&[u8]> = out.split(|b| *b == 0).collect();
    let mut verdicts = std::collections::HashMap::new();
    for record in fields.chunks(4).filter(|r| r.len() == 4) {
        let pattern = record[2];
        let covered = !record[0].is_empty() && !pattern.starts_with(b"!");
        verdicts.insert(String::from_utf8_lossy(record[3]).into_owned(), covered);
    }
    Ok(paths
        .iter()
        .map(|p| verdicts.get(p).copied().unwrap_or(false))
        .collect())
}

/// Calls `visit(path, object id, content)` for every blob reachable from any
/// ref, once per distinct content, skipping the ids in `skip`. Returns the
/// number of blobs visited.
pub fn for_each_history_blob(
    dir: &Path,
    skip: &HashSet<String>,
    visit: impl FnMut(&str, &str, &[u8]),
) -> Result<usize, GitError> {
    let listing = git(dir, HISTORY_TIMEOUT)
        .args(["rev-list", "--all", "--objects", "--filter=object:type=blob"])
        .run()
        .map_err(|err| GitError::of("rev-list", err))?
        .stdout;
    let mut seen = HashSet::new();
    let mut wanted = Vec::new();
    for line in String::from_utf8_lossy(&listing).lines() {
        let Some((id, path)) = line.split_once(' ') else {
            continue; // a commit
        };
        if skip.contains(id) || !seen.insert(id.to_string()) {
            continue;
        }
        wanted.push((id.to_string(), path.to_string()));
    }
    for_each_blob(dir, &wanted, visit)
}

/// Calls `visit(path, object id, content)` for each `(object id, path)` of
/// `blobs` that names a blob of the repository (others are passed over).
/// Returns the number of blobs visited.
pub fn for_each_blob(
    dir: &Path,
    blobs: &[(String, String)],
    mut visit: impl FnMut(&str, &str, &[u8]),
) -> Result<usize, GitError> {
    if blobs.is_empty() {
        return Ok(0);
    }
    let paths: std::collections::HashMap<&str, &str> =
        blobs.iter().map(|(id, path)| (id.as_str(), path.as_str())).collect();
    let ids: String = blobs.iter().map(|(id, _)| format!("{id}\n")).collect();
    let failed = |detail: String| GitError::Failed {
        step: "cat-file",
        detail,
    };
    git(dir, HISTORY_TIMEOUT)
        .args(["cat-file", "--batch"])
        .stdin(ids)
        .stream(|reader| {
            let mut header = String::new();
            let mut content = Vec::new();
            let mut visited = 0;
            for _ in 0..blobs.len() {
                header.clear();
                reader.read_line(&mut header)?;
                // `<id> <type> <size>`, or `<id> missing`.
                let parts: Vec<&str> = header.split_whitespace().collect();
                let [id, kind, size] = parts[..] else {
                    continue;
                };
                let Ok(size) = size.parse::<usize>() else {
                    return Ok(Err(failed(format!("unexpected header {header:?}"))));
                };
                content.resize(size + 1, 0);
                reader.read_exact(&mut content)?;
                if kind == "blob"
                    && let Some(path) = paths.get(id)
                {
                    visit(path, id, &content[..size]);
                    visited += 1;
                }
            }
            Ok(Ok(visited))
        })
        .map_err(|err| GitError::of("cat-file", err))?
}

/// The object id git gives `content` as a blob, in the hash of `like` (an id
/// of the same repository: 40 hex digits for SHA-1, 64 for SHA-256).
pub fn blob_id(content: &[u8], like: &str) -> String {
    use sha2::Digest as _;
    let header = format!("blob {}\0", content.len());
    let digest: Vec<u8> = if like.len() == 64 {
        let mut hasher = sha2::Sha256::new();
        hasher.update(header.as_bytes());
        hasher.update(content);
        hasher.finalize().to_vec()
    } else {
        let mut hasher = sha1::Sha1::new();
        hasher.update(header.as_bytes());
        hasher.update(content);
        hasher.finalize().to_vec()
    };
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A bare repository with a `docker/` folder at tag v1, built with the real git.
    fn fixture(root: &Path) -> String {
        let sh = xshell::Shell::new().unwrap();
        let work = root.join("work");
        std::fs::create_dir_all(work.join("docker")).unwrap();
        std::fs::write(work.join("docker/.env.example"), "A=1\n").unwrap();
        sh.change_dir(&work);
        let id = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid"];
        xshell::cmd!(sh, "git init -q").run().unwrap();
        xshell::cmd!(sh, "git add -A").run().unwrap();
        xshell::cmd!(sh, "git {id...} commit -qm upstream").run().unwrap();
        xshell::cmd!(sh, "git tag v1").run().unwrap();
        let bare = root.join("upstream.git");
        xshell::cmd!(sh, "git clone -q --bare {work} {bare}").run().unwrap();
        format!("file://{}", bare.display())
    }

    #[test]
    fn an_option_looking_ref_or_url_is_never_an_option_to_git() {
        let root = tempfile::tempdir().unwrap();
        let url = fixture(root.path());
        let marker = root.path().join("payload-ran");
        let attack = format!("--upload-pack=touch {};git-upload-pack", marker.display());
        let ext = format!("ext::sh -c touch% {}", marker.display());
        let cases: [(&str, &str); 5] = [
            (&url, &attack),
            (".", &attack),
            (&attack, "v1"),
            (&ext, "v1"),
            (&url, "v1 --upload-pack=x"),
        ];
        for (url, reference) in cases {
            let dest = scratch_folder().unwrap();
            let result = fetch_docker_folder(url, reference, dest.path());
            assert!(result.is_err(), "{url} at {reference}: accepted");
            assert!(!marker.exists(), "{url} at {reference}: git ran the payload");
        }
        let dest = scratch_folder().unwrap();
        assert!(matches!(
            fetch_docker_folder(&url, &attack, dest.path()),
            Err(GitError::OptionLike { what: "ref" })
        ));
        let docker = fetch_docker_folder(&url, "v1", scratch_folder().unwrap().path());
        assert!(docker.is_ok(), "{docker:?}");
    }

    #[test]
    fn the_template_is_fetched_into_a_private_folder_of_its_own() {
        let a = scratch_folder().unwrap();
        let b = scratch_folder().unwrap();
        assert_ne!(a.path(), b.path());
        let mode = std::fs::metadata(a.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists(), "removed when dropped");
    }
}
