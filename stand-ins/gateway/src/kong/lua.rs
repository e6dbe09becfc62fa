//! The `$(…)` templates of request-transformer, evaluated per request. Kong runs them as
//! Lua with `headers` and `query_params` of the client's request in scope; this is the
//! part of Lua the Supabase entrypoints write there, and nothing more:
//!
//! string literals (`'…'`, `"…"`), `nil`, `true`, `false`, `headers.name`,
//! `headers["name"]`, `query_params.name`, `==`, `~=`, `and`, `or`, parentheses and
//! `:sub(i, j)` on a string. Anything else is refused when the file is read, naming what
//! it found, so an expression the stand-in cannot evaluate never passes silently.
//!
//! As in Kong, `headers.x_y` is the header `x-y` in any case, a template whose value is
//! `nil` renders as an empty string, and an error while evaluating (`:sub` on `nil`)
//! fails the request.

use crate::http::Request;

/// A value of the subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lua {
    Nil,
    Bool(bool),
    Str(String),
}

impl Lua {
    fn truthy(&self) -> bool {
        !matches!(self, Lua::Nil | Lua::Bool(false))
    }

    /// `tostring`, except that nil renders as nothing.
    fn render(self) -> String {
        match self {
            Lua::Nil => String::new(),
            Lua::Bool(b) => b.to_string(),
            Lua::Str(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Literal(Lua),
    Header(String),
    Query(String),
    Eq(Box<Expr>, Box<Expr>),
    Ne(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Sub(Box<Expr>, i64, i64),
}

/// Evaluation failed as Lua would fail (indexing a nil value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeError;

impl Expr {
    pub fn evaluate(&self, request: &Request) -> Result<Lua, RuntimeError> {
        Ok(match self {
            Expr::Literal(value) => value.clone(),
            Expr::Header(name) => header(request, name),
            Expr::Query(name) => request.query_param(name).map_or(Lua::Nil, |v| Lua::Str(v.to_owned())),
            Expr::Eq(a, b) => Lua::Bool(a.evaluate(request)? == b.evaluate(request)?),
            Expr::Ne(a, b) => Lua::Bool(a.evaluate(request)? != b.evaluate(request)?),
            Expr::And(a, b) => {
                let left = a.evaluate(request)?;
                if left.truthy() { b.evaluate(request)? } else { left }
            }
            Expr::Or(a, b) => {
                let left = a.evaluate(request)?;
                if left.truthy() { left } else { b.evaluate(request)? }
            }
            Expr::Sub(value, i, j) => match value.evaluate(request)? {
                Lua::Str(s) => Lua::Str(sub(&s, *i, *j)),
                _ => return Err(RuntimeError),
            },
        })
    }
}

/// Kong's `headers` table: names in any case, `_` standing for `-`.
fn header(request: &Request, name: &str) -> Lua {
    let name = name.replace('_', "-");
    request.header(&name).map_or(Lua::Nil, |v| Lua::Str(v.to_owned()))
}

/// Lua's `string.sub`: 1-based, inclusive, negative positions counted from the end.
fn sub(s: &str, i: i64, j: i64) -> String {
    let bytes = s.as_bytes();
    let len = bytes.len() as i64;
    let from = if i < 0 { (len + i + 1).max(1) } else { i.max(1) };
    let to = if j < 0 { len + j + 1 } else { j.min(len) };
    if from > to {
        return String::new();
    }
    String::from_utf8_lossy(&bytes[(from - 1) as usize..to as usize]).into_owned()
}

/// One piece of a header or query value: text as written, or a `$(…)` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Expr(Expr),
}

/// Splits a value into text and `$(…)` expressions, each expression parsed.
pub fn template(raw: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = raw;
    while let Some(at) = rest.find("$(") {
        if at > 0 {
            pieces.push(Piece::Text(rest[..at].to_owned()));
        }
        let body = &rest[at + 2..];
        let end = closing(body).ok_or("a $( has no closing parenthesis")?;
        pieces.push(Piece::Expr(parse(&body[..end])?));
        rest = &body[end + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    Ok(pieces)
}

/// Renders the pieces for one request.
pub fn render(pieces: &[Piece], request: &Request) -> Result<String, RuntimeError> {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Expr(expr) => out.push_str(&expr.evaluate(request)?.render()),
        }
    }
    Ok(out)
}

/// Where the parenthesis that closes an opened `$(` is, strings skipped.
fn closing(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote = None;
    let mut escaped = false;
    for (index, c) in body.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' if depth == 0 => return Some(index),
                ')' => depth -= 1,
                _ => {}
            },
        }
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Str(String),
    Name(String),
    Int(i64),
    Sym(&'static str),
}

fn tokens(source: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("a string literal is not closed".into()),
                    Some(&q) if q == c => break,
                    Some('\\') => {
                        let escaped = match chars.get(i + 1) {
                            Some('\\') => '\\',
                            Some('\'') => '\'',
                            Some('"') => '"',
                            Some('n') => '\n',
                            _ => return Err("a string literal holds an escape the stand-in does not read".into()),
                        };
                        text.push(escaped);
                        i += 2;
                        continue;
                    }
                    Some(&other) => text.push(other),
                }
                i += 1;
            }
            i += 1;
            out.push(Token::Str(text));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Name(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Token::Int(
                text.parse().map_err(|_| format!("{text} is not a small integer"))?,
            ));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let sym = match (two.as_str(), c) {
                ("==", _) => "==",
                ("~=", _) => "~=",
                (_, '(') => "(",
                (_, ')') => ")",
                (_, '.') => ".",
                (_, ':') => ":",
                (_, ',') => ",",
                (_, '[') => "[",
                (_, ']') => "]",
                _ => return Err(format!("{c:?} is not part of the Lua the stand-in evaluates")),
            };
            i += sym.len();
            out.push(Token::Sym(sym));
        }
    }
    Ok(out)
}

