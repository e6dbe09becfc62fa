//! Catalog secrets given a value in a tracked configuration file:
//! `JWT_SECRET=…`, `POSTGRES_PASSWORD: …`, `"VAULT_ENC_KEY": "…"`.
//!
//! Only values that pass the secret's own catalog rule count: a reference
//! (`${JWT_SECRET}`, `$VAR`, `bws:…`), a placeholder (`<…>`, `your-…`) or a
//! published default is not a real value. Source code is not read here (its
//! test fixtures assign made-up values all the time); the shape scans of
//! `scan` cover it. A hit names the line and the variable, never the value.

use std::sync::LazyLock;

use crate::config::Reference;
use crate::secrets::{CATALOG, Make, SecretSpec, Tier, defaults, rules};

/// Extensions of files that configure things rather than program them.
const CONFIG_EXTENSIONS: &[&str] = &[
    "env",
    "envrc",
    "yml",
    "yaml",
    "toml",
    "json",
    "conf",
    "cfg",
    "ini",
    "properties",
    "sh",
    "bash",
    "zsh",
    "tf",
    "tfvars",
    "md",
    "mdx",
    "txt",
    "service",
];

/// Words that mark a made-up value in documentation.
const PLACEHOLDER_WORDS: &[&str] = &[
    "your",
    "xxxx",
    "example",
    "changeme",
    "change-me",
    "placeholder",
    "redacted",
];

/// The catalog secrets whose values can be judged from their text alone:
/// generated ones (a real rule) and third-party credentials. The scanner
/// looks for their names in the same pass as every other anchor.
pub static JUDGED: LazyLock<Vec<&'static SecretSpec>> = LazyLock::new(|| {
    CATALOG
        .iter()
        .filter(|s| matches!(s.make, Make::Random { .. }) || s.tier == Tier::Two)
        .collect()
});

/// Whether the file at `path` (relative, `/`-separated) is read for assignments.
pub fn applies_to(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if name.starts_with(".env") || name.starts_with("dockerfile") || name.starts_with("docker-compose") {
        return true;
    }
    match name.rsplit_once('.') {
        Some((_, ext)) => CONFIG_EXTENSIONS.contains(&ext),
        None => false,
    }
}

/// Whether the name of `spec` found at `start..end` of `bytes` is assigned
/// (`=v`, `: v`, `" = "v"`, on its line) a value that passes its rule.
pub fn assigns_real_value(bytes: &[u8], start: usize, end: usize, spec: &SecretSpec) -> bool {
    if start > 0 && is_name_byte(bytes[start - 1]) || bytes.get(end).is_some_and(|b| is_name_byte(*b)) {
        return false;
    }
    value_after(bytes, end).is_some_and(|value| is_real_value(spec, value))
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The value assigned after a name ending at `at`: `=v`, `: v`, `" = "v"`, on the same line.
fn value_after(bytes: &[u8], at: usize) -> Option<&str> {
    let line_end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |n| at + n);
    let rest = std::str::from_utf8(&bytes[at..line_end]).ok()?;
    let rest = rest.strip_prefix(['"', '\'']).unwrap_or(rest).trim_start();
    let rest = match rest.strip_prefix(['=', ':']) {
        Some(r) if !r.starts_with(['=', ':']) => r.trim_start(),
        _ => return None,
    };
    let value = match rest.chars().next()? {
        q @ ('"' | '\'' | '`') => &rest[1..rest[1..].find(q)? + 1],
        _ => rest
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ')' | ']' | '}' | '#' | '\\'))
            .next()
            .unwrap_or_default(),
    };
    Some(value)
}

/// Whether `value` of `spec` is a real secret: no reference or placeholder,
/// no published default, and it passes the secret's rule.
fn is_real_value(spec: &SecretSpec, value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if value.is_empty()
        || value.contains(['$', '<', '>', '{', '}', '*', '…', '%'])
        || value.contains("...")
        || PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w))
        || Reference::parse(value).is_some()
        || defaults::is_known_default(value)
    {
        return false;
    }
    // Third-party credentials have no rule of ours: ask for a token's look
    // (12 characters or more, letters and digits, one word).
    let token_like = value.len() >= 12
        && value.chars().any(|c| c.is_ascii_alphabetic())
        && value.chars().any(|c| c.is_ascii_digit())
        && !value.contains(char::is_whitespace);
    if spec.tier == Tier::Two && !token_like {
        return false;
    }
    rules::check(spec, value, &|_| None).is_ok()
}

#[cfg(test)]
mod tests {
    use super::super::scan::{Kind, Scanner};
    use super::*;

    fn find(bytes: &[u8]) -> Vec<(usize, &'static str)> {
        Scanner::new(vec![])
            .scan(bytes, true)
            .into_iter()
            .filter_map(|(line, kind)| match kind {
                Kind::Assigned(name) => Some((line, name)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn assignments_in_every_config_syntax_are_found() {
        let text = "# staging\nJWT_SECRET=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd\nservices:\n  db:\n    environment:\n      POSTGRES_PASSWORD: 9f8e7d6c5b4a39281706f5e4d3c2b1a0\n{\"VAULT_ENC_KEY\": \"0a1b2c3d4e5f60718293a4b5c6d7e8f9\"}\nexport SMTP_PASS='k8Jh2Lm9Qw3Er7Ty'\n";
        assert_eq!(
            find(text.as_bytes()),
            vec![
                (2, "JWT_SECRET"),
                (6, "POSTGRES_PASSWORD"),
                (7, "VAULT_ENC_KEY"),
                (8, "SMTP_PASS")
            ]
        );
    }

    #[test]
    fn references_placeholders_defaults_and_rule_breakers_are_not_values() {
        let text = [
            "JWT_SECRET=${JWT_SECRET}",
            "POSTGRES_PASSWORD: $POSTGRES_PASSWORD",
            "JWT_SECRET=your-super-secret-jwt-token-with-at-least-32-characters-long",
            "JWT_SECRET=super-secret-jwt-token-with-at-least-32-characters-long",
            "POSTGRES_PASSWORD=postgres",
            "VAULT_ENC_KEY=<32 characters>",
            "SMTP_PASS = \"bws:5b0c1a7e-0000-4000-8000-000000000000\"",
            "SMTP_PASS = \"${SMTP_PASS}\"",
            "JWT_SECRET=",
            "if JWT_SECRET == other_secret_of_at_least_32_characters {",
            "MY_JWT_SECRET=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd",
            "JWT_SECRET=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd # receptor-verify: allow",
            "JWT_SECRET: AbCdEfGhIjKlMnOpQrStUvWxYz01234567...",
            "SMTP_PASS = 12345678",
        ]
        .join("\n");
        assert_eq!(find(text.as_bytes()), vec![]);
    }

    #[test]
    fn config_files_are_read_and_source_code_is_not() {
        for path in [
            "production.env",
            "deploy/.env_prod",
            ".envrc",
            "k8s/values.yaml",
            "docs/setup.md",
            "Dockerfile",
            "a/docker-compose.override.yml",
        ] {
            assert!(applies_to(path), "{path}");
        }
        for path in ["xtask/src/main.rs", "bench/generate.py", "web/app.ts", "Makefile"] {
            assert!(!applies_to(path), "{path}");
        }
    }
}
