//! Where an upstream stack template comes from: a git URL and a ref, each a
//! type that only a value safe to hand to git can be. Neither can start with
//! `-` (git would read an option such as `--upload-pack=…`), name a transport
//! helper (`ext::…` runs a program) or carry credentials. Messages never
//! quote the refused value.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// A commit id (full or abbreviated), a tag or a branch name, as
/// `git check-ref-format --allow-onelevel` accepts it, never starting with `-`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct UpstreamRef(String);

/// Why a ref or URL is refused; the value itself is never part of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not the shape of a ref or URL: the message adds the shapes that are.
    Shape(&'static str),
    /// Credentials where they would be shown: the reason says where they go.
    Credentials(&'static str),
}

/// A ref or URL refused where `what` (the setting or flag) gave it, with
/// the shapes to use instead (`hint`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadUpstream {
    pub what: &'static str,
    pub hint: &'static str,
    pub why: Refused,
}

impl fmt::Display for BadUpstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let BadUpstream { what, hint, why } = self;
        match why {
            Refused::Shape(why) => write!(f, "{what} {why}; {hint}"),
            Refused::Credentials(why) => write!(f, "{what} {why}"),
        }
    }
}

impl std::error::Error for BadUpstream {}

impl BadUpstream {
    /// The refusal of a value `what` gave.
    fn as_given(what: &'static str, hint: &'static str) -> impl Fn(Refused) -> BadUpstream {
        move |why| BadUpstream { what, hint, why }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Shape(why) | Refused::Credentials(why) => f.write_str(why),
        }
    }
}

const REF_HINT: &str = "use a commit id, a tag or a branch name";

impl UpstreamRef {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn parse(text: &str) -> Result<UpstreamRef, Refused> {
        check_ref(text).map(|()| UpstreamRef(text.to_string()))
    }
}

/// git's refname rules (`git help check-ref-format`), plus: never `-` first.
fn check_ref(text: &str) -> Result<(), Refused> {
    if text.is_empty() {
        return Err(Refused::Shape("is empty"));
    }
    if text.len() > 255 {
        return Err(Refused::Shape("is longer than 255 bytes"));
    }
    if text.starts_with('-') {
        return Err(Refused::Shape("starts with `-`, which git would read as an option"));
    }
    let forbidden = |c: char| c.is_ascii_control() || " ~^:?*[\\".contains(c);
    if text.chars().any(forbidden) {
        return Err(Refused::Shape(
            "holds a space, a control character or one of ~ ^ : ? * [ \\, which git refuses in a ref",
        ));
    }
    if text == "@" || text.contains("@{") || text.contains("..") {
        return Err(Refused::Shape(
            "holds `..` or `@{` or is `@`, which git refuses in a ref",
        ));
    }
    if text.ends_with('.') || text.ends_with('/') || text.starts_with('/') || text.contains("//") {
        return Err(Refused::Shape(
            "starts or ends with `/`, ends with `.` or holds `//`, which git refuses in a ref",
        ));
    }
    if text
        .split('/')
        .any(|part| part.starts_with('.') || part.ends_with(".lock"))
    {
        return Err(Refused::Shape(
            "has a part starting with `.` or ending with `.lock`, which git refuses in a ref",
        ));
    }
    Ok(())
}

impl TryFrom<String> for UpstreamRef {
    type Error = BadUpstream;

    fn try_from(text: String) -> Result<UpstreamRef, BadUpstream> {
        UpstreamRef::parse(&text).map_err(BadUpstream::as_given("stack.upstream_ref", REF_HINT))
    }
}

/// `--upstream REF`: the same rules, and an error that names the flag.
impl FromStr for UpstreamRef {
    type Err = BadUpstream;

    fn from_str(text: &str) -> Result<UpstreamRef, BadUpstream> {
        UpstreamRef::parse(text).map_err(BadUpstream::as_given("the ref", REF_HINT))
    }
}

impl fmt::Display for UpstreamRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A git remote: `https://host/path`, `ssh://[user@]host/path`,
/// `user@host:path`, an absolute local path or `file:///path`. Never a
/// transport helper, never an option, never credentials.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct UpstreamUrl(String);

const URL_HINT: &str = "use https://host/path, ssh://host/path, git@host:path, an absolute path or file:///path";

impl UpstreamUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn parse(text: &str) -> Result<UpstreamUrl, Refused> {
        check_url(text).map(|()| UpstreamUrl(text.to_string()))
    }
}

fn check_url(text: &str) -> Result<(), Refused> {
    if text.is_empty() {
        return Err(Refused::Shape("is empty"));
    }
    if text.len() > 2048 {
        return Err(Refused::Shape("is longer than 2048 bytes"));
    }
    if text.starts_with('-') {
        return Err(Refused::Shape("starts with `-`, which git would read as an option"));
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(Refused::Shape("holds a control character"));
    }
    if text.contains("::") {
        return Err(Refused::Shape(
            "names a git transport helper (transport::address), which runs a program",
        ));
    }
    if let Some(rest) = text.strip_prefix("https://") {
        return network(rest, false);
    }
    if let Some(rest) = text.strip_prefix("ssh://") {
        return network(rest, true);
    }
    if let Some(path) = text.strip_prefix("file://") {
        return if path.starts_with('/') {
            Ok(())
        } else {
            Err(Refused::Shape(
                "is a file:// URL without an absolute path (file:///path)",
            ))
        };
    }
    if text.starts_with('/') {
        return Ok(());
    }
    scp_like(text)
}

