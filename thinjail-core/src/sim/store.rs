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
//!
//! The store's changes are crash-consistent with the model: each operation records every move
//! (every entry of one directory renamed into another, empty one) and every store it creates
//! before making it, in a [`StoreTx`] that is also appended to `<root>/.simhost/store-intent`
//! (fsync'd) on a persistent host. Destroyed stores go to `trash/` until the operation is done.
//! If the operation fails, its moves are undone in reverse at once; if its process dies first,
//! the next load of the model does it: moves undone unless the model the operation produced
//! had been saved (told by the model's generation, in the intent's first line).
//! Limits: the mode and owner of a dataset's root directory are those of its mount point; a
//! file system hidden by a mount that is itself hidden later is found one level deep only.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use thinjail_release::template::{copy_tree, move_tree, remove_tree};

use super::{FileState, Model, SIMHOST_DIR, SimHost, io_err, resolve_in, walk};
use crate::host::{FsType, HostError, HostResult, OpKind};

/// The store's directory under [`SIMHOST_DIR`].
const STORE: &str = "store";

/// The intent file of the store change in progress, under [`SIMHOST_DIR`].
const INTENT: &str = "store-intent";

/// One change to the store or the visible tree, recorded before it is made. Paths are relative
/// to the root.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) enum Step {
    /// Every entry of `src` (but `.simhost`) renamed into `dst`, which had none.
    Move { src: PathBuf, dst: PathBuf },
    /// A snapshot's or clone's store created at `path` (through `path.partial`).
    Create { path: PathBuf },
}

/// The first line of the intent file.
#[derive(Serialize, Deserialize)]
struct Header {
    /// Generation of the saved model the operation started from.
    generation: u64,
}

/// The store changes of the operation in progress (see the module documentation).
#[derive(Debug, Default)]
pub(super) struct StoreTx {
    generation: u64,
    steps: Vec<Step>,
}

/// Test hook: simulate the process dying at the n-th crash point of this thread (a panic that
/// skips everything after it, as SIGKILL would).
#[cfg(test)]
pub(super) mod crash {
    use std::cell::Cell;

    thread_local! {
        static IN: Cell<Option<usize>> = const { Cell::new(None) };
        static PASSED: Cell<usize> = const { Cell::new(0) };
    }

    /// Die at the `n`-th crash point from now (0: the next one); `None` disarms.
    pub fn arm(n: Option<usize>) {
        IN.with(|c| c.set(n));
        PASSED.with(|c| c.set(0));
    }

    /// Crash points passed since [`arm`].
    pub fn passed() -> usize {
        PASSED.with(Cell::get)
    }

    pub fn point() {
        PASSED.with(|c| c.set(c.get() + 1));
        IN.with(|c| match c.get() {
            Some(0) => {
                c.set(None);
                std::panic::panic_any(crate::sim::SimulatedCrash { seq: 0 });
            }
            Some(n) => c.set(Some(n - 1)),
            None => {}
        });
    }
}

/// Where the process may die between two changes to the files (a no-op outside tests).
fn crash_point() {
    #[cfg(test)]
    crash::point();
}

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

/// The entries of `src` but `omit`.
fn movable(op: OpKind, src: &Path, omit: &Path) -> HostResult<Vec<std::ffi::OsString>> {
    let mut names = entries(op, src)?;
    names.retain(|n| src.join(n) != omit);
    Ok(names)
}

/// Rename the entries `names` of `src` into `dst` (created if missing; they must not exist
/// there), one by one.
fn move_names(op: OpKind, src: &Path, dst: &Path, names: &[std::ffi::OsString]) -> HostResult<()> {
    if !names.is_empty() {
        fs::create_dir_all(dst).map_err(|err| io_err(op, dst, err))?;
    }
    for n in names {
        move_tree(&src.join(n), &dst.join(n)).map_err(|err| rel_err(op, &src.join(n), err))?;
        crash_point();
    }
    Ok(())
}

