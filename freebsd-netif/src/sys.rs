//! The FreeBSD half: the ioctls, the routing socket, `getifaddrs(3)`, and the forked child that
//! configures a jail's vnet.

use std::ffi::CStr;
use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::{Error, Op, Result};
use crate::jailops::{ChildSys, JailOps, RESULT_SIZE, SockKind, child_run};
use crate::name::{IfName, JailPairNames};
use crate::route::{RouteAction, RouteMessage};
use crate::wire::{
    self, BRDGADD, BRDGDEL, BRDGGIFS, IFF_UP, IfBReq, IfBifConf, IfDrv, IfReq, In6AliasReq,
    In6IfReq, InAliasReq, SockaddrIn, Wire,
};
use crate::{BridgeMember, Epair, Interface, sockaddr_to_net};

unsafe extern "C" {
    /// kldload(2), declared in `<sys/linker.h>`; the libc crate does not bind it.
    fn kldload(file: *const libc::c_char) -> libc::c_int;
}

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `socket(2)` with `SOCK_CLOEXEC`; `Err(errno)`.
fn socket(domain: i32, ty: i32) -> std::result::Result<OwnedFd, i32> {
    // SAFETY: socket(2) takes no pointers; a non-negative return is a new descriptor we own.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `ioctl(2)` on `fd` with a pointer to `arg`; `Err(errno)`.
fn ioctl<T: Wire>(fd: RawFd, req: u32, arg: &mut T) -> std::result::Result<(), i32> {
    debug_assert_eq!(
        ((req >> 16) & wire::IOCPARM_MASK) as usize,
        size_of::<T>(),
        "ioctl {req:#x} does not take this struct"
    );
    // SAFETY: ioctl(2) (netintro(4)): `req` encodes `size_of::<T>()` (the numbers are computed
    // from the types with `iow`/`iowr`; checked above in debug builds), so the kernel copies at
    // most that many bytes from/to `arg`, a live, exclusive reference to a plain wire struct.
    let r = unsafe { libc::ioctl(fd, libc::c_ulong::from(req), arg as *mut T) };
    if r < 0 { Err(errno()) } else { Ok(()) }
}

/// A handle on the network stack (vnet) of the process that opened it.
///
/// A socket belongs to the vnet it was created in, and every ioctl on it acts there
/// (FREEBSD-FACTS §3.8). `Netif::open()` on the host gives host-side control: creating epairs
/// and bridges, moving interfaces into jails. Configuration *inside* a jail's vnet goes through
/// [`Netif::configure_in_jail`], which forks a child that attaches to the jail first.
///
/// ```no_run
/// use freebsd_netif::{IfName, Netif};
/// let net = Netif::open()?;
/// let pair = net.epair()?;
/// let bridge = IfName::new("bridge0")?;
/// net.bridge_add(&bridge, &pair.a)?;
/// net.up(&pair.a)?;
/// # Ok::<(), freebsd_netif::Error>(())
/// ```
#[derive(Debug)]
pub struct Netif {
    inet: OwnedFd,
}

impl Netif {
    /// Opens the `AF_INET` datagram socket the ioctls go through (socket(2), netintro(4)).
    pub fn open() -> Result<Netif> {
        let inet = socket(libc::AF_INET, libc::SOCK_DGRAM).map_err(|e| Error::Sys {
            name: "AF_INET".into(),
            op: Op::Socket,
            source: io::Error::from_raw_os_error(e),
        })?;
        Ok(Netif { inet })
    }

    fn fd(&self) -> RawFd {
        self.inet.as_raw_fd()
    }

    fn ifreq(&self, req: u32, r: &mut IfReq, op: Op, name: &IfName) -> Result<()> {
        ioctl(self.fd(), req, r).map_err(|e| Error::from_errno(op, name.as_str(), "", e))
    }

    /// Creates a cloned interface (`SIOCIFCREATE2`, ifconfig(8) `create`): `cloner` is a driver
    /// name (`epair`, `bridge`, `vlan`…) for a kernel-chosen unit, or a full name (`bridge7`).
    /// Returns the name the kernel gave it.
    #[doc(alias = "SIOCIFCREATE2")]
    pub fn create(&self, cloner: &IfName) -> Result<IfName> {
        let mut r = IfReq::named(cloner);
        self.ifreq(wire::SIOCIFCREATE2, &mut r, Op::Create, cloner)?;
        IfName::from_bytes(r.name()).map_err(Error::from)
    }

    /// Creates through `cloner`; if the kernel has no such cloner, loads `if_<driver>` with
    /// kldload(2) and tries once more — what ifconfig(8) does before `create`.
    fn create_loading(&self, cloner: &IfName, driver: &str) -> Result<IfName> {
        match self.create(cloner) {
            Err(Error::NoSuchCloner { .. }) => {
                load_driver(driver)?;
                self.create(cloner)
            }
            r => r,
        }
    }

    /// `ifconfig epair create` (if_epair(4)): the kernel picks the unit; returns both ends.
    /// Loads `if_epair` first if the cloner is missing.
    pub fn epair(&self) -> Result<Epair> {
        let a = self.create_loading(&IfName::literal("epair"), "epair")?;
        match Epair::from_a_side(a.clone()) {
            Some(p) => Ok(p),
            None => {
                // Not the epair cloner's answer (e.g. a renamed-on-create driver): undo.
                let _ = self.destroy(&a);
                Err(Error::InvalidInput {
                    what: a.to_string(),
                    reason: "the epair cloner returned a name not ending in 'a'".into(),
                })
            }
        }
    }

    /// `ifconfig bridge create` (if_bridge(4)): returns the new bridge's name. Loads
    /// `if_bridge` first if the cloner is missing.
    pub fn bridge(&self) -> Result<IfName> {
        self.create_loading(&IfName::literal("bridge"), "bridge")
    }

    /// Destroys a cloned interface (`SIOCIFDESTROY`, ifconfig(8) `destroy`). For an epair, either
    /// end destroys both, even if the other end is inside a jail.
    #[doc(alias = "SIOCIFDESTROY")]
    pub fn destroy(&self, name: &IfName) -> Result<()> {
        let mut r = IfReq::named(name);
        self.ifreq(wire::SIOCIFDESTROY, &mut r, Op::Destroy, name)
    }

    /// The interface flags (`SIOCGIFFLAGS`): `IFF_*` from `<net/if.h>`.
    #[doc(alias = "SIOCGIFFLAGS")]
    pub fn flags(&self, name: &IfName) -> Result<u32> {
        let mut r = IfReq::named(name);
        self.ifreq(wire::SIOCGIFFLAGS, &mut r, Op::GetFlags, name)?;
        Ok(r.flags())
    }

    /// Sets the interface flags (`SIOCSIFFLAGS`); the kernel ignores `IFF_CANTCHANGE` bits.
    #[doc(alias = "SIOCSIFFLAGS")]
    pub fn set_flags(&self, name: &IfName, flags: u32) -> Result<()> {
        let mut r = IfReq::named(name);
        r.set_flags(flags);
        self.ifreq(wire::SIOCSIFFLAGS, &mut r, Op::SetFlags, name)
    }

    /// `ifconfig <name> up`: reads the flags, sets `IFF_UP`, writes them back.
    pub fn up(&self, name: &IfName) -> Result<()> {
        let f = self.flags(name)?;
        self.set_flags(name, f | IFF_UP)
    }

    /// `ifconfig <name> down`.
    pub fn down(&self, name: &IfName) -> Result<()> {
        let f = self.flags(name)?;
        self.set_flags(name, f & !IFF_UP)
    }

    /// `ifconfig <name> description <text>` (`SIOCSIFDESCR`); an empty text clears it.
    #[doc(alias = "SIOCSIFDESCR")]
    pub fn set_description(&self, name: &IfName, descr: &str) -> Result<()> {
        if descr.contains('\0') {
            return Err(Error::InvalidInput {
                what: format!("{name}: description"),
                reason: "contains a NUL byte".into(),
            });
        }
        let mut buf = descr.as_bytes().to_vec();
        buf.push(0);
        let mut r = IfReq::named(name);
        if descr.is_empty() {
            r.set_buffer(0, 0);
        } else {
            r.set_buffer(buf.len() as u64, buf.as_ptr() as u64);
        }
        self.ifreq(wire::SIOCSIFDESCR, &mut r, Op::SetDescription, name)
    }

    /// The description (`SIOCGIFDESCR`), `None` if there is none.
    #[doc(alias = "SIOCGIFDESCR")]
    pub fn description(&self, name: &IfName) -> Result<Option<String>> {
        let mut cap = 64usize;
        loop {
            let mut buf = vec![0u8; cap];
            let mut r = IfReq::named(name);
            r.set_buffer(cap as u64, buf.as_mut_ptr() as u64);
            match ioctl(self.fd(), wire::SIOCGIFDESCR, &mut r) {
                Err(libc::ENOMSG) => return Ok(None),
                Err(e) => return Err(Error::from_errno(Op::GetDescription, name.as_str(), "", e)),
                Ok(()) => {}
            }
            let need = r.buffer_length() as usize;
            if r.buffer() == 0 && need > cap {
                // Too small: the kernel reported the length it needs.
                cap = need;
                continue;
            }
            let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
            return Ok(Some(String::from_utf8_lossy(&buf[..end]).into_owned()));
        }
    }

    /// `ifconfig <name> name <new>` (`SIOCSIFNAME`).
    #[doc(alias = "SIOCSIFNAME")]
    pub fn rename(&self, name: &IfName, new: &IfName) -> Result<()> {
        let newbuf = new.to_c_array();
        let mut r = IfReq::named(name);
        r.set_data(newbuf.as_ptr() as u64);
        ioctl(self.fd(), wire::SIOCSIFNAME, &mut r).map_err(|e| match e {
            libc::EEXIST => Error::Exists {
                name: new.to_string(),
                op: Op::Rename,
            },
            e => Error::from_errno(Op::Rename, name.as_str(), "", e),
        })
    }

    fn drvspec(
        &self,
        req: u32,
        bridge: &IfName,
        cmd: u64,
        len: usize,
        data: u64,
    ) -> Result<(), i32> {
        let mut d = IfDrv::new(bridge, cmd, len, data);
        ioctl(self.fd(), req, &mut d)
    }

    /// `ifconfig <bridge> addm <member>` (`SIOCSDRVSPEC` + `BRDGADD`, if_bridge(4)).
    #[doc(alias = "BRDGADD")]
    pub fn bridge_add(&self, bridge: &IfName, member: &IfName) -> Result<()> {
        self.bridge_member(bridge, member, BRDGADD, Op::BridgeAdd)
    }

    /// `ifconfig <bridge> deletem <member>` (`SIOCSDRVSPEC` + `BRDGDEL`).
    #[doc(alias = "BRDGDEL")]
    pub fn bridge_delete(&self, bridge: &IfName, member: &IfName) -> Result<()> {
        self.bridge_member(bridge, member, BRDGDEL, Op::BridgeDelete)
    }

    /// A `SIOCSDRVSPEC` bridge command (`BRDGADD`, `BRDGDEL`) on one member's `ifbreq`.
    fn bridge_member(&self, bridge: &IfName, member: &IfName, cmd: u64, op: Op) -> Result<()> {
        let mut req = IfBReq::new(member);
        let p = &mut req as *mut IfBReq as u64;
        self.drvspec(wire::SIOCSDRVSPEC, bridge, cmd, size_of::<IfBReq>(), p)
            .map_err(|e| Error::bridge(op, bridge.as_str(), member.as_str(), e))
    }

    /// The bridge's members (`SIOCGDRVSPEC` + `BRDGGIFS`), span ports included.
    #[doc(alias = "BRDGGIFS")]
    pub fn bridge_members(&self, bridge: &IfName) -> Result<Vec<BridgeMember>> {
        let map = |e| Error::bridge(Op::BridgeMembers, bridge.as_str(), "", e);
        loop {
            // Ask for the size (ifbic_len 0), then fetch with some slack for members added
            // in between; retry if the answer filled the buffer.
            let mut conf = IfBifConf::default();
            let p = &mut conf as *mut IfBifConf as u64;
            self.drvspec(
                wire::SIOCGDRVSPEC,
                bridge,
                BRDGGIFS,
                size_of::<IfBifConf>(),
                p,
            )
            .map_err(map)?;
            let n = conf.ifbic_len as usize / size_of::<IfBReq>() + 4;
            let mut reqs = vec![IfBReq::default(); n];
            let mut conf = IfBifConf {
                ifbic_len: (n * size_of::<IfBReq>()) as u32,
                _pad: 0,
                ifbic_buf: reqs.as_mut_ptr() as u64,
            };
            let p = &mut conf as *mut IfBifConf as u64;
            self.drvspec(
                wire::SIOCGDRVSPEC,
                bridge,
                BRDGGIFS,
                size_of::<IfBifConf>(),
                p,
            )
            .map_err(map)?;
            let got = conf.ifbic_len as usize / size_of::<IfBReq>();
            if got >= n {
                continue;
            }
            return reqs[..got]
                .iter()
                .map(|r| {
                    Ok(BridgeMember {
                        name: IfName::from_bytes(r.name())?,
                        flags: r.ifbr_ifsflags,
                    })
                })
                .collect();
        }
    }

    /// `ifconfig <name> vnet <jid>` (`SIOCSIFVNET`): moves the interface into the vnet of jail
    /// `jid`. Must be called on a handle opened on the host (parent) vnet.
    #[doc(alias = "SIOCSIFVNET")]
    pub fn move_to_jail(&self, name: &IfName, jid: i32) -> Result<()> {
        let mut r = IfReq::named(name);
        r.set_jid(jid);
        ioctl(self.fd(), wire::SIOCSIFVNET, &mut r)
            .map_err(|e| vnet_error(Op::MoveToJail, name, jid, e))
    }

    /// `ifconfig <name> -vnet <jid>` (`SIOCSIFRVNET`): takes the interface (named as inside the
    /// jail) back into this vnet; returns its name here.
    #[doc(alias = "SIOCSIFRVNET")]
    pub fn take_back(&self, name: &IfName, jid: i32) -> Result<IfName> {
        let mut r = IfReq::named(name);
        r.set_jid(jid);
        ioctl(self.fd(), wire::SIOCSIFRVNET, &mut r)
            .map_err(|e| vnet_error(Op::TakeBack, name, jid, e))?;
        IfName::from_bytes(r.name()).map_err(Error::from)
    }

    /// `ifconfig <name> inet <addr>/<prefix> alias` (`SIOCAIFADDR`) in this vnet.
    #[doc(alias = "SIOCAIFADDR")]
    pub fn add_inet(&self, name: &IfName, addr: Ipv4Net) -> Result<()> {
        let mut r = InAliasReq::new(name, addr.addr(), addr.prefix_len());
        // Looked up first: re-adding an address would delete it and the routes through it
        // (in.c in_aifaddr_ioctl; see add_inet_once).
        crate::jailops::add_inet_once(|req, r| ioctl(self.fd(), req, r), &mut r)
            .map_err(|e| Error::from_errno(Op::AddAddress, name.as_str(), &addr.to_string(), e))
    }

    /// `ifconfig <name> inet <addr> -alias` (`SIOCDIFADDR`).
    #[doc(alias = "SIOCDIFADDR")]
    pub fn delete_inet(&self, name: &IfName, addr: Ipv4Addr) -> Result<()> {
        let mut r = IfReq::named(name);
        r.set_addr(SockaddrIn::new(addr));
        ioctl(self.fd(), wire::SIOCDIFADDR, &mut r)
            .map_err(|e| Error::from_errno(Op::DeleteAddress, name.as_str(), &addr.to_string(), e))
    }

    fn inet6(&self, name: &IfName, op: Op) -> Result<OwnedFd> {
        socket(libc::AF_INET6, libc::SOCK_DGRAM).map_err(|e| Error::Sys {
            name: name.to_string(),
            op,
            source: io::Error::from_raw_os_error(e),
        })
    }

    /// `ifconfig <name> inet6 <addr>/<prefix> alias` (`SIOCAIFADDR_IN6` on an `AF_INET6` socket),
    /// infinite lifetimes.
    #[doc(alias = "SIOCAIFADDR_IN6")]
    pub fn add_inet6(&self, name: &IfName, addr: Ipv6Net) -> Result<()> {
        let s = self.inet6(name, Op::AddAddress)?;
        let mut r = In6AliasReq::new(name, addr.addr(), addr.prefix_len());
        ioctl(s.as_raw_fd(), wire::SIOCAIFADDR_IN6, &mut r)
            .map_err(|e| Error::from_errno(Op::AddAddress, name.as_str(), &addr.to_string(), e))
    }

    /// `ifconfig <name> inet6 <addr> -alias` (`SIOCDIFADDR_IN6`).
    #[doc(alias = "SIOCDIFADDR_IN6")]
    pub fn delete_inet6(&self, name: &IfName, addr: Ipv6Addr) -> Result<()> {
        let s = self.inet6(name, Op::DeleteAddress)?;
        let mut r = In6IfReq::new(name, addr);
        ioctl(s.as_raw_fd(), wire::SIOCDIFADDR_IN6, &mut r)
            .map_err(|e| Error::from_errno(Op::DeleteAddress, name.as_str(), &addr.to_string(), e))
    }

    /// `route add default <gateway>` in this vnet (`RTM_ADD` on a `PF_ROUTE` socket, route(4)).
    #[doc(alias = "RTM_ADD")]
    pub fn add_default_route(&self, gateway: IpAddr) -> Result<()> {
        route_write(RouteAction::Add, gateway)
    }

    /// `route delete default <gateway>` in this vnet (`RTM_DELETE`).
    #[doc(alias = "RTM_DELETE")]
    pub fn delete_default_route(&self, gateway: IpAddr) -> Result<()> {
        route_write(RouteAction::Delete, gateway)
    }

    /// Every interface of this vnet with its IPv4/IPv6 addresses (`getifaddrs(3)`).
    #[doc(alias = "getifaddrs")]
    pub fn interfaces(&self) -> Result<Vec<Interface>> {
        interfaces()
    }

    /// The interfaces of this vnet whose description is `jail:<jail>` — the ends made by
    /// [`Netif::epair_for_jail`] for that jail, including a leftover b side that came back to
    /// the host when the jail died (`getifaddrs(3)`, then `SIOCGIFDESCR` per interface).
    pub fn interfaces_of_jail(&self, jail: &str) -> Result<Vec<IfName>> {
        let want = format!("jail:{jail}");
        let mut out = Vec::new();
        for i in self.interfaces()? {
            match self.description(&i.name) {
                Ok(Some(d)) if d == want => out.push(i.name),
                Ok(_) => {}
                // Gone between the listing and the query: not ours to report.
                Err(Error::NoSuchInterface { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Runs `ops` inside the vnet of jail `jid`: forks; the child calls `jail_attach(2)`, opens
    /// its sockets there and performs each pre-encoded step, reporting `(index, errno)` records
    /// through a pipe; the parent turns them into typed errors. Nothing allocates in the child.
    pub fn configure_in_jail(&self, jid: i32, ops: &JailOps) -> Result<()> {
        configure_in_jail(jid, ops)
    }

    /// A new epair for the jail `jail`: the kernel picks the unit; if `rename`, both ends get the
    /// short deterministic names of [`JailPairNames`] (the first salt whose names are free on the
    /// host, checked against the current interface list). Both ends get the description
    /// `jail:<name>`. If any step after creation fails, the epair is destroyed (by the name its
    /// a side has at that moment) before the error is returned.
    pub fn epair_for_jail(&self, jail: &str, rename: bool) -> Result<Epair> {
        let names = if rename {
            let existing = self.interfaces()?;
            let taken = |n: &str| existing.iter().any(|i| i.name.as_str() == n);
            Some(
                JailPairNames::choose(jail, taken).ok_or_else(|| Error::Exists {
                    name: JailPairNames::derive(jail, 0).a.to_string(),
                    op: Op::Rename,
                })?,
            )
        } else {
            None
        };
        let description = format!("jail:{jail}");
        let pair = self.epair()?;
        // The a side's current name, so the undo never destroys someone else's interface.
        let mut a_now = pair.a.clone();
        let mut finish = || -> Result<Epair> {
            let mut out = pair.clone();
            if let Some(n) = &names {
                self.rename(&pair.a, &n.a)?;
                a_now = n.a.clone();
                self.rename(&pair.b, &n.b)?;
                out = Epair {
                    a: n.a.clone(),
                    b: n.b.clone(),
                };
            }
            self.set_description(&out.a, &description)?;
            self.set_description(&out.b, &description)?;
            Ok(out)
        };
        let r = finish();
        if r.is_err() {
            // Destroying either end destroys both (if_epair(4)); renamed interfaces keep their
            // driver and unit, so destroying by the new name works.
            let _ = self.destroy(&a_now);
        }
        r
    }
}

/// Loads the kernel module `if_<driver>` (kldload(2)), as ifconfig(8) does before creating an
/// interface of a driver the kernel does not have yet. `Ok(true)` if it was loaded now,
/// `Ok(false)` if it was already loaded (`EEXIST`).
#[doc(alias = "kldload")]
pub fn load_driver(driver: &str) -> Result<bool> {
    if driver.is_empty()
        || driver.len() > 32
        || !driver
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
    {
        return Err(Error::InvalidInput {
            what: format!("driver {driver:?}"),
            reason: "expected 1 to 32 characters of [a-z0-9_] (e.g. \"epair\")".into(),
        });
    }
    let file = std::ffi::CString::new(format!("if_{driver}")).map_err(|_| Error::InvalidInput {
        what: format!("driver {driver:?}"),
        reason: "contains a NUL byte".into(),
    })?;
    // SAFETY: kldload(2) reads a NUL-terminated module name that lives across the call.
    if unsafe { kldload(file.as_ptr()) } >= 0 {
        return Ok(true);
    }
    match errno() {
        libc::EEXIST => Ok(false),
        libc::EPERM => Err(Error::Permission {
            name: format!("if_{driver}"),
            op: Op::LoadDriver,
        }),
        e => Err(Error::Sys {
            name: format!("if_{driver}"),
            op: Op::LoadDriver,
            source: io::Error::from_raw_os_error(e),
        }),
    }
}

/// `errno` from `SIOCSIFVNET`/`SIOCSIFRVNET` as a typed error; the `jail_get(2)` probe of the
/// jail's `vnet` parameter (run only after a failure; it changes nothing) tells the ambiguous
/// cases apart.
fn vnet_error(op: Op, name: &IfName, jid: i32, e: i32) -> Error {
    Error::vnet(op, name.as_str(), jid, e, jail_vnet(jid))
}

/// `Some(true)` if jail `jid` has its own vnet (`vnet` = `JAIL_SYS_NEW`), `Some(false)` if it
/// inherits the host's, `None` if there is no such jail (jail_get(2)).
fn jail_vnet(jid: i32) -> Option<bool> {
    let mut jid_v: libc::c_int = jid;
    let mut vnet: libc::c_int = 0;
    let mut iov = [
        libc::iovec {
            iov_base: c"jid".as_ptr() as *mut libc::c_void,
            iov_len: 4,
        },
        libc::iovec {
            iov_base: (&mut jid_v as *mut libc::c_int).cast(),
            iov_len: size_of::<libc::c_int>(),
        },
        libc::iovec {
            iov_base: c"vnet".as_ptr() as *mut libc::c_void,
            iov_len: 5,
        },
        libc::iovec {
            iov_base: (&mut vnet as *mut libc::c_int).cast(),
            iov_len: size_of::<libc::c_int>(),
        },
    ];
    // SAFETY: jail_get(2): four iovecs (two name/value pairs) whose buffers live until the call
    // returns; names are NUL-terminated and their lengths include the NUL; the kernel writes
    // at most iov_len bytes into the int values.
    let r = unsafe { libc::jail_get(iov.as_mut_ptr(), iov.len() as libc::c_uint, 0) };
    (r >= 0).then_some(vnet == 1)
}

fn route_write(action: RouteAction, gateway: IpAddr) -> Result<()> {
    let op = match action {
        RouteAction::Add => Op::AddRoute,
        RouteAction::Delete => Op::DeleteRoute,
    };
    let desc = format!("default via {gateway}");
    if let IpAddr::V6(g) = gateway
        && g.is_unicast_link_local()
    {
        return Err(Error::InvalidInput {
            what: format!("route {desc}"),
            reason: "a link-local gateway needs an interface scope; use a global address".into(),
        });
    }
    let msg = RouteMessage::default_route(action, gateway, 1).encode();
    let s = socket(libc::PF_ROUTE, libc::SOCK_RAW).map_err(|e| Error::route(op, &desc, e))?;
    // SAFETY: write(2) of `msg.len()` bytes from a live Vec to the routing socket (route(4)).
    let n = unsafe { libc::write(s.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
    if n < 0 {
        return Err(Error::route(op, &desc, errno()));
    }
    Ok(())
}

fn interfaces() -> Result<Vec<Interface>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs(3) fills `head` with a list we free with freeifaddrs(3) below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(Error::Sys {
            name: "*".into(),
            op: Op::List,
            source: io::Error::last_os_error(),
        });
    }
    let mut out: Vec<Interface> = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs(3) returned, not yet freed.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let raw = unsafe { CStr::from_ptr(ifa.ifa_name) };
        let Ok(name) = IfName::from_bytes(raw.to_bytes()) else {
            continue;
        };
        let idx = match out.iter().position(|i| i.name == name) {
            Some(i) => i,
            None => {
                out.push(Interface {
                    name,
                    flags: ifa.ifa_flags,
                    addrs: Vec::new(),
                });
                out.len() - 1
            }
        };
        if let Some(net) = sockaddr_net(ifa.ifa_addr, ifa.ifa_netmask) {
            out[idx].addrs.push(net);
        }
    }
    // SAFETY: `head` came from getifaddrs(3) and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// Bytes of a kernel sockaddr (its `sa_len` first byte says how many).
fn sa_bytes<'a>(sa: *const libc::sockaddr) -> Option<&'a [u8]> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: a non-null sockaddr from getifaddrs(3) starts with sa_len and is sa_len bytes long.
    let len = usize::from(unsafe { (*sa).sa_len });
    // SAFETY: see above; the list outlives the borrow (it is freed after the loop).
    Some(unsafe { std::slice::from_raw_parts(sa.cast::<u8>(), len) })
}

fn sockaddr_net(addr: *const libc::sockaddr, mask: *const libc::sockaddr) -> Option<IpNet> {
    sockaddr_to_net(sa_bytes(addr)?, sa_bytes(mask).unwrap_or(&[]))
}

// ------------------------------------------------------------------------------------------------
// the in-jail child

fn configure_in_jail(jid: i32, ops: &JailOps) -> Result<()> {
    let encoded: &[u8] = ops.encoded();
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: pipe2(2) writes two descriptors into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Error::Child {
            jid,
            detail: format!("pipe2: {}", io::Error::last_os_error()),
        });
    }
    // SAFETY: both descriptors were just created by pipe2(2) and are owned here.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fork(2). The child only runs `child_main`, which makes system calls on memory
    // prepared before the fork (no allocation, no locks) and ends with _exit(2).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::Child {
            jid,
            detail: format!("fork: {}", io::Error::last_os_error()),
        });
    }
    if pid == 0 {
        child_main(jid, encoded, wr.as_raw_fd());
    }
    drop(wr);
    // Read until the report is complete (every step, or a failure) rather than only until EOF:
    // if another thread forks meanwhile, its child holds a copy of the write end and EOF would
    // wait for that child too.
    let mut records = Vec::new();
    let mut buf = [0u8; 512];
    while !ops.report_complete(&records) {
        // SAFETY: read(2) into a live stack buffer of the given length.
        let n = unsafe { libc::read(rd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => break,
            n if n > 0 => records.extend_from_slice(&buf[..n as usize]),
            _ if errno() == libc::EINTR => continue,
            _ => break,
        }
    }
    let mut status = 0;
    loop {
        // SAFETY: waitpid(2) on the child we forked, with a live status out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r >= 0 || errno() != libc::EINTR {
            break;
        }
    }
    let exit = if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status:#x}")
    };
    ops.interpret(jid, &records, &exit)
}

