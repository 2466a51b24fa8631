//! The zfs(8) backend.

use crate::{
    DatasetName, Error, ErrorKind, Op, PropValue, Property, Props, Result, SnapshotFailure,
    SnapshotName, Zfs, check_snapshot_set,
};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// What the installed zfs(8) supports, read from its usage text (`zfs` with no arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// `zfs list -p` (parsable numbers). zfs-fuse's zfs lacks it.
    pub list_parsable: bool,
    /// `zfs snapshot a@x b@y` (several snapshots, atomically, in one command).
    pub multi_snapshot: bool,
    /// `zfs create -u` (do not mount).
    pub create_no_mount: bool,
    /// `zfs clone -u` (do not mount).
    pub clone_no_mount: bool,
}

impl Capabilities {
    /// Parses zfs(8)'s usage text.
    ///
    /// ```
    /// let old = "\tcreate [-p] [-o property=value] ... <filesystem>\n\
    ///            \tsnapshot [-r] [-o property=value] ... <filesystem@snapname|volume@snapname>\n\
    ///            \tlist [-rH][-d max] [-o property[,...]]\n";
    /// let c = freebsd_zfs::Capabilities::from_usage(old);
    /// assert!(!c.list_parsable && !c.multi_snapshot && !c.create_no_mount);
    /// let new = "\tcreate [-Pnpuv] [-o property=value] ... <filesystem>\n\
    ///            \tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...\n\
    ///            \tlist [-Hp] [-r|-d max] [-o property[,...]]\n";
    /// let c = freebsd_zfs::Capabilities::from_usage(new);
    /// assert!(c.list_parsable && c.multi_snapshot && c.create_no_mount);
    /// ```
    pub fn from_usage(usage: &str) -> Self {
        let line = |cmd: &str| -> Vec<&str> {
            usage
                .lines()
                .map(str::trim)
                .filter(|l| l.strip_prefix(cmd).is_some_and(|r| r.starts_with(' ')))
                .collect()
        };
        // Single-letter flags in `[-abc]` groups of a usage line.
        let has_flag = |l: &str, f: char| {
            l.split_whitespace().any(|w| {
                w.strip_prefix("[-")
                    .and_then(|w| w.strip_suffix(']'))
                    .is_some_and(|g| g.chars().all(|c| c.is_ascii_alphabetic()) && g.contains(f))
            })
        };
        Self {
            list_parsable: line("list").iter().any(|l| has_flag(l, 'p')),
            multi_snapshot: line("snapshot").iter().any(|l| l.ends_with("...")),
            create_no_mount: line("create").iter().any(|l| has_flag(l, 'u')),
            clone_no_mount: line("clone").iter().any(|l| has_flag(l, 'u')),
        }
    }
}

/// Runs zfs(8). Exit codes and stderr map onto [`ErrorKind`]s; the stderr text is kept in
/// [`Error::message`].
///
/// ```no_run
/// use freebsd_zfs::{Cli, DatasetName, Zfs};
/// let zfs = Cli::new().unwrap();
/// let ds = DatasetName::new("zdata/jails").unwrap();
/// println!("{:?}", zfs.list_children(&ds).unwrap());
/// ```
#[derive(Debug, Clone)]
pub struct Cli {
    program: OsString,
    caps: Capabilities,
    busy_retry: Duration,
}

impl Cli {
    /// Uses `zfs` from `PATH` and detects its capabilities.
    pub fn new() -> Result<Self> {
        Self::with_program("zfs")
    }

    /// Uses the given zfs(8) binary.
    pub fn with_program(program: impl Into<OsString>) -> Result<Self> {
        let program = program.into();
        let out = Command::new(&program).output().map_err(|e| {
            Error::new(Op::Init, "", ErrorKind::Unavailable)
                .with_message(format!("cannot run {}: {e}", program.to_string_lossy()))
        })?;
        let usage = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        if !usage.contains("snapshot") {
            return Err(
                Error::new(Op::Init, "", ErrorKind::Unavailable).with_message(format!(
                    "{} printed no zfs usage text",
                    program.to_string_lossy()
                )),
            );
        }
        Ok(Self {
            program,
            caps: Capabilities::from_usage(&usage),
            busy_retry: Duration::ZERO,
        })
    }

