//! FreeBSD network interface configuration through ioctls and the routing socket: cloning epair
//! and bridge interfaces, bridge members, moving interfaces between vnets, addresses and routes.
//!
//! The wire types in [`wire`] are portable (fixed-width fields, `#[repr(C)]`) and checked against
//! FreeBSD's headers in CI; the calls that use them are FreeBSD-only.
//!
//! ```
//! use freebsd_netif::wire::{IfReq, SIOCIFCREATE2};
//! assert_eq!(std::mem::size_of::<IfReq>(), 32);
//! assert_eq!(SIOCIFCREATE2, 0xc020_697c);
//! ```

pub mod abi;
pub mod wire;
