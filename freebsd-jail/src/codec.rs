//! The codec: parameters to the `struct iovec` pairs `jail_set(2)`/`jail_get(2)` read, and the
//! values `jail_get(2)` writes back to typed results.
//!
//! Encoding (kernel parser `vfs_buildopts`, FreeBSD-FACTS §1.2): each parameter is a name iovec
//! (`iov_len = strlen + 1`, NUL included) followed by a value iovec; strings include their NUL,
//! ints are exactly 4 native bytes, booleans have no value (NULL, 0) and are negated by the `no`
//! name prefix, address arrays are raw `in_addr`/`in6_addr` in network order, and `errmsg` is a
//! 1024-byte buffer the kernel writes its message into.

use std::ffi::CString;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::allow::no_name;
use crate::error::{Error, JailRef, Result};
use crate::flags::JailSys;
use crate::name::{MAXHOSTNAMELEN, MAXPATHLEN, OSRELEASELEN};
use crate::param::{Kind, ParamType, Value};

/// Size of the `errmsg` buffer (libjail's `JAIL_ERRMSGLEN`).
pub const JAIL_ERRMSGLEN: usize = 1024;

/// `VFS_MOUNTARG_SIZE_MAX` (`vfs_mount.c`): the kernel's limit on the total size of all names
/// and values of one `jail_set(2)`/`jail_get(2)`/`nmount(2)` call (`EINVAL` beyond it).
pub const MAX_ARGS_SIZE: usize = 64 * 1024;

/// Elements reserved for address arrays in `jail_get(2)` results: the kernel default of
/// `security.jail.jail_max_af_ips` (255).
pub const MAX_AF_IPS: usize = 255;

/// An owned list of name/value buffers and the `iovec` array that points into them.
///
/// The buffers are heap allocations owned by the list, so the iovecs handed to the kernel stay
/// valid for as long as the list lives; [`IoVecList::with_iovecs`] builds the array from a
/// mutable borrow right before the call and records the lengths the kernel wrote back.
///
/// ```
/// use freebsd_jail::{IoVecList, Value};
/// let mut l = IoVecList::new();
/// l.push("name", &Value::Str("j1".into())).unwrap();
/// l.push("persist", &Value::Bool(true)).unwrap();
/// l.push_errmsg();
/// assert_eq!(l.len(), 3);
/// assert_eq!(l.with_iovecs(|iov| iov.len()), 6);
/// assert_eq!(l.names(), vec!["name", "persist", "errmsg"]);
/// ```
#[derive(Debug, Default)]
pub struct IoVecList {
    names: Vec<CString>,
    values: Vec<Option<Box<[u8]>>>,
    /// Value lengths (the kernel may shorten them on `jail_get(2)`).
    lens: Vec<usize>,
    errmsg: Option<usize>,
}

impl IoVecList {
    /// An empty list.
    pub fn new() -> IoVecList {
        IoVecList::default()
    }

