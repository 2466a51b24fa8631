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
use thinjail_release::{DecodeMode, XzChunkReader};

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

/// (own CPU seconds incl. all threads, CPU seconds of waited-for children) from
/// `/proc/self/stat` (Linux; `None` elsewhere). Clock ticks are 100 Hz on Linux.
fn cpu() -> Option<(f64, f64)> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<f64> = rest
        .split(' ')
        .skip(11)
        .take(4)
        .filter_map(|x| x.parse().ok())
        .collect();
    (f.len() == 4).then(|| ((f[0] + f[1]) / 100.0, (f[2] + f[3]) / 100.0))
}

/// Wall time and CPU time of one run.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    cpu: Option<f64>,
}

fn time_cmd(cmd: &mut Command) -> Run {
    let c0 = cpu();
    let t = Instant::now();
    let st = cmd.stdout(Stdio::null()).status().expect("spawn");
    let wall = t.elapsed();
    assert!(st.success(), "{cmd:?} failed");
    let cpu = c0.zip(cpu()).map(|(a, b)| b.1 - a.1);
    Run { wall, cpu }
}

/// (min wall, median wall, median CPU) in seconds.
fn stats(v: &[Run]) -> (f64, f64, Option<f64>) {
    let mut w: Vec<f64> = v.iter().map(|r| r.wall.as_secs_f64()).collect();
    w.sort_by(f64::total_cmp);
    let mut c: Vec<f64> = v.iter().filter_map(|r| r.cpu).collect();
    c.sort_by(f64::total_cmp);
    (
        w[0],
        w[w.len() / 2],
        (c.len() == v.len()).then(|| c[c.len() / 2]),
    )
}

fn line(name: &str, (min, med, cpu): (f64, f64, Option<f64>)) {
    let cpu = cpu
        .map(|c| format!("  cpu(median) {c:7.2}s"))
        .unwrap_or_default();
    println!("  {name:<24} min {min:7.3}s  median {med:7.3}s{cpu}");
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
            "multi-block (xz -T2, 16 MiB blocks; 2 MiB in --test)",
            Compression::MultiBlock {
                preset,
                threads: 2,
                block_size: if quick { 2 << 20 } else { 16 << 20 },
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
        let (mut ours, mut bsd, mut floor, mut dec) = (vec![], vec![], vec![], vec![]);
        for _ in 0..runs {
            fresh(&out);
            let c0 = cpu();
            let t = Instant::now();
            let rep = extract_txz(&fx.archive, &out, &ExtractOptions::default()).expect("extract");
            let wall = t.elapsed();
            ours.push(Run {
                wall,
                cpu: c0.zip(cpu()).map(|(a, b)| b.0 - a.0),
            });
            let c0 = cpu();
            let t = Instant::now();
            let f = std::fs::File::open(&fx.archive).expect("open");
            let mut r = XzChunkReader::spawn(f, DecodeMode::Parallel).expect("decoder");
            std::io::copy(&mut r, &mut std::io::sink()).expect("decode");
            drop(r);
            dec.push(Run {
                wall: t.elapsed(),
                cpu: c0.zip(cpu()).map(|(a, b)| b.0 - a.0),
            });
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
        let o = stats(&ours);
        line("thinjail", o);
        let d = stats(&dec);
        line("liblzma decode only", d);
        println!(
            "  thinjail / its own decode-only floor: {:.2}x (min) {:.2}x (median)",
            o.0 / d.0,
            o.1 / d.1
        );
        if peers {
            let b = stats(&bsd);
            let f = stats(&floor);
            line("bsdtar -xpf --unlink", b);
            line("xz -dc -T0 >/dev/null", f);
            println!(
                "  speedup vs bsdtar: {:.2}x (min) {:.2}x (median); thinjail / floor: {:.2}x (min) {:.2}x (median)",
                b.0 / o.0,
                b.1 / o.1,
                o.0 / f.0,
                o.1 / f.1
            );
            if let (Some(oc), Some(bc), Some(fc)) = (o.2, b.2, f.2) {
                println!(
                    "  CPU seconds: bsdtar / thinjail {:.2}x, thinjail / floor {:.2}x",
                    bc / oc,
                    oc / fc
                );
            }
        }
    }
}
