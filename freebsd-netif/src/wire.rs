//! Portable `#[repr(C)]` mirrors of the FreeBSD (amd64, LP64) structs the interface ioctls and
//! the routing socket take, and the ioctl numbers computed from `<sys/ioccom.h>`'s `_IOC` formula.
//!
//! Every type here has fixed-width fields and no implicit padding (padding is spelled out as
//! `_pad` fields), so it can be viewed as bytes ([`Wire::as_bytes`]) and encoded into the in-jail
//! operation list. Network-order fields (ports, addresses) are byte arrays. Pointer-sized fields
//! are `u64`: the layouts are the LP64 ones (amd64, arm64). Sizes, offsets and numbers are checked
//! against FreeBSD's headers by [`crate::abi::facts`].

use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::name::IfName;

/// `IFNAMSIZ`: an interface name is at most 15 bytes plus the terminating NUL.
pub const IFNAMSIZ: usize = 16;

/// `IOCPARM_MASK`: the parameter length is stored in 13 bits.
pub const IOCPARM_MASK: u32 = (1 << 13) - 1;
/// `IOC_VOID`: no parameters.
pub const IOC_VOID: u32 = 0x2000_0000;
/// `IOC_OUT`: the kernel copies the parameter out.
pub const IOC_OUT: u32 = 0x4000_0000;
/// `IOC_IN`: the kernel copies the parameter in.
pub const IOC_IN: u32 = 0x8000_0000;
/// `IOC_INOUT`: both directions.
pub const IOC_INOUT: u32 = IOC_IN | IOC_OUT;

/// `_IOC(inout, group, num, len)` from `<sys/ioccom.h>`.
pub const fn ioc(inout: u32, group: u8, num: u8, len: usize) -> u32 {
    inout | (((len as u32) & IOCPARM_MASK) << 16) | ((group as u32) << 8) | num as u32
}

/// `_IOW(group, num, T)`.
pub const fn iow<T>(group: u8, num: u8) -> u32 {
    ioc(IOC_IN, group, num, size_of::<T>())
}

/// `_IOWR(group, num, T)`.
pub const fn iowr<T>(group: u8, num: u8) -> u32 {
    ioc(IOC_INOUT, group, num, size_of::<T>())
}

/// Plain-old-data wire structs: every byte pattern is a valid value and there is no implicit
/// padding, so they can be viewed as and rebuilt from bytes. Sealed: implemented only here.
pub trait Wire: Copy + sealed::Sealed {
    /// The struct's bytes, exactly as the kernel reads them.
    fn as_bytes(&self) -> &[u8] {
        // SAFETY: `Self` is one of this module's `#[repr(C)]` structs made only of integers and
        // byte arrays with explicit padding fields (the tests check size == sum of fields), so
        // all `size_of::<Self>()` bytes are initialised.
        unsafe { std::slice::from_raw_parts((self as *const Self).cast::<u8>(), size_of::<Self>()) }
    }

    /// The struct's bytes, writable (every byte pattern is a valid value).
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `as_bytes`, and every bit pattern is valid for these integer-only
        // structs, so writes through the slice cannot create an invalid value.
        unsafe {
            std::slice::from_raw_parts_mut((self as *mut Self).cast::<u8>(), size_of::<Self>())
        }
    }

    /// Rebuilds the struct from exactly `size_of::<Self>()` bytes; `None` on a length mismatch.
    fn from_bytes(b: &[u8]) -> Option<Self> {
        if b.len() != size_of::<Self>() {
            return None;
        }
        // SAFETY: the length matches and every bit pattern is valid for these integer-only
        // structs; `read_unaligned` copes with any alignment of `b`.
        Some(unsafe { std::ptr::read_unaligned(b.as_ptr().cast::<Self>()) })
    }
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! wire {
    ($($t:ty),*) => { $( impl sealed::Sealed for $t {} impl Wire for $t {} )* };
}
wire!(
    IfReq,
    IfDrv,
    IfBReq,
    IfBifConf,
    SockaddrIn,
    SockaddrIn6,
    InAliasReq,
    In6AddrLifetime,
    In6AliasReq,
    In6IfReq,
    RtMetrics,
    RtMsghdr
);

fn name_array(name: &IfName) -> [u8; IFNAMSIZ] {
    name.to_c_array()
}

fn until_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

// ------------------------------------------------------------------------------------------------
// sockaddrs

/// `AF_INET`.
pub const AF_INET: u8 = 2;
/// `AF_INET6` (28 on FreeBSD, unlike Linux's 10).
pub const AF_INET6: u8 = 28;
/// `AF_LINK`.
pub const AF_LINK: u8 = 18;
/// `AF_ROUTE` / `PF_ROUTE`.
pub const AF_ROUTE: u8 = 17;

/// `struct sockaddr_in` (`<netinet/in.h>`), 16 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockaddrIn {
    /// `sin_len`: 16, or 0 for "absent" in optional fields.
    pub sin_len: u8,
    /// `sin_family`: [`AF_INET`].
    pub sin_family: u8,
    /// `sin_port`, network order.
    pub sin_port: [u8; 2],
    /// `sin_addr`, network order.
    pub sin_addr: [u8; 4],
    /// `sin_zero`.
    pub sin_zero: [u8; 8],
}

