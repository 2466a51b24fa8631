//! Dataset and snapshot names, validated by the rules of OpenZFS's `zfs_namecheck.c`.

use std::fmt;

/// `ZFS_MAX_DATASET_NAME_LEN` (`<sys/fs/zfs.h>`): names must be shorter than this (NUL included).
pub const MAX_NAME_LEN: usize = 256;

/// Why a name is not a valid ZFS dataset or snapshot name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("name is empty")]
    Empty,
    /// The name is 256 bytes or longer.
    #[error("name is {0} bytes long; the limit is {max}", max = MAX_NAME_LEN - 1)]
    TooLong(usize),
    /// A `/`-separated component is empty (`a//b`, leading or trailing `/`).
    #[error("empty component in name")]
    EmptyComponent,
    /// A component is `.` or `..`.
    #[error("component '{0}' refers to itself or its parent")]
    SelfReference(String),
    /// A character outside `[A-Za-z0-9_.: -]`.
    #[error("invalid character {0:?} in name")]
    InvalidChar(char),
    /// The pool name does not begin with a letter.
    #[error("pool name must begin with a letter")]
    PoolNotLetter,
    /// A dataset name contains `@` or `#`, or a snapshot name has no/several `@`.
    #[error("{0}")]
    WrongKind(&'static str),
}

fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | ' ')
}

fn check_component(c: &str) -> Result<(), NameError> {
    if c.is_empty() {
        return Err(NameError::EmptyComponent);
    }
    if c == "." || c == ".." {
        return Err(NameError::SelfReference(c.to_string()));
    }
    match c.chars().find(|&ch| !valid_char(ch)) {
        Some(ch) => Err(NameError::InvalidChar(ch)),
        None => Ok(()),
    }
}

fn check_length(s: &str) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty);
    }
    if s.len() >= MAX_NAME_LEN {
        return Err(NameError::TooLong(s.len()));
    }
    Ok(())
}

fn check_dataset(s: &str) -> Result<(), NameError> {
    if s.contains('@') || s.contains('#') {
        return Err(NameError::WrongKind(
            "a dataset name has no '@' (snapshot) or '#' (bookmark)",
        ));
    }
    for c in s.split('/') {
        check_component(c)?;
    }
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(NameError::PoolNotLetter);
    }
    Ok(())
}

/// A filesystem or volume name: `pool[/component]*`.
///
/// ```
/// use freebsd_zfs::DatasetName;
/// let d = DatasetName::new("zdata/jails/templates").unwrap();
/// assert_eq!(d.pool(), "zdata");
/// assert_eq!(d.parent().unwrap().as_str(), "zdata/jails");
/// assert_eq!(d.child("base").unwrap().as_str(), "zdata/jails/templates/base");
/// assert!(DatasetName::new("zdata//x").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DatasetName(String);

impl DatasetName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let s = name.into();
        check_length(&s)?;
        check_dataset(&s)?;
        Ok(Self(s))
    }

    /// The full name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The pool (first component).
    pub fn pool(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }

    /// The parent dataset, `None` for a pool's root dataset.
    pub fn parent(&self) -> Option<DatasetName> {
        self.0.rfind('/').map(|i| Self(self.0[..i].to_string()))
    }

    /// The last component.
    pub fn leaf(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// Ancestors from the pool down, excluding `self`.
    pub fn ancestors(&self) -> Vec<DatasetName> {
        let mut out = Vec::new();
        let mut cur = self.parent();
        while let Some(p) = cur {
            cur = p.parent();
            out.push(p);
        }
        out.reverse();
        out
    }

    /// `self/component`, validated.
    pub fn child(&self, component: &str) -> Result<DatasetName, NameError> {
        Self::new(format!("{}/{component}", self.0))
    }

    /// `self@snap`, validated.
    pub fn snapshot(&self, snap: &str) -> Result<SnapshotName, NameError> {
        SnapshotName::new(format!("{}@{snap}", self.0))
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for DatasetName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        Self::new(s)
    }
}

impl AsRef<str> for DatasetName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A snapshot name: `pool/fs@snap`.
///
/// ```
/// use freebsd_zfs::SnapshotName;
/// let s = SnapshotName::new("zdata/jails/templates/base@skeleton").unwrap();
/// assert_eq!(s.dataset().as_str(), "zdata/jails/templates/base");
/// assert_eq!(s.snapshot(), "skeleton");
/// assert_eq!(s.pool(), "zdata");
/// assert!(SnapshotName::new("zdata/x").is_err());
/// assert!(SnapshotName::new("zdata/x@a@b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnapshotName {
    full: String,
    at: usize,
}

