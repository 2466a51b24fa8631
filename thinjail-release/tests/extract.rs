//! Extraction engine: fixture round trip, metadata, and every hostile-archive class.

use std::fs;
use std::io::Cursor;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use tar::EntryType as T;
use thinjail_release::extract::{ExtractOptions, extract_tar, extract_txz};
use thinjail_release::fixture::{self, Compression, FixtureSpec, known, raw_entry};
use thinjail_release::{DecodeMode, Error, Refusal};

fn is_root() -> bool {
    // SAFETY: geteuid(2) cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn check_tree(root: &Path) {
    assert_eq!(
        fs::read(root.join("etc/motd.template")).unwrap(),
        known::MOTD
    );
    let t = fs::metadata(root.join("bin/test")).unwrap();
    let l = fs::metadata(root.join(known::HARDLINK)).unwrap();
    assert_eq!(t.ino(), l.ino(), "hard link shares the inode");
    assert_eq!(t.nlink(), 2);
    assert_eq!(
        fs::read_link(root.join(known::ABS_SYMLINK)).unwrap(),
        Path::new("/usr/share/misc/termcap")
    );
    assert_eq!(
        fs::read(root.join(known::REL_SYMLINK)).unwrap(),
        fs::read(root.join("etc/os-release")).unwrap()
    );
    let e = fs::metadata(root.join(known::SCHG_DIR)).unwrap();
    assert_eq!(e.permissions().mode() & 0o7777, 0o555);
    assert_eq!(
        fs::metadata(root.join("tmp")).unwrap().mode() & 0o7777,
        0o1777
    );
    assert_eq!(
        fs::metadata(root.join("etc/master.passwd")).unwrap().mode() & 0o777,
        0o600
    );
    let chpass = fs::metadata(root.join(known::SCHG_FILE)).unwrap();
    assert_eq!(chpass.mtime(), 1_733_011_200);
    assert_eq!(
        fs::metadata(root.join("usr/share")).unwrap().mtime(),
        1_733_011_200
    );
    if is_root() {
        assert_eq!(chpass.mode() & 0o7777, 0o4555, "setuid survives chown");
        let sd = fs::metadata(root.join("sbin/shutdown")).unwrap();
        assert_eq!((sd.uid(), sd.gid(), sd.mode() & 0o7777), (0, 5, 0o4554));
    }
}

#[test]
fn fixture_round_trip_single_and_multi_block() {
    let dir = tempfile::tempdir().unwrap();
    for (i, comp) in [
        Compression::SingleBlock { preset: 1 },
        Compression::MultiBlock {
            preset: 1,
            threads: 2,
            block_size: 256 << 10,
        },
    ]
    .into_iter()
    .enumerate()
    {
        let rel = dir.path().join(format!("rel{i}"));
        fs::create_dir(&rel).unwrap();
        let fx = fixture::write_release(&rel, &FixtureSpec::small(), comp).unwrap();
        let ratio = fx.data_bytes as f64 / fx.compressed_bytes as f64;
        eprintln!("ratio {ratio:.2}");
        assert!(ratio > 2.0, "compresses: {ratio}");
        for mode in [DecodeMode::Parallel, DecodeMode::Single] {
            let out = dir.path().join(format!("out{i}{mode:?}"));
            fs::create_dir(&out).unwrap();
            let opts = ExtractOptions {
                decode: mode,
                ..Default::default()
            };
            let rep = extract_txz(&fx.archive, &out, &opts).unwrap();
            assert_eq!(rep.entries, fx.entries, "pax headers are not entries");
            assert_eq!(rep.bytes, fx.data_bytes);
            assert_eq!(rep.hardlinks, 2);
            assert_eq!(rep.flags.len(), 4);
            assert_eq!(rep.flags_applied, cfg!(target_os = "freebsd"));
            assert!(rep.created_top_level.iter().any(|p| p == Path::new("usr")));
            check_tree(&out);
            // Extracting again over the tree (unlink semantics) works and changes nothing.
            extract_txz(&fx.archive, &out, &opts).unwrap();
            check_tree(&out);
        }
    }
}

