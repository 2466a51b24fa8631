//! Fast, confined extraction of (xz-compressed) tar archives such as a release's `base.txz`.
//!
//! What it does, per entry (tar header parsing by the `tar` crate, writing by this module):
//! - **Confinement.** Every path is split into components; absolute paths and `..` are refused.
//!   Parent directories are opened one component at a time with
//!   `openat(O_DIRECTORY|O_NOFOLLOW)` starting from the target directory, so a symlink in a
//!   parent position — already on disk or created by the same archive — is refused, never
//!   followed. Leaves are created with `O_EXCL|O_NOFOLLOW`, `symlinkat`, `linkat(…, 0)`,
//!   `mkdirat`, `mknodat`: nothing is ever written outside the target.
//! - **`--unlink` semantics** ([`ExtractOptions::unlink`], on by default): an existing leaf is
//!   removed and replaced (an existing directory is kept for a directory entry, replaced by an
//!   empty-directory removal otherwise). Missing parents are created.
//! - **Metadata.** Mode (incl. setuid/setgid/sticky), numeric owner (when running as root, or
//!   when [`ExtractOptions::owners`] says so), mtime (atime = mtime), symlink owner/mtime.
//!   Directory modes/times are applied at the end, deepest first, like bsdtar `-p`.
//! - **File flags** (`SCHILY.fflags`, e.g. `schg` on `var/empty`): collected and set after all
//!   entries are written (immutable files cannot be hard-linked). On FreeBSD they are applied
//!   with `chflagsat(2)`; on other systems they are **not applied**, only listed in
//!   [`ExtractReport::flags`] with [`ExtractReport::flags_applied`] = false.
//! - **Speed.** xz decodes on its own thread(s) ([`crate::DecodeMode`]), parent directory fds are
//!   cached along the current path, and `fchmod` is skipped when `open(…, mode)` under the
//!   process umask already produced the mode (Linux, where the umask is readable). `fchown` is
//!   always done when owners are set: on FreeBSD a new file takes its directory's group.

use crate::error::Refusal;
use crate::flags::{FLAGS_SUPPORTED, FileFlags};
use crate::sys;
use crate::{DecodeMode, Error, Result, XzChunkReader};
use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Options of an extraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Replace existing files, symlinks and empty directories (bsdtar `--unlink`). Default on.
    pub unlink: bool,
    /// Create character/block device nodes (refused by default).
    pub allow_devices: bool,
    /// Set numeric owners from the archive: `None` = only when running as root (default).
    pub owners: Option<bool>,
    /// xz decoding mode.
    pub decode: DecodeMode,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            unlink: true,
            allow_devices: false,
            owners: None,
            decode: DecodeMode::Parallel,
        }
    }
}

/// What an extraction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractReport {
    /// Archive entries processed (including the `./` root entry).
    pub entries: u64,
    /// Regular files written.
    pub files: u64,
    /// Directories created or updated.
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Hard links created.
    pub hardlinks: u64,
    /// Device nodes and FIFOs created.
    pub nodes: u64,
    /// File data bytes written.
    pub bytes: u64,
    /// Entries carrying file flags (relative path, flags), in archive order.
    pub flags: Vec<(PathBuf, FileFlags)>,
    /// Whether those flags were applied (FreeBSD) or only recorded (other systems).
    pub flags_applied: bool,
    /// First-level names in the target that did not exist before and were created.
    pub created_top_level: Vec<PathBuf>,
}

/// Extracts an xz-compressed tar file (e.g. `base.txz`) into `target` (which must exist).
///
/// ```no_run
/// use thinjail_release::extract::{extract_txz, ExtractOptions};
/// let rep = extract_txz("/zdata/jails/media/14.2-RELEASE-base.txz".as_ref(),
///     "/zdata/jails/templates/14.2-RELEASE-base".as_ref(), &ExtractOptions::default())?;
/// println!("{} files", rep.files);
/// # Ok::<(), thinjail_release::Error>(())
/// ```
pub fn extract_txz(archive: &Path, target: &Path, opts: &ExtractOptions) -> Result<ExtractReport> {
    let f = std::fs::File::open(archive).map_err(|e| Error::io("open", archive, e))?;
    let reader = XzChunkReader::spawn(f, opts.decode).map_err(|e| Error::CorruptArchive {
        path: archive.to_path_buf(),
        reason: e.to_string(),
    })?;
    extract_tar(reader, archive, target, opts)
}

