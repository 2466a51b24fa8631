//! Execution with an undo journal: every multi-step operation either completes or leaves the host
//! as it found it — also after a crash.
//!
//! - An [`Action`] (one step of an executable plan; not to be confused with the printable
//!   [`crate::plan::Step`]) changes the host and records each change as an [`Effect`] (which knows its
//!   inverse). Changes whose object is named in advance go through [`Transaction::guarded`]:
//!   an `Intent` record is synced *before* the system call and `Done`/`Failed` after it, so even a
//!   crash right after the call returned is undone. Changes whose name the kernel picks (an epair
//!   or bridge with a kernel-chosen unit) are recorded with [`Transaction::record`] right after
//!   the call.
//! - [`Executor::run`] runs steps in order; on the first error it undoes the completed effects in
//!   reverse and closes the journal as rolled back.
//! - After a crash, [`recover`] reads the journal and finishes the undo. Undo is idempotent, so a
//!   crash during undo (or during recovery) is recovered the same way. Run [`recover_dir`] on the
//!   journal directory at startup.
//! - Teardown plans (stop, destroy: removing a jail cannot be undone) run with
//!   [`Executor::run_forward`] instead: the plan is journaled first and every step tolerates work
//!   already done, so after a failure or a crash [`recover`] *completes* it.
//! - [`LockDir`] serialises operations on the same objects (a jail, the shared bridge, a template)
//!   across threads and processes; write-ahead intents rely on it (the run owns the objects it
//!   names).
//!
//! Kernel-chosen names: creating an epair or a bridge whose unit the kernel picks is journaled
//! as an intent listing the interfaces of that kind that existed before; the step then marks
//! the new interface with its description. Both happen under one exclusive lock,
//! [`CLONE_LOCK`], which recovery ([`recover_with`], [`recover_dir_with`]) also holds while it
//! undoes such an intent: it destroys the interfaces of that kind that are new and still as the
//! kernel made them (undescribed, down, in no bridge, no members). A live operation's new
//! interface is never seen in that state outside the lock, so a recovery running next to live
//! operations cannot take theirs. What remains: an interface created at that moment by a tool
//! other than thinjail that does not describe it either.
//!
//! ```
//! use thinjail_core::exec::{Executor, Op};
//! use thinjail_core::host::{Errno, Host, JailSpec};
//! use thinjail_core::sim::{FaultTrigger, SimHost};
//! # let dir = std::env::temp_dir().join(format!("tj-exec-doc-{}", std::process::id()));
//! let host = SimHost::new(dir.join("root")).unwrap();
//! let before = host.state();
//! let steps = vec![
//!     Op::MkdirAll { path: "/jails/dev".into(), mode: 0o755 },
//!     Op::CreateJail { spec: JailSpec { name: "dev".into(), path: "/jails/dev".into(), vnet: true, ..Default::default() } },
//!     Op::CreateEpair { bind: "e".into(), description: "jail:dev".into() },
//! ];
//! host.inject(FaultTrigger::NthOf(thinjail_core::host::OpKind::EpairCreate, 1), Errno::ENOSPC);
//! let exec = Executor::new(&host, dir.join("journal")).unwrap();
//! assert!(exec.run("doc", &[], &steps).is_err());
//! assert_eq!(host.state(), before); // jail removed, directories gone
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod effect;
mod journal;
mod lock;

use std::collections::BTreeMap;
use std::fs;
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use effect::Effect;
pub use journal::{Journal, JournalError, JournalState, Outcome, Record};
pub use lock::{Lock, LockDir, LockError, LockGuard, LockKey, LockMode};

use crate::host::{
    AddrFamily, DatasetProps, Errno, FileKind, FsType, Host, HostError, JailCommand, JailSpec,
    MountInfo, Object, OpKind,
};

/// Errors of the execution layer.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// A host operation failed.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The journal could not be written or read.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A lock could not be taken.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Release or template file work failed.
    #[error(transparent)]
    Release(#[from] thinjail_release::Error),
    /// An rc.conf edit failed.
    #[error(transparent)]
    RcConf(#[from] crate::rcconf::RcConfError),
    /// A step referred to a value no earlier step produced (`epair.b`, a jail name).
    #[error("unknown reference {0:?}: no earlier step produced it and the host has no such object")]
    UnknownRef(String),
    /// Refused before changing anything.
    #[error("refused: {0}")]
    Refused(String),
    /// Recovery of a journal from an earlier boot found a jail it is about running again in
    /// this boot (rc.d/jail started it): its datasets and files are in use, so the journal is
    /// left as it is.
    #[error(
        "journal {} is from an earlier boot and jail {jail} runs again since: not recovered; stop the jail, then run any thinjail command to recover it",
        journal.display()
    )]
    RebootedJailRuns {
        /// The jail.
        jail: String,
        /// The journal left in place.
        journal: PathBuf,
    },
    /// A step failed; every completed effect was undone and the journal closed.
    #[error("step {index} ({step}) failed, {undone} effect(s) undone: {cause}")]
    RolledBack {
        /// 0-based step index.
        index: usize,
        /// The step's description.
        step: String,
        /// Effects undone.
        undone: usize,
        /// Why the step failed.
        #[source]
        cause: Box<ExecError>,
    },
    /// A roll-forward step failed; the journal stays open and [`recover`] resumes at this step.
    #[error("step {index} ({step}) failed: {cause}; journal {} left for recover to resume", journal.display())]
    Incomplete {
        /// 0-based step index.
        index: usize,
        /// The step's description.
        step: String,
        /// Why it failed.
        #[source]
        cause: Box<ExecError>,
        /// The open journal.
        journal: PathBuf,
    },
    /// A step failed and undo failed too; the journal stays open for [`recover`].
    #[error("step {index} ({step}) failed: {cause}; undo incomplete ({undo}), journal {} left for recover", journal.display())]
    UndoIncomplete {
        /// 0-based step index.
        index: usize,
        /// The step's description.
        step: String,
        /// Why the step failed.
        #[source]
        cause: Box<ExecError>,
        /// Why undo stopped.
        undo: Box<ExecError>,
        /// The open journal.
        journal: PathBuf,
    },
}

impl ExecError {
    /// The errno of the underlying host error, if any (looking through roll-back wrappers).
    pub fn errno(&self) -> Option<Errno> {
        match self {
            ExecError::Host(h) => h.errno(),
            ExecError::RolledBack { cause, .. }
            | ExecError::UndoIncomplete { cause, .. }
            | ExecError::Incomplete { cause, .. } => cause.errno(),
            _ => None,
        }
    }
}

/// Values produced by earlier steps: jids by jail name, interface names by variable
/// (`"e.a"`, `"e.b"` for an epair bound as `"e"`).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Context {
    /// jid by jail name.
    pub jids: BTreeMap<String, i32>,
    /// Interface name by variable.
    pub ifaces: BTreeMap<String, String>,
    /// Exit status of `exec.stop` commands ([`Op::JailStop`]) by jail name.
    pub stop_status: BTreeMap<String, i32>,
}

/// An interface named directly or through a [`Context`] variable.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IfRef {
    /// This name.
    Name(String),
    /// The name bound to this variable by an earlier step.
    Var(String),
}

impl std::fmt::Display for IfRef {
    /// `igc0bridge`, or `$e.a` for a variable.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IfRef::Name(n) => f.write_str(n),
            IfRef::Var(v) => write!(f, "${v}"),
        }
    }
}

impl IfRef {
    /// A variable reference.
    pub fn var(v: &str) -> IfRef {
        IfRef::Var(v.to_string())
    }

    fn resolve(&self, ctx: &Context) -> Result<String, ExecError> {
        match self {
            IfRef::Name(n) => Ok(n.clone()),
            IfRef::Var(v) => ctx
                .ifaces
                .get(v)
                .cloned()
                .ok_or_else(|| ExecError::UnknownRef(v.clone())),
        }
    }
}

