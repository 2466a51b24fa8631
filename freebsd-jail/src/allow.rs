//! The `allow.*` boolean parameters as bitflags, `allow.mount.<fs>` included.

bitflags::bitflags! {
    /// The `allow.*` permissions of a jail (`jail(8)`, "allow.*"), FreeBSD 14.
    ///
    /// Each flag maps to one boolean parameter ([`Allow::param_names`]). Booleans are sent by
    /// presence: a set flag sends `allow.X`, a flag explicitly denied sends `allow.noX` (the
    /// kernel ignores any value, so `allow.X=0` would *set* it).
    ///
    /// `SET_HOSTNAME` … `SUSER` are the kernel's static list (`pr_flag_allow` in
    /// `kern_jail.c`). The others are registered at run time by a subsystem or module: the
    /// `allow.mount.<fs>` flags while that file system is loaded, `allow.nfsd` with the NFS
    /// server, `allow.extattr`/`adjtime`/`settime`/`routing` on kernels that have them (recent
    /// 13.x/14.x; the exact releases are not verified here). A kernel without one answers
    /// `EINVAL` "unknown parameter: allow.X", which [`Error::InvalidParameter`](crate::Error)
    /// names. Any other `allow.*` parameter goes through
    /// [`JailParamsBuilder::param`](crate::JailParamsBuilder::param).
    ///
    /// ```
    /// use freebsd_jail::Allow;
    /// let a = Allow::RAW_SOCKETS | Allow::MOUNT_ZFS;
    /// assert_eq!(a.param_names(), vec!["allow.raw_sockets", "allow.mount.zfs"]);
    /// assert_eq!(a.no_param_names(), vec!["allow.noraw_sockets", "allow.mount.nozfs"]);
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Allow: u32 {
        /// `allow.set_hostname`: the jail may change its hostname.
        const SET_HOSTNAME = 1 << 0;
        /// `allow.sysvipc`: System V IPC (deprecated in favour of `sysvmsg`/`sysvsem`/`sysvshm`).
        const SYSVIPC = 1 << 1;
        /// `allow.raw_sockets`: raw sockets (ping, traceroute).
        const RAW_SOCKETS = 1 << 2;
        /// `allow.chflags`: change system file flags.
        const CHFLAGS = 1 << 3;
        /// `allow.mount`: mount file systems marked jail-friendly.
        const MOUNT = 1 << 4;
        /// `allow.quotas`: administer quotas.
        const QUOTAS = 1 << 5;
        /// `allow.socket_af`: sockets of protocol families other than local, IPv4, IPv6, route.
        const SOCKET_AF = 1 << 6;
        /// `allow.mlock`: lock memory.
        const MLOCK = 1 << 7;
        /// `allow.reserved_ports`: bind ports below 1024 as root.
        const RESERVED_PORTS = 1 << 8;
        /// `allow.read_msgbuf`: read the kernel message buffer.
        const READ_MSGBUF = 1 << 9;
        /// `allow.unprivileged_proc_debug`: unprivileged debugging.
        const UNPRIVILEGED_PROC_DEBUG = 1 << 10;
        /// `allow.suser`: the super-user is privileged inside the jail.
        const SUSER = 1 << 11;
        /// `allow.nfsd`: run an NFS server (VNET jails).
        const NFSD = 1 << 12;
        /// `allow.extattr`: manipulate system extended attributes.
        const EXTATTR = 1 << 13;
        /// `allow.adjtime`: slew the clock.
        const ADJTIME = 1 << 14;
        /// `allow.settime`: set the clock.
        const SETTIME = 1 << 15;
        /// `allow.routing`: modify the routing table (non-VNET jails).
        const ROUTING = 1 << 16;
        /// `allow.mount.devfs`.
        const MOUNT_DEVFS = 1 << 20;
        /// `allow.mount.fdescfs`.
        const MOUNT_FDESCFS = 1 << 21;
        /// `allow.mount.fusefs`.
        const MOUNT_FUSEFS = 1 << 22;
        /// `allow.mount.linprocfs`.
        const MOUNT_LINPROCFS = 1 << 23;
        /// `allow.mount.linsysfs`.
        const MOUNT_LINSYSFS = 1 << 24;
        /// `allow.mount.nullfs`.
        const MOUNT_NULLFS = 1 << 25;
        /// `allow.mount.procfs`.
        const MOUNT_PROCFS = 1 << 26;
        /// `allow.mount.tmpfs`.
        const MOUNT_TMPFS = 1 << 27;
        /// `allow.mount.zfs`.
        const MOUNT_ZFS = 1 << 28;
    }
}

