//! `SimHost`: an in-memory model of the FreeBSD kernel objects a thin jail uses — jails, vnets,
//! interfaces, bridges, mounts, devfs rulesets and ZFS datasets — enforcing the kernel's rules
//! (FreeBSD 14, see the project's FREEBSD-FACTS), with fault injection and an operation log.
//!
//! File-tree work is real I/O under the root directory given to [`SimHost::new`]: a host path
//! `/zdata/jails/dev` is the real directory `<root>/zdata/jails/dev`. Mount points and jail roots
//! must exist there, as on FreeBSD; [`Host::mount_zfs`] creates its mount point like libzfs does.
//! Paths are resolved through the mount table: below a nullfs mount point a path continues in
//! the lower directory (so a jail's `/bin/sh` under a nullfs-mounted template is found, and
//! writing through a read-only nullfs mount fails with EROFS); zfs and devfs mounts use the
//! directory under the root itself. A mounted dataset's files are the real files under its
//! mount point; unmounting it hides them, mounting it again brings them back; a snapshot keeps
//! a copy of its dataset's own files (not those of file systems mounted inside it) and a clone
//! starts with the snapshot's files, shown where it is mounted. What is not visible is kept
//! under `<root>/.simhost/store/` (reported in [`SimState::contents`]). With
//! [`SimHost::with_zfs`] datasets are real ZFS datasets handled by zfs(8) (zfs-fuse on Linux),
//! mounted under the root, while jails, interfaces and the other mounts stay simulated (see
//! [`SimZfs`]).
//!
//! ```
//! use thinjail_core::host::{Errno, Host, JailSpec};
//! use thinjail_core::sim::SimHost;
//! let dir = std::env::temp_dir().join(format!("simhost-doc-{}", std::process::id()));
//! let host = SimHost::new(&dir).unwrap();
//! host.mkdir("/j".as_ref(), 0o755).unwrap();
//! let spec = JailSpec { name: "dev".into(), path: "/j".into(), vnet: true, ..Default::default() };
//! let jid = host.jail_create(&spec).unwrap();
//! let e = host.jail_create(&spec).unwrap_err();
//! assert_eq!(e.errno(), Some(Errno::EEXIST));
//! host.jail_remove(jid).unwrap();
//! assert_eq!(host.jail_remove(jid).unwrap_err().errno(), Some(Errno::EINVAL));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::hash::{DefaultHasher, Hasher};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockWriteGuard};

use ipnet::{IpNet, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::exec::{Lock, LockDir, LockGuard, LockKey};

mod params;
mod store;
mod zfs;
pub use zfs::{MOUNT_BUSY_RETRY, SimZfs};

use crate::host::{
    AddrFamily, BootStamp, CanMount, DatasetProps, EpairPair, Errno, FileKind, FsType, Host,
    HostError, HostResult, IfInfo, IfKind, JailCommand, JailInfo, JailSpec, MountInfo, Object,
    OpKind,
};
use crate::jailparams;

/// Directory under the root where a persistent SimHost keeps its model.
pub const SIMHOST_DIR: &str = ".simhost";

/// `IFNAMSIZ - 1`: the longest interface name.
pub const IFNAME_MAX: usize = 15;
/// `IF_MAXUNIT`.
pub const IF_MAXUNIT: u32 = 0x7fff;
/// `JAIL_MAX`: the largest jid.
pub const JAIL_MAX: i32 = 999_999;
/// `MAXHOSTNAMELEN`: jail names and hostnames must be shorter.
pub const MAXHOSTNAMELEN: usize = 256;
/// `ZFS_MAX_DATASET_NAME_LEN`: dataset names must be shorter.
pub const ZFS_MAX_DATASET_NAME_LEN: usize = 256;
/// `net.ifdescr_maxlen` default.
pub const IFDESCR_MAXLEN: usize = 1024;

/// When an injected fault fires.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FaultTrigger {
    /// The n-th operation (queries included) from the moment the fault is armed; 1 = the next.
    Nth(u64),
    /// The n-th state-changing operation (queries not counted) from the moment it is armed.
    NthMutation(u64),
    /// The n-th operation of this kind from the moment it is armed.
    NthOf(OpKind, u64),
}

/// How an operation ended, in the [`SimHost::log`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LogOutcome {
    /// Succeeded.
    Ok,
    /// Failed with this errno (a kernel rule).
    Failed(Errno),
    /// Failed because a fault was injected.
    Injected(Errno),
    /// Real file I/O failed.
    Io(String),
}

/// One entry of the operation log.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LogEntry {
    /// 1-based sequence number of the operation on this host.
    pub seq: u64,
    /// The operation.
    pub op: OpKind,
    /// Its object.
    pub object: Object,
    /// How it ended.
    pub outcome: LogOutcome,
}

impl std::fmt::Display for LogEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{} {} {}: ", self.seq, self.op, self.object)?;
        match &self.outcome {
            LogOutcome::Ok => f.write_str("ok"),
            LogOutcome::Failed(e) => write!(f, "{e}"),
            LogOutcome::Injected(e) => write!(f, "{e} (injected)"),
            LogOutcome::Io(m) => write!(f, "I/O error: {m}"),
        }
    }
}

/// A dataset in [`SimState`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DatasetState {
    /// Properties set locally.
    pub props: DatasetProps,
    /// The snapshot it was cloned from.
    pub origin: Option<String>,
}

/// A jail in [`SimState`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct JailState {
    /// What `jail_get` reports.
    pub info: JailInfo,
    /// `ip4.addr` (non-VNET jails).
    pub ip4: Vec<Ipv4Addr>,
    /// `allow.*` flags set (without the `allow.` prefix), from [`JailSpec::allow`] and the
    /// `allow.*` entries of [`JailSpec::params`].
    pub allow: BTreeSet<String>,
    /// The other [`JailSpec::params`] it was created with, by positive name, values in
    /// jail(8)'s text form (as [`JailInfo::params`]).
    pub params: BTreeMap<String, String>,
    /// IPv4 default route of its vnet.
    pub default_route: Option<Ipv4Addr>,
    /// IPv6 default route of its vnet.
    pub default_route6: Option<Ipv6Addr>,
    /// Commands run inside it, in order.
    pub execs: Vec<JailCommand>,
}

/// A file-tree entry under the root in [`SimState`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum FileState {
    /// A directory.
    Dir,
    /// A regular file: length and a hash of the contents.
    File {
        /// Length in bytes.
        len: u64,
        /// Hash of the contents.
        hash: u64,
    },
    /// A symlink and its target.
    Symlink(PathBuf),
    /// Anything else.
    Other,
}

/// Everything observable on a [`SimHost`]; equal before and after an undone plan.
///
/// Allocator positions (the next jid, free interface units) are not part of it, as on a real
/// host they are not observable either.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SimState {
    /// Datasets by name.
    pub datasets: BTreeMap<String, DatasetState>,
    /// Snapshot names.
    pub snapshots: BTreeSet<String>,
    /// Mount table in mount order.
    pub mounts: Vec<MountInfo>,
    /// Loaded devfs rulesets.
    pub devfs_rulesets: BTreeSet<u16>,
    /// Jails by jid.
    pub jails: BTreeMap<i32, JailState>,
    /// Interfaces keyed by (vnet: `"host"` or the jail's name, interface name).
    pub interfaces: BTreeMap<(String, String), IfInfo>,
    /// The real file tree under the root (relative paths), without `.simhost`.
    pub files: BTreeMap<PathBuf, FileState>,
    /// Files not in the tree: those of unmounted datasets and of snapshots, by dataset or
    /// snapshot name and path inside it (without the dataset layer of [`SimHost::with_zfs`]).
    /// What a zfs mount hides is not listed: the mount in `mounts` stands for it.
    pub contents: BTreeMap<(String, PathBuf), FileState>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Ds {
    props: DatasetProps,
    origin: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct SimJail {
    name: String,
    path: PathBuf,
    hostname: String,
    vnet: bool,
    devfs_ruleset: u16,
    ip4: Vec<Ipv4Addr>,
    allow: BTreeSet<String>,
    /// Further parameters by positive name, in text form (older saved models have none).
    #[serde(default)]
    params: BTreeMap<String, String>,
    default_route: Option<Ipv4Addr>,
    execs: Vec<JailCommand>,
    /// The mount its root directory was on at creation (the jail holds that vnode).
    root_mount: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct SimIf {
    name: String,
    /// The vnet it is in: 0 = host, otherwise the jid.
    vnet: i32,
    /// The vnet it was created in.
    home: i32,
    kind: IfKind,
    unit: u32,
    peer: Option<u64>,
    up: bool,
    descr: Option<String>,
    addrs: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses (a model saved before IPv6 was simulated has none).
    #[serde(default)]
    addrs6: Vec<(Ipv6Addr, u8)>,
    members: Vec<u64>,
    bridge: Option<u64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Model {
    datasets: BTreeMap<String, Ds>,
    snapshots: BTreeSet<String>,
    mounts: Vec<MountInfo>,
    /// devfs rulesets that hold rules.
    rulesets: BTreeSet<u16>,
    /// devfs rulesets that exist without rules: devfs_rule.c `devfs_ruleset_use` creates an
    /// unknown ruleset, empty, when a mount (or `devfs ruleset N`) names it.
    #[serde(default)]
    empty_rulesets: BTreeSet<u16>,
    /// Loaded rulesets whose rules hide nothing ([`SimHost::load_devfs_ruleset_without_hiding`]).
    #[serde(default)]
    non_hiding_rulesets: BTreeSet<u16>,
    jails: BTreeMap<i32, SimJail>,
    ifaces: BTreeMap<u64, SimIf>,
    next_if: u64,
    last_jid: i32,
    epair_units: BTreeSet<u32>,
    bridge_units: BTreeSet<u32>,
    /// Identity of each entry of `mounts`.
    mount_ids: Vec<u64>,
    next_mount: u64,
    /// The IPv6 default route of each VNET jail's vnet, by jid (the IPv4 one is in [`SimJail`]).
    #[serde(default)]
    routes6: BTreeMap<i32, Ipv6Addr>,
    /// Counts the saves of a persistent model (tells a crashed operation's store changes
    /// saved or not, see the `store` module).
    #[serde(default)]
    generation: u64,
    /// `kern.boottime` of the simulated boot, µs since the epoch (0 in models saved before
    /// boots were modelled: booted at the epoch).
    #[serde(default)]
    boottime_us: u64,
    /// Removed jails still dying ([`SimHost::keep_dying_after_remove`]).
    #[serde(default)]
    dying: Vec<SimDying>,
    /// Names whose next `jail_remove` leaves the jail dying.
    #[serde(default)]
    hold_dying: BTreeSet<String>,
}

/// A removed jail that is not gone yet: kern_jail.c `prison_deref` frees a prison (and
/// `prison_complete` its root vnode and vnet, on a taskqueue) only when its last reference
/// goes — exiting processes, sockets (TCP TIME_WAIT holds one for 2 MSL, 60 s by default).
/// Until then it is invisible to `jail_get` without `JAIL_DYING`, its vnet keeps its
/// interfaces, and its root vnode keeps the file system under its path busy.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SimDying {
    jid: i32,
    name: String,
    root_mount: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Fail(Errno),
    CrashAfter,
}

#[derive(Clone, Copy, Debug)]
struct Armed {
    trigger: FaultTrigger,
    /// Counter value at which it fires.
    at: u64,
    action: Action,
}

/// The panic payload of a simulated crash (see [`SimHost::inject_crash_after`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SimulatedCrash {
    /// Sequence number of the operation after which the "process" died.
    pub seq: u64,
}

/// Keeps simulated crashes ([`SimulatedCrash`] panics) out of the output while other panics
/// print as before: installs a panic hook once for the whole process (the hook is process-wide,
/// and tests run in parallel). For test suites that crash a [`SimHost`] on purpose and catch it
/// with `catch_unwind`.
///
/// ```
/// thinjail_core::sim::quiet_simulated_crashes();
/// let r = std::panic::catch_unwind(|| {
///     std::panic::panic_any(thinjail_core::sim::SimulatedCrash { seq: 1 })
/// });
/// assert!(r.is_err()); // and nothing was printed for it
/// ```
pub fn quiet_simulated_crashes() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<SimulatedCrash>().is_none() {
                default(info);
            }
        }));
    });
}

#[derive(Default)]
struct Inner {
    model: Model,
    log: Vec<LogEntry>,
    faults: Vec<Armed>,
    total: u64,
    mutations: u64,
    per_kind: BTreeMap<OpKind, u64>,
}

