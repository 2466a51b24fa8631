//! Plans rendered as shell: valid sh(1), the recipe's mistakes corrected, and — run against
//! stand-in commands that log their arguments — a failing start undoes everything it did.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use thinjail_core::model::{EpairNaming, Storage, ThinJail, ThinJailSpec, VnetStrings};
use thinjail_core::plan::{self, Inverse, Plan};

/// The recipe's `dev` jail on plain directories under a new temporary directory (kept alive by
/// the returned guard).
fn dir_jail() -> (tempfile::TempDir, ThinJail) {
    let d = tempfile::tempdir().unwrap();
    let j = ThinJailSpec {
        storage: Storage::Directories,
        root: d.path().join("jails").to_str().unwrap().to_string(),
        ..Default::default()
    }
    .build()
    .unwrap();
    (d, j)
}

fn jails() -> Vec<ThinJail> {
    vec![
        ThinJail::recipe_dev(),
        ThinJailSpec {
            name: "web".into(),
            storage: Storage::Directories,
            root: "/srv/my jails".into(),
            vnet: Some(VnetStrings {
                epair: EpairNaming::Derived,
                ipv6: Some("2001:db8::2/64".into()),
                ipv6_gateway: Some("2001:db8::1".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
        .build()
        .unwrap(),
        ThinJailSpec {
            name: "plain".into(),
            vnet: None,
            ..Default::default()
        }
        .build()
        .unwrap(),
    ]
}

fn all_plans(j: &ThinJail) -> Vec<Plan> {
    vec![
        plan::host_init(j.layout()),
        plan::template_create(j.template()),
        plan::template_update(j.template()),
        plan::create(j),
        plan::start(j),
        plan::stop(j),
        plan::destroy(j),
        plan::enable(j),
        plan::create(j).then(plan::start(j)),
    ]
}

#[test]
fn every_script_is_valid_sh() {
    for j in jails() {
        for p in all_plans(&j) {
            let s = p.to_shell();
            let out = Command::new("sh")
                .arg("-n")
                .arg("-c")
                .arg(&s)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}\n{s}",
                p.title,
                String::from_utf8_lossy(&out.stderr)
            );
            let inv = p.inverse().to_shell();
            let out = Command::new("sh")
                .arg("-n")
                .arg("-c")
                .arg(&inv)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "undo {}: {}",
                p.title,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn recipe_mistakes_are_corrected() {
    let j = ThinJail::recipe_dev();
    let start = plan::start(&j).to_shell();
    let pos = |needle: &str| {
        start
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} missing:\n{start}"))
    };
    // devfs ruleset checked before anything is mounted
    assert!(pos("devfs rule -s 5 show | grep -q .") < pos("mount -t nullfs"));
    // no fixed epair number: the kernel's name is captured
    assert!(!start.contains("epair253"));
    assert!(start.contains("epair_a=$(ifconfig epair create)"));
    // network before /etc/rc
    assert!(pos("inet 192.168.7.253/24 up") < pos("/bin/sh /etc/rc"));
    assert!(pos("route add default 192.168.7.101") < pos("/bin/sh /etc/rc"));
    // the epair is undone on failure
    assert!(start.contains("trap _rollback EXIT"));
    assert!(
        start.contains(
            "_push_undo 'if [ -n \"$epair_a\" ]; then ifconfig \"$epair_a\" destroy; fi'"
        )
    );
    // freebsd-update patches the template that was just extracted
    let t = plan::template_create(j.template()).to_shell();
    assert!(t.contains("tar -xf /zdata/jails/media/14.2-RELEASE-base.txz -C /zdata/jails/templates/14.2-RELEASE-base --unlink"));
    assert!(t.contains("freebsd-update -b /zdata/jails/templates/14.2-RELEASE-base "));
    assert!(t.find("freebsd-update").unwrap() < t.find("chflags -R noschg").unwrap());
    // var (with schg var/empty) is moved keeping flags, and the source unflagged before removal
    assert!(t.contains("cp -a /zdata/jails/templates/14.2-RELEASE-base/var /zdata/jails/templates/14.2-RELEASE-skeleton/\nchflags -R noschg /zdata/jails/templates/14.2-RELEASE-base/var\nrm -rf /zdata/jails/templates/14.2-RELEASE-base/var\n"));
    assert!(t.contains("cp -a /zdata/jails/templates/14.2-RELEASE-base/usr/local /zdata/jails/templates/14.2-RELEASE-skeleton/usr/\n"));
    assert!(t.contains("if [ -e /etc/localtime ]; then cp -L /etc/localtime /zdata/jails/templates/14.2-RELEASE-base/etc/localtime; fi"));
    assert!(t.contains("zfs snapshot zdata/jails/templates/14.2-RELEASE-skeleton@base"));
    // enable-at-boot adds to jail_list only once
    let e = plan::enable(&j).to_shell();
    assert!(e.contains("*\" dev \"*) ;;"));
    assert!(e.contains("sysrc -f /etc/rc.conf jail_reverse_stop=YES"));
}

#[test]
fn every_step_has_an_inverse_or_a_reason() {
    for j in jails() {
        for p in all_plans(&j) {
            for s in &p.steps {
                if let Inverse::Nothing(why) = s.inverse() {
                    assert!(why.len() > 5, "{s:?}");
                }
            }
        }
    }
}

/// Stand-ins for FreeBSD commands: each logs its name and arguments; `ifconfig epair create`
/// prints a kernel-style name; the command line matching $FAIL fails.
fn stub_bin(dir: &Path) {
    let stub = r#"#!/bin/sh
name=$(basename "$0")
echo "$name $*" >> "$LOG"
case "$name $*" in
  "$FAIL") exit 1 ;;
  "ifconfig epair create") echo epair7a ;;
  "devfs rule -s 5 show") echo "100 path null unhide" ;;
  "sysrc "*"-n"*) echo "web" ;;
esac
exit 0
"#;
    for c in [
        "ifconfig",
        "mount",
        "umount",
        "jail",
        "jexec",
        "devfs",
        "zfs",
        "sysrc",
        "fetch",
        "sha256",
        "chflags",
        "jls",
        "freebsd-update",
        "route",
    ] {
        let p = dir.join(c);
        std::fs::write(&p, stub).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // Another test thread may fork while a stub is open for writing; its child holds the write
    // descriptor until it execs, and running the stub meanwhile fails with ETXTBSY. Run each
    // once (logging nowhere) until that has passed.
    let t = std::time::Instant::now();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        loop {
            let r = std::process::Command::new(&p)
                .env("LOG", "/dev/null")
                .output();
            match r {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                    assert!(t.elapsed() < std::time::Duration::from_secs(10), "{e}");
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                _ => break,
            }
        }
    }
}

