//! The lifecycle commands end to end on a simulated host (`--sim --root DIR`), as scripts use
//! them: host init, template create from an archive, jail create/start/list/exec/stop/destroy,
//! --dry-run, errors, and `thinjail` with no arguments.

use std::path::Path;

mod common;
use common::*;

#[test]
fn scripted_flow_with_the_recipe_defaults() {
    let d = tempfile::tempdir().unwrap();
    let rel = d.path().join("rel");
    let root = d.path().join("root");
    ok(thinjail(&["release", "generate", rel.to_str().unwrap()]));
    let archive = rel.join("base.txz");
    let manifest = rel.join("MANIFEST");
    ok(sim(&root, &["host", "init"]));
    let s = ok(sim(
        &root,
        &[
            "template",
            "create",
            "14.2-RELEASE",
            "--archive",
            archive.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
        ],
    ));
    assert!(
        s.contains("snapshot zdata/jails/templates/14.2-RELEASE-skeleton@base"),
        "{s}"
    );
    // Real files under the root; paths inside files stay the host's own.
    let skel = root.join("zdata/jails/templates/14.2-RELEASE-skeleton");
    assert!(skel.join("etc/rc").is_file());
    let base = root.join("zdata/jails/templates/14.2-RELEASE-base");
    assert_eq!(
        std::fs::read_link(base.join("etc")).unwrap(),
        Path::new("skeleton/etc")
    );
    ok(sim(&root, &["jail", "create", "dev"]));
    // The jail's clone of the skeleton holds the skeleton's files, as a ZFS clone does.
    let clone = root.join("zdata/jails/containers/dev");
    assert_eq!(
        std::fs::read(clone.join("etc/rc")).unwrap(),
        std::fs::read(skel.join("etc/rc")).unwrap()
    );
    for d in ["usr/local", "var", "root", "tmp"] {
        assert!(clone.join(d).is_dir(), "{d} missing in the clone");
    }
    let conf = std::fs::read_to_string(root.join("etc/jail.conf.d/dev.conf")).unwrap();
    assert!(conf.contains("/zdata/jails/${name}-nullfs-base"), "{conf}");
    assert!(!conf.contains(root.to_str().unwrap()), "{conf}");
    let s = ok(sim(&root, &["jail", "start", "dev"]));
    assert!(s.contains("jail dev running: jid 1"), "{s}");
    let s = ok(sim(&root, &["jail", "list"]));
    let line = s.lines().find(|l| l.starts_with("dev ")).unwrap();
    assert!(line.contains("192.168.7.253/24"), "{s}");
    assert!(line.contains("/zdata/jails/dev-nullfs-base"), "{s}");
    ok(sim(&root, &["jail", "exec", "dev", "sh", "-c", "true"]));
    let log = std::fs::read_to_string(root.join("var/log/jail_console_dev.log")).unwrap();
    assert!(log.contains("/bin/sh /etc/rc"), "{log}");
    // Refusals leave everything as it is.
    fails(sim(&root, &["jail", "destroy", "dev"]), "is running");
    fails(sim(&root, &["jail", "start", "dev"]), "already running");
    fails(
        sim(&root, &["template", "destroy", "14.2-RELEASE"]),
        "has clones",
    );
    ok(sim(&root, &["jail", "restart", "dev"]));
    ok(sim(&root, &["template", "update", "14.2-RELEASE"]));
    ok(sim(&root, &["enable", "dev"]));
    let rc = std::fs::read_to_string(root.join("etc/rc.conf")).unwrap();
    assert!(rc.contains("jail_list=\"dev\""), "{rc}");
    ok(sim(&root, &["jail", "stop", "dev"]));
    fails(sim(&root, &["jail", "stop", "dev"]), "not running");
    assert!(
        clone.join("etc/rc").is_file(),
        "stop leaves the clone mounted"
    );
    ok(sim(&root, &["jail", "destroy", "dev"]));
    assert!(!clone.exists());
    assert!(!root.join("etc/jail.conf.d/dev.conf").exists());
    assert!(!root.join("zdata/jails/dev-nullfs-base").exists());
    let s = ok(sim(&root, &["jail", "list"]));
    assert_eq!(s.lines().count(), 1, "{s}");
    ok(sim(&root, &["template", "destroy", "14.2-RELEASE"]));
    assert!(!base.exists());
    // The snapshot's and the datasets' hidden copies are freed with them.
    for kind in ["ds", "snap"] {
        let store = root.join(".simhost/store").join(kind);
        assert_eq!(std::fs::read_dir(&store).unwrap().count(), 0, "{kind}");
    }
}

