//! The error type of every jail operation.

use std::fmt;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which jail an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JailRef {
    /// A jail identified by its jid.
    Jid(i32),
    /// A jail identified by its name.
    Name(String),
    /// The first jail after this jid (a `lastjid` lookup while listing jails).
    After(i32),
    /// No particular jail (host-wide queries, or a request that named none).
    None,
}

impl fmt::Display for JailRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JailRef::Jid(j) => write!(f, "jail {j}"),
            JailRef::Name(n) => write!(f, "jail \"{n}\""),
            JailRef::After(j) => write!(f, "jail after {j}"),
            JailRef::None => f.write_str("jail (unspecified)"),
        }
    }
}

/// Formats the kernel's errmsg as a ` (message)` suffix, or nothing when it is empty.
fn msg(errmsg: &str) -> String {
    if errmsg.is_empty() {
        String::new()
    } else {
        format!(" ({errmsg})")
    }
}

/// The kernel's errmsg, or `default` when it gave none.
fn or<'a>(errmsg: &'a str, default: &'a str) -> &'a str {
    if errmsg.is_empty() { default } else { errmsg }
}

/// An error from a jail operation: the jail concerned, the errno and the kernel's `errmsg`.
///
/// The variants are the cases callers branch on; [`Error::Sys`] holds every other errno.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, found before any system call was made (nothing changed).
    #[error("invalid value for jail parameter {param}: {reason}")]
    Invalid {
        /// The parameter (or pseudo-parameter such as `user`) that was rejected.
        param: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The jail (jid or name) already exists (`EEXIST` from `jail_set(2)`).
    #[error("{jail}: {}", or(errmsg, "already exists"))]
    Exists {
        /// The jail concerned.
        jail: JailRef,
        /// The kernel's error message.
        errmsg: String,
    },
    /// No such jail (`ENOENT` from `jail_set(2)`/`jail_get(2)`, `EINVAL` from
    /// `jail_remove(2)`/`jail_attach(2)`).
    #[error("{jail}: {}", or(errmsg, "not found"))]
    NotFound {
        /// The jail concerned.
        jail: JailRef,
        /// The errno the kernel answered.
        errno: i32,
        /// The kernel's error message (empty for calls without one).
        errmsg: String,
    },
    /// The jail exists but is being removed (`ENOENT` "… is dying"); retry with
    /// [`JailFlags::DYING`](crate::JailFlags::DYING) to see it.
    #[error("{jail}: {}", or(errmsg, "is dying"))]
    Dying {
        /// The jail concerned.
        jail: JailRef,
        /// The kernel's error message.
        errmsg: String,
    },
    /// The caller lacks the privilege or a limit was hit (`EPERM`).
    #[error("{jail}: {op}: {}", or(errmsg, "operation not permitted"))]
    Permission {
        /// The jail concerned.
        jail: JailRef,
        /// The system call.
        op: &'static str,
        /// The kernel's error message.
        errmsg: String,
    },
    /// The kernel rejected a parameter (`EINVAL`, `ENAMETOOLONG`).
    #[error("{jail}: {op}: invalid parameter{}: {}{}",
        param.as_deref().map(|p| format!(" {p}")).unwrap_or_default(),
        std::io::Error::from_raw_os_error(*errno), msg(errmsg))]
    InvalidParameter {
        /// The jail concerned.
        jail: JailRef,
        /// The system call.
        op: &'static str,
        /// The parameter the kernel complained about, when it can be told from the errmsg.
        param: Option<String>,
        /// The errno.
        errno: i32,
        /// The kernel's error message.
        errmsg: String,
    },
    /// Any other errno from a system call.
    #[error("{jail}: {op}: {}{}", std::io::Error::from_raw_os_error(*errno), msg(errmsg))]
    Sys {
        /// The jail concerned.
        jail: JailRef,
        /// The system call.
        op: &'static str,
        /// The errno.
        errno: i32,
        /// The kernel's error message (may be empty).
        errmsg: String,
    },
    /// A `sysctl(3)` read failed.
    #[error("sysctl {name}: {source}")]
    Sysctl {
        /// The sysctl name.
        name: String,
        /// The errno.
        source: std::io::Error,
    },
    /// Reading a file the library needs (a jail's `etc/passwd`, a console log) failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// Builds an [`Error::Invalid`].
    pub fn invalid(param: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Invalid {
            param: param.into(),
            reason: reason.into(),
        }
    }

    /// Maps the errno and errmsg of a `jail_set(2)` or `jail_get(2)` call onto the typed error.
    ///
    /// `sent` are the parameter names of the request: for `EINVAL` the parameter the kernel's
    /// message names is looked up among them (see [`param_in_errmsg`]).
    pub fn from_kernel(
        op: &'static str,
        jail: JailRef,
        errno: i32,
        errmsg: &str,
        sent: &[&str],
    ) -> Error {
        let errmsg = errmsg.to_string();
        match errno {
            libc::EEXIST => Error::Exists { jail, errmsg },
            libc::ENOENT if errmsg.contains("is dying") => Error::Dying { jail, errmsg },
            // namei(9) on `path` fails without an errmsg; every jail lookup failure has one.
            libc::ENOENT | libc::ENOTDIR
                if (errmsg.is_empty() || errno == libc::ENOTDIR) && sent.contains(&"path") =>
            {
                Error::InvalidParameter {
                    jail,
                    op,
                    param: Some("path".into()),
                    errno,
                    errmsg,
                }
            }
            libc::ENOENT => Error::NotFound {
                jail,
                errno,
                errmsg,
            },
            libc::EPERM => Error::Permission { jail, op, errmsg },
            libc::EINVAL | libc::ENAMETOOLONG => Error::InvalidParameter {
                param: param_in_errmsg(&errmsg, sent),
                jail,
                op,
                errno,
                errmsg,
            },
            _ => Error::Sys {
                jail,
                op,
                errno,
                errmsg,
            },
        }
    }

    /// Maps an errno from `jail_remove(2)` or `jail_attach(2)` (which name a jail by jid and have
    /// no errmsg) onto the typed error: `EINVAL` means no such live jail.
    pub fn from_errno(op: &'static str, jail: JailRef, errno: i32) -> Error {
        match errno {
            libc::EINVAL => Error::NotFound {
                jail,
                errno,
                errmsg: String::new(),
            },
            libc::EPERM => Error::Permission {
                jail,
                op,
                errmsg: String::new(),
            },
            _ => Error::Sys {
                jail,
                op,
                errno,
                errmsg: String::new(),
            },
        }
    }

    /// The errno behind this error (`None` for input rejected before any system call).
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Invalid { .. } => None,
            Error::Exists { .. } => Some(libc::EEXIST),
            Error::NotFound { errno, .. } => Some(*errno),
            Error::Dying { .. } => Some(libc::ENOENT),
            Error::Permission { .. } => Some(libc::EPERM),
            Error::InvalidParameter { errno, .. } | Error::Sys { errno, .. } => Some(*errno),
            Error::Sysctl { source, .. } | Error::Io { source, .. } => source.raw_os_error(),
        }
    }

    /// The kernel's error message, if the kernel gave one.
    pub fn errmsg(&self) -> Option<&str> {
        match self {
            Error::Exists { errmsg, .. }
            | Error::NotFound { errmsg, .. }
            | Error::Dying { errmsg, .. }
            | Error::Permission { errmsg, .. }
            | Error::InvalidParameter { errmsg, .. }
            | Error::Sys { errmsg, .. }
                if !errmsg.is_empty() =>
            {
                Some(errmsg)
            }
            _ => None,
        }
    }
}