/// The simulated host. `Send + Sync`: share it with `Arc` between threads.
pub struct SimHost {
    root: PathBuf,
    /// Where the model is saved after every change ([`SimHost::open_persistent`]).
    persist: Option<PathBuf>,
    /// Serialises processes sharing a persistent model (flock on `<root>/.simhost/`).
    plock: Option<LockDir>,
    /// Real datasets instead of simulated ones ([`SimHost::with_zfs`]).
    zfs: Option<SimZfs>,
    inner: Mutex<Inner>,
    /// The store changes of the operation in progress (see the `store` module).
    store_tx: Mutex<store::StoreTx>,
    /// The file tree: file operations hold it shared while they do their I/O without the model
    /// lock (so concurrent plans copy files in parallel); operations that change what paths
    /// resolve to or move files (mounts, datasets), setup changes and state snapshots hold it
    /// exclusive. Taken only while holding `inner`.
    files: RwLock<()>,
}

fn e(op: OpKind, object: Object, errno: Errno) -> HostError {
    HostError::os(op, object, errno)
}

fn em(op: OpKind, object: Object, errno: Errno, msg: &str) -> HostError {
    HostError::os_msg(op, object, errno, msg)
}

fn io_err(op: OpKind, path: &Path, source: io::Error) -> HostError {
    HostError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn pool_of(name: &str) -> &str {
    name.split(['/', '@']).next().unwrap_or(name)
}

fn parent_of(name: &str) -> Option<&str> {
    name.rfind('/').map(|i| &name[..i])
}

fn validate_dataset_name(op: OpKind, name: &str, snapshot: bool) -> HostResult<()> {
    let obj = || Object::Dataset(name.to_string());
    if name.len() >= ZFS_MAX_DATASET_NAME_LEN {
        return Err(e(op, obj(), Errno::ENAMETOOLONG));
    }
    let (fs, snap) = match name.split_once('@') {
        Some((f, s)) => (f, Some(s)),
        None => (name, None),
    };
    if snapshot != snap.is_some() {
        return Err(em(
            op,
            obj(),
            Errno::EINVAL,
            if snapshot {
                "not a snapshot name"
            } else {
                "snapshot name not allowed here"
            },
        ));
    }
    let ok_comp = |c: &str| {
        !c.is_empty()
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.' | ':' | ' '))
            && c != "."
            && c != ".."
    };
    if !fs.split('/').all(ok_comp) || !snap.is_none_or(ok_comp) {
        return Err(em(
            op,
            obj(),
            Errno::EINVAL,
            "invalid character or empty component in dataset name",
        ));
    }
    Ok(())
}

impl Model {
    fn find_if(&self, vnet: i32, name: &str) -> Option<u64> {
        self.ifaces
            .iter()
            .find(|(_, i)| i.vnet == vnet && i.name == name)
            .map(|(id, _)| *id)
    }

    fn name_taken(&self, vnet: i32, name: &str) -> bool {
        self.find_if(vnet, name).is_some()
    }

    fn new_if(&mut self, i: SimIf) -> u64 {
        self.next_if += 1;
        let id = self.next_if;
        self.ifaces.insert(id, i);
        id
    }

    fn mk_if(name: String, vnet: i32, kind: IfKind, unit: u32) -> SimIf {
        SimIf {
            name,
            vnet,
            home: vnet,
            kind,
            unit,
            peer: None,
            up: false,
            descr: None,
            addrs: Vec::new(),
            addrs6: Vec::new(),
            members: Vec::new(),
            bridge: None,
        }
    }

    /// Remove `id` from its bridge, if any.
    fn leave_bridge(&mut self, id: u64) {
        if let Some(b) = self.ifaces.get_mut(&id).and_then(|i| i.bridge.take())
            && let Some(br) = self.ifaces.get_mut(&b)
        {
            br.members.retain(|m| *m != id);
        }
    }

    /// Release a bridge's members.
    fn release_members(&mut self, id: u64) {
        let members = self
            .ifaces
            .get_mut(&id)
            .map(|i| std::mem::take(&mut i.members))
            .unwrap_or_default();
        for m in members {
            if let Some(i) = self.ifaces.get_mut(&m) {
                i.bridge = None;
            }
        }
    }

    /// Detach an interface from its current vnet (if_vmove): down, addresses purged, bridge left.
    fn vmove(&mut self, id: u64, to: i32) {
        self.leave_bridge(id);
        self.release_members(id);
        if let Some(i) = self.ifaces.get_mut(&id) {
            i.vnet = to;
            i.up = false;
            i.addrs.clear();
            i.addrs6.clear();
        }
    }

    fn destroy_if(&mut self, id: u64) {
        let Some(i) = self.ifaces.get(&id).cloned() else {
            return;
        };
        self.leave_bridge(id);
        self.release_members(id);
        self.ifaces.remove(&id);
        match i.kind {
            IfKind::Epair => {
                if let Some(p) = i.peer {
                    self.leave_bridge(p);
                    self.ifaces.remove(&p);
                }
                self.epair_units.remove(&i.unit);
            }
            IfKind::Bridge => {
                self.bridge_units.remove(&i.unit);
            }
            IfKind::Loopback => {}
        }
    }

    /// Index of the mount a path lives on: the most recent mount whose mount point is a prefix
    /// of it (a later mount at a shallower path hides older ones beneath it; a later one at a
    /// deeper path sits on top of the older one).
    fn mount_of(&self, path: &Path) -> Option<usize> {
        last_covering(&self.mounts, path)
    }

    /// A prison's vnet is destroyed (vnet.c `vnet_destroy`): its own interfaces are destroyed,
    /// loaned ones go home (if.c `vnet_if_return`).
    fn free_vnet(&mut self, jid: i32) {
        let in_vnet: Vec<u64> = self
            .ifaces
            .iter()
            .filter(|(_, i)| i.vnet == jid)
            .map(|(id, _)| *id)
            .collect();
        for id in in_vnet {
            let home = self.ifaces[&id].home;
            if home == jid {
                self.destroy_if(id);
            } else {
                self.vmove(id, home);
            }
        }
    }

    fn push_mount(&mut self, mt: MountInfo) {
        self.next_mount += 1;
        self.mounts.push(mt);
        self.mount_ids.push(self.next_mount);
    }

    /// Is the dataset mounted (a zfs mount of it in the table)?
    fn zfs_mounted(&self, name: &str) -> bool {
        self.mounts
            .iter()
            .any(|mt| mt.fstype == FsType::Zfs && mt.source == name)
    }

    /// Is the parent dataset of `name` missing (or is `name` a pool)?
    fn parent_missing(&self, name: &str) -> bool {
        !parent_of(name).is_some_and(|p| self.datasets.contains_key(p))
    }

    fn effective_mountpoint(&self, name: &str) -> PathBuf {
        match self
            .datasets
            .get(name)
            .and_then(|d| d.props.mountpoint.clone())
        {
            Some(mp) => mp,
            None => match parent_of(name) {
                Some(p) => {
                    let last = &name[p.len() + 1..];
                    self.effective_mountpoint(p).join(last)
                }
                None => Path::new("/").join(name),
            },
        }
    }

    fn iface_info(&self, i: &SimIf) -> IfInfo {
        let name_of = |id: &u64| {
            self.ifaces
                .get(id)
                .map(|x| x.name.clone())
                .unwrap_or_default()
        };
        IfInfo {
            name: i.name.clone(),
            kind: i.kind,
            up: i.up,
            description: i.descr.clone(),
            addrs: i.addrs.clone(),
            addrs6: i.addrs6.clone(),
            members: i.members.iter().map(name_of).collect(),
            member_of: i.bridge.as_ref().map(name_of),
        }
    }

    fn jail_info(jid: i32, j: &SimJail) -> JailInfo {
        JailInfo {
            jid,
            name: j.name.clone(),
            path: j.path.clone(),
            hostname: j.hostname.clone(),
            vnet: j.vnet,
            devfs_ruleset: j.devfs_ruleset,
            params: j.params.clone(),
        }
    }

    /// The vnet a jail-side network operation runs in (fork + jail_attach).
    fn jail_vnet(&self, op: OpKind, jid: i32) -> HostResult<i32> {
        match self.jails.get(&jid) {
            None => Err(em(
                op,
                Object::Jid(jid),
                Errno::EINVAL,
                "jail_attach: no such jail",
            )),
            Some(j) if !j.vnet => Err(em(
                op,
                Object::Jail(j.name.clone()),
                Errno::EPERM,
                "not a VNET jail: its network stack is the host's",
            )),
            Some(_) => Ok(jid),
        }
    }
}

impl SimHost {
    /// A simulated host whose file tree lives under `root` (created if missing), with `lo0`
    /// and the default devfs rulesets 1–5 loaded (as rc.d/devfs does at boot).
    pub fn new(root: impl AsRef<Path>) -> HostResult<SimHost> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(|err| io_err(OpKind::Mkdir, &root, err))?;
        Ok(SimHost {
            root,
            persist: None,
            plock: None,
            zfs: None,
            inner: Mutex::new(Inner {
                model: boot_model(),
                ..Default::default()
            }),
            store_tx: Mutex::default(),
            files: RwLock::default(),
        })
    }

    /// A simulated host whose kernel model survives the process: it is loaded from
    /// `<root>/.simhost/model.json` if that exists (else booted fresh as by [`SimHost::new`]) and
    /// saved there (write to a temporary file, then rename) after every change. This is what lets
    /// separate commands (`host init`, then `jail create`, then `jail start`) share one
    /// simulated host. The `.simhost` directory is not part of [`SimHost::state`]'s file tree.
    /// The operation log and armed faults are per process. If a process dies in the middle of
    /// a change, the next one to load the model finds the dataset files as that model says
    /// (the dead operation's file moves are undone, or kept if its model was saved).
    ///
    /// ```
    /// use thinjail_core::host::{Host, JailSpec};
    /// use thinjail_core::sim::SimHost;
    /// let dir = std::env::temp_dir().join(format!("simhost-persist-doc-{}", std::process::id()));
    /// let h = SimHost::open_persistent(&dir).unwrap();
    /// h.mkdir("/j".as_ref(), 0o755).unwrap();
    /// let spec = JailSpec { name: "dev".into(), path: "/j".into(), vnet: true, ..Default::default() };
    /// let jid = h.jail_create(&spec).unwrap();
    /// drop(h);
    /// let again = SimHost::open_persistent(&dir).unwrap();
    /// assert_eq!(again.jail_by_name("dev").unwrap().unwrap().jid, jid);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn open_persistent(root: impl AsRef<Path>) -> HostResult<SimHost> {
        let root = root.as_ref().to_path_buf();
        let dir = root.join(SIMHOST_DIR);
        let plock = LockDir::new(&dir).map_err(|e| io_err(OpKind::Mkdir, &dir, e.source))?;
        let h = SimHost {
            root,
            persist: Some(dir.join("model.json")),
            plock: Some(plock),
            zfs: None,
            inner: Mutex::new(Inner {
                model: boot_model(),
                ..Default::default()
            }),
            store_tx: Mutex::default(),
            files: RwLock::default(),
        };
        {
            let mut g = h.lock();
            let _p = h.process_lock(OpKind::Mounts)?;
            match h.load(OpKind::Mounts)? {
                Some(m) => g.model = m,
                None => h.save(OpKind::Mounts, &g.model)?,
            }
        }
        Ok(h)
    }

    /// Exclusive lock of the persistent model against other processes.
    fn process_lock(&self, op: OpKind) -> HostResult<Option<LockGuard>> {
        match &self.plock {
            None => Ok(None),
            Some(l) => l
                .lock(&[Lock::exclusive(LockKey::Named("model".into()))])
                .map(Some)
                .map_err(|e| io_err(op, &e.path, e.source)),
        }
    }

    /// Read the persistent model, if there is one on disk, and settle the store change a dead
    /// process left (see the `store` module).
    fn load(&self, op: OpKind) -> HostResult<Option<Model>> {
        let Some(file) = &self.persist else {
            return Ok(None);
        };
        let model: Model = match fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|err| io_err(op, file, io::Error::new(io::ErrorKind::InvalidData, err)))?,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io_err(op, file, err)),
        };
        // Under the process lock no other operation is under way: an intent left in the store
        // is that of a process that died.
        self.store_recover(op, model.generation)?;
        Ok(Some(model))
    }

    /// Save the model as its next generation.
    fn save_next(&self, op: OpKind, model: &mut Model) -> HostResult<()> {
        model.generation += 1;
        self.save(op, model)
    }

    /// Save the model if this host is persistent.
    fn save(&self, op: OpKind, model: &Model) -> HostResult<()> {
        let Some(file) = &self.persist else {
            return Ok(());
        };
        let tmp = file.with_extension("json.tmp");
        let bytes = serde_json::to_vec(model)
            .map_err(|err| io_err(op, file, io::Error::new(io::ErrorKind::InvalidData, err)))?;
        fs::write(&tmp, bytes).map_err(|err| io_err(op, &tmp, err))?;
        fs::rename(&tmp, file).map_err(|err| io_err(op, file, err))
    }

    /// The root directory host paths are placed under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The real path of a host path.
    pub fn real_path(&self, path: &Path) -> PathBuf {
        let rel: PathBuf = path
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        self.root.join(rel)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the model half-updated in a way that
        // matters more than the panic itself; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Exclusive use of the file tree: no file operation is doing I/O until it is dropped.
    /// Call it holding the model lock.
    fn files_exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.files.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Add a pool: its root dataset `name` with mountpoint `/name`, mounted (directory created).
    pub fn add_pool(&self, name: &str) -> HostResult<()> {
        let op = OpKind::DatasetCreate;
        validate_dataset_name(op, name, false)?;
        if name.contains('/') {
            return Err(em(
                op,
                Object::Dataset(name.into()),
                Errno::EINVAL,
                "pool names have no '/'",
            ));
        }
        self.control(op, |m| {
            if m.datasets.contains_key(name) {
                return Err(e(op, Object::Dataset(name.into()), Errno::EEXIST));
            }
            let at = Path::new("/").join(name);
            let real = self.real_path(&at);
            match &self.zfs {
                // The pool's root is a real dataset mounted at the real path of `/name`.
                Some(z) => z.add_pool(name, &real)?,
                None => fs::create_dir_all(&real).map_err(|err| io_err(op, &at, err))?,
            }
            m.datasets.insert(
                name.to_string(),
                Ds {
                    props: DatasetProps::default(),
                    origin: None,
                },
            );
            m.push_mount(MountInfo {
                fstype: FsType::Zfs,
                source: name.into(),
                at,
                readonly: false,
                ruleset: None,
            });
            Ok(())
        })
    }

    /// Load a devfs ruleset (as `devfs rule -s N add …`).
    pub fn load_devfs_ruleset(&self, ruleset: u16) -> HostResult<()> {
        self.control(OpKind::MountDevfs, |m| {
            m.empty_rulesets.remove(&ruleset);
            m.non_hiding_rulesets.remove(&ruleset);
            m.rulesets.insert(ruleset);
            Ok(())
        })
    }

    /// Load a devfs ruleset whose rules hide nothing a jail must not see (as
    /// `devfs rule -s N add path 'bpf*' unhide` alone): loaded, yet /dev shows `mem`.
    pub fn load_devfs_ruleset_without_hiding(&self, ruleset: u16) -> HostResult<()> {
        self.control(OpKind::MountDevfs, |m| {
            m.empty_rulesets.remove(&ruleset);
            m.rulesets.insert(ruleset);
            m.non_hiding_rulesets.insert(ruleset);
            Ok(())
        })
    }

    /// Does the devfs ruleset exist at all, with or without rules (what `devfs rule showsets`
    /// lists)?
    pub fn devfs_ruleset_exists(&self, ruleset: u16) -> HostResult<bool> {
        self.control(OpKind::DevfsRulesetLoaded, |m| {
            Ok(m.rulesets.contains(&ruleset) || m.empty_rulesets.contains(&ruleset))
        })
    }

    /// Reboot the simulated machine: the kernel state a reboot ends is gone — every jail (jids
    /// start again at 1: kern_jail.c `lastprid` is a plain static), every cloned interface
    /// (back to `lo0` up), nullfs and devfs mounts, the devfs rulesets made since boot — and
    /// the kernel boots again: `kern.boottime` is now, devfs rulesets 1–5 are loaded (rc.d/devfs
    /// `devfs_init_rulesets` from /etc/defaults/devfs.rules), ZFS datasets that were mounted
    /// and are `canmount=on` are mounted again (rc.d/zfs `zfs mount -va`; approximation: a
    /// dataset that was not mounted before stays unmounted). Datasets and files persist. No
    /// rc.d/netif or rc.d/jail runs: [`SimHost::boot_rc`] does the network part.
    pub fn reboot(&self) -> HostResult<()> {
        self.control(OpKind::BootStamp, |m| {
            let old = m.boottime_us;
            let mut fresh = boot_model();
            // The new boot happens after everything the old one did: never at or before the
            // old boottime plus the time since (a coarse clock must not make them equal).
            fresh.boottime_us = fresh.boottime_us.max(old + 1);
            let remount: Vec<(MountInfo, u64)> = m
                .mounts
                .iter()
                .zip(m.mount_ids.iter())
                .filter(|(mt, _)| {
                    mt.fstype == FsType::Zfs
                        && m.datasets
                            .get(&mt.source)
                            .is_none_or(|d| matches!(d.props.canmount, None | Some(CanMount::On)))
                })
                .map(|(mt, id)| (mt.clone(), *id))
                .collect();
            m.jails = fresh.jails;
            m.ifaces = fresh.ifaces;
            m.next_if = m.next_if.max(fresh.next_if);
            m.last_jid = 0;
            m.epair_units.clear();
            m.bridge_units.clear();
            m.routes6.clear();
            m.dying.clear();
            m.hold_dying.clear();
            m.rulesets = fresh.rulesets;
            m.empty_rulesets.clear();
            m.non_hiding_rulesets.clear();
            m.mounts = remount.iter().map(|(mt, _)| mt.clone()).collect();
            m.mount_ids = remount.iter().map(|(_, id)| *id).collect();
            m.boottime_us = fresh.boottime_us;
            Ok(())
        })
    }

    /// What rc.d/netif does at boot with `<root>/etc/rc.conf`, for what thinjail persists there
    /// (rc.d/netif `netif_start`): `clone_up` creates each `cloned_interfaces` entry
    /// (`bridgeN`, `epairN`, with the unit its name gives), `ifnet_rename` applies
    /// `ifconfig_<if>_name`, then per interface `ifconfig_up` runs `ifconfig_<if>`'s arguments
    /// — of which only `addm IF` is modelled (a member that does not exist is skipped, as
    /// ifconfig fails and rc goes on) — brings the interface up when it had arguments, and sets
    /// `ifconfig_<if>_descr`. Variable names have `.-/+` as `_` (network.subr `get_if_var`).
    /// Guess, marked: other cloners and arguments (addresses, `vnet`, `DHCP`) are ignored.
    pub fn boot_rc(&self) -> HostResult<()> {
        let op = OpKind::IfSetUp;
        let rc_path = self.root.join("etc/rc.conf");
        let rc = crate::rcconf::RcConf::read(&rc_path).map_err(|e| {
            io_err(
                op,
                Path::new("/etc/rc.conf"),
                io::Error::other(e.to_string()),
            )
        })?;
        let vars = rc.assignments();
        let var = |ifname: &str| ifname.replace(['.', '-', '/', '+'], "_");
        let unit = |name: &str, cloner: &str| -> Option<u32> {
            name.strip_prefix(cloner)
                .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|r| r.parse().ok())
        };
        let cloned = vars.get("cloned_interfaces").cloned().unwrap_or_default();
        for c in cloned.split_whitespace() {
            if let Some(u) = unit(c, "bridge") {
                self.bridge_create(Some(u))?;
            } else if let Some(u) = unit(c, "epair") {
                self.epair_create(Some(u))?;
            }
        }
        for i in self.interfaces(None)? {
            if let Some(to) = vars.get(&format!("ifconfig_{}_name", var(&i.name))) {
                self.if_rename(&i.name, to)?;
            }
        }
        let ifs = self.interfaces(None)?;
        for i in &ifs {
            if let Some(args) = vars.get(&format!("ifconfig_{}", var(&i.name))) {
                let words: Vec<&str> = args.split_whitespace().collect();
                for w in words.windows(2).filter(|w| w[0] == "addm") {
                    if ifs.iter().any(|m| m.name == w[1]) {
                        self.bridge_addm(&i.name, w[1])?;
                    }
                }
                if !words.is_empty() {
                    self.if_set_up(&i.name, true)?;
                }
            }
            if let Some(d) = vars.get(&format!("ifconfig_{}_descr", var(&i.name))) {
                self.if_set_description(&i.name, Some(d))?;
            }
        }
        Ok(())
    }

    /// Make the next `jail_remove` of jail `name` leave it dying (what a process still exiting
    /// or a socket in TIME_WAIT does, see `SimDying`) until [`SimHost::reap_dying`].
    pub fn keep_dying_after_remove(&self, name: &str) -> HostResult<()> {
        self.control(OpKind::JailRemove, |m| {
            m.hold_dying.insert(name.to_string());
            Ok(())
        })
    }

    /// The dying jails' last references go: each is freed (kern_jail.c `prison_complete`), its
    /// vnet destroyed and its root released. Returns how many.
    pub fn reap_dying(&self) -> HostResult<usize> {
        self.control(OpKind::JailRemove, |m| {
            let dying = std::mem::take(&mut m.dying);
            for d in &dying {
                m.free_vnet(d.jid);
            }
            Ok(dying.len())
        })
    }

    /// Unload a devfs ruleset (as `devfs rule -s N delset`).
    pub fn unload_devfs_ruleset(&self, ruleset: u16) -> HostResult<()> {
        self.control(OpKind::MountDevfs, |m| {
            m.rulesets.remove(&ruleset);
            m.non_hiding_rulesets.remove(&ruleset);
            if m.mounts.iter().any(|o| o.ruleset == Some(ruleset)) {
                // delset empties it; mounts still reference it (devfs_ruleset_reap).
                m.empty_rulesets.insert(ruleset);
            }
            Ok(())
        })
    }

    /// A setup change (not counted, logged or subject to faults), persisted like an operation.
    fn control<T>(&self, op: OpKind, f: impl FnOnce(&mut Model) -> HostResult<T>) -> HostResult<T> {
        let mut g = self.lock();
        let _files = self.files_exclusive();
        let _plock = self.process_lock(op)?;
        if let Some(m) = self.load(op)? {
            g.model = m;
        }
        self.store_begin(g.model.generation);
        let r = f(&mut g.model).and_then(|v| self.save_next(op, &mut g.model).map(|()| v));
        self.store_settle(op, r.is_ok())?;
        r
    }

    /// Arm a one-shot fault: the operation selected by `trigger` fails with `errno` and changes
    /// nothing.
    pub fn inject(&self, trigger: FaultTrigger, errno: Errno) {
        self.arm(trigger, Action::Fail(errno));
    }

    /// Arm a one-shot crash: the operation selected by `trigger` is carried out (it takes
    /// effect, or fails by the kernel's rules), then the calling thread panics with a
    /// [`SimulatedCrash`] payload — what a process killed right after a system call returned
    /// leaves behind (nothing after it is journaled). Catch it with `std::panic::catch_unwind`.
    /// The host stays usable.
    pub fn inject_crash_after(&self, trigger: FaultTrigger) {
        self.arm(trigger, Action::CrashAfter);
    }

    fn arm(&self, trigger: FaultTrigger, action: Action) {
        let mut g = self.lock();
        let at = match trigger {
            FaultTrigger::Nth(n) => g.total + n,
            FaultTrigger::NthMutation(n) => g.mutations + n,
            FaultTrigger::NthOf(k, n) => g.per_kind.get(&k).copied().unwrap_or(0) + n,
        };
        g.faults.push(Armed {
            trigger,
            at,
            action,
        });
    }

    /// Disarm all faults.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Number of faults still armed.
    pub fn armed_faults(&self) -> usize {
        self.lock().faults.len()
    }

    /// The operation log.
    pub fn log(&self) -> Vec<LogEntry> {
        self.lock().log.clone()
    }

    /// Empty the operation log.
    pub fn clear_log(&self) {
        self.lock().log.clear();
    }

    /// Operations so far: (all, state-changing).
    pub fn op_counts(&self) -> (u64, u64) {
        let g = self.lock();
        (g.total, g.mutations)
    }

    /// A comparable snapshot of everything observable, including the real file tree (every
    /// file under the root is read and hashed: use [`SimHost::kernel_state`] for large trees).
    pub fn state(&self) -> SimState {
        self.snapshot(true)
    }

    /// Like [`SimHost::state`] without the file tree (`files` is empty): cheap on large trees.
    pub fn kernel_state(&self) -> SimState {
        self.snapshot(false)
    }

    fn snapshot(&self, with_files: bool) -> SimState {
        let mut g = self.lock();
        let _files = self.files_exclusive();
        // Best effort: on a read error the last model this process saw is reported.
        if let Ok(_p) = self.process_lock(OpKind::Mounts)
            && let Ok(Some(m)) = self.load(OpKind::Mounts)
        {
            g.model = m;
        }
        let m = &g.model;
        let vnet_name = |v: i32| {
            if v == 0 {
                "host".to_string()
            } else {
                m.jails
                    .get(&v)
                    .map(|j| j.name.clone())
                    .unwrap_or_else(|| format!("jid {v}"))
            }
        };
        let mut files = BTreeMap::new();
        let mut contents = BTreeMap::new();
        if with_files {
            walk(&self.root, &self.root, &mut files);
            contents = self.store_contents();
        }
        SimState {
            datasets: m
                .datasets
                .iter()
                .map(|(k, d)| {
                    (
                        k.clone(),
                        DatasetState {
                            props: d.props.clone(),
                            origin: d.origin.clone(),
                        },
                    )
                })
                .collect(),
            snapshots: m.snapshots.clone(),
            mounts: m.mounts.clone(),
            devfs_rulesets: m.rulesets.clone(),
            jails: m
                .jails
                .iter()
                .map(|(jid, j)| {
                    (
                        *jid,
                        JailState {
                            info: Model::jail_info(*jid, j),
                            ip4: j.ip4.clone(),
                            allow: j.allow.clone(),
                            params: j.params.clone(),
                            default_route: j.default_route,
                            default_route6: m.routes6.get(jid).copied(),
                            execs: j.execs.clone(),
                        },
                    )
                })
                .collect(),
            interfaces: m
                .ifaces
                .values()
                .map(|i| ((vnet_name(i.vnet), i.name.clone()), m.iface_info(i)))
                .collect(),
            files,
            contents,
        }
    }

    /// Run one operation: count it, fire an armed fault, log it.
    fn op<T>(
        &self,
        kind: OpKind,
        object: Object,
        f: impl FnOnce(&mut Model) -> HostResult<T>,
    ) -> HostResult<T> {
        let mut g = self.lock();
        let _files = changes_file_tree(kind).then(|| self.files_exclusive());
        // A persistent model may have been changed by another process: reload it under the
        // process lock, which is held until the change is saved.
        let _plock = self.process_lock(kind)?;
        if let Some(m) = self.load(kind)? {
            g.model = m;
        }
        let (seq, crash) = Self::count_and_fire(&mut g, kind, &object)?;
        self.store_begin(g.model.generation);
        let mut r = f(&mut g.model);
        if r.is_ok()
            && !kind.is_query()
            && let Err(err) = self.save_next(kind, &mut g.model)
        {
            r = Err(err);
        }
        // Files moved for a change the saved model does not record are moved back.
        if let Err(err) = self.store_settle(kind, r.is_ok())
            && r.is_ok()
        {
            r = Err(err);
        }
        Self::finish(g, seq, kind, object, &r, crash);
        r
    }

    /// Run a file-tree operation: counted, fault-checked and logged like any other. `resolve`
    /// checks the kernel's rules and resolves the path under the model lock; `io` then does the
    /// real I/O with the model lock released, holding the file tree shared, so the file work of
    /// concurrent plans runs in parallel while nothing can mount, unmount or move files under
    /// it; the model is not saved (file operations leave it unchanged). A persistent host runs
    /// it as any other operation ([`SimHost::op`]), holding the model lock through the I/O:
    /// another process could otherwise move files under it. So does a host with real datasets,
    /// as before file I/O left the lock: on zfs-fuse, concurrent mounts inside its own file
    /// systems can hang the daemon, and this keeps parallel file I/O from adding to them.
    fn file_op<T>(
        &self,
        kind: OpKind,
        object: Object,
        resolve: impl FnOnce(&Model) -> HostResult<PathBuf>,
        io: impl FnOnce(PathBuf) -> HostResult<T>,
    ) -> HostResult<T> {
        if self.persist.is_some() || self.zfs.is_some() {
            return self.op(kind, object, |m| resolve(m).and_then(io));
        }
        let mut g = self.lock();
        let (seq, crash) = Self::count_and_fire(&mut g, kind, &object)?;
        let r = match resolve(&g.model) {
            Err(err) => Err(err),
            Ok(real) => {
                let files = self.files.read().unwrap_or_else(|p| p.into_inner());
                drop(g);
                let r = io(real);
                // Released before the model lock is taken again: an operation holding the
                // model lock may be waiting for the file tree.
                drop(files);
                g = self.lock();
                r
            }
        };
        Self::finish(g, seq, kind, object, &r, crash);
        r
    }

    /// Run an operation whose effect happens outside the model (a real zfs(8) call, see
    /// [`SimZfs`]): counted, fault-checked and logged like any other. `model` is first run on a
    /// copy of the model (the kernel's rules), then `ext` does the real work without holding
    /// the model's lock (so concurrent plans are not serialised behind zfs(8)), then `model`
    /// runs again on the live model to record the change. Hosts with a dataset layer are never
    /// persistent, so no process lock is involved.
    fn op_ext<T, U>(
        &self,
        kind: OpKind,
        object: Object,
        model: impl Fn(&mut Model) -> HostResult<T>,
        ext: impl FnOnce(T) -> HostResult<U>,
    ) -> HostResult<U> {
        let mut g = self.lock();
        let (seq, crash) = Self::count_and_fire(&mut g, kind, &object)?;
        let mut scratch = g.model.clone();
        let r = match model(&mut scratch) {
            Err(err) => Err(err),
            Ok(checked) => {
                drop(g);
                let r = ext(checked);
                g = self.lock();
                match r {
                    // The model changed meanwhile so that the change no longer fits: report
                    // it (the real change was made).
                    Ok(v) => model(&mut g.model).map(|_| v),
                    Err(err) => Err(err),
                }
            }
        };
        Self::finish(g, seq, kind, object, &r, crash);
        r
    }

    /// Count an operation and fire the armed fault it selects: returns its sequence number
    /// and whether a crash is to follow it, or the injected error (logged).
    fn count_and_fire(g: &mut Inner, kind: OpKind, object: &Object) -> HostResult<(u64, bool)> {
        g.total += 1;
        if !kind.is_query() {
            g.mutations += 1;
        }
        *g.per_kind.entry(kind).or_insert(0) += 1;
        let (total, mutations, this_kind) = (g.total, g.mutations, g.per_kind[&kind]);
        let fired = g.faults.iter().position(|a| match a.trigger {
            FaultTrigger::Nth(_) => a.at == total,
            FaultTrigger::NthMutation(_) => !kind.is_query() && a.at == mutations,
            FaultTrigger::NthOf(k, _) => k == kind && a.at == this_kind,
        });
        let seq = g.total;
        let mut crash = false;
        if let Some(i) = fired {
            let a = g.faults.remove(i);
            match a.action {
                Action::Fail(errno) => {
                    g.log.push(LogEntry {
                        seq,
                        op: kind,
                        object: object.clone(),
                        outcome: LogOutcome::Injected(errno),
                    });
                    return Err(em(kind, object.clone(), errno, "injected fault"));
                }
                Action::CrashAfter => crash = true,
            }
        }
        Ok((seq, crash))
    }

    /// Log an operation's outcome; then crash if one was armed for it.
    fn finish<T>(
        mut g: MutexGuard<'_, Inner>,
        seq: u64,
        kind: OpKind,
        object: Object,
        r: &HostResult<T>,
        crash: bool,
    ) {
        let outcome = match r {
            Ok(_) => LogOutcome::Ok,
            Err(HostError::Os { errno, .. }) => LogOutcome::Failed(*errno),
            Err(HostError::Io { source, .. }) => LogOutcome::Io(source.to_string()),
        };
        g.log.push(LogEntry {
            seq,
            op: kind,
            object,
            outcome,
        });
        if crash {
            drop(g);
            std::panic::panic_any(SimulatedCrash { seq });
        }
    }

    /// Check a host path is absolute and has no `..`; returns the real path it resolves to
    /// through the mount table (nullfs mounts redirect to their lower directory).
    fn real(&self, m: &Model, op: OpKind, path: &Path) -> HostResult<PathBuf> {
        Ok(self.resolve_checked(m, op, path)?.0)
    }

    /// The path as the kernel records it for a mount point, a nullfs source or a jail's root:
    /// every symlink in it followed (vfs_mount.c `vfs_domount` → `vn_path_to_global_path`
    /// for `f_mntonname`; kern_jail.c the same for `pr_path`), an absolute link target taken
    /// from the host's root, at most 32 links (`MAXSYMLINKS`, else ELOOP). A missing tail is
    /// kept as given.
    fn kernel_path(&self, m: &Model, op: OpKind, path: &Path) -> HostResult<PathBuf> {
        let obj = || Object::Path(path.into());
        if !path.is_absolute() {
            return Err(em(op, obj(), Errno::EINVAL, "path must be absolute"));
        }
        let mut todo: std::collections::VecDeque<std::ffi::OsString> = path
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_os_string()),
                Component::ParentDir => Some("..".into()),
                _ => None,
            })
            .collect();
        let mut out = PathBuf::from("/");
        let mut links = 0;
        while let Some(c) = todo.pop_front() {
            if c == ".." {
                out.pop();
                continue;
            }
            let cand = out.join(&c);
            let real = self.resolve(m, &cand).0;
            match fs::symlink_metadata(&real) {
                Ok(md) if md.file_type().is_symlink() => {
                    links += 1;
                    if links > 32 {
                        return Err(em(
                            op,
                            obj(),
                            Errno::ELOOP,
                            "too many levels of symbolic links",
                        ));
                    }
                    let target = fs::read_link(&real).map_err(|err| io_err(op, &cand, err))?;
                    if target.is_absolute() {
                        out = PathBuf::from("/");
                    }
                    for t in target.components().rev() {
                        match t {
                            Component::Normal(n) => todo.push_front(n.to_os_string()),
                            Component::ParentDir => todo.push_front("..".into()),
                            _ => {}
                        }
                    }
                }
                _ => out = cand,
            }
        }
        Ok(out)
    }

    /// Like [`SimHost::real`] for writing: EROFS through a read-only mount.
    fn real_w(&self, m: &Model, op: OpKind, path: &Path) -> HostResult<PathBuf> {
        let (real, ro) = self.resolve_checked(m, op, path)?;
        if ro {
            return Err(em(
                op,
                Object::Path(path.into()),
                Errno::EROFS,
                "read-only file system",
            ));
        }
        Ok(real)
    }

    fn resolve_checked(&self, m: &Model, op: OpKind, path: &Path) -> HostResult<(PathBuf, bool)> {
        if !path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(em(
                op,
                Object::Path(path.into()),
                Errno::EINVAL,
                "path must be absolute without '..'",
            ));
        }
        Ok(self.resolve(m, path))
    }

    /// Resolve a host path through the mount table: the most recent mount covering the path
    /// decides (see `Model::mount_of`).
    /// A mount's contents live where its mount point resolved when it was mounted (resolved
    /// against the older mounts only); a nullfs mount continues at its lower directory, itself
    /// resolved against the older mounts (nullfs does not see mounts made later on the lower
    /// layer). Returns the real path and whether a read-only mount was crossed.
    fn resolve(&self, m: &Model, path: &Path) -> (PathBuf, bool) {
        let p: PathBuf = Path::new("/").join(
            path.components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .collect::<PathBuf>(),
        );
        let (rel, ro) = resolve_in(&m.mounts, &p);
        (self.real_path(&rel), ro)
    }

    /// The path must exist and be a directory (namei + VDIR check).
    fn need_dir(&self, m: &Model, op: OpKind, path: &Path) -> HostResult<()> {
        let real = self.real(m, op, path)?;
        match fs::metadata(&real) {
            Ok(md) if md.is_dir() => Ok(()),
            Ok(_) => Err(e(op, Object::Path(path.into()), Errno::ENOTDIR)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                Err(e(op, Object::Path(path.into()), Errno::ENOENT))
            }
            Err(err) => Err(io_err(op, path, err)),
        }
    }
}