/// One step of an executable plan: changes the host and records what it changed.
///
/// (A [`crate::plan::Step`] is a step of a *printable* plan; [`Op`] is the executable primitive
/// and [`crate::run`] turns the recipe's operations into `Op`s.)
pub trait Action {
    /// Human-readable description (`mount nullfs /t/base -> /j/dev (ro)`).
    fn describe(&self) -> String;
    /// Do it, recording every change with [`Transaction::record`] as soon as it is made.
    fn apply(&self, tx: &mut Transaction<'_>) -> Result<(), ExecError>;
    /// Can its effects be undone? [`Executor::run`] refuses plans with irreversible steps (use
    /// [`Executor::run_forward`]).
    fn reversible(&self) -> bool {
        true
    }
}

/// The primitive steps of the thin-jail recipe.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// `lzc_create`.
    CreateDataset {
        /// Name.
        name: String,
        /// Properties.
        props: DatasetProps,
    },
    /// `lzc_snapshot`.
    Snapshot {
        /// `pool/fs@snap`.
        name: String,
    },
    /// `lzc_clone`.
    Clone {
        /// Origin snapshot.
        snapshot: String,
        /// New dataset.
        name: String,
        /// Properties.
        props: DatasetProps,
    },
    /// `mkdir -p`: each directory created is recorded.
    MkdirAll {
        /// Host path.
        path: PathBuf,
        /// Mode of created directories.
        mode: u32,
    },
    /// Create a file that must not exist yet.
    WriteFile {
        /// Host path.
        path: PathBuf,
        /// Contents.
        contents: Vec<u8>,
        /// Mode.
        mode: u32,
    },
    /// nullfs mount.
    MountNullfs {
        /// Lower directory.
        lower: PathBuf,
        /// Mount point.
        at: PathBuf,
        /// Read-only.
        readonly: bool,
    },
    /// devfs mount, refused if the ruleset is not loaded (it would expose every device).
    MountDevfs {
        /// Mount point.
        at: PathBuf,
        /// Ruleset.
        ruleset: u16,
    },
    /// zfs mount at the dataset's mountpoint (or `at`), creating the directories first.
    MountZfs {
        /// Dataset.
        dataset: String,
        /// Mount point; `None` = the dataset's `mountpoint`.
        at: Option<PathBuf>,
    },
    /// unmount (undo mounts it again).
    Unmount {
        /// Mount point.
        at: PathBuf,
    },
    /// `jail_set(JAIL_CREATE)`; binds the jid to the jail's name.
    CreateJail {
        /// Parameters.
        spec: JailSpec,
    },
    /// Create an epair (kernel-chosen unit) and give its `a` side `description`, in one
    /// critical section; binds `<bind>.a` and `<bind>.b`. The description marks the pair as
    /// this operation's (see the module docs), so it must not be empty.
    CreateEpair {
        /// Variable prefix.
        bind: String,
        /// Description of the `a` side (`jail:<name>` in the recipe).
        description: String,
    },
    /// Create a bridge (if `unit` is given and that bridge exists, nothing is done) and give it
    /// `description`, in one critical section; binds `bind`. The description must not be empty.
    CreateBridge {
        /// Variable.
        bind: String,
        /// Unit.
        unit: Option<u32>,
        /// Description of the new bridge.
        description: String,
    },
    /// Rename an interface (a variable then names the new name).
    RenameIf {
        /// Interface.
        iface: IfRef,
        /// New name.
        to: String,
    },
    /// Set an interface description.
    DescribeIf {
        /// Interface.
        iface: IfRef,
        /// Description.
        description: String,
    },
    /// Bring a host interface up (nothing recorded if it already is).
    IfUp {
        /// Interface.
        iface: IfRef,
    },
    /// Add a member to a bridge.
    BridgeAddm {
        /// Bridge.
        bridge: IfRef,
        /// Member.
        member: IfRef,
    },
    /// Move an interface into a jail's vnet.
    VnetMove {
        /// Interface.
        iface: IfRef,
        /// Jail name.
        jail: String,
    },
    /// Add an IPv4 or IPv6 address inside a jail (a prefix length the family cannot have
    /// fails the step with EINVAL before the host is called).
    JailAddr {
        /// Jail name.
        jail: String,
        /// Interface (inside the jail).
        iface: IfRef,
        /// Address (journals written before IPv6 hold an IPv4 address here, which still reads).
        addr: IpAddr,
        /// Prefix length.
        prefix: u8,
    },
    /// Bring an interface up inside a jail (`lo0`).
    JailIfUp {
        /// Jail name.
        jail: String,
        /// Interface.
        iface: IfRef,
    },
    /// Default route inside a jail, in the gateway's family.
    JailDefaultRoute {
        /// Jail name.
        jail: String,
        /// Gateway.
        gateway: IpAddr,
    },
    /// Run a command inside a jail; a non-zero exit status fails the step.
    JailExec {
        /// Jail name.
        jail: String,
        /// Command.
        command: JailCommand,
    },
    /// Remove the jail of this name if it exists (`jail_remove`). Irreversible.
    RemoveJail {
        /// Jail name.
        jail: String,
    },
    /// Destroy an interface if it exists (an epair half destroys both). Irreversible.
    DestroyIf {
        /// Interface.
        iface: IfRef,
    },
    /// Remove a member from a bridge if it is one (undo adds it back).
    BridgeDeletem {
        /// Bridge.
        bridge: IfRef,
        /// Member.
        member: IfRef,
    },
    /// Destroy a dataset or snapshot if it exists. Irreversible.
    DestroyDataset {
        /// Name.
        name: String,
    },
    /// Remove an empty directory if it exists (undo creates it again).
    RemoveDir {
        /// Host path.
        path: PathBuf,
    },
    /// Remove a file if it exists. Irreversible.
    RemoveFile {
        /// Host path.
        path: PathBuf,
    },
    // ---- file-tree work done directly on the machine's file system. Paths are *real* paths
    // (on a simulated host: already placed under its root), not host paths. ----
    /// Install a release archive (verified against a MANIFEST when one is given) at `dest`,
    /// which must not exist (undo removes it).
    InstallArchive {
        /// The archive to install.
        src: PathBuf,
        /// MANIFEST to verify `base.txz` against.
        manifest: Option<PathBuf>,
        /// Real destination path.
        dest: PathBuf,
    },
    /// Fill an empty template directory from `archive` (extract), copy the host's resolv.conf
    /// and localtime from `host_root`, and split the skeleton into the empty `skeleton`
    /// directory (moves, relative links). Undo empties both directories again.
    BuildTemplate {
        /// `base.txz`.
        archive: PathBuf,
        /// Real path of the template directory (must be empty).
        base: PathBuf,
        /// Real path of the skeleton directory (must be empty).
        skeleton: PathBuf,
        /// Real path of the host's root (where `etc/resolv.conf` is read).
        host_root: PathBuf,
    },
    /// Copy a directory tree as `cp -a` does (modes, owners as root, times, symlinks, hard
    /// links) to `dest`, which must not exist (undo removes it).
    CopyTree {
        /// Real source directory.
        src: PathBuf,
        /// Real destination.
        dest: PathBuf,
    },
    /// Remove a directory tree if it exists (file flags cleared first). Irreversible.
    RemoveTree {
        /// Real path.
        path: PathBuf,
    },
    /// Edit an rc.conf(5) file as sysrc(8) does (undo restores the previous contents).
    RcConf {
        /// Real path of the file.
        path: PathBuf,
        /// The edit.
        edit: RcEdit,
    },
    /// Run a program on the host (freebsd-update); a non-zero exit fails the step. Its changes
    /// are not undone (undo of the surrounding steps still runs).
    HostCommand {
        /// argv.
        argv: Vec<String>,
    },
    /// `exec.stop`: run a command in the jail if the jail exists; its exit status is reported,
    /// not fatal (the jail is removed next either way). Irreversible.
    JailStop {
        /// Jail name.
        jail: String,
        /// Command.
        command: JailCommand,
    },
}

/// An rc.conf(5) edit (see [`crate::rcconf::RcConf`]).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum RcEdit {
    /// `sysrc name=value`.
    Set {
        /// Variable.
        name: String,
        /// Value.
        value: String,
    },
    /// `sysrc name+=item` (once).
    ListAdd {
        /// Variable.
        name: String,
        /// Item.
        item: String,
    },
    /// `sysrc name-=item`.
    ListRemove {
        /// Variable.
        name: String,
        /// Item.
        item: String,
    },
}

/// Every ancestor of `path` (excluding `/`), shortest first.
fn ancestors_inclusive(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut cur = PathBuf::from("/");
    for c in path.components() {
        if let Component::Normal(n) = c {
            cur.push(n);
            out.push(cur.clone());
        }
    }
    out
}

fn mkdir_all(tx: &mut Transaction<'_>, path: &Path, mode: u32) -> Result<(), ExecError> {
    if !path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(ExecError::Refused(format!(
            "{}: path must be absolute without '..'",
            path.display()
        )));
    }
    for p in ancestors_inclusive(path) {
        match tx.host.file_type(&p)? {
            Some(FileKind::Dir) => {}
            None => {
                let eff = Effect::DirCreated { path: p.clone() };
                tx.guarded(eff.clone(), |h| h.mkdir(&p, mode), |_| eff)?;
            }
            Some(_) => {
                return Err(HostError::os(OpKind::Mkdir, Object::Path(p), Errno::ENOTDIR).into());
            }
        }
    }
    Ok(())
}

