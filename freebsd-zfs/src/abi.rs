//! The FreeBSD ABI values this crate defines by hand, for the CI check against FreeBSD's headers
//! (`tools/abigen` turns them into C `_Static_assert`s compiled for `x86_64-freebsd`).

/// `MNT_RDONLY` (`<sys/mount.h>`): mount read-only.
pub const MNT_RDONLY: u64 = 0x0000_0001;
/// `MNT_FORCE` (`<sys/mount.h>`): force the unmount.
pub const MNT_FORCE: u64 = 0x0008_0000;

/// `MNT_NOWAIT` (`<sys/mount.h>`): getmntinfo(3) returns cached data without blocking.
pub const MNT_NOWAIT: i32 = 2;

/// Headers that define the values in [`facts`], in include order.
pub const HEADERS: &[&str] = &["sys/mount.h"];

/// `(C expression, the value this crate uses)` pairs.
pub fn facts() -> Vec<(String, u64)> {
    vec![
        ("MNT_RDONLY".to_string(), MNT_RDONLY),
        ("MNT_FORCE".to_string(), MNT_FORCE),
        ("MNT_NOWAIT".to_string(), MNT_NOWAIT as u64),
    ]
}