#[test]
fn same_tree_as_bsdtar() {
    if std::process::Command::new("bsdtar")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: bsdtar not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fx = fixture::write_release(
        dir.path(),
        &FixtureSpec::small(),
        Compression::SingleBlock { preset: 1 },
    )
    .unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    fs::create_dir(&a).unwrap();
    fs::create_dir(&b).unwrap();
    extract_txz(&fx.archive, &a, &ExtractOptions::default()).unwrap();
    let st = std::process::Command::new("bsdtar")
        .args(["--numeric-owner", "-xpf"])
        .arg(&fx.archive)
        .arg("-C")
        .arg(&b)
        .arg("--unlink")
        // Linux: bsdtar maps schg to chattr +i (undeletable); thinjail does not apply flags
        // there. --no-fflags must follow -p, which turns fflags on.
        .arg("--no-fflags")
        .status()
        .unwrap();
    assert!(st.success());
    let list = |root: &Path| {
        let mut v = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                let m = fs::symlink_metadata(e.path()).unwrap();
                let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
                let content = if m.is_file() {
                    fs::read(e.path()).unwrap()
                } else if m.file_type().is_symlink() {
                    fs::read_link(e.path())
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes()
                } else {
                    vec![]
                };
                v.push((
                    rel,
                    m.mode(),
                    m.uid(),
                    m.gid(),
                    m.nlink(),
                    if m.is_dir() { 0 } else { m.mtime() },
                    content,
                ));
                if m.is_dir() {
                    stack.push(e.path());
                }
            }
        }
        v.sort();
        v
    };
    let (la, lb) = (list(&a), list(&b));
    assert_eq!(la.len(), lb.len());
    for (x, y) in la.iter().zip(&lb) {
        assert_eq!(x, y);
    }
}

fn tar_of(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b);
    b.into_inner().unwrap()
}

/// Runs a hostile archive into `<tmp>/target` and checks nothing appeared in `<tmp>/outside`.
fn hostile(tar: Vec<u8>, opts: ExtractOptions) -> (Error, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let outside = dir.path().join("outside");
    fs::create_dir(&target).unwrap();
    fs::create_dir(&outside).unwrap();
    let err = extract_tar(Cursor::new(tar), Path::new("hostile.tar"), &target, &opts).unwrap_err();
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing outside: {err}"
    );
    assert!(!dir.path().join("evil").exists());
    (err, dir)
}

fn refusal(e: &Error) -> Refusal {
    match e {
        Error::Refused { reason, .. } => *reason,
        other => panic!("expected a refusal, got {other}"),
    }
}

#[test]
fn refuses_absolute_path() {
    let (e, d) = hostile(
        tar_of(|b| {
            let p = format!("{}/outside/evil", std::env::temp_dir().display());
            raw_entry(b, T::Regular, p.as_bytes(), b"", 0o644, b"x").unwrap();
        }),
        ExtractOptions::default(),
    );
    assert_eq!(refusal(&e), Refusal::Absolute);
    assert!(e.to_string().contains("absolute"), "{e}");
    drop(d);
}

#[test]
fn refuses_dotdot() {
    for p in [
        &b"../evil"[..],
        b"./a/../../evil",
        b"a/b/../../../outside/evil",
    ] {
        let (e, _d) = hostile(
            tar_of(|b| raw_entry(b, T::Regular, p, b"", 0o644, b"x").unwrap()),
            ExtractOptions::default(),
        );
        assert_eq!(refusal(&e), Refusal::DotDot);
    }
}

