//! [`FreeBsdHost`]: the [`Host`] that makes the real FreeBSD system calls through `freebsd-zfs`,
//! `freebsd-jail` and `freebsd-netif`, with no helper process (only [`Host::jail_exec`] runs a
//! program: the jail's own command).
//!
//! The mapping of each crate's typed error onto [`HostError`] is portable (compiled and unit
//! tested on every OS); the host itself is `#[cfg(target_os = "freebsd")]`.

use std::path::Path;

use super::{
    CanMount, DatasetProps, Errno, FileKind, HostError, HostResult, IfInfo, IfKind, JailInfo,
    JailSpec, Object, OpKind,
};

// ---------------------------------------------------------------------------------------------
// Portable: typed errors of the freebsd-* crates -> HostError. On FreeBSD the crates' errnos are
// the running OS's, i.e. FreeBSD's, which is what `Errno` holds.
// ---------------------------------------------------------------------------------------------

/// The errno a freebsd-zfs error kind stands for when the backend gave no errno.
fn zfs_kind_errno(kind: &freebsd_zfs::ErrorKind) -> Errno {
    use freebsd_zfs::ErrorKind as K;
    match kind {
        K::Exists | K::HasDependants(_) => Errno::EEXIST,
        K::NotFound => Errno::ENOENT,
        K::Busy | K::AlreadyMounted => Errno::EBUSY,
        K::Permission => Errno::EPERM,
        K::InvalidName | K::InvalidArgument | K::NotMounted => Errno::EINVAL,
        K::Unavailable => Errno::ENXIO,
        K::Unsupported => Errno::EOPNOTSUPP,
        K::Snapshots(v) => v
            .first()
            .map(|f| {
                f.errno
                    .map(Errno)
                    .unwrap_or_else(|| zfs_kind_errno(&f.kind))
            })
            .unwrap_or(Errno::EIO),
        K::Other => Errno::EIO,
    }
}

/// A freebsd-zfs error as a [`HostError`] about dataset `name` (the error's own dataset when it
/// names one). Refusals with dependants are `EEXIST`, as `lzc_destroy` answers; the message
/// (zfs(8)'s text or the dependants' names) is kept as the errmsg.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn zfs_error(op: OpKind, name: &str, e: &freebsd_zfs::Error) -> HostError {
    use freebsd_zfs::ErrorKind as K;
    let errno = match (&e.kind, e.errno) {
        // The dependants refusal is a decision of the library (it lists them first).
        (K::HasDependants(_) | K::Snapshots(_), _) => zfs_kind_errno(&e.kind),
        (_, Some(n)) => Errno(n),
        (k, None) => zfs_kind_errno(k),
    };
    let errmsg = match (&e.kind, &e.message) {
        (K::HasDependants(_) | K::Snapshots(_), Some(m)) => Some(format!("{}: {m}", e.kind)),
        (K::HasDependants(_) | K::Snapshots(_), None) => Some(e.kind.to_string()),
        (_, m) => m.clone(),
    };
    let dataset = if e.dataset.is_empty() {
        name
    } else {
        &e.dataset
    };
    HostError::Os {
        op,
        object: Object::Dataset(dataset.to_string()),
        errno,
        errmsg,
    }
}

/// A dataset or snapshot name refused before any call: `ENAMETOOLONG` or `EINVAL`, with the
/// reason.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn zfs_name_error(op: OpKind, name: &str, e: &freebsd_zfs::NameError) -> HostError {
    let errno = match e {
        freebsd_zfs::NameError::TooLong(_) => Errno::ENAMETOOLONG,
        _ => Errno::EINVAL,
    };
    HostError::os_msg(op, Object::Dataset(name.to_string()), errno, e.to_string())
}

/// A freebsd-jail error as a [`HostError`]: the kernel's errno and errmsg; input refused before
/// any call (`Error::Invalid`) is `EINVAL` with the reason as message.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn jail_error(op: OpKind, object: Object, e: &freebsd_jail::Error) -> HostError {
    let errno = e.errno().map(Errno).unwrap_or(Errno::EINVAL);
    let errmsg = match e {
        freebsd_jail::Error::Invalid { .. } | freebsd_jail::Error::Io { .. } => Some(e.to_string()),
        _ => e.errmsg().map(str::to_string),
    };
    HostError::Os {
        op,
        object,
        errno,
        errmsg,
    }
}

/// A freebsd-netif error as a [`HostError`]. Interface ioctls have no kernel message: the
/// errmsg is kept only for refusals made before any call (bad names, bad input) and for
/// failures of the configuration child, where the crate's text is the only explanation.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn netif_error(op: OpKind, object: Object, e: &freebsd_netif::Error) -> HostError {
    use freebsd_netif::{Error as E, IfNameError};
    match e.errno() {
        Some(n) => HostError::os(op, object, Errno(n)),
        None => {
            let errno = match e {
                E::InvalidName(IfNameError::TooLong { .. }) => Errno::ENAMETOOLONG,
                E::Child { .. } => Errno::EIO,
                _ => Errno::EINVAL,
            };
            HostError::os_msg(op, object, errno, e.to_string())
        }
    }
}

/// An nmount(2)/unmount(2) failure at `at`, with the kernel's errmsg if it wrote one.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn mount_error(op: OpKind, at: &Path, errno: i32, errmsg: Option<&str>) -> HostError {
    HostError::Os {
        op,
        object: Object::Path(at.to_path_buf()),
        errno: Errno(errno),
        errmsg: errmsg.filter(|m| !m.is_empty()).map(str::to_string),
    }
}

/// An `io::Error` from a system call made here (not file-tree I/O) as an errno error.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn io_errno(op: OpKind, object: Object, e: &std::io::Error) -> HostError {
    let errno = e.raw_os_error().map(Errno).unwrap_or(Errno::EIO);
    let errmsg = if e.raw_os_error().is_some() {
        None
    } else {
        Some(e.to_string())
    };
    HostError::Os {
        op,
        object,
        errno,
        errmsg,
    }
}

/// The `ruleset` option value of a devfs nmount: decimal text, as mount(8) sends it.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn ruleset_option(ruleset: u16) -> std::ffi::CString {
    // A decimal number never contains NUL.
    std::ffi::CString::new(ruleset.to_string()).unwrap_or_default()
}

/// Waits for `child` at most `timeout`; when it is still running then, kills it (SIGKILL),
/// reaps it and returns `None`. `timeout: None` waits for as long as it runs.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn wait_with_timeout(
    child: &mut std::process::Child,
    timeout: Option<std::time::Duration>,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    let Some(timeout) = timeout else {
        return child.wait().map(Some);
    };
    let deadline = std::time::Instant::now() + timeout;
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            // kill(2) + waitpid(2) through std: the child is ours and not yet reaped.
            child.kill()?;
            child.wait()?;
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(std::time::Duration::from_millis(50));
    }
}

/// A process exit status as the shell reports it: the exit code, or 128 + the signal number.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        (None, None) => 255,
    }
}

/// [`DatasetProps`] as freebsd-zfs [`Props`](freebsd_zfs::Props); a bad user property or a
/// non-UTF-8 mountpoint is `EINVAL` before any call.
pub(crate) fn zprops(op: OpKind, name: &str, p: &DatasetProps) -> HostResult<freebsd_zfs::Props> {
    let mut props = freebsd_zfs::Props::new();
    if let Some(mp) = &p.mountpoint {
        let s = mp.to_str().ok_or_else(|| {
            HostError::os_msg(
                op,
                Object::Dataset(name.into()),
                Errno::EINVAL,
                "mountpoint is not UTF-8",
            )
        })?;
        props = props.mountpoint(s);
    }
    if let Some(c) = p.canmount {
        props = props.canmount(match c {
            CanMount::On => freebsd_zfs::CanMount::On,
            CanMount::Off => freebsd_zfs::CanMount::Off,
            CanMount::NoAuto => freebsd_zfs::CanMount::NoAuto,
        });
    }
    for (k, v) in &p.user {
        props = props.user(k, v).map_err(|e| {
            HostError::os_msg(
                op,
                Object::Dataset(name.into()),
                Errno::EINVAL,
                e.to_string(),
            )
        })?;
    }
    Ok(props)
}

