//! Shared pipeline for the template tests (plain directories and zfs-fuse datasets).
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use thinjail_release::extract::ExtractOptions;
use thinjail_release::fetch::use_local;
use thinjail_release::fixture::{self, Compression, FixtureSpec, known};
use thinjail_release::template::{self, Change, FreebsdUpdate, RELOCATED, TemplateLayout};

/// Resolves `path` (absolute, as seen inside a jail whose root is `root`) on the host,
/// following symlinks the way the kernel would inside the jail: absolute targets restart at
/// `root`, `..` never climbs above it. Returns `None` when something does not exist.
pub fn resolve_in(root: &Path, path: &Path) -> Option<PathBuf> {
    let mut todo: Vec<std::ffi::OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .rev()
        .collect();
    let mut cur: Vec<std::ffi::OsString> = Vec::new();
    let mut hops = 0;
    while let Some(c) = todo.pop() {
        if c == ".." {
            cur.pop();
            continue;
        }
        let mut host = root.to_path_buf();
        host.extend(&cur);
        host.push(&c);
        let m = fs::symlink_metadata(&host).ok()?;
        if m.file_type().is_symlink() {
            hops += 1;
            if hops > 40 {
                return None;
            }
            let t = fs::read_link(&host).ok()?;
            if t.is_absolute() {
                cur.clear();
            }
            for tc in t.components().rev() {
                match tc {
                    Component::Normal(n) => todo.push(n.to_owned()),
                    Component::ParentDir => todo.push("..".into()),
                    _ => {}
                }
            }
        } else {
            cur.push(c);
        }
    }
    let mut host = root.to_path_buf();
    host.extend(&cur);
    Some(host)
}