/// The devices a devfs mount shows through a loaded jail ruleset: /etc/defaults/devfs.rules
/// `devfsrules_jail` (4) and `devfsrules_jail_vnet` (5) hide everything, then unhide
/// `devfsrules_unhide_basic` and `devfsrules_unhide_login` (pty/tty patterns left out), fuse
/// and zfs. The model treats every loaded ruleset as such a jail ruleset.
const JAIL_DEVICES: &[&str] = &[
    "null", "zero", "crypto", "random", "urandom", "ptmx", "pts", "fd", "stdin", "stdout",
    "stderr", "fuse", "zfs",
];
/// Devices a devfs mount shows with no rules applied (ruleset 0 or an empty one) on top of
/// [`JAIL_DEVICES`]: a guess at a small part of a real host's /dev, enough to tell a hiding
/// ruleset from none (memory and I/O port access above all).
const HOST_ONLY_DEVICES: &[&str] = &["mem", "kmem", "io", "console", "klog", "pci", "bpf"];

impl Model {
    /// What a devfs mount shows at `path`, when the newest mount covering `path` is devfs:
    /// `Some(None)` for a hidden or unknown device. devfs_rule.c applies the mount's ruleset
    /// (`devfs_ruleset_applydm`); an empty ruleset hides nothing.
    fn devfs_node(&self, path: &Path) -> Option<Option<FileKind>> {
        let mnt = self
            .mounts
            .iter()
            .rev()
            .find(|mi| path.starts_with(&mi.at))?;
        if mnt.fstype != FsType::Devfs {
            return None;
        }
        let rel = path.strip_prefix(&mnt.at).ok()?;
        let Some(first) = rel.components().next() else {
            return Some(Some(FileKind::Dir));
        };
        let name = first.as_os_str().to_str().unwrap_or("");
        let hiding = mnt
            .ruleset
            .is_some_and(|r| self.rulesets.contains(&r) && !self.non_hiding_rulesets.contains(&r));
        let visible =
            JAIL_DEVICES.contains(&name) || (!hiding && HOST_ONLY_DEVICES.contains(&name));
        if !visible {
            return Some(None);
        }
        let dir = matches!(name, "fd" | "pts");
        Some(Some(if rel.components().count() == 1 && dir {
            FileKind::Dir
        } else if rel.components().count() == 1 {
            FileKind::Other
        } else {
            // Entries below fd/ and pts/ are not modelled.
            return Some(None);
        }))
    }
}

