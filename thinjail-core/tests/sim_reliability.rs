//! Reliability of execution with undo on SimHost, measured over a representative create-and-start
//! sequence of the recipe's thin jail (clone, zfs mount, mkdir, nullfs base + skeleton, devfs,
//! jail_set, epair, description, up, addm, vnet move, lo0, address, default route, exec.start):
//!
//! - a fault injected at every host operation: after roll-back the host equals the state before;
//! - a crash at every host operation and between every two steps: `recover` restores it;
//! - a second fault during the undo (and during recovery): `recover` still restores it.
//!
//! The fault and crash suites run for the IPv4 jail and again for a dual-stack one (plus the
//! IPv6 address and IPv6 default route). Each test prints its figure as "N of N".

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use thinjail_core::exec::{ExecError, Executor, Op, Outcome, Transaction, recover};
use thinjail_core::host::{Errno, Host, HostError, OpKind};
use thinjail_core::sim::{FaultTrigger, SimHost, SimState};

mod sim_fixture;
use sim_fixture::*;

/// A create-and-start plan: [`plan`] (IPv4) or [`plan_dual`] (IPv4 and IPv6).
type PlanFn = fn(&str, u8) -> Vec<Op>;

/// Number of host operations (queries included) of one successful run.
fn ops_of_successful_run(plan: PlanFn) -> u64 {
    let fx = fixture();
    let (before, _) = fx.host.op_counts();
    Executor::new(&fx.host, fx.journals())
        .unwrap()
        .run("dev", &[], &plan("dev", 253))
        .unwrap();
    fx.host.op_counts().0 - before
}

#[test]
fn plan_succeeds_and_builds_the_jail() {
    let fx = fixture();
    let h = &fx.host;
    let ctx = Executor::new(h, fx.journals())
        .unwrap()
        .run("dev", &[], &plan("dev", 253))
        .unwrap();
    let jid = ctx.jids["dev"];
    let st = h.state();
    let j = &st.jails[&jid];
    assert_eq!(j.info.path, p("/zdata/jails/dev-nullfs-base"));
    assert_eq!(j.default_route, Some(Ipv4Addr::new(192, 168, 7, 1)));
    assert_eq!(j.execs.len(), 1);
    let b = &st.interfaces[&("dev".to_string(), ctx.ifaces["e.b"].clone())];
    assert_eq!(b.addrs, vec![(Ipv4Addr::new(192, 168, 7, 253), 24)]);
    assert!(b.up);
    let a = &st.interfaces[&("host".to_string(), ctx.ifaces["e.a"].clone())];
    assert_eq!(a.member_of.as_deref(), Some(BRIDGE));
    assert_eq!(a.description.as_deref(), Some("jail:dev"));
    assert!(st.interfaces[&("dev".to_string(), "lo0".to_string())].up);
    assert_eq!(
        st.datasets["zdata/jails/containers/dev"].origin.as_deref(),
        Some(&*format!("{SKEL}@base"))
    );
    let ats: Vec<&Path> = st.mounts.iter().map(|m| m.at.as_path()).collect();
    for at in [
        "/zdata/jails/containers/dev",
        "/zdata/jails/dev-nullfs-base",
        "/zdata/jails/dev-nullfs-base/skeleton",
        "/zdata/jails/dev-nullfs-base/dev",
    ] {
        assert!(ats.contains(&p(at)), "{at} mounted");
    }
    // The journal of a committed run is removed.
    assert_eq!(std::fs::read_dir(fx.journals()).unwrap().count(), 0);
}

#[test]
fn dual_stack_plan_builds_both_families() {
    let fx = fixture();
    let ctx = Executor::new(&fx.host, fx.journals())
        .unwrap()
        .run("dev", &[], &plan_dual("dev", 253))
        .unwrap();
    let st = fx.host.state();
    let j = &st.jails[&ctx.jids["dev"]];
    assert_eq!(j.default_route, Some(Ipv4Addr::new(192, 168, 7, 1)));
    assert_eq!(j.default_route6, "2001:db8:7::1".parse().ok());
    let b = &st.interfaces[&("dev".to_string(), ctx.ifaces["e.b"].clone())];
    assert_eq!(b.addrs, vec![(Ipv4Addr::new(192, 168, 7, 253), 24)]);
    assert_eq!(b.addrs6, vec![("2001:db8:7::fd".parse().unwrap(), 64)]);
}

#[test]
fn fault_at_every_operation_rolls_back_to_the_state_before() {
    fault_at_every_operation(plan, "create+start");
}