/// `jail create` + `jail start` of a dual-stack jail: the IPv6 address and default route are
/// executed (printed steps, `jail list`), the dry run prints the same commands, and a
/// link-local gateway is refused before anything changes.
#[test]
fn ipv6_jail_create_and_start() {
    let d = tempfile::tempdir().unwrap();
    let root = directory_host(d.path());
    let v6 = [
        "--storage",
        "dir",
        "--ipv6",
        "2001:db8:7::fd/64",
        "--ipv6-gateway",
        "2001:db8:7::1",
    ];
    let with = |cmd: &[&str]| -> Vec<String> {
        cmd.iter().chain(v6.iter()).map(|s| s.to_string()).collect()
    };
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    ok(sim(&root, &args(&with(&["jail", "create", "dev"]))));
    let conf = std::fs::read_to_string(root.join("etc/jail.conf.d/dev.conf")).unwrap();
    assert!(conf.contains("2001:db8:7::fd/64"), "{conf}");

    let dry = ok(sim(
        &root,
        &args(&with(&["--dry-run", "jail", "start", "dev"])),
    ));
    assert!(dry.contains("inet6 2001:db8:7::fd/64"), "{dry}");
    assert!(dry.contains("route -6 add default 2001:db8:7::1"), "{dry}");

    let s = ok(sim(&root, &args(&with(&["jail", "start", "dev"]))));
    assert!(s.contains("inet6 2001:db8:7::fd/64"), "{s}");
    assert!(s.contains("route -6 add default 2001:db8:7::1"), "{s}");
    assert!(s.contains("jail dev running"), "{s}");
    let s = ok(sim(&root, &["jail", "list"]));
    let line = s.lines().find(|l| l.starts_with("dev ")).unwrap();
    assert!(line.contains("192.168.7.253/24,2001:db8:7::fd/64"), "{s}");
    ok(sim(&root, &["jail", "stop", "dev", "--storage", "dir"]));

    // A link-local gateway cannot be given its interface scope: refused at start, nothing
    // started.
    let ll = [
        "jail",
        "create",
        "ll",
        "--storage",
        "dir",
        "--address",
        "192.168.7.77/24",
        "--ipv6",
        "2001:db8:7::77/64",
        "--ipv6-gateway",
        "fe80::1",
    ];
    ok(sim(&root, &ll));
    fails(sim(&root, &["jail", "start", "ll"]), "link-local");
    let s = ok(sim(&root, &["jail", "list"]));
    let line = s.lines().find(|l| l.starts_with("ll ")).unwrap();
    assert!(!line.contains("2001:db8"), "not running: {s}");
    ok(sim(&root, &["jail", "destroy", "ll"]));
    // Bad addresses are refused by the model, before anything runs.
    fails(
        sim(
            &root,
            &[
                "jail",
                "create",
                "bad",
                "--storage",
                "dir",
                "--ipv6",
                "fe80::5/64",
            ],
        ),
        "link-local",
    );
    assert!(!root.join("var/db/thinjail/jails/bad.json").exists());
    ok(sim(&root, &["jail", "destroy", "dev", "--storage", "dir"]));
}

#[test]
fn plain_directory_storage() {
    let d = tempfile::tempdir().unwrap();
    let root = directory_host(d.path());
    ok(sim(&root, &["jail", "create", "dev", "--storage", "dir"]));
    assert!(root.join("zdata/jails/containers/dev/etc/rc").is_file());
    ok(sim(&root, &["jail", "start", "dev", "--storage", "dir"]));
    ok(sim(&root, &["jail", "stop", "dev", "--storage", "dir"]));
    ok(sim(&root, &["jail", "destroy", "dev", "--storage", "dir"]));
    assert!(!root.join("zdata/jails/containers/dev").exists());
}

