//! The libzfs_core backend: ioctls on `/dev/zfs` through `lzc_*`, no process spawned.
//!
//! libzfs_core has no listing or property-reading calls, so those go through read-only ZFS
//! channel programs (`lzc_channel_program_nosync`, zfs-program(8)) that call `zfs.list.*` and
//! `zfs.get_prop`. Mounts use nmount(2) on FreeBSD, exactly as libzfs does.

use crate::cli::snapshot_error;
use crate::nvlist::{NvList, NvValue};
use crate::{
    DatasetName, Error, ErrorKind, Op, PropValue, Property, Props, Result, SnapshotFailure,
    SnapshotName, Zfs, check_snapshot_set,
};
use libzfs_sys as sys;
use std::ffi::CString;
use std::path::PathBuf;
use std::sync::Mutex;

/// Whether `libzfs_core_init` succeeded in this process (it is refcounted; we call it once and
/// never `libzfs_core_fini`, so the `/dev/zfs` descriptor lives as long as the process).
static INIT: Mutex<bool> = Mutex::new(false);

/// `ZCP_DEFAULT_INSTRLIMIT` (`<sys/fs/zfs.h>`).
const INSTR_LIMIT: u64 = 10 * 1000 * 1000;
/// `ZCP_DEFAULT_MEMLIMIT` (`<sys/fs/zfs.h>`).
const MEM_LIMIT: u64 = 10 * 1024 * 1024;

const LIST_CHILDREN: &str = r#"
args = ...
local out = {}
for c in zfs.list.children(args["name"]) do out[c] = true end
return out
"#;

const LIST_SNAPSHOTS: &str = r#"
args = ...
local out = {}
for s in zfs.list.snapshots(args["name"]) do out[s] = true end
return out
"#;

const LIST_CLONES: &str = r#"
args = ...
local out = {}
for c in zfs.list.clones(args["name"]) do out[c] = true end
return out
"#;

const GET_PROPS: &str = r#"
args = ...
local out = {}
for p, _ in pairs(args["props"]) do
  local v, src = zfs.get_prop(args["name"], p)
  if v == nil then v = "-" end
  if src == nil then src = "-" end
  out[p] = { value = tostring(v), source = tostring(src) }
end
return out
"#;

/// libzfs_core. Cheap to create after the first (the library is initialised once per
/// process); `Send + Sync`: every call is an independent ioctl.
///
/// ```no_run
/// use freebsd_zfs::{Lzc, Props, Zfs};
/// let zfs = Lzc::new().unwrap(); // fails cleanly without /dev/zfs
/// let snap = freebsd_zfs::SnapshotName::new("zdata/jails/templates/base@skeleton").unwrap();
/// let jail = freebsd_zfs::DatasetName::new("zdata/jails/containers/web").unwrap();
/// zfs.clone_snapshot(&snap, &jail, &Props::new()).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Lzc {
    _init: (),
}

fn c(op: Op, name: &str) -> Result<CString> {
    CString::new(name).map_err(|_| {
        Error::new(op, name, ErrorKind::InvalidName).with_message("name contains a NUL byte")
    })
}

fn check(op: Op, name: &str, rc: i32) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::errno(op, name, rc))
    }
}

fn nv(op: Op, name: &str, e: crate::NvError) -> Error {
    Error::errno(op, name, e.errno).with_message(e.to_string())
}

fn props_nvlist(op: Op, name: &str, props: &Props) -> Result<Option<NvList>> {
    props.validate().map_err(|e| {
        Error::new(op, name, ErrorKind::InvalidArgument).with_message(e.to_string())
    })?;
    if props.is_empty() {
        return Ok(None);
    }
    let mut l = NvList::new().map_err(|e| nv(op, name, e))?;
    for (k, v) in props.iter() {
        match v {
            PropValue::String(s) => l.add_string(k, s),
            PropValue::U64(x) => l.add_u64(k, *x),
        }
        .map_err(|e| nv(op, name, e))?;
    }
    Ok(Some(l))
}

