//! Host capability checks (FreeBSD): VIMAGE support, whether we run inside a jail, jail limits.

use crate::error::{Error, Result};
use crate::sys::sysctl_int;

/// The host's jail limits, as seen from the calling process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    /// `security.jail.children.max`: how many child jails the caller's jail may have.
    pub children_max: i32,
    /// `security.jail.children.cur`: how many it has now.
    pub children_cur: i32,
    /// `security.jail.jail_max_af_ips`: the maximum number of addresses per family per jail.
    pub max_af_ips: i32,
}

/// Whether the kernel has VIMAGE (VNET jails): `kern.features.vimage` is 1. A missing sysctl
/// means no.
pub fn vimage_supported() -> Result<bool> {
    Ok(sysctl_int("kern.features.vimage")? == Some(1))
}

/// Whether the calling process runs inside a jail (`security.jail.jailed`).
pub fn is_jailed() -> Result<bool> {
    Ok(sysctl_int("security.jail.jailed")?.unwrap_or(0) != 0)
}

fn required(name: &str) -> Result<i32> {
    sysctl_int(name)?.ok_or_else(|| Error::Sysctl {
        name: name.to_string(),
        source: std::io::Error::from_raw_os_error(libc::ENOENT),
    })
}

/// Reads the jail limits ([`HostLimits`]).
pub fn limits() -> Result<HostLimits> {
    Ok(HostLimits {
        children_max: required("security.jail.children.max")?,
        children_cur: required("security.jail.children.cur")?,
        max_af_ips: sysctl_int("security.jail.jail_max_af_ips")?.unwrap_or(255),
    })
}