impl SockaddrIn {
    /// A well-formed `sockaddr_in` for `addr`, port 0.
    pub fn new(addr: Ipv4Addr) -> SockaddrIn {
        SockaddrIn {
            sin_len: size_of::<SockaddrIn>() as u8,
            sin_family: AF_INET,
            sin_port: [0; 2],
            sin_addr: addr.octets(),
            sin_zero: [0; 8],
        }
    }

    /// The netmask for a prefix length (`/24` -> 255.255.255.0); lengths above 32 saturate.
    pub fn mask(prefix: u8) -> SockaddrIn {
        SockaddrIn::new(Ipv4Addr::from(prefix_mask_v4(prefix)))
    }

    /// The address.
    pub fn addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.sin_addr)
    }
}

fn prefix_mask_v4(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p if p >= 32 => u32::MAX,
        p => u32::MAX << (32 - u32::from(p)),
    }
}

/// `struct sockaddr_in6` (`<netinet6/in6.h>`), 28 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockaddrIn6 {
    /// `sin6_len`: 28.
    pub sin6_len: u8,
    /// `sin6_family`: [`AF_INET6`].
    pub sin6_family: u8,
    /// `sin6_port`, network order.
    pub sin6_port: [u8; 2],
    /// `sin6_flowinfo`.
    pub sin6_flowinfo: u32,
    /// `sin6_addr`, network order.
    pub sin6_addr: [u8; 16],
    /// `sin6_scope_id` (interface index for link-local addresses).
    pub sin6_scope_id: u32,
}

impl SockaddrIn6 {
    /// A well-formed `sockaddr_in6` for `addr`, port 0, no scope.
    pub fn new(addr: Ipv6Addr) -> SockaddrIn6 {
        SockaddrIn6 {
            sin6_len: size_of::<SockaddrIn6>() as u8,
            sin6_family: AF_INET6,
            sin6_port: [0; 2],
            sin6_flowinfo: 0,
            sin6_addr: addr.octets(),
            sin6_scope_id: 0,
        }
    }

    /// The netmask for a prefix length (`/64` -> ffff:ffff:ffff:ffff::); lengths above 128
    /// saturate.
    pub fn mask(prefix: u8) -> SockaddrIn6 {
        let bits: u128 = match prefix {
            0 => 0,
            p if p >= 128 => u128::MAX,
            p => u128::MAX << (128 - u32::from(p)),
        };
        SockaddrIn6::new(Ipv6Addr::from(bits))
    }

    /// The address.
    pub fn addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.sin6_addr)
    }
}

// ------------------------------------------------------------------------------------------------
// ifreq

/// The 16-byte union `ifr_ifru` of `struct ifreq`, kept as raw bytes; [`IfReq`] has typed views.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfrIfru(pub [u8; 16]);

/// `struct ifreq` (`<net/if.h>`): an interface name and a 16-byte union.
///
/// ```
/// use freebsd_netif::{IfName, wire::IfReq};
/// let mut r = IfReq::named(&IfName::new("epair0b").unwrap());
/// assert_eq!(IfReq::new("epair0b"), Some(r));
/// assert_eq!(IfReq::new("not valid"), None);
/// r.set_jid(7);
/// assert_eq!(r.jid(), 7);
/// assert_eq!(r.name(), b"epair0b");
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfReq {
    /// `ifr_name`: NUL-terminated interface name.
    pub ifr_name: [u8; IFNAMSIZ],
    /// `ifr_ifru`: the union (flags, jid, data pointer, buffer, mtu, index, address…).
    pub ifr_ifru: IfrIfru,
}

impl IfReq {
    /// A zeroed request for the interface `name`, or `None` when `name` is not a valid
    /// interface name (see [`IfName`]).
    pub fn new(name: &str) -> Option<IfReq> {
        IfName::new(name).ok().map(|n| IfReq::named(&n))
    }

    /// A zeroed request for the interface `name`.
    pub fn named(name: &IfName) -> IfReq {
        IfReq {
            ifr_name: name_array(name),
            ifr_ifru: IfrIfru::default(),
        }
    }

    /// The name as the kernel left it (up to the first NUL).
    pub fn name(&self) -> &[u8] {
        until_nul(&self.ifr_name)
    }

    fn i32_at(&self, at: usize) -> i32 {
        let u = &self.ifr_ifru.0;
        i32::from_ne_bytes([u[at], u[at + 1], u[at + 2], u[at + 3]])
    }

