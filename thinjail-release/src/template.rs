//! Template preparation steps of the thin-jail recipe (RECIPE §4-5), as real file I/O:
//!
//! | step | function | undo |
//! |---|---|---|
//! | base directory | [`create_dirs`] | remove the (empty) dirs created |
//! | extract `base.txz` | [`extract_base`] | remove the first-level entries it created |
//! | host `resolv.conf`, `localtime` | [`copy_host_files`] | restore previous content |
//! | skeleton split + symlinks | [`split_skeleton`] | remove links, move dirs back |
//! | `freebsd-update` | [`FreebsdUpdate`] (command line only) | — |
//!
//! Every step is idempotent (running it again on a finished tree changes nothing and returns no
//! [`Change`]s) and returns the [`Change`]s it made; [`undo`] reverts a list of changes in
//! reverse order. The skeleton's `@base` snapshot (ZFS) or plain-directory copy is done by the
//! storage layer (thinjail-core); this module only lays out the trees.

use crate::extract::{ExtractOptions, ExtractReport, extract_txz};
use crate::flags::{self, FileFlags};
use crate::{Error, Release, Result};
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The paths moved from base into the skeleton (relative to the root), in order.
pub const RELOCATED: [&str; 6] = ["etc", "usr/local", "tmp", "var", "root", "home"];

/// Name of the (empty) directory in base where a jail mounts its skeleton clone.
pub const SKELETON_MOUNT: &str = "skeleton";

/// Where a template lives on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateLayout {
    /// The read-only shared core, e.g. `/zdata/jails/templates/14.2-RELEASE-base`.
    pub base: PathBuf,
    /// The per-jail writable part, e.g. `/zdata/jails/templates/14.2-RELEASE-skeleton`.
    pub skeleton: PathBuf,
}

/// One thing a step did, with what is needed to undo it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A directory was created (undo: remove it; it must be empty again by then).
    CreatedDir(PathBuf),
    /// An archive was extracted into `root`, creating these first-level entries (absolute).
    Extracted {
        /// Extraction root.
        root: PathBuf,
        /// First-level entries that did not exist before (undo: remove these trees).
        created: Vec<PathBuf>,
    },
    /// A file was written; `previous` is its former content (`None`: it did not exist).
    WroteFile {
        /// The file.
        path: PathBuf,
        /// Former content.
        previous: Option<Vec<u8>>,
    },
    /// A directory tree was moved (renamed, or copied and deleted across filesystems).
    Moved {
        /// Old location.
        from: PathBuf,
        /// New location.
        to: PathBuf,
        /// It crossed a filesystem boundary (EXDEV) and was copied.
        copied: bool,
    },
    /// A symlink was created at `path` pointing to `target`.
    CreatedSymlink {
        /// The link.
        path: PathBuf,
        /// Its (relative) target.
        target: PathBuf,
    },
}

fn terr(path: &Path, reason: impl Into<String>) -> Error {
    Error::Template {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Creates `dir` and any missing parents; reports each directory created.
pub fn create_dirs(dir: &Path) -> Result<Vec<Change>> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(p) = cur {
        match fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => return Err(terr(p, "exists and is not a directory")),
            Err(_) => missing.push(p.to_path_buf()),
        }
        cur = p.parent();
    }
    let mut changes = Vec::new();
    for p in missing.into_iter().rev() {
        fs::create_dir(&p).map_err(|e| Error::io("mkdir", &p, e))?;
        changes.push(Change::CreatedDir(p));
    }
    Ok(changes)
}

/// Whether `base` has already been split (its `etc` is the skeleton symlink).
pub fn is_split(layout: &TemplateLayout) -> bool {
    fs::read_link(layout.base.join("etc")).is_ok_and(|t| t == link_target("etc"))
}

/// Extracts `archive` into the base directory with [`ExtractOptions`] `opts` (`--unlink`
/// semantics). Skipped (no changes) when the base is already split: re-extracting would replace
/// the skeleton links with directories.
pub fn extract_base(
    archive: &Path,
    layout: &TemplateLayout,
    opts: &ExtractOptions,
) -> Result<(Vec<Change>, Option<ExtractReport>)> {
    if is_split(layout) {
        return Ok((Vec::new(), None));
    }
    let rep = extract_txz(archive, &layout.base, opts)?;
    let created: Vec<PathBuf> = rep
        .created_top_level
        .iter()
        .map(|p| layout.base.join(p))
        .collect();
    let changes = vec![Change::Extracted {
        root: layout.base.clone(),
        created,
    }];
    Ok((changes, Some(rep)))
}