/// After `https://` or `ssh://`: `[user@]host[:port]/path`, with a user
/// only for ssh (a name, never a password) and no query string.
fn network(rest: &str, ssh: bool) -> Result<(), Refused> {
    if rest.contains(char::is_whitespace) {
        return Err(Refused::Shape("holds a space"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once('@') {
        None => authority,
        Some((user, host)) => {
            if !ssh || user.contains(':') || !is_user(user) {
                return Err(Refused::Credentials(
                    "holds a user name or password: put credentials in a git credential helper or an ssh key, never in setup.conf",
                ));
            }
            host
        }
    };
    if rest.contains(['?', '#']) {
        return Err(Refused::Credentials(
            "has a query string or fragment, which can carry a token: put credentials in a git credential helper, never in setup.conf",
        ));
    }
    if !is_host_port(host) {
        return Err(Refused::Shape("has no valid host name"));
    }
    Ok(())
}

/// `user@host:path`, the form git reads as ssh.
fn scp_like(text: &str) -> Result<(), Refused> {
    let refused = || Err(Refused::Shape("is not a git URL"));
    let Some((user_host, path)) = text.split_once(':') else {
        return refused();
    };
    let Some((user, host)) = user_host.split_once('@') else {
        return refused();
    };
    if path.is_empty() || path.starts_with('-') || path.contains(char::is_whitespace) || path.contains(['?', '#']) {
        return refused();
    }
    if !is_user(user) || !is_host(host) {
        return refused();
    }
    Ok(())
}

fn is_user(user: &str) -> bool {
    !user.is_empty() && !user.starts_with('-') && user.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['-', '.'])
        && host.chars().all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
}

fn is_host_port(authority: &str) -> bool {
    match authority.split_once(':') {
        Some((host, port)) => {
            is_host(host) && !port.is_empty() && port.len() <= 5 && port.chars().all(|c| c.is_ascii_digit())
        }
        None => is_host(authority),
    }
}

impl TryFrom<String> for UpstreamUrl {
    type Error = BadUpstream;

    fn try_from(text: String) -> Result<UpstreamUrl, BadUpstream> {
        UpstreamUrl::parse(&text).map_err(BadUpstream::as_given("stack.upstream_url", URL_HINT))
    }
}

impl fmt::Display for UpstreamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_commit_ids_tags_or_branches_never_options() {
        for good in [
            "f813858db24e424146f62442faeafeed544dc508",
            "f813858",
            "v1.2.3",
            "master",
            "release/2026-01",
            "refs/tags/v1.0.0",
            "HEAD",
        ] {
            assert!(UpstreamRef::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "--upload-pack=touch /tmp/x; git-upload-pack",
            "-v",
            "a b",
            "a..b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "a\tb",
            "a\0b",
            "@",
            "a@{1}",
            "/a",
            "a/",
            "a//b",
            "a.",
            ".a",
            "a/.b",
            "a.lock",
            "a/b.lock/c",
        ] {
            assert!(UpstreamRef::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_are_https_ssh_scp_or_absolute_paths_and_never_carry_credentials() {
        for good in [
            "https://github.com/supabase/supabase",
            "https://git.example:8443/a/b.git",
            "ssh://git@github.com/supabase/supabase.git",
            "ssh://host.example/r",
            "git@github.com:supabase/supabase.git",
            "/srv/git/supabase.git",
            "/srv/My Repos/supabase.git",
            "file:///srv/git/supabase.git",
            "https://example.invalid/a@b",
        ] {
            assert!(UpstreamUrl::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "relative/path",
            "-oProxyCommand=x",
            "--upload-pack=x",
            "ext::sh -c touch% /tmp/pwned",
            "fd::17",
            "http://github.com/supabase/supabase",
            "git://github.com/supabase/supabase",
            "https://bot:tok3n@example.invalid/r.git",
            "https://tok3n@example.invalid/r.git",
            "ssh://git:pass@example.invalid/r.git",
            "https://example.invalid/r.git?access_token=tok3n",
            "https://example.invalid/r.git#x",
            "https:///r.git",
            "https://-oProxyCommand=x/r",
            "ssh://-oProxyCommand=x/r",
            "git@-oProxyCommand=x:r",
            "git@host:-r",
            "host:path",
            "file://relative",
            "https://a b/c",
            "/a\nb",
        ] {
            assert!(UpstreamUrl::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn messages_never_quote_the_value() {
        let err = UpstreamUrl::try_from("https://example.invalid/r?token=Qx7canary".to_string())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("stack.upstream_url has a query string"), "{err}");
        assert!(!err.contains("canary"));
        let err = "--upload-pack=Qx7canary"
            .parse::<UpstreamRef>()
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("the ref starts with `-`"), "{err}");
        assert!(!err.contains("canary"));
    }
}