    fn u64_at(&self, at: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.ifr_ifru.0[at..at + 8]);
        u64::from_ne_bytes(b)
    }

    /// `ifr_jid` (the `int` at the start of the union), for `SIOCSIFVNET` / `SIOCSIFRVNET`.
    pub fn set_jid(&mut self, jid: i32) {
        self.ifr_ifru.0[..4].copy_from_slice(&jid.to_ne_bytes());
    }

    /// `ifr_jid`.
    pub fn jid(&self) -> i32 {
        self.i32_at(0)
    }

    /// `ifr_flags | ifr_flagshigh << 16`, as `SIOCGIFFLAGS` reports them.
    pub fn flags(&self) -> u32 {
        let u = &self.ifr_ifru.0;
        let lo = u16::from_ne_bytes([u[0], u[1]]);
        let hi = u16::from_ne_bytes([u[2], u[3]]);
        u32::from(lo) | (u32::from(hi) << 16)
    }

    /// Stores `flags` as `ifr_flags` (low 16 bits) and `ifr_flagshigh` (high 16 bits).
    pub fn set_flags(&mut self, flags: u32) {
        self.ifr_ifru.0[..2].copy_from_slice(&(flags as u16).to_ne_bytes());
        self.ifr_ifru.0[2..4].copy_from_slice(&((flags >> 16) as u16).to_ne_bytes());
    }

    /// `ifr_index` / `ifr_mtu` / `ifr_metric` / `ifr_fib`: the `int`-sized views.
    pub fn int(&self) -> i32 {
        self.i32_at(0)
    }

    /// `ifr_data` (a `caddr_t`), for `SIOCSIFNAME` (new name) and `SIOCIFCREATE2` (parameters).
    pub fn set_data(&mut self, ptr: u64) {
        self.ifr_ifru.0[..8].copy_from_slice(&ptr.to_ne_bytes());
    }

    /// `ifr_data`.
    pub fn data(&self) -> u64 {
        self.u64_at(0)
    }

    /// `ifr_buffer = { length, buffer }` (`struct ifreq_buffer`), for `SIOCSIFDESCR` /
    /// `SIOCGIFDESCR`.
    pub fn set_buffer(&mut self, length: u64, buffer: u64) {
        self.ifr_ifru.0[..8].copy_from_slice(&length.to_ne_bytes());
        self.ifr_ifru.0[8..].copy_from_slice(&buffer.to_ne_bytes());
    }

    /// `ifr_buffer.length`.
    pub fn buffer_length(&self) -> u64 {
        self.u64_at(0)
    }

    /// `ifr_buffer.buffer`.
    pub fn buffer(&self) -> u64 {
        self.u64_at(8)
    }

    /// `ifr_addr` as a `sockaddr_in` (the union is exactly one `struct sockaddr`), for
    /// `SIOCDIFADDR`.
    pub fn set_addr(&mut self, sin: SockaddrIn) {
        self.ifr_ifru.0.copy_from_slice(sin.as_bytes());
    }

    /// `ifr_addr` read as a `sockaddr_in`.
    pub fn addr(&self) -> SockaddrIn {
        SockaddrIn::from_bytes(&self.ifr_ifru.0).unwrap_or_default()
    }
}

// ------------------------------------------------------------------------------------------------
// ifdrv and the bridge structs

/// `struct ifdrv` (`<net/if.h>`): a driver-specific request, for `SIOCSDRVSPEC`/`SIOCGDRVSPEC`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfDrv {
    /// `ifd_name`: the driver's interface (the bridge).
    pub ifd_name: [u8; IFNAMSIZ],
    /// `ifd_cmd`: the driver command (`BRDGADD`…).
    pub ifd_cmd: u64,
    /// `ifd_len`: the size of `*ifd_data`; if_bridge insists on the exact struct size.
    pub ifd_len: u64,
    /// `ifd_data`: pointer to the command's argument.
    pub ifd_data: u64,
}

impl IfDrv {
    /// A request for `cmd` on `name` whose argument is `len` bytes at `data`.
    pub fn new(name: &IfName, cmd: u64, len: usize, data: u64) -> IfDrv {
        IfDrv {
            ifd_name: name_array(name),
            ifd_cmd: cmd,
            ifd_len: len as u64,
            ifd_data: data,
        }
    }
}

/// `BRDGADD`: add a bridge member (`struct ifbreq`).
pub const BRDGADD: u64 = 0;
/// `BRDGDEL`: delete a bridge member (`struct ifbreq`).
pub const BRDGDEL: u64 = 1;
/// `BRDGGIFFLGS`: get member flags.
pub const BRDGGIFFLGS: u64 = 2;
/// `BRDGSIFFLGS`: set member flags.
pub const BRDGSIFFLGS: u64 = 3;
/// `BRDGGIFS`: list members (`struct ifbifconf`).
pub const BRDGGIFS: u64 = 6;

/// `IFBIF_LEARNING`: the member learns source addresses.
pub const IFBIF_LEARNING: u32 = 0x0001;
/// `IFBIF_DISCOVER`: the member receives unknown-destination frames.
pub const IFBIF_DISCOVER: u32 = 0x0002;
/// `IFBIF_STP`: spanning tree enabled on the member.
pub const IFBIF_STP: u32 = 0x0004;
/// `IFBIF_SPAN`: a span port (reported by `BRDGGIFS`).
pub const IFBIF_SPAN: u32 = 0x0008;

