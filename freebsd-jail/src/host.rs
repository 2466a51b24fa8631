//! Host capability checks (FreeBSD): VIMAGE support, whether we run inside a jail, jail limits.

use crate::error::Result;
use crate::sys::sysctl_int;

/// The host's jail limits, as seen from the calling process.
///
/// There is no `security.jail.children.*` sysctl (13.2 and 14 kern_jail.c declare
/// `children.max`/`children.cur` only as jail *parameters*, `security.jail.param.children.*`),
/// so the numbers come from the kernel's own rules instead of a sysctl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    /// How many jails the caller's jail may hold (descendants included): for the host,
    /// prison0's `pr_childmax`, which kern_jail.c sets to `JAIL_MAX` (999999) and nothing
    /// changes. `None` inside a jail: its own `children.max` is visible only to its parent
    /// (jail_get(2) finds child jails only, kern_jail.c `prison_find_child`).
    pub children_max: Option<i32>,
    /// How many jails it holds now, dying ones included: kern_jail.c `kern_jail_set` counts
    /// a new jail in every ancestor's `pr_childcount`, and `prison_deref` uncounts it only
    /// when the jail is freed — i.e. every jail visible with `JAIL_DYING`.
    pub children_cur: i32,
    /// `security.jail.jail_max_af_ips`: the maximum number of addresses per family per jail.
    pub max_af_ips: i32,
}

/// kern_jail.c `JAIL_MAX`: prison0's `pr_childmax` and the highest jid.
pub const JAIL_MAX: i32 = 999_999;

/// Whether the kernel has VIMAGE (VNET jails): `kern.features.vimage` is 1. A missing sysctl
/// means no.
pub fn vimage_supported() -> Result<bool> {
    Ok(sysctl_int("kern.features.vimage")? == Some(1))
}

/// Whether the calling process runs inside a jail (`security.jail.jailed`).
pub fn is_jailed() -> Result<bool> {
    Ok(sysctl_int("security.jail.jailed")?.unwrap_or(0) != 0)
}

/// Reads the jail limits ([`HostLimits`]) from the running kernel.
pub fn limits() -> Result<HostLimits> {
    let mut children_cur = 0;
    for j in crate::sys::jails_including_dying() {
        j?;
        children_cur += 1;
    }
    Ok(HostLimits {
        children_max: if is_jailed()? { None } else { Some(JAIL_MAX) },
        children_cur,
        max_af_ips: sysctl_int("security.jail.jail_max_af_ips")?.unwrap_or(255),
    })
}
