//! The variables a Compose file interpolates, read from its text without Docker.
//!
//! Compose interpolates `${VAR}`, `${VAR:-default}` (and the `-`, `?`, `:?`,
//! `+`, `:+` forms, whose defaults may nest) and bare `$VAR`; `$$` is a literal
//! dollar sign. YAML comments are skipped, except inside block scalars,
//! where a `#` is content and Compose interpolates it too.

/// One interpolation: the variable, its 1-based line, and whether it has a fallback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interpolation {
    pub name: String,
    pub line: usize,
    pub has_default: bool,
}

/// The variables one string value interpolates: a value Compose has already
/// parsed out of YAML, so a `#` in it is content, not a comment.
pub fn variables_in(value: &str) -> std::collections::BTreeSet<String> {
    let mut found = Vec::new();
    scan(value, 1, &mut found);
    found.into_iter().map(|i| i.name).collect()
}

/// Every interpolation in `text` (a whole Compose file), in order.
pub fn interpolations(text: &str) -> Vec<Interpolation> {
    let mut found = Vec::new();
    // The indentation of the key that opened a block scalar (`key: |`), while inside it.
    let mut block: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let blank = line.trim().is_empty();
        if let Some(key_indent) = block {
            if blank || indent > key_indent {
                scan(line, index + 1, &mut found);
                continue;
            }
            block = None;
        }
        let content = strip_comment(line);
        scan(content, index + 1, &mut found);
        if opens_block_scalar(content) {
            block = Some(indent);
        }
    }
    found
}

/// The line without its YAML comment: a `#` at the start or after a space, outside quotes.
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut previous = ' ';
    for (at, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single && previous != '\\' => double = !double,
            '#' if !single && !double && previous.is_whitespace() => return &line[..at],
            _ => {}
        }
        previous = c;
    }
    line
}

/// `key: |`, `key: >-`, `- |2` and the like.
fn opens_block_scalar(content: &str) -> bool {
    let token = content.trim_end().rsplit([' ', '\t']).next().unwrap_or("");
    let mut chars = token.chars();
    matches!(chars.next(), Some('|' | '>'))
        && chars.all(|c| matches!(c, '-' | '+' | '1'..='9'))
        && content.trim_end().len() > token.len()
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn scan(text: &str, line: usize, found: &mut Vec<Interpolation>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'$') => i += 2,
            Some(b'{') => {
                let start = i + 2;
                let end = closing_brace(bytes, start);
                let inner = &text[start..end];
                let name_len = inner.bytes().take_while(|c| is_name(*c)).count();
                let rest = &inner[name_len..];
                if name_len > 0 && is_name_start(inner.as_bytes()[0]) {
                    found.push(Interpolation {
                        name: inner[..name_len].to_string(),
                        line,
                        has_default: rest.starts_with(":-") || rest.starts_with('-'),
                    });
                    // The fallback or message may interpolate again.
                    let fallback = rest.trim_start_matches(':');
                    if let Some(nested) = fallback.get(1..) {
                        scan(nested, line, found);
                    }
                }
                i = end + 1;
            }
            Some(c) if is_name_start(*c) => {
                let start = i + 1;
                let len = bytes[start..].iter().take_while(|c| is_name(**c)).count();
                found.push(Interpolation {
                    name: text[start..start + len].to_string(),
                    line,
                    has_default: false,
                });
                i = start + len;
            }
            _ => i += 1,
        }
    }
}

/// The index of the `}` closing a `${` whose content starts at `start`.
fn closing_brace(bytes: &[u8], start: usize) -> usize {
    let mut depth = 1;
    for (offset, b) in bytes[start..].iter().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return start + offset;
                }
            }
            _ => {}
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, usize, bool)> {
        interpolations(text)
            .into_iter()
            .map(|i| (i.name, i.line, i.has_default))
            .collect()
    }

    #[test]
    fn every_form_is_read_and_escapes_and_comments_are_not() {
        let text = "\
# ${IN_COMMENT}
services:
  rest:
    environment:
      A: ${A}
      B: \"${B:-x}\" # ${TRAILING}
      C: ${C:-${D}}
      E: $E/x
      F: $${NOT_ME} and $$G
      H: ${H:?H is required}
      URL: http://host#${FRAG}
";
        assert_eq!(
            names(text),
            vec![
                ("A".into(), 5, false),
                ("B".into(), 6, true),
                ("C".into(), 7, true),
                ("D".into(), 7, false),
                ("E".into(), 8, false),
                ("H".into(), 10, false),
                ("FRAG".into(), 11, false),
            ]
        );
    }

    #[test]
    fn block_scalars_are_content_comments_and_all() {
        let text = "\
x:
  command: |
    # ${IN_BLOCK}
    echo $$HOME
  other: ${AFTER} # ${NOT}
";
        assert_eq!(
            names(text),
            vec![("IN_BLOCK".into(), 3, false), ("AFTER".into(), 5, false)]
        );
    }
}