/// zcp_get.c `zcp_get_prop`: a name that is no system, user, userquota or written@ property
/// is a Lua error ("'%s' is not a valid property"), so the program fails with ECHRNG; zfs(8)
/// calls the same name an invalid property (EINVAL).
fn unknown_property(mut e: Error) -> Error {
    if e.message
        .as_deref()
        .is_some_and(|m| m.contains("is not a valid property"))
    {
        e.kind = ErrorKind::InvalidArgument;
    }
    e
}

fn snap_list(op: Op, snaps: &[SnapshotName]) -> Result<NvList> {
    let mut l = NvList::new().map_err(|e| nv(op, "", e))?;
    for s in snaps {
        l.add_boolean(s.as_str())
            .map_err(|e| nv(op, s.as_str(), e))?;
    }
    Ok(l)
}

/// Per-snapshot failures from an lzc `errlist` (`{snapshot name: int32 errno}`).
fn failures(errlist: Option<NvList>, snaps: &[SnapshotName], rc: i32) -> Vec<SnapshotFailure> {
    let mut f: Vec<SnapshotFailure> = errlist
        .map(|l| l.pairs())
        .unwrap_or_default()
        .into_iter()
        .filter(|(n, _)| snaps.iter().any(|s| s.as_str() == n))
        .map(|(n, v)| {
            let errno = match v {
                NvValue::I32(e) => e,
                _ => rc,
            };
            SnapshotFailure {
                snapshot: n,
                kind: ErrorKind::from_errno(errno),
                errno: Some(errno),
            }
        })
        .collect();
    if f.is_empty() {
        f = snaps
            .iter()
            .map(|s| SnapshotFailure {
                snapshot: s.to_string(),
                kind: ErrorKind::from_errno(rc),
                errno: Some(rc),
            })
            .collect();
    }
    f
}

impl Lzc {
    /// Initialises libzfs_core (opens `/dev/zfs`) once per process. Without `/dev/zfs` (no ZFS
    /// module, or Linux without OpenZFS) this returns [`ErrorKind::Unavailable`].
    pub fn new() -> Result<Self> {
        let mut done = INIT.lock().unwrap_or_else(|p| p.into_inner());
        if !*done {
            // SAFETY: libzfs_core_init(3) opens /dev/zfs; it takes no pointers and is
            // serialised here (and refcounted internally).
            let rc = unsafe { sys::libzfs_core_init() };
            if rc != 0 {
                let mut e = Error::errno(Op::Init, "/dev/zfs", rc);
                e.kind = ErrorKind::Unavailable;
                return Err(e.with_message("libzfs_core_init failed: cannot open /dev/zfs"));
            }
            *done = true;
        }
        Ok(Self { _init: () })
    }

    /// Runs a read-only channel program in `pool` with `args`; returns its `return` value.
    fn program(&self, op: Op, name: &str, pool: &str, src: &str, args: &NvList) -> Result<NvValue> {
        let p = c(op, pool)?;
        let prog = CString::new(src).map_err(|_| Error::new(op, name, ErrorKind::Other))?;
        let mut out: *mut sys::nvlist_t = std::ptr::null_mut();
        // SAFETY: lzc_channel_program_nosync(3) (zfs-program(8)): valid C strings and args
        // list; it stores a new list in `out` that we then own.
        let rc = unsafe {
            sys::lzc_channel_program_nosync(
                p.as_ptr(),
                prog.as_ptr(),
                INSTR_LIMIT,
                MEM_LIMIT,
                args.as_ptr(),
                &mut out,
            )
        };
        // SAFETY: `out` is null or a list allocated for us by libzfs_core.
        let out = unsafe { NvList::from_raw(out) };
        if rc != 0 {
            let msg = out.as_ref().and_then(|o| match o.get("error") {
                Some(NvValue::String(s)) => Some(s),
                _ => None,
            });
            let mut e = Error::errno(op, name, rc);
            if let Some(m) = msg {
                e = e.with_message(m);
            }
            return Err(e);
        }
        Ok(out
            .and_then(|o| o.get("return"))
            .unwrap_or(NvValue::List(Vec::new())))
    }

