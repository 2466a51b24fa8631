//! Helpers shared by the command-line tests: run the `thinjail` binary, on a simulated host
//! under a root, and check its outcome.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `thinjail ARGS`.
pub fn thinjail(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_thinjail"))
        .args(args)
        .output()
        .unwrap()
}

/// `thinjail --sim --root ROOT ARGS`.
pub fn sim(root: &Path, args: &[&str]) -> Output {
    let mut a = vec!["--sim", "--root", root.to_str().unwrap()];
    a.extend_from_slice(args);
    thinjail(&a)
}

/// Its standard output.
pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Its standard error.
pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success; returns standard output.
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        out(&o),
        err(&o)
    );
    out(&o)
}

/// Asserts failure with `needle` in standard error; returns standard error.
pub fn fails(o: Output, needle: &str) -> String {
    assert!(!o.status.success(), "unexpected success:\n{}", out(&o));
    let e = err(&o);
    assert!(e.contains(needle), "{needle:?} not in:\n{e}");
    e
}

/// A simulated host under `dir/root` with plain-directory storage: host init and a template from
/// a generated release (in `dir/rel`).
pub fn directory_host(dir: &Path) -> PathBuf {
    let rel = dir.join("rel");
    let root = dir.join("root");
    ok(thinjail(&["release", "generate", rel.to_str().unwrap()]));
    ok(sim(&root, &["host", "init", "--storage", "dir"]));
    ok(sim(
        &root,
        &[
            "template",
            "create",
            "--storage",
            "dir",
            "--archive",
            rel.join("base.txz").to_str().unwrap(),
        ],
    ));
    root
}
