//! SimHost without a dataset layer keeps dataset contents as ZFS does: a snapshot holds its
//! dataset's own files as they were, a clone starts with them, unmounting hides a dataset's
//! files and mounting over a directory hides what it held — across processes too.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use thinjail_core::host::{DatasetProps, Errno, Host};
use thinjail_core::sim::{FaultTrigger, FileState, SimHost};

fn p(s: &str) -> &Path {
    Path::new(s)
}

fn d() -> DatasetProps {
    DatasetProps::default()
}

/// `zdata` with `zdata/t` mounted at `/zdata/t`, holding a small tree.
fn setup(h: &SimHost) {
    h.add_pool("zdata").unwrap();
    h.dataset_create("zdata/t", &d()).unwrap();
    h.mount_zfs("zdata/t", p("/zdata/t")).unwrap();
    h.mkdir(p("/zdata/t/etc"), 0o755).unwrap();
    h.write_file(p("/zdata/t/etc/rc"), b"#!/bin/sh\n", 0o555)
        .unwrap();
    h.mkdir(p("/zdata/t/tmp"), 0o1777).unwrap();
    std::os::unix::fs::symlink("etc/rc", h.real_path(p("/zdata/t/rc"))).unwrap();
}

fn mode(path: PathBuf) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_clone_has_its_snapshots_files_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let h = SimHost::new(dir.path()).unwrap();
    setup(&h);
    h.dataset_snapshot("zdata/t@base").unwrap();
    // Changes after the snapshot are not in it.
    h.write_file(p("/zdata/t/etc/rc"), b"changed\n", 0o644)
        .unwrap();
    h.write_file(p("/zdata/t/late"), b"x", 0o644).unwrap();
    h.dataset_create("zdata/jails", &d()).unwrap();
    h.mount_zfs("zdata/jails", p("/zdata/jails")).unwrap();
    h.dataset_clone("zdata/t@base", "zdata/jails/c", &d())
        .unwrap();
    // Not mounted yet: nothing at its mount point.
    assert!(!h.real_path(p("/zdata/jails/c")).exists());
    let mp = h.dataset_mountpoint("zdata/jails/c").unwrap();
    h.mount_zfs("zdata/jails/c", &mp).unwrap();
    let c = h.real_path(&mp);
    assert_eq!(fs::read(c.join("etc/rc")).unwrap(), b"#!/bin/sh\n");
    assert_eq!(mode(c.join("etc/rc")), 0o555);
    assert_eq!(mode(c.join("tmp")), 0o1777);
    assert_eq!(fs::read_link(c.join("rc")).unwrap(), p("etc/rc"));
    assert!(!c.join("late").exists());
    // The clone is its own copy.
    h.write_file(p("/zdata/jails/c/etc/rc"), b"mine\n", 0o644)
        .unwrap();
    assert_eq!(
        fs::read(h.real_path(p("/zdata/t/etc/rc"))).unwrap(),
        b"changed\n"
    );
    // A second clone still gets the snapshot's files.
    h.dataset_clone("zdata/t@base", "zdata/jails/c2", &d())
        .unwrap();
    h.mount_zfs("zdata/jails/c2", p("/zdata/jails/c2")).unwrap();
    assert_eq!(
        fs::read(h.real_path(p("/zdata/jails/c2/etc/rc"))).unwrap(),
        b"#!/bin/sh\n"
    );
}

#[test]
fn a_snapshot_holds_only_its_datasets_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let h = SimHost::new(dir.path()).unwrap();
    setup(&h);
    // A child dataset mounted inside, over a directory of the parent that has a file.
    h.mkdir(p("/zdata/t/child"), 0o700).unwrap();
    h.write_file(p("/zdata/t/child/under"), b"parent's", 0o644)
        .unwrap();
    h.dataset_create("zdata/t/child", &d()).unwrap();
    h.mount_zfs("zdata/t/child", p("/zdata/t/child")).unwrap();
    // Mounting hid the parent's file.
    assert!(!h.real_path(p("/zdata/t/child/under")).exists());
    h.write_file(p("/zdata/t/child/own"), b"child's", 0o644)
        .unwrap();
    h.dataset_snapshot("zdata/t@s").unwrap();
    h.dataset_clone("zdata/t@s", "zdata/c", &d()).unwrap();
    h.mount_zfs("zdata/c", p("/zdata/c")).unwrap();
    let c = h.real_path(p("/zdata/c"));
    assert!(c.join("etc/rc").is_file());
    assert!(
        !c.join("child/own").exists(),
        "the child's files are not the parent's"
    );
    assert_eq!(fs::read(c.join("child/under")).unwrap(), b"parent's");
    // Unmounting the child brings the parent's file back, and hides the child's.
    h.unmount(p("/zdata/t/child"), false).unwrap();
    assert_eq!(
        fs::read(h.real_path(p("/zdata/t/child/under"))).unwrap(),
        b"parent's"
    );
    assert!(!h.real_path(p("/zdata/t/child/own")).exists());
    h.mount_zfs("zdata/t/child", p("/zdata/t/child")).unwrap();
    assert!(h.real_path(p("/zdata/t/child/own")).is_file());
    assert!(!h.real_path(p("/zdata/t/child/under")).exists());
}