/// Why unmounting a dying jail's root fails (FreeBsdHost says the same).
fn dying_message(name: &str, jid: i32) -> String {
    crate::host::dying_jail_message(name, jid)
}

/// Microseconds since the epoch (the simulated kernel's wall clock).
fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The kernel model after boot: `lo0` up, devfs rulesets 1–5 loaded.
fn boot_model() -> Model {
    let mut model = Model {
        rulesets: (1..=5).collect(),
        boottime_us: now_us(),
        ..Default::default()
    };
    let mut lo = Model::mk_if("lo0".to_string(), 0, IfKind::Loopback, 0);
    lo.up = true;
    lo.addrs.push((Ipv4Addr::LOCALHOST, 8));
    model.new_if(lo);
    model
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, FileState>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for ent in rd.flatten() {
        let p = ent.path();
        let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
        if rel == Path::new(SIMHOST_DIR) {
            continue;
        }
        let Ok(md) = fs::symlink_metadata(&p) else {
            continue;
        };
        let ft = md.file_type();
        if ft.is_dir() {
            out.insert(rel, FileState::Dir);
            walk(root, &p, out);
        } else if ft.is_file() {
            let mut h = DefaultHasher::new();
            h.write(&fs::read(&p).unwrap_or_default());
            out.insert(
                rel,
                FileState::File {
                    len: md.len(),
                    hash: h.finish(),
                },
            );
        } else if ft.is_symlink() {
            out.insert(
                rel,
                FileState::Symlink(fs::read_link(&p).unwrap_or_default()),
            );
        } else {
            out.insert(rel, FileState::Other);
        }
    }
}

