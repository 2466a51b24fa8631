//! ZFS datasets, snapshots, clones and mounts for FreeBSD, through libzfs_core (no process
//! spawned) or the zfs(8) command.
//!
//! ```
//! assert_eq!(freebsd_zfs::abi::MNT_FORCE, 0x0008_0000);
//! ```

pub mod abi;