impl Action for Op {
    fn describe(&self) -> String {
        match self {
            Op::CreateDataset { name, .. } => format!("create dataset {name}"),
            Op::Snapshot { name } => format!("snapshot {name}"),
            Op::Clone { snapshot, name, .. } => format!("clone {snapshot} -> {name}"),
            Op::MkdirAll { path, .. } => format!("mkdir -p {}", path.display()),
            Op::WriteFile { path, .. } => format!("write {}", path.display()),
            Op::MountNullfs {
                lower,
                at,
                readonly,
            } => format!(
                "mount nullfs {} -> {}{}",
                lower.display(),
                at.display(),
                if *readonly { " (ro)" } else { "" }
            ),
            Op::MountDevfs { at, ruleset } => {
                format!("mount devfs {} (ruleset {ruleset})", at.display())
            }
            Op::MountZfs { dataset, .. } => format!("mount zfs {dataset}"),
            Op::Unmount { at } => format!("unmount {}", at.display()),
            Op::CreateJail { spec } if spec.params.is_empty() => {
                format!("create jail {}", spec.name)
            }
            Op::CreateJail { spec } => format!(
                "create jail {} with {}",
                spec.name,
                spec.params
                    .iter()
                    .map(|(n, v)| v.as_ref().map_or(n.clone(), |v| format!("{n}={v}")))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Op::CreateEpair { bind, description } => {
                format!("create epair as {bind} ({bind}.a described {description:?})")
            }
            Op::CreateBridge {
                bind,
                unit,
                description,
            } => match unit {
                Some(u) => format!("create bridge{u} as {bind} (described {description:?})"),
                None => format!("create bridge as {bind} (described {description:?})"),
            },
            Op::RenameIf { iface, to } => format!("rename {iface} -> {to}"),
            Op::DescribeIf { iface, description } => format!("describe {iface} {description:?}"),
            Op::IfUp { iface } => format!("up {iface}"),
            Op::BridgeAddm { bridge, member } => format!("bridge {bridge} addm {member}"),
            Op::VnetMove { iface, jail } => format!("move {iface} into jail {jail}"),
            Op::JailAddr {
                jail,
                iface,
                addr,
                prefix,
            } => format!(
                "jail {jail}: {iface} {} {addr}/{prefix}",
                AddrFamily::of(*addr)
            ),
            Op::JailIfUp { jail, iface } => format!("jail {jail}: up {iface}"),
            Op::JailDefaultRoute { jail, gateway } => match gateway {
                IpAddr::V4(_) => format!("jail {jail}: route add default {gateway}"),
                IpAddr::V6(_) => format!("jail {jail}: route -6 add default {gateway}"),
            },
            Op::JailExec { jail, command } => {
                format!("jail {jail}: exec {}", command.argv.join(" "))
            }
            Op::RemoveJail { jail } => format!("remove jail {jail}"),
            Op::DestroyIf { iface } => format!("destroy {iface}"),
            Op::BridgeDeletem { bridge, member } => format!("bridge {bridge} deletem {member}"),
            Op::DestroyDataset { name } => format!("destroy dataset {name}"),
            Op::RemoveDir { path } => format!("rmdir {}", path.display()),
            Op::RemoveFile { path } => format!("rm {}", path.display()),
            Op::InstallArchive { src, dest, .. } => {
                format!("install {} -> {}", src.display(), dest.display())
            }
            Op::BuildTemplate {
                archive,
                base,
                skeleton,
                ..
            } => format!(
                "extract {} into {}, split skeleton into {}",
                archive.display(),
                base.display(),
                skeleton.display()
            ),
            Op::CopyTree { src, dest } => format!("cp -a {} {}", src.display(), dest.display()),
            Op::RemoveTree { path } => format!("rm -rf {}", path.display()),
            Op::RcConf { path, edit } => match edit {
                RcEdit::Set { name, value } => {
                    format!("sysrc -f {} {name}={value}", path.display())
                }
                RcEdit::ListAdd { name, item } => {
                    format!("sysrc -f {} {name}+={item}", path.display())
                }
                RcEdit::ListRemove { name, item } => {
                    format!("sysrc -f {} {name}-={item}", path.display())
                }
            },
            Op::HostCommand { argv } => argv.join(" "),
            Op::JailStop { jail, command } => {
                format!("jail {jail}: exec.stop {}", command.argv.join(" "))
            }
        }
    }

    fn apply(&self, tx: &mut Transaction<'_>) -> Result<(), ExecError> {
        let host = tx.host;
        match self {
            Op::CreateDataset { name, props } => {
                refuse_existing_dataset(host, OpKind::DatasetCreate, name)?;
                let eff = Effect::DatasetCreated { name: name.clone() };
                tx.guarded(eff.clone(), |h| h.dataset_create(name, props), |_| eff)
            }
            Op::Snapshot { name } => {
                refuse_existing_dataset(host, OpKind::DatasetSnapshot, name)?;
                let eff = Effect::DatasetCreated { name: name.clone() };
                tx.guarded(eff.clone(), |h| h.dataset_snapshot(name), |_| eff)
            }
            Op::Clone {
                snapshot,
                name,
                props,
            } => {
                refuse_existing_dataset(host, OpKind::DatasetClone, name)?;
                let eff = Effect::DatasetCreated { name: name.clone() };
                tx.guarded(
                    eff.clone(),
                    |h| h.dataset_clone(snapshot, name, props),
                    |_| eff,
                )
            }
            Op::MkdirAll { path, mode } => mkdir_all(tx, path, *mode),
            Op::WriteFile {
                path,
                contents,
                mode,
            } => {
                if host.file_type(path)?.is_some() {
                    return Err(HostError::os(
                        OpKind::WriteFile,
                        Object::Path(path.clone()),
                        Errno::EEXIST,
                    )
                    .into());
                }
                let eff = Effect::FileWritten { path: path.clone() };
                tx.guarded(
                    eff.clone(),
                    |h| h.write_file(path, contents, *mode),
                    |_| eff,
                )
            }
            Op::MountNullfs {
                lower,
                at,
                readonly,
            } => {
                let mount = MountInfo {
                    fstype: FsType::Nullfs,
                    source: lower.display().to_string(),
                    at: at.clone(),
                    readonly: *readonly,
                    ruleset: None,
                };
                mount_guarded(tx, OpKind::MountNullfs, mount, |h| {
                    h.mount_nullfs(lower, at, *readonly)
                })
            }
            Op::MountDevfs { at, ruleset } => {
                if !host.devfs_ruleset_loaded(*ruleset)? {
                    return Err(ExecError::Refused(format!(
                        "devfs ruleset {ruleset} is not loaded: mounting {} with it would expose every device",
                        at.display()
                    )));
                }
                let mount = MountInfo {
                    fstype: FsType::Devfs,
                    source: "devfs".into(),
                    at: at.clone(),
                    readonly: false,
                    ruleset: Some(*ruleset),
                };
                mount_guarded(tx, OpKind::MountDevfs, mount, |h| {
                    h.mount_devfs(at, *ruleset)
                })?;
                // The ruleset holds rules, but are they the ones a jail needs? Look at what
                // the new /dev shows: memory and I/O port devices mean the jail would own the
                // host. The mount is an effect of this plan already, so refusing undoes it.
                for dev in DEVICES_A_JAIL_MUST_NOT_SEE {
                    if host.file_type(&at.join(dev))?.is_some() {
                        return Err(ExecError::Refused(format!(
                            "devfs ruleset {ruleset} leaves {} visible: a jail with it could \
                             reach the host's memory or I/O ports; use a ruleset that hides it \
                             (devfsrules_jail, devfsrules_jail_vnet in devfs.rules(5))",
                            at.join(dev).display()
                        )));
                    }
                }
                Ok(())
            }
            Op::MountZfs { dataset, at } => {
                let at = match at {
                    Some(a) => a.clone(),
                    None => host.dataset_mountpoint(dataset)?,
                };
                mkdir_all(tx, &at, 0o755)?;
                let mount = MountInfo {
                    fstype: FsType::Zfs,
                    source: dataset.clone(),
                    at: at.clone(),
                    readonly: false,
                    ruleset: None,
                };
                mount_guarded(tx, OpKind::MountZfs, mount, |h| h.mount_zfs(dataset, &at))
            }
            Op::Unmount { at } => {
                let Some(m) = host.mounts()?.into_iter().rev().find(|m| &m.at == at) else {
                    if tx.forward {
                        return Ok(()); // already unmounted
                    }
                    return Err(HostError::os(
                        OpKind::Unmount,
                        Object::Path(at.clone()),
                        Errno::EINVAL,
                    )
                    .into());
                };
                let eff = Effect::Unmounted { mount: m };
                tx.guarded(eff.clone(), |h| h.unmount(at, false), |_| eff)
            }
            Op::CreateJail { spec } => {
                if host.jail_by_name(&spec.name)?.is_some() {
                    return Err(HostError::os_msg(
                        OpKind::JailCreate,
                        Object::Jail(spec.name.clone()),
                        Errno::EEXIST,
                        format!("jail \"{}\" already exists", spec.name),
                    )
                    .into());
                }
                let name = spec.name.clone();
                let jid = tx.guarded(
                    Effect::JailCreated {
                        jid: None,
                        name: name.clone(),
                    },
                    |h| h.jail_create(spec),
                    |jid| Effect::JailCreated {
                        jid: Some(*jid),
                        name: name.clone(),
                    },
                )?;
                tx.ctx.jids.insert(name, jid);
                Ok(())
            }
            Op::CreateEpair { bind, description } => {
                // The kernel picks the unit: the name is only known afterwards. The intent
                // names the epairs that existed before, so recovery after a crash between the
                // call and its record finds the new one (undescribed, down, in no bridge) and
                // destroys it. Creating and describing happen under the clone lock, which
                // recovery takes too: it never sees another live operation's pair undescribed.
                need_description("epair", description)?;
                let _clone = tx.clone_lock()?;
                let before = if_names(host, crate::host::IfKind::Epair)?;
                let pair = tx.guarded(
                    Effect::EpairPending { before },
                    |h| h.epair_create(None),
                    |pair| Effect::IfCreated {
                        name: pair.a.clone(),
                    },
                )?;
                tx.ctx.ifaces.insert(format!("{bind}.a"), pair.a.clone());
                tx.ctx.ifaces.insert(format!("{bind}.b"), pair.b.clone());
                describe_new(tx, &pair.a, description)
            }
            Op::CreateBridge {
                bind,
                unit,
                description,
            } => {
                need_description("bridge", description)?;
                let _clone = tx.clone_lock()?;
                let name = match unit {
                    Some(u) => {
                        let name = format!("bridge{u}");
                        if host.interfaces(None)?.iter().any(|i| i.name == name) {
                            tx.ctx.ifaces.insert(bind.clone(), name);
                            return Ok(());
                        }
                        let eff = Effect::IfCreated { name: name.clone() };
                        tx.guarded(eff.clone(), |h| h.bridge_create(Some(*u)), |_| eff)?;
                        name
                    }
                    // Kernel-chosen unit: as for epairs, the intent lists the bridges that
                    // existed before.
                    None => {
                        let before = if_names(host, crate::host::IfKind::Bridge)?;
                        tx.guarded(
                            Effect::BridgePending { before },
                            |h| h.bridge_create(None),
                            |name| Effect::IfCreated { name: name.clone() },
                        )?
                    }
                };
                tx.ctx.ifaces.insert(bind.clone(), name.clone());
                describe_new(tx, &name, description)
            }
            Op::RenameIf { iface, to } => {
                let from = iface.resolve(&tx.ctx)?;
                let eff = Effect::IfRenamed {
                    from: from.clone(),
                    to: to.clone(),
                };
                tx.guarded(eff.clone(), |h| h.if_rename(&from, to), |_| eff)?;
                if let IfRef::Var(v) = iface {
                    tx.ctx.ifaces.insert(v.clone(), to.clone());
                }
                Ok(())
            }
            Op::DescribeIf { iface, description } => {
                let name = iface.resolve(&tx.ctx)?;
                let previous = host_iface(host, &name, OpKind::IfSetDescription)?.description;
                let eff = Effect::IfDescribed {
                    name: name.clone(),
                    previous,
                };
                tx.guarded(
                    eff.clone(),
                    |h| h.if_set_description(&name, Some(description)),
                    |_| eff,
                )
            }
            Op::IfUp { iface } => {
                let name = iface.resolve(&tx.ctx)?;
                if host_iface(host, &name, OpKind::IfSetUp)?.up {
                    return Ok(());
                }
                let eff = Effect::IfUp { name: name.clone() };
                tx.guarded(eff.clone(), |h| h.if_set_up(&name, true), |_| eff)
            }
            Op::BridgeAddm { bridge, member } => {
                let (bridge, member) = (bridge.resolve(&tx.ctx)?, member.resolve(&tx.ctx)?);
                if let Some(b) = host_iface(host, &member, OpKind::BridgeAddm)?.member_of {
                    let errno = if b == bridge {
                        Errno::EEXIST
                    } else {
                        Errno::EBUSY
                    };
                    return Err(HostError::os_msg(
                        OpKind::BridgeAddm,
                        Object::iface(&member),
                        errno,
                        format!("already a member of {b}"),
                    )
                    .into());
                }
                let eff = Effect::BridgeMember {
                    bridge: bridge.clone(),
                    member: member.clone(),
                };
                tx.guarded(eff.clone(), |h| h.bridge_addm(&bridge, &member), |_| eff)
            }
            Op::VnetMove { iface, jail } => {
                let name = iface.resolve(&tx.ctx)?;
                let jid = tx.jid(jail)?;
                let eff = Effect::VnetMoved {
                    name: name.clone(),
                    jid,
                    jail: jail.clone(),
                };
                tx.guarded(eff.clone(), |h| h.if_move_to_jail(&name, jid), |_| eff)
            }
            Op::JailAddr {
                jail,
                iface,
                addr,
                prefix,
            } => {
                let name = iface.resolve(&tx.ctx)?;
                let jid = tx.jid(jail)?;
                let net = ipnet::IpNet::new(*addr, *prefix).map_err(|_| {
                    HostError::os_msg(
                        OpKind::JailIfAddrAdd,
                        Object::Interface {
                            name: name.clone(),
                            jid: Some(jid),
                        },
                        Errno::EINVAL,
                        format!("prefix length {prefix} is too long for {addr}"),
                    )
                })?;
                let eff = Effect::JailAddr {
                    jid,
                    jail: jail.clone(),
                    name: name.clone(),
                    addr: *addr,
                };
                tx.guarded(
                    eff.clone(),
                    |h| h.jail_if_addr_add(jid, &name, net),
                    |_| eff,
                )
            }
            Op::JailIfUp { jail, iface } => {
                let name = iface.resolve(&tx.ctx)?;
                let jid = tx.jid(jail)?;
                let eff = Effect::JailIfUp {
                    jid,
                    jail: jail.clone(),
                    name: name.clone(),
                };
                tx.guarded(eff.clone(), |h| h.jail_if_set_up(jid, &name, true), |_| eff)
            }
            Op::JailDefaultRoute { jail, gateway } => {
                let jid = tx.jid(jail)?;
                let eff = Effect::JailRoute {
                    jid,
                    jail: jail.clone(),
                    family: AddrFamily::of(*gateway),
                };
                tx.guarded(
                    eff.clone(),
                    |h| h.jail_route_add_default(jid, *gateway),
                    |_| eff,
                )
            }
            Op::JailExec { jail, command } => {
                let jid = match tx.jid(jail) {
                    Ok(j) => j,
                    // Resuming a teardown: the jail is already gone, so is what it ran.
                    Err(ExecError::UnknownRef(_)) if tx.forward => return Ok(()),
                    Err(e) => return Err(e),
                };
                let status = host.jail_exec(jid, command)?;
                tx.record(Effect::JailCommandRun {
                    jid,
                    jail: jail.clone(),
                    argv: command.argv.clone(),
                })?;
                if status != 0 {
                    return Err(ExecError::Refused(format!(
                        "jail {jail}: {} exited with status {status}",
                        command.argv.join(" ")
                    )));
                }
                Ok(())
            }
            Op::RemoveJail { jail } => match host.jail_by_name(jail)? {
                None => Ok(()),
                Some(j) => match host.jail_remove(j.jid) {
                    Err(e) if e.errno() == Some(Errno::EINVAL) => Ok(()),
                    r => r.map_err(Into::into),
                },
            },
            Op::DestroyIf { iface } => {
                let name = iface.resolve(&tx.ctx)?;
                match host.if_destroy(&name) {
                    Err(e) if e.errno() == Some(Errno::ENXIO) => Ok(()),
                    r => r.map_err(Into::into),
                }
            }
            Op::BridgeDeletem { bridge, member } => {
                let (bridge, member) = (bridge.resolve(&tx.ctx)?, member.resolve(&tx.ctx)?);
                let Some(m) = host
                    .interfaces(None)?
                    .into_iter()
                    .find(|i| i.name == member)
                else {
                    return Ok(()); // gone with its interface
                };
                if m.member_of.as_deref() != Some(bridge.as_str()) {
                    return Ok(());
                }
                let eff = Effect::BridgeMemberRemoved {
                    bridge: bridge.clone(),
                    member: member.clone(),
                };
                tx.guarded(eff.clone(), |h| h.bridge_deletem(&bridge, &member), |_| eff)
            }
            Op::DestroyDataset { name } => {
                if !host.dataset_exists(name)? {
                    return Ok(());
                }
                host.dataset_destroy(name).map_err(Into::into)
            }
            Op::RemoveDir { path } => match host.file_type(path)? {
                None => Ok(()),
                Some(FileKind::Dir) => {
                    let eff = Effect::DirRemoved { path: path.clone() };
                    tx.guarded(eff.clone(), |h| h.remove_dir(path), |_| eff)
                }
                Some(_) => Err(HostError::os(
                    OpKind::RemoveDir,
                    Object::Path(path.clone()),
                    Errno::ENOTDIR,
                )
                .into()),
            },
            Op::RemoveFile { path } => match host.file_type(path)? {
                None => Ok(()),
                Some(_) => host.remove_file(path).map_err(Into::into),
            },
            Op::InstallArchive {
                src,
                manifest,
                dest,
            } => {
                if dest.exists() {
                    return Err(ExecError::Refused(format!(
                        "{} already exists",
                        dest.display()
                    )));
                }
                tx.record(Effect::RealFileCreated { path: dest.clone() })?;
                thinjail_release::fetch::use_local(src, manifest.as_deref(), "base.txz", dest)?;
                Ok(())
            }
            Op::BuildTemplate {
                archive,
                base,
                skeleton,
                host_root,
            } => {
                for d in [base, skeleton] {
                    let empty = fs::read_dir(d)
                        .map_err(|source| {
                            ExecError::Release(thinjail_release::Error::Io {
                                op: "opendir",
                                path: d.clone(),
                                source,
                            })
                        })?
                        .next()
                        .is_none();
                    if !empty {
                        return Err(ExecError::Refused(format!("{} is not empty", d.display())));
                    }
                }
                // Recorded before the work: emptying an empty directory is a no-op, so undo
                // after a crash at any point in between is right.
                tx.record(Effect::TreeFilled { path: base.clone() })?;
                tx.record(Effect::TreeFilled {
                    path: skeleton.clone(),
                })?;
                let layout = thinjail_release::template::TemplateLayout {
                    base: base.clone(),
                    skeleton: skeleton.clone(),
                };
                thinjail_release::template::extract_base(
                    archive,
                    &layout,
                    &thinjail_release::extract::ExtractOptions::default(),
                )?;
                thinjail_release::template::copy_host_files(host_root, &layout)?;
                thinjail_release::template::split_skeleton(&layout)?;
                Ok(())
            }
            Op::CopyTree { src, dest } => {
                if fs::symlink_metadata(dest).is_ok() {
                    return Err(ExecError::Refused(format!(
                        "{} already exists",
                        dest.display()
                    )));
                }
                tx.record(Effect::TreeCreated { path: dest.clone() })?;
                // As `cp -a`: modes, owners (as root), times, symlinks, hard links, devices.
                thinjail_release::template::copy_tree(src, dest)?;
                Ok(())
            }
            Op::RemoveTree { path } => {
                thinjail_release::template::remove_tree(path)?;
                Ok(())
            }
            Op::RcConf { path, edit } => {
                let previous = match fs::read(path) {
                    Ok(b) => Some(b),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(source) => {
                        return Err(ExecError::Release(thinjail_release::Error::Io {
                            op: "read",
                            path: path.clone(),
                            source,
                        }));
                    }
                };
                let text = String::from_utf8_lossy(previous.as_deref().unwrap_or_default());
                let mut rc = crate::rcconf::RcConf::parse(&text);
                let changed = match edit {
                    RcEdit::Set { name, value } => {
                        rc.get(name).as_deref() != Some(value.as_str()) && {
                            rc.set(name, value)?;
                            true
                        }
                    }
                    RcEdit::ListAdd { name, item } => rc.append_to_list(name, item)?,
                    RcEdit::ListRemove { name, item } => rc.remove_from_list(name, item)?,
                };
                if !changed {
                    return Ok(());
                }
                tx.record(Effect::FileReplaced {
                    path: path.clone(),
                    previous,
                })?;
                rc.write_atomic(path)?;
                Ok(())
            }
            Op::HostCommand { argv } => {
                let Some((prog, args)) = argv.split_first() else {
                    return Err(ExecError::Refused("empty command".into()));
                };
                tx.record(Effect::CommandRun { argv: argv.clone() })?;
                let st = std::process::Command::new(prog)
                    .args(args)
                    .status()
                    .map_err(|source| {
                        ExecError::Release(thinjail_release::Error::Io {
                            op: "exec",
                            path: PathBuf::from(prog),
                            source,
                        })
                    })?;
                if !st.success() {
                    return Err(ExecError::Refused(format!(
                        "{} exited with {st}",
                        argv.join(" ")
                    )));
                }
                Ok(())
            }
            Op::JailStop { jail, command } => {
                let Some(j) = host.jail_by_name(jail)? else {
                    return Ok(());
                };
                // As jail(8): an exec.stop that outlives its timeout is killed and the stop goes
                // on (removing the jail kills whatever it left running); 124 = timed out, as
                // timeout(1) reports it.
                let status = match host.jail_exec(j.jid, command) {
                    Err(e) if e.errno() == Some(Errno::ETIMEDOUT) => 124,
                    r => r?,
                };
                tx.record(Effect::JailCommandRun {
                    jid: j.jid,
                    jail: jail.clone(),
                    argv: command.argv.clone(),
                })?;
                tx.ctx.stop_status.insert(jail.clone(), status);
                Ok(())
            }
        }
    }

    fn reversible(&self) -> bool {
        !matches!(
            self,
            Op::RemoveJail { .. }
                | Op::DestroyIf { .. }
                | Op::DestroyDataset { .. }
                | Op::RemoveFile { .. }
                | Op::RemoveTree { .. }
                | Op::JailStop { .. }
        )
    }
}

/// EEXIST before anything changes if the dataset exists (so a write-ahead intent never names
/// someone else's dataset).
/// `cp -a` of a directory tree: directories, files (contents and mode), symlinks.
fn refuse_existing_dataset(host: &dyn Host, op: OpKind, name: &str) -> Result<(), ExecError> {
    if host.dataset_exists(name)? {
        return Err(HostError::os_msg(
            op,
            Object::Dataset(name.into()),
            Errno::EEXIST,
            "dataset already exists",
        )
        .into());
    }
    Ok(())
}

/// A host interface by name (ENXIO if absent).
fn host_iface(host: &dyn Host, name: &str, op: OpKind) -> Result<crate::host::IfInfo, ExecError> {
    host.interfaces(None)?
        .into_iter()
        .find(|i| i.name == name)
        .ok_or_else(|| HostError::os(op, Object::iface(name), Errno::ENXIO).into())
}

/// Mount with a write-ahead intent; refused (EBUSY) if the same filesystem is already the top
/// mount there, so undoing the intent can never unmount someone else's identical mount.
/// Devices a jail's /dev must not show (`mem`, `kmem`: kernel memory; `io`: I/O port access),
/// all hidden by /etc/defaults/devfs.rules `devfsrules_hide_all` in every jail ruleset.
const DEVICES_A_JAIL_MUST_NOT_SEE: [&str; 3] = ["mem", "kmem", "io"];

fn mount_guarded(
    tx: &mut Transaction<'_>,
    op: OpKind,
    mount: MountInfo,
    call: impl FnOnce(&dyn Host) -> Result<(), HostError>,
) -> Result<(), ExecError> {
    let top = tx
        .host
        .mounts()?
        .into_iter()
        .rev()
        .find(|m| m.at == mount.at);
    if top.is_some_and(|t| t.fstype == mount.fstype && t.source == mount.source) {
        return Err(HostError::os_msg(
            op,
            Object::Path(mount.at.clone()),
            Errno::EBUSY,
            "already mounted there",
        )
        .into());
    }
    let eff = Effect::Mounted { mount };
    tx.guarded(eff.clone(), call, |_| eff)
}

/// Refuses an empty description for a new interface (it is the interface's ownership mark).
fn need_description(what: &str, description: &str) -> Result<(), ExecError> {
    if description.trim().is_empty() {
        return Err(ExecError::Refused(format!(
            "a new {what} needs a non-empty description: it marks the interface as this \
             operation's until the journal names it"
        )));
    }
    Ok(())
}

/// The names of the host's interfaces of one kind.
fn if_names(host: &dyn Host, kind: crate::host::IfKind) -> Result<Vec<String>, ExecError> {
    Ok(host
        .interfaces(None)?
        .into_iter()
        .filter(|i| i.kind == kind)
        .map(|i| i.name)
        .collect())
}

/// Describe an interface this transaction has just created (journaled; undo clears it).
fn describe_new(tx: &mut Transaction<'_>, name: &str, description: &str) -> Result<(), ExecError> {
    let eff = Effect::IfDescribed {
        name: name.to_string(),
        previous: None,
    };
    tx.guarded(
        eff.clone(),
        |h| h.if_set_description(name, Some(description)),
        |_| eff,
    )
}

/// The lock file that serialises creating an interface with a kernel-chosen unit (and marking
/// it) against recovery's search for unmarked ones.
pub const CLONE_LOCK: &str = "ifclone";

fn clone_lock_key() -> Lock {
    Lock::exclusive(LockKey::Named(CLONE_LOCK.into()))
}

/// Does the journal's undo include a search for unmarked interfaces?
fn needs_clone_lock(pending: &[(u64, Effect)]) -> bool {
    pending.iter().any(|(_, e)| {
        matches!(
            e,
            Effect::EpairPending { .. } | Effect::BridgePending { .. }
        )
    })
}

/// A running operation: its journal, its completed effects and its [`Context`].
///
/// Dropping a transaction without [`Transaction::commit`] or [`Transaction::rollback`] leaves the
/// journal open, exactly as a crash would; [`recover`] then undoes it. While the transaction
/// lives it holds an exclusive `flock` on its journal, so recovery never touches a running
/// operation.
#[derive(Debug)]
pub struct Transaction<'h> {
    host: &'h dyn Host,
    journal: Journal,
    seq: u64,
    done: Vec<(u64, Effect)>,
    ctx: Context,
    /// Roll-forward mode (a teardown): steps tolerate work already done.
    forward: bool,
    /// Where the clone lock lives (the executor's lock directory), if anywhere.
    locks: Option<LockDir>,
}

