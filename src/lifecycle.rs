//! The lifecycle commands of `thinjail`: host init, release fetch, template create/update,
//! jail create/start/stop/restart/destroy/list/exec, enable — on the real host or (`--sim
//! --root DIR`) on a persistent simulated host.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use thinjail_core::host::Host;
use thinjail_core::model::{Storage, ThinJail};
use thinjail_core::plan;
use thinjail_core::run::{RunError, Runner, generate_release};
use thinjail_core::sim::SimHost;

use crate::{JailArgs, Op, plan_for};

/// Options before the command.
pub(crate) struct Global {
    pub sim: bool,
    pub root: Option<PathBuf>,
    pub dry_run: bool,
    /// Jail settings given on the command line (long option names), to refuse them where the
    /// jail's record decides.
    pub settings_given: Vec<String>,
}

/// A jail named by a positional argument (default `dev`), with the recipe's settings.
#[derive(Args, Debug, Clone)]
pub(crate) struct Named {
    /// Jail name (overrides --name).
    #[arg(value_name = "NAME")]
    jail_name: Option<String>,
    #[command(flatten)]
    jail: Box<JailArgs>,
}

impl Named {
    fn build(&self) -> Result<ThinJail, String> {
        let mut a = (*self.jail).clone();
        if let Some(n) = &self.jail_name {
            a.name = n.clone();
        }
        a.build()
    }

    /// An existing jail: the settings recorded when it was created (a setting given on this
    /// command line with another value is refused: it would not be the jail's); a jail without a
    /// record (made by hand or by an older thinjail) is described by the command line.
    fn existing(&self, g: &Global) -> Result<ThinJail, String> {
        let name = self.jail_name.as_deref().unwrap_or(self.jail.name());
        let root = match (&g.root, g.sim) {
            (Some(r), true) => r.clone(),
            _ => PathBuf::from("/"),
        };
        match thinjail_core::run::read_record(&root, name).map_err(err)? {
            Some(j) => {
                let mut a = (*self.jail).clone();
                a.name = name.to_string();
                let differ = a.differing(j.spec(), &g.settings_given);
                if !differ.is_empty() {
                    return Err(format!(
                        "thinjail: jail {name} keeps the settings it was created with ({}); \
                         --{} differs and cannot change them here (destroy the jail and create \
                         it again)",
                        j.record_path().display(),
                        differ.join(", --")
                    ));
                }
                Ok(j)
            }
            None => self.build(),
        }
    }
}

/// A template named by its release (positional, default `14.2-RELEASE`).
#[derive(Args, Debug, Clone)]
pub(crate) struct Rel {
    /// Release (overrides --release).
    #[arg(value_name = "RELEASE")]
    release_name: Option<String>,
    #[command(flatten)]
    jail: Box<JailArgs>,
}

