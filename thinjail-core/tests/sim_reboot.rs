//! Journals against a rebooted kernel, on SimHost ([`SimHost::reboot`]: jails, cloned
//! interfaces and nullfs/devfs mounts end, jids and interface units start again, datasets and
//! files stay).
//!
//! A journal records the boot it was written in (`kern.boottime` + uptime). Recovery in a later
//! boot must not undo or redo kernel objects: their names now belong to that boot (`epair0a` is
//! whoever cloned first, jid 1 is the first jail started). It still undoes or finishes the
//! dataset and file steps — unless a jail the journal is about runs again (rc.d/jail started
//! it at boot), in which case it leaves the journal alone and says so.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use thinjail_core::exec::{ExecError, Op, Transaction, recover};
use thinjail_core::host::{Host, IfKind, JailSpec, OpKind};
use thinjail_core::model::{Storage, ThinJail, ThinJailSpec, VnetStrings};
use thinjail_core::rcconf::RcConf;
use thinjail_core::run::{RunError, Runner, generate_release};
use thinjail_core::sim::{FaultTrigger, SimHost, quiet_simulated_crashes};

const BRIDGE: &str = "igc0bridge";

fn release() -> &'static (PathBuf, PathBuf) {
    static R: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        generate_release(&dir).unwrap()
    })
}

fn jail() -> ThinJail {
    ThinJailSpec {
        storage: Storage::Zfs,
        vnet: Some(VnetStrings::default()),
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

/// A persistent host with the template and the jail `dev` created (not started).
fn created() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let host = SimHost::open_persistent(dir.path().join("root")).unwrap();
    host.add_pool("zdata").unwrap();
    let r = runner(&host, dir.path());
    let j = jail();
    r.host_init(j.layout(), Some(BRIDGE)).unwrap();
    let (a, m) = release();
    r.template_create(j.template(), a, Some(m)).unwrap();
    r.create(&j).unwrap();
    dir
}

fn epairs(host: &SimHost) -> Vec<String> {
    let mut v: Vec<String> = host
        .interfaces(None)
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == IfKind::Epair)
        .map(|i| i.name)
        .collect();
    v.sort();
    v
}

