//! Configuration inside a jail's vnet: a prepared, fully pre-encoded list of operations that a
//! forked child runs after `jail_attach(2)`, and the fixed-size result records it sends back.
//!
//! Why a child: a socket belongs to the vnet of the process that creates it, and every ioctl on it
//! runs in that vnet (FREEBSD-FACTS §3.8). To bring up `lo0`, put an address on the jail side of
//! the epair or add the jail's default route, a process must be *inside* the jail when it opens
//! its sockets. The parent forks; the child attaches, opens sockets and performs the list.
//!
//! Why pre-encoded: after `fork(2)` in a multi-threaded program only async-signal-safe calls are
//! allowed — no allocation. So everything the child needs (every `ifreq`, `in_aliasreq`, routing
//! message…) is encoded into one byte buffer before the fork; the child only walks it with
//! [`RawOps`] (no allocation) and makes system calls.
//!
//! Encoding (portable, tested on every OS): a sequence of records, each
//! `kind: u8, 0: u8, len: u16 (little-endian), payload[len]`, zero-padded to a multiple of 8.
//! The payload is the exact struct the kernel takes (see [`OpKind`]). Results: one 8-byte
//! record per executed step, `index: u32 LE, errno: i32 LE` (0 = success); the child stops at
//! the first failure. The first record is always the `jail_attach` result, with index
//! [`ATTACH_INDEX`], so even an empty list proves the child got into the jail.

use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::{Error, Op};
use crate::name::IfName;
use crate::route::{Family, MAX_ROUTE_MSG, RouteAction, RouteMessage};
use crate::wire::{IFNAMSIZ, IfReq, In6AliasReq, In6IfReq, InAliasReq, RtMsghdr, SockaddrIn, Wire};

/// The record kinds of the encoded operation list, and the payload each carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OpKind {
    /// `struct ifreq`: `SIOCGIFFLAGS`, set `IFF_UP`, `SIOCSIFFLAGS`.
    Up = 1,
    /// `struct ifreq`: `SIOCGIFFLAGS`, clear `IFF_UP`, `SIOCSIFFLAGS`.
    Down = 2,
    /// `struct in_aliasreq`: `SIOCAIFADDR` on an `AF_INET` socket.
    AddInet = 3,
    /// `struct ifreq` with `ifr_addr`: `SIOCDIFADDR` on an `AF_INET` socket.
    DeleteInet = 4,
    /// `struct in6_aliasreq`: `SIOCAIFADDR_IN6` on an `AF_INET6` socket.
    AddInet6 = 5,
    /// `struct in6_ifreq`: `SIOCDIFADDR_IN6` on an `AF_INET6` socket.
    DeleteInet6 = 6,
    /// A routing message: `write(2)` to a `PF_ROUTE` socket.
    Route = 7,
    /// `struct ifreq` + `char[16]` new name: `SIOCSIFNAME` (`ifr_data` -> the new name).
    Rename = 8,
}

impl OpKind {
    /// The kind for a record byte.
    pub fn from_u8(b: u8) -> Option<OpKind> {
        Some(match b {
            1 => OpKind::Up,
            2 => OpKind::Down,
            3 => OpKind::AddInet,
            4 => OpKind::DeleteInet,
            5 => OpKind::AddInet6,
            6 => OpKind::DeleteInet6,
            7 => OpKind::Route,
            8 => OpKind::Rename,
            _ => return None,
        })
    }

    /// Whether `len` is a valid payload length for this kind.
    pub fn valid_len(self, len: usize) -> bool {
        match self {
            OpKind::Up | OpKind::Down | OpKind::DeleteInet => len == size_of::<IfReq>(),
            OpKind::AddInet => len == size_of::<InAliasReq>(),
            OpKind::AddInet6 => len == size_of::<In6AliasReq>(),
            OpKind::DeleteInet6 => len == size_of::<In6IfReq>(),
            OpKind::Route => (size_of::<RtMsghdr>()..=MAX_ROUTE_MSG).contains(&len),
            OpKind::Rename => len == size_of::<IfReq>() + IFNAMSIZ,
        }
    }
}

/// Size of the record header (`kind, 0, len`).
pub const RECORD_HEADER: usize = 4;
/// Size of one result record.
pub const RESULT_SIZE: usize = 8;
/// The result index that reports a failed `jail_attach(2)`.
pub const ATTACH_INDEX: u32 = u32::MAX;

/// One operation to perform inside the jail, in typed form (kept by the parent to name the
/// interface in errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JailOp {
    /// `ifconfig <if> up`.
    Up(IfName),
    /// `ifconfig <if> down`.
    Down(IfName),
    /// `ifconfig <if> inet <addr>/<prefix> alias`.
    AddInet(IfName, Ipv4Net),
    /// `ifconfig <if> inet <addr> -alias`.
    DeleteInet(IfName, Ipv4Addr),
    /// `ifconfig <if> inet6 <addr>/<prefix> alias`.
    AddInet6(IfName, Ipv6Net),
    /// `ifconfig <if> inet6 <addr> -alias`.
    DeleteInet6(IfName, Ipv6Addr),
    /// `route add default <gateway>`.
    AddDefaultRoute(IpAddr),
    /// `route delete default <gateway>`.
    DeleteDefaultRoute(IpAddr),
    /// `route [-6] delete default` (whatever the gateway).
    DeleteDefault(Family),
    /// `ifconfig <if> name <new>` (e.g. the epair's b side becomes `eth0` inside the jail).
    Rename(IfName, IfName),
}

