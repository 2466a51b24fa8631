//! thinjail: typed FreeBSD bindings for VNET + thin jails, and the plans that compose them.
//!
//! This crate re-exports the workspace's libraries under one name:
//!
//! | module | crate | wraps |
//! |---|---|---|
//! | [`jail`] | `freebsd-jail` | `jail_set(2)`, `jail_get(2)`, `jail_remove(2)`, `jail_attach(2)` |
//! | [`zfs`] | `freebsd-zfs` | libzfs_core and zfs(8) |
//! | [`netif`] | `freebsd-netif` | interface ioctls and the routing socket |
//! | [`core`] | `thinjail-core` | the recipe as types and plans |
//! | [`release`] | `thinjail-release` | release archives: MANIFEST, download, extraction, skeleton split |
//!
//! ```
//! use thinjail::jail::JailFlags;
//! assert!(JailFlags::all().contains(JailFlags::CREATE));
//! ```

pub use freebsd_jail as jail;
pub use freebsd_netif as netif;
pub use freebsd_zfs as zfs;
pub use thinjail_core as core;
pub use thinjail_release as release;