    /// Number of parameters (half the number of iovecs).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    fn push_raw(&mut self, name: &str, value: Option<Vec<u8>>) -> Result<()> {
        if name.is_empty() {
            return Err(Error::invalid("(parameter name)", "must not be empty"));
        }
        let c = CString::new(name)
            .map_err(|_| Error::invalid(name, "parameter name contains a NUL byte"))?;
        self.names.push(c);
        self.lens.push(value.as_ref().map_or(0, Vec::len));
        self.values.push(value.map(Vec::into_boxed_slice));
        Ok(())
    }

    /// Appends a parameter to set. A [`Value::Bool`] is sent as `name` (true) or its `no`
    /// counterpart (false) with no value.
    pub fn push(&mut self, name: &str, value: &Value) -> Result<()> {
        value.check(name)?;
        match value {
            Value::Bool(true) => self.push_raw(name, None),
            Value::Bool(false) => self.push_raw(&no_name(name), None),
            v => self.push_raw(name, v.to_bytes()),
        }
    }

    /// Appends a parameter to read back: a zeroed buffer of `len` bytes for the kernel to fill.
    pub fn push_buffer(&mut self, name: &str, len: usize) -> Result<()> {
        self.push_raw(name, Some(vec![0; len]))
    }

    /// Appends the `errmsg` parameter: a zeroed 1024-byte buffer.
    pub fn push_errmsg(&mut self) {
        self.errmsg = Some(self.names.len());
        self.names.push(c"errmsg".to_owned());
        self.lens.push(JAIL_ERRMSGLEN);
        self.values
            .push(Some(vec![0u8; JAIL_ERRMSGLEN].into_boxed_slice()));
    }

    /// Total bytes of all names (NUL included) and values, as the kernel counts them against
    /// [`MAX_ARGS_SIZE`].
    pub fn wire_size(&self) -> usize {
        self.names
            .iter()
            .map(|n| n.as_bytes_with_nul().len())
            .sum::<usize>()
            + self.lens.iter().sum::<usize>()
    }

    /// Fails with [`Error::Invalid`] if the list exceeds the kernel's [`MAX_ARGS_SIZE`].
    pub fn check_size(&self) -> Result<()> {
        let n = self.wire_size();
        if n > MAX_ARGS_SIZE {
            return Err(Error::invalid(
                "(all parameters)",
                format!("{n} bytes exceed the kernel's limit of {MAX_ARGS_SIZE}"),
            ));
        }
        Ok(())
    }

    /// The parameter names, in order (booleans under the name actually sent).
    pub fn names(&self) -> Vec<&str> {
        self.names
            .iter()
            .map(|c| c.to_str().unwrap_or(""))
            .collect()
    }

    /// Builds the iovec array (`2 * len()` entries) and passes it to `f`, e.g. to call
    /// `jail_set(iov.as_mut_ptr(), iov.len() as u32, flags)`. Afterwards the value lengths are
    /// updated from the array (the kernel rewrites `iov_len` on `jail_get(2)`); lengths larger
    /// than the buffer are ignored.
    pub fn with_iovecs<R>(&mut self, f: impl FnOnce(&mut [libc::iovec]) -> R) -> R {
        if let Some(i) = self.errmsg {
            // The kernel leaves errmsg untouched on success: clear it before each call.
            if let Some(Some(b)) = self.values.get_mut(i) {
                b.fill(0);
            }
            self.lens[i] = JAIL_ERRMSGLEN;
        }
        let mut iov: Vec<libc::iovec> = Vec::with_capacity(2 * self.names.len());
        for ((name, value), len) in self
            .names
            .iter()
            .zip(self.values.iter_mut())
            .zip(self.lens.iter())
        {
            let n = name.as_bytes_with_nul();
            iov.push(libc::iovec {
                iov_base: n.as_ptr() as *mut libc::c_void,
                iov_len: n.len(),
            });
            iov.push(match value {
                Some(b) => libc::iovec {
                    iov_base: b.as_mut_ptr().cast(),
                    iov_len: (*len).min(b.len()),
                },
                None => libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                },
            });
        }
        let r = f(&mut iov);
        for (i, len) in self.lens.iter_mut().enumerate() {
            let cap = self.values[i].as_ref().map_or(0, |b| b.len());
            let reported = iov[2 * i + 1].iov_len;
            if reported <= cap {
                *len = reported;
            }
        }
        r
    }

    /// The value bytes of parameter `i` (cut to the length last reported), `None` for a
    /// parameter sent without a value.
    pub fn value(&self, i: usize) -> Option<&[u8]> {
        let b = self.values.get(i)?.as_ref()?;
        Some(&b[..self.lens[i].min(b.len())])
    }

    /// The index of the parameter called `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|c| c.as_bytes() == name.as_bytes())
    }

    /// The kernel's error message from the `errmsg` buffer (empty if none was written).
    pub fn errmsg(&self) -> String {
        let Some(Some(b)) = self.errmsg.map(|i| &self.values[i]) else {
            return String::new();
        };
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    }

    /// The name/value pairs as plain bytes (names with their NUL), read through the iovec array
    /// exactly as the kernel would see them.
    pub fn wire_pairs(&mut self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        self.with_iovecs(|iov| {
            iov.chunks_exact(2)
                .map(|p| {
                    // SAFETY: every iov_base was built above from a live buffer of at least
                    // iov_len bytes owned by `self`, or is NULL with length 0.
                    let read = |v: &libc::iovec| unsafe {
                        std::slice::from_raw_parts(v.iov_base as *const u8, v.iov_len).to_vec()
                    };
                    let value = if p[1].iov_base.is_null() {
                        None
                    } else {
                        Some(read(&p[1]))
                    };
                    (read(&p[0]), value)
                })
                .collect()
        })
    }
}