impl JailOp {
    /// The kind and payload bytes the child will use.
    pub fn encode_payload(&self, seq: i32) -> (OpKind, Vec<u8>) {
        match self {
            JailOp::Up(n) => (OpKind::Up, IfReq::named(n).as_bytes().to_vec()),
            JailOp::Down(n) => (OpKind::Down, IfReq::named(n).as_bytes().to_vec()),
            JailOp::AddInet(n, net) => (
                OpKind::AddInet,
                InAliasReq::new(n, net.addr(), net.prefix_len())
                    .as_bytes()
                    .to_vec(),
            ),
            JailOp::DeleteInet(n, a) => {
                let mut r = IfReq::named(n);
                r.set_addr(SockaddrIn::new(*a));
                (OpKind::DeleteInet, r.as_bytes().to_vec())
            }
            JailOp::AddInet6(n, net) => (
                OpKind::AddInet6,
                In6AliasReq::new(n, net.addr(), net.prefix_len())
                    .as_bytes()
                    .to_vec(),
            ),
            JailOp::DeleteInet6(n, a) => (
                OpKind::DeleteInet6,
                In6IfReq::new(n, *a).as_bytes().to_vec(),
            ),
            JailOp::AddDefaultRoute(gw) => (
                OpKind::Route,
                RouteMessage::default_route(RouteAction::Add, *gw, seq).encode(),
            ),
            JailOp::DeleteDefaultRoute(gw) => (
                OpKind::Route,
                RouteMessage::default_route(RouteAction::Delete, *gw, seq).encode(),
            ),
            JailOp::DeleteDefault(family) => (
                OpKind::Route,
                RouteMessage::delete_default(*family, seq).encode(),
            ),
            JailOp::Rename(from, to) => {
                let mut b = IfReq::named(from).as_bytes().to_vec();
                b.extend_from_slice(&to.to_c_array());
                (OpKind::Rename, b)
            }
        }
    }

    /// The typed error for this step failing with `errno`.
    pub fn error(&self, errno: i32) -> Error {
        match self {
            JailOp::Up(n) | JailOp::Down(n) => {
                Error::from_errno(Op::SetFlags, n.as_str(), "", errno)
            }
            JailOp::AddInet(n, net) => {
                Error::from_errno(Op::AddAddress, n.as_str(), &net.to_string(), errno)
            }
            JailOp::DeleteInet(n, a) => {
                Error::from_errno(Op::DeleteAddress, n.as_str(), &a.to_string(), errno)
            }
            JailOp::AddInet6(n, net) => {
                Error::from_errno(Op::AddAddress, n.as_str(), &net.to_string(), errno)
            }
            JailOp::DeleteInet6(n, a) => {
                Error::from_errno(Op::DeleteAddress, n.as_str(), &a.to_string(), errno)
            }
            JailOp::AddDefaultRoute(gw) => {
                Error::route(Op::AddRoute, &format!("default via {gw}"), errno)
            }
            JailOp::DeleteDefaultRoute(gw) => {
                Error::route(Op::DeleteRoute, &format!("default via {gw}"), errno)
            }
            JailOp::DeleteDefault(Family::Inet) => Error::route(Op::DeleteRoute, "default", errno),
            JailOp::DeleteDefault(Family::Inet6) => {
                Error::route(Op::DeleteRoute, "-6 default", errno)
            }
            JailOp::Rename(from, to) => match errno {
                libc::EEXIST => Error::Exists {
                    name: to.to_string(),
                    op: Op::Rename,
                },
                e => Error::from_errno(Op::Rename, from.as_str(), "", e),
            },
        }
    }
}

impl std::fmt::Display for JailOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JailOp::Up(n) => write!(f, "ifconfig {n} up"),
            JailOp::Down(n) => write!(f, "ifconfig {n} down"),
            JailOp::AddInet(n, a) => write!(f, "ifconfig {n} inet {a} alias"),
            JailOp::DeleteInet(n, a) => write!(f, "ifconfig {n} inet {a} -alias"),
            JailOp::AddInet6(n, a) => write!(f, "ifconfig {n} inet6 {a} alias"),
            JailOp::DeleteInet6(n, a) => write!(f, "ifconfig {n} inet6 {a} -alias"),
            JailOp::AddDefaultRoute(g) => write!(f, "route add default {g}"),
            JailOp::DeleteDefaultRoute(g) => write!(f, "route delete default {g}"),
            JailOp::DeleteDefault(Family::Inet) => write!(f, "route delete default"),
            JailOp::DeleteDefault(Family::Inet6) => write!(f, "route -6 delete default"),
            JailOp::Rename(a, b) => write!(f, "ifconfig {a} name {b}"),
        }
    }
}