#[test]
fn refuses_writing_through_archive_symlink() {
    // The archive plants a symlink to the outside and then writes through it.
    let (e, d) = hostile(
        tar_of(|b| {
            raw_entry(b, T::Symlink, b"link", b"../outside", 0o777, b"").unwrap();
            raw_entry(b, T::Regular, b"link/evil", b"", 0o644, b"x").unwrap();
        }),
        ExtractOptions::default(),
    );
    assert_eq!(refusal(&e), Refusal::ThroughSymlink);
    assert!(
        fs::symlink_metadata(d.path().join("target/link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // Also a directory entry through it, and a symlink to an absolute path.
    let (e, _d) = hostile(
        tar_of(|b| {
            let abs = d.path().join("outside");
            raw_entry(
                b,
                T::Symlink,
                b"a",
                abs.as_os_str().as_encoded_bytes(),
                0o777,
                b"",
            )
            .unwrap();
            raw_entry(b, T::Directory, b"a/sub/", b"", 0o755, b"").unwrap();
        }),
        ExtractOptions::default(),
    );
    assert_eq!(refusal(&e), Refusal::ThroughSymlink);
}

#[test]
fn refuses_writing_through_existing_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let outside = dir.path().join("outside");
    fs::create_dir_all(&target).unwrap();
    fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, target.join("etc")).unwrap();
    let t = tar_of(|b| raw_entry(b, T::Regular, b"./etc/passwd", b"", 0o644, b"x").unwrap());
    let e = extract_tar(
        Cursor::new(t),
        Path::new("t"),
        &target,
        &ExtractOptions::default(),
    )
    .unwrap_err();
    assert_eq!(refusal(&e), Refusal::ThroughSymlink);
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    // A directory entry for it replaces the symlink (unlink semantics), then files go inside.
    let t = tar_of(|b| {
        raw_entry(b, T::Directory, b"./etc/", b"", 0o755, b"").unwrap();
        raw_entry(b, T::Regular, b"./etc/passwd", b"", 0o644, b"x").unwrap();
    });
    extract_tar(
        Cursor::new(t),
        Path::new("t"),
        &target,
        &ExtractOptions::default(),
    )
    .unwrap();
    assert!(fs::symlink_metadata(target.join("etc")).unwrap().is_dir());
    assert_eq!(fs::read(target.join("etc/passwd")).unwrap(), b"x");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
fn leaf_symlink_is_replaced_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    fs::create_dir_all(&target).unwrap();
    let victim = dir.path().join("victim");
    fs::write(&victim, b"keep").unwrap();
    std::os::unix::fs::symlink(&victim, target.join("f")).unwrap();
    let t = tar_of(|b| raw_entry(b, T::Regular, b"f", b"", 0o644, b"new").unwrap());
    extract_tar(
        Cursor::new(t.clone()),
        Path::new("t"),
        &target,
        &ExtractOptions::default(),
    )
    .unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"keep");
    assert_eq!(fs::read(target.join("f")).unwrap(), b"new");
    // Without unlink an existing entry is refused.
    let opts = ExtractOptions {
        unlink: false,
        ..Default::default()
    };
    let e = extract_tar(Cursor::new(t), Path::new("t"), &target, &opts).unwrap_err();
    assert_eq!(refusal(&e), Refusal::Exists);
}

#[test]
fn refuses_hard_links_outside() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    fs::write(&secret, b"s").unwrap();
    let cases: Vec<Vec<u8>> = vec![
        secret.as_os_str().as_encoded_bytes().to_vec(),
        b"../secret".to_vec(),
        b"../../secret".to_vec(),
    ];
    for src in cases {
        let (e, _d) = hostile(
            tar_of(|b| raw_entry(b, T::Link, b"h", &src, 0o644, b"").unwrap()),
            ExtractOptions::default(),
        );
        assert_eq!(refusal(&e), Refusal::LinkOutside);
    }
    // Through a symlink the archive created.
    let (e, _d) = hostile(
        tar_of(|b| {
            raw_entry(b, T::Symlink, b"up", b"..", 0o777, b"").unwrap();
            raw_entry(b, T::Link, b"h", b"up/secret", 0o644, b"").unwrap();
        }),
        ExtractOptions::default(),
    );
    assert_eq!(refusal(&e), Refusal::LinkOutside);
    assert_eq!(fs::metadata(&secret).unwrap().nlink(), 1);
}

