//! Validated names and values: what the kernel accepts, checked before any system call.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `MAXHOSTNAMELEN` (`<sys/param.h>`): jail names and host names are stored in buffers this size,
/// so they can be at most 255 bytes long.
pub const MAXHOSTNAMELEN: usize = 256;
/// `MAXPATHLEN` (`<sys/param.h>`): the jail path buffer, NUL included.
pub const MAXPATHLEN: usize = 1024;
/// `OSRELEASELEN` (`<sys/jail.h>`): the `osrelease` buffer, NUL included.
pub const OSRELEASELEN: usize = 32;
/// `JAIL_MAX` (`<sys/jail.h>`): the kernel allocates jids below this value.
pub const JAIL_MAX: i32 = 999_999;

/// A jail name the kernel accepts.
///
/// Rules (from `kern_jail.c`):
/// - 1 to 255 bytes (`MAXHOSTNAMELEN` - 1), no NUL byte;
/// - dots separate hierarchy levels: `"web.db"` names jail `db` inside jail `web` (which must
///   exist); so no empty component (no leading, trailing or doubled dot);
/// - if the last component is all digits, a create without an explicit `jid` uses that number as
///   the jid ([`JailName::implied_jid`]); the kernel only accepts a numeric name that equals the
///   jid in normal form ("name cannot be numeric (unless it is the jid)"), so it must be
///   1..=2147483647 without leading zero, and a builder given a different `jid` rejects it.
///
/// ```
/// use freebsd_jail::JailName;
/// assert!(JailName::new("www").is_ok());
/// assert_eq!(JailName::new("253").unwrap().implied_jid(), Some(253));
/// assert_eq!(JailName::new("web.db").unwrap().parent(), Some("web"));
/// assert!(JailName::new("").is_err());
/// assert!(JailName::new("a..b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JailName(String);

impl JailName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<JailName> {
        let name = name.into();
        let bad = |r: &str| Err(Error::invalid("name", format!("{name:?}: {r}")));
        if name.is_empty() {
            return bad("must not be empty");
        }
        if name.len() >= MAXHOSTNAMELEN {
            return bad("longer than 255 bytes");
        }
        if name.contains('\0') {
            return bad("contains a NUL byte");
        }
        if name.split('.').any(str::is_empty) {
            return bad("empty component (leading, trailing or doubled '.')");
        }
        let last = name.rsplit('.').next().unwrap_or(&name);
        if last.bytes().all(|b| b.is_ascii_digit()) {
            match last.parse::<i32>() {
                Ok(n) if n > 0 && !last.starts_with('0') => {}
                _ => {
                    return bad(
                        "an all-digit name must be the jid in normal form (1..=2147483647, \
                         no leading zero)",
                    );
                }
            }
        }
        Ok(JailName(name))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The jid a create uses when no `jid` is given: the last component, if it is all digits.
    pub fn implied_jid(&self) -> Option<i32> {
        let last = self.0.rsplit('.').next()?;
        if last.bytes().all(|b| b.is_ascii_digit()) {
            last.parse().ok()
        } else {
            None
        }
    }

    /// The parent jail's name for a hierarchical name (`"a.b"` → `"a"`).
    pub fn parent(&self) -> Option<&str> {
        self.0.rsplit_once('.').map(|(p, _)| p)
    }
}

impl fmt::Display for JailName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for JailName {
    type Err = Error;
    fn from_str(s: &str) -> Result<JailName> {
        JailName::new(s)
    }
}

/// A host or domain name for `host.hostname` / `host.domainname`.
///
/// The kernel only limits the length (255 bytes); this type also enforces RFC 1123 syntax
/// (dot-separated labels of 1-63 letters, digits and `-`, not starting or ending with `-`), so
/// that the jail's resolver and `hostname(1)` inside it work.
///
/// ```
/// use freebsd_jail::Hostname;
/// assert!(Hostname::new("j253.example").is_ok());
/// assert!(Hostname::new("-bad").is_err());
/// assert!(Hostname::new("under_score").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hostname(String);

impl Hostname {
    /// Validates `name` as a host name.
    pub fn new(name: impl Into<String>) -> Result<Hostname> {
        Self::check("host.hostname", name.into())
    }

    /// Validates `name` for `host.domainname` (same rules).
    pub fn domain(name: impl Into<String>) -> Result<Hostname> {
        Self::check("host.domainname", name.into())
    }

