//! Plans: every operation as an ordered list of typed [`Step`]s, each with its inverse.
//!
//! A plan is data. [`Plan::to_shell`] renders the FreeBSD commands that carry it out, so an
//! administrator can read and audit exactly what will happen; executing plans against a host
//! is a later layer. The rendered script stops at the first failing command and, for plans
//! that build something, undoes the completed steps in reverse order (a `trap` on `EXIT`), so
//! a failed start leaves no epair, mount or jail behind.
//!
//! ```
//! use thinjail_core::model::ThinJail;
//! use thinjail_core::plan;
//! let p = plan::start(&ThinJail::recipe_dev());
//! let sh = p.to_shell();
//! assert!(sh.contains("epair_a=$(ifconfig epair create)"));
//! // the address is configured before /etc/rc runs
//! assert!(sh.find("inet 192.168.7.253/24").unwrap() < sh.find("/etc/rc").unwrap());
//! ```

use crate::jailconf::render;
use crate::model::{
    EpairNaming, NullfsMount, SKELETON_DIRS, SKELETON_LINKS, Storage, Template, ThinJail,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// An interface known by name or held in a shell variable (a kernel-chosen epair name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfRef {
    /// A fixed name.
    Name(String),
    /// The value of a shell variable set by an earlier step.
    Var(String),
}

impl IfRef {
    fn sh(&self) -> String {
        match self {
            IfRef::Name(n) => sh_quote(n),
            IfRef::Var(v) => format!("\"${v}\""),
        }
    }
}

/// One typed action of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `zfs create -p [-o mountpoint=…] dataset`.
    ZfsCreate {
        /// Dataset.
        dataset: String,
        /// Explicit mount point, if any.
        mountpoint: Option<PathBuf>,
    },
    /// `zfs destroy dataset` (a dataset, clone or snapshot).
    ZfsDestroy {
        /// Dataset or snapshot.
        dataset: String,
    },
    /// `zfs snapshot dataset@name`.
    ZfsSnapshot {
        /// `dataset@name`.
        snapshot: String,
    },
    /// `zfs clone snapshot dataset`.
    ZfsClone {
        /// Origin snapshot.
        snapshot: String,
        /// New dataset.
        dataset: String,
    },
    /// `mkdir -p path`.
    Mkdir {
        /// Directory.
        path: PathBuf,
    },
    /// `rmdir path`.
    Rmdir {
        /// Directory.
        path: PathBuf,
    },
    /// Download `url` to `dest` (fetch(1)).
    Fetch {
        /// Source URL.
        url: String,
        /// Destination file.
        dest: PathBuf,
    },
    /// Check `file` against the SHA-256 listed for `entry` in the release's MANIFEST.
    VerifyManifest {
        /// The downloaded archive.
        file: PathBuf,
        /// MANIFEST URL.
        manifest_url: String,
        /// Archive name in the MANIFEST (`base.txz`).
        entry: String,
    },
    /// `tar -xf archive -C dest --unlink`.
    Extract {
        /// Archive.
        archive: PathBuf,
        /// Directory to extract into.
        dest: PathBuf,
    },
    /// `cp -L src dest`.
    CopyFile {
        /// Source.
        src: PathBuf,
        /// Destination.
        dest: PathBuf,
        /// Skip (successfully) when the source does not exist (a host without /etc/localtime).
        if_exists: bool,
    },
    /// `rm -f path`.
    RemoveFile {
        /// File.
        path: PathBuf,
    },
    /// Write a file atomically (temporary file + rename).
    WriteFile {
        /// Destination.
        path: PathBuf,
        /// Contents.
        contents: String,
        /// Leave an existing file alone (and then do not remove it on undo).
        if_absent: bool,
    },
    /// Patch a userland tree: `freebsd-update -b dir --currently-running R fetch install`.
    FreebsdUpdate {
        /// The tree (a template's directory).
        basedir: PathBuf,
        /// The release the tree holds.
        release: String,
    },
    /// Move `rel` from `from` to `to` across datasets, keeping file flags: `var/empty` carries
    /// `schg`, so the source is unflagged before it is removed; the copy keeps the flag.
    MoveTree {
        /// Source root.
        from: PathBuf,
        /// Destination root.
        to: PathBuf,
        /// Relative path moved.
        rel: String,
    },
    /// `ln -s target link` (replacing an empty directory at `link`).
    Symlink {
        /// The link.
        link: PathBuf,
        /// What it points to (relative).
        target: String,
    },
    /// Copy a tree with flags and permissions (`cp -a`), for storage without ZFS clones.
    CopyTree {
        /// Source directory.
        src: PathBuf,
        /// Destination directory.
        dest: PathBuf,
    },
    /// Remove a tree, clearing immutable flags first.
    RemoveTree {
        /// Directory.
        path: PathBuf,
    },
    /// `sysrc -f file name=value`.
    RcSet {
        /// rc.conf file.
        file: PathBuf,
        /// Variable.
        name: String,
        /// Value.
        value: String,
    },
    /// `sysrc -f file -x name`.
    RcUnset {
        /// rc.conf file.
        file: PathBuf,
        /// Variable.
        name: String,
    },
    /// Add `item` to the list `name` unless present (`sysrc name+=item`).
    RcListAdd {
        /// rc.conf file.
        file: PathBuf,
        /// Variable.
        name: String,
        /// Item.
        item: String,
    },
    /// Remove `item` from the list `name` (`sysrc name-=item`).
    RcListRemove {
        /// rc.conf file.
        file: PathBuf,
        /// Variable.
        name: String,
        /// Item.
        item: String,
    },
    /// Fail unless devfs ruleset `ruleset` holds rules (`devfs rule -s N show`).
    CheckDevfsRuleset {
        /// Ruleset number.
        ruleset: u16,
    },
    /// Fail if jail `name` is running.
    CheckJailStopped {
        /// Jail.
        name: String,
    },
    /// `mount -t nullfs -o ro|rw source target`.
    MountNullfs(NullfsMount),
    /// Mount devfs at `path` and apply `ruleset`.
    MountDevfs {
        /// Mount point (`<root>/dev`).
        path: PathBuf,
        /// Ruleset.
        ruleset: u16,
    },
    /// `umount path`.
    Unmount {
        /// Mount point.
        path: PathBuf,
    },
    /// `ifconfig epair create`, capturing the kernel's name in `<var>_a` and `<var>_b`.
    EpairCreate {
        /// Shell variable prefix.
        var: String,
    },
    /// Rename an interface and update the variable holding its name.
    IfRename {
        /// Variable holding the current name.
        var: String,
        /// New name.
        to: String,
    },
    /// Set the variable `<var>_a`/`<var>_b` to the epair whose host side has description `descr`.
    EpairFind {
        /// Shell variable prefix.
        var: String,
        /// Description to look for (`jail:<name>`).
        descr: String,
    },
    /// `ifconfig if up description descr`.
    IfUp {
        /// Interface.
        ifname: IfRef,
        /// Description.
        descr: String,
    },
    /// `ifconfig if destroy` (destroying one end destroys the pair).
    IfDestroy {
        /// Interface.
        ifname: IfRef,
    },
    /// `ifconfig bridge addm member`.
    BridgeAdd {
        /// Bridge.
        bridge: String,
        /// Member.
        member: IfRef,
    },
    /// `ifconfig bridge deletem member`.
    BridgeDelete {
        /// Bridge.
        bridge: String,
        /// Member.
        member: IfRef,
    },
    /// `jail -c name=… param=…` (a persistent jail, no command).
    JailCreate {
        /// Jail name.
        name: String,
        /// `(param, value)`; `None` for a boolean.
        params: Vec<(String, Option<String>)>,
    },
    /// `jail -R name`: remove the jail without running jail.conf's stop commands (the plan
    /// runs its own).
    JailRemove {
        /// Jail.
        name: String,
    },
    /// `ifconfig if vnet jail`: move an interface into the jail.
    VnetMove {
        /// Interface.
        ifname: IfRef,
        /// Jail.
        jail: String,
    },
    /// `ifconfig if -vnet jail`: take it back.
    VnetReclaim {
        /// Interface.
        ifname: IfRef,
        /// Jail.
        jail: String,
    },
    /// `jexec [-l] jail argv…`.
    JailExec {
        /// Jail.
        jail: String,
        /// Command; arguments starting with `$` followed by a name are shell variables.
        argv: Vec<String>,
        /// Clean environment (`exec.clean`, `jexec -l`).
        clean: bool,
        /// Append output to this log (`exec.consolelog`).
        log: Option<PathBuf>,
        /// Carry on if the command fails.
        allow_fail: bool,
    },
}

