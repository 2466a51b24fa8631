//! FreeBSD network interface configuration through ioctls and the routing socket — what the VNET
//! jail recipe does with `ifconfig epair create`, `ifconfig bridge addm`, `ifconfig … vnet`,
//! `ifconfig … inet` and `route add default`, without forking either tool.
//!
//! The crate has a portable half, compiled and tested on every OS:
//! - [`IfName`]: a validated interface name (≤ 15 bytes, printable ASCII, no whitespace or `/`);
//! - [`JailPairNames`]: short deterministic epair names derived from a jail's name;
//! - [`wire`]: `#[repr(C)]` mirrors of `ifreq`, `ifdrv`, `ifbreq`, `in_aliasreq`, `in6_aliasreq`,
//!   `sockaddr_in`/`sockaddr_in6`, `rt_msghdr`, and the ioctl numbers computed by `const fn`;
//! - [`route`]: routing-message builder (route(4));
//! - [`jailops`]: the pre-encoded operation list run inside a jail's vnet, and its result records;
//! - [`Error`]: typed errors naming the interface.
//!
//! and a FreeBSD half (`Netif`, `#[cfg(target_os = "freebsd")]`) that makes the calls.
//!
//! ```
//! use freebsd_netif::{IfName, wire::{IfReq, SIOCIFCREATE2}};
//! assert_eq!(std::mem::size_of::<IfReq>(), 32);
//! assert_eq!(SIOCIFCREATE2, 0xc020_697c);
//! assert!(IfName::new("epair0a").is_ok());
//! ```

pub mod abi;
mod error;
pub mod jailops;
mod name;
pub mod route;
#[cfg(target_os = "freebsd")]
mod sys;
pub mod wire;

pub use error::{Error, Op, Result};
pub use ipnet::{IpNet, Ipv4Net, Ipv6Net};
pub use name::{IfName, IfNameError, JailPairNames, MAX_SALTS, fnv1a32};
#[cfg(target_os = "freebsd")]
pub use sys::Netif;

/// The two ends of an epair (if_epair(4)): `a` stays on the host, `b` usually goes into a jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epair {
    /// The host side, e.g. `epair3a`.
    pub a: IfName,
    /// The other side, e.g. `epair3b`.
    pub b: IfName,
}

impl Epair {
    /// The pair for the `a` side name the kernel returned from `SIOCIFCREATE2` (`epair<N>a` ->
    /// `epair<N>b`); `None` if the name does not end in `a`.
    ///
    /// ```
    /// use freebsd_netif::{Epair, IfName};
    /// let p = Epair::from_a_side(IfName::new("epair12a").unwrap()).unwrap();
    /// assert_eq!(p.b.as_str(), "epair12b");
    /// ```
    pub fn from_a_side(a: IfName) -> Option<Epair> {
        let s = a.as_str();
        let stem = s.strip_suffix('a')?;
        let b = IfName::new(&format!("{stem}b")).ok()?;
        Some(Epair { a, b })
    }
}

/// One member of a bridge, as `BRDGGIFS` reports it (if_bridge(4)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeMember {
    /// The member interface.
    pub name: IfName,
    /// `IFBIF_*` flags (learning, discover, stp, span…).
    pub flags: u32,
}

/// An interface and its IP addresses, as `getifaddrs(3)` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The name.
    pub name: IfName,
    /// `IFF_*` flags.
    pub flags: u32,
    /// IPv4 and IPv6 addresses with their prefix lengths.
    pub addrs: Vec<IpNet>,
}

impl Interface {
    /// Whether `IFF_UP` is set.
    pub fn is_up(&self) -> bool {
        self.flags & wire::IFF_UP != 0
    }
}

/// Prefix length of a netmask given as bytes (counts leading one bits; a non-contiguous mask
/// counts up to its first zero bit).
///
/// ```
/// assert_eq!(freebsd_netif::mask_prefix(&[255, 255, 255, 0]), 24);
/// ```
pub fn mask_prefix(mask: &[u8]) -> u8 {
    let mut n = 0u8;
    for &b in mask {
        if b == 0xff {
            n += 8;
        } else {
            n += b.leading_ones() as u8;
            break;
        }
    }
    n
}
