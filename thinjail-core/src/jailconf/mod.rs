//! jail.conf(5): parser, canonical renderer, `.include` loading and jail(8)'s resolution.
//!
//! The grammar follows FreeBSD's `usr.sbin/jail/jaillex.l` and `jailparse.y`; resolution
//! (wildcard sections, global parameters, `+=`, `no` prefixes, variable substitution) follows
//! `load_config()` and `add_param()` in `usr.sbin/jail/config.c`.
//!
//! ```
//! use thinjail_core::jailconf::{Config, DumpValue};
//! let cfg = Config::from_text(
//!     "path = \"/j/${name}\";\nvnet;\ndev { $id = 7; host.hostname = \"h${id}\"; }\n",
//!     "jail.conf",
//! ).unwrap();
//! let jails = cfg.resolve().unwrap();
//! assert_eq!(jails[0].name, "dev");
//! assert_eq!(jails[0].get("path"), Some(&DumpValue::List(vec!["/j/dev".into()])));
//! assert_eq!(jails[0].get("vnet"), Some(&DumpValue::True));
//! assert_eq!(jails[0].get("id"), None); // variables are not parameters
//! ```

mod ast;
mod parse;
mod render;

pub use ast::{ConfFile, Include, Item, JailBlock, Op, Param, Part, Pos, Value};
pub use parse::parse;
pub use render::{render, render_param, render_value};

use std::path::{Path, PathBuf};

/// A jail.conf error located at `file:line:col` (the format `thinjail conf check` prints).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{}:{}: {message}", .pos.line, .pos.col)]
pub struct ConfError {
    /// The file the error is in.
    pub file: String,
    /// Where in the file.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
}

impl ConfError {
    /// An error at a position.
    pub fn at(file: &str, pos: Pos, message: impl Into<String>) -> Self {
        ConfError {
            file: file.to_string(),
            pos,
            message: message.into(),
        }
    }
}

/// Checks a jail block's name: non-empty, no whitespace or control characters.
pub(crate) fn validate_conf_jail_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("invalid jail name: empty".into());
    }
    if let Some(c) = name.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("invalid jail name {name:?}: contains {c:?}"));
    }
    if name.starts_with('.') || name.ends_with('.') && name != "." || name.contains("..") {
        return Err(format!("invalid jail name {name:?}: empty name component"));
    }
    Ok(())
}

/// A statement of the loaded configuration, with the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    /// The file (as named when loading, or the include's path).
    pub file: String,
    /// A global parameter or a jail block (includes are already expanded).
    pub item: Item,
}

/// A configuration with every `.include` expanded in place, in jail(8)'s reading order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// The statements in order.
    pub stmts: Vec<Stmt>,
}

/// Maximum depth of variables defined through other variables (keeps resolution off deep
/// recursion on hostile input).
const MAX_VAR_DEPTH: usize = 256;

