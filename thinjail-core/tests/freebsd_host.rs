//! `FreeBsdHost` end to end on a real FreeBSD 14 host (root, not jailed, VIMAGE kernel):
//! nullfs + devfs mounts, a VNET jail, an epair with one end inside, in-jail address, lo0 and
//! default route, a command run inside with exec.clean semantics and a console log, teardown.
//! With `THINJAIL_TEST_ZPOOL=<pool>` also datasets: create, snapshot, clone, zfs mount, refusals.
//!
//! Compiles to nothing on other systems. Skips (with a printed reason) when not root, jailed, or
//! without VIMAGE.
#![cfg(target_os = "freebsd")]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use thinjail_core::host::{
    AddrFamily, DatasetProps, Errno, FileKind, FreeBsdHost, FsType, Host, HostError, JailCommand,
    JailSpec,
};

/// Why the kernel tests cannot run here; the VM stage (.ci/vm/run.sh) sets
/// THINJAIL_REQUIRE_KERNEL, and there a skip is a failure.
fn skip_reason() -> Option<String> {
    let why = why_not();
    if let Some(w) = &why {
        assert!(
            std::env::var_os("THINJAIL_REQUIRE_KERNEL").is_none(),
            "kernel test cannot run: {w}"
        );
    }
    why
}

fn why_not() -> Option<String> {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root".into());
    }
    match freebsd_jail::host::is_jailed() {
        Ok(false) => {}
        Ok(true) => return Some("running inside a jail".into()),
        Err(e) => return Some(format!("security.jail.jailed: {e}")),
    }
    match freebsd_jail::host::vimage_supported() {
        Ok(true) => None,
        Ok(false) => Some("kernel without VIMAGE".into()),
        Err(e) => Some(format!("kern.features.vimage: {e}")),
    }
}

/// Best-effort teardown if an assertion fails half way (each step ignores errors).
struct Cleanup<'a> {
    host: &'a FreeBsdHost,
    jail: String,
    epair_a: Option<String>,
    mounts: Vec<PathBuf>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Ok(Some(j)) = self.host.jail_by_name(&self.jail) {
            let _ = self.host.jail_remove(j.jid);
        }
        if let Some(a) = &self.epair_a {
            let _ = self.host.if_destroy(a);
        }
        for m in self.mounts.iter().rev() {
            let _ = self.host.unmount(m, true);
        }
    }
}

fn mounted(host: &FreeBsdHost, at: &Path) -> Option<thinjail_core::host::MountInfo> {
    host.mounts().unwrap().into_iter().find(|m| m.at == at)
}