#[test]
fn fault_at_every_operation_rolls_back_dual_stack() {
    fault_at_every_operation(plan_dual, "dual-stack create+start");
}

fn fault_at_every_operation(plan: PlanFn, what: &str) {
    let n = ops_of_successful_run(plan);
    assert!(n >= 17, "{n} operations");
    let mut ok = 0;
    for k in 1..=n {
        let fx = fixture();
        let before = fx.host.state();
        fx.host.inject(FaultTrigger::Nth(k), Errno::EIO);
        let r = Executor::new(&fx.host, fx.journals())
            .unwrap()
            .run("dev", &[], &plan("dev", 253));
        assert_eq!(fx.host.armed_faults(), 0, "fault {k} fired");
        match r {
            Err(ExecError::RolledBack { cause, .. }) => {
                assert_eq!(cause.errno(), Some(Errno::EIO), "k={k}")
            }
            // The boot stamp is read before the journal exists: nothing to roll back.
            Err(ExecError::Host(HostError::Os {
                op: OpKind::BootStamp,
                errno,
                ..
            })) => assert_eq!(errno, Errno::EIO, "k={k}"),
            other => panic!("k={k}: expected a roll-back, got {other:?}"),
        }
        if fx.host.state() == before {
            ok += 1;
        } else {
            panic!(
                "k={k}: state differs after roll-back:\n{:#?}\nvs\n{:#?}",
                fx.host.state(),
                before
            );
        }
    }
    println!("fault injection at every operation of {what}: {ok} of {n} restored the state before");
    assert_eq!(ok, n);
}

/// Apply steps until one fails, then stop as a crash would (no undo).
/// `None` when the transaction could not even begin (a fault reading the boot stamp, before
/// the journal exists).
fn crash_run(
    host: &SimHost,
    journal: &Path,
    steps: &[Op],
    stop_after: Option<usize>,
) -> Option<PathBuf> {
    let mut tx = match Transaction::begin(host, journal, "crash") {
        Ok(tx) => tx,
        Err(ExecError::Host(HostError::Os {
            op: OpKind::BootStamp,
            ..
        })) => return None,
        Err(e) => panic!("begin: {e}"),
    };
    for (i, s) in steps.iter().enumerate() {
        if stop_after == Some(i) {
            break;
        }
        if tx.apply(s).is_err() {
            break;
        }
    }
    Some(tx.abandon())
}

fn assert_restored(k: u64, host: &SimHost, before: &SimState) {
    assert_eq!(&host.state(), before, "k={k}: state after recover");
}

#[test]
fn crash_at_every_operation_then_recover() {
    crash_at_every_operation(plan, "create+start");
}

#[test]
fn crash_at_every_operation_then_recover_dual_stack() {
    crash_at_every_operation(plan_dual, "dual-stack create+start");
}

fn crash_at_every_operation(plan: PlanFn, what: &str) {
    let n = ops_of_successful_run(plan);
    let (mut ok, mut left_behind) = (0, 0);
    for k in 1..=n {
        let fx = fixture();
        let before = fx.host.state();
        fx.host.inject(FaultTrigger::Nth(k), Errno::EIO);
        std::fs::create_dir_all(fx.journals()).unwrap();
        let j = crash_run(
            &fx.host,
            &fx.journals().join("c.journal"),
            &plan("dev", 253),
            None,
        );
        if fx.host.state() != before {
            left_behind += 1;
        }
        let Some(j) = j else {
            assert!(!fx.journals().join("c.journal").exists());
            assert_restored(k, &fx.host, &before);
            ok += 1;
            continue;
        };
        let r = recover(&j, &fx.host).unwrap();
        assert_eq!(r.was_closed, None);
        assert_restored(k, &fx.host, &before);
        // Idempotent: a second recover does nothing.
        assert_eq!(
            recover(&j, &fx.host).unwrap().was_closed,
            Some(Outcome::RolledBack)
        );
        ok += 1;
    }
    println!(
        "crash at every operation of {what} (failing it), then recover: {ok} of {n} restored the state before ({left_behind} crashes had left work behind)"
    );
    assert_eq!(ok, n);
    // Failing the boot-stamp read (before the journal) and the first query or two leaves
    // nothing; every later crash point does.
    assert!(
        left_behind + 3 >= n as usize,
        "almost every crash point left work to undo"
    );
}

#[test]
fn crash_between_every_two_steps_then_recover() {
    crash_between_every_two_steps(plan, "create+start");
}

#[test]
fn crash_between_every_two_steps_then_recover_dual_stack() {
    crash_between_every_two_steps(plan_dual, "dual-stack create+start");
}