/// The directory that really holds the template's `etc`: `base/etc`, or the skeleton's after
/// the split.
pub fn etc_dir(layout: &TemplateLayout) -> PathBuf {
    if is_split(layout) {
        layout.skeleton.join("etc")
    } else {
        layout.base.join("etc")
    }
}

/// Copies the host's `etc/resolv.conf` and `etc/localtime` (read through symlinks, as
/// `localtime` often is one) from `host_root` (normally `/`) into the template's `etc`
/// (see [`etc_dir`]). A host file that does not exist is skipped. Unchanged content is not
/// rewritten. Writes go to a temporary file renamed into place, mode 0644.
pub fn copy_host_files(host_root: &Path, layout: &TemplateLayout) -> Result<Vec<Change>> {
    let etc = etc_dir(layout);
    if !etc.is_dir() {
        return Err(terr(&etc, "template has no etc directory (extract first)"));
    }
    let mut changes = Vec::new();
    for name in ["resolv.conf", "localtime"] {
        let src = host_root.join("etc").join(name);
        let data = match fs::read(&src) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("read", &src, e)),
        };
        let dst = etc.join(name);
        let previous = match fs::symlink_metadata(&dst) {
            Ok(m) if m.is_file() => Some(fs::read(&dst).map_err(|e| Error::io("read", &dst, e))?),
            Ok(_) => return Err(terr(&dst, "exists and is not a regular file")),
            Err(_) => None,
        };
        if previous.as_deref() == Some(&data[..]) {
            continue;
        }
        write_atomic(&dst, &data, 0o644)?;
        changes.push(Change::WroteFile {
            path: dst,
            previous,
        });
    }
    Ok(changes)
}

fn write_atomic(dst: &Path, data: &[u8], mode: u32) -> Result<()> {
    let mut tmp = dst.as_os_str().to_owned();
    tmp.push(".thinjail-tmp");
    let tmp = PathBuf::from(tmp);
    let res = (|| -> io::Result<()> {
        fs::write(&tmp, data)?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
        fs::rename(&tmp, dst)
    })();
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("write", dst, e));
    }
    Ok(())
}

/// Relative symlink target placed at `base/<rel>`: `etc` -> `skeleton/etc`,
/// `usr/local` -> `../skeleton/usr/local`. Inside a jail (base at `/`, skeleton clone mounted at
/// `/skeleton`) it resolves to the skeleton's directory.
///
/// ```
/// use thinjail_release::template::link_target;
/// assert_eq!(link_target("usr/local"), std::path::Path::new("../skeleton/usr/local"));
/// ```
pub fn link_target(rel: &str) -> PathBuf {
    let depth = rel.matches('/').count();
    let mut p = PathBuf::new();
    for _ in 0..depth {
        p.push("..");
    }
    p.push(SKELETON_MOUNT);
    p.push(rel);
    p
}

fn partial_name(dst: &Path) -> PathBuf {
    let name = dst
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dst.with_file_name(format!(".{name}.thinjail-partial"))
}

