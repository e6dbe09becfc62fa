//! Git: the stack template taken from Supabase's repository (a shallow,
//! sparse checkout of its `docker/` folder at a pinned ref), and the questions
//! `verify` asks of this repository (tracked files, ignore rules, history).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
    #[error("git {step} failed: {detail}")]
    Failed { step: &'static str, detail: String },
    #[error("{dir} is not inside a git repository; run verify in a clone of the Receptor repository")]
    NotARepository { dir: PathBuf },
}

/// Runs one git command in `dir` with prompts disabled; returns stdout.
fn git(dir: &Path, step: &'static str, args: &[&str]) -> Result<String, (String, &'static str)> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .env("SSH_ASKPASS", "true")
        .env("GCM_INTERACTIVE", "never")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .map_err(|err| (err.to_string(), "spawn"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err((last_line(&output.stderr), step))
    }
}

fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_string()
}

/// Fetches `docker/` of `url` at `reference` (a tag, branch or commit) into
/// `dest`, which must not exist yet. Returns the path of the fetched `docker/`.
pub fn fetch_docker_folder(url: &str, reference: &str, dest: &Path) -> Result<PathBuf, GitError> {
    if Command::new("git")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        return Err(GitError::NotInstalled);
    }
    std::fs::create_dir_all(dest).map_err(|e| GitError::Failed {
        step: "init",
        detail: e.to_string(),
    })?;
    let failed = |(detail, step): (String, &'static str)| GitError::Failed { step, detail };
    git(dest, "init", &["init", "--quiet"]).map_err(failed)?;
    git(dest, "remote add", &["remote", "add", "origin", url]).map_err(failed)?;
    git(
        dest,
        "sparse-checkout",
        &["sparse-checkout", "set", "--no-cone", "/docker/"],
    )
    .map_err(failed)?;
    if let Err((detail, _)) = git(
        dest,
        "fetch",
        &["fetch", "--quiet", "--depth", "1", "--no-tags", "origin", reference],
    ) {
        let lower = detail.to_lowercase();
        return Err(
            if lower.contains("couldn't find remote ref")
                || lower.contains("not our ref")
                || lower.contains("no such remote ref")
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
    git(dest, "checkout", &["checkout", "--quiet", "FETCH_HEAD"]).map_err(failed)?;
    let docker = dest.join("docker");
    if !docker.is_dir() {
        return Err(GitError::NoDockerFolder {
            url: url.into(),
            reference: reference.into(),
        });
    }
    Ok(docker)
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
    let mut child = Command::new("git")
        .args(["-c", "core.quotePath=off"])
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|_| GitError::NotInstalled)?;
    let mut input = child.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let output = child.wait_with_output().map_err(|err| GitError::Failed {
        step,
        detail: err.to_string(),
    })?;
    let _ = writer.join();
    match output.status.code() {
        Some(code) if ok.contains(&code) => Ok(output.stdout),
        _ => Err(GitError::Failed {
            step,
            detail: last_line(&output.stderr),
        }),
    }
}

/// Fails with [`GitError::NotARepository`] unless `dir` is inside a work tree.
pub fn ensure_work_tree(dir: &Path) -> Result<(), GitError> {
    match query(dir, "rev-parse", &["rev-parse", "--is-inside-work-tree"], b"", &[0]) {
        Ok(out) if out.starts_with(b"true") => Ok(()),
        Err(GitError::NotInstalled) => Err(GitError::NotInstalled),
        _ => Err(GitError::NotARepository { dir: dir.into() }),
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
    let listing = query(
        dir,
        "rev-list",
        &["rev-list", "--all", "--objects", "--filter=object:type=blob"],
        b"",
        &[0],
    )?;
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
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .current_dir(dir)
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|_| GitError::NotInstalled)?;
    let mut input = child.stdin.take().expect("stdin is piped");
    let ids: String = blobs.iter().map(|(id, _)| format!("{id}\n")).collect();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(ids.as_bytes());
    });
    let failed = |detail: String| GitError::Failed {
        step: "cat-file",
        detail,
    };
    let mut reader = BufReader::with_capacity(1 << 20, child.stdout.take().expect("stdout is piped"));
    let mut header = String::new();
    let mut content = Vec::new();
    let mut visited = 0;
    for _ in 0..blobs.len() {
        header.clear();
        reader.read_line(&mut header).map_err(|e| failed(e.to_string()))?;
        // `<id> <type> <size>`, or `<id> missing`.
        let parts: Vec<&str> = header.split_whitespace().collect();
        let [id, kind, size] = parts[..] else {
            continue;
        };
        let size: usize = size
            .parse()
            .map_err(|_| failed(format!("unexpected header {header:?}")))?;
        content.resize(size + 1, 0);
        reader.read_exact(&mut content).map_err(|e| failed(e.to_string()))?;
        if kind == "blob"
            && let Some(path) = paths.get(id)
        {
            visit(path, id, &content[..size]);
            visited += 1;
        }
    }
    drop(reader);
    let _ = writer.join();
    let _ = child.wait();
    Ok(visited)
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
