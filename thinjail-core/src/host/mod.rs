//! The seam between plans and the kernel: every primitive operation a thin-jail plan needs.
//!
//! [`Host`] is implemented by [`crate::sim::SimHost`] (an in-memory model of the FreeBSD kernel
//! with real file I/O under a root directory) and, on FreeBSD, by a host that makes the real
//! system calls through the `freebsd-*` crates.
//!
//! Paths passed to a `Host` are the host's own absolute paths (`/zdata/jails/dev`); a simulated
//! host places them under its root directory. Names are plain strings here and validated by the
//! host with the kernel's rules (the kernel's errno comes back in [`HostError`]).
//!
//! Errno values in this module are FreeBSD's (see [`Errno`]), whatever OS the code runs on.
//!
//! ```
//! use thinjail_core::host::{Errno, HostError, Object, OpKind};
//! let e = HostError::os(OpKind::JailCreate, Object::Jail("dev".into()), Errno::EEXIST);
//! assert_eq!(e.errno(), Some(Errno::EEXIST));
//! assert_eq!(e.to_string(), "jail_create: jail \"dev\": EEXIST (17)");
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

mod freebsd;
pub(crate) use freebsd::zprops;
#[cfg(target_os = "freebsd")]
pub use freebsd::{FreeBsdHost, OpenError};

/// A FreeBSD errno value (the numbers of FreeBSD's `<sys/errno.h>`, not the build host's).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $v:expr, $doc:expr;)*) => {
        impl Errno {
            $(#[doc = $doc] pub const $name: Errno = Errno($v);)*
            /// The symbolic name (`"EEXIST"`), or `"E?"` for a number this table does not know.
            pub fn name(self) -> &'static str {
                match self.0 { $($v => stringify!($name),)* _ => "E?" }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted.";
    ENOENT = 2, "No such file or directory / object not found.";
    ESRCH = 3, "No such process / route not found.";
    EIO = 5, "Input/output error.";
    ENXIO = 6, "Device not configured (unknown interface or jail for an interface ioctl).";
    EBUSY = 16, "Device busy (mount, dataset or bridge member in use).";
    EEXIST = 17, "File (or object) exists.";
    EXDEV = 18, "Cross-device link (clone into another pool).";
    ENODEV = 19, "Operation not supported by device.";
    ENOTDIR = 20, "Not a directory.";
    EINVAL = 22, "Invalid argument.";
    ENOSPC = 28, "No space left (unit numbers exhausted, name does not fit).";
    EROFS = 30, "Read-only file system.";
    EAGAIN = 35, "Resource temporarily unavailable.";
    EOPNOTSUPP = 45, "Operation not supported.";
    EADDRINUSE = 48, "Address already in use (an IPv4 address the interface has with another prefix).";
    EADDRNOTAVAIL = 49, "Cannot assign requested address (address not on the interface).";
    ENETUNREACH = 51, "Network is unreachable (gateway not on-link).";
    ETIMEDOUT = 60, "Operation timed out (a jail command outlived its timeout).";
    ELOOP = 62, "Too many levels of symbolic links.";
    ENAMETOOLONG = 63, "File (or interface, jail, dataset) name too long.";
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Which primitive operation was called (for errors, the operation log and fault injection).
#[allow(missing_docs)] // each variant is the `Host` method of the same name
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    DatasetCreate,
    DatasetSnapshot,
    DatasetClone,
    DatasetDestroy,
    DatasetExists,
    DatasetClones,
    DatasetMountpoint,
    MountNullfs,
    MountDevfs,
    MountZfs,
    Unmount,
    Mounts,
    DevfsRulesetLoaded,
    JailCreate,
    JailRemove,
    Jails,
    JailByName,
    JailExec,
    EpairCreate,
    BridgeCreate,
    IfDestroy,
    IfRename,
    IfSetDescription,
    IfSetUp,
    BridgeAddm,
    BridgeDeletem,
    IfMoveToJail,
    IfMoveFromJail,
    Interfaces,
    JailIfAddrAdd,
    JailIfAddrDelete,
    JailIfSetUp,
    JailRouteAddDefault,
    JailRouteDeleteDefault,
    FileType,
    Mkdir,
    WriteFile,
    RemoveFile,
    RemoveDir,
    BootStamp,
}

impl OpKind {
    /// True for operations that only read state.
    pub fn is_query(self) -> bool {
        matches!(
            self,
            OpKind::DatasetExists
                | OpKind::DatasetClones
                | OpKind::DatasetMountpoint
                | OpKind::Mounts
                | OpKind::DevfsRulesetLoaded
                | OpKind::Jails
                | OpKind::JailByName
                | OpKind::Interfaces
                | OpKind::FileType
                | OpKind::BootStamp
        )
    }

    /// The snake_case name (`"jail_create"`).
    pub fn as_str(self) -> &'static str {
        OP_NAMES
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap_or("op")
    }

    /// Every operation kind.
    pub fn all() -> impl Iterator<Item = OpKind> {
        OP_NAMES.iter().map(|(_, k)| *k)
    }
}