    fn names(&self, op: Op, name: &str, pool: &str, src: &str) -> Result<Vec<String>> {
        let mut args = NvList::new().map_err(|e| nv(op, name, e))?;
        args.add_string("name", name).map_err(|e| nv(op, name, e))?;
        let mut v: Vec<String> = match self.program(op, name, pool, src, &args)? {
            NvValue::List(pairs) => pairs.into_iter().map(|(k, _)| k).collect(),
            _ => Vec::new(),
        };
        v.sort();
        Ok(v)
    }

    fn exists_raw(&self, op: Op, name: &str) -> Result<bool> {
        let n = c(op, name)?;
        // SAFETY: lzc_exists(3): a valid C string; returns a boolean_t.
        Ok(unsafe { sys::lzc_exists(n.as_ptr()) } != sys::B_FALSE)
    }

    /// Every descendant of `name` and their snapshots, sorted: what zfs(8) lists after
    /// "use '-r' to destroy the following datasets" (zfs_main.c `destroy_check_dependent`
    /// walks the whole subtree). Direct children only missed a/b/c under a/b (FreeBSD 13.2,
    /// VM).
    fn dependants(&self, name: &DatasetName) -> Vec<String> {
        let mut d = Vec::new();
        let mut todo = vec![name.clone()];
        while let Some(n) = todo.pop() {
            if let Ok(s) = self.list_snapshots(&n) {
                d.extend(s.into_iter().map(|x| x.to_string()));
            }
            if let Ok(children) = self.list_children(&n) {
                d.extend(children.iter().map(|x| x.to_string()));
                todo.extend(children);
            }
        }
        d.sort();
        d
    }
}

impl Zfs for Lzc {
    /// `lzc_create(name, LZC_DATSET_TYPE_ZFS, props, NULL, 0)`; not mounted.
    fn create(&self, name: &DatasetName, props: &Props) -> Result<()> {
        let n = c(Op::Create, name.as_str())?;
        let l = props_nvlist(Op::Create, name.as_str(), props)?;
        let lp = l.as_ref().map_or(std::ptr::null_mut(), NvList::as_ptr);
        // SAFETY: lzc_create(3): valid C string, props null or a valid list (not consumed),
        // no wrapping key (NULL, 0).
        let rc = unsafe {
            sys::lzc_create(
                n.as_ptr(),
                sys::LZC_DATSET_TYPE_ZFS,
                lp,
                std::ptr::null_mut(),
                0,
            )
        };
        match rc {
            // libzfs_dataset.c zfs_create reports it the same way.
            libc::EEXIST => {
                Err(Error::errno(Op::Create, name.as_str(), rc)
                    .with_message("dataset already exists"))
            }
            _ => check(Op::Create, name.as_str(), rc),
        }
    }

    /// `lzc_exists` for `name` and each ancestor, `lzc_create` for the missing ones.
    fn create_with_parents(&self, name: &DatasetName, props: &Props) -> Result<()> {
        if self.exists(name)? {
            return Ok(());
        }
        for a in name.ancestors() {
            if !self.exists(&a)? {
                match self.create(&a, &Props::new()) {
                    Err(e) if e.kind == ErrorKind::Exists => {}
                    r => r?,
                }
            }
        }
        self.create(name, props)
    }

    /// `lzc_snapshot(snaps, NULL, &errlist)`: atomic; `errlist` decoded per snapshot.
    fn snapshot(&self, snaps: &[SnapshotName]) -> Result<()> {
        check_snapshot_set(Op::Snapshot, snaps)?;
        let l = snap_list(Op::Snapshot, snaps)?;
        let mut errs: *mut sys::nvlist_t = std::ptr::null_mut();
        // SAFETY: lzc_snapshot(3): a valid list of snapshot names, no props; `errs` receives
        // a list we own (or stays null).
        let rc = unsafe { sys::lzc_snapshot(l.as_ptr(), std::ptr::null_mut(), &mut errs) };
        // SAFETY: `errs` is null or allocated for us by libzfs_core.
        let errs = unsafe { NvList::from_raw(errs) };
        if rc == 0 {
            return Ok(());
        }
        Err(snapshot_error(
            Op::Snapshot,
            snaps,
            failures(errs, snaps, rc),
        ))
    }

