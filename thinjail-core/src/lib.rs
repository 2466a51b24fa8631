//! The VNET + thin jail recipe as types: release, template, skeleton, nullfs mounts and VNET jails,
//! composed into plans that create, start, stop, update and destroy thin jails.
//!
//! ```
//! assert_eq!(thinjail_core::abi::SF_IMMUTABLE, 0x0002_0000);
//! ```

pub mod abi;
pub mod exec;
pub mod fstab;
pub mod host;
pub mod jailconf;
pub mod jailparams;
pub mod model;
pub mod plan;
pub mod rcconf;
pub mod run;
pub mod sim;
pub mod thinconf;