/// Extracts an uncompressed tar stream into `target`. `label` names the archive in errors.
pub fn extract_tar<R: Read>(
    reader: R,
    label: &Path,
    target: &Path,
    opts: &ExtractOptions,
) -> Result<ExtractReport> {
    let root = std::fs::File::open(target).map_err(|e| Error::io("open", target, e))?;
    if !root
        .metadata()
        .map_err(|e| Error::io("stat", target, e))?
        .is_dir()
    {
        return Err(Error::io(
            "open",
            target,
            io::Error::from_raw_os_error(libc::ENOTDIR),
        ));
    }
    let (euid, _) = sys::euid_egid();
    let mut x = Extractor {
        root: OwnedFd::from(root),
        target: target.to_path_buf(),
        opts: *opts,
        owners: opts.owners.unwrap_or(euid == 0),
        umask: sys::current_umask(),
        stack: Vec::new(),
        dir_fixups: Vec::new(),
        flag_fixups: Vec::new(),
        seen_top: HashSet::new(),
        report: ExtractReport::default(),
        buf: vec![0u8; 256 * 1024],
    };
    let corrupt = |e: io::Error| Error::CorruptArchive {
        path: label.to_path_buf(),
        reason: e.to_string(),
    };
    let mut ar = tar::Archive::new(reader);
    {
        let entries = ar.entries().map_err(corrupt)?;
        for entry in entries {
            let entry = entry.map_err(corrupt)?;
            x.entry(entry, label)?;
        }
    }
    // Read what follows the end-of-archive blocks so the xz integrity check is verified.
    io::copy(&mut ar.into_inner(), &mut io::sink()).map_err(corrupt)?;
    x.finish()?;
    Ok(x.report)
}

struct DirFixup {
    comps: Vec<CString>,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
}

struct Extractor {
    root: OwnedFd,
    target: PathBuf,
    opts: ExtractOptions,
    owners: bool,
    umask: Option<u32>,
    /// Open directory fds along the current parent path: stack[i] is comps[..=i].
    stack: Vec<(CString, OwnedFd)>,
    dir_fixups: Vec<DirFixup>,
    flag_fixups: Vec<(Vec<CString>, FileFlags)>,
    seen_top: HashSet<CString>,
    report: ExtractReport,
    buf: Vec<u8>,
}

/// Splits an archive path into components, refusing absolute paths, `..` and NULs.
pub(crate) fn split_path(raw: &[u8]) -> std::result::Result<Vec<CString>, Refusal> {
    if raw.first() == Some(&b'/') {
        return Err(Refusal::Absolute);
    }
    let mut out = Vec::new();
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err(Refusal::DotDot),
            _ => out.push(CString::new(c).map_err(|_| Refusal::InvalidPath)?),
        }
    }
    Ok(out)
}

fn rel(comps: &[CString]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let mut p = PathBuf::new();
    for c in comps {
        p.push(std::ffi::OsStr::from_bytes(c.as_bytes()));
    }
    p
}

/// `st_flags` of a stat (FreeBSD); 0 where the system has no file flags.
fn st_flags(st: &libc::stat) -> u32 {
    #[cfg(target_os = "freebsd")]
    {
        st.st_flags
    }
    #[cfg(not(target_os = "freebsd"))]
    {
        let _ = st;
        0
    }
}

fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

fn is_symlink(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFLNK
}