const OP_NAMES: &[(&str, OpKind)] = &[
    ("dataset_create", OpKind::DatasetCreate),
    ("dataset_snapshot", OpKind::DatasetSnapshot),
    ("dataset_clone", OpKind::DatasetClone),
    ("dataset_destroy", OpKind::DatasetDestroy),
    ("dataset_exists", OpKind::DatasetExists),
    ("dataset_clones", OpKind::DatasetClones),
    ("dataset_mountpoint", OpKind::DatasetMountpoint),
    ("mount_nullfs", OpKind::MountNullfs),
    ("mount_devfs", OpKind::MountDevfs),
    ("mount_zfs", OpKind::MountZfs),
    ("unmount", OpKind::Unmount),
    ("mounts", OpKind::Mounts),
    ("devfs_ruleset_loaded", OpKind::DevfsRulesetLoaded),
    ("jail_create", OpKind::JailCreate),
    ("jail_remove", OpKind::JailRemove),
    ("jails", OpKind::Jails),
    ("jail_by_name", OpKind::JailByName),
    ("jail_exec", OpKind::JailExec),
    ("epair_create", OpKind::EpairCreate),
    ("bridge_create", OpKind::BridgeCreate),
    ("if_destroy", OpKind::IfDestroy),
    ("if_rename", OpKind::IfRename),
    ("if_set_description", OpKind::IfSetDescription),
    ("if_set_up", OpKind::IfSetUp),
    ("bridge_addm", OpKind::BridgeAddm),
    ("bridge_deletem", OpKind::BridgeDeletem),
    ("if_move_to_jail", OpKind::IfMoveToJail),
    ("if_move_from_jail", OpKind::IfMoveFromJail),
    ("interfaces", OpKind::Interfaces),
    ("jail_if_addr_add", OpKind::JailIfAddrAdd),
    ("jail_if_addr_delete", OpKind::JailIfAddrDelete),
    ("jail_if_set_up", OpKind::JailIfSetUp),
    ("jail_route_add_default", OpKind::JailRouteAddDefault),
    ("jail_route_delete_default", OpKind::JailRouteDeleteDefault),
    ("file_type", OpKind::FileType),
    ("mkdir", OpKind::Mkdir),
    ("write_file", OpKind::WriteFile),
    ("remove_file", OpKind::RemoveFile),
    ("remove_dir", OpKind::RemoveDir),
    ("boot_stamp", OpKind::BootStamp),
];

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The object an operation was about (named in every error).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum Object {
    /// A ZFS dataset or snapshot (`zdata/jails/dev`, `zdata/t@base`).
    Dataset(String),
    /// A path on the host (`/zdata/jails/dev/dev`).
    Path(PathBuf),
    /// A jail by name.
    Jail(String),
    /// A jail by jid.
    Jid(i32),
    /// A network interface by name, and the jail whose vnet it is in (`None` = host).
    Interface {
        /// Interface name.
        name: String,
        /// Jail (vnet) the name was looked up in; `None` for the host's vnet.
        jid: Option<i32>,
    },
    /// An interface cloner (`epair`, `bridge`).
    Cloner(String),
    /// A devfs ruleset number.
    Ruleset(u16),
    /// A sysctl (`kern.boottime`) or clock the host reads.
    Sysctl(String),
}

