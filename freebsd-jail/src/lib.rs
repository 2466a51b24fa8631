//! Typed bindings to FreeBSD's jail(2) family: `jail_set`, `jail_get`, `jail_remove`,
//! `jail_attach`.
//!
//! The crate has a portable half (flags, parameter codecs, validated names, errors), compiled and
//! tested on every OS, and a FreeBSD half (`#[cfg(target_os = "freebsd")]`) that makes the system
//! calls.
//!
//! ```
//! use freebsd_jail::JailFlags;
//! let flags = JailFlags::CREATE | JailFlags::ATTACH;
//! assert_eq!(flags.bits(), 0x05);
//! ```

pub mod abi;
mod error;
mod flags;
#[cfg(target_os = "freebsd")]
mod sys;

pub use error::{Error, Result};
pub use flags::{JailFlags, JailSys};
#[cfg(target_os = "freebsd")]
pub use sys::remove;
