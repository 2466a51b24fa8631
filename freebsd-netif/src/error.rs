//! The error type of every interface operation; each variant names the interface (or route, or
//! jail) concerned and keeps the errno.

use std::io;

use crate::name::IfNameError;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which operation failed (the ioctl, socket write or system call), to name it in errors and to
/// interpret its errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `SIOCIFCREATE2`.
    Create,
    /// `SIOCIFDESTROY`.
    Destroy,
    /// `SIOCGIFFLAGS`.
    GetFlags,
    /// `SIOCSIFFLAGS`.
    SetFlags,
    /// `SIOCSIFDESCR`.
    SetDescription,
    /// `SIOCGIFDESCR`.
    GetDescription,
    /// `SIOCSIFNAME`.
    Rename,
    /// `SIOCSDRVSPEC` + `BRDGADD`.
    BridgeAdd,
    /// `SIOCSDRVSPEC` + `BRDGDEL`.
    BridgeDelete,
    /// `SIOCGDRVSPEC` + `BRDGGIFS`.
    BridgeMembers,
    /// `SIOCSIFVNET`.
    MoveToJail,
    /// `SIOCSIFRVNET`.
    TakeBack,
    /// `SIOCAIFADDR` / `SIOCAIFADDR_IN6`.
    AddAddress,
    /// `SIOCDIFADDR` / `SIOCDIFADDR_IN6`.
    DeleteAddress,
    /// `write(2)` of `RTM_ADD` to the routing socket.
    AddRoute,
    /// `write(2)` of `RTM_DELETE` to the routing socket.
    DeleteRoute,
    /// `socket(2)`.
    Socket,
    /// `getifaddrs(3)`.
    List,
    /// `kldload(2)` of an interface driver module.
    LoadDriver,
}

impl Op {
    /// The ioctl or call, as the man pages name it.
    pub fn call(self) -> &'static str {
        match self {
            Op::Create => "SIOCIFCREATE2",
            Op::Destroy => "SIOCIFDESTROY",
            Op::GetFlags => "SIOCGIFFLAGS",
            Op::SetFlags => "SIOCSIFFLAGS",
            Op::SetDescription => "SIOCSIFDESCR",
            Op::GetDescription => "SIOCGIFDESCR",
            Op::Rename => "SIOCSIFNAME",
            Op::BridgeAdd => "SIOCSDRVSPEC(BRDGADD)",
            Op::BridgeDelete => "SIOCSDRVSPEC(BRDGDEL)",
            Op::BridgeMembers => "SIOCGDRVSPEC(BRDGGIFS)",
            Op::MoveToJail => "SIOCSIFVNET",
            Op::TakeBack => "SIOCSIFRVNET",
            Op::AddAddress => "SIOCAIFADDR",
            Op::DeleteAddress => "SIOCDIFADDR",
            Op::AddRoute => "RTM_ADD",
            Op::DeleteRoute => "RTM_DELETE",
            Op::Socket => "socket",
            Op::List => "getifaddrs",
            Op::LoadDriver => "kldload",
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.call())
    }
}

