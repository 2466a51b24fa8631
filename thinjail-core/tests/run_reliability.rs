//! Reliability of the recipe's operations run by `thinjail_core::run::Runner` on SimHost
//! (a generated release: thinjail-release's fixture tree plus stand-ins for sh and rc):
//!
//! - a fault (EIO) injected at every host operation of host init (bridge with a kernel-chosen
//!   unit), template create, jail create, start,
//!   stop, destroy and template update;
//! - a crash (the process "dies" right after the k-th host operation; a new process opens the
//!   persistent SimHost and recovers) at every host operation of the same;
//! - 64 jails created and started concurrently;
//! - refusals (destroy a running jail, a template with clones, a dataset outside the layout).
//!
//! The fault and crash suites also run with a dual-stack jail (IPv6 address and IPv6 default
//! route besides the IPv4 ones).
//!
//! Building operations must leave the host exactly as before; teardown operations (stop,
//! destroy) roll forward: after the failure and `recover` the host equals the state of a
//! successful run (or the state before, when the failure came before the first change).
//! Every test prints its figures as "N of N". States are compared whole (kernel objects and
//! every file under the root) except the jail's console log: what `/etc/rc` printed before a
//! crash stays in `/var/log/jail_console_<name>.log`, as on FreeBSD.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use thinjail_core::exec::Action;
use thinjail_core::host::{Errno, Host};
use thinjail_core::model::{Storage, ThinJail, ThinJailSpec, VnetStrings};
use thinjail_core::run::{RunError, Runner, generate_release};
use thinjail_core::sim::{
    FaultTrigger, SimHost, SimState, SimulatedCrash, quiet_simulated_crashes,
};

const BRIDGE: &str = "igc0bridge";

fn release() -> &'static (PathBuf, PathBuf) {
    static R: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        generate_release(&dir).unwrap()
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
enum Stage {
    /// Nothing but the pool (ZFS storage).
    Bare,
    /// `host init` done.
    Init,
    /// and the template created.
    Template,
    /// and the jail `dev` created.
    Created,
    /// and started.
    Started,
}

/// The jail's network: the recipe's IPv4 only, or dual-stack.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Net {
    V4,
    Dual,
}

fn jail(storage: Storage) -> ThinJail {
    jail_with(storage, Net::V4)
}

fn jail_with(storage: Storage, net: Net) -> ThinJail {
    let vnet = match net {
        Net::V4 => VnetStrings::default(),
        Net::Dual => VnetStrings {
            ipv6: Some("2001:db8:7::fd/64".into()),
            ipv6_gateway: Some("2001:db8:7::1".into()),
            ..Default::default()
        },
    };
    ThinJailSpec {
        storage,
        vnet: Some(vnet),
        ..Default::default()
    }
    .build()
    .unwrap()
}

fn runner<'h>(host: &'h SimHost, dir: &Path) -> Runner<'h> {
    Runner::new(host, dir.join("root"), dir.join("state"))
        .unwrap()
        .with_freebsd_update(false)
}

/// Build a persistent simulated host at `dir/root` up to `stage`.
fn build(dir: &Path, storage: Storage, net: Net, stage: Stage) {
    let host = SimHost::open_persistent(dir.join("root")).unwrap();
    if storage == Storage::Zfs {
        host.add_pool("zdata").unwrap();
    }
    let r = runner(&host, dir);
    let j = jail_with(storage, net);
    if stage >= Stage::Init {
        r.host_init(j.layout(), Some(BRIDGE)).unwrap();
    }
    if stage >= Stage::Template {
        let (a, m) = release();
        r.template_create(j.template(), a, Some(m)).unwrap();
    }
    if stage >= Stage::Created {
        r.create(&j).unwrap();
    }
    if stage >= Stage::Started {
        r.start(&j).unwrap();
    }
}

/// A fresh copy of the host built up to `stage` (built once per stage and storage).
fn at_stage(storage: Storage, stage: Stage) -> tempfile::TempDir {
    at_stage_with(storage, Net::V4, stage)
}