/// `(flag, parameter name)` in the order parameters are encoded.
const NAMES: &[(Allow, &str)] = &[
    (Allow::SET_HOSTNAME, "allow.set_hostname"),
    (Allow::SYSVIPC, "allow.sysvipc"),
    (Allow::RAW_SOCKETS, "allow.raw_sockets"),
    (Allow::CHFLAGS, "allow.chflags"),
    (Allow::MOUNT, "allow.mount"),
    (Allow::QUOTAS, "allow.quotas"),
    (Allow::SOCKET_AF, "allow.socket_af"),
    (Allow::MLOCK, "allow.mlock"),
    (Allow::RESERVED_PORTS, "allow.reserved_ports"),
    (Allow::READ_MSGBUF, "allow.read_msgbuf"),
    (
        Allow::UNPRIVILEGED_PROC_DEBUG,
        "allow.unprivileged_proc_debug",
    ),
    (Allow::SUSER, "allow.suser"),
    (Allow::NFSD, "allow.nfsd"),
    (Allow::EXTATTR, "allow.extattr"),
    (Allow::ADJTIME, "allow.adjtime"),
    (Allow::SETTIME, "allow.settime"),
    (Allow::ROUTING, "allow.routing"),
    (Allow::MOUNT_DEVFS, "allow.mount.devfs"),
    (Allow::MOUNT_FDESCFS, "allow.mount.fdescfs"),
    (Allow::MOUNT_FUSEFS, "allow.mount.fusefs"),
    (Allow::MOUNT_LINPROCFS, "allow.mount.linprocfs"),
    (Allow::MOUNT_LINSYSFS, "allow.mount.linsysfs"),
    (Allow::MOUNT_NULLFS, "allow.mount.nullfs"),
    (Allow::MOUNT_PROCFS, "allow.mount.procfs"),
    (Allow::MOUNT_TMPFS, "allow.mount.tmpfs"),
    (Allow::MOUNT_ZFS, "allow.mount.zfs"),
];

/// The `no` counterpart of a boolean parameter name, as libjail forms it: `no` goes before the
/// last component (`persist` → `nopersist`, `allow.mount.zfs` → `allow.mount.nozfs`).
///
/// ```
/// assert_eq!(freebsd_jail::no_name("allow.mount.zfs"), "allow.mount.nozfs");
/// assert_eq!(freebsd_jail::no_name("persist"), "nopersist");
/// ```
pub fn no_name(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((head, last)) => format!("{head}.no{last}"),
        None => format!("no{name}"),
    }
}

impl Allow {
    /// The kernel parameter name of each set flag, in a fixed order.
    pub fn param_names(self) -> Vec<&'static str> {
        NAMES
            .iter()
            .filter(|(f, _)| self.contains(*f))
            .map(|(_, n)| *n)
            .collect()
    }

    /// The `no` form of each set flag's parameter name (what denying it sends).
    pub fn no_param_names(self) -> Vec<String> {
        self.param_names().into_iter().map(no_name).collect()
    }

    /// The flag for a parameter name (`"allow.raw_sockets"`), if it is one of these.
    pub fn from_param_name(name: &str) -> Option<Allow> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }

    /// Collects the flags whose boolean value is true from decoded `jail_get(2)` results
    /// (`("allow.mlock", Value::Bool(true))`, …); other parameters are ignored.
    ///
    /// ```
    /// use freebsd_jail::{Allow, Value};
    /// let got = vec![
    ///     ("allow.mlock".to_string(), Value::Bool(true)),
    ///     ("allow.mount.zfs".to_string(), Value::Bool(false)),
    ///     ("jid".to_string(), Value::Int(3)),
    /// ];
    /// assert_eq!(Allow::from_values(&got), Allow::MLOCK);
    /// ```
    pub fn from_values(values: &[(String, crate::Value)]) -> Allow {
        values
            .iter()
            .filter(|(_, v)| *v == crate::Value::Bool(true))
            .filter_map(|(n, _)| Allow::from_param_name(n))
            .fold(Allow::empty(), |a, f| a | f)
    }

    /// The flag for an `allow.mount.<fs>` file system name (`"zfs"`).
    ///
    /// ```
    /// use freebsd_jail::Allow;
    /// assert_eq!(Allow::mount_fs("nullfs"), Some(Allow::MOUNT_NULLFS));
    /// assert_eq!(Allow::mount_fs("ext2fs"), None);
    /// ```
    pub fn mount_fs(fs: &str) -> Option<Allow> {
        Allow::from_param_name(&format!("allow.mount.{fs}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_has_one_name() {
        for f in Allow::all().iter() {
            let names = f.param_names();
            assert_eq!(names.len(), 1, "{f:?}");
            assert_eq!(Allow::from_param_name(names[0]), Some(f));
        }
        assert_eq!(Allow::all().param_names().len(), NAMES.len());
        assert_eq!(Allow::from_param_name("allow.bogus"), None);
    }

    #[test]
    fn no_names_follow_libjail() {
        assert_eq!(
            (Allow::SET_HOSTNAME | Allow::MOUNT).no_param_names(),
            vec!["allow.noset_hostname", "allow.nomount"]
        );
        assert_eq!(no_name("ip4.saddrsel"), "ip4.nosaddrsel");
    }
}
