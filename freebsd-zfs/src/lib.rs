//! ZFS datasets, snapshots, clones and mounts for FreeBSD, through libzfs_core (no process
//! spawned) or the zfs(8) command.
//!
//! Two backends implement the same [`Zfs`] trait:
//! - [`Cli`]: runs zfs(8) (`-H`, and `-p` where the installed zfs supports it). Works wherever a
//!   zfs(8) exists (FreeBSD, OpenZFS on Linux, zfs-fuse).
//! - `Lzc` (FreeBSD, or any OS with `--features libzfs-sys/link`): libzfs_core ioctls, with
//!   listings and property reads through read-only ZFS channel programs, and mounts through
//!   nmount(2) on FreeBSD.
//!
//! ```no_run
//! use freebsd_zfs::{CanMount, Cli, DatasetName, Props, Zfs};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let zfs = Cli::new()?;
//! let tmpl = DatasetName::new("zdata/jails/templates/base")?;
//! zfs.create_with_parents(&tmpl, &Props::new())?;
//! let snap = tmpl.snapshot("skeleton")?;
//! zfs.snapshot(&[snap.clone()])?;
//! let jail = DatasetName::new("zdata/jails/containers/web")?;
//! zfs.clone_snapshot(&snap, &jail, &Props::new().canmount(CanMount::On))?;
//! let path = zfs.mount(&jail)?;
//! println!("web is at {}", path.display());
//! # Ok(()) }
//! ```

pub mod abi;
mod cli;
mod error;
#[cfg(zfs_ffi)]
mod lzc;
mod name;
#[cfg(zfs_ffi)]
mod nvlist;
mod props;

pub use cli::{Capabilities, Cli, classify as cli_error};
pub use error::{Error, ErrorKind, Op, Result, SnapshotFailure, ZFS_ERR_BADPROP};
#[cfg(zfs_ffi)]
pub use lzc::Lzc;
pub use name::{DatasetName, MAX_NAME_LEN, NameError, SnapshotName};
#[cfg(zfs_ffi)]
pub use nvlist::{NvError, NvList, NvValue};
pub use props::{CanMount, PropError, PropValue, Property, Props};

use std::path::PathBuf;

/// ZFS operations; [`Cli`] and `Lzc` implement them with the same behaviour.
pub trait Zfs {
    /// Creates filesystem `name` with `props`. The parent must exist. Does not mount
    /// (libzfs_core never mounts; the zfs(8) backend passes `-u` where supported, otherwise
    /// zfs(8) mounts it when `canmount=on`).
    #[doc(alias = "lzc_create")]
    fn create(&self, name: &DatasetName, props: &Props) -> Result<()>;

    /// Like [`Zfs::create`] but creates missing ancestors first (without properties), like
    /// `zfs create -p`; succeeds without change if `name` already exists.
    fn create_with_parents(&self, name: &DatasetName, props: &Props) -> Result<()>;

    /// Takes all `snaps` atomically (one transaction group) where the backend can; failures
    /// are reported per snapshot in [`ErrorKind::Snapshots`]. All must be in one pool, at most
    /// one per dataset.
    #[doc(alias = "lzc_snapshot")]
    fn snapshot(&self, snaps: &[SnapshotName]) -> Result<()>;

    /// Clones `origin` as `target` with `props`.
    #[doc(alias = "lzc_clone")]
    fn clone_snapshot(
        &self,
        origin: &SnapshotName,
        target: &DatasetName,
        props: &Props,
    ) -> Result<()>;

    /// Clones `origin` as `target` with `props` and mounts the clone at its `mountpoint`
    /// (inherited or given in `props`), returning the path: what `zfs clone` does. The default
    /// is [`Zfs::clone_snapshot`] then [`Zfs::mount`]; [`Cli`] keeps zfs(8)'s own mount of the
    /// new clone instead of undoing and redoing it.
    fn clone_and_mount(
        &self,
        origin: &SnapshotName,
        target: &DatasetName,
        props: &Props,
    ) -> Result<PathBuf> {
        self.clone_snapshot(origin, target, props)?;
        self.mount(target)
    }

    /// Destroys filesystem `name` (unmounting it first). Refuses with
    /// [`ErrorKind::HasDependants`], naming them, if it has children or snapshots.
    #[doc(alias = "lzc_destroy")]
    fn destroy(&self, name: &DatasetName) -> Result<()>;