impl Object {
    /// An interface in the host's vnet.
    pub fn iface(name: &str) -> Object {
        Object::Interface {
            name: name.to_string(),
            jid: None,
        }
    }
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Object::Dataset(d) => write!(f, "dataset {d:?}"),
            Object::Path(p) => write!(f, "path {:?}", p.display().to_string()),
            Object::Jail(j) => write!(f, "jail {j:?}"),
            Object::Jid(j) => write!(f, "jid {j}"),
            Object::Interface { name, jid: None } => write!(f, "interface {name:?}"),
            Object::Interface { name, jid: Some(j) } => write!(f, "interface {name:?} in jid {j}"),
            Object::Cloner(c) => write!(f, "cloner {c:?}"),
            Object::Ruleset(r) => write!(f, "devfs ruleset {r}"),
            Object::Sysctl(n) => write!(f, "sysctl {n}"),
        }
    }
}

/// An error from a [`Host`] operation: the operation, the object, the errno and (where the kernel
/// gives one) its message.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A system call (or its simulation) failed with an errno.
    #[error("{op}: {object}: {errno}{}", errmsg.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Os {
        /// The operation.
        op: OpKind,
        /// What it was about.
        object: Object,
        /// FreeBSD errno.
        errno: Errno,
        /// The kernel's message (jail_set / nmount `errmsg`), if any.
        errmsg: Option<String>,
    },
    /// Real file I/O failed (file-tree work is real on every host).
    #[error("{op}: {}: {source}", path.display())]
    Io {
        /// The operation.
        op: OpKind,
        /// The path as the caller named it.
        path: PathBuf,
        /// The OS error (errno of the OS the code runs on).
        #[source]
        source: io::Error,
    },
}

impl HostError {
    /// An errno error without a kernel message.
    pub fn os(op: OpKind, object: Object, errno: Errno) -> HostError {
        HostError::Os {
            op,
            object,
            errno,
            errmsg: None,
        }
    }

    /// An errno error with the kernel's message.
    pub fn os_msg(op: OpKind, object: Object, errno: Errno, msg: impl Into<String>) -> HostError {
        HostError::Os {
            op,
            object,
            errno,
            errmsg: Some(msg.into()),
        }
    }

    /// The FreeBSD errno for [`HostError::Os`]; `None` for I/O errors.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            HostError::Os { errno, .. } => Some(*errno),
            HostError::Io { .. } => None,
        }
    }

    /// True if this says the object does not exist (`ENOENT`, or an I/O `NotFound`).
    pub fn is_not_found(&self) -> bool {
        match self {
            HostError::Os { errno, .. } => *errno == Errno::ENOENT,
            HostError::Io { source, .. } => source.kind() == io::ErrorKind::NotFound,
        }
    }

    /// The operation that failed.
    pub fn op(&self) -> OpKind {
        match self {
            HostError::Os { op, .. } | HostError::Io { op, .. } => *op,
        }
    }
}

/// Result of a [`Host`] operation.
pub type HostResult<T> = Result<T, HostError>;

/// ZFS `canmount` (an index property: off=0, on=1, noauto=2).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CanMount {
    /// `canmount=on`
    On,
    /// `canmount=off`
    Off,
    /// `canmount=noauto`
    NoAuto,
}

/// Properties set when a dataset is created or cloned.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct DatasetProps {
    /// `mountpoint` (string property); `None` inherits.
    pub mountpoint: Option<PathBuf>,
    /// `canmount`; `None` = default (`on`).
    pub canmount: Option<CanMount>,
    /// User properties (`thinjail:role` = `template`); names must contain `:`.
    pub user: BTreeMap<String, String>,
}

/// Filesystem type of a mount.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsType {
    /// nullfs (a directory shown at a second place).
    Nullfs,
    /// devfs.
    Devfs,
    /// zfs.
    Zfs,
}

