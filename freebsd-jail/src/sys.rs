//! The FreeBSD half: the system calls themselves, each a thin wrapper.

use std::ffi::CString;

use crate::allow::Allow;
use crate::builder::JailParams;
use crate::codec::{GetRequest, IoVecList, JailInfo, JailKey, info_params};
use crate::error::{Error, JailRef, Result};
use crate::exec::JailExec;
use crate::flags::JailFlags;
use crate::param::{Described, Kind, ParamType, Value};

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Calls `jail_set(2)` with `list` and `flags`, mapping a failure with the kernel's errmsg.
fn jail_set(list: &mut IoVecList, flags: JailFlags, jail: JailRef) -> Result<i32> {
    list.check_size()?;
    let (rc, err) = list.with_iovecs(|iov| {
        // SAFETY: jail_set(2) reads iov.len() iovecs, each pointing at a live buffer owned by
        // `list` (names NUL-terminated, values of iov_len bytes or NULL/0); it writes only into
        // the errmsg buffer, which is JAIL_ERRMSGLEN bytes long.
        let rc =
            unsafe { libc::jail_set(iov.as_mut_ptr(), iov.len() as libc::c_uint, flags.bits()) };
        (rc, errno())
    });
    if rc >= 0 {
        return Ok(rc);
    }
    let names = list.names();
    let errmsg = list.errmsg();
    Err(Error::from_kernel("jail_set", jail, err, &errmsg, &names))
}

/// Calls `jail_get(2)` for `req`.
fn jail_get(req: &mut GetRequest, flags: JailFlags) -> Result<i32> {
    let jail = req.key().jail_ref();
    let (rc, err) = req.iovecs().with_iovecs(|iov| {
        // SAFETY: jail_get(2) reads iov.len() iovecs pointing at live buffers owned by the
        // request and writes at most iov_len bytes into each value buffer (the kernel refuses
        // with EINVAL rather than overflow), updating iov_len in our array.
        let rc =
            unsafe { libc::jail_get(iov.as_mut_ptr(), iov.len() as libc::c_uint, flags.bits()) };
        (rc, errno())
    });
    if rc >= 0 {
        return Ok(rc);
    }
    let errmsg = req.iovecs().errmsg();
    let names = req.names();
    Err(Error::from_kernel("jail_get", jail, err, &errmsg, &names))
}

/// A jail: its jid and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jail {
    jid: i32,
    name: String,
}

impl Jail {
    /// A handle for an existing jail, without checking it exists.
    pub fn from_parts(jid: i32, name: impl Into<String>) -> Jail {
        Jail {
            jid,
            name: name.into(),
        }
    }

    /// Looks up a live jail by jid or name (`jail_get(2)`).
    pub fn find(key: impl Into<JailKey>) -> Result<Jail> {
        let info = get(key)?;
        Ok(Jail {
            jid: info.jid,
            name: info.name,
        })
    }

    /// The jid.
    pub fn jid(&self) -> i32 {
        self.jid
    }

    /// The name (the kernel uses the jid as name for unnamed jails).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// All parameters of this jail (`jail_get(2)`).
    pub fn info(&self) -> Result<JailInfo> {
        get(self.jid)
    }

    /// Changes parameters of this jail (`jail_set(2)` with `JAIL_UPDATE`, keyed by jid).
    /// `params` must not carry a jid or name of another jail.
    pub fn update(&self, params: &JailParams) -> Result<()> {
        if params.jid().is_some_and(|j| j != self.jid) {
            return Err(Error::invalid("jid", "differs from the jail being updated"));
        }
        let mut list = IoVecList::new();
        list.push("jid", &Value::Int(self.jid))?;
        for (n, v) in params.params() {
            if n != "jid" {
                list.push(n, v)?;
            }
        }
        list.push_errmsg();
        check_update_list(&list)?;
        jail_set(&mut list, JailFlags::UPDATE, JailRef::Jid(self.jid)).map(|_| ())
    }

