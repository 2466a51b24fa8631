//! PF_ROUTE messages (route(4)): `struct rt_msghdr` followed by sockaddrs in `RTA_*` bit order,
//! each padded to `SA_SIZE`.

use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::wire::{
    RTA_DST, RTA_GATEWAY, RTA_NETMASK, RTF_GATEWAY, RTF_STATIC, RTF_UP, RTM_ADD, RTM_DELETE,
    RTM_VERSION, RtMsghdr, SockaddrIn, SockaddrIn6, Wire, sa_size,
};

/// Whether a routing message adds or deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAction {
    /// `RTM_ADD` (`route add`).
    Add,
    /// `RTM_DELETE` (`route delete`).
    Delete,
}

impl RouteAction {
    /// The `rtm_type` value.
    pub fn rtm_type(self) -> u8 {
        match self {
            RouteAction::Add => RTM_ADD,
            RouteAction::Delete => RTM_DELETE,
        }
    }
}

/// The address family of a routing table (`route -4` / `route -6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `AF_INET`: the IPv4 table.
    Inet,
    /// `AF_INET6`: the IPv6 table.
    Inet6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    /// The unspecified address of this family (`0.0.0.0` or `::`) as a routing sockaddr.
    fn unspecified(self) -> RouteAddr {
        match self {
            Family::Inet => RouteAddr::V4(SockaddrIn::new(Ipv4Addr::UNSPECIFIED)),
            Family::Inet6 => RouteAddr::V6(SockaddrIn6::new(Ipv6Addr::UNSPECIFIED)),
        }
    }
}

/// A sockaddr inside a routing message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAddr {
    /// `sockaddr_in` (16 bytes on the wire).
    V4(SockaddrIn),
    /// `sockaddr_in6` (28 bytes, padded to 32).
    V6(SockaddrIn6),
}

impl RouteAddr {
    fn bytes(&self) -> &[u8] {
        match self {
            RouteAddr::V4(s) => s.as_bytes(),
            RouteAddr::V6(s) => s.as_bytes(),
        }
    }
}

/// The largest routing message this crate builds (header + three `sockaddr_in6`).
pub const MAX_ROUTE_MSG: usize = size_of::<RtMsghdr>() + 3 * sa_size(28);

/// A routing message: what `route add|delete <dst>/<mask> <gateway>` writes to the routing socket.
///
/// ```
/// use freebsd_netif::route::{RouteAction, RouteMessage};
/// let m = RouteMessage::default_route(RouteAction::Add, "10.0.0.1".parse().unwrap(), 1);
/// let b = m.encode();
/// assert_eq!(b.len(), 200);
/// assert_eq!(&b[..4], &[200, 0, 5, 1]); // msglen (LE), RTM_VERSION, RTM_ADD
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMessage {
    /// Add or delete.
    pub action: RouteAction,
    /// `rtm_flags`.
    pub flags: i32,
    /// `rtm_seq`.
    pub seq: i32,
    /// `RTA_DST`.
    pub dst: RouteAddr,
    /// `RTA_GATEWAY`, if any.
    pub gateway: Option<RouteAddr>,
    /// `RTA_NETMASK`, if any (without it the kernel treats `dst` as a host route).
    pub netmask: Option<RouteAddr>,
}