/// A prepared list of in-jail operations: the typed list and its encoding, built together.
///
/// ```
/// use freebsd_netif::{IfName, jailops::JailOps};
/// let b = IfName::new("epair0b").unwrap();
/// let mut ops = JailOps::new();
/// ops.loopback()
///     .up(&b)
///     .add_address(&b, "10.0.0.2/24".parse().unwrap())
///     .default_route("10.0.0.1".parse().unwrap())
///     .unwrap();
/// assert_eq!(ops.ops().len(), 5);
/// assert_eq!(ops.encoded().len() % 8, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JailOps {
    ops: Vec<JailOp>,
    encoded: Vec<u8>,
}

impl JailOps {
    /// An empty list.
    pub fn new() -> JailOps {
        JailOps::default()
    }

    /// Appends `op`. Rejects (before anything runs) what cannot be encoded: a link-local IPv6
    /// gateway (it needs an interface scope, which this list does not carry).
    pub fn push(&mut self, op: JailOp) -> Result<&mut JailOps, Error> {
        if let JailOp::AddDefaultRoute(IpAddr::V6(g)) | JailOp::DeleteDefaultRoute(IpAddr::V6(g)) =
            &op
            && g.is_unicast_link_local()
        {
            return Err(Error::InvalidInput {
                what: format!("default route via {g}"),
                reason: "a link-local gateway needs an interface scope; use a global address"
                    .into(),
            });
        }
        let (kind, payload) = op.encode_payload(self.ops.len() as i32 + 1);
        debug_assert!(kind.valid_len(payload.len()));
        self.encoded.push(kind as u8);
        self.encoded.push(0);
        self.encoded
            .extend_from_slice(&(payload.len() as u16).to_le_bytes());
        self.encoded.extend_from_slice(&payload);
        let padded = self.encoded.len().div_ceil(8) * 8;
        self.encoded.resize(padded, 0);
        self.ops.push(op);
        Ok(self)
    }

    /// `lo0` up with `127.0.0.1/8` (what `/etc/rc.d/netif` would do for `lo0`).
    pub fn loopback(&mut self) -> &mut JailOps {
        let lo0 = IfName::literal("lo0");
        self.push_infallible(JailOp::Up(lo0.clone()));
        self.push_infallible(JailOp::AddInet(
            lo0,
            Ipv4Net::new(Ipv4Addr::LOCALHOST, 8).unwrap_or_default(),
        ));
        self
    }

    /// `ifconfig <name> up`.
    pub fn up(&mut self, name: &IfName) -> &mut JailOps {
        self.push_infallible(JailOp::Up(name.clone()))
    }

    /// Adds an IPv4 or IPv6 address.
    pub fn add_address(&mut self, name: &IfName, addr: IpNet) -> &mut JailOps {
        self.push_infallible(match addr {
            IpNet::V4(a) => JailOp::AddInet(name.clone(), a),
            IpNet::V6(a) => JailOp::AddInet6(name.clone(), a),
        })
    }

    /// `route add default <gateway>`; the only builder step that can fail (link-local IPv6).
    pub fn default_route(&mut self, gateway: IpAddr) -> Result<&mut JailOps, Error> {
        self.push(JailOp::AddDefaultRoute(gateway))
    }

    /// `ifconfig <name> inet|inet6 <addr> -alias`.
    pub fn delete_address(&mut self, name: &IfName, addr: IpAddr) -> &mut JailOps {
        self.push_infallible(match addr {
            IpAddr::V4(a) => JailOp::DeleteInet(name.clone(), a),
            IpAddr::V6(a) => JailOp::DeleteInet6(name.clone(), a),
        })
    }

    /// `route [-6] delete default`, whatever the gateway (see [`RouteMessage::delete_default`]).
    pub fn delete_default_route(&mut self, family: Family) -> &mut JailOps {
        self.push_infallible(JailOp::DeleteDefault(family))
    }

    fn push_infallible(&mut self, op: JailOp) -> &mut JailOps {
        // Only default routes can be rejected by `push`.
        let _ = self.push(op);
        self
    }

    /// The typed operations, in order.
    pub fn ops(&self) -> &[JailOp] {
        &self.ops
    }