#[test]
fn vnet_jail_end_to_end() {
    if let Some(r) = skip_reason() {
        eprintln!("skipped vnet_jail_end_to_end: {r}");
        return;
    }
    let host = FreeBsdHost::new()
        .or_else(|_| FreeBsdHost::with_zfs_cli())
        .expect("open FreeBsdHost");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let log = tmp.path().join("console.log");
    host.mkdir(&root, 0o755).unwrap();
    assert_eq!(host.file_type(&root).unwrap(), Some(FileKind::Dir));
    // Exact modes, whatever the umask.
    let sticky = tmp.path().join("tmp");
    host.mkdir(&sticky, 0o1777).unwrap();
    let m = std::fs::metadata(&sticky).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777,
        0o1777
    );
    host.remove_dir(&sticky).unwrap();
    match host.mkdir(&root, 0o755).unwrap_err() {
        HostError::Io { source, path, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::AlreadyExists);
            assert_eq!(path, root);
        }
        other => panic!("{other:?}"),
    }

    let name = format!("thinjail-test-{}", std::process::id());
    let mut guard = Cleanup {
        host: &host,
        jail: name.clone(),
        epair_a: None,
        mounts: Vec::new(),
    };

    // The host's root, read-only, as the jail's root (it has /bin/sh and an empty /dev).
    host.mount_nullfs(Path::new("/"), &root, true).unwrap();
    guard.mounts.push(root.clone());
    let m = mounted(&host, &root).expect("nullfs mount listed");
    assert_eq!(m.fstype, FsType::Nullfs);
    assert_eq!(m.source, "/");
    assert!(m.readonly);
    // Read-only really is read-only.
    let e = host
        .write_file(&root.join("thinjail-test"), b"x", 0o644)
        .unwrap_err();
    assert!(e.to_string().contains("thinjail-test"), "{e}");
    // A second mount on a non-directory fails with the kernel's errno.
    let file = tmp.path().join("file");
    host.write_file(&file, b"x", 0o600).unwrap();
    assert!(host.mount_nullfs(Path::new("/"), &file, true).is_err());

    // devfs with the jail ruleset, after checking it is loaded.
    assert!(!host.devfs_ruleset_loaded(65432).unwrap());
    let ruleset = if host.devfs_ruleset_loaded(4).unwrap() {
        4
    } else {
        eprintln!("devfs ruleset 4 not loaded (devfs_load_rulesets=NO?): using 0");
        0
    };
    let dev = root.join("dev");
    host.mount_devfs(&dev, ruleset).unwrap();
    guard.mounts.push(dev.clone());
    let d = mounted(&host, &dev).expect("devfs listed");
    assert_eq!(d.fstype, FsType::Devfs);
    assert_eq!(d.ruleset, Some(ruleset));
    assert!(host.file_type(&dev.join("null")).unwrap().is_some());
    if ruleset == 4 {
        assert_eq!(
            host.file_type(&dev.join("mem")).unwrap(),
            None,
            "ruleset 4 hides mem"
        );
    }
    // Busy: the devfs inside keeps the nullfs mount from going away.
    assert_eq!(
        host.unmount(&root, false).unwrap_err().errno(),
        Some(Errno::EBUSY)
    );

    // The VNET jail.
    let spec = JailSpec {
        name: name.clone(),
        path: root.clone(),
        hostname: Some("thinjail-test.local".into()),
        vnet: true,
        devfs_ruleset: Some(ruleset),
        enforce_statfs: Some(2),
        ..JailSpec::default()
    };
    let jid = host.jail_create(&spec).unwrap();
    let e = host.jail_create(&spec).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EEXIST), "{e}");
    let info = host
        .jail_by_name(&name)
        .unwrap()
        .expect("jail listed by name");
    assert_eq!(info.jid, jid);
    assert!(info.vnet);
    assert_eq!(info.hostname, "thinjail-test.local");
    assert_eq!(info.path, root);
    assert!(host.jails().unwrap().iter().any(|j| j.jid == jid));
    let bad = JailSpec {
        name: format!("{name}-bad"),
        path: tmp.path().join("missing"),
        ..JailSpec::default()
    };
    assert_eq!(
        host.jail_create(&bad).unwrap_err().errno(),
        Some(Errno::ENOENT)
    );

    // An epair: a side on the host (described, up), b side into the jail.
    let pair = host.epair_create(None).unwrap();
    guard.epair_a = Some(pair.a.clone());
    host.if_set_description(&pair.a, Some(&format!("jail:{name}")))
        .unwrap();
    host.if_set_up(&pair.a, true).unwrap();
    let ifs = host.interfaces(None).unwrap();
    let a = ifs
        .iter()
        .find(|i| i.name == pair.a)
        .expect("a side listed");
    assert!(a.up);
    assert_eq!(
        a.description.as_deref(),
        Some(format!("jail:{name}").as_str())
    );
    host.if_move_to_jail(&pair.b, jid).unwrap();
    assert!(
        !host
            .interfaces(None)
            .unwrap()
            .iter()
            .any(|i| i.name == pair.b)
    );

    // Inside: lo0 up, address, default route.
    let addr: Ipv4Addr = "10.251.77.2".parse().unwrap();
    let gw: Ipv4Addr = "10.251.77.1".parse().unwrap();
    host.jail_if_set_up(jid, "lo0", true).unwrap();
    host.jail_if_set_up(jid, &pair.b, true).unwrap();
    host.jail_if_addr_add(jid, &pair.b, IpNet::new(addr.into(), 24).unwrap())
        .unwrap();
    host.jail_route_add_default(jid, gw.into()).unwrap();
    // IPv6 beside it (SIOCAIFADDR_IN6, RTM_ADD of ::/0).
    let addr6: Ipv6Addr = "2001:db8:fb::2".parse().unwrap();
    let gw6: Ipv6Addr = "2001:db8:fb::1".parse().unwrap();
    host.jail_if_addr_add(jid, &pair.b, IpNet::new(addr6.into(), 64).unwrap())
        .unwrap();
    host.jail_route_add_default(jid, gw6.into()).unwrap();
    let inside = host.interfaces(Some(jid)).unwrap();
    let b = inside
        .iter()
        .find(|i| i.name == pair.b)
        .expect("b side in the jail");
    assert!(b.up);
    assert_eq!(b.addrs, vec![(addr, 24)]);
    assert!(b.addrs6.contains(&(addr6, 64)), "{:?}", b.addrs6);
    assert!(inside.iter().any(|i| i.name == "lo0" && i.up));
    let e = host
        .jail_if_addr_delete(
            jid,
            &pair.b,
            "10.251.78.9".parse::<Ipv4Addr>().unwrap().into(),
        )
        .unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EADDRNOTAVAIL), "{e}");

    // A command inside: clean environment, console log, exit status.
    let cmd = JailCommand {
        argv: vec![
            "/bin/sh".into(),
            "-c".into(),
            "echo hello-$FOO; hostname; env; netstat -rn -f inet; exit 3".into(),
        ],
        env: vec![
            ("FOO".into(), "bar".into()),
            ("PATH".into(), "/bin:/usr/bin:/sbin:/usr/sbin".into()),
        ],
        cwd: PathBuf::from("/"),
        console_log: Some(log.clone()),
        timeout: None,
    };
    assert_eq!(host.jail_exec(jid, &cmd).unwrap(), 3);
    let out = std::fs::read_to_string(&log).unwrap();
    assert!(out.contains("hello-bar"), "{out}");
    assert!(out.contains("thinjail-test.local"), "{out}");
    assert!(
        !out.contains("CARGO"),
        "environment leaked into the jail: {out}"
    );
    assert!(out.contains("10.251.77.1"), "default route missing: {out}");
    let missing = JailCommand {
        argv: vec!["/nonexistent/prog".into()],
        ..cmd.clone()
    };
    assert_eq!(
        host.jail_exec(jid, &missing).unwrap_err().errno(),
        Some(Errno::ENOENT)
    );

    // Teardown, checking each step.
    for family in [AddrFamily::Inet6, AddrFamily::Inet] {
        host.jail_route_delete_default(jid, family).unwrap();
        assert_eq!(
            host.jail_route_delete_default(jid, family)
                .unwrap_err()
                .errno(),
            Some(Errno::ESRCH)
        );
    }
    host.jail_if_addr_delete(jid, &pair.b, addr6.into())
        .unwrap();
    host.jail_if_addr_delete(jid, &pair.b, addr.into()).unwrap();
    host.if_move_from_jail(&pair.b, jid).unwrap();
    assert!(
        host.interfaces(None)
            .unwrap()
            .iter()
            .any(|i| i.name == pair.b)
    );
    host.if_destroy(&pair.a).unwrap();
    guard.epair_a = None;
    let now = host.interfaces(None).unwrap();
    assert!(!now.iter().any(|i| i.name == pair.a || i.name == pair.b));
    host.jail_remove(jid).unwrap();
    assert_eq!(
        host.jail_remove(jid).unwrap_err().errno(),
        Some(Errno::EINVAL)
    );
    assert!(host.jail_by_name(&name).unwrap().is_none());
    host.unmount(&dev, false).unwrap();
    host.unmount(&root, false).unwrap();
    guard.mounts.clear();
    assert!(mounted(&host, &root).is_none());
    assert_eq!(
        host.unmount(&root, false).unwrap_err().errno(),
        Some(Errno::EINVAL)
    );
    host.remove_file(&file).unwrap();
    host.remove_dir(&root).unwrap();
    assert_eq!(host.file_type(&root).unwrap(), None);
}