/// What an undo did.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct UndoReport {
    /// Effects undone (including ones found already undone).
    pub undone: usize,
}

impl std::fmt::Debug for dyn Host + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dyn Host")
    }
}

impl<'h> Transaction<'h> {
    /// Start: create the journal at `journal_path` (which must not exist).
    pub fn begin(
        host: &'h dyn Host,
        journal_path: &Path,
        label: &str,
    ) -> Result<Transaction<'h>, ExecError> {
        // The boot goes into the journal: recovery in a later boot leaves kernel objects alone.
        let boot = host.boot_stamp()?;
        let journal = Journal::create(journal_path, label, Some(boot))?;
        Ok(Transaction {
            host,
            journal,
            seq: 0,
            done: Vec::new(),
            ctx: Context::default(),
            forward: false,
            locks: None,
        })
    }

    /// Take [`CLONE_LOCK`] in `locks` while creating interfaces with kernel-chosen units (the
    /// executor passes its lock directory). Without it, a recovery running in another process
    /// may mistake this transaction's just-created, not yet described interface for a crashed
    /// run's and destroy it.
    pub fn with_lock_dir(mut self, locks: Option<LockDir>) -> Self {
        self.locks = locks;
        self
    }

    /// Hold the clone lock (if there is a lock directory) until the guard drops.
    fn clone_lock(&self) -> Result<Option<LockGuard>, ExecError> {
        Ok(match &self.locks {
            Some(l) => Some(l.lock(&[clone_lock_key()])?),
            None => None,
        })
    }

    /// True when running a roll-forward plan ([`Executor::run_forward`] or its resumption).
    pub fn is_forward(&self) -> bool {
        self.forward
    }

    /// The host.
    pub fn host(&self) -> &'h dyn Host {
        self.host
    }

    /// Values produced so far.
    pub fn ctx(&self) -> &Context {
        &self.ctx
    }

    /// Values produced so far, for steps that bind their own.
    pub fn ctx_mut(&mut self) -> &mut Context {
        &mut self.ctx
    }

    /// The journal file.
    pub fn journal_path(&self) -> &Path {
        self.journal.path()
    }

    /// Effects completed and not undone, in order.
    pub fn effects(&self) -> impl Iterator<Item = &Effect> {
        self.done.iter().map(|(_, e)| e)
    }

    /// The jid of a jail created earlier in this transaction, or found on the host by name.
    pub fn jid(&self, jail: &str) -> Result<i32, ExecError> {
        if let Some(j) = self.ctx.jids.get(jail) {
            return Ok(*j);
        }
        self.host
            .jail_by_name(jail)?
            .map(|j| j.jid)
            .ok_or_else(|| ExecError::UnknownRef(jail.to_string()))
    }

    /// Record a completed change: appended to the journal and synced before this returns. If the
    /// journal write fails the effect is still remembered in memory, so a roll-back undoes it.
    pub fn record(&mut self, effect: Effect) -> Result<(), ExecError> {
        self.seq += 1;
        self.done.push((self.seq, effect.clone()));
        self.journal.append(&Record::Done {
            seq: self.seq,
            effect,
        })?;
        Ok(())
    }

    /// Make a change whose object is named in advance, write-ahead: an `Intent` record is
    /// journaled and synced before `call` runs, then `Done` (with the effect `done` builds from
    /// the result) or `Failed`. A crash between the call and its `Done` is still undone by
    /// [`recover`]. The caller must own the object (hold its lock, and have checked that it did
    /// not exist), because recovery undoes an intent whose call may never have run.
    pub fn guarded<T>(
        &mut self,
        intent: Effect,
        call: impl FnOnce(&'h dyn Host) -> Result<T, HostError>,
        done: impl FnOnce(&T) -> Effect,
    ) -> Result<T, ExecError> {
        self.seq += 1;
        let seq = self.seq;
        self.journal.append(&Record::Intent {
            seq,
            effect: intent,
        })?;
        match call(self.host) {
            Ok(v) => {
                let effect = done(&v);
                self.done.push((seq, effect.clone()));
                self.journal.append(&Record::Done { seq, effect })?;
                Ok(v)
            }
            Err(e) => {
                self.journal.append(&Record::Failed { seq })?;
                Err(e.into())
            }
        }
    }

    /// Run one step.
    pub fn apply<S: Action + ?Sized>(&mut self, step: &S) -> Result<(), ExecError> {
        step.apply(self)
    }

    /// Keep every effect and close the journal as committed.
    pub fn commit(mut self) -> Result<Context, ExecError> {
        self.journal.append(&Record::Closed {
            outcome: Outcome::Committed,
        })?;
        Ok(std::mem::take(&mut self.ctx))
    }

    /// Undo every completed effect in reverse and close the journal as rolled back. On failure
    /// the journal stays open (with the undone effects marked) for [`recover`].
    pub fn rollback(mut self) -> Result<UndoReport, ExecError> {
        let n = undo_pending(self.host, &mut self.journal, &mut self.done)?;
        self.journal.append(&Record::Closed {
            outcome: Outcome::RolledBack,
        })?;
        Ok(UndoReport { undone: n })
    }

    /// Stop here as a crash would: no undo, journal left open. For testing [`recover`].
    pub fn abandon(self) -> PathBuf {
        self.journal.path().to_path_buf()
    }
}