    /// The encoded list the child walks.
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }

    /// Whether `records` already holds the child's full report: the successful `jail_attach`
    /// record and one success record per step, or a failure record (a step's errno, or a failed
    /// attach). The parent stops reading there instead of waiting for EOF.
    pub fn report_complete(&self, records: &[u8]) -> bool {
        let mut ok = 0;
        for r in records.chunks_exact(RESULT_SIZE) {
            match OpResult::decode(r) {
                Some(r) if r.errno == 0 => ok += 1,
                _ => return true,
            }
        }
        // The attach record, then one per step.
        ok > self.ops.len()
    }

    /// Turns the child's result records into the outcome: `Ok(())` when the attach record and
    /// every step reported success, [`Error::Attach`] when `jail_attach` failed, the typed error
    /// of the first failed step ([`Error::InJail`]), or [`Error::Child`] when the report is short
    /// or malformed (the child died; `exit` describes how).
    pub fn interpret(&self, jid: i32, records: &[u8], exit: &str) -> Result<(), Error> {
        let mut done = 0usize;
        let mut attached = false;
        for r in records.chunks(RESULT_SIZE) {
            let Some(res) = OpResult::decode(r) else {
                return Err(Error::Child {
                    jid,
                    detail: format!("truncated result record ({} bytes); {exit}", r.len()),
                });
            };
            if res.index == ATTACH_INDEX {
                if res.errno != 0 {
                    return Err(Error::Attach {
                        jid,
                        source: std::io::Error::from_raw_os_error(res.errno),
                    });
                }
                attached = true;
                continue;
            }
            if !attached {
                return Err(Error::Child {
                    jid,
                    detail: format!("reported a step before jail_attach; {exit}"),
                });
            }
            let index = res.index as usize;
            let Some(op) = self.ops.get(index) else {
                return Err(Error::Child {
                    jid,
                    detail: format!("reported unknown step {index}; {exit}"),
                });
            };
            if res.errno != 0 {
                return Err(Error::InJail {
                    jid,
                    index,
                    source: Box::new(op.error(res.errno)),
                });
            }
            done += 1;
        }
        if !attached {
            Err(Error::Child {
                jid,
                detail: format!("did not report jail_attach; {exit}"),
            })
        } else if done == self.ops.len() {
            Ok(())
        } else {
            Err(Error::Child {
                jid,
                detail: format!("reported {done} of {} steps; {exit}", self.ops.len()),
            })
        }
    }
}

/// The sockets the child opens (once each, inside the jail's vnet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockKind {
    /// `socket(AF_INET, SOCK_DGRAM, 0)`: ifnet ioctls and IPv4 addresses.
    Inet = 0,
    /// `socket(AF_INET6, SOCK_DGRAM, 0)`: IPv6 addresses.
    Inet6 = 1,
    /// `socket(PF_ROUTE, SOCK_RAW, 0)`: routing messages.
    Route = 2,
}

/// The system calls the in-jail child makes. The FreeBSD implementation calls libc; tests use a
/// recording fake, which lets the child's logic — and its freedom from allocation — be checked
/// on any OS. Errors are raw errno values.
pub trait ChildSys {
    /// `jail_attach(2)`.
    fn jail_attach(&mut self, jid: i32) -> Result<(), i32>;
    /// `socket(2)` of the given kind; returns the descriptor.
    fn socket(&mut self, kind: SockKind) -> Result<i32, i32>;
    /// `ioctl(2)` with a pointer to `arg` (`req` encodes `size_of::<T>()`).
    fn ioctl<T: Wire>(&mut self, fd: i32, req: u32, arg: &mut T) -> Result<(), i32>;
    /// `write(2)` of `bytes` (a routing message).
    fn write(&mut self, fd: i32, bytes: &[u8]) -> Result<(), i32>;
    /// Sends one result record to the parent (`write(2)` on the pipe).
    fn report(&mut self, record: [u8; RESULT_SIZE]);
}

/// Everything the forked child does: attach to jail `jid`, then perform each step of `encoded`,
/// reporting `(index, errno)` after each and stopping at the first failure. Returns the exit
/// status (0 when every step succeeded). Allocation-free: it only walks `encoded`, copies payloads
/// into stack values and calls `sys`.
pub fn child_run<S: ChildSys>(sys: &mut S, jid: i32, encoded: &[u8]) -> i32 {
    let attach = sys.jail_attach(jid);
    let errno = attach.err().unwrap_or(0);
    sys.report(
        OpResult {
            index: ATTACH_INDEX,
            errno,
        }
        .encode(),
    );
    if errno != 0 {
        return 1;
    }
    let mut socks = [-1i32; 3];
    for (i, op) in RawOps::new(encoded).enumerate() {
        let errno = match op {
            Ok(op) => match child_step(sys, op.kind, op.payload, &mut socks) {
                Ok(()) => 0,
                Err(e) => e,
            },
            Err(_) => libc::EINVAL,
        };
        sys.report(
            OpResult {
                index: i as u32,
                errno,
            }
            .encode(),
        );
        if errno != 0 {
            return 1;
        }
    }
    0
}

/// The errno [`add_inet_once`] answers when the interface has the address with another
/// prefix. SIOCAIFADDR itself never returns it (in.c `in_aifaddr_ioctl`).
pub const EXISTS_WITH_OTHER_PREFIX: i32 = libc::EADDRINUSE;