/// Maximum include nesting (a guard beside the loop check).
const MAX_INCLUDE_DEPTH: usize = 32;

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl Config {
    /// Reads `path` and every file it includes. Include patterns are globs; a relative pattern
    /// is taken relative to the including file's directory. A pattern without glob characters
    /// must name an existing file; a glob may match nothing (an empty `jail.conf.d`).
    pub fn load(path: &Path) -> Result<Config, ConfError> {
        let mut cfg = Config::default();
        let mut stack = Vec::new();
        cfg.load_file(path, &mut stack, None)?;
        Ok(cfg)
    }

    /// Parses text that has no `.include` of relative paths to follow (absolute includes are
    /// read from the file system).
    pub fn from_text(text: &str, file: &str) -> Result<Config, ConfError> {
        let mut cfg = Config::default();
        let parsed = parse(text, file)?;
        let mut stack = Vec::new();
        cfg.add_items(parsed, file, Path::new("."), &mut stack)?;
        Ok(cfg)
    }

    fn load_file(
        &mut self,
        path: &Path,
        stack: &mut Vec<PathBuf>,
        from: Option<(&str, Pos)>,
    ) -> Result<(), ConfError> {
        let name = path.display().to_string();
        let loc_err = |msg: String| match from {
            Some((f, p)) => ConfError::at(f, p, msg),
            // A file-level error keeps the FILE:LINE:COL shape scripts parse.
            None => ConfError::at(&name, Pos { line: 1, col: 1 }, msg),
        };
        let read_err = |e: std::io::Error| match from {
            Some(_) => loc_err(format!("{name}: {e}")),
            None => loc_err(format!("cannot read: {e}")),
        };
        let canon = path.canonicalize().map_err(read_err)?;
        if stack.contains(&canon) {
            return Err(loc_err(format!("include loop: {name} includes itself")));
        }
        if stack.len() >= MAX_INCLUDE_DEPTH {
            return Err(loc_err(format!(
                "includes nested deeper than {MAX_INCLUDE_DEPTH}"
            )));
        }
        let bytes = std::fs::read(path).map_err(read_err)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            ConfError::at(
                &name,
                Pos { line: 1, col: 1 },
                format!("not UTF-8 text: {e}"),
            )
        })?;
        let parsed = parse(&text, &name)?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        stack.push(canon);
        let r = self.add_items(parsed, &name, &dir, stack);
        stack.pop();
        r
    }

    fn add_items(
        &mut self,
        parsed: ConfFile,
        file: &str,
        dir: &Path,
        stack: &mut Vec<PathBuf>,
    ) -> Result<(), ConfError> {
        for item in parsed.items {
            match item {
                Item::Include(inc) => {
                    let pat = if Path::new(&inc.pattern).is_absolute() {
                        PathBuf::from(&inc.pattern)
                    } else {
                        dir.join(&inc.pattern)
                    };
                    let pat_s = pat.to_string_lossy().to_string();
                    if has_glob_chars(&inc.pattern) {
                        let paths = glob::glob(&pat_s).map_err(|e| {
                            ConfError::at(file, inc.pos, format!(".include {:?}: {e}", inc.pattern))
                        })?;
                        let mut files = Vec::new();
                        for p in paths {
                            let p = p.map_err(|e| {
                                ConfError::at(
                                    file,
                                    inc.pos,
                                    format!(".include {:?}: {e}", inc.pattern),
                                )
                            })?;
                            files.push(p);
                        }
                        files.sort();
                        for p in files {
                            self.load_file(&p, stack, Some((file, inc.pos)))?;
                        }
                    } else {
                        if !pat.exists() {
                            return Err(ConfError::at(
                                file,
                                inc.pos,
                                format!(".include {:?}: no such file", inc.pattern),
                            ));
                        }
                        self.load_file(&pat, stack, Some((file, inc.pos)))?;
                    }
                }
                other => self.stmts.push(Stmt {
                    file: file.to_string(),
                    item: other,
                }),
            }
        }
        Ok(())
    }

    /// Resolves every non-wildcard jail with jail(8)'s semantics: the implicit `name` (or `jid`
    /// for a numeric name), global and wildcard parameters in file order around the jail's own,
    /// `=` replacing and `+=` appending, `no`-prefixed booleans replacing their positive form,
    /// then `$var`/`${param}` substitution per jail. Variables are dropped from the result.
    pub fn resolve(&self) -> Result<Vec<ResolvedJail>, ConfError> {
        // Sections in order; global parameters join the last section if it is "*", else a new one.
        struct Section<'a> {
            name: String,
            params: Vec<(&'a str, &'a Param)>,
            pos: (&'a str, Pos),
        }
        let mut sections: Vec<Section> = Vec::new();
        for st in &self.stmts {
            match &st.item {
                Item::Param(p) => {
                    if sections.last().is_none_or(|s| s.name != "*") {
                        sections.push(Section {
                            name: "*".into(),
                            params: Vec::new(),
                            pos: (&st.file, p.pos),
                        });
                    }
                    if let Some(s) = sections.last_mut() {
                        s.params.push((&st.file, p));
                    }
                }
                Item::Jail(j) => {
                    if !is_wild(&j.name)
                        && let Some(prev) = sections.iter().find(|s| s.name == j.name)
                    {
                        return Err(ConfError::at(
                            &st.file,
                            j.pos,
                            format!(
                                "jail \"{}\" is defined twice (first at {}:{}:{})",
                                j.name, prev.pos.0, prev.pos.1.line, prev.pos.1.col
                            ),
                        ));
                    }
                    sections.push(Section {
                        name: j.name.clone(),
                        params: j.params.iter().map(|p| (st.file.as_str(), p)).collect(),
                        pos: (&st.file, j.pos),
                    });
                }
                Item::Include(_) => {}
            }
        }
        let mut out = Vec::new();
        for (seq, sec) in sections.iter().enumerate() {
            if is_wild(&sec.name) {
                continue;
            }
            let mut j = JailParams {
                jail: sec.name.clone(),
                params: Vec::new(),
            };
            let numeric = sec.name.parse::<i64>().is_ok_and(|n| n != 0);
            j.params.push(RParam {
                name: if numeric { "jid" } else { "name" }.into(),
                is_var: false,
                immutable: true,
                values: vec![(
                    Value::lit(sec.name.clone()),
                    sec.pos.0.to_string(),
                    sec.pos.1,
                )],
                file: sec.pos.0.to_string(),
                pos: sec.pos.1,
            });
            let mut did_self = false;
            for (wseq, w) in sections.iter().enumerate() {
                if !is_wild(&w.name) {
                    continue;
                }
                if seq < wseq && !did_self {
                    for (f, p) in &sec.params {
                        j.add(f, p)?;
                    }
                    did_self = true;
                }
                if wild_match(&sec.name, &w.name) {
                    for (f, p) in &w.params {
                        j.add(f, p)?;
                    }
                }
            }
            if !did_self {
                for (f, p) in &sec.params {
                    j.add(f, p)?;
                }
            }
            out.push(j.resolve()?);
        }
        Ok(out)
    }
}