/// One mounted filesystem.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MountInfo {
    /// Filesystem type.
    pub fstype: FsType,
    /// Source: the lower directory (nullfs), `"devfs"`, or the dataset name (zfs).
    pub source: String,
    /// Mount point.
    pub at: PathBuf,
    /// Mounted read-only.
    pub readonly: bool,
    /// devfs ruleset the mount uses.
    pub ruleset: Option<u16>,
}

/// Parameters of a new jail (always created with `persist`).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct JailSpec {
    /// `name` (unique among live jails; all digits = also the jid).
    pub name: String,
    /// `path`: the jail's root directory (must exist and be a directory).
    pub path: PathBuf,
    /// `host.hostname`.
    pub hostname: Option<String>,
    /// `vnet=1` (new vnet).
    pub vnet: bool,
    /// `ip4.addr` (refused together with `vnet`, as the kernel does).
    pub ip4: Vec<Ipv4Addr>,
    /// `devfs_ruleset`.
    pub devfs_ruleset: Option<u16>,
    /// `enforce_statfs` (0..=2).
    pub enforce_statfs: Option<u32>,
    /// `children.max`.
    pub children_max: Option<u32>,
    /// Boolean `allow.*` parameters to set, without the `allow.` prefix (`raw_sockets`).
    pub allow: Vec<String>,
    /// Further parameters in jail(8)'s text form, passed in order after the fields above, as
    /// jail.conf does: `(name, Some(value))` for `name=value`, `(name, None)` for a bare name
    /// (`("securelevel", Some("3"))`, `("sysvshm", Some("new"))`, `("allow.mount.nullfs",
    /// None)`, `("allow.nomlock", None)`). Each is converted to the type the kernel declares
    /// for it (see [`crate::jailparams`]); unknown names fail with `ENOENT` "unknown parameter",
    /// bad values with `EINVAL`. The fields above are set through their own fields: `name`,
    /// `path`, `host.hostname`, `vnet`, `persist`, `devfs_ruleset`, `enforce_statfs`,
    /// `children.max` and `ip4.addr` here are refused with `EINVAL`.
    #[serde(default)]
    pub params: Vec<(String, Option<String>)>,
}

/// Names [`JailSpec::params`] must not carry: [`JailSpec`] has a field for each.
pub const SPEC_FIELD_PARAMS: &[&str] = &[
    "name",
    "path",
    "host.hostname",
    "vnet",
    "persist",
    "devfs_ruleset",
    "enforce_statfs",
    "children.max",
    "ip4.addr",
];

/// A live jail.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct JailInfo {
    /// jid.
    pub jid: i32,
    /// name.
    pub name: String,
    /// path.
    pub path: PathBuf,
    /// host.hostname.
    pub hostname: String,
    /// Has its own vnet.
    pub vnet: bool,
    /// devfs_ruleset.
    pub devfs_ruleset: u16,
    /// The further parameters it was created with ([`JailSpec::params`]), by positive name in
    /// jail(8)'s text form as `jls -n` prints them (`securelevel` → `"3"`, `allow.mlock` →
    /// `"true"`, `sysvshm` → `"new"`). Filled by [`crate::sim::SimHost`]; the real host
    /// leaves it empty (`jail_get(2)` would need each parameter named).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

/// A command run inside a jail (`exec.start`, `exec.stop`): fork, `jail_attach`, exec.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct JailCommand {
    /// argv; `argv[0]` is an absolute path inside the jail.
    pub argv: Vec<String>,
    /// The complete environment (exec.clean semantics: nothing else is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory inside the jail.
    pub cwd: PathBuf,
    /// `exec.consolelog`: host path that receives stdout and stderr (appended).
    pub console_log: Option<PathBuf>,
    /// How long to wait for the command (jail(8)'s `exec.timeout`); when it passes, the command
    /// is killed and the call fails with `ETIMEDOUT`. `None` waits for as long as it runs.
    #[serde(default)]
    pub timeout: Option<std::time::Duration>,
}

/// A pair of epair interfaces.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EpairPair {
    /// The `a` side (returned by the cloner; stays on the host).
    pub a: String,
    /// The `b` side (usually moved into a jail).
    pub b: String,
}

/// Kind of an interface.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IfKind {
    /// Loopback (`lo0`).
    Loopback,
    /// One half of an epair.
    Epair,
    /// if_bridge.
    Bridge,
}

