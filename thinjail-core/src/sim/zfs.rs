//! A real dataset layer for [`SimHost`]: datasets handled by a [`freebsd_zfs::Zfs`] backend
//! (zfs(8) — zfs-fuse on Linux — or libzfs_core), while jails, interfaces and the other mounts
//! stay simulated.
//!
//! Every simulated pool `P` is the real dataset `<base>/P`, its mountpoint the real path of `/P`
//! under the host's root, so a dataset's files appear exactly where the simulated host expects
//! them (`/P/a/b` is `<root>/P/a/b`). SimHost checks its kernel rules on its model first (and
//! fires injected faults), then makes the real call, then records the change in the model.
//! Queries (`dataset_exists`, `dataset_clones`, `dataset_mountpoint`) ask the real backend.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use freebsd_zfs::{Cli, DatasetName, ErrorKind, Props, SnapshotName, Zfs};

use super::SimHost;
use crate::host::{DatasetProps, Errno, HostError, HostResult, Object, OpKind};

/// How long a `zfs mount` that reports "busy" is retried.
pub const MOUNT_BUSY_RETRY: Duration = Duration::from_secs(5);

/// Real datasets for a [`SimHost`] (see [`SimHost::with_zfs`]): a ZFS backend and the real
/// dataset under which the simulated pools live.
///
/// ```no_run
/// use thinjail_core::host::{DatasetProps, Host};
/// use thinjail_core::sim::{SimHost, SimZfs};
/// // `tank/sim` must exist; the simulated pool `zdata` becomes `tank/sim/zdata`.
/// let host = SimHost::with_zfs("/tmp/simroot", SimZfs::cli("tank/sim").unwrap()).unwrap();
/// host.add_pool("zdata").unwrap();
/// host.dataset_create("zdata/jails", &DatasetProps::default()).unwrap();
/// assert!(std::path::Path::new("/tmp/simroot/zdata").is_dir());
/// ```
pub struct SimZfs {
    zfs: Box<dyn Zfs + Send + Sync>,
    base: DatasetName,
}

impl SimZfs {
    /// Simulated pools become children of the existing real dataset `base`, handled by `zfs`.
    pub fn new(zfs: Box<dyn Zfs + Send + Sync>, base: DatasetName) -> SimZfs {
        SimZfs { zfs, base }
    }

    /// The zfs(8) backend ([`freebsd_zfs::Cli`], retrying busy destroys and unmounts for up to
    /// five seconds, as zfs-fuse releases unmounted filesystems asynchronously) under `base`.
    pub fn cli(base: &str) -> Result<SimZfs, freebsd_zfs::Error> {
        let base = DatasetName::new(base)
            .map_err(|e| freebsd_zfs::Error::invalid_name(freebsd_zfs::Op::Init, base, e))?;
        let cli = Cli::new()?.busy_retry(Duration::from_secs(5));
        Ok(SimZfs::new(Box::new(cli), base))
    }

    /// The real dataset the simulated pools live under.
    pub fn base(&self) -> &DatasetName {
        &self.base
    }