/// An interface operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name given by the caller is not a valid interface name (nothing was changed).
    #[error(transparent)]
    InvalidName(#[from] IfNameError),
    /// Other invalid input, caught before anything changed.
    #[error("{what}: {reason}")]
    InvalidInput {
        /// The object concerned.
        what: String,
        /// Why it is rejected.
        reason: String,
    },
    /// `ENXIO` (or `ENOENT` for a bridge member): the interface does not exist in this vnet.
    #[error("{name}: {op}: no such interface")]
    NoSuchInterface {
        /// The interface.
        name: String,
        /// The operation.
        op: Op,
    },
    /// `EEXIST`: an interface with this name already exists.
    #[error("{name}: {op}: an interface with this name already exists")]
    Exists {
        /// The interface name that is taken.
        name: String,
        /// The operation.
        op: Op,
    },
    /// `ENAMETOOLONG` (or `ENOSPC` from the epair cloner): the resulting name does not fit in 15
    /// bytes, or a description exceeds `net.ifdescr_maxlen`.
    #[error("{name}: {op}: name or description too long")]
    NameTooLong {
        /// The interface.
        name: String,
        /// The operation.
        op: Op,
    },
    /// `EINVAL` from `SIOCIFCREATE2`: no cloner by that name (module not loaded?).
    #[error("{name}: no such interface cloner (is the driver loaded? see ifconfig -C)")]
    NoSuchCloner {
        /// The cloner name asked for.
        name: String,
    },
    /// `EEXIST` on `BRDGADD`: already a member of this bridge.
    #[error("{bridge}: {member} is already a member")]
    AlreadyMember {
        /// The bridge.
        bridge: String,
        /// The member.
        member: String,
    },
    /// `EBUSY` on `BRDGADD`: a member of another bridge, or a span port.
    #[error("{bridge}: {member} is a member of another bridge (or a span port)")]
    MemberOfOtherBridge {
        /// The bridge.
        bridge: String,
        /// The member.
        member: String,
    },
    /// `EINVAL` on `BRDGADD`: the member's MTU differs from the bridge's (the first member sets
    /// it), the member is not an Ethernet-like interface, or (FreeBSD 15 with
    /// `net.link.bridge.member_ifaddrs=0`, the default there) the member carries IP addresses —
    /// add the epair's a side *before* bringing it up so it has no IPv6 link-local yet.
    #[error(
        "{bridge}: cannot add {member}: its MTU differs from the bridge's, it is not an Ethernet interface, or it has IP addresses"
    )]
    MemberRejected {
        /// The bridge.
        bridge: String,
        /// The member.
        member: String,
    },
    /// `ENOENT` on `BRDGDEL`: not a member of this bridge.
    #[error("{bridge}: {member} is not a member")]
    NotMember {
        /// The bridge.
        bridge: String,
        /// The member.
        member: String,
    },
    /// `SIOCSIFVNET`/`SIOCSIFRVNET` named a jail that does not exist (or is not our child).
    #[error("{name}: {op}: no such jail {jid}")]
    NoSuchJail {
        /// The interface.
        name: String,
        /// The jid.
        jid: i32,
        /// The operation.
        op: Op,
    },
    /// `EEXIST` on `SIOCSIFVNET` for a jail that shares the host's vnet.
    #[error("{name}: jail {jid} is not a VNET jail (it has no network stack of its own)")]
    NotVnetJail {
        /// The interface.
        name: String,
        /// The jid.
        jid: i32,
    },
    /// `EPERM`/`EACCES`: not root, or inside a jail without the privilege.
    #[error("{name}: {op}: permission denied")]
    Permission {
        /// The interface (or route).
        name: String,
        /// The operation.
        op: Op,
    },
    /// The interface has the IPv4 address already, with another prefix. Not the kernel's
    /// answer: SIOCAIFADDR would delete the address, and the routes through it, and add it
    /// again (in.c `in_aifaddr_ioctl`); adding looks it up first and refuses instead. The same
    /// address with the same prefix is no error (nothing is done).
    #[error(
        "{name}: address {addr}: the interface has this address with another prefix (delete it first)"
    )]
    AddressExists {
        /// The interface.
        name: String,
        /// The address.
        addr: String,
    },
    /// `EEXIST` on an IPv4 address add: another interface has a route to the prefix and
    /// `net.inet.ip.no_same_prefix` is set (in.c `in_addprefix`).
    #[error(
        "{name}: address {addr}: another interface holds this prefix (net.inet.ip.no_same_prefix)"
    )]
    PrefixExists {
        /// The interface.
        name: String,
        /// The address.
        addr: String,
    },
    /// `EADDRNOTAVAIL` on an address delete.
    #[error("{name}: address {addr} is not configured")]
    NoSuchAddress {
        /// The interface.
        name: String,
        /// The address.
        addr: String,
    },
    /// `EEXIST` on `RTM_ADD`.
    #[error("route {route}: already exists")]
    RouteExists {
        /// The route, e.g. `default via 10.0.0.1`.
        route: String,
    },
    /// `ESRCH` on `RTM_DELETE`.
    #[error("route {route}: no such route")]
    NoSuchRoute {
        /// The route.
        route: String,
    },
    /// `ENETUNREACH` on `RTM_ADD`: the gateway is not on a directly connected network.
    #[error("route {route}: gateway unreachable (add the interface address first)")]
    GatewayUnreachable {
        /// The route.
        route: String,
    },
    /// `jail_attach(2)` failed in the configuration child.
    #[error("jail {jid}: jail_attach: {source}")]
    Attach {
        /// The jid.
        jid: i32,
        /// The errno.
        source: io::Error,
    },
    /// A step of an in-jail operation list failed (inside the jail's vnet).
    #[error("jail {jid}, step {index}: {source}")]
    InJail {
        /// The jid.
        jid: i32,
        /// Index of the failed operation in the list.
        index: usize,
        /// The step's own error.
        source: Box<Error>,
    },
    /// The configuration child ended without reporting every step.
    #[error("jail {jid}: configuration child: {detail}")]
    Child {
        /// The jid.
        jid: i32,
        /// What happened (exit status, signal, short report).
        detail: String,
    },
    /// Any other errno.
    #[error("{name}: {op}: {source}")]
    Sys {
        /// The interface (or route).
        name: String,
        /// The operation.
        op: Op,
        /// The errno.
        source: io::Error,
    },
}