/// `struct ifbreq` (`<net/if_bridgevar.h>`), 80 bytes: one bridge member.
///
/// FreeBSD 14 ends with `ifbr_addrexceeded; uint8_t pad[32]`; 15 turns the first 4 pad bytes into
/// `ifbr_pvid` and `ifbr_vlanproto`. A zeroed struct with only the name set means the same to both,
/// so the tail is kept as raw bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfBReq {
    /// `ifbr_ifsname`: the member's name.
    pub ifbr_ifsname: [u8; IFNAMSIZ],
    /// `ifbr_ifsflags`: `IFBIF_*`.
    pub ifbr_ifsflags: u32,
    /// `ifbr_stpflags`.
    pub ifbr_stpflags: u32,
    /// `ifbr_path_cost`.
    pub ifbr_path_cost: u32,
    /// `ifbr_portno`.
    pub ifbr_portno: u8,
    /// `ifbr_priority`.
    pub ifbr_priority: u8,
    /// `ifbr_proto`.
    pub ifbr_proto: u8,
    /// `ifbr_role`.
    pub ifbr_role: u8,
    /// `ifbr_state`.
    pub ifbr_state: u8,
    /// Alignment padding before `ifbr_addrcnt`.
    pub _pad0: [u8; 3],
    /// `ifbr_addrcnt`.
    pub ifbr_addrcnt: u32,
    /// `ifbr_addrmax`.
    pub ifbr_addrmax: u32,
    /// `ifbr_addrexceeded`.
    pub ifbr_addrexceeded: u32,
    /// 14: `pad[32]`; 15: `ifbr_pvid`, `ifbr_vlanproto`, `pad[28]`.
    pub tail: [u8; 32],
}

impl IfBReq {
    /// A zeroed request naming the member `name` (what `ifconfig addm/deletem` sends).
    pub fn new(member: &IfName) -> IfBReq {
        IfBReq {
            ifbr_ifsname: name_array(member),
            ..IfBReq::default()
        }
    }

    /// The member's name as the kernel wrote it.
    pub fn name(&self) -> &[u8] {
        until_nul(&self.ifbr_ifsname)
    }
}

/// `struct ifbifconf` (`<net/if_bridgevar.h>`): the buffer for `BRDGGIFS`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfBifConf {
    /// `ifbic_len`: buffer size in; bytes used out (0 in = "how much do you need?").
    pub ifbic_len: u32,
    /// Alignment padding before the pointer.
    pub _pad: u32,
    /// `ifbic_buf` / `ifbic_req`: pointer to an array of `struct ifbreq`.
    pub ifbic_buf: u64,
}

// ------------------------------------------------------------------------------------------------
// address requests

/// `struct in_aliasreq` (`<netinet/in_var.h>`), 68 bytes: add an IPv4 address (`SIOCAIFADDR`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InAliasReq {
    /// `ifra_name`.
    pub ifra_name: [u8; IFNAMSIZ],
    /// `ifra_addr`: the address (must be well-formed).
    pub ifra_addr: SockaddrIn,
    /// `ifra_broadaddr` / `ifra_dstaddr` (`sin_len` 0 = computed from the mask).
    pub ifra_broadaddr: SockaddrIn,
    /// `ifra_mask`.
    pub ifra_mask: SockaddrIn,
    /// `ifra_vhid` (CARP; 0).
    pub ifra_vhid: i32,
}

impl InAliasReq {
    /// `ifconfig <name> inet <addr>/<prefix>` (alias semantics: adds, never replaces).
    pub fn new(name: &IfName, addr: Ipv4Addr, prefix: u8) -> InAliasReq {
        InAliasReq {
            ifra_name: name_array(name),
            ifra_addr: SockaddrIn::new(addr),
            ifra_broadaddr: SockaddrIn::default(),
            ifra_mask: SockaddrIn::mask(prefix),
            ifra_vhid: 0,
        }
    }
}

/// `ND6_INFINITE_LIFETIME`.
pub const ND6_INFINITE_LIFETIME: u32 = 0xffff_ffff;

/// `struct in6_addrlifetime` (`<netinet6/in6_var.h>`), 24 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct In6AddrLifetime {
    /// `ia6t_expire` (`time_t`).
    pub ia6t_expire: i64,
    /// `ia6t_preferred` (`time_t`).
    pub ia6t_preferred: i64,
    /// `ia6t_vltime`: valid lifetime.
    pub ia6t_vltime: u32,
    /// `ia6t_pltime`: preferred lifetime.
    pub ia6t_pltime: u32,
}

/// `struct in6_aliasreq` (`<netinet6/in6_var.h>`), 136 bytes: add an IPv6 address
/// (`SIOCAIFADDR_IN6`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct In6AliasReq {
    /// `ifra_name`.
    pub ifra_name: [u8; IFNAMSIZ],
    /// `ifra_addr`.
    pub ifra_addr: SockaddrIn6,
    /// `ifra_dstaddr` (point-to-point only; zero).
    pub ifra_dstaddr: SockaddrIn6,
    /// `ifra_prefixmask`.
    pub ifra_prefixmask: SockaddrIn6,
    /// `ifra_flags` (`IN6_IFF_*`).
    pub ifra_flags: i32,
    /// `ifra_lifetime`.
    pub ifra_lifetime: In6AddrLifetime,
    /// `ifra_vhid`.
    pub ifra_vhid: i32,
    /// Trailing padding to the 8-byte alignment.
    pub _pad: [u8; 4],
}

