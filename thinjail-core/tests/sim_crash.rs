//! Crash right *after* a host operation took effect and before anything else was journaled
//! (SimHost's `inject_crash_after`: the operation happens, then the "process" dies), at every
//! operation of the create-and-start plan (IPv4, and dual-stack), then `recover` from the
//! journal.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use thinjail_core::exec::{Executor, Op, Outcome, Transaction, recover, recover_dir};
use thinjail_core::sim::{FaultTrigger, SimHost, SimulatedCrash, quiet_simulated_crashes};

mod sim_fixture;
use sim_fixture::*;

/// This test binary again, running only `test`, with `env` set to `dir` (the child's side).
fn spawn_child(test: &str, env: &str, dir: &Path) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--test-threads=1"])
        .env(env, dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits (polling every `poll_ms`, at most a minute) until the journals in `jdir` hold
/// `threshold` lines in all; returns the count.
fn wait_for_journal_lines(jdir: &Path, threshold: usize, poll_ms: u64) -> usize {
    let t = std::time::Instant::now();
    loop {
        let n: usize = std::fs::read_dir(jdir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| {
                        std::fs::read_to_string(e.path())
                            .unwrap_or_default()
                            .lines()
                            .count()
                    })
                    .sum()
            })
            .unwrap_or(0);
        if n >= threshold {
            return n;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(60),
            "child made no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(poll_ms));
    }
}

/// Run the plan in a transaction until the simulated crash; true if it crashed.
fn run_until_crash(host: &SimHost, journal: &Path, plan: fn(&str, u8) -> Vec<Op>) -> bool {
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
    crash_after_every_operation(plan, "create+start");
}

#[test]
fn crash_after_every_operation_took_effect_then_recover_dual_stack() {
    crash_after_every_operation(plan_dual, "dual-stack create+start");
}

fn crash_after_every_operation(plan: fn(&str, u8) -> Vec<Op>, what: &str) {
    quiet_simulated_crashes();
    let n = {
        let fx = fixture();
        std::fs::create_dir_all(fx.journals()).unwrap();
        let (t0, _) = fx.host.op_counts();
        assert!(!run_until_crash(&fx.host, &fx.journals().join("j"), plan));
        fx.host.op_counts().0 - t0
    };
    let (mut restored, mut leaked) = (0, Vec::new());
    for k in 1..=n {
        let fx = fixture();
        std::fs::create_dir_all(fx.journals()).unwrap();
        let before = fx.host.state();
        fx.host.inject_crash_after(FaultTrigger::Nth(k));
        let journal = fx.journals().join("j");
        assert!(run_until_crash(&fx.host, &journal, plan), "k={k}: crashed");
        let crashed_op = fx.host.log().last().unwrap().op;
        // A crash after reading the boot stamp, before the journal was created, left no
        // journal (and changed nothing).
        if journal.exists() {
            recover(&journal, &fx.host).unwrap();
        }
        if fx.host.state() == before {
            restored += 1;
        } else {
            leaked.push((k, crashed_op));
        }
    }
    println!(
        "{what}: crash right after operation k took effect, then recover: {restored} of {n} restored the state before; not restored: {leaked:?}"
    );
    // Also a crash right after the kernel picked the epair's name (before it was journaled):
    // the intent lists the epairs that existed, and recovery destroys the new, unmarked one.
    assert!(leaked.is_empty(), "{leaked:?}");
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

/// A step that takes a little while (so the parent can kill the process mid-plan).
struct Slow(Op);

impl thinjail_core::exec::Action for Slow {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn apply(&self, tx: &mut Transaction<'_>) -> Result<(), thinjail_core::exec::ExecError> {
        std::thread::sleep(std::time::Duration::from_millis(2));
        tx.apply(&self.0)
    }
}

const CHILD_ENV: &str = "THINJAIL_SIM_CRASH_CHILD_DIR";

fn child_plan() -> Vec<Slow> {
    (0..400)
        .flat_map(|i| {
            [
                Slow(Op::MkdirAll {
                    path: format!("/d{i}/x").into(),
                    mode: 0o755,
                }),
                Slow(Op::WriteFile {
                    path: format!("/d{i}/x/f").into(),
                    contents: vec![b'x'; 64],
                    mode: 0o644,
                }),
            ]
        })
        .collect()
}

/// A real process is killed (SIGKILL) in the middle of a plan; a new process recovers from the
/// journal. The kernel model of SimHost dies with the process, so this checks what survives a
/// real kill: the fsync'd journal and the real file tree.
#[test]
fn killed_process_then_recover_restores_the_file_tree() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let dir = Path::new(&dir);
        let host = SimHost::new(dir.join("root")).unwrap();
        let exec = Executor::new(&host, dir.join("journal")).unwrap();
        let _ = exec.run("child", &[], &child_plan());
        return;
    }
    let mut killed_at = Vec::new();
    for threshold in [37, 60, 121] {
        let dir = tempfile::tempdir().unwrap();
        let before = SimHost::new(dir.path().join("root")).unwrap().state();
        let mut child = spawn_child(
            "killed_process_then_recover_restores_the_file_tree",
            CHILD_ENV,
            dir.path(),
        );
        let jdir = dir.path().join("journal");
        let lines = wait_for_journal_lines(&jdir, threshold, 3);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success(), "killed, not finished");
        let host = SimHost::new(dir.path().join("root")).unwrap();
        assert_ne!(host.state(), before, "the killed process left work behind");
        let done = recover_dir(&jdir, &host).unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].1.was_closed, None);
        assert_eq!(host.state(), before);
        killed_at.push(lines);
    }
    println!(
        "process killed with SIGKILL mid-plan (journal lines at kill: {killed_at:?}), then recover in a new process: 3 of 3 restored the file tree"
    );
}