/// Copy a tree to `dst` through a partial name, renamed into place when complete.
fn copy_whole(
    op: OpKind,
    dst: &Path,
    fill: impl FnOnce(&Path) -> HostResult<()>,
) -> HostResult<()> {
    let partial = partial_of(dst);
    remove_tree(&partial).map_err(|err| rel_err(op, &partial, err))?;
    if let Some(parent) = partial.parent() {
        fs::create_dir_all(parent).map_err(|err| io_err(op, parent, err))?;
    }
    if let Err(err) = fill(&partial) {
        let _ = remove_tree(&partial);
        return Err(err);
    }
    crash_point();
    fs::rename(&partial, dst).map_err(|err| io_err(op, dst, err))?;
    crash_point();
    Ok(())
}

fn partial_of(path: &Path) -> PathBuf {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    PathBuf::from(partial)
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

    fn trash(&self) -> PathBuf {
        self.store().join("trash")
    }

    fn intent_file(&self) -> PathBuf {
        self.own_dir().join(INTENT)
    }

    fn tx(&self) -> std::sync::MutexGuard<'_, StoreTx> {
        self.store_tx.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start recording the store changes of an operation on the model of `generation`.
    pub(super) fn store_begin(&self, generation: u64) {
        *self.tx() = StoreTx {
            generation,
            steps: Vec::new(),
        };
    }

    /// Record `step` before it is made: appended to the intent file (fsync) on a persistent
    /// host, whose first line is the [`Header`].
    fn record(&self, op: OpKind, step: Step) -> HostResult<()> {
        let mut tx = self.tx();
        if self.persist.is_some() {
            let file = self.intent_file();
            let invalid = |err: serde_json::Error| {
                io_err(op, &file, io::Error::new(io::ErrorKind::InvalidData, err))
            };
            let first = tx.steps.is_empty();
            let mut text = String::new();
            if first {
                let header = Header {
                    generation: tx.generation,
                };
                text += &serde_json::to_string(&header).map_err(invalid)?;
                text.push('\n');
            }
            text += &serde_json::to_string(&step).map_err(invalid)?;
            text.push('\n');
            let mut f = fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(first)
                .append(!first)
                .open(&file)
                .map_err(|err| io_err(op, &file, err))?;
            // write(2) of whole lines, then fsync(2): a line is on disk before its change.
            f.write_all(text.as_bytes())
                .and_then(|()| f.sync_data())
                .map_err(|err| io_err(op, &file, err))?;
        }
        tx.steps.push(step);
        drop(tx);
        crash_point();
        Ok(())
    }

    /// Rename every entry of `src` (but `.simhost`) into `dst`, which has none, as a recorded
    /// [`Step::Move`]; then remove `src` when `remove_src`.
    fn move_step(&self, op: OpKind, src: &Path, dst: &Path, remove_src: bool) -> HostResult<()> {
        let names = movable(op, src, &self.own_dir())?;
        if !names.is_empty() {
            self.record(
                op,
                Step::Move {
                    src: self.rel(src),
                    dst: self.rel(dst),
                },
            )?;
            move_names(op, src, dst, &names)?;
        }
        if remove_src {
            remove_tree(src).map_err(|err| rel_err(op, src, err))?;
        }
        Ok(())
    }

    fn rel(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.root).unwrap_or(path).to_path_buf()
    }

    /// End the operation's store changes: kept when `keep` (the model recording them is
    /// saved), else undone in reverse.
    pub(super) fn store_settle(&self, op: OpKind, keep: bool) -> HostResult<()> {
        let steps = std::mem::take(&mut self.tx().steps);
        if steps.is_empty() {
            return Ok(());
        }
        crash_point();
        self.store_close(op, &steps, keep)
    }

    /// Finish the store change of an operation whose process died, if there is one: kept if
    /// the model it produced was saved (the saved model's `generation` is newer than the one
    /// it started from), else undone.
    pub(super) fn store_recover(&self, op: OpKind, generation: u64) -> HostResult<()> {
        let file = self.intent_file();
        let text = match fs::read_to_string(&file) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(io_err(op, &file, err)),
        };
        let mut lines = text.lines();
        let header = lines
            .next()
            .and_then(|l| serde_json::from_str::<Header>(l).ok());
        // Each line is written whole before its change is made: the change of a torn last
        // line was not.
        let steps: Vec<Step> = lines.map_while(|l| serde_json::from_str(l).ok()).collect();
        let keep = header.is_some_and(|h| generation > h.generation);
        self.store_close(op, &steps, keep)
    }

    fn store_close(&self, op: OpKind, steps: &[Step], keep: bool) -> HostResult<()> {
        if !keep {
            for step in steps.iter().rev() {
                self.undo(op, step)?;
            }
        }
        let trash = self.trash();
        remove_tree(&trash).map_err(|err| rel_err(op, &trash, err))?;
        if self.persist.is_some() {
            let file = self.intent_file();
            match fs::remove_file(&file) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => {
                    return Err(io_err(op, &file, err));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Undo a step, also one made in part (so also one undone in part before).
    fn undo(&self, op: OpKind, step: &Step) -> HostResult<()> {
        match step {
            Step::Move { src, dst } => {
                let (src, dst) = (self.root.join(src), self.root.join(dst));
                let names = movable(op, &dst, &self.own_dir())?;
                move_names(op, &dst, &src, &names)?;
                if dst.starts_with(self.store()) {
                    remove_tree(&dst).map_err(|err| rel_err(op, &dst, err))?;
                }
            }
            Step::Create { path } => {
                let path = self.root.join(path);
                for p in [partial_of(&path), path] {
                    remove_tree(&p).map_err(|err| rel_err(op, &p, err))?;
                }
            }
        }
        Ok(())
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
        self.record(
            op,
            Step::Create {
                path: self.rel(&dst),
            },
        )?;
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
        self.record(
            op,
            Step::Create {
                path: self.rel(&dst),
            },
        )?;
        copy_whole(op, &dst, |partial| {
            copy_tree(&src, partial).map_err(|err| rel_err(op, &src, err))
        })
    }

    /// Destroy a dataset's or a snapshot's files (moved to the trash, emptied when the
    /// operation is done).
    pub(super) fn store_destroy(&self, op: OpKind, name: &str) -> HostResult<()> {
        let st = if name.contains('@') {
            self.snapshot_store(name)
        } else {
            self.dataset_store(name)
        };
        let trash = self.trash().join(key(name));
        remove_tree(&trash).map_err(|err| rel_err(op, &trash, err))?;
        self.move_step(op, &st, &trash, true)
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
        self.move_step(op, real, &covered, false)?;
        self.move_step(op, &self.dataset_store(name), real, true)
    }

    /// Unmount the zfs mount `m.mounts[idx]` (still in `m`): its dataset's files go to the
    /// dataset's store, what it covered comes back.
    pub(super) fn store_unmount(&self, m: &Model, op: OpKind, idx: usize) -> HostResult<()> {
        let content = self.mount_content(m, idx);
        let st = self.dataset_store(&m.mounts[idx].source);
        remove_tree(&st).map_err(|err| rel_err(op, &st, err))?;
        self.move_step(op, &content, &st, false)?;
        let covered = self.covered_store(m.mount_ids[idx]);
        self.move_step(op, &covered, &content, true)
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

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::path::Path;

    use super::crash;
    use crate::host::{DatasetProps, Host, HostResult};
    use crate::sim::{SimHost, SimState, SimulatedCrash, quiet_simulated_crashes};

    fn p(s: &str) -> &Path {
        Path::new(s)
    }

    /// `zdata/t` mounted with files and snapshots `@a` (cloned as `zdata/u`, unmounted, with
    /// the files) and `@s`; `/zdata/over` a directory with files.
    fn setup(h: &SimHost) {
        let d = DatasetProps::default();
        h.add_pool("zdata").unwrap();
        h.dataset_create("zdata/t", &d).unwrap();
        h.mount_zfs("zdata/t", p("/zdata/t")).unwrap();
        for dir in [
            "/zdata/t/etc",
            "/zdata/t/var",
            "/zdata/over",
            "/zdata/over/x",
        ] {
            h.mkdir(p(dir), 0o755).unwrap();
        }
        for f in [
            "/zdata/t/etc/rc",
            "/zdata/t/var/log",
            "/zdata/t/top",
            "/zdata/over/x/f",
        ] {
            h.write_file(p(f), f.as_bytes(), 0o644).unwrap();
        }
        h.dataset_snapshot("zdata/t@a").unwrap();
        h.dataset_snapshot("zdata/t@s").unwrap();
        h.dataset_clone("zdata/t@a", "zdata/u", &d).unwrap();
    }

    type StoreOp = fn(&SimHost) -> HostResult<()>;

    /// Every operation that changes the store.
    const OPS: [(&str, StoreOp); 6] = [
        ("mount over a non-empty directory", |h| {
            h.mount_zfs("zdata/u", p("/zdata/over"))
        }),
        ("unmount", |h| h.unmount(p("/zdata/t"), false)),
        ("snapshot", |h| h.dataset_snapshot("zdata/t@new")),
        ("clone", |h| {
            h.dataset_clone("zdata/t@s", "zdata/c", &DatasetProps::default())
        }),
        ("destroy a dataset", |h| h.dataset_destroy("zdata/u")),
        ("destroy a snapshot", |h| h.dataset_destroy("zdata/t@s")),
    ];

    /// A persistent host after `setup` (and `op` when given), its state, the crash points
    /// `op` passed.
    fn run(dir: &Path, op: Option<StoreOp>) -> (SimState, usize) {
        let h = SimHost::open_persistent(dir).unwrap();
        setup(&h);
        crash::arm(None);
        if let Some(op) = op {
            op(&h).unwrap();
        }
        (h.state(), crash::passed())
    }

    /// A process dying at any point of a store change (between any two renames, before or
    /// after the model is saved) leaves, once the model is loaded again, the host as it was
    /// before the operation or as the operation left it — never files the model does not
    /// know about — and the operation can be made again.
    #[test]
    fn a_death_at_any_point_of_a_store_change_leaves_before_or_after() {
        quiet_simulated_crashes();
        let mut figures = Vec::new();
        for (name, op) in OPS {
            let tmp = tempfile::tempdir().unwrap();
            let (before, _) = run(&tmp.path().join("before"), None);
            let (after, points) = run(&tmp.path().join("after"), Some(op));
            assert_ne!(before, after, "{name} changes the host");
            assert!(points >= 2, "{name}: {points} crash points");
            let (mut as_before, mut as_after) = (0, 0);
            for k in 0..points {
                let dir = tmp.path().join(format!("k{k}"));
                let h = SimHost::open_persistent(&dir).unwrap();
                setup(&h);
                crash::arm(Some(k));
                let died = catch_unwind(AssertUnwindSafe(|| op(&h)));
                crash::arm(None);
                let payload = died.expect_err("died");
                assert!(payload.downcast_ref::<SimulatedCrash>().is_some());
                drop(h);
                let h = SimHost::open_persistent(&dir).unwrap();
                let state = h.state();
                assert!(
                    !dir.join(".simhost/store-intent").exists(),
                    "{name}, death {k}: intent finished"
                );
                if state == before {
                    as_before += 1;
                    op(&h).unwrap();
                    assert_eq!(h.state(), after, "{name}, death {k}: made again");
                } else {
                    assert_eq!(state, after, "{name}, death {k}: neither before nor after");
                    as_after += 1;
                }
            }
            assert!(
                as_before > 0 && as_after > 0,
                "{name}: {as_before} {as_after}"
            );
            figures.push(format!(
                "{name}: {points} ({as_before} before, {as_after} after)"
            ));
        }
        println!(
            "store changes killed at every crash point, then reloaded: all consistent; {}",
            figures.join("; ")
        );
    }

    /// A failed store change (here: the model cannot be saved) moves every file back.
    #[test]
    fn a_failed_save_moves_the_files_back() {
        let tmp = tempfile::tempdir().unwrap();
        let h = SimHost::open_persistent(tmp.path()).unwrap();
        setup(&h);
        let before = h.state();
        // The model's temporary file cannot be created: a directory holds its name.
        std::fs::create_dir(tmp.path().join(".simhost/model.json.tmp")).unwrap();
        let err = h.unmount(p("/zdata/t"), false).unwrap_err();
        assert!(err.to_string().contains("model.json.tmp"), "{err}");
        std::fs::remove_dir(tmp.path().join(".simhost/model.json.tmp")).unwrap();
        assert_eq!(h.state(), before);
        assert!(h.real_path(p("/zdata/t/etc/rc")).is_file());
    }
}