    /// The real name of a simulated dataset or snapshot (`zdata/a@s` → `<base>/zdata/a@s`).
    pub fn real_name(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    fn ds(&self, op: OpKind, name: &str) -> HostResult<DatasetName> {
        DatasetName::new(self.real_name(name)).map_err(|e| {
            HostError::os_msg(
                op,
                Object::Dataset(name.into()),
                Errno::EINVAL,
                e.to_string(),
            )
        })
    }

    fn snap(&self, op: OpKind, name: &str) -> HostResult<SnapshotName> {
        SnapshotName::new(self.real_name(name)).map_err(|e| {
            HostError::os_msg(
                op,
                Object::Dataset(name.into()),
                Errno::EINVAL,
                e.to_string(),
            )
        })
    }

    /// The simulated name of a real dataset under the base.
    fn sim_name(&self, real: &str) -> Option<String> {
        real.strip_prefix(self.base.as_str())?
            .strip_prefix('/')
            .map(str::to_string)
    }

    /// Create the real root of simulated pool `name`, mounted at `real_mp`.
    pub(super) fn add_pool(&self, name: &str, real_mp: &Path) -> HostResult<()> {
        let op = OpKind::DatasetCreate;
        let ds = self.ds(op, name)?;
        let props = Props::new().mountpoint(real_mp.display().to_string());
        self.zfs
            .create(&ds, &props)
            .map_err(|e| zfs_err(op, name, e))?;
        self.mount(name)
    }

    pub(super) fn create(
        &self,
        host: &SimHost,
        name: &str,
        props: &DatasetProps,
    ) -> HostResult<()> {
        let op = OpKind::DatasetCreate;
        let p = real_props(host, op, name, props)?;
        self.zfs
            .create(&self.ds(op, name)?, &p)
            .map_err(|e| zfs_err(op, name, e))
    }

    pub(super) fn snapshot(&self, snapshot: &str) -> HostResult<()> {
        let op = OpKind::DatasetSnapshot;
        self.zfs
            .snapshot(&[self.snap(op, snapshot)?])
            .map_err(|e| zfs_err(op, snapshot, e))
    }

    pub(super) fn clone(
        &self,
        host: &SimHost,
        snapshot: &str,
        name: &str,
        props: &DatasetProps,
    ) -> HostResult<()> {
        let op = OpKind::DatasetClone;
        let p = real_props(host, op, name, props)?;
        self.zfs
            .clone_snapshot(&self.snap(op, snapshot)?, &self.ds(op, name)?, &p)
            .map_err(|e| zfs_err(op, name, e))
    }

    pub(super) fn destroy(&self, name: &str) -> HostResult<()> {
        let op = OpKind::DatasetDestroy;
        let r = if name.contains('@') {
            self.zfs.destroy_snapshots(&[self.snap(op, name)?])
        } else {
            self.zfs.destroy(&self.ds(op, name)?)
        };
        r.map_err(|e| zfs_err(op, name, e))
    }

    pub(super) fn exists(&self, name: &str) -> HostResult<bool> {
        let op = OpKind::DatasetExists;
        let r = if name.contains('@') {
            self.zfs.snapshot_exists(&self.snap(op, name)?)
        } else {
            self.zfs.exists(&self.ds(op, name)?)
        };
        r.map_err(|e| zfs_err(op, name, e))
    }

    pub(super) fn clones(&self, snapshot: &str) -> HostResult<Vec<String>> {
        let op = OpKind::DatasetClones;
        let v = self
            .zfs
            .list_clones(&self.snap(op, snapshot)?)
            .map_err(|e| zfs_err(op, snapshot, e))?;
        Ok(v.iter().filter_map(|d| self.sim_name(d.as_str())).collect())
    }

    pub(super) fn mountpoint(&self, root: &Path, name: &str) -> HostResult<PathBuf> {
        let op = OpKind::DatasetMountpoint;
        let props = self
            .zfs
            .get_properties(&self.ds(op, name)?, &["mountpoint"])
            .map_err(|e| zfs_err(op, name, e))?;
        let mp = props
            .into_iter()
            .find(|p| p.name == "mountpoint")
            .map(|p| p.value)
            .unwrap_or_default();
        match Path::new(&mp).strip_prefix(root) {
            Ok(rel) => Ok(Path::new("/").join(rel)),
            Err(_) => Err(HostError::os_msg(
                op,
                Object::Dataset(name.into()),
                Errno::EINVAL,
                format!("real mountpoint {mp:?} is not under the simulated root"),
            )),
        }
    }

    /// `zfs mount`, retried while "busy" for up to [`MOUNT_BUSY_RETRY`]: zfs(8) without `-u`
    /// (zfs-fuse) mounts a new dataset and SimZfs unmounts it again, and zfs-fuse releases an
    /// unmounted filesystem asynchronously. If zfs(8)'s own mount of the new dataset was still
    /// in flight when it was unmounted, the dataset stays mounted at its mountpoint and zfs-fuse
    /// says "busy": the model (checked first) knows it is not mounted by anyone else, so that
    /// mount is the one asked for.
    pub(super) fn mount(&self, name: &str) -> HostResult<()> {
        let op = OpKind::MountZfs;
        let ds = self.ds(op, name)?;
        let start = Instant::now();
        loop {
            match self.zfs.mount(&ds) {
                Ok(_) => return Ok(()),
                Err(e)
                    if e.kind == ErrorKind::Busy && self.zfs.is_mounted(&ds).is_ok_and(|m| m) =>
                {
                    return Ok(());
                }
                Err(e) if e.kind == ErrorKind::Busy && start.elapsed() < MOUNT_BUSY_RETRY => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(zfs_err(op, name, e)),
            }
        }
    }

    pub(super) fn unmount(&self, name: &str, force: bool) -> HostResult<()> {
        let op = OpKind::Unmount;
        self.zfs
            .unmount(&self.ds(op, name)?, force)
            .map_err(|e| zfs_err(op, name, e))
    }
}

impl SimHost {
    /// A simulated host (as [`SimHost::new`]) whose datasets are real: every dataset operation
    /// and zfs mount goes to `zfs` after SimHost's own rules and fault injection have passed.
    /// Fails with ENOENT if the base dataset does not exist. Not persistent.
    pub fn with_zfs(root: impl AsRef<Path>, zfs: SimZfs) -> HostResult<SimHost> {
        let op = OpKind::DatasetExists;
        let base = zfs.base.to_string();
        match zfs.zfs.exists(&zfs.base) {
            Ok(true) => {}
            Ok(false) => {
                return Err(HostError::os_msg(
                    op,
                    Object::Dataset(base),
                    Errno::ENOENT,
                    "base dataset for the simulated pools does not exist",
                ));
            }
            Err(e) => return Err(zfs_err(op, &base, e)),
        }
        let mut h = SimHost::new(root)?;
        h.zfs = Some(zfs);
        Ok(h)
    }

