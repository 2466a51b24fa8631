//! Extraction of a generated release-like `base.txz` on tmpfs: thinjail's extractor vs
//! `bsdtar -xpf … --unlink` vs the decompression floor `xz -dc -T0 > /dev/null`, side by side
//! in one run (interleaved rounds), for a single-block (`xz -T1`) and a multi-block
//! (`xz -T2 --block-size`) stream. Prints min/median per tool and the ratios.
//!
//! On Linux bsdtar runs with `--no-fflags` (see below); the other options are as given.
//!
//! `cargo bench --bench extract` (full: THINJAIL_BENCH_MB, default 256 MB of file data,
//! THINJAIL_BENCH_RUNS, default 5, THINJAIL_BENCH_PRESET, default 3);
//! `cargo bench --bench extract -- --test` (quick: 12 MB, one run, CI).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use thinjail_release::extract::{ExtractOptions, extract_txz};
use thinjail_release::fixture::{self, Compression, FixtureSpec};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn fresh(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("create extraction dir");
}

fn time_cmd(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let st = cmd.stdout(Stdio::null()).status().expect("spawn");
    let d = t.elapsed();
    assert!(st.success(), "{cmd:?} failed");
    d
}

fn stats(v: &mut [Duration]) -> (f64, f64) {
    v.sort();
    (v[0].as_secs_f64(), v[v.len() / 2].as_secs_f64())
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let mb = if quick {
        12
    } else {
        env_u64("THINJAIL_BENCH_MB", 256)
    };
    let runs = if quick {
        1
    } else {
        env_u64("THINJAIL_BENCH_RUNS", 5) as usize
    };
    let preset = env_u64("THINJAIL_BENCH_PRESET", if quick { 1 } else { 3 }) as u32;
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let work = tempfile::Builder::new()
        .prefix("thinjail-bench-")
        .tempdir_in(&base)
        .expect("tempdir");
    let peers = have("bsdtar") && have("xz");
    if !peers {
        println!("extract: bsdtar or xz not installed: measuring thinjail only");
    }
    let spec = FixtureSpec::release_like(mb << 20);
    let cases = [
        ("single-block (xz -T1)", Compression::SingleBlock { preset }),
        (
            "multi-block (xz -T2, 16 MiB blocks)",
            Compression::MultiBlock {
                preset,
                threads: 2,
                block_size: 16 << 20,
            },
        ),
    ];
    println!(
        "extract: {} MB of file data on {}, {runs} run(s) each, xz preset {preset}, {} CPUs",
        mb,
        base.display(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    for (label, comp) in cases {
        let dir = work.path().join(label.split(' ').next().unwrap_or("x"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let t = Instant::now();
        let fx = fixture::write_release(&dir, &spec, comp).expect("generate fixture");
        println!(
            "\n{label}: {} entries, {:.1} MB data -> {:.1} MB xz (ratio {:.2}), generated in {:.1}s",
            fx.entries,
            fx.data_bytes as f64 / 1e6,
            fx.compressed_bytes as f64 / 1e6,
            fx.data_bytes as f64 / fx.compressed_bytes as f64,
            t.elapsed().as_secs_f64()
        );
        let out: PathBuf = work.path().join("out");
        let (mut ours, mut bsd, mut floor) = (vec![], vec![], vec![]);
        for _ in 0..runs {
            fresh(&out);
            let t = Instant::now();
            let rep = extract_txz(&fx.archive, &out, &ExtractOptions::default()).expect("extract");
            ours.push(t.elapsed());
            assert_eq!(rep.bytes, fx.data_bytes);
            if peers {
                fresh(&out);
                let mut c = Command::new("bsdtar");
                // On Linux bsdtar maps schg to the immutable attribute (chattr +i), which
                // thinjail does not apply there and which would make the tree undeletable.
                // (-p turns fflags on, so --no-fflags must come after it.)
                c.arg("-xpf")
                    .arg(&fx.archive)
                    .arg("-C")
                    .arg(&out)
                    .arg("--unlink");
                if cfg!(target_os = "linux") {
                    c.arg("--no-fflags");
                }
                bsd.push(time_cmd(&mut c));
                floor.push(time_cmd(
                    Command::new("xz").args(["-dc", "-T0"]).arg(&fx.archive),
                ));
            }
        }
        fresh(&out);
        let (omin, omed) = stats(&mut ours);
        println!("  thinjail            min {omin:7.3}s  median {omed:7.3}s");
        if peers {
            let (bmin, bmed) = stats(&mut bsd);
            let (fmin, fmed) = stats(&mut floor);
            println!("  bsdtar -xpf --unlink min {bmin:7.3}s  median {bmed:7.3}s");
            println!("  xz -dc -T0 >/dev/null min {fmin:7.3}s  median {fmed:7.3}s");
            println!(
                "  speedup vs bsdtar: {:.2}x (min) {:.2}x (median); thinjail / floor: {:.2}x (min) {:.2}x (median)",
                bmin / omin,
                bmed / omed,
                omin / fmin,
                omed / fmed
            );
        }
    }
}
