//! Hand-written FreeBSD ABI values of this crate, checked against the FreeBSD headers by
//! `tools/abigen` (see the workspace BRIEF, verification layer 3).

use crate::flags::FileFlags;

/// Headers the facts need.
pub const HEADERS: &[&str] = &["sys/stat.h", "fcntl.h"];

/// `(C expression, value)` pairs.
pub fn facts() -> Vec<(String, u64)> {
    let f = |n: &str, v: FileFlags| (n.to_string(), u64::from(v.bits()));
    vec![
        f("UF_NODUMP", FileFlags::UF_NODUMP),
        f("UF_IMMUTABLE", FileFlags::UF_IMMUTABLE),
        f("UF_APPEND", FileFlags::UF_APPEND),
        f("UF_OPAQUE", FileFlags::UF_OPAQUE),
        f("UF_NOUNLINK", FileFlags::UF_NOUNLINK),
        f("UF_SYSTEM", FileFlags::UF_SYSTEM),
        f("UF_SPARSE", FileFlags::UF_SPARSE),
        f("UF_OFFLINE", FileFlags::UF_OFFLINE),
        f("UF_REPARSE", FileFlags::UF_REPARSE),
        f("UF_ARCHIVE", FileFlags::UF_ARCHIVE),
        f("UF_READONLY", FileFlags::UF_READONLY),
        f("UF_HIDDEN", FileFlags::UF_HIDDEN),
        f("SF_ARCHIVED", FileFlags::SF_ARCHIVED),
        f("SF_IMMUTABLE", FileFlags::SF_IMMUTABLE),
        f("SF_APPEND", FileFlags::SF_APPEND),
        f("SF_NOUNLINK", FileFlags::SF_NOUNLINK),
        f("SF_SNAPSHOT", FileFlags::SF_SNAPSHOT),
    ]
}
