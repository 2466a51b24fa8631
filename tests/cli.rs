//! The `thinjail` command as scripts use it.

use std::path::Path;

mod common;
use common::{err as stderr, out as stdout, thinjail};

fn recipe_conf() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("thinjail-core/tests/data/recipe-jail.conf")
}

#[test]
fn dry_run_without_arguments_prints_the_dev_jail_create_and_start_plan() {
    let o = thinjail(&["--dry-run"]);
    assert!(o.status.success());
    let s = stdout(&o);
    assert!(s.starts_with("#!/bin/sh\n# thinjail plan: create jail dev, then start jail dev\n"));
    assert!(s.contains(
        "zfs clone zdata/jails/templates/14.2-RELEASE-skeleton@base zdata/jails/containers/dev"
    ));
    assert!(s.contains("jexec -l dev /bin/sh /etc/rc"));
}

#[test]
fn help_everywhere() {
    for args in [
        vec!["--help"],
        vec!["conf", "--help"],
        vec!["conf", "check", "--help"],
        vec!["conf", "fmt", "--help"],
        vec!["conf", "dump", "--help"],
        vec!["conf", "render", "--help"],
        vec!["plan", "--help"],
    ] {
        let o = thinjail(&args);
        assert!(o.status.success(), "{args:?}");
        assert!(stdout(&o).contains("Usage:"), "{args:?}");
    }
}

#[test]
fn conf_check_ok_and_located_errors() {
    let o = thinjail(&["conf", "check", recipe_conf().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).is_empty() && stderr(&o).is_empty());

    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.conf");
    std::fs::write(&bad, "dev {\n  path = \"/x;\n}\n").unwrap();
    let bad2 = d.path().join("bad2.conf");
    std::fs::write(&bad2, "dev {\n  path = \"/j/$nope\";\n}\n").unwrap();
    let o = thinjail(&[
        "conf",
        "check",
        recipe_conf().to_str().unwrap(),
        bad.to_str().unwrap(),
        bad2.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "{}:2:10: unterminated string\n{}:2:3: jail \"dev\": path: variable \"nope\" not found\n",
            bad.display(),
            bad2.display()
        )
    );
}

#[test]
fn conf_fmt_is_canonical_and_idempotent() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("j.conf");
    std::fs::write(
        &f,
        "# top\nexec.clean;dev{vnet;path=\"/j/$name\" ; ip4.addr = 1.2.3.4 , 1.2.3.5;}\n",
    )
    .unwrap();
    let o = thinjail(&["conf", "fmt", f.to_str().unwrap()]);
    assert!(o.status.success());
    let once = stdout(&o);
    assert_eq!(
        once,
        "# top\nexec.clean;\n\ndev {\n  vnet;\n  path = \"/j/${name}\";\n  ip4.addr = 1.2.3.4, 1.2.3.5;\n}\n"
    );
    std::fs::write(&f, &once).unwrap();
    assert_eq!(
        stdout(&thinjail(&["conf", "fmt", f.to_str().unwrap()])),
        once
    );
}

#[test]
fn conf_dump_is_jail8s_view() {
    let o = thinjail(&["conf", "dump", recipe_conf().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let dev = &v["dev"];
    assert_eq!(
        dev["path"],
        serde_json::json!(["/zdata/jails/dev-nullfs-base"])
    );
    assert_eq!(dev["vnet"], serde_json::json!(true));
    assert_eq!(dev["vnet.interface"], serde_json::json!(["epair253b"]));
    assert!(
        dev.get("id").is_none() && dev.get("epair").is_none(),
        "variables are not parameters"
    );
    assert!(v.get("*").is_none(), "wildcard not dumped");
    assert_eq!(v.as_object().unwrap().len(), 1);
}

#[test]
fn plan_ops_with_defaults_and_arguments() {
    for op in [
        "host-init",
        "template-create",
        "template-update",
        "create",
        "start",
        "stop",
        "destroy",
        "enable",
        "up",
    ] {
        let o = thinjail(&["plan", op]);
        assert!(o.status.success(), "{op}: {}", stderr(&o));
        assert!(stdout(&o).starts_with("#!/bin/sh\n"), "{op}");
    }
    let o = thinjail(&[
        "plan",
        "start",
        "--name",
        "web",
        "--address",
        "10.0.0.5/8",
        "--gateway",
        "10.0.0.1",
        "--epair",
        "derived",
    ]);
    assert!(o.status.success());
    let s = stdout(&o);
    assert!(s.contains("jexec web ifconfig \"$epair_b\" inet 10.0.0.5/8 up"));
    assert!(s.contains("ifconfig \"$epair_a\" name web_a"));
    let o = thinjail(&[
        "plan",
        "host-init",
        "--storage",
        "dir",
        "--root",
        "/usr/jails",
    ]);
    assert!(stdout(&o).contains("mkdir -p /usr/jails/templates"));
    let o = thinjail(&["plan", "start", "--gateway", "10.9.9.9"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("thinjail: invalid gateway: not inside 192.168.7.0/24"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn conf_render_prints_the_three_files() {
    let o = thinjail(&["conf", "render"]);
    assert!(o.status.success());
    let s = stdout(&o);
    assert!(s.contains("==> /etc/jail.conf <=="));
    assert!(s.contains("==> /etc/jail.conf.d/dev.conf <=="));
    assert!(s.contains("==> /zdata/jails/dev-nullfs-base.fstab <=="));
    assert!(s.contains(
        "/zdata/jails/containers/dev /zdata/jails/dev-nullfs-base/skeleton nullfs rw 0 0"
    ));
}
