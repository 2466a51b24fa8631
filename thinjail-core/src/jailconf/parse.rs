//! Lexer and parser for jail.conf(5), following `usr.sbin/jail/jaillex.l` and `jailparse.y`.

use super::ConfError;
use super::ast::{ConfFile, Include, Item, JailBlock, Op, Param, Part, Pos, Value};

/// Characters of an unquoted atom (jaillex.l: `[A-Za-z0-9_!%&()\-.:<>?@\[\]^`|~]+`).
pub(crate) fn is_atom_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_!%&()-.:<>?@[]^`|~".contains(c)
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// Adjacent string pieces; `raw` counts the lexer tokens they came from.
    Word {
        parts: Vec<Part>,
        raw: usize,
    },
    PlusEq,
    Punct(char),
    Comment(String),
    Eof,
}

struct Lexer<'a> {
    chars: Vec<char>,
    i: usize,
    line: u32,
    col: u32,
    file: &'a str,
}

impl<'a> Lexer<'a> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn peek(&self, off: usize) -> Option<char> {
        self.chars.get(self.i + off).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.i).copied()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn err(&self, pos: Pos, msg: impl Into<String>) -> ConfError {
        ConfError::at(self.file, pos, msg)
    }

    /// Decodes one backslash escape; the backslash is already consumed.
    /// Returns None for a backslash-newline (a line continuation).
    fn escape(&mut self) -> Option<char> {
        let c = match self.bump() {
            Some(c) => c,
            None => return Some('\\'),
        };
        let byte = |v: u32| char::from((v & 0xff) as u8);
        match c {
            '0'..='7' => {
                let mut v = c as u32 - '0' as u32;
                for _ in 0..2 {
                    match self.peek(0) {
                        Some(d @ '0'..='7') => {
                            self.bump();
                            v = v * 8 + (d as u32 - '0' as u32);
                        }
                        _ => break,
                    }
                }
                Some(byte(v))
            }
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\n' => None,
            'x' => {
                let mut v = 0u32;
                for _ in 0..2 {
                    match self.peek(0).and_then(|d| d.to_digit(16)) {
                        Some(d) => {
                            self.bump();
                            v = v * 16 + d;
                        }
                        None => break,
                    }
                }
                Some(byte(v))
            }
            other => Some(other),
        }
    }

    /// Reads a `${...}` variable name; `$` and `{` are consumed. `in_dq` forbids `"`.
    fn braced_var(&mut self, start: Pos, in_dq: bool) -> Result<String, ConfError> {
        let mut name = String::new();
        loop {
            match self.peek(0) {
                Some('}') => {
                    self.bump();
                    break;
                }
                None | Some('\n') | Some('{') => {
                    return Err(self.err(start, "unterminated variable"));
                }
                Some('"') if in_dq => return Err(self.err(start, "unterminated variable")),
                Some('\\') => {
                    self.bump();
                    if self.peek(0).is_none() {
                        return Err(self.err(start, "unterminated variable"));
                    }
                    if let Some(c) = self.escape() {
                        name.push(c);
                    }
                }
                Some(c) => {
                    self.bump();
                    name.push(c);
                }
            }
        }
        if name.is_empty() {
            return Err(self.err(start, "bad variable: empty name in \"${}\""));
        }
        Ok(name)
    }

    fn simple_var(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek(0) {
            if is_ident_char(c) {
                name.push(c);
                self.bump();
            } else {
                break;
            }
        }
        name
    }

    /// Lexes one string piece starting at the current character, or returns None if the
    /// character does not start a string piece. Pushes the parts and returns the raw token count.
    fn piece(&mut self, parts: &mut Vec<Part>) -> Result<Option<usize>, ConfError> {
        let start = self.pos();
        let c = match self.peek(0) {
            Some(c) => c,
            None => return Ok(None),
        };
        if is_atom_char(c) {
            let mut s = String::new();
            while let Some(c) = self.peek(0) {
                if is_atom_char(c) {
                    s.push(c);
                    self.bump();
                } else {
                    break;
                }
            }
            parts.push(Part::Lit(s));
            return Ok(Some(1));
        }
        match c {
            '\\' => {
                self.bump();
                let s = self.escape().map(String::from).unwrap_or_default();
                parts.push(Part::Lit(s));
                Ok(Some(1))
            }
            '$' if self.peek(1) == Some('{') => {
                self.bump();
                self.bump();
                let name = self.braced_var(start, false)?;
                parts.push(Part::Var(name));
                Ok(Some(1))
            }
            '$' if self.peek(1).is_some_and(is_ident_start) => {
                self.bump();
                let name = self.simple_var();
                parts.push(Part::Var(name));
                Ok(Some(1))
            }
            '/' if matches!(self.peek(1), Some('/') | Some('*')) => Ok(None),
            '+' if self.peek(1) == Some('=') => Ok(None),
            '$' | '*' | '+' | '/' => {
                self.bump();
                parts.push(Part::Lit(c.to_string()));
                Ok(Some(1))
            }
            '\'' => {
                self.bump();
                let mut s = String::new();
                loop {
                    match self.bump() {
                        None => return Err(self.err(start, "unterminated string")),
                        Some('\'') => break,
                        Some('\\') => {
                            if self.peek(0).is_none() {
                                return Err(self.err(start, "unterminated string"));
                            }
                            if let Some(c) = self.escape() {
                                s.push(c);
                            }
                        }
                        Some(c) => s.push(c),
                    }
                }
                parts.push(Part::Lit(s));
                Ok(Some(1))
            }
            '"' => {
                self.bump();
                let mut raw = 1;
                let mut s = String::new();
                loop {
                    let here = self.pos();
                    match self.peek(0) {
                        None => return Err(self.err(start, "unterminated string")),
                        Some('"') => {
                            self.bump();
                            break;
                        }
                        Some('\\') => {
                            self.bump();
                            if self.peek(0).is_none() {
                                return Err(self.err(start, "unterminated string"));
                            }
                            if let Some(c) = self.escape() {
                                s.push(c);
                            }
                        }
                        Some('$') if self.peek(1) == Some('{') => {
                            self.bump();
                            self.bump();
                            let name = self.braced_var(here, true)?;
                            parts.push(Part::Lit(std::mem::take(&mut s)));
                            parts.push(Part::Var(name));
                            raw += 2;
                        }
                        Some('$') if self.peek(1).is_some_and(is_ident_start) => {
                            self.bump();
                            let name = self.simple_var();
                            parts.push(Part::Lit(std::mem::take(&mut s)));
                            parts.push(Part::Var(name));
                            raw += 2;
                        }
                        Some(c) => {
                            self.bump();
                            s.push(c);
                        }
                    }
                }
                parts.push(Part::Lit(s));
                Ok(Some(raw))
            }
            _ => Ok(None),
        }
    }

    fn next(&mut self) -> Result<(Pos, Tok), ConfError> {
        // Skip whitespace.
        while let Some(c) = self.peek(0) {
            if matches!(c, ' ' | '\t' | '\r' | '\n') {
                self.bump();
            } else {
                break;
            }
        }
        let start = self.pos();
        let c = match self.peek(0) {
            None => return Ok((start, Tok::Eof)),
            Some(c) => c,
        };
        if c == '#' || (c == '/' && self.peek(1) == Some('/')) {
            let mut s = String::new();
            while let Some(c) = self.peek(0) {
                if c == '\n' {
                    break;
                }
                s.push(c);
                self.bump();
            }
            return Ok((start, Tok::Comment(s.trim_end().to_string())));
        }
        if c == '/' && self.peek(1) == Some('*') {
            let mut s = String::from("/*");
            self.bump();
            self.bump();
            loop {
                match self.bump() {
                    None => return Err(self.err(start, "unterminated comment")),
                    Some('*') if self.peek(0) == Some('/') => {
                        self.bump();
                        s.push_str("*/");
                        break;
                    }
                    Some(c) => s.push(c),
                }
            }
            return Ok((start, Tok::Comment(s)));
        }
        if c == '+' && self.peek(1) == Some('=') {
            self.bump();
            self.bump();
            return Ok((start, Tok::PlusEq));
        }
        if matches!(c, ',' | ';' | '=' | '{' | '}') {
            self.bump();
            return Ok((start, Tok::Punct(c)));
        }
        let mut parts = Vec::new();
        let mut raw = 0;
        while let Some(n) = self.piece(&mut parts)? {
            raw += n;
        }
        if raw == 0 {
            return Err(self.err(start, format!("syntax error: unexpected character {c:?}")));
        }
        Ok((start, Tok::Word { parts, raw }))
    }
}