fn at_stage_with(storage: Storage, net: Net, stage: Stage) -> tempfile::TempDir {
    type Built = Vec<((Storage, Net, Stage), PathBuf)>;
    static CACHE: OnceLock<std::sync::Mutex<Built>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let src = {
        let mut c = cache.lock().unwrap();
        match c.iter().find(|(k, _)| *k == (storage, net, stage)) {
            Some((_, p)) => p.clone(),
            None => {
                let d = tempfile::tempdir().unwrap().keep();
                build(&d, storage, net, stage);
                c.push(((storage, net, stage), d.clone()));
                d
            }
        }
    };
    let dst = tempfile::tempdir().unwrap();
    let st = Command::new("cp")
        .arg("-a")
        .arg(src.join("root"))
        .arg(dst.path().join("root"))
        .status()
        .unwrap();
    assert!(st.success());
    dst
}

#[derive(Clone, Copy, Debug)]
enum Operation {
    /// Creates the bridge with a kernel-chosen unit (then renames it).
    HostInit,
    TemplateCreate,
    Create,
    Start,
    Stop,
    Destroy,
    TemplateUpdate,
}

impl Operation {
    fn stage(self) -> Stage {
        match self {
            Operation::HostInit => Stage::Bare,
            Operation::TemplateCreate => Stage::Init,
            Operation::Create | Operation::TemplateUpdate => Stage::Template,
            Operation::Start | Operation::Destroy => Stage::Created,
            Operation::Stop => Stage::Started,
        }
    }

    fn forward(self) -> bool {
        matches!(self, Operation::Stop | Operation::Destroy)
    }

    fn run(self, r: &Runner<'_>, j: &ThinJail) -> Result<(), RunError> {
        match self {
            Operation::HostInit => r.host_init(j.layout(), Some(BRIDGE)).map(drop),
            Operation::TemplateCreate => {
                let (a, m) = release();
                r.template_create(j.template(), a, Some(m)).map(drop)
            }
            Operation::Create => r.create(j).map(drop),
            Operation::Start => r.start(j).map(drop),
            Operation::Stop => r.stop(j).map(drop),
            Operation::Destroy => r.destroy(j).map(drop),
            Operation::TemplateUpdate => r.template_update(j.template()).map(drop),
        }
    }
}

/// The host state without console logs.
fn state(host: &SimHost) -> SimState {
    let mut st = host.state();
    st.files
        .retain(|p, _| !p.to_string_lossy().starts_with("var/log/jail_console_"));
    st
}

/// Host operations of a successful run, and the state before and after it.
fn successful(op: Operation, storage: Storage, net: Net) -> (u64, SimState, SimState) {
    let d = at_stage_with(storage, net, op.stage());
    let host = SimHost::open_persistent(d.path().join("root")).unwrap();
    let r = runner(&host, d.path());
    let before = state(&host);
    let n0 = host.op_counts().0;
    op.run(&r, &jail_with(storage, net)).unwrap();
    let n = host.op_counts().0 - n0;
    (n, before, state(&host))
}

#[derive(Default, Debug)]
struct Tally {
    trials: u64,
    restored: u64,
    completed: u64,
    unchanged_refused: u64,
}

fn fault_at_every_operation(op: Operation, storage: Storage, net: Net) -> Tally {
    let (n, before, after) = successful(op, storage, net);
    let mut t = Tally::default();
    for k in 1..=n {
        let d = at_stage_with(storage, net, op.stage());
        let host = SimHost::open_persistent(d.path().join("root")).unwrap();
        let r = runner(&host, d.path());
        host.inject(FaultTrigger::Nth(k), Errno::EIO);
        let res = op.run(&r, &jail_with(storage, net));
        assert!(
            res.is_err(),
            "{op:?}: fault at op {k} of {n} was not reported"
        );
        t.trials += 1;
        if op.forward() {
            // A new process finishes the teardown.
            drop(r);
            let r = runner(&host, d.path());
            drop(r);
            let st = state(&host);
            if st == after {
                t.completed += 1;
            } else if st == before {
                t.unchanged_refused += 1;
            } else {
                panic!("{op:?}: fault at op {k}: state is neither before nor after");
            }
        } else {
            assert_eq!(
                state(&host),
                before,
                "{op:?}: fault at op {k} of {n}: {res:?}"
            );
            t.restored += 1;
        }
    }
    t
}

