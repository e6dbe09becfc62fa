//! POSIX extended regular expressions, for `NGINX_ENVSUBST_FILTER`: the nginx image's
//! entrypoint hands the filter to awk as `name ~ /FILTER/`, so it is an ERE that
//! matches anywhere in a variable's name unless anchored.
//!
//! The syntax of POSIX's ERE: alternation `|`, groups `( )`, the quantifiers `*` `+`
//! `?` `{n}` `{n,}` `{n,m}`, the anchors `^` `$`, `.`, bracket expressions (`[a-z_]`,
//! `[^0-9]`, `[[:alpha:]]`, `]` first as a literal) and `\` before a character for that
//! character. Matched by backtracking: a variable name is short.

/// One part of a pattern.
#[derive(Debug, Clone)]
enum Node {
    Char(char),
    Any,
    Set {
        items: Vec<Item>,
        negated: bool,
    },
    Start,
    End,
    Group(Box<Node>),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: usize,
        max: Option<usize>,
    },
}

/// One member of a bracket expression.
#[derive(Debug, Clone)]
enum Item {
    Range(char, char),
    Class(fn(char) -> bool),
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Ere(Node);

impl Ere {
    /// Compiles `pattern`, or says why awk would refuse it.
    pub fn new(pattern: &str) -> Result<Ere, String> {
        let mut parser = Parser {
            chars: pattern.chars().collect(),
            at: 0,
        };
        let node = parser.alternation()?;
        match parser.peek() {
            None => Ok(Ere(node)),
            Some(c) => Err(format!("unexpected {c:?} in the regular expression {pattern:?}")),
        }
    }

    /// Whether the pattern matches somewhere in `text`, as awk's `~` does.
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        (0..=chars.len()).any(|start| matches(&self.0, &chars, start, &mut |_| true))
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.at += usize::from(c.is_some());
        c
    }

    fn alternation(&mut self) -> Result<Node, String> {
        let mut branches = vec![self.concatenation()?];
        while self.peek() == Some('|') {
            self.at += 1;
            branches.push(self.concatenation()?);
        }
        Ok(if branches.len() == 1 {
            branches.remove(0)
        } else {
            Node::Alt(branches)
        })
    }

    fn concatenation(&mut self) -> Result<Node, String> {
        let mut parts = Vec::new();
        while let Some(c) = self.peek()
            && c != '|'
            && c != ')'
        {
            let atom = self.atom()?;
            parts.push(self.quantified(atom)?);
        }
        Ok(Node::Concat(parts))
    }

    fn atom(&mut self) -> Result<Node, String> {
        Ok(match self.next().expect("called on a character") {
            '(' => {
                let inner = self.alternation()?;
                if self.next() != Some(')') {
                    return Err("a ( without its )".into());
                }
                Node::Group(Box::new(inner))
            }
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '[' => self.bracket()?,
            '\\' => Node::Char(self.next().ok_or("a \\ at the end")?),
            c @ ('*' | '+' | '?') => return Err(format!("{c} with nothing to repeat")),
            c => Node::Char(c),
        })
    }

    fn quantified(&mut self, mut atom: Node) -> Result<Node, String> {
        loop {
            let (min, max) = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') if self.chars.get(self.at + 1).is_some_and(char::is_ascii_digit) => {
                    self.at += 1;
                    let bounds = self.bounds()?;
                    atom = Node::Repeat {
                        node: Box::new(atom),
                        min: bounds.0,
                        max: bounds.1,
                    };
                    continue;
                }
                _ => return Ok(atom),
            };
            self.at += 1;
            atom = Node::Repeat {
                node: Box::new(atom),
                min,
                max,
            };
        }
    }

    /// `n}`, `n,}` or `n,m}`, after the `{`.
    fn bounds(&mut self) -> Result<(usize, Option<usize>), String> {
        let number = |p: &mut Parser| {
            let start = p.at;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.at += 1;
            }
            p.chars[start..p.at].iter().collect::<String>().parse::<usize>().ok()
        };
        let min = number(self).ok_or("a bad {n,m}")?;
        let max = if self.peek() == Some(',') {
            self.at += 1;
            number(self)
        } else {
            Some(min)
        };
        if self.next() != Some('}') || max.is_some_and(|max| max < min) {
            return Err("a bad {n,m}".into());
        }
        Ok((min, max))
    }

    /// A bracket expression, after the `[`.
    fn bracket(&mut self) -> Result<Node, String> {
        let negated = self.peek() == Some('^');
        self.at += usize::from(negated);
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self.next().ok_or("a [ without its ]")?;
            match c {
                ']' if !first => break,
                '[' if self.peek() == Some(':') => {
                    let rest: String = self.chars[self.at + 1..].iter().collect();
                    let end = rest.find(":]").ok_or("a [: without its :]")?;
                    items.push(Item::Class(class(&rest[..end])?));
                    self.at += 1 + end + 2;
                }
                low => {
                    if self.peek() == Some('-') && self.chars.get(self.at + 1).is_some_and(|&c| c != ']') {
                        let high = self.chars[self.at + 1];
                        self.at += 2;
                        items.push(Item::Range(low, high));
                    } else {
                        items.push(Item::Range(low, low));
                    }
                }
            }
            first = false;
        }
        Ok(Node::Set { items, negated })
    }
}