impl Rel {
    fn build(&self) -> Result<ThinJail, String> {
        let mut a = (*self.jail).clone();
        if let Some(r) = &self.release_name {
            a.release = r.clone();
        }
        a.build()
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum HostCmd {
    /// Datasets (or directories) of the layout, the bridge if missing (persisted in rc.conf:
    /// cloned_interfaces, ifconfig_<bridge>), rc.conf jail_enable.
    Init {
        #[command(flatten)]
        jail: Box<JailArgs>,
        /// A host interface (e.g. igc0) to make a member of the bridge, now and at boot.
        #[arg(long, value_name = "IF")]
        uplink: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ReleaseCmd {
    /// Download base.txz of a release, verified against its MANIFEST, into the media directory.
    Fetch {
        #[command(flatten)]
        rel: Rel,
        /// Mirror base URL.
        #[arg(long, default_value = "https://download.freebsd.org")]
        mirror: String,
    },
    /// Write a generated (NOT FreeBSD) release-like base.txz and MANIFEST for simulated runs.
    Generate {
        /// Output directory (created).
        dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum TemplateCmd {
    /// Install base.txz, extract it, copy resolv.conf/localtime, split the skeleton, snapshot.
    Create {
        #[command(flatten)]
        rel: Rel,
        /// A local base.txz (default: the one `release fetch` put in the media directory).
        #[arg(long)]
        archive: Option<PathBuf>,
        /// A MANIFEST to verify the archive against.
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
    /// Patch the template with freebsd-update (every thin jail sees it).
    Update(Rel),
    /// Destroy the template and its skeleton (refused while jails use it).
    Destroy(Rel),
}

#[derive(Subcommand, Debug)]
pub(crate) enum JailCmd {
    /// Clone the skeleton, make the root, write fstab and jail.conf files.
    Create(Named),
    /// Mount, create the VNET jail, wire its epair, run /etc/rc.
    Start(Named),
    /// Run /etc/rc.shutdown, remove the jail, destroy its epair, unmount.
    Stop(Named),
    /// Stop, then start.
    Restart(Named),
    /// Remove the jail's files, root directory and clone (refused while it runs).
    Destroy(Named),
    /// List jails: created (jail.conf.d) and running.
    List(Box<JailArgs>),
    /// Run a command inside a running jail.
    Exec {
        /// Jail name.
        name: String,
        /// Command and arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        argv: Vec<String>,
    },
}

/// The real host (see `thinjail_core::run::real_host`: FreeBsdHost on FreeBSD, a clear error
/// elsewhere; never a fake success).
fn real_host() -> Result<Box<dyn Host>, String> {
    thinjail_core::run::real_host().map_err(|e| format!("thinjail: {e}; use --sim --root DIR"))
}

enum Backend {
    Sim(Box<SimHost>, PathBuf),
    Real(Box<dyn Host>),
}

impl Backend {
    fn open(g: &Global) -> Result<Backend, String> {
        if g.sim {
            let root = g.root.clone().ok_or("thinjail: --sim needs --root DIR")?;
            std::fs::create_dir_all(&root)
                .map_err(|e| format!("thinjail: {}: {e}", root.display()))?;
            let root = root
                .canonicalize()
                .map_err(|e| format!("thinjail: {}: {e}", root.display()))?;
            let h = SimHost::open_persistent(&root).map_err(|e| format!("thinjail: {e}"))?;
            Ok(Backend::Sim(Box::new(h), root))
        } else {
            Ok(Backend::Real(real_host()?))
        }
    }

    fn host(&self) -> &dyn Host {
        match self {
            Backend::Sim(h, _) => h.as_ref(),
            Backend::Real(h) => h.as_ref(),
        }
    }

    fn root(&self) -> PathBuf {
        match self {
            Backend::Sim(_, r) => r.clone(),
            Backend::Real(_) => PathBuf::from("/"),
        }
    }

    fn runner(&self) -> Result<Runner<'_>, String> {
        let root = self.root();
        let state = root.join("var/db/thinjail");
        let r = Runner::new(self.host(), &root, &state).map_err(err)?;
        report_recovery(&r);
        let r = match self {
            Backend::Sim(..) => r.with_freebsd_update(false),
            Backend::Real(_) => r,
        };
        Ok(r)
    }
}

/// What opening the runner recovered, and the journals it could not (on stderr: every
/// command reports them, and each run tries them again).
fn report_recovery(r: &Runner<'_>) {
    for (path, rep) in r.recovered() {
        if rep.was_closed.is_some() {
            continue;
        }
        let mut what = format!("{} undone, {} resumed", rep.undone, rep.resumed);
        if rep.skipped > 0 {
            what.push_str(&format!(
                ", {} kernel step(s) of an earlier boot left alone",
                rep.skipped
            ));
        }
        eprintln!(
            "thinjail: recovered the interrupted operation {} ({}): {what}",
            rep.label.as_deref().unwrap_or("?"),
            path.display()
        );
    }
    for s in r.stuck_journals() {
        let about = if s.jails.is_empty() {
            "host and template operations refuse".to_string()
        } else {
            format!(
                "create, start, destroy and enable of {} refuse",
                s.jails.join(", ")
            )
        };
        eprintln!(
            "thinjail: warning: the interrupted operation {} ({}) could not be recovered: {}; {about} until it is (every thinjail command tries again; `thinjail recover` only that)",
            s.label.as_deref().unwrap_or("?"),
            s.path.display(),
            s.error
        );
    }
}

/// `thinjail recover`: open the runner (which recovers what it can and reports it); exit 1
/// while a journal stays stuck.
pub(crate) fn recover(g: &Global) -> Result<(), String> {
    let b = Backend::open(g)?;
    let r = b.runner()?;
    match r.stuck_journals().len() {
        0 => {
            println!("nothing left to recover");
            Ok(())
        }
        n => Err(format!(
            "thinjail: {n} journal(s) could not be recovered (see above)"
        )),
    }
}

fn err(e: RunError) -> String {
    let mut s = format!("thinjail: {e}");
    let mut src = std::error::Error::source(&e);
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(&format!("\n  caused by: {t}"));
        }
        src = c.source();
    }
    s
}

fn print_ops(ops: &[thinjail_core::exec::Op]) {
    use thinjail_core::exec::Action;
    for o in ops {
        println!("  - {}", o.describe());
    }
}

fn dry(g: &Global, op: Op, j: &ThinJail) -> bool {
    if g.dry_run {
        print!("{}", plan_for(op, j).to_shell());
    }
    g.dry_run
}

fn sim_pool(b: &Backend, j: &ThinJail) -> Result<(), String> {
    if let Backend::Sim(h, _) = b
        && j.layout().storage() == Storage::Zfs
        && !h
            .dataset_exists(j.layout().pool())
            .map_err(|e| e.to_string())?
    {
        h.add_pool(j.layout().pool()).map_err(|e| e.to_string())?;
        println!(
            "simulated host: pool {} added (a real host has its pool already)",
            j.layout().pool()
        );
    }
    Ok(())
}

pub(crate) fn host(g: &Global, c: HostCmd) -> Result<(), String> {
    let HostCmd::Init { jail: a, uplink } = c;
    let j = a.build()?;
    if dry(g, Op::HostInit, &j) {
        return Ok(());
    }
    let b = Backend::open(g)?;
    sim_pool(&b, &j)?;
    let r = b.runner()?;
    host_init(&r, &j, uplink.as_deref())
}

fn host_init(r: &Runner<'_>, j: &ThinJail, uplink: Option<&str>) -> Result<(), String> {
    let bridge = j.vnet().map(|v| v.bridge.clone());
    let ops = r
        .host_init_ops_with(j.layout(), bridge.as_deref(), uplink)
        .map_err(err)?;
    println!("host init:");
    print_ops(&ops);
    r.host_init_with(j.layout(), bridge.as_deref(), uplink)
        .map_err(err)?;
    Ok(())
}

pub(crate) fn release(g: &Global, c: ReleaseCmd) -> Result<(), String> {
    match c {
        ReleaseCmd::Generate { dir } => {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let (a, m) = generate_release(&dir).map_err(err)?;
            println!(
                "generated release-like tree (NOT FreeBSD; for simulated runs): {} {}",
                a.display(),
                m.display()
            );
            Ok(())
        }
        ReleaseCmd::Fetch { rel, mirror } => {
            let j = rel.build()?;
            let t = j.template();
            if g.dry_run {
                println!(
                    "fetch -o {} {}",
                    plan::sh_quote(&t.archive().display().to_string()),
                    plan::sh_quote(&t.release().base_url())
                );
                return Ok(());
            }
            let b = Backend::open(g)?;
            let r = b.runner()?;
            let dest = r.real(&t.archive());
            if let Some(p) = dest.parent() {
                std::fs::create_dir_all(p).map_err(|e| format!("{}: {e}", p.display()))?;
            }
            let rel: thinjail_release::Release = t
                .release()
                .name()
                .parse()
                .map_err(|e| format!("thinjail: {e}"))?;
            let arch: thinjail_release::Arch = match t.release().arch() {
                "amd64" => thinjail_release::Arch::AMD64,
                a if a.contains('/') => a.parse().map_err(|e| format!("thinjail: {e}"))?,
                a => format!("{a}/{a}")
                    .parse()
                    .map_err(|e| format!("thinjail: {e}"))?,
            };
            let rep = thinjail_release::fetch::Fetcher::new()
                .progress(true)
                .fetch_release(&mirror, &rel, &arch, "base.txz", &dest)
                .map_err(|e| format!("thinjail: {e}"))?;
            println!(
                "{} verified (sha256 {}){}",
                rep.dest.display(),
                rep.sha256,
                if rep.already_present {
                    ", already present"
                } else {
                    ""
                }
            );
            Ok(())
        }
    }
}

fn spinner(msg: String) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

fn template_create(
    r: &Runner<'_>,
    j: &ThinJail,
    archive: &Path,
    manifest: Option<&Path>,
) -> Result<(), String> {
    let t = j.template();
    let ops = r.template_create_ops(t, archive, manifest).map_err(err)?;
    println!("template create {}:", t.release().name());
    print_ops(&ops);
    let pb = spinner(format!(
        "extracting {} and splitting the skeleton",
        archive.display()
    ));
    let res = r.template_create(t, archive, manifest);
    pb.finish_and_clear();
    res.map_err(err)?;
    Ok(())
}

pub(crate) fn template(g: &Global, c: TemplateCmd) -> Result<(), String> {
    match c {
        TemplateCmd::Create {
            rel,
            archive,
            manifest,
        } => {
            let j = rel.build()?;
            if dry(g, Op::TemplateCreate, &j) {
                return Ok(());
            }
            let b = Backend::open(g)?;
            let r = b.runner()?;
            let archive = match archive {
                Some(a) => a,
                None => {
                    let a = r.real(&j.template().archive());
                    if !a.is_file() {
                        return Err(format!(
                            "thinjail: no archive given and {} does not exist: run `thinjail release fetch` or pass --archive",
                            a.display()
                        ));
                    }
                    a
                }
            };
            template_create(&r, &j, &archive, manifest.as_deref())
        }
        TemplateCmd::Update(rel) => {
            let j = rel.build()?;
            if dry(g, Op::TemplateUpdate, &j) {
                return Ok(());
            }
            let b = Backend::open(g)?;
            let r = b.runner()?;
            let ops = r.template_update_ops(j.template()).map_err(err)?;
            println!("template update {}:", j.template().release().name());
            print_ops(&ops);
            if !r.runs_freebsd_update() {
                println!(
                    "simulated host: freebsd-update(8) is not run (only the skeleton mount around it)"
                );
            }
            r.template_update(j.template()).map_err(err)?;
            Ok(())
        }
        TemplateCmd::Destroy(rel) => {
            let j = rel.build()?;
            if g.dry_run {
                println!(
                    "zfs destroy {}\nzfs destroy {}\nzfs destroy {}",
                    j.skeleton().snapshot(),
                    j.skeleton().dataset(),
                    j.template().dataset()
                );
                return Ok(());
            }
            let b = Backend::open(g)?;
            let r = b.runner()?;
            let ops = r.template_destroy_ops(j.template()).map_err(err)?;
            println!("template destroy {}:", j.template().release().name());
            print_ops(&ops);
            r.template_destroy(j.template()).map_err(err)?;
            Ok(())
        }
    }
}

fn start(r: &Runner<'_>, j: &ThinJail) -> Result<(), String> {
    let ops = r.start_ops(j).map_err(err)?;
    // A jail with a record starts with its recorded settings, which its jail.conf.d file (used
    // by `service jail start`) was rendered from. Say so when that file says something else: it
    // was edited by hand, or the jail has no record and these options are not the ones it was
    // created with.
    let conf = r.real(&j.conf_path());
    if let Ok(on_disk) = std::fs::read_to_string(&conf)
        && on_disk != thinjail_core::jailconf::render(&j.jail_conf())
    {
        eprintln!(
            "note: {} differs from what thinjail renders for this jail (edited by hand, or \
             created with other options?); thinjail starts it as rendered",
            j.conf_path().display()
        );
    }
    println!("jail start {}:", j.name());
    print_ops(&ops);
    let ctx = r.start(j).map_err(err)?;
    if let (Some(jid), Some(a), Some(b)) = (
        ctx.jids.get(j.name()),
        ctx.ifaces.get("e.a"),
        ctx.ifaces.get("e.b"),
    ) {
        println!(
            "jail {} running: jid {jid}, epair {a} (host) / {b} (jail)",
            j.name()
        );
    }
    Ok(())
}

fn stop(r: &Runner<'_>, j: &ThinJail) -> Result<(), String> {
    let ops = r.stop_ops(j).map_err(err)?;
    println!("jail stop {}:", j.name());
    print_ops(&ops);
    let ctx = r.stop(j).map_err(err)?;
    if let Some(s) = ctx.stop_status.get(j.name())
        && *s != 0
    {
        println!("note: /etc/rc.shutdown exited with status {s}");
    }
    Ok(())
}

pub(crate) fn jail(g: &Global, c: JailCmd) -> Result<(), String> {
    let (op, n) = match &c {
        JailCmd::Create(n) => (Op::Create, n),
        JailCmd::Start(n) => (Op::Start, n),
        JailCmd::Stop(n) => (Op::Stop, n),
        JailCmd::Restart(n) => (Op::Stop, n),
        JailCmd::Destroy(n) => (Op::Destroy, n),
        JailCmd::List(_) | JailCmd::Exec { .. } => {
            if g.dry_run {
                println!("jls");
                return Ok(());
            }
            let b = Backend::open(g)?;
            let r = b.runner()?;
            return match c {
                JailCmd::Exec { name, argv } => {
                    let st = r.exec(&name, &argv).map_err(err)?;
                    if st != 0 {
                        return Err(format!(
                            "thinjail: {} exited with status {st}",
                            argv.join(" ")
                        ));
                    }
                    Ok(())
                }
                _ => {
                    let l = r.list().map_err(err)?;
                    println!(
                        "{:<14} {:>5} {:<10} {:<18} PATH",
                        "NAME", "JID", "EPAIR", "ADDRESS"
                    );
                    for s in l {
                        let addrs = s.addresses();
                        println!(
                            "{:<14} {:>5} {:<10} {:<18} {}",
                            s.name,
                            s.jid.map(|j| j.to_string()).unwrap_or_else(|| "-".into()),
                            s.epair.unwrap_or_else(|| "-".into()),
                            if addrs.is_empty() {
                                "-".into()
                            } else {
                                addrs.join(",")
                            },
                            s.path.map(|p| p.display().to_string()).unwrap_or_default()
                        );
                        if !s.params.is_empty() {
                            let p: Vec<String> =
                                s.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                            println!("  params: {}", p.join(" "));
                        }
                    }
                    Ok(())
                }
            };
        }
    };
    let j = match c {
        JailCmd::Create(_) => n.build()?,
        _ => n.existing(g)?,
    };
    if g.dry_run {
        if matches!(c, JailCmd::Restart(_)) {
            print!("{}", plan::stop(&j).then(plan::start(&j)).to_shell());
        } else {
            print!("{}", plan_for(op, &j).to_shell());
        }
        return Ok(());
    }
    let b = Backend::open(g)?;
    let r = b.runner()?;
    match c {
        JailCmd::Create(_) => {
            let ops = r.create_ops(&j).map_err(err)?;
            println!("jail create {}:", j.name());
            print_ops(&ops);
            r.create(&j).map_err(err)?;
        }
        JailCmd::Start(_) => start(&r, &j)?,
        JailCmd::Stop(_) => stop(&r, &j)?,
        JailCmd::Restart(_) => {
            stop(&r, &j)?;
            start(&r, &j)?;
        }
        JailCmd::Destroy(_) => {
            let ops = r.destroy_ops(&j).map_err(err)?;
            println!("jail destroy {}:", j.name());
            print_ops(&ops);
            r.destroy(&j).map_err(err)?;
        }
        JailCmd::List(_) | JailCmd::Exec { .. } => {}
    }
    Ok(())
}

pub(crate) fn enable(g: &Global, n: Named) -> Result<(), String> {
    let j = n.existing(g)?;
    if dry(g, Op::Enable, &j) {
        return Ok(());
    }
    let b = Backend::open(g)?;
    let r = b.runner()?;
    println!("enable {}:", j.name());
    print_ops(&r.enable_ops(&j));
    r.enable(&j).map_err(err)?;
    Ok(())
}

/// `thinjail` with no arguments: create and start the recipe's `dev` jail.
pub(crate) fn main_job(g: &Global) -> Result<(), String> {
    let j = ThinJail::recipe_dev();
    let t0 = Instant::now();
    let simulated = g.sim || !(cfg!(target_os = "freebsd") && thinjail_core::run::is_root());
    let (g2, release_dir) = if simulated {
        let base = match &g.root {
            Some(r) => r.clone(),
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                std::env::temp_dir().join(format!("thinjail-sim-{}-{nanos}", std::process::id()))
            }
        };
        let rel = base.with_file_name(format!(
            "{}.release",
            base.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("thinjail-sim")
        ));
        println!("================================================================");
        println!(" SIMULATED: this is not a FreeBSD host running as root, so thinjail");
        println!(" runs the recipe on SimHost (an in-memory model of the FreeBSD kernel)");
        println!(" with every host path placed under {}", base.display());
        println!(" The release is GENERATED (a release-like tree, not FreeBSD's).");
        println!("================================================================");
        (
            Global {
                sim: true,
                root: Some(base),
                dry_run: false,
                settings_given: Vec::new(),
            },
            Some(rel),
        )
    } else {
        (
            Global {
                sim: false,
                root: None,
                dry_run: false,
                settings_given: Vec::new(),
            },
            None,
        )
    };
    let b = Backend::open(&g2)?;
    sim_pool(&b, &j)?;
    let r = b.runner()?;
    host_init(&r, &j, None)?;
    let t = j.template();
    let exists = match t.layout().storage() {
        Storage::Zfs => r
            .host()
            .dataset_exists(&t.skeleton().snapshot())
            .map_err(|e| e.to_string())?,
        Storage::Directories => r
            .host()
            .file_type(&t.skeleton().dir())
            .map_err(|e| e.to_string())?
            .is_some(),
    };
    if !exists {
        let (archive, manifest) = match &release_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let (a, m) = generate_release(dir).map_err(err)?;
                println!("generated release tree (NOT FreeBSD): {}", a.display());
                (a, Some(m))
            }
            None => {
                let a = r.real(&t.archive());
                if !a.is_file() {
                    release(
                        &g2,
                        ReleaseCmd::Fetch {
                            rel: Rel {
                                release_name: None,
                                jail: Box::new(default_args()),
                            },
                            mirror: "https://download.freebsd.org".into(),
                        },
                    )?;
                }
                (a, None)
            }
        };
        template_create(&r, &j, &archive, manifest.as_deref())?;
    }
    let created = r
        .host()
        .file_type(&j.root())
        .map_err(|e| e.to_string())?
        .is_some();
    if !created {
        let ops = r.create_ops(&j).map_err(err)?;
        println!("jail create {}:", j.name());
        print_ops(&ops);
        r.create(&j).map_err(err)?;
    }
    if r.host()
        .jail_by_name(j.name())
        .map_err(|e| e.to_string())?
        .is_none()
    {
        start(&r, &j)?;
    } else {
        println!("jail {} is already running", j.name());
    }
    println!();
    println!(
        "final state{}:",
        if simulated { " (SIMULATED host)" } else { "" }
    );
    print!("{}", r.describe_state().map_err(err)?);
    println!("done in {:.2?}", t0.elapsed());
    if let Some(root) = &g2.root
        && simulated
    {
        println!(
            "continue with: thinjail --sim --root {} jail list | jail stop dev | jail destroy dev",
            root.display()
        );
    }
    Ok(())
}

fn default_args() -> JailArgs {
    use clap::Parser;
    #[derive(Parser)]
    struct P {
        #[command(flatten)]
        a: JailArgs,
    }
    P::parse_from(["thinjail"]).a
}