/// The real system calls of the in-jail child (libc; no allocation).
struct RealChild {
    pipe: RawFd,
}

impl ChildSys for RealChild {
    fn jail_attach(&mut self, jid: i32) -> std::result::Result<(), i32> {
        // SAFETY: jail_attach(2) takes a jid; it moves this (child) process into the jail.
        if unsafe { libc::jail_attach(jid) } != 0 {
            return Err(errno());
        }
        Ok(())
    }

    fn socket(&mut self, kind: SockKind) -> std::result::Result<i32, i32> {
        let (d, t) = match kind {
            SockKind::Inet => (libc::AF_INET, libc::SOCK_DGRAM),
            SockKind::Inet6 => (libc::AF_INET6, libc::SOCK_DGRAM),
            SockKind::Route => (libc::PF_ROUTE, libc::SOCK_RAW),
        };
        // SAFETY: socket(2) takes no pointers; the descriptor stays open until _exit(2).
        let fd = unsafe { libc::socket(d, t | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 { Err(errno()) } else { Ok(fd) }
    }

    fn ioctl<T: Wire>(&mut self, fd: i32, req: u32, arg: &mut T) -> std::result::Result<(), i32> {
        ioctl(fd, req, arg)
    }

    fn write(&mut self, fd: i32, bytes: &[u8]) -> std::result::Result<(), i32> {
        // SAFETY: write(2) of a live byte slice (a routing message, route(4)).
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 { Err(errno()) } else { Ok(()) }
    }

    fn report(&mut self, record: [u8; RESULT_SIZE]) {
        // SAFETY: write(2) of an 8-byte stack array to our pipe; a pipe write of <= PIPE_BUF
        // bytes is atomic. Nothing to do on failure (the parent then sees a short report).
        unsafe { libc::write(self.pipe, record.as_ptr().cast(), RESULT_SIZE) };
    }
}

/// The forked child: `child_run` (allocation-free, tested portably) on the real calls, then
/// `_exit(2)`.
fn child_main(jid: i32, encoded: &[u8], wfd: RawFd) -> ! {
    // jail_attach(2) fails with EPERM while the process holds an open directory descriptor
    // (kern_descrip.c pwd_chroot_chdir → chroot_refuse_vdir_fds), and a forked child holds a
    // copy of every descriptor of every thread of the parent (a read_dir or remove_dir_all in
    // progress elsewhere): seen on FreeBSD 13.2 in the VM as a flaky EPERM when tests ran in
    // parallel. The child needs none of them: keep the report pipe as fd 3 and close the rest
    // above stdio. dup2(2) and closefrom(2) are system calls, safe after fork.
    let mut pipe = wfd;
    if wfd > 3 {
        // SAFETY: dup2(2) of our own pipe onto fd 3 (whatever 3 was is closed by it).
        if unsafe { libc::dup2(wfd, 3) } == 3 {
            pipe = 3;
        }
    }
    if pipe >= 3 {
        // SAFETY: closefrom(2) closes every descriptor from pipe + 1 up; nothing of ours is
        // there (stdio is below, the pipe is `pipe`).
        unsafe { libc::closefrom(pipe + 1) };
    }
    let status = child_run(&mut RealChild { pipe }, jid, encoded);
    // SAFETY: _exit(2) ends the child without running the parent's atexit handlers; the kernel
    // closes the sockets and the pipe.
    unsafe { libc::_exit(status) }
}