/// Whether a section name is a wildcard (contains `*`), as jail(8)'s `wild_jail_name()`.
fn is_wild(name: &str) -> bool {
    name.contains('*')
}

/// jail(8)'s `wild_jail_match()`: a non-final `*` component matches one name component, a final
/// `*` matches one or more.
fn wild_match(jname: &str, wname: &str) -> bool {
    let mut j = jname;
    let mut w = wname;
    while let (Some(jd), Some(wd)) = (j.find('.'), w.find('.')) {
        if j[..=jd] != w[..=wd] && !w.starts_with("*.") {
            return false;
        }
        j = &j[jd + 1..];
        w = &w[wd + 1..];
    }
    j == w || w == "*"
}

/// jail(8)'s `equalopts()`: equal names, or equal up to a `no` prefix on the last component.
fn equalopts(a: &str, b: &str) -> bool {
    let (mut a, mut b) = (a, b);
    loop {
        if a == b || a.strip_prefix("no") == Some(b) || b.strip_prefix("no") == Some(a) {
            return true;
        }
        match a.find('.') {
            Some(i) if b.len() > i && a.as_bytes()[..=i] == b.as_bytes()[..=i] => {
                a = &a[i + 1..];
                b = &b[i + 1..];
            }
            _ => return false,
        }
    }
}

