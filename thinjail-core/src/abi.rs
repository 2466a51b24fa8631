//! The FreeBSD ABI values this crate defines by hand, for the CI check against FreeBSD's headers
//! (`tools/abigen` turns them into C `_Static_assert`s compiled for `x86_64-freebsd`).

/// `SF_IMMUTABLE` (`<sys/stat.h>`): the system-immutable flag (`schg`) that `var/empty` carries.
pub const SF_IMMUTABLE: u64 = 0x0002_0000;
/// `UF_IMMUTABLE` (`<sys/stat.h>`): the user-immutable flag (`uchg`).
pub const UF_IMMUTABLE: u64 = 0x0000_0002;
/// `MNT_RDONLY` (`<sys/mount.h>`): read-only mount, in `statfs.f_flags`.
pub const MNT_RDONLY: u64 = 0x0000_0001;
/// `MNT_NOWAIT` (`<sys/mount.h>`): getfsstat(2) mode that returns cached statistics.
pub const MNT_NOWAIT: i32 = 2;
/// `DEVFSIO_SGETNEXT` (`<fs/devfs/devfs.h>`): `_IOWR('D', 12, devfs_rsnum)`, the next loaded
/// devfs ruleset after the one given (what `devfs showsets` iterates).
pub const DEVFSIO_SGETNEXT: u32 = 0xc002_440c;
/// `sizeof(devfs_rsnum)` (`<fs/devfs/devfs.h>`): a `uint16_t`.
pub const DEVFS_RSNUM_SIZE: u64 = 2;

/// Headers that define the values in [`facts`], in include order.
pub const HEADERS: &[&str] = &[
    "sys/stat.h",
    "sys/ioccom.h",
    "sys/mount.h",
    "fs/devfs/devfs.h",
];

/// `(C expression, the value this crate uses)` pairs.
pub fn facts() -> Vec<(String, u64)> {
    vec![
        ("SF_IMMUTABLE".to_string(), SF_IMMUTABLE),
        ("UF_IMMUTABLE".to_string(), UF_IMMUTABLE),
        ("MNT_RDONLY".to_string(), MNT_RDONLY),
        ("MNT_NOWAIT".to_string(), MNT_NOWAIT as u64),
        ("DEVFSIO_SGETNEXT".to_string(), u64::from(DEVFSIO_SGETNEXT)),
        ("sizeof(devfs_rsnum)".to_string(), DEVFS_RSNUM_SIZE),
    ]
}