    /// The real dataset layer, if this host has one.
    pub fn zfs(&self) -> Option<&SimZfs> {
        self.zfs.as_ref()
    }
}

/// The properties for the real call: those of [`crate::host::zprops`], with a `mountpoint` (a
/// host path) turned into the real path under the root.
fn real_props(host: &SimHost, op: OpKind, name: &str, props: &DatasetProps) -> HostResult<Props> {
    let mut real = props.clone();
    real.mountpoint = props.mountpoint.as_deref().map(|mp| host.real_path(mp));
    crate::host::zprops(op, name, &real)
}

/// The FreeBSD errno a ZFS failure of this kind stands for.
pub(crate) fn errno_of(kind: &ErrorKind) -> Errno {
    match kind {
        ErrorKind::Exists | ErrorKind::HasDependants(_) => Errno::EEXIST,
        ErrorKind::NotFound => Errno::ENOENT,
        ErrorKind::Busy | ErrorKind::AlreadyMounted => Errno::EBUSY,
        ErrorKind::Permission => Errno::EPERM,
        ErrorKind::InvalidName | ErrorKind::InvalidArgument | ErrorKind::NotMounted => {
            Errno::EINVAL
        }
        ErrorKind::Unavailable => Errno::ENXIO,
        ErrorKind::Unsupported => Errno::EOPNOTSUPP,
        ErrorKind::Snapshots(v) => v.first().map(|f| errno_of(&f.kind)).unwrap_or(Errno::EIO),
        ErrorKind::Other => Errno::EIO,
    }
}

/// A real ZFS failure as a host error naming the simulated dataset; the message is the backend's
/// (real names, zfs(8)'s stderr).
fn zfs_err(op: OpKind, name: &str, e: freebsd_zfs::Error) -> HostError {
    HostError::os_msg(
        op,
        Object::Dataset(name.into()),
        errno_of(&e.kind),
        e.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use freebsd_zfs::SnapshotFailure;

    #[test]
    fn errnos_of_zfs_failures() {
        assert_eq!(errno_of(&ErrorKind::HasDependants(vec![])), Errno::EEXIST);
        assert_eq!(errno_of(&ErrorKind::Busy), Errno::EBUSY);
        assert_eq!(errno_of(&ErrorKind::NotFound), Errno::ENOENT);
        let one = SnapshotFailure {
            snapshot: "p/a@s".into(),
            kind: ErrorKind::Exists,
            errno: None,
        };
        assert_eq!(errno_of(&ErrorKind::Snapshots(vec![one])), Errno::EEXIST);
        assert_eq!(errno_of(&ErrorKind::Other), Errno::EIO);
    }
}
