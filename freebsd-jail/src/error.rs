//! The error type of every jail operation.

use std::fmt;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which jail an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JailRef {
    /// A jail identified by its jid.
    Jid(i32),
}

impl fmt::Display for JailRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JailRef::Jid(j) => write!(f, "jail {j}"),
        }
    }
}

/// An error from a jail system call, with errno and the jail concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `jail_remove(2)` or `jail_attach(2)` answered `EINVAL`: no such (live) jail.
    #[error("{jail}: no such jail")]
    NotFound {
        /// The jail that was asked for.
        jail: JailRef,
    },
    /// The caller lacks the privilege (`EPERM`).
    #[error("{jail}: {op}: operation not permitted")]
    Permission {
        /// The jail concerned.
        jail: JailRef,
        /// The system call.
        op: &'static str,
    },
    /// Any other errno.
    #[error("{jail}: {op}: {source}")]
    Sys {
        /// The jail concerned.
        jail: JailRef,
        /// The system call.
        op: &'static str,
        /// The errno.
        source: std::io::Error,
    },
}

impl Error {
    /// Maps an errno from a call that names a jail by jid onto the typed error.
    pub fn from_errno(op: &'static str, jail: JailRef, errno: i32) -> Error {
        match errno {
            libc::EINVAL if op == "jail_remove" || op == "jail_attach" => Error::NotFound { jail },
            libc::EPERM => Error::Permission { jail, op },
            e => Error::Sys {
                jail,
                op,
                source: std::io::Error::from_raw_os_error(e),
            },
        }
    }

    /// The errno behind this error.
    pub fn errno(&self) -> i32 {
        match self {
            Error::NotFound { .. } => libc::EINVAL,
            Error::Permission { .. } => libc::EPERM,
            Error::Sys { source, .. } => source.raw_os_error().unwrap_or(0),
        }
    }
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
                jail: JailRef::Jid(7)
            }
        ));
        assert_eq!(e.to_string(), "jail 7: no such jail");
        assert_eq!(e.errno(), libc::EINVAL);
    }

    #[test]
    fn other_errnos_keep_errno_and_jail() {
        let e = Error::from_errno("jail_remove", JailRef::Jid(3), libc::EPERM);
        assert_eq!(
            e.to_string(),
            "jail 3: jail_remove: operation not permitted"
        );
        let e = Error::from_errno("jail_remove", JailRef::Jid(3), libc::EFAULT);
        assert_eq!(e.errno(), libc::EFAULT);
        assert!(e.to_string().starts_with("jail 3: jail_remove: "));
    }
}
