//! Per-object locks that exclude both other threads and other processes: one lock file per object,
//! held with `flock(2)` (`LOCK_EX`, or `LOCK_SH` for readers such as jails cloning a template).
//!
//! `flock` locks belong to an open file description, so two threads of one process that each open
//! the lock file exclude each other just like two processes do. Locks are taken in a sorted order,
//! so two operations that need overlapping sets (a jail and the shared bridge) cannot deadlock.

use std::collections::BTreeMap;
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

/// How a lock is held.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum LockMode {
    /// `LOCK_SH`: many holders (jails cloning from a template).
    Shared,
    /// `LOCK_EX`: one holder (a template update, everything about one jail).
    Exclusive,
}

/// A key and the mode to hold it in.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Lock {
    /// The object.
    pub key: LockKey,
    /// The mode.
    pub mode: LockMode,
}

impl Lock {
    /// Hold `key` exclusively.
    pub fn exclusive(key: LockKey) -> Lock {
        Lock {
            key,
            mode: LockMode::Exclusive,
        }
    }

    /// Hold `key` shared.
    pub fn shared(key: LockKey) -> Lock {
        Lock {
            key,
            mode: LockMode::Shared,
        }
    }
}

impl From<LockKey> for Lock {
    fn from(key: LockKey) -> Lock {
        Lock::exclusive(key)
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
    /// use thinjail_core::exec::{Lock, LockDir, LockKey};
    /// let dir = std::env::temp_dir().join(format!("tj-lock-doc-{}", std::process::id()));
    /// let locks = LockDir::new(&dir).unwrap();
    /// let jail = || Lock::exclusive(LockKey::Jail("dev".into()));
    /// let tmpl = |l: fn(LockKey) -> Lock| l(LockKey::Template("14.2-RELEASE".into()));
    /// let g = locks.lock(&[jail(), tmpl(Lock::shared)]).unwrap();
    /// assert_eq!(g.paths().count(), 2);
    /// assert!(locks.try_lock(&[jail()]).unwrap().is_none()); // exclusive: taken
    /// assert!(locks.try_lock(&[tmpl(Lock::shared)]).unwrap().is_some()); // shared: fine
    /// assert!(locks.try_lock(&[tmpl(Lock::exclusive)]).unwrap().is_none());
    /// drop(g);
    /// assert!(locks.try_lock(&[jail(), tmpl(Lock::exclusive)]).unwrap().is_some());
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

    /// Take all `locks`, blocking until each is available (sorted order, no deadlock). A key
    /// asked for in both modes is taken exclusively.
    pub fn lock(&self, locks: &[Lock]) -> Result<LockGuard, LockError> {
        self.acquire(locks, true)
            .map(|g| g.unwrap_or(LockGuard { files: Vec::new() }))
    }

    /// Take all `locks` or none: `Ok(None)` if one is held elsewhere in a conflicting mode.
    pub fn try_lock(&self, locks: &[Lock]) -> Result<Option<LockGuard>, LockError> {
        self.acquire(locks, false)
    }

    fn acquire(&self, locks: &[Lock], block: bool) -> Result<Option<LockGuard>, LockError> {
        let mut wanted: BTreeMap<String, LockMode> = BTreeMap::new();
        for l in locks {
            let m = wanted.entry(l.key.file_name()).or_insert(l.mode);
            *m = (*m).max(l.mode);
        }
        let mut files = Vec::with_capacity(wanted.len());
        for (n, mode) in wanted {
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
            match flock(&f, mode, block) {
                Ok(true) => files.push((path, f)),
                Ok(false) => return Ok(None),
                Err(source) => return Err(LockError { path, source }),
            }
        }
        Ok(Some(LockGuard { files }))
    }
}

/// `flock(fd, LOCK_EX|LOCK_SH [| LOCK_NB])`, retrying on EINTR. `Ok(false)` = would block.
pub(crate) fn flock(f: &File, mode: LockMode, block: bool) -> io::Result<bool> {
    let op = match mode {
        LockMode::Shared => libc::LOCK_SH,
        LockMode::Exclusive => libc::LOCK_EX,
    };
    let op = if block { op } else { op | libc::LOCK_NB };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_distinct_and_safe() {
        let a = LockKey::Dataset("zdata/a_b".into()).file_name();
        let b = LockKey::Dataset("zdata_a/b".into()).file_name();
        assert_ne!(a, b);
        assert_eq!(a, "dataset-zdata%2Fa_b.lock");
        assert_eq!(LockKey::Jail("../x".into()).file_name(), "jail-..%2Fx.lock");
        assert_ne!(
            LockKey::Jail("x".into()).file_name(),
            LockKey::Bridge("x".into()).file_name()
        );
    }

    #[test]
    fn both_modes_requested_means_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let l = LockDir::new(dir.path()).unwrap();
        let k = LockKey::Bridge("bridge0".into());
        let g = l
            .lock(&[Lock::shared(k.clone()), Lock::exclusive(k.clone())])
            .unwrap();
        assert_eq!(g.paths().count(), 1);
        assert!(l.try_lock(&[Lock::shared(k.clone())]).unwrap().is_none());
        drop(g);
        assert!(l.try_lock(&[Lock::shared(k)]).unwrap().is_some());
    }
}
