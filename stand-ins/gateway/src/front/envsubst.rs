//! The nginx image's template step (`/docker-entrypoint.d/20-envsubst-on-templates.sh`),
//! run before nginx reads its configuration:
//!
//! - every regular file under `NGINX_ENVSUBST_TEMPLATE_DIR` (default
//!   `/etc/nginx/templates`, searched recursively, symbolic links followed) whose name
//!   ends in `NGINX_ENVSUBST_TEMPLATE_SUFFIX` (default `.template`) is written, without
//!   the suffix, to the same relative path under `NGINX_ENVSUBST_OUTPUT_DIR` (default
//!   `/etc/nginx/conf.d`), its subfolders created;
//! - `envsubst "$defined_envs"` substitutes `$NAME` and `${NAME}` only for the variables
//!   of the environment whose name matches `NGINX_ENVSUBST_FILTER` (an awk ERE, default
//!   empty: every name): any other `$word`, such as nginx's own `$kong_http`, is left
//!   as it is, and so is `${NAME:-default}` (envsubst knows no defaults);
//! - no template folder: nothing to do; an output folder that cannot be written: an
//!   error line, and nginx starts on the configuration it has; a file that cannot be
//!   written stops the container.
//!
//! Not modelled: `*.stream-template` files (the image writes them to
//! `NGINX_ENVSUBST_STREAM_OUTPUT_DIR` and adds an `include` to `nginx.conf`): the
//! stand-in refuses them, having no `include`.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::ere::Ere;

const SCRIPT: &str = "20-envsubst-on-templates.sh";

/// `path` (absolute, as the container sees it) under `root`.
pub fn inside(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// The value of `name` in `environ`, unless empty (`${NAME:-default}` in the script).
fn setting<'a>(environ: &'a [(String, String)], name: &str, default: &'a str) -> &'a str {
    environ
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
        .unwrap_or(default)
}

/// Renders the templates as the image does, the container's filesystem at `root`;
/// each line the script would print goes to `log`. `Err`: the container stops.
pub fn render(root: &Path, environ: &[(String, String)], log: &mut dyn FnMut(String)) -> Result<(), String> {
    let template_dir = setting(environ, "NGINX_ENVSUBST_TEMPLATE_DIR", "/etc/nginx/templates").trim_end_matches('/');
    let suffix = setting(environ, "NGINX_ENVSUBST_TEMPLATE_SUFFIX", ".template");
    let output_dir = setting(environ, "NGINX_ENVSUBST_OUTPUT_DIR", "/etc/nginx/conf.d").trim_end_matches('/');
    let defined = defined(environ, setting(environ, "NGINX_ENVSUBST_FILTER", ""), log);

    if !inside(root, template_dir).is_dir() {
        return Ok(());
    }
    if !writable(&inside(root, output_dir)) {
        log(format!(
            "{SCRIPT}: ERROR: {template_dir} exists, but {output_dir} is not writable"
        ));
        return Ok(());
    }
    let mut found = Vec::new();
    files(&inside(root, template_dir), "", &mut found);
    if let Some(stream) = found.iter().find(|f| f.ends_with(".stream-template")) {
        return Err(format!(
            "{template_dir}/{stream}: stream templates are not rendered by the stand-in (it has no include)"
        ));
    }
    for relative in found.iter().filter(|f| f.ends_with(suffix)) {
        let template = format!("{template_dir}/{relative}");
        let output = format!("{output_dir}/{}", &relative[..relative.len() - suffix.len()]);
        let target = inside(root, &output);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", Path::new(&output).display()))?;
        }
        log(format!("{SCRIPT}: Running envsubst on {template} to {output}"));
        let text = fs::read(inside(root, &template)).map_err(|e| format!("{template}: {e}"))?;
        let rendered = substitute(&String::from_utf8_lossy(&text), &defined);
        fs::write(&target, rendered).map_err(|e| format!("{output}: {e}"))?;
    }
    Ok(())
}

/// The variables envsubst is given: those whose name the filter matches. A filter awk
/// cannot compile leaves none (the script's awk fails, and `$defined_envs` is empty).
fn defined<'a>(environ: &'a [(String, String)], filter: &str, log: &mut dyn FnMut(String)) -> Vec<(&'a str, &'a str)> {
    let filter = match Ere::new(filter) {
        Ok(filter) => filter,
        Err(why) => {
            log(format!("{SCRIPT}: awk: NGINX_ENVSUBST_FILTER: {why}"));
            return Vec::new();
        }
    };
    environ
        .iter()
        .filter(|(name, _)| filter.is_match(name))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// Whether `dir` can be written (the script's `[ -w DIR ]`: `access(2)` with `W_OK`).
fn writable(dir: &Path) -> bool {
    unsafe extern "C" {
        fn access(path: *const std::ffi::c_char, mode: i32) -> i32;
    }
    const W_OK: i32 = 2;
    let Ok(path) = CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    unsafe { access(path.as_ptr(), W_OK) == 0 }
}

/// The regular files under `dir` (`find -follow -type f`), as paths relative to the
/// template folder, sorted.
fn files(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = format!("{prefix}{name}");
        // `fs::metadata` follows symbolic links, as `find -follow` does.
        match fs::metadata(entry.path()) {
            Ok(meta) if meta.is_dir() => files(&entry.path(), &format!("{relative}/"), out),
            Ok(meta) if meta.is_file() => out.push(relative),
            _ => {}
        }
    }
}

