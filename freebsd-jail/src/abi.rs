//! The FreeBSD ABI values this crate defines by hand, for the CI check against FreeBSD's headers
//! (`tools/abigen` turns them into C `_Static_assert`s compiled for `x86_64-freebsd`).
//!
//! Not checkable here (kernel-only definitions in `<sys/jail.h>`): `OSRELEASELEN` (32) and
//! `JAIL_MAX` (999999), and libjail's `JAIL_ERRMSGLEN` (1024, `<jail.h>` is not in the header
//! set); their values come from reading `kern_jail.c`/`jail.h` (FREEBSD-FACTS §1).

use crate::flags::{JailFlags, JailSys};
use crate::name::{MAXHOSTNAMELEN, MAXPATHLEN};
use crate::param;

/// Headers that define the values in [`facts`], in include order.
pub const HEADERS: &[&str] = &["sys/jail.h", "sys/sysctl.h", "sys/uio.h", "netinet/in.h"];

/// `(C expression, the value this crate uses)` pairs.
pub fn facts() -> Vec<(String, u64)> {
    let v = |e: &str, x: i64| (e.to_string(), x as u64);
    vec![
        v("JAIL_CREATE", JailFlags::CREATE.bits().into()),
        v("JAIL_UPDATE", JailFlags::UPDATE.bits().into()),
        v("JAIL_ATTACH", JailFlags::ATTACH.bits().into()),
        v("JAIL_DYING", JailFlags::DYING.bits().into()),
        v("JAIL_SYS_DISABLE", JailSys::Disable as i64),
        v("JAIL_SYS_NEW", JailSys::New as i64),
        v("JAIL_SYS_INHERIT", JailSys::Inherit as i64),
        v("MAXHOSTNAMELEN", MAXHOSTNAMELEN as i64),
        v("MAXPATHLEN", MAXPATHLEN as i64),
        v("CTLTYPE", param::CTLTYPE.into()),
        v("CTLTYPE_NODE", param::CTLTYPE_NODE.into()),
        v("CTLTYPE_INT", param::CTLTYPE_INT.into()),
        v("CTLTYPE_STRING", param::CTLTYPE_STRING.into()),
        v("CTLTYPE_S64", param::CTLTYPE_S64.into()),
        v("CTLTYPE_OPAQUE", param::CTLTYPE_STRUCT.into()),
        v("CTLTYPE_STRUCT", param::CTLTYPE_STRUCT.into()),
        v("CTLTYPE_UINT", param::CTLTYPE_UINT.into()),
        v("CTLTYPE_LONG", param::CTLTYPE_LONG.into()),
        v("CTLTYPE_ULONG", param::CTLTYPE_ULONG.into()),
        v("CTLTYPE_U64", param::CTLTYPE_U64.into()),
        // The codec's element sizes: int, long, in_addr, in6_addr, iovec.
        v("sizeof(int)", 4),
        v("sizeof(long)", 8),
        v("sizeof(struct in_addr)", 4),
        v("sizeof(struct in6_addr)", 16),
        v(
            "sizeof(struct iovec)",
            std::mem::size_of::<libc::iovec>() as i64,
        ),
        v("offsetof(struct iovec, iov_len)", 8),
    ]
}
