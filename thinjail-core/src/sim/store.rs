//! Dataset contents on a [`SimHost`] without a dataset layer: what makes a snapshot hold the
//! files its dataset had and a clone start with them.
//!
//! A mounted dataset's files are the real files under its mount point (where the rest of the
//! host's code reads and writes them). Everything that is not in the visible tree lives in a
//! store under `<root>/.simhost/store/`, which persists with the root like the model:
//! - `ds/<name>`: an unmounted dataset's files (moved there by unmount, back by mount; a clone
//!   starts there with a copy of its snapshot);
//! - `snap/<name@snap>`: a snapshot's files, copied from its dataset when it is taken;
//! - `covered/<mount id>`: what a zfs mount hides, the directory it was mounted over (moved
//!   back when it is unmounted), as nmount(2) over a non-empty directory does.
//!
//! Dataset names become one file name each (`/` → `%`; `%` is not allowed in dataset names).
//! Limits: the mode and owner of a dataset's root directory are those of its mount point; a
//! file system hidden by a mount that is itself hidden later is found one level deep only.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thinjail_release::template::{copy_tree, move_tree, remove_tree};

use super::{FileState, Model, SIMHOST_DIR, SimHost, io_err, resolve_in, walk};
use crate::host::{FsType, HostError, HostResult, OpKind};

/// The store's directory under [`SIMHOST_DIR`].
const STORE: &str = "store";

fn key(name: &str) -> String {
    name.replace('/', "%")
}

fn name_of(key: &str) -> String {
    key.replace('%', "/")
}

fn rel_err(op: OpKind, path: &Path, err: thinjail_release::Error) -> HostError {
    match err {
        thinjail_release::Error::Io { path, source, .. } => io_err(op, &path, source),
        other => io_err(op, path, io::Error::other(other.to_string())),
    }
}

/// The names in a directory (none if it does not exist), sorted.
fn entries(op: OpKind, dir: &Path) -> HostResult<Vec<std::ffi::OsString>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(io_err(op, dir, err)),
    };
    let mut names = rd
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<Vec<_>>>()
        .map_err(|err| io_err(op, dir, err))?;
    names.sort();
    Ok(names)
}

/// Move everything in `src` but `omit` into the directory `dst` (created if missing; its
/// entries must not exist there), then remove `src` when `remove_src`.
fn move_entries(
    op: OpKind,
    src: &Path,
    dst: &Path,
    remove_src: bool,
    omit: &Path,
) -> HostResult<()> {
    let mut names = entries(op, src)?;
    names.retain(|n| src.join(n) != omit);
    if !names.is_empty() {
        fs::create_dir_all(dst).map_err(|err| io_err(op, dst, err))?;
    }
    for n in names {
        move_tree(&src.join(&n), &dst.join(&n)).map_err(|err| rel_err(op, &src.join(&n), err))?;
    }
    if remove_src {
        remove_tree(src).map_err(|err| rel_err(op, src, err))?;
    }
    Ok(())
}

/// Copy a tree to `dst` through a partial name, renamed into place when complete.
fn copy_whole(
    op: OpKind,
    dst: &Path,
    fill: impl FnOnce(&Path) -> HostResult<()>,
) -> HostResult<()> {
    let mut partial = dst.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    remove_tree(&partial).map_err(|err| rel_err(op, &partial, err))?;
    if let Some(parent) = partial.parent() {
        fs::create_dir_all(parent).map_err(|err| io_err(op, parent, err))?;
    }
    if let Err(err) = fill(&partial) {
        let _ = remove_tree(&partial);
        return Err(err);
    }
    fs::rename(&partial, dst).map_err(|err| io_err(op, dst, err))
}

/// A file system mounted inside a dataset: its real directory and, for zfs, the store holding
/// the dataset's own directory it covers.
type Inner = (PathBuf, Option<PathBuf>);