/// The first of `checks` that holds, as the error of `op` on `obj`: `(refused, errno, message)`,
/// an empty message for the bare errno. Every condition is evaluated (they are cheap and pure);
/// the order decides which refusal is reported.
fn refuse(op: OpKind, obj: &Object, checks: &[(bool, Errno, &str)]) -> HostResult<()> {
    match checks.iter().find(|(refused, _, _)| *refused) {
        None => Ok(()),
        Some((_, errno, "")) => Err(e(op, obj.clone(), *errno)),
        Some((_, errno, msg)) => Err(em(op, obj.clone(), *errno, msg)),
    }
}

/// A dataset operation without the dataset layer: its model change on a copy, then its file
/// work (see the `store` module), then the change kept, so failed file work changes nothing in
/// the model.
fn then_files<T>(
    m: &mut Model,
    model: impl FnOnce(&mut Model) -> HostResult<T>,
    files: impl FnOnce(&Model) -> HostResult<()>,
) -> HostResult<T> {
    let mut next = m.clone();
    let v = model(&mut next)?;
    files(m)?;
    *m = next;
    Ok(v)
}

fn check_ifname(op: OpKind, name: &str) -> HostResult<()> {
    if name.is_empty() {
        return Err(e(op, Object::iface(name), Errno::EINVAL));
    }
    if name.len() > IFNAME_MAX {
        return Err(e(op, Object::iface(name), Errno::ENAMETOOLONG));
    }
    Ok(())
}

impl Host for SimHost {
    fn dataset_create(&self, name: &str, props: &DatasetProps) -> HostResult<()> {
        let op = OpKind::DatasetCreate;
        let obj = Object::Dataset(name.into());
        let model = |m: &mut Model| {
            validate_dataset_name(op, name, false)?;
            check_props(op, name, props)?;
            refuse(
                op,
                &obj,
                &[
                    (m.datasets.contains_key(name), Errno::EEXIST, ""),
                    (
                        m.parent_missing(name),
                        Errno::ENOENT,
                        "parent does not exist",
                    ),
                ],
            )?;
            m.datasets.insert(
                name.into(),
                Ds {
                    props: props.clone(),
                    origin: None,
                },
            );
            Ok(())
        };
        match &self.zfs {
            Some(z) => self.op_ext(op, obj.clone(), model, |_| z.create(self, name, props)),
            None => self.op(op, obj.clone(), |m| {
                then_files(m, model, |_| self.store_create(op, name))
            }),
        }
    }

    fn dataset_snapshot(&self, snapshot: &str) -> HostResult<()> {
        let op = OpKind::DatasetSnapshot;
        let obj = Object::Dataset(snapshot.into());
        let model = |m: &mut Model| {
            validate_dataset_name(op, snapshot, true)?;
            let fs = snapshot.split('@').next().unwrap_or_default();
            refuse(
                op,
                &obj,
                &[
                    (
                        !m.datasets.contains_key(fs),
                        Errno::ENOENT,
                        "dataset does not exist",
                    ),
                    (m.snapshots.contains(snapshot), Errno::EEXIST, ""),
                ],
            )?;
            m.snapshots.insert(snapshot.into());
            Ok(())
        };
        match &self.zfs {
            Some(z) => self.op_ext(op, obj.clone(), model, |_| z.snapshot(snapshot)),
            None => self.op(op, obj.clone(), |m| {
                then_files(m, model, |m| self.store_snapshot(m, op, snapshot))
            }),
        }
    }

    fn dataset_clone(&self, snapshot: &str, name: &str, props: &DatasetProps) -> HostResult<()> {
        let op = OpKind::DatasetClone;
        let obj = Object::Dataset(name.into());
        let model = |m: &mut Model| {
            validate_dataset_name(op, snapshot, true)?;
            validate_dataset_name(op, name, false)?;
            check_props(op, name, props)?;
            let origin_missing = !m.snapshots.contains(snapshot);
            let msg = "origin snapshot does not exist";
            refuse(
                op,
                &Object::Dataset(snapshot.into()),
                &[(origin_missing, Errno::ENOENT, msg)],
            )?;
            refuse(
                op,
                &obj,
                &[
                    (
                        pool_of(snapshot) != pool_of(name),
                        Errno::EXDEV,
                        "clone must be in the origin's pool",
                    ),
                    (m.datasets.contains_key(name), Errno::EEXIST, ""),
                    (
                        m.parent_missing(name),
                        Errno::ENOENT,
                        "parent does not exist",
                    ),
                ],
            )?;
            m.datasets.insert(
                name.into(),
                Ds {
                    props: props.clone(),
                    origin: Some(snapshot.into()),
                },
            );
            Ok(())
        };
        match &self.zfs {
            Some(z) => self.op_ext(op, obj.clone(), model, |_| {
                z.clone(self, snapshot, name, props)
            }),
            None => self.op(op, obj.clone(), |m| {
                then_files(m, model, |_| self.store_clone(op, snapshot, name))
            }),
        }
    }

    fn dataset_destroy(&self, name: &str) -> HostResult<()> {
        let op = OpKind::DatasetDestroy;
        let obj = Object::Dataset(name.into());
        let model = |m: &mut Model| {
            if name.contains('@') {
                validate_dataset_name(op, name, true)?;
                let has_clones = m
                    .datasets
                    .values()
                    .any(|d| d.origin.as_deref() == Some(name));
                refuse(
                    op,
                    &obj,
                    &[
                        (!m.snapshots.contains(name), Errno::ENOENT, ""),
                        (has_clones, Errno::EEXIST, "snapshot has dependent clones"),
                    ],
                )?;
                m.snapshots.remove(name);
                return Ok(());
            }
            validate_dataset_name(op, name, false)?;
            let (children, snapshots) = (format!("{name}/"), format!("{name}@"));
            refuse(
                op,
                &obj,
                &[
                    (!m.datasets.contains_key(name), Errno::ENOENT, ""),
                    (
                        parent_of(name).is_none(),
                        Errno::EINVAL,
                        "cannot destroy a pool's root dataset",
                    ),
                    (
                        m.datasets.keys().any(|k| k.starts_with(&children)),
                        Errno::EEXIST,
                        "filesystem has children",
                    ),
                    (
                        m.snapshots.iter().any(|s| s.starts_with(&snapshots)),
                        Errno::EEXIST,
                        "filesystem has snapshots",
                    ),
                    (
                        m.zfs_mounted(name),
                        Errno::EBUSY,
                        "dataset is busy (mounted)",
                    ),
                ],
            )?;
            m.datasets.remove(name);
            Ok(())
        };
        match &self.zfs {
            Some(z) => self.op_ext(op, obj.clone(), model, |_| z.destroy(name)),
            None => self.op(op, obj.clone(), |m| {
                then_files(m, model, |_| self.store_destroy(op, name))
            }),
        }
    }

    fn dataset_exists(&self, name: &str) -> HostResult<bool> {
        if let Some(z) = &self.zfs {
            let obj = Object::Dataset(name.into());
            return self.op_ext(OpKind::DatasetExists, obj, |_| Ok(()), |_| z.exists(name));
        }
        self.op(OpKind::DatasetExists, Object::Dataset(name.into()), |m| {
            Ok(m.datasets.contains_key(name) || m.snapshots.contains(name))
        })
    }

    fn dataset_clones(&self, snapshot: &str) -> HostResult<Vec<String>> {
        let op = OpKind::DatasetClones;
        let obj = Object::Dataset(snapshot.into());
        if let Some(z) = &self.zfs {
            return self.op_ext(op, obj, |_| Ok(()), |_| z.clones(snapshot));
        }
        self.op(op, obj.clone(), |m| {
            refuse(
                op,
                &obj,
                &[(!m.snapshots.contains(snapshot), Errno::ENOENT, "")],
            )?;
            Ok(m.datasets
                .iter()
                .filter(|(_, d)| d.origin.as_deref() == Some(snapshot))
                .map(|(k, _)| k.clone())
                .collect())
        })
    }

    fn dataset_mountpoint(&self, name: &str) -> HostResult<PathBuf> {
        let op = OpKind::DatasetMountpoint;
        let obj = Object::Dataset(name.into());
        if let Some(z) = &self.zfs {
            return self.op_ext(op, obj, |_| Ok(()), |_| z.mountpoint(&self.root, name));
        }
        self.op(op, obj.clone(), |m| {
            refuse(
                op,
                &obj,
                &[(!m.datasets.contains_key(name), Errno::ENOENT, "")],
            )?;
            Ok(m.effective_mountpoint(name))
        })
    }

    fn mount_nullfs(&self, lower: &Path, at: &Path, readonly: bool) -> HostResult<()> {
        let op = OpKind::MountNullfs;
        self.op(op, Object::Path(at.into()), |m| {
            let lower = &self.kernel_path(m, op, lower)?;
            let at = &self.kernel_path(m, op, at)?;
            self.need_dir(m, op, lower)?;
            self.need_dir(m, op, at)?;
            m.push_mount(MountInfo {
                fstype: FsType::Nullfs,
                source: lower.display().to_string(),
                at: at.into(),
                readonly,
                ruleset: None,
            });
            Ok(())
        })
    }

    fn mount_devfs(&self, at: &Path, ruleset: u16) -> HostResult<()> {
        let op = OpKind::MountDevfs;
        self.op(op, Object::Path(at.into()), |m| {
            let at = &self.kernel_path(m, op, at)?;
            self.need_dir(m, op, at)?;
            // devfs_rule.c devfs_ruleset_use: a missing ruleset is created, empty: nothing is
            // hidden, and the ruleset exists from now on without being loaded.
            if ruleset != 0 && !m.rulesets.contains(&ruleset) {
                m.empty_rulesets.insert(ruleset);
            }
            m.push_mount(MountInfo {
                fstype: FsType::Devfs,
                source: "devfs".into(),
                at: at.into(),
                readonly: false,
                ruleset: Some(ruleset),
            });
            Ok(())
        })
    }