    fn check(param: &str, name: String) -> Result<Hostname> {
        let bad = |r: &str| Err(Error::invalid(param, format!("{name:?}: {r}")));
        if name.is_empty() {
            return bad("must not be empty");
        }
        if name.len() >= MAXHOSTNAMELEN {
            return bad("longer than 255 bytes");
        }
        for label in name.split('.') {
            if label.is_empty() || label.len() > 63 {
                return bad("each dot-separated label must be 1-63 bytes");
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return bad("labels may contain only letters, digits and '-'");
            }
            if label.starts_with('-') || label.ends_with('-') {
                return bad("labels must not start or end with '-'");
            }
        }
        Ok(Hostname(name))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A jail root: an absolute path to an existing directory, shorter than `MAXPATHLEN`.
///
/// The kernel resolves `path` with `namei` at create time (`ENOENT`, `ENOTDIR`); checking here
/// gives a clear error before anything is changed. Checked on the machine that builds the
/// parameters, so build them on the jail host.
///
/// ```
/// use freebsd_jail::JailPath;
/// let dir = std::env::temp_dir();
/// assert!(JailPath::new(&dir).is_ok());
/// assert!(JailPath::new("relative/dir").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JailPath(PathBuf);

impl JailPath {
    /// Validates `path`, including that it is an existing directory.
    pub fn new(path: impl AsRef<Path>) -> Result<JailPath> {
        let p = Self::new_unverified(path)?;
        let bad = |r: String| Err(Error::invalid("path", format!("{}: {r}", p.0.display())));
        match std::fs::metadata(&p.0) {
            Ok(m) if m.is_dir() => Ok(p),
            Ok(_) => bad("not a directory".into()),
            Err(e) => bad(e.to_string()),
        }
    }

    /// Validates the syntax only (absolute, UTF-8, no NUL, shorter than `MAXPATHLEN`), for
    /// parameters built away from the jail host (plans, dry runs); the kernel then reports a
    /// missing directory as `ENOENT`/`ENOTDIR`.
    pub fn new_unverified(path: impl AsRef<Path>) -> Result<JailPath> {
        let path = path.as_ref();
        let bad = |r: String| Err(Error::invalid("path", format!("{}: {r}", path.display())));
        let Some(s) = path.to_str() else {
            return bad("not valid UTF-8".into());
        };
        if !path.is_absolute() {
            return bad("must be absolute".into());
        }
        if s.len() >= MAXPATHLEN {
            return bad("longer than 1023 bytes".into());
        }
        if s.contains('\0') {
            return bad("contains a NUL byte".into());
        }
        Ok(JailPath(path.to_path_buf()))
    }

    /// The path.
    pub fn as_path(&self) -> &Path {
        &self.0
    }

    /// The path as a string (always valid UTF-8).
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

/// Checks an `enforce_statfs` value: 0 (all mounts visible), 1 (mounts below the jail root), 2
/// (only the jail root's mount).
pub fn check_enforce_statfs(v: i32) -> Result<i32> {
    if (0..=2).contains(&v) {
        Ok(v)
    } else {
        Err(Error::invalid(
            "enforce_statfs",
            format!("{v}: must be 0, 1 or 2"),
        ))
    }
}

/// Checks a `devfs_ruleset` value: the kernel stores it as a `uint16_t` (0..=65535).
pub fn check_devfs_ruleset(v: i32) -> Result<i32> {
    if (0..=65535).contains(&v) {
        Ok(v)
    } else {
        Err(Error::invalid(
            "devfs_ruleset",
            format!("{v}: must be 0..=65535"),
        ))
    }
}

/// Checks a `securelevel` value: -1 (permanently insecure) to 3 (network secure), the levels
/// `security(7)` defines. The kernel rejects a value below the parent's with `EPERM`.
pub fn check_securelevel(v: i32) -> Result<i32> {
    if (-1..=3).contains(&v) {
        Ok(v)
    } else {
        Err(Error::invalid(
            "securelevel",
            format!("{v}: must be -1..=3"),
        ))
    }
}

/// Checks a `children.max` value: not negative. The kernel also requires it to be below the
/// parent's limit (`EPERM`).
pub fn check_children_max(v: i32) -> Result<i32> {
    if v >= 0 {
        Ok(v)
    } else {
        Err(Error::invalid(
            "children.max",
            format!("{v}: must not be negative"),
        ))
    }
}

/// Checks an `osrelease` string: 1..=31 bytes (`OSRELEASELEN` - 1), no NUL.
pub fn check_osrelease(v: &str) -> Result<&str> {
    if v.is_empty() || v.len() >= OSRELEASELEN || v.contains('\0') {
        Err(Error::invalid(
            "osrelease",
            format!("{v:?}: must be 1-31 bytes without NUL"),
        ))
    } else {
        Ok(v)
    }
}

/// Checks an `osreldate` value: the kernel rejects 0; `__FreeBSD_version` values are positive.
pub fn check_osreldate(v: i32) -> Result<i32> {
    if v > 0 {
        Ok(v)
    } else {
        Err(Error::invalid(
            "osreldate",
            format!("{v}: must be positive"),
        ))
    }
}

/// Checks an explicit `jid`: 1..=`JAIL_MAX`.
pub fn check_jid(v: i32) -> Result<i32> {
    if (1..=JAIL_MAX).contains(&v) {
        Ok(v)
    } else {
        Err(Error::invalid(
            "jid",
            format!("{v}: must be 1..={JAIL_MAX}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(r: Result<impl fmt::Debug>) -> String {
        match r {
            Err(Error::Invalid { param, reason }) => format!("{param}: {reason}"),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn jail_names() {
        for ok in ["a", "www", "web.db", "j253", "1", "web.7", &"x".repeat(255)] {
            assert!(JailName::new(ok).is_ok(), "{ok}");
        }
        assert!(reason(JailName::new("")).contains("empty"));
        assert!(reason(JailName::new("x".repeat(256))).contains("255"));
        assert!(reason(JailName::new("a\0b")).contains("NUL"));
        for bad in [".a", "a.", "a..b", "."] {
            assert!(reason(JailName::new(bad)).contains("component"), "{bad}");
        }
        assert!(reason(JailName::new("0")).contains("jid"));
        assert!(reason(JailName::new("007")).contains("leading zero"));
        assert!(reason(JailName::new("web.01")).contains("leading zero"));
        assert!(reason(JailName::new("99999999999")).contains("jid"));
        assert_eq!(JailName::new("web.12").unwrap().implied_jid(), Some(12));
        assert_eq!(JailName::new("web").unwrap().implied_jid(), None);
        assert_eq!(JailName::new("a.b.c").unwrap().parent(), Some("a.b"));
        assert_eq!(JailName::new("abc").unwrap().parent(), None);
    }

    #[test]
    fn hostnames() {
        assert!(Hostname::new("j253.example").is_ok());
        assert!(Hostname::domain("example.org").is_ok());
        assert!(reason(Hostname::new("")).contains("empty"));
        assert!(reason(Hostname::new("a".repeat(64))).contains("1-63"));
        assert!(reason(Hostname::new("a..b")).contains("1-63"));
        assert!(reason(Hostname::new("a b")).contains("letters"));
        assert!(reason(Hostname::new("a-.b")).contains("start or end"));
        let long = vec!["a".repeat(63); 5].join(".");
        assert!(reason(Hostname::new(long)).contains("255"));
        assert!(reason(Hostname::domain("x y")).starts_with("host.domainname"));
    }

    #[test]
    fn paths() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(JailPath::new(dir.path()).unwrap().as_path(), dir.path());
        assert!(reason(JailPath::new("rel")).contains("absolute"));
        assert!(reason(JailPath::new(dir.path().join("missing"))).contains("No such file"));
        let f = dir.path().join("file");
        std::fs::write(&f, b"x").unwrap();
        assert!(reason(JailPath::new(&f)).contains("not a directory"));
        let long = format!("/{}", "a".repeat(1100));
        assert!(reason(JailPath::new(&long)).contains("1023"));
        assert!(reason(JailPath::new_unverified(&long)).contains("1023"));
        assert!(JailPath::new_unverified("/jails/j253").is_ok());
        assert!(reason(JailPath::new_unverified("jails")).contains("absolute"));
    }

    #[test]
    fn numeric_ranges() {
        assert!(check_enforce_statfs(0).is_ok() && check_enforce_statfs(2).is_ok());
        assert!(reason(check_enforce_statfs(3)).starts_with("enforce_statfs"));
        assert!(reason(check_enforce_statfs(-1)).starts_with("enforce_statfs"));
        assert!(check_devfs_ruleset(65535).is_ok());
        assert!(reason(check_devfs_ruleset(65536)).starts_with("devfs_ruleset"));
        assert!(reason(check_devfs_ruleset(-1)).starts_with("devfs_ruleset"));
        assert!(check_securelevel(-1).is_ok() && check_securelevel(3).is_ok());
        assert!(reason(check_securelevel(4)).starts_with("securelevel"));
        assert!(check_children_max(0).is_ok());
        assert!(reason(check_children_max(-1)).starts_with("children.max"));
        assert!(check_osrelease("14.2-RELEASE").is_ok());
        assert!(reason(check_osrelease("")).starts_with("osrelease"));
        assert!(reason(check_osrelease(&"1".repeat(32))).starts_with("osrelease"));
        assert!(check_osreldate(1402000).is_ok());
        assert!(reason(check_osreldate(0)).starts_with("osreldate"));
        assert!(check_jid(1).is_ok() && check_jid(JAIL_MAX).is_ok());
        assert!(reason(check_jid(0)).starts_with("jid"));
        assert!(reason(check_jid(JAIL_MAX + 1)).starts_with("jid"));
    }
}
