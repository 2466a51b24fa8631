//! The FreeBSD side: real thin jails, created and started by thinjail (`Runner` on
//! `FreeBsdHost`, no helper process) against the recipe's commands spawned as RECIPE.md runs
//! them, side by side in one run, one jail at a time and N at once.
//!
//! Selected when running as root on FreeBSD with `THINJAIL_BENCH_POOL` set; otherwise it says
//! why it is skipped. Per jail, timed:
//!
//! - thinjail: `Runner::create` + `Runner::start` (clone, mount, root directory, fstab,
//!   jail.conf files; nullfs, devfs with the ruleset checked, the VNET jail, epair, bridge,
//!   address, route, `/bin/sh /etc/rc`);
//! - peer `jail -c`: `zfs clone <skeleton>@base <containers>/NAME`, `mkdir -p <root>`, the fstab
//!   and the jail.conf thinjail renders for that jail (its common part without the `.include`,
//!   then the jail's block) written to a file, `jail -f <that file> -c NAME`;
//! - peer `service jail start` (only when rc.conf's `jail_enable` is on, as rc.d/jail demands):
//!   the same, with the rendered file as `/etc/jail.NAME.conf`, the file rc.d/jail reads first for
//!   NAME (with only `/etc/jail.conf.d/NAME.conf`, rc.d/jail would use that file alone, without
//!   the common part), then `service jail start NAME` — `faststart` when N start at once:
//!   rc.subr `run_rc_command` refuses `start` while any `/usr/sbin/jail` process runs
//!   (`check_process $command`, with `command=$jail_program`: "jail already running?"), so
//!   concurrent `service jail start`s fail on 13.2 (seen in the VM); the `fast` prefix skips
//!   only that check (`rc_fast`).
//!
//! Untimed, after each sample: complete teardown (thinjail: `stop` + `destroy`; peers:
//! `jail -r` / `service jail stop`, `zfs destroy`, the files removed), then a check that nothing
//! is left: no jail, no interface described `jail:NAME` or named after it, no mount under its
//! root or on its clone, no clone dataset, no root directory, no conf file. Whatever the bench
//! made for itself (layout datasets, bridge, template, `/etc/jail.conf`) is removed at the end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use thinjail_core::exec::{Executor, Op};
use thinjail_core::host::{FsType, Host};
use thinjail_core::jailconf::{ConfFile, Item, render};
use thinjail_core::model::{
    HostLayout, Release, Storage, Template, ThinJail, ThinJailSpec, VnetStrings,
};
use thinjail_core::run::{Runner, console_log, is_root, real_host};

use super::{Cfg, report_as, timed};

/// The environment variables that select and configure this side.
const ENV_HELP: &str = "THINJAIL_BENCH_POOL=<pool> (required), THINJAIL_BENCH_RELEASE \
     (default 14.2-RELEASE), THINJAIL_BENCH_ARCHIVE=<base.txz> [THINJAIL_BENCH_MANIFEST=<MANIFEST>] \
     when that template does not exist yet, THINJAIL_BENCH_ROOT (default: the mountpoint of \
     <pool>/jails, or /<pool>/jails), THINJAIL_BENCH_BRIDGE (default tjbenchbridge)";

/// Addresses of the bench's jails: 10.213.0.10 … on the bench's bridge, gateway 10.213.0.1.
const NET: &str = "10.213.0";

/// Run the FreeBSD side, or say why it is skipped.
pub fn run(cfg: &Cfg) {
    let pool = match std::env::var("THINJAIL_BENCH_POOL") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            println!(
                "jail_lifecycle: FreeBSD side (FreeBsdHost vs zfs clone + jail -c / service jail \
                 start) skipped: set {ENV_HELP}"
            );
            return;
        }
    };
    if !is_root() {
        println!("jail_lifecycle: FreeBSD side skipped: it makes real jails, run it as root");
        return;
    }
    let host = match real_host() {
        Ok(h) => h,
        Err(e) => {
            println!("jail_lifecycle: FreeBSD side skipped: {e}");
            return;
        }
    };
    let bench = match Bench::prepare(&*host, &pool) {
        Ok(b) => b,
        Err(why) => {
            println!("jail_lifecycle: FreeBSD side skipped: {why}");
            return;
        }
    };
    bench.measure(cfg);
}