impl RouteMessage {
    /// `route add|delete default <gateway>`: destination 0.0.0.0 (or ::) with an all-zero netmask
    /// and `RTF_UP | RTF_GATEWAY | RTF_STATIC`, as route(8) sends it. The zero netmask is sent as a
    /// full-length sockaddr: the kernel's `cleanup_xaddrs_inet`/`cleanup_xaddrs_inet6`
    /// (sys/net/rtsock.c) mask the destination with it and keep it as a 0-length prefix, i.e. a
    /// default route. route(8) trims the mask to a short `sa_len`, which most versions accept
    /// but one intermediate rtsock.c rejected with `EINVAL` ("mask sin_len too small"), so the
    /// full-length form is the one every version takes.
    pub fn default_route(action: RouteAction, gateway: IpAddr, seq: i32) -> RouteMessage {
        let family = Family::of(gateway);
        let gw = match gateway {
            IpAddr::V4(g) => RouteAddr::V4(SockaddrIn::new(g)),
            IpAddr::V6(g) => RouteAddr::V6(SockaddrIn6::new(g)),
        };
        RouteMessage {
            action,
            flags: RTF_UP | RTF_GATEWAY | RTF_STATIC,
            seq,
            dst: family.unspecified(),
            gateway: Some(gw),
            netmask: Some(family.unspecified()),
        }
    }

    /// `route [-6] delete default` without naming the gateway: `RTM_DELETE` of the destination
    /// `0.0.0.0` (or `::`) with the all-zero netmask (`RTA_DST | RTA_NETMASK`), flags
    /// `RTF_UP | RTF_STATIC`, as route(8) sends it when no gateway is given. The kernel
    /// (`rib_del_route` in sys/net/route/route_ctl.c) only filters by gateway when one is sent, so
    /// this removes the default route whatever its gateway; `ESRCH` when there is none.
    ///
    /// ```
    /// use freebsd_netif::route::{Family, RouteMessage};
    /// let b = RouteMessage::delete_default(Family::Inet6, 1).encode();
    /// assert_eq!(b.len(), 152 + 2 * 32);
    /// assert_eq!(b[3], 2); // RTM_DELETE
    /// ```
    pub fn delete_default(family: Family, seq: i32) -> RouteMessage {
        RouteMessage {
            action: RouteAction::Delete,
            flags: RTF_UP | RTF_STATIC,
            seq,
            dst: family.unspecified(),
            gateway: None,
            netmask: Some(family.unspecified()),
        }
    }

    /// `rtm_addrs`: the `RTA_*` bits of the sockaddrs present.
    pub fn addrs(&self) -> i32 {
        RTA_DST
            | if self.gateway.is_some() {
                RTA_GATEWAY
            } else {
                0
            }
            | if self.netmask.is_some() {
                RTA_NETMASK
            } else {
                0
            }
    }

    /// The total length in bytes.
    pub fn len(&self) -> usize {
        size_of::<RtMsghdr>()
            + [Some(self.dst), self.gateway, self.netmask]
                .iter()
                .flatten()
                .map(|a| sa_size(a.bytes().len()))
                .sum::<usize>()
    }

