//! Interfaces with kernel-chosen units (epairs, bridges) against recovery running next to live
//! operations, on SimHost.
//!
//! A crashed run leaves an intent "an epair/bridge is about to be created" whose name was never
//! journaled; recovery destroys the new, unmarked (undescribed, down, memberless) interfaces of
//! that kind. A live operation creates *and describes* its interface under the clone lock, and
//! recovery holds the same lock: these tests show that recovery waits for it and then takes only
//! the crashed run's interface, and (the control) what happens without the lock.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use thinjail_core::exec::{
    CLONE_LOCK, ExecError, Lock, LockDir, LockKey, Op, Transaction, recover_dir, recover_dir_with,
};
use thinjail_core::host::{Host, IfKind, OpKind};
use thinjail_core::sim::{FaultTrigger, SimHost, SimulatedCrash, quiet_simulated_crashes};

/// Apply `op` in a transaction that "dies" right after the first `kind` host operation took
/// effect (before its result is journaled); returns the journal path.
fn crash_right_after(host: &SimHost, dir: &Path, locks: &LockDir, op: Op, kind: OpKind) {
    quiet_simulated_crashes();
    std::fs::create_dir_all(dir.join("journal")).unwrap();
    host.inject_crash_after(FaultTrigger::NthOf(kind, 1));
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut tx = Transaction::begin(host, &dir.join("journal/crashed.journal"), "crashed")
            .unwrap()
            .with_lock_dir(Some(locks.clone()));
        let _ = tx.apply(&op);
        tx.commit().unwrap();
    }));
    let payload = r.expect_err("the simulated crash");
    assert!(payload.downcast_ref::<SimulatedCrash>().is_some());
}

fn names(host: &SimHost, kind: IfKind) -> Vec<String> {
    host.interfaces(None)
        .unwrap()
        .into_iter()
        .filter(|i| i.kind == kind)
        .map(|i| i.name)
        .collect()
}

fn clone_lock() -> Lock {
    Lock::exclusive(LockKey::Named(CLONE_LOCK.into()))
}

#[test]
fn recovery_waits_for_a_live_epair_and_takes_only_the_crashed_one() {
    let dir = tempfile::tempdir().unwrap();
    let host = SimHost::new(dir.path().join("root")).unwrap();
    let locks = LockDir::new(dir.path().join("locks")).unwrap();
    let op = Op::CreateEpair {
        bind: "e".into(),
        description: "jail:crashed".into(),
    };
    crash_right_after(&host, dir.path(), &locks, op, OpKind::EpairCreate);
    let crashed = names(&host, IfKind::Epair);
    assert_eq!(
        crashed.len(),
        2,
        "the crashed run's pair exists: {crashed:?}"
    );
    assert!(
        host.interfaces(None)
            .unwrap()
            .iter()
            .all(|i| i.description.is_none()),
        "the crash came before the pair was marked"
    );

    // A live operation in "another process": creates its pair under the clone lock; recovery
    // starts in the meantime.
    let live_guard = locks.lock(&[clone_lock()]).unwrap();
    let live = host.epair_create(None).unwrap();
    let finished = AtomicBool::new(false);
    std::thread::scope(|s| {
        let rec = s.spawn(|| {
            let r = recover_dir_with(&dir.path().join("journal"), &host, Some(&locks));
            finished.store(true, Ordering::SeqCst);
            r
        });
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !finished.load(Ordering::SeqCst),
            "recovery must wait for the clone lock"
        );
        host.if_set_description(&live.a, Some("jail:live")).unwrap();
        drop(live_guard);
        let reports = rec.join().unwrap().unwrap();
        assert_eq!(reports.len(), 1);
    });
    let left = names(&host, IfKind::Epair);
    assert_eq!(
        left,
        vec![live.a.clone(), live.b.clone()],
        "only the live pair remains"
    );
}

#[test]
fn without_the_lock_recovery_would_take_a_live_unmarked_epair() {
    // The control: what the lock prevents. `recover_dir` (no lock directory) running while a
    // live operation's pair is not yet described destroys it together with the crashed one.
    let dir = tempfile::tempdir().unwrap();
    let host = SimHost::new(dir.path().join("root")).unwrap();
    let locks = LockDir::new(dir.path().join("locks")).unwrap();
    let op = Op::CreateEpair {
        bind: "e".into(),
        description: "jail:crashed".into(),
    };
    crash_right_after(&host, dir.path(), &locks, op, OpKind::EpairCreate);
    let _live = host.epair_create(None).unwrap();
    assert_eq!(names(&host, IfKind::Epair).len(), 4);
    recover_dir(&dir.path().join("journal"), &host).unwrap();
    assert!(names(&host, IfKind::Epair).is_empty());
}

#[test]
fn a_crash_right_after_creating_a_bridge_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let host = SimHost::new(dir.path().join("root")).unwrap();
    let locks = LockDir::new(dir.path().join("locks")).unwrap();
    let existing = host.bridge_create(None).unwrap();
    host.if_set_up(&existing, true).unwrap();
    let before = host.state();
    let op = Op::CreateBridge {
        bind: "b".into(),
        unit: None,
        description: "thinjail: igc0bridge".into(),
    };
    crash_right_after(&host, dir.path(), &locks, op, OpKind::BridgeCreate);
    assert_eq!(names(&host, IfKind::Bridge).len(), 2);
    let reports = recover_dir_with(&dir.path().join("journal"), &host, Some(&locks)).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        host.state(),
        before,
        "the new bridge is gone, the old one untouched"
    );
}

#[test]
fn created_interfaces_carry_their_mark_and_undo_removes_them() {
    let dir = tempfile::tempdir().unwrap();
    let host = SimHost::new(dir.path().join("root")).unwrap();
    let before = host.state();
    let mut tx = Transaction::begin(&host, &dir.path().join("j.journal"), "t")
        .unwrap()
        .with_lock_dir(Some(LockDir::new(dir.path().join("locks")).unwrap()));
    tx.apply(&Op::CreateEpair {
        bind: "e".into(),
        description: "jail:dev".into(),
    })
    .unwrap();
    tx.apply(&Op::CreateBridge {
        bind: "b".into(),
        unit: None,
        description: "thinjail: br".into(),
    })
    .unwrap();
    let a = tx.ctx().ifaces["e.a"].clone();
    let b = tx.ctx().ifaces["b"].clone();
    let all = host.interfaces(None).unwrap();
    let desc = |n: &str| {
        all.iter()
            .find(|i| i.name == n)
            .unwrap()
            .description
            .clone()
    };
    assert_eq!(desc(&a).as_deref(), Some("jail:dev"));
    assert_eq!(desc(&b).as_deref(), Some("thinjail: br"));
    tx.rollback().unwrap();
    assert_eq!(host.state(), before);
}

#[test]
fn an_empty_description_is_refused_before_anything_changes() {
    let dir = tempfile::tempdir().unwrap();
    let host = SimHost::new(dir.path().join("root")).unwrap();
    let before = host.state();
    let mut tx = Transaction::begin(&host, &dir.path().join("j.journal"), "t").unwrap();
    for op in [
        Op::CreateEpair {
            bind: "e".into(),
            description: " ".into(),
        },
        Op::CreateBridge {
            bind: "b".into(),
            unit: None,
            description: String::new(),
        },
    ] {
        let err = tx.apply(&op).unwrap_err();
        assert!(matches!(err, ExecError::Refused(_)), "{err}");
        assert!(err.to_string().contains("description"), "{err}");
    }
    assert_eq!(host.state(), before);
}