#[test]
fn dry_run_prints_plans_and_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    for (args, needle) in [
        (vec!["host", "init"], "zfs create"),
        (vec!["template", "create", "14.2-RELEASE"], "base.txz"),
        (vec!["template", "update", "14.2-RELEASE"], "freebsd-update"),
        (vec!["jail", "create", "dev"], "zfs clone"),
        (vec!["jail", "start", "dev"], "/etc/rc"),
        (vec!["jail", "stop", "dev"], "rc.shutdown"),
        (vec!["jail", "restart", "dev"], "rc.shutdown"),
        (vec!["jail", "destroy", "dev"], "zfs destroy"),
        (vec!["enable", "dev"], "jail_list"),
        (vec!["release", "fetch"], "base.txz"),
    ] {
        let mut a = vec!["--dry-run"];
        a.extend(args.iter());
        let s = ok(sim(&root, &a));
        assert!(s.contains(needle), "{args:?}: {s}");
        // --dry-run also works after the command.
        let mut b = args.clone();
        b.push("--dry-run");
        ok(sim(&root, &b));
    }
    assert!(!root.exists(), "dry runs must not touch the host");
}

#[test]
fn errors_are_clear() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    fails(sim(&root, &["jail", "start", "dev"]), "does not exist");
    ok(sim(&root, &["host", "init"]));
    fails(
        sim(&root, &["jail", "create", "dev"]),
        "run template create first",
    );
    fails(
        sim(&root, &["template", "create", "14.2-RELEASE"]),
        "run `thinjail release fetch` or pass --archive",
    );
    fails(
        sim(
            &root,
            &["template", "create", "--archive", "/nonexistent/base.txz"],
        ),
        "is not a file",
    );
    fails(sim(&root, &["jail", "create", "not/valid"]), "invalid");
    fails(sim(&root, &["jail", "exec", "dev", "sh"]), "not running");
    // Without --sim on this OS (or without a wired-in FreeBSD host): a clear error.
    if !cfg!(target_os = "freebsd") {
        fails(thinjail(&["host", "init"]), "not built for this OS");
    }
    // --root requires --sim.
    let o = thinjail(&["--root", "/tmp/x", "jail", "list"]);
    assert!(!o.status.success());
}

#[test]
fn a_tampered_archive_is_refused_and_nothing_is_left() {
    let d = tempfile::tempdir().unwrap();
    let rel = d.path().join("rel");
    let root = d.path().join("root");
    ok(thinjail(&["release", "generate", rel.to_str().unwrap()]));
    ok(sim(&root, &["host", "init"]));
    let a = rel.join("base.txz");
    let mut bytes = std::fs::read(&a).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&a, bytes).unwrap();
    fails(
        sim(
            &root,
            &[
                "template",
                "create",
                "--archive",
                a.to_str().unwrap(),
                "--manifest",
                rel.join("MANIFEST").to_str().unwrap(),
            ],
        ),
        "undone",
    );
    assert!(
        !root
            .join("zdata/jails/templates/14.2-RELEASE-base")
            .exists()
    );
    assert!(
        !root
            .join("zdata/jails/media/14.2-RELEASE-base.txz")
            .exists()
    );
}

#[test]
fn no_arguments_runs_the_main_job() {
    if cfg!(target_os = "freebsd") {
        return; // real host: not in tests
    }
    let t0 = std::time::Instant::now();
    let o = thinjail(&[]);
    let s = ok(o);
    assert!(s.contains("SIMULATED"), "{s}");
    assert!(s.contains("GENERATED"), "{s}");
    assert!(s.contains("jail dev running"), "{s}");
    assert!(s.contains("192.168.7.253/24"), "{s}");
    assert!(
        s.contains("devfs on /zdata/jails/dev-nullfs-base/dev (ruleset=5)"),
        "{s}"
    );
    assert!(s.contains("description \"jail:dev\"; in igc0bridge"), "{s}");
    println!("thinjail (no arguments) took {:?}", t0.elapsed());
    assert!(t0.elapsed() < std::time::Duration::from_secs(30));
    // Clean up the temporary root it printed.
    if let Some(l) = s.lines().find(|l| l.starts_with("continue with: ")) {
        let root = l.split_whitespace().nth(5).unwrap();
        let _ = std::fs::remove_dir_all(root);
        let _ = std::fs::remove_dir_all(format!("{root}.release"));
    }
}