    fn mount_zfs(&self, dataset: &str, at: &Path) -> HostResult<()> {
        let op = OpKind::MountZfs;
        if let Some(z) = &self.zfs {
            let model = |m: &mut Model| {
                refuse(
                    op,
                    &Object::Dataset(dataset.into()),
                    &[
                        (!m.datasets.contains_key(dataset), Errno::ENOENT, ""),
                        (m.zfs_mounted(dataset), Errno::EBUSY, "already mounted"),
                        (
                            m.effective_mountpoint(dataset) != at,
                            Errno::EINVAL,
                            "the zfs(8) dataset layer mounts a dataset at its mountpoint only",
                        ),
                    ],
                )?;
                m.push_mount(MountInfo {
                    fstype: FsType::Zfs,
                    source: dataset.into(),
                    at: at.into(),
                    readonly: false,
                    ruleset: None,
                });
                Ok(())
            };
            let obj = Object::Dataset(dataset.into());
            return self.op_ext(op, obj, model, |_| z.mount(dataset));
        }
        let obj = Object::Dataset(dataset.into());
        self.op(op, obj.clone(), |m| {
            refuse(
                op,
                &obj,
                &[
                    (!m.datasets.contains_key(dataset), Errno::ENOENT, ""),
                    (m.zfs_mounted(dataset), Errno::EBUSY, "already mounted"),
                ],
            )?;
            let at = &self.kernel_path(m, op, at)?;
            let real = self.real(m, op, at)?;
            let real = if real.exists() {
                real
            } else {
                self.real_w(m, op, at)?
            };
            // libzfs: mkdirp(mountpoint, 0755) when missing.
            if !real.exists() {
                fs::create_dir_all(&real).map_err(|err| io_err(op, at, err))?;
            }
            self.need_dir(m, op, at)?;
            self.store_mount(op, dataset, &real, m.next_mount + 1)?;
            m.push_mount(MountInfo {
                fstype: FsType::Zfs,
                source: dataset.into(),
                at: at.into(),
                readonly: false,
                ruleset: None,
            });
            Ok(())
        })
    }

    fn unmount(&self, at: &Path, force: bool) -> HostResult<()> {
        let op = OpKind::Unmount;
        let obj = Object::Path(at.into());
        let model = |m: &mut Model| {
            // unmount(2) looks the path up (namei): a symlinked path finds the mount.
            let at = &self.kernel_path(m, op, at)?;
            self.real(m, op, at)?;
            let Some(idx) = m.mounts.iter().rposition(|mt| &mt.at == at) else {
                return Err(em(op, obj.clone(), Errno::EINVAL, "not a mount point"));
            };
            // Mounts made later inside it sit on top of it; older ones at deeper paths are
            // covered by it, not on it.
            if m.mounts[idx + 1..]
                .iter()
                .any(|mt| mt.at != *at && mt.at.starts_with(at))
            {
                return Err(em(
                    op,
                    obj.clone(),
                    Errno::EBUSY,
                    "a filesystem is mounted beneath it",
                ));
            }
            let id = m.mount_ids[idx];
            if !force && let Some(j) = m.jails.values().find(|j| j.root_mount == Some(id)) {
                return Err(em(
                    op,
                    obj.clone(),
                    Errno::EBUSY,
                    &format!("in use by jail {:?}", j.name),
                ));
            }
            if !force && let Some(d) = m.dying.iter().find(|d| d.root_mount == Some(id)) {
                return Err(em(
                    op,
                    obj.clone(),
                    Errno::EBUSY,
                    &dying_message(&d.name, d.jid),
                ));
            }
            let mt = m.mounts.remove(idx);
            m.mount_ids.remove(idx);
            // devfs_rule.c devfs_ruleset_reap: an empty ruleset goes with its last reference.
            if let Some(rs) = mt.ruleset
                && !m.mounts.iter().any(|o| o.ruleset == Some(rs))
            {
                m.empty_rulesets.remove(&rs);
            }
            Ok((mt.fstype == FsType::Zfs).then_some(mt.source))
        };
        match &self.zfs {
            Some(z) => self.op_ext(op, obj.clone(), model, |zfs_source| match zfs_source {
                Some(ds) => z.unmount(&ds, force),
                None => Ok(()),
            }),
            None => self.op(op, obj.clone(), |m| {
                then_files(m, model, |m| {
                    match m.mounts.iter().rposition(|mt| mt.at == at) {
                        Some(idx) if m.mounts[idx].fstype == FsType::Zfs => {
                            self.store_unmount(m, op, idx)
                        }
                        _ => Ok(()),
                    }
                })
                .map(drop)
            }),
        }
    }

    fn mounts(&self) -> HostResult<Vec<MountInfo>> {
        self.op(OpKind::Mounts, Object::Path("/".into()), |m| {
            Ok(m.mounts.clone())
        })
    }

    fn devfs_ruleset_loaded(&self, ruleset: u16) -> HostResult<bool> {
        self.op(OpKind::DevfsRulesetLoaded, Object::Ruleset(ruleset), |m| {
            Ok(m.rulesets.contains(&ruleset))
        })
    }

    fn jail_create(&self, spec: &JailSpec) -> HostResult<i32> {
        let op = OpKind::JailCreate;
        let obj = Object::Jail(spec.name.clone());
        self.op(op, obj.clone(), |m| {
            if spec.name.len() >= MAXHOSTNAMELEN {
                return Err(em(op, obj, Errno::ENAMETOOLONG, "name too long"));
            }
            if let Some(h) = &spec.hostname
                && h.len() >= MAXHOSTNAMELEN
            {
                return Err(em(op, obj, Errno::ENAMETOOLONG, "host.hostname too long"));
            }
            if let Some(dot) = spec.name.rfind('.') {
                let parent = &spec.name[..dot];
                return Err(em(
                    op,
                    obj,
                    Errno::ENOENT,
                    &format!("jail \"{parent}\" not found"),
                ));
            }
            if spec.vnet && !spec.ip4.is_empty() {
                return Err(em(
                    op,
                    obj,
                    Errno::EINVAL,
                    "vnet jails cannot have IP address restrictions",
                ));
            }
            let mut seen = BTreeSet::new();
            for a in &spec.ip4 {
                if a.is_unspecified() || a.is_broadcast() || !seen.insert(*a) {
                    return Err(em(op, obj, Errno::EINVAL, "invalid IP address in ip4.addr"));
                }
            }
            if spec.ip4.len() > 255 {
                return Err(em(op, obj, Errno::EINVAL, "too many IPv4 addresses"));
            }
            if let Some(es) = spec.enforce_statfs
                && es > 2
            {
                return Err(em(op, obj, Errno::EINVAL, "Invalid enforce_statfs"));
            }
            if let Some(c) = spec.children_max
                && c >= JAIL_MAX as u32
            {
                // kern_jail.c: not below the parent's (prison0: JAIL_MAX); no message.
                return Err(em(
                    op,
                    obj,
                    Errno::EPERM,
                    "children.max not below the parent's",
                ));
            }
            let mut allow = BTreeSet::new();
            for a in &spec.allow {
                let name = format!("allow.{a}");
                match jailparams::lookup(&name) {
                    Some(d) if d.ty.kind == freebsd_jail::Kind::Bool => {
                        allow.insert(a.clone());
                    }
                    _ => {
                        return Err(em(
                            op,
                            obj,
                            Errno::ENOENT,
                            &format!("unknown parameter: {name}"),
                        ));
                    }
                }
            }
            let extra = params::extra_params(spec, &mut allow)
                .map_err(|pe| em(op, obj.clone(), pe.errno, &pe.errmsg))?;
            self.need_dir(m, op, &spec.path).map_err(|err| match err {
                HostError::Os { errno, .. } => {
                    em(op, Object::Path(spec.path.clone()), errno, "path")
                }
                other => other,
            })?;
            let numeric = !spec.name.is_empty() && spec.name.bytes().all(|b| b.is_ascii_digit());
            let jid = if extra.jid > 0 {
                if numeric && spec.name != extra.jid.to_string() {
                    return Err(em(
                        op,
                        obj,
                        Errno::EINVAL,
                        "name cannot be numeric (unless it is the jid)",
                    ));
                }
                if m.jails.contains_key(&extra.jid) {
                    return Err(em(
                        op,
                        obj,
                        Errno::EEXIST,
                        &format!("jail {} already exists", extra.jid),
                    ));
                }
                if !numeric && m.jails.values().any(|j| j.name == spec.name) {
                    return Err(em(
                        op,
                        obj,
                        Errno::EEXIST,
                        &format!("jail \"{}\" already exists", spec.name),
                    ));
                }
                extra.jid
            } else if numeric {
                let jid: i32 = spec.name.parse().unwrap_or(0);
                if jid <= 0 || jid > JAIL_MAX {
                    return Err(em(op, obj, Errno::EINVAL, "jid out of range"));
                }
                if m.jails.contains_key(&jid) {
                    return Err(em(
                        op,
                        obj,
                        Errno::EEXIST,
                        &format!("jail {jid} already exists"),
                    ));
                }
                jid
            } else {
                if m.jails.values().any(|j| j.name == spec.name) {
                    return Err(em(
                        op,
                        obj,
                        Errno::EEXIST,
                        &format!("jail \"{}\" already exists", spec.name),
                    ));
                }
                let mut j = m.last_jid;
                let mut tries = 0;
                loop {
                    j = if j >= JAIL_MAX { 1 } else { j + 1 };
                    tries += 1;
                    if !m.jails.contains_key(&j) {
                        break j;
                    }
                    if tries > JAIL_MAX {
                        return Err(em(op, obj, Errno::EAGAIN, "no free jid"));
                    }
                }
            };
            if !numeric && extra.jid == 0 {
                m.last_jid = jid;
            }
            let name = if spec.name.is_empty() {
                jid.to_string()
            } else {
                spec.name.clone()
            };
            // kern_jail.c: the jail's path is kept resolved (vn_path_to_global_path).
            let path = self.kernel_path(m, op, &spec.path)?;
            let root_mount = m.mount_of(&path).map(|i| m.mount_ids[i]);
            m.jails.insert(
                jid,
                SimJail {
                    name,
                    path,
                    hostname: spec.hostname.clone().unwrap_or_default(),
                    vnet: spec.vnet,
                    devfs_ruleset: spec.devfs_ruleset.unwrap_or(0),
                    ip4: spec.ip4.clone(),
                    allow,
                    params: extra.params,
                    default_route: None,
                    execs: Vec::new(),
                    root_mount,
                },
            );
            if spec.vnet {
                m.new_if(Model::mk_if("lo0".into(), jid, IfKind::Loopback, 0));
            }
            Ok(jid)
        })
    }

    fn jail_remove(&self, jid: i32) -> HostResult<()> {
        let op = OpKind::JailRemove;
        self.op(op, Object::Jid(jid), |m| {
            let Some(j) = m.jails.remove(&jid) else {
                return Err(e(op, Object::Jid(jid), Errno::EINVAL));
            };
            m.routes6.remove(&jid);
            if m.hold_dying.remove(&j.name) {
                // Still referenced: it dies later (see `SimDying`), vnet and root included.
                m.dying.push(SimDying {
                    jid,
                    name: j.name,
                    root_mount: j.root_mount,
                });
                return Ok(());
            }
            m.free_vnet(jid);
            Ok(())
        })
    }

    fn jails(&self) -> HostResult<Vec<JailInfo>> {
        self.op(OpKind::Jails, Object::Path("/".into()), |m| {
            Ok(m.jails
                .iter()
                .map(|(jid, j)| Model::jail_info(*jid, j))
                .collect())
        })
    }

    fn jail_by_name(&self, name: &str) -> HostResult<Option<JailInfo>> {
        self.op(OpKind::JailByName, Object::Jail(name.into()), |m| {
            Ok(m.jails
                .iter()
                .find(|(_, j)| j.name == name)
                .map(|(jid, j)| Model::jail_info(*jid, j)))
        })
    }

