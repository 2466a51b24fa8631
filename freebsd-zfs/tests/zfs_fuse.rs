//! The backends against a real ZFS pool: zfs(8) ([`Cli`]) on zfs-fuse on Linux or on FreeBSD,
//! and libzfs_core ([`freebsd_zfs::Lzc`]) on FreeBSD (zfs-fuse has no /dev/zfs). The tests that
//! describe backend behaviour run once per backend, with the same assertions.
//!
//! Needs a pool named by `THINJAIL_TEST_ZPOOL`. Without it the tests print why and pass, except
//! under `CI=true`, where a missing pool is a failure. Every test works under its own child
//! dataset (`<pool>/tj-<test>-<backend>-<pid>`), so tests run in parallel.

use freebsd_zfs::{CanMount, Cli, DatasetName, ErrorKind, Op, Props, SnapshotName, Zfs, cli_error};
use std::process::Command;
use std::time::Duration;

/// The test pool, or `None` (skip) outside CI.
fn pool() -> Option<String> {
    match std::env::var("THINJAIL_TEST_ZPOOL") {
        Ok(p) if !p.is_empty() => {
            let ok = Command::new("zpool")
                .args(["list", "-H", "-o", "name", &p])
                .output()
                .is_ok_and(|o| o.status.success());
            assert!(ok, "THINJAIL_TEST_ZPOOL={p} but `zpool list {p}` fails");
            Some(p)
        }
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but THINJAIL_TEST_ZPOOL is not set: the zfs(8) tests cannot run"
            );
            eprintln!("skipped: set THINJAIL_TEST_ZPOOL to a scratch zfs pool to run this test");
            None
        }
    }
}

/// The backends under test: zfs(8) everywhere, libzfs_core on FreeBSD.
fn backends() -> Vec<(&'static str, Box<dyn Zfs>)> {
    #[allow(unused_mut)]
    let mut v: Vec<(&'static str, Box<dyn Zfs>)> = vec![(
        "cli",
        Box::new(
            Cli::new()
                .expect("zfs(8) runs")
                .busy_retry(Duration::from_secs(5)),
        ),
    )];
    // libzfs_core needs /dev/zfs: FreeBSD (or OpenZFS on Linux), not zfs-fuse.
    #[cfg(all(zfs_ffi, target_os = "freebsd"))]
    v.push((
        "lzc",
        Box::new(freebsd_zfs::Lzc::new().expect("libzfs_core opens /dev/zfs")),
    ));
    v
}

/// Runs `body` once per backend, each under its own scratch root.
fn each_backend(test: &str, body: impl Fn(&Scratch, &dyn Zfs)) {
    // Without a pool there is nothing to open a backend for (zfs(8) may not even exist).
    if pool().is_none() {
        return;
    }
    for (name, z) in backends() {
        let Some(s) = Scratch::new(&format!("{test}-{name}")) else {
            return;
        };
        eprintln!("{test}: backend {name}");
        body(&s, &*z);
    }
}

/// A per-test root dataset, destroyed recursively (with `zfs destroy -r`) on drop.
struct Scratch {
    root: DatasetName,
    zfs: Cli,
}

impl Scratch {
    fn new(test: &str) -> Option<Self> {
        let pool = pool()?;
        let zfs = Cli::new()
            .expect("zfs(8) runs")
            .busy_retry(Duration::from_secs(5));
        let root = DatasetName::new(format!("{pool}/tj-{test}-{}", std::process::id())).unwrap();
        // Leftovers from an interrupted run with the same pid.
        let _ = Command::new("zfs")
            .args(["destroy", "-r", root.as_str()])
            .output();
        zfs.create(&root, &Props::new())
            .expect("create the test root");
        Some(Self { root, zfs })
    }

