//! Portable parsers for a jail's `etc/passwd` and `etc/group` (`passwd(5)`, `group(5)`), so the
//! user a process runs as is resolved in the parent, before `fork`, from the jail's own files.

use std::path::Path;

use crate::error::{Error, Result};

/// One `passwd(5)` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// GECOS (full name) field.
    pub gecos: String,
    /// Home directory.
    pub dir: String,
    /// Login shell (may be empty: `/bin/sh` is then used).
    pub shell: String,
}

/// One `group(5)` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// Group name.
    pub name: String,
    /// Group id.
    pub gid: u32,
    /// Member login names.
    pub members: Vec<String>,
}

/// Which user to run as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserSpec {
    /// By login name.
    Name(String),
    /// By uid.
    Uid(u32),
}

fn skip(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t.starts_with('+') || t.starts_with('-')
}

/// Parses one line of `etc/passwd` (7 fields) or `etc/master.passwd` (10 fields:
/// name:password:uid:gid:class:change:expire:gecos:home:shell).
///
/// Returns `Ok(None)` for blank lines, comments and NIS `+`/`-` lines.
///
/// ```
/// use freebsd_jail::parse_passwd_line;
/// let e = parse_passwd_line("root:*:0:0:Charlie &:/root:/bin/csh").unwrap().unwrap();
/// assert_eq!((e.uid, e.gid, e.dir.as_str(), e.shell.as_str()), (0, 0, "/root", "/bin/csh"));
/// assert!(parse_passwd_line("# comment").unwrap().is_none());
/// assert!(parse_passwd_line("root:*:x:0::/root:/bin/sh").is_err());
/// ```
pub fn parse_passwd_line(line: &str) -> Result<Option<PasswdEntry>> {
    if skip(line) {
        return Ok(None);
    }
    let f: Vec<&str> = line.trim_end_matches(['\n', '\r']).split(':').collect();
    let (gecos, dir, shell) = match f.len() {
        7 => (f[4], f[5], f[6]),
        10 => (f[7], f[8], f[9]),
        n => {
            return Err(Error::invalid(
                "passwd",
                format!("{line:?}: {n} fields, expected 7 or 10"),
            ));
        }
    };
    let num = |s: &str, what: &str| {
        s.parse::<u32>()
            .map_err(|_| Error::invalid("passwd", format!("{line:?}: bad {what} {s:?}")))
    };
    if f[0].is_empty() {
        return Err(Error::invalid("passwd", format!("{line:?}: empty name")));
    }
    Ok(Some(PasswdEntry {
        name: f[0].to_string(),
        uid: num(f[2], "uid")?,
        gid: num(f[3], "gid")?,
        gecos: gecos.to_string(),
        dir: dir.to_string(),
        shell: shell.to_string(),
    }))
}

/// Parses one line of `etc/group` (`name:password:gid:member,member`).
///
/// ```
/// use freebsd_jail::parse_group_line;
/// let g = parse_group_line("wheel:*:0:root,alice").unwrap().unwrap();
/// assert_eq!(g.members, vec!["root", "alice"]);
/// ```
pub fn parse_group_line(line: &str) -> Result<Option<GroupEntry>> {
    if skip(line) {
        return Ok(None);
    }
    let f: Vec<&str> = line.trim_end_matches(['\n', '\r']).split(':').collect();
    if f.len() != 4 || f[0].is_empty() {
        return Err(Error::invalid(
            "group",
            format!("{line:?}: expected name:password:gid:members"),
        ));
    }
    let gid = f[2]
        .parse::<u32>()
        .map_err(|_| Error::invalid("group", format!("{line:?}: bad gid {:?}", f[2])))?;
    Ok(Some(GroupEntry {
        name: f[0].to_string(),
        gid,
        members: f[3]
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect(),
    }))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Finds `user` in `<root>/etc/passwd` (the first matching entry, as `getpwnam(3)` does).
pub fn lookup_user(root: &Path, user: &UserSpec) -> Result<PasswdEntry> {
    let path = root.join("etc/passwd");
    for line in read(&path)?.lines() {
        if let Some(e) = parse_passwd_line(line)? {
            let hit = match user {
                UserSpec::Name(n) => e.name == *n,
                UserSpec::Uid(u) => e.uid == *u,
            };
            if hit {
                return Ok(e);
            }
        }
    }
    Err(Error::invalid(
        "user",
        format!("{user:?} not found in {}", path.display()),
    ))
}

/// The group list `initgroups(3)` would set for `user` from `<root>/etc/group`: `primary` first,
/// then every other group listing `user` as a member, without duplicates. A missing
/// `etc/group` gives just the primary group.
pub fn group_list(root: &Path, user: &str, primary: u32) -> Result<Vec<u32>> {
    let path = root.join("etc/group");
    let mut out = vec![primary];
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(source) => return Err(Error::Io { path, source }),
    };
    for line in text.lines() {
        if let Some(g) = parse_group_line(line)?
            && g.members.iter().any(|m| m == user)
            && !out.contains(&g.gid)
        {
            out.push(g.gid);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_and_group_files() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(
            root.path().join("etc/passwd"),
            "# $FreeBSD$\n\
             root:*:0:0:Charlie &:/root:/bin/csh\n\
             \n\
             www:*:80:80:World Wide Web Owner:/nonexistent:/usr/sbin/nologin\n\
             alice:*:1001:1001:Alice:/home/alice:\n",
        )
        .unwrap();
        let a = lookup_user(root.path(), &UserSpec::Name("alice".into())).unwrap();
        assert_eq!(
            (a.uid, a.gid, a.dir.as_str(), a.shell.as_str()),
            (1001, 1001, "/home/alice", "")
        );
        let w = lookup_user(root.path(), &UserSpec::Uid(80)).unwrap();
        assert_eq!(w.name, "www");
        assert!(matches!(
            lookup_user(root.path(), &UserSpec::Name("bob".into())),
            Err(Error::Invalid { .. })
        ));
        // No etc/group: just the primary group.
        assert_eq!(group_list(root.path(), "alice", 1001).unwrap(), vec![1001]);
        std::fs::write(
            root.path().join("etc/group"),
            "wheel:*:0:root,alice\nalice:*:1001:\noperator:*:5:root,alice\n",
        )
        .unwrap();
        assert_eq!(
            group_list(root.path(), "alice", 1001).unwrap(),
            vec![1001, 0, 5]
        );
        let missing = tempfile::tempdir().unwrap();
        assert!(matches!(
            lookup_user(missing.path(), &UserSpec::Uid(0)),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn master_passwd_lines_and_bad_lines() {
        let e = parse_passwd_line("toor:*:0:0::0:0:Bourne-again Superuser:/root:")
            .unwrap()
            .unwrap();
        assert_eq!((e.name.as_str(), e.dir.as_str()), ("toor", "/root"));
        assert!(parse_passwd_line("+:::::::").unwrap().is_none());
        assert!(parse_passwd_line("a:b:c").is_err());
        assert!(parse_passwd_line(":*:0:0::/:/bin/sh").is_err());
        assert!(parse_passwd_line("a:*:-1:0::/:/bin/sh").is_err());
        assert!(parse_group_line("wheel:*:zero:").is_err());
        assert!(parse_group_line("wheel:*:0").is_err());
        assert_eq!(
            parse_group_line("g:*:7:").unwrap().unwrap().members.len(),
            0
        );
    }
}
