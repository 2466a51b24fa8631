//! fstab(5): the per-jail mount table jail(8) reads through `mount.fstab`.
//!
//! Fields are separated by blanks; a blank or other special character inside a field is written
//! as an octal escape (`\040` for a space, `\011` for a tab), as getfsent(3) decodes them.
//! Comments and blank lines are kept verbatim.
//!
//! ```
//! use thinjail_core::fstab::{Fstab, FstabEntry};
//! let t = Fstab::parse("/a\\040b /j/x nullfs ro 0 0\n# note\n", "fstab").unwrap();
//! let e = t.entries().next().unwrap();
//! assert_eq!(e.spec, "/a b");
//! assert_eq!(t.render(), "/a\\040b /j/x nullfs ro 0 0\n# note\n");
//! ```

use std::fmt::Write as _;

/// An fstab(5) syntax error, located by file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:1: {message}")]
pub struct FstabError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// One mount line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FstabEntry {
    /// Field 1, `fs_spec`: the device or, for nullfs, the source directory.
    pub spec: String,
    /// Field 2, `fs_file`: the mount point.
    pub file: String,
    /// Field 3, `fs_vfstype` (`nullfs`, `devfs`, `tmpfs`, …).
    pub vfstype: String,
    /// Field 4, `fs_mntops`: comma-separated options (`ro`, `rw`, …).
    pub mntops: String,
    /// Field 5, `fs_freq` (dump frequency), 0 when absent.
    pub freq: u32,
    /// Field 6, `fs_passno` (fsck pass), 0 when absent.
    pub passno: u32,
}

impl FstabEntry {
    /// A nullfs line mounting `source` on `target`, read-only or read-write.
    pub fn nullfs(source: &str, target: &str, read_only: bool) -> Self {
        FstabEntry {
            spec: source.to_string(),
            file: target.to_string(),
            vfstype: "nullfs".into(),
            mntops: if read_only { "ro" } else { "rw" }.into(),
            freq: 0,
            passno: 0,
        }
    }
}

/// A line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FstabLine {
    /// A mount entry.
    Entry(FstabEntry),
    /// A comment or blank line, kept as written.
    Other(String),
}

/// An fstab(5) file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fstab {
    /// The lines in order.
    pub lines: Vec<FstabLine>,
}

/// Escapes one field: blanks, `#`, backslash and control characters as `\ooo`.
pub fn escape_field(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c == ' ' || c == '\t' || c == '#' || c == '\\' || c.is_control() && (c as u32) < 0x80 {
            let _ = write!(out, "\\{:03o}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Decodes `\ooo` octal escapes (and `\\`) in one field.
pub fn unescape_field(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\'
            && i + 3 < chars.len()
            && chars[i + 1..i + 4].iter().all(|c| ('0'..='7').contains(c))
        {
            let v = chars[i + 1..i + 4]
                .iter()
                .fold(0u32, |a, c| a * 8 + (*c as u32 - '0' as u32));
            out.push(char::from((v & 0xff) as u8));
            i += 4;
        } else if chars[i] == '\\' && chars.get(i + 1) == Some(&'\\') {
            out.push('\\');
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

impl Fstab {
    /// Parses the text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Fstab, FstabError> {
        let mut lines = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            // getfsent(3) separates fields with ASCII blanks only.
            let t = raw.trim_matches([' ', '\t']);
            if t.is_empty() || t.starts_with('#') {
                lines.push(FstabLine::Other(raw.to_string()));
                continue;
            }
            let body = t.split('#').next().unwrap_or("");
            let f: Vec<&str> = body.split([' ', '\t']).filter(|s| !s.is_empty()).collect();
            let err = |m: String| FstabError {
                file: file.to_string(),
                line: n + 1,
                message: m,
            };
            if f.len() < 4 {
                return Err(err(format!(
                    "expected at least 4 fields (spec, file, vfstype, mntops), found {}",
                    f.len()
                )));
            }
            if f.len() > 6 {
                return Err(err(format!("expected at most 6 fields, found {}", f.len())));
            }
            let num = |i: usize, what: &str| -> Result<u32, FstabError> {
                match f.get(i) {
                    None => Ok(0),
                    Some(s) => s
                        .parse()
                        .map_err(|_| err(format!("{what} must be a number, found {s:?}"))),
                }
            };
            lines.push(FstabLine::Entry(FstabEntry {
                spec: unescape_field(f[0]),
                file: unescape_field(f[1]),
                vfstype: unescape_field(f[2]),
                mntops: unescape_field(f[3]),
                freq: num(4, "fs_freq")?,
                passno: num(5, "fs_passno")?,
            }));
        }
        Ok(Fstab { lines })
    }

    /// The mount entries in order.
    pub fn entries(&self) -> impl Iterator<Item = &FstabEntry> {
        self.lines.iter().filter_map(|l| match l {
            FstabLine::Entry(e) => Some(e),
            FstabLine::Other(_) => None,
        })
    }

    /// Renders the file; entries as `spec file vfstype mntops freq passno`, escaped.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            match l {
                FstabLine::Other(s) => out.push_str(s),
                FstabLine::Entry(e) => {
                    let _ = write!(
                        out,
                        "{} {} {} {} {} {}",
                        escape_field(&e.spec),
                        escape_field(&e.file),
                        escape_field(&e.vfstype),
                        escape_field(&e.mntops),
                        e.freq,
                        e.passno
                    );
                }
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipe_fstab_parses() {
        let t = "/zdata/jails/templates/14.2-RELEASE-base  /zdata/jails/dev-nullfs-base/          nullfs  ro  0 0\n\
                 /zdata/jails/containers/dev               /zdata/jails/dev-nullfs-base/skeleton  nullfs  rw  0 0\n";
        let f = Fstab::parse(t, "dev.fstab").unwrap();
        let e: Vec<_> = f.entries().collect();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].spec, "/zdata/jails/templates/14.2-RELEASE-base");
        assert_eq!(e[0].mntops, "ro");
        assert_eq!(e[1].file, "/zdata/jails/dev-nullfs-base/skeleton");
        assert_eq!(e[1].mntops, "rw");
    }

    #[test]
    fn escapes_round_trip() {
        let e = FstabEntry::nullfs("/a b\tc#\\d", "/x y", true);
        let f = Fstab {
            lines: vec![FstabLine::Entry(e.clone())],
        };
        let text = f.render();
        assert_eq!(text, "/a\\040b\\011c\\043\\134d /x\\040y nullfs ro 0 0\n");
        assert_eq!(Fstab::parse(&text, "t").unwrap(), f);
    }

    #[test]
    fn short_line_is_located() {
        let e = Fstab::parse("# c\n/a /b nullfs\n", "f").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            e.to_string()
                .starts_with("f:2:1: expected at least 4 fields")
        );
        assert!(Fstab::parse("/a /b nullfs ro x\n", "f").is_err());
    }
}
