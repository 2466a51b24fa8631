#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! Time per `clone` of one snapshot, per backend, with `zfs clone` run from a shell as the peer
//! (what a user would otherwise script), side by side in one run.
//!
//! Needs a scratch pool named by `THINJAIL_TEST_ZPOOL` (zfs-fuse on Linux); without it the
//! benchmark prints why and does nothing. Group `zfs_clone`: clones get `canmount=off` on every
//! side, so no side pays for a mount (old zfs(8) mounts even `canmount=noauto` clones). Group
//! `zfs_clone_mounted`: clone and mount, as a plain `zfs clone` does, against
//! `Cli::clone_and_mount`. Each sample clones `iters` new datasets; they are destroyed outside
//! the timed region. `cargo bench -- --test` runs each side once.

use criterion::{Criterion, criterion_group, criterion_main};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use thinjail::zfs::{CanMount, Cli, DatasetName, Props, SnapshotName, Zfs};

static SEQ: AtomicUsize = AtomicUsize::new(0);

struct Setup {
    root: DatasetName,
    snap: SnapshotName,
}

fn setup() -> Option<Setup> {
    let Ok(pool) = std::env::var("THINJAIL_TEST_ZPOOL") else {
        eprintln!("zfs_clone: skipped: set THINJAIL_TEST_ZPOOL to a scratch zfs pool");
        return None;
    };
    let cli = Cli::new().expect("zfs(8) runs");
    let root = DatasetName::new(format!("{pool}/tj-bench-{}", std::process::id())).unwrap();
    let tmpl = root.child("template").unwrap();
    cli.create_with_parents(&tmpl, &Props::new())
        .expect("create template");
    let snap = tmpl.snapshot("skeleton").unwrap();
    cli.snapshot(std::slice::from_ref(&snap)).expect("snapshot");
    Some(Setup { root, snap })
}

fn destroy(names: &[DatasetName]) {
    for n in names {
        for _ in 0..50 {
            let ok = Command::new("zfs")
                .args(["destroy", n.as_str()])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Times `iters` clones made by `clone_one`, then destroys them untimed.
fn run(s: &Setup, tag: &str, iters: u64, clone_one: &dyn Fn(&DatasetName)) -> Duration {
    let names: Vec<DatasetName> = (0..iters)
        .map(|_| {
            let i = SEQ.fetch_add(1, Ordering::Relaxed);
            s.root.child(&format!("{tag}{i}")).unwrap()
        })
        .collect();
    let t = Instant::now();
    for n in &names {
        clone_one(n);
    }
    let d = t.elapsed();
    destroy(&names);
    d
}

fn zfs_clone(c: &mut Criterion) {
    let Some(s) = setup() else { return };
    let props = Props::new().canmount(CanMount::Off);
    let cli = Cli::new().unwrap();
    let mut g = c.benchmark_group("zfs_clone");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("sh -c 'zfs clone' (peer)", |b| {
        b.iter_custom(|iters| {
            run(&s, "sh", iters, &|n| {
                let cmd = format!(
                    "zfs clone -o canmount=off '{}' '{}'",
                    s.snap.as_str(),
                    n.as_str()
                );
                let st = Command::new("sh").args(["-c", &cmd]).status().unwrap();
                assert!(st.success(), "{cmd}");
            })
        })
    });
    g.bench_function("Cli::clone_snapshot", |b| {
        b.iter_custom(|iters| {
            run(&s, "cli", iters, &|n| {
                cli.clone_snapshot(&s.snap, n, &props).expect("clone");
            })
        })
    });
    match thinjail::zfs::lzc_backend() {
        Ok(lzc) => {
            g.bench_function("Lzc::clone_snapshot", |b| {
                b.iter_custom(|iters| {
                    run(&s, "lzc", iters, &|n| {
                        lzc.clone_snapshot(&s.snap, n, &props).expect("clone");
                    })
                })
            });
        }
        Err(e) => eprintln!("zfs_clone: Lzc side skipped: {e}"),
    }
    g.finish();

    // Clone and mount (what `zfs clone` does): the peer's clone is mounted by zfs(8); thinjail's
    // `Cli::clone_and_mount` keeps that mount and reads the path from the mount table.
    let mut g = c.benchmark_group("zfs_clone_mounted");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    g.bench_function("sh -c 'zfs clone' (peer, mounts)", |b| {
        b.iter_custom(|iters| {
            run(&s, "shm", iters, &|n| {
                let cmd = format!("zfs clone '{}' '{}'", s.snap.as_str(), n.as_str());
                let st = Command::new("sh").args(["-c", &cmd]).status().unwrap();
                assert!(st.success(), "{cmd}");
            })
        })
    });
    g.bench_function("Cli::clone_and_mount", |b| {
        b.iter_custom(|iters| {
            run(&s, "clim", iters, &|n| {
                cli.clone_and_mount(&s.snap, n, &Props::new())
                    .expect("clone and mount");
            })
        })
    });
    g.finish();
    for _ in 0..50 {
        let ok = Command::new("zfs")
            .args(["destroy", "-R", "-f", s.root.as_str()])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("zfs_clone: could not destroy {}", s.root);
}

criterion_group!(benches, zfs_clone);
criterion_main!(benches);
