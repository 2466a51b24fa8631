//! A layout root behind a symlink, as FreeBSD's own `/home -> usr/home`. The kernel records
//! resolved paths (vfs_mount.c: `f_mntonname` from `vn_path_to_global_path`; kern_jail.c the
//! same for a jail's path) and SimHost does too; the Runner resolves the layout once, so stop
//! finds and removes every mount and destroy refuses while anything is mounted under the jail.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use thinjail_core::host::Host;
use thinjail_core::model::{Storage, ThinJail, ThinJailSpec, VnetStrings};
use thinjail_core::run::{Runner, generate_release};
use thinjail_core::sim::SimHost;

fn release() -> &'static (PathBuf, PathBuf) {
    static R: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        generate_release(&dir).unwrap()
    })
}

fn jail(storage: Storage) -> ThinJail {
    ThinJailSpec {
        storage,
        root: "/home/jails".into(),
        vnet: Some(VnetStrings::default()),
        ..Default::default()
    }
    .build()
    .unwrap()
}

#[test]
fn a_symlinked_layout_root_is_resolved_once() {
    for storage in [Storage::Directories, Storage::Zfs] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("usr/home")).unwrap();
        std::os::unix::fs::symlink("usr/home", root.join("home")).unwrap();
        let host = SimHost::new(&root).unwrap();
        if storage == Storage::Zfs {
            host.add_pool("zdata").unwrap();
        }
        let r = Runner::new(&host, &root, dir.path().join("state"))
            .unwrap()
            .with_freebsd_update(false);
        assert_eq!(
            r.resolve_path(Path::new("/home/jails/dev")),
            Path::new("/usr/home/jails/dev")
        );
        let j = jail(storage);
        r.host_init(j.layout(), Some("igc0bridge")).unwrap();
        let (a, m) = release();
        r.template_create(j.template(), a, Some(m)).unwrap();
        r.create(&j).unwrap();
        r.start(&j).unwrap();
        let real_root = Path::new("/usr/home/jails/dev-nullfs-base");
        let mounts = host.mounts().unwrap();
        assert!(
            mounts.iter().any(|m| m.at == real_root),
            "{storage:?}: the kernel's mount table has the resolved path: {mounts:?}"
        );
        assert_eq!(
            host.jail_by_name("dev").unwrap().unwrap().path,
            real_root,
            "{storage:?}"
        );
        r.stop(&j).unwrap();
        let left: Vec<_> = host
            .mounts()
            .unwrap()
            .into_iter()
            .filter(|m| m.at.starts_with(real_root))
            .collect();
        assert!(left.is_empty(), "{storage:?}: stop left {left:?}");
        r.destroy(&j).unwrap();
        assert!(
            !root.join("usr/home/jails/dev-nullfs-base").exists(),
            "{storage:?}"
        );
        // The record keeps the root as given.
        assert!(
            std::fs::read_dir(root.join("var/db/thinjail/jails"))
                .map(|d| d.count())
                .unwrap_or(0)
                == 0
        );
    }
}
