//! The FreeBSD ABI values this crate defines by hand, for the CI check against FreeBSD's headers
//! (`tools/abigen` turns them into C `_Static_assert`s compiled for `x86_64-freebsd`).

use crate::wire::*;
use std::mem::{offset_of, size_of};

/// Headers that define the values in [`facts`], in include order.
pub const HEADERS: &[&str] = &["sys/socket.h", "sys/sockio.h", "net/if.h"];

/// `(C expression, the value this crate uses)` pairs.
pub fn facts() -> Vec<(String, u64)> {
    let v = |e: &str, x: usize| (e.to_string(), x as u64);
    vec![
        v("IFNAMSIZ", IFNAMSIZ),
        v("sizeof(struct ifreq)", size_of::<IfReq>()),
        v(
            "offsetof(struct ifreq, ifr_ifru)",
            offset_of!(IfReq, ifr_ifru),
        ),
        v("SIOCIFCREATE2", SIOCIFCREATE2 as usize),
        v("SIOCIFDESTROY", SIOCIFDESTROY as usize),
        v("SIOCSIFVNET", SIOCSIFVNET as usize),
    ]
}