fn run(script: &str, fail: &str) -> (bool, Vec<String>) {
    let d = tempfile::tempdir().unwrap();
    stub_bin(d.path());
    let log = d.path().join("log");
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("PATH", format!("{}:/usr/bin:/bin", d.path().display()))
        .env("LOG", &log)
        .env("FAIL", fail)
        .output()
        .unwrap();
    let lines = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect();
    (out.status.success(), lines)
}

#[test]
fn failed_start_undoes_everything_in_reverse() {
    let j = ThinJail::recipe_dev();
    let (ok, log) = run(
        &plan::start(&j).to_shell(),
        "jexec dev route add default 192.168.7.101",
    );
    assert!(!ok);
    let after: Vec<&str> = log
        .iter()
        .skip_while(|l| !l.starts_with("jexec dev route"))
        .skip(1)
        .map(String::as_str)
        .collect();
    assert_eq!(
        after,
        [
            "ifconfig epair7b -vnet dev",
            "jail -R dev",
            "ifconfig igc0bridge deletem epair7a",
            "ifconfig epair7a destroy",
            "umount /zdata/jails/dev-nullfs-base/dev",
            "umount /zdata/jails/dev-nullfs-base/skeleton",
            "umount /zdata/jails/dev-nullfs-base",
        ],
        "full log: {log:#?}"
    );
    assert!(
        !log.iter().any(|l| l.contains("/etc/rc")),
        "rc must not run before the network is up"
    );
}

#[test]
fn start_refuses_an_unloaded_devfs_ruleset() {
    let j = ThinJailSpec {
        devfs_ruleset: 9,
        ..Default::default()
    }
    .build()
    .unwrap();
    let (ok, log) = run(&plan::start(&j).to_shell(), "");
    assert!(!ok);
    assert_eq!(
        log,
        ["devfs rule -s 9 show"],
        "nothing may happen after the failed check"
    );
}

#[test]
fn successful_start_and_stop_with_derived_names() {
    let j = ThinJailSpec {
        vnet: Some(VnetStrings {
            epair: EpairNaming::Derived,
            ..Default::default()
        }),
        ..Default::default()
    }
    .build()
    .unwrap();
    let (ok, log) = run(&plan::start(&j).to_shell(), "");
    assert!(ok, "{log:#?}");
    assert!(log.contains(&"ifconfig epair7a name dev_a".to_string()));
    assert!(log.contains(&"ifconfig epair7b name dev_b".to_string()));
    assert!(log.contains(&"ifconfig dev_b vnet dev".to_string()));
    assert_eq!(
        log.last().map(String::as_str),
        Some("jexec -l dev /bin/sh /etc/rc")
    );
    let (ok, log) = run(&plan::stop(&j).to_shell(), "");
    assert!(ok, "{log:#?}");
    assert_eq!(log[0], "jexec -l dev /bin/sh /etc/rc.shutdown jail");
    // The epair goes before the jail (its b side would come back to the host only when the
    // dying jail's vnet is destroyed).
    let at = |l: &str| {
        log.iter()
            .position(|x| x == l)
            .unwrap_or_else(|| panic!("{l}: {log:#?}"))
    };
    // (The stub ifconfig lists no interface, so the search finds no epair to destroy.)
    assert!(at("ifconfig -l") < at("jail -R dev"), "{log:#?}");
    assert_eq!(
        log.last().map(String::as_str),
        Some("umount /zdata/jails/dev-nullfs-base")
    );
}

