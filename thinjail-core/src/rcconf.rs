//! rc.conf(5) editing with sysrc(8) semantics.
//!
//! rc.conf is a sh(1) fragment: the last assignment of a name wins. [`RcConf`] keeps every line
//! (comments, blank lines, unrelated assignments) as written and edits only the assignment lines
//! it has to, so `sysrc`-style changes leave the rest of the file byte for byte.
//!
//! ```
//! use thinjail_core::rcconf::RcConf;
//! let mut rc = RcConf::parse("# host\nhostname=\"h\"\njail_list=\"web\"\n");
//! rc.set("jail_enable", "YES").unwrap();
//! rc.append_to_list("jail_list", "dev").unwrap();
//! rc.append_to_list("jail_list", "dev").unwrap(); // no duplicate
//! assert_eq!(rc.get("jail_list").as_deref(), Some("web dev"));
//! assert_eq!(rc.render(), "# host\nhostname=\"h\"\njail_list=\"web dev\"\njail_enable=\"YES\"\n");
//! ```

use std::io::Write as _;
use std::path::Path;

/// An rc.conf error.
#[derive(Debug, thiserror::Error)]
pub enum RcConfError {
    /// The variable name is not a valid sh(1) name.
    #[error(
        "rc.conf: invalid variable name {0:?} (letters, digits and _; not starting with a digit)"
    )]
    InvalidName(String),
    /// The value contains a character rc.conf cannot hold safely (a newline or NUL).
    #[error("rc.conf: value of {name} contains a newline or NUL")]
    InvalidValue {
        /// The variable.
        name: String,
    },
    /// Reading or writing the file failed.
    #[error("rc.conf: {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error (carries errno).
        #[source]
        source: std::io::Error,
    },
}

/// An rc.conf(5) file held as lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RcConf {
    lines: Vec<String>,
}

fn valid_name(n: &str) -> bool {
    n.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits an assignment line into (name, value) with sh quoting removed; None for other lines.
fn parse_assignment(line: &str) -> Option<(String, String)> {
    parse_assignment_span(line).map(|(n, v, _)| (n, v))
}

/// Like [`parse_assignment`], also returning the byte range of `name=value` in the line, so an
/// edit keeps whatever follows (a comment, another assignment).
fn parse_assignment_span(line: &str) -> Option<(String, String, std::ops::Range<usize>)> {
    let start = line.len() - line.trim_start().len();
    let t = &line[start..];
    let eq = t.find('=')?;
    let name = &t[..eq];
    if !valid_name(name) {
        return None;
    }
    let rest = &t[eq + 1..];
    let mut val = String::new();
    let mut chars = rest.char_indices().peekable();
    let mut end = rest.len();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(&(_, n)) = chars.peek()
                                && "\"\\$`".contains(n)
                            {
                                val.push(n);
                                chars.next();
                            } else {
                                val.push('\\');
                            }
                        }
                        c => val.push(c),
                    }
                }
            }
            '\'' => {
                for (_, c) in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    val.push(c);
                }
            }
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    val.push(n);
                }
            }
            ' ' | '\t' | ';' | '#' => {
                end = i;
                break;
            }
            c => val.push(c),
        }
    }
    Some((name.to_string(), val, start..start + eq + 1 + end))
}