    fn ds(&self, rel: &str) -> DatasetName {
        self.root.child(rel).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for _ in 0..50 {
            let out = Command::new("zfs")
                .args(["destroy", "-R", "-f", self.root.as_str()])
                .output();
            if out.is_ok_and(|o| o.status.success()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("warning: could not destroy {}", self.root);
    }
}

fn prop(z: &dyn Zfs, ds: &DatasetName, name: &str) -> (String, String) {
    let p = z.get_properties(ds, &[name]).unwrap();
    assert_eq!(p.len(), 1, "{name} of {ds}: {p:?}");
    (p[0].value.clone(), p[0].source.clone())
}

/// Whether a file system is mounted at `path`, by the kernel's own mount table: Linux's
/// /proc/mounts, elsewhere `mount -p` (fstab format; both escape a space as `\040`).
fn mounted_at(path: &std::path::Path) -> bool {
    let m = if cfg!(target_os = "linux") {
        std::fs::read_to_string("/proc/mounts").unwrap_or_default()
    } else {
        let o = Command::new("mount").arg("-p").output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let p = path.to_string_lossy().replace(' ', "\\040");
    m.lines()
        .any(|l| l.split_whitespace().nth(1) == Some(p.as_str()))
}

#[test]
fn capabilities_are_detected() {
    let Some(_) = pool() else { return };
    let c = Cli::new().unwrap().capabilities();
    let usage = String::from_utf8_lossy(&Command::new("zfs").output().unwrap().stderr).into_owned();
    // Cross-check against the usage text directly.
    let list = usage
        .lines()
        .find(|l| l.trim_start().starts_with("list "))
        .unwrap();
    assert_eq!(
        c.list_parsable,
        list.contains("p]") || list.contains("-Hp"),
        "{list}"
    );
    eprintln!("zfs(8) capabilities: {c:?}");
}

/// The recipe's tree: zdata/jails/{media,templates,containers}, a template with a skeleton
/// snapshot, clones for jails, mount, and teardown in dependency order.
#[test]
fn recipe_tree_snapshot_clone_mount_destroy() {
    each_backend("recipe", |s, z| {
        let jails = s.ds("zdata/jails");
        z.create_with_parents(&jails, &Props::new()).unwrap();
        assert!(z.exists(&jails).unwrap());
        assert!(z.exists(&s.ds("zdata")).unwrap());
        for sub in ["media", "templates", "containers"] {
            z.create(&jails.child(sub).unwrap(), &Props::new()).unwrap();
        }
        // Idempotent like `zfs create -p`.
        z.create_with_parents(&jails, &Props::new()).unwrap();
        let names: Vec<String> = z
            .list_children(&jails)
            .unwrap()
            .iter()
            .map(|d| d.leaf().to_string())
            .collect();
        assert_eq!(names, ["containers", "media", "templates"]);

        let tmpl = jails.child("templates/base").unwrap();
        let props = Props::new()
            .canmount(CanMount::On)
            .user("thinjail:role", "template")
            .unwrap();
        z.create(&tmpl, &props).unwrap();
        assert_eq!(
            prop(z, &tmpl, "thinjail:role"),
            ("template".into(), "local".into())
        );
        assert_eq!(prop(z, &tmpl, "canmount"), ("on".into(), "local".into()));
        // create does not leave it mounted (libzfs_core semantics).
        assert!(!z.is_mounted(&tmpl).unwrap());

        // Put something in the template, then snapshot it.
        let tpath = z.mount(&tmpl).unwrap();
        std::fs::write(tpath.join("skeleton.txt"), b"base").unwrap();
        z.unmount(&tmpl, false).unwrap();
        let skel = tmpl.snapshot("skeleton").unwrap();
        z.snapshot(std::slice::from_ref(&skel)).unwrap();
        assert!(z.snapshot_exists(&skel).unwrap());
        assert_eq!(z.list_snapshots(&tmpl).unwrap(), vec![skel.clone()]);

        // Clones with properties.
        let containers = jails.child("containers").unwrap();
        let mp = format!("{}/jail-web", std::env::temp_dir().display());
        let web = containers.child("web").unwrap();
        let db = containers.child("db").unwrap();
        let p = Props::new()
            .mountpoint(&mp)
            .canmount(CanMount::NoAuto)
            .user("thinjail:jail", "web")
            .unwrap();
        z.clone_snapshot(&skel, &web, &p).unwrap();
        z.clone_snapshot(&skel, &db, &Props::new()).unwrap();
        assert_eq!(prop(z, &web, "mountpoint"), (mp.clone(), "local".into()));
        assert_eq!(prop(z, &web, "canmount"), ("noauto".into(), "local".into()));
        assert_eq!(prop(z, &web, "origin").0, skel.as_str());
        assert_eq!(
            prop(z, &web, "thinjail:jail"),
            ("web".into(), "local".into())
        );
        // User properties are not copied from the origin: unset on the plain clone.
        assert_eq!(prop(z, &db, "thinjail:role"), ("-".into(), "-".into()));
        assert_eq!(z.list_clones(&skel).unwrap(), vec![db.clone(), web.clone()]);

        // Mount check: the clone shows the template's file, at its own mountpoint.
        assert!(!z.is_mounted(&web).unwrap());
        let path = z.mount(&web).unwrap();
        assert_eq!(path.to_string_lossy(), mp);
        assert!(z.is_mounted(&web).unwrap());
        assert!(
            mounted_at(&path),
            "{} not in the mount table",
            path.display()
        );
        assert_eq!(std::fs::read(path.join("skeleton.txt")).unwrap(), b"base");
        let e = z.mount(&web).unwrap_err();
        assert_eq!(e.kind, ErrorKind::AlreadyMounted, "{e}");
        z.unmount(&web, false).unwrap();
        assert!(!z.is_mounted(&web).unwrap());
        let e = z.unmount(&web, false).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotMounted, "{e}");

        // Teardown order is enforced, with the dependants named.
        let e = z
            .destroy_snapshots(std::slice::from_ref(&skel))
            .unwrap_err();
        assert_eq!(e.op, Op::DestroySnapshots);
        assert_eq!(
            e.kind,
            ErrorKind::HasDependants(vec![db.to_string(), web.to_string()]),
            "{e}"
        );
        let e = z.destroy(&tmpl).unwrap_err();
        match &e.kind {
            ErrorKind::HasDependants(d) => assert!(d.contains(&skel.to_string()), "{e}"),
            k => panic!("expected HasDependants, got {k:?}: {e}"),
        }
        z.destroy(&web).unwrap();
        z.destroy(&db).unwrap();
        assert!(z.list_clones(&skel).unwrap().is_empty());
        z.destroy_snapshots(std::slice::from_ref(&skel)).unwrap();
        assert!(!z.snapshot_exists(&skel).unwrap());
        // Missing snapshots are ignored (lzc_destroy_snaps semantics).
        z.destroy_snapshots(std::slice::from_ref(&skel)).unwrap();
        z.destroy(&tmpl).unwrap();
        assert!(!z.exists(&tmpl).unwrap());
    });
}

#[test]
fn exists_and_not_found_errors() {
    each_backend("errors", |s, z| {
        let a = s.ds("a");
        z.create(&a, &Props::new()).unwrap();
        let e = z.create(&a, &Props::new()).unwrap_err();
        assert_eq!((e.op, &e.kind), (Op::Create, &ErrorKind::Exists), "{e}");
        assert_eq!(e.dataset, a.as_str());
        assert!(e.message.as_deref().unwrap_or("").contains("exists"), "{e}");

        let orphan = s.ds("missing/child");
        let e = z.create(&orphan, &Props::new()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
        let missing = s.ds("missing");
        assert!(!z.exists(&missing).unwrap());
        assert_eq!(z.destroy(&missing).unwrap_err().kind, ErrorKind::NotFound);
        assert_eq!(
            z.get_properties(&missing, &["mountpoint"])
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            z.rename(&missing, &s.ds("x")).unwrap_err().kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            z.list_children(&missing).unwrap_err().kind,
            ErrorKind::NotFound
        );
        let nosnap = a.snapshot("nosuch").unwrap();
        let e = z
            .clone_snapshot(&nosnap, &s.ds("c"), &Props::new())
            .unwrap_err();
        assert_eq!((e.op, &e.kind), (Op::Clone, &ErrorKind::NotFound), "{e}");
        assert_eq!(
            z.list_clones(&nosnap).unwrap_err().kind,
            ErrorKind::NotFound
        );

        let snap = a.snapshot("s").unwrap();
        z.snapshot(std::slice::from_ref(&snap)).unwrap();
        let e = z.snapshot(std::slice::from_ref(&snap)).unwrap_err();
        assert_eq!((e.op, &e.kind), (Op::Snapshot, &ErrorKind::Exists), "{e}");
        assert_eq!(e.dataset, snap.as_str());

        // A property zfs(8) does not know.
        let e = z
            .create(&s.ds("b"), &Props::new().string("nosuchprop", "1"))
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{e}");
        assert!(!z.exists(&s.ds("b")).unwrap());
        let e = z.get_properties(&a, &["nosuchprop"]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{e}");
    });
}

#[test]
fn busy_when_in_use() {
    let Some(s) = Scratch::new("busy") else {
        return;
    };
    let z = s.zfs.clone().busy_retry(Duration::from_millis(500));
    let a = s.ds("a");
    z.create(&a, &Props::new()).unwrap();
    let path = z.mount(&a).unwrap();
    // An open file keeps the filesystem busy: unmount(2) fails with EBUSY.
    let f = std::fs::File::create(path.join("held")).unwrap();
    let e = z.destroy(&a).unwrap_err();
    assert_eq!((e.op, &e.kind), (Op::Destroy, &ErrorKind::Busy), "{e}");
    let e = z.unmount(&a, false).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Busy, "{e}");
    assert!(z.exists(&a).unwrap());
    drop(f);
    s.zfs.destroy(&a).unwrap();
    assert!(!z.exists(&a).unwrap());
}

#[test]
fn destroy_refuses_children() {
    each_backend("children", |s, z| {
        let a = s.ds("a");
        z.create_with_parents(&a.child("b/c").unwrap(), &Props::new())
            .unwrap();
        let e = z.destroy(&a).unwrap_err();
        match &e.kind {
            ErrorKind::HasDependants(d) => {
                assert!(d.contains(&a.child("b").unwrap().to_string()), "{e}");
                assert!(d.contains(&a.child("b/c").unwrap().to_string()), "{e}");
            }
            k => panic!("expected HasDependants, got {k:?}: {e}"),
        }
        assert!(z.exists(&a).unwrap());
    });
}

#[test]
fn snapshot_many_with_per_snapshot_errors() {
    each_backend("snaps", |s, z| {
        let ds: Vec<DatasetName> = (0..3).map(|i| s.ds(&format!("d{i}"))).collect();
        for d in &ds {
            z.create(d, &Props::new()).unwrap();
        }
        let snaps: Vec<SnapshotName> = ds.iter().map(|d| d.snapshot("one").unwrap()).collect();
        z.snapshot(&snaps).unwrap();
        for sn in &snaps {
            assert!(z.snapshot_exists(sn).unwrap());
        }
        // Second round: d1@two exists already, so nothing is taken and d1@two is named.
        let two: Vec<SnapshotName> = ds.iter().map(|d| d.snapshot("two").unwrap()).collect();
        z.snapshot(std::slice::from_ref(&two[1])).unwrap();
        let e = z.snapshot(&two).unwrap_err();
        assert_eq!(e.op, Op::Snapshot);
        assert_eq!(
            (e.dataset.as_str(), &e.kind),
            (two[1].as_str(), &ErrorKind::Exists),
            "{e}"
        );
        assert!(!z.snapshot_exists(&two[0]).unwrap(), "all-or-nothing");
        assert!(!z.snapshot_exists(&two[2]).unwrap(), "all-or-nothing");
        // Rejected before anything runs: two snapshots of one dataset, or two pools.
        let dup = [ds[0].snapshot("x").unwrap(), ds[0].snapshot("y").unwrap()];
        assert_eq!(
            z.snapshot(&dup).unwrap_err().kind,
            ErrorKind::InvalidArgument
        );
        assert!(!z.snapshot_exists(&dup[0]).unwrap());
        let other = SnapshotName::new("otherpool/x@y").unwrap();
        assert_eq!(
            z.snapshot(&[snaps[0].clone(), other]).unwrap_err().kind,
            ErrorKind::InvalidArgument
        );
        // Destroy several at once.
        z.destroy_snapshots(&snaps).unwrap();
        for sn in &snaps {
            assert!(!z.snapshot_exists(sn).unwrap());
        }
    });
}

#[test]
fn rename_and_properties() {
    each_backend("rename", |s, z| {
        let a = s.ds("a");
        z.create(&a, &Props::new().canmount(CanMount::NoAuto))
            .unwrap();
        let b = s.ds("b");
        z.rename(&a, &b).unwrap();
        assert!(!z.exists(&a).unwrap() && z.exists(&b).unwrap());
        z.create(&a, &Props::new()).unwrap();
        let e = z.rename(&a, &b).unwrap_err();
        assert_eq!((e.op, &e.kind), (Op::Rename, &ErrorKind::Exists), "{e}");
        // Inherited mountpoint and a numeric property in parsable form.
        let p = z
            .get_properties(&b, &["mountpoint", "canmount", "used"])
            .unwrap();
        assert_eq!(p.len(), 3);
        assert!(p[0].value.ends_with("/b"), "{p:?}");
        // Not set on `b`: inherited, or `default` when no ancestor sets it either (a pool made
        // without `-m`).
        assert!(
            p[0].source.contains("inherited from") || p[0].source == "default",
            "{p:?}"
        );
        assert_eq!(p[1].value, "noauto");
        assert!(
            p[2].value.parse::<u64>().is_ok(),
            "used is a byte count: {p:?}"
        );
    });
}

/// Names ZFS rejects are rejected by `DatasetName`/`SnapshotName` too, and zfs(8)'s messages
/// for them map onto `InvalidName`.
#[test]
fn bad_names_agree_with_zfs() {
    let Some(pool) = pool() else { return };
    let long = format!("{pool}/{}", "x".repeat(260));
    let bad = [
        format!("{pool}/a%b"),
        format!("{pool}/a/"),
        format!("/{pool}/a"),
        format!("{pool}/é"),
        format!("{pool}/a@b"),
        format!("{pool}/a#b"),
        format!("{pool}/a*b"),
        format!("{pool}//a"),
        long,
    ];
    for n in &bad {
        assert!(DatasetName::new(n.clone()).is_err(), "{n} accepted");
        let out = Command::new("zfs").args(["create", n]).output().unwrap();
        assert!(!out.status.success(), "zfs accepted {n}");
        let e = cli_error(
            Op::Create,
            n,
            out.status.code(),
            &String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(e.kind, ErrorKind::InvalidName, "{n}: {e}");
    }
    for n in [format!("{pool}@"), format!("{pool}@a/b")] {
        assert!(SnapshotName::new(n.clone()).is_err(), "{n} accepted");
        let out = Command::new("zfs").args(["snapshot", &n]).output().unwrap();
        let e = cli_error(
            Op::Snapshot,
            &n,
            out.status.code(),
            &String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(e.kind, ErrorKind::InvalidName, "{n}: {e}");
    }
}

/// zfs(8) run as an unprivileged user: "permission denied" maps onto `Permission`.
#[test]
fn permission_denied() {
    let Some(s) = Scratch::new("perm") else {
        return;
    };
    // SAFETY: geteuid(2) has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let runuser = Command::new("runuser").arg("--help").output().is_ok();
    if !root || !runuser {
        eprintln!("skipped: needs root and runuser(1) to run zfs(8) as nobody");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let wrapper = dir.path().join("zfs-as-nobody");
    // Usage text (no arguments) from root zfs, every real command as nobody.
    std::fs::write(
        &wrapper,
        "#!/bin/sh\n[ $# -eq 0 ] && exec zfs\nexec runuser -u nobody -- zfs \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    wait_executable(&wrapper);
    let z = Cli::with_program(&wrapper).unwrap();
    let e = z.create(&s.ds("p"), &Props::new()).unwrap_err();
    assert_eq!((e.op, &e.kind), (Op::Create, &ErrorKind::Permission), "{e}");
    assert!(!s.zfs.exists(&s.ds("p")).unwrap());
}

#[test]
fn canmount_off_is_not_mounted() {
    each_backend("cmoff", |s, z| {
        let a = s.ds("a");
        z.create(&a, &Props::new().canmount(CanMount::Off)).unwrap();
        assert!(!z.is_mounted(&a).unwrap());
        let e = z.mount(&a).unwrap_err();
        assert_eq!(
            (e.op, &e.kind),
            (Op::Mount, &ErrorKind::InvalidArgument),
            "{e}"
        );
        let none = s.ds("n");
        z.create(&none, &Props::new().mountpoint("none")).unwrap();
        assert!(!z.is_mounted(&none).unwrap());
        let e = z.mount(&none).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{e}");
    });
}

/// `mount`, retried while zfs-fuse still holds the dataset it just unmounted (zfs(8) without
/// `-u` mounts a new dataset and the backend unmounts it; zfs-fuse releases it asynchronously).
fn mount_when_released(z: &dyn Zfs, ds: &DatasetName) -> std::path::PathBuf {
    let start = std::time::Instant::now();
    loop {
        match z.mount(ds) {
            Err(e) if e.kind == ErrorKind::Busy && start.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            r => return r.unwrap(),
        }
    }
}

/// `clone_and_mount` keeps zfs(8)'s mount of the new clone: mounted at the inherited or given
/// mountpoint, with the origin's files; a clone onto an existing name is `Exists` naming it and
/// changes nothing.
#[test]
fn clone_and_mount_mounts_once() {
    // Mount points under a temporary directory, removed after the datasets (dropped last).
    let mnt = tempfile::tempdir().unwrap();
    each_backend("clonemount", |s, z| {
        let parent = s.ds("p");
        let mp = mnt.path().join("p");
        z.create(&parent, &Props::new().mountpoint(&*mp.to_string_lossy()))
            .unwrap();
        let tmpl = s.ds("p/tmpl");
        z.create(&tmpl, &Props::new()).unwrap();
        let tpath = mount_when_released(z, &tmpl);
        assert_eq!(tpath, mp.join("tmpl"));
        std::fs::write(tpath.join("f"), b"origin").unwrap();
        z.unmount(&tmpl, false).unwrap();
        let snap = tmpl.snapshot("base").unwrap();
        z.snapshot(std::slice::from_ref(&snap)).unwrap();

        // Inherited mountpoint.
        let c = s.ds("p/c");
        let path = z.clone_and_mount(&snap, &c, &Props::new()).unwrap();
        assert_eq!(path, mp.join("c"));
        assert!(z.is_mounted(&c).unwrap());
        assert!(mounted_at(&path), "{} not mounted", path.display());
        assert_eq!(std::fs::read(path.join("f")).unwrap(), b"origin");
        assert_eq!(prop(z, &c, "origin").0, snap.as_str());

        // A given mountpoint.
        let own = mnt.path().join("own");
        let d = s.ds("p/d");
        let p = Props::new().mountpoint(&*own.to_string_lossy());
        let path = z.clone_and_mount(&snap, &d, &p).unwrap();
        assert_eq!(path, own);
        assert_eq!(
            prop(z, &d, "mountpoint"),
            (own.to_string_lossy().into(), "local".into())
        );
        assert!(mounted_at(&own));

        // Onto an existing name: Exists, naming the target; the existing clone stays mounted.
        for e in [
            z.clone_and_mount(&snap, &c, &Props::new()).unwrap_err(),
            z.clone_snapshot(&snap, &c, &Props::new()).unwrap_err(),
        ] {
            assert_eq!((e.op, &e.kind), (Op::Clone, &ErrorKind::Exists), "{e}");
            assert_eq!(e.dataset, c.as_str());
        }
        assert!(z.is_mounted(&c).unwrap());

        // Plain clone_snapshot still leaves the clone unmounted.
        let u = s.ds("p/u");
        z.clone_snapshot(&snap, &u, &Props::new()).unwrap();
        assert!(!z.is_mounted(&u).unwrap());
        let path = mount_when_released(z, &u);
        assert_eq!(path, mp.join("u"));
        assert_eq!(z.mount(&u).unwrap_err().kind, ErrorKind::AlreadyMounted);

        for ds in [&u, &d, &c] {
            z.destroy(ds).unwrap();
        }
    });
}

/// Waits until the script just written at `path` can be executed. Another test thread may fork
/// while the file is open for writing; the child holds the write descriptor until its exec, and
/// executing the file meanwhile fails with ETXTBSY ("Text file busy"). Running it with no
/// arguments (usage text, no side effects) until that passes closes the race.
fn wait_executable(path: &std::path::Path) {
    let t = std::time::Instant::now();
    loop {
        match std::process::Command::new(path).output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                assert!(t.elapsed() < std::time::Duration::from_secs(10), "{e}");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            _ => return,
        }
    }
}