impl Extractor {
    fn refuse(entry: &[u8], reason: Refusal) -> Error {
        Error::Refused {
            entry: String::from_utf8_lossy(entry).into_owned(),
            reason,
        }
    }

    fn ioerr(&self, op: &'static str, comps: &[CString], e: io::Error) -> Error {
        Error::io(op, self.target.join(rel(comps)), e)
    }

    /// Opens (creating when missing) the parent directories `comps`, reusing cached fds.
    fn parent(&mut self, comps: &[CString], raw: &[u8]) -> Result<BorrowedFd<'_>> {
        let common = self
            .stack
            .iter()
            .zip(comps)
            .take_while(|((a, _), b)| a == *b)
            .count();
        self.stack.truncate(common);
        for i in common..comps.len() {
            let name = &comps[i];
            let dir = match self.stack.last() {
                Some((_, fd)) => fd.as_fd(),
                None => self.root.as_fd(),
            };
            let mut created = false;
            let fd = match sys::open_dir_at(dir, name) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    match sys::mkdir_at(dir, name, 0o755) {
                        Ok(()) => {}
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                        Err(e) => return Err(self.ioerr("mkdirat", &comps[..=i], e)),
                    }
                    created = true;
                    sys::open_dir_at(dir, name)
                        .map_err(|e| self.classify_open(dir, &comps[..=i], raw, e))?
                }
                Err(e) => return Err(self.classify_open(dir, &comps[..=i], raw, e)),
            };
            if i == 0 && created {
                let name = name.clone();
                self.note_top(&name, false);
            }
            self.stack.push((comps[i].clone(), fd));
        }
        Ok(match self.stack.last() {
            Some((_, fd)) => fd.as_fd(),
            None => self.root.as_fd(),
        })
    }

    fn classify_open(
        &self,
        dir: BorrowedFd<'_>,
        comps: &[CString],
        raw: &[u8],
        e: io::Error,
    ) -> Error {
        match e.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::EMLINK) | Some(libc::ENOTDIR) => {
                let name = comps.last().expect("non-empty");
                match sys::fstatat_nofollow(dir, name) {
                    Ok(st) if is_symlink(&st) => Self::refuse(raw, Refusal::ThroughSymlink),
                    Ok(st) if !is_dir(&st) => Self::refuse(raw, Refusal::NotADirectory),
                    _ => self.ioerr("openat", comps, e),
                }
            }
            _ => self.ioerr("openat", comps, e),
        }
    }

    /// Remembers whether a first-level name existed before we touched it.
    fn note_top(&mut self, name: &CStr, existed: bool) {
        if self.seen_top.insert(name.to_owned()) && !existed {
            self.report
                .created_top_level
                .push(rel(std::slice::from_ref(&name.to_owned())));
        }
    }

    fn check_top(&mut self, comps: &[CString]) {
        if comps.len() == 1 && !self.seen_top.contains(&comps[0]) {
            let existed = sys::fstatat_nofollow(self.root.as_fd(), &comps[0]).is_ok();
            self.note_top(&comps[0], existed);
        }
    }

    /// Forget cached directory fds at or below `comps` (the name is about to be replaced).
    fn invalidate(&mut self, comps: &[CString]) {
        if self.stack.len() >= comps.len() && self.stack.iter().zip(comps).all(|((a, _), b)| a == b)
        {
            self.stack.truncate(comps.len() - 1);
        }
    }

    /// Removes an existing leaf so it can be replaced (unlink semantics).
    fn remove_existing(&mut self, comps: &[CString], raw: &[u8]) -> Result<()> {
        if !self.opts.unlink {
            return Err(Self::refuse(raw, Refusal::Exists));
        }
        self.invalidate(comps);
        let (name, parent) = comps.split_last().expect("non-empty");
        let dir = self.parent(parent, raw)?;
        let st = sys::fstatat_nofollow(dir, name);
        let rmdir = matches!(&st, Ok(st) if is_dir(st));
        let mut res = sys::unlink_at(dir, name, rmdir);
        if FLAGS_SUPPORTED && matches!(&res, Err(e) if e.raw_os_error() == Some(libc::EPERM)) {
            // An immutable/undeletable leftover from a previous extraction: clear its flags.
            if crate::flags::set_flags_at(dir, name, FileFlags::empty()).is_ok() {
                res = sys::unlink_at(dir, name, rmdir);
            }
        }
        res.map_err(|e| self.ioerr("unlinkat", comps, e))
    }

    fn entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>, _label: &Path) -> Result<()> {
        self.report.entries += 1;
        let raw = entry.path_bytes().into_owned();
        let comps = split_path(&raw).map_err(|r| Self::refuse(&raw, r))?;
        let hdr = entry.header();
        let kind = hdr.entry_type();
        let mode = hdr.mode().unwrap_or(0o644) & 0o7777;
        let uid = hdr.uid().unwrap_or(0) as u32;
        let gid = hdr.gid().unwrap_or(0) as u32;
        let mtime = hdr.mtime().unwrap_or(0) as i64;
        let major = hdr.device_major().ok().flatten().unwrap_or(0);
        let minor = hdr.device_minor().ok().flatten().unwrap_or(0);
        let mut fflags = FileFlags::empty();
        if let Some(exts) = entry.pax_extensions().ok().flatten() {
            for ext in exts.flatten() {
                if ext.key_bytes() == b"SCHILY.fflags" {
                    let v = String::from_utf8_lossy(ext.value_bytes()).into_owned();
                    fflags = FileFlags::parse(&v).map_err(|bad| Error::CorruptArchive {
                        path: self.target.clone(),
                        reason: format!(
                            "entry {}: unknown file flag {bad:?}",
                            String::from_utf8_lossy(&raw)
                        ),
                    })?;
                }
            }
        }
        if comps.is_empty() {
            // The "./" entry: the target directory itself.
            if kind.is_dir() {
                self.dir_fixups.push(DirFixup {
                    comps,
                    mode,
                    uid,
                    gid,
                    mtime,
                });
                self.report.dirs += 1;
                return Ok(());
            }
            return Err(Self::refuse(&raw, Refusal::InvalidPath));
        }
        self.check_top(&comps);
        use tar::EntryType as T;
        match kind {
            T::Directory => self.directory(&comps, &raw, mode, uid, gid, mtime)?,
            T::Regular | T::Continuous => {
                self.file(&comps, &raw, &mut entry, mode, uid, gid, mtime)?;
            }
            T::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| Self::refuse(&raw, Refusal::InvalidPath))?;
                let target =
                    CString::new(target).map_err(|_| Self::refuse(&raw, Refusal::InvalidPath))?;
                let make = |dir: BorrowedFd<'_>, name: &CStr| sys::symlink_at(&target, dir, name);
                self.create_at(&comps, &raw, "symlinkat", make, uid, gid, mtime)?;
                self.report.symlinks += 1;
            }
            T::Link => {
                let src = entry
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .ok_or_else(|| Self::refuse(&raw, Refusal::LinkOutside))?;
                let src_comps =
                    split_path(&src).map_err(|_| Self::refuse(&raw, Refusal::LinkOutside))?;
                if src_comps.is_empty() {
                    return Err(Self::refuse(&raw, Refusal::LinkOutside));
                }
                self.hardlink(&comps, &raw, &src_comps)?;
            }
            T::Char | T::Block | T::Fifo => {
                let fmt = match kind {
                    T::Char => libc::S_IFCHR,
                    T::Block => libc::S_IFBLK,
                    _ => libc::S_IFIFO,
                };
                if fmt != libc::S_IFIFO && !self.opts.allow_devices {
                    return Err(Self::refuse(&raw, Refusal::Device));
                }
                let dev = libc::makedev(major as _, minor as _);
                let mode = fmt | (mode as libc::mode_t & 0o7777);
                let make = |dir: BorrowedFd<'_>, name: &CStr| sys::mknod_at(dir, name, mode, dev);
                self.create_at(&comps, &raw, "mknodat", make, uid, gid, mtime)?;
                self.report.nodes += 1;
            }
            _ => return Err(Self::refuse(&raw, Refusal::Unsupported)),
        }
        if !fflags.is_empty() {
            self.report.flags.push((rel(&comps), fflags));
            self.flag_fixups.push((comps, fflags));
        }
        Ok(())
    }

    fn directory(
        &mut self,
        comps: &[CString],
        raw: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
        mtime: i64,
    ) -> Result<()> {
        let (name, parent) = comps.split_last().expect("non-empty");
        let dir = self.parent(parent, raw)?;
        // Owner-writable until the end, so restrictive modes (0555 var/empty) do not block us.
        match sys::mkdir_at(dir, name, (mode | 0o700) as libc::mode_t) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                let st = sys::fstatat_nofollow(dir, name)
                    .map_err(|e| self.ioerr("fstatat", comps, e))?;
                if !is_dir(&st) {
                    self.remove_existing(comps, raw)?;
                    let dir = self.parent(parent, raw)?;
                    sys::mkdir_at(dir, name, (mode | 0o700) as libc::mode_t)
                        .map_err(|e| self.ioerr("mkdirat", comps, e))?;
                } else if FLAGS_SUPPORTED && st_flags(&st) != 0 {
                    // A directory left by an earlier extraction keeps its flags (var/empty is
                    // schg): the kernel then refuses our fchown/fchmod/futimens and anything
                    // written inside with EPERM (ufs_setattr / zfs_setattr refuse changes to an
                    // SF_IMMUTABLE inode). Clear them now, as libarchive's
                    // clear_nochange_fflags (archive_write_disk_posix.c) does before it
                    // restores an entry; the archive's own flags for this entry are set again
                    // last, in finish(), so the tree ends as a fresh extraction leaves it.
                    let dir = self.parent(parent, raw)?;
                    let cleared = crate::flags::set_flags_at(dir, name, FileFlags::empty());
                    cleared.map_err(|e| self.ioerr("chflagsat", comps, e))?;
                }
            }
            Err(e) => return Err(self.ioerr("mkdirat", comps, e)),
        }
        self.report.dirs += 1;
        self.dir_fixups.push(DirFixup {
            comps: comps.to_vec(),
            mode,
            uid,
            gid,
            mtime,
        });
        Ok(())
    }

    fn needs_chmod(&self, mode: u32) -> bool {
        match self.umask {
            Some(mask) => mode & 0o7000 != 0 || mode & mask != 0,
            None => true,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn file<R: Read>(
        &mut self,
        comps: &[CString],
        raw: &[u8],
        data: &mut R,
        mode: u32,
        uid: u32,
        gid: u32,
        mtime: i64,
    ) -> Result<()> {
        self.invalidate(comps);
        let (name, parent) = comps.split_last().expect("non-empty");
        let perm = (mode & 0o777) as libc::mode_t;
        let dir = self.parent(parent, raw)?;
        let fd = match sys::create_file_at(dir, name, perm) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                self.remove_existing(comps, raw)?;
                let dir = self.parent(parent, raw)?;
                sys::create_file_at(dir, name, perm).map_err(|e| self.ioerr("openat", comps, e))?
            }
            Err(e) => return Err(self.ioerr("openat", comps, e)),
        };
        let mut file = std::fs::File::from(fd);
        let mut buf = std::mem::take(&mut self.buf);
        let res = (|| -> Result<u64> {
            let mut total = 0u64;
            loop {
                let n = match data.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(Error::CorruptArchive {
                            path: self.target.join(rel(comps)),
                            reason: e.to_string(),
                        });
                    }
                };
                file.write_all(&buf[..n])
                    .map_err(|e| self.ioerr("write", comps, e))?;
                total += n as u64;
            }
            Ok(total)
        })();
        self.buf = buf;
        self.report.bytes += res?;
        let fd = file.as_fd();
        if self.owners {
            sys::fchown(fd, uid, gid).map_err(|e| self.ioerr("fchown", comps, e))?;
        }
        // chown clears setuid/setgid, so chmod comes after it.
        if self.needs_chmod(mode) {
            sys::fchmod(fd, mode as libc::mode_t).map_err(|e| self.ioerr("fchmod", comps, e))?;
        }
        sys::futimens(fd, mtime).map_err(|e| self.ioerr("futimens", comps, e))?;
        self.report.files += 1;
        Ok(())
    }

    /// Creates a symlink or a device/FIFO node with `make` (`what` names the call), replacing
    /// a non-directory already there, then sets its owner (when restoring owners) and mtime
    /// without following it.
    #[allow(clippy::too_many_arguments)]
    fn create_at(
        &mut self,
        comps: &[CString],
        raw: &[u8],
        what: &'static str,
        make: impl Fn(BorrowedFd<'_>, &CStr) -> io::Result<()>,
        uid: u32,
        gid: u32,
        mtime: i64,
    ) -> Result<()> {
        self.invalidate(comps);
        let (name, parent) = comps.split_last().expect("non-empty");
        let dir = self.parent(parent, raw)?;
        match make(dir, name) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                self.remove_existing(comps, raw)?;
                let dir = self.parent(parent, raw)?;
                make(dir, name).map_err(|e| self.ioerr(what, comps, e))?;
            }
            Err(e) => return Err(self.ioerr(what, comps, e)),
        }
        let owners = self.owners;
        let dir = self.parent(parent, raw)?;
        let r1 = if owners {
            sys::lchown_at(dir, name, uid, gid)
        } else {
            Ok(())
        };
        let r2 = sys::lutimens_at(dir, name, mtime);
        r1.map_err(|e| self.ioerr("fchownat", comps, e))?;
        r2.map_err(|e| self.ioerr("utimensat", comps, e))?;
        Ok(())
    }

    /// Opens the parent of `comps` from the root without the cache (for hard-link sources).
    fn open_parent_uncached(&self, comps: &[CString], raw: &[u8]) -> Result<Option<OwnedFd>> {
        let mut cur: Option<OwnedFd> = None;
        for i in 0..comps.len() - 1 {
            let dir = cur.as_ref().map(|f| f.as_fd()).unwrap_or(self.root.as_fd());
            let next = sys::open_dir_at(dir, &comps[i]).map_err(|e| {
                match self.classify_open(dir, &comps[..=i], raw, e) {
                    Error::Refused { .. } => Self::refuse(raw, Refusal::LinkOutside),
                    other => other,
                }
            })?;
            cur = Some(next);
        }
        Ok(cur)
    }

    fn hardlink(&mut self, comps: &[CString], raw: &[u8], src: &[CString]) -> Result<()> {
        if src == comps {
            return Ok(());
        }
        self.invalidate(comps);
        let src_parent = self.open_parent_uncached(src, raw)?;
        let src_name = src.last().expect("non-empty");
        let (name, parent) = comps.split_last().expect("non-empty");
        let root = self
            .root
            .try_clone()
            .map_err(|e| self.ioerr("dup", &[], e))?;
        let sdir_owned = src_parent.unwrap_or(root);
        let dir = self.parent(parent, raw)?;
        match sys::link_at(sdir_owned.as_fd(), src_name, dir, name) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                self.remove_existing(comps, raw)?;
                let dir = self.parent(parent, raw)?;
                sys::link_at(sdir_owned.as_fd(), src_name, dir, name)
                    .map_err(|e| self.ioerr("linkat", comps, e))?;
            }
            Err(e) => return Err(self.ioerr("linkat", comps, e)),
        }
        self.report.hardlinks += 1;
        Ok(())
    }

    /// Directory metadata (deepest first), then file flags — last, as nothing may be written
    /// into or linked to an immutable entry afterwards.
    fn finish(&mut self) -> Result<()> {
        self.stack.clear();
        let mut fixups = std::mem::take(&mut self.dir_fixups);
        fixups.sort_by_key(|f| std::cmp::Reverse(f.comps.len()));
        for f in &fixups {
            let raw = rel(&f.comps).into_os_string();
            let raw = raw.as_encoded_bytes();
            let fd = if f.comps.is_empty() {
                self.root
                    .try_clone()
                    .map_err(|e| self.ioerr("dup", &[], e))?
            } else {
                let parent = self.open_parent_uncached(&f.comps, raw)?;
                let dir = parent
                    .as_ref()
                    .map(|p| p.as_fd())
                    .unwrap_or(self.root.as_fd());
                match sys::open_dir_at(dir, f.comps.last().expect("non-empty")) {
                    Ok(fd) => fd,
                    // A later entry replaced the directory with a non-directory: nothing to fix.
                    Err(e)
                        if matches!(
                            e.raw_os_error(),
                            Some(libc::ELOOP | libc::EMLINK | libc::ENOTDIR | libc::ENOENT)
                        ) =>
                    {
                        continue;
                    }
                    Err(e) => return Err(self.ioerr("openat", &f.comps, e)),
                }
            };
            let fd = fd.as_fd();
            if self.owners {
                sys::fchown(fd, f.uid, f.gid).map_err(|e| self.ioerr("fchown", &f.comps, e))?;
            }
            sys::fchmod(fd, f.mode as libc::mode_t)
                .map_err(|e| self.ioerr("fchmod", &f.comps, e))?;
            sys::futimens(fd, f.mtime).map_err(|e| self.ioerr("futimens", &f.comps, e))?;
        }
        self.report.flags_applied = FLAGS_SUPPORTED && !self.flag_fixups.is_empty();
        if FLAGS_SUPPORTED {
            let mut flagged = std::mem::take(&mut self.flag_fixups);
            // Deepest first: a flagged directory must not block flagging what is inside it.
            flagged.sort_by_key(|f| std::cmp::Reverse(f.0.len()));
            for (comps, fl) in &flagged {
                let raw = rel(comps).into_os_string();
                let parent = self.open_parent_uncached(comps, raw.as_encoded_bytes())?;
                let dir = parent
                    .as_ref()
                    .map(|p| p.as_fd())
                    .unwrap_or(self.root.as_fd());
                crate::flags::set_flags_at(dir, comps.last().expect("non-empty"), *fl)
                    .map_err(|e| self.ioerr("chflagsat", comps, e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_refuses_escapes() {
        assert_eq!(split_path(b"/etc/passwd"), Err(Refusal::Absolute));
        assert_eq!(split_path(b"./a/../../b"), Err(Refusal::DotDot));
        assert_eq!(split_path(b"a/.."), Err(Refusal::DotDot));
        let ok = split_path(b"./usr//bin/./ls").unwrap();
        assert_eq!(
            ok,
            vec![c"usr".to_owned(), c"bin".to_owned(), c"ls".to_owned()]
        );
        assert!(split_path(b"./").unwrap().is_empty());
        assert_eq!(split_path(b"a/..b/c").unwrap().len(), 3);
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the bytes, an accepted path is only plain, non-empty components.
        #[test]
        fn split_path_only_yields_plain_components(raw in proptest::collection::vec(
            prop_oneof![Just(b'/'), Just(b'.'), Just(b'a'), Just(0u8), any::<u8>()], 0..24)) {
            match split_path(&raw) {
                Ok(comps) => {
                    prop_assert!(raw.first() != Some(&b'/'));
                    for c in comps {
                        let b = c.as_bytes();
                        prop_assert!(!b.is_empty() && b != b"." && b != b"..");
                        prop_assert!(!b.contains(&b'/'));
                    }
                }
                Err(r) => prop_assert!(matches!(r, Refusal::Absolute | Refusal::DotDot | Refusal::InvalidPath)),
            }
        }
    }
}
