//! Template pipeline on plain directories (one filesystem) plus step details.

mod common;

use std::fs;
use thinjail_release::template::{self, Change, TemplateLayout};

#[test]
fn pipeline_plain_directories() {
    let work = tempfile::tempdir().unwrap();
    let layout = TemplateLayout {
        base: work.path().join("templates/14.2-RELEASE-base"),
        skeleton: work.path().join("templates/14.2-RELEASE-skeleton"),
    };
    let split = common::pipeline(work.path(), &layout);
    let moved: Vec<_> = split
        .iter()
        .filter_map(|c| match c {
            Change::Moved { copied, .. } => Some(*copied),
            _ => None,
        })
        .collect();
    // etc, tmp, var, root, home are in base.txz; usr/local is created empty.
    assert_eq!(moved.len(), 5);
    assert!(moved.iter().all(|c| !c), "same filesystem: renamed");
    assert!(
        split
            .iter()
            .any(|c| matches!(c, Change::CreatedDir(p) if p.ends_with("usr/local")))
    );
}

#[test]
fn split_resumes_after_interrupted_copy() {
    let work = tempfile::tempdir().unwrap();
    let layout = TemplateLayout {
        base: work.path().join("b"),
        skeleton: work.path().join("s"),
    };
    fs::create_dir_all(layout.base.join("etc")).unwrap();
    fs::write(layout.base.join("etc/rc.conf"), b"x").unwrap();
    // A finished copy whose source was not yet deleted, and a stale partial of var.
    fs::create_dir_all(layout.skeleton.join("etc")).unwrap();
    fs::write(layout.skeleton.join("etc/rc.conf"), b"x").unwrap();
    fs::create_dir_all(layout.base.join("var/log")).unwrap();
    fs::create_dir_all(layout.skeleton.join(".var.thinjail-partial/junk")).unwrap();
    template::split_skeleton(&layout).unwrap();
    assert!(!layout.skeleton.join(".var.thinjail-partial").exists());
    assert!(layout.skeleton.join("var/log").is_dir());
    assert_eq!(fs::read(layout.skeleton.join("etc/rc.conf")).unwrap(), b"x");
    assert!(fs::read_link(layout.base.join("etc")).is_ok());
    assert!(template::is_split(&layout));
}

#[test]
fn split_refuses_foreign_things() {
    let work = tempfile::tempdir().unwrap();
    let layout = TemplateLayout {
        base: work.path().join("b"),
        skeleton: work.path().join("s"),
    };
    fs::create_dir_all(&layout.base).unwrap();
    std::os::unix::fs::symlink("/etc", layout.base.join("etc")).unwrap();
    let e = template::split_skeleton(&layout).unwrap_err();
    assert!(e.to_string().contains("symlink to /etc"), "{e}");
    fs::remove_file(layout.base.join("etc")).unwrap();
    fs::write(layout.base.join("etc"), b"file").unwrap();
    assert!(template::split_skeleton(&layout).is_err());
}

#[test]
fn resolver_follows_jail_rules() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    fs::create_dir_all(r.join("skeleton/etc")).unwrap();
    std::os::unix::fs::symlink("skeleton/etc", r.join("etc")).unwrap();
    std::os::unix::fs::symlink("/etc", r.join("abs")).unwrap();
    std::os::unix::fs::symlink("../../../../etc", r.join("up")).unwrap();
    for p in ["/etc", "/abs", "/up"] {
        assert_eq!(
            common::resolve_in(r, p.as_ref()).unwrap(),
            r.join("skeleton/etc"),
            "{p}"
        );
    }
    std::os::unix::fs::symlink("loop", r.join("loop")).unwrap();
    assert!(common::resolve_in(r, "/loop/x".as_ref()).is_none());
}