/// Undo `pending` in reverse, marking each in the journal; returns how many.
fn undo_pending(
    host: &dyn Host,
    journal: &mut Journal,
    pending: &mut Vec<(u64, Effect)>,
) -> Result<usize, ExecError> {
    Ok(undo_pending_in(host, journal, pending, false)?.0)
}

/// Undo `pending` in reverse; with `earlier_boot`, kernel-state effects are not undone (the
/// reboot ended them) but marked undone. Returns (undone, skipped).
fn undo_pending_in(
    host: &dyn Host,
    journal: &mut Journal,
    pending: &mut Vec<(u64, Effect)>,
    earlier_boot: bool,
) -> Result<(usize, usize), ExecError> {
    let (mut n, mut skipped) = (0, 0);
    while let Some((seq, effect)) = pending.last().cloned() {
        if earlier_boot && effect.is_kernel_state() {
            skipped += 1;
        } else {
            effect.undo(host)?;
            n += 1;
        }
        journal.append(&Record::Undone { seq })?;
        pending.pop();
    }
    Ok((n, skipped))
}

/// What [`recover`] did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecoverReport {
    /// The journal's label.
    pub label: Option<String>,
    /// Effects undone now (0 if the journal was already closed).
    pub undone: usize,
    /// Roll-forward steps completed now (teardown journals).
    pub resumed: usize,
    /// How the journal had been closed before recovery, if it had.
    pub was_closed: Option<Outcome>,
    /// Kernel-state effects or steps left alone because the journal is from an earlier boot
    /// (the reboot ended them; see [`BootStamp`](crate::host::BootStamp)).
    pub skipped: usize,
}