/// What undoes a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inverse {
    /// This step undoes it.
    Step(Box<Step>),
    /// Nothing to undo, with the reason (read-only, or undone by another step's inverse).
    Nothing(&'static str),
}

/// Quotes a word for sh(1): bare when it only has safe characters, else single-quoted.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn q(p: &Path) -> String {
    sh_quote(&p.to_string_lossy())
}

fn arg(a: &str) -> String {
    match a.strip_prefix('$') {
        Some(v) if !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            format!("\"{a}\"")
        }
        _ => sh_quote(a),
    }
}

impl Step {
    /// The step that undoes this one.
    pub fn inverse(&self) -> Inverse {
        use Step::*;
        let s = |st: Step| Inverse::Step(Box::new(st));
        match self {
            ZfsCreate { dataset, .. } => s(ZfsDestroy {
                dataset: dataset.clone(),
            }),
            ZfsDestroy { .. } => Inverse::Nothing("destroying a dataset cannot be undone"),
            ZfsSnapshot { snapshot } => s(ZfsDestroy {
                dataset: snapshot.clone(),
            }),
            ZfsClone { dataset, .. } => s(ZfsDestroy {
                dataset: dataset.clone(),
            }),
            Mkdir { path } => s(Rmdir { path: path.clone() }),
            Rmdir { path } => s(Mkdir { path: path.clone() }),
            Fetch { dest, .. } => s(RemoveFile { path: dest.clone() }),
            VerifyManifest { .. } => Inverse::Nothing("read-only check"),
            Extract { .. } => Inverse::Nothing("undone by destroying the dataset it extracts into"),
            CopyFile { dest, .. } => s(RemoveFile { path: dest.clone() }),
            RemoveFile { .. } => Inverse::Nothing("removing a file cannot be undone"),
            WriteFile { path, .. } => s(RemoveFile { path: path.clone() }),
            FreebsdUpdate { .. } => Inverse::Nothing(
                "undone by destroying the template, or freebsd-update -b DIR rollback",
            ),
            MoveTree { from, to, rel } => s(MoveTree {
                from: to.clone(),
                to: from.clone(),
                rel: rel.clone(),
            }),
            Symlink { link, .. } => s(RemoveFile { path: link.clone() }),
            CopyTree { dest, .. } => s(RemoveTree { path: dest.clone() }),
            RemoveTree { .. } => Inverse::Nothing("removing a tree cannot be undone"),
            RcSet { file, name, .. } => s(RcUnset {
                file: file.clone(),
                name: name.clone(),
            }),
            RcUnset { .. } => Inverse::Nothing("the previous value is not known to the plan"),
            RcListAdd { file, name, item } => s(RcListRemove {
                file: file.clone(),
                name: name.clone(),
                item: item.clone(),
            }),
            RcListRemove { file, name, item } => s(RcListAdd {
                file: file.clone(),
                name: name.clone(),
                item: item.clone(),
            }),
            CheckDevfsRuleset { .. } | CheckJailStopped { .. } | EpairFind { .. } => {
                Inverse::Nothing("read-only check")
            }
            MountNullfs(m) => s(Unmount {
                path: m.target.clone(),
            }),
            MountDevfs { path, .. } => s(Unmount { path: path.clone() }),
            Unmount { .. } => Inverse::Nothing("mount options are not known to the plan"),
            EpairCreate { var } => s(IfDestroy {
                ifname: IfRef::Var(format!("{var}_a")),
            }),
            IfRename { .. } => Inverse::Nothing(
                "the variable follows the new name, so destroying the epair through it undoes this",
            ),
            IfUp { .. } => Inverse::Nothing("undone by destroying the interface"),
            IfDestroy { .. } => {
                Inverse::Nothing("a destroyed interface is made again by the start plan")
            }
            BridgeAdd { bridge, member } => s(BridgeDelete {
                bridge: bridge.clone(),
                member: member.clone(),
            }),
            BridgeDelete { bridge, member } => s(BridgeAdd {
                bridge: bridge.clone(),
                member: member.clone(),
            }),
            JailCreate { name, .. } => s(JailRemove { name: name.clone() }),
            JailRemove { .. } => Inverse::Nothing("a removed jail is made again by the start plan"),
            VnetMove { ifname, jail } => s(VnetReclaim {
                ifname: ifname.clone(),
                jail: jail.clone(),
            }),
            VnetReclaim { ifname, jail } => s(VnetMove {
                ifname: ifname.clone(),
                jail: jail.clone(),
            }),
            JailExec { .. } => Inverse::Nothing("undone by removing the jail"),
        }
    }