    /// `lzc_clone(target, origin, props)`; not mounted.
    fn clone_snapshot(
        &self,
        origin: &SnapshotName,
        target: &DatasetName,
        props: &Props,
    ) -> Result<()> {
        let t = c(Op::Clone, target.as_str())?;
        let o = c(Op::Clone, origin.as_str())?;
        let l = props_nvlist(Op::Clone, target.as_str(), props)?;
        let lp = l.as_ref().map_or(std::ptr::null_mut(), NvList::as_ptr);
        // SAFETY: lzc_clone(3): valid C strings, props null or a valid list (not consumed).
        let rc = unsafe { sys::lzc_clone(t.as_ptr(), o.as_ptr(), lp) };
        check(Op::Clone, target.as_str(), rc)
    }

    /// unmount(2) if mounted (FreeBSD), then `lzc_destroy(name)`; on `EEXIST`/`EBUSY` the
    /// children and snapshots are listed into [`ErrorKind::HasDependants`].
    fn destroy(&self, name: &DatasetName) -> Result<()> {
        let n = c(Op::Destroy, name.as_str())?;
        #[cfg(target_os = "freebsd")]
        if self.is_mounted(name)? {
            self.unmount(name, false)?;
        }
        // SAFETY: lzc_destroy(3): a valid C string.
        let rc = unsafe { sys::lzc_destroy(n.as_ptr()) };
        if rc == 0 {
            return Ok(());
        }
        let mut e = Error::errno(Op::Destroy, name.as_str(), rc);
        if matches!(rc, libc::EEXIST | libc::EBUSY | libc::ENOTEMPTY) {
            let d = self.dependants(name);
            if !d.is_empty() {
                e.kind = ErrorKind::HasDependants(d);
            }
        }
        Err(e)
    }

    /// `lzc_destroy_snaps(snaps, B_FALSE, &errlist)`; snapshots with clones are reported as
    /// [`ErrorKind::HasDependants`] naming the clones. Missing snapshots are ignored.
    fn destroy_snapshots(&self, snaps: &[SnapshotName]) -> Result<()> {
        check_snapshot_set(Op::DestroySnapshots, snaps)?;
        let l = snap_list(Op::DestroySnapshots, snaps)?;
        let mut errs: *mut sys::nvlist_t = std::ptr::null_mut();
        // SAFETY: lzc_destroy_snaps(3): a valid list of names, defer = B_FALSE; `errs`
        // receives a list we own (or stays null).
        let rc = unsafe { sys::lzc_destroy_snaps(l.as_ptr(), sys::B_FALSE, &mut errs) };
        // SAFETY: `errs` is null or allocated for us by libzfs_core.
        let errs = unsafe { NvList::from_raw(errs) };
        if rc == 0 {
            return Ok(());
        }
        let mut f = failures(errs, snaps, rc);
        for x in &mut f {
            if matches!(x.errno, Some(libc::EEXIST | libc::EBUSY))
                && let Ok(s) = SnapshotName::new(x.snapshot.clone())
                && let Ok(cl) = self.list_clones(&s)
                && !cl.is_empty()
            {
                x.kind = ErrorKind::HasDependants(cl.into_iter().map(|d| d.to_string()).collect());
            }
        }
        Err(snapshot_error(Op::DestroySnapshots, snaps, f))
    }

    /// `lzc_exists(name)`.
    fn exists(&self, name: &DatasetName) -> Result<bool> {
        self.exists_raw(Op::Exists, name.as_str())
    }

    /// `lzc_exists(pool/fs@snap)`.
    fn snapshot_exists(&self, name: &SnapshotName) -> Result<bool> {
        self.exists_raw(Op::Exists, name.as_str())
    }

    /// `lzc_rename(from, to)`. Unlike `zfs rename` it does not remount: unmount first if the
    /// mountpoint changes.
    fn rename(&self, from: &DatasetName, to: &DatasetName) -> Result<()> {
        let f = c(Op::Rename, from.as_str())?;
        let t = c(Op::Rename, to.as_str())?;
        // SAFETY: lzc_rename(3): valid C strings.
        let rc = unsafe { sys::lzc_rename(f.as_ptr(), t.as_ptr()) };
        check(Op::Rename, from.as_str(), rc)
    }