/// Names jail(8) handles itself (config.c `intparams`); a variable may not reuse them.
const INTERNAL_PARAMS: &[&str] = &[
    "allow.dying",
    "command",
    "depend",
    "exec.clean",
    "exec.consolelog",
    "exec.fib",
    "exec.jail_user",
    "exec.poststart",
    "exec.poststop",
    "exec.prepare",
    "exec.prestart",
    "exec.prestop",
    "exec.release",
    "exec.created",
    "exec.start",
    "exec.stop",
    "exec.system_jail_user",
    "exec.system_user",
    "exec.timeout",
    "interface",
    "ip_hostname",
    "mount",
    "mount.devfs",
    "mount.fdescfs",
    "mount.procfs",
    "mount.fstab",
    "stop.timeout",
    "vnet.interface",
    "ip4.addr",
    "ip6.addr",
    "allow.chflags",
    "allow.mount",
    "allow.raw_sockets",
    "allow.set_hostname",
    "allow.socket_af",
    "allow.sysvipc",
    "devfs_ruleset",
    "host.hostname",
    "jid",
    "name",
    "path",
    "persist",
    "securelevel",
    "vnet",
];

struct RParam {
    name: String,
    is_var: bool,
    immutable: bool,
    values: Vec<(Value, String, Pos)>,
    file: String,
    pos: Pos,
}

struct JailParams {
    jail: String,
    params: Vec<RParam>,
}

impl JailParams {
    fn add(&mut self, file: &str, p: &Param) -> Result<(), ConfError> {
        let jail = &self.jail;
        let err = |m: String| ConfError::at(file, p.pos, format!("jail \"{jail}\": {m}"));
        let new_vals: Vec<(Value, String, Pos)> = p
            .values
            .iter()
            .map(|v| (v.clone(), file.to_string(), p.pos))
            .collect();
        if let Some(dp) = self.params.iter_mut().find(|d| equalopts(&d.name, &p.name)) {
            if dp.is_var != p.is_var {
                return Err(err(format!(
                    "variable \"${}\" cannot have the same name as a parameter",
                    p.name
                )));
            }
            if dp.immutable {
                return Err(err(format!("cannot redefine parameter \"{}\"", dp.name)));
            }
            dp.name = p.name.clone();
            if p.op != Op::Append || new_vals.is_empty() {
                dp.values.clear();
            }
            dp.values.extend(new_vals);
            dp.file = file.to_string();
            dp.pos = p.pos;
        } else {
            if p.is_var && INTERNAL_PARAMS.iter().any(|n| equalopts(n, &p.name)) {
                return Err(err(format!(
                    "variable \"${}\" cannot have the same name as a parameter",
                    p.name
                )));
            }
            self.params.push(RParam {
                name: p.name.clone(),
                is_var: p.is_var,
                immutable: false,
                values: new_vals,
                file: file.to_string(),
                pos: p.pos,
            });
        }
        Ok(())
    }

    fn resolve_one(
        &self,
        idx: usize,
        done: &mut Vec<Option<Vec<String>>>,
        stack: &mut Vec<usize>,
    ) -> Result<(), ConfError> {
        if done[idx].is_some() {
            return Ok(());
        }
        let p = &self.params[idx];
        stack.push(idx);
        let mut out = Vec::new();
        for (v, file, pos) in &p.values {
            let err = |m: String| {
                ConfError::at(
                    file,
                    *pos,
                    format!("jail \"{}\": {}: {m}", self.jail, p.name),
                )
            };
            let lookup = |name: &str,
                          done: &mut Vec<Option<Vec<String>>>,
                          stack: &mut Vec<usize>|
             -> Result<Vec<String>, ConfError> {
                let vi = self
                    .params
                    .iter()
                    .position(|q| q.name == name)
                    .filter(|&i| !self.params[i].values.is_empty())
                    .ok_or_else(|| err(format!("variable \"{name}\" not found")))?;
                if stack.contains(&vi) {
                    return Err(err(format!("variable loop through \"{name}\"")));
                }
                if stack.len() >= MAX_VAR_DEPTH {
                    return Err(err(format!(
                        "variables nested deeper than {MAX_VAR_DEPTH} at \"{name}\""
                    )));
                }
                self.resolve_one(vi, done, stack)?;
                Ok(done[vi].clone().unwrap_or_default())
            };
            match v.parts.as_slice() {
                [Part::Var(n)] => out.extend(lookup(n, done, stack)?),
                parts => {
                    let mut s = String::new();
                    for part in parts {
                        match part {
                            Part::Lit(l) => s.push_str(l),
                            Part::Var(n) => {
                                let vals = lookup(n, done, stack)?;
                                if vals.len() > 1 {
                                    return Err(err(format!(
                                        "array \"{n}\" cannot be substituted inline"
                                    )));
                                }
                                s.push_str(vals.first().map(String::as_str).unwrap_or(""));
                            }
                        }
                    }
                    out.push(s);
                }
            }
        }
        stack.pop();
        done[idx] = Some(out);
        Ok(())
    }