/// An interface as seen from one vnet.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct IfInfo {
    /// Current name.
    pub name: String,
    /// Kind.
    pub kind: IfKind,
    /// `IFF_UP`.
    pub up: bool,
    /// Description (`SIOCSIFDESCR`).
    pub description: Option<String>,
    /// IPv4 addresses with prefix length.
    pub addrs: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses with prefix length (kernel-made link-local addresses included where the
    /// host reports them; SimHost does not invent any).
    #[serde(default)]
    pub addrs6: Vec<(Ipv6Addr, u8)>,
    /// Bridge members (bridges only).
    pub members: Vec<String>,
    /// The bridge this interface is a member of.
    pub member_of: Option<String>,
}

impl IfInfo {
    /// Its addresses as `addr/prefix`, IPv4 first (see [`cidrs`]).
    pub fn addresses(&self) -> Vec<String> {
        cidrs(&self.addrs, &self.addrs6)
    }
}

/// Addresses as `addr/prefix` strings, IPv4 then IPv6, as ifconfig(8) lists them.
///
/// ```
/// use thinjail_core::host::cidrs;
/// let v4 = ["192.168.7.253".parse().unwrap()].map(|a| (a, 24));
/// let v6 = ["2001:db8::fd".parse().unwrap()].map(|a| (a, 64));
/// assert_eq!(cidrs(&v4, &v6), ["192.168.7.253/24", "2001:db8::fd/64"]);
/// ```
pub fn cidrs(v4: &[(Ipv4Addr, u8)], v6: &[(Ipv6Addr, u8)]) -> Vec<String> {
    v4.iter()
        .map(|(a, p)| format!("{a}/{p}"))
        .chain(v6.iter().map(|(a, p)| format!("{a}/{p}")))
        .collect()
}

/// An address family: which routing table a default route is in (`route -4` / `route -6`).
///
/// ```
/// use thinjail_core::host::AddrFamily;
/// assert_eq!(AddrFamily::of("2001:db8::1".parse().unwrap()), AddrFamily::Inet6);
/// assert_eq!(AddrFamily::Inet.to_string(), "inet");
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum AddrFamily {
    /// `AF_INET` (IPv4).
    #[default]
    Inet,
    /// `AF_INET6` (IPv6).
    Inet6,
}

impl AddrFamily {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> AddrFamily {
        match addr {
            IpAddr::V4(_) => AddrFamily::Inet,
            IpAddr::V6(_) => AddrFamily::Inet6,
        }
    }
}

impl fmt::Display for AddrFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddrFamily::Inet => "inet",
            AddrFamily::Inet6 => "inet6",
        })
    }
}

/// What a path is.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum FileKind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link (not followed).
    Symlink,
    /// Anything else.
    Other,
}

/// The message of an unmount refused (EBUSY) because a removed jail is still dying under that
/// path: kern_jail.c frees a prison, and `prison_complete` releases its root vnode, only when
/// its last reference goes (processes still exiting, sockets — TCP TIME_WAIT holds one for
/// 2 MSL, 60 s by default).
pub fn dying_jail_message(name: &str, jid: i32) -> String {
    format!(
        "held by jail {name:?} (jid {jid}), removed but still dying until its last processes and sockets (TCP TIME_WAIT: about a minute) are gone; `jls -d` lists it; run the command again then"
    )
}

/// Which boot of the kernel is running, as a journal records it: `kern.boottime` and the
/// uptime, both in microseconds, read together.
///
/// kern.boottime alone does not identify a boot: the kernel keeps it as "now − uptime", so
/// setting the clock moves it (kern_tc.c `tc_setclock` → `tc_windup` with a new boottime).
/// [`BootStamp::is_earlier_boot`] therefore asks two questions that a clock step cannot make
/// true: is the uptime now less than it was (the monotonic uptime only grows within a boot), or
/// did the running kernel boot after the stamp was taken?
///
/// ```
/// use thinjail_core::host::BootStamp;
/// let journal = BootStamp { boottime_us: 1_000_000_000, uptime_us: 60_000_000 };
/// // Same boot, a minute later, after the clock was stepped back by 5 s.
/// let later = BootStamp { boottime_us: 995_000_000, uptime_us: 120_000_000 };
/// assert!(!journal.is_earlier_boot(&later));
/// // Rebooted an hour after the journal was written, now up for 2 minutes.
/// let rebooted = BootStamp { boottime_us: 1_000_000_000 + 3_600_000_000, uptime_us: 120_000_000 };
/// assert!(journal.is_earlier_boot(&rebooted));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct BootStamp {
    /// `kern.boottime` (microseconds since the epoch).
    pub boottime_us: u64,
    /// `clock_gettime(CLOCK_UPTIME)` (microseconds since boot).
    pub uptime_us: u64,
}