/// Finish an interrupted operation after a crash: undo, in reverse, every effect the journal
/// records as done and not undone, then close it as rolled back — or, for a roll-forward
/// (teardown) journal, run the remaining steps and close it as committed. A closed journal is
/// left alone.
/// Idempotent: effects that are already undone count as undone.
///
/// ```
/// use thinjail_core::exec::{recover, Action, Op, Transaction};
/// use thinjail_core::sim::SimHost;
/// # let dir = std::env::temp_dir().join(format!("tj-recover-doc-{}", std::process::id()));
/// let host = SimHost::new(dir.join("root")).unwrap();
/// let before = host.state();
/// let mut tx = Transaction::begin(&host, &dir.join("j.journal"), "doc").unwrap();
/// tx.apply(&Op::MkdirAll { path: "/a/b".into(), mode: 0o755 }).unwrap();
/// let journal = tx.abandon(); // crash
/// assert_ne!(host.state(), before);
/// assert_eq!(recover(&journal, &host).unwrap().undone, 2);
/// assert_eq!(host.state(), before);
/// assert_eq!(recover(&journal, &host).unwrap().undone, 0);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn recover(journal_path: &Path, host: &dyn Host) -> Result<RecoverReport, ExecError> {
    recover_with(journal_path, host, None)
}

