//! The `Cli` backend's paths for a modern zfs(8) (OpenZFS 2.x: `create -u`, `clone -u`,
//! multi-snapshot `zfs snapshot`), driven through a fake zfs that logs its arguments. The real
//! zfs here (zfs-fuse) has none of these, so this checks the argument building and output
//! parsing, not ZFS itself.

use freebsd_zfs::{CanMount, Cli, DatasetName, ErrorKind, Props, SnapshotName, Zfs};
use std::os::unix::fs::PermissionsExt;

const USAGE: &str = "usage: zfs command args ...\n\
\tcreate [-Pnpuv] [-o property=value] ... <filesystem>\n\
\tclone [-pu] [-o property=value] ... <snapshot> <filesystem|volume>\n\
\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...\n\
\tlist [-Hp] [-r|-d max] [-o property[,...]] [filesystem|volume|snapshot] ...\n";

/// A fake zfs: no arguments → usage; `snapshot` naming `@bad` → OpenZFS's per-snapshot error.
fn fake(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let log = dir.join("log");
    let bin = dir.join("zfs");
    let script = format!(
        "#!/bin/sh\n\
         if [ $# -eq 0 ]; then printf '%s' '{USAGE}' >&2; exit 2; fi\n\
         echo \"$*\" >> '{log}'\n\
         case \"$*\" in\n\
         *@bad*) echo \"cannot create snapshot 'p/b@bad': dataset already exists\" >&2;\n\
                 echo 'no snapshots were created' >&2; exit 1;;\n\
         esac\n\
         exit 0\n",
        log = log.display()
    );
    std::fs::write(&bin, script).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    wait_executable(&bin);
    (bin, log)
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

#[test]
fn modern_zfs_paths() {
    let dir = tempfile::tempdir().unwrap();
    let (bin, log) = fake(dir.path());
    let z = Cli::with_program(&bin).unwrap();
    let c = z.capabilities();
    assert!(c.list_parsable && c.multi_snapshot && c.create_no_mount && c.clone_no_mount);

    let d = DatasetName::new("p/a").unwrap();
    z.create(&d, &Props::new().canmount(CanMount::On)).unwrap();
    let snaps = [
        SnapshotName::new("p/a@s").unwrap(),
        SnapshotName::new("p/b@s").unwrap(),
    ];
    z.snapshot(&snaps).unwrap();
    z.clone_snapshot(&snaps[0], &DatasetName::new("p/c").unwrap(), &Props::new())
        .unwrap();
    let bad = [
        SnapshotName::new("p/a@bad").unwrap(),
        SnapshotName::new("p/b@bad").unwrap(),
    ];
    let e = z.snapshot(&bad).unwrap_err();
    assert_eq!(e.dataset, "p/b@bad", "{e}");
    assert_eq!(e.kind, ErrorKind::Exists, "{e}");

    let calls = std::fs::read_to_string(&log).unwrap();
    let calls: Vec<&str> = calls.lines().collect();
    assert_eq!(
        calls,
        [
            "create -u -o canmount=on p/a", // -u: no mount, so no unmount afterwards
            "snapshot p/a@s p/b@s",         // one atomic command
            "clone -u p/a@s p/c",
            "snapshot p/a@bad p/b@bad",
        ]
    );
}

#[test]
fn missing_program_is_unavailable() {
    let e = Cli::with_program("/nonexistent/zfs").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
    assert!(e.to_string().contains("/nonexistent/zfs"), "{e}");
    // A program that is not zfs(8).
    let e = Cli::with_program("true").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unavailable);
}
