//! Running the recipe on a [`Host`]: every lifecycle operation (host init, template create and
//! update, jail create, start, stop, destroy, enable) lowered to executable [`Op`]s and run with
//! the undo journal of [`crate::exec`].
//!
//! - Building operations (`host_init`, `template_create`, `template_update`, `create`, `start`,
//!   `enable`) run with [`Executor::run`]: on any error the completed steps are undone in reverse,
//!   and after a crash [`Runner::new`] finishes the undo (it runs [`recover_dir`](crate::exec::recover_dir)).
//! - Teardown operations (`stop`, `destroy`, `template_destroy`) run with
//!   [`Executor::run_forward`]: they are journaled first and completed after a failure or crash.
//! - Each operation takes its locks before it looks at the host: the jail (exclusive), the
//!   template (shared by jails, exclusive for template create/update/destroy), the bridge
//!   (shared).
//! - Refusals (a running jail, a template with clones, a dataset outside the layout, a jail
//!   that does not exist…) happen before anything changes, as [`RunError::Refused`].
//!
//! Host paths (`/zdata/jails/dev`) go to the [`Host`]; file-tree work (extracting a release,
//! copying a skeleton, editing rc.conf) is real I/O at the *real* path: the host path placed
//! under the runner's root (`/` on a real host, the simulated host's root otherwise).
//!
//! ```
//! use thinjail_core::model::ThinJail;
//! use thinjail_core::run::Runner;
//! use thinjail_core::sim::SimHost;
//! let dir = tempfile::tempdir().unwrap();
//! let host = SimHost::new(dir.path().join("root")).unwrap();
//! host.add_pool("zdata").unwrap();
//! let run = Runner::new(&host, dir.path().join("root"), dir.path().join("state")).unwrap();
//! let j = ThinJail::recipe_dev();
//! run.host_init(j.layout(), Some("igc0bridge")).unwrap();
//! let rel = dir.path().join("release");
//! std::fs::create_dir(&rel).unwrap();
//! let (archive, manifest) = thinjail_core::run::generate_release(&rel).unwrap();
//! run.template_create(j.template(), &archive, Some(&manifest)).unwrap();
//! run.create(&j).unwrap();
//! run.start(&j).unwrap();
//! assert!(run.start(&j).is_err()); // already running: refused
//! run.stop(&j).unwrap();
//! run.destroy(&j).unwrap();
//! ```

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Component, Path, PathBuf};

use crate::exec::{
    Context, ExecError, Executor, IfRef, Lock, LockDir, LockGuard, LockKey, Op, RcEdit,
    RecoverReport, StuckJournal, recover_dir_each, recover_dir_with,
};
use crate::host::{
    DatasetProps, FileKind, FsType, Host, HostError, IfKind, JailCommand, JailSpec, Object, OpKind,
};
use crate::model::{HostLayout, ModelError, Storage, Template, ThinJail, ThinJailSpec};

/// Errors of [`Runner`] operations.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Execution failed (and was undone, or left for recovery as the error says).
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// A host query failed before anything changed.
    #[error(transparent)]
    Host(#[from] HostError),
    /// Refused before anything changed.
    #[error("refused: {0}")]
    Refused(String),
    /// Invalid input.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Release file work failed.
    #[error(transparent)]
    Release(#[from] thinjail_release::Error),
    /// A lock could not be taken.
    #[error(transparent)]
    Lock(#[from] crate::exec::LockError),
}

/// Result of a [`Runner`] operation.
pub type RunResult<T> = Result<T, RunError>;

/// One further jail parameter checked as a FreeBSD 14 host checks it at creation
/// ([`crate::jailparams::check_text`]): its positive name and value, or the refusal naming it.
fn check_param(name: &str, text: Option<&str>) -> RunResult<(String, freebsd_jail::Value)> {
    crate::jailparams::check_text(name, text).map_err(|e| {
        let shown = match text {
            Some(v) => format!("{name}={v}"),
            None => name.to_string(),
        };
        RunError::Refused(format!(
            "jail parameter {shown}: {} (the kernel would answer {})",
            e.errmsg, e.errno
        ))
    })
}

fn refused<T>(msg: impl Into<String>) -> RunResult<T> {
    Err(RunError::Refused(msg.into()))
}

/// Where a jail stands.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct JailStatus {
    /// Name.
    pub name: String,
    /// jid when running.
    pub jid: Option<i32>,
    /// The jail's root path (from the kernel when running, else from its jail.conf.d file).
    pub path: Option<PathBuf>,
    /// The host side of its epair (found by the description `jail:<name>`).
    pub epair: Option<String>,
    /// IPv4 addresses inside its vnet.
    pub addrs: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses inside its vnet (other than link-local ones).
    pub addrs6: Vec<(Ipv6Addr, u8)>,
    /// The further parameters it runs with, as the host reports them
    /// ([`crate::host::JailInfo::params`]; empty when stopped, and on the real host).
    pub params: std::collections::BTreeMap<String, String>,
}

impl JailStatus {
    /// Its addresses as `addr/prefix`, IPv4 first ([`crate::host::cidrs`]).
    pub fn addresses(&self) -> Vec<String> {
        crate::host::cidrs(&self.addrs, &self.addrs6)
    }
}

/// Runs the recipe's operations on a host, with journal, undo, recovery and locks.
#[derive(Debug)]
pub struct Runner<'h> {
    host: &'h dyn Host,
    root: PathBuf,
    exec: Executor<'h>,
    locks: LockDir,
    /// The program `template update` runs with freebsd-update(8)'s arguments; `None`: none.
    updater: Option<String>,
    /// jail(8)'s `exec.timeout` for the commands run in a jail; `None` (jail(8)'s default):
    /// unbounded.
    exec_timeout: Option<std::time::Duration>,
    /// What opening the runner recovered.
    recovered: Vec<(PathBuf, RecoverReport)>,
    /// Journals it could not recover (see [`Runner::stuck_journals`]).
    stuck: Vec<StuckJournal>,
}

/// The jail a runner journal's label names (`start-dev` → `dev`).
fn jail_of_label(label: &str) -> Option<&str> {
    ["create-", "start-", "stop-", "destroy-", "enable-"]
        .iter()
        .find_map(|p| label.strip_prefix(p))
}