    /// A [`JailExec`] for running commands in this jail, its root read from the kernel
    /// (`jail_get(2)` of `path`).
    pub fn exec(&self) -> Result<JailExec> {
        Ok(JailExec::new(self.jid, self.info()?.path))
    }

    /// Attaches the calling process to this jail (`jail_attach(2)`). See [`attach`].
    pub fn attach(&self) -> Result<()> {
        attach(self.jid)
    }

    /// Removes the jail, killing its processes (`jail_remove(2)`).
    pub fn remove(self) -> Result<()> {
        remove(self.jid)
    }
}

fn check_update_list(list: &IoVecList) -> Result<()> {
    for n in list.names() {
        if ["path", "vnet", "osrelease", "osreldate"].contains(&n) {
            return Err(Error::invalid(n, "cannot be changed after creation"));
        }
    }
    Ok(())
}

fn created(params: &JailParams, jid: i32) -> Jail {
    Jail {
        jid,
        name: params
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|| jid.to_string()),
    }
}

/// Creates a persistent jail (`jail_set(2)` with `JAIL_CREATE`); `persist` is added if not
/// given. Returns the new jail.
///
/// Errors: [`Error::Exists`] if the jid or name is taken by a live jail,
/// [`Error::Permission`] (not root, or `prison limit exceeded`), [`Error::InvalidParameter`]
/// naming the parameter the kernel rejected.
pub fn create(params: &JailParams) -> Result<Jail> {
    let mut list = params.to_create_iovecs(false)?;
    let jid = jail_set(&mut list, JailFlags::CREATE, params.jail_ref())?;
    Ok(created(params, jid))
}

/// Creates a jail and attaches the **calling process** to it (`JAIL_CREATE | JAIL_ATTACH`).
///
/// Attaching changes the credentials of the whole process and chroots it, so only use this in
/// a process that is about to run inside the jail (typically a forked child); to run a command
/// in a jail from a multithreaded program use [`create`] and
/// [`JailCommandExt`](crate::JailCommandExt).
pub fn create_and_attach(params: &JailParams) -> Result<Jail> {
    let mut list = params.to_create_iovecs(true)?;
    let jid = jail_set(
        &mut list,
        JailFlags::CREATE | JailFlags::ATTACH,
        params.jail_ref(),
    )?;
    Ok(created(params, jid))
}

/// Updates an existing jail named by the jid or name in `params` (`JAIL_UPDATE`).
pub fn update(params: &JailParams) -> Result<Jail> {
    let mut list = params.to_update_iovecs()?;
    let jid = jail_set(&mut list, JailFlags::UPDATE, params.jail_ref())?;
    Ok(created(params, jid))
}

/// Calls `jail_set(2)` with explicit flags (e.g. `CREATE | UPDATE` for create-or-update), the
/// parameters exactly as given. Returns the jid.
pub fn set(params: &JailParams, flags: JailFlags) -> Result<i32> {
    let mut list = params.to_iovecs()?;
    jail_set(&mut list, flags, params.jail_ref())
}

/// Reads one live jail's parameters by jid or name (`jail_get(2)`).
///
/// Parameters the running kernel does not know (e.g. `vnet` without `options VIMAGE`) are left
/// at their defaults.
pub fn get(key: impl Into<JailKey>) -> Result<JailInfo> {
    get_info(key.into(), JailFlags::empty()).map(|(_, i)| i)
}

/// Like [`get`], also finding jails that are being removed (`JAIL_DYING`).
pub fn get_dying(key: impl Into<JailKey>) -> Result<JailInfo> {
    get_info(key.into(), JailFlags::DYING).map(|(_, i)| i)
}