#[test]
fn failed_create_removes_what_it_wrote() {
    let (_dir, j) = dir_jail();
    // Create writes the fstab then fails writing to /etc (not root here or not allowed):
    // simulate by making the jail.conf.d write fail through a read-only target directory.
    let mut p = plan::create(&j);
    p.steps
        .retain(|s| !matches!(s, plan::Step::WriteFile { path, .. } if path.starts_with("/etc")));
    p.steps
        .retain(|s| !matches!(s, plan::Step::Mkdir { path } if path.starts_with("/etc")));
    p.steps
        .push(plan::Step::CheckJailStopped { name: "dev".into() });
    std::fs::create_dir_all(j.template().skeleton().dir().join("etc")).unwrap();
    std::fs::write(j.template().skeleton().dir().join("etc/rc.conf"), "x\n").unwrap();
    // jls (stub) succeeds, so CheckJailStopped fails and everything is undone
    let (ok, _log) = run(&p.to_shell(), "");
    assert!(!ok);
    assert!(!j.fstab_path().exists(), "fstab removed on undo");
    assert!(!j.root().exists(), "root removed on undo");
    assert!(!j.clone_dir().exists(), "copied skeleton removed on undo");
}

#[test]
fn skeleton_split_moves_trees_and_links_resolve() {
    let (_dir, j) = dir_jail();
    let base = j.template().dir();
    let skel = j.skeleton().dir();
    for (f, body) in [
        ("etc/rc.conf", "hostname=x\n"),
        ("usr/local/etc/pkg.conf", "p\n"),
        ("usr/bin/true", "t\n"),
        ("var/log/messages", "m\n"),
        ("root/.profile", "r\n"),
        ("tmp/.keep", ""),
    ] {
        let p = base.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    std::fs::create_dir_all(base.join("var/empty")).unwrap();
    std::fs::create_dir_all(base.join("home")).unwrap();
    // Only the split: everything after freebsd-update.
    let mut p = plan::template_create(j.template());
    let at = p
        .steps
        .iter()
        .position(|s| matches!(s, plan::Step::FreebsdUpdate { .. }))
        .unwrap();
    p.steps.drain(..=at);
    let (ok, log) = run(&p.to_shell(), "");
    assert!(ok, "{log:#?}");
    assert!(log.contains(&format!("chflags -R noschg {}", base.join("var").display())));
    for (link, target) in [
        ("etc", "skeleton/etc"),
        ("home", "skeleton/home"),
        ("root", "skeleton/root"),
        ("usr/local", "../skeleton/usr/local"),
        ("tmp", "skeleton/tmp"),
        ("var", "skeleton/var"),
    ] {
        let l = base.join(link);
        assert_eq!(
            std::fs::read_link(&l).unwrap().to_str(),
            Some(target),
            "{link}"
        );
    }
    assert!(
        base.join("usr/bin/true").is_file(),
        "the rest of usr stays in the template"
    );
    assert!(skel.join("var/empty").is_dir() && skel.join("home").is_dir());
    assert_eq!(
        std::fs::read_dir(&skel).unwrap().count(),
        6,
        "etc home root tmp usr var, nothing stray"
    );
    // As the jail sees it: the clone mounted at <template>/skeleton (a symlink stands in for nullfs).
    std::fs::remove_dir(base.join("skeleton")).unwrap();
    std::os::unix::fs::symlink(&skel, base.join("skeleton")).unwrap();
    assert_eq!(
        std::fs::read_to_string(base.join("etc/rc.conf")).unwrap(),
        "hostname=x\n"
    );
    assert_eq!(
        std::fs::read_to_string(base.join("usr/local/etc/pkg.conf")).unwrap(),
        "p\n"
    );
    assert_eq!(
        std::fs::read_to_string(base.join("var/log/messages")).unwrap(),
        "m\n"
    );
    assert_eq!(
        std::fs::read_to_string(base.join("root/.profile")).unwrap(),
        "r\n"
    );
}
