//! Teardown (stop + destroy) as a roll-forward plan: it must complete, and after a failure or a
//! crash at any operation `recover` finishes it. Create followed by teardown returns the host to
//! exactly the state before the create.

use std::panic::{AssertUnwindSafe, catch_unwind};

use thinjail_core::exec::{Context, ExecError, Executor, IfRef, Op, recover, recover_dir};
use thinjail_core::host::{Errno, HostError, OpKind};
use thinjail_core::sim::{FaultTrigger, quiet_simulated_crashes};

mod sim_fixture;
use sim_fixture::*;

/// A fixture with the jail `dev` created and started; returns its context and the state before.
fn started() -> (Fx, Context, thinjail_core::sim::SimState) {
    let fx = fixture();
    let before = fx.host.state();
    let ctx = Executor::new(&fx.host, fx.journals())
        .unwrap()
        .run("dev", &[], &plan("dev", 253))
        .unwrap();
    (fx, ctx, before)
}

#[test]
fn create_then_teardown_returns_to_the_state_before() {
    let (fx, ctx, before) = started();
    assert_ne!(fx.host.state(), before);
    Executor::new(&fx.host, fx.journals())
        .unwrap()
        .run_forward("dev-down", &[], &teardown("dev", &ctx))
        .unwrap();
    assert_eq!(fx.host.state(), before);
    // Idempotent: running the teardown again changes nothing and succeeds.
    Executor::new(&fx.host, fx.journals())
        .unwrap()
        .run_forward("dev-down", &[], &teardown("dev", &ctx))
        .unwrap();
    assert_eq!(fx.host.state(), before);
}

#[test]
fn teardown_ops_are_refused_by_the_undo_executor_and_vars_by_run_forward() {
    let (fx, ctx, _) = started();
    let exec = Executor::new(&fx.host, fx.journals()).unwrap();
    let st = fx.host.state();
    let e = exec.run("x", &[], &teardown("dev", &ctx)).unwrap_err();
    assert!(e.to_string().contains("cannot be undone"), "{e}");
    let e = exec
        .run_forward(
            "x",
            &[],
            &[Op::DestroyIf {
                iface: IfRef::var("e.a"),
            }],
        )
        .unwrap_err();
    assert!(e.to_string().contains("name interfaces directly"), "{e}");
    assert_eq!(fx.host.state(), st);
}

fn ops_of_teardown() -> u64 {
    let (fx, ctx, _) = started();
    let (t0, _) = fx.host.op_counts();
    Executor::new(&fx.host, fx.journals())
        .unwrap()
        .run_forward("d", &[], &teardown("dev", &ctx))
        .unwrap();
    fx.host.op_counts().0 - t0
}

#[test]
fn fault_at_every_teardown_operation_then_recover_completes_it() {
    let n = ops_of_teardown();
    let mut ok = 0;
    for k in 1..=n {
        let (fx, ctx, before) = started();
        let running = fx.host.state();
        fx.host.inject(FaultTrigger::Nth(k), Errno::EIO);
        let r = Executor::new(&fx.host, fx.journals()).unwrap().run_forward(
            "d",
            &[],
            &teardown("dev", &ctx),
        );
        let journal = match r {
            Err(ExecError::Incomplete { journal, cause, .. }) => {
                assert_eq!(cause.errno(), Some(Errno::EIO), "k={k}");
                journal
            }
            // The boot stamp is read before the journal exists: the teardown did not begin.
            Err(ExecError::Host(HostError::Os {
                op: OpKind::BootStamp,
                ..
            })) => {
                assert_eq!(fx.host.state(), running, "k={k}");
                ok += 1;
                continue;
            }
            other => panic!("k={k}: expected an incomplete teardown, got {other:?}"),
        };
        let rep = recover(&journal, &fx.host).unwrap();
        assert!(rep.resumed >= 1, "k={k}");
        assert_eq!(fx.host.state(), before, "k={k}");
        ok += 1;
    }
    println!(
        "teardown: fault at every operation, then recover: {ok} of {n} completed to the state before the create"
    );
    assert_eq!(ok, n);
}

#[test]
fn crash_after_every_teardown_operation_then_recover_completes_it() {
    quiet_simulated_crashes();
    let n = ops_of_teardown();
    let mut ok = 0;
    for k in 1..=n {
        let (fx, ctx, before) = started();
        let running = fx.host.state();
        fx.host.inject_crash_after(FaultTrigger::Nth(k));
        let r = catch_unwind(AssertUnwindSafe(|| {
            Executor::new(&fx.host, fx.journals()).unwrap().run_forward(
                "d",
                &[],
                &teardown("dev", &ctx),
            )
        }));
        assert!(r.is_err(), "k={k}: crashed");
        let done = recover_dir(&fx.journals(), &fx.host).unwrap();
        if done.is_empty() {
            // Died after reading the boot stamp, before the journal: nothing was done.
            assert_eq!(fx.host.state(), running, "k={k}");
            ok += 1;
            continue;
        }
        assert_eq!(done.len(), 1, "k={k}");
        assert_eq!(fx.host.state(), before, "k={k}");
        ok += 1;
    }
    println!(
        "teardown: crash right after every operation, then recover: {ok} of {n} completed to the state before the create"
    );
    assert_eq!(ok, n);
}