fn get_info(key: JailKey, flags: JailFlags) -> Result<(i32, JailInfo)> {
    let mut params = info_params();
    loop {
        let mut req = GetRequest::new(key.clone(), &params)?;
        match jail_get(&mut req, flags) {
            Ok(jid) => return Ok((jid, JailInfo::from_values(&req.decode()?))),
            // A kernel without INET6/VIMAGE does not know some of the parameters: drop the one
            // it names and ask again.
            Err(Error::InvalidParameter {
                param: Some(p),
                errmsg,
                ..
            }) if errmsg.starts_with("unknown parameter")
                && p != "jid"
                && params.iter().any(|(n, _)| *n == p) =>
            {
                params.retain(|(n, _)| *n != p);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Reads arbitrary parameters of a jail (`jail_get(2)`), typed by `params` (see
/// [`param_type`]). Returns the jid and the values in request order.
pub fn get_params(
    key: impl Into<JailKey>,
    params: &[(&str, ParamType)],
    flags: JailFlags,
) -> Result<(i32, Vec<(String, Value)>)> {
    let mut req = GetRequest::new(key.into(), params)?;
    let jid = jail_get(&mut req, flags & JailFlags::GET_MASK)?;
    Ok((jid, req.decode()?))
}

/// Reads which of the `which` permissions a jail has (`jail_get(2)` of each `allow.*`
/// parameter). Ask only for flags the running kernel knows (see [`Allow`]).
pub fn get_allow(key: impl Into<JailKey>, which: Allow) -> Result<Allow> {
    let bool_t = ParamType::scalar(Kind::Bool);
    let params: Vec<(&str, ParamType)> = which
        .param_names()
        .into_iter()
        .map(|n| (n, bool_t))
        .collect();
    let (_, values) = get_params(key, &params, JailFlags::empty())?;
    Ok(Allow::from_values(&values))
}

/// Iterator over all jails visible to the caller, in jid order, using `lastjid`.
///
/// Each item is a `Result`: an error is yielded (never swallowed) and ends the iteration, since
/// the kernel does not say which jail it failed on.
///
/// ```no_run
/// for j in freebsd_jail::jails() {
///     let j = j?;
///     println!("{} {} {}", j.jid, j.name, j.path);
/// }
/// # Ok::<(), freebsd_jail::Error>(())
/// ```
#[derive(Debug)]
pub struct Jails {
    last: i32,
    flags: JailFlags,
    done: bool,
}

/// All live jails ([`Jails`]).
pub fn jails() -> Jails {
    Jails {
        last: 0,
        flags: JailFlags::empty(),
        done: false,
    }
}

/// All jails, including those being removed (`JAIL_DYING`).
pub fn jails_including_dying() -> Jails {
    Jails {
        last: 0,
        flags: JailFlags::DYING,
        done: false,
    }
}

impl Iterator for Jails {
    type Item = Result<JailInfo>;

    fn next(&mut self) -> Option<Result<JailInfo>> {
        if self.done {
            return None;
        }
        match get_info(JailKey::LastJid(self.last), self.flags) {
            Ok((jid, info)) => {
                self.last = jid;
                Some(Ok(info))
            }
            Err(Error::NotFound { errno, .. }) if errno == libc::ENOENT => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl std::iter::FusedIterator for Jails {}

/// Removes the jail `jid`, killing every process in it.
///
/// Wraps `jail_remove(2)`. A jail that is already dying counts as removed (the kernel answers 0);
/// an unknown jid gives [`Error::NotFound`] (the kernel answers `EINVAL`, not `ENOENT`).
#[doc(alias = "jail_remove")]
pub fn remove(jid: i32) -> Result<()> {
    // SAFETY: jail_remove(2) takes a plain int and touches no caller memory.
    let rc = unsafe { libc::jail_remove(jid) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::from_errno("jail_remove", JailRef::Jid(jid), errno()))
    }
}

/// Attaches the calling process to jail `jid` (`jail_attach(2)`): changes the credentials of the
/// **whole process** and chroots and chdirs it to the jail root. In a multithreaded program, do
/// this only in a forked child ([`JailCommandExt`](crate::JailCommandExt) does).
#[doc(alias = "jail_attach")]
pub fn attach(jid: i32) -> Result<()> {
    // SAFETY: jail_attach(2) takes a plain int and touches no caller memory.
    let rc = unsafe { libc::jail_attach(jid) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::from_errno("jail_attach", JailRef::Jid(jid), errno()))
    }
}

/// `sysctl(3)` with a MIB, into `buf`; returns the length written.
fn sysctl_mib(what: &str, mib: &[libc::c_int], buf: Option<&mut [u8]>) -> Result<usize> {
    let (ptr, mut len) = match buf {
        Some(b) => (b.as_mut_ptr(), b.len()),
        None => (std::ptr::null_mut(), 0),
    };
    // SAFETY: sysctl(3) reads mib.len() ints from `mib`; it writes at most `len` bytes to `ptr`
    // (or only reports the size when ptr is NULL) and updates `len`.
    let rc = unsafe {
        libc::sysctl(
            mib.as_ptr(),
            mib.len() as libc::c_uint,
            ptr.cast(),
            &mut len,
            std::ptr::null(),
            0,
        )
    };
    if rc != 0 {
        return Err(Error::Sysctl {
            name: what.to_string(),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(len)
}

/// `sysctl({0, 3})`: name to OID. `Ok(None)` if the name does not exist.
fn name2oid(name: &str) -> Result<Option<Vec<libc::c_int>>> {
    let mut oid = [0 as libc::c_int; libc::CTL_MAXNAME as usize];
    let mut len = std::mem::size_of_val(&oid);
    let mib = [libc::CTL_SYSCTL, libc::CTL_SYSCTL_NAME2OID];
    // SAFETY: sysctl(3) with {CTL_SYSCTL, CTL_SYSCTL_NAME2OID}: reads `name.len()` bytes of the
    // name (new value) and writes at most `len` bytes of OID into `oid`.
    let rc = unsafe {
        libc::sysctl(
            mib.as_ptr(),
            2,
            oid.as_mut_ptr().cast(),
            &mut len,
            name.as_ptr().cast(),
            name.len(),
        )
    };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOENT) {
            return Ok(None);
        }
        return Err(Error::Sysctl {
            name: name.to_string(),
            source: e,
        });
    }
    Ok(Some(
        oid[..len / std::mem::size_of::<libc::c_int>()].to_vec(),
    ))
}

/// `sysctl({0, 4, oid…})`: the OID's kind and format string.
fn oidfmt(name: &str, oid: &[libc::c_int]) -> Result<(u32, String)> {
    let mut mib = vec![libc::CTL_SYSCTL, libc::CTL_SYSCTL_OIDFMT];
    mib.extend_from_slice(oid);
    let mut buf = vec![0u8; 4 + 1024];
    let n = sysctl_mib(name, &mib, Some(&mut buf))?;
    if n < 4 {
        return Err(Error::invalid(name, "short sysctl format"));
    }
    let kind = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let f = &buf[4..n];
    let end = f.iter().position(|&c| c == 0).unwrap_or(f.len());
    Ok((kind, String::from_utf8_lossy(&f[..end]).into_owned()))
}

/// Looks up a jail parameter's type from the kernel, as libjail's `jailparam_type()` does:
/// `security.jail.param.<name>` (or, for `no`-prefixed booleans, the positive name), its kind
/// and format (`sysctl` `{0, 4}`), and for strings the maximum length (the sysctl's value) or for
/// structures their size.
pub fn param_type(name: &str) -> Result<ParamType> {
    let unknown = || Error::invalid(name, "unknown parameter (no security.jail.param sysctl)");
    // libjail jail.c `jailparam_type`: look the name up; failing that it may be the `no`
    // counterpart of a boolean, so look up the positive name and go on with it (JP_NOBOOL) —
    // through the node case below too, since `allow.nomount`'s positive `allow.mount` is a node.
    let (lookup, nobool, mut oid) = match name2oid(&format!("security.jail.param.{name}"))? {
        Some(o) => (name.to_string(), false, o),
        None => {
            let (head, last) = match name.rsplit_once('.') {
                Some((h, l)) => (format!("{h}."), l),
                None => (String::new(), name),
            };
            let pos = last
                .strip_prefix("no")
                .map(|p| format!("{head}{p}"))
                .ok_or_else(unknown)?;
            let o = name2oid(&format!("security.jail.param.{pos}"))?.ok_or_else(unknown)?;
            (pos, true, o)
        }
    };
    let full = format!("security.jail.param.{lookup}");
    // A node leads to its describing child once; a second node is not a parameter.
    for _ in 0..2 {
        let (kind, fmt) = oidfmt(&full, &oid)?;
        match ParamType::from_sysctl_format(kind, &fmt)? {
            Described::Type(t) if nobool => {
                return if t.kind == Kind::Bool && !t.array {
                    Ok(ParamType::scalar(Kind::NoBool))
                } else {
                    Err(unknown())
                };
            }
            Described::Type(mut t) => {
                match &mut t.kind {
                    Kind::Str { max_len } => {
                        let mut buf = [0u8; 32];
                        let n = sysctl_mib(&full, &oid, Some(&mut buf))?;
                        let end = buf[..n].iter().position(|&c| c == 0).unwrap_or(n);
                        *max_len = std::str::from_utf8(&buf[..end])
                            .ok()
                            .and_then(|s| s.trim().parse().ok())
                            .ok_or_else(|| Error::invalid(name, "bad string length sysctl"))?;
                    }
                    Kind::Opaque { len } => *len = sysctl_mib(&full, &oid, None)?,
                    _ => {}
                }
                return Ok(t);
            }
            Described::Node => {
                // jailparam_type's CTLTYPE_NODE case: "a node might be described by an
                // empty-named child, which would be immediately before or after the node
                // itself" — the node's OID plus one more component, its last one minus or plus
                // one, whose name is the node's with a trailing '.'.
                let last = *oid.last().ok_or_else(unknown)?;
                let want = format!("{full}.");
                let mut found = None;
                for step in [-1, 1] {
                    let mut child = oid.clone();
                    child.push(last + step);
                    let mut mib = vec![libc::CTL_SYSCTL, libc::CTL_SYSCTL_NAME];
                    mib.extend_from_slice(&child);
                    let mut buf = vec![0u8; 1024];
                    let n = match sysctl_mib(&full, &mib, Some(&mut buf)) {
                        Ok(n) => n,
                        Err(Error::Sysctl { source, .. })
                            if source.raw_os_error() == Some(libc::ENOENT) =>
                        {
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    let got = buf[..n].strip_suffix(&[0]).unwrap_or(&buf[..n]);
                    if got == want.as_bytes() {
                        found = Some(child);
                        break;
                    }
                }
                oid = found.ok_or_else(unknown)?;
            }
        }
    }
    Err(unknown())
}

/// Converts a textual value (as in `jail.conf(5)`) for parameter `name` into a [`Value`] of the
/// type the kernel declares for it ([`param_type`] + [`ParamType::parse_value`]).
pub fn param_from_text(name: &str, text: &str) -> Result<Value> {
    param_type(name)?.parse_value(name, text)
}

/// Reads an `int` sysctl by name; `Ok(None)` if it does not exist.
pub(crate) fn sysctl_int(name: &str) -> Result<Option<i32>> {
    let c = CString::new(name).map_err(|_| Error::invalid(name, "NUL in sysctl name"))?;
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>();
    // SAFETY: sysctlbyname(3) reads the NUL-terminated name and writes at most `len` (4) bytes
    // into `v`.
    let rc = unsafe {
        libc::sysctlbyname(
            c.as_ptr(),
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
            std::ptr::null(),
            0,
        )
    };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOENT) {
            return Ok(None);
        }
        return Err(Error::Sysctl {
            name: name.to_string(),
            source: e,
        });
    }
    if len != std::mem::size_of::<libc::c_int>() {
        return Err(Error::Sysctl {
            name: name.to_string(),
            source: std::io::Error::other(format!("expected 4 bytes, got {len}")),
        });
    }
    Ok(Some(v))
}