/// How a `jail_get(2)` request names the jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JailKey {
    /// By jid.
    Jid(i32),
    /// By name.
    Name(String),
    /// The first jail with a jid greater than this (0 = the first jail): listing.
    LastJid(i32),
}

impl JailKey {
    /// The jail this key refers to, for errors.
    pub fn jail_ref(&self) -> JailRef {
        match self {
            JailKey::Jid(j) => JailRef::Jid(*j),
            JailKey::Name(n) => JailRef::Name(n.clone()),
            JailKey::LastJid(j) => JailRef::After(*j),
        }
    }
}

impl From<i32> for JailKey {
    fn from(j: i32) -> JailKey {
        JailKey::Jid(j)
    }
}

impl From<&str> for JailKey {
    fn from(n: &str) -> JailKey {
        JailKey::Name(n.to_string())
    }
}

/// A `jail_get(2)` request: the key, the parameters to read back and their buffers.
///
/// ```
/// use freebsd_jail::{GetRequest, JailKey};
/// let mut r = GetRequest::info(JailKey::Name("j1".into())).unwrap();
/// let names = r.iovecs().names();
/// assert_eq!(names[0], "name");          // the key comes first
/// assert_eq!(names.iter().filter(|n| **n == "name").count(), 1);
/// assert_eq!(*names.last().unwrap(), "errmsg");
/// ```
#[derive(Debug)]
pub struct GetRequest {
    key: JailKey,
    params: Vec<(String, ParamType)>,
    list: IoVecList,
}

/// The parameters [`JailInfo`] reads, with their types. All exist on a FreeBSD 14 GENERIC
/// kernel (INET, INET6 and VIMAGE compiled in).
pub fn info_params() -> Vec<(&'static str, ParamType)> {
    let s = |max_len| ParamType::scalar(Kind::Str { max_len });
    let i = ParamType::scalar(Kind::Int);
    vec![
        ("jid", i),
        ("parent", i),
        ("name", s(MAXHOSTNAMELEN)),
        ("path", s(MAXPATHLEN)),
        ("host.hostname", s(MAXHOSTNAMELEN)),
        ("host.domainname", s(MAXHOSTNAMELEN)),
        ("vnet", ParamType::scalar(Kind::JailSys)),
        ("persist", ParamType::scalar(Kind::Bool)),
        ("dying", ParamType::scalar(Kind::Bool)),
        ("devfs_ruleset", i),
        ("enforce_statfs", i),
        ("children.max", i),
        ("children.cur", i),
        ("securelevel", i),
        ("osrelease", s(OSRELEASELEN)),
        ("osreldate", i),
        (
            "ip4.addr",
            ParamType {
                kind: Kind::InAddr,
                array: true,
            },
        ),
        (
            "ip6.addr",
            ParamType {
                kind: Kind::In6Addr,
                array: true,
            },
        ),
    ]
}

impl GetRequest {
    /// A request for `params` of the jail `key`. Each parameter gets a buffer of its type's
    /// size (arrays: [`MAX_AF_IPS`] elements; strings: the type's `max_len`, or `MAXPATHLEN`
    /// if 0). A parameter named like the key is read from the key's own buffer.
    pub fn new(key: JailKey, params: &[(&str, ParamType)]) -> Result<GetRequest> {
        let mut list = IoVecList::new();
        let key_name = match &key {
            JailKey::Jid(j) => {
                list.push("jid", &Value::Int(*j))?;
                "jid"
            }
            JailKey::Name(n) => {
                if n.is_empty() || n.len() >= MAXHOSTNAMELEN {
                    return Err(Error::invalid(
                        "name",
                        format!("{n:?}: must be 1-255 bytes"),
                    ));
                }
                // The kernel writes the name back into this buffer: give it full size.
                let mut b = vec![0u8; MAXHOSTNAMELEN];
                b[..n.len()].copy_from_slice(n.as_bytes());
                list.push_raw("name", Some(b[..].to_vec()))?;
                list.lens[0] = n.len() + 1;
                "name"
            }
            JailKey::LastJid(j) => {
                list.push("lastjid", &Value::Int(*j))?;
                "lastjid"
            }
        };
        let mut out = Vec::new();
        for (name, ty) in params {
            out.push((name.to_string(), *ty));
            if *name == key_name {
                continue;
            }
            let len = match ty.kind {
                Kind::Str { max_len: 0 } => MAXPATHLEN,
                Kind::InAddr | Kind::In6Addr => ty.elem_len() * MAX_AF_IPS,
                _ if ty.array => ty.elem_len() * MAX_AF_IPS,
                _ => ty.elem_len(),
            };
            list.push_buffer(name, len)?;
        }
        list.push_errmsg();
        list.check_size()?;
        Ok(GetRequest {
            key,
            params: out,
            list,
        })
    }