    fn jail_exec(&self, jid: i32, cmd: &JailCommand) -> HostResult<i32> {
        let op = OpKind::JailExec;
        self.op(op, Object::Jid(jid), |m| {
            let Some(j) = m.jails.get(&jid) else {
                return Err(em(
                    op,
                    Object::Jid(jid),
                    Errno::EINVAL,
                    "jail_attach: no such jail",
                ));
            };
            let Some(prog) = cmd.argv.first() else {
                return Err(em(
                    op,
                    Object::Jail(j.name.clone()),
                    Errno::EINVAL,
                    "empty argv",
                ));
            };
            let in_jail = j
                .path
                .join(Path::new(prog).strip_prefix("/").unwrap_or(Path::new(prog)));
            if !Path::new(prog).is_absolute() || !self.real(m, op, &in_jail)?.is_file() {
                return Err(em(
                    op,
                    Object::Path(in_jail),
                    Errno::ENOENT,
                    "execve: no such program in the jail",
                ));
            }
            if let Some(log) = &cmd.console_log {
                let real = self.real_w(m, op, log)?;
                let mut f = fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&real)
                    .map_err(|err| io_err(op, log, err))?;
                writeln!(f, "simhost: {}", cmd.argv.join(" "))
                    .map_err(|err| io_err(op, log, err))?;
            }
            let Some(j) = m.jails.get_mut(&jid) else {
                return Err(em(
                    op,
                    Object::Jid(jid),
                    Errno::EINVAL,
                    "jail_attach: no such jail",
                ));
            };
            j.execs.push(cmd.clone());
            Ok(0)
        })
    }

    fn epair_create(&self, unit: Option<u32>) -> HostResult<EpairPair> {
        let op = OpKind::EpairCreate;
        let cloner = match unit {
            Some(u) => format!("epair{u}"),
            None => "epair".into(),
        };
        self.op(op, Object::Cloner(cloner.clone()), |m| {
            let u = match unit {
                Some(u) if u > IF_MAXUNIT => {
                    return Err(e(op, Object::Cloner(cloner), Errno::ENOSPC));
                }
                Some(u) => {
                    if m.epair_units.contains(&u) || m.name_taken(0, &format!("epair{u}")) {
                        return Err(e(op, Object::Cloner(cloner), Errno::EEXIST));
                    }
                    u
                }
                None => match (0..=IF_MAXUNIT)
                    .find(|u| !m.epair_units.contains(u) && !m.name_taken(0, &format!("epair{u}")))
                {
                    Some(u) => u,
                    None => return Err(e(op, Object::Cloner(cloner), Errno::ENOSPC)),
                },
            };
            let (a, b) = (format!("epair{u}a"), format!("epair{u}b"));
            if a.len() > IFNAME_MAX {
                return Err(e(op, Object::iface(&a), Errno::ENOSPC));
            }
            for n in [&a, &b] {
                if m.name_taken(0, n) {
                    return Err(em(
                        op,
                        Object::iface(n),
                        Errno::EEXIST,
                        "interface name exists",
                    ));
                }
            }
            m.epair_units.insert(u);
            let mut ia = Model::mk_if(a.clone(), 0, IfKind::Epair, u);
            let mut ib = Model::mk_if(b.clone(), 0, IfKind::Epair, u);
            ia.peer = Some(m.next_if + 2);
            ib.peer = Some(m.next_if + 1);
            m.new_if(ia);
            m.new_if(ib);
            Ok(EpairPair { a, b })
        })
    }

    fn bridge_create(&self, unit: Option<u32>) -> HostResult<String> {
        let op = OpKind::BridgeCreate;
        let cloner = match unit {
            Some(u) => format!("bridge{u}"),
            None => "bridge".into(),
        };
        self.op(op, Object::Cloner(cloner.clone()), |m| {
            let u = match unit {
                Some(u) if u > IF_MAXUNIT => {
                    return Err(e(op, Object::Cloner(cloner), Errno::ENOSPC));
                }
                Some(u) => u,
                None => match (0..=IF_MAXUNIT).find(|u| {
                    !m.bridge_units.contains(u) && !m.name_taken(0, &format!("bridge{u}"))
                }) {
                    Some(u) => u,
                    None => return Err(e(op, Object::Cloner(cloner), Errno::ENOSPC)),
                },
            };
            let name = format!("bridge{u}");
            if m.bridge_units.contains(&u) || m.name_taken(0, &name) {
                return Err(e(op, Object::iface(&name), Errno::EEXIST));
            }
            m.bridge_units.insert(u);
            m.new_if(Model::mk_if(name.clone(), 0, IfKind::Bridge, u));
            Ok(name)
        })
    }

    fn if_destroy(&self, name: &str) -> HostResult<()> {
        let op = OpKind::IfDestroy;
        self.op(op, Object::iface(name), |m| {
            check_ifname(op, name)?;
            let Some(id) = m.find_if(0, name) else {
                return Err(e(op, Object::iface(name), Errno::ENXIO));
            };
            if m.ifaces[&id].kind == IfKind::Loopback {
                return Err(em(
                    op,
                    Object::iface(name),
                    Errno::EINVAL,
                    "cannot destroy the vnet's loopback",
                ));
            }
            m.destroy_if(id);
            Ok(())
        })
    }

    fn if_rename(&self, name: &str, new_name: &str) -> HostResult<()> {
        let op = OpKind::IfRename;
        self.op(op, Object::iface(name), |m| {
            check_ifname(op, name)?;
            let Some(id) = m.find_if(0, name) else {
                return Err(e(op, Object::iface(name), Errno::ENXIO));
            };
            check_ifname(op, new_name)?;
            if name == new_name {
                return Ok(());
            }
            if m.name_taken(0, new_name) {
                return Err(e(op, Object::iface(new_name), Errno::EEXIST));
            }
            if let Some(i) = m.ifaces.get_mut(&id) {
                i.name = new_name.into();
            }
            Ok(())
        })
    }

    fn if_set_description(&self, name: &str, description: Option<&str>) -> HostResult<()> {
        let op = OpKind::IfSetDescription;
        self.op(op, Object::iface(name), |m| {
            check_ifname(op, name)?;
            let Some(id) = m.find_if(0, name) else {
                return Err(e(op, Object::iface(name), Errno::ENXIO));
            };
            if description.is_some_and(|d| d.len() + 1 > IFDESCR_MAXLEN) {
                return Err(e(op, Object::iface(name), Errno::ENAMETOOLONG));
            }
            if let Some(i) = m.ifaces.get_mut(&id) {
                i.descr = description.filter(|d| !d.is_empty()).map(str::to_string);
            }
            Ok(())
        })
    }

    fn if_set_up(&self, name: &str, up: bool) -> HostResult<()> {
        let op = OpKind::IfSetUp;
        self.op(op, Object::iface(name), |m| {
            check_ifname(op, name)?;
            let Some(id) = m.find_if(0, name) else {
                return Err(e(op, Object::iface(name), Errno::ENXIO));
            };
            if let Some(i) = m.ifaces.get_mut(&id) {
                i.up = up;
            }
            Ok(())
        })
    }

    fn bridge_addm(&self, bridge: &str, member: &str) -> HostResult<()> {
        let op = OpKind::BridgeAddm;
        self.op(op, Object::iface(bridge), |m| {
            check_ifname(op, bridge)?;
            let Some(b) = m.find_if(0, bridge) else {
                return Err(e(op, Object::iface(bridge), Errno::ENXIO));
            };
            if m.ifaces[&b].kind != IfKind::Bridge {
                return Err(em(op, Object::iface(bridge), Errno::EINVAL, "not a bridge"));
            }
            let Some(id) = m.find_if(0, member) else {
                return Err(em(
                    op,
                    Object::iface(member),
                    Errno::ENOENT,
                    "member not found",
                ));
            };
            if m.ifaces[&id].kind != IfKind::Epair {
                return Err(em(
                    op,
                    Object::iface(member),
                    Errno::EINVAL,
                    "member is not an Ethernet interface",
                ));
            }
            match m.ifaces[&id].bridge {
                Some(x) if x == b => {
                    return Err(em(
                        op,
                        Object::iface(member),
                        Errno::EEXIST,
                        "already a member",
                    ));
                }
                Some(_) => {
                    return Err(em(
                        op,
                        Object::iface(member),
                        Errno::EBUSY,
                        "member of another bridge",
                    ));
                }
                None => {}
            }
            if let Some(i) = m.ifaces.get_mut(&id) {
                i.bridge = Some(b);
            }
            if let Some(br) = m.ifaces.get_mut(&b) {
                br.members.push(id);
            }
            Ok(())
        })
    }

    fn bridge_deletem(&self, bridge: &str, member: &str) -> HostResult<()> {
        let op = OpKind::BridgeDeletem;
        self.op(op, Object::iface(bridge), |m| {
            check_ifname(op, bridge)?;
            let Some(b) = m.find_if(0, bridge) else {
                return Err(e(op, Object::iface(bridge), Errno::ENXIO));
            };
            if m.ifaces[&b].kind != IfKind::Bridge {
                return Err(em(op, Object::iface(bridge), Errno::EINVAL, "not a bridge"));
            }
            let found = m.ifaces[&b]
                .members
                .iter()
                .copied()
                .find(|id| m.ifaces[id].name == member);
            let Some(id) = found else {
                return Err(em(op, Object::iface(member), Errno::ENOENT, "not a member"));
            };
            m.leave_bridge(id);
            Ok(())
        })
    }

    fn if_move_to_jail(&self, name: &str, jid: i32) -> HostResult<()> {
        let op = OpKind::IfMoveToJail;
        self.op(op, Object::iface(name), |m| {
            check_ifname(op, name)?;
            let Some(id) = m.find_if(0, name) else {
                return Err(e(op, Object::iface(name), Errno::ENXIO));
            };
            let Some(j) = m.jails.get(&jid) else {
                return Err(em(op, Object::Jid(jid), Errno::ENXIO, "no such jail"));
            };
            if !j.vnet {
                return Err(em(
                    op,
                    Object::Jail(j.name.clone()),
                    Errno::EEXIST,
                    "jail shares the host's vnet",
                ));
            }
            if m.name_taken(jid, name) {
                return Err(e(
                    op,
                    Object::Interface {
                        name: name.into(),
                        jid: Some(jid),
                    },
                    Errno::EEXIST,
                ));
            }
            m.vmove(id, jid);
            Ok(())
        })
    }

    fn if_move_from_jail(&self, name: &str, jid: i32) -> HostResult<()> {
        let op = OpKind::IfMoveFromJail;
        let obj = Object::Interface {
            name: name.into(),
            jid: Some(jid),
        };
        self.op(op, obj.clone(), |m| {
            check_ifname(op, name)?;
            if !m.jails.contains_key(&jid) {
                return Err(em(op, Object::Jid(jid), Errno::ENXIO, "no such jail"));
            }
            let Some(id) = m.find_if(jid, name) else {
                return Err(e(op, obj, Errno::ENXIO));
            };
            let home = m.ifaces[&id].home;
            if home == jid {
                return Err(em(op, obj, Errno::EINVAL, "interface belongs to this vnet"));
            }
            if m.name_taken(home, name) {
                return Err(e(op, Object::iface(name), Errno::EEXIST));
            }
            m.vmove(id, home);
            Ok(())
        })
    }

    fn interfaces(&self, jid: Option<i32>) -> HostResult<Vec<IfInfo>> {
        let op = OpKind::Interfaces;
        self.op(op, Object::Jid(jid.unwrap_or(0)), |m| {
            let v = match jid {
                None => 0,
                Some(j) => m.jail_vnet(op, j)?,
            };
            Ok(m.ifaces
                .values()
                .filter(|i| i.vnet == v)
                .map(|i| m.iface_info(i))
                .collect())
        })
    }

    fn jail_if_addr_add(&self, jid: i32, name: &str, addr: IpNet) -> HostResult<()> {
        let op = OpKind::JailIfAddrAdd;
        let obj = Object::Interface {
            name: name.into(),
            jid: Some(jid),
        };
        self.op(op, obj.clone(), |m| {
            let v = m.jail_vnet(op, jid)?;
            match addr {
                IpNet::V4(n) => {
                    let (addr, prefix) = (n.addr(), n.prefix_len());
                    if addr.is_unspecified() {
                        return Err(em(op, obj, Errno::EINVAL, "invalid address or prefix"));
                    }
                    let Some(id) = m.find_if(v, name) else {
                        return Err(e(op, obj, Errno::ENXIO));
                    };
                    let Some(i) = m.ifaces.get_mut(&id) else {
                        return Err(e(op, obj, Errno::ENXIO));
                    };
                    // The address is looked up first (freebsd-netif add_inet_once, SIOCGIFALIAS
                    // → in.c in_gifaddr_ioctl): SIOCAIFADDR itself would delete and re-add it
                    // and take the static routes through it along (in.c in_aifaddr_ioctl →
                    // in_difaddr_ioctl → in_ifadown). Same prefix: nothing changes.
                    match i.addrs.iter().find(|(a, _)| *a == addr) {
                        Some((_, p)) if *p == prefix => Ok(()),
                        Some(_) => Err(em(
                            op,
                            obj,
                            Errno::EADDRINUSE,
                            "the interface has this address with another prefix",
                        )),
                        None => {
                            i.addrs.push((addr, prefix));
                            Ok(())
                        }
                    }
                }
                IpNet::V6(n) => {
                    let (addr, prefix) = (n.addr(), n.prefix_len());
                    let Some(id) = m.find_if(v, name) else {
                        return Err(e(op, obj, Errno::ENXIO));
                    };
                    // netinet6/in6.c in6_validate_ifra (FreeBSD 14): a new address needs a
                    // prefix mask, and `in6_mask2len(mask) <= 0` is EINVAL (so /0 is refused;
                    // lengths over 128 cannot be expressed in a mask, nor in an `IpNet`).
                    if prefix == 0 {
                        return Err(em(op, obj, Errno::EINVAL, "IPv6 prefix length 0"));
                    }
                    let Some(i) = m.ifaces.get_mut(&id) else {
                        return Err(e(op, obj, Errno::ENXIO));
                    };
                    match i.addrs6.iter().find(|(a, _)| *a == addr) {
                        // in6_validate_ifra: "the prefix length of an existing address should
                        // not be changed" → EINVAL; the same length updates the address
                        // (SIOCAIFADDR_IN6 → in6_update_ifa with the existing ia): success.
                        Some((_, p)) if *p != prefix => Err(em(
                            op,
                            obj,
                            Errno::EINVAL,
                            "the prefix length of an existing address cannot be changed",
                        )),
                        Some(_) => Ok(()),
                        None => {
                            i.addrs6.push((addr, prefix));
                            Ok(())
                        }
                    }
                }
            }
        })
    }

    fn jail_if_addr_delete(&self, jid: i32, name: &str, addr: IpAddr) -> HostResult<()> {
        let op = OpKind::JailIfAddrDelete;
        let obj = Object::Interface {
            name: name.into(),
            jid: Some(jid),
        };
        self.op(op, obj.clone(), |m| {
            let v = m.jail_vnet(op, jid)?;
            let Some(id) = m.find_if(v, name) else {
                return Err(e(op, obj, Errno::ENXIO));
            };
            let i = m
                .ifaces
                .get_mut(&id)
                .ok_or_else(|| e(op, obj.clone(), Errno::ENXIO))?;
            // SIOCDIFADDR / SIOCDIFADDR_IN6 (in6_control: no such address → EADDRNOTAVAIL).
            let had = match addr {
                IpAddr::V4(a4) => {
                    let n = i.addrs.len();
                    i.addrs.retain(|(a, _)| *a != a4);
                    n != i.addrs.len()
                }
                IpAddr::V6(a6) => {
                    let n = i.addrs6.len();
                    i.addrs6.retain(|(a, _)| *a != a6);
                    n != i.addrs6.len()
                }
            };
            if !had {
                return Err(e(op, obj, Errno::EADDRNOTAVAIL));
            }
            // Routes through a gateway that is no longer on-link go away with the address.
            let gw4 = m.jails.get(&jid).and_then(|j| j.default_route);
            if gw4.is_some()
                && !on_link(m, v, gw4)
                && let Some(j) = m.jails.get_mut(&jid)
            {
                j.default_route = None;
            }
            if let Some(gw6) = m.routes6.get(&jid).copied()
                && !on_link6(m, v, gw6)
            {
                m.routes6.remove(&jid);
            }
            Ok(())
        })
    }

    fn jail_if_set_up(&self, jid: i32, name: &str, up: bool) -> HostResult<()> {
        let op = OpKind::JailIfSetUp;
        let obj = Object::Interface {
            name: name.into(),
            jid: Some(jid),
        };
        self.op(op, obj.clone(), |m| {
            let v = m.jail_vnet(op, jid)?;
            let Some(id) = m.find_if(v, name) else {
                return Err(e(op, obj, Errno::ENXIO));
            };
            if let Some(i) = m.ifaces.get_mut(&id) {
                i.up = up;
            }
            Ok(())
        })
    }

    fn jail_route_add_default(&self, jid: i32, gateway: IpAddr) -> HostResult<()> {
        let op = OpKind::JailRouteAddDefault;
        self.op(op, Object::Jid(jid), |m| {
            let v = m.jail_vnet(op, jid)?;
            let exists = match gateway {
                IpAddr::V4(_) => m.jails.get(&jid).and_then(|j| j.default_route).is_some(),
                IpAddr::V6(_) => m.routes6.contains_key(&jid),
            };
            if exists {
                return Err(em(
                    op,
                    Object::Jid(jid),
                    Errno::EEXIST,
                    "default route exists",
                ));
            }
            let reachable = match gateway {
                IpAddr::V4(g) => on_link(m, v, Some(g)),
                IpAddr::V6(g) if g.is_unicast_link_local() => {
                    // A link-local gateway is only meaningful with its interface's scope
                    // (fe80::1%epair0b); the call carries none, and FreeBSD's host refuses it
                    // before the fork (freebsd-netif JailOps::push), so this does too.
                    return Err(em(
                        op,
                        Object::Jid(jid),
                        Errno::EINVAL,
                        "a link-local gateway needs an interface scope",
                    ));
                }
                IpAddr::V6(g) => on_link6(m, v, g),
            };
            if !reachable {
                return Err(em(
                    op,
                    Object::Jid(jid),
                    Errno::ENETUNREACH,
                    "gateway is not on-link",
                ));
            }
            match gateway {
                IpAddr::V4(g) => {
                    if let Some(j) = m.jails.get_mut(&jid) {
                        j.default_route = Some(g);
                    }
                }
                IpAddr::V6(g) => {
                    m.routes6.insert(jid, g);
                }
            }
            Ok(())
        })
    }

    fn jail_route_delete_default(&self, jid: i32, family: AddrFamily) -> HostResult<()> {
        let op = OpKind::JailRouteDeleteDefault;
        self.op(op, Object::Jid(jid), |m| {
            m.jail_vnet(op, jid)?;
            let had = match family {
                AddrFamily::Inet => m
                    .jails
                    .get_mut(&jid)
                    .and_then(|j| j.default_route.take())
                    .is_some(),
                AddrFamily::Inet6 => m.routes6.remove(&jid).is_some(),
            };
            if had {
                Ok(())
            } else {
                Err(em(
                    op,
                    Object::Jid(jid),
                    Errno::ESRCH,
                    &format!("no {family} default route"),
                ))
            }
        })
    }

    fn file_type(&self, path: &Path) -> HostResult<Option<FileKind>> {
        let op = OpKind::FileType;
        let devfs = std::cell::Cell::new(None);
        self.file_op(
            op,
            Object::Path(path.into()),
            |m| {
                devfs.set(m.devfs_node(path));
                self.real(m, op, path)
            },
            |real| match devfs.get() {
                Some(node) => Ok(node),
                None => match fs::symlink_metadata(&real) {
                    Ok(md) => {
                        let ft = md.file_type();
                        Ok(Some(if ft.is_dir() {
                            FileKind::Dir
                        } else if ft.is_file() {
                            FileKind::File
                        } else if ft.is_symlink() {
                            FileKind::Symlink
                        } else {
                            FileKind::Other
                        }))
                    }
                    Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
                    Err(err) => Err(io_err(op, path, err)),
                },
            },
        )
    }

    fn mkdir(&self, path: &Path, mode: u32) -> HostResult<()> {
        let op = OpKind::Mkdir;
        self.file_op(
            op,
            Object::Path(path.into()),
            |m| self.real_w(m, op, path),
            |real| {
                fs::create_dir(&real).map_err(|err| io_err(op, path, err))?;
                fs::set_permissions(&real, fs::Permissions::from_mode(mode))
                    .map_err(|err| io_err(op, path, err))
            },
        )
    }

    fn write_file(&self, path: &Path, contents: &[u8], mode: u32) -> HostResult<()> {
        let op = OpKind::WriteFile;
        self.file_op(
            op,
            Object::Path(path.into()),
            |m| self.real_w(m, op, path),
            |real| {
                fs::write(&real, contents).map_err(|err| io_err(op, path, err))?;
                fs::set_permissions(&real, fs::Permissions::from_mode(mode))
                    .map_err(|err| io_err(op, path, err))
            },
        )
    }

    fn remove_file(&self, path: &Path) -> HostResult<()> {
        let op = OpKind::RemoveFile;
        self.file_op(
            op,
            Object::Path(path.into()),
            |m| self.real_w(m, op, path),
            |real| fs::remove_file(&real).map_err(|err| io_err(op, path, err)),
        )
    }

    fn remove_dir(&self, path: &Path) -> HostResult<()> {
        let op = OpKind::RemoveDir;
        self.file_op(
            op,
            Object::Path(path.into()),
            |m| {
                let real = self.real_w(m, op, path)?;
                if m.mounts.iter().any(|mt| mt.at == path) {
                    return Err(em(
                        op,
                        Object::Path(path.into()),
                        Errno::EBUSY,
                        "mount point in use",
                    ));
                }
                Ok(real)
            },
            |real| fs::remove_dir(&real).map_err(|err| io_err(op, path, err)),
        )
    }

    /// The simulated boot's `kern.boottime` and the uptime since (see [`SimHost::reboot`]).
    fn boot_stamp(&self) -> HostResult<BootStamp> {
        self.op(
            OpKind::BootStamp,
            Object::Sysctl("kern.boottime".into()),
            |m| {
                Ok(BootStamp {
                    boottime_us: m.boottime_us,
                    uptime_us: now_us().saturating_sub(m.boottime_us),
                })
            },
        )
    }
}