impl In6AliasReq {
    /// `ifconfig <name> inet6 <addr>/<prefix>`: infinite lifetimes, as ifconfig sets them.
    pub fn new(name: &IfName, addr: Ipv6Addr, prefix: u8) -> In6AliasReq {
        In6AliasReq {
            ifra_name: name_array(name),
            ifra_addr: SockaddrIn6::new(addr),
            ifra_prefixmask: SockaddrIn6::mask(prefix),
            ifra_lifetime: In6AddrLifetime {
                ia6t_vltime: ND6_INFINITE_LIFETIME,
                ia6t_pltime: ND6_INFINITE_LIFETIME,
                ..In6AddrLifetime::default()
            },
            ..In6AliasReq::default()
        }
    }
}

/// The 272-byte union of `struct in6_ifreq`.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct In6Ifru(pub [u8; 272]);

impl Default for In6Ifru {
    fn default() -> In6Ifru {
        In6Ifru([0; 272])
    }
}

/// `struct in6_ifreq` (`<netinet6/in6_var.h>`), 288 bytes: delete an IPv6 address
/// (`SIOCDIFADDR_IN6`, with `ifr_addr` set).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct In6IfReq {
    /// `ifr_name`.
    pub ifr_name: [u8; IFNAMSIZ],
    /// `ifr_ifru`: `ifru_addr` (a `sockaddr_in6`) and larger statistics views.
    pub ifr_ifru: In6Ifru,
}

impl In6IfReq {
    /// A request naming `addr` on `name`.
    pub fn new(name: &IfName, addr: Ipv6Addr) -> In6IfReq {
        let mut r = In6IfReq {
            ifr_name: name_array(name),
            ..In6IfReq::default()
        };
        r.ifr_ifru.0[..28].copy_from_slice(SockaddrIn6::new(addr).as_bytes());
        r
    }
}

// ------------------------------------------------------------------------------------------------
// routing socket

/// `RTM_VERSION`.
pub const RTM_VERSION: u8 = 5;
/// `RTM_ADD`.
pub const RTM_ADD: u8 = 1;
/// `RTM_DELETE`.
pub const RTM_DELETE: u8 = 2;
/// `RTM_CHANGE`.
pub const RTM_CHANGE: u8 = 3;
/// `RTM_GET`.
pub const RTM_GET: u8 = 4;
/// `RTF_UP`.
pub const RTF_UP: i32 = 0x1;
/// `RTF_GATEWAY`.
pub const RTF_GATEWAY: i32 = 0x2;
/// `RTF_HOST`.
pub const RTF_HOST: i32 = 0x4;
/// `RTF_STATIC`.
pub const RTF_STATIC: i32 = 0x800;
/// `RTA_DST`.
pub const RTA_DST: i32 = 0x1;
/// `RTA_GATEWAY`.
pub const RTA_GATEWAY: i32 = 0x2;
/// `RTA_NETMASK`.
pub const RTA_NETMASK: i32 = 0x4;

/// `struct rt_metrics` (`<net/route.h>`): 14 `u_long`s, 112 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtMetrics(pub [u64; 14]);

/// `struct rt_msghdr` (`<net/route.h>`), 152 bytes: the header of every routing message.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RtMsghdr {
    /// `rtm_msglen`: header plus sockaddrs.
    pub rtm_msglen: u16,
    /// `rtm_version`: [`RTM_VERSION`].
    pub rtm_version: u8,
    /// `rtm_type`: `RTM_*`.
    pub rtm_type: u8,
    /// `rtm_index`.
    pub rtm_index: u16,
    /// `_rtm_spare1`.
    pub _rtm_spare1: u16,
    /// `rtm_flags`: `RTF_*`.
    pub rtm_flags: i32,
    /// `rtm_addrs`: `RTA_*` bits of the sockaddrs that follow.
    pub rtm_addrs: i32,
    /// `rtm_pid`.
    pub rtm_pid: i32,
    /// `rtm_seq`.
    pub rtm_seq: i32,
    /// `rtm_errno`.
    pub rtm_errno: i32,
    /// `rtm_fmask`.
    pub rtm_fmask: i32,
    /// `rtm_inits`.
    pub rtm_inits: u64,
    /// `rtm_rmx`.
    pub rtm_rmx: RtMetrics,
}

/// `SA_SIZE(sa)` from `<net/route.h>`: a sockaddr's length rounded up to 8 (`sizeof(long)`);
/// 0 counts as 8.
pub const fn sa_size(sa_len: usize) -> usize {
    if sa_len == 0 {
        8
    } else {
        1 + ((sa_len - 1) | 7)
    }
}

