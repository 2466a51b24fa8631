//! The syntax tree of one jail.conf(5) file.

/// A position in a file: 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
}

/// One piece of a string value: literal text or a variable reference (`$x`, `${x}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text (escapes already decoded).
    Lit(String),
    /// A reference to a parameter or variable, substituted per jail when resolving.
    Var(String),
}

/// A string value, made of literal pieces and variable references.
///
/// Values are kept normalized: adjacent literals merged, empty literals dropped (so the
/// empty string is a value with no parts).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Value {
    /// The pieces in order.
    pub parts: Vec<Part>,
}

impl Value {
    /// A literal value with no variable references.
    ///
    /// ```
    /// use thinjail_core::jailconf::{Part, Value};
    /// assert_eq!(Value::lit("5").parts, vec![Part::Lit("5".into())]);
    /// assert!(Value::lit("").parts.is_empty());
    /// ```
    pub fn lit(s: impl Into<String>) -> Self {
        Value::from_parts(vec![Part::Lit(s.into())])
    }

    /// A value from pieces, normalized (adjacent literals merged, empty literals dropped).
    pub fn from_parts(parts: Vec<Part>) -> Self {
        let mut out: Vec<Part> = Vec::with_capacity(parts.len());
        for p in parts {
            match p {
                Part::Lit(s) if s.is_empty() => {}
                Part::Lit(s) => {
                    if let Some(Part::Lit(prev)) = out.last_mut() {
                        prev.push_str(&s);
                    } else {
                        out.push(Part::Lit(s));
                    }
                }
                v @ Part::Var(_) => out.push(v),
            }
        }
        Value { parts: out }
    }

    /// The value as plain text when it has no variable references.
    pub fn as_literal(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => s.push_str(l),
                Part::Var(_) => return None,
            }
        }
        Some(s)
    }
}

/// How a parameter statement assigns its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A bare name (`vnet;`, `allow.nomount;`): a boolean set to true.
    Bare,
    /// `name = value, …;` (also the `=`-less `name value;` form jail(8) accepts).
    Set,
    /// `name += value, …;`: appended to the existing list.
    Append,
}

/// A parameter (`path = "/x";`) or variable (`$ip = "192.168.7.1";`) statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Comments found before the statement (with their `#`, `//` or `/* */` markers).
    pub comments: Vec<String>,
    /// The name, without the `$` of a variable.
    pub name: String,
    /// True for a variable (`$name = …`): used for substitution only, never passed to the kernel.
    pub is_var: bool,
    /// The assignment operator.
    pub op: Op,
    /// The comma-separated values (empty for [`Op::Bare`]).
    pub values: Vec<Value>,
    /// Where the statement starts.
    pub pos: Pos,
}

impl Param {
    /// A `name = value;` statement with literal values.
    ///
    /// ```
    /// use thinjail_core::jailconf::Param;
    /// let p = Param::set("devfs_ruleset", ["5"]);
    /// assert_eq!(p.values.len(), 1);
    /// ```
    pub fn set<I, S>(name: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Param::with(
            name,
            false,
            Op::Set,
            values.into_iter().map(Value::lit).collect(),
        )
    }

    /// A statement with explicit kind, operator and values.
    pub fn with(name: &str, is_var: bool, op: Op, values: Vec<Value>) -> Self {
        Param {
            comments: Vec::new(),
            name: name.to_string(),
            is_var,
            op,
            values,
            pos: Pos::default(),
        }
    }

    /// A bare boolean statement (`vnet;`).
    pub fn bare(name: &str) -> Self {
        Param::with(name, false, Op::Bare, Vec::new())
    }
}

/// A jail definition: `name { params }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JailBlock {
    /// Comments found before the block.
    pub comments: Vec<String>,
    /// The jail name (`*` or `foo.*` for a wildcard section).
    pub name: String,
    /// The statements inside the block.
    pub params: Vec<Param>,
    /// Comments after the last statement, before `}`.
    pub trailing_comments: Vec<String>,
    /// Where the block starts.
    pub pos: Pos,
}

/// An `.include "pattern";` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// Comments found before the directive.
    pub comments: Vec<String>,
    /// The file name or glob, relative to the including file's directory unless absolute.
    pub pattern: String,
    /// Where the directive starts.
    pub pos: Pos,
}

/// A top-level statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A global parameter or variable (belongs to the implicit `*` section).
    Param(Param),
    /// A jail definition.
    Jail(JailBlock),
    /// An `.include` directive.
    Include(Include),
}

/// One parsed jail.conf(5) file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfFile {
    /// The statements in order.
    pub items: Vec<Item>,
    /// Comments after the last statement.
    pub trailing_comments: Vec<String>,
}

impl ConfFile {
    /// A copy with every position reset, for comparing trees that came from different text.
    pub fn without_positions(&self) -> ConfFile {
        let mut c = self.clone();
        for it in &mut c.items {
            match it {
                Item::Param(p) => p.pos = Pos::default(),
                Item::Include(i) => i.pos = Pos::default(),
                Item::Jail(j) => {
                    j.pos = Pos::default();
                    for p in &mut j.params {
                        p.pos = Pos::default();
                    }
                }
            }
        }
        c
    }

    /// The jail block with this name, if the file defines one.
    pub fn jail(&self, name: &str) -> Option<&JailBlock> {
        self.items.iter().find_map(|it| match it {
            Item::Jail(j) if j.name == name => Some(j),
            _ => None,
        })
    }
}
