//! The release `MANIFEST`: one tab-separated line per distribution file
//! (FreeBSD `release/scripts/make-manifest.sh`):
//!
//! `<file.txz>\t<sha256 hex>\t<tar entry count>\t<distname>\t"<description>"\t<on|off>`

use crate::{Error, Result};
use std::fmt::Write as _;
use std::path::Path;

/// One MANIFEST line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// File name, e.g. `base.txz`.
    pub file: String,
    /// Lower-case sha256 hex of the file (64 characters).
    pub sha256: String,
    /// Number of entries in the tar archive (`tar tvf | wc -l`).
    pub entries: u64,
    /// Distribution name (`base`, `kernel_dbg`, ...).
    pub dist: String,
    /// Description, without the surrounding quotes.
    pub description: String,
    /// Whether bsdinstall selects it by default.
    pub default_on: bool,
}

/// A parsed MANIFEST.
///
/// ```
/// use thinjail_release::manifest::Manifest;
/// let sha = "a".repeat(64);
/// let text = format!("base.txz\t{sha}\t7200\tbase\t\"Base system (MANDATORY)\"\ton\n");
/// let m = Manifest::parse(&text).unwrap();
/// assert_eq!(m.get("base.txz").unwrap().entries, 7200);
/// assert!(Manifest::parse("base.txz only-one-column").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Entries in file order.
    pub entries: Vec<ManifestEntry>,
}

impl Manifest {
    /// Parses MANIFEST text. Empty lines are skipped; anything else must have 6 tab-separated
    /// columns with a 64-hex sha256, a numeric count, a quoted description and `on`/`off`.
    pub fn parse(text: &str) -> Result<Manifest> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let bad = |reason: String| Error::Manifest {
                line: i + 1,
                reason,
            };
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() != 6 {
                return Err(bad(format!(
                    "expected 6 tab-separated columns, found {}",
                    cols.len()
                )));
            }
            let file = cols[0];
            if file.is_empty() || file.contains('/') {
                return Err(bad(format!("bad file name {file:?}")));
            }
            let sha = cols[1].to_ascii_lowercase();
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!("bad sha256 {:?}", cols[1])));
            }
            let count: u64 = cols[2]
                .parse()
                .map_err(|_| bad(format!("bad entry count {:?}", cols[2])))?;
            let desc = cols[4]
                .strip_prefix('"')
                .and_then(|d| d.strip_suffix('"'))
                .ok_or_else(|| bad(format!("description not quoted: {:?}", cols[4])))?;
            let on = match cols[5] {
                "on" => true,
                "off" => false,
                o => return Err(bad(format!("last column must be on/off, found {o:?}"))),
            };
            if entries.iter().any(|e: &ManifestEntry| e.file == file) {
                return Err(bad(format!("duplicate entry for {file}")));
            }
            entries.push(ManifestEntry {
                file: file.to_string(),
                sha256: sha,
                entries: count,
                dist: cols[3].to_string(),
                description: desc.to_string(),
                default_on: on,
            });
        }
        Ok(Manifest { entries })
    }

    /// Reads and parses a MANIFEST file.
    pub fn read(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        Self::parse(&text)
    }

    /// The entry for `file` (e.g. `base.txz`).
    pub fn get(&self, file: &str) -> Option<&ManifestEntry> {
        self.entries.iter().find(|e| e.file == file)
    }

    /// The entry for `file`, or [`Error::NotInManifest`].
    pub fn require(&self, file: &str) -> Result<&ManifestEntry> {
        self.get(file).ok_or_else(|| Error::NotInManifest {
            file: file.to_string(),
        })
    }

    /// Renders the MANIFEST in the release format (inverse of [`Manifest::parse`]).
    pub fn render(&self) -> String {
        let mut s = String::new();
        for e in &self.entries {
            let _ = writeln!(
                s,
                "{}\t{}\t{}\t{}\t\"{}\"\t{}",
                e.file,
                e.sha256,
                e.entries,
                e.dist,
                e.description,
                if e.default_on { "on" } else { "off" }
            );
        }
        s
    }
}

/// Distribution name of a file as `make-manifest.sh` derives it: `base-dbg.txz` -> `base_dbg`.
pub fn dist_name(file: &str) -> String {
    file.strip_suffix(".txz").unwrap_or(file).replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "6f4a0cc4c4e5b6b8b5b1dbf2e0a1c3a0d4b79c0f7a9b8c7d6e5f4a3b2c1d0e9f";

    #[test]
    fn parses_release_lines() {
        let text = format!(
            "base-dbg.txz\t{SHA}\t1000\tbase_dbg\t\"Base system (Debugging)\"\toff\n\
             base.txz\t{}\t7262\tbase\t\"Base system (MANDATORY)\"\ton\n\n",
            SHA.to_uppercase()
        );
        let m = Manifest::parse(&text).unwrap();
        assert_eq!(m.entries.len(), 2);
        let b = m.require("base.txz").unwrap();
        assert_eq!(b.sha256, SHA);
        assert_eq!(b.description, "Base system (MANDATORY)");
        assert!(b.default_on);
        assert!(!m.get("base-dbg.txz").unwrap().default_on);
        assert_eq!(Manifest::parse(&m.render()).unwrap(), m);
        assert!(matches!(
            m.require("ports.txz"),
            Err(Error::NotInManifest { .. })
        ));
        assert_eq!(dist_name("kernel-dbg.txz"), "kernel_dbg");
    }

    #[test]
    fn rejects_malformed() {
        let cases = [
            format!("base.txz {SHA} 1 base \"x\" on"),
            format!("base.txz\t{}\t1\tbase\t\"x\"\ton", &SHA[1..]),
            format!("base.txz\t{SHA}\tmany\tbase\t\"x\"\ton"),
            format!("base.txz\t{SHA}\t1\tbase\tx\ton"),
            format!("base.txz\t{SHA}\t1\tbase\t\"x\"\tyes"),
            format!("../base.txz\t{SHA}\t1\tbase\t\"x\"\ton"),
            format!("base.txz\t{SHA}\t1\tbase\t\"x\"\ton\nbase.txz\t{SHA}\t1\tbase\t\"x\"\ton"),
        ];
        for c in &cases {
            let e = Manifest::parse(c).unwrap_err();
            assert!(matches!(e, Error::Manifest { .. }), "{c}: {e}");
        }
    }
}
