use std::io;
use std::path::PathBuf;

/// Errors of this crate. Every variant names the object (path, URL, release) it is about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A release name could not be parsed.
    #[error("invalid release name {name:?}: {reason}")]
    InvalidRelease {
        /// The name given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// An architecture pair could not be parsed.
    #[error("invalid architecture {name:?}: expected a pair like amd64/amd64 or arm64/aarch64")]
    InvalidArch {
        /// The name given.
        name: String,
    },
    /// A MANIFEST line could not be parsed.
    #[error("MANIFEST line {line}: {reason}")]
    Manifest {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The MANIFEST has no entry for the requested file.
    #[error("MANIFEST has no entry for {file:?}")]
    NotInManifest {
        /// File name looked up.
        file: String,
    },
    /// The sha256 of a downloaded or local archive does not match the MANIFEST.
    #[error("checksum mismatch for {path}: MANIFEST says {expected}, file has {actual}")]
    ChecksumMismatch {
        /// The file that was checked (already removed when it was a download).
        path: PathBuf,
        /// Expected sha256 (hex).
        expected: String,
        /// Actual sha256 (hex).
        actual: String,
    },
    /// The HTTP transfer failed or ended early.
    #[error("download of {url} failed: {reason}")]
    Download {
        /// URL requested.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The download ended before the announced length; the partial file is kept for resume.
    #[error(
        "download of {url} truncated: got {got} of {expected} bytes (partial kept at {partial})"
    )]
    Truncated {
        /// URL requested.
        url: String,
        /// Bytes received in total.
        got: u64,
        /// Bytes announced.
        expected: u64,
        /// The partial file kept for a later resume.
        partial: PathBuf,
    },
    /// An I/O error on a named path.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done ("open", "mkdirat", ...).
        op: &'static str,
        /// The path it was done on.
        path: PathBuf,
        /// The OS error (carries errno).
        #[source]
        source: io::Error,
    },
    /// The archive is not a valid xz stream or tar archive.
    #[error("corrupt archive {path}: {reason}")]
    CorruptArchive {
        /// The archive.
        path: PathBuf,
        /// Decoder or tar parser message.
        reason: String,
    },
    /// An archive entry was refused because extracting it could write outside the target.
    #[error("refused archive entry {entry:?}: {reason}")]
    Refused {
        /// The entry path as stored in the archive.
        entry: String,
        /// Which rule refused it.
        reason: Refusal,
    },
    /// A template step found the tree in a state it cannot handle.
    #[error("template {path}: {reason}")]
    Template {
        /// Path concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Why an archive entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// Absolute path (`/etc/passwd`).
    #[error("absolute path")]
    Absolute,
    /// A `..` component.
    #[error("path contains '..'")]
    DotDot,
    /// A parent component is a symlink (pre-existing or created by this archive).
    #[error("path goes through a symlink")]
    ThroughSymlink,
    /// A parent component exists and is not a directory.
    #[error("a parent component is not a directory")]
    NotADirectory,
    /// Hard link target is absolute, has `..`, or goes through a symlink.
    #[error("hard link target outside the extraction root")]
    LinkOutside,
    /// Character/block device when devices are not permitted.
    #[error("device node not permitted")]
    Device,
    /// Entry type this extractor does not handle.
    #[error("unsupported entry type")]
    Unsupported,
    /// Path has a NUL byte or is otherwise unusable.
    #[error("invalid path")]
    InvalidPath,
    /// An existing entry is in the way and `unlink` is off.
    #[error("path exists and unlink is off")]
    Exists,
}

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// The errno of an underlying OS error, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}