/// The parameters `jail_set(2)` gets for a [`JailSpec`]: `persist`, the path as given (the
/// kernel reports a missing one), known `allow.*` flags through [`freebsd_jail::Allow`] and
/// others as raw booleans (the kernel answers "unknown parameter"), then
/// [`JailSpec::params`] in order, each converted from jail(8)'s text with the type `param_type`
/// gives for it (on FreeBSD the kernel's, read from `security.jail.param.*` as libjail does),
/// following jail(8)'s rules ([`crate::jailparams::to_value`]). Later occurrences replace
/// earlier ones, as the kernel keeps the last.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn jail_params(
    spec: &JailSpec,
    param_type: &dyn Fn(&str) -> HostResult<freebsd_jail::ParamType>,
) -> HostResult<freebsd_jail::JailParams> {
    use freebsd_jail::{Allow, IpMode, JailParams, JailSys, Value, Vnet};
    let op = OpKind::JailCreate;
    let obj = || Object::Jail(spec.name.clone());
    let mut b = JailParams::builder()
        .name(spec.name.clone())
        // Unverified: the kernel reports a missing or non-directory path (ENOENT/ENOTDIR).
        .path_unverified(spec.path.clone())
        .persist(true);
    if let Some(h) = &spec.hostname {
        b = b.hostname(h.clone());
    }
    if spec.vnet {
        b = b.vnet(Vnet::New);
    }
    if !spec.ip4.is_empty() {
        b = b.ip4_addrs(spec.ip4.iter().copied());
    }
    if let Some(r) = spec.devfs_ruleset {
        b = b.devfs_ruleset(i32::from(r));
    }
    if let Some(v) = spec.enforce_statfs {
        let v = i32::try_from(v).map_err(|_| {
            HostError::os_msg(op, obj(), Errno::EINVAL, "enforce_statfs out of range")
        })?;
        b = b.enforce_statfs(v);
    }
    if let Some(v) = spec.children_max {
        let v = i32::try_from(v).map_err(|_| {
            HostError::os_msg(op, obj(), Errno::EINVAL, "children.max out of range")
        })?;
        b = b.children_max(v);
    }
    let mut allow = Allow::empty();
    let mut deny = Allow::empty();
    // Booleans and other parameters the builder has no typed method for, last one kept.
    let mut extra: Vec<(String, Value)> = Vec::new();
    let push = |extra: &mut Vec<(String, Value)>, n: String, v: Value| {
        extra.retain(|(m, _)| *m != n);
        extra.push((n, v));
    };
    for a in &spec.allow {
        let param = format!("allow.{a}");
        match Allow::from_param_name(&param) {
            Some(f) => allow |= f,
            // Sent as given: the kernel answers "unknown parameter" for a bad name, and knows
            // allow.* flags newer than this list.
            None => push(&mut extra, param, Value::Bool(true)),
        }
    }
    // The addresses given so far: `ip4=new` / `ip6=new` restrict the jail to them (kern_jail.c
    // kern_jail_set: JAIL_SYS_NEW keeps the ip4.addr/ip6.addr list given with it; without one
    // the jail gets no address of that family).
    let mut ip6_addrs: Vec<std::net::Ipv6Addr> = Vec::new();
    for (name, text) in &spec.params {
        let bad = |errno: Errno, msg: String| {
            HostError::os_msg(op, obj(), errno, format!("{name}: {msg}"))
        };
        let positive = crate::jailparams::positive_name(name);
        if super::SPEC_FIELD_PARAMS
            .iter()
            .any(|f| *f == name || Some(f.to_string()) == positive)
        {
            return Err(bad(
                Errno::EINVAL,
                "set through the JailSpec field, not params".into(),
            ));
        }
        let ty = param_type(name)?;
        let (pos, value) = crate::jailparams::to_value(name, ty, text.as_deref())
            .map_err(|e| bad(e.errno, e.errmsg))?;
        let not_typed = |v: &Value| bad(Errno::EINVAL, format!("unexpected kernel type {v:?}"));
        match (pos.as_str(), value) {
            (_, Value::Bool(on)) if Allow::from_param_name(&pos).is_some() => {
                let f = Allow::from_param_name(&pos).unwrap_or_else(Allow::empty);
                if on {
                    allow |= f;
                    deny -= f;
                } else {
                    deny |= f;
                    allow -= f;
                }
            }
            ("securelevel", Value::Int(v)) => b = b.securelevel(v),
            ("osreldate", Value::Int(v)) => b = b.osreldate(v),
            ("jid", Value::Int(v)) => b = b.jid(v),
            ("osrelease", Value::Str(v)) => b = b.osrelease(v),
            ("host.domainname", Value::Str(v)) => b = b.domainname(v),
            ("ip4" | "ip6", Value::JailSys(js)) => {
                b = match (pos.as_str(), js) {
                    ("ip4", JailSys::Inherit) => b.ip4(IpMode::Inherit),
                    ("ip4", JailSys::Disable) => b.ip4(IpMode::Disable),
                    // `new`: restricted to the addresses given (spec.ip4), none without them.
                    ("ip4", JailSys::New) => b.ip4(IpMode::Addrs(spec.ip4.clone())),
                    (_, JailSys::Inherit) => b.ip6(IpMode::Inherit),
                    (_, JailSys::Disable) => b.ip6(IpMode::Disable),
                    (_, JailSys::New) => b.ip6(IpMode::Addrs(ip6_addrs.clone())),
                }
            }
            ("ip6.addr", Value::Ip6(a)) => {
                ip6_addrs.clone_from(&a);
                b = b.ip6_addrs(a)
            }
            (
                "securelevel" | "osreldate" | "jid" | "osrelease" | "host.domainname" | "ip4"
                | "ip6" | "ip6.addr",
                v,
            ) => return Err(not_typed(&v)),
            (_, v) => push(&mut extra, pos, v),
        }
    }
    if !allow.is_empty() {
        b = b.allow(allow);
    }
    if !deny.is_empty() {
        b = b.deny(deny);
    }
    for (n, v) in extra {
        b = b.param(n, v);
    }
    b.build().map_err(|e| jail_error(op, obj(), &e))
}

/// `freebsd_jail::param_type` as a [`HostResult`]: a name the kernel does not describe is
/// `ENOENT` "unknown parameter: NAME" (libjail's `jailparam_type()` answer).
#[cfg(target_os = "freebsd")]
fn kernel_param_type(spec: &JailSpec, name: &str) -> HostResult<freebsd_jail::ParamType> {
    freebsd_jail::param_type(name).map_err(|e| match e {
        freebsd_jail::Error::Invalid { .. } if e.to_string().contains("unknown parameter") => {
            HostError::os_msg(
                OpKind::JailCreate,
                Object::Jail(spec.name.clone()),
                Errno::ENOENT,
                format!("unknown parameter: {name}"),
            )
        }
        e => jail_error(OpKind::JailCreate, Object::Jail(spec.name.clone()), &e),
    })
}

/// A `jail_get(2)` answer as a [`JailInfo`].
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn to_info(j: freebsd_jail::JailInfo) -> JailInfo {
    JailInfo {
        jid: j.jid,
        name: j.name,
        path: std::path::PathBuf::from(j.path),
        hostname: j.hostname,
        vnet: j.vnet == Some(freebsd_jail::JailSys::New),
        devfs_ruleset: u16::try_from(j.devfs_ruleset).unwrap_or(0),
        params: Default::default(),
    }
}

/// Interfaces as `getifaddrs(3)` lists them, with the bridges' member lists and each
/// interface's description (`None`: it vanished meanwhile, left out), as [`IfInfo`]s: loopback
/// by `IFF_LOOPBACK`, bridge if it answered `BRDGGIFS`, otherwise `Epair` (IfKind has no
/// "other": physical NICs report as `Epair`); IPv4 and IPv6 addresses as
/// getifaddrs reports them (the kernel's own link-local IPv6 addresses included).
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn assemble_interfaces(
    all: Vec<freebsd_netif::Interface>,
    bridges: &[(String, Vec<String>)],
    descriptions: Vec<Option<Option<String>>>,
) -> Vec<IfInfo> {
    let mut out = Vec::with_capacity(all.len());
    for (i, d) in all.into_iter().zip(descriptions) {
        let Some(d) = d else { continue };
        let name = i.name.to_string();
        let members = bridges
            .iter()
            .find(|(b, _)| *b == name)
            .map(|(_, m)| m.clone());
        let kind = if i.flags & freebsd_netif::wire::IFF_LOOPBACK != 0 {
            IfKind::Loopback
        } else if members.is_some() {
            IfKind::Bridge
        } else {
            IfKind::Epair
        };
        let addrs = i
            .addrs
            .iter()
            .filter_map(|a| match a {
                freebsd_netif::IpNet::V4(n) => Some((n.addr(), n.prefix_len())),
                freebsd_netif::IpNet::V6(_) => None,
            })
            .collect();
        let addrs6 = i
            .addrs
            .iter()
            .filter_map(|a| match a {
                freebsd_netif::IpNet::V6(n) => Some((n.addr(), n.prefix_len())),
                freebsd_netif::IpNet::V4(_) => None,
            })
            .collect();
        let member_of = bridges
            .iter()
            .find(|(_, m)| m.contains(&name))
            .map(|(b, _)| b.clone());
        out.push(IfInfo {
            up: i.is_up(),
            name,
            kind,
            description: d.filter(|d| !d.is_empty()),
            addrs,
            addrs6,
            members: members.unwrap_or_default(),
            member_of,
        });
    }
    out
}

/// What a forked in-jail child reports through its pipe: `[status byte][payload]`.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) enum ChildReply {
    /// `jail_attach(2)` failed with this errno.
    AttachFailed(i32),
    /// The work ran; its output.
    Ok(Vec<u8>),
    /// The work panicked.
    Panicked,
}

#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
impl ChildReply {
    const ATTACH_FAILED: u8 = 0;
    const OK: u8 = 1;
    const PANICKED: u8 = 2;

    /// The bytes the child writes.
    pub(crate) fn encode(self) -> Vec<u8> {
        match self {
            ChildReply::AttachFailed(e) => {
                let mut v = vec![Self::ATTACH_FAILED];
                v.extend_from_slice(&e.to_ne_bytes());
                v
            }
            ChildReply::Ok(b) => {
                let mut v = Vec::with_capacity(b.len() + 1);
                v.push(Self::OK);
                v.extend_from_slice(&b);
                v
            }
            ChildReply::Panicked => vec![Self::PANICKED],
        }
    }

    /// Decodes what the parent read; `None` for a truncated or unknown reply (the child died).
    pub(crate) fn decode(b: &[u8]) -> Option<ChildReply> {
        match b.split_first()? {
            (&Self::OK, rest) => Some(ChildReply::Ok(rest.to_vec())),
            (&Self::ATTACH_FAILED, rest) => {
                let n: [u8; 4] = rest.get(..4)?.try_into().ok()?;
                Some(ChildReply::AttachFailed(i32::from_ne_bytes(n)))
            }
            (&Self::PANICKED, []) => Some(ChildReply::Panicked),
            _ => None,
        }
    }
}

/// The parent's view of an in-jail child: its output, or the errno of a failed `jail_attach`
/// (EINVAL: no such jail), or EIO naming the wait status when the child died or panicked.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn child_result(
    op: OpKind,
    object: &Object,
    jid: i32,
    wait_status: i32,
    reply: &[u8],
) -> HostResult<Vec<u8>> {
    match ChildReply::decode(reply) {
        Some(ChildReply::Ok(b)) => Ok(b),
        Some(ChildReply::AttachFailed(e)) => Err(HostError::os_msg(
            op,
            object.clone(),
            Errno(e),
            format!("jail_attach({jid})"),
        )),
        Some(ChildReply::Panicked) | None => Err(HostError::os_msg(
            op,
            object.clone(),
            Errno::EIO,
            format!("in-jail child for jid {jid} failed (wait status {wait_status:#x})"),
        )),
    }
}