    /// The request [`JailInfo`] is decoded from.
    pub fn info(key: JailKey) -> Result<GetRequest> {
        GetRequest::new(key, &info_params())
    }

    /// The key.
    pub fn key(&self) -> &JailKey {
        &self.key
    }

    /// The iovec list to hand to `jail_get(2)`.
    pub fn iovecs(&mut self) -> &mut IoVecList {
        &mut self.list
    }

    /// The requested parameter names (for error messages).
    pub fn names(&self) -> Vec<&str> {
        self.params.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Decodes the values the kernel wrote, in request order.
    pub fn decode(&self) -> Result<Vec<(String, Value)>> {
        self.params
            .iter()
            .map(|(name, ty)| {
                let i = self
                    .list
                    .position(name)
                    .ok_or_else(|| Error::invalid(name, "not in the request"))?;
                let bytes = self.list.value(i).unwrap_or(&[]);
                Ok((name.clone(), ty.decode(name, bytes)?))
            })
            .collect()
    }
}

/// One jail's parameters, as `jail_get(2)` reports them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JailInfo {
    /// `jid`.
    pub jid: i32,
    /// `parent`: the parent's jid, 0 if the parent is the caller's jail.
    pub parent: i32,
    /// `name`.
    pub name: String,
    /// `path`: the jail root.
    pub path: String,
    /// `host.hostname`.
    pub hostname: String,
    /// `host.domainname`.
    pub domainname: String,
    /// `vnet`: [`JailSys::New`] for a jail with its own network stack.
    pub vnet: Option<JailSys>,
    /// `persist`.
    pub persist: bool,
    /// `dying`: removed but still holding resources.
    pub dying: bool,
    /// `devfs_ruleset`.
    pub devfs_ruleset: i32,
    /// `enforce_statfs`.
    pub enforce_statfs: i32,
    /// `children.max`.
    pub children_max: i32,
    /// `children.cur`.
    pub children_cur: i32,
    /// `securelevel`.
    pub securelevel: i32,
    /// `osrelease`.
    pub osrelease: String,
    /// `osreldate`.
    pub osreldate: i32,
    /// `ip4.addr` (empty for VNET jails).
    pub ip4_addrs: Vec<Ipv4Addr>,
    /// `ip6.addr` (empty for VNET jails).
    pub ip6_addrs: Vec<Ipv6Addr>,
}