    fn resolve(self) -> Result<ResolvedJail, ConfError> {
        let mut done = vec![None; self.params.len()];
        let mut stack = Vec::new();
        for i in 0..self.params.len() {
            self.resolve_one(i, &mut done, &mut stack)?;
        }
        let mut params = Vec::new();
        for (p, vals) in self.params.iter().zip(done) {
            if p.is_var {
                continue;
            }
            let vals = vals.unwrap_or_default();
            let v = if p.values.is_empty() {
                DumpValue::True
            } else {
                DumpValue::List(vals)
            };
            params.push((p.name.clone(), v));
        }
        Ok(ResolvedJail {
            name: self.jail,
            params,
        })
    }
}

/// A resolved parameter value: a bare boolean, or the list of strings jail(8) would use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpValue {
    /// A parameter given without a value (`vnet;`).
    True,
    /// The parameter's values after substitution.
    List(Vec<String>),
}

/// One jail after resolution: parameters in jail(8)'s order, variables removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedJail {
    /// The jail's name.
    pub name: String,
    /// `(parameter, value)` in order.
    pub params: Vec<(String, DumpValue)>,
}

impl ResolvedJail {
    /// The value of a parameter.
    pub fn get(&self, name: &str) -> Option<&DumpValue> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The last value of a parameter (what jail(8) uses for a scalar).
    pub fn scalar(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            DumpValue::List(v) => v.last().map(String::as_str),
            DumpValue::True => None,
        }
    }
}

/// The JSON `thinjail conf dump` prints: `{"jail": {"param": true | ["value", …]}}`.
///
/// ```
/// use thinjail_core::jailconf::{dump_json, Config};
/// let cfg = Config::from_text("dev { vnet; path = /j; }", "-").unwrap();
/// let j = dump_json(&cfg.resolve().unwrap());
/// assert_eq!(j["dev"]["vnet"], serde_json::json!(true));
/// assert_eq!(j["dev"]["path"], serde_json::json!(["/j"]));
/// ```
pub fn dump_json(jails: &[ResolvedJail]) -> serde_json::Value {
    let mut top = serde_json::Map::new();
    for j in jails {
        let mut m = serde_json::Map::new();
        for (n, v) in &j.params {
            let jv = match v {
                DumpValue::True => serde_json::Value::Bool(true),
                DumpValue::List(l) => serde_json::Value::Array(
                    l.iter().cloned().map(serde_json::Value::String).collect(),
                ),
            };
            m.insert(n.clone(), jv);
        }
        top.insert(j.name.clone(), serde_json::Value::Object(m));
    }
    serde_json::Value::Object(top)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matching() {
        assert!(wild_match("dev", "*"));
        assert!(wild_match("foo.bar", "foo.*"));
        assert!(wild_match("foo.bar.baz", "foo.*"));
        assert!(!wild_match("foobar", "foo.*"));
        assert!(!wild_match("dev", "foo.*"));
    }

    #[test]
    fn equalopts_matches_no_prefix() {
        assert!(equalopts("allow.mount", "allow.nomount"));
        assert!(equalopts("allow.nomount", "allow.mount"));
        assert!(equalopts("vnet", "novnet"));
        assert!(!equalopts("allow.mount", "allow.chflags"));
        assert!(!equalopts("path", "paths"));
    }
}