/// Finds which parameter a kernel error message is about.
///
/// `"unknown parameter: allow.foo"` names it after the colon; otherwise the longest name in
/// `sent` (or its `no` counterpart) that appears in the message as a whole word wins, e.g.
/// `"path cannot be changed after creation"` gives `path`. The kernel's message about VNET
/// jails given addresses names `ip4.addr`/`ip6.addr`/`ip4`/`ip6`, whichever was sent.
///
/// ```
/// use freebsd_jail::param_in_errmsg;
/// assert_eq!(
///     param_in_errmsg("osrelease cannot be changed after creation", &["name", "osrelease"]),
///     Some("osrelease".to_string())
/// );
/// assert_eq!(param_in_errmsg("unknown parameter: allow.foo", &[]), Some("allow.foo".into()));
/// ```
pub fn param_in_errmsg(errmsg: &str, sent: &[&str]) -> Option<String> {
    if let Some(rest) = errmsg.strip_prefix("unknown parameter: ") {
        return Some(rest.trim().to_string());
    }
    if errmsg.contains("IP address restrictions") {
        for p in ["ip4.addr", "ip6.addr", "ip4", "ip6"] {
            if sent.contains(&p) {
                return Some(p.to_string());
            }
        }
    }
    let is_word_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let mut best: Option<&str> = None;
    for name in sent {
        if name.is_empty() || *name == "errmsg" {
            continue;
        }
        let found = errmsg.match_indices(name).any(|(i, m)| {
            let before = errmsg[..i].chars().next_back();
            let after = errmsg[i + m.len()..].chars().next();
            !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
        });
        if found && best.is_none_or(|b| b.len() < name.len()) {
            best = Some(name);
        }
    }
    best.map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_einval_means_not_found() {
        let e = Error::from_errno("jail_remove", JailRef::Jid(7), libc::EINVAL);
        assert!(matches!(
            e,
            Error::NotFound {
                jail: JailRef::Jid(7),
                ..
            }
        ));
        assert_eq!(e.to_string(), "jail 7: not found");
        assert_eq!(e.errno(), Some(libc::EINVAL));
    }

    #[test]
    fn kernel_errnos_map_to_variants() {
        let sent = ["name", "path", "vnet", "ip4.addr", "persist"];
        let j = || JailRef::Name("j1".into());
        let e = Error::from_kernel(
            "jail_set",
            j(),
            libc::EEXIST,
            "jail \"j1\" already exists",
            &sent,
        );
        assert!(matches!(e, Error::Exists { .. }));
        assert_eq!(e.errmsg(), Some("jail \"j1\" already exists"));
        let e = Error::from_kernel("jail_get", j(), libc::ENOENT, "jail \"j1\" is dying", &sent);
        assert!(matches!(e, Error::Dying { .. }));
        let e = Error::from_kernel(
            "jail_get",
            j(),
            libc::ENOENT,
            "jail \"j1\" not found",
            &sent,
        );
        assert!(matches!(
            e,
            Error::NotFound {
                errno: libc::ENOENT,
                ..
            }
        ));
        let e = Error::from_kernel("jail_set", j(), libc::EPERM, "prison limit exceeded", &sent);
        assert!(matches!(e, Error::Permission { .. }));
        assert!(e.to_string().contains("prison limit exceeded"), "{e}");
        let e = Error::from_kernel(
            "jail_set",
            j(),
            libc::EINVAL,
            "vnet jails cannot have IP address restrictions",
            &sent,
        );
        match &e {
            Error::InvalidParameter { param, .. } => assert_eq!(param.as_deref(), Some("ip4.addr")),
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("invalid parameter ip4.addr"), "{e}");
        let e = Error::from_kernel("jail_set", j(), libc::ENOENT, "", &sent);
        match &e {
            Error::InvalidParameter { param, errno, .. } => {
                assert_eq!((param.as_deref(), *errno), (Some("path"), libc::ENOENT))
            }
            other => panic!("{other:?}"),
        }
        let e = Error::from_kernel("jail_set", j(), libc::ENOTDIR, "", &sent);
        assert!(matches!(e, Error::InvalidParameter { .. }));
        let e = Error::from_kernel("jail_get", j(), libc::ENOENT, "", &["name"]);
        assert!(matches!(e, Error::NotFound { .. }));
        let e = Error::from_kernel("jail_set", j(), libc::EAGAIN, "", &sent);
        assert!(matches!(
            e,
            Error::Sys {
                errno: libc::EAGAIN,
                ..
            }
        ));
        assert_eq!(e.errmsg(), None);
    }

    #[test]
    fn param_lookup_prefers_whole_words_and_longest() {
        let sent = ["ip4", "ip4.addr", "path", "name"];
        assert_eq!(
            param_in_errmsg("bad ip4.addr value", &sent).as_deref(),
            Some("ip4.addr")
        );
        assert_eq!(param_in_errmsg("pathological", &sent), None);
        assert_eq!(param_in_errmsg("", &sent), None);
    }
}