/// Adds the IPv4 address of `r` with `SIOCAIFADDR` unless the interface has it already.
///
/// in.c `in_aifaddr_ioctl` does not refuse an address the interface has: it deletes it
/// (`in_difaddr_ioctl` → `in_ifadown(ifa, 1)`, which removes the static routes through it —
/// a jail's default route) and adds it again. So the address is looked up first
/// (`SIOCGIFALIAS`, in.c `in_gifaddr_ioctl`): with the same mask nothing is done; with another
/// mask the add is refused with [`EXISTS_WITH_OTHER_PREFIX`] rather than silently replaced.
/// `ioctl` is called with the request number and the request; nothing here allocates (the
/// in-jail child runs this between fork(2) and _exit(2)).
pub fn add_inet_once(
    mut ioctl: impl FnMut(u32, &mut InAliasReq) -> Result<(), i32>,
    r: &mut InAliasReq,
) -> Result<(), i32> {
    let mut q = *r;
    match ioctl(crate::wire::SIOCGIFALIAS, &mut q) {
        Ok(()) if q.ifra_mask.sin_addr == r.ifra_mask.sin_addr => Ok(()),
        Ok(()) => Err(EXISTS_WITH_OTHER_PREFIX),
        Err(libc::EADDRNOTAVAIL) => ioctl(crate::wire::SIOCAIFADDR, r),
        Err(e) => Err(e),
    }
}

fn child_socket<S: ChildSys>(
    sys: &mut S,
    socks: &mut [i32; 3],
    kind: SockKind,
) -> Result<i32, i32> {
    let slot = &mut socks[kind as usize];
    if *slot < 0 {
        *slot = sys.socket(kind)?;
    }
    Ok(*slot)
}

fn child_step<S: ChildSys>(
    sys: &mut S,
    kind: OpKind,
    payload: &[u8],
    socks: &mut [i32; 3],
) -> Result<(), i32> {
    use crate::wire::{
        IFF_UP, SIOCAIFADDR_IN6, SIOCDIFADDR, SIOCDIFADDR_IN6, SIOCGIFFLAGS, SIOCSIFFLAGS,
        SIOCSIFNAME,
    };
    match kind {
        OpKind::Up | OpKind::Down => {
            let fd = child_socket(sys, socks, SockKind::Inet)?;
            let mut r = IfReq::from_bytes(payload).ok_or(libc::EINVAL)?;
            sys.ioctl(fd, SIOCGIFFLAGS, &mut r)?;
            let f = r.flags();
            r.set_flags(if kind == OpKind::Up {
                f | IFF_UP
            } else {
                f & !IFF_UP
            });
            sys.ioctl(fd, SIOCSIFFLAGS, &mut r)
        }
        OpKind::AddInet => {
            let fd = child_socket(sys, socks, SockKind::Inet)?;
            let mut r = InAliasReq::from_bytes(payload).ok_or(libc::EINVAL)?;
            add_inet_once(|req, r| sys.ioctl(fd, req, r), &mut r)
        }
        OpKind::DeleteInet => {
            let fd = child_socket(sys, socks, SockKind::Inet)?;
            let mut r = IfReq::from_bytes(payload).ok_or(libc::EINVAL)?;
            sys.ioctl(fd, SIOCDIFADDR, &mut r)
        }
        OpKind::AddInet6 => {
            let fd = child_socket(sys, socks, SockKind::Inet6)?;
            let mut r = In6AliasReq::from_bytes(payload).ok_or(libc::EINVAL)?;
            sys.ioctl(fd, SIOCAIFADDR_IN6, &mut r)
        }
        OpKind::DeleteInet6 => {
            let fd = child_socket(sys, socks, SockKind::Inet6)?;
            let mut r = In6IfReq::from_bytes(payload).ok_or(libc::EINVAL)?;
            sys.ioctl(fd, SIOCDIFADDR_IN6, &mut r)
        }
        OpKind::Route => {
            let fd = child_socket(sys, socks, SockKind::Route)?;
            sys.write(fd, payload)
        }
        OpKind::Rename => {
            let fd = child_socket(sys, socks, SockKind::Inet)?;
            let (req, new) = payload
                .split_at_checked(size_of::<IfReq>())
                .ok_or(libc::EINVAL)?;
            let mut r = IfReq::from_bytes(req).ok_or(libc::EINVAL)?;
            let mut newname = [0u8; IFNAMSIZ];
            if new.len() != IFNAMSIZ {
                return Err(libc::EINVAL);
            }
            newname.copy_from_slice(new);
            // `ifr_data` points at the new name on this stack frame, live during the ioctl.
            r.set_data(newname.as_ptr() as u64);
            sys.ioctl(fd, SIOCSIFNAME, &mut r)
        }
    }
}

/// One decoded record of an encoded list: the kind and its payload, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawOp<'a> {
    /// The record kind.
    pub kind: OpKind,
    /// The payload (the kernel struct or routing message).
    pub payload: &'a [u8],
}