/// Operations that change what host paths resolve to (mounts) or move files in the store
/// (datasets): they wait for the file I/O in progress (see `SimHost::file_op`).
fn changes_file_tree(kind: OpKind) -> bool {
    matches!(
        kind,
        OpKind::DatasetCreate
            | OpKind::DatasetSnapshot
            | OpKind::DatasetClone
            | OpKind::DatasetDestroy
            | OpKind::MountNullfs
            | OpKind::MountDevfs
            | OpKind::MountZfs
            | OpKind::Unmount
    )
}

fn last_covering(mounts: &[MountInfo], p: &Path) -> Option<usize> {
    mounts.iter().rposition(|mt| p.starts_with(&mt.at))
}

/// See [`SimHost::resolve`]: returns a host path (to be placed under the root).
fn resolve_in(mounts: &[MountInfo], p: &Path) -> (PathBuf, bool) {
    let Some(idx) = last_covering(mounts, p) else {
        return (p.to_path_buf(), false);
    };
    let mt = &mounts[idx];
    let rest = p
        .strip_prefix(&mt.at)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let base = match mt.fstype {
        FsType::Nullfs => PathBuf::from(&mt.source),
        FsType::Zfs | FsType::Devfs => mt.at.clone(),
    };
    let (real, lower_ro) = resolve_in(&mounts[..idx], &base);
    let real = if rest.as_os_str().is_empty() {
        real
    } else {
        real.join(rest)
    };
    // A path is on the deepest mount's filesystem; nullfs also inherits its lower layer's `ro`.
    let ro = mt.readonly || (mt.fstype == FsType::Nullfs && lower_ro);
    (real, ro)
}

/// Is `gw` inside the prefix of an address configured in vnet `v`?
fn on_link(m: &Model, v: i32, gw: Option<Ipv4Addr>) -> bool {
    let Some(gw) = gw else { return false };
    m.ifaces
        .values()
        .filter(|i| i.vnet == v)
        .flat_map(|i| i.addrs.iter())
        .any(|(a, p)| {
            let mask = if *p == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(*p))
            };
            u32::from(*a) & mask == u32::from(gw) & mask
        })
}

/// Is `gw` inside the prefix of an IPv6 address configured in vnet `v`?
fn on_link6(m: &Model, v: i32, gw: Ipv6Addr) -> bool {
    m.ifaces
        .values()
        .filter(|i| i.vnet == v)
        .flat_map(|i| i.addrs6.iter())
        .any(|(a, p)| Ipv6Net::new(*a, *p).is_ok_and(|n| n.contains(&gw)))
}

fn check_props(op: OpKind, name: &str, props: &DatasetProps) -> HostResult<()> {
    if let Some(mp) = &props.mountpoint
        && !mp.is_absolute()
    {
        return Err(em(
            op,
            Object::Dataset(name.into()),
            Errno::EINVAL,
            "mountpoint must be absolute",
        ));
    }
    for k in props.user.keys() {
        if !k.contains(':') {
            return Err(em(
                op,
                Object::Dataset(name.into()),
                Errno::EINVAL,
                &format!("invalid property {k:?}"),
            ));
        }
    }
    Ok(())
}