    /// Destroys snapshots. Refuses with [`ErrorKind::HasDependants`] naming the clones if a
    /// snapshot has clones.
    #[doc(alias = "lzc_destroy_snaps")]
    fn destroy_snapshots(&self, snaps: &[SnapshotName]) -> Result<()>;

    /// Whether filesystem `name` exists.
    #[doc(alias = "lzc_exists")]
    fn exists(&self, name: &DatasetName) -> Result<bool>;

    /// Whether snapshot `name` exists.
    fn snapshot_exists(&self, name: &SnapshotName) -> Result<bool>;

    /// Renames a filesystem (within its pool).
    #[doc(alias = "lzc_rename")]
    fn rename(&self, from: &DatasetName, to: &DatasetName) -> Result<()>;

    /// Reads properties (values in parsable form, with their source).
    fn get_properties(&self, name: &DatasetName, props: &[&str]) -> Result<Vec<Property>>;

    /// Mounts `name` at its `mountpoint` property (creating the directory) and returns the path.
    fn mount(&self, name: &DatasetName) -> Result<PathBuf>;

    /// Unmounts `name` (`force`: `MNT_FORCE` / `zfs unmount -f`).
    fn unmount(&self, name: &DatasetName, force: bool) -> Result<()>;

    /// Whether `name` is mounted.
    fn is_mounted(&self, name: &DatasetName) -> Result<bool>;

    /// Direct child filesystems/volumes of `name`, sorted.
    fn list_children(&self, name: &DatasetName) -> Result<Vec<DatasetName>>;

    /// Snapshots of `name`, sorted.
    fn list_snapshots(&self, name: &DatasetName) -> Result<Vec<SnapshotName>>;

    /// Clones of `snap`, sorted.
    fn list_clones(&self, snap: &SnapshotName) -> Result<Vec<DatasetName>>;
}

/// The libzfs_core backend as a trait object, for code that is built with or without it
/// (benchmarks, the CLI). Fails with [`ErrorKind::Unsupported`] in builds that do not link
/// libzfs_core (Linux without `--features libzfs-sys/link`), and with
/// [`ErrorKind::Unavailable`] when `/dev/zfs` cannot be opened.
///
/// ```
/// match freebsd_zfs::lzc_backend() {
///     Ok(_zfs) => println!("libzfs_core ready"),
///     Err(e) => println!("no libzfs_core: {e}"),
/// }
/// ```
pub fn lzc_backend() -> Result<Box<dyn Zfs + Send + Sync>> {
    #[cfg(zfs_ffi)]
    {
        Ok(Box::new(Lzc::new()?))
    }
    #[cfg(not(zfs_ffi))]
    {
        Err(Error::new(Op::Init, "", ErrorKind::Unsupported).with_message(
            "built without libzfs_core (it is linked on FreeBSD, or with --features libzfs-sys/link)",
        ))
    }
}

/// Checks a multi-snapshot request: non-empty, one pool, one snapshot per dataset.
fn check_snapshot_set(op: Op, snaps: &[SnapshotName]) -> Result<()> {
    let all = || {
        snaps
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let Some(first) = snaps.first() else {
        return Err(Error::new(op, "", ErrorKind::InvalidArgument).with_message("no snapshots"));
    };
    if snaps.iter().any(|s| s.pool() != first.pool()) {
        return Err(Error::new(op, all(), ErrorKind::InvalidArgument)
            .with_message("all snapshots must be in one pool"));
    }
    let mut ds: Vec<_> = snaps.iter().map(|s| s.dataset()).collect();
    ds.sort();
    ds.dedup();
    if ds.len() != snaps.len() && op == Op::Snapshot {
        return Err(Error::new(op, all(), ErrorKind::InvalidArgument)
            .with_message("at most one snapshot per dataset"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lzc_backend_fails_cleanly_without_dev_zfs() {
        if std::path::Path::new("/dev/zfs").exists() {
            eprintln!("skipped: /dev/zfs exists on this machine");
            return;
        }
        let Err(e) = lzc_backend() else {
            panic!("libzfs_core initialised without /dev/zfs")
        };
        // Unsupported when not linked; Unavailable (ENOENT) when linked but no /dev/zfs.
        if cfg!(zfs_ffi) {
            assert_eq!(e.kind, ErrorKind::Unavailable, "{e}");
        } else {
            assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
        }
        assert_eq!(e.op, Op::Init);
    }

    #[test]
    fn backends_are_thread_safe() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Cli>();
        #[cfg(zfs_ffi)]
        send_sync::<Lzc>();
    }
}