impl Error {
    /// Maps `errno` from `op` on the interface `name` to the typed error. Bridge operations,
    /// vnet moves and routes have their own mappings ([`Error::bridge`], [`Error::route`]); this
    /// one covers the plain ifnet ioctls and address changes (`detail` = the address).
    pub fn from_errno(op: Op, name: &str, detail: &str, errno: i32) -> Error {
        let name = name.to_string();
        match (op, errno) {
            (_, libc::EPERM | libc::EACCES) => Error::Permission { name, op },
            (Op::AddAddress, crate::jailops::EXISTS_WITH_OTHER_PREFIX) => Error::AddressExists {
                name,
                addr: detail.to_string(),
            },
            (Op::AddAddress, libc::EEXIST) => Error::PrefixExists {
                name,
                addr: detail.to_string(),
            },
            (Op::DeleteAddress, libc::EADDRNOTAVAIL) => Error::NoSuchAddress {
                name,
                addr: detail.to_string(),
            },
            (Op::Create, libc::EINVAL) => Error::NoSuchCloner { name },
            (Op::Create, libc::ENOSPC) => Error::NameTooLong { name, op },
            (Op::AddRoute | Op::DeleteRoute, _) => Error::route(op, &name, errno),
            (_, libc::ENXIO) => Error::NoSuchInterface { name, op },
            (_, libc::EEXIST) => Error::Exists { name, op },
            (_, libc::ENAMETOOLONG) => Error::NameTooLong { name, op },
            (_, e) => Error::Sys {
                name,
                op,
                source: io::Error::from_raw_os_error(e),
            },
        }
    }

    /// Maps `errno` from `BRDGADD`/`BRDGDEL`/`BRDGGIFS` (FREEBSD-FACTS §3.7).
    pub fn bridge(op: Op, bridge: &str, member: &str, errno: i32) -> Error {
        let (b, m) = (bridge.to_string(), member.to_string());
        match (op, errno) {
            (Op::BridgeAdd, libc::EEXIST) => Error::AlreadyMember {
                bridge: b,
                member: m,
            },
            (Op::BridgeAdd, libc::EBUSY) => Error::MemberOfOtherBridge {
                bridge: b,
                member: m,
            },
            (Op::BridgeAdd, libc::EINVAL) => Error::MemberRejected {
                bridge: b,
                member: m,
            },
            (Op::BridgeAdd, libc::ENOENT) => Error::NoSuchInterface { name: m, op },
            (Op::BridgeDelete, libc::ENOENT) => Error::NotMember {
                bridge: b,
                member: m,
            },
            // ENXIO: the bridge itself is missing. EINVAL on BRDGDEL/BRDGGIFS: not a bridge.
            (_, libc::ENXIO) => Error::NoSuchInterface { name: b, op },
            (_, libc::EPERM | libc::EACCES) => Error::Permission { name: b, op },
            (_, e) => Error::Sys {
                name: if m.is_empty() {
                    b
                } else {
                    format!("{b} ({m})")
                },
                op,
                source: io::Error::from_raw_os_error(e),
            },
        }
    }