/// [`recover`], taking [`CLONE_LOCK`] in `locks` while undoing a crashed creation of an
/// interface with a kernel-chosen unit, so that another live operation's new interface (made
/// and marked under the same lock) is never mistaken for the crashed one. Use the lock
/// directory the operations use (what [`crate::run::Runner`] does); [`recover`] is for a host
/// nothing else is changing.
pub fn recover_with(
    journal_path: &Path,
    host: &dyn Host,
    locks: Option<&LockDir>,
) -> Result<RecoverReport, ExecError> {
    // Lock first (a live transaction makes this fail with `InUse`), then read.
    let journal = Journal::open_append(journal_path)?;
    let st = JournalState::from_records(&Journal::read(journal_path)?);
    if let Some(o) = st.closed {
        return Ok(RecoverReport {
            label: st.label,
            undone: 0,
            resumed: 0,
            was_closed: Some(o),
            skipped: 0,
        });
    }
    // A journal of an earlier boot: the reboot ended its jails, interfaces and mounts, and
    // their names may now be another boot's objects (rc.d/jail started the jail again,
    // `epair0a` is someone else's). Only datasets and files are undone or finished; and not
    // even those while a jail the journal is about runs again — its files are in use.
    let earlier_boot = match st.boot {
        Some(b) => b.is_earlier_boot(&host.boot_stamp()?),
        None => false,
    };
    if earlier_boot {
        let mut names: Vec<&str> = st.pending.iter().filter_map(|(_, e)| e.jail()).collect();
        if let Some(steps) = &st.forward {
            names.extend(steps.iter().filter_map(Op::jail));
        }
        names.sort_unstable();
        names.dedup();
        for name in names {
            if host.jail_by_name(name)?.is_some() {
                return Err(ExecError::RebootedJailRuns {
                    jail: name.to_string(),
                    journal: journal_path.to_path_buf(),
                });
            }
        }
    }
    if let Some(steps) = st.forward {
        // A teardown: finish it.
        let mut tx = Transaction {
            host,
            journal,
            seq: st.max_seq,
            done: Vec::new(),
            ctx: Context::default(),
            forward: true,
            locks: locks.cloned(),
        };
        let (resumed, skipped) = run_forward_in(&mut tx, &steps, st.steps_done, earlier_boot)?;
        tx.journal.append(&Record::Closed {
            outcome: Outcome::Committed,
        })?;
        return Ok(RecoverReport {
            label: st.label,
            undone: 0,
            resumed,
            was_closed: None,
            skipped,
        });
    }
    let mut journal = journal;
    let mut pending = st.pending;
    let _clone = match locks {
        Some(l) if needs_clone_lock(&pending) => Some(l.lock(&[clone_lock_key()])?),
        _ => None,
    };
    let (n, skipped) = undo_pending_in(host, &mut journal, &mut pending, earlier_boot)?;
    journal.append(&Record::Closed {
        outcome: Outcome::RolledBack,
    })?;
    Ok(RecoverReport {
        label: st.label,
        undone: n,
        resumed: 0,
        was_closed: None,
        skipped,
    })
}

/// [`recover`] every `*.journal` file in `dir` (sorted by name) that no running operation holds
/// (a live transaction keeps an exclusive `flock` on its journal); recovered and closed journals
/// are removed.
pub fn recover_dir(
    dir: &Path,
    host: &dyn Host,
) -> Result<Vec<(PathBuf, RecoverReport)>, ExecError> {
    recover_dir_with(dir, host, None)
}

/// A journal that recovery could not finish: it stays in place, and what it is about
/// should not be touched until it is recovered.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct StuckJournal {
    /// The journal file.
    pub path: PathBuf,
    /// Its label (`stop-dev`), if it could be read.
    pub label: Option<String>,
    /// The jails its effects and steps name.
    pub jails: Vec<String>,
    /// Why recovery stopped.
    pub error: String,
}

/// What [`recover_dir_each`] did: the journals recovered (and removed), and those it could not.
pub type DirRecovery = (Vec<(PathBuf, RecoverReport)>, Vec<StuckJournal>);

/// [`recover_dir_with`] that goes on past a journal it cannot recover: those are returned as
/// [`StuckJournal`]s (and stay in place), the others are recovered and removed. Fails only
/// when the directory cannot be read or a recovered journal cannot be removed.
pub fn recover_dir_each(
    dir: &Path,
    host: &dyn Host,
    locks: Option<&LockDir>,
) -> Result<DirRecovery, ExecError> {
    let mut stuck = Vec::new();
    let done = recover_dir_in(dir, host, locks, Some(&mut stuck))?;
    Ok((done, stuck))
}

/// [`recover_dir`] with the operations' lock directory (see [`recover_with`]).
pub fn recover_dir_with(
    dir: &Path,
    host: &dyn Host,
    locks: Option<&LockDir>,
) -> Result<Vec<(PathBuf, RecoverReport)>, ExecError> {
    recover_dir_in(dir, host, locks, None)
}

fn recover_dir_in(
    dir: &Path,
    host: &dyn Host,
    locks: Option<&LockDir>,
    mut stuck: Option<&mut Vec<StuckJournal>>,
) -> Result<Vec<(PathBuf, RecoverReport)>, ExecError> {
    let mut paths: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "journal"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(JournalError::Io {
                path: dir.to_path_buf(),
                source,
            }
            .into());
        }
    };
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        // A journal another process has just created (and not yet locked and written) is
        // empty: leave it to its owner. One left empty by a crash right after creation held
        // nothing; it is removed once it is a minute old.
        if let Ok(md) = fs::metadata(&p)
            && md.len() == 0
        {
            let old = md
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_secs(60));
            if old {
                remove_journal(&p)?;
            }
            continue;
        }
        let r = match recover_with(&p, host, locks) {
            Ok(r) => r,
            // A running operation's journal: not ours to touch.
            Err(ExecError::Journal(JournalError::InUse { .. })) => continue,
            // Committed and removed by its owner since the directory was listed.
            Err(ExecError::Journal(JournalError::Io { source, .. }))
                if source.kind() == std::io::ErrorKind::NotFound && !p.exists() =>
            {
                continue;
            }
            Err(e) => match stuck.as_deref_mut() {
                None => return Err(e),
                Some(list) => {
                    let st = Journal::read(&p)
                        .map(|r| JournalState::from_records(&r))
                        .ok();
                    let mut jails: Vec<String> = st
                        .as_ref()
                        .map(|st| {
                            let mut v: Vec<String> = st
                                .pending
                                .iter()
                                .filter_map(|(_, e)| e.jail())
                                .chain(st.forward.iter().flatten().filter_map(Op::jail))
                                .map(str::to_string)
                                .collect();
                            v.sort();
                            v.dedup();
                            v
                        })
                        .unwrap_or_default();
                    jails.dedup();
                    list.push(StuckJournal {
                        path: p.clone(),
                        label: st.and_then(|s| s.label),
                        jails,
                        error: e.to_string(),
                    });
                    continue;
                }
            },
        };
        remove_journal(&p)?;
        out.push((p, r));
    }
    Ok(out)
}

/// Remove a closed journal; another process's recovery may have removed it first (it is
/// closed, so that is fine).
fn remove_journal(p: &Path) -> Result<(), ExecError> {
    match fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(JournalError::Io {
            path: p.to_path_buf(),
            source: e,
        }
        .into()),
        _ => Ok(()),
    }
}

static JOURNAL_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Runs plans against a host with a journal per run and optional locks.
#[derive(Debug)]
pub struct Executor<'h> {
    host: &'h dyn Host,
    journal_dir: PathBuf,
    locks: Option<LockDir>,
}

