//! SimHost with real datasets (`SimHost::with_zfs`): zfs(8) on a zfs-fuse pool named by
//! `THINJAIL_TEST_ZPOOL` does the dataset work, jails and interfaces stay simulated. Without
//! the pool the tests print why and pass, except under `CI=true`, where they fail.
//!
//! The tests take turns (one lock): zfs-fuse answers "dataset is busy" to mounts and destroys
//! for seconds while other datasets of the pool are being mounted and destroyed.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use thinjail_core::exec::{ExecError, Executor};
use thinjail_core::host::{DatasetProps, Errno, Host};
use thinjail_core::sim::{FaultTrigger, SimHost, SimZfs};

mod sim_fixture;
use sim_fixture::*;

static SEQ: AtomicUsize = AtomicUsize::new(0);
static TURN: Mutex<()> = Mutex::new(());

/// A SimHost on real datasets under a fresh base dataset; everything is destroyed on drop.
struct ZFx {
    host: SimHost,
    base: String,
    dir: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

impl Drop for ZFx {
    fn drop(&mut self) {
        destroy_r(&self.base);
    }
}

impl ZFx {
    fn journals(&self) -> std::path::PathBuf {
        self.dir.path().join("journal")
    }
}

fn zfs(args: &[&str]) -> std::process::Output {
    Command::new("zfs").args(args).output().expect("run zfs(8)")
}

fn destroy_r(name: &str) {
    for _ in 0..50 {
        let o = zfs(&["destroy", "-r", "-f", name]);
        let err = String::from_utf8_lossy(&o.stderr);
        if o.status.success() || err.contains("does not exist") {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("sim_zfs: could not destroy {name}");
}

fn real_exists(name: &str) -> bool {
    zfs(&["list", "-H", "-o", "name", name]).status.success()
}

/// The fixture's host (pool `zdata`, templates, skeleton snapshot) on real datasets.
fn zfixture() -> Option<ZFx> {
    let Ok(pool) = std::env::var("THINJAIL_TEST_ZPOOL") else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but THINJAIL_TEST_ZPOOL is not set: the zfs-fuse tests need a pool");
        }
        eprintln!("sim_zfs: skipped: set THINJAIL_TEST_ZPOOL to a scratch zfs pool (zfs-fuse)");
        return None;
    };
    let turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let base = format!(
        "{pool}/tj-simzfs-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let o = zfs(&["create", "-o", "mountpoint=none", &base]);
    assert!(
        o.status.success(),
        "zfs create {base}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let host = SimHost::with_zfs(dir.path().join("root"), SimZfs::cli(&base).unwrap()).unwrap();
    let fx = ZFx {
        host,
        base,
        dir,
        _turn: turn,
    };
    setup(&fx.host);
    Some(fx)
}

#[test]
fn missing_base_dataset_is_a_clear_error() {
    let Ok(pool) = std::env::var("THINJAIL_TEST_ZPOOL") else {
        eprintln!("sim_zfs: skipped: THINJAIL_TEST_ZPOOL not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let base = format!("{pool}/tj-simzfs-missing-{}", std::process::id());
    let Err(e) = SimHost::with_zfs(dir.path(), SimZfs::cli(&base).unwrap()) else {
        panic!("a missing base dataset was accepted");
    };
    assert_eq!(e.errno(), Some(Errno::ENOENT), "{e}");
    assert!(e.to_string().contains(&base), "{e}");
}

#[test]
fn create_and_start_on_real_datasets_then_teardown() {
    let Some(fx) = zfixture() else { return };
    let h = &fx.host;
    let z = h.zfs().unwrap();
    // The fixture's datasets are real, mounted where SimHost puts `/zdata/...`.
    assert!(real_exists(&z.real_name(SKEL)));
    assert!(real_exists(&z.real_name(&format!("{SKEL}@base"))));
    let initial = h.kernel_state();

    let exec = Executor::new(h, fx.journals()).unwrap();
    let ctx = exec.run("dev", &[], &plan("dev", 10)).unwrap();

    let clone = "zdata/jails/containers/dev";
    let o = zfs(&["get", "-H", "-o", "value", "origin", &z.real_name(clone)]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        z.real_name(&format!("{SKEL}@base")),
        "a real clone of the real skeleton snapshot"
    );
    // The clone's contents are the snapshot's (real ZFS, not simulated), seen through the
    // simulated nullfs mount at the jail's /skeleton.
    let rc = h.real_path(Path::new("/zdata/jails/containers/dev/etc/rc"));
    assert_eq!(std::fs::read(&rc).unwrap(), b"# rc\n");
    let o = zfs(&["get", "-H", "-o", "value", "mounted", &z.real_name(clone)]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "yes");
    assert_eq!(h.dataset_clones(&format!("{SKEL}@base")).unwrap(), [clone]);
    assert_eq!(
        h.dataset_mountpoint(clone).unwrap(),
        Path::new("/zdata/jails/containers/dev")
    );
    let jail = h.jail_by_name("dev").unwrap().unwrap();
    assert_eq!(h.state().jails[&jail.jid].execs.len(), 1, "exec.start ran");

    exec.run_forward("dev-stop", &[], &teardown("dev", &ctx))
        .unwrap();
    assert!(!real_exists(&z.real_name(clone)), "real clone destroyed");
    assert_eq!(h.kernel_state(), initial);
}

#[test]
fn kernel_rules_are_checked_before_zfs_is_asked() {
    let Some(fx) = zfixture() else { return };
    let h = &fx.host;
    let z = h.zfs().unwrap();
    let snap = format!("{SKEL}@base");
    h.dataset_clone(&snap, "zdata/jails/containers/a", &DatasetProps::default())
        .unwrap();
    // A snapshot with a clone: EEXIST (the model's rule), both still real.
    let e = h.dataset_destroy(&snap).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EEXIST), "{e}");
    assert!(real_exists(&z.real_name(&snap)));
    // Clone into another pool: EXDEV, nothing created.
    let e = h
        .dataset_clone(&snap, "other/a", &DatasetProps::default())
        .unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EXDEV), "{e}");
    // Mounted datasets are busy.
    let mp = h.dataset_mountpoint("zdata/jails/containers/a").unwrap();
    h.mount_zfs("zdata/jails/containers/a", &mp).unwrap();
    let e = h.dataset_destroy("zdata/jails/containers/a").unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EBUSY), "{e}");
    let e = h
        .mount_zfs("zdata/jails/containers/a", Path::new("/elsewhere"))
        .unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EBUSY), "{e}");
    h.unmount(&mp, false).unwrap();
    h.dataset_destroy("zdata/jails/containers/a").unwrap();
    assert!(!real_exists(&z.real_name("zdata/jails/containers/a")));
    assert!(!h.dataset_exists("zdata/jails/containers/a").unwrap());
}