/// Which side made a jail.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Thinjail,
    JailC,
    Service,
}

impl Side {
    fn tag(self) -> &'static str {
        match self {
            Side::Thinjail => "tjbt",
            Side::JailC => "tjbj",
            Side::Service => "tjbs",
        }
    }
}

struct Bench<'h> {
    host: &'h dyn Host,
    runner: Runner<'h>,
    state: tempfile::TempDir,
    layout: HostLayout,
    template: Template,
    bridge: String,
    service: bool,
    /// What the bench made for itself, undone at the end (in reverse).
    made: Mutex<Made>,
    /// Jails made and not yet torn down (for the best-effort cleanup after a panic).
    live: Mutex<Vec<(Side, ThinJail)>>,
    seq: std::sync::atomic::AtomicUsize,
    /// Set while N jails start at once (the `service` peer then uses `faststart`).
    concurrent: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Made {
    datasets: Vec<(String, PathBuf)>,
    bridge: bool,
    template: bool,
    /// The release archive the template was made from, installed into the media directory.
    archive: Option<PathBuf>,
    jail_conf: bool,
    jail_conf_d: bool,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Run a command; its stderr in the error.
fn cmd(argv: &[&str]) -> Result<(), String> {
    let o = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .map_err(|e| format!("{}: {e}", argv.join(" ")))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed ({}): {}{}",
            argv.join(" "),
            o.status,
            String::from_utf8_lossy(&o.stderr).trim(),
            String::from_utf8_lossy(&o.stdout).trim()
        ))
    }
}

