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
/// `DEVFSIO_RGETNEXT` (`<fs/devfs/devfs.h>`): `_IOWR('D', 4, struct devfs_rule)`, the first rule
/// of a ruleset after the rule number given (what `devfs rule -s N show` iterates).
pub const DEVFSIO_RGETNEXT: u32 = 0xc0ec_4404;
/// `DEVFS_MAGIC` (`<fs/devfs/devfs.h>`): `dr_magic` of every rule passed to the kernel.
pub const DEVFS_MAGIC: u32 = 0xdb0a_087a;
/// `DEVFS_MAXPTRNLEN` (`<fs/devfs/devfs.h>`): the size of `dr_pathptrn`.
pub const DEVFS_MAXPTRNLEN: usize = 200;

/// `struct devfs_rule` (`<fs/devfs/devfs.h>`), as DEVFSIO_RGETNEXT reads and writes it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct DevfsRule {
    /// `dr_magic`: [`DEVFS_MAGIC`], else the kernel answers ERPCMISMATCH.
    pub dr_magic: u32,
    /// `dr_id`: `mkrid(ruleset, rule)` = `rule | ruleset << 16`.
    pub dr_id: u32,
    /// `dr_icond`.
    pub dr_icond: i32,
    /// `dr_dswflags`.
    pub dr_dswflags: i32,
    /// `dr_pathptrn`.
    pub dr_pathptrn: [u8; DEVFS_MAXPTRNLEN],
    /// `dr_iacts`.
    pub dr_iacts: i32,
    /// `dr_bacts`.
    pub dr_bacts: i32,
    /// `dr_uid`.
    pub dr_uid: u32,
    /// `dr_gid`.
    pub dr_gid: u32,
    /// `dr_mode` (`mode_t`, 16 bits on FreeBSD).
    pub dr_mode: u16,
    /// `dr_incset`.
    pub dr_incset: u16,
}

impl DevfsRule {
    /// A query for the first rule of `ruleset` after rule number 0 (`mkrid(ruleset, 0)`).
    pub fn first_of(ruleset: u16) -> DevfsRule {
        DevfsRule {
            dr_magic: DEVFS_MAGIC,
            dr_id: u32::from(ruleset) << 16,
            dr_icond: 0,
            dr_dswflags: 0,
            dr_pathptrn: [0; DEVFS_MAXPTRNLEN],
            dr_iacts: 0,
            dr_bacts: 0,
            dr_uid: 0,
            dr_gid: 0,
            dr_mode: 0,
            dr_incset: 0,
        }
    }
}

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
        ("DEVFSIO_RGETNEXT".to_string(), u64::from(DEVFSIO_RGETNEXT)),
        ("DEVFS_MAGIC".to_string(), u64::from(DEVFS_MAGIC)),
        ("DEVFS_MAXPTRNLEN".to_string(), DEVFS_MAXPTRNLEN as u64),
        (
            "sizeof(struct devfs_rule)".to_string(),
            std::mem::size_of::<DevfsRule>() as u64,
        ),
        (
            "offsetof(struct devfs_rule, dr_iacts)".to_string(),
            std::mem::offset_of!(DevfsRule, dr_iacts) as u64,
        ),
        (
            "offsetof(struct devfs_rule, dr_mode)".to_string(),
            std::mem::offset_of!(DevfsRule, dr_mode) as u64,
        ),
        (
            "offsetof(struct devfs_rule, dr_incset)".to_string(),
            std::mem::offset_of!(DevfsRule, dr_incset) as u64,
        ),
    ]
}
