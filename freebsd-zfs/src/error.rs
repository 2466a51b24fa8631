//! Typed errors shared by both backends.

use std::fmt;

/// The operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Opening the backend (`libzfs_core_init`, finding zfs(8)).
    Init,
    /// `create`.
    Create,
    /// `snapshot`.
    Snapshot,
    /// `clone`.
    Clone,
    /// `destroy` of a filesystem.
    Destroy,
    /// `destroy` of snapshots.
    DestroySnapshots,
    /// `exists`.
    Exists,
    /// `rename`.
    Rename,
    /// Reading properties.
    GetProperties,
    /// `mount`.
    Mount,
    /// `unmount`.
    Unmount,
    /// Listing children, snapshots or clones.
    List,
    /// Building an nvlist.
    NvList,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Init => "init",
            Op::Create => "create",
            Op::Snapshot => "snapshot",
            Op::Clone => "clone",
            Op::Destroy => "destroy",
            Op::DestroySnapshots => "destroy snapshots",
            Op::Exists => "exists",
            Op::Rename => "rename",
            Op::GetProperties => "get properties",
            Op::Mount => "mount",
            Op::Unmount => "unmount",
            Op::List => "list",
            Op::NvList => "nvlist",
        })
    }
}

/// `ZFS_ERR_BADPROP` (`zfs_errno_t` in `<sys/fs/zfs.h>`, OpenZFS 2.1 and 2.2): a bad property.
pub const ZFS_ERR_BADPROP: i32 = 1044;

/// One snapshot of a multi-snapshot request that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFailure {
    /// The full snapshot name.
    pub snapshot: String,
    /// What went wrong with it.
    pub kind: ErrorKind,
    /// errno (libzfs_core), if known.
    pub errno: Option<i32>,
}

/// What kind of failure, independent of the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The dataset or snapshot already exists (`EEXIST`).
    Exists,
    /// The dataset, its parent, the snapshot or the pool does not exist (`ENOENT`).
    NotFound,
    /// Busy: mounted, in use, or held (`EBUSY`).
    Busy,
    /// Has dependants (children, snapshots, clones), named here.
    HasDependants(Vec<String>),
    /// Not permitted (`EPERM`/`EACCES`).
    Permission,
    /// Invalid dataset or snapshot name.
    InvalidName,
    /// Invalid argument or property (`EINVAL`, bad property value).
    InvalidArgument,
    /// Already mounted.
    AlreadyMounted,
    /// Not mounted.
    NotMounted,
    /// The backend is not available (no `/dev/zfs`, no zfs(8)).
    Unavailable,
    /// The backend cannot do this on this OS.
    Unsupported,
    /// Several snapshots failed; one entry each.
    Snapshots(Vec<SnapshotFailure>),
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The kind for a libzfs_core errno.
    pub fn from_errno(errno: i32) -> Self {
        match errno {
            libc::EEXIST | libc::ENOTEMPTY => ErrorKind::Exists,
            libc::ENOENT | libc::ESRCH => ErrorKind::NotFound,
            libc::EBUSY => ErrorKind::Busy,
            libc::EPERM | libc::EACCES => ErrorKind::Permission,
            libc::ENAMETOOLONG => ErrorKind::InvalidName,
            // ZFS_ERR_BADPROP = 1024 + 20 in OpenZFS 2.1/2.2 (zfs_errno_t, <sys/fs/zfs.h>).
            libc::EINVAL | libc::EDOM | libc::ERANGE | ZFS_ERR_BADPROP => {
                ErrorKind::InvalidArgument
            }
            libc::ENOTSUP | libc::ENOSYS => ErrorKind::Unsupported,
            libc::ENXIO | libc::ENODEV => ErrorKind::Unavailable,
            _ => ErrorKind::Other,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Exists => f.write_str("already exists"),
            ErrorKind::NotFound => f.write_str("does not exist"),
            ErrorKind::Busy => f.write_str("busy"),
            ErrorKind::HasDependants(d) => write!(f, "has dependants: {}", d.join(", ")),
            ErrorKind::Permission => f.write_str("permission denied"),
            ErrorKind::InvalidName => f.write_str("invalid name"),
            ErrorKind::InvalidArgument => f.write_str("invalid argument or property"),
            ErrorKind::AlreadyMounted => f.write_str("already mounted"),
            ErrorKind::NotMounted => f.write_str("not mounted"),
            ErrorKind::Unavailable => f.write_str("ZFS is not available"),
            ErrorKind::Unsupported => f.write_str("not supported"),
            ErrorKind::Snapshots(v) => {
                f.write_str("snapshots failed: ")?;
                for (i, s) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{}: {}", s.snapshot, s.kind)?;
                }
                Ok(())
            }
            ErrorKind::Other => f.write_str("failed"),
        }
    }
}

/// A failed ZFS operation: what, on which dataset, and the errno or zfs(8) message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("zfs {op}{}: {kind}{}{}",
    if dataset.is_empty() { String::new() } else { format!(" '{dataset}'") },
    errno.map(|e| format!(" (errno {e}: {})", std::io::Error::from_raw_os_error(e))).unwrap_or_default(),
    message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
pub struct Error {
    /// The operation.
    pub op: Op,
    /// The dataset, snapshot (or list of them) the operation was about.
    pub dataset: String,
    /// The kind of failure.
    pub kind: ErrorKind,
    /// errno, from libzfs_core or a syscall.
    pub errno: Option<i32>,
    /// zfs(8)'s stderr, the kernel's or channel program's message, or other detail.
    pub message: Option<String>,
}

impl Error {
    /// An error with a kind and no errno/message.
    pub fn new(op: Op, dataset: impl Into<String>, kind: ErrorKind) -> Self {
        Self {
            op,
            dataset: dataset.into(),
            kind,
            errno: None,
            message: None,
        }
    }

    /// An error from an errno.
    pub fn errno(op: Op, dataset: impl Into<String>, errno: i32) -> Self {
        Self {
            errno: Some(errno),
            ..Self::new(op, dataset, ErrorKind::from_errno(errno))
        }
    }

    /// Adds a message.
    pub fn with_message(mut self, msg: impl Into<String>) -> Self {
        self.message = Some(msg.into());
        self
    }

    /// An invalid-name error (the name never reached ZFS).
    pub fn invalid_name(op: Op, name: &str, e: crate::NameError) -> Self {
        Self::new(op, name, ErrorKind::InvalidName).with_message(e.to_string())
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_everything() {
        let e = Error::errno(Op::Create, "p/a", libc::EEXIST);
        let s = e.to_string();
        assert!(s.contains("create") && s.contains("'p/a'") && s.contains("already exists"));
        assert!(s.contains(&format!("errno {}", libc::EEXIST)), "{s}");
        let e = Error::new(
            Op::DestroySnapshots,
            "p/a@s",
            ErrorKind::HasDependants(vec!["p/b".into(), "p/c".into()]),
        )
        .with_message("snapshot has dependent clones");
        assert!(e.to_string().contains("p/b, p/c"));
        assert_eq!(ErrorKind::from_errno(libc::EBUSY), ErrorKind::Busy);
        assert_eq!(ErrorKind::from_errno(libc::ENOENT), ErrorKind::NotFound);
        assert_eq!(ErrorKind::from_errno(libc::EPERM), ErrorKind::Permission);
        assert_eq!(ErrorKind::from_errno(12345), ErrorKind::Other);
    }
}