    /// Maps `errno` from a routing-socket write (route(4)).
    pub fn route(op: Op, route: &str, errno: i32) -> Error {
        let route = route.to_string();
        match (op, errno) {
            (Op::AddRoute, libc::EEXIST) => Error::RouteExists { route },
            (Op::AddRoute, libc::ENETUNREACH) => Error::GatewayUnreachable { route },
            (_, libc::ESRCH) => Error::NoSuchRoute { route },
            (_, libc::EPERM | libc::EACCES) => Error::Permission { name: route, op },
            (_, e) => Error::Sys {
                name: format!("route {route}"),
                op,
                source: io::Error::from_raw_os_error(e),
            },
        }
    }

    /// Maps `errno` from `SIOCSIFVNET` (`MoveToJail`) / `SIOCSIFRVNET` (`TakeBack`) on `name`
    /// and jail `jid`. The kernel answers `ENXIO` both for a missing interface and a missing
    /// jail, and `EEXIST` both for a jail without its own vnet and a name already taken inside
    /// the jail; `jail_vnet` is what a `jail_get(2)` probe of the jail's `vnet` parameter said
    /// (`None`: no such jail, `Some(true)`: a VNET jail, `Some(false)`: shares the host's vnet).
    pub fn vnet(op: Op, name: &str, jid: i32, errno: i32, jail_vnet: Option<bool>) -> Error {
        let n = name.to_string();
        match (errno, jail_vnet) {
            (libc::ENXIO, None) => Error::NoSuchJail { name: n, jid, op },
            (libc::ENXIO, Some(_)) => Error::NoSuchInterface { name: n, op },
            (libc::EEXIST, Some(false)) if op == Op::MoveToJail => {
                Error::NotVnetJail { name: n, jid }
            }
            (libc::EEXIST, _) => Error::Exists { name: n, op },
            (e, _) => Error::from_errno(op, name, "", e),
        }
    }