fn crash_between_every_two_steps(plan: PlanFn, what: &str) {
    let steps = plan("dev", 253);
    let mut ok = 0;
    for s in 0..=steps.len() {
        let fx = fixture();
        let before = fx.host.state();
        std::fs::create_dir_all(fx.journals()).unwrap();
        let j = crash_run(&fx.host, &fx.journals().join("c.journal"), &steps, Some(s))
            .expect("no fault armed");
        recover(&j, &fx.host).unwrap();
        assert_restored(s as u64, &fx.host, &before);
        ok += 1;
    }
    println!(
        "{what}: crash after k of {} steps (k = 0..={}), then recover: {ok} of {} restored",
        steps.len(),
        steps.len(),
        steps.len() + 1
    );
}

#[test]
fn fault_during_undo_then_recover() {
    let n = ops_of_successful_run(plan);
    let (mut incomplete, mut ok) = (0, 0);
    for k in 1..=n {
        let fx = fixture();
        let before = fx.host.state();
        fx.host.inject(FaultTrigger::Nth(k), Errno::EIO);
        fx.host.inject(FaultTrigger::Nth(k + 1), Errno::EBUSY);
        let r = Executor::new(&fx.host, fx.journals())
            .unwrap()
            .run("dev", &[], &plan("dev", 253));
        fx.host.clear_faults();
        match r {
            Err(ExecError::UndoIncomplete { journal, .. }) => {
                incomplete += 1;
                recover(&journal, &fx.host).unwrap();
            }
            Err(ExecError::RolledBack { .. }) => {}
            Err(ExecError::Host(HostError::Os {
                op: OpKind::BootStamp,
                ..
            })) => {}
            other => panic!("k={k}: {other:?}"),
        }
        assert_restored(k, &fx.host, &before);
        ok += 1;
    }
    println!(
        "second fault during undo: {incomplete} undo(s) interrupted; after recover {ok} of {n} restored"
    );
    assert!(incomplete > 0);
    assert_eq!(ok, n);
}

#[test]
fn fault_during_recover_then_recover_again() {
    let n = ops_of_successful_run(plan);
    let mut ok = 0;
    for k in 1..=n {
        let fx = fixture();
        let before = fx.host.state();
        std::fs::create_dir_all(fx.journals()).unwrap();
        // Crash after the whole plan, then fail the k-th operation of the recovery.
        let j = crash_run(
            &fx.host,
            &fx.journals().join("c.journal"),
            &plan("dev", 253),
            None,
        )
        .expect("no fault armed");
        fx.host.inject(FaultTrigger::Nth(k), Errno::EIO);
        let first = recover(&j, &fx.host);
        fx.host.clear_faults();
        if first.is_err() {
            recover(&j, &fx.host).unwrap();
        }
        assert_restored(k, &fx.host, &before);
        ok += 1;
    }
    println!("fault at operation k of recover, then recover again: {ok} of {n} restored");
}

#[test]
fn refusals_change_nothing() {
    // devfs ruleset not loaded: refused before mounting (it would expose every device).
    let fx = fixture();
    fx.host.unload_devfs_ruleset(5).unwrap();
    let before = fx.host.state();
    let e = Executor::new(&fx.host, fx.journals())
        .unwrap()
        .run("dev", &[], &plan("dev", 253))
        .unwrap_err();
    assert!(
        e.to_string().contains("devfs ruleset 5 is not loaded"),
        "{e}"
    );
    assert_eq!(fx.host.state(), before);

    // Jail name taken: EEXIST, everything before it undone.
    let fx = fixture();
    let exec = Executor::new(&fx.host, fx.journals()).unwrap();
    exec.run("dev", &[], &plan("dev", 253)).unwrap();
    let before = fx.host.state();
    // Another jail's plan that asks for the name "dev".
    let mut again = plan("other", 254);
    for op in &mut again {
        if let Op::CreateJail { spec } = op {
            spec.name = "dev".into();
        }
    }
    let e = exec.run("dev-again", &[], &again).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EEXIST), "{e}");
    assert_eq!(fx.host.state(), before);

    // Destroying the template snapshot while a jail's clone exists: refused, nothing changed.
    let e = fx
        .host
        .dataset_destroy(&format!("{SKEL}@base"))
        .unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EEXIST));
    // Unmounting the jail's root while the jail runs: refused.
    let e = fx
        .host
        .unmount(p("/zdata/jails/dev-nullfs-base"), false)
        .unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EBUSY));
    assert_eq!(fx.host.state(), before);
    assert!(fx.host.log().iter().any(|l| l.op == OpKind::DatasetDestroy));
}