#[test]
fn real_zfs_refusals_come_back_with_errno_and_leave_the_model_alone() {
    let Some(fx) = zfixture() else { return };
    let h = &fx.host;
    let z = h.zfs().unwrap();
    // Made behind SimHost's back: the model allows the clone, zfs(8) refuses it.
    let sneaky = z.real_name("zdata/jails/containers/b");
    assert!(zfs(&["create", &sneaky]).status.success());
    let before = h.kernel_state();
    let e = h
        .dataset_clone(
            &format!("{SKEL}@base"),
            "zdata/jails/containers/b",
            &DatasetProps::default(),
        )
        .unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EEXIST), "{e}");
    assert!(e.to_string().contains("zdata/jails/containers/b"), "{e}");
    assert_eq!(h.kernel_state(), before, "the model records nothing");
    // Queries ask the real backend.
    assert!(h.dataset_exists("zdata/jails/containers/b").unwrap());
}

#[test]
fn fault_at_every_step_of_create_restores_host_and_real_datasets() {
    let Some(fx) = zfixture() else { return };
    let h = &fx.host;
    let z = h.zfs().unwrap();
    let initial = h.state();
    // Count the state-changing operations of one successful run, then undo it.
    let exec = Executor::new(h, fx.journals()).unwrap();
    let (_, m0) = h.op_counts();
    let ctx = exec.run("probe", &[], &plan("probe", 10)).unwrap();
    let (_, m1) = h.op_counts();
    exec.run_forward("probe-stop", &[], &teardown("probe", &ctx))
        .unwrap();
    assert_eq!(h.state(), initial);
    let steps = m1 - m0;
    let mut restored = 0;
    for k in 1..=steps {
        h.inject(FaultTrigger::NthMutation(k), Errno::EIO);
        let r = exec.run("dev", &[], &plan("dev", 10));
        assert!(
            matches!(r, Err(ExecError::RolledBack { .. })),
            "fault at mutation {k}: {r:?}"
        );
        assert!(!real_exists(&z.real_name("zdata/jails/containers/dev")));
        if h.state() == initial {
            restored += 1;
        }
    }
    eprintln!("sim_zfs: fault at each of {steps} steps: host restored {restored} of {steps}");
    assert_eq!(restored, steps);
}