const CHILD_ENV2: &str = "THINJAIL_SIM_CRASH_CHILD2_DIR";

/// The whole create-and-start plan in a child process on a persistent SimHost, killed with
/// SIGKILL at several points; a new process (this one) recovers: kernel model and file tree are
/// back to the state before.
#[test]
fn killed_process_mid_create_then_recover_on_persistent_simhost() {
    if let Ok(dir) = std::env::var(CHILD_ENV2) {
        let dir = Path::new(&dir);
        let host = SimHost::open_persistent(dir.join("root")).unwrap();
        let exec = Executor::new(&host, dir.join("journal")).unwrap();
        let steps: Vec<Slow> = plan("dev", 253).into_iter().map(Slow).collect();
        let _ = exec.run("child", &[], &steps);
        std::thread::sleep(std::time::Duration::from_secs(30)); // wait to be killed
        return;
    }
    // Journal lines of a complete run (before its commit), to spread the kill points over it.
    let total = {
        let fx = fixture();
        std::fs::create_dir_all(fx.journals()).unwrap();
        let mut tx = Transaction::begin(&fx.host, &fx.journals().join("j"), "count").unwrap();
        for s in plan("dev", 253) {
            tx.apply(&s).unwrap();
        }
        let j = tx.abandon();
        std::fs::read_to_string(j).unwrap().lines().count()
    };
    let thresholds: Vec<usize> = (1..=9).map(|i| 1 + i * (total - 2) / 10).collect();
    let mut restored = 0;
    let mut killed_at = Vec::new();
    for &threshold in &thresholds {
        let dir = tempfile::tempdir().unwrap();
        let before = {
            let h = SimHost::open_persistent(dir.path().join("root")).unwrap();
            setup(&h);
            h.state()
        };
        let mut child = spawn_child(
            "killed_process_mid_create_then_recover_on_persistent_simhost",
            CHILD_ENV2,
            dir.path(),
        );
        let jdir = dir.path().join("journal");
        let lines = wait_for_journal_lines(&jdir, threshold, 1);
        child.kill().unwrap();
        child.wait().unwrap();
        let host = SimHost::open_persistent(dir.path().join("root")).unwrap();
        recover_dir(&jdir, &host).unwrap();
        assert_eq!(host.state(), before, "killed at {lines} journal lines");
        restored += 1;
        killed_at.push(lines);
    }
    println!(
        "create+start in a child process on a persistent SimHost, SIGKILLed at journal lines {killed_at:?}, recovered by a new process: {restored} of {} restored",
        thresholds.len()
    );
}