    /// A channel program calling `zfs.get_prop` for each property. Sources: `local` (set on
    /// this dataset), `inherited from X`, `default`, `-` (read-only/unset). `mounted` is not
    /// readable there: use [`Zfs::is_mounted`].
    fn get_properties(&self, name: &DatasetName, props: &[&str]) -> Result<Vec<Property>> {
        let op = Op::GetProperties;
        if props.is_empty() {
            return Err(Error::new(op, name.as_str(), ErrorKind::InvalidArgument)
                .with_message("no properties requested"));
        }
        if !self.exists(name)? {
            return Err(Error::new(op, name.as_str(), ErrorKind::NotFound));
        }
        let e = |x| nv(op, name.as_str(), x);
        let mut want = NvList::new().map_err(e)?;
        for p in props {
            want.add_bool(p, true).map_err(e)?;
        }
        let mut args = NvList::new().map_err(e)?;
        args.add_string("name", name.as_str()).map_err(e)?;
        args.add_nvlist("props", &want).map_err(e)?;
        let got = match self
            .program(op, name.as_str(), name.pool(), GET_PROPS, &args)
            .map_err(unknown_property)?
        {
            NvValue::List(v) => v,
            _ => Vec::new(),
        };
        let field = |l: &[(String, NvValue)], k: &str| {
            l.iter().find(|(n, _)| n == k).and_then(|(_, v)| match v {
                NvValue::String(s) => Some(s.clone()),
                _ => None,
            })
        };
        Ok(props
            .iter()
            .filter_map(|p| {
                let (_, v) = got.iter().find(|(n, _)| n == p)?;
                let NvValue::List(l) = v else { return None };
                let value = field(l, "value")?;
                let src = field(l, "source").unwrap_or_else(|| "-".into());
                let source = if src == name.as_str() {
                    "local".to_string()
                } else if src == "default" || src == "-" {
                    src
                } else {
                    format!("inherited from {src}")
                };
                Some(Property {
                    name: p.to_string(),
                    value,
                    source,
                })
            })
            .collect())
    }

    /// FreeBSD: reads `mountpoint` (channel program), `mkdir -p` it (0755), then nmount(2)
    /// with `fstype=zfs`, `fspath=<mountpoint>`, `from=<dataset>` (as libzfs's `do_mount`).
    fn mount(&self, name: &DatasetName) -> Result<PathBuf> {
        #[cfg(target_os = "freebsd")]
        {
            mnt::mount(self, name)
        }
        #[cfg(not(target_os = "freebsd"))]
        {
            Err(Error::new(Op::Mount, name.as_str(), ErrorKind::Unsupported)
                .with_message("the libzfs_core backend mounts on FreeBSD only; use Cli"))
        }
    }

    /// FreeBSD: unmount(2) of the dataset's mount point (`MNT_FORCE` if `force`).
    fn unmount(&self, name: &DatasetName, force: bool) -> Result<()> {
        #[cfg(target_os = "freebsd")]
        {
            mnt::unmount(name, force)
        }
        #[cfg(not(target_os = "freebsd"))]
        {
            let _ = force;
            Err(
                Error::new(Op::Unmount, name.as_str(), ErrorKind::Unsupported)
                    .with_message("the libzfs_core backend unmounts on FreeBSD only; use Cli"),
            )
        }
    }

    /// FreeBSD: getmntinfo(3), looking for `fstype zfs` mounted from `name`.
    fn is_mounted(&self, name: &DatasetName) -> Result<bool> {
        #[cfg(target_os = "freebsd")]
        {
            mnt::mounted_at(name).map(|p| p.is_some())
        }
        #[cfg(not(target_os = "freebsd"))]
        {
            Err(Error::new(Op::Mount, name.as_str(), ErrorKind::Unsupported)
                .with_message("the libzfs_core backend reads mounts on FreeBSD only; use Cli"))
        }
    }

    /// Channel program `zfs.list.children(name)`.
    fn list_children(&self, name: &DatasetName) -> Result<Vec<DatasetName>> {
        if !self.exists(name)? {
            return Err(Error::new(Op::List, name.as_str(), ErrorKind::NotFound));
        }
        self.names(Op::List, name.as_str(), name.pool(), LIST_CHILDREN)?
            .into_iter()
            .map(|n| DatasetName::new(n.clone()).map_err(|e| Error::invalid_name(Op::List, &n, e)))
            .collect()
    }