/// The skeleton split (RECIPE §5.2-5.3): moves each of [`RELOCATED`] from base into the
/// skeleton (rename on one filesystem; across filesystems a metadata-preserving copy into a
/// hidden `.<name>.thinjail-partial`, renamed into place when complete, then removal of the
/// source), creates missing ones empty in the skeleton, creates `base/skeleton/`, and puts
/// relative symlinks ([`link_target`]) in base. File flags (`schg` on `var/empty`) are cleared
/// on the source before the move and set again on the destination (FreeBSD). No backup
/// directories are left.
///
/// Resuming after a crash: a stale `.partial` is discarded; a destination under its final name
/// is complete (it got that name only after the copy finished), so a remaining source is the
/// not-yet-deleted original and is removed.
pub fn split_skeleton(layout: &TemplateLayout) -> Result<Vec<Change>> {
    let mut changes = create_dirs(&layout.skeleton)?;
    let mount = layout.base.join(SKELETON_MOUNT);
    match fs::symlink_metadata(&mount) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(terr(&mount, "exists and is not a directory")),
        Err(_) => {
            fs::create_dir(&mount).map_err(|e| Error::io("mkdir", &mount, e))?;
            fs::set_permissions(&mount, fs::Permissions::from_mode(0o755))
                .map_err(|e| Error::io("chmod", &mount, e))?;
            changes.push(Change::CreatedDir(mount));
        }
    }
    for rel in RELOCATED {
        let src = layout.base.join(rel);
        let dst = layout.skeleton.join(rel);
        let target = link_target(rel);
        for parent in [dst.parent(), src.parent()].into_iter().flatten() {
            changes.extend(create_dirs(parent)?);
        }
        let src_meta = fs::symlink_metadata(&src).ok();
        let dst_exists = fs::symlink_metadata(&dst).is_ok();
        let partial = partial_name(&dst);
        if fs::symlink_metadata(&partial).is_ok() {
            remove_tree(&partial)?;
        }
        match src_meta {
            Some(m) if m.file_type().is_symlink() => {
                let t = fs::read_link(&src).map_err(|e| Error::io("readlink", &src, e))?;
                if t != target {
                    return Err(terr(
                        &src,
                        format!(
                            "is a symlink to {} (expected {})",
                            t.display(),
                            target.display()
                        ),
                    ));
                }
                if !dst_exists {
                    return Err(terr(
                        &dst,
                        "base links here but the skeleton has no such directory",
                    ));
                }
                continue;
            }
            Some(m) if m.is_dir() => {
                if dst_exists {
                    // Interrupted after the copy completed: finish removing the source.
                    remove_tree(&src)?;
                } else {
                    let copied = move_tree(&src, &dst)?;
                    changes.push(Change::Moved {
                        from: src.clone(),
                        to: dst.clone(),
                        copied,
                    });
                }
            }
            Some(_) => return Err(terr(&src, "exists and is not a directory")),
            None => {
                if !dst_exists {
                    fs::create_dir(&dst).map_err(|e| Error::io("mkdir", &dst, e))?;
                    let mode = if rel == "tmp" { 0o1777 } else { 0o755 };
                    fs::set_permissions(&dst, fs::Permissions::from_mode(mode))
                        .map_err(|e| Error::io("chmod", &dst, e))?;
                    changes.push(Change::CreatedDir(dst.clone()));
                }
            }
        }
        std::os::unix::fs::symlink(&target, &src).map_err(|e| Error::io("symlink", &src, e))?;
        changes.push(Change::CreatedSymlink { path: src, target });
    }
    Ok(changes)
}

/// Every entry under `root` (including `root`) with flags set, deepest first.
fn flagged_entries(root: &Path) -> Result<Vec<(PathBuf, FileFlags)>> {
    let mut out = Vec::new();
    if !flags::FLAGS_SUPPORTED {
        return Ok(out);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let f = flags::get_flags(&p).map_err(|e| Error::io("lstat", &p, e))?;
        if !f.is_empty() {
            out.push((p.clone(), f));
        }
        if fs::symlink_metadata(&p)
            .map_err(|e| Error::io("lstat", &p, e))?
            .is_dir()
        {
            for e in fs::read_dir(&p).map_err(|e| Error::io("readdir", &p, e))? {
                stack.push(e.map_err(|e| Error::io("readdir", &p, e))?.path());
            }
        }
    }
    out.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
    Ok(out)
}

fn clear_flags(entries: &[(PathBuf, FileFlags)]) -> Result<()> {
    for (p, _) in entries.iter().rev() {
        flags::set_flags(p, FileFlags::empty()).map_err(|e| Error::io("chflags", p, e))?;
    }
    Ok(())
}

/// Moves a tree: `rename(2)`, or on `EXDEV` a metadata-preserving copy (modes, numeric owners
/// when root, mtimes, symlinks, hard links within the tree, FIFOs/devices) into a partial name,
/// renamed into place, then removal of the source. Flags are cleared first and set again on the
/// destination. Returns whether it copied.
pub fn move_tree(src: &Path, dst: &Path) -> Result<bool> {
    let flagged = flagged_entries(src)?;
    clear_flags(&flagged)?;
    let reflag = |base: &Path| -> Result<()> {
        for (p, f) in &flagged {
            let rel = p.strip_prefix(src).unwrap_or(Path::new(""));
            let q = if rel.as_os_str().is_empty() {
                base.to_path_buf()
            } else {
                base.join(rel)
            };
            flags::set_flags(&q, *f).map_err(|e| Error::io("chflags", &q, e))?;
        }
        Ok(())
    };
    match fs::rename(src, dst) {
        Ok(()) => {
            reflag(dst)?;
            return Ok(false);
        }
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {}
        Err(e) => {
            reflag(src)?;
            return Err(Error::io("rename", dst, e));
        }
    }
    let partial = partial_name(dst);
    if let Err(e) = copy_tree(src, &partial) {
        let _ = remove_tree(&partial);
        reflag(src)?;
        return Err(e);
    }
    fs::rename(&partial, dst).map_err(|e| Error::io("rename", dst, e))?;
    remove_tree(src)?;
    reflag(dst)?;
    Ok(true)
}