/// GNU envsubst with a SHELL-FORMAT: `$NAME` (the longest name) and `${NAME}` become
/// the value of `NAME` when it is one of `defined`; everything else stays as written.
pub fn substitute(text: &str, defined: &[(&str, &str)]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < chars.len() {
        if chars[at] != '$' {
            out.push(chars[at]);
            at += 1;
            continue;
        }
        let braced = chars.get(at + 1) == Some(&'{');
        let start = at + 1 + usize::from(braced);
        let mut end = start;
        while chars
            .get(end)
            .is_some_and(|&c| c == '_' || c.is_ascii_alphabetic() || (end > start && c.is_ascii_digit()))
        {
            end += 1;
        }
        let closed = !braced || chars.get(end) == Some(&'}');
        let name: String = chars[start..end].iter().collect();
        let value = defined.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        match value {
            Some(value) if end > start && closed => {
                out.push_str(value);
                at = end + usize::from(braced);
            }
            _ => {
                // Not substituted: what was read goes out as it was.
                out.extend(&chars[at..end]);
                at = end.max(at + 1);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn only_defined_variables_are_substituted_and_nginx_variables_survive() {
        let defined = [("FRONT_DNS_VALID", "1"), ("HOME", "/root")];
        let text = "valid=${FRONT_DNS_VALID}s; set $kong_http kong:8000; proxy_pass $kong_http; \
                    t=${FRONT_CONNECT_TIMEOUT}s; h=$HOME/x $HOMEDIR ${HOME:-y} $$ $ ${ ${HOME";
        assert_eq!(
            substitute(text, &defined),
            "valid=1s; set $kong_http kong:8000; proxy_pass $kong_http; \
             t=${FRONT_CONNECT_TIMEOUT}s; h=/root/x $HOMEDIR ${HOME:-y} $$ $ ${ ${HOME"
        );
    }

    fn sandbox(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("stand-in-envsubst-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("etc/nginx/templates/sub")).unwrap();
        dir
    }

    #[test]
    fn templates_are_written_under_the_output_folder_without_their_suffix() {
        let root = sandbox("layout");
        fs::write(root.join("etc/nginx/templates/nginx.conf.template"), "a ${A} ${B}\n").unwrap();
        fs::write(root.join("etc/nginx/templates/sub/x.conf.template"), "x ${A}\n").unwrap();
        fs::write(root.join("etc/nginx/templates/notes.txt"), "${A}\n").unwrap();
        let mut lines = Vec::new();
        let environ = env(&[("NGINX_ENVSUBST_OUTPUT_DIR", "/etc/nginx"), ("A", "1"), ("B", "2")]);
        render(&root, &environ, &mut |l| lines.push(l)).unwrap();
        assert_eq!(
            fs::read_to_string(root.join("etc/nginx/nginx.conf")).unwrap(),
            "a 1 2\n"
        );
        assert_eq!(fs::read_to_string(root.join("etc/nginx/sub/x.conf")).unwrap(), "x 1\n");
        assert!(!root.join("etc/nginx/notes.txt").exists(), "only files with the suffix");
        assert_eq!(
            lines[0],
            "20-envsubst-on-templates.sh: Running envsubst on /etc/nginx/templates/nginx.conf.template to /etc/nginx/nginx.conf"
        );

        // The default output folder, another suffix, and a filter that keeps A only.
        let environ = env(&[
            ("NGINX_ENVSUBST_TEMPLATE_SUFFIX", ".txt"),
            ("NGINX_ENVSUBST_FILTER", "^A$"),
            ("A", "1"),
            ("B", "2"),
        ]);
        fs::write(root.join("etc/nginx/templates/notes.txt"), "${A} ${B}\n").unwrap();
        fs::create_dir_all(root.join("etc/nginx/conf.d")).unwrap();
        render(&root, &environ, &mut |_| {}).unwrap();
        assert_eq!(
            fs::read_to_string(root.join("etc/nginx/conf.d/notes")).unwrap(),
            "1 ${B}\n"
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_filter_awk_cannot_compile_substitutes_nothing() {
        let mut lines = Vec::new();
        let environ = env(&[("NGINX_ENVSUBST_FILTER", "(A"), ("A", "1")]);
        assert!(defined(&environ, "(A", &mut |l| lines.push(l)).is_empty());
        assert!(lines[0].contains("NGINX_ENVSUBST_FILTER"));
    }

    #[test]
    fn an_output_folder_that_cannot_be_written_leaves_the_configuration_as_it_is() {
        let root = sandbox("missing-output");
        fs::write(root.join("etc/nginx/templates/nginx.conf.template"), "x\n").unwrap();
        let mut lines = Vec::new();
        let environ = env(&[("NGINX_ENVSUBST_OUTPUT_DIR", "/nowhere")]);
        render(&root, &environ, &mut |l| lines.push(l)).unwrap();
        assert_eq!(
            lines,
            ["20-envsubst-on-templates.sh: ERROR: /etc/nginx/templates exists, but /nowhere is not writable"]
        );
        assert!(!root.join("nowhere").exists());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_stream_template_is_refused() {
        let root = sandbox("stream");
        fs::write(root.join("etc/nginx/templates/tcp.conf.stream-template"), "x\n").unwrap();
        fs::create_dir_all(root.join("etc/nginx/conf.d")).unwrap();
        let error = render(&root, &[], &mut |_| {}).unwrap_err();
        assert!(error.contains("tcp.conf.stream-template"), "{error}");
        fs::remove_dir_all(&root).unwrap();
    }
}
