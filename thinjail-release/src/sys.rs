//! Small safe wrappers over the `*at(2)` calls the extractor and template steps use.
//! Every call takes a directory fd and a single path component (no `/`), so nothing is
//! resolved through a symlink the caller did not check.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// `openat(dir, name, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC)` (open(2)).
pub(crate) fn open_dir_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: openat(2) with a valid dirfd and NUL-terminated name; the returned fd is owned.
    let fd = cvt(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: fd was just returned by openat and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `openat(dir, name, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode)` (open(2)).
pub(crate) fn create_file_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    // SAFETY: openat(2) with a valid dirfd and NUL-terminated name; mode is passed as the
    // variadic third argument as the C prototype expects (promoted to c_uint).
    let fd = cvt(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })?;
    // SAFETY: fd was just returned by openat and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `mkdirat(dir, name, mode)` (mkdir(2)).
pub(crate) fn mkdir_at(dir: BorrowedFd<'_>, name: &CStr, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: mkdirat(2) with a valid dirfd and NUL-terminated name.
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) }).map(drop)
}

/// `unlinkat(dir, name, rmdir ? AT_REMOVEDIR : 0)` (unlink(2)).
pub(crate) fn unlink_at(dir: BorrowedFd<'_>, name: &CStr, rmdir: bool) -> io::Result<()> {
    let flag = if rmdir { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: unlinkat(2) with a valid dirfd and NUL-terminated name.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flag) }).map(drop)
}

/// `symlinkat(target, dir, name)` (symlink(2)).
pub(crate) fn symlink_at(target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    // SAFETY: symlinkat(2) with NUL-terminated strings and a valid dirfd.
    cvt(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) }).map(drop)
}

/// `linkat(src_dir, src, dst_dir, dst, 0)` (link(2)); a final symlink is not followed.
pub(crate) fn link_at(
    src_dir: BorrowedFd<'_>,
    src: &CStr,
    dst_dir: BorrowedFd<'_>,
    dst: &CStr,
) -> io::Result<()> {
    // SAFETY: linkat(2) with valid dirfds and NUL-terminated names; flags 0 = no follow.
    cvt(unsafe {
        libc::linkat(
            src_dir.as_raw_fd(),
            src.as_ptr(),
            dst_dir.as_raw_fd(),
            dst.as_ptr(),
            0,
        )
    })
    .map(drop)
}

/// `mknodat(dir, name, mode, dev)` (mknod(2)).
pub(crate) fn mknod_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    mode: libc::mode_t,
    dev: libc::dev_t,
) -> io::Result<()> {
    // SAFETY: mknodat(2) with a valid dirfd and NUL-terminated name.
    cvt(unsafe { libc::mknodat(dir.as_raw_fd(), name.as_ptr(), mode, dev) }).map(drop)
}

/// `fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW)` (stat(2)).
pub(crate) fn fstatat_nofollow(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstatat(2) writes a full struct stat into st on success.
    cvt(unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    // SAFETY: fstatat returned 0, so st is initialised.
    Ok(unsafe { st.assume_init() })
}

/// `fchmod(fd, mode)` (chmod(2)).
pub(crate) fn fchmod(fd: BorrowedFd<'_>, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: fchmod(2) on a valid fd.
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode) }).map(drop)
}

/// `fchown(fd, uid, gid)` (chown(2)).
pub(crate) fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: fchown(2) on a valid fd.
    cvt(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) }).map(drop)
}

/// `fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW)` (chown(2)).
pub(crate) fn lchown_at(dir: BorrowedFd<'_>, name: &CStr, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: fchownat(2) with a valid dirfd and NUL-terminated name.
    cvt(unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            name.as_ptr(),
            uid,
            gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

fn times(mtime: i64) -> [libc::timespec; 2] {
    // SAFETY: timespec is plain old data; zeroed is a valid value (padding fields on some
    // targets make a struct literal non-portable).
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    t.tv_sec = mtime as libc::time_t;
    [t, t]
}

/// `futimens(fd, {mtime, mtime})` (utimensat(2)): atime and mtime both set to `mtime`.
pub(crate) fn futimens(fd: BorrowedFd<'_>, mtime: i64) -> io::Result<()> {
    let t = times(mtime);
    // SAFETY: futimens(2) reads two timespecs from t.
    cvt(unsafe { libc::futimens(fd.as_raw_fd(), t.as_ptr()) }).map(drop)
}

/// `utimensat(dir, name, {mtime, mtime}, AT_SYMLINK_NOFOLLOW)` (utimensat(2)).
pub(crate) fn lutimens_at(dir: BorrowedFd<'_>, name: &CStr, mtime: i64) -> io::Result<()> {
    let t = times(mtime);
    // SAFETY: utimensat(2) with a valid dirfd, NUL-terminated name and two timespecs.
    cvt(unsafe {
        libc::utimensat(
            dir.as_raw_fd(),
            name.as_ptr(),
            t.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

/// Effective uid/gid: `geteuid(2)`, `getegid(2)`.
pub(crate) fn euid_egid() -> (u32, u32) {
    // SAFETY: geteuid/getegid cannot fail and touch no memory.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// The process umask without changing it, where the OS exposes it (`/proc/self/status` on
/// Linux); `None` elsewhere (callers then always `fchmod`).
pub(crate) fn current_umask() -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        let s = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = s.lines().find(|l| l.starts_with("Umask:"))?;
        u32::from_str_radix(line["Umask:".len()..].trim(), 8).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}