fn set_times(path: &Path, mtime: i64) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: timespec is plain old data; zeroed is valid.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    t.tv_sec = mtime as libc::time_t;
    let ts = [t, t];
    // SAFETY: utimensat(2) with AT_FDCWD, a NUL-terminated path and two timespecs.
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Copies a tree to `dst`, which must not exist: directories, regular files, symlinks, hard
/// links within the tree, FIFOs and devices, with modes, mtimes and (when root) numeric owners —
/// the copy [`move_tree`] falls back to across file systems.
///
/// ```
/// let d = tempfile::tempdir().unwrap();
/// let src = d.path().join("src");
/// std::fs::create_dir_all(src.join("etc")).unwrap();
/// std::fs::write(src.join("etc/rc"), "#!/bin/sh\n").unwrap();
/// std::os::unix::fs::symlink("etc/rc", src.join("rc")).unwrap();
/// thinjail_release::template::copy_tree(&src, &d.path().join("dst")).unwrap();
/// assert_eq!(std::fs::read_link(d.path().join("dst/rc")).unwrap(), std::path::Path::new("etc/rc"));
/// ```
pub fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    copy_tree_linked(src, dst, &mut std::collections::HashMap::new())
}

fn copy_tree_linked(
    src: &Path,
    dst: &Path,
    links: &mut std::collections::HashMap<(u64, u64), PathBuf>,
) -> Result<()> {
    let m = fs::symlink_metadata(src).map_err(|e| Error::io("lstat", src, e))?;
    let root = crate::sys::euid_egid().0 == 0;
    let ft = m.file_type();
    let io_dst = |op| move |e| Error::io(op, dst, e);
    if ft.is_dir() {
        fs::create_dir(dst).map_err(io_dst("mkdir"))?;
        fs::set_permissions(dst, fs::Permissions::from_mode(0o700)).map_err(io_dst("chmod"))?;
        for e in fs::read_dir(src).map_err(|e| Error::io("readdir", src, e))? {
            let e = e.map_err(|e| Error::io("readdir", src, e))?;
            copy_tree_linked(&e.path(), &dst.join(e.file_name()), links)?;
        }
    } else if ft.is_symlink() {
        let t = fs::read_link(src).map_err(|e| Error::io("readlink", src, e))?;
        std::os::unix::fs::symlink(&t, dst).map_err(io_dst("symlink"))?;
    } else {
        if m.nlink() > 1 {
            if let Some(first) = links.get(&(m.dev(), m.ino())) {
                fs::hard_link(first, dst).map_err(io_dst("link"))?;
                return Ok(());
            }
            links.insert((m.dev(), m.ino()), dst.to_path_buf());
        }
        if ft.is_file() {
            fs::copy(src, dst).map_err(io_dst("copy"))?;
        } else {
            use std::os::unix::ffi::OsStrExt;
            let c = std::ffi::CString::new(dst.as_os_str().as_bytes())
                .map_err(|e| Error::io("mknod", dst, e.into()))?;
            // SAFETY: mknod(2) with a NUL-terminated path; mode/rdev copied from lstat.
            let rc = unsafe {
                libc::mknod(
                    c.as_ptr(),
                    m.mode() as libc::mode_t,
                    m.rdev() as libc::dev_t,
                )
            };
            if rc != 0 {
                return Err(Error::io("mknod", dst, io::Error::last_os_error()));
            }
        }
    }
    if root {
        std::os::unix::fs::lchown(dst, Some(m.uid()), Some(m.gid())).map_err(io_dst("lchown"))?;
    }
    if !ft.is_symlink() {
        fs::set_permissions(dst, fs::Permissions::from_mode(m.mode() & 0o7777))
            .map_err(io_dst("chmod"))?;
    }
    set_times(dst, m.mtime()).map_err(io_dst("utimensat"))?;
    Ok(())
}

/// Removes a tree, clearing file flags first where they exist (FreeBSD).
pub fn remove_tree(path: &Path) -> Result<()> {
    let m = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("lstat", path, e)),
    };
    if m.is_dir() {
        clear_flags(&flagged_entries(path)?)?;
        fs::remove_dir_all(path).map_err(|e| Error::io("remove", path, e))
    } else {
        if flags::FLAGS_SUPPORTED {
            flags::set_flags(path, FileFlags::empty())
                .map_err(|e| Error::io("chflags", path, e))?;
        }
        fs::remove_file(path).map_err(|e| Error::io("remove", path, e))
    }
}