// ------------------------------------------------------------------------------------------------
// interface flags and ioctl numbers

/// `IFF_UP`.
pub const IFF_UP: u32 = 0x1;
/// `IFF_BROADCAST`.
pub const IFF_BROADCAST: u32 = 0x2;
/// `IFF_LOOPBACK`.
pub const IFF_LOOPBACK: u32 = 0x8;
/// `IFF_RUNNING` (`IFF_DRV_RUNNING`).
pub const IFF_RUNNING: u32 = 0x40;
/// `IFF_PROMISC`.
pub const IFF_PROMISC: u32 = 0x100;
/// `IFF_MULTICAST`.
pub const IFF_MULTICAST: u32 = 0x8000;

/// `SIOCSIFFLAGS` = `_IOW('i', 16, struct ifreq)`.
pub const SIOCSIFFLAGS: u32 = iow::<IfReq>(b'i', 16);
/// `SIOCGIFFLAGS` = `_IOWR('i', 17, struct ifreq)`.
pub const SIOCGIFFLAGS: u32 = iowr::<IfReq>(b'i', 17);
/// `SIOCDIFADDR` = `_IOW('i', 25, struct ifreq)`: delete an IPv4 address.
pub const SIOCDIFADDR: u32 = iow::<IfReq>(b'i', 25);
/// `SIOCDIFADDR_IN6` = `_IOW('i', 25, struct in6_ifreq)`: delete an IPv6 address.
pub const SIOCDIFADDR_IN6: u32 = iow::<In6IfReq>(b'i', 25);
/// `SIOCAIFADDR_IN6` = `_IOW('i', 27, struct in6_aliasreq)`: add an IPv6 address.
pub const SIOCAIFADDR_IN6: u32 = iow::<In6AliasReq>(b'i', 27);
/// `SIOCGIFINDEX` = `_IOWR('i', 32, struct ifreq)`.
pub const SIOCGIFINDEX: u32 = iowr::<IfReq>(b'i', 32);
/// `SIOCSIFNAME` = `_IOW('i', 40, struct ifreq)`: rename (`ifr_data` -> new name).
pub const SIOCSIFNAME: u32 = iow::<IfReq>(b'i', 40);
/// `SIOCSIFDESCR` = `_IOW('i', 41, struct ifreq)`: set the description (`ifr_buffer`).
pub const SIOCSIFDESCR: u32 = iow::<IfReq>(b'i', 41);
/// `SIOCGIFDESCR` = `_IOWR('i', 42, struct ifreq)`: get the description (`ifr_buffer`).
pub const SIOCGIFDESCR: u32 = iowr::<IfReq>(b'i', 42);
/// `SIOCAIFADDR` = `_IOW('i', 43, struct ifaliasreq)`: add an IPv4 address (`in_aliasreq` has
/// the same size).
pub const SIOCAIFADDR: u32 = iow::<InAliasReq>(b'i', 43);
/// `SIOCGIFALIAS` = `_IOWR('i', 45, struct ifaliasreq)`: look up one IPv4 address of an
/// interface (in.c `in_gifaddr_ioctl`): fills `ifra_mask`, or EADDRNOTAVAIL.
pub const SIOCGIFALIAS: u32 = iowr::<InAliasReq>(b'i', 45);
/// `SIOCSIFVNET` = `_IOWR('i', 90, struct ifreq)`: move an interface into a jail's vnet.
pub const SIOCSIFVNET: u32 = iowr::<IfReq>(b'i', 90);
/// `SIOCSIFRVNET` = `_IOWR('i', 91, struct ifreq)`: take an interface back from a jail's vnet.
pub const SIOCSIFRVNET: u32 = iowr::<IfReq>(b'i', 91);
/// `SIOCIFDESTROY` = `_IOW('i', 121, struct ifreq)`: destroy a cloned interface.
pub const SIOCIFDESTROY: u32 = iow::<IfReq>(b'i', 121);
/// `SIOCIFCREATE` = `_IOWR('i', 122, struct ifreq)`: create a cloned interface.
pub const SIOCIFCREATE: u32 = iowr::<IfReq>(b'i', 122);
/// `SIOCSDRVSPEC` = `_IOW('i', 123, struct ifdrv)`: driver set-command (bridge addm/deletem).
pub const SIOCSDRVSPEC: u32 = iow::<IfDrv>(b'i', 123);
/// `SIOCGDRVSPEC` = `_IOWR('i', 123, struct ifdrv)`: driver get-command (bridge member list).
pub const SIOCGDRVSPEC: u32 = iowr::<IfDrv>(b'i', 123);
/// `SIOCIFCREATE2` = `_IOWR('i', 124, struct ifreq)`: create a cloned interface with parameters.
pub const SIOCIFCREATE2: u32 = iowr::<IfReq>(b'i', 124);

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn ifreq_layout_matches_facts() {
        assert_eq!(size_of::<IfReq>(), 32);
        assert_eq!(align_of::<IfReq>(), 8);
        assert_eq!(offset_of!(IfReq, ifr_ifru), 16);
    }

    #[test]
    fn struct_layouts_match_facts() {
        // FREEBSD-FACTS §3.2 (and the in6 / rt sizes computed from the headers).
        assert_eq!(size_of::<IfDrv>(), 40);
        assert_eq!(offset_of!(IfDrv, ifd_cmd), 16);
        assert_eq!(offset_of!(IfDrv, ifd_len), 24);
        assert_eq!(offset_of!(IfDrv, ifd_data), 32);
        assert_eq!(size_of::<IfBReq>(), 80);
        assert_eq!(offset_of!(IfBReq, ifbr_ifsflags), 16);
        assert_eq!(offset_of!(IfBReq, ifbr_portno), 28);
        assert_eq!(offset_of!(IfBReq, ifbr_state), 32);
        assert_eq!(offset_of!(IfBReq, ifbr_addrcnt), 36);
        assert_eq!(offset_of!(IfBReq, ifbr_addrexceeded), 44);
        assert_eq!(offset_of!(IfBReq, tail), 48);
        assert_eq!(size_of::<IfBifConf>(), 16);
        assert_eq!(size_of::<SockaddrIn>(), 16);
        assert_eq!(offset_of!(SockaddrIn, sin_addr), 4);
        assert_eq!(size_of::<SockaddrIn6>(), 28);
        assert_eq!(offset_of!(SockaddrIn6, sin6_addr), 8);
        assert_eq!(offset_of!(SockaddrIn6, sin6_scope_id), 24);
        assert_eq!(size_of::<InAliasReq>(), 68);
        assert_eq!(offset_of!(InAliasReq, ifra_addr), 16);
        assert_eq!(offset_of!(InAliasReq, ifra_broadaddr), 32);
        assert_eq!(offset_of!(InAliasReq, ifra_mask), 48);
        assert_eq!(offset_of!(InAliasReq, ifra_vhid), 64);
        assert_eq!(size_of::<In6AddrLifetime>(), 24);
        assert_eq!(size_of::<In6AliasReq>(), 136);
        assert_eq!(offset_of!(In6AliasReq, ifra_prefixmask), 72);
        assert_eq!(offset_of!(In6AliasReq, ifra_flags), 100);
        assert_eq!(offset_of!(In6AliasReq, ifra_lifetime), 104);
        assert_eq!(offset_of!(In6AliasReq, ifra_vhid), 128);
        assert_eq!(size_of::<In6IfReq>(), 288);
        assert_eq!(size_of::<RtMetrics>(), 112);
        assert_eq!(size_of::<RtMsghdr>(), 152);
        assert_eq!(offset_of!(RtMsghdr, rtm_flags), 8);
        assert_eq!(offset_of!(RtMsghdr, rtm_seq), 20);
        assert_eq!(offset_of!(RtMsghdr, rtm_inits), 32);
        assert_eq!(offset_of!(RtMsghdr, rtm_rmx), 40);
    }

    #[test]
    fn no_implicit_padding() {
        // Wire::as_bytes relies on this: size == sum of the fields' sizes.
        assert_eq!(size_of::<IfBReq>(), 16 + 3 * 4 + 5 + 3 + 3 * 4 + 32);
        assert_eq!(size_of::<IfBifConf>(), 4 + 4 + 8);
        assert_eq!(size_of::<InAliasReq>(), 16 + 3 * 16 + 4);
        assert_eq!(size_of::<In6AddrLifetime>(), 8 + 8 + 4 + 4);
        assert_eq!(size_of::<In6AliasReq>(), 16 + 3 * 28 + 4 + 24 + 4 + 4);
        assert_eq!(size_of::<In6IfReq>(), 16 + 272);
        assert_eq!(size_of::<RtMsghdr>(), 2 + 1 + 1 + 2 + 2 + 6 * 4 + 8 + 112);
        assert_eq!(size_of::<SockaddrIn6>(), 1 + 1 + 2 + 4 + 16 + 4);
        assert_eq!(size_of::<IfDrv>(), 16 + 3 * 8);
    }

    #[test]
    fn ioctl_numbers_match_facts() {
        assert_eq!(SIOCSIFFLAGS, 0x8020_6910);
        assert_eq!(SIOCGIFFLAGS, 0xc020_6911);
        assert_eq!(SIOCDIFADDR, 0x8020_6919);
        assert_eq!(SIOCGIFINDEX, 0xc020_6920);
        assert_eq!(SIOCSIFNAME, 0x8020_6928);
        assert_eq!(SIOCSIFDESCR, 0x8020_6929);
        assert_eq!(SIOCGIFDESCR, 0xc020_692a);
        assert_eq!(SIOCAIFADDR, 0x8044_692b);
        assert_eq!(SIOCGIFALIAS, 0xc044_692d);
        assert_eq!(SIOCSIFVNET, 0xc020_695a);
        assert_eq!(SIOCSIFRVNET, 0xc020_695b);
        assert_eq!(SIOCIFDESTROY, 0x8020_6979);
        assert_eq!(SIOCIFCREATE, 0xc020_697a);
        assert_eq!(SIOCSDRVSPEC, 0x8028_697b);
        assert_eq!(SIOCGDRVSPEC, 0xc028_697b);
        assert_eq!(SIOCIFCREATE2, 0xc020_697c);
        // Computed from the headers with zig cc (not in the facts table).
        assert_eq!(SIOCAIFADDR_IN6, 0x8088_691b);
        assert_eq!(SIOCDIFADDR_IN6, 0x8120_6919);
    }

    #[test]
    fn union_views() {
        let mut r = IfReq::named(&IfName::new("epair0b").unwrap());
        r.set_jid(253);
        assert_eq!(&r.ifr_ifru.0[..4], &253i32.to_ne_bytes());
        assert_eq!(r.jid(), 253);
        r.ifr_ifru.0[..4].copy_from_slice(&[0x43, 0x88, 0x02, 0x00]);
        assert_eq!(r.flags(), 0x0002_8843);
        r.set_flags(0x0002_8843 | IFF_UP);
        assert_eq!(r.flags(), 0x0002_8843);
        r.set_flags(0x1234_0001);
        assert_eq!(&r.ifr_ifru.0[..4], &[0x01, 0x00, 0x34, 0x12]);
        r.set_buffer(9, 0xdead_beef);
        assert_eq!((r.buffer_length(), r.buffer()), (9, 0xdead_beef));
        r.set_data(0x1000);
        assert_eq!(r.data(), 0x1000);
        r.set_addr(SockaddrIn::new(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(
            &r.ifr_ifru.0[..8],
            &[16, 2, 0, 0, 10, 0, 0, 2],
            "sockaddr_in view"
        );
        assert_eq!(r.addr().addr(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(r.name(), b"epair0b");
    }

    #[test]
    fn in_aliasreq_bytes() {
        let r = InAliasReq::new(
            &IfName::new("epair0b").unwrap(),
            Ipv4Addr::new(10, 0, 0, 2),
            24,
        );
        let b = r.as_bytes();
        assert_eq!(b.len(), 68);
        assert_eq!(&b[..8], b"epair0b\0");
        assert_eq!(&b[16..24], &[16, 2, 0, 0, 10, 0, 0, 2]);
        assert_eq!(&b[32..48], &[0; 16], "broadcast absent (sin_len 0)");
        assert_eq!(&b[48..56], &[16, 2, 0, 0, 255, 255, 255, 0]);
        assert_eq!(InAliasReq::from_bytes(b), Some(r));
        assert_eq!(InAliasReq::from_bytes(&b[1..]), None);
    }

    #[test]
    fn in6_requests() {
        let n = IfName::new("epair0b").unwrap();
        let a: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let r = In6AliasReq::new(&n, a, 64);
        let b = r.as_bytes();
        assert_eq!(&b[16..18], &[28, 28]);
        assert_eq!(&b[24..40], &a.octets());
        assert_eq!(&b[72..74], &[28, 28]);
        assert_eq!(
            &b[80..96],
            &[0xff; 8].iter().chain(&[0; 8]).copied().collect::<Vec<_>>()[..]
        );
        assert_eq!(&b[120..128], &[0xff; 8], "infinite vltime/pltime");
        let d = In6IfReq::new(&n, a);
        assert_eq!(&d.as_bytes()[16..18], &[28, 28]);
        assert_eq!(&d.as_bytes()[24..40], &a.octets());
    }

    #[test]
    fn masks() {
        assert_eq!(SockaddrIn::mask(0).addr(), Ipv4Addr::UNSPECIFIED);
        assert_eq!(SockaddrIn::mask(8).addr(), Ipv4Addr::new(255, 0, 0, 0));
        assert_eq!(
            SockaddrIn::mask(31).addr(),
            Ipv4Addr::new(255, 255, 255, 254)
        );
        assert_eq!(SockaddrIn::mask(32).addr(), Ipv4Addr::BROADCAST);
        assert_eq!(SockaddrIn6::mask(0).addr(), Ipv6Addr::UNSPECIFIED);
        assert_eq!(
            SockaddrIn6::mask(64).addr(),
            "ffff:ffff:ffff:ffff::".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(SockaddrIn6::mask(128).addr().octets(), [0xff; 16]);
    }

    #[test]
    fn sa_size_rounds_to_long() {
        assert_eq!(sa_size(0), 8);
        assert_eq!(sa_size(8), 8);
        assert_eq!(sa_size(16), 16);
        assert_eq!(sa_size(28), 32);
    }

    #[test]
    fn bridge_request() {
        let r = IfBReq::new(&IfName::new("epair253a").unwrap());
        assert_eq!(&r.as_bytes()[..10], b"epair253a\0");
        assert!(r.as_bytes()[16..].iter().all(|&b| b == 0));
        assert_eq!(r.name(), b"epair253a");
        let d = IfDrv::new(&IfName::new("bridge0").unwrap(), BRDGADD, 80, 0x1000);
        assert_eq!(&d.as_bytes()[24..32], &80u64.to_ne_bytes());
    }
}
