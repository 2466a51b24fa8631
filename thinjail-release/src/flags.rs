//! FreeBSD file flags (`chflags(1)`, `st_flags`), as stored in tar archives in the pax record
//! `SCHILY.fflags` (e.g. `schg`, `schg,sunlnk`).
//!
//! Parsing and rendering are portable. Applying them ([`set_flags_at`]) is the FreeBSD
//! `chflagsat(2)` call; on other systems flags are not applied and the extractor reports them
//! instead (see [`crate::extract::ExtractReport::flags`]).

use std::os::fd::BorrowedFd;

bitflags::bitflags! {
    /// `st_flags` bits (FreeBSD `<sys/stat.h>`; values checked by [`crate::abi::facts`]).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct FileFlags: u32 {
        /// `nodump` (UF_NODUMP).
        const UF_NODUMP = 0x0000_0001;
        /// `uchg` (UF_IMMUTABLE).
        const UF_IMMUTABLE = 0x0000_0002;
        /// `uappnd` (UF_APPEND).
        const UF_APPEND = 0x0000_0004;
        /// `opaque` (UF_OPAQUE).
        const UF_OPAQUE = 0x0000_0008;
        /// `uunlnk` (UF_NOUNLINK).
        const UF_NOUNLINK = 0x0000_0010;
        /// `system` (UF_SYSTEM).
        const UF_SYSTEM = 0x0000_0080;
        /// `sparse` (UF_SPARSE).
        const UF_SPARSE = 0x0000_0100;
        /// `offline` (UF_OFFLINE).
        const UF_OFFLINE = 0x0000_0200;
        /// `reparse` (UF_REPARSE).
        const UF_REPARSE = 0x0000_0400;
        /// `uarch` (UF_ARCHIVE).
        const UF_ARCHIVE = 0x0000_0800;
        /// `rdonly` (UF_READONLY).
        const UF_READONLY = 0x0000_1000;
        /// `hidden` (UF_HIDDEN).
        const UF_HIDDEN = 0x0000_8000;
        /// `arch` (SF_ARCHIVED).
        const SF_ARCHIVED = 0x0001_0000;
        /// `schg` (SF_IMMUTABLE).
        const SF_IMMUTABLE = 0x0002_0000;
        /// `sappnd` (SF_APPEND).
        const SF_APPEND = 0x0004_0000;
        /// `sunlnk` (SF_NOUNLINK).
        const SF_NOUNLINK = 0x0010_0000;
        /// `snapshot` (SF_SNAPSHOT).
        const SF_SNAPSHOT = 0x0020_0000;
    }
}

const NAMES: &[(&str, FileFlags)] = &[
    ("arch", FileFlags::SF_ARCHIVED),
    ("archived", FileFlags::SF_ARCHIVED),
    ("nodump", FileFlags::UF_NODUMP),
    ("opaque", FileFlags::UF_OPAQUE),
    ("sappnd", FileFlags::SF_APPEND),
    ("sappend", FileFlags::SF_APPEND),
    ("schg", FileFlags::SF_IMMUTABLE),
    ("schange", FileFlags::SF_IMMUTABLE),
    ("simmutable", FileFlags::SF_IMMUTABLE),
    ("sunlnk", FileFlags::SF_NOUNLINK),
    ("sunlink", FileFlags::SF_NOUNLINK),
    ("snapshot", FileFlags::SF_SNAPSHOT),
    ("uappnd", FileFlags::UF_APPEND),
    ("uappend", FileFlags::UF_APPEND),
    ("uarch", FileFlags::UF_ARCHIVE),
    ("uarchive", FileFlags::UF_ARCHIVE),
    ("uchg", FileFlags::UF_IMMUTABLE),
    ("uchange", FileFlags::UF_IMMUTABLE),
    ("uimmutable", FileFlags::UF_IMMUTABLE),
    ("uunlnk", FileFlags::UF_NOUNLINK),
    ("uunlink", FileFlags::UF_NOUNLINK),
    ("hidden", FileFlags::UF_HIDDEN),
    ("uhidden", FileFlags::UF_HIDDEN),
    ("offline", FileFlags::UF_OFFLINE),
    ("uoffline", FileFlags::UF_OFFLINE),
    ("rdonly", FileFlags::UF_READONLY),
    ("readonly", FileFlags::UF_READONLY),
    ("urdonly", FileFlags::UF_READONLY),
    ("sparse", FileFlags::UF_SPARSE),
    ("usparse", FileFlags::UF_SPARSE),
    ("system", FileFlags::UF_SYSTEM),
    ("usystem", FileFlags::UF_SYSTEM),
    ("reparse", FileFlags::UF_REPARSE),
    ("ureparse", FileFlags::UF_REPARSE),
];