#[test]
fn eight_processes_create_and_start_jails_on_one_simulated_host() {
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
            "--archive",
            rel.join("base.txz").to_str().unwrap(),
        ],
    ));
    let children: Vec<_> = (0..8)
        .map(|i| {
            let root = root.clone();
            std::thread::spawn(move || {
                let name = format!("p{i}");
                let addr = format!("192.168.7.{}/24", 20 + i);
                let c = sim(&root, &["jail", "create", &name, "--address", &addr]);
                if !c.status.success() {
                    return c;
                }
                sim(&root, &["jail", "start", &name, "--address", &addr])
            })
        })
        .collect();
    let mut n = 0;
    for c in children {
        ok(c.join().unwrap());
        n += 1;
    }
    let s = ok(sim(&root, &["jail", "list"]));
    let running = s
        .lines()
        .skip(1)
        .filter(|l| l.split_whitespace().nth(1).is_some_and(|j| j != "-"))
        .count();
    println!("8 processes: {n} of 8 create+start succeeded, {running} running");
    assert_eq!(running, 8, "{s}");
}

#[test]
fn later_commands_use_the_settings_recorded_at_create() {
    let d = tempfile::tempdir().unwrap();
    let root = directory_host(d.path());
    let create = [
        "jail",
        "create",
        "web",
        "--storage",
        "dir",
        "--address",
        "192.168.7.9/24",
        "--hostname",
        "web.example",
    ];
    ok(sim(&root, &create));
    let record = std::fs::read_to_string(root.join("var/db/thinjail/jails/web.json")).unwrap();
    assert!(
        record.contains("\"address\": \"192.168.7.9/24\""),
        "{record}"
    );
    assert!(record.contains("\"storage\": \"Directories\""), "{record}");

    // No settings on the command line: the recorded ones, also for --dry-run.
    let dry = ok(sim(&root, &["--dry-run", "jail", "start", "web"]));
    assert!(dry.contains("inet 192.168.7.9/24"), "{dry}");
    let s = ok(sim(&root, &["jail", "start", "web"]));
    assert!(s.contains("inet 192.168.7.9/24"), "{s}");
    let s = ok(sim(&root, &["jail", "list"]));
    let line = s.lines().find(|l| l.starts_with("web ")).unwrap();
    assert!(line.contains("192.168.7.9/24"), "{s}");

    // A setting given again with the same value is fine; another value is refused and nothing
    // changes.
    let before = ok(sim(&root, &["jail", "list"]));
    let e = fails(
        sim(&root, &["jail", "stop", "web", "--address", "10.0.0.2/24"]),
        "keeps the settings it was created with",
    );
    assert!(e.contains("--address"), "{e}");
    fails(
        sim(&root, &["jail", "restart", "web", "--storage", "zfs"]),
        "--storage differs",
    );
    assert_eq!(ok(sim(&root, &["jail", "list"])), before);
    ok(sim(&root, &["jail", "stop", "web", "--storage", "dir"]));

    // Destroy removes the record with the jail; the name is free again.
    ok(sim(&root, &["jail", "destroy", "web"]));
    assert!(!root.join("var/db/thinjail/jails/web.json").exists());
    assert!(!root.join("etc/jail.conf.d/web.conf").exists());
    ok(sim(&root, &create));

    // A damaged record is reported, not guessed around.
    std::fs::write(root.join("var/db/thinjail/jails/web.json"), "{ not json").unwrap();
    fails(sim(&root, &["jail", "start", "web"]), "web.json");
}