/// The environment of `exec.start`/`exec.stop` with `exec.clean` (jail(8): the login class's
/// PATH, HOME of the user, SHELL, USER, TERM).
fn clean_env() -> Vec<(String, String)> {
    [
        (
            "PATH",
            "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin",
        ),
        ("HOME", "/root"),
        ("SHELL", "/bin/sh"),
        ("USER", "root"),
        ("TERM", "dumb"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// `/var/log/jail_console_<name>.log` (jail(8) `exec.consolelog`).
pub fn console_log(name: &str) -> PathBuf {
    PathBuf::from(format!("/var/log/jail_console_{name}.log"))
}

/// Is `name` a dataset strictly inside the layout's `templates` or `containers` dataset?
pub fn dataset_in_layout(layout: &HostLayout, name: &str) -> bool {
    [layout.templates_dataset(), layout.containers_dataset()]
        .iter()
        .any(|parent| {
            name.strip_prefix(parent.as_str())
                .and_then(|r| r.strip_prefix('/'))
                .is_some_and(|r| {
                    !r.is_empty() && !r.split(['/', '@']).any(|c| c.is_empty() || c == "..")
                })
        })
}

/// Reads the record of jail `name` under `root` (`/` for the real host; see
/// [`ThinJail::record`]): `None` when there is none. Reads only, so `--dry-run` can use it.
pub fn read_record(root: &Path, name: &str) -> RunResult<Option<ThinJail>> {
    crate::model::check_jail_name("name", name)
        .map_err(|e| RunError::Refused(format!("invalid {e}")))?;
    let path = Path::new(crate::model::RECORD_DIR).join(format!("{name}.json"));
    let real = root.join(path.strip_prefix("/").unwrap_or(&path));
    let text = match std::fs::read_to_string(&real) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return refused(format!("cannot read the record {}: {e}", path.display())),
    };
    let j = ThinJail::from_record(&text, &path.display().to_string())
        .map_err(|e| RunError::Refused(format!("record {}: invalid {e}", path.display())))?;
    if j.name() != name {
        return refused(format!(
            "record {} is for jail {}, not {name}",
            path.display(),
            j.name()
        ));
    }
    Ok(Some(j))
}

impl<'h> Runner<'h> {
    /// A runner on `host` whose file tree starts at `root` (`/` for a real host), keeping its
    /// journals in `<state_dir>/journal` and locks in `<state_dir>/locks`. Journals left by a
    /// crashed run are recovered first.
    pub fn new(
        host: &'h dyn Host,
        root: impl Into<PathBuf>,
        state_dir: impl AsRef<Path>,
    ) -> RunResult<Runner<'h>> {
        let state = state_dir.as_ref();
        let locks = LockDir::new(state.join("locks"))?;
        // The executor takes only the clone lock itself (`exec::CLONE_LOCK`); the runner takes
        // the operation's locks.
        let exec = Executor::new(host, state.join("journal"))?.with_locks(locks.clone());
        let r = Runner {
            host,
            root: root.into(),
            exec,
            locks,
            updater: cfg!(target_os = "freebsd").then(|| "freebsd-update".to_string()),
            exec_timeout: None,
            recovered: Vec::new(),
            stuck: Vec::new(),
        };
        // A journal that cannot be recovered (a dying jail still holds its root, a jail of an
        // earlier boot's journal runs again) must not block everything else: it is kept,
        // reported, and only the operations on what it is about refuse.
        let (recovered, mut stuck) = recover_dir_each(r.exec.journal_dir(), host, Some(&r.locks))?;
        for s in &mut stuck {
            if let Some(n) = s.label.as_deref().and_then(jail_of_label)
                && !s.jails.iter().any(|j| j == n)
            {
                s.jails.push(n.to_string());
            }
        }
        Ok(Runner {
            recovered,
            stuck,
            ..r
        })
    }

    /// What opening this runner recovered: interrupted operations undone or finished.
    pub fn recovered(&self) -> &[(PathBuf, RecoverReport)] {
        &self.recovered
    }

    /// Journals of interrupted operations that opening this runner could not recover, with
    /// why. They stay in place and are tried again by the next runner; until then `create`,
    /// `start`, `destroy` and `enable` of a jail they name refuse (`stop` still works: it
    /// acts on what runs now), as do host and template operations while a journal naming no
    /// jail is stuck. Read-only calls and other jails are not affected.
    pub fn stuck_journals(&self) -> &[StuckJournal] {
        &self.stuck
    }

    /// Refuse when a stuck journal is about `jail` (or, for `None`, about the host).
    fn check_stuck(&self, jail: Option<&str>) -> RunResult<()> {
        for s in &self.stuck {
            let about = match jail {
                Some(n) => s.jails.is_empty() || s.jails.iter().any(|j| j == n),
                None => s.jails.is_empty(),
            };
            if about {
                return refused(format!(
                    "{}: the journal {} of an interrupted operation{} could not be recovered: {}",
                    jail.map_or("host".to_string(), |n| format!("jail {n}")),
                    s.path.display(),
                    s.label
                        .as_deref()
                        .map(|l| format!(" ({l})"))
                        .unwrap_or_default(),
                    s.error
                ));
            }
        }
        Ok(())
    }

    /// Bounds `exec.stop` (`/bin/sh /etc/rc.shutdown jail`) like jail(8)'s `exec.timeout`:
    /// a command that outlives it is killed and the stop goes on. Default: unbounded, as in
    /// jail(8), where `exec.timeout` is unset unless configured (command.c `run_command`) —
    /// `stop.timeout` bounds only the wait for processes after exec.stop (command.c
    /// `term_procs`), and rc.shutdown has its own watchdog (`rcshutdown_timeout`, 90 s).
    pub fn with_exec_timeout(mut self, timeout: Option<std::time::Duration>) -> Self {
        self.exec_timeout = timeout;
        self
    }

    /// Whether `template update` runs freebsd-update(8) (default: on FreeBSD). A simulated
    /// host has no freebsd-update: turn it off there (the update then only mounts and
    /// unmounts the skeleton, and says so).
    pub fn with_freebsd_update(mut self, on: bool) -> Self {
        self.updater = on.then(|| "freebsd-update".to_string());
        self
    }

    /// `template update` runs `program` instead of freebsd-update(8), with the same arguments
    /// (`-b <template> -d <workdir> --currently-running <release> fetch install`) and the
    /// skeleton mounted at `<template>/skeleton`: a wrapper that pins a mirror or a proxy, say.
    pub fn with_updater(mut self, program: impl Into<String>) -> Self {
        self.updater = Some(program.into());
        self
    }

    /// Does `template update` run freebsd-update(8) (or the program given to
    /// [`Runner::with_updater`])?
    pub fn runs_freebsd_update(&self) -> bool {
        self.updater.is_some()
    }

    /// The host.
    pub fn host(&self) -> &'h dyn Host {
        self.host
    }

    /// The jail `name` as it was created (its record, see [`ThinJail::record`]), or `None` for a
    /// jail without one (not created by thinjail, or by a version that kept none).
    pub fn recorded(&self, name: &str) -> RunResult<Option<ThinJail>> {
        read_record(&self.root, name)
    }

    /// Finish every interrupted operation found in the journal directory.
    pub fn recover(&self) -> RunResult<Vec<(PathBuf, RecoverReport)>> {
        Ok(recover_dir_with(
            self.exec.journal_dir(),
            self.host,
            Some(&self.locks),
        )?)
    }

    /// The real path of a host path (the host path under the runner's root).
    pub fn real(&self, host_path: &Path) -> PathBuf {
        let rel: PathBuf = host_path
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        self.root.join(rel)
    }

    fn lock(&self, locks: &[Lock]) -> RunResult<LockGuard> {
        Ok(self.locks.lock(locks)?)
    }

    fn is_mounted(&self, at: &Path) -> RunResult<bool> {
        Ok(self.host.mounts()?.iter().any(|m| m.at == at))
    }

    fn exists(&self, p: &Path) -> RunResult<bool> {
        Ok(self.host.file_type(p)?.is_some())
    }

    /// Make a dataset (mounted at its inherited or given mountpoint) or a directory.
    fn make_fs(
        &self,
        ops: &mut Vec<Op>,
        storage: Storage,
        dataset: &str,
        dir: &Path,
        mountpoint: Option<&Path>,
    ) -> RunResult<()> {
        match storage {
            Storage::Zfs => {
                if !self.host.dataset_exists(dataset)? {
                    ops.push(Op::CreateDataset {
                        name: dataset.into(),
                        props: DatasetProps {
                            mountpoint: mountpoint.map(Path::to_path_buf),
                            ..Default::default()
                        },
                    });
                    ops.push(Op::MountZfs {
                        dataset: dataset.into(),
                        at: Some(dir.to_path_buf()),
                    });
                } else if !self.is_mounted(dir)? {
                    ops.push(Op::MountZfs {
                        dataset: dataset.into(),
                        at: Some(dir.to_path_buf()),
                    });
                }
            }
            Storage::Directories => ops.push(Op::MkdirAll {
                path: dir.to_path_buf(),
                mode: 0o755,
            }),
        }
        Ok(())
    }

    /// `path` as the kernel reports it back — in the mount table (`f_mntonname`) and as a
    /// jail's `path` — with every symlink followed (vfs_mount.c `vfs_domount` and kern_jail.c
    /// resolve them with `vn_path_to_global_path`); a missing tail is kept as given. The layout
    /// is resolved once with this before an operation is lowered, so that every path the
    /// operation plans and compares is the kernel's: with FreeBSD's own `/home -> usr/home`, a
    /// layout under `/home` would otherwise find none of its mounts (stop would leave them,
    /// destroy would remove a mounted clone's tree).
    pub fn resolve_path(&self, path: &Path) -> PathBuf {
        let mut todo: std::collections::VecDeque<std::ffi::OsString> = path
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_os_string()),
                Component::ParentDir => Some("..".into()),
                _ => None,
            })
            .collect();
        let mut out = PathBuf::from("/");
        let mut links = 0;
        while let Some(c) = todo.pop_front() {
            if c == ".." {
                out.pop();
                continue;
            }
            let cand = out.join(&c);
            let target = match std::fs::symlink_metadata(self.real(&cand)) {
                // MAXSYMLINKS (32): past it the kernel fails with ELOOP; keep the path then.
                Ok(md) if md.file_type().is_symlink() && links < 32 => {
                    std::fs::read_link(self.real(&cand)).ok()
                }
                _ => None,
            };
            let Some(target) = target else {
                out = cand;
                continue;
            };
            links += 1;
            if target.is_absolute() {
                out = PathBuf::from("/");
            }
            for t in target.components().rev() {
                match t {
                    Component::Normal(n) => todo.push_front(n.to_os_string()),
                    Component::ParentDir => todo.push_front("..".into()),
                    _ => {}
                }
            }
        }
        out
    }

    /// `layout` with its root resolved (see [`Runner::resolve_path`]).
    fn resolved_layout(&self, layout: &HostLayout) -> RunResult<HostLayout> {
        let root = self.resolve_path(layout.root());
        if root == layout.root() {
            return Ok(layout.clone());
        }
        Ok(HostLayout::new(
            layout.storage(),
            layout.pool(),
            &root.to_string_lossy(),
        )?)
    }

    fn resolved_template(&self, t: &Template) -> RunResult<Template> {
        Ok(Template::new(
            self.resolved_layout(t.layout())?,
            t.release().clone(),
        ))
    }

    fn resolved_jail(&self, j: &ThinJail) -> RunResult<ThinJail> {
        let root = self.resolve_path(j.layout().root());
        if root == j.layout().root() {
            return Ok(j.clone());
        }
        Ok(ThinJailSpec {
            root: root.to_string_lossy().into_owned(),
            ..j.spec().clone()
        }
        .build()?)
    }

    fn rc_conf(&self) -> PathBuf {
        self.real(Path::new("/etc/rc.conf"))
    }

    // ---------------------------------------------------------------- lowering

    /// The steps of `host init`: the dataset tree (or directories), the bridge when missing
    /// (created, renamed, up) and persisted in rc.conf (see [`Runner::host_init_ops_with`]),
    /// `jail_enable`/`jail_parallel_start` in rc.conf.
    pub fn host_init_ops(&self, layout: &HostLayout, bridge: Option<&str>) -> RunResult<Vec<Op>> {
        self.host_init_ops_with(layout, bridge, None)
    }

    /// [`Runner::host_init_ops`] with an uplink: an interface of the host (`igc0`) made a member
    /// of the bridge now and at every boot.
    ///
    /// The bridge is persisted the way rc.d/netif makes it at boot (netif `netif_start`:
    /// `clone_up`, then `ifnet_rename`, then `ifn_start` per interface): `bridgeN` is added to
    /// `cloned_interfaces` (N the lowest unit rc.conf does not clone yet),
    /// `ifconfig_bridgeN_name` renames it, `ifconfig_<bridge>="[addm <uplink>] up"` and
    /// `ifconfig_<bridge>_descr` configure it (network.subr `ifconfig_up`; in variable names
    /// `.-/+` become `_`, network.subr `get_if_var`). A bridge rc.conf already makes is left as
    /// rc.conf says, except that a requested uplink missing from its `ifconfig_<bridge>` line
    /// is refused rather than edited into the administrator's line.
    pub fn host_init_ops_with(
        &self,
        layout: &HostLayout,
        bridge: Option<&str>,
        uplink: Option<&str>,
    ) -> RunResult<Vec<Op>> {
        let layout = &self.resolved_layout(layout)?;
        if uplink.is_some() && bridge.is_none() {
            return refused("an uplink needs a bridge");
        }
        let mut ops = Vec::new();
        if layout.storage() == Storage::Zfs && !self.host.dataset_exists(layout.pool())? {
            return refused(format!("pool {:?} does not exist", layout.pool()));
        }
        self.make_fs(
            &mut ops,
            layout.storage(),
            &layout.jails_dataset(),
            layout.root(),
            Some(layout.root()),
        )?;
        for (ds, dir) in [
            (layout.media_dataset(), layout.media_dir()),
            (layout.templates_dataset(), layout.templates_dir()),
            (layout.containers_dataset(), layout.containers_dir()),
        ] {
            self.make_fs(&mut ops, layout.storage(), &ds, &dir, None)?;
        }
        if let Some(b) = bridge {
            let have = self
                .host
                .interfaces(None)?
                .into_iter()
                .find(|i| i.name == b);
            match have {
                Some(i) if i.kind != IfKind::Bridge => {
                    return refused(format!("interface {b} exists and is not a bridge"));
                }
                Some(_) => {}
                None => {
                    ops.push(Op::CreateBridge {
                        bind: "bridge".into(),
                        unit: None,
                        description: format!("thinjail: {b}"),
                    });
                    ops.push(Op::RenameIf {
                        iface: IfRef::var("bridge"),
                        to: b.into(),
                    });
                }
            }
            ops.push(Op::IfUp {
                iface: IfRef::Name(b.into()),
            });
            if let Some(u) = uplink {
                let ifs = self.host.interfaces(None)?;
                match ifs.iter().find(|i| i.name == u) {
                    None => return refused(format!("uplink {u} does not exist on the host")),
                    Some(i) if i.kind == IfKind::Bridge || i.name == b => {
                        return refused(format!("uplink {u} cannot be a bridge"));
                    }
                    Some(i) if i.member_of.as_deref().is_some_and(|m| m != b) => {
                        return refused(format!(
                            "uplink {u} is a member of bridge {}",
                            i.member_of.as_deref().unwrap_or("?")
                        ));
                    }
                    Some(i) if i.member_of.as_deref() == Some(b) => {}
                    Some(_) => ops.push(Op::BridgeAddm {
                        bridge: IfRef::Name(b.into()),
                        member: IfRef::Name(u.into()),
                    }),
                }
            }
        }
        for d in ["/etc", "/var/log"] {
            ops.push(Op::MkdirAll {
                path: d.into(),
                mode: 0o755,
            });
        }
        if let Some(b) = bridge {
            ops.extend(self.persist_bridge_ops(b, uplink)?);
        }
        for n in ["jail_enable", "jail_parallel_start"] {
            ops.push(Op::RcConf {
                path: self.rc_conf(),
                edit: RcEdit::Set {
                    name: n.into(),
                    value: "YES".into(),
                },
            });
        }
        Ok(ops)
    }

    /// The rc.conf edits that make rc.d/netif create `bridge` at boot (see
    /// [`Runner::host_init_ops_with`]); none when rc.conf already makes it as asked.
    fn persist_bridge_ops(&self, bridge: &str, uplink: Option<&str>) -> RunResult<Vec<Op>> {
        let path = self.rc_conf();
        let rc = crate::rcconf::RcConf::read(&path).map_err(ExecError::from)?;
        let vars = rc.assignments();
        // network.subr get_if_var: `.-/+` in an interface name become `_`.
        let var = |ifname: &str| ifname.replace(['.', '-', '/', '+'], "_");
        let get = |n: String| vars.get(&n).cloned();
        let cloned: Vec<String> = get("cloned_interfaces".into())
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let set = |name: String, value: String| Op::RcConf {
            path: path.clone(),
            edit: RcEdit::Set { name, value },
        };
        let mut ops = Vec::new();
        let made = cloned.iter().any(|c| {
            c == bridge || get(format!("ifconfig_{}_name", var(c))).as_deref() == Some(bridge)
        });
        if !made {
            // The lowest bridgeN rc.conf neither clones nor renames: rc.d/netif creates the
            // cloned interfaces in order, each with the unit its name gives (if_clone.c
            // `ifc_name2unit`), so this unit is free at boot whatever units are taken now.
            let unit = (0u32..)
                .map(|n| format!("bridge{n}"))
                .find(|n| !cloned.contains(n))
                .unwrap_or_else(|| "bridge0".into());
            ops.push(Op::RcConf {
                path: path.clone(),
                edit: RcEdit::ListAdd {
                    name: "cloned_interfaces".into(),
                    item: unit.clone(),
                },
            });
            if unit != bridge {
                ops.push(set(format!("ifconfig_{}_name", var(&unit)), bridge.into()));
            }
        }
        let want = match uplink {
            Some(u) => format!("addm {u} up"),
            None => "up".to_string(),
        };
        match get(format!("ifconfig_{}", var(bridge))) {
            None => ops.push(set(format!("ifconfig_{}", var(bridge)), want)),
            Some(have) => {
                if let Some(u) = uplink {
                    let words: Vec<&str> = have.split_whitespace().collect();
                    if !words.windows(2).any(|w| w == ["addm", u]) {
                        return refused(format!(
                            "rc.conf sets ifconfig_{}=\"{have}\" without `addm {u}`: add the uplink there (or leave out --uplink)",
                            var(bridge)
                        ));
                    }
                }
            }
        }
        if get(format!("ifconfig_{}_descr", var(bridge))).is_none() {
            ops.push(set(
                format!("ifconfig_{}_descr", var(bridge)),
                format!("thinjail: {bridge}"),
            ));
        }
        Ok(ops)
    }

    /// The steps of `template create` from a local `base.txz` (verified against `manifest`):
    /// install the archive into the media directory, make the template and skeleton datasets
    /// (or directories), extract, copy the host's resolv.conf/localtime, split the skeleton,
    /// snapshot `@base` (ZFS).
    pub fn template_create_ops(
        &self,
        t: &Template,
        archive: &Path,
        manifest: Option<&Path>,
    ) -> RunResult<Vec<Op>> {
        let t = &self.resolved_template(t)?;
        let layout = t.layout();
        let sk = t.skeleton();
        let storage = layout.storage();
        if !self.exists(&layout.templates_dir())? {
            return refused(format!(
                "{} does not exist: run host init first",
                layout.templates_dir().display()
            ));
        }
        let exists = match storage {
            Storage::Zfs => self.host.dataset_exists(&t.dataset())?,
            Storage::Directories => self.exists(&t.dir())?,
        };
        if exists {
            return refused(format!(
                "template {} already exists ({})",
                t.release().name(),
                t.dir().display()
            ));
        }
        if !archive.is_file() {
            return refused(format!("archive {} is not a file", archive.display()));
        }
        let mut ops = Vec::new();
        let media = self.real(&t.archive());
        if media.exists() {
            // A cached archive: it is verified again when a MANIFEST is given.
            if let Some(m) = manifest {
                thinjail_release::fetch::use_local(&media, Some(m), "base.txz", &media)?;
            }
        } else {
            ops.push(Op::InstallArchive {
                src: archive.to_path_buf(),
                manifest: manifest.map(Path::to_path_buf),
                dest: media.clone(),
            });
        }
        self.make_fs(&mut ops, storage, &t.dataset(), &t.dir(), None)?;
        self.make_fs(&mut ops, storage, &sk.dataset(), &sk.dir(), None)?;
        ops.push(Op::BuildTemplate {
            archive: media,
            base: self.real(&t.dir()),
            skeleton: self.real(&sk.dir()),
            host_root: self.root.clone(),
        });
        if storage == Storage::Zfs {
            ops.push(Op::Snapshot {
                name: sk.snapshot(),
            });
        }
        Ok(ops)
    }

    fn require_template(&self, t: &Template) -> RunResult<()> {
        let ok = match t.layout().storage() {
            Storage::Zfs => self.host.dataset_exists(&t.skeleton().snapshot())?,
            Storage::Directories => self.exists(&t.skeleton().dir())?,
        };
        if !ok {
            return refused(format!(
                "template {} does not exist: run template create first",
                t.release().name()
            ));
        }
        Ok(())
    }

    /// The steps of `template update`: the skeleton nullfs-mounted at the template's
    /// `skeleton/` (so its `etc`/`var` links resolve), freebsd-update(8) on the template (when
    /// [`Runner::runs_freebsd_update`]), unmount.
    pub fn template_update_ops(&self, t: &Template) -> RunResult<Vec<Op>> {
        let t = &self.resolved_template(t)?;
        self.require_template(t)?;
        let at = t.dir().join("skeleton");
        if self.is_mounted(&at)? {
            return refused(format!("{} is already mounted", at.display()));
        }
        let mut ops = vec![Op::MountNullfs {
            lower: t.skeleton().dir(),
            at: at.clone(),
            readonly: false,
        }];
        if let Some(updater) = &self.updater {
            let workdir = self.real(&t.layout().templates_dir().join(".freebsd-update"));
            let u = thinjail_release::template::FreebsdUpdate::new(
                self.real(&t.dir()),
                workdir,
                t.release().name().parse::<thinjail_release::Release>()?,
            );
            let mut argv = vec![updater.clone()];
            argv.extend(u.args().iter().map(|a| a.to_string_lossy().into_owned()));
            ops.push(Op::HostCommand { argv });
        }
        ops.push(Op::Unmount { at });
        Ok(ops)
    }

    /// The steps of `template destroy` (refused while any jail's clone uses it).
    pub fn template_destroy_ops(&self, t: &Template) -> RunResult<Vec<Op>> {
        let t = &self.resolved_template(t)?;
        self.require_template(t)?;
        let layout = t.layout();
        let sk = t.skeleton();
        let mut ops = Vec::new();
        match layout.storage() {
            Storage::Zfs => {
                let clones = self.host.dataset_clones(&sk.snapshot())?;
                if !clones.is_empty() {
                    return refused(format!(
                        "template {} has clones: {}",
                        t.release().name(),
                        clones.join(", ")
                    ));
                }
                ops.push(self.destroy_dataset_op(layout, &sk.snapshot())?);
                for (ds, dir) in [(sk.dataset(), sk.dir()), (t.dataset(), t.dir())] {
                    ops.push(Op::Unmount { at: dir.clone() });
                    ops.push(Op::RemoveTree {
                        path: self.real(&dir),
                    });
                    ops.push(self.destroy_dataset_op(layout, &ds)?);
                }
            }
            Storage::Directories => {
                let users = self.jails_using(t)?;
                if !users.is_empty() {
                    return refused(format!(
                        "template {} is used by jails: {}",
                        t.release().name(),
                        users.join(", ")
                    ));
                }
                for dir in [sk.dir(), t.dir()] {
                    ops.push(Op::RemoveTree {
                        path: self.real(&dir),
                    });
                }
            }
        }
        Ok(ops)
    }

    fn jails_using(&self, t: &Template) -> RunResult<Vec<String>> {
        let needle = t.dir().display().to_string();
        let mut out = Vec::new();
        for (name, _) in self.conf_files()? {
            let text = std::fs::read_to_string(
                self.real(&PathBuf::from(format!("/etc/jail.conf.d/{name}.conf"))),
            )
            .unwrap_or_default();
            let fstab = std::fs::read_to_string(
                self.real(&t.layout().root().join(format!("{name}-nullfs-base.fstab"))),
            )
            .unwrap_or_default();
            if text.contains(&needle) || fstab.contains(&needle) {
                out.push(name);
            }
        }
        Ok(out)
    }

    /// A `DestroyDataset` step, refused unless the dataset is inside the layout's templates or
    /// containers.
    fn destroy_dataset_op(&self, layout: &HostLayout, name: &str) -> RunResult<Op> {
        if !dataset_in_layout(layout, name) {
            return refused(format!(
                "dataset {name:?} is outside the layout ({} or {}): not destroying it",
                layout.templates_dataset(),
                layout.containers_dataset()
            ));
        }
        Ok(Op::DestroyDataset { name: name.into() })
    }

    /// The steps of `jail create`: clone the skeleton's `@base` (or copy the skeleton), mount
    /// the clone, make the root directory, write the fstab, `/etc/jail.conf` (if absent) and
    /// `/etc/jail.conf.d/<name>.conf`.
    pub fn create_ops(&self, j: &ThinJail) -> RunResult<Vec<Op>> {
        // The record keeps the settings as given; everything else uses the resolved layout.
        let record = j.record();
        let j = &self.resolved_jail(j)?;
        // Values of kernel parameters are checked now (jail.conf gets them too); names are
        // checked by `jail start`, as jail.conf may also carry jail(8)'s own parameters.
        for p in j.params() {
            if crate::jailparams::lookup(&p.name).is_some() {
                check_param(&p.name, p.value.as_deref())?;
            }
        }
        self.require_template(j.template())?;
        if self.exists(&j.conf_path())? || self.exists(&j.root())? {
            return refused(format!("jail {} already exists", j.name()));
        }
        let mut ops = Vec::new();
        match j.clone_dataset() {
            Some(ds) => {
                if self.host.dataset_exists(&ds)? {
                    return refused(format!("dataset {ds} already exists"));
                }
                ops.push(Op::Clone {
                    snapshot: j.skeleton().snapshot(),
                    name: ds.clone(),
                    props: DatasetProps::default(),
                });
                ops.push(Op::MountZfs {
                    dataset: ds,
                    at: Some(j.clone_dir()),
                });
            }
            None => {
                if self.exists(&j.clone_dir())? {
                    return refused(format!("{} already exists", j.clone_dir().display()));
                }
                ops.push(Op::CopyTree {
                    src: self.real(&j.skeleton().dir()),
                    dest: self.real(&j.clone_dir()),
                });
            }
        }
        ops.push(Op::MkdirAll {
            path: j.root(),
            mode: 0o755,
        });
        ops.push(Op::WriteFile {
            path: j.fstab_path(),
            contents: j.fstab().render().into_bytes(),
            mode: 0o644,
        });
        ops.push(Op::MkdirAll {
            path: "/etc/jail.conf.d".into(),
            mode: 0o755,
        });
        if !self.exists(Path::new("/etc/jail.conf"))? {
            ops.push(Op::WriteFile {
                path: "/etc/jail.conf".into(),
                contents: crate::jailconf::render(&j.jail_conf_common()).into_bytes(),
                mode: 0o644,
            });
        }
        ops.push(Op::WriteFile {
            path: j.conf_path(),
            contents: crate::jailconf::render(&j.jail_conf()).into_bytes(),
            mode: 0o644,
        });
        ops.push(Op::MkdirAll {
            path: crate::model::RECORD_DIR.into(),
            mode: 0o755,
        });
        ops.push(Op::WriteFile {
            path: j.record_path(),
            contents: record.into_bytes(),
            mode: 0o644,
        });
        Ok(ops)
    }

    /// The [`JailSpec`] `jail start` creates the jail with: the model's fields, then every
    /// further parameter of the model checked against the FreeBSD 14 table and the kernel's
    /// rules ([`crate::jailparams`]) so that a bad one is refused here, before anything on the
    /// host changes. `allow.*`, `enforce_statfs`, `children.max` and (without VNET) `ip4.addr`
    /// go to their typed fields; the others pass through in order in [`JailSpec::params`].
    /// jail(8)'s own pseudo-parameters (`exec.*`, `mount.*`, `depend`, …) and names the
    /// table does not know are refused.
    pub fn jail_spec(&self, j: &ThinJail) -> RunResult<JailSpec> {
        use freebsd_jail::Value;
        let mut spec = JailSpec {
            name: j.name().into(),
            path: j.root(),
            hostname: Some(j.hostname().into()),
            vnet: j.vnet().is_some(),
            devfs_ruleset: Some(j.devfs().ruleset()),
            enforce_statfs: Some(2),
            allow: vec!["raw_sockets".into()],
            ..Default::default()
        };
        for p in j.params() {
            let shown = match &p.value {
                Some(v) => format!("{}={v}", p.name),
                None => p.name.clone(),
            };
            if crate::jailparams::is_pseudo(&p.name) {
                return refused(format!(
                    "jail parameter {shown}: a jail(8) pseudo-parameter, not applied when \
                     thinjail starts the jail itself (use jail.conf and service jail start)"
                ));
            }
            let (pos, value) = check_param(&p.name, p.value.as_deref())?;
            if spec.vnet && matches!(pos.as_str(), "ip4" | "ip4.addr" | "ip6" | "ip6.addr") {
                return refused(format!(
                    "jail parameter {shown}: VNET jails cannot have IP address restrictions \
                     (the jail's addresses are configured inside its own network stack)"
                ));
            }
            match (pos.as_str(), value) {
                (_, Value::Bool(on)) if pos.starts_with("allow.") => {
                    let a = &pos["allow.".len()..];
                    spec.allow.retain(|x| x != a);
                    if on {
                        spec.allow.push(a.into());
                    }
                }
                ("enforce_statfs", Value::Int(v)) => {
                    spec.enforce_statfs = Some(u32::try_from(v).unwrap_or_default())
                }
                ("children.max", Value::Int(v)) => {
                    spec.children_max = Some(u32::try_from(v).unwrap_or_default())
                }
                ("ip4.addr", Value::Ip4(a)) => spec.ip4 = a,
                _ => spec.params.push((p.name.clone(), p.value.clone())),
            }
        }
        Ok(spec)
    }

    /// The steps of `jail start`: nullfs (template ro at the root, clone rw at `/skeleton`),
    /// devfs with the jail's ruleset (checked to be loaded), the jail (VNET), an epair with a
    /// kernel-chosen unit (optionally renamed), its `a` side described `jail:<name>`, up and in
    /// the bridge, its `b` side in the jail's vnet, `lo0` up, the address, the default route,
    /// the IPv6 address and IPv6 default route when the jail has them (the order of
    /// [`crate::plan::start`]'s script), then `/bin/sh /etc/rc` with the console log. A
    /// link-local IPv6 gateway is refused before anything changes: the executor cannot give it
    /// the interface scope it needs.
    pub fn start_ops(&self, j: &ThinJail) -> RunResult<Vec<Op>> {
        let j = &self.resolved_jail(j)?;
        let name = j.name();
        if let Some(info) = self.host.jail_by_name(name)? {
            return refused(format!("jail {name} is already running (jid {})", info.jid));
        }
        if !self.exists(&j.root())? {
            return refused(format!(
                "jail {name} does not exist ({} missing): run jail create first",
                j.root().display()
            ));
        }
        let sh = j.template().dir().join("bin/sh");
        if !matches!(
            self.host.file_type(&sh)?,
            Some(FileKind::File | FileKind::Symlink)
        ) {
            return refused(format!(
                "{} is missing: the template is not a usable release (exec.start runs \
                 /bin/sh /etc/rc); for simulated runs make one with `thinjail release generate DIR`",
                sh.display()
            ));
        }
        if !self.exists(Path::new("/var/log"))? {
            return refused("/var/log does not exist (for the console log): run host init");
        }
        let spec = self.jail_spec(j)?;
        let mut ops = Vec::new();
        if let Some(ds) = j.clone_dataset()
            && !self.is_mounted(&j.clone_dir())?
        {
            ops.push(Op::MountZfs {
                dataset: ds,
                at: Some(j.clone_dir()),
            });
        }
        for m in j.mounts() {
            if self.is_mounted(&m.target)? {
                return refused(format!(
                    "{} is already mounted: stop the jail first",
                    m.target.display()
                ));
            }
            ops.push(Op::MountNullfs {
                lower: m.source.clone(),
                at: m.target.clone(),
                readonly: m.read_only,
            });
        }
        ops.push(Op::MountDevfs {
            at: j.root().join("dev"),
            ruleset: j.devfs().ruleset(),
        });
        ops.push(Op::CreateJail { spec });
        if let Some(v) = j.vnet() {
            if let Some((_, Some(g6))) = &v.ipv6
                && g6.is_unicast_link_local()
            {
                return refused(format!(
                    "IPv6 gateway {g6} is link-local: it needs an interface scope, which the \
                     executor cannot give it; use the router's global or ULA address"
                ));
            }
            if !self
                .host
                .interfaces(None)?
                .iter()
                .any(|i| i.name == v.bridge && i.kind == IfKind::Bridge)
            {
                return refused(format!(
                    "bridge {} does not exist: run host init (or create it in rc.conf)",
                    v.bridge
                ));
            }
            ops.push(Op::CreateEpair {
                bind: "e".into(),
                description: format!("jail:{name}"),
            });
            if v.epair == crate::model::EpairNaming::Derived {
                let (a, b) = j.derived_epair_names();
                ops.push(Op::RenameIf {
                    iface: IfRef::var("e.a"),
                    to: a,
                });
                ops.push(Op::RenameIf {
                    iface: IfRef::var("e.b"),
                    to: b,
                });
            }
            ops.push(Op::IfUp {
                iface: IfRef::var("e.a"),
            });
            ops.push(Op::BridgeAddm {
                bridge: IfRef::Name(v.bridge.clone()),
                member: IfRef::var("e.a"),
            });
            ops.push(Op::VnetMove {
                iface: IfRef::var("e.b"),
                jail: name.into(),
            });
            ops.push(Op::JailIfUp {
                jail: name.into(),
                iface: IfRef::Name("lo0".into()),
            });
            ops.push(Op::JailAddr {
                jail: name.into(),
                iface: IfRef::var("e.b"),
                addr: IpAddr::V4(v.address.addr()),
                prefix: v.address.prefix_len(),
            });
            ops.push(Op::JailIfUp {
                jail: name.into(),
                iface: IfRef::var("e.b"),
            });
            ops.push(Op::JailDefaultRoute {
                jail: name.into(),
                gateway: IpAddr::V4(v.gateway),
            });
            if let Some((n6, g6)) = &v.ipv6 {
                ops.push(Op::JailAddr {
                    jail: name.into(),
                    iface: IfRef::var("e.b"),
                    addr: IpAddr::V6(n6.addr()),
                    prefix: n6.prefix_len(),
                });
                if let Some(g6) = g6 {
                    ops.push(Op::JailDefaultRoute {
                        jail: name.into(),
                        gateway: IpAddr::V6(*g6),
                    });
                }
            }
        }
        ops.push(Op::JailExec {
            jail: name.into(),
            command: JailCommand {
                argv: vec!["/bin/sh".into(), "/etc/rc".into()],
                env: clean_env(),
                cwd: "/root".into(),
                console_log: Some(console_log(name)),
                timeout: None,
            },
        });
        Ok(ops)
    }

    /// The host side of the jail's epair, found by its description `jail:<name>`.
    pub fn find_epair(&self, name: &str) -> RunResult<Option<String>> {
        let d = format!("jail:{name}");
        Ok(self
            .host
            .interfaces(None)?
            .into_iter()
            .find(|i| i.kind == IfKind::Epair && i.description.as_deref() == Some(d.as_str()))
            .map(|i| i.name))
    }

    /// The steps of `jail stop`: `/bin/sh /etc/rc.shutdown jail` in the jail, the epair (found
    /// by description) taken out of the bridge and destroyed, the jail removed, devfs and the
    /// nullfs mounts unmounted in reverse. Refused when the jail is neither running nor
    /// mounted.
    pub fn stop_ops(&self, j: &ThinJail) -> RunResult<Vec<Op>> {
        let j = &self.resolved_jail(j)?;
        let name = j.name();
        let running = self.host.jail_by_name(name)?.is_some();
        let dev = j.root().join("dev");
        let mounted: Vec<PathBuf> = self
            .host
            .mounts()?
            .into_iter()
            .map(|m| m.at)
            .filter(|at| at.starts_with(j.root()))
            .collect();
        let epair = self.find_epair(name)?;
        if !running && mounted.is_empty() && epair.is_none() {
            return refused(format!("jail {name} is not running"));
        }
        let mut ops = vec![Op::JailStop {
            jail: name.into(),
            command: JailCommand {
                argv: vec!["/bin/sh".into(), "/etc/rc.shutdown".into(), "jail".into()],
                env: clean_env(),
                cwd: "/root".into(),
                console_log: Some(console_log(name)),
                // jail(8)'s exec.timeout (unset by default); stop.timeout is not for
                // exec.stop (see with_exec_timeout).
                timeout: self.exec_timeout,
            },
        }];
        // The epair before the jail (see plan::stop): destroying the host's end takes the
        // pair wherever the other end is (if_epair.c epair_clone_destroy), while after
        // jail_remove(2) the b side comes back only when the dying vnet is destroyed, later
        // (if.c vnet_if_return).
        if let Some(a) = epair {
            if let Some(v) = j.vnet() {
                ops.push(Op::BridgeDeletem {
                    bridge: IfRef::Name(v.bridge.clone()),
                    member: IfRef::Name(a.clone()),
                });
            }
            ops.push(Op::DestroyIf {
                iface: IfRef::Name(a),
            });
        }
        ops.push(Op::RemoveJail { jail: name.into() });
        ops.push(Op::Unmount { at: dev });
        for m in j.mounts().iter().rev() {
            ops.push(Op::Unmount {
                at: m.target.clone(),
            });
        }
        Ok(ops)
    }

    /// The steps of `jail destroy`: the boot-list entry, the jail.conf.d file, the fstab, the
    /// root directory, the clone (unmounted, removed, destroyed) or the skeleton copy. Refused
    /// while the jail runs or anything is mounted under its root.
    pub fn destroy_ops(&self, j: &ThinJail) -> RunResult<Vec<Op>> {
        let j = &self.resolved_jail(j)?;
        let name = j.name();
        if let Some(info) = self.host.jail_by_name(name)? {
            return refused(format!(
                "jail {name} is running (jid {}): stop it first",
                info.jid
            ));
        }
        if self
            .host
            .mounts()?
            .iter()
            .any(|m| m.at.starts_with(j.root()))
        {
            return refused(format!(
                "{} still has mounts: stop the jail first",
                j.root().display()
            ));
        }
        let clone_exists = match j.clone_dataset() {
            Some(ds) => self.host.dataset_exists(&ds)?,
            None => self.exists(&j.clone_dir())?,
        };
        if !clone_exists && !self.exists(&j.conf_path())? && !self.exists(&j.root())? {
            return refused(format!("jail {name} does not exist"));
        }
        let mut ops = vec![
            Op::RcConf {
                path: self.rc_conf(),
                edit: RcEdit::ListRemove {
                    name: "jail_list".into(),
                    item: name.into(),
                },
            },
            Op::RemoveFile {
                path: j.conf_path(),
            },
            Op::RemoveFile {
                path: j.fstab_path(),
            },
            Op::RemoveFile {
                path: j.record_path(),
            },
            Op::RemoveDir { path: j.root() },
        ];
        match j.clone_dataset() {
            Some(ds) => {
                let op = self.destroy_dataset_op(j.layout(), &ds)?;
                ops.push(Op::Unmount { at: j.clone_dir() });
                // The mount point directory (the unmounted clone's files are not in it).
                ops.push(Op::RemoveTree {
                    path: self.real(&j.clone_dir()),
                });
                ops.push(op);
            }
            None => {
                if !j.clone_dir().starts_with(j.layout().containers_dir()) {
                    return refused(format!("{} is outside the layout", j.clone_dir().display()));
                }
                ops.push(Op::RemoveTree {
                    path: self.real(&j.clone_dir()),
                });
            }
        }
        Ok(ops)
    }

    /// The steps of `enable`: `jail_enable`, `jail_parallel_start`, the jail in `jail_list`,
    /// `jail_reverse_stop`.
    pub fn enable_ops(&self, j: &ThinJail) -> Vec<Op> {
        let rc = self.rc_conf();
        let set = |n: &str| Op::RcConf {
            path: rc.clone(),
            edit: RcEdit::Set {
                name: n.into(),
                value: "YES".into(),
            },
        };
        vec![
            Op::MkdirAll {
                path: "/etc".into(),
                mode: 0o755,
            },
            set("jail_enable"),
            set("jail_parallel_start"),
            Op::RcConf {
                path: rc.clone(),
                edit: RcEdit::ListAdd {
                    name: "jail_list".into(),
                    item: j.name().into(),
                },
            },
            set("jail_reverse_stop"),
        ]
    }

    // ---------------------------------------------------------------- execution

    fn jail_locks(j: &ThinJail, template: bool, bridge: bool) -> Vec<Lock> {
        let mut l = vec![Lock::exclusive(LockKey::Jail(j.name().into()))];
        if template {
            l.push(Lock::shared(LockKey::Template(
                j.template().release().name().into(),
            )));
        }
        if bridge && let Some(v) = j.vnet() {
            l.push(Lock::shared(LockKey::Bridge(v.bridge.clone())));
        }
        l
    }

    /// Run `host init` (see [`Runner::host_init_ops`]).
    pub fn host_init(&self, layout: &HostLayout, bridge: Option<&str>) -> RunResult<Context> {
        self.host_init_with(layout, bridge, None)
    }

    /// Run `host init` with an uplink member of the bridge (see
    /// [`Runner::host_init_ops_with`]).
    pub fn host_init_with(
        &self,
        layout: &HostLayout,
        bridge: Option<&str>,
        uplink: Option<&str>,
    ) -> RunResult<Context> {
        self.check_stuck(None)?;
        let mut locks = vec![Lock::exclusive(LockKey::Named("host".into()))];
        if let Some(b) = bridge {
            locks.push(Lock::exclusive(LockKey::Bridge(b.into())));
        }
        locks.push(Lock::exclusive(LockKey::Named("rc.conf".into())));
        let _g = self.lock(&locks)?;
        let ops = self.host_init_ops_with(layout, bridge, uplink)?;
        Ok(self.exec.run("host-init", &[], &ops)?)
    }

    /// Run `template create` (see [`Runner::template_create_ops`]).
    pub fn template_create(
        &self,
        t: &Template,
        archive: &Path,
        manifest: Option<&Path>,
    ) -> RunResult<Context> {
        self.check_stuck(None)?;
        let _g = self.lock(&[Lock::exclusive(LockKey::Template(
            t.release().name().into(),
        ))])?;
        let ops = self.template_create_ops(t, archive, manifest)?;
        Ok(self.exec.run("template-create", &[], &ops)?)
    }

    /// Run `template update` (see [`Runner::template_update_ops`]).
    pub fn template_update(&self, t: &Template) -> RunResult<Context> {
        self.check_stuck(None)?;
        let _g = self.lock(&[Lock::exclusive(LockKey::Template(
            t.release().name().into(),
        ))])?;
        let ops = self.template_update_ops(t)?;
        Ok(self.exec.run("template-update", &[], &ops)?)
    }

    /// Run `template destroy` (see [`Runner::template_destroy_ops`]).
    pub fn template_destroy(&self, t: &Template) -> RunResult<Context> {
        self.check_stuck(None)?;
        let _g = self.lock(&[Lock::exclusive(LockKey::Template(
            t.release().name().into(),
        ))])?;
        let ops = self.template_destroy_ops(t)?;
        Ok(self.exec.run_forward("template-destroy", &[], &ops)?)
    }

    /// Destroy one dataset of the layout (a template's or a jail's), refused for anything
    /// outside `<pool>/jails/templates` and `<pool>/jails/containers` and for a mounted one.
    pub fn destroy_dataset(&self, layout: &HostLayout, name: &str) -> RunResult<Context> {
        let op = self.destroy_dataset_op(layout, name)?;
        let _g = self.lock(&[Lock::exclusive(LockKey::Dataset(name.into()))])?;
        if !self.host.dataset_exists(name)? {
            return refused(format!("dataset {name:?} does not exist"));
        }
        Ok(self.exec.run_forward("dataset-destroy", &[], &[op])?)
    }

    /// Run `jail create` (see [`Runner::create_ops`]).
    pub fn create(&self, j: &ThinJail) -> RunResult<Context> {
        self.check_stuck(Some(j.name()))?;
        let _g = self.lock(&Self::jail_locks(j, true, false))?;
        // The common /etc/jail.conf is written by the first create: serialise those.
        let _conf = if self.exists(Path::new("/etc/jail.conf"))? {
            None
        } else {
            Some(self.lock(&[Lock::exclusive(LockKey::Named("jail.conf".into()))])?)
        };
        let ops = self.create_ops(j)?;
        Ok(self.exec.run(&format!("create-{}", j.name()), &[], &ops)?)
    }

    /// Run `jail start` (see [`Runner::start_ops`]).
    pub fn start(&self, j: &ThinJail) -> RunResult<Context> {
        self.check_stuck(Some(j.name()))?;
        let _g = self.lock(&Self::jail_locks(j, true, true))?;
        let ops = self.start_ops(j)?;
        Ok(self.exec.run(&format!("start-{}", j.name()), &[], &ops)?)
    }

    /// Run `jail stop` (see [`Runner::stop_ops`]).
    pub fn stop(&self, j: &ThinJail) -> RunResult<Context> {
        let _g = self.lock(&Self::jail_locks(j, false, true))?;
        let ops = self.stop_ops(j)?;
        Ok(self
            .exec
            .run_forward(&format!("stop-{}", j.name()), &[], &ops)?)
    }

    /// Run `jail destroy` (see [`Runner::destroy_ops`]).
    pub fn destroy(&self, j: &ThinJail) -> RunResult<Context> {
        self.check_stuck(Some(j.name()))?;
        let _g = self.lock(&Self::jail_locks(j, true, false))?;
        let ops = self.destroy_ops(j)?;
        Ok(self
            .exec
            .run_forward(&format!("destroy-{}", j.name()), &[], &ops)?)
    }

    /// Run `enable` (see [`Runner::enable_ops`]).
    pub fn enable(&self, j: &ThinJail) -> RunResult<Context> {
        self.check_stuck(Some(j.name()))?;
        let _g = self.lock(&[Lock::exclusive(LockKey::Named("rc.conf".into()))])?;
        Ok(self
            .exec
            .run(&format!("enable-{}", j.name()), &[], &self.enable_ops(j))?)
    }

    /// Run a command in a running jail (clean environment, `/root`); returns its exit status.
    pub fn exec(&self, name: &str, argv: &[String]) -> RunResult<i32> {
        let Some(info) = self.host.jail_by_name(name)? else {
            return refused(format!("jail {name} is not running"));
        };
        if argv.is_empty() {
            return refused("no command given");
        }
        let mut argv = argv.to_vec();
        if !argv[0].starts_with('/') {
            // jexec(8) runs through the jail's PATH: the simple case, a program in /bin etc.
            let found = ["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin"]
                .iter()
                .map(|d| Path::new(d).join(&argv[0]))
                .find(|p| {
                    matches!(
                        self.host
                            .file_type(&info.path.join(p.strip_prefix("/").unwrap_or(p))),
                        Ok(Some(FileKind::File | FileKind::Symlink))
                    )
                });
            match found {
                Some(p) => argv[0] = p.display().to_string(),
                None => {
                    return Err(HostError::os_msg(
                        OpKind::JailExec,
                        Object::Jail(name.into()),
                        crate::host::Errno::ENOENT,
                        format!("{}: not found in the jail's PATH", argv[0]),
                    )
                    .into());
                }
            }
        }
        Ok(self.host.jail_exec(
            info.jid,
            &JailCommand {
                argv,
                env: clean_env(),
                cwd: "/root".into(),
                console_log: None,
                timeout: None,
            },
        )?)
    }

    /// Names of jails with a `/etc/jail.conf.d/<name>.conf`.
    fn conf_files(&self) -> RunResult<Vec<(String, PathBuf)>> {
        let dir = self.real(Path::new("/etc/jail.conf.d"));
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for e in rd.flatten() {
                let p = e.path();
                if let Some(n) = p.file_name().and_then(|n| n.to_str())
                    && let Some(name) = n.strip_suffix(".conf")
                {
                    out.push((name.to_string(), p.clone()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every jail created by thinjail (a jail.conf.d file) or running.
    pub fn list(&self) -> RunResult<Vec<JailStatus>> {
        let running = self.host.jails()?;
        let host_ifs = self.host.interfaces(None)?;
        let mut names: Vec<String> = self.conf_files()?.into_iter().map(|(n, _)| n).collect();
        for j in &running {
            if !names.contains(&j.name) {
                names.push(j.name.clone());
            }
        }
        names.sort();
        let mut out = Vec::new();
        for name in names {
            let info = running.iter().find(|j| j.name == name);
            let d = format!("jail:{name}");
            let epair = host_ifs
                .iter()
                .find(|i| i.description.as_deref() == Some(d.as_str()))
                .map(|i| i.name.clone());
            let mut addrs = Vec::new();
            let mut addrs6 = Vec::new();
            if let Some(i) = info
                && i.vnet
            {
                for f in self.host.interfaces(Some(i.jid))? {
                    if f.kind != IfKind::Loopback {
                        addrs.extend(f.addrs);
                        addrs6.extend(
                            f.addrs6
                                .into_iter()
                                .filter(|(a, _)| !a.is_unicast_link_local()),
                        );
                    }
                }
            }
            let path = match info {
                Some(i) => Some(i.path.clone()),
                None => {
                    // The path as jail(8) would use it: the file parsed and resolved, so that
                    // `${name}` and other variables are substituted (jail(8) config.c
                    // `check_intparams`/`expand` on the parsed file).
                    let file = format!("/etc/jail.conf.d/{name}.conf");
                    std::fs::read_to_string(self.real(&PathBuf::from(&file)))
                        .ok()
                        .and_then(|t| crate::jailconf::Config::from_text(&t, &file).ok())
                        .and_then(|c| c.resolve().ok())
                        .and_then(|js| {
                            js.into_iter()
                                .find(|j| j.name == name)
                                .and_then(|j| j.scalar("path").map(PathBuf::from))
                        })
                }
            };
            out.push(JailStatus {
                name,
                jid: info.map(|i| i.jid),
                path,
                epair,
                addrs,
                addrs6,
                params: info.map(|i| i.params.clone()).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// A human-readable summary of the host state relevant to thin jails: jails, interfaces,
    /// mounts (what `thinjail` prints after the main job).
    pub fn describe_state(&self) -> RunResult<String> {
        let mut s = String::new();
        let w = &mut s;
        use std::fmt::Write as _;
        let _ = writeln!(w, "jails:");
        for j in self.host.jails()? {
            let _ = writeln!(
                w,
                "  {:>4} {:<12} {}{}",
                j.jid,
                j.name,
                j.path.display(),
                if j.vnet { " (vnet)" } else { "" }
            );
            if j.vnet {
                for i in self.host.interfaces(Some(j.jid))? {
                    let addrs = i.addresses();
                    let _ = writeln!(
                        w,
                        "       {:<12} {} {}",
                        i.name,
                        if i.up { "UP" } else { "down" },
                        addrs.join(" ")
                    );
                }
            }
        }
        let _ = writeln!(w, "host interfaces:");
        for i in self.host.interfaces(None)? {
            let mut extra = Vec::new();
            if let Some(d) = &i.description {
                extra.push(format!("description {d:?}"));
            }
            if !i.members.is_empty() {
                extra.push(format!("members {}", i.members.join(",")));
            }
            if let Some(b) = &i.member_of {
                extra.push(format!("in {b}"));
            }
            let addrs = i.addresses();
            if !addrs.is_empty() {
                extra.push(addrs.join(" "));
            }
            let _ = writeln!(
                w,
                "  {:<12} {:<8} {:<4} {}",
                i.name,
                format!("{:?}", i.kind).to_lowercase(),
                if i.up { "UP" } else { "down" },
                extra.join("; ")
            );
        }
        let _ = writeln!(w, "mounts:");
        for m in self.host.mounts()? {
            let fs = match m.fstype {
                FsType::Nullfs => "nullfs",
                FsType::Devfs => "devfs",
                FsType::Zfs => "zfs",
            };
            let mut opts = Vec::new();
            if m.readonly {
                opts.push("ro".to_string());
            }
            if let Some(r) = m.ruleset {
                opts.push(format!("ruleset={r}"));
            }
            let _ = writeln!(
                w,
                "  {:<6} {} on {}{}",
                fs,
                m.source,
                m.at.display(),
                if opts.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", opts.join(","))
                }
            );
        }
        Ok(s)
    }
}

/// The real host: `FreeBsdHost` (`host::FreeBsdHost`, FreeBSD only) with libzfs_core on FreeBSD; on
/// any other OS a clear error (never a fake success).
pub fn real_host() -> RunResult<Box<dyn Host>> {
    #[cfg(target_os = "freebsd")]
    {
        // libzfs_core when /dev/zfs opens; otherwise a clear error naming why.
        match crate::host::FreeBsdHost::new() {
            Ok(h) => Ok(Box::new(h)),
            Err(e) => refused(format!("cannot open the FreeBSD host: {e}")),
        }
    }
    #[cfg(not(target_os = "freebsd"))]
    {
        refused(format!(
            "not built for this OS ({}): the real host needs FreeBSD (use a simulated host)",
            std::env::consts::OS
        ))
    }
}

/// Is the effective user root (`geteuid(2)` == 0)?
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() == 0 }
}

/// The gateway as an IPv4 address (for display).
pub fn ipv4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

/// Write a *generated* release-like `base.txz` and its `MANIFEST` into `dir` for simulated
/// runs: thinjail-release's fixture tree (not FreeBSD's userland) plus stand-ins for
/// `/bin/sh`, `/etc/rc` and `/etc/rc.shutdown`, so a simulated jail has the programs its
/// `exec.start`/`exec.stop` name. Returns `(archive, manifest)`.
pub fn generate_release(dir: &Path) -> RunResult<(PathBuf, PathBuf)> {
    use thinjail_release::fixture::{FixtureSpec, write_tar};
    let archive = dir.join("base.txz");
    let io = |source: std::io::Error| thinjail_release::Error::Io {
        op: "write",
        path: archive.clone(),
        source,
    };
    let mut tarball = Vec::new();
    let (entries, _) = write_tar(&FixtureSpec::small(), &mut tarball).map_err(io)?;
    // Drop the end-of-archive blocks, append the stand-ins, end the archive again.
    while tarball.len() >= 512 && tarball[tarball.len() - 512..].iter().all(|b| *b == 0) {
        tarball.truncate(tarball.len() - 512);
    }
    let mut b = tar::Builder::new(tarball);
    let extra: [(&str, u32, &[u8]); 3] = [
        (
            "bin/sh",
            0o555,
            b"#!/bin/sh\n# thinjail generated release: stand-in, not FreeBSD's sh\n",
        ),
        (
            "etc/rc",
            0o644,
            b"# thinjail generated release: stand-in for /etc/rc\n",
        ),
        (
            "etc/rc.shutdown",
            0o644,
            b"# thinjail generated release: stand-in for /etc/rc.shutdown\n",
        ),
    ];
    for (path, mode, data) in extra {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_733_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, format!("./{path}"), data)
            .map_err(io)?;
    }
    let tarball = b.into_inner().map_err(io)?;
    let f = std::fs::File::create(&archive).map_err(io)?;
    let mut enc = liblzma::write::XzEncoder::new(std::io::BufWriter::new(f), 1);
    enc.write_all(&tarball).map_err(io)?;
    enc.finish().map_err(io)?.flush().map_err(io)?;
    let sha256 = thinjail_release::fetch::sha256_file(&archive)?;
    let manifest = dir.join("MANIFEST");
    let m = thinjail_release::manifest::Manifest {
        entries: vec![thinjail_release::manifest::ManifestEntry {
            file: "base.txz".into(),
            sha256,
            entries: entries + extra.len() as u64,
            dist: "base".into(),
            description: "Base system (generated, not FreeBSD)".into(),
            default_on: true,
        }],
    };
    std::fs::write(&manifest, m.render()).map_err(|source| thinjail_release::Error::Io {
        op: "write",
        path: manifest.clone(),
        source,
    })?;
    Ok((archive, manifest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_datasets() {
        let l = HostLayout::recipe();
        assert!(dataset_in_layout(&l, "zdata/jails/containers/dev"));
        assert!(dataset_in_layout(
            &l,
            "zdata/jails/templates/14.2-RELEASE-skeleton@base"
        ));
        assert!(!dataset_in_layout(&l, "zdata/jails/containers"));
        assert!(!dataset_in_layout(&l, "zdata/jails/containers/"));
        assert!(!dataset_in_layout(&l, "zdata/jails/containersX/a"));
        assert!(!dataset_in_layout(&l, "zdata/home"));
        assert!(!dataset_in_layout(&l, "zdata/jails/media/x"));
    }
}