/// Copy `src` to `dst` (which must not exist) without `omit` and without what other file
/// systems mounted at the `inner` directories hold: there, the directory they cover is copied.
fn copy_own(op: OpKind, src: &Path, dst: &Path, inner: &[Inner], omit: &Path) -> HostResult<()> {
    if let Some((_, covered)) = inner.iter().find(|(p, _)| p == src) {
        fs::create_dir(dst).map_err(|err| io_err(op, dst, err))?;
        if let Some(c) = covered {
            for n in entries(op, c)? {
                copy_tree(&c.join(&n), &dst.join(&n))
                    .map_err(|err| rel_err(op, &c.join(&n), err))?;
            }
        }
        return Ok(());
    }
    if !inner.iter().any(|(p, _)| p.starts_with(src)) && !omit.starts_with(src) {
        return copy_tree(src, dst).map_err(|err| rel_err(op, src, err));
    }
    // A directory on the way to a mount point.
    let md = fs::symlink_metadata(src).map_err(|err| io_err(op, src, err))?;
    fs::create_dir(dst).map_err(|err| io_err(op, dst, err))?;
    for n in entries(op, src)? {
        if src.join(&n) != omit {
            copy_own(op, &src.join(&n), &dst.join(&n), inner, omit)?;
        }
    }
    fs::set_permissions(dst, md.permissions()).map_err(|err| io_err(op, dst, err))
}

impl SimHost {
    /// `<root>/.simhost`: never part of a dataset, even one mounted at `/`.
    fn own_dir(&self) -> PathBuf {
        self.root.join(SIMHOST_DIR)
    }

    fn store(&self) -> PathBuf {
        self.own_dir().join(STORE)
    }

    fn dataset_store(&self, name: &str) -> PathBuf {
        self.store().join("ds").join(key(name))
    }

    fn snapshot_store(&self, snapshot: &str) -> PathBuf {
        self.store().join("snap").join(key(snapshot))
    }

    fn covered_store(&self, mount_id: u64) -> PathBuf {
        self.store().join("covered").join(mount_id.to_string())
    }

    /// The real directory of `m.mounts[idx]` (its mount point resolved against older mounts).
    fn mount_real(&self, m: &Model, idx: usize) -> PathBuf {
        self.real_path(&resolve_in(&m.mounts[..idx], &m.mounts[idx].at).0)
    }

    /// Where the files on `m.mounts[idx]` are now: its real directory, or, when a later zfs
    /// mount was made over it, the place in that mount's covered store.
    fn mount_content(&self, m: &Model, idx: usize) -> PathBuf {
        let real = self.mount_real(m, idx);
        for j in idx + 1..m.mounts.len() {
            if m.mounts[j].fstype != FsType::Zfs {
                continue;
            }
            if let Ok(rest) = real.strip_prefix(self.mount_real(m, j)) {
                return self.covered_store(m.mount_ids[j]).join(rest);
            }
        }
        real
    }

    /// Where a dataset's own files are, and the file systems mounted inside that directory.
    fn dataset_content(&self, m: &Model, name: &str) -> (PathBuf, Vec<Inner>) {
        let Some(idx) = m
            .mounts
            .iter()
            .rposition(|mt| mt.fstype == FsType::Zfs && mt.source == name)
        else {
            return (self.dataset_store(name), Vec::new());
        };
        let real = self.mount_real(m, idx);
        let dir = self.mount_content(m, idx);
        if dir != real {
            return (dir, Vec::new());
        }
        let inner = (idx + 1..m.mounts.len())
            .filter(|&j| matches!(m.mounts[j].fstype, FsType::Zfs | FsType::Devfs))
            .filter_map(|j| {
                let rj = self.mount_real(m, j);
                (rj != real && rj.starts_with(&real)).then(|| {
                    let covered = (m.mounts[j].fstype == FsType::Zfs)
                        .then(|| self.covered_store(m.mount_ids[j]));
                    (rj, covered)
                })
            })
            .collect();
        (dir, inner)
    }

    /// A new dataset is empty: drop what a previous host on this root left under its name.
    pub(super) fn store_create(&self, op: OpKind, name: &str) -> HostResult<()> {
        let st = self.dataset_store(name);
        remove_tree(&st).map_err(|err| rel_err(op, &st, err))
    }