    /// A one-line description.
    pub fn describe(&self) -> String {
        use Step::*;
        match self {
            ZfsCreate { dataset, .. } => format!("create dataset {dataset}"),
            ZfsDestroy { dataset } => format!("destroy {dataset}"),
            ZfsSnapshot { snapshot } => format!("snapshot {snapshot}"),
            ZfsClone { snapshot, dataset } => format!("clone {snapshot} to {dataset}"),
            Mkdir { path } => format!("make directory {}", path.display()),
            Rmdir { path } => format!("remove directory {}", path.display()),
            Fetch { url, dest } => format!("download {url} to {}", dest.display()),
            VerifyManifest { file, entry, .. } => {
                format!("verify {} against MANIFEST entry {entry}", file.display())
            }
            Extract { archive, dest } => {
                format!("extract {} into {}", archive.display(), dest.display())
            }
            CopyFile { src, dest, .. } => format!("copy {} to {}", src.display(), dest.display()),
            RemoveFile { path } => format!("remove {}", path.display()),
            WriteFile { path, .. } => format!("write {}", path.display()),
            FreebsdUpdate { basedir, .. } => {
                format!("patch {} with freebsd-update", basedir.display())
            }
            MoveTree { from, to, rel } => format!(
                "move {rel} from {} to {} (keeping file flags)",
                from.display(),
                to.display()
            ),
            Symlink { link, target } => format!("link {} -> {target}", link.display()),
            CopyTree { src, dest } => format!("copy tree {} to {}", src.display(), dest.display()),
            RemoveTree { path } => format!("remove tree {}", path.display()),
            RcSet { name, value, .. } => format!("rc.conf: {name}=\"{value}\""),
            RcUnset { name, .. } => format!("rc.conf: remove {name}"),
            RcListAdd { name, item, .. } => format!("rc.conf: add {item} to {name}"),
            RcListRemove { name, item, .. } => format!("rc.conf: remove {item} from {name}"),
            CheckDevfsRuleset { ruleset } => format!("check devfs ruleset {ruleset} is loaded"),
            CheckJailStopped { name } => format!("check jail {name} is not running"),
            MountNullfs(m) => format!(
                "nullfs-mount {} on {} ({})",
                m.source.display(),
                m.target.display(),
                if m.read_only { "ro" } else { "rw" }
            ),
            MountDevfs { path, ruleset } => {
                format!("mount devfs on {} with ruleset {ruleset}", path.display())
            }
            Unmount { path } => format!("unmount {}", path.display()),
            EpairCreate { .. } => "create an epair (the kernel picks the unit)".into(),
            IfRename { to, .. } => format!("rename interface to {to}"),
            EpairFind { descr, .. } => format!("find the epair described {descr}"),
            IfUp { descr, .. } => format!("bring the host end up, described {descr}"),
            IfDestroy { .. } => "destroy the epair".into(),
            BridgeAdd { bridge, .. } => format!("add the host end to {bridge}"),
            BridgeDelete { bridge, .. } => format!("remove the host end from {bridge}"),
            JailCreate { name, .. } => format!("create jail {name}"),
            JailRemove { name } => format!("remove jail {name}"),
            VnetMove { jail, .. } => format!("move the jail end into {jail}"),
            VnetReclaim { jail, .. } => format!("take the jail end back from {jail}"),
            JailExec { jail, argv, .. } => format!("run {} in {jail}", argv.join(" ")),
        }
    }