impl JailInfo {
    /// Builds the info from decoded `(name, value)` pairs (see [`info_params`]); parameters
    /// missing from the list keep their default.
    pub fn from_values(values: &[(String, Value)]) -> JailInfo {
        let mut j = JailInfo::default();
        for (name, v) in values {
            match (name.as_str(), v) {
                ("jid", Value::Int(x)) => j.jid = *x,
                ("parent", Value::Int(x)) => j.parent = *x,
                ("name", Value::Str(s)) => j.name = s.clone(),
                ("path", Value::Str(s)) => j.path = s.clone(),
                ("host.hostname", Value::Str(s)) => j.hostname = s.clone(),
                ("host.domainname", Value::Str(s)) => j.domainname = s.clone(),
                ("vnet", Value::JailSys(s)) => j.vnet = Some(*s),
                ("persist", Value::Bool(b)) => j.persist = *b,
                ("dying", Value::Bool(b)) => j.dying = *b,
                ("devfs_ruleset", Value::Int(x)) => j.devfs_ruleset = *x,
                ("enforce_statfs", Value::Int(x)) => j.enforce_statfs = *x,
                ("children.max", Value::Int(x)) => j.children_max = *x,
                ("children.cur", Value::Int(x)) => j.children_cur = *x,
                ("securelevel", Value::Int(x)) => j.securelevel = *x,
                ("osrelease", Value::Str(s)) => j.osrelease = s.clone(),
                ("osreldate", Value::Int(x)) => j.osreldate = *x,
                ("ip4.addr", Value::Ip4(a)) => j.ip4_addrs = a.clone(),
                ("ip6.addr", Value::Ip6(a)) => j.ip6_addrs = a.clone(),
                _ => {}
            }
        }
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Simulates the kernel's `vfs_setopt`: writes `data` into the value iovec of `name` and
    /// sets its length, failing like the kernel if the buffer is too small.
    fn kernel_write(iov: &mut [libc::iovec], name: &str, data: &[u8]) -> bool {
        for p in iov.chunks_exact_mut(2) {
            // SAFETY: the name iovec points at a live NUL-terminated name of iov_len bytes.
            let n = unsafe { std::slice::from_raw_parts(p[0].iov_base as *const u8, p[0].iov_len) };
            if &n[..n.len() - 1] == name.as_bytes() {
                if p[1].iov_len < data.len() {
                    return false;
                }
                // SAFETY: value buffer is live and at least data.len() bytes (checked above).
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        data.as_ptr(),
                        p[1].iov_base as *mut u8,
                        data.len(),
                    )
                };
                p[1].iov_len = data.len();
                return true;
            }
        }
        false
    }

    #[test]
    fn get_request_decodes_kernel_output() {
        let mut r = GetRequest::info(JailKey::Jid(3)).unwrap();
        r.iovecs().with_iovecs(|iov| {
            assert!(kernel_write(iov, "jid", &3i32.to_ne_bytes()));
            assert!(kernel_write(iov, "name", b"j3\0"));
            assert!(kernel_write(iov, "path", b"/jails/j3\0"));
            assert!(kernel_write(iov, "vnet", &1i32.to_ne_bytes()));
            assert!(kernel_write(iov, "persist", &1i32.to_ne_bytes()));
            assert!(kernel_write(iov, "devfs_ruleset", &5i32.to_ne_bytes()));
            assert!(kernel_write(iov, "ip4.addr", &[]));
            assert!(kernel_write(iov, "ip6.addr", &[]));
            assert!(kernel_write(iov, "host.hostname", b"j3.example\0"));
            // A value longer than the buffer is refused, as the kernel does (EINVAL).
            assert!(!kernel_write(iov, "jid", &[0; 8]));
        });
        let info = JailInfo::from_values(&r.decode().unwrap());
        assert_eq!(info.jid, 3);
        assert_eq!(info.name, "j3");
        assert_eq!(info.path, "/jails/j3");
        assert_eq!(info.hostname, "j3.example");
        assert_eq!(info.vnet, Some(JailSys::New));
        assert!(info.persist);
        assert!(!info.dying);
        assert_eq!(info.devfs_ruleset, 5);
        assert!(info.ip4_addrs.is_empty());
    }

    #[test]
    fn name_key_is_not_duplicated_and_reads_back() {
        let mut r = GetRequest::info(JailKey::Name("web".into())).unwrap();
        let pairs = r.iovecs().wire_pairs();
        assert_eq!(pairs[0].0, b"name\0");
        assert_eq!(pairs[0].1.as_deref(), Some(&b"web\0"[..]));
        assert_eq!(pairs.iter().filter(|p| p.0 == b"name\0").count(), 1);
        let info = JailInfo::from_values(&r.decode().unwrap());
        assert_eq!(info.name, "web");
        assert!(GetRequest::info(JailKey::Name(String::new())).is_err());
    }

    #[test]
    fn errmsg_is_cleared_and_read() {
        let mut l = IoVecList::new();
        l.push("jid", &Value::Int(1)).unwrap();
        l.push_errmsg();
        l.with_iovecs(|iov| {
            assert_eq!(iov[3].iov_len, JAIL_ERRMSGLEN);
            assert!(kernel_write(iov, "errmsg", b"jail 1 not found\0"));
        });
        assert_eq!(l.errmsg(), "jail 1 not found");
        l.with_iovecs(|_| ());
        assert_eq!(l.errmsg(), "");
    }

    #[test]
    fn bad_names_are_rejected() {
        let mut l = IoVecList::new();
        assert!(l.push("", &Value::Int(1)).is_err());
        assert!(l.push("a\0b", &Value::Int(1)).is_err());
        assert!(l.push("x", &Value::Str("a\0".into())).is_err());
        assert!(l.is_empty());
    }
}