/// Parses one expression of the subset.
pub fn parse(source: &str) -> Result<Expr, String> {
    let mut parser = Parser {
        tokens: tokens(source)?,
        at: 0,
    };
    let expr = parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(expr),
        Some(token) => Err(format!("unexpected {} after a complete expression", describe(token))),
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Str(_) => "a string".into(),
        Token::Name(name) => format!("name {name:?}"),
        Token::Int(n) => format!("number {n}"),
        Token::Sym(sym) => format!("{sym:?}"),
    }
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn eat(&mut self, token: &Token) -> bool {
        let matched = self.peek() == Some(token);
        if matched {
            self.at += 1;
        }
        matched
    }

    fn expect(&mut self, sym: &'static str) -> Result<(), String> {
        match self.next() {
            Some(Token::Sym(s)) if s == sym => Ok(()),
            Some(other) => Err(format!("expected {sym:?}, found {}", describe(&other))),
            None => Err(format!("expected {sym:?}, found the end")),
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.eat(&Token::Name("or".into())) {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.comparison()?;
        while self.eat(&Token::Name("and".into())) {
            left = Expr::And(Box::new(left), Box::new(self.comparison()?));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let mut left = self.postfix()?;
        loop {
            if self.eat(&Token::Sym("==")) {
                left = Expr::Eq(Box::new(left), Box::new(self.postfix()?));
            } else if self.eat(&Token::Sym("~=")) {
                left = Expr::Ne(Box::new(left), Box::new(self.postfix()?));
            } else {
                return Ok(left);
            }
        }
    }

    fn postfix(&mut self) -> Result<Expr, String> {
        let mut value = self.primary()?;
        while self.eat(&Token::Sym(":")) {
            match self.next() {
                Some(Token::Name(method)) if method == "sub" => {}
                Some(other) => {
                    return Err(format!(
                        "method {} is not one the stand-in evaluates (only :sub)",
                        describe(&other)
                    ));
                }
                None => return Err("a method name is missing after ':'".into()),
            }
            self.expect("(")?;
            let i = self.int()?;
            self.expect(",")?;
            let j = self.int()?;
            self.expect(")")?;
            value = Expr::Sub(Box::new(value), i, j);
        }
        Ok(value)
    }

    fn int(&mut self) -> Result<i64, String> {
        match self.next() {
            Some(Token::Int(n)) => Ok(n),
            Some(other) => Err(format!(":sub takes integer literals, found {}", describe(&other))),
            None => Err(":sub takes two integers".into()),
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Token::Str(s)) => Ok(Expr::Literal(Lua::Str(s))),
            Some(Token::Sym("(")) => {
                let inner = self.or()?;
                self.expect(")")?;
                Ok(inner)
            }
            Some(Token::Name(name)) => match name.as_str() {
                "nil" => Ok(Expr::Literal(Lua::Nil)),
                "true" => Ok(Expr::Literal(Lua::Bool(true))),
                "false" => Ok(Expr::Literal(Lua::Bool(false))),
                "headers" | "query_params" => {
                    let field = if self.eat(&Token::Sym(".")) {
                        match self.next() {
                            Some(Token::Name(field)) => field,
                            _ => return Err(format!("{name}. is not followed by a name")),
                        }
                    } else if self.eat(&Token::Sym("[")) {
                        let Some(Token::Str(field)) = self.next() else {
                            return Err(format!("{name}[…] takes a string literal"));
                        };
                        self.expect("]")?;
                        field
                    } else {
                        return Err(format!(
                            "{name} is used as a whole table, which the stand-in does not evaluate"
                        ));
                    };
                    Ok(if name == "headers" {
                        Expr::Header(field.to_ascii_lowercase())
                    } else {
                        Expr::Query(field)
                    })
                }
                other => Err(format!(
                    "name {other:?} is not one the stand-in evaluates (headers, query_params, nil, true, false)"
                )),
            },
            Some(other) => Err(format!("unexpected {}", describe(&other))),
            None => Err("an expression ends too early".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(source: &str, request: &Request) -> Lua {
        parse(source).unwrap().evaluate(request).unwrap()
    }

    #[test]
    fn the_subset_evaluates_like_lua() {
        let request = Request::new("GET", "/?apikey=q")
            .with_header("Authorization", "Bearer sb_secret_x")
            .with_header("apikey", "k")
            .with_header("x-api-key", "xk");
        assert_eq!(eval("headers.apikey", &request), Lua::Str("k".into()));
        assert_eq!(eval("headers.x_api_key", &request), Lua::Str("xk".into()));
        assert_eq!(eval("headers['x-api-key']", &request), Lua::Str("xk".into()));
        assert_eq!(eval("query_params.apikey", &request), Lua::Str("q".into()));
        assert_eq!(eval("headers.missing", &request), Lua::Nil);
        assert_eq!(
            eval("headers.authorization:sub(1, 10)", &request),
            Lua::Str("Bearer sb_".into())
        );
        assert_eq!(eval("'abcdef':sub(-3, -1)", &request), Lua::Str("def".into()));
        assert_eq!(eval("'abc':sub(2, 99)", &request), Lua::Str("bc".into()));
        assert_eq!(eval("nil or 'x'", &request), Lua::Str("x".into()));
        assert_eq!(eval("false and headers.nope:sub(1, 2)", &request), Lua::Bool(false));
        assert_eq!(
            eval("headers.apikey == 'k' and 'yes' or 'no'", &request),
            Lua::Str("yes".into())
        );
        assert_eq!(
            eval("headers.apikey ~= 'k' and 'yes' or 'no'", &request),
            Lua::Str("no".into())
        );
        assert_eq!(eval("(headers.nope ~= nil and 'a') or nil", &request), Lua::Nil);
        assert_eq!(
            parse("headers.nope:sub(1, 2)").unwrap().evaluate(&request),
            Err(RuntimeError)
        );
    }

    #[test]
    fn anything_outside_the_subset_is_refused_by_name() {
        for (source, named) in [
            ("os.getenv('X')", "\"os\""),
            ("headers.apikey:upper()", "upper"),
            ("headers", "whole table"),
            ("'a' .. 'b'", "\".\""),
            ("#headers.apikey", "'#'"),
            ("headers.apikey == ", "end"),
        ] {
            let error = parse(source).unwrap_err();
            assert!(error.contains(named), "{source}: {error}");
        }
    }

    #[test]
    fn a_template_keeps_its_text_around_the_expressions() {
        let pieces = template("Bearer $(headers.apikey) !").unwrap();
        let request = Request::new("GET", "/").with_header("apikey", "k");
        assert_eq!(render(&pieces, &request).unwrap(), "Bearer k !");
        assert_eq!(render(&template("$(nil)").unwrap(), &request).unwrap(), "");
        assert!(template("$(headers.apikey").is_err());
        let nested = template("$((headers.apikey == ')' and 'p') or 'q')").unwrap();
        assert_eq!(render(&nested, &request).unwrap(), "q");
    }
}
