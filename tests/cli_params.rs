//! `--param` end to end on a simulated host: `jail create NAME --param …` writes the
//! parameters into the jail's jail.conf and its record, `jail start NAME` gives them to the
//! (simulated) kernel, `jail list` prints them, and a bad value is refused before anything
//! changes.

use std::path::Path;

mod common;
use common::*;

/// Every file under `root` with its contents (the simulated host's model included).
fn snapshot(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(p);
                out.push((rel, Vec::new()));
            } else if ft.is_file() {
                out.push((rel, std::fs::read(&p).unwrap()));
            } else {
                out.push((rel, Vec::new()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn params_from_the_command_line_reach_the_jail() {
    let d = tempfile::tempdir().unwrap();
    let rel = d.path().join("rel");
    let root = d.path().join("root");
    ok(thinjail(&["release", "generate", rel.to_str().unwrap()]));
    ok(sim(&root, &["host", "init"]));
    ok(sim(
        &root,
        &[
            "template",
            "create",
            "14.2-RELEASE",
            "--archive",
            rel.join("base.txz").to_str().unwrap(),
        ],
    ));
    let params = [
        "--param",
        "securelevel=3",
        "--param",
        "sysvshm=new",
        "--param",
        "allow.mount.nullfs",
    ];
    // A bad value is refused by create, before anything is written.
    let before = snapshot(&root);
    fails(
        sim(
            &root,
            &["jail", "create", "dev", "--param", "securelevel=abc"],
        ),
        "securelevel",
    );
    assert_eq!(snapshot(&root), before);
    let mut a = vec!["jail", "create", "dev"];
    a.extend_from_slice(&params);
    ok(sim(&root, &a));
    let conf = std::fs::read_to_string(root.join("etc/jail.conf.d/dev.conf")).unwrap();
    assert!(
        conf.contains("securelevel") && conf.contains("sysvshm"),
        "{conf}"
    );
    // jail start uses the recorded parameters; giving them again is fine.
    for extra in [&[][..], &params[..]] {
        let mut a = vec!["jail", "start", "dev"];
        a.extend_from_slice(extra);
        let o = sim(&root, &a);
        // Started with the options it was created with: no note.
        assert!(
            !String::from_utf8_lossy(&o.stderr).contains("differs"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let s = ok(o);
        assert!(
            s.contains("create jail dev with securelevel=3 sysvshm=new"),
            "{s}"
        );
        let s = ok(sim(&root, &["jail", "list"]));
        assert!(s.contains("  params: securelevel=3 sysvshm=new"), "{s}");
        ok(sim(&root, &["jail", "stop", "dev"]));
    }
    // Other parameters than the recorded ones are refused, before anything changes.
    let before = snapshot(&root);
    fails(
        sim(
            &root,
            &["jail", "start", "dev", "--param", "sysvshm=sometimes"],
        ),
        "--param differs",
    );
    assert_eq!(snapshot(&root), before);
    // A jail created with a parameter only jail(8) knows (jail.conf may hold them): its start
    // by thinjail refuses it before anything changes.
    ok(sim(
        &root,
        &["jail", "create", "pj", "--param", "exec.stop=/bin/true"],
    ));
    let before = snapshot(&root);
    fails(sim(&root, &["jail", "start", "pj"]), "pseudo-parameter");
    assert_eq!(snapshot(&root), before);
    ok(sim(&root, &["jail", "destroy", "pj"]));
}