fn crash_at_every_operation(op: Operation, storage: Storage, net: Net) -> Tally {
    let (n, before, after) = successful(op, storage, net);
    let mut t = Tally::default();
    quiet_simulated_crashes();
    for k in 1..=n {
        let d = at_stage_with(storage, net, op.stage());
        let last = {
            let host = SimHost::open_persistent(d.path().join("root")).unwrap();
            let r = runner(&host, d.path());
            host.inject_crash_after(FaultTrigger::Nth(k));
            let res = catch_unwind(AssertUnwindSafe(|| op.run(&r, &jail_with(storage, net))));
            match res {
                Err(p) => assert!(p.downcast_ref::<SimulatedCrash>().is_some()),
                Ok(r) => panic!("{op:?}: no crash at op {k} of {n}: {r:?}"),
            }
            host.log().last().map(|l| l.to_string()).unwrap_or_default()
        };
        // The next process: open the persisted host, recover.
        let host = SimHost::open_persistent(d.path().join("root")).unwrap();
        let r = runner(&host, d.path());
        drop(r);
        let st = state(&host);
        t.trials += 1;
        if op.forward() {
            if st == after {
                t.completed += 1;
            } else if st == before {
                t.unchanged_refused += 1;
            } else {
                panic!("{op:?}: crash after op {k}: state is neither before nor after");
            }
        } else if st == before {
            t.restored += 1;
        } else if st == after {
            // The crash came after the last change was journaled as committed.
            t.completed += 1;
        } else {
            panic!("{op:?}: crash after op {k} of {n} ({last}): not restored");
        }
    }
    t
}

const OPS: [Operation; 7] = [
    Operation::HostInit,
    Operation::TemplateCreate,
    Operation::Create,
    Operation::Start,
    Operation::Stop,
    Operation::Destroy,
    Operation::TemplateUpdate,
];

fn report(kind: &str, storage: Storage, op: Operation, t: &Tally) {
    let ok = t.restored + t.completed + t.unchanged_refused;
    println!(
        "{kind} {storage:?} {op:?}: consistent {ok} of {} (restored to before: {}, completed by recover: {}, failed before any change: {})",
        t.trials, t.restored, t.completed, t.unchanged_refused
    );
    assert_eq!(ok, t.trials);
}

#[test]
fn fault_at_every_host_operation_zfs() {
    for op in OPS {
        let t = fault_at_every_operation(op, Storage::Zfs, Net::V4);
        report("fault", Storage::Zfs, op, &t);
        if !op.forward() {
            assert_eq!(t.restored, t.trials);
        }
    }
}

#[test]
fn fault_at_every_host_operation_directories() {
    for op in OPS {
        let t = fault_at_every_operation(op, Storage::Directories, Net::V4);
        report("fault", Storage::Directories, op, &t);
    }
}

#[test]
fn crash_at_every_host_operation_zfs() {
    for op in OPS {
        let t = crash_at_every_operation(op, Storage::Zfs, Net::V4);
        report("crash", Storage::Zfs, op, &t);
    }
}

#[test]
fn crash_at_every_host_operation_directories() {
    for op in OPS {
        let t = crash_at_every_operation(op, Storage::Directories, Net::V4);
        report("crash", Storage::Directories, op, &t);
    }
}

#[test]
fn fault_at_every_host_operation_dual_stack() {
    for op in OPS {
        let t = fault_at_every_operation(op, Storage::Directories, Net::Dual);
        report("fault dual-stack", Storage::Directories, op, &t);
        if !op.forward() {
            assert_eq!(t.restored, t.trials);
        }
    }
}

#[test]
fn crash_at_every_host_operation_dual_stack() {
    for op in OPS {
        let t = crash_at_every_operation(op, Storage::Directories, Net::Dual);
        report("crash dual-stack", Storage::Directories, op, &t);
    }
}