struct Parser<'a> {
    toks: Vec<(Pos, Tok)>,
    i: usize,
    file: &'a str,
    comments: Vec<String>,
}

impl<'a> Parser<'a> {
    /// The next non-comment token; comments are collected for the next statement.
    fn peek(&mut self) -> (Pos, Tok) {
        while let (_, Tok::Comment(c)) = &self.toks[self.i] {
            self.comments.push(c.clone());
            self.i += 1;
        }
        self.toks[self.i].clone()
    }

    fn advance(&mut self) {
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
    }

    fn err(&self, pos: Pos, msg: impl Into<String>) -> ConfError {
        ConfError::at(self.file, pos, msg)
    }

    fn describe(t: &Tok) -> String {
        match t {
            Tok::Word { parts, .. } => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        Part::Lit(l) => s.push_str(l),
                        Part::Var(v) => {
                            s.push_str("${");
                            s.push_str(v);
                            s.push('}');
                        }
                    }
                }
                format!("{s:?}")
            }
            Tok::PlusEq => "\"+=\"".into(),
            Tok::Punct(c) => format!("\"{c}\""),
            Tok::Comment(_) => "comment".into(),
            Tok::Eof => "end of file".into(),
        }
    }

    fn expect_semi(&mut self, what: &str) -> Result<(), ConfError> {
        let (pos, t) = self.peek();
        if t == Tok::Punct(';') {
            self.advance();
            Ok(())
        } else {
            Err(self.err(
                pos,
                format!(
                    "syntax error: expected \";\" after {what}, found {}",
                    Self::describe(&t)
                ),
            ))
        }
    }

    fn value_list(&mut self) -> Result<Vec<Value>, ConfError> {
        let mut values = Vec::new();
        loop {
            let (pos, t) = self.peek();
            match t {
                Tok::Word { parts, .. } => {
                    self.advance();
                    values.push(Value::from_parts(parts));
                }
                other => {
                    return Err(self.err(
                        pos,
                        format!(
                            "syntax error: expected a value, found {}",
                            Self::describe(&other)
                        ),
                    ));
                }
            }
            let (_, t) = self.peek();
            if t == Tok::Punct(',') {
                self.advance();
            } else {
                return Ok(values);
            }
        }
    }

    /// Parses the statement after its first word (already consumed).
    fn param(&mut self, pos: Pos, parts: Vec<Part>, raw: usize) -> Result<Param, ConfError> {
        let comments = std::mem::take(&mut self.comments);
        let (name, is_var) = match (raw, parts.as_slice()) {
            (1, [Part::Lit(n)]) => (n.clone(), false),
            (1, [Part::Var(n)]) => (n.clone(), true),
            _ => {
                return Err(self.err(
                    pos,
                    format!(
                        "invalid parameter name {}: a name is one token, without variables",
                        Self::describe(&Tok::Word { parts, raw })
                    ),
                ));
            }
        };
        if name.is_empty() {
            return Err(self.err(pos, "invalid parameter name: empty"));
        }
        let (_, t) = self.peek();
        let (op, values) = match t {
            Tok::Punct('=') => {
                self.advance();
                (Op::Set, self.value_list()?)
            }
            Tok::PlusEq => {
                self.advance();
                (Op::Append, self.value_list()?)
            }
            Tok::Word { .. } => (Op::Set, self.value_list()?),
            _ => (Op::Bare, Vec::new()),
        };
        self.expect_semi(&format!("parameter \"{name}\""))?;
        Ok(Param {
            comments,
            name,
            is_var,
            op,
            values,
            pos,
        })
    }

    fn file(&mut self) -> Result<ConfFile, ConfError> {
        let mut items = Vec::new();
        loop {
            let (pos, t) = self.peek();
            match t {
                Tok::Eof => break,
                Tok::Punct(';') => self.advance(),
                Tok::Word { parts, raw } => {
                    self.advance();
                    let (_, next) = self.peek();
                    if next == Tok::Punct('{') {
                        self.advance();
                        let mut blocks = Vec::new();
                        self.jail(pos, parts, raw, None, &mut blocks)?;
                        items.extend(blocks.into_iter().map(Item::Jail));
                    } else if parts == [Part::Lit(".include".into())] {
                        items.push(Item::Include(self.include(pos)?));
                    } else {
                        items.push(Item::Param(self.param(pos, parts, raw)?));
                    }
                }
                other => {
                    return Err(self.err(
                        pos,
                        format!("syntax error: unexpected {}", Self::describe(&other)),
                    ));
                }
            }
        }
        Ok(ConfFile {
            items,
            trailing_comments: std::mem::take(&mut self.comments),
        })
    }

    fn include(&mut self, pos: Pos) -> Result<Include, ConfError> {
        let comments = std::mem::take(&mut self.comments);
        let (vpos, t) = self.peek();
        let pattern = match t {
            Tok::Word { parts, .. } => {
                self.advance();
                match Value::from_parts(parts).as_literal() {
                    Some(s) if !s.is_empty() => s,
                    Some(_) => return Err(self.err(vpos, ".include: empty file name")),
                    None => {
                        return Err(self.err(
                            vpos,
                            ".include: the file name must be a literal string, without variables",
                        ));
                    }
                }
            }
            other => {
                return Err(self.err(
                    vpos,
                    format!(
                        ".include: expected a file name, found {}",
                        Self::describe(&other)
                    ),
                ));
            }
        };
        self.expect_semi(".include")?;
        Ok(Include {
            comments,
            pattern,
            pos,
        })
    }

    /// A jail block and, flattened after it, the blocks nested in it. jail(8) (usr.sbin/jail
    /// jailparse.y, FreeBSD 14: `jail : jail_name '{' conf '}'`) names a nested block
    /// `<parent>.<child>` and adds it after its parent; it inherits only the wildcard blocks that
    /// match its name, not its parent's parameters — exactly what a separate `parent.child`
    /// block gets, so blocks are kept flat. (FreeBSD 13's jail(8) has no nested blocks.)
    fn jail(
        &mut self,
        pos: Pos,
        parts: Vec<Part>,
        raw: usize,
        parent: Option<&str>,
        out: &mut Vec<JailBlock>,
    ) -> Result<(), ConfError> {
        let comments = std::mem::take(&mut self.comments);
        let name = match Value::from_parts(parts).as_literal() {
            Some(n) => n,
            None => return Err(self.err(pos, "invalid jail name: variables are not allowed")),
        };
        // jailparse.y `jail_name : STR`: one token. jaillex.l's unquoted strings exclude '*',
        // which lexes alone, so `build.* {` is two tokens (a syntax error); "build.*" is one.
        if raw != 1 {
            return Err(self.err(
                pos,
                format!(
                    "invalid jail name {name}: a jail name is one token (quote it: \"{name}\")"
                ),
            ));
        }
        let name = match parent {
            Some(p) => format!("{p}.{name}"),
            None => name,
        };
        super::validate_conf_jail_name(&name).map_err(|m| self.err(pos, m))?;
        let me = out.len();
        out.push(JailBlock {
            comments,
            name: name.clone(),
            params: Vec::new(),
            trailing_comments: Vec::new(),
            pos,
        });
        let mut params = Vec::new();
        loop {
            let (ppos, t) = self.peek();
            match t {
                Tok::Punct('}') => {
                    self.advance();
                    break;
                }
                Tok::Punct(';') => self.advance(),
                Tok::Word { parts, raw } => {
                    self.advance();
                    let (_, next) = self.peek();
                    if next == Tok::Punct('{') {
                        self.advance();
                        self.jail(ppos, parts, raw, Some(&name), out)?;
                        continue;
                    }
                    if parts == [Part::Lit(".include".into())] {
                        return Err(self.err(ppos, ".include is only allowed outside jail blocks"));
                    }
                    params.push(self.param(ppos, parts, raw)?);
                }
                Tok::Eof => {
                    return Err(self.err(
                        pos,
                        format!("jail \"{name}\": missing \"}}\" before end of file"),
                    ));
                }
                other => {
                    return Err(self.err(
                        ppos,
                        format!("syntax error: unexpected {}", Self::describe(&other)),
                    ));
                }
            }
        }
        out[me].params = params;
        out[me].trailing_comments = std::mem::take(&mut self.comments);
        Ok(())
    }
}

/// Parses one jail.conf(5) text. `file` names it in errors (`file:line:col: message`).
/// `.include` directives are kept as items; [`super::Config::load`] follows them.
///
/// ```
/// use thinjail_core::jailconf::{parse, Item};
/// let f = parse("dev { vnet; path = \"/j/${name}\"; }", "jail.conf").unwrap();
/// assert!(matches!(&f.items[0], Item::Jail(j) if j.params.len() == 2));
/// let e = parse("dev { path = \"/j;\n", "jail.conf").unwrap_err();
/// assert_eq!(e.to_string(), "jail.conf:1:14: unterminated string");
/// ```
pub fn parse(text: &str, file: &str) -> Result<ConfFile, ConfError> {
    let mut lx = Lexer {
        chars: text.chars().collect(),
        i: 0,
        line: 1,
        col: 1,
        file,
    };
    let mut toks = Vec::new();
    loop {
        let (pos, t) = lx.next()?;
        let eof = t == Tok::Eof;
        toks.push((pos, t));
        if eof {
            break;
        }
    }
    let mut p = Parser {
        toks,
        i: 0,
        file,
        comments: Vec::new(),
    };
    p.file()
}