    /// How long to keep retrying `destroy`, `rename` and `unmount` while zfs(8) reports the
    /// dataset busy (default: no retry). zfs-fuse releases unmounted filesystems
    /// asynchronously, so a destroy right after an unmount can briefly fail with "busy".
    pub fn busy_retry(mut self, d: Duration) -> Self {
        self.busy_retry = d;
        self
    }

    /// The detected capabilities.
    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }

    fn run(&self, op: Op, dataset: &str, args: &[&str]) -> Result<String> {
        let out = Command::new(&self.program)
            .args(args)
            .output()
            .map_err(|e| {
                Error::new(op, dataset, ErrorKind::Unavailable)
                    .with_message(format!("cannot run zfs: {e}"))
            })?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(classify(op, dataset, out.status.code(), &stderr))
    }

    /// `run`, retried while busy for up to `busy_retry`.
    fn run_retry(&self, op: Op, dataset: &str, args: &[&str]) -> Result<String> {
        let start = Instant::now();
        loop {
            match self.run(op, dataset, args) {
                Err(e) if e.kind == ErrorKind::Busy && start.elapsed() < self.busy_retry => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                r => return r,
            }
        }
    }

    fn lines(out: &str) -> impl Iterator<Item = &str> {
        out.lines().filter(|l| !l.is_empty())
    }

    /// Unmounts what zfs(8) mounted on create/clone when it has no `-u`. Skipped when the
    /// properties already prevent the mount (`canmount=off`, `mountpoint` none/legacy); old
    /// zfs(8) (zfs-fuse) does mount `canmount=noauto` clones.
    fn undo_automount(&self, op: Op, name: &DatasetName, props: &Props) -> Result<()> {
        let no_mount = matches!(props.get("canmount"), Some(PropValue::U64(0)))
            || matches!(props.get("mountpoint"),
                Some(PropValue::String(m)) if m == "none" || m == "legacy");
        if no_mount {
            return Ok(());
        }
        match self.run_retry(op, name.as_str(), &["unmount", name.as_str()]) {
            Err(e) if matches!(e.kind, ErrorKind::NotMounted | ErrorKind::InvalidArgument) => {
                Ok(())
            }
            r => r.map(drop),
        }
    }

    fn create_impl(&self, name: &DatasetName, props: &Props, parents: bool) -> Result<()> {
        if parents && self.exists(name)? {
            return Ok(());
        }
        let flags: &[&str] = if parents { &["-p"] } else { &[] };
        self.new_dataset(
            Op::Create,
            NewDataset {
                subcommand: "create",
                flags,
                no_mount_flag: self.caps.create_no_mount,
                props,
                operands: &[name.as_str()],
                target: name,
                mount: false,
            },
        )
    }

    fn clone_impl(
        &self,
        origin: &SnapshotName,
        target: &DatasetName,
        props: &Props,
        mount: bool,
    ) -> Result<()> {
        self.new_dataset(
            Op::Clone,
            NewDataset {
                subcommand: "clone",
                flags: &[],
                no_mount_flag: self.caps.clone_no_mount,
                props,
                operands: &[origin.as_str(), target.as_str()],
                target,
                mount,
            },
        )
    }

    /// `zfs create|clone [flags] [-u] -o k=v… operands`: the one place that builds the argument
    /// list of a new dataset. With `mount: false` the dataset is left unmounted (`-u`, or
    /// `zfs unmount` after zfs(8)'s automount when it has no `-u`); with `mount: true` zfs(8)'s
    /// own mount of the new dataset is kept.
    fn new_dataset(&self, op: Op, d: NewDataset<'_>) -> Result<()> {
        d.props.validate().map_err(|e| {
            Error::new(op, d.target.as_str(), ErrorKind::InvalidArgument)
                .with_message(e.to_string())
        })?;
        let opts = d.props.cli_args();
        let mut argv: Vec<&str> = vec![d.subcommand];
        argv.extend_from_slice(d.flags);
        let no_mount_flag = !d.mount && d.no_mount_flag;
        if no_mount_flag {
            argv.push("-u");
        }
        for o in &opts {
            argv.push("-o");
            argv.push(o);
        }
        argv.extend_from_slice(d.operands);
        // "dataset already exists" from zfs(8) is `ErrorKind::Exists` (EEXIST), naming the
        // target: no separate existence check before the call.
        self.run(op, d.target.as_str(), &argv)?;
        if !d.mount && !no_mount_flag {
            self.undo_automount(op, d.target, d.props)?;
        }
        Ok(())
    }

    /// Where `name` is mounted, if it is: from the kernel's mount table where it can be read
    /// without a process (`/proc/self/mounts` on Linux: the source is the dataset name, the
    /// type `zfs` or zfs-fuse's `fuse.zfs`); elsewhere `zfs get -H -o value mounted,mountpoint`.
    fn mounted_path(&self, op: Op, name: &DatasetName) -> Result<Option<PathBuf>> {
        if let Some(table) = mount_table() {
            return Ok(mount_of(&table, name.as_str()));
        }
        let args = [
            "get",
            "-H",
            "-o",
            "value",
            "mounted,mountpoint",
            name.as_str(),
        ];
        let out = self.run(op, name.as_str(), &args)?;
        let mut v = Self::lines(&out);
        match (v.next(), v.next()) {
            (Some("yes"), Some(mp)) => Ok(Some(PathBuf::from(mp))),
            (Some(_), Some(_)) => Ok(None),
            _ => Err(Error::new(op, name.as_str(), ErrorKind::Other)
                .with_message(format!("zfs get mounted,mountpoint printed {out:?}"))),
        }
    }

    /// The mount point after a successful `zfs mount`: the mount table (no process) or the
    /// `mountpoint` property.
    fn mountpoint_after_mount(&self, name: &DatasetName) -> Result<PathBuf> {
        if let Some(p) = mount_table().and_then(|t| mount_of(&t, name.as_str())) {
            return Ok(p);
        }
        let p = self.get_properties(name, &["mountpoint"])?;
        p.into_iter()
            .next()
            .map(|p| PathBuf::from(p.value))
            .ok_or_else(|| {
                Error::new(Op::Mount, name.as_str(), ErrorKind::Other)
                    .with_message("zfs get printed no mountpoint")
            })
    }

    fn snapshot_one(&self, s: &SnapshotName) -> Result<()> {
        self.run(Op::Snapshot, s.as_str(), &["snapshot", s.as_str()])
            .map(drop)
    }

    /// `zfs list -H -o name -t <types> name`: whether it exists.
    fn listed(&self, types: &str, name: &str) -> Result<bool> {
        match self.run(
            Op::Exists,
            name,
            &["list", "-H", "-o", "name", "-t", types, name],
        ) {
            Ok(_) => Ok(true),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `zfs list -H -o name -t <types> -d 1 dataset`, sorted.
    fn list_names(&self, types: &str, dataset: &str) -> Result<Vec<String>> {
        let args = ["list", "-H", "-o", "name", "-t", types, "-d", "1", dataset];
        let out = self.run(Op::List, dataset, &args)?;
        let mut v: Vec<String> = Self::lines(&out).map(str::to_string).collect();
        v.sort();
        Ok(v)
    }
}

/// `zfs list -t` of file systems and volumes.
const FILESYSTEMS: &str = "filesystem,volume";
/// `zfs list -t` of snapshots.
const SNAPSHOTS: &str = "snapshot";

/// How long [`Zfs::clone_and_mount`] waits for a mount zfs(8) left in flight.
const CLONE_MOUNT_WAIT: Duration = Duration::from_secs(5);

/// A new dataset for [`Cli::new_dataset`].
struct NewDataset<'a> {
    /// `create` or `clone`.
    subcommand: &'a str,
    /// Flags before the properties (`-p`).
    flags: &'a [&'a str],
    /// Whether this subcommand of the installed zfs(8) has `-u`.
    no_mount_flag: bool,
    props: &'a Props,
    /// The names at the end of the command line.
    operands: &'a [&'a str],
    /// The dataset made (named in errors).
    target: &'a DatasetName,
    /// Keep zfs(8)'s mount of the new dataset.
    mount: bool,
}

