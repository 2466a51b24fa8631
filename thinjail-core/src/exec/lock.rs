//! Per-object locks that exclude both other threads and other processes: one lock file per object,
//! held with `flock(2)` (`LOCK_EX`).
//!
//! `flock` locks belong to an open file description, so two threads of one process that each open
//! the lock file exclude each other just like two processes do. Locks are taken in a sorted order,
//! so two operations that need overlapping sets (a jail and the shared bridge) cannot deadlock.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// An object an operation must hold exclusively.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum LockKey {
    /// A jail by name (everything that belongs to it: dataset, mounts, epair).
    Jail(String),
    /// A shared bridge.
    Bridge(String),
    /// A shared template (its dataset and snapshots).
    Template(String),
    /// A dataset.
    Dataset(String),
    /// Anything else.
    Named(String),
}

impl LockKey {
    /// The lock file's name: kind, then the name with every byte outside `[A-Za-z0-9._-]`
    /// percent-encoded (so different names never share a file).
    pub fn file_name(&self) -> String {
        let (kind, name) = match self {
            LockKey::Jail(n) => ("jail", n),
            LockKey::Bridge(n) => ("bridge", n),
            LockKey::Template(n) => ("template", n),
            LockKey::Dataset(n) => ("dataset", n),
            LockKey::Named(n) => ("named", n),
        };
        let mut s = format!("{kind}-");
        for b in name.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
                s.push(b as char);
            } else {
                s.push_str(&format!("%{b:02X}"));
            }
        }
        s.push_str(".lock");
        s
    }
}

/// A directory of lock files.
#[derive(Clone, Debug)]
pub struct LockDir {
    dir: PathBuf,
}

/// Held locks; dropping it releases them (closing the files releases the `flock`s).
#[derive(Debug)]
pub struct LockGuard {
    files: Vec<(PathBuf, File)>,
}

impl LockGuard {
    /// The lock files held, in acquisition order.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|(p, _)| p.as_path())
    }
}

/// A lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[error("lock {}: {source}", path.display())]
pub struct LockError {
    /// The lock file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: io::Error,
}

impl LockDir {
    /// Use (and create) `dir` for lock files.
    ///
    /// ```
    /// use thinjail_core::exec::{LockDir, LockKey};
    /// let dir = std::env::temp_dir().join(format!("tj-lock-doc-{}", std::process::id()));
    /// let locks = LockDir::new(&dir).unwrap();
    /// let g = locks.lock(&[LockKey::Jail("dev".into()), LockKey::Bridge("bridge0".into())]).unwrap();
    /// assert_eq!(g.paths().count(), 2);
    /// assert!(locks.try_lock(&[LockKey::Jail("dev".into())]).unwrap().is_none());
    /// drop(g);
    /// assert!(locks.try_lock(&[LockKey::Jail("dev".into())]).unwrap().is_some());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn new(dir: impl AsRef<Path>) -> Result<LockDir, LockError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(|source| LockError {
            path: dir.clone(),
            source,
        })?;
        Ok(LockDir { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Take all `keys` exclusively, blocking until each is free (sorted order, no deadlock).
    pub fn lock(&self, keys: &[LockKey]) -> Result<LockGuard, LockError> {
        self.acquire(keys, true)
            .map(|g| g.unwrap_or(LockGuard { files: Vec::new() }))
    }

    /// Take all `keys` or none: `Ok(None)` if one is held elsewhere.
    pub fn try_lock(&self, keys: &[LockKey]) -> Result<Option<LockGuard>, LockError> {
        self.acquire(keys, false)
    }

    fn acquire(&self, keys: &[LockKey], block: bool) -> Result<Option<LockGuard>, LockError> {
        let mut names: Vec<String> = keys.iter().map(LockKey::file_name).collect();
        names.sort();
        names.dedup();
        let mut files = Vec::with_capacity(names.len());
        for n in names {
            let path = self.dir.join(n);
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|source| LockError {
                    path: path.clone(),
                    source,
                })?;
            match flock_exclusive(&f, block) {
                Ok(true) => files.push((path, f)),
                Ok(false) => return Ok(None),
                Err(source) => return Err(LockError { path, source }),
            }
        }
        Ok(Some(LockGuard { files }))
    }
}

/// `flock(fd, LOCK_EX [| LOCK_NB])`, retrying on EINTR. `Ok(false)` = would block.
fn flock_exclusive(f: &File, block: bool) -> io::Result<bool> {
    let op = if block {
        libc::LOCK_EX
    } else {
        libc::LOCK_EX | libc::LOCK_NB
    };
    loop {
        // SAFETY: flock(2) on a file descriptor owned by `f`, which outlives the call; no
        // pointers are passed.
        let r = unsafe { libc::flock(f.as_raw_fd(), op) };
        if r == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if !block => return Ok(false),
            _ => return Err(err),
        }
    }
}
