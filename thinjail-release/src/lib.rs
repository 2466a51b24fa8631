//! FreeBSD release archives: release names and URLs, the `MANIFEST`, verified downloads,
//! extraction of `base.txz`, and the template/skeleton split of the thin-jail recipe.
//!
//! Everything here is real file I/O that runs on Linux as well as FreeBSD. The only
//! FreeBSD-specific part is file flags (`schg` and friends): on FreeBSD they are applied with
//! `fchflags(2)`/`chflagsat(2)`; on other systems they are recorded in reports and not applied.
//!
//! ```no_run
//! use thinjail_release::{Arch, Release, manifest::Manifest};
//! let rel: Release = "14.2-RELEASE".parse()?;
//! let url = rel.dist_url("https://download.freebsd.org", &Arch::AMD64, "base.txz");
//! assert!(url.ends_with("/releases/amd64/amd64/14.2-RELEASE/base.txz"));
//! # Ok::<(), thinjail_release::Error>(())
//! ```

pub mod abi;
mod error;
pub mod extract;
pub mod fetch;
pub mod fixture;
pub mod flags;
pub mod manifest;
mod release;
mod sys;
pub mod template;
mod xzread;

pub use error::{Error, Refusal};
pub use release::{Arch, Release, ReleaseKind};
pub use xzread::{DecodeMode, XzChunkReader};

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
