//! Text from files and names, made safe to print in a table: control
//! characters and the invisible characters that reorder a line are shown
//! escaped (`\u{1b}`, `\t`), so a file name can neither move the cursor,
//! recolour the terminal nor break a row in two.

use std::borrow::Cow;

/// Whether `c` is shown escaped: a control character (C0, DEL, C1) or a
/// bidirectional override or isolate ("Trojan Source").
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// `text` with every unsafe character escaped; borrowed when there is none.
pub fn escaped(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_reordering_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escaped("docs/notes.md"), "docs/notes.md");
        assert!(matches!(escaped("plain é ü 日本"), Cow::Borrowed(_)));
        assert_eq!(escaped("a\u{1b}[31mred\n.env"), "a\\u{1b}[31mred\\n.env");
        assert_eq!(escaped("x\ty\r\u{7f}\u{9b}"), "x\\ty\\r\\u{7f}\\u{9b}");
        assert_eq!(escaped("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
    }
}