/// The POSIX character class `name` (`alpha` in `[[:alpha:]]`).
fn class(name: &str) -> Result<fn(char) -> bool, String> {
    Ok(match name {
        "alpha" => |c: char| c.is_ascii_alphabetic(),
        "digit" => |c: char| c.is_ascii_digit(),
        "alnum" => |c: char| c.is_ascii_alphanumeric(),
        "upper" => |c: char| c.is_ascii_uppercase(),
        "lower" => |c: char| c.is_ascii_lowercase(),
        "space" => |c: char| c.is_ascii_whitespace() || c == '\x0b',
        "blank" => |c: char| c == ' ' || c == '\t',
        "punct" => |c: char| c.is_ascii_punctuation(),
        "xdigit" => |c: char| c.is_ascii_hexdigit(),
        "cntrl" => |c: char| c.is_ascii_control(),
        "print" => |c: char| (' '..='~').contains(&c),
        "graph" => |c: char| ('!'..='~').contains(&c),
        _ => return Err(format!("unknown character class [:{name}:]")),
    })
}

/// Whether `node` matches `text` from `at`, with `rest` accepting where it ends.
fn matches(node: &Node, text: &[char], at: usize, rest: &mut dyn FnMut(usize) -> bool) -> bool {
    let one = |ok: bool| ok.then_some(at + 1);
    let step = match node {
        Node::Char(c) => one(text.get(at) == Some(c)),
        Node::Any => one(at < text.len()),
        Node::Set { items, negated } => one(text.get(at).is_some_and(|&c| {
            let inside = items.iter().any(|item| match item {
                Item::Range(low, high) => (*low..=*high).contains(&c),
                Item::Class(test) => test(c),
            });
            inside != *negated
        })),
        Node::Start => (at == 0).then_some(at),
        Node::End => (at == text.len()).then_some(at),
        Node::Group(inner) => return matches(inner, text, at, rest),
        Node::Alt(branches) => return branches.iter().any(|b| matches(b, text, at, rest)),
        Node::Concat(parts) => return sequence(parts, text, at, rest),
        Node::Repeat { node, min, max } => return repeat(node, *min, *max, 0, text, at, rest),
    };
    step.is_some_and(rest)
}

fn sequence(parts: &[Node], text: &[char], at: usize, rest: &mut dyn FnMut(usize) -> bool) -> bool {
    match parts.split_first() {
        None => rest(at),
        Some((first, others)) => matches(first, text, at, &mut |next| sequence(others, text, next, rest)),
    }
}

/// `node` repeated, greedily, `done` times so far; a repetition that matches nothing
/// ends the loop (so `(a*)*` cannot spin).
fn repeat(
    node: &Node,
    min: usize,
    max: Option<usize>,
    done: usize,
    text: &[char],
    at: usize,
    rest: &mut dyn FnMut(usize) -> bool,
) -> bool {
    if max.is_none_or(|max| done < max)
        && matches(node, text, at, &mut |next| {
            (next > at || done < min) && repeat(node, min, max, done + 1, text, next, rest)
        })
    {
        return true;
    }
    done >= min && rest(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is(pattern: &str, text: &str) -> bool {
        Ere::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn an_unanchored_pattern_matches_anywhere_and_anchors_pin_it() {
        assert!(is("FRONT_", "FRONT_DNS_VALID"));
        assert!(is("DNS", "FRONT_DNS_VALID"));
        assert!(!is("^DNS", "FRONT_DNS_VALID"));
        assert!(is("^FRONT_", "FRONT_DNS_VALID"));
        assert!(is("VALID$", "FRONT_DNS_VALID"));
        assert!(!is("^FRONT$", "FRONT_DNS_VALID"));
        assert!(is("", "anything"), "an empty filter keeps every name");
    }

    #[test]
    fn alternation_groups_sets_and_quantifiers() {
        assert!(is("^(FRONT|KONG)_", "KONG_DNS"));
        assert!(!is("^(FRONT|KONG)_", "HOME"));
        assert!(is("^[A-Z_]+$", "FRONT_DNS_VALID"));
        assert!(!is("^[A-Z_]+$", "front"));
        assert!(is("^[^a-z]*$", "PATH"));
        assert!(is("^[[:upper:]][[:alnum:]_]*$", "NGINX_PORT2"));
        assert!(is("^X{2,3}$", "XXX") && !is("^X{2,3}$", "XXXX") && !is("^X{2}$", "X"));
        assert!(is("^A.?B$", "AB") && is("^A.?B$", "AxB") && !is("^A.?B$", "AxxB"));
        assert!(is("^(a*)*$", "aaa") && !is("^(a*)*$", "aab"));
        assert!(is("[]]", "a]") && is("a\\.b", "a.b") && !is("a\\.b", "axb"));
    }

    #[test]
    fn a_pattern_awk_would_refuse_is_an_error() {
        for bad in ["(FRONT", "[A-Z", "*A", "A{3,2}", "[[:word:]]", "A\\"] {
            assert!(Ere::new(bad).is_err(), "{bad}");
        }
    }
}