/// An I/O error of file-tree work, naming the path.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
fn io(op: OpKind, path: &Path) -> impl FnOnce(std::io::Error) -> HostError + '_ {
    move |source| HostError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// `lstat(2)`: what `path` is (not following a symlink), `None` if it does not exist.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn fs_file_type(path: &Path) -> HostResult<Option<FileKind>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => {
            let t = m.file_type();
            Ok(Some(if t.is_dir() {
                FileKind::Dir
            } else if t.is_file() {
                FileKind::File
            } else if t.is_symlink() {
                FileKind::Symlink
            } else {
                FileKind::Other
            }))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(OpKind::FileType, path)(e)),
    }
}

/// `mkdir(2)` of one level with exactly `mode` (as SimHost): mkdir masks the mode with the
/// umask, which would turn a skeleton's 1777 `tmp` into 1755, so it is set afterwards.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn fs_mkdir(path: &Path, mode: u32) -> HostResult<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let op = OpKind::Mkdir;
    std::fs::DirBuilder::new()
        .mode(mode)
        .create(path)
        .map_err(io(op, path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
        // Leave nothing behind that the caller does not know about.
        let _ = std::fs::remove_dir(path);
        io(op, path)(e)
    })
}

/// Creates or replaces `path` with `contents`, with exactly `mode` (an existing file keeps its
/// own mode through open(2), and a new one is masked by the umask: it is set afterwards).
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) fn fs_write_file(path: &Path, contents: &[u8], mode: u32) -> HostResult<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let op = OpKind::WriteFile;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(io(op, path))?;
    f.write_all(contents).map_err(io(op, path))?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(io(op, path))
}

#[cfg(target_os = "freebsd")]
pub use sys::{FreeBsdHost, OpenError};

#[cfg(target_os = "freebsd")]
mod sys {
    use std::collections::BTreeMap;
    use std::ffi::CString;
    use std::fs::{DirBuilder, File};
    use std::io::{Read, Write};
    use std::net::IpAddr;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::DirBuilderExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::sync::Mutex;

    use freebsd_jail::JailCommandExt;
    use freebsd_netif::jailops::{JailOp, JailOps};
    use freebsd_netif::route::Family;
    use freebsd_netif::{IfName, IpNet, Netif};
    use freebsd_zfs::{DatasetName, SnapshotName, Zfs};
    use nix::mount::{MntFlags, Nmount};

    use super::*;
    use crate::abi;
    use crate::host::{
        AddrFamily, BootStamp, DatasetProps, EpairPair, FileKind, FsType, Host, HostResult, IfInfo,
        JailCommand, JailInfo, JailSpec, MountInfo,
    };

    /// Why a [`FreeBsdHost`] could not be opened.
    #[derive(Debug, thiserror::Error)]
    pub enum OpenError {
        /// The ZFS backend could not be opened (`/dev/zfs`, or zfs(8) missing).
        #[error("zfs backend: {0}")]
        Zfs(#[from] freebsd_zfs::Error),
        /// The `AF_INET` socket for interface ioctls could not be opened.
        #[error("interface socket: {0}")]
        Netif(#[from] freebsd_netif::Error),
    }

    /// The real FreeBSD host: datasets through `freebsd-zfs` (libzfs_core by default), mounts
    /// through nmount(2)/unmount(2), jails through `freebsd-jail`, interfaces through
    /// `freebsd-netif`, file-tree work through std::fs. No process is spawned except the jail's
    /// own command in [`Host::jail_exec`].
    ///
    /// ```no_run
    /// use thinjail_core::host::{FreeBsdHost, Host};
    /// let host = FreeBsdHost::new()?;
    /// for j in host.jails()? {
    ///     println!("{} {}", j.jid, j.name);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub struct FreeBsdHost {
        zfs: Box<dyn Zfs + Send + Sync>,
        net: Netif,
        /// The ruleset of each devfs this host mounted (the kernel cannot be asked for it).
        devfs: Mutex<BTreeMap<PathBuf, u16>>,
        /// Roots of the jails this host removed, and when: their teardown goes on after
        /// jail_get stops seeing them (see [`FreeBsdHost::unmount`]'s retry).
        removed: Mutex<Vec<(PathBuf, std::time::Instant)>>,
    }

    impl std::fmt::Debug for FreeBsdHost {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("FreeBsdHost").finish_non_exhaustive()
        }
    }

    impl FreeBsdHost {
        /// Opens the host with the libzfs_core backend (`/dev/zfs`).
        pub fn new() -> Result<FreeBsdHost, OpenError> {
            FreeBsdHost::with_zfs(freebsd_zfs::lzc_backend()?)
        }

        /// Opens the host with the zfs(8) backend (datasets through the `zfs` command).
        pub fn with_zfs_cli() -> Result<FreeBsdHost, OpenError> {
            FreeBsdHost::with_zfs(Box::new(freebsd_zfs::Cli::new()?))
        }

        /// Opens the host with any `freebsd-zfs` backend.
        pub fn with_zfs(zfs: Box<dyn Zfs + Send + Sync>) -> Result<FreeBsdHost, OpenError> {
            Ok(FreeBsdHost {
                zfs,
                net: Netif::open()?,
                devfs: Mutex::new(BTreeMap::new()),
                removed: Mutex::new(Vec::new()),
            })
        }
    }