impl SnapshotName {
    /// Validates `name` (`dataset@snap`, 255 bytes at most in total).
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let full = name.into();
        check_length(&full)?;
        let mut parts = full.splitn(3, '@');
        let ds = parts.next().unwrap_or("");
        let snap = parts
            .next()
            .ok_or(NameError::WrongKind("a snapshot name needs '@'"))?;
        if parts.next().is_some() {
            return Err(NameError::WrongKind("a snapshot name has exactly one '@'"));
        }
        if ds.is_empty() {
            return Err(NameError::EmptyComponent);
        }
        check_dataset(ds)?;
        if snap.contains('/') {
            return Err(NameError::WrongKind(
                "the snapshot part (after '@') cannot contain '/'",
            ));
        }
        check_component(snap)?;
        let at = ds.len();
        Ok(Self { full, at })
    }

    /// The full name.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The snapshotted dataset.
    pub fn dataset(&self) -> DatasetName {
        DatasetName(self.full[..self.at].to_string())
    }

    /// The part after `@`.
    pub fn snapshot(&self) -> &str {
        &self.full[self.at + 1..]
    }

    /// The pool.
    pub fn pool(&self) -> &str {
        self.full[..self.at].split('/').next().unwrap_or("")
    }
}

impl fmt::Display for SnapshotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl std::str::FromStr for SnapshotName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        Self::new(s)
    }
}

impl AsRef<str> for SnapshotName {
    fn as_ref(&self) -> &str {
        &self.full
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dataset_rules() {
        for ok in ["p", "zdata/jails/media", "a/b c", "a/x_y-z.w:v", "p1/2"] {
            assert!(DatasetName::new(ok).is_ok(), "{ok}");
        }
        let bad: &[(&str, NameError)] = &[
            ("", NameError::Empty),
            ("a//b", NameError::EmptyComponent),
            ("/a", NameError::EmptyComponent),
            ("a/", NameError::EmptyComponent),
            ("a/./b", NameError::SelfReference(".".into())),
            ("a/..", NameError::SelfReference("..".into())),
            ("a/b%c", NameError::InvalidChar('%')),
            ("a/é", NameError::InvalidChar('é')),
            ("1pool/x", NameError::PoolNotLetter),
        ];
        for (s, e) in bad {
            assert_eq!(DatasetName::new(*s).unwrap_err(), *e, "{s}");
        }
        assert!(matches!(
            DatasetName::new("a@b"),
            Err(NameError::WrongKind(_))
        ));
        let long = format!("p/{}", "x".repeat(253));
        assert_eq!(long.len(), 255);
        assert!(DatasetName::new(long.clone()).is_ok());
        assert_eq!(
            DatasetName::new(format!("{long}x")).unwrap_err(),
            NameError::TooLong(256)
        );
    }

    #[test]
    fn snapshot_rules() {
        let s = SnapshotName::new("p/a@s1").unwrap();
        assert_eq!(s.dataset().as_str(), "p/a");
        assert_eq!(s.snapshot(), "s1");
        for bad in [
            "p/a", "p/a@", "@s", "p/a@s/x", "p/a@b@c", "p//a@s", "p/a@s%",
        ] {
            assert!(SnapshotName::new(bad).is_err(), "{bad}");
        }
        let ds = DatasetName::new(format!("p/{}", "x".repeat(250))).unwrap();
        assert!(ds.snapshot("ab").is_ok()); // 252 + "@ab" = 255 bytes
        assert_eq!(ds.snapshot("abc").unwrap_err(), NameError::TooLong(256));
    }

    #[test]
    fn family() {
        let d = DatasetName::new("z/j/t").unwrap();
        let a: Vec<_> = d.ancestors().iter().map(|x| x.to_string()).collect();
        assert_eq!(a, ["z", "z/j"]);
        assert_eq!(d.leaf(), "t");
        assert!(DatasetName::new("z").unwrap().parent().is_none());
        assert!(d.child("a/b").is_ok());
        assert!(d.child("").is_err());
    }

    proptest! {
        #[test]
        fn valid_names_roundtrip(comps in proptest::collection::vec("[a-z][A-Za-z0-9_.: -]{0,12}", 1..6)) {
            let s = comps.join("/");
            let d = DatasetName::new(s.clone());
            if comps.iter().any(|c| c == "." || c == "..") {
                prop_assert!(d.is_err());
            } else {
                let d = d.unwrap();
                prop_assert_eq!(d.as_str(), s.as_str());
                prop_assert_eq!(d.pool(), comps[0].as_str());
                let snap = d.snapshot("s").unwrap();
                prop_assert_eq!(snap.dataset(), d);
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = DatasetName::new(s.clone());
            let _ = SnapshotName::new(s);
        }
    }
}
