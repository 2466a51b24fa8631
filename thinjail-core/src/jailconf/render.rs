//! Canonical rendering of a jail.conf(5) syntax tree.

use super::ast::{ConfFile, Item, Op, Param, Part, Value};
use std::fmt::Write as _;

/// True when `s` can be written without quotes and reads back as the same single token.
fn bare_safe(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-:@%^~".contains(c))
}

fn escape_char(out: &mut String, c: char, special: &str) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x20 || c == '\x7f' => {
            let _ = write!(out, "\\{:03o}", c as u32);
        }
        c if c == '\\' || special.contains(c) => {
            out.push('\\');
            out.push(c);
        }
        c => out.push(c),
    }
}

fn escape_var_name(out: &mut String, name: &str) {
    for c in name.chars() {
        if (c as u32) < 0x20 || c == '\x7f' {
            let _ = write!(out, "\\{:03o}", c as u32);
        } else if "\\\"{}".contains(c) {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
}

fn quoted_lit(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        escape_char(&mut out, c, "\"$");
    }
    out.push('"');
    out
}

/// Renders a string value: bare when safe, otherwise double-quoted with escapes and `${var}`s.
///
/// ```
/// use thinjail_core::jailconf::{render_value, Part, Value};
/// assert_eq!(render_value(&Value::lit("5")), "5");
/// let v = Value::from_parts(vec![Part::Lit("/j/".into()), Part::Var("name".into())]);
/// assert_eq!(render_value(&v), "\"/j/${name}\"");
/// ```
pub fn render_value(v: &Value) -> String {
    match v.parts.as_slice() {
        [Part::Lit(s)] if bare_safe(s) => s.clone(),
        parts => {
            let mut out = String::from("\"");
            for p in parts {
                match p {
                    Part::Lit(s) => {
                        for c in s.chars() {
                            escape_char(&mut out, c, "\"$");
                        }
                    }
                    Part::Var(n) => {
                        out.push_str("${");
                        escape_var_name(&mut out, n);
                        out.push('}');
                    }
                }
            }
            out.push('"');
            out
        }
    }
}

fn render_name(p: &Param) -> String {
    if p.is_var {
        let ident = p
            .name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ident {
            format!("${}", p.name)
        } else {
            let mut s = String::from("${");
            escape_var_name(&mut s, &p.name);
            s.push('}');
            s
        }
    } else if bare_safe(&p.name) && p.name != ".include" {
        p.name.clone()
    } else {
        quoted_lit(&p.name)
    }
}

/// Renders one statement (without indentation or newline), e.g. `exec.start += "/bin/sh /etc/rc";`.
pub fn render_param(p: &Param) -> String {
    let name = render_name(p);
    let values = p
        .values
        .iter()
        .map(render_value)
        .collect::<Vec<_>>()
        .join(", ");
    match (p.op, p.values.is_empty()) {
        (Op::Bare, _) | (_, true) => format!("{name};"),
        (Op::Set, false) => format!("{name} = {values};"),
        (Op::Append, false) => format!("{name} += {values};"),
    }
}

fn render_jail_name(n: &str) -> String {
    // Bare only as one jaillex.l token: an unquoted string of these characters, or `*` alone
    // ('*' is a token of its own, so `a.*` bare would be two).
    if n == "*"
        || (n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-:@%^~".contains(c))
            && !n.is_empty())
    {
        n.to_string()
    } else {
        quoted_lit(n)
    }
}

fn comments(out: &mut String, cs: &[String], indent: &str) {
    for c in cs {
        out.push_str(indent);
        out.push_str(c);
        out.push('\n');
    }
}

/// Renders a file canonically: one statement per line, two-space indentation in blocks, a blank
/// line around each jail block, comments kept on their own lines before the statement they
/// preceded. Rendering the parse of the output gives the same text.
///
/// ```
/// use thinjail_core::jailconf::{parse, render};
/// let f = parse("dev{vnet;path=\"/j/$name\";}", "-").unwrap();
/// assert_eq!(render(&f), "dev {\n  vnet;\n  path = \"/j/${name}\";\n}\n");
/// ```
pub fn render(f: &ConfFile) -> String {
    let mut out = String::new();
    let mut prev_block = false;
    for (i, it) in f.items.iter().enumerate() {
        match it {
            Item::Param(p) => {
                if prev_block {
                    out.push('\n');
                }
                comments(&mut out, &p.comments, "");
                out.push_str(&render_param(p));
                out.push('\n');
                prev_block = false;
            }
            Item::Include(inc) => {
                if prev_block {
                    out.push('\n');
                }
                comments(&mut out, &inc.comments, "");
                out.push_str(".include ");
                out.push_str(&quoted_lit(&inc.pattern));
                out.push_str(";\n");
                prev_block = false;
            }
            Item::Jail(j) => {
                if i > 0 {
                    out.push('\n');
                }
                comments(&mut out, &j.comments, "");
                out.push_str(&render_jail_name(&j.name));
                out.push_str(" {\n");
                for p in &j.params {
                    comments(&mut out, &p.comments, "  ");
                    out.push_str("  ");
                    out.push_str(&render_param(p));
                    out.push('\n');
                }
                comments(&mut out, &j.trailing_comments, "  ");
                out.push_str("}\n");
                prev_block = true;
            }
        }
    }
    if !f.trailing_comments.is_empty() && !f.items.is_empty() {
        out.push('\n');
    }
    comments(&mut out, &f.trailing_comments, "");
    out
}
