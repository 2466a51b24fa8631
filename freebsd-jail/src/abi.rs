//! The FreeBSD ABI values this crate defines by hand, for the CI check against FreeBSD's headers
//! (`tools/abigen` turns them into C `_Static_assert`s compiled for `x86_64-freebsd`).

use crate::flags::{JailFlags, JailSys};

/// Headers that define the values in [`facts`], in include order.
pub const HEADERS: &[&str] = &["sys/jail.h"];

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
    ]
}
