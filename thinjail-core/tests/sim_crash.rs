//! Crash right *after* a host operation took effect and before anything else was journaled
//! (SimHost's `inject_crash_after`: the operation happens, then the "process" dies), at every
//! operation of the create-and-start plan, then `recover` from the journal.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Once;

use thinjail_core::exec::{Executor, Op, Outcome, Transaction, recover, recover_dir};
use thinjail_core::host::OpKind;
use thinjail_core::sim::{FaultTrigger, SimHost, SimulatedCrash};

mod sim_fixture;
use sim_fixture::*;

/// Keep simulated crashes out of the test output; other panics print as usual.
fn quiet_simulated_crashes() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<SimulatedCrash>().is_none() {
                default(info);
            }
        }));
    });
}

/// Run the plan in a transaction until the simulated crash; true if it crashed.
fn run_until_crash(host: &SimHost, journal: &Path) -> bool {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut tx = Transaction::begin(host, journal, "crash-after").unwrap();
        for s in plan("dev", 253) {
            if tx.apply(&s).is_err() {
                break;
            }
        }
        tx.commit().unwrap();
    }));
    match r {
        Ok(()) => false,
        Err(payload) => {
            assert!(
                payload.downcast_ref::<SimulatedCrash>().is_some(),
                "a real panic"
            );
            true
        }
    }
}

#[test]
fn crash_after_every_operation_took_effect_then_recover() {
    quiet_simulated_crashes();
    let n = {
        let fx = fixture();
        std::fs::create_dir_all(fx.journals()).unwrap();
        let (t0, _) = fx.host.op_counts();
        assert!(!run_until_crash(&fx.host, &fx.journals().join("j")));
        fx.host.op_counts().0 - t0
    };
    let (mut restored, mut leaked) = (0, Vec::new());
    for k in 1..=n {
        let fx = fixture();
        std::fs::create_dir_all(fx.journals()).unwrap();
        let before = fx.host.state();
        fx.host.inject_crash_after(FaultTrigger::Nth(k));
        let journal = fx.journals().join("j");
        assert!(run_until_crash(&fx.host, &journal), "k={k}: crashed");
        let crashed_op = fx.host.log().last().unwrap().op;
        recover(&journal, &fx.host).unwrap();
        if fx.host.state() == before {
            restored += 1;
        } else {
            leaked.push((k, crashed_op));
        }
    }
    println!(
        "crash right after operation k took effect, then recover: {restored} of {n} restored the state before; not restored: {leaked:?}"
    );
    // The one documented window: the kernel picks the epair's name, so it cannot be announced
    // before the call.
    assert!(
        leaked.iter().all(|(_, op)| *op == OpKind::EpairCreate),
        "{leaked:?}"
    );
    assert!(leaked.len() <= 1);
}

#[test]
fn recover_dir_finishes_every_open_journal() {
    let fx = fixture();
    let before = fx.host.state();
    let exec = Executor::new(&fx.host, fx.journals()).unwrap();
    // Two interrupted runs and one that rolled back cleanly.
    for name in ["a", "b"] {
        let mut tx = exec.begin(name).unwrap();
        for s in plan(name, 2) {
            tx.apply(&s).unwrap();
        }
        tx.abandon();
    }
    let bad = vec![
        Op::MkdirAll {
            path: "/x/y".into(),
            mode: 0o755,
        },
        Op::Unmount {
            at: "/nowhere".into(),
        },
    ];
    assert!(exec.run("c", &[], &bad).is_err());
    assert_eq!(std::fs::read_dir(fx.journals()).unwrap().count(), 3);
    let done = recover_dir(&fx.journals(), &fx.host).unwrap();
    let mut labels: Vec<_> = done
        .iter()
        .map(|(_, r)| (r.label.clone().unwrap(), r.was_closed))
        .collect();
    labels.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        labels,
        vec![
            ("a".into(), None),
            ("b".into(), None),
            ("c".into(), Some(Outcome::RolledBack))
        ]
    );
    assert!(
        done.iter()
            .filter(|(_, r)| r.was_closed.is_none())
            .all(|(_, r)| r.undone > 10)
    );
    assert_eq!(fx.host.state(), before);
    assert_eq!(std::fs::read_dir(fx.journals()).unwrap().count(), 0);
    assert!(recover_dir(&fx.journals(), &fx.host).unwrap().is_empty());
}

#[test]
fn log_lines_read_well() {
    let fx = fixture();
    fx.host
        .inject(FaultTrigger::Nth(1), thinjail_core::host::Errno::EIO);
    let _ = thinjail_core::host::Host::mkdir(&fx.host, Path::new("/q"), 0o755);
    let line = fx.host.log()[0].to_string();
    assert!(
        line.ends_with(r#"mkdir path "/q": EIO (5) (injected)"#),
        "{line}"
    );
}