/// The dual-stack jail starts with both families configured inside its vnet, and its
/// `--dry-run` script lists the same in-jail steps in the same order as the executed plan.
#[test]
fn dual_stack_jail_starts_with_both_families() {
    let d = at_stage_with(Storage::Directories, Net::Dual, Stage::Started);
    let host = SimHost::open_persistent(d.path().join("root")).unwrap();
    let st = host.state();
    let j = st.jails.values().find(|j| j.info.name == "dev").unwrap();
    assert_eq!(j.default_route, "192.168.7.101".parse().ok());
    assert_eq!(j.default_route6, "2001:db8:7::1".parse().ok());
    let b = st
        .interfaces
        .iter()
        .find(|((v, _), i)| v == "dev" && i.kind == thinjail_core::host::IfKind::Epair)
        .map(|(_, i)| i)
        .unwrap();
    assert_eq!(b.addrs6, vec![("2001:db8:7::fd".parse().unwrap(), 64)]);
    assert!(b.up);
    let r = runner(&host, d.path());
    let l = r.list().unwrap();
    assert_eq!(l[0].addrs6, vec![("2001:db8:7::fd".parse().unwrap(), 64)]);

    // Executed order (start_ops) vs the printable plan (plan::start → to_shell).
    let d = at_stage_with(Storage::Directories, Net::Dual, Stage::Created);
    let host = SimHost::open_persistent(d.path().join("root")).unwrap();
    let r = runner(&host, d.path());
    let j = jail_with(Storage::Directories, Net::Dual);
    let executed: Vec<String> = r
        .start_ops(&j)
        .unwrap()
        .iter()
        .map(|o| o.describe())
        .filter(|s| s.contains(" inet") || s.contains("route "))
        .collect();
    assert_eq!(
        executed,
        [
            "jail dev: $e.b inet 192.168.7.253/24",
            "jail dev: route add default 192.168.7.101",
            "jail dev: $e.b inet6 2001:db8:7::fd/64",
            "jail dev: route -6 add default 2001:db8:7::1",
        ]
    );
    let sh = thinjail_core::plan::start(&j).to_shell();
    let at = |needle: &str| {
        sh.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in:\n{sh}"))
    };
    let order = [
        at("inet 192.168.7.253/24"),
        at("route add default 192.168.7.101"),
        at("inet6 2001:db8:7::fd/64"),
        at("route -6 add default 2001:db8:7::1"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{sh}");
}

#[test]
fn link_local_ipv6_gateway_is_refused_before_anything_changes() {
    let d = at_stage(Storage::Directories, Stage::Created);
    let host = SimHost::open_persistent(d.path().join("root")).unwrap();
    let r = runner(&host, d.path());
    let j = ThinJailSpec {
        storage: Storage::Directories,
        vnet: Some(VnetStrings {
            ipv6: Some("2001:db8:7::fd/64".into()),
            ipv6_gateway: Some("fe80::1".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
    .build()
    .unwrap();
    let before = state(&host);
    let e = r.start(&j).unwrap_err();
    assert!(
        matches!(e, RunError::Refused(ref m) if m.contains("link-local")),
        "{e}"
    );
    assert_eq!(state(&host), before);
}

#[test]
fn a_template_without_bin_sh_is_refused_at_start() {
    let d = at_stage(Storage::Zfs, Stage::Created);
    let host = SimHost::open_persistent(d.path().join("root")).unwrap();
    let r = runner(&host, d.path());
    let j = jail(Storage::Zfs);
    std::fs::remove_file(
        d.path()
            .join("root/zdata/jails/templates/14.2-RELEASE-base/bin/sh"),
    )
    .unwrap();
    let before = host.state();
    let e = r.start(&j).unwrap_err();
    assert!(e.to_string().contains("not a usable release"), "{e}");
    assert_eq!(host.state(), before);
}

fn numbered(i: usize) -> ThinJail {
    ThinJailSpec {
        name: format!("j{i}"),
        vnet: Some(VnetStrings {
            address: format!("192.168.7.{}/24", 10 + i),
            ..Default::default()
        }),
        ..Default::default()
    }
    .build()
    .unwrap()
}

#[test]
fn sixty_four_jails_created_and_started_concurrently() {
    let d = at_stage(Storage::Zfs, Stage::Template);
    let host = SimHost::open_persistent(d.path().join("root")).unwrap();
    let r = runner(&host, d.path());
    let t0 = std::time::Instant::now();
    let results: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..64)
            .map(|i| {
                let r = &r;
                s.spawn(move || {
                    let j = numbered(i);
                    r.create(&j).and_then(|_| r.start(&j))
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = results.iter().filter(|r| r.is_ok()).count();
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        eprintln!("{e}");
    }
    let st = host.kernel_state();
    let jails = host.jails().unwrap();
    let jids: BTreeSet<i32> = jails.iter().map(|j| j.jid).collect();
    let names: BTreeSet<&str> = jails.iter().map(|j| j.name.as_str()).collect();
    let epairs: BTreeSet<String> = (0..64)
        .filter_map(|i| r.find_epair(&format!("j{i}")).unwrap())
        .collect();
    let bridge = host
        .interfaces(None)
        .unwrap()
        .into_iter()
        .find(|i| i.name == BRIDGE)
        .unwrap();
    let mut addrs = BTreeSet::new();
    for j in &jails {
        for i in host.interfaces(Some(j.jid)).unwrap() {
            for (a, _) in i.addrs {
                if !a.is_loopback() {
                    addrs.insert(a);
                }
            }
        }
    }
    println!(
        "64 concurrent create+start: {ok} of 64 succeeded in {:?}; {} distinct jids, {} distinct names, {} distinct epairs, {} bridge members, {} distinct addresses, {} mounts",
        t0.elapsed(),
        jids.len(),
        names.len(),
        epairs.len(),
        bridge.members.len(),
        addrs.len(),
        st.mounts.len()
    );
    assert_eq!(ok, 64);
    assert_eq!(jids.len(), 64);
    assert_eq!(names.len(), 64);
    assert_eq!(epairs.len(), 64);
    assert_eq!(bridge.members.len(), 64);
    assert_eq!(addrs.len(), 64);
    // And all of them stop again.
    let stopped = std::thread::scope(|s| {
        let hs: Vec<_> = (0..64)
            .map(|i| {
                let r = &r;
                s.spawn(move || r.stop(&numbered(i)).is_ok())
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap())
            .filter(|b| *b)
            .count()
    });
    println!("64 concurrent stop: {stopped} of 64");
    assert_eq!(stopped, 64);
    assert!(host.jails().unwrap().is_empty());
}

fn refused_unchanged(host: &SimHost, f: impl FnOnce() -> Result<(), RunError>, what: &str) {
    let before = host.state();
    let e = f().expect_err(what);
    assert!(matches!(e, RunError::Refused(_)), "{what}: {e}");
    println!("refusal ({what}): {e}");
    assert_eq!(host.state(), before, "{what}: host changed");
}

#[test]
fn refusals_change_nothing() {
    let d = at_stage(Storage::Zfs, Stage::Started);
    let host = SimHost::open_persistent(d.path().join("root")).unwrap();
    let r = runner(&host, d.path());
    let j = jail(Storage::Zfs);
    let mut n = 0;
    refused_unchanged(&host, || r.destroy(&j).map(drop), "destroy a running jail");
    n += 1;
    refused_unchanged(
        &host,
        || r.template_destroy(j.template()).map(drop),
        "destroy a template with clones",
    );
    n += 1;
    for ds in [
        "zdata",
        "zdata/jails",
        "zdata/jails/containers",
        "zdata/home",
    ] {
        refused_unchanged(
            &host,
            || r.destroy_dataset(j.layout(), ds).map(drop),
            &format!("destroy dataset {ds} outside the layout"),
        );
        n += 1;
    }
    refused_unchanged(&host, || r.start(&j).map(drop), "start a running jail");
    n += 1;
    refused_unchanged(&host, || r.create(&j).map(drop), "create an existing jail");
    n += 1;
    let other = numbered(3);
    refused_unchanged(
        &host,
        || r.start(&other).map(drop),
        "start a jail never created",
    );
    n += 1;
    refused_unchanged(
        &host,
        || r.stop(&other).map(drop),
        "stop a jail not running",
    );
    n += 1;
    println!("refusals: {n} of {n} refused with the host unchanged");
    // After stopping, destroy works, and then the template can go too.
    r.stop(&j).unwrap();
    r.destroy(&j).unwrap();
    r.template_destroy(j.template()).unwrap();
    assert!(!host.dataset_exists(&j.skeleton().dataset()).unwrap());
}

/// A ruleset that merely exists passes `devfs rule showsets` (a devfs mount naming it
/// created it, empty — devfs_rule.c `devfs_ruleset_use`): start still refuses, since it holds
/// no rules.
#[test]
fn devfs_ruleset_existing_but_empty_refuses_start() {
    let d = at_stage(Storage::Zfs, Stage::Created);
    let host = SimHost::open_persistent(d.path().join("root")).unwrap();
    host.unload_devfs_ruleset(5).unwrap();
    host.mkdir(Path::new("/elsewhere"), 0o755).unwrap();
    host.mount_devfs(Path::new("/elsewhere"), 5).unwrap();
    assert!(host.devfs_ruleset_exists(5).unwrap());
    let r = runner(&host, d.path());
    let before = host.state();
    let e = r.start(&jail(Storage::Zfs)).unwrap_err();
    assert!(e.to_string().contains("ruleset 5 is not loaded"), "{e}");
    assert_eq!(host.state(), before);
}

/// A loaded ruleset that leaves /dev/mem visible: devfs is mounted, its /dev is looked at,
/// and the start refuses with every mount undone.
#[test]
fn devfs_ruleset_that_hides_nothing_refuses_start_and_undoes_mounts() {
    let d = at_stage(Storage::Zfs, Stage::Created);
    let host = SimHost::open_persistent(d.path().join("root")).unwrap();
    host.load_devfs_ruleset_without_hiding(5).unwrap();
    let r = runner(&host, d.path());
    let before = host.state();
    let e = r.start(&jail(Storage::Zfs)).unwrap_err();
    assert!(e.to_string().contains("dev/mem visible"), "{e}");
    assert_eq!(host.state(), before);
    assert!(host.jail_by_name("dev").unwrap().is_none());
}

#[test]
fn devfs_ruleset_not_loaded_refuses_start_and_undoes_mounts() {
    let d = at_stage(Storage::Zfs, Stage::Created);
    let host = SimHost::open_persistent(d.path().join("root")).unwrap();
    host.unload_devfs_ruleset(5).unwrap();
    let r = runner(&host, d.path());
    let before = host.state();
    let e = r.start(&jail(Storage::Zfs)).unwrap_err();
    assert!(e.to_string().contains("ruleset 5 is not loaded"), "{e}");
    assert_eq!(host.state(), before);
}

#[test]
fn whole_lifecycle_both_storages() {
    for storage in [Storage::Zfs, Storage::Directories] {
        let d = at_stage(storage, Stage::Template);
        let host = SimHost::open_persistent(d.path().join("root")).unwrap();
        let r = runner(&host, d.path());
        let before = host.state();
        let j = jail(storage);
        r.create(&j).unwrap();
        r.enable(&j).unwrap();
        r.start(&j).unwrap();
        let info = host.jail_by_name("dev").unwrap().unwrap();
        assert!(info.vnet);
        let log =
            std::fs::read_to_string(d.path().join("root/var/log/jail_console_dev.log")).unwrap();
        assert!(log.contains("/bin/sh /etc/rc"), "{log}");
        assert_eq!(r.exec("dev", &["sh".into()]).unwrap(), 0);
        let l = r.list().unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].jid, Some(info.jid));
        assert_eq!(l[0].addrs, vec![("192.168.7.253".parse().unwrap(), 24)]);
        r.template_update(j.template()).unwrap();
        let running_path = l[0].path.clone();
        assert!(running_path.is_some());
        r.stop(&j).unwrap();
        assert!(host.jail_by_name("dev").unwrap().is_none());
        // Stopped, the path comes from jail.conf.d with its `${name}` substituted, as jail(8)
        // would use it: the same path the running jail had.
        let l = r.list().unwrap();
        assert_eq!(l[0].jid, None);
        assert_eq!(l[0].path, running_path, "{l:?}");
        r.destroy(&j).unwrap();
        let after = host.state();
        // Everything the jail had is gone; what remains is rc.conf (enable), /var/log with the
        // console log, and /etc/jail.conf.
        for p in after.files.keys() {
            if !before.files.contains_key(p) {
                let s = p.display().to_string();
                assert!(
                    s.starts_with("etc") || s.starts_with("var"),
                    "{storage:?}: left behind: {s}"
                );
            }
        }
        assert_eq!(after.mounts, before.mounts, "{storage:?}");
        assert_eq!(after.datasets, before.datasets, "{storage:?}");
        assert_eq!(after.interfaces, before.interfaces, "{storage:?}");
    }
}