/// Every symlink under `root` (relative paths).
pub fn symlinks(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = fs::symlink_metadata(e.path()).unwrap();
            if m.file_type().is_symlink() {
                out.push(e.path().strip_prefix(root).unwrap().to_path_buf());
            } else if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn cp_a(src: &Path, dst: &Path) {
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(dst)
        .status()
        .unwrap();
    assert!(st.success(), "cp -a {} {}", src.display(), dst.display());
}

/// Builds the jail's view in `view` (base at `/`, a copy of the skeleton at `/skeleton`) and
/// checks that every relocated path reaches the skeleton's directory and that every symlink
/// of a fresh, unsplit extraction (`reference`) still reaches the same content.
pub fn every_link_resolves(layout: &TemplateLayout, reference: &Path, view: &Path) {
    cp_a(&layout.base, view);
    let mnt = view.join(template::SKELETON_MOUNT);
    assert_eq!(
        fs::read_dir(&mnt).unwrap().count(),
        0,
        "mount point is empty in base"
    );
    fs::remove_dir(&mnt).unwrap();
    cp_a(&layout.skeleton, &mnt);
    for rel in RELOCATED {
        let got = resolve_in(view, &Path::new("/").join(rel))
            .unwrap_or_else(|| panic!("/{rel} does not resolve"));
        assert_eq!(got, mnt.join(rel), "/{rel}");
        assert!(fs::symlink_metadata(&got).unwrap().is_dir());
        // And the host's own view of base does not reach the template's skeleton.
        let host = fs::canonicalize(layout.base.join(rel)).ok();
        assert_ne!(host.as_deref(), Some(layout.skeleton.join(rel).as_path()));
    }
    let links = symlinks(reference);
    assert!(links.len() > 10);
    let mut checked = 0;
    for l in &links {
        let jail_path = Path::new("/").join(l);
        let Some(want) = resolve_in(reference, &jail_path).filter(|p| p.exists()) else {
            continue;
        };
        let got = resolve_in(view, &jail_path)
            .unwrap_or_else(|| panic!("{} no longer resolves", l.display()));
        let (wm, gm) = (
            fs::metadata(&want).unwrap(),
            fs::metadata(&got).unwrap_or_else(|_| panic!("{} dangles", l.display())),
        );
        assert_eq!(wm.is_dir(), gm.is_dir(), "{}", l.display());
        if wm.is_file() {
            assert_eq!(
                fs::read(&want).unwrap(),
                fs::read(&got).unwrap(),
                "{}",
                l.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 5, "resolvable links checked: {checked}");
    // The archive's own absolute and relative links into relocated dirs.
    assert_eq!(
        resolve_in(view, &Path::new("/").join(known::ABS_SYMLINK)).unwrap(),
        view.join("usr/share/misc/termcap")
    );
    assert_eq!(
        resolve_in(view, &Path::new("/").join(known::REL_SYMLINK)).unwrap(),
        mnt.join("etc/os-release")
    );
}

/// The whole pipeline: fixture release -> local media -> base -> host files -> split, with
/// idempotency, link resolution, freebsd-update paths, and undo. Returns the changes of the
/// split for callers to inspect (e.g. cross-filesystem moves).
pub fn pipeline(work: &Path, layout: &TemplateLayout) -> Vec<Change> {
    let rel = work.join("release");
    let media = work.join("media");
    fs::create_dir_all(&rel).unwrap();
    fs::create_dir_all(&media).unwrap();
    let fx = fixture::write_release(
        &rel,
        &FixtureSpec::small(),
        Compression::MultiBlock {
            preset: 0,
            threads: 2,
            block_size: 512 << 10,
        },
    )
    .unwrap();
    let archive = media.join("14.2-RELEASE-base.txz");
    use_local(&fx.archive, Some(&fx.manifest), "base.txz", &archive).unwrap();

    // A fake host root with resolv.conf and a localtime symlink into zoneinfo.
    let host = work.join("host");
    fs::create_dir_all(host.join("etc")).unwrap();
    fs::create_dir_all(host.join("usr/share/zoneinfo/Europe")).unwrap();
    fs::write(host.join("etc/resolv.conf"), b"nameserver 192.0.2.53\n").unwrap();
    fs::write(host.join("usr/share/zoneinfo/Europe/Berlin"), b"TZif2 fake").unwrap();
    std::os::unix::fs::symlink(
        "../usr/share/zoneinfo/Europe/Berlin",
        host.join("etc/localtime"),
    )
    .unwrap();

    let mut all = Vec::new();
    all.extend(template::create_dirs(&layout.base).unwrap());
    let (ch, rep) = template::extract_base(&archive, layout, &ExtractOptions::default()).unwrap();
    assert_eq!(rep.unwrap().entries, fx.entries);
    all.extend(ch);
    let ch = template::copy_host_files(&host, layout).unwrap();
    assert_eq!(ch.len(), 2);
    all.extend(ch);
    assert_eq!(
        fs::read(layout.base.join("etc/localtime")).unwrap(),
        b"TZif2 fake"
    );
    assert!(
        template::copy_host_files(&host, layout).unwrap().is_empty(),
        "idempotent"
    );

    // freebsd-update before the split: the template's real paths.
    let wd = work.join("fu-work");
    let fu =
        FreebsdUpdate::for_template(layout, wd.clone(), "14.2-RELEASE".parse().unwrap()).unwrap();
    let args: Vec<String> = fu
        .args()
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        args[args.len() - 6..],
        [
            "-b".to_string(),
            layout.base.display().to_string(),
            "-d".into(),
            wd.display().to_string(),
            "fetch".into(),
            "install".into()
        ]
    );

    let split = template::split_skeleton(layout).unwrap();
    all.extend(split.clone());
    // After the split base's etc resolves into the (unmounted) base/skeleton: refused.
    let e = FreebsdUpdate::for_template(layout, wd, "14.2-RELEASE".parse().unwrap()).unwrap_err();
    assert!(e.to_string().contains("split"), "{e}");

    // Layout checks.
    for rel in RELOCATED {
        let l = layout.base.join(rel);
        assert_eq!(
            fs::read_link(&l).unwrap(),
            template::link_target(rel),
            "{rel}"
        );
        assert!(
            fs::symlink_metadata(layout.skeleton.join(rel))
                .unwrap()
                .is_dir(),
            "{rel}"
        );
    }
    assert_eq!(
        fs::read(layout.skeleton.join("etc/motd.template")).unwrap(),
        known::MOTD
    );
    assert_eq!(
        fs::read(layout.skeleton.join("etc/resolv.conf")).unwrap(),
        b"nameserver 192.0.2.53\n"
    );
    assert_eq!(
        fs::metadata(layout.skeleton.join("var/empty"))
            .unwrap()
            .mode()
            & 0o7777,
        0o555
    );
    assert_eq!(
        fs::metadata(layout.skeleton.join("tmp")).unwrap().mode() & 0o7777,
        0o1777
    );
    assert_eq!(
        fs::metadata(layout.skeleton.join("var/empty"))
            .unwrap()
            .mtime(),
        1_733_011_200
    );
    assert_eq!(
        fs::metadata(layout.skeleton.join("etc/passwd"))
            .unwrap()
            .mtime(),
        1_733_011_200
    );
    for dir in [&layout.base, &layout.skeleton] {
        for e in fs::read_dir(dir).unwrap() {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                !n.contains("bak") && !n.contains("partial"),
                "stray {n} in {}",
                dir.display()
            );
        }
        for e in fs::read_dir(dir.join("usr")).unwrap() {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!n.contains("bak") && !n.contains("partial"), "stray {n}");
        }
    }

    // Idempotent: everything again changes nothing.
    assert!(template::create_dirs(&layout.base).unwrap().is_empty());
    assert!(
        template::extract_base(&archive, layout, &ExtractOptions::default())
            .unwrap()
            .0
            .is_empty()
    );
    assert!(template::split_skeleton(layout).unwrap().is_empty());
    // Host files after the split go to the skeleton's etc.
    fs::write(host.join("etc/resolv.conf"), b"nameserver 192.0.2.54\n").unwrap();
    let ch = template::copy_host_files(&host, layout).unwrap();
    assert!(
        matches!(&ch[..], [Change::WroteFile { path, previous: Some(_) }] if path == &layout.skeleton.join("etc/resolv.conf"))
    );
    all.extend(ch);

    // Every link resolves from inside a jail.
    let reference = work.join("reference");
    fs::create_dir(&reference).unwrap();
    thinjail_release::extract::extract_txz(&archive, &reference, &ExtractOptions::default())
        .unwrap();
    every_link_resolves(layout, &reference, &work.join("jailview"));

    // Undo everything: base and the skeleton's content are gone.
    template::undo(&all).unwrap();
    assert!(
        !layout.base.exists() || fs::read_dir(&layout.base).unwrap().next().is_none(),
        "base removed or emptied by undo"
    );
    for rel in RELOCATED {
        assert!(
            !layout.skeleton.join(rel).exists(),
            "{rel} left in skeleton"
        );
    }
    split
}