    /// The errno behind this error, if it came from the kernel.
    pub fn errno(&self) -> Option<i32> {
        Some(match self {
            Error::InvalidName(_) | Error::InvalidInput { .. } | Error::Child { .. } => {
                return None;
            }
            Error::NoSuchInterface { op, .. } => {
                if matches!(op, Op::BridgeAdd) {
                    libc::ENOENT
                } else {
                    libc::ENXIO
                }
            }
            Error::Exists { .. }
            | Error::AlreadyMember { .. }
            | Error::NotVnetJail { .. }
            | Error::PrefixExists { .. }
            | Error::RouteExists { .. } => libc::EEXIST,
            Error::AddressExists { .. } => crate::jailops::EXISTS_WITH_OTHER_PREFIX,
            Error::NameTooLong { op, .. } => {
                if matches!(op, Op::Create) {
                    libc::ENOSPC
                } else {
                    libc::ENAMETOOLONG
                }
            }
            Error::NoSuchCloner { .. } | Error::MemberRejected { .. } => libc::EINVAL,
            Error::MemberOfOtherBridge { .. } => libc::EBUSY,
            Error::NotMember { .. } => libc::ENOENT,
            Error::NoSuchJail { .. } => libc::ENXIO,
            Error::Permission { .. } => libc::EPERM,
            Error::NoSuchAddress { .. } => libc::EADDRNOTAVAIL,
            Error::NoSuchRoute { .. } => libc::ESRCH,
            Error::GatewayUnreachable { .. } => libc::ENETUNREACH,
            Error::Attach { source, .. } | Error::Sys { source, .. } => {
                return source.raw_os_error();
            }
            Error::InJail { source, .. } => return source.errno(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifnet_errnos() {
        let e = Error::from_errno(Op::SetFlags, "epair9a", "", libc::ENXIO);
        assert!(matches!(e, Error::NoSuchInterface { ref name, .. } if name == "epair9a"));
        assert_eq!(e.to_string(), "epair9a: SIOCSIFFLAGS: no such interface");
        assert_eq!(e.errno(), Some(libc::ENXIO));
        assert!(matches!(
            Error::from_errno(Op::Rename, "x", "", libc::EEXIST),
            Error::Exists { .. }
        ));
        assert!(matches!(
            Error::from_errno(Op::Rename, "x", "", libc::ENAMETOOLONG),
            Error::NameTooLong { .. }
        ));
        assert!(matches!(
            Error::from_errno(Op::Create, "epair", "", libc::ENOSPC),
            Error::NameTooLong { .. }
        ));
        assert!(matches!(
            Error::from_errno(Op::Create, "nosuch", "", libc::EINVAL),
            Error::NoSuchCloner { .. }
        ));
        assert!(matches!(
            Error::from_errno(Op::Destroy, "x", "", libc::EPERM),
            Error::Permission { .. }
        ));
        assert!(matches!(
            Error::from_errno(Op::AddAddress, "x", "10.0.0.2/24", libc::EEXIST),
            Error::PrefixExists { .. }
        ));
        assert!(matches!(
            Error::from_errno(Op::AddAddress, "x", "10.0.0.2/24", libc::EADDRINUSE),
            Error::AddressExists { .. }
        ));
        let e = Error::from_errno(Op::SetFlags, "x", "", libc::EIO);
        assert_eq!(e.errno(), Some(libc::EIO));
    }

    #[test]
    fn bridge_errnos() {
        let add = |e| Error::bridge(Op::BridgeAdd, "bridge0", "epair0a", e);
        assert!(matches!(add(libc::EEXIST), Error::AlreadyMember { .. }));
        assert!(matches!(
            add(libc::EBUSY),
            Error::MemberOfOtherBridge { .. }
        ));
        assert!(matches!(add(libc::EINVAL), Error::MemberRejected { .. }));
        assert!(
            matches!(add(libc::ENOENT), Error::NoSuchInterface { ref name, .. } if name == "epair0a")
        );
        assert!(
            matches!(add(libc::ENXIO), Error::NoSuchInterface { ref name, .. } if name == "bridge0")
        );
        assert!(add(libc::EBUSY).to_string().contains("bridge0"));
        assert!(add(libc::EBUSY).to_string().contains("epair0a"));
        assert!(matches!(
            Error::bridge(Op::BridgeDelete, "bridge0", "epair0a", libc::ENOENT),
            Error::NotMember { .. }
        ));
    }

    #[test]
    fn vnet_errnos() {
        let mv = |e, probe| Error::vnet(Op::MoveToJail, "epair0b", 5, e, probe);
        assert!(matches!(
            mv(libc::ENXIO, None),
            Error::NoSuchJail { jid: 5, .. }
        ));
        assert!(
            matches!(mv(libc::ENXIO, Some(true)), Error::NoSuchInterface { ref name, .. } if name == "epair0b")
        );
        let e = mv(libc::EEXIST, Some(false));
        assert!(matches!(e, Error::NotVnetJail { jid: 5, .. }));
        assert!(e.to_string().contains("not a VNET jail") && e.to_string().contains("epair0b"));
        assert!(matches!(mv(libc::EEXIST, Some(true)), Error::Exists { .. }));
        assert!(matches!(
            mv(libc::EPERM, Some(true)),
            Error::Permission { .. }
        ));
        assert!(matches!(mv(libc::EBUSY, Some(true)), Error::Sys { .. }));
        assert!(matches!(
            Error::vnet(Op::TakeBack, "epair0b", 5, libc::EEXIST, Some(false)),
            Error::Exists { .. }
        ));
    }

    #[test]
    fn route_errnos() {
        let r = "default via 10.0.0.1";
        assert!(matches!(
            Error::route(Op::AddRoute, r, libc::EEXIST),
            Error::RouteExists { .. }
        ));
        assert!(matches!(
            Error::route(Op::AddRoute, r, libc::ENETUNREACH),
            Error::GatewayUnreachable { .. }
        ));
        assert!(matches!(
            Error::route(Op::DeleteRoute, r, libc::ESRCH),
            Error::NoSuchRoute { .. }
        ));
        assert!(matches!(
            Error::from_errno(Op::AddRoute, r, "", libc::EEXIST),
            Error::RouteExists { .. }
        ));
    }
}