    /// The sh(1) commands, one per line.
    pub fn shell(&self) -> Vec<String> {
        use Step::*;
        match self {
            ZfsCreate {
                dataset,
                mountpoint,
            } => vec![match mountpoint {
                Some(m) => format!("zfs create -p -o mountpoint={} {}", q(m), sh_quote(dataset)),
                None => format!("zfs create -p {}", sh_quote(dataset)),
            }],
            ZfsDestroy { dataset } => vec![format!("zfs destroy {}", sh_quote(dataset))],
            ZfsSnapshot { snapshot } => vec![format!("zfs snapshot {}", sh_quote(snapshot))],
            ZfsClone { snapshot, dataset } => vec![format!(
                "zfs clone {} {}",
                sh_quote(snapshot),
                sh_quote(dataset)
            )],
            Mkdir { path } => vec![format!("mkdir -p {}", q(path))],
            Rmdir { path } => vec![format!("rmdir {}", q(path))],
            Fetch { url, dest } => vec![format!("fetch -o {} {}", q(dest), sh_quote(url))],
            VerifyManifest {
                file,
                manifest_url,
                entry,
            } => vec![
                format!(
                    "want=$(fetch -o - {} | awk -v f={} '$1 == f {{ print $2 }}')",
                    sh_quote(manifest_url),
                    sh_quote(entry)
                ),
                format!(
                    "[ -n \"$want\" ] && [ \"$(sha256 -q {})\" = \"$want\" ] || {{ echo {} >&2; exit 1; }}",
                    q(file),
                    sh_quote(&format!(
                        "{}: SHA-256 does not match the release MANIFEST",
                        file.display()
                    ))
                ),
            ],
            Extract { archive, dest } => {
                vec![format!("tar -xf {} -C {} --unlink", q(archive), q(dest))]
            }
            CopyFile {
                src,
                dest,
                if_exists,
            } => vec![if *if_exists {
                format!("if [ -e {s} ]; then cp -L {s} {}; fi", q(dest), s = q(src))
            } else {
                format!("cp -L {} {}", q(src), q(dest))
            }],
            RemoveFile { path } => vec![format!("rm -f {}", q(path))],
            WriteFile {
                path,
                contents,
                if_absent,
            } => {
                let mut delim = String::from("THINJAIL_EOF");
                while contents.lines().any(|l| l == delim) {
                    delim.push('_');
                }
                let tmp = format!("{}.thinjail-tmp", path.display());
                let mut v = Vec::new();
                if *if_absent {
                    v.push(format!("if [ ! -e {} ]; then", q(path)));
                }
                v.push(format!("cat > {} <<'{delim}'", sh_quote(&tmp)));
                for l in contents.lines() {
                    v.push(l.to_string());
                }
                v.push(delim);
                v.push(format!("mv -f {} {}", sh_quote(&tmp), q(path)));
                if *if_absent {
                    v.push(format!(
                        "_push_undo {}",
                        sh_quote(&format!("rm -f {}", q(path)))
                    ));
                    v.push("fi".into());
                }
                v
            }
            FreebsdUpdate { basedir, release } => {
                let common = format!(
                    "PAGER=cat freebsd-update -b {} -d {} --currently-running {} --not-running-from-cron",
                    q(basedir),
                    q(&basedir.join("var/db/freebsd-update")),
                    sh_quote(release)
                );
                vec![
                    format!("{common} fetch"),
                    "# install exits 2 when there is nothing to install".into(),
                    format!("{common} install || [ $? -eq 2 ]"),
                ]
            }
            MoveTree { from, to, rel } => {
                // cp -a (-RpP) keeps file flags, so var/empty keeps schg in the copy; the
                // source is unflagged only after the copy succeeded, then removed.
                let parent = Path::new(rel)
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map(|p| to.join(p))
                    .unwrap_or_else(|| to.clone());
                vec![
                    format!("mkdir -p {}", q(&parent)),
                    format!("cp -a {} {}/", q(&from.join(rel)), q(&parent)),
                    format!("chflags -R noschg {}", q(&from.join(rel))),
                    format!("rm -rf {}", q(&from.join(rel))),
                ]
            }
            Symlink { link, target } => vec![
                format!(
                    "if [ -d {l} ] && [ ! -L {l} ]; then rmdir {l}; fi",
                    l = q(link)
                ),
                format!("ln -s {} {}", sh_quote(target), q(link)),
            ],
            CopyTree { src, dest } => vec![
                format!("mkdir -p {}", q(dest)),
                format!("cp -a {}/. {}/", q(src), q(dest)),
            ],
            RemoveTree { path } => vec![
                format!("chflags -R noschg {}", q(path)),
                format!("rm -rf {}", q(path)),
            ],
            RcSet { file, name, value } => vec![format!(
                "sysrc -f {} {}",
                q(file),
                sh_quote(&format!("{name}={value}"))
            )],
            RcUnset { file, name } => vec![format!("sysrc -f {} -x {}", q(file), sh_quote(name))],
            RcListAdd { file, name, item } => vec![format!(
                "case \" $(sysrc -f {f} -n {n} 2>/dev/null) \" in *\" {i} \"*) ;; *) sysrc -f {f} {a} ;; esac",
                f = q(file),
                n = sh_quote(name),
                i = item,
                a = sh_quote(&format!("{name}+={item}"))
            )],
            RcListRemove { file, name, item } => vec![format!(
                "sysrc -f {} {}",
                q(file),
                sh_quote(&format!("{name}-={item}"))
            )],
            // A ruleset that exists may be empty (devfs_rule.c devfs_ruleset_use creates it
            // when a mount names it): loaded means it shows a rule.
            CheckDevfsRuleset { ruleset } => vec![format!(
                "devfs rule -s {ruleset} show | grep -q . || {{ echo 'devfs ruleset {ruleset} has no rules (see devfs.rules(5)); refusing to expose all of /dev' >&2; exit 1; }}"
            )],
            CheckJailStopped { name } => vec![format!(
                "if jls -j {n} >/dev/null 2>&1; then echo 'jail {n} is running; stop it first' >&2; exit 1; fi",
                n = sh_quote(name)
            )],
            MountNullfs(m) => vec![format!(
                "mount -t nullfs -o {} {} {}",
                if m.read_only { "ro" } else { "rw" },
                q(&m.source),
                q(&m.target)
            )],
            // The ruleset applied by the mount itself, as jail(8) mounts mount.devfs
            // (command.c: `mount -t devfs -oruleset=N . PATH`): no window with all of /dev.
            // Then what /dev shows is checked; a mount showing mem, kmem or io is undone here
            // (the step's own undo is pushed only after it succeeds).
            MountDevfs { path, ruleset } => vec![
                format!("mount -t devfs -o ruleset={ruleset} devfs {}", q(path)),
                format!(
                    "for d in mem kmem io; do if [ -e {p}/\"$d\" ]; then umount {p}; echo \"devfs ruleset {ruleset} leaves {p}/$d visible; refusing\" >&2; exit 1; fi; done",
                    p = q(path)
                ),
            ],
            Unmount { path } => vec![format!("umount {}", q(path))],
            EpairCreate { var } => vec![
                format!("{var}_a=$(ifconfig epair create)"),
                format!("{var}_b=\"${{{var}_a%a}}b\""),
            ],
            IfRename { var, to } => vec![
                format!("ifconfig \"${var}\" name {} >/dev/null", sh_quote(to)),
                format!("{var}={}", sh_quote(to)),
            ],
            EpairFind { var, descr } => vec![
                format!("{var}_a=\"\""),
                "for _if in $(ifconfig -l); do".into(),
                format!(
                    "  if ifconfig \"$_if\" 2>/dev/null | grep -qx {}; then {var}_a=$_if; fi",
                    sh_quote(&format!("[[:space:]]*description: {descr}"))
                ),
                "done".into(),
                format!("{var}_b=\"${{{var}_a%a}}b\""),
                format!(
                    "[ -n \"${var}_a\" ] || echo {} >&2",
                    sh_quote(&format!("no epair described {descr}; nothing to detach"))
                ),
            ],
            IfUp { ifname, descr } => vec![format!(
                "ifconfig {} up description {}",
                ifname.sh(),
                sh_quote(descr)
            )],
            IfDestroy { ifname } => vec![format!(
                "if [ -n {i} ]; then ifconfig {i} destroy; fi",
                i = ifname.sh()
            )],
            BridgeAdd { bridge, member } => vec![format!(
                "ifconfig {} addm {}",
                sh_quote(bridge),
                member.sh()
            )],
            BridgeDelete { bridge, member } => vec![format!(
                "if [ -n {m} ]; then ifconfig {} deletem {m}; fi",
                sh_quote(bridge),
                m = member.sh()
            )],
            JailCreate { name, params } => {
                let mut s = format!("jail -c {}", sh_quote(&format!("name={name}")));
                for (k, v) in params {
                    s.push(' ');
                    match v {
                        Some(v) => s.push_str(&sh_quote(&format!("{k}={v}"))),
                        None => s.push_str(&sh_quote(k)),
                    }
                }
                vec![s]
            }
            JailRemove { name } => vec![format!("jail -R {}", sh_quote(name))],
            VnetMove { ifname, jail } => {
                vec![format!("ifconfig {} vnet {}", ifname.sh(), sh_quote(jail))]
            }
            VnetReclaim { ifname, jail } => {
                vec![format!("ifconfig {} -vnet {}", ifname.sh(), sh_quote(jail))]
            }
            JailExec {
                jail,
                argv,
                clean,
                log,
                allow_fail,
            } => {
                let mut s = String::from("jexec ");
                if *clean {
                    s.push_str("-l ");
                }
                s.push_str(&sh_quote(jail));
                for a in argv {
                    s.push(' ');
                    s.push_str(&arg(a));
                }
                if let Some(l) = log {
                    let _ = write!(s, " >> {} 2>&1", q(l));
                }
                if *allow_fail {
                    s.push_str(" || true");
                }
                vec![s]
            }
        }
    }

