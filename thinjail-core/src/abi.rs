//! The FreeBSD ABI values this crate defines by hand, for the CI check against FreeBSD's headers
//! (`tools/abigen` turns them into C `_Static_assert`s compiled for `x86_64-freebsd`).

/// `SF_IMMUTABLE` (`<sys/stat.h>`): the system-immutable flag (`schg`) that `var/empty` carries.
pub const SF_IMMUTABLE: u64 = 0x0002_0000;
/// `UF_IMMUTABLE` (`<sys/stat.h>`): the user-immutable flag (`uchg`).
pub const UF_IMMUTABLE: u64 = 0x0000_0002;

/// Headers that define the values in [`facts`], in include order.
pub const HEADERS: &[&str] = &["sys/stat.h"];

/// `(C expression, the value this crate uses)` pairs.
pub fn facts() -> Vec<(String, u64)> {
    vec![
        ("SF_IMMUTABLE".to_string(), SF_IMMUTABLE),
        ("UF_IMMUTABLE".to_string(), UF_IMMUTABLE),
    ]
}
