//! Typed bindings to FreeBSD's jail(2) family: `jail_set`, `jail_get`, `jail_remove`,
//! `jail_attach` — VNET included.
//!
//! The crate has a portable half, compiled and tested on every OS: validated names and values
//! ([`JailName`], [`Hostname`], [`JailPath`]), typed parameters and their builder
//! ([`JailParams`], [`Vnet`], [`IpMode`], [`Allow`]), the type descriptions the kernel publishes
//! ([`ParamType`]), the codec to and from the kernel's iovec pairs ([`IoVecList`],
//! [`GetRequest`], [`JailInfo`]), the `passwd(5)`/`group(5)` parsers and the plan for running a
//! command in a jail ([`JailExec`]). The FreeBSD half (`#[cfg(target_os = "freebsd")]`) makes
//! the system calls: `create`, `create_and_attach`, `update`, `get`, `jails`, `remove`,
//! `attach`, `param_type`, the `Jail` handle, `JailCommandExt`, the `host` checks and
//! `term::terminate_processes` (jail(8)'s SIGTERM-then-wait before removing a jail).
//!
//! ```
//! use freebsd_jail::{Allow, JailParams, Vnet};
//! let root = std::env::temp_dir();
//! let params = JailParams::builder()
//!     .name("j253")
//!     .path(&root)
//!     .hostname("j253.example")
//!     .vnet(Vnet::New)
//!     .allow(Allow::RAW_SOCKETS)
//!     .enforce_statfs(2)
//!     .devfs_ruleset(5)
//!     .build()?;
//! // What jail_set(2) receives for a persistent create:
//! let iov = params.to_create_iovecs(false)?;
//! assert_eq!(iov.names()[..5], ["name", "path", "host.hostname", "vnet", "persist"]);
//! # #[cfg(target_os = "freebsd")]
//! # if false { let jail = freebsd_jail::create(&params)?; jail.remove()?; }
//! # Ok::<(), freebsd_jail::Error>(())
//! ```

pub mod abi;
mod allow;
mod builder;
mod codec;
mod error;
mod exec;
mod flags;
#[cfg(target_os = "freebsd")]
pub mod host;
mod name;
mod param;
mod passwd;
#[cfg(target_os = "freebsd")]
mod sys;
pub mod term;

pub use allow::{Allow, no_name};
pub use builder::{IpMode, JailParams, JailParamsBuilder, Vnet};
pub use codec::{
    GetRequest, IoVecList, JAIL_ERRMSGLEN, JailInfo, JailKey, MAX_AF_IPS, MAX_ARGS_SIZE,
    info_params,
};
pub use error::{Error, JailRef, Result, param_in_errmsg};
#[cfg(target_os = "freebsd")]
pub use exec::JailCommandExt;
pub use exec::{CLEAN_PATH, Creds, ExecPlan, JailExec, SHELL_CHARS, command_argv, open_consolelog};
pub use flags::{JailFlags, JailSys};
pub use name::{
    Hostname, JAIL_MAX, JailName, JailPath, MAXHOSTNAMELEN, MAXPATHLEN, OSRELEASELEN,
    check_children_max, check_devfs_ruleset, check_enforce_statfs, check_jid, check_osreldate,
    check_osrelease, check_securelevel,
};
pub use param::{
    CTLTYPE, CTLTYPE_INT, CTLTYPE_LONG, CTLTYPE_NODE, CTLTYPE_S64, CTLTYPE_STRING, CTLTYPE_STRUCT,
    CTLTYPE_U64, CTLTYPE_UINT, CTLTYPE_ULONG, Described, Kind, ParamType, Value,
};
pub use passwd::{
    GroupEntry, PasswdEntry, UserSpec, group_list, lookup_user, parse_group_line, parse_passwd_line,
};
#[cfg(target_os = "freebsd")]
pub use sys::{
    Jail, Jails, attach, create, create_and_attach, get, get_allow, get_dying, get_params, jails,
    jails_including_dying, param_from_text, param_type, remove, set, update,
};