    fn pushes_own_undo(&self) -> bool {
        matches!(
            self,
            Step::WriteFile {
                if_absent: true,
                ..
            }
        )
    }
}

/// An operation as ordered steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What the plan does, e.g. `start jail dev`.
    pub title: String,
    /// The steps in order.
    pub steps: Vec<Step>,
    /// On failure, undo completed steps in reverse (plans that build something); teardown
    /// plans stop at the failure instead.
    pub rollback: bool,
}

const PRELUDE: &str = r#"set -eu
_undo=""
_push_undo() { _undo="$1
$_undo"; }
_rollback() {
  _rc=$?
  trap - EXIT
  if [ "$_rc" -ne 0 ] && [ -n "$_undo" ]; then
    echo "thinjail: failed (exit $_rc); undoing completed steps" >&2
    printf '%s\n' "$_undo" | while IFS= read -r _cmd; do
      [ -n "$_cmd" ] || continue
      eval "$_cmd" || echo "thinjail: undo failed: $_cmd" >&2
    done
  fi
  exit "$_rc"
}
trap _rollback EXIT
trap 'exit 130' INT TERM
"#;

impl Plan {
    /// An empty plan.
    pub fn new(title: impl Into<String>, rollback: bool) -> Self {
        Plan {
            title: title.into(),
            steps: Vec::new(),
            rollback,
        }
    }

    /// This plan followed by `other` (one script; a failure in `other` also undoes this one).
    pub fn then(mut self, other: Plan) -> Plan {
        self.title = format!("{}, then {}", self.title, other.title);
        self.rollback &= other.rollback;
        self.steps.extend(other.steps);
        self
    }

    /// The inverse plan: each step's inverse, in reverse order (steps with nothing to undo are
    /// left out).
    pub fn inverse(&self) -> Plan {
        Plan {
            title: format!("undo: {}", self.title),
            steps: self
                .steps
                .iter()
                .rev()
                .filter_map(|s| match s.inverse() {
                    Inverse::Step(st) => Some(*st),
                    Inverse::Nothing(_) => None,
                })
                .collect(),
            rollback: false,
        }
    }

    /// The plan as a sh(1) script: each step numbered and described, its commands, and (for
    /// plans with rollback) the registration of its inverse for the `EXIT` trap.
    pub fn to_shell(&self) -> String {
        let mut out = String::from("#!/bin/sh\n");
        let _ = writeln!(out, "# thinjail plan: {}", self.title.replace('\n', " "));
        if self.rollback {
            out.push_str("# On failure the completed steps are undone in reverse order.\n");
            out.push_str(PRELUDE);
        } else {
            out.push_str("# Stops at the first failure.\nset -eu\n_push_undo() { :; }\n");
        }
        for (i, st) in self.steps.iter().enumerate() {
            let _ = writeln!(out, "\n# {}. {}", i + 1, st.describe());
            for l in st.shell() {
                out.push_str(&l);
                out.push('\n');
            }
            if self.rollback
                && !st.pushes_own_undo()
                && let Inverse::Step(inv) = st.inverse()
            {
                let line = inv.shell().join("; ");
                let _ = writeln!(out, "_push_undo {}", sh_quote(&line));
            }
        }
        if self.rollback {
            out.push_str("\ntrap - EXIT\n");
        }
        let _ = writeln!(
            out,
            "echo {}",
            sh_quote(&format!("thinjail: done: {}", self.title))
        );
        out
    }
}

fn rc() -> PathBuf {
    PathBuf::from("/etc/rc.conf")
}

fn mk(layout_storage: Storage, dataset: String, dir: PathBuf) -> Step {
    match layout_storage {
        Storage::Zfs => Step::ZfsCreate {
            dataset,
            mountpoint: None,
        },
        Storage::Directories => Step::Mkdir { path: dir },
    }
}

/// Host initialization: the dataset tree (RECIPE.md §2) and `jail_enable`/`jail_parallel_start`.
pub fn host_init(layout: &crate::model::HostLayout) -> Plan {
    let mut p = Plan::new("initialize the host", true);
    match layout.storage() {
        Storage::Zfs => p.steps.push(Step::ZfsCreate {
            dataset: layout.jails_dataset(),
            mountpoint: Some(layout.root().to_path_buf()),
        }),
        Storage::Directories => p.steps.push(Step::Mkdir {
            path: layout.root().to_path_buf(),
        }),
    }
    p.steps.push(mk(
        layout.storage(),
        layout.media_dataset(),
        layout.media_dir(),
    ));
    p.steps.push(mk(
        layout.storage(),
        layout.templates_dataset(),
        layout.templates_dir(),
    ));
    p.steps.push(mk(
        layout.storage(),
        layout.containers_dataset(),
        layout.containers_dir(),
    ));
    for (n, v) in [("jail_enable", "YES"), ("jail_parallel_start", "YES")] {
        p.steps.push(Step::RcSet {
            file: rc(),
            name: n.into(),
            value: v.into(),
        });
    }
    p
}

/// Template creation: download, verify and extract the release, copy resolv.conf and
/// localtime, patch it with freebsd-update (on the template's own path), split the skeleton
/// (moving `var` with its `schg` flags intact), link the template into `skeleton/`, snapshot
/// `@base`.
pub fn template_create(t: &Template) -> Plan {
    let layout = t.layout();
    let storage = layout.storage();
    let base = t.dir();
    let sk = t.skeleton();
    let skel = sk.dir();
    let rel = t.release();
    let mut p = Plan::new(format!("create template {}", rel.name()), true);
    p.steps.push(mk(storage, t.dataset(), base.clone()));
    p.steps.push(Step::Fetch {
        url: rel.base_url(),
        dest: t.archive(),
    });
    p.steps.push(Step::VerifyManifest {
        file: t.archive(),
        manifest_url: rel.manifest_url(),
        entry: "base.txz".into(),
    });
    p.steps.push(Step::Extract {
        archive: t.archive(),
        dest: base.clone(),
    });
    for f in ["etc/resolv.conf", "etc/localtime"] {
        p.steps.push(Step::CopyFile {
            src: Path::new("/").join(f),
            dest: base.join(f),
            if_exists: f == "etc/localtime",
        });
    }
    p.steps.push(Step::FreebsdUpdate {
        basedir: base.clone(),
        release: rel.name().to_string(),
    });
    p.steps.push(mk(storage, sk.dataset(), skel.clone()));
    for d in ["home", "usr"] {
        p.steps.push(Step::Mkdir { path: skel.join(d) });
    }
    for d in SKELETON_DIRS {
        p.steps.push(Step::MoveTree {
            from: base.clone(),
            to: skel.clone(),
            rel: (*d).to_string(),
        });
    }
    p.steps.push(Step::Mkdir {
        path: base.join("skeleton"),
    });
    for (link, target) in SKELETON_LINKS {
        p.steps.push(Step::Symlink {
            link: base.join(link),
            target: (*target).to_string(),
        });
    }
    if storage == Storage::Zfs {
        p.steps.push(Step::ZfsSnapshot {
            snapshot: sk.snapshot(),
        });
    }
    p
}

/// Template update: patch the shared template in place (every thin jail sees it at once). The
/// skeleton is nullfs-mounted at the template's `skeleton/` for the run so the `etc`/`var`
/// links resolve; jails' own clones keep their `/etc` (update those with etcupdate(8)).
pub fn template_update(t: &Template) -> Plan {
    let base = t.dir();
    let mount = NullfsMount {
        source: t.skeleton().dir(),
        target: base.join("skeleton"),
        read_only: false,
    };
    let mut p = Plan::new(format!("update template {}", t.release().name()), true);
    p.steps.push(Step::MountNullfs(mount.clone()));
    p.steps.push(Step::FreebsdUpdate {
        basedir: base,
        release: t.release().name().to_string(),
    });
    p.steps.push(Step::Unmount { path: mount.target });
    p
}

/// Jail creation: clone (or copy) the skeleton, make the root directory, write the fstab, the
/// common `/etc/jail.conf` (if absent) and `/etc/jail.conf.d/<name>.conf`.
pub fn create(j: &ThinJail) -> Plan {
    let mut p = Plan::new(format!("create jail {}", j.name()), true);
    let sk = j.skeleton();
    match j.clone_dataset() {
        Some(ds) => p.steps.push(Step::ZfsClone {
            snapshot: sk.snapshot(),
            dataset: ds,
        }),
        None => p.steps.push(Step::CopyTree {
            src: sk.dir(),
            dest: j.clone_dir(),
        }),
    }
    p.steps.push(Step::Mkdir { path: j.root() });
    p.steps.push(Step::WriteFile {
        path: j.fstab_path(),
        contents: j.fstab().render(),
        if_absent: false,
    });
    p.steps.push(Step::WriteFile {
        path: PathBuf::from("/etc/jail.conf"),
        contents: render(&j.jail_conf_common()),
        if_absent: true,
    });
    p.steps.push(Step::Mkdir {
        path: PathBuf::from("/etc/jail.conf.d"),
    });
    p.steps.push(Step::WriteFile {
        path: j.conf_path(),
        contents: render(&j.jail_conf()),
        if_absent: false,
    });
    p
}

/// Jail start, as explicit commands: devfs ruleset checked, nullfs and devfs mounted, an epair
/// made (kernel-chosen unit, captured in `$epair_a`/`$epair_b`), the jail created, its end moved
/// in, address and default route set, and only then `/bin/sh /etc/rc`. Any failure undoes it
/// all, epair included.
pub fn start(j: &ThinJail) -> Plan {
    let name = j.name().to_string();
    let mut p = Plan::new(format!("start jail {name}"), true);
    let rs = j.devfs().ruleset();
    p.steps.push(Step::CheckDevfsRuleset { ruleset: rs });
    for m in j.mounts() {
        p.steps.push(Step::MountNullfs(m));
    }
    p.steps.push(Step::MountDevfs {
        path: j.root().join("dev"),
        ruleset: rs,
    });
    let mut params = vec![
        (
            "path".to_string(),
            Some(j.root().to_string_lossy().to_string()),
        ),
        ("host.hostname".to_string(), Some(j.hostname().to_string())),
        ("devfs_ruleset".to_string(), Some(rs.to_string())),
        ("allow.raw_sockets".to_string(), None),
        ("persist".to_string(), None),
    ];
    params.extend(j.params().iter().map(|p| (p.name.clone(), p.value.clone())));
    if let Some(v) = j.vnet() {
        params.push(("vnet".into(), None));
        p.steps.push(Step::EpairCreate {
            var: "epair".into(),
        });
        if v.epair == EpairNaming::Derived {
            let (a, b) = j.derived_epair_names();
            p.steps.push(Step::IfRename {
                var: "epair_a".into(),
                to: a,
            });
            p.steps.push(Step::IfRename {
                var: "epair_b".into(),
                to: b,
            });
        }
        p.steps.push(Step::IfUp {
            ifname: IfRef::Var("epair_a".into()),
            descr: format!("jail:{name}"),
        });
        p.steps.push(Step::BridgeAdd {
            bridge: v.bridge.clone(),
            member: IfRef::Var("epair_a".into()),
        });
        p.steps.push(Step::JailCreate {
            name: name.clone(),
            params,
        });
        p.steps.push(Step::VnetMove {
            ifname: IfRef::Var("epair_b".into()),
            jail: name.clone(),
        });
        let ex = |argv: Vec<String>| Step::JailExec {
            jail: name.clone(),
            argv,
            clean: false,
            log: None,
            allow_fail: false,
        };
        let s = |x: &str| x.to_string();
        p.steps.push(ex(vec![s("ifconfig"), s("lo0"), s("up")]));
        p.steps.push(ex(vec![
            s("ifconfig"),
            s("$epair_b"),
            s("inet"),
            v.address.to_string(),
            s("up"),
        ]));
        p.steps.push(ex(vec![
            s("route"),
            s("add"),
            s("default"),
            v.gateway.to_string(),
        ]));
        if let Some((n6, g6)) = &v.ipv6 {
            p.steps.push(ex(vec![
                s("ifconfig"),
                s("$epair_b"),
                s("inet6"),
                n6.to_string(),
                s("up"),
            ]));
            if let Some(g) = g6 {
                p.steps.push(ex(vec![
                    s("route"),
                    s("-6"),
                    s("add"),
                    s("default"),
                    g.to_string(),
                ]));
            }
        }
    } else {
        p.steps.push(Step::JailCreate {
            name: name.clone(),
            params,
        });
    }
    p.steps.push(Step::JailExec {
        jail: name.clone(),
        argv: vec!["/bin/sh".into(), "/etc/rc".into()],
        clean: true,
        log: Some(PathBuf::from(format!("/var/log/jail_console_{name}.log"))),
        allow_fail: false,
    });
    p
}

/// Jail stop: `/etc/rc.shutdown` in the jail, its epair found by description (or derived name),
/// detached from the bridge and destroyed, the jail removed, devfs and nullfs unmounted.
///
/// The epair goes before the jail: destroying the host's end destroys the pair wherever the
/// other end is (if_epair.c `epair_clone_destroy` enters the b side's vnet), whereas after
/// jail_remove(2) the b side returns to the host only when the dying jail's vnet is destroyed,
/// asynchronously (vnet.c `vnet_destroy` → if.c `vnet_if_return`).
pub fn stop(j: &ThinJail) -> Plan {
    let name = j.name().to_string();
    let mut p = Plan::new(format!("stop jail {name}"), false);
    p.steps.push(Step::JailExec {
        jail: name.clone(),
        argv: vec!["/bin/sh".into(), "/etc/rc.shutdown".into(), "jail".into()],
        clean: true,
        log: Some(PathBuf::from(format!("/var/log/jail_console_{name}.log"))),
        allow_fail: true,
    });
    if let Some(v) = j.vnet() {
        p.steps.push(Step::EpairFind {
            var: "epair".into(),
            descr: format!("jail:{name}"),
        });
        p.steps.push(Step::BridgeDelete {
            bridge: v.bridge.clone(),
            member: IfRef::Var("epair_a".into()),
        });
        p.steps.push(Step::IfDestroy {
            ifname: IfRef::Var("epair_a".into()),
        });
    }
    p.steps.push(Step::JailRemove { name: name.clone() });
    p.steps.push(Step::Unmount {
        path: j.root().join("dev"),
    });
    for m in j.mounts().iter().rev() {
        p.steps.push(Step::Unmount {
            path: m.target.clone(),
        });
    }
    p
}

/// Jail destruction (the jail must be stopped): boot list entry, jail.conf.d file, fstab, root
/// directory and the clone removed.
pub fn destroy(j: &ThinJail) -> Plan {
    let mut p = Plan::new(format!("destroy jail {}", j.name()), false);
    p.steps.push(Step::CheckJailStopped {
        name: j.name().into(),
    });
    p.steps.push(Step::RcListRemove {
        file: rc(),
        name: "jail_list".into(),
        item: j.name().into(),
    });
    p.steps.push(Step::RemoveFile {
        path: j.conf_path(),
    });
    p.steps.push(Step::RemoveFile {
        path: j.fstab_path(),
    });
    p.steps.push(Step::Rmdir { path: j.root() });
    match j.clone_dataset() {
        Some(ds) => p.steps.push(Step::ZfsDestroy { dataset: ds }),
        None => p.steps.push(Step::RemoveTree {
            path: j.clone_dir(),
        }),
    }
    p
}

/// Start at boot: `jail_enable`, `jail_parallel_start`, the jail in `jail_list` (once),
/// `jail_reverse_stop`.
pub fn enable(j: &ThinJail) -> Plan {
    let mut p = Plan::new(format!("start jail {} at boot", j.name()), true);
    for (n, v) in [("jail_enable", "YES"), ("jail_parallel_start", "YES")] {
        p.steps.push(Step::RcSet {
            file: rc(),
            name: n.into(),
            value: v.into(),
        });
    }
    p.steps.push(Step::RcListAdd {
        file: rc(),
        name: "jail_list".into(),
        item: j.name().into(),
    });
    p.steps.push(Step::RcSet {
        file: rc(),
        name: "jail_reverse_stop".into(),
        value: "YES".into(),
    });
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("/a/b"), "/a/b");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(arg("$epair_b"), "\"$epair_b\"");
    }

    #[test]
    fn every_building_step_has_an_inverse_or_a_reason() {
        let j = ThinJail::recipe_dev();
        for p in [
            create(&j),
            start(&j),
            template_create(j.template()),
            enable(&j),
        ] {
            for s in &p.steps {
                match s.inverse() {
                    Inverse::Step(inv) => assert!(!inv.shell().is_empty()),
                    Inverse::Nothing(why) => assert!(!why.is_empty()),
                }
            }
        }
    }
}