/// `zfs destroy NAME`, retried while busy (a just-unmounted nullfs lower layer can hold it).
fn zfs_destroy(name: &str) -> Result<(), String> {
    let t = Instant::now();
    loop {
        match cmd(&["zfs", "destroy", name]) {
            Ok(()) => return Ok(()),
            Err(e) if e.contains("busy") && t.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
}

impl<'h> Bench<'h> {
    fn prepare(host: &'h dyn Host, pool: &str) -> Result<Bench<'h>, String> {
        if !host.dataset_exists(pool).map_err(|e| e.to_string())? {
            return Err(format!("pool {pool:?} does not exist"));
        }
        let jails_ds = format!("{pool}/jails");
        let default_root = if host.dataset_exists(&jails_ds).map_err(|e| e.to_string())? {
            host.dataset_mountpoint(&jails_ds)
                .map_err(|e| e.to_string())?
                .display()
                .to_string()
        } else {
            format!("/{pool}/jails")
        };
        let root = env_or("THINJAIL_BENCH_ROOT", &default_root);
        let layout = HostLayout::new(Storage::Zfs, pool, &root).map_err(|e| e.to_string())?;
        let release = Release::new(&env_or("THINJAIL_BENCH_RELEASE", "14.2-RELEASE"), "amd64")
            .map_err(|e| e.to_string())?;
        let template = Template::new(layout.clone(), release);
        let bridge = env_or("THINJAIL_BENCH_BRIDGE", "tjbenchbridge");
        let have_template = host
            .dataset_exists(&template.skeleton().snapshot())
            .map_err(|e| e.to_string())?;
        let archive = std::env::var_os("THINJAIL_BENCH_ARCHIVE").map(PathBuf::from);
        if !have_template && archive.is_none() {
            return Err(format!(
                "template {} does not exist in {} (no {}): set THINJAIL_BENCH_ARCHIVE to a \
                 base.txz to make it for the bench, or make it with `thinjail template create`",
                template.release().name(),
                layout.templates_dataset(),
                template.skeleton().snapshot()
            ));
        }
        let ruleset = ThinJail::recipe_dev().devfs().ruleset();
        if !host
            .devfs_ruleset_loaded(ruleset)
            .map_err(|e| e.to_string())?
        {
            return Err(format!(
                "devfs ruleset {ruleset} is not loaded (`service devfs restart` loads \
                 /etc/defaults/devfs.rules)"
            ));
        }
        // rc.d/jail starts nothing unless jail_enable is on (checkyesno, as rc.subr does).
        let service = Command::new("/bin/sh")
            .args([
                "-c",
                ". /etc/rc.subr; load_rc_config jail; checkyesno jail_enable",
            ])
            .status()
            .is_ok_and(|s| s.success());
        let state = tempfile::Builder::new()
            .prefix("tj-bench-freebsd-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let runner =
            Runner::new(host, "/", state.path().join("runner")).map_err(|e| e.to_string())?;
        let b = Bench {
            host,
            runner,
            state,
            layout,
            template,
            bridge,
            service,
            made: Mutex::new(Made::default()),
            live: Mutex::new(Vec::new()),
            seq: std::sync::atomic::AtomicUsize::new(0),
            concurrent: std::sync::atomic::AtomicBool::new(false),
        };
        b.make_host(archive.as_deref())?;
        Ok(b)
    }

    /// `host init` without its rc.conf edits (the bench leaves rc.conf alone), then the template
    /// from the archive when it does not exist; remembers what it made.
    fn make_host(&self, archive: Option<&Path>) -> Result<(), String> {
        let l = &self.layout;
        let mut made = self.made.lock().unwrap();
        for (ds, dir) in [
            (l.jails_dataset(), l.root().to_path_buf()),
            (l.media_dataset(), l.media_dir()),
            (l.templates_dataset(), l.templates_dir()),
            (l.containers_dataset(), l.containers_dir()),
        ] {
            if !self.host.dataset_exists(&ds).map_err(|e| e.to_string())? {
                made.datasets.push((ds, dir));
            }
        }
        made.bridge = !self
            .host
            .interfaces(None)
            .map_err(|e| e.to_string())?
            .iter()
            .any(|i| i.name == self.bridge);
        made.jail_conf = !Path::new("/etc/jail.conf").exists();
        made.jail_conf_d = !Path::new("/etc/jail.conf.d").exists();
        let ops: Vec<Op> = self
            .runner
            .host_init_ops(l, Some(&self.bridge))
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|op| !matches!(op, Op::RcConf { .. }))
            .collect();
        let exec = Executor::new(self.host, self.state.path().join("init-journal"))
            .map_err(|e| e.to_string())?;
        exec.run("bench-host-init", &[], &ops)
            .map_err(|e| format!("host init for the bench: {e}"))?;
        if let Some(a) = archive
            && !self
                .host
                .dataset_exists(&self.template.skeleton().snapshot())
                .map_err(|e| e.to_string())?
        {
            let manifest = std::env::var_os("THINJAIL_BENCH_MANIFEST").map(PathBuf::from);
            println!(
                "jail_lifecycle: making template {} from {} (untimed)",
                self.template.release().name(),
                a.display()
            );
            let media = self.template.archive();
            let installed = !media.exists();
            self.runner
                .template_create(&self.template, a, manifest.as_deref())
                .map_err(|e| format!("template create: {e}"))?;
            made.template = true;
            made.archive = installed.then_some(media);
        }
        Ok(())
    }

    fn jail(&self, side: Side) -> ThinJail {
        let k = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let l = &self.layout;
        let j = ThinJailSpec {
            name: format!("{}{k}", side.tag()),
            release: self.template.release().name().into(),
            pool: l.pool().into(),
            root: l.root().display().to_string(),
            vnet: Some(VnetStrings {
                bridge: self.bridge.clone(),
                address: format!("{NET}.{}/24", 10 + k % 240),
                gateway: format!("{NET}.1"),
                ..VnetStrings::default()
            }),
            ..ThinJailSpec::default()
        }
        .build()
        .expect("bench jail spec");
        self.check_gone(&j, "before the bench made it");
        self.live.lock().unwrap().push((side, j.clone()));
        j
    }

    /// The jail.conf thinjail renders for `j`, as one file: the common part without its
    /// `.include`, then the jail's block.
    fn rendered_conf(j: &ThinJail) -> String {
        let mut items: Vec<Item> = j
            .jail_conf_common()
            .items
            .into_iter()
            .filter(|i| !matches!(i, Item::Include(_)))
            .collect();
        items.extend(j.jail_conf().items);
        render(&ConfFile {
            items,
            trailing_comments: Vec::new(),
        })
    }

    fn peer_conf_path(&self, side: Side, j: &ThinJail) -> PathBuf {
        match side {
            Side::Service => PathBuf::from(format!("/etc/jail.{}.conf", j.name())),
            _ => self.state.path().join(format!("{}.conf", j.name())),
        }
    }

    /// Timed: what one side does to create and start `j`.
    fn create_start(&self, side: Side, j: &ThinJail) {
        match side {
            Side::Thinjail => {
                self.runner.create(j).expect("thinjail create");
                self.runner.start(j).expect("thinjail start");
            }
            Side::JailC | Side::Service => {
                let clone = j.clone_dataset().expect("zfs layout");
                cmd(&["zfs", "clone", &j.skeleton().snapshot(), &clone]).unwrap();
                cmd(&["mkdir", "-p", &j.root().display().to_string()]).unwrap();
                std::fs::write(j.fstab_path(), j.fstab().render()).unwrap();
                let conf = self.peer_conf_path(side, j);
                std::fs::write(&conf, Self::rendered_conf(j)).unwrap();
                if side == Side::JailC {
                    let conf = conf.display().to_string();
                    cmd(&["jail", "-f", &conf, "-c", j.name()]).unwrap();
                } else {
                    let start = if self.concurrent.load(std::sync::atomic::Ordering::Relaxed) {
                        "faststart"
                    } else {
                        "start"
                    };
                    cmd(&["service", "jail", start, j.name()]).unwrap();
                }
            }
        }
    }

    /// Untimed: stop and remove everything of `j`, then check nothing is left.
    fn teardown(&self, side: Side, j: &ThinJail) {
        // service jail start reports a failed start on its output and exits 0: check here.
        assert!(
            self.host.jail_by_name(j.name()).unwrap().is_some(),
            "{side:?}: jail {} is not running after its start",
            j.name()
        );
        match side {
            Side::Thinjail => {
                self.runner.stop(j).expect("thinjail stop");
                self.runner.destroy(j).expect("thinjail destroy");
            }
            Side::JailC | Side::Service => {
                let conf = self.peer_conf_path(side, j);
                if side == Side::JailC {
                    let c = conf.display().to_string();
                    cmd(&["jail", "-f", &c, "-r", j.name()]).unwrap();
                } else {
                    cmd(&["service", "jail", "stop", j.name()]).unwrap();
                }
                zfs_destroy(&j.clone_dataset().expect("zfs layout")).unwrap();
                let _ = std::fs::remove_dir(j.clone_dir());
                std::fs::remove_dir(j.root()).unwrap();
                std::fs::remove_file(j.fstab_path()).unwrap();
                std::fs::remove_file(&conf).unwrap();
            }
        }
        let _ = std::fs::remove_file(console_log(j.name()));
        self.check_gone(j, "after its teardown");
        self.live
            .lock()
            .unwrap()
            .retain(|(_, l)| l.name() != j.name());
    }

    /// Nothing of `j` on the host: jail, interfaces, mounts, dataset, directories, files.
    fn check_gone(&self, j: &ThinJail, when: &str) {
        let name = j.name();
        let mut left = Vec::new();
        if let Some(i) = self.host.jail_by_name(name).unwrap() {
            left.push(format!("jail {name} (jid {})", i.jid));
        }
        let (a, b) = j.derived_epair_names();
        let descr = format!("jail:{name}");
        for i in self.host.interfaces(None).unwrap() {
            if i.name == a || i.name == b || i.description.as_deref() == Some(descr.as_str()) {
                left.push(format!("interface {}", i.name));
            }
        }
        let clone = j.clone_dataset().expect("zfs layout");
        for m in self.host.mounts().unwrap() {
            if m.at.starts_with(j.root())
                || m.at == j.clone_dir()
                || (m.fstype == FsType::Zfs && m.source == clone)
            {
                left.push(format!("mount on {}", m.at.display()));
            }
        }
        if self.host.dataset_exists(&clone).unwrap() {
            left.push(format!("dataset {clone}"));
        }
        for p in [
            j.root(),
            j.fstab_path(),
            j.conf_path(),
            PathBuf::from(format!("/etc/jail.{name}.conf")),
        ] {
            if p.exists() {
                left.push(p.display().to_string());
            }
        }
        assert!(left.is_empty(), "{name} {when}: left on the host: {left:?}");
    }

    /// One sample: every side in turn, `n` jails at once each; returns the wall times.
    fn sample(&self, sides: &[Side], n: usize) -> Vec<Duration> {
        sides
            .iter()
            .map(|&side| {
                let jails: Vec<ThinJail> = (0..n).map(|_| self.jail(side)).collect();
                let d = timed(n, &|i| self.create_start(side, &jails[i]));
                for j in &jails {
                    self.teardown(side, j);
                }
                d
            })
            .collect()
    }

    fn measure(&self, cfg: &Cfg) {
        let mut sides = vec![Side::Thinjail, Side::JailC];
        if self.service {
            sides.push(Side::Service);
        } else {
            println!(
                "jail_lifecycle: `service jail start` peer skipped: jail_enable is not on in \
                 rc.conf (rc.d/jail refuses `start`; `sysrc jail_enable=YES` to include it)"
            );
        }
        println!(
            "jail_lifecycle: FreeBSD: template {} in {}, bridge {}, jails on {NET}.0/24",
            self.template.release().name(),
            self.layout.templates_dataset(),
            self.bridge
        );
        for (what, n, samples) in [
            ("1 jail".to_string(), 1, cfg.samples),
            (
                format!("{} jails in parallel", cfg.parallel),
                cfg.parallel,
                cfg.par_samples,
            ),
        ] {
            let mut t: Vec<Vec<Duration>> = vec![Vec::new(); sides.len()];
            self.concurrent
                .store(n > 1, std::sync::atomic::Ordering::Relaxed);
            for _ in 0..samples {
                for (k, d) in self.sample(&sides, n).into_iter().enumerate() {
                    t[k].push(d);
                }
            }
            let (ours, peers) = t.split_first_mut().unwrap();
            for (k, peer) in peers.iter_mut().enumerate() {
                let peer_name = match sides[k + 1] {
                    Side::JailC => "zfs clone + jail -c",
                    _ if n > 1 => "zfs clone + service jail faststart",
                    _ => "zfs clone + service jail start",
                };
                report_as(
                    "FreeBSD",
                    &what,
                    "thinjail create+start",
                    ours,
                    peer_name,
                    peer,
                );
            }
        }
    }
}

impl Drop for Bench<'_> {
    /// Best effort after a panic (jails still live), then undo what the bench made for itself.
    fn drop(&mut self) {
        let live = std::mem::take(&mut *self.live.lock().unwrap_or_else(|p| p.into_inner()));
        for (side, j) in live {
            eprintln!("jail_lifecycle: cleaning up {} ({side:?})", j.name());
            let _ = cmd(&["jail", "-r", j.name()]);
            if side == Side::Thinjail {
                let _ = self.runner.stop(&j);
                let _ = self.runner.destroy(&j);
            } else {
                for m in j.mounts().iter().rev() {
                    let _ = cmd(&["umount", "-f", &m.target.display().to_string()]);
                }
                let _ = cmd(&["umount", "-f", &j.root().join("dev").display().to_string()]);
                let (a, _) = j.derived_epair_names();
                let _ = cmd(&["ifconfig", &a, "destroy"]);
                if let Some(c) = j.clone_dataset() {
                    let _ = zfs_destroy(&c);
                }
                let _ = std::fs::remove_dir(j.root());
                let _ = std::fs::remove_file(j.fstab_path());
                let _ = std::fs::remove_file(self.peer_conf_path(side, &j));
            }
            let _ = std::fs::remove_file(console_log(j.name()));
        }
        let made = std::mem::take(&mut *self.made.lock().unwrap_or_else(|p| p.into_inner()));
        if made.template
            && let Err(e) = self.runner.template_destroy(&self.template)
        {
            eprintln!("jail_lifecycle: could not destroy the bench's template: {e}");
        }
        if let Some(a) = &made.archive {
            let _ = std::fs::remove_file(a);
        }
        if made.bridge
            && let Err(e) = self.host.if_destroy(&self.bridge)
        {
            eprintln!(
                "jail_lifecycle: could not destroy bridge {}: {e}",
                self.bridge
            );
        }
        for (ds, dir) in made.datasets.iter().rev() {
            let _ = self.host.unmount(dir, false);
            if let Err(e) = zfs_destroy(ds) {
                eprintln!("jail_lifecycle: could not destroy {ds}: {e}");
            }
            let _ = std::fs::remove_dir(dir);
        }
        if made.jail_conf {
            let _ = std::fs::remove_file("/etc/jail.conf");
        }
        if made.jail_conf_d {
            let _ = std::fs::remove_dir("/etc/jail.conf.d");
        }
    }
}