/// Reverts `changes` (as returned by the steps, in their order) in reverse order.
pub fn undo(changes: &[Change]) -> Result<()> {
    for c in changes.iter().rev() {
        match c {
            Change::CreatedDir(p) => match fs::remove_dir(p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("rmdir", p, e)),
            },
            Change::Extracted { created, .. } => {
                for p in created {
                    remove_tree(p)?;
                }
            }
            Change::WroteFile { path, previous } => match previous {
                Some(data) => write_atomic(path, data, 0o644)?,
                None => match fs::remove_file(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io("remove", path, e)),
                },
            },
            Change::Moved { from, to, .. } => {
                if fs::symlink_metadata(to).is_ok() {
                    move_tree(to, from)?;
                }
            }
            Change::CreatedSymlink { path, .. } => {
                if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
                    fs::remove_file(path).map_err(|e| Error::io("remove", path, e))?;
                }
            }
        }
    }
    Ok(())
}

/// The `freebsd-update` invocation that patches a template in place:
/// `env PAGER=cat freebsd-update --not-running-from-cron --currently-running <release>
/// -b <base> -d <workdir> fetch install`.
///
/// The recipe ran `freebsd-update -b` on a path other than the template it had just made; this
/// builder takes the [`TemplateLayout`] and checks that `-b` points at a tree whose `etc` and
/// `var` are really there: before the split, or after it only when the skeleton is visible at
/// `base/skeleton` (e.g. mounted with nullfs). `--currently-running` is passed because
/// `freebsd-update` would otherwise take the host's `uname -r`, and `--not-running-from-cron`
/// because `fetch` refuses to run without a terminal otherwise.
///
/// ```
/// use thinjail_release::template::FreebsdUpdate;
/// let u = FreebsdUpdate::new("/zdata/jails/templates/14.2-RELEASE-base".into(),
///     "/zdata/jails/media/freebsd-update/14.2-RELEASE".into(), "14.2-RELEASE".parse().unwrap());
/// assert_eq!(u.args().join(" ".as_ref()).to_string_lossy(),
///     "--not-running-from-cron --currently-running 14.2-RELEASE \
///      -b /zdata/jails/templates/14.2-RELEASE-base \
///      -d /zdata/jails/media/freebsd-update/14.2-RELEASE fetch install");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreebsdUpdate {
    /// `-b`: the template root.
    pub basedir: PathBuf,
    /// `-d`: the working directory (kept outside the template so jails never see it).
    pub workdir: PathBuf,
    /// `--currently-running`.
    pub release: Release,
}

impl FreebsdUpdate {
    /// Builds without checking the paths.
    pub fn new(basedir: PathBuf, workdir: PathBuf, release: Release) -> Self {
        FreebsdUpdate {
            basedir,
            workdir,
            release,
        }
    }

    /// Builds for a template, checking that the tree at `layout.base` has real `etc`, `var`
    /// and `bin/freebsd-version` as seen from the host (see the type docs).
    pub fn for_template(
        layout: &TemplateLayout,
        workdir: PathBuf,
        release: Release,
    ) -> Result<Self> {
        for rel in ["etc", "var", "bin/freebsd-version"] {
            let p = layout.base.join(rel);
            if fs::metadata(&p).is_err() {
                let why = if is_split(layout) {
                    "does not resolve on the host: the template is split; run freebsd-update \
                     before the split, or with the skeleton mounted at base/skeleton"
                } else {
                    "missing: not an extracted release"
                };
                return Err(terr(&p, why));
            }
        }
        Ok(Self::new(layout.base.clone(), workdir, release))
    }

    /// Arguments after the program name.
    pub fn args(&self) -> Vec<OsString> {
        let mut v: Vec<OsString> = vec![
            "--not-running-from-cron".into(),
            "--currently-running".into(),
            self.release.to_string().into(),
            "-b".into(),
            self.basedir.clone().into_os_string(),
            "-d".into(),
            self.workdir.clone().into_os_string(),
        ];
        v.push("fetch".into());
        v.push("install".into());
        v
    }

    /// A ready [`std::process::Command`] (`freebsd-update`, `PAGER=cat`). The caller runs it
    /// (FreeBSD only) after creating `workdir`.
    pub fn command(&self) -> std::process::Command {
        let mut c = std::process::Command::new("freebsd-update");
        c.args(self.args()).env("PAGER", "cat");
        c
    }
}