#[test]
fn bridge_membership() {
    if let Some(r) = skip_reason() {
        eprintln!("skipped bridge_membership: {r}");
        return;
    }
    let host = FreeBsdHost::new()
        .or_else(|_| FreeBsdHost::with_zfs_cli())
        .expect("open FreeBsdHost");
    let bridge = host.bridge_create(None).unwrap();
    let pair = host.epair_create(None).unwrap();
    let run = || -> Result<(), String> {
        host.bridge_addm(&bridge, &pair.a)
            .map_err(|e| e.to_string())?;
        let e = host.bridge_addm(&bridge, &pair.a).unwrap_err();
        if e.errno() != Some(Errno::EEXIST) {
            return Err(format!("second addm: {e}"));
        }
        let ifs = host.interfaces(None).map_err(|e| e.to_string())?;
        let b = ifs
            .iter()
            .find(|i| i.name == bridge)
            .ok_or("bridge not listed")?;
        if b.members != vec![pair.a.clone()] {
            return Err(format!("members {:?}", b.members));
        }
        let a = ifs
            .iter()
            .find(|i| i.name == pair.a)
            .ok_or("a not listed")?;
        if a.member_of.as_deref() != Some(bridge.as_str()) {
            return Err(format!("member_of {:?}", a.member_of));
        }
        host.bridge_deletem(&bridge, &pair.a)
            .map_err(|e| e.to_string())?;
        let renamed = format!("tjt{}", std::process::id() % 100_000);
        host.if_rename(&pair.b, &renamed)
            .map_err(|e| e.to_string())?;
        let e = host.if_rename(&renamed, "x234567890123456").unwrap_err();
        if e.errno() != Some(Errno::ENAMETOOLONG) {
            return Err(format!("long rename: {e}"));
        }
        Ok(())
    };
    let r = run();
    let _ = host.if_destroy(&pair.a);
    let _ = host.if_destroy(&bridge);
    r.unwrap();
}

