//! The FreeBSD ABI values this crate defines by hand, for the CI check against FreeBSD's headers
//! (`tools/abigen` turns them into C `_Static_assert`s compiled for `x86_64-freebsd`).

use crate::wire::*;
use std::mem::{offset_of, size_of};

/// Headers that define the values in [`facts`], in include order.
pub const HEADERS: &[&str] = &[
    "sys/socket.h",
    "sys/sockio.h",
    "net/if.h",
    "net/route.h",
    "net/ethernet.h",
    "net/if_bridgevar.h",
    "netinet/in.h",
    "netinet/in_var.h",
    "netinet6/in6_var.h",
    "netinet6/nd6.h",
];

/// `(C expression, the value this crate uses)` pairs.
pub fn facts() -> Vec<(String, u64)> {
    let v = |e: &str, x: usize| (e.to_string(), x as u64);
    let n = |e: &str, x: u64| (e.to_string(), x);
    vec![
        v("IFNAMSIZ", IFNAMSIZ),
        v("IOCPARM_MASK", IOCPARM_MASK as usize),
        n("IOC_VOID", IOC_VOID as u64),
        n("IOC_OUT", IOC_OUT as u64),
        n("IOC_IN", IOC_IN as u64),
        n("IOC_INOUT", IOC_INOUT as u64),
        // struct ifreq
        v("sizeof(struct ifreq)", size_of::<IfReq>()),
        v(
            "offsetof(struct ifreq, ifr_ifru)",
            offset_of!(IfReq, ifr_ifru),
        ),
        v(
            "offsetof(struct ifreq, ifr_flags)",
            offset_of!(IfReq, ifr_ifru),
        ),
        v(
            "offsetof(struct ifreq, ifr_flagshigh)",
            offset_of!(IfReq, ifr_ifru) + 2,
        ),
        v(
            "offsetof(struct ifreq, ifr_jid)",
            offset_of!(IfReq, ifr_ifru),
        ),
        v(
            "offsetof(struct ifreq, ifr_data)",
            offset_of!(IfReq, ifr_ifru),
        ),
        v(
            "offsetof(struct ifreq, ifr_addr)",
            offset_of!(IfReq, ifr_ifru),
        ),
        v(
            "offsetof(struct ifreq, ifr_buffer.length)",
            offset_of!(IfReq, ifr_ifru),
        ),
        v(
            "offsetof(struct ifreq, ifr_buffer.buffer)",
            offset_of!(IfReq, ifr_ifru) + 8,
        ),
        // struct ifdrv
        v("sizeof(struct ifdrv)", size_of::<IfDrv>()),
        v(
            "offsetof(struct ifdrv, ifd_cmd)",
            offset_of!(IfDrv, ifd_cmd),
        ),
        v(
            "offsetof(struct ifdrv, ifd_len)",
            offset_of!(IfDrv, ifd_len),
        ),
        v(
            "offsetof(struct ifdrv, ifd_data)",
            offset_of!(IfDrv, ifd_data),
        ),
        // struct ifbreq (14 and 15 agree on everything up to ifbr_addrexceeded and the size)
        v("sizeof(struct ifbreq)", size_of::<IfBReq>()),
        v(
            "offsetof(struct ifbreq, ifbr_ifsflags)",
            offset_of!(IfBReq, ifbr_ifsflags),
        ),
        v(
            "offsetof(struct ifbreq, ifbr_stpflags)",
            offset_of!(IfBReq, ifbr_stpflags),
        ),
        v(
            "offsetof(struct ifbreq, ifbr_path_cost)",
            offset_of!(IfBReq, ifbr_path_cost),
        ),
        v(
            "offsetof(struct ifbreq, ifbr_portno)",
            offset_of!(IfBReq, ifbr_portno),
        ),
        v(
            "offsetof(struct ifbreq, ifbr_priority)",
            offset_of!(IfBReq, ifbr_priority),
        ),
        v(
            "offsetof(struct ifbreq, ifbr_proto)",
            offset_of!(IfBReq, ifbr_proto),
        ),
        v(
            "offsetof(struct ifbreq, ifbr_role)",
            offset_of!(IfBReq, ifbr_role),
        ),
        v(
            "offsetof(struct ifbreq, ifbr_state)",
            offset_of!(IfBReq, ifbr_state),
        ),
        v(
            "offsetof(struct ifbreq, ifbr_addrcnt)",
            offset_of!(IfBReq, ifbr_addrcnt),
        ),
        v(
            "offsetof(struct ifbreq, ifbr_addrmax)",
            offset_of!(IfBReq, ifbr_addrmax),
        ),
        v(
            "offsetof(struct ifbreq, ifbr_addrexceeded) + sizeof(uint32_t)",
            offset_of!(IfBReq, tail),
        ),
        // struct ifbifconf
        v("sizeof(struct ifbifconf)", size_of::<IfBifConf>()),
        v(
            "offsetof(struct ifbifconf, ifbic_buf)",
            offset_of!(IfBifConf, ifbic_buf),
        ),
        v("BRDGADD", BRDGADD as usize),
        v("BRDGDEL", BRDGDEL as usize),
        v("BRDGGIFFLGS", BRDGGIFFLGS as usize),
        v("BRDGSIFFLGS", BRDGSIFFLGS as usize),
        v("BRDGGIFS", BRDGGIFS as usize),
        v("IFBIF_LEARNING", IFBIF_LEARNING as usize),
        v("IFBIF_DISCOVER", IFBIF_DISCOVER as usize),
        v("IFBIF_STP", IFBIF_STP as usize),
        v("IFBIF_SPAN", IFBIF_SPAN as usize),
        // sockaddrs
        v("AF_INET", AF_INET as usize),
        v("AF_INET6", AF_INET6 as usize),
        v("AF_LINK", AF_LINK as usize),
        v("AF_ROUTE", AF_ROUTE as usize),
        v("PF_ROUTE", AF_ROUTE as usize),
        v("sizeof(struct sockaddr_in)", size_of::<SockaddrIn>()),
        v(
            "offsetof(struct sockaddr_in, sin_family)",
            std::mem::offset_of!(SockaddrIn, sin_family),
        ),
        v(
            "offsetof(struct sockaddr_in, sin_port)",
            offset_of!(SockaddrIn, sin_port),
        ),
        v(
            "offsetof(struct sockaddr_in, sin_addr)",
            offset_of!(SockaddrIn, sin_addr),
        ),
        v(
            "offsetof(struct sockaddr_in, sin_zero)",
            offset_of!(SockaddrIn, sin_zero),
        ),
        v("sizeof(struct sockaddr_in6)", size_of::<SockaddrIn6>()),
        v(
            "offsetof(struct sockaddr_in6, sin6_port)",
            offset_of!(SockaddrIn6, sin6_port),
        ),
        v(
            "offsetof(struct sockaddr_in6, sin6_flowinfo)",
            offset_of!(SockaddrIn6, sin6_flowinfo),
        ),
        v(
            "offsetof(struct sockaddr_in6, sin6_addr)",
            offset_of!(SockaddrIn6, sin6_addr),
        ),
        v(
            "offsetof(struct sockaddr_in6, sin6_scope_id)",
            offset_of!(SockaddrIn6, sin6_scope_id),
        ),
        // address requests
        v("sizeof(struct in_aliasreq)", size_of::<InAliasReq>()),
        v("sizeof(struct ifaliasreq)", size_of::<InAliasReq>()),
        v(
            "offsetof(struct in_aliasreq, ifra_addr)",
            offset_of!(InAliasReq, ifra_addr),
        ),
        v(
            "offsetof(struct in_aliasreq, ifra_broadaddr)",
            offset_of!(InAliasReq, ifra_broadaddr),
        ),
        v(
            "offsetof(struct in_aliasreq, ifra_mask)",
            offset_of!(InAliasReq, ifra_mask),
        ),
        v(
            "offsetof(struct in_aliasreq, ifra_vhid)",
            offset_of!(InAliasReq, ifra_vhid),
        ),
        v(
            "sizeof(struct in6_addrlifetime)",
            size_of::<In6AddrLifetime>(),
        ),
        v(
            "offsetof(struct in6_addrlifetime, ia6t_vltime)",
            offset_of!(In6AddrLifetime, ia6t_vltime),
        ),
        v(
            "offsetof(struct in6_addrlifetime, ia6t_pltime)",
            offset_of!(In6AddrLifetime, ia6t_pltime),
        ),
        v("sizeof(struct in6_aliasreq)", size_of::<In6AliasReq>()),
        v(
            "offsetof(struct in6_aliasreq, ifra_addr)",
            offset_of!(In6AliasReq, ifra_addr),
        ),
        v(
            "offsetof(struct in6_aliasreq, ifra_dstaddr)",
            offset_of!(In6AliasReq, ifra_dstaddr),
        ),
        v(
            "offsetof(struct in6_aliasreq, ifra_prefixmask)",
            offset_of!(In6AliasReq, ifra_prefixmask),
        ),
        v(
            "offsetof(struct in6_aliasreq, ifra_flags)",
            offset_of!(In6AliasReq, ifra_flags),
        ),
        v(
            "offsetof(struct in6_aliasreq, ifra_lifetime)",
            offset_of!(In6AliasReq, ifra_lifetime),
        ),
        v(
            "offsetof(struct in6_aliasreq, ifra_vhid)",
            offset_of!(In6AliasReq, ifra_vhid),
        ),
        v("sizeof(struct in6_ifreq)", size_of::<In6IfReq>()),
        v(
            "offsetof(struct in6_ifreq, ifr_ifru)",
            offset_of!(In6IfReq, ifr_ifru),
        ),
        v(
            "offsetof(struct in6_ifreq, ifr_addr)",
            offset_of!(In6IfReq, ifr_ifru),
        ),
        n("ND6_INFINITE_LIFETIME", ND6_INFINITE_LIFETIME as u64),
        // routing socket
        v("sizeof(struct rt_metrics)", size_of::<RtMetrics>()),
        v("sizeof(struct rt_msghdr)", size_of::<RtMsghdr>()),
        v(
            "offsetof(struct rt_msghdr, rtm_version)",
            offset_of!(RtMsghdr, rtm_version),
        ),
        v(
            "offsetof(struct rt_msghdr, rtm_type)",
            offset_of!(RtMsghdr, rtm_type),
        ),
        v(
            "offsetof(struct rt_msghdr, rtm_index)",
            offset_of!(RtMsghdr, rtm_index),
        ),
        v(
            "offsetof(struct rt_msghdr, rtm_flags)",
            offset_of!(RtMsghdr, rtm_flags),
        ),
        v(
            "offsetof(struct rt_msghdr, rtm_addrs)",
            offset_of!(RtMsghdr, rtm_addrs),
        ),
        v(
            "offsetof(struct rt_msghdr, rtm_pid)",
            offset_of!(RtMsghdr, rtm_pid),
        ),
        v(
            "offsetof(struct rt_msghdr, rtm_seq)",
            offset_of!(RtMsghdr, rtm_seq),
        ),
        v(
            "offsetof(struct rt_msghdr, rtm_errno)",
            offset_of!(RtMsghdr, rtm_errno),
        ),
        v(
            "offsetof(struct rt_msghdr, rtm_fmask)",
            offset_of!(RtMsghdr, rtm_fmask),
        ),
        v(
            "offsetof(struct rt_msghdr, rtm_inits)",
            offset_of!(RtMsghdr, rtm_inits),
        ),
        v(
            "offsetof(struct rt_msghdr, rtm_rmx)",
            offset_of!(RtMsghdr, rtm_rmx),
        ),
        v("RTM_VERSION", RTM_VERSION as usize),
        v("RTM_ADD", RTM_ADD as usize),
        v("RTM_DELETE", RTM_DELETE as usize),
        v("RTM_CHANGE", RTM_CHANGE as usize),
        v("RTM_GET", RTM_GET as usize),
        v("RTF_UP", RTF_UP as usize),
        v("RTF_GATEWAY", RTF_GATEWAY as usize),
        v("RTF_HOST", RTF_HOST as usize),
        v("RTF_STATIC", RTF_STATIC as usize),
        v("RTA_DST", RTA_DST as usize),
        v("RTA_GATEWAY", RTA_GATEWAY as usize),
        v("RTA_NETMASK", RTA_NETMASK as usize),
        v("SA_SIZE(&(struct sockaddr){ .sa_len = 28 })", sa_size(28)),
        v("SA_SIZE(&(struct sockaddr){ .sa_len = 16 })", sa_size(16)),
        v("SA_SIZE(&(struct sockaddr){ .sa_len = 0 })", sa_size(0)),
        // flags
        v("IFF_UP", IFF_UP as usize),
        v("IFF_BROADCAST", IFF_BROADCAST as usize),
        v("IFF_LOOPBACK", IFF_LOOPBACK as usize),
        v("IFF_RUNNING", IFF_RUNNING as usize),
        v("IFF_PROMISC", IFF_PROMISC as usize),
        v("IFF_MULTICAST", IFF_MULTICAST as usize),
        // ioctl numbers
        n("SIOCSIFFLAGS", SIOCSIFFLAGS as u64),
        n("SIOCGIFFLAGS", SIOCGIFFLAGS as u64),
        n("SIOCDIFADDR", SIOCDIFADDR as u64),
        n("SIOCDIFADDR_IN6", SIOCDIFADDR_IN6 as u64),
        n("SIOCAIFADDR_IN6", SIOCAIFADDR_IN6 as u64),
        n("SIOCGIFINDEX", SIOCGIFINDEX as u64),
        n("SIOCSIFNAME", SIOCSIFNAME as u64),
        n("SIOCSIFDESCR", SIOCSIFDESCR as u64),
        n("SIOCGIFDESCR", SIOCGIFDESCR as u64),
        n("SIOCAIFADDR", SIOCAIFADDR as u64),
        n("SIOCGIFALIAS", SIOCGIFALIAS as u64),
        n("SIOCSIFVNET", SIOCSIFVNET as u64),
        n("SIOCSIFRVNET", SIOCSIFRVNET as u64),
        n("SIOCIFDESTROY", SIOCIFDESTROY as u64),
        n("SIOCIFCREATE", SIOCIFCREATE as u64),
        n("SIOCSDRVSPEC", SIOCSDRVSPEC as u64),
        n("SIOCGDRVSPEC", SIOCGDRVSPEC as u64),
        n("SIOCIFCREATE2", SIOCIFCREATE2 as u64),
    ]
}