    impl FreeBsdHost {
        fn devfs_rulesets(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, u16>> {
            // A panic elsewhere while holding it leaves a map that is still consistent.
            self.devfs.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// Every in-jail network operation: `build` fills a freebsd-netif [`JailOps`] list
        /// (encoded before the fork; a step it cannot encode fails here, before anything
        /// runs), `Netif::configure_in_jail` runs it in the jail's vnet (fork, jail_attach(2),
        /// sockets, ioctls / routing-socket writes), and a failure becomes a [`HostError`] for
        /// `op` on `obj`.
        fn configure_in_jail(
            &self,
            jid: i32,
            op: OpKind,
            obj: Object,
            build: impl FnOnce(&mut JailOps) -> Result<(), freebsd_netif::Error>,
        ) -> HostResult<()> {
            let mut ops = JailOps::new();
            build(&mut ops).map_err(|e| netif_error(op, obj.clone(), &e))?;
            self.net
                .configure_in_jail(jid, &ops)
                .map_err(|e| netif_error(op, obj, &e))
        }

        /// [`FreeBsdHost::configure_in_jail`] for one interface `name` inside the jail: the name
        /// is checked first, and errors name the interface in jail `jid`.
        fn configure_iface_in_jail(
            &self,
            jid: i32,
            op: OpKind,
            name: &str,
            build: impl FnOnce(&mut JailOps, IfName) -> Result<(), freebsd_netif::Error>,
        ) -> HostResult<()> {
            let n = ifname(op, name, Some(jid))?;
            self.configure_in_jail(jid, op, jail_iface(name, jid), |ops| build(ops, n))
        }
    }

    /// jail(8)'s default `stop.timeout`: how long the processes left in a jail get to exit after
    /// SIGTERM before it is removed.
    const JAIL_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
    /// How long to wait for them after SIGKILL before removing the jail anyway.
    const KILL_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

    /// How long [`FreeBsdHost::jail_remove`] waits for a removed jail to finish dying.
    const DYING_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

    /// How long after removing a jail an EBUSY unmount under its root is taken for the
    /// prison's teardown still running (and retried, for at most [`DYING_WAIT`]).
    const REMOVED_TEARDOWN: std::time::Duration = std::time::Duration::from_secs(60);

    /// Waits (at most `limit`) until jail `jid` is gone even for `JAIL_DYING` lookups.
    ///
    /// jail_remove(2) returns before the prison is freed: kern_jail.c `prison_free` and
    /// `prison_proc_free` hand the last reference to `taskqueue_thread` (`prison_complete`),
    /// and only `prison_deref` on that thread drops `pr_root` (`vrele`) and destroys the
    /// vnet. Until then the jail's root vnode keeps the nullfs mount under it busy: unmount(2)
    /// right after jail_remove(2) failed with EBUSY on FreeBSD 13.2 (VM). A jail held longer
    /// (a socket in TIME_WAIT keeps its credential) is left dying after `limit`; the unmount
    /// then reports EBUSY and the journal keeps the rest of the stop for `recover`.
    fn wait_until_gone(jid: i32, limit: std::time::Duration) {
        let deadline = std::time::Instant::now() + limit;
        let mut pause = std::time::Duration::from_millis(1);
        while let Ok(j) = freebsd_jail::get_dying(jid) {
            if !j.dying || std::time::Instant::now() >= deadline {
                // Alive again under this jid (a new jail took it) or out of time.
                return;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(std::time::Duration::from_millis(50));
        }
    }

    /// An interface inside jail `jid`, for errors.
    fn jail_iface(name: &str, jid: i32) -> Object {
        Object::Interface {
            name: name.into(),
            jid: Some(jid),
        }
    }

    // ---- small helpers ----

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    fn ds(op: OpKind, name: &str) -> HostResult<DatasetName> {
        DatasetName::new(name).map_err(|e| zfs_name_error(op, name, &e))
    }

    fn snap(op: OpKind, name: &str) -> HostResult<SnapshotName> {
        SnapshotName::new(name).map_err(|e| zfs_name_error(op, name, &e))
    }

    fn cpath(op: OpKind, p: &Path) -> HostResult<CString> {
        CString::new(p.as_os_str().as_bytes()).map_err(|_| {
            HostError::os_msg(
                op,
                Object::Path(p.into()),
                Errno::EINVAL,
                "path contains NUL",
            )
        })
    }

    fn ifname(op: OpKind, name: &str, jid: Option<i32>) -> HostResult<IfName> {
        IfName::new(name).map_err(|e| {
            netif_error(
                op,
                Object::Interface {
                    name: name.into(),
                    jid,
                },
                &freebsd_netif::Error::from(e),
            )
        })
    }

    fn nmount(op: OpKind, at: &Path, m: &mut Nmount<'_>) -> HostResult<()> {
        m.nmount(MntFlags::empty())
            .map_err(|e| mount_error(op, at, e.error() as i32, e.errmsg()))
    }

    fn c_field(b: &[libc::c_char]) -> String {
        let bytes: Vec<u8> = b
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The interfaces of the vnet `net`'s socket lives in (see [`assemble_interfaces`]).
    fn list_interfaces(net: &Netif) -> freebsd_netif::Result<Vec<IfInfo>> {
        let all = net.interfaces()?;
        let mut bridges: Vec<(String, Vec<String>)> = Vec::new();
        let mut descriptions = Vec::with_capacity(all.len());
        for i in &all {
            // BRDGGIFS answers only on a bridge (EINVAL otherwise): that is the bridge test.
            if let Ok(m) = net.bridge_members(&i.name) {
                bridges.push((
                    i.name.to_string(),
                    m.into_iter().map(|b| b.name.to_string()).collect(),
                ));
            }
            match net.description(&i.name) {
                Ok(d) => descriptions.push(Some(d)),
                // Gone between the listing and the query.
                Err(freebsd_netif::Error::NoSuchInterface { .. }) => descriptions.push(None),
                Err(e) => return Err(e),
            }
        }
        Ok(assemble_interfaces(all, &bridges, descriptions))
    }

    /// Forks; the child calls `jail_attach(jid)`, runs `child` inside the jail (its vnet), writes
    /// `[status][bytes]` to a pipe and `_exit`s; the parent returns the bytes.
    ///
    /// Unlike freebsd-netif's pre-encoded op list, `child` may allocate: FreeBSD's libthr
    /// `fork()` takes and releases libc malloc's locks around the fork (`_malloc_prefork` /
    /// `_malloc_postfork`), so malloc is usable in the child. It must not touch Rust locks
    /// another thread may hold (stdout, the environment).
    fn in_jail(
        jid: i32,
        op: OpKind,
        object: &Object,
        child: impl FnOnce() -> Vec<u8>,
    ) -> HostResult<Vec<u8>> {
        let fail = |e: i32| HostError::os(op, object.clone(), Errno(e));
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2(2) writes two new descriptors into the 2-int array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(fail(errno()));
        }
        // SAFETY: both descriptors were just returned by pipe2(2) and are owned by nobody else.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: fork(2). The child runs only `child` (see above), writes to the pipe and
        // leaves with _exit(2), never returning into the caller's code.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(fail(errno()));
        }
        if pid == 0 {
            drop(r);
            // SAFETY: jail_attach(2) takes a plain int.
            let out = if unsafe { libc::jail_attach(jid) } != 0 {
                ChildReply::AttachFailed(errno()).encode()
            } else {
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)) {
                    Ok(b) => ChildReply::Ok(b).encode(),
                    Err(_) => ChildReply::Panicked.encode(),
                }
            };
            let _ = File::from(w).write_all(&out);
            // SAFETY: _exit(2) ends the child without running the parent's atexit handlers.
            unsafe { libc::_exit(0) };
        }
        drop(w);
        let mut buf = Vec::new();
        let read = File::from(r).read_to_end(&mut buf);
        let mut status = 0;
        // SAFETY: waitpid(2) on our own child, storing its status in a local int.
        while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
            if errno() != libc::EINTR {
                return Err(fail(errno()));
            }
        }
        if let Err(e) = read {
            return Err(io_errno(op, object.clone(), &e));
        }
        child_result(op, object, jid, status, &buf)
    }

    impl Host for FreeBsdHost {
        // ---- datasets ----

        fn dataset_create(&self, name: &str, props: &DatasetProps) -> HostResult<()> {
            let op = OpKind::DatasetCreate;
            let d = ds(op, name)?;
            let p = zprops(op, name, props)?;
            self.zfs.create(&d, &p).map_err(|e| zfs_error(op, name, &e))
        }

        fn dataset_snapshot(&self, snapshot: &str) -> HostResult<()> {
            let op = OpKind::DatasetSnapshot;
            let s = snap(op, snapshot)?;
            self.zfs
                .snapshot(&[s])
                .map_err(|e| zfs_error(op, snapshot, &e))
        }

        fn dataset_clone(
            &self,
            snapshot: &str,
            name: &str,
            props: &DatasetProps,
        ) -> HostResult<()> {
            let op = OpKind::DatasetClone;
            let s = snap(op, snapshot)?;
            let d = ds(op, name)?;
            let p = zprops(op, name, props)?;
            self.zfs
                .clone_snapshot(&s, &d, &p)
                .map_err(|e| zfs_error(op, name, &e))
        }

        fn dataset_destroy(&self, name: &str) -> HostResult<()> {
            let op = OpKind::DatasetDestroy;
            if name.contains('@') {
                let s = snap(op, name)?;
                return self
                    .zfs
                    .destroy_snapshots(&[s])
                    .map_err(|e| zfs_error(op, name, &e));
            }
            let d = ds(op, name)?;
            // lzc_destroy semantics: a mounted filesystem is busy (freebsd-zfs would unmount).
            if self
                .zfs
                .is_mounted(&d)
                .map_err(|e| zfs_error(op, name, &e))?
            {
                return Err(HostError::os_msg(
                    op,
                    Object::Dataset(name.into()),
                    Errno::EBUSY,
                    "mounted",
                ));
            }
            self.zfs.destroy(&d).map_err(|e| zfs_error(op, name, &e))
        }

        fn dataset_exists(&self, name: &str) -> HostResult<bool> {
            let op = OpKind::DatasetExists;
            if name.contains('@') {
                let s = snap(op, name)?;
                self.zfs
                    .snapshot_exists(&s)
                    .map_err(|e| zfs_error(op, name, &e))
            } else {
                let d = ds(op, name)?;
                self.zfs.exists(&d).map_err(|e| zfs_error(op, name, &e))
            }
        }

        fn dataset_clones(&self, snapshot: &str) -> HostResult<Vec<String>> {
            let op = OpKind::DatasetClones;
            let s = snap(op, snapshot)?;
            Ok(self
                .zfs
                .list_clones(&s)
                .map_err(|e| zfs_error(op, snapshot, &e))?
                .into_iter()
                .map(|d| d.as_str().to_string())
                .collect())
        }

        fn dataset_mountpoint(&self, name: &str) -> HostResult<PathBuf> {
            let op = OpKind::DatasetMountpoint;
            let d = ds(op, name)?;
            let props = self
                .zfs
                .get_properties(&d, &["mountpoint"])
                .map_err(|e| zfs_error(op, name, &e))?;
            match props.into_iter().find(|p| p.name == "mountpoint") {
                Some(p) if p.value.starts_with('/') => Ok(PathBuf::from(p.value)),
                Some(p) => Err(HostError::os_msg(
                    op,
                    Object::Dataset(name.into()),
                    Errno::EINVAL,
                    format!("mountpoint is {:?}", p.value),
                )),
                None => Err(HostError::os(op, Object::Dataset(name.into()), Errno::EIO)),
            }
        }

        // ---- mounts ----

        fn mount_nullfs(&self, lower: &Path, at: &Path, readonly: bool) -> HostResult<()> {
            let op = OpKind::MountNullfs;
            let fspath = cpath(op, at)?;
            let target = cpath(op, lower)?;
            let mut m = Nmount::new();
            if readonly {
                m.null_opt(c"ro");
            }
            m.str_opt(c"fstype", c"nullfs")
                .str_opt(c"fspath", &fspath)
                .str_opt(c"target", &target);
            nmount(op, at, &mut m)
        }

        fn mount_devfs(&self, at: &Path, ruleset: u16) -> HostResult<()> {
            let op = OpKind::MountDevfs;
            let fspath = cpath(op, at)?;
            let rs = ruleset_option(ruleset);
            let mut m = Nmount::new();
            m.str_opt(c"fstype", c"devfs")
                .str_opt(c"fspath", &fspath)
                .str_opt(c"from", c".")
                .str_opt(c"ruleset", &rs);
            nmount(op, at, &mut m)?;
            self.devfs_rulesets().insert(at.to_path_buf(), ruleset);
            Ok(())
        }

        fn mount_zfs(&self, dataset: &str, at: &Path) -> HostResult<()> {
            let op = OpKind::MountZfs;
            let d = ds(op, dataset)?;
            let fspath = cpath(op, at)?;
            let from = CString::new(d.as_str())
                .map_err(|_| HostError::os(op, Object::Dataset(dataset.into()), Errno::EINVAL))?;
            // As libzfs: create the mount point (mkdirp 0755) before mounting.
            DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(at)
                .map_err(io(op, at))?;
            let mut m = Nmount::new();
            m.str_opt(c"fstype", c"zfs")
                .str_opt(c"fspath", &fspath)
                .str_opt(c"from", &from);
            nmount(op, at, &mut m)
        }

        fn unmount(&self, at: &Path, force: bool) -> HostResult<()> {
            let op = OpKind::Unmount;
            let flags = if force {
                MntFlags::MNT_FORCE
            } else {
                MntFlags::empty()
            };
            // kern_jail.c prison_deref: a prison leaves allprison (jail_get no longer finds it,
            // so jail_remove's wait ends) *before* vnet_destroy and vrele(pr_root), which can
            // take seconds; until then its root keeps the mount it is on busy (EBUSY on FreeBSD
            // 13.2, in the VM, once in a run). So an EBUSY on a mount that holds the root of a
            // jail this host just removed is retried for a while.
            let recently_removed = || {
                self.removed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .any(|(root, t)| root.starts_with(at) && t.elapsed() < REMOVED_TEARDOWN)
            };
            let deadline = std::time::Instant::now() + DYING_WAIT;
            let mut pause = std::time::Duration::from_millis(5);
            let mut result = nix::mount::unmount(at, flags);
            while result == Err(nix::errno::Errno::EBUSY)
                && std::time::Instant::now() < deadline
                && recently_removed()
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
                result = nix::mount::unmount(at, flags);
            }
            if let Err(e) = result {
                let errno = e as i32;
                // A removed jail that is still dying keeps its root vnode (kern_jail.c
                // prison_complete releases it only when the last reference goes): say so.
                let dying = (errno == libc::EBUSY)
                    .then(|| {
                        freebsd_jail::jails_including_dying()
                            .filter_map(Result::ok)
                            .find(|j| j.dying && Path::new(&j.path).starts_with(at))
                    })
                    .flatten()
                    .map(|j| crate::host::dying_jail_message(&j.name, j.jid));
                return Err(mount_error(op, at, errno, dying.as_deref()));
            }
            self.devfs_rulesets().remove(at);
            Ok(())
        }

        fn mounts(&self) -> HostResult<Vec<MountInfo>> {
            let op = OpKind::Mounts;
            let obj = || Object::Path(PathBuf::from("/"));
            let mut cap = 64usize;
            let list = loop {
                // SAFETY: statfs is a plain C struct; all-zero is a valid value.
                let mut buf: Vec<libc::statfs> = vec![unsafe { std::mem::zeroed() }; cap];
                let bytes = (cap * std::mem::size_of::<libc::statfs>()) as libc::c_long;
                // SAFETY: getfsstat(2) writes at most `bytes` bytes of statfs structs into
                // `buf` (our own allocation, thread-safe unlike getmntinfo(3)'s static one).
                let n = unsafe { libc::getfsstat(buf.as_mut_ptr(), bytes, abi::MNT_NOWAIT) };
                if n < 0 {
                    return Err(HostError::os(op, obj(), Errno(errno())));
                }
                let n = n as usize;
                if n < cap {
                    buf.truncate(n);
                    break buf;
                }
                cap *= 2;
            };
            let rulesets = self.devfs_rulesets();
            Ok(list
                .iter()
                .filter_map(|s| {
                    let fstype = match c_field(&s.f_fstypename).as_str() {
                        "nullfs" => FsType::Nullfs,
                        "devfs" => FsType::Devfs,
                        "zfs" => FsType::Zfs,
                        _ => return None,
                    };
                    let at = PathBuf::from(c_field(&s.f_mntonname));
                    Some(MountInfo {
                        fstype,
                        source: c_field(&s.f_mntfromname),
                        // The kernel reports no per-mount ruleset (devfs(8) cannot show it):
                        // known only for devfs mounts this host made.
                        ruleset: match fstype {
                            FsType::Devfs => rulesets.get(&at).copied(),
                            _ => None,
                        },
                        at,
                        readonly: s.f_flags & abi::MNT_RDONLY != 0,
                    })
                })
                .collect())
        }

        fn devfs_ruleset_loaded(&self, ruleset: u16) -> HostResult<bool> {
            let op = OpKind::DevfsRulesetLoaded;
            if ruleset == 0 {
                // Ruleset 0 is "no ruleset" (devfs_rule.c: rules are never added to it).
                return Ok(false);
            }
            let dev = File::open("/dev").map_err(|e| io_errno(op, Object::Ruleset(ruleset), &e))?;
            // A ruleset that merely exists proves nothing: devfs_rule.c `devfs_ruleset_use`
            // creates an unknown ruleset, empty, the first time a mount or `devfs ruleset N`
            // names it. Loaded means it holds a rule: DEVFSIO_RGETNEXT from rule 0 (devfs_rule.c
            // `devfs_rules_ioctl`) answers the first one, or ENOENT for a missing or empty set.
            let mut rule = abi::DevfsRule::first_of(ruleset);
            // SAFETY: ioctl(2) DEVFSIO_RGETNEXT (devfs(8) `rule -s N show`; fs/devfs/devfs.h)
            // reads and writes one struct devfs_rule at `&mut rule`, a live local of that
            // layout (checked against the header in CI).
            let r = unsafe {
                libc::ioctl(
                    dev.as_raw_fd(),
                    abi::DEVFSIO_RGETNEXT as libc::c_ulong,
                    &mut rule as *mut abi::DevfsRule,
                )
            };
            if r != 0 {
                return match errno() {
                    libc::ENOENT => Ok(false),
                    e => Err(HostError::os(op, Object::Ruleset(ruleset), Errno(e))),
                };
            }
            // The kernel answers a rule of this ruleset (a rule id carries its ruleset).
            Ok(rule.dr_id >> 16 == u32::from(ruleset))
        }

        // ---- jails ----

        fn jail_create(&self, spec: &JailSpec) -> HostResult<i32> {
            let op = OpKind::JailCreate;
            let obj = || Object::Jail(spec.name.clone());
            let params = jail_params(spec, &|n| kernel_param_type(spec, n))?;
            freebsd_jail::create(&params)
                .map(|j| j.jid())
                .map_err(|e| jail_error(op, obj(), &e))
        }

        fn jail_remove(&self, jid: i32) -> HostResult<()> {
            let op = OpKind::JailRemove;
            // As `jail -r` (jail(8) term_procs): the processes left after exec.stop get SIGTERM
            // and stop.timeout to exit before jail_remove(2) SIGKILLs the rest; otherwise they
            // exit asynchronously and unmounting the jail's devfs and nullfs mounts right
            // after can fail with EBUSY.
            match freebsd_jail::term::terminate_processes(jid, JAIL_STOP_TIMEOUT, KILL_GRACE) {
                Ok(_) => {}
                // Unknown or already dying: jail_remove(2) answers for it below.
                Err(freebsd_jail::Error::NotFound { .. }) => {}
                Err(e) => return Err(jail_error(op, Object::Jid(jid), &e)),
            }
            let root = freebsd_jail::get(jid).ok().map(|j| PathBuf::from(j.path));
            freebsd_jail::remove(jid).map_err(|e| jail_error(op, Object::Jid(jid), &e))?;
            wait_until_gone(jid, DYING_WAIT);
            if let Some(root) = root {
                let mut r = self.removed.lock().unwrap_or_else(|p| p.into_inner());
                r.retain(|(_, t)| t.elapsed() < REMOVED_TEARDOWN);
                r.push((root, std::time::Instant::now()));
            }
            Ok(())
        }

        fn jails(&self) -> HostResult<Vec<JailInfo>> {
            freebsd_jail::jails()
                .map(|r| {
                    r.map(to_info)
                        .map_err(|e| jail_error(OpKind::Jails, Object::Jail("*".into()), &e))
                })
                .collect()
        }

        fn jail_by_name(&self, name: &str) -> HostResult<Option<JailInfo>> {
            match freebsd_jail::get(name) {
                Ok(j) => Ok(Some(to_info(j))),
                Err(freebsd_jail::Error::NotFound { .. } | freebsd_jail::Error::Dying { .. }) => {
                    Ok(None)
                }
                Err(e) => Err(jail_error(
                    OpKind::JailByName,
                    Object::Jail(name.into()),
                    &e,
                )),
            }
        }

        fn jail_exec(&self, jid: i32, cmd: &JailCommand) -> HostResult<i32> {
            let op = OpKind::JailExec;
            let obj = || Object::Jid(jid);
            let Some(prog) = cmd.argv.first().filter(|p| p.starts_with('/')) else {
                return Err(HostError::os_msg(
                    op,
                    obj(),
                    Errno::EINVAL,
                    "argv[0] must be an absolute path inside the jail",
                ));
            };
            // exec.clean semantics: the command's complete environment and working directory,
            // applied in the child after jail_attach (freebsd-jail's pre_exec hook).
            let plan = freebsd_jail::ExecPlan {
                jid,
                env: Some(cmd.env.clone()),
                cwd: Some(cmd.cwd.clone()),
                creds: None,
                consolelog: cmd.console_log.clone(),
            };
            let mut c = Command::new(prog);
            c.args(&cmd.argv[1..]).stdin(Stdio::null());
            c.jail_exec(&plan).map_err(|e| jail_error(op, obj(), &e))?;
            let mut child = c.spawn().map_err(|e| io_errno(op, obj(), &e))?;
            match wait_with_timeout(&mut child, cmd.timeout).map_err(|e| io_errno(op, obj(), &e))? {
                Some(status) => Ok(exit_code(status)),
                None => Err(HostError::os_msg(
                    op,
                    obj(),
                    Errno::ETIMEDOUT,
                    format!(
                        "{} still running after {:?}: killed",
                        cmd.argv.join(" "),
                        cmd.timeout.unwrap_or_default()
                    ),
                )),
            }
        }

        // ---- interfaces (host vnet) ----

        fn epair_create(&self, unit: Option<u32>) -> HostResult<EpairPair> {
            let op = OpKind::EpairCreate;
            let obj = || Object::Cloner("epair".into());
            let pair = match unit {
                None => self.net.epair().map_err(|e| netif_error(op, obj(), &e))?,
                Some(n) => {
                    let cloner = ifname(op, &format!("epair{n}"), None)?;
                    let a = self
                        .net
                        .create(&cloner)
                        .map_err(|e| netif_error(op, obj(), &e))?;
                    match freebsd_netif::Epair::from_a_side(a.clone()) {
                        Some(p) => p,
                        None => {
                            let _ = self.net.destroy(&a);
                            return Err(HostError::os_msg(
                                op,
                                obj(),
                                Errno::EINVAL,
                                format!("the epair cloner returned {a}"),
                            ));
                        }
                    }
                }
            };
            Ok(EpairPair {
                a: pair.a.to_string(),
                b: pair.b.to_string(),
            })
        }

        fn bridge_create(&self, unit: Option<u32>) -> HostResult<String> {
            let op = OpKind::BridgeCreate;
            let obj = || Object::Cloner("bridge".into());
            let name = match unit {
                None => self.net.bridge(),
                Some(n) => self.net.create(&ifname(op, &format!("bridge{n}"), None)?),
            };
            name.map(|n| n.to_string())
                .map_err(|e| netif_error(op, obj(), &e))
        }

        fn if_destroy(&self, name: &str) -> HostResult<()> {
            let op = OpKind::IfDestroy;
            let n = ifname(op, name, None)?;
            self.net
                .destroy(&n)
                .map_err(|e| netif_error(op, Object::iface(name), &e))
        }

        fn if_rename(&self, name: &str, new_name: &str) -> HostResult<()> {
            let op = OpKind::IfRename;
            let n = ifname(op, name, None)?;
            let to = ifname(op, new_name, None)?;
            self.net
                .rename(&n, &to)
                .map_err(|e| netif_error(op, Object::iface(name), &e))
        }

        fn if_set_description(&self, name: &str, description: Option<&str>) -> HostResult<()> {
            let op = OpKind::IfSetDescription;
            let n = ifname(op, name, None)?;
            self.net
                .set_description(&n, description.unwrap_or(""))
                .map_err(|e| netif_error(op, Object::iface(name), &e))
        }

        fn if_set_up(&self, name: &str, up: bool) -> HostResult<()> {
            let op = OpKind::IfSetUp;
            let n = ifname(op, name, None)?;
            let r = if up {
                self.net.up(&n)
            } else {
                self.net.down(&n)
            };
            r.map_err(|e| netif_error(op, Object::iface(name), &e))
        }

        fn bridge_addm(&self, bridge: &str, member: &str) -> HostResult<()> {
            let op = OpKind::BridgeAddm;
            let b = ifname(op, bridge, None)?;
            let m = ifname(op, member, None)?;
            self.net
                .bridge_add(&b, &m)
                .map_err(|e| netif_error(op, Object::iface(member), &e))
        }

        fn bridge_deletem(&self, bridge: &str, member: &str) -> HostResult<()> {
            let op = OpKind::BridgeDeletem;
            let b = ifname(op, bridge, None)?;
            let m = ifname(op, member, None)?;
            self.net
                .bridge_delete(&b, &m)
                .map_err(|e| netif_error(op, Object::iface(member), &e))
        }

        fn if_move_to_jail(&self, name: &str, jid: i32) -> HostResult<()> {
            let op = OpKind::IfMoveToJail;
            let n = ifname(op, name, None)?;
            self.net
                .move_to_jail(&n, jid)
                .map_err(|e| netif_error(op, Object::iface(name), &e))
        }

        fn if_move_from_jail(&self, name: &str, jid: i32) -> HostResult<()> {
            let op = OpKind::IfMoveFromJail;
            let n = ifname(op, name, Some(jid))?;
            let obj = || Object::Interface {
                name: name.into(),
                jid: Some(jid),
            };
            self.net
                .take_back(&n, jid)
                .map(|_| ())
                .map_err(|e| netif_error(op, obj(), &e))
        }

        fn interfaces(&self, jid: Option<i32>) -> HostResult<Vec<IfInfo>> {
            let op = OpKind::Interfaces;
            let obj = Object::Interface {
                name: "*".into(),
                jid,
            };
            let Some(jid) = jid else {
                return list_interfaces(&self.net).map_err(|e| netif_error(op, obj, &e));
            };
            let bytes = in_jail(jid, op, &obj, || {
                let r: Result<Vec<IfInfo>, (i32, String)> = Netif::open()
                    .and_then(|n| list_interfaces(&n))
                    .map_err(|e| (e.errno().unwrap_or(libc::EIO), e.to_string()));
                serde_json::to_vec(&r).unwrap_or_default()
            })?;
            let r: Result<Vec<IfInfo>, (i32, String)> = serde_json::from_slice(&bytes)
                .map_err(|e| HostError::os_msg(op, obj.clone(), Errno::EIO, e.to_string()))?;
            r.map_err(|(n, m)| HostError::os_msg(op, obj, Errno(n), m))
        }

        // ---- inside a VNET jail ----

        fn jail_if_addr_add(&self, jid: i32, name: &str, addr: IpNet) -> HostResult<()> {
            self.configure_iface_in_jail(jid, OpKind::JailIfAddrAdd, name, |ops, n| {
                ops.add_address(&n, addr);
                Ok(())
            })
        }

        fn jail_if_addr_delete(&self, jid: i32, name: &str, addr: IpAddr) -> HostResult<()> {
            self.configure_iface_in_jail(jid, OpKind::JailIfAddrDelete, name, |ops, n| {
                ops.delete_address(&n, addr);
                Ok(())
            })
        }

        fn jail_if_set_up(&self, jid: i32, name: &str, up: bool) -> HostResult<()> {
            self.configure_iface_in_jail(jid, OpKind::JailIfSetUp, name, |ops, n| {
                if up {
                    ops.up(&n);
                } else {
                    ops.push(JailOp::Down(n))?;
                }
                Ok(())
            })
        }

        fn jail_route_add_default(&self, jid: i32, gateway: IpAddr) -> HostResult<()> {
            let op = OpKind::JailRouteAddDefault;
            self.configure_in_jail(jid, op, Object::Jid(jid), |ops| {
                ops.default_route(gateway).map(drop)
            })
        }

        fn jail_route_delete_default(&self, jid: i32, family: AddrFamily) -> HostResult<()> {
            let op = OpKind::JailRouteDeleteDefault;
            // `route [-6] delete default` without a gateway (RTA_DST | RTA_NETMASK), as route(8)
            // sends it: the Host call does not know the gateway.
            let family = match family {
                AddrFamily::Inet => Family::Inet,
                AddrFamily::Inet6 => Family::Inet6,
            };
            self.configure_in_jail(jid, op, Object::Jid(jid), |ops| {
                ops.delete_default_route(family);
                Ok(())
            })
        }

        // ---- file tree (portable functions below) ----

        fn file_type(&self, path: &Path) -> HostResult<Option<FileKind>> {
            fs_file_type(path)
        }

        fn mkdir(&self, path: &Path, mode: u32) -> HostResult<()> {
            fs_mkdir(path, mode)
        }

        fn write_file(&self, path: &Path, contents: &[u8], mode: u32) -> HostResult<()> {
            fs_write_file(path, contents, mode)
        }

        fn remove_file(&self, path: &Path) -> HostResult<()> {
            std::fs::remove_file(path).map_err(io(OpKind::RemoveFile, path))
        }

        fn remove_dir(&self, path: &Path) -> HostResult<()> {
            std::fs::remove_dir(path).map_err(io(OpKind::RemoveDir, path))
        }

        /// `kern.boottime` (kern_tc.c `sysctl_kern_boottime`: a `struct timeval`, "now −
        /// uptime", so it moves when the clock is set) and `clock_gettime(CLOCK_UPTIME)`
        /// (kern_time.c `kern_clock_gettime`: `nanouptime`, monotonic within a boot).
        fn boot_stamp(&self) -> HostResult<BootStamp> {
            let op = OpKind::BootStamp;
            let mut tv = libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            };
            let mut len = std::mem::size_of::<libc::timeval>();
            // SAFETY: sysctlbyname(3) with a NUL-terminated name, writing at most `len` bytes
            // into `tv` (kern.boottime is exactly one struct timeval) and no new value.
            let rc = unsafe {
                libc::sysctlbyname(
                    c"kern.boottime".as_ptr(),
                    (&raw mut tv).cast(),
                    &mut len,
                    std::ptr::null(),
                    0,
                )
            };
            if rc != 0 || len != std::mem::size_of::<libc::timeval>() {
                let e = std::io::Error::last_os_error();
                return Err(io_errno(op, Object::Sysctl("kern.boottime".into()), &e));
            }
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: clock_gettime(2) writes one struct timespec.
            if unsafe { libc::clock_gettime(libc::CLOCK_UPTIME, &mut ts) } != 0 {
                let e = std::io::Error::last_os_error();
                return Err(io_errno(op, Object::Sysctl("CLOCK_UPTIME".into()), &e));
            }
            let us = |s: i64, frac_us: i64| (s.max(0) as u64) * 1_000_000 + frac_us.max(0) as u64;
            Ok(BootStamp {
                boottime_us: us(tv.tv_sec, tv.tv_usec),
                uptime_us: us(ts.tv_sec, ts.tv_nsec / 1000),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zfs_errors_keep_errno_dataset_and_message() {
        use freebsd_zfs::{Error, ErrorKind, Op};
        let e = Error::errno(Op::Create, "zdata/jails/dev", libc::EEXIST);
        let h = zfs_error(OpKind::DatasetCreate, "zdata/jails/dev", &e);
        assert_eq!(h.errno(), Some(Errno::EEXIST));
        assert_eq!(
            h.to_string(),
            "dataset_create: dataset \"zdata/jails/dev\": EEXIST (17)"
        );
        // Dependants: EEXIST as lzc_destroy answers, their names in the message.
        let e = Error::new(
            Op::DestroySnapshots,
            "zdata/t@base",
            ErrorKind::HasDependants(vec!["zdata/jails/dev".into()]),
        );
        let h = zfs_error(OpKind::DatasetDestroy, "zdata/t@base", &e);
        assert_eq!(h.errno(), Some(Errno::EEXIST));
        assert!(h.to_string().contains("zdata/jails/dev"), "{h}");
        // No errno: derived from the kind; the error's own dataset wins over the argument.
        let e = Error::new(Op::Unmount, "zdata/other", ErrorKind::Busy).with_message("in use");
        match zfs_error(OpKind::DatasetDestroy, "zdata/x", &e) {
            HostError::Os {
                object,
                errno,
                errmsg,
                ..
            } => {
                assert_eq!(object, Object::Dataset("zdata/other".into()));
                assert_eq!(errno, Errno::EBUSY);
                assert_eq!(errmsg.as_deref(), Some("in use"));
            }
            other => panic!("{other:?}"),
        }
        // An empty dataset in the error: the argument names the object.
        let e = Error::new(Op::Init, "", ErrorKind::Unavailable);
        let h = zfs_error(OpKind::DatasetExists, "zdata", &e);
        assert_eq!(h.errno(), Some(Errno::ENXIO));
        assert!(h.to_string().contains("\"zdata\""));
        // Per-snapshot failures: the first one's errno.
        let e = Error::new(
            Op::Snapshot,
            "zdata/t@s",
            ErrorKind::Snapshots(vec![freebsd_zfs::SnapshotFailure {
                snapshot: "zdata/t@s".into(),
                kind: ErrorKind::NotFound,
                errno: None,
            }]),
        );
        assert_eq!(
            zfs_error(OpKind::DatasetSnapshot, "zdata/t@s", &e).errno(),
            Some(Errno::ENOENT)
        );
    }

    #[test]
    fn zfs_name_errors() {
        let long = "p/".to_string() + &"a".repeat(300);
        let e = freebsd_zfs::DatasetName::new(long.clone()).unwrap_err();
        let h = zfs_name_error(OpKind::DatasetCreate, &long, &e);
        assert_eq!(h.errno(), Some(Errno::ENAMETOOLONG));
        let e = freebsd_zfs::DatasetName::new("p/a b*").unwrap_err();
        assert_eq!(
            zfs_name_error(OpKind::DatasetCreate, "p/a b*", &e).errno(),
            Some(Errno::EINVAL)
        );
    }

    #[test]
    fn jail_errors_keep_errno_and_errmsg() {
        use freebsd_jail::{Error, JailRef};
        let e = Error::from_kernel(
            "jail_set",
            JailRef::Name("dev".into()),
            libc::EEXIST,
            "jail \"dev\" already exists",
            &["name"],
        );
        let h = jail_error(OpKind::JailCreate, Object::Jail("dev".into()), &e);
        assert_eq!(h.errno(), Some(Errno::EEXIST));
        assert_eq!(
            h.to_string(),
            "jail_create: jail \"dev\": EEXIST (17): jail \"dev\" already exists"
        );
        // jail_remove of an unknown jid: EINVAL, no message.
        let e = Error::from_errno("jail_remove", JailRef::Jid(9), libc::EINVAL);
        let h = jail_error(OpKind::JailRemove, Object::Jid(9), &e);
        assert_eq!(h.to_string(), "jail_remove: jid 9: EINVAL (22)");
        // Refused before any call: EINVAL with the reason.
        let e = freebsd_jail::JailParams::builder()
            .name("dev")
            .vnet(freebsd_jail::Vnet::New)
            .ip4_addrs(["10.0.0.2".parse().unwrap()])
            .build()
            .unwrap_err();
        let h = jail_error(OpKind::JailCreate, Object::Jail("dev".into()), &e);
        assert_eq!(h.errno(), Some(Errno::EINVAL));
        assert!(h.to_string().contains("VNET"), "{h}");
    }

    #[test]
    fn netif_errors_map_errno_or_input() {
        use freebsd_netif::{Error, Op};
        let e = Error::from_errno(Op::SetFlags, "epair9a", "", libc::ENXIO);
        let h = netif_error(OpKind::IfSetUp, Object::iface("epair9a"), &e);
        assert_eq!(h.to_string(), "if_set_up: interface \"epair9a\": ENXIO (6)");
        let e = Error::bridge(Op::BridgeAdd, "bridge0", "epair0a", libc::EBUSY);
        assert_eq!(
            netif_error(OpKind::BridgeAddm, Object::iface("epair0a"), &e).errno(),
            Some(Errno::EBUSY)
        );
        let e = Error::from(freebsd_netif::IfName::new("a-very-long-interface").unwrap_err());
        let h = netif_error(OpKind::IfRename, Object::iface("x"), &e);
        assert_eq!(h.errno(), Some(Errno::ENAMETOOLONG));
        assert!(h.to_string().contains("15"), "{h}");
        let e = Error::Child {
            jid: 3,
            detail: "killed".into(),
        };
        let h = netif_error(OpKind::JailIfSetUp, Object::Jid(3), &e);
        assert_eq!(h.errno(), Some(Errno::EIO));
        assert!(h.to_string().contains("killed"));
        // In-jail step failures carry the step's errno.
        let e = Error::InJail {
            jid: 3,
            index: 0,
            source: Box::new(Error::from_errno(
                Op::DeleteAddress,
                "epair0b",
                "10.0.0.2",
                libc::EADDRNOTAVAIL,
            )),
        };
        assert_eq!(
            netif_error(OpKind::JailIfAddrDelete, Object::Jid(3), &e).errno(),
            // The build OS's errno (FreeBSD's when FreeBsdHost runs).
            Some(Errno(libc::EADDRNOTAVAIL))
        );
    }

    #[test]
    fn mount_errors_and_options() {
        let h = mount_error(
            OpKind::MountDevfs,
            Path::new("/j/dev"),
            22,
            Some("invalid ruleset specification"),
        );
        assert_eq!(
            h.to_string(),
            "mount_devfs: path \"/j/dev\": EINVAL (22): invalid ruleset specification"
        );
        let h = mount_error(OpKind::Unmount, Path::new("/j"), 16, Some(""));
        assert_eq!(h.to_string(), "unmount: path \"/j\": EBUSY (16)");
        assert_eq!(ruleset_option(5).as_bytes_with_nul(), b"5\0");
        assert_eq!(ruleset_option(65535).as_bytes(), b"65535");
    }

    #[test]
    fn wait_with_timeout_kills_what_outlives_it() {
        let mut slow = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        let t0 = std::time::Instant::now();
        let r = wait_with_timeout(&mut slow, Some(std::time::Duration::from_millis(100)));
        assert!(r.expect("wait").is_none(), "timed out");
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(3),
            "did not wait it out"
        );
        assert!(
            slow.try_wait().expect("reaped").is_some(),
            "killed and reaped"
        );

        let mut quick = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .expect("sh");
        let st = wait_with_timeout(&mut quick, Some(std::time::Duration::from_secs(5)))
            .expect("wait")
            .expect("finished in time");
        assert_eq!(exit_code(st), 3);
        let mut untimed = std::process::Command::new("true").spawn().expect("true");
        assert!(
            wait_with_timeout(&mut untimed, None)
                .expect("wait")
                .is_some()
        );
    }

    #[test]
    fn exit_codes_like_the_shell() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_code(std::process::ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(std::process::ExitStatus::from_raw(9)), 137);
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(
            io_errno(OpKind::JailExec, Object::Jid(1), &e).errno(),
            Some(Errno::ENOENT)
        );
        let e = std::io::Error::other("x");
        assert_eq!(
            io_errno(OpKind::JailExec, Object::Jid(1), &e).errno(),
            Some(Errno::EIO)
        );
    }
    #[test]
    fn dataset_props_convert_or_refuse() {
        let mut p = DatasetProps {
            mountpoint: Some("/zdata/jails/dev".into()),
            canmount: Some(CanMount::NoAuto),
            ..DatasetProps::default()
        };
        p.user.insert("thinjail:role".into(), "template".into());
        let z = zprops(OpKind::DatasetCreate, "zdata/t", &p).unwrap();
        assert_eq!(
            z.cli_args(),
            [
                "mountpoint=/zdata/jails/dev",
                "canmount=noauto",
                "thinjail:role=template"
            ]
        );
        p.user.insert("norole".into(), "x".into());
        let e = zprops(OpKind::DatasetCreate, "zdata/t", &p).unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EINVAL));
        assert!(e.to_string().contains("zdata/t"), "{e}");
    }

    /// The FreeBSD 14 table standing in for the kernel's `security.jail.param.*`.
    fn table(name: &str) -> HostResult<freebsd_jail::ParamType> {
        crate::jailparams::lookup(name)
            .map(|d| d.ty)
            .ok_or_else(|| {
                HostError::os_msg(
                    OpKind::JailCreate,
                    Object::Jail("dev".into()),
                    Errno::ENOENT,
                    format!("unknown parameter: {name}"),
                )
            })
    }

    /// `ip4=new` / `ip6=new` keep the addresses given with them (kern_jail.c kern_jail_set:
    /// JAIL_SYS_NEW restricts the jail to its ip4.addr/ip6.addr list); before, `new` replaced
    /// them with an empty list.
    #[test]
    fn ipn_new_keeps_the_addresses() {
        use freebsd_jail::{JailSys, Value};
        let spec = |ip4: Vec<std::net::Ipv4Addr>, params: &[(&str, &str)]| JailSpec {
            name: "dev".into(),
            path: "/zdata/jails/dev".into(),
            ip4,
            params: params
                .iter()
                .map(|(n, v)| (n.to_string(), Some(v.to_string())))
                .collect(),
            ..JailSpec::default()
        };
        let a4: std::net::Ipv4Addr = "10.0.0.2".parse().unwrap();
        let a6: std::net::Ipv6Addr = "2001:db8::2".parse().unwrap();
        let p = jail_params(&spec(vec![a4], &[("ip4", "new")]), &table).unwrap();
        assert_eq!(p.get("ip4.addr"), Some(&Value::Ip4(vec![a4])));
        let p = jail_params(
            &spec(Vec::new(), &[("ip6.addr", "2001:db8::2"), ("ip6", "new")]),
            &table,
        )
        .unwrap();
        assert_eq!(p.get("ip6.addr"), Some(&Value::Ip6(vec![a6])));
        // Without addresses `new` is an empty list: no address of that family.
        let p = jail_params(&spec(Vec::new(), &[("ip4", "new"), ("ip6", "new")]), &table).unwrap();
        assert_eq!(p.get("ip4.addr"), Some(&Value::Ip4(Vec::new())));
        assert_eq!(p.get("ip6.addr"), Some(&Value::Ip6(Vec::new())));
        // inherit and disable are sent as such.
        let p = jail_params(
            &spec(Vec::new(), &[("ip4", "inherit"), ("ip6", "disable")]),
            &table,
        )
        .unwrap();
        assert_eq!(p.get("ip4"), Some(&Value::JailSys(JailSys::Inherit)));
        assert_eq!(p.get("ip6"), Some(&Value::JailSys(JailSys::Disable)));
    }

    #[test]
    fn jail_spec_params_in_text_form() {
        use freebsd_jail::{JailSys, Value};
        let spec = |params: &[(&str, Option<&str>)]| JailSpec {
            name: "dev".into(),
            path: "/zdata/jails/dev".into(),
            vnet: true,
            allow: vec!["raw_sockets".into()],
            params: params
                .iter()
                .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
                .collect(),
            ..JailSpec::default()
        };
        let p = jail_params(
            &spec(&[
                ("securelevel", Some("3")),
                ("sysvshm", Some("new")),
                ("sysvmsg", None),
                ("osrelease", Some("13.2-RELEASE")),
                ("host.domainname", Some("example.org")),
                ("allow.mount.nullfs", None),
                ("allow.mount", Some("true")),
                ("allow.noraw_sockets", None),
                ("allow.vmm", Some("0")),
                ("linux.osrelease", Some("5.15.0")),
                ("sysvshm", Some("inherit")),
            ]),
            &table,
        )
        .unwrap();
        assert_eq!(p.get("securelevel"), Some(&Value::Int(3)));
        assert_eq!(p.get("osrelease"), Some(&Value::Str("13.2-RELEASE".into())));
        assert_eq!(
            p.get("host.domainname"),
            Some(&Value::Str("example.org".into()))
        );
        // The last occurrence wins; a bare jailsys parameter is `new`.
        assert_eq!(p.get("sysvshm"), Some(&Value::JailSys(JailSys::Inherit)));
        assert_eq!(p.get("sysvmsg"), Some(&Value::JailSys(JailSys::New)));
        assert_eq!(p.get("linux.osrelease"), Some(&Value::Str("5.15.0".into())));
        let names = p.names();
        for n in [
            "allow.mount.nullfs",
            "allow.mount",
            "allow.noraw_sockets",
            "allow.novmm",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
        }
        assert!(!names.iter().any(|x| x == "allow.raw_sockets"), "{names:?}");
        // Refusals name the jail and the parameter, with the errno.
        let err = |ps: &[(&str, Option<&str>)]| jail_params(&spec(ps), &table).unwrap_err();
        let e = err(&[("securelevel", Some("abc"))]);
        assert_eq!(e.errno(), Some(Errno::EINVAL));
        assert!(
            e.to_string().contains("jail \"dev\"") && e.to_string().contains("securelevel"),
            "{e}"
        );
        let e = err(&[("allow.flying", None)]);
        assert_eq!(e.errno(), Some(Errno::ENOENT));
        assert!(
            e.to_string().contains("unknown parameter: allow.flying"),
            "{e}"
        );
        assert_eq!(
            err(&[("sysvsem", Some("sometimes"))]).errno(),
            Some(Errno::EINVAL)
        );
        assert_eq!(err(&[("path", Some("/x"))]).errno(), Some(Errno::EINVAL));
        assert_eq!(err(&[("nopersist", None)]).errno(), Some(Errno::EINVAL));
        // A VNET jail refuses IP restrictions given as parameters too.
        assert_eq!(
            err(&[("ip6.addr", Some("2001:db8::2"))]).errno(),
            Some(Errno::EINVAL)
        );
    }

    #[test]
    fn jail_spec_to_params() {
        let spec = JailSpec {
            name: "dev".into(),
            path: "/zdata/jails/dev".into(),
            hostname: Some("dev.local".into()),
            vnet: true,
            devfs_ruleset: Some(5),
            enforce_statfs: Some(2),
            children_max: Some(0),
            allow: vec!["raw_sockets".into(), "future_flag".into()],
            ..JailSpec::default()
        };
        let p = jail_params(&spec, &table).unwrap();
        let names = p.names();
        for n in [
            "name",
            "path",
            "host.hostname",
            "vnet",
            "persist",
            "devfs_ruleset",
            "enforce_statfs",
            "children.max",
            "allow.raw_sockets",
            "allow.future_flag",
        ] {
            assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
        }
        assert!(!names.iter().any(|x| x.starts_with("ip4")), "{names:?}");
        // The kernel's refusals, made before any call.
        let both = JailSpec {
            ip4: vec!["10.0.0.2".parse().unwrap()],
            ..spec.clone()
        };
        assert_eq!(
            jail_params(&both, &table).unwrap_err().errno(),
            Some(Errno::EINVAL)
        );
        let relative = JailSpec {
            path: "jails/dev".into(),
            ..spec.clone()
        };
        assert_eq!(
            jail_params(&relative, &table).unwrap_err().errno(),
            Some(Errno::EINVAL)
        );
        let huge = JailSpec {
            enforce_statfs: Some(u32::MAX),
            ..spec
        };
        assert_eq!(
            jail_params(&huge, &table).unwrap_err().errno(),
            Some(Errno::EINVAL)
        );
    }

    #[test]
    fn jail_info_from_jail_get() {
        let j = freebsd_jail::JailInfo {
            jid: 7,
            name: "dev".into(),
            path: "/zdata/jails/dev".into(),
            hostname: "dev.local".into(),
            vnet: Some(freebsd_jail::JailSys::New),
            devfs_ruleset: 5,
            ..Default::default()
        };
        let i = to_info(j.clone());
        assert_eq!(
            (i.jid, i.name.as_str(), i.vnet, i.devfs_ruleset),
            (7, "dev", true, 5)
        );
        assert_eq!(i.path, std::path::PathBuf::from("/zdata/jails/dev"));
        let inherit = freebsd_jail::JailInfo {
            vnet: Some(freebsd_jail::JailSys::Inherit),
            ..j
        };
        assert!(!to_info(inherit).vnet);
    }

    #[test]
    fn interfaces_assembled() {
        use freebsd_netif::{IfName, Interface, IpNet, wire};
        let iface = |n: &str, flags: u32, addrs: Vec<IpNet>| Interface {
            name: IfName::new(n).unwrap(),
            flags,
            addrs,
        };
        let all = vec![
            iface(
                "lo0",
                wire::IFF_UP | wire::IFF_LOOPBACK,
                vec!["127.0.0.1/8".parse().unwrap(), "::1/128".parse().unwrap()],
            ),
            iface("bridge0", wire::IFF_UP, vec![]),
            iface("epair0a", wire::IFF_UP, vec![]),
            iface("epair0b", 0, vec!["10.0.0.2/24".parse().unwrap()]),
            iface("gone0", 0, vec![]),
        ];
        let bridges = vec![("bridge0".to_string(), vec!["epair0a".to_string()])];
        let descr = vec![
            Some(None),
            Some(Some("lan".into())),
            Some(Some("jail:dev".into())),
            Some(Some(String::new())),
            None,
        ];
        let l = assemble_interfaces(all, &bridges, descr);
        assert_eq!(l.len(), 4, "a vanished interface is left out");
        assert_eq!(l[0].kind, IfKind::Loopback);
        assert_eq!(l[0].addrs, vec![("127.0.0.1".parse().unwrap(), 8)]);
        assert_eq!(l[1].kind, IfKind::Bridge);
        assert_eq!(l[1].members, vec!["epair0a".to_string()]);
        assert_eq!(l[1].description.as_deref(), Some("lan"));
        assert_eq!(l[2].kind, IfKind::Epair);
        assert_eq!(l[2].member_of.as_deref(), Some("bridge0"));
        assert!(l[2].up);
        assert!(!l[3].up);
        assert_eq!(l[3].addrs, vec![("10.0.0.2".parse().unwrap(), 24)]);
        assert_eq!(l[3].description, None, "an empty description is none");
        assert_eq!(l[3].member_of, None);
    }

    #[test]
    fn child_replies_round_trip_and_map() {
        let obj = Object::Jid(4);
        let cases = [
            (ChildReply::AttachFailed(22), ChildReply::AttachFailed(22)),
            (
                ChildReply::Ok(b"abc".to_vec()),
                ChildReply::Ok(b"abc".to_vec()),
            ),
            (ChildReply::Ok(Vec::new()), ChildReply::Ok(Vec::new())),
            (ChildReply::Panicked, ChildReply::Panicked),
        ];
        for (r, expect) in cases {
            assert_eq!(ChildReply::decode(&r.encode()), Some(expect));
        }
        assert_eq!(ChildReply::decode(&[]), None);
        assert_eq!(ChildReply::decode(&[0, 1]), None, "truncated errno");
        assert_eq!(ChildReply::decode(&[9]), None);
        let ok = ChildReply::Ok(b"x".to_vec()).encode();
        assert_eq!(
            child_result(OpKind::Interfaces, &obj, 4, 0, &ok).unwrap(),
            b"x"
        );
        let e = child_result(
            OpKind::JailRouteDeleteDefault,
            &obj,
            4,
            0,
            &ChildReply::AttachFailed(22).encode(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "jail_route_delete_default: jid 4: EINVAL (22): jail_attach(4)"
        );
        let e = child_result(OpKind::Interfaces, &obj, 4, 9, &[]).unwrap_err();
        assert_eq!(e.errno(), Some(Errno::EIO));
        assert!(e.to_string().contains("0x9"), "{e}");
    }
    #[test]
    fn file_tree_is_real_io_with_exact_modes() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let t = d.path().join("tmp");
        assert_eq!(fs_file_type(&t).unwrap(), None);
        fs_mkdir(&t, 0o1777).unwrap();
        assert_eq!(mode(&t), 0o1777, "the umask does not apply");
        assert_eq!(fs_file_type(&t).unwrap(), Some(FileKind::Dir));
        match fs_mkdir(&t, 0o755).unwrap_err() {
            HostError::Io { op, path, source } => {
                assert_eq!(op, OpKind::Mkdir);
                assert_eq!(path, t);
                assert_eq!(source.kind(), std::io::ErrorKind::AlreadyExists);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            fs_mkdir(&d.path().join("a/b"), 0o755)
                .unwrap_err()
                .is_not_found()
        );
        let f = t.join("rc.conf");
        fs_write_file(&f, b"one\n", 0o600).unwrap();
        fs_write_file(&f, b"2\n", 0o644).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"2\n", "replaced, not appended");
        assert_eq!(mode(&f), 0o644, "an existing file gets the new mode");
        assert_eq!(fs_file_type(&f).unwrap(), Some(FileKind::File));
        let l = t.join("link");
        std::os::unix::fs::symlink("rc.conf", &l).unwrap();
        assert_eq!(fs_file_type(&l).unwrap(), Some(FileKind::Symlink));
    }
}