fn quote(v: &str) -> String {
    let mut s = String::from("\"");
    for c in v.chars() {
        if "\"\\$`".contains(c) {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

impl RcConf {
    /// Holds the text's lines.
    pub fn parse(text: &str) -> RcConf {
        RcConf {
            lines: text.lines().map(String::from).collect(),
        }
    }

    /// Reads a file; a missing file is an empty rc.conf (as sysrc(8) treats it).
    pub fn read(path: &Path) -> Result<RcConf, RcConfError> {
        match std::fs::read_to_string(path) {
            Ok(t) => Ok(RcConf::parse(&t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RcConf::default()),
            Err(e) => Err(RcConfError::Io {
                path: path.display().to_string(),
                source: e,
            }),
        }
    }

    fn last_index(&self, name: &str) -> Option<usize> {
        self.lines
            .iter()
            .rposition(|l| parse_assignment(l).is_some_and(|(n, _)| n == name))
    }

    /// Every variable with its value (the last assignment of each), sorted by name.
    pub fn assignments(&self) -> std::collections::BTreeMap<String, String> {
        self.lines
            .iter()
            .filter_map(|l| parse_assignment(l))
            .collect()
    }

    /// The value of `name` (the last assignment), like `sysrc -n name`.
    pub fn get(&self, name: &str) -> Option<String> {
        self.last_index(name)
            .and_then(|i| parse_assignment(&self.lines[i]))
            .map(|(_, v)| v)
    }

    /// Sets `name="value"`, like `sysrc name=value`: the last assignment line is rewritten in
    /// place, or a new line is appended. Returns the previous value.
    pub fn set(&mut self, name: &str, value: &str) -> Result<Option<String>, RcConfError> {
        if !valid_name(name) {
            return Err(RcConfError::InvalidName(name.to_string()));
        }
        if value.contains(['\n', '\0']) {
            return Err(RcConfError::InvalidValue {
                name: name.to_string(),
            });
        }
        let assign = format!("{name}={}", quote(value));
        let prev = self.get(name);
        match self.last_index(name) {
            Some(i) => {
                let old = &self.lines[i];
                if let Some((_, _, span)) = parse_assignment_span(old) {
                    self.lines[i] = format!("{}{assign}{}", &old[..span.start], &old[span.end..]);
                }
            }
            None => self.lines.push(assign),
        }
        Ok(prev)
    }

    /// Removes every assignment of `name`, like `sysrc -x name`. Returns the previous value.
    pub fn unset(&mut self, name: &str) -> Option<String> {
        let prev = self.get(name);
        self.lines
            .retain(|l| parse_assignment(l).is_none_or(|(n, _)| n != name));
        prev
    }

    /// Adds `item` to the space-separated list `name`, like `sysrc name+=item`, unless it is
    /// already there. Returns whether the file changed.
    pub fn append_to_list(&mut self, name: &str, item: &str) -> Result<bool, RcConfError> {
        let cur = self.get(name).unwrap_or_default();
        if cur.split_whitespace().any(|w| w == item) {
            return Ok(false);
        }
        let new = if cur.trim().is_empty() {
            item.to_string()
        } else {
            format!("{} {item}", cur.trim())
        };
        self.set(name, &new)?;
        Ok(true)
    }

    /// Removes `item` from the list `name`, like `sysrc name-=item`. Returns whether it was there.
    pub fn remove_from_list(&mut self, name: &str, item: &str) -> Result<bool, RcConfError> {
        let Some(cur) = self.get(name) else {
            return Ok(false);
        };
        let words: Vec<&str> = cur.split_whitespace().collect();
        if !words.contains(&item) {
            return Ok(false);
        }
        let new: Vec<&str> = words.into_iter().filter(|w| *w != item).collect();
        self.set(name, &new.join(" "))?;
        Ok(true)
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut s = self.lines.join("\n");
        if !self.lines.is_empty() {
            s.push('\n');
        }
        s
    }

    /// Writes the file atomically: a temporary file in the same directory, fsync, rename
    /// (rename(2) replaces the old file in one step), keeping the old file's permissions.
    pub fn write_atomic(&self, path: &Path) -> Result<(), RcConfError> {
        let io = |e: std::io::Error| RcConfError::Io {
            path: path.display().to_string(),
            source: e,
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        tmp.write_all(self.render().as_bytes()).map_err(io)?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(io)?;
        }
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_comments_and_unrelated_lines() {
        let text =
            "# /etc/rc.conf\n\nsshd_enable=\"YES\" # ssh\nifconfig_igc0='DHCP'\njail_enable=NO\n";
        let mut rc = RcConf::parse(text);
        assert_eq!(rc.get("ifconfig_igc0").as_deref(), Some("DHCP"));
        assert_eq!(rc.get("sshd_enable").as_deref(), Some("YES"));
        assert_eq!(rc.set("jail_enable", "YES").unwrap().as_deref(), Some("NO"));
        assert_eq!(
            rc.render(),
            "# /etc/rc.conf\n\nsshd_enable=\"YES\" # ssh\nifconfig_igc0='DHCP'\njail_enable=\"YES\"\n"
        );
    }

    #[test]
    fn edits_keep_the_rest_of_the_line() {
        let mut rc = RcConf::parse("  sshd_enable=NO # remote\na=1 b=2\n");
        rc.set("sshd_enable", "YES").unwrap();
        rc.set("a", "x y").unwrap();
        assert_eq!(
            rc.render(),
            "  sshd_enable=\"YES\" # remote\na=\"x y\" b=2\n"
        );
        assert_eq!(rc.get("a").as_deref(), Some("x y"));
    }

    #[test]
    fn last_assignment_wins_and_is_edited() {
        let mut rc = RcConf::parse("a=1\na=2\n");
        assert_eq!(rc.get("a").as_deref(), Some("2"));
        rc.set("a", "3").unwrap();
        assert_eq!(rc.render(), "a=1\na=\"3\"\n");
        assert_eq!(rc.unset("a").as_deref(), Some("3"));
        assert_eq!(rc.render(), "");
    }

    #[test]
    fn lists_without_duplicates() {
        let mut rc = RcConf::default();
        assert!(rc.append_to_list("jail_list", "dev").unwrap());
        assert!(rc.append_to_list("jail_list", "web").unwrap());
        assert!(!rc.append_to_list("jail_list", "dev").unwrap());
        assert_eq!(rc.get("jail_list").as_deref(), Some("dev web"));
        assert!(rc.remove_from_list("jail_list", "dev").unwrap());
        assert!(!rc.remove_from_list("jail_list", "dev").unwrap());
        assert_eq!(rc.get("jail_list").as_deref(), Some("web"));
    }

    #[test]
    fn quoting_round_trips() {
        let mut rc = RcConf::default();
        rc.set("x", "a \"b\" $c `d` \\e").unwrap();
        assert_eq!(rc.get("x").as_deref(), Some("a \"b\" $c `d` \\e"));
        assert!(rc.set("bad-name", "1").is_err());
        assert!(rc.set("x", "a\nb").is_err());
    }

    #[test]
    fn atomic_write_replaces_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("rc.conf");
        std::fs::write(&p, "# keep\n").unwrap();
        let mut rc = RcConf::read(&p).unwrap();
        rc.set("jail_enable", "YES").unwrap();
        rc.write_atomic(&p).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "# keep\njail_enable=\"YES\"\n"
        );
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temp file left"
        );
        assert_eq!(
            RcConf::read(&d.path().join("missing")).unwrap(),
            RcConf::default()
        );
    }
}