/// The kernel's mount table as text, where it is a file (`/proc/self/mounts`, Linux).
fn mount_table() -> Option<Vec<u8>> {
    if cfg!(target_os = "linux") {
        std::fs::read("/proc/self/mounts").ok()
    } else {
        None
    }
}

/// The mount point of ZFS dataset `name` in a `/proc/self/mounts` text (source, mount point,
/// type… per line, with space, tab, newline and backslash as octal escapes): the last (topmost)
/// mount whose source is `name` and whose type is `zfs` or `fuse.zfs`.
fn mount_of(table: &[u8], name: &str) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let unescape = |f: &[u8]| -> Vec<u8> {
        let mut out = Vec::with_capacity(f.len());
        let mut i = 0;
        while i < f.len() {
            let oct = f
                .get(i + 1..i + 4)
                .filter(|d| f[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
            match oct {
                Some(d) => {
                    let v = d.iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
                    out.push(v as u8);
                    i += 4;
                }
                None => {
                    out.push(f[i]);
                    i += 1;
                }
            }
        }
        out
    };
    table.rsplit(|b| *b == b'\n').find_map(|line| {
        let mut f = line.split(|b| *b == b' ');
        let (src, at, fstype) = (f.next()?, f.next()?, f.next()?);
        (unescape(src) == name.as_bytes() && (fstype == b"zfs" || fstype == b"fuse.zfs"))
            .then(|| PathBuf::from(OsString::from_vec(unescape(at))))
    })
}

/// Collapses per-snapshot failures: one failure is reported as itself, several as
/// [`ErrorKind::Snapshots`].
pub(crate) fn snapshot_error(op: Op, all: &[SnapshotName], mut f: Vec<SnapshotFailure>) -> Error {
    if f.len() == 1 {
        let one = f.remove(0);
        return Error {
            op,
            dataset: one.snapshot,
            kind: one.kind,
            errno: one.errno,
            message: None,
        };
    }
    let names: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
    Error::new(op, names.join(" "), ErrorKind::Snapshots(f))
}

/// Maps zfs(8)'s exit status and stderr onto an [`Error`] (public for tests and for callers
/// that run zfs(8) themselves).
///
/// ```
/// use freebsd_zfs::{ErrorKind, Op};
/// let e = freebsd_zfs::cli_error(Op::DestroySnapshots, "p/a@s", Some(1),
///     "cannot destroy 'p/a@s': snapshot has dependent clones\n\
///      use '-R' to destroy the following datasets:\np/b\n");
/// assert_eq!(e.kind, ErrorKind::HasDependants(vec!["p/b".into()]));
/// ```
pub fn classify(op: Op, dataset: &str, code: Option<i32>, stderr: &str) -> Error {
    let s = stderr.to_ascii_lowercase();
    let has = |pats: &[&str]| pats.iter().any(|p| s.contains(p));
    let kind = if has(&["has dependent clones", "has children"]) {
        // Names follow the "use '-r' / '-R' to destroy the following datasets:" line.
        let mut names: Vec<String> = stderr
            .lines()
            .skip_while(|l| !l.contains("to destroy the following"))
            .skip(1)
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        names.sort();
        ErrorKind::HasDependants(names)
    } else if has(&["already exists", "dataset exists"]) {
        ErrorKind::Exists
    } else if has(&["already mounted"]) {
        ErrorKind::AlreadyMounted
    } else if has(&["not currently mounted", "not mounted"]) {
        ErrorKind::NotMounted
    } else if has(&[
        "name is too long",
        "empty component",
        "invalid character",
        "leading slash",
        "trailing slash",
        "multiple '@'",
        "delimiter",
        "missing '@'",
        "invalid dataset name",
        "must begin with a letter",
        "name is reserved",
        "self reference",
        "invalid name",
    ]) {
        ErrorKind::InvalidName
    } else if has(&[
        "does not exist",
        "no such pool",
        "no such file",
        "could not find any snapshots",
    ]) {
        ErrorKind::NotFound
    } else if has(&["is busy", "device busy", "resource busy"]) {
        ErrorKind::Busy
    } else if has(&[
        "permission denied",
        "operation not permitted",
        "insufficient privileges",
    ]) {
        ErrorKind::Permission
    } else if has(&[
        "bad property",
        "invalid property",
        "bad numeric value",
        "must be an absolute path",
        "must be one of",
        "property is set to",
        "no mountpoint set",
        "legacy",
        "invalid argument",
    ]) || code == Some(2)
    {
        ErrorKind::InvalidArgument
    } else {
        ErrorKind::Other
    };
    Error::new(op, dataset, kind).with_message(stderr.trim())
}

impl Zfs for Cli {
    /// `zfs create [-u] -o k=v… name` (then `zfs unmount` if zfs(8) has no `-u`).
    fn create(&self, name: &DatasetName, props: &Props) -> Result<()> {
        self.create_impl(name, props, false)
    }

    /// `zfs create -p [-u] -o k=v… name`.
    fn create_with_parents(&self, name: &DatasetName, props: &Props) -> Result<()> {
        self.create_impl(name, props, true)
    }

    /// `zfs snapshot a@x b@y…` (atomic) when supported; otherwise one `zfs snapshot` each,
    /// destroying the ones already taken if a later one fails.
    fn snapshot(&self, snaps: &[SnapshotName]) -> Result<()> {
        check_snapshot_set(Op::Snapshot, snaps)?;
        if snaps.len() == 1 {
            return self.snapshot_one(&snaps[0]);
        }
        if self.caps.multi_snapshot {
            let mut args = vec!["snapshot"];
            args.extend(snaps.iter().map(|s| s.as_str()));
            let names: Vec<&str> = snaps.iter().map(|s| s.as_str()).collect();
            return match self.run(Op::Snapshot, &names.join(" "), &args) {
                Ok(_) => Ok(()),
                Err(e) => {
                    // One "cannot create snapshot 'x': reason" line per failed snapshot.
                    let msg = e.message.clone().unwrap_or_default();
                    let f: Vec<SnapshotFailure> = snaps
                        .iter()
                        .filter_map(|s| {
                            let line = msg.lines().find(|l| l.contains(&format!("'{s}'")))?;
                            Some(SnapshotFailure {
                                snapshot: s.to_string(),
                                kind: classify(Op::Snapshot, s.as_str(), Some(1), line).kind,
                                errno: None,
                            })
                        })
                        .collect();
                    if f.is_empty() {
                        Err(e)
                    } else {
                        let mut err = snapshot_error(Op::Snapshot, snaps, f);
                        err.message = e.message;
                        Err(err)
                    }
                }
            };
        }
        let mut done: Vec<&SnapshotName> = Vec::new();
        for s in snaps {
            if let Err(e) = self.snapshot_one(s) {
                for d in &done {
                    let _ = self.run(Op::Snapshot, d.as_str(), &["destroy", d.as_str()]);
                }
                let f = vec![SnapshotFailure {
                    snapshot: s.to_string(),
                    kind: e.kind.clone(),
                    errno: None,
                }];
                let mut err = snapshot_error(Op::Snapshot, snaps, f);
                err.message = e.message;
                return Err(err);
            }
            done.push(s);
        }
        Ok(())
    }

    /// `zfs clone [-u] -o k=v… origin target` (then `zfs unmount` if zfs(8) has no `-u`).
    fn clone_snapshot(
        &self,
        origin: &SnapshotName,
        target: &DatasetName,
        props: &Props,
    ) -> Result<()> {
        self.clone_impl(origin, target, props, false)
    }

    /// `zfs clone -o k=v… origin target`, keeping the mount zfs(8) makes of a new clone, so one
    /// process clones and mounts (plus `zfs mount` only when zfs(8) did not mount it, e.g.
    /// `canmount=noauto` on OpenZFS). The path comes from the mount table on Linux, from
    /// `zfs get mounted,mountpoint` elsewhere. A mount still in flight (zfs-fuse answers
    /// "busy") is waited for up to five seconds.
    fn clone_and_mount(
        &self,
        origin: &SnapshotName,
        target: &DatasetName,
        props: &Props,
    ) -> Result<PathBuf> {
        self.clone_impl(origin, target, props, true)?;
        let start = Instant::now();
        loop {
            if let Some(p) = self.mounted_path(Op::Mount, target)? {
                return Ok(p);
            }
            match self.run(Op::Mount, target.as_str(), &["mount", target.as_str()]) {
                Ok(_) => return self.mountpoint_after_mount(target),
                Err(e)
                    if matches!(e.kind, ErrorKind::Busy | ErrorKind::AlreadyMounted)
                        && start.elapsed() < CLONE_MOUNT_WAIT =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `zfs destroy name` (zfs(8) unmounts it first and names children/snapshots it refuses for).
    fn destroy(&self, name: &DatasetName) -> Result<()> {
        self.run_retry(Op::Destroy, name.as_str(), &["destroy", name.as_str()])
            .map(drop)
    }

    /// `zfs destroy pool/fs@snap` for each; missing snapshots are ignored (as
    /// `lzc_destroy_snaps` does).
    fn destroy_snapshots(&self, snaps: &[SnapshotName]) -> Result<()> {
        check_snapshot_set(Op::DestroySnapshots, snaps)?;
        let mut f = Vec::new();
        let mut last = None;
        for s in snaps {
            match self.run_retry(Op::DestroySnapshots, s.as_str(), &["destroy", s.as_str()]) {
                Ok(_) => {}
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => {
                    f.push(SnapshotFailure {
                        snapshot: s.to_string(),
                        kind: e.kind.clone(),
                        errno: None,
                    });
                    last = e.message;
                }
            }
        }
        if f.is_empty() {
            return Ok(());
        }
        let mut err = snapshot_error(Op::DestroySnapshots, snaps, f);
        err.message = last;
        Err(err)
    }

    /// `zfs list -H -o name -t filesystem,volume name`.
    fn exists(&self, name: &DatasetName) -> Result<bool> {
        self.listed(FILESYSTEMS, name.as_str())
    }

    /// `zfs list -H -o name -t snapshot name`.
    fn snapshot_exists(&self, name: &SnapshotName) -> Result<bool> {
        self.listed(SNAPSHOTS, name.as_str())
    }

    /// `zfs rename from to`.
    fn rename(&self, from: &DatasetName, to: &DatasetName) -> Result<()> {
        self.run_retry(
            Op::Rename,
            from.as_str(),
            &["rename", from.as_str(), to.as_str()],
        )
        .map(drop)
    }

    /// `zfs get -H -p -o property,value,source a,b name`.
    fn get_properties(&self, name: &DatasetName, props: &[&str]) -> Result<Vec<Property>> {
        if props.is_empty()
            || props
                .iter()
                .any(|p| p.is_empty() || p.contains([',', '\0']))
        {
            return Err(
                Error::new(Op::GetProperties, name.as_str(), ErrorKind::InvalidArgument)
                    .with_message("property names are non-empty, without ',' or NUL"),
            );
        }
        let list = props.join(",");
        let args = [
            "get",
            "-H",
            "-p",
            "-o",
            "property,value,source",
            &list,
            name.as_str(),
        ];
        let out = self.run(Op::GetProperties, name.as_str(), &args)?;
        Ok(Self::lines(&out)
            .filter_map(|l| {
                let mut f = l.splitn(3, '\t');
                Some(Property {
                    name: f.next()?.to_string(),
                    value: f.next()?.to_string(),
                    source: f.next().unwrap_or("-").to_string(),
                })
            })
            .collect())
    }

    /// `zfs mount name`; the path from the mount table on Linux (no second process), else
    /// `zfs get mountpoint`.
    fn mount(&self, name: &DatasetName) -> Result<PathBuf> {
        self.run(Op::Mount, name.as_str(), &["mount", name.as_str()])?;
        self.mountpoint_after_mount(name)
    }

    /// `zfs unmount [-f] name`.
    fn unmount(&self, name: &DatasetName, force: bool) -> Result<()> {
        let mut args = vec!["unmount"];
        if force {
            args.push("-f");
        }
        args.push(name.as_str());
        self.run_retry(Op::Unmount, name.as_str(), &args).map(drop)
    }

    /// `zfs get -H -o value mounted name`.
    fn is_mounted(&self, name: &DatasetName) -> Result<bool> {
        let args = ["get", "-H", "-o", "value", "mounted", name.as_str()];
        let out = self.run(Op::GetProperties, name.as_str(), &args)?;
        Ok(out.trim() == "yes")
    }

    /// `zfs list -H -o name -t filesystem,volume -d 1 name`, without `name` itself.
    fn list_children(&self, name: &DatasetName) -> Result<Vec<DatasetName>> {
        self.list_names(FILESYSTEMS, name.as_str())?
            .into_iter()
            .filter(|n| n != name.as_str())
            .map(|n| DatasetName::new(n.clone()).map_err(|e| Error::invalid_name(Op::List, &n, e)))
            .collect()
    }

    /// `zfs list -H -o name -t snapshot -d 1 name`.
    fn list_snapshots(&self, name: &DatasetName) -> Result<Vec<SnapshotName>> {
        self.list_names(SNAPSHOTS, name.as_str())?
            .into_iter()
            .map(|n| SnapshotName::new(n.clone()).map_err(|e| Error::invalid_name(Op::List, &n, e)))
            .collect()
    }

    /// `zfs list -H -o name,origin -t filesystem,volume -r <pool>`, filtered by origin (works on
    /// every zfs(8), including those without the `clones` property).
    fn list_clones(&self, snap: &SnapshotName) -> Result<Vec<DatasetName>> {
        if !self.snapshot_exists(snap)? {
            return Err(Error::new(Op::List, snap.as_str(), ErrorKind::NotFound));
        }
        let args = [
            "list",
            "-H",
            "-o",
            "name,origin",
            "-t",
            "filesystem,volume",
            "-r",
            snap.pool(),
        ];
        let out = self.run(Op::List, snap.as_str(), &args)?;
        let mut v: Vec<DatasetName> = Self::lines(&out)
            .filter_map(|l| {
                let (n, o) = l.split_once('\t')?;
                (o == snap.as_str()).then(|| DatasetName::new(n).ok())?
            })
            .collect();
        v.sort();
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_table_lookup() {
        let t = b"tjdev /tjdev fuse.zfs rw,relatime 0 0\n\
                  proc /proc proc rw 0 0\n\
                  tjdev/a /mnt/with\\040space fuse.zfs rw 0 0\n\
                  tjdev/a\\040b /x zfs rw 0 0\n\
                  tjdev/n /not-zfs nfs rw 0 0\n\
                  tjdev/a /mnt/again zfs rw 0 0\n";
        assert_eq!(mount_of(t, "tjdev"), Some(PathBuf::from("/tjdev")));
        // The topmost (last) mount wins; escapes are decoded.
        assert_eq!(mount_of(t, "tjdev/a"), Some(PathBuf::from("/mnt/again")));
        assert_eq!(
            mount_of(&t[..t.len() - 30], "tjdev/a"),
            Some(PathBuf::from("/mnt/with space"))
        );
        assert_eq!(mount_of(t, "tjdev/a b"), Some(PathBuf::from("/x")));
        // Another file system type with a dataset-like source is not a ZFS mount.
        assert_eq!(mount_of(t, "tjdev/n"), None);
        assert_eq!(mount_of(t, "tjdev/missing"), None);
        assert_eq!(mount_of(b"", "tjdev"), None);
        // A truncated escape is kept as text.
        assert_eq!(
            mount_of(b"p/x /a\\04 zfs rw 0 0\n", "p/x"),
            Some(PathBuf::from("/a\\04"))
        );
    }
}
