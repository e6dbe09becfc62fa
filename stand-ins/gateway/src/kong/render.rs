//! Turns the project's `kong.yml` into the file Kong loads, the way the kong service's
//! entrypoint does at container start:
//!
//! - [`Render::Shell`]: the Receptor template's `eval "echo \"$(cat kong.tmpl.yml)\""`.
//!   `$NAME` and `${NAME}` become the variable's value, empty when unset. A double quote,
//!   backtick, backslash or `$(` would be read by the shell itself, so a file holding one
//!   is refused: the real entrypoint would render something else than the file says.
//! - [`Render::Entrypoint`]: upstream Supabase's `kong-entrypoint.sh`. It first defines
//!   the template expressions (`LUA_AUTH_EXPR`, …), then replaces each `$NAME` whose
//!   variable is set (others stay as written), then deletes `- key:` lines left empty.

use crate::keys::{Env, Expression};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    Shell,
    Entrypoint,
}

impl Render {
    pub fn parse(text: &str) -> Result<Render, String> {
        match text {
            "" | "shell" => Ok(Render::Shell),
            "entrypoint" => Ok(Render::Entrypoint),
            other => Err(format!("STAND_IN_KONG_RENDER is {other:?}; use shell or entrypoint")),
        }
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

pub fn render(template: &str, mode: Render, env: Env<'_>) -> Result<String, String> {
    match mode {
        Render::Shell => shell(template, env),
        Render::Entrypoint => Ok(entrypoint(template, env)),
    }
}

fn shell(template: &str, env: Env<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    for (index, line) in template.split_inclusive('\n').enumerate() {
        let at = |what: &str| {
            format!(
                "kong.yml:{}: {what}, which the shell entrypoint would interpret",
                index + 1
            )
        };
        if let Some(c) = line.chars().find(|c| matches!(c, '"' | '`' | '\\')) {
            return Err(at(&format!("holds {c:?}")));
        }
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '$' {
                out.push(c);
                continue;
            }
            match chars.peek().copied() {
                Some('(') => return Err(at("holds a command substitution $(")),
                Some('{') => {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    if name.is_empty() || !name.starts_with(is_name_start) || !name.chars().all(is_name) {
                        return Err(at(&format!("holds ${{{name}}}, a form the stand-in does not expand")));
                    }
                    out.push_str(&env(&name).unwrap_or_default());
                }
                Some(c) if is_name_start(c) => {
                    let mut name = String::new();
                    while let Some(&c) = chars.peek().filter(|&&c| is_name(c)) {
                        name.push(c);
                        chars.next();
                    }
                    out.push_str(&env(&name).unwrap_or_default());
                }
                _ => out.push('$'),
            }
        }
    }
    Ok(out)
}

fn entrypoint(template: &str, env: Env<'_>) -> String {
    let lookup = |name: &str| {
        Expression::ALL
            .into_iter()
            .find(|e| e.variable() == name)
            .map(Expression::marker)
            .or_else(|| env(name))
    };
    let mut out = String::with_capacity(template.len());
    for line in template.split_inclusive('\n') {
        let mut rendered = String::with_capacity(line.len());
        let mut rest = line;
        while let Some(at) = rest.find('$') {
            rendered.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let len = if after.starts_with(is_name_start) {
                after.find(|c: char| !is_name(c)).unwrap_or(after.len())
            } else {
                0
            };
            let name = &after[..len];
            match (len > 0).then(|| lookup(name)).flatten() {
                Some(value) => rendered.push_str(&value),
                None => {
                    rendered.push('$');
                    rendered.push_str(name);
                }
            }
            rest = &after[len..];
        }
        rendered.push_str(rest);
        let body = rendered.trim();
        if body.strip_prefix("- key:").is_some_and(|v| v.trim().is_empty()) {
            continue;
        }
        out.push_str(&rendered);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SUPABASE_ANON_KEY" => Some("anon.key".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn the_shell_expands_every_name_and_empties_unset_ones() {
        let out = render(
            "a: $SUPABASE_ANON_KEY\nb: ${SUPABASE_ANON_KEY}x\nc: $UNSET.\nd: 5$\n",
            Render::Shell,
            &env,
        )
        .unwrap();
        assert_eq!(out, "a: anon.key\nb: anon.keyx\nc: .\nd: 5$\n");
        let refused = render("ok\nx: \"$SUPABASE_ANON_KEY\"\n", Render::Shell, &env).unwrap_err();
        assert!(refused.starts_with("kong.yml:2:"), "{refused}");
        assert!(render("x: $(id)\n", Render::Shell, &env).is_err());
    }

    #[test]
    fn the_entrypoint_keeps_unset_names_and_drops_empty_keys() {
        let template =
            "  - key: $SUPABASE_ANON_KEY\n  - key: $EMPTY\n  - key: $UNSET\nh: \"Authorization: $LUA_AUTH_EXPR\"\n";
        let out = render(template, Render::Entrypoint, &env).unwrap();
        assert_eq!(
            out,
            "  - key: anon.key\n  - key: $UNSET\nh: \"Authorization: $(LUA_AUTH_EXPR)\"\n"
        );
    }
}