impl FileFlags {
    /// Flags that forbid creating links, renaming or writing; the extractor sets every flag
    /// only after all entries are written (as libarchive defers its "critical" flags).
    pub const CRITICAL: FileFlags = FileFlags::SF_IMMUTABLE
        .union(FileFlags::UF_IMMUTABLE)
        .union(FileFlags::SF_APPEND)
        .union(FileFlags::UF_APPEND);

    /// Parses a `strtofflags(3)`-style list (`"schg,nodump"`). Names prefixed `no` (other than
    /// `nodump`) clear a flag and are ignored here (an archive records set flags). Unknown names
    /// return `Err(name)`.
    ///
    /// ```
    /// use thinjail_release::flags::FileFlags;
    /// let f = FileFlags::parse("schg, sunlnk").unwrap();
    /// assert_eq!(f, FileFlags::SF_IMMUTABLE | FileFlags::SF_NOUNLINK);
    /// assert_eq!(f.to_string(), "schg,sunlnk");
    /// assert!(FileFlags::parse("bogus").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<FileFlags, String> {
        let mut f = FileFlags::empty();
        for name in s.split([',', ' ', '\t']).filter(|n| !n.is_empty()) {
            if let Some((_, v)) = NAMES.iter().find(|(n, _)| *n == name) {
                f |= *v;
            } else if name.starts_with("no") && NAMES.iter().any(|(n, _)| *n == &name[2..]) {
                continue;
            } else {
                return Err(name.to_string());
            }
        }
        Ok(f)
    }
}

impl std::fmt::Display for FileFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        let mut done = FileFlags::empty();
        for (name, v) in NAMES {
            if self.contains(*v) && !done.contains(*v) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
                done |= *v;
            }
        }
        Ok(())
    }
}

/// Whether this build applies file flags (true on FreeBSD only).
pub const FLAGS_SUPPORTED: bool = cfg!(target_os = "freebsd");

/// Sets the flags of `name` in directory `dir` without following a final symlink:
/// `chflagsat(dir, name, flags, AT_SYMLINK_NOFOLLOW)` (chflags(2)).
#[cfg(target_os = "freebsd")]
pub fn set_flags_at(
    dir: BorrowedFd<'_>,
    name: &std::ffi::CStr,
    flags: FileFlags,
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: chflagsat(2) with a valid directory fd and a NUL-terminated name; no memory is
    // retained by the kernel.
    let rc = unsafe {
        libc::chflagsat(
            dir.as_raw_fd(),
            name.as_ptr(),
            flags.bits() as libc::c_ulong,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sets the flags of `name` in directory `dir`. Not available on this OS: returns
/// `ErrorKind::Unsupported` (callers record the flags instead).
#[cfg(not(target_os = "freebsd"))]
pub fn set_flags_at(
    dir: BorrowedFd<'_>,
    name: &std::ffi::CStr,
    flags: FileFlags,
) -> std::io::Result<()> {
    let _ = (dir, name, flags);
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "file flags are a FreeBSD feature",
    ))
}

/// Reads the flags of `name` in `dir` (FreeBSD `fstatat(2)` `st_flags`); always empty elsewhere.
pub fn get_flags_at(dir: BorrowedFd<'_>, name: &std::ffi::CStr) -> std::io::Result<FileFlags> {
    #[cfg(target_os = "freebsd")]
    {
        let st = crate::sys::fstatat_nofollow(dir, name)?;
        Ok(FileFlags::from_bits_retain(st.st_flags))
    }
    #[cfg(not(target_os = "freebsd"))]
    {
        let _ = (dir, name);
        Ok(FileFlags::empty())
    }
}

/// Flags of `path` without following a final symlink (`lstat(2)` `st_flags`); always empty on
/// systems without file flags.
pub fn get_flags(path: &std::path::Path) -> std::io::Result<FileFlags> {
    #[cfg(target_os = "freebsd")]
    {
        use std::os::freebsd::fs::MetadataExt;
        Ok(FileFlags::from_bits_retain(
            std::fs::symlink_metadata(path)?.st_flags(),
        ))
    }
    #[cfg(not(target_os = "freebsd"))]
    {
        std::fs::symlink_metadata(path).map(|_| FileFlags::empty())
    }
}

/// Sets the flags of `path` without following a final symlink: `lchflags(2)` (chflags(2)).
#[cfg(target_os = "freebsd")]
pub fn set_flags(path: &std::path::Path, flags: FileFlags) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: lchflags(2) with a NUL-terminated path; nothing is retained.
    let rc = unsafe { libc::lchflags(c.as_ptr(), flags.bits() as libc::c_ulong) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sets the flags of `path`. Not available on this OS: succeeds only for empty flags
/// (nothing to clear), `ErrorKind::Unsupported` otherwise.
#[cfg(not(target_os = "freebsd"))]
pub fn set_flags(path: &std::path::Path, flags: FileFlags) -> std::io::Result<()> {
    if flags.is_empty() {
        return Ok(());
    }
    let _ = path;
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "file flags are a FreeBSD feature",
    ))
}
