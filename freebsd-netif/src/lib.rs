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
pub use sys::{Netif, load_driver};

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

/// Decodes a kernel sockaddr (`sockaddr_in` or `sockaddr_in6`, as getifaddrs(3) returns them, the
/// first byte being `sa_len`) and its netmask sockaddr into an address with prefix length. The
/// kernel may shorten a netmask's `sa_len`; missing bytes count as zero. `None` for other
/// families or malformed input.
///
/// ```
/// use freebsd_netif::sockaddr_to_net;
/// let addr = [16, 2, 0, 0, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0];
/// let mask = [7, 2, 0, 0, 255, 255, 255]; // a shortened /24 mask
/// assert_eq!(sockaddr_to_net(&addr, &mask).unwrap().to_string(), "10.0.0.2/24");
/// ```
pub fn sockaddr_to_net(addr: &[u8], mask: &[u8]) -> Option<IpNet> {
    use wire::Wire;
    let field = |from: usize, to: usize| mask.get(from..mask.len().min(to)).unwrap_or(&[]);
    match addr.get(1).copied()? {
        wire::AF_INET => {
            let sin = wire::SockaddrIn::from_bytes(addr.get(..16)?)?;
            Ipv4Net::new(sin.addr(), mask_prefix(field(4, 8)))
                .ok()
                .map(IpNet::V4)
        }
        wire::AF_INET6 => {
            let sin6 = wire::SockaddrIn6::from_bytes(addr.get(..28)?)?;
            Ipv6Net::new(sin6.addr(), mask_prefix(field(8, 24)))
                .ok()
                .map(IpNet::V6)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::{SockaddrIn, SockaddrIn6, Wire};

    #[test]
    fn sockaddrs_to_nets() {
        let a = SockaddrIn::new("192.168.1.5".parse().unwrap());
        let m = SockaddrIn::mask(20);
        assert_eq!(
            sockaddr_to_net(a.as_bytes(), m.as_bytes())
                .unwrap()
                .to_string(),
            "192.168.1.5/20"
        );
        // No mask at all: a /0 (what an absent netmask means here).
        assert_eq!(
            sockaddr_to_net(a.as_bytes(), &[]).unwrap().to_string(),
            "192.168.1.5/0"
        );
        let a6 = SockaddrIn6::new("2001:db8::7".parse().unwrap());
        let m6 = SockaddrIn6::mask(64);
        assert_eq!(
            sockaddr_to_net(a6.as_bytes(), m6.as_bytes())
                .unwrap()
                .to_string(),
            "2001:db8::7/64"
        );
        assert_eq!(
            sockaddr_to_net(a6.as_bytes(), SockaddrIn6::mask(128).as_bytes())
                .unwrap()
                .prefix_len(),
            128
        );
        // AF_LINK, truncated and empty input are not IP networks.
        assert_eq!(sockaddr_to_net(&[20, wire::AF_LINK, 0, 0], &[]), None);
        assert_eq!(sockaddr_to_net(&a.as_bytes()[..8], &[]), None);
        assert_eq!(sockaddr_to_net(&[], &[]), None);
    }

    #[test]
    fn mask_prefixes() {
        assert_eq!(mask_prefix(&[]), 0);
        assert_eq!(mask_prefix(&[255, 255, 255, 255]), 32);
        assert_eq!(mask_prefix(&[255, 254, 0, 0]), 15);
        assert_eq!(mask_prefix(&[255, 0, 255, 0]), 8);
        assert_eq!(mask_prefix(&[0xff; 16]), 128);
    }

    #[test]
    fn epair_sides() {
        let p = Epair::from_a_side(IfName::new("epair0a").unwrap()).unwrap();
        assert_eq!(p.b.as_str(), "epair0b");
        assert!(Epair::from_a_side(IfName::new("bridge0").unwrap()).is_none());
        let i = Interface {
            name: IfName::new("lo0").unwrap(),
            flags: wire::IFF_UP | wire::IFF_LOOPBACK,
            addrs: vec![],
        };
        assert!(i.is_up());
    }
}