    /// Never empty (there is always a header); present for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The bytes to `write(2)` to a `socket(PF_ROUTE, SOCK_RAW, 0)`.
    pub fn encode(&self) -> Vec<u8> {
        let len = self.len();
        let hdr = RtMsghdr {
            rtm_msglen: len as u16,
            rtm_version: RTM_VERSION,
            rtm_type: self.action.rtm_type(),
            rtm_flags: self.flags,
            rtm_addrs: self.addrs(),
            rtm_seq: self.seq,
            ..RtMsghdr::default()
        };
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(hdr.as_bytes());
        // RTA bit order: DST (0x1), GATEWAY (0x2), NETMASK (0x4).
        for a in [Some(self.dst), self.gateway, self.netmask]
            .iter()
            .flatten()
        {
            let b = a.bytes();
            out.extend_from_slice(b);
            out.resize(out.len() + sa_size(b.len()) - b.len(), 0);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FREEBSD-FACTS §3.9: the default route message, byte for byte (amd64, little-endian).
    #[test]
    fn default_route_byte_for_byte() {
        let b =
            RouteMessage::default_route(RouteAction::Add, "10.0.0.1".parse().unwrap(), 1).encode();
        let mut want = vec![0u8; 200];
        want[0..2].copy_from_slice(&200u16.to_le_bytes()); // rtm_msglen
        want[2] = 5; // RTM_VERSION
        want[3] = 1; // RTM_ADD
        want[8..12].copy_from_slice(&0x803i32.to_le_bytes()); // RTF_UP|RTF_GATEWAY|RTF_STATIC
        want[12..16].copy_from_slice(&7i32.to_le_bytes()); // RTA_DST|RTA_GATEWAY|RTA_NETMASK
        want[20..24].copy_from_slice(&1i32.to_le_bytes()); // rtm_seq
        want[152..160].copy_from_slice(&[16, 2, 0, 0, 0, 0, 0, 0]); // dst 0.0.0.0
        want[168..176].copy_from_slice(&[16, 2, 0, 0, 10, 0, 0, 1]); // gateway 10.0.0.1
        want[184..192].copy_from_slice(&[16, 2, 0, 0, 0, 0, 0, 0]); // netmask 0
        assert_eq!(b, want);
    }

    #[test]
    fn delete_and_v6() {
        let d = RouteMessage::default_route(RouteAction::Delete, "10.0.0.1".parse().unwrap(), 9)
            .encode();
        assert_eq!(d[3], RTM_DELETE);
        assert_eq!(&d[20..24], &9i32.to_le_bytes());
        let m = RouteMessage::default_route(RouteAction::Add, "2001:db8::1".parse().unwrap(), 2);
        let b = m.encode();
        assert_eq!(b.len(), 152 + 3 * 32);
        assert_eq!(b.len(), MAX_ROUTE_MSG);
        assert_eq!(&b[0..2], &248u16.to_le_bytes());
        assert_eq!(&b[152..154], &[28, 28]);
        assert_eq!(&b[180..184], &[0; 4], "sockaddr_in6 padded from 28 to 32");
        assert_eq!(&b[184..186], &[28, 28]);
        assert_eq!(
            &b[192..208],
            &"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets()
        );
    }

    /// The gateway-less delete, byte for byte for both families.
    #[test]
    fn delete_default_without_gateway() {
        let b = RouteMessage::delete_default(Family::Inet, 3).encode();
        let mut want = vec![0u8; 184];
        want[0..2].copy_from_slice(&184u16.to_le_bytes());
        want[2] = 5; // RTM_VERSION
        want[3] = 2; // RTM_DELETE
        want[8..12].copy_from_slice(&0x801i32.to_le_bytes()); // RTF_UP|RTF_STATIC
        want[12..16].copy_from_slice(&5i32.to_le_bytes()); // RTA_DST|RTA_NETMASK
        want[20..24].copy_from_slice(&3i32.to_le_bytes());
        want[152..154].copy_from_slice(&[16, 2]); // dst 0.0.0.0
        want[168..170].copy_from_slice(&[16, 2]); // netmask 0
        assert_eq!(b, want);

        let b6 = RouteMessage::delete_default(Family::Inet6, 4).encode();
        assert_eq!(b6.len(), 216);
        assert_eq!(&b6[0..4], &[216, 0, 5, 2]);
        assert_eq!(&b6[12..16], &5i32.to_le_bytes());
        assert_eq!(
            &b6[152..154],
            &[28, 28],
            "dst :: (sin6_len 28, AF_INET6 28)"
        );
        assert_eq!(&b6[154..184], &[0; 30]);
        assert_eq!(&b6[184..186], &[28, 28], "netmask ::");
        assert_eq!(&b6[186..216], &[0; 30]);
        assert_eq!(Family::of("::1".parse().unwrap()), Family::Inet6);
        assert_eq!(Family::of("10.0.0.1".parse().unwrap()), Family::Inet);
    }

    #[test]
    fn optional_addrs() {
        let m = RouteMessage {
            gateway: None,
            netmask: None,
            ..RouteMessage::default_route(RouteAction::Add, "10.0.0.1".parse().unwrap(), 1)
        };
        assert_eq!(m.addrs(), RTA_DST);
        assert_eq!(m.encode().len(), 168);
        assert!(!m.is_empty());
    }
}