#[test]
fn refuses_devices_unless_permitted() {
    let mk = || {
        tar_of(|b| {
            let mut h = tar::Header::new_ustar();
            h.set_path("null").unwrap();
            h.set_entry_type(T::Char);
            h.set_mode(0o666);
            h.set_device_major(1).unwrap();
            h.set_device_minor(3).unwrap();
            h.set_size(0);
            h.set_cksum();
            b.append(&h, &b""[..]).unwrap();
        })
    };
    let (e, d) = hostile(mk(), ExtractOptions::default());
    assert_eq!(refusal(&e), Refusal::Device);
    assert!(!d.path().join("target/null").exists());
    if is_root() {
        let dir = tempfile::tempdir().unwrap();
        let opts = ExtractOptions {
            allow_devices: true,
            ..Default::default()
        };
        match extract_tar(Cursor::new(mk()), Path::new("t"), dir.path(), &opts) {
            Ok(rep) => {
                assert_eq!(rep.nodes, 1);
                use std::os::unix::fs::FileTypeExt;
                assert!(
                    fs::symlink_metadata(dir.path().join("null"))
                        .unwrap()
                        .file_type()
                        .is_char_device()
                );
            }
            // Containers without CAP_MKNOD.
            Err(e) => assert_eq!(e.errno(), Some(libc::EPERM), "{e}"),
        }
    }
}

#[test]
fn corrupt_and_truncated_xz_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fixture::write_release(
        dir.path(),
        &FixtureSpec::small(),
        Compression::SingleBlock { preset: 1 },
    )
    .unwrap();
    let data = fs::read(&fx.archive).unwrap();
    let cut = dir.path().join("cut.txz");
    fs::write(&cut, &data[..data.len() / 2]).unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let e = extract_txz(&cut, &out, &ExtractOptions::default()).unwrap_err();
    assert!(matches!(e, Error::CorruptArchive { .. }), "{e}");
    let mut bad = data.clone();
    let n = bad.len();
    bad[n - 20] ^= 0xff; // index/footer area
    fs::write(&cut, &bad).unwrap();
    assert!(extract_txz(&cut, &out, &ExtractOptions::default()).is_err());
}

#[test]
fn directory_replaced_by_later_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let t = tar_of(|b| {
        raw_entry(b, T::Directory, b"a/", b"", 0o700, b"").unwrap();
        raw_entry(b, T::Symlink, b"a", b"elsewhere", 0o777, b"").unwrap();
    });
    let rep = extract_tar(
        Cursor::new(t),
        Path::new("t"),
        dir.path(),
        &ExtractOptions::default(),
    )
    .unwrap();
    assert_eq!((rep.dirs, rep.symlinks), (1, 1));
    assert_eq!(
        fs::read_link(dir.path().join("a")).unwrap(),
        Path::new("elsewhere")
    );
}

#[test]
fn file_entry_over_hard_link_does_not_write_through() {
    let dir = tempfile::tempdir().unwrap();
    let t = tar_of(|b| {
        raw_entry(b, T::Regular, b"etc/passwd", b"", 0o644, b"root").unwrap();
        raw_entry(b, T::Link, b"h", b"etc/passwd", 0o644, b"").unwrap();
        raw_entry(b, T::Regular, b"h", b"", 0o644, b"evil").unwrap();
    });
    extract_tar(
        Cursor::new(t),
        Path::new("t"),
        dir.path(),
        &ExtractOptions::default(),
    )
    .unwrap();
    assert_eq!(fs::read(dir.path().join("etc/passwd")).unwrap(), b"root");
    assert_eq!(fs::read(dir.path().join("h")).unwrap(), b"evil");
}