/// Why an encoded list is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than a header or the declared payload.
    #[error("operation list truncated")]
    Truncated,
    /// An unknown kind byte.
    #[error("unknown operation kind {0}")]
    UnknownKind(u8),
    /// A payload length the kind does not allow.
    #[error("{0:?} payload of {1} bytes is not a valid length")]
    BadLength(OpKind, usize),
}

/// Walks an encoded list without allocating (safe to use after `fork(2)`).
///
/// ```
/// use freebsd_netif::{IfName, jailops::{JailOps, OpKind, RawOps}};
/// let mut ops = JailOps::new();
/// ops.up(&IfName::new("lo0").unwrap());
/// let raw: Vec<_> = RawOps::new(ops.encoded()).collect();
/// assert_eq!(raw.len(), 1);
/// assert_eq!(raw[0].unwrap().kind, OpKind::Up);
/// ```
#[derive(Debug, Clone)]
pub struct RawOps<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> RawOps<'a> {
    /// Starts at the beginning of `encoded`.
    pub fn new(encoded: &'a [u8]) -> RawOps<'a> {
        RawOps {
            rest: encoded,
            failed: false,
        }
    }
}

impl<'a> Iterator for RawOps<'a> {
    type Item = Result<RawOp<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        let r = decode_one(self.rest);
        match r {
            Ok((op, used)) => {
                self.rest = self.rest.get(used..).unwrap_or(&[]);
                Some(Ok(op))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

fn decode_one(b: &[u8]) -> Result<(RawOp<'_>, usize), DecodeError> {
    let h = b.get(..RECORD_HEADER).ok_or(DecodeError::Truncated)?;
    let kind = OpKind::from_u8(h[0]).ok_or(DecodeError::UnknownKind(h[0]))?;
    let len = usize::from(u16::from_le_bytes([h[2], h[3]]));
    if !kind.valid_len(len) {
        return Err(DecodeError::BadLength(kind, len));
    }
    let payload = b
        .get(RECORD_HEADER..RECORD_HEADER + len)
        .ok_or(DecodeError::Truncated)?;
    let used = (RECORD_HEADER + len).div_ceil(8) * 8;
    Ok((RawOp { kind, payload }, used.min(b.len())))
}

/// One result record: the step's index and its errno (0 = success).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpResult {
    /// Index of the step in the list, or [`ATTACH_INDEX`].
    pub index: u32,
    /// The errno, 0 on success.
    pub errno: i32,
}

impl OpResult {
    /// The 8 bytes written to the pipe.
    pub fn encode(self) -> [u8; RESULT_SIZE] {
        let mut b = [0u8; RESULT_SIZE];
        b[..4].copy_from_slice(&self.index.to_le_bytes());
        b[4..].copy_from_slice(&self.errno.to_le_bytes());
        b
    }

    /// Decodes exactly 8 bytes.
    pub fn decode(b: &[u8]) -> Option<OpResult> {
        if b.len() != RESULT_SIZE {
            return None;
        }
        Some(OpResult {
            index: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            errno: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> JailOps {
        let b = IfName::new("epair0b").unwrap();
        let mut ops = JailOps::new();
        ops.loopback()
            .up(&b)
            .add_address(&b, "10.0.0.2/24".parse().unwrap())
            .default_route("10.0.0.1".parse().unwrap())
            .unwrap();
        ops
    }

    #[test]
    fn encoding_layout() {
        let ops = sample();
        let e = ops.encoded();
        // lo0 up: header + 32-byte ifreq
        assert_eq!(&e[..4], &[1, 0, 32, 0]);
        assert_eq!(&e[4..8], b"lo0\0");
        // lo0 127.0.0.1/8: header at 36 (4 + 32 = 36, already 8-aligned? no: 36 -> 40)
        assert_eq!(&e[40..44], &[3, 0, 68, 0]);
        assert_eq!(&e[44 + 16..44 + 24], &[16, 2, 0, 0, 127, 0, 0, 1]);
        assert_eq!(&e[44 + 48..44 + 56], &[16, 2, 0, 0, 255, 0, 0, 0]);
        // 40 + 4 + 68 = 112: epair0b up
        assert_eq!(&e[112..116], &[1, 0, 32, 0]);
        assert_eq!(&e[116..124], b"epair0b\0");
        // 112 + 36 -> 152: address
        assert_eq!(&e[152..156], &[3, 0, 68, 0]);
        // 152 + 72 = 224: route, 200 bytes, seq = 5 (fifth op)
        assert_eq!(&e[224..228], &[7, 0, 200, 0]);
        let route = &e[228..428];
        assert_eq!(&route[..4], &[200, 0, 5, 1]);
        assert_eq!(&route[20..24], &5i32.to_le_bytes());
        assert_eq!(&route[168..176], &[16, 2, 0, 0, 10, 0, 0, 1]);
        assert_eq!(e.len(), 432);
    }

    #[test]
    fn decode_round_trip() {
        let ops = sample();
        let raw: Vec<RawOp<'_>> = RawOps::new(ops.encoded()).map(|r| r.unwrap()).collect();
        let kinds: Vec<OpKind> = raw.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                OpKind::Up,
                OpKind::AddInet,
                OpKind::Up,
                OpKind::AddInet,
                OpKind::Route
            ]
        );
        for (raw, op) in raw.iter().zip(ops.ops()) {
            assert_eq!(op.encode_payload(0).0, raw.kind);
        }
        let r = InAliasReq::from_bytes(raw[3].payload).unwrap();
        assert_eq!(r.ifra_addr.addr(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(r.ifra_mask.addr(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(
            IfReq::from_bytes(raw[2].payload).unwrap().name(),
            b"epair0b"
        );
    }

    #[test]
    fn every_kind_round_trips() {
        let n = IfName::new("em0").unwrap();
        let mut ops = JailOps::new();
        ops.push(JailOp::Down(n.clone())).unwrap();
        ops.push(JailOp::DeleteInet(n.clone(), Ipv4Addr::new(10, 0, 0, 9)))
            .unwrap();
        ops.push(JailOp::AddInet6(
            n.clone(),
            "2001:db8::2/64".parse().unwrap(),
        ))
        .unwrap();
        ops.push(JailOp::DeleteInet6(
            n.clone(),
            "2001:db8::2".parse().unwrap(),
        ))
        .unwrap();
        ops.push(JailOp::AddDefaultRoute("2001:db8::1".parse().unwrap()))
            .unwrap();
        ops.push(JailOp::DeleteDefaultRoute("10.0.0.1".parse().unwrap()))
            .unwrap();
        ops.push(JailOp::Rename(n.clone(), IfName::new("eth0").unwrap()))
            .unwrap();
        let raw: Vec<_> = RawOps::new(ops.encoded()).map(|r| r.unwrap()).collect();
        assert_eq!(raw.len(), 7);
        assert_eq!(raw[1].payload[16..24], [16, 2, 0, 0, 10, 0, 0, 9]);
        assert_eq!(raw[2].payload.len(), 136);
        assert_eq!(raw[3].payload.len(), 288);
        assert_eq!(raw[4].payload.len(), 248);
        assert_eq!(raw[5].payload[3], crate::wire::RTM_DELETE);
        assert_eq!(&raw[6].payload[32..37], b"eth0\0");
    }

    #[test]
    fn deletes_of_either_family() {
        let n = IfName::new("epair3b").unwrap();
        let mut ops = JailOps::new();
        ops.delete_address(&n, "2001:db8::2".parse().unwrap())
            .delete_address(&n, "10.0.0.2".parse().unwrap())
            .delete_default_route(Family::Inet6)
            .delete_default_route(Family::Inet);
        assert_eq!(
            ops.ops(),
            &[
                JailOp::DeleteInet6(n.clone(), "2001:db8::2".parse().unwrap()),
                JailOp::DeleteInet(n.clone(), "10.0.0.2".parse().unwrap()),
                JailOp::DeleteDefault(Family::Inet6),
                JailOp::DeleteDefault(Family::Inet),
            ]
        );
        let raw: Vec<_> = RawOps::new(ops.encoded()).map(|r| r.unwrap()).collect();
        let kinds: Vec<OpKind> = raw.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                OpKind::DeleteInet6,
                OpKind::DeleteInet,
                OpKind::Route,
                OpKind::Route
            ]
        );
        // in6_ifreq: name, then sockaddr_in6 {28, AF_INET6, port 0, flowinfo 0, addr}.
        let r6 = raw[0].payload;
        assert_eq!(r6.len(), 288);
        assert_eq!(&r6[..8], b"epair3b\0");
        assert_eq!(&r6[16..18], &[28, 28]);
        assert_eq!(
            &r6[24..40],
            &"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets()
        );
        // The v6 delete: RTM_DELETE, RTA_DST|RTA_NETMASK, seq = its position (3), two
        // sockaddr_in6 of 28 bytes padded to 32.
        let m = raw[2].payload;
        assert_eq!(m.len(), 216);
        assert_eq!(&m[..4], &[216, 0, 5, 2]);
        assert_eq!(&m[12..16], &5i32.to_le_bytes());
        assert_eq!(&m[20..24], &3i32.to_le_bytes());
        assert_eq!(&m[152..154], &[28, 28]);
        let m4 = raw[3].payload;
        assert_eq!(m4.len(), 184);
        assert_eq!(&m4[152..154], &[16, 2]);
        assert_eq!(ops.ops()[2].to_string(), "route -6 delete default");
        assert!(matches!(
            ops.ops()[2].error(libc::ESRCH),
            Error::NoSuchRoute { ref route } if route == "-6 default"
        ));
    }

    #[test]
    fn malformed_lists_are_rejected() {
        let ops = sample();
        let e = ops.encoded();
        let last: Vec<_> = RawOps::new(&e[..e.len() - 10]).collect();
        assert_eq!(last.last(), Some(&Err(DecodeError::Truncated)));
        let mut bad = e.to_vec();
        bad[0] = 99;
        assert_eq!(
            RawOps::new(&bad).next(),
            Some(Err(DecodeError::UnknownKind(99)))
        );
        bad[0] = 1;
        bad[2] = 31;
        assert_eq!(
            RawOps::new(&bad).next(),
            Some(Err(DecodeError::BadLength(OpKind::Up, 31)))
        );
        // The iterator stops after an error.
        assert_eq!(RawOps::new(&bad).count(), 1);
        assert_eq!(RawOps::new(&[]).count(), 0);
    }

    #[test]
    fn link_local_gateway_rejected_before_anything() {
        let mut ops = JailOps::new();
        let e = ops
            .default_route("fe80::1".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("link-local"), "{e}");
        assert!(ops.ops().is_empty() && ops.encoded().is_empty());
    }

    #[test]
    fn report_completion() {
        let ops = sample();
        assert!(!ops.report_complete(&[]));
        assert!(!ops.report_complete(&records(&[(0, 0), (1, 0)])));
        assert!(!ops.report_complete(&records(&[(0, 0), (1, 0)])[..12]));
        assert!(ops.report_complete(&records(&[(0, 0), (1, libc::EEXIST)])));
        assert!(ops.report_complete(&records(&[(ATTACH_INDEX, libc::EPERM)])));
        assert!(ops.report_complete(&records(&[(0, 0), (1, 0), (2, 0), (3, 0), (4, 0)])));
        // An empty list still waits for the attach record.
        assert!(!JailOps::new().report_complete(&[]));
        assert!(JailOps::new().report_complete(&records(&[])));
    }

    #[test]
    fn result_records() {
        let r = OpResult {
            index: 3,
            errno: 17,
        };
        assert_eq!(r.encode(), [3, 0, 0, 0, 17, 0, 0, 0]);
        assert_eq!(OpResult::decode(&r.encode()), Some(r));
        assert_eq!(OpResult::decode(&[0; 7]), None);
    }

    /// Result records as the child writes them: the attach record, then `rs`.
    fn records(rs: &[(u32, i32)]) -> Vec<u8> {
        let attach = [(ATTACH_INDEX, 0)];
        let rs: Vec<(u32, i32)> = if rs.first().is_some_and(|r| r.0 == ATTACH_INDEX) {
            rs.to_vec()
        } else {
            attach.iter().chain(rs).copied().collect()
        };
        rs.iter()
            .flat_map(|&(index, errno)| OpResult { index, errno }.encode())
            .collect()
    }

    #[test]
    fn interpreting_results() {
        let ops = sample();
        let all_ok = records(&[(0, 0), (1, 0), (2, 0), (3, 0), (4, 0)]);
        assert!(ops.interpret(7, &all_ok, "exit 0").is_ok());

        let e = ops
            .interpret(7, &records(&[(0, 0), (1, 0), (2, libc::ENXIO)]), "exit 1")
            .unwrap_err();
        match &e {
            Error::InJail {
                jid: 7,
                index: 2,
                source,
            } => assert!(
                matches!(**source, Error::NoSuchInterface { ref name, .. } if name == "epair0b")
            ),
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("epair0b"), "{e}");

        let e = ops
            .interpret(
                7,
                &records(&[(0, 0), (1, 0), (2, 0), (3, 0), (4, libc::EEXIST)]),
                "exit 1",
            )
            .unwrap_err();
        assert!(
            matches!(e, Error::InJail { index: 4, ref source, .. } if matches!(**source, Error::RouteExists { .. }))
        );

        let e = ops
            .interpret(7, &records(&[(0, 0), (1, libc::EEXIST)]), "exit 1")
            .unwrap_err();
        assert!(e.to_string().contains("127.0.0.1/8"), "{e}");

        let e = ops
            .interpret(7, &records(&[(ATTACH_INDEX, libc::EINVAL)]), "exit 1")
            .unwrap_err();
        assert!(matches!(e, Error::Attach { jid: 7, .. }));

        let e = ops
            .interpret(7, &records(&[(0, 0)]), "killed by signal 9")
            .unwrap_err();
        assert!(
            matches!(e, Error::Child { ref detail, .. } if detail.contains("1 of 5") && detail.contains("signal 9"))
        );
        assert!(matches!(
            ops.interpret(7, &all_ok[..12], "exit 0"),
            Err(Error::Child { .. })
        ));
        assert!(matches!(
            ops.interpret(7, &records(&[(9, 0)]), "exit 0"),
            Err(Error::Child { .. })
        ));
        // An empty list: only the attach record proves the child got in.
        assert!(JailOps::new().interpret(7, &records(&[]), "exit 0").is_ok());
        let e = JailOps::new()
            .interpret(7, &[], "exit status 1")
            .unwrap_err();
        assert!(e.to_string().contains("did not report jail_attach"), "{e}");
        let step_first = OpResult { index: 0, errno: 0 }.encode();
        assert!(matches!(
            ops.interpret(7, &step_first, "exit 0"),
            Err(Error::Child { .. })
        ));
    }
}