fn journals(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("state/journal"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// `jail start dev` dies after exec.start began (jail, epair, mounts made); returns the host
/// as the next process opens it.
fn start_dies(dir: &Path) -> SimHost {
    quiet_simulated_crashes();
    {
        let host = SimHost::open_persistent(dir.join("root")).unwrap();
        let r = runner(&host, dir);
        host.inject_crash_after(FaultTrigger::NthOf(OpKind::JailExec, 1));
        let died = catch_unwind(AssertUnwindSafe(|| r.start(&jail())));
        assert!(died.is_err(), "the start should have died");
        assert!(host.jail_by_name("dev").unwrap().is_some());
        assert_eq!(epairs(&host), ["epair0a"]);
    }
    SimHost::open_persistent(dir.join("root")).unwrap()
}

#[test]
fn without_a_reboot_recovery_undoes_the_crashed_start() {
    let dir = created();
    let host = start_dies(dir.path());
    let _r = runner(&host, dir.path());
    assert!(host.jail_by_name("dev").unwrap().is_none());
    assert!(epairs(&host).is_empty());
    assert_eq!(journals(dir.path()), 0);
}

#[test]
fn after_a_reboot_recovery_leaves_the_new_boots_objects_alone() {
    let dir = created();
    let host = start_dies(dir.path());
    host.reboot().unwrap();
    // The new boot: someone clones the first epair (it is epair0a again) and starts a jail
    // (jid 1 again).
    let theirs = host.epair_create(None).unwrap();
    assert_eq!(theirs.a, "epair0a");
    host.mkdir(Path::new("/other"), 0o755).unwrap();
    let jid = host
        .jail_create(&JailSpec {
            name: "other".into(),
            path: "/other".into(),
            vnet: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(jid, 1);
    let before = host.state();
    let r = runner(&host, dir.path());
    // The crashed start's journal is gone, and nothing of this boot was touched.
    assert_eq!(journals(dir.path()), 0);
    let after = host.state();
    assert_eq!(after.interfaces, before.interfaces);
    assert_eq!(after.jails, before.jails);
    assert_eq!(after.mounts, before.mounts);
    // The jail starts again in the new boot: rc.d/netif made the bridge from rc.conf.
    host.boot_rc().unwrap();
    r.start(&jail()).unwrap();
    assert!(host.jail_by_name("dev").unwrap().is_some());
}

#[test]
fn after_a_reboot_a_jail_running_again_keeps_its_journal() {
    let dir = created();
    let host = start_dies(dir.path());
    host.reboot().unwrap();
    // rc.d/jail started dev at boot.
    let path = jail().root().to_path_buf();
    host.jail_create(&JailSpec {
        name: "dev".into(),
        path,
        vnet: true,
        ..Default::default()
    })
    .unwrap();
    let journal = std::fs::read_dir(dir.path().join("state/journal"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let before = host.state();
    match recover(&journal, &host) {
        Err(ExecError::RebootedJailRuns { jail, journal: j }) => {
            assert_eq!(jail, "dev");
            assert_eq!(j, journal);
        }
        other => panic!("expected RebootedJailRuns, got {other:?}"),
    }
    assert_eq!(host.state(), before);
    assert!(journal.exists());
}

#[test]
fn an_interrupted_stop_is_finished_without_kernel_steps_after_a_reboot() {
    quiet_simulated_crashes();
    let dir = created();
    {
        let host = SimHost::open_persistent(dir.path().join("root")).unwrap();
        let r = runner(&host, dir.path());
        r.start(&jail()).unwrap();
        host.inject_crash_after(FaultTrigger::NthOf(OpKind::BridgeDeletem, 1));
        let died = catch_unwind(AssertUnwindSafe(|| r.stop(&jail())));
        assert!(died.is_err());
    }
    let host = SimHost::open_persistent(dir.path().join("root")).unwrap();
    host.reboot().unwrap();
    let theirs = host.epair_create(None).unwrap();
    let ops_before = host.log().len();
    let r = runner(&host, dir.path());
    assert_eq!(journals(dir.path()), 0);
    // Nothing was destroyed, removed or unmounted in this boot.
    let changed: Vec<_> = host.log()[ops_before..]
        .iter()
        .filter(|e| !e.op.is_query())
        .map(|e| e.op)
        .collect();
    assert!(
        changed.is_empty(),
        "recovery changed the new boot: {changed:?}"
    );
    assert_eq!(epairs(&host), [theirs.a.clone(), theirs.b.clone()]);
    assert!(r.list().unwrap().iter().all(|s| s.jid.is_none()));
}

#[test]
fn a_crashed_transaction_of_an_earlier_boot_undoes_only_files() {
    let dir = tempfile::tempdir().unwrap();
    let host = SimHost::new(dir.path().join("root")).unwrap();
    let jpath = dir.path().join("t.journal");
    let mut tx = Transaction::begin(&host, &jpath, "doc").unwrap();
    tx.apply(&Op::MkdirAll {
        path: "/j".into(),
        mode: 0o755,
    })
    .unwrap();
    tx.apply(&Op::CreateEpair {
        bind: "e".into(),
        description: "thinjail: test".into(),
    })
    .unwrap();
    let journal = tx.abandon();
    host.reboot().unwrap();
    let theirs = host.epair_create(None).unwrap();
    let rep = recover(&journal, &host).unwrap();
    // The directory is undone; the epair's creation and description are left alone.
    assert_eq!((rep.undone, rep.skipped), (1, 2));
    assert_eq!(epairs(&host), [theirs.a, theirs.b]);
    assert!(host.file_type(Path::new("/j")).unwrap().is_none());
}

#[test]
fn a_stuck_journal_blocks_only_its_jail() {
    let dir = created();
    let host = start_dies(dir.path());
    host.reboot().unwrap();
    let path = jail().root().to_path_buf();
    let jid = host
        .jail_create(&JailSpec {
            name: "dev".into(),
            path,
            vnet: true,
            ..Default::default()
        })
        .unwrap();
    // Opening the runner does not fail: the stuck journal is reported, not fatal.
    let r = runner(&host, dir.path());
    let stuck = r.stuck_journals();
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].jails, ["dev"]);
    assert!(
        stuck[0].error.contains("earlier boot"),
        "{}",
        stuck[0].error
    );
    // Read-only commands work, and so does another jail.
    assert!(!r.list().unwrap().is_empty());
    let web = ThinJailSpec {
        name: "web".into(),
        storage: Storage::Zfs,
        vnet: Some(VnetStrings {
            address: "192.168.7.252/24".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
    .build()
    .unwrap();
    r.create(&web).unwrap();
    // Operations on that jail refuse, naming the journal.
    for res in [r.start(&jail()), r.destroy(&jail())] {
        match res {
            Err(RunError::Refused(m)) => assert!(m.contains("journal"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    // Once the jail is gone, the next runner recovers the journal.
    host.jail_remove(jid).unwrap();
    let r = runner(&host, dir.path());
    assert!(r.stuck_journals().is_empty());
    assert_eq!(r.recovered().len(), 1);
    assert_eq!(journals(dir.path()), 0);
}

fn rc(dir: &Path) -> RcConf {
    RcConf::read(&dir.join("root/etc/rc.conf")).unwrap()
}

fn bridge(host: &SimHost, name: &str) -> Option<thinjail_core::host::IfInfo> {
    host.interfaces(None)
        .unwrap()
        .into_iter()
        .find(|i| i.name == name && i.kind == IfKind::Bridge)
}

#[test]
fn the_bridge_comes_back_at_boot_from_rc_conf() {
    let dir = created();
    let rc = rc(dir.path());
    assert_eq!(rc.get("cloned_interfaces").as_deref(), Some("bridge0"));
    assert_eq!(rc.get("ifconfig_bridge0_name").as_deref(), Some(BRIDGE));
    assert_eq!(rc.get("ifconfig_igc0bridge").as_deref(), Some("up"));
    assert_eq!(
        rc.get("ifconfig_igc0bridge_descr").as_deref(),
        Some("thinjail: igc0bridge")
    );
    let host = SimHost::open_persistent(dir.path().join("root")).unwrap();
    host.reboot().unwrap();
    assert!(bridge(&host, BRIDGE).is_none());
    host.boot_rc().unwrap();
    let b = bridge(&host, BRIDGE).expect("rc.d/netif made the bridge");
    assert!(b.up);
    let r = runner(&host, dir.path());
    r.start(&jail()).unwrap();
    // host init again changes nothing in rc.conf.
    let before = std::fs::read(dir.path().join("root/etc/rc.conf")).unwrap();
    r.host_init(jail().layout(), Some(BRIDGE)).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("root/etc/rc.conf")).unwrap(),
        before
    );
}

#[test]
fn a_bridge_unit_rc_conf_clones_already_is_not_taken() {
    let dir = tempfile::tempdir().unwrap();
    let host = SimHost::open_persistent(dir.path().join("root")).unwrap();
    host.add_pool("zdata").unwrap();
    std::fs::create_dir_all(dir.path().join("root/etc")).unwrap();
    std::fs::write(
        dir.path().join("root/etc/rc.conf"),
        "cloned_interfaces=\"bridge0 lagg0\"\nifconfig_bridge0=\"up\"\n",
    )
    .unwrap();
    let r = runner(&host, dir.path());
    r.host_init(jail().layout(), Some(BRIDGE)).unwrap();
    let rc = rc(dir.path());
    assert_eq!(
        rc.get("cloned_interfaces").as_deref(),
        Some("bridge0 lagg0 bridge1")
    );
    assert_eq!(rc.get("ifconfig_bridge1_name").as_deref(), Some(BRIDGE));
    assert_eq!(rc.get("ifconfig_bridge0").as_deref(), Some("up"));
    host.reboot().unwrap();
    host.boot_rc().unwrap();
    assert!(bridge(&host, "bridge0").is_some());
    assert!(bridge(&host, BRIDGE).is_some());
}

/// A stand-in for the host's NIC: an epair half renamed `igc0` (SimHost has no NICs).
fn nic(host: &SimHost) {
    let p = host.epair_create(None).unwrap();
    host.if_rename(&p.a, "igc0").unwrap();
}

#[test]
fn an_uplink_is_a_member_now_and_after_a_reboot() {
    let dir = tempfile::tempdir().unwrap();
    let host = SimHost::open_persistent(dir.path().join("root")).unwrap();
    host.add_pool("zdata").unwrap();
    nic(&host);
    let r = runner(&host, dir.path());
    // A missing uplink is refused before anything changes.
    let before = host.state();
    match r.host_init_with(jail().layout(), Some(BRIDGE), Some("igc9")) {
        Err(RunError::Refused(m)) => assert!(m.contains("igc9"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(host.state(), before);
    r.host_init_with(jail().layout(), Some(BRIDGE), Some("igc0"))
        .unwrap();
    assert_eq!(bridge(&host, BRIDGE).unwrap().members, ["igc0"]);
    assert_eq!(
        rc(dir.path()).get("ifconfig_igc0bridge").as_deref(),
        Some("addm igc0 up")
    );
    host.reboot().unwrap();
    nic(&host);
    host.boot_rc().unwrap();
    assert_eq!(bridge(&host, BRIDGE).unwrap().members, ["igc0"]);
}

#[test]
fn an_uplink_the_administrators_line_lacks_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let host = SimHost::open_persistent(dir.path().join("root")).unwrap();
    host.add_pool("zdata").unwrap();
    nic(&host);
    std::fs::create_dir_all(dir.path().join("root/etc")).unwrap();
    std::fs::write(
        dir.path().join("root/etc/rc.conf"),
        "ifconfig_igc0bridge=\"up\"\n",
    )
    .unwrap();
    let r = runner(&host, dir.path());
    let before = host.state();
    match r.host_init_with(jail().layout(), Some(BRIDGE), Some("igc0")) {
        Err(RunError::Refused(m)) => assert!(m.contains("addm igc0"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(host.state(), before);
}