    /// Take `snapshot`: copy its dataset's own files into the snapshot's store.
    pub(super) fn store_snapshot(&self, m: &Model, op: OpKind, snapshot: &str) -> HostResult<()> {
        let fs_name = snapshot.split('@').next().unwrap_or_default();
        let dst = self.snapshot_store(snapshot);
        remove_tree(&dst).map_err(|err| rel_err(op, &dst, err))?;
        let (src, inner) = self.dataset_content(m, fs_name);
        copy_whole(op, &dst, |partial| {
            if src.is_dir() {
                copy_own(op, &src, partial, &inner, &self.own_dir())
            } else {
                fs::create_dir(partial).map_err(|err| io_err(op, partial, err))
            }
        })
    }

    /// Clone `snapshot` as `name` (not mounted): its files start as a copy of the snapshot's.
    pub(super) fn store_clone(&self, op: OpKind, snapshot: &str, name: &str) -> HostResult<()> {
        let dst = self.dataset_store(name);
        remove_tree(&dst).map_err(|err| rel_err(op, &dst, err))?;
        let src = self.snapshot_store(snapshot);
        if entries(op, &src)?.is_empty() {
            return Ok(());
        }
        copy_whole(op, &dst, |partial| {
            copy_tree(&src, partial).map_err(|err| rel_err(op, &src, err))
        })
    }

    /// Destroy a dataset's or a snapshot's files.
    pub(super) fn store_destroy(&self, op: OpKind, name: &str) -> HostResult<()> {
        let st = if name.contains('@') {
            self.snapshot_store(name)
        } else {
            self.dataset_store(name)
        };
        remove_tree(&st).map_err(|err| rel_err(op, &st, err))
    }

    /// Mount `name` on the real directory `real` as the mount `mount_id`: what the directory
    /// holds is hidden (kept in the covered store), the dataset's files appear in it.
    pub(super) fn store_mount(
        &self,
        op: OpKind,
        name: &str,
        real: &Path,
        mount_id: u64,
    ) -> HostResult<()> {
        let covered = self.covered_store(mount_id);
        remove_tree(&covered).map_err(|err| rel_err(op, &covered, err))?;
        let omit = self.own_dir();
        move_entries(op, real, &covered, false, &omit)?;
        move_entries(op, &self.dataset_store(name), real, true, &omit)
    }

    /// Unmount the zfs mount `m.mounts[idx]` (still in `m`): its dataset's files go to the
    /// dataset's store, what it covered comes back.
    pub(super) fn store_unmount(&self, m: &Model, op: OpKind, idx: usize) -> HostResult<()> {
        let content = self.mount_content(m, idx);
        let st = self.dataset_store(&m.mounts[idx].source);
        remove_tree(&st).map_err(|err| rel_err(op, &st, err))?;
        let omit = self.own_dir();
        move_entries(op, &content, &st, false, &omit)?;
        let covered = self.covered_store(m.mount_ids[idx]);
        move_entries(op, &covered, &content, true, &omit)
    }

    /// The files of unmounted datasets and of snapshots, by dataset or snapshot name and path
    /// inside it (for [`super::SimState::contents`]).
    pub(super) fn store_contents(
        &self,
    ) -> std::collections::BTreeMap<(String, PathBuf), FileState> {
        let mut out = std::collections::BTreeMap::new();
        for kind in ["ds", "snap"] {
            let dir = self.store().join(kind);
            let Ok(names) = entries(OpKind::Mounts, &dir) else {
                continue;
            };
            for n in names {
                let Some(k) = n.to_str() else { continue };
                if k.ends_with(".partial") {
                    continue;
                }
                let base = dir.join(k);
                let mut files = std::collections::BTreeMap::new();
                walk(&base, &base, &mut files);
                let name = name_of(k);
                out.extend(files.into_iter().map(|(p, f)| ((name.clone(), p), f)));
            }
        }
        out
    }
}