impl BootStamp {
    /// True when `now` describes a later boot than the one this stamp was taken in: its uptime
    /// is smaller, or it booted after the stamp's moment (`boottime + uptime`). A forward clock
    /// step larger than the stamp's uptime reads as a reboot (kernel objects are then left
    /// alone, never destroyed wrongly); a reboot into a clock set before the stamp's moment and
    /// up longer than the stamp's uptime reads as the same boot.
    pub fn is_earlier_boot(&self, now: &BootStamp) -> bool {
        now.uptime_us < self.uptime_us
            || now.boottime_us > self.boottime_us.saturating_add(self.uptime_us)
    }
}

/// The primitive operations of the thin-jail recipe. Every method is one system call (or a short
/// fixed sequence of them) and fails with the kernel's errno naming the object.
///
/// Implementations are `Send + Sync`: plans for different jails run concurrently against one host.
pub trait Host: Send + Sync {
    // ---- datasets (libzfs_core semantics: create and clone do not mount) ----
    /// `lzc_create(name, ZFS, props)`: ENOENT if the parent is missing, EEXIST if it exists.
    fn dataset_create(&self, name: &str, props: &DatasetProps) -> HostResult<()>;
    /// `lzc_snapshot({snapshot})` for `pool/fs@snap`.
    fn dataset_snapshot(&self, snapshot: &str) -> HostResult<()>;
    /// `lzc_clone(name, snapshot, props)`.
    fn dataset_clone(&self, snapshot: &str, name: &str, props: &DatasetProps) -> HostResult<()>;
    /// `lzc_destroy(name)` for a filesystem or a snapshot: EEXIST with children, snapshots or
    /// clones, EBUSY while mounted.
    fn dataset_destroy(&self, name: &str) -> HostResult<()>;
    /// `lzc_exists(name)`.
    fn dataset_exists(&self, name: &str) -> HostResult<bool>;
    /// The clones of a snapshot (its `clones` property).
    fn dataset_clones(&self, snapshot: &str) -> HostResult<Vec<String>>;
    /// The effective `mountpoint` of a filesystem (inherited if not set).
    fn dataset_mountpoint(&self, name: &str) -> HostResult<PathBuf>;

    // ---- mounts (nmount / unmount) ----
    /// `nmount(fstype=nullfs, fspath=at, target=lower[, ro])`.
    fn mount_nullfs(&self, lower: &Path, at: &Path, readonly: bool) -> HostResult<()>;
    /// `nmount(fstype=devfs, fspath=at, from=".", ruleset=N)`. Mounting with a ruleset that is
    /// not loaded silently exposes all devices: check [`Host::devfs_ruleset_loaded`] first.
    fn mount_devfs(&self, at: &Path, ruleset: u16) -> HostResult<()>;
    /// `nmount(fstype=zfs, fspath=at, from=dataset)`, creating `at` first like libzfs does.
    fn mount_zfs(&self, dataset: &str, at: &Path) -> HostResult<()>;
    /// `unmount(at, force ? MNT_FORCE : 0)`: EINVAL if not a mount point, EBUSY if in use.
    fn unmount(&self, at: &Path, force: bool) -> HostResult<()>;
    /// The mount table (`getfsstat`), in mount order.
    fn mounts(&self) -> HostResult<Vec<MountInfo>>;
    /// Is this devfs ruleset loaded, i.e. does it hold at least one rule (`DEVFSIO_RGETNEXT`
    /// from rule 0, as `devfs rule -s N show`)? A ruleset that only exists is not: devfs_rule.c
    /// `devfs_ruleset_use` creates unknown rulesets, empty, when a mount names them.
    fn devfs_ruleset_loaded(&self, ruleset: u16) -> HostResult<bool>;