#[test]
fn datasets_on_a_real_pool() {
    if let Some(r) = skip_reason() {
        eprintln!("skipped datasets_on_a_real_pool: {r}");
        return;
    }
    let Ok(pool) = std::env::var("THINJAIL_TEST_ZPOOL") else {
        assert!(
            std::env::var_os("THINJAIL_REQUIRE_KERNEL").is_none(),
            "datasets_on_a_real_pool needs THINJAIL_TEST_ZPOOL"
        );
        eprintln!("skipped datasets_on_a_real_pool: THINJAIL_TEST_ZPOOL not set");
        return;
    };
    let host = FreeBsdHost::new().expect("libzfs_core");
    let tmp = tempfile::tempdir().unwrap();
    let top = format!("{pool}/thinjail-test-{}", std::process::id());
    let tmpl = format!("{top}/t");
    let snap = format!("{tmpl}@base");
    let clone = format!("{top}/c");
    let none = DatasetProps {
        mountpoint: Some(PathBuf::from("none")),
        ..DatasetProps::default()
    };
    let mp = tmp.path().join("c");
    let run = || -> Result<(), String> {
        let s = |e: HostError| e.to_string();
        host.dataset_create(&top, &DatasetProps::default())
            .map_err(s)?;
        host.dataset_create(&tmpl, &none).map_err(s)?;
        let e = host.dataset_create(&tmpl, &none).unwrap_err();
        if e.errno() != Some(Errno::EEXIST) {
            return Err(format!("create twice: {e}"));
        }
        host.dataset_snapshot(&snap).map_err(s)?;
        let props = DatasetProps {
            mountpoint: Some(mp.clone()),
            ..DatasetProps::default()
        };
        host.dataset_clone(&snap, &clone, &props).map_err(s)?;
        if host.dataset_clones(&snap).map_err(s)? != vec![clone.clone()] {
            return Err("clones".into());
        }
        if host.dataset_mountpoint(&clone).map_err(s)? != mp {
            return Err("mountpoint".into());
        }
        let e = host.dataset_destroy(&snap).unwrap_err();
        if e.errno() != Some(Errno::EEXIST) {
            return Err(format!("snapshot with clones: {e}"));
        }
        host.mount_zfs(&clone, &mp).map_err(s)?;
        let listed = host.mounts().map_err(s)?;
        if !listed
            .iter()
            .any(|m| m.fstype == FsType::Zfs && m.source == clone && m.at == mp)
        {
            return Err(format!("zfs mount not listed: {listed:?}"));
        }
        let e = host.dataset_destroy(&clone).unwrap_err();
        if e.errno() != Some(Errno::EBUSY) {
            return Err(format!("destroy mounted: {e}"));
        }
        host.unmount(&mp, false).map_err(s)?;
        host.dataset_destroy(&clone).map_err(s)?;
        host.dataset_destroy(&snap).map_err(s)?;
        if host.dataset_exists(&snap).map_err(s)? {
            return Err("snapshot still exists".into());
        }
        Ok(())
    };
    let r = run();
    let _ = host.unmount(&mp, true);
    for d in [&clone, &snap, &tmpl, &top] {
        let _ = host.dataset_destroy(d);
    }
    r.unwrap();
    assert!(!host.dataset_exists(&top).unwrap());
}