    /// Channel program `zfs.list.snapshots(name)`.
    fn list_snapshots(&self, name: &DatasetName) -> Result<Vec<SnapshotName>> {
        if !self.exists(name)? {
            return Err(Error::new(Op::List, name.as_str(), ErrorKind::NotFound));
        }
        self.names(Op::List, name.as_str(), name.pool(), LIST_SNAPSHOTS)?
            .into_iter()
            .map(|n| SnapshotName::new(n.clone()).map_err(|e| Error::invalid_name(Op::List, &n, e)))
            .collect()
    }

    /// Channel program `zfs.list.clones(snap)`.
    fn list_clones(&self, snap: &SnapshotName) -> Result<Vec<DatasetName>> {
        if !self.snapshot_exists(snap)? {
            return Err(Error::new(Op::List, snap.as_str(), ErrorKind::NotFound));
        }
        self.names(Op::List, snap.as_str(), snap.pool(), LIST_CLONES)?
            .into_iter()
            .map(|n| DatasetName::new(n.clone()).map_err(|e| Error::invalid_name(Op::List, &n, e)))
            .collect()
    }
}

#[cfg(target_os = "freebsd")]
mod mnt {
    use super::*;
    use nix::mount::{MntFlags, Nmount};
    use std::ffi::CStr;
    use std::path::Path;

    fn sys_err(op: Op, name: &DatasetName, e: nix::Error) -> Error {
        Error::errno(op, name.as_str(), e as i32)
    }

    /// Where `name` is mounted, from getmntinfo(3).
    pub(super) fn mounted_at(name: &DatasetName) -> Result<Option<PathBuf>> {
        let mut buf: *mut libc::statfs = std::ptr::null_mut();
        // SAFETY: getmntinfo(3) stores a pointer to a libc-owned array of `n` statfs structs in
        // `buf` (valid until the next call on this thread); MNT_NOWAIT avoids blocking.
        let n = unsafe { libc::getmntinfo(&mut buf, crate::abi::MNT_NOWAIT) };
        if n <= 0 || buf.is_null() {
            return Err(Error::errno(
                Op::Mount,
                name.as_str(),
                std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            ));
        }
        // SAFETY: `buf` points to `n` initialised statfs structs (getmntinfo(3)).
        let all = unsafe { std::slice::from_raw_parts(buf, n as usize) };
        for m in all {
            // SAFETY: the statfs name fields are NUL-terminated C strings (statfs(2)).
            let (ty, from, on) = unsafe {
                (
                    CStr::from_ptr(m.f_fstypename.as_ptr()),
                    CStr::from_ptr(m.f_mntfromname.as_ptr()),
                    CStr::from_ptr(m.f_mntonname.as_ptr()),
                )
            };
            if ty.to_bytes() == b"zfs" && from.to_bytes() == name.as_str().as_bytes() {
                return Ok(Some(PathBuf::from(on.to_string_lossy().into_owned())));
            }
        }
        Ok(None)
    }

    pub(super) fn mount(lzc: &Lzc, name: &DatasetName) -> Result<PathBuf> {
        if mounted_at(name)?.is_some() {
            return Err(Error::new(
                Op::Mount,
                name.as_str(),
                ErrorKind::AlreadyMounted,
            ));
        }
        let props = lzc.get_properties(name, &["mountpoint", "canmount"])?;
        let get = |k: &str| props.iter().find(|p| p.name == k).map(|p| p.value.clone());
        if get("canmount").as_deref() == Some("off") {
            // As zfs_is_mountable() in libzfs: canmount=off datasets are never mounted.
            return Err(
                Error::new(Op::Mount, name.as_str(), ErrorKind::InvalidArgument)
                    .with_message("'canmount' property is set to 'off'"),
            );
        }
        let mp = get("mountpoint").unwrap_or_default();
        if !mp.starts_with('/') {
            return Err(
                Error::new(Op::Mount, name.as_str(), ErrorKind::InvalidArgument)
                    .with_message(format!("mountpoint is {mp:?}: nothing to mount at")),
            );
        }
        let path = PathBuf::from(&mp);
        mkdir_p(&path).map_err(|e| {
            Error::new(
                Op::Mount,
                name.as_str(),
                ErrorKind::from_errno(e.raw_os_error().unwrap_or(0)),
            )
            .with_message(format!("mkdir {mp}: {e}"))
        })?;
        let from = c(Op::Mount, name.as_str())?;
        let fspath = c(Op::Mount, &mp)?;
        // nmount(2) with an "errmsg" buffer (nix adds it and returns its text).
        let r = Nmount::new()
            .str_opt(c"fstype", c"zfs")
            .str_opt(c"fspath", &fspath)
            .str_opt(c"from", &from)
            .nmount(MntFlags::empty());
        match r {
            Ok(()) => Ok(path),
            Err(e) => {
                let mut err = sys_err(Op::Mount, name, e.error());
                if let Some(m) = e.errmsg() {
                    err = err.with_message(m.to_string());
                }
                Err(err)
            }
        }
    }