    // ---- jails ----
    /// `jail_set(JAIL_CREATE)` with `persist` and the spec's parameters; returns the jid.
    fn jail_create(&self, spec: &JailSpec) -> HostResult<i32>;
    /// `jail_remove(jid)`: EINVAL if no such jail.
    fn jail_remove(&self, jid: i32) -> HostResult<()>;
    /// All live jails (`jail_get` with `lastjid` iteration).
    fn jails(&self) -> HostResult<Vec<JailInfo>>;
    /// `jail_get(name=…)`; `Ok(None)` when the kernel says ENOENT.
    fn jail_by_name(&self, name: &str) -> HostResult<Option<JailInfo>>;
    /// Run a command inside the jail (fork, `jail_attach`, clean environment, exec, wait);
    /// returns its exit status.
    fn jail_exec(&self, jid: i32, cmd: &JailCommand) -> HostResult<i32>;

    // ---- interfaces (host vnet) ----
    /// `SIOCIFCREATE2 "epair[N]"`: returns both halves (kernel-chosen unit when `None`).
    fn epair_create(&self, unit: Option<u32>) -> HostResult<EpairPair>;
    /// `SIOCIFCREATE2 "bridge[N]"`: returns the name.
    fn bridge_create(&self, unit: Option<u32>) -> HostResult<String>;
    /// `SIOCIFDESTROY` (an epair half destroys both halves, wherever the other one is).
    fn if_destroy(&self, name: &str) -> HostResult<()>;
    /// `SIOCSIFNAME`.
    fn if_rename(&self, name: &str, new_name: &str) -> HostResult<()>;
    /// `SIOCSIFDESCR` (`None` clears).
    fn if_set_description(&self, name: &str, description: Option<&str>) -> HostResult<()>;
    /// `SIOCSIFFLAGS` with `IFF_UP` set or cleared.
    fn if_set_up(&self, name: &str, up: bool) -> HostResult<()>;
    /// `BRDGADD` through `SIOCSDRVSPEC` (`ifconfig bridge addm member`).
    fn bridge_addm(&self, bridge: &str, member: &str) -> HostResult<()>;
    /// `BRDGDEL` through `SIOCSDRVSPEC` (`ifconfig bridge deletem member`).
    fn bridge_deletem(&self, bridge: &str, member: &str) -> HostResult<()>;
    /// `SIOCSIFVNET`: move a host interface into the jail's vnet.
    fn if_move_to_jail(&self, name: &str, jid: i32) -> HostResult<()>;
    /// `SIOCSIFRVNET`: bring an interface back from the jail's vnet.
    fn if_move_from_jail(&self, name: &str, jid: i32) -> HostResult<()>;
    /// Interfaces of the host's vnet (`None`) or of a VNET jail.
    fn interfaces(&self, jid: Option<i32>) -> HostResult<Vec<IfInfo>>;