#[test]
fn unmount_hides_files_and_state_accounts_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let h = SimHost::new(dir.path()).unwrap();
    setup(&h);
    let mounted = h.state();
    assert!(mounted.files.contains_key(p("zdata/t/etc/rc")));
    assert!(mounted.contents.is_empty());
    h.unmount(p("/zdata/t"), false).unwrap();
    let st = h.state();
    assert!(!st.files.contains_key(p("zdata/t/etc/rc")));
    assert!(matches!(
        st.contents
            .get(&("zdata/t".to_string(), PathBuf::from("etc/rc"))),
        Some(FileState::File { len: 10, .. })
    ));
    assert!(!st.files.keys().any(|k| k.starts_with(".simhost")));
    h.mount_zfs("zdata/t", p("/zdata/t")).unwrap();
    assert_eq!(h.state(), mounted);
    // Snapshots are accounted for until destroyed.
    h.dataset_snapshot("zdata/t@s").unwrap();
    assert!(
        h.state()
            .contents
            .contains_key(&("zdata/t@s".to_string(), PathBuf::from("etc/rc")))
    );
    h.dataset_clone("zdata/t@s", "zdata/c", &d()).unwrap();
    assert_eq!(
        h.dataset_destroy("zdata/t@s").unwrap_err().errno(),
        Some(Errno::EEXIST)
    );
    h.dataset_destroy("zdata/c").unwrap();
    h.dataset_destroy("zdata/t@s").unwrap();
    assert_eq!(h.state(), mounted);
    assert!(
        !dir.path().join(".simhost/store/snap/zdata%t@s").exists(),
        "the snapshot's store is freed"
    );
}

#[test]
fn a_new_dataset_is_empty_even_on_a_reused_root() {
    let dir = tempfile::tempdir().unwrap();
    {
        let h = SimHost::new(dir.path()).unwrap();
        setup(&h);
        h.unmount(p("/zdata/t"), false).unwrap();
    }
    // A fresh (non-persistent) host on the same root: `zdata/t` is new, so empty.
    let h = SimHost::new(dir.path()).unwrap();
    h.add_pool("zdata").unwrap();
    h.dataset_create("zdata/t", &d()).unwrap();
    h.mount_zfs("zdata/t", p("/zdata/t")).unwrap();
    assert_eq!(fs::read_dir(h.real_path(p("/zdata/t"))).unwrap().count(), 0);
}

#[test]
fn contents_persist_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let h = SimHost::open_persistent(dir.path()).unwrap();
        setup(&h);
        h.dataset_snapshot("zdata/t@base").unwrap();
        h.unmount(p("/zdata/t"), false).unwrap();
    }
    let h = SimHost::open_persistent(dir.path()).unwrap();
    h.dataset_clone("zdata/t@base", "zdata/c", &d()).unwrap();
    drop(h);
    let h = SimHost::open_persistent(dir.path()).unwrap();
    h.mount_zfs("zdata/c", p("/zdata/c")).unwrap();
    h.mount_zfs("zdata/t", p("/zdata/t")).unwrap();
    assert!(h.real_path(p("/zdata/c/etc/rc")).is_file());
    assert!(h.real_path(p("/zdata/t/etc/rc")).is_file());
}

#[test]
fn an_injected_fault_changes_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let h = SimHost::new(dir.path()).unwrap();
    setup(&h);
    h.dataset_snapshot("zdata/t@s").unwrap();
    h.dataset_clone("zdata/t@s", "zdata/c", &d()).unwrap();
    let before = h.state();
    h.inject(FaultTrigger::Nth(1), Errno::EIO);
    assert!(h.mount_zfs("zdata/c", p("/zdata/c")).is_err());
    h.inject(FaultTrigger::Nth(1), Errno::EIO);
    assert!(h.unmount(p("/zdata/t"), false).is_err());
    h.inject(FaultTrigger::Nth(1), Errno::EIO);
    assert!(h.dataset_snapshot("zdata/t@s2").is_err());
    h.inject(FaultTrigger::Nth(1), Errno::EIO);
    assert!(h.dataset_destroy("zdata/c").is_err());
    assert_eq!(h.state(), before);
}

#[test]
fn a_dataset_mounted_at_the_root_leaves_the_hosts_own_directory_alone() {
    let dir = tempfile::tempdir().unwrap();
    let h = SimHost::open_persistent(dir.path()).unwrap();
    setup(&h);
    h.dataset_create("zdata/r", &d()).unwrap();
    h.mount_zfs("zdata/r", p("/")).unwrap();
    // It hides the whole tree, pools included.
    assert!(!h.real_path(p("/zdata/t/etc/rc")).exists());
    h.write_file(p("/f"), b"r", 0o644).unwrap();
    h.dataset_snapshot("zdata/r@s").unwrap();
    let st = h.state();
    assert!(
        st.contents
            .contains_key(&("zdata/r@s".to_string(), PathBuf::from("f")))
    );
    assert!(!st.contents.keys().any(|(_, p)| p.starts_with(".simhost")));
    h.unmount(p("/"), false).unwrap();
    assert!(dir.path().join(".simhost/model.json").is_file());
    assert!(h.real_path(p("/zdata/t/etc/rc")).is_file());
    assert!(!h.real_path(p("/f")).exists());
}