    fn mkdir_p(p: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(p)
    }

    pub(super) fn unmount(name: &DatasetName, force: bool) -> Result<()> {
        let Some(at) = mounted_at(name)? else {
            return Err(Error::new(
                Op::Unmount,
                name.as_str(),
                ErrorKind::NotMounted,
            ));
        };
        let flags = if force {
            MntFlags::MNT_FORCE
        } else {
            MntFlags::empty()
        };
        nix::mount::unmount(&at, flags).map_err(|e| {
            sys_err(Op::Unmount, name, e).with_message(format!("unmount {}", at.display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On Linux without OpenZFS's kernel module there is no /dev/zfs: a clear error, no panic.
    #[test]
    #[cfg(not(target_os = "freebsd"))]
    fn no_dev_zfs_is_a_clear_error() {
        if std::path::Path::new("/dev/zfs").exists() {
            eprintln!("skipped: /dev/zfs exists on this machine");
            return;
        }
        let e = Lzc::new().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unavailable);
        assert_eq!(e.op, Op::Init);
        assert_eq!(e.errno, Some(libc::ENOENT));
        assert!(e.to_string().contains("/dev/zfs"), "{e}");
        // Twice: a failed init is not cached as success.
        assert_eq!(Lzc::new().unwrap_err().kind, ErrorKind::Unavailable);
    }

    #[test]
    fn errlist_decoding() {
        let snaps = [
            SnapshotName::new("p/a@s").unwrap(),
            SnapshotName::new("p/b@s").unwrap(),
        ];
        let mut l = NvList::new().unwrap();
        l.add_i32("p/b@s", libc::EEXIST).unwrap();
        l.add_i32("N_MORE_ERRORS", 0).unwrap();
        let f = failures(Some(l), &snaps, libc::EEXIST);
        assert_eq!(
            f,
            vec![SnapshotFailure {
                snapshot: "p/b@s".into(),
                kind: ErrorKind::Exists,
                errno: Some(libc::EEXIST)
            }]
        );
        let e = snapshot_error(Op::Snapshot, &snaps, f);
        assert_eq!((e.dataset.as_str(), e.kind), ("p/b@s", ErrorKind::Exists));
        // No errlist: every snapshot carries the return code.
        let f = failures(None, &snaps, libc::EXDEV);
        assert_eq!(f.len(), 2);
        assert!(matches!(
            snapshot_error(Op::Snapshot, &snaps, f).kind,
            ErrorKind::Snapshots(v) if v.len() == 2
        ));
    }

    #[test]
    fn props_become_typed_pairs() {
        let p = Props::new()
            .mountpoint("/j/web")
            .canmount(crate::CanMount::NoAuto)
            .user("thinjail:role", "jail")
            .unwrap();
        let l = props_nvlist(Op::Create, "p/a", &p).unwrap().unwrap();
        assert_eq!(
            l.pairs(),
            vec![
                ("mountpoint".into(), NvValue::String("/j/web".into())),
                ("canmount".into(), NvValue::U64(2)),
                ("thinjail:role".into(), NvValue::String("jail".into())),
            ]
        );
        assert!(
            props_nvlist(Op::Create, "p/a", &Props::new())
                .unwrap()
                .is_none()
        );
    }
}