impl<'h> Executor<'h> {
    /// An executor writing journals into `journal_dir` (created).
    pub fn new(
        host: &'h dyn Host,
        journal_dir: impl AsRef<Path>,
    ) -> Result<Executor<'h>, ExecError> {
        let journal_dir = journal_dir.as_ref().to_path_buf();
        fs::create_dir_all(&journal_dir).map_err(|source| JournalError::Io {
            path: journal_dir.clone(),
            source,
        })?;
        Ok(Executor {
            host,
            journal_dir,
            locks: None,
        })
    }

    /// Take the lock keys given to [`Executor::run`] in this lock directory.
    pub fn with_locks(mut self, locks: LockDir) -> Executor<'h> {
        self.locks = Some(locks);
        self
    }

    /// The journal directory.
    pub fn journal_dir(&self) -> &Path {
        &self.journal_dir
    }

    /// Start a transaction with a fresh journal file named after `label`.
    pub fn begin(&self, label: &str) -> Result<Transaction<'h>, ExecError> {
        let safe: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let n = JOURNAL_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = self.journal_dir.join(format!(
            "{nanos:020}-{}-{n}-{safe}.journal",
            std::process::id()
        ));
        Ok(Transaction::begin(self.host, &path, label)?.with_lock_dir(self.locks.clone()))
    }

    /// Run `steps` in order holding `locks`. On success the journal is closed as committed and
    /// removed, and the produced values are returned. On the first error every completed effect
    /// is undone in reverse and the journal closed ([`ExecError::RolledBack`]); if undo fails too
    /// the journal stays for [`recover`] ([`ExecError::UndoIncomplete`]).
    pub fn run<S: Action>(
        &self,
        label: &str,
        locks: &[Lock],
        steps: &[S],
    ) -> Result<Context, ExecError> {
        if let Some((i, st)) = steps.iter().enumerate().find(|(_, st)| !st.reversible()) {
            return Err(ExecError::Refused(format!(
                "step {i} ({}) cannot be undone: run teardown plans with run_forward",
                st.describe()
            )));
        }
        let _guard = match &self.locks {
            Some(l) if !locks.is_empty() => Some(l.lock(locks)?),
            _ => None,
        };
        let mut tx = self.begin(label)?;
        for (index, step) in steps.iter().enumerate() {
            if let Err(cause) = tx.apply(step) {
                let journal = tx.journal_path().to_path_buf();
                return Err(match tx.rollback() {
                    Ok(r) => ExecError::RolledBack {
                        index,
                        step: step.describe(),
                        undone: r.undone,
                        cause: Box::new(cause),
                    },
                    Err(undo) => ExecError::UndoIncomplete {
                        index,
                        step: step.describe(),
                        cause: Box::new(cause),
                        undo: Box::new(undo),
                        journal,
                    },
                });
            }
        }
        let journal = tx.journal_path().to_path_buf();
        let ctx = tx.commit()?;
        remove_journal(&journal)?;
        Ok(ctx)
    }

    /// Run a teardown plan (stop, destroy) that must *complete* rather than be undone: the plan
    /// is journaled first, each finished step is marked, and every step tolerates work already
    /// done (a jail already removed, an interface already gone, nothing mounted). On error the
    /// journal stays open ([`ExecError::Incomplete`]); [`recover`] resumes at the failed step.
    ///
    /// Interfaces must be named directly ([`IfRef::Name`]): a resumption has no context.
    pub fn run_forward(
        &self,
        label: &str,
        locks: &[Lock],
        steps: &[Op],
    ) -> Result<Context, ExecError> {
        if let Some(v) = steps.iter().find_map(Op::first_var) {
            return Err(ExecError::Refused(format!(
                "roll-forward plans name interfaces directly; variable {v:?} cannot be resumed after a crash"
            )));
        }
        let _guard = match &self.locks {
            Some(l) if !locks.is_empty() => Some(l.lock(locks)?),
            _ => None,
        };
        let mut tx = self.begin(label)?;
        tx.forward = true;
        tx.journal.append(&Record::Forward {
            steps: steps.to_vec(),
        })?;
        run_forward_from(&mut tx, steps, 0)?;
        let journal = tx.journal_path().to_path_buf();
        let ctx = tx.commit()?;
        remove_journal(&journal)?;
        Ok(ctx)
    }
}

/// Apply `steps[from..]`, marking each; on error the journal stays open.
fn run_forward_from(
    tx: &mut Transaction<'_>,
    steps: &[Op],
    from: usize,
) -> Result<usize, ExecError> {
    Ok(run_forward_in(tx, steps, from, false)?.0)
}

/// Run `steps` from `from`; with `earlier_boot`, kernel-state steps are not run (the reboot
/// did them) but marked done. Returns (run, skipped).
fn run_forward_in(
    tx: &mut Transaction<'_>,
    steps: &[Op],
    from: usize,
    earlier_boot: bool,
) -> Result<(usize, usize), ExecError> {
    let mut skipped = 0;
    for (index, step) in steps.iter().enumerate().skip(from) {
        if earlier_boot && step.is_kernel_state() {
            skipped += 1;
            tx.journal.append(&Record::StepDone { index })?;
            continue;
        }
        if let Err(cause) = tx.apply(step) {
            return Err(ExecError::Incomplete {
                index,
                step: step.describe(),
                cause: Box::new(cause),
                journal: tx.journal_path().to_path_buf(),
            });
        }
        tx.journal.append(&Record::StepDone { index })?;
    }
    Ok((steps.len() - from.min(steps.len()) - skipped, skipped))
}

impl Op {
    /// True for steps on kernel state a reboot ends (mounts, jails, interfaces): in a later
    /// boot a teardown's remaining steps of this kind are moot — the reboot did them — and
    /// running them would act on that boot's objects of the same name.
    pub fn is_kernel_state(&self) -> bool {
        matches!(
            self,
            Op::MountNullfs { .. }
                | Op::MountDevfs { .. }
                | Op::MountZfs { .. }
                | Op::Unmount { .. }
                | Op::CreateJail { .. }
                | Op::CreateEpair { .. }
                | Op::CreateBridge { .. }
                | Op::RenameIf { .. }
                | Op::DescribeIf { .. }
                | Op::IfUp { .. }
                | Op::BridgeAddm { .. }
                | Op::VnetMove { .. }
                | Op::JailAddr { .. }
                | Op::JailIfUp { .. }
                | Op::JailDefaultRoute { .. }
                | Op::JailExec { .. }
                | Op::RemoveJail { .. }
                | Op::DestroyIf { .. }
                | Op::BridgeDeletem { .. }
                | Op::JailStop { .. }
        )
    }

    /// The jail this step is about, by name.
    pub fn jail(&self) -> Option<&str> {
        match self {
            Op::CreateJail { spec } => Some(&spec.name),
            Op::VnetMove { jail, .. }
            | Op::JailAddr { jail, .. }
            | Op::JailIfUp { jail, .. }
            | Op::JailDefaultRoute { jail, .. }
            | Op::JailExec { jail, .. }
            | Op::RemoveJail { jail }
            | Op::JailStop { jail, .. } => Some(jail),
            _ => None,
        }
    }

    /// The first interface variable this step uses, if any.
    fn first_var(&self) -> Option<&str> {
        let refs: Vec<&IfRef> = match self {
            Op::RenameIf { iface, .. }
            | Op::DescribeIf { iface, .. }
            | Op::IfUp { iface }
            | Op::VnetMove { iface, .. }
            | Op::JailAddr { iface, .. }
            | Op::JailIfUp { iface, .. }
            | Op::DestroyIf { iface } => vec![iface],
            Op::BridgeAddm { bridge, member } | Op::BridgeDeletem { bridge, member } => {
                vec![bridge, member]
            }
            Op::CreateEpair { bind, .. } => return Some(bind),
            Op::CreateBridge { bind, .. } => return Some(bind),
            _ => vec![],
        };
        refs.into_iter().find_map(|r| match r {
            IfRef::Var(v) => Some(v.as_str()),
            IfRef::Name(_) => None,
        })
    }
}

#[cfg(test)]
mod ip_op_tests {
    use super::*;

    /// Steps journaled before IPv6 (an IPv4 address or gateway) still read; IPv6 ones round-trip
    /// and describe themselves as the `--dry-run` script writes them.
    #[test]
    fn address_and_route_steps_of_both_families() {
        let old = r#"{"op":"jail_default_route","jail":"dev","gateway":"10.0.0.1"}"#;
        assert_eq!(
            serde_json::from_str::<Op>(old).unwrap(),
            Op::JailDefaultRoute {
                jail: "dev".into(),
                gateway: "10.0.0.1".parse().unwrap(),
            }
        );
        let old = r#"{"op":"jail_addr","jail":"dev","iface":{"var":"e.b"},"addr":"10.0.0.2","prefix":24}"#;
        let a: Op = serde_json::from_str(old).unwrap();
        assert_eq!(a.describe(), "jail dev: $e.b inet 10.0.0.2/24");
        let v6 = Op::JailAddr {
            jail: "dev".into(),
            iface: IfRef::var("e.b"),
            addr: "2001:db8::2".parse().unwrap(),
            prefix: 64,
        };
        let line = serde_json::to_string(&v6).unwrap();
        assert_eq!(serde_json::from_str::<Op>(&line).unwrap(), v6);
        assert_eq!(v6.describe(), "jail dev: $e.b inet6 2001:db8::2/64");
        let r6 = Op::JailDefaultRoute {
            jail: "dev".into(),
            gateway: "2001:db8::1".parse().unwrap(),
        };
        assert_eq!(r6.describe(), "jail dev: route -6 add default 2001:db8::1");
    }
}