    // ---- network configuration inside a VNET jail (fork + jail_attach + socket) ----
    /// Adds an address inside the jail's vnet: `SIOCAIFADDR` (`in_aliasreq`) for IPv4,
    /// `SIOCAIFADDR_IN6` (`in6_aliasreq`, on an `AF_INET6` socket) for IPv6. An IPv4 address
    /// the interface already has is looked up first (`SIOCGIFALIAS`): the kernel would delete
    /// and re-add it, removing the static routes through it (in.c `in_aifaddr_ioctl` →
    /// `in_ifadown`), so with the same prefix nothing is done and with another prefix the add
    /// fails with EADDRINUSE. IPv6 updates an existing address with the same prefix in place;
    /// with another prefix it refuses with EINVAL; an IPv6 prefix length of 0 is EINVAL
    /// (netinet6/in6.c `in6_validate_ifra`).
    ///
    /// ```
    /// use thinjail_core::host::{AddrFamily, Errno, Host, JailSpec};
    /// use thinjail_core::sim::SimHost;
    /// let dir = tempfile::tempdir().unwrap();
    /// let h = SimHost::new(dir.path()).unwrap();
    /// h.mkdir("/j".as_ref(), 0o755).unwrap();
    /// let spec = JailSpec { name: "dev".into(), path: "/j".into(), vnet: true, ..Default::default() };
    /// let jid = h.jail_create(&spec).unwrap();
    /// let e = h.epair_create(None).unwrap();
    /// h.if_move_to_jail(&e.b, jid).unwrap();
    /// h.jail_if_addr_add(jid, &e.b, "2001:db8::2/64".parse().unwrap()).unwrap();
    /// h.jail_route_add_default(jid, "2001:db8::1".parse().unwrap()).unwrap();
    /// // A gateway outside every prefix of the vnet is not reachable.
    /// let far = h.jail_route_add_default(jid, "192.0.2.1".parse().unwrap());
    /// assert_eq!(far.unwrap_err().errno(), Some(Errno::ENETUNREACH));
    /// h.jail_route_delete_default(jid, AddrFamily::Inet6).unwrap();
    /// h.jail_if_addr_delete(jid, &e.b, "2001:db8::2".parse().unwrap()).unwrap();
    /// ```
    fn jail_if_addr_add(&self, jid: i32, name: &str, addr: IpNet) -> HostResult<()>;
    /// Deletes an address inside the jail's vnet: `SIOCDIFADDR` (IPv4) or `SIOCDIFADDR_IN6`
    /// (IPv6); EADDRNOTAVAIL if the interface does not have it. A default route whose gateway
    /// is no longer on-link goes away with it.
    fn jail_if_addr_delete(&self, jid: i32, name: &str, addr: IpAddr) -> HostResult<()>;
    /// `SIOCSIFFLAGS` (IFF_UP) inside the jail's vnet (e.g. `lo0`).
    fn jail_if_set_up(&self, jid: i32, name: &str, up: bool) -> HostResult<()>;
    /// `RTM_ADD` of the default route of the gateway's family (`route add default GW` /
    /// `route -6 add default GW`) inside the jail's vnet: EEXIST if that family has one,
    /// ENETUNREACH if the gateway is not on-link.
    fn jail_route_add_default(&self, jid: i32, gateway: IpAddr) -> HostResult<()>;
    /// `RTM_DELETE` of the default route of `family` inside the jail's vnet, whatever its
    /// gateway: ESRCH if there is none.
    fn jail_route_delete_default(&self, jid: i32, family: AddrFamily) -> HostResult<()>;

    // ---- file-tree work (real I/O on every host) ----
    /// `lstat`: what the path is, `None` if it does not exist.
    fn file_type(&self, path: &Path) -> HostResult<Option<FileKind>>;
    /// `mkdir(path, mode)` (one level; EEXIST if it exists).
    fn mkdir(&self, path: &Path, mode: u32) -> HostResult<()>;
    /// Create or replace a file with these contents and mode.
    fn write_file(&self, path: &Path, contents: &[u8], mode: u32) -> HostResult<()>;
    /// `unlink(path)`.
    fn remove_file(&self, path: &Path) -> HostResult<()>;
    /// `rmdir(path)` (must be empty).
    fn remove_dir(&self, path: &Path) -> HostResult<()>;

    // ---- the running kernel ----
    /// Which boot is running (`kern.boottime` and `CLOCK_UPTIME`): journals record it, and
    /// recovery never undoes kernel objects (jails, interfaces, mounts) of an earlier boot.
    fn boot_stamp(&self) -> HostResult<BootStamp>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_names_match_serde() {
        let mut n = 0;
        for k in OpKind::all() {
            let v = serde_json::to_value(k).unwrap();
            assert_eq!(v, serde_json::Value::String(k.as_str().to_string()));
            n += 1;
        }
        assert_eq!(n, OP_NAMES.len());
    }

    #[test]
    fn errno_names() {
        assert_eq!(Errno::ENAMETOOLONG.to_string(), "ENAMETOOLONG (63)");
        assert_eq!(Errno(9999).name(), "E?");
    }
}
