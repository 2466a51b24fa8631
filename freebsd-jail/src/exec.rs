//! Running a process inside a jail: everything is resolved and allocated in the parent; the
//! forked child only makes async-signal-safe system calls (`jail_attach`, `setgroups`, `setgid`,
//! `setuid`, `chdir`) before `exec`.

use std::ffi::CString;
use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::passwd::{self, UserSpec};

/// The `PATH` of a cleaned environment (`exec.clean`): login.conf's default for root.
pub const CLEAN_PATH: &str = "/bin:/usr/bin:/sbin:/usr/sbin";

/// How to run a command in a jail, mirroring `jail(8)`'s `exec.clean`, `exec.jail_user` and
/// `exec.consolelog`.
///
/// ```
/// use freebsd_jail::{JailExec, UserSpec};
/// let root = tempfile::tempdir().unwrap();
/// std::fs::create_dir(root.path().join("etc")).unwrap();
/// std::fs::write(root.path().join("etc/passwd"), "root:*:0:0:Charlie:/root:/bin/csh\n").unwrap();
/// let plan = JailExec::new(7, root.path()).clean(true).user(UserSpec::Name("root".into()))
///     .plan().unwrap();
/// assert_eq!(plan.cwd.as_deref(), Some(std::path::Path::new("/root")));
/// assert!(plan.env.as_ref().unwrap().contains(&("HOME".into(), "/root".into())));
/// ```
#[derive(Debug, Clone)]
pub struct JailExec {
    jid: i32,
    root: PathBuf,
    clean: bool,
    user: Option<UserSpec>,
    consolelog: Option<PathBuf>,
    term: Option<String>,
}

/// Credentials to switch to in the child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creds {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Group list for `setgroups(2)`, primary group first.
    pub groups: Vec<u32>,
}

/// Everything the child needs, resolved in the parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecPlan {
    /// The jail to attach to.
    pub jid: i32,
    /// The complete environment (cleaned), or `None` to inherit the parent's.
    pub env: Option<Vec<(String, String)>>,
    /// Working directory inside the jail after attaching (the jail root otherwise).
    pub cwd: Option<PathBuf>,
    /// User to switch to after attaching (stay root otherwise).
    pub creds: Option<Creds>,
    /// Host path of the console log that receives stdout and stderr.
    pub consolelog: Option<PathBuf>,
}

impl JailExec {
    /// Runs in jail `jid`, whose root directory on the host is `root` (used to read
    /// `etc/passwd` and `etc/group`).
    pub fn new(jid: i32, root: impl AsRef<Path>) -> JailExec {
        JailExec {
            jid,
            root: root.as_ref().to_path_buf(),
            clean: false,
            user: None,
            consolelog: None,
            term: std::env::var("TERM").ok(),
        }
    }

    /// `exec.clean`: start with an empty environment, then set `PATH` ([`CLEAN_PATH`]), `TERM`
    /// (kept from the parent), `USER`, `HOME`, `SHELL` from the user's passwd entry in the jail
    /// (the current uid's if no user is given), and start in the home directory.
    pub fn clean(mut self, on: bool) -> JailExec {
        self.clean = on;
        self
    }

    /// `exec.jail_user`: switch to this user (looked up in the jail's `etc/passwd`) after
    /// attaching, with its groups from the jail's `etc/group`.
    pub fn user(mut self, user: UserSpec) -> JailExec {
        self.user = Some(user);
        self
    }

    /// `exec.consolelog`: append stdout and stderr to this host file (created if missing).
    pub fn consolelog(mut self, path: impl AsRef<Path>) -> JailExec {
        self.consolelog = Some(path.as_ref().to_path_buf());
        self
    }

    /// Overrides the `TERM` a clean environment keeps (default: the parent's `TERM`).
    pub fn term(mut self, term: Option<String>) -> JailExec {
        self.term = term;
        self
    }

    /// Resolves users, groups and the environment. Reads only the jail's files; changes
    /// nothing.
    pub fn plan(&self) -> Result<ExecPlan> {
        let entry = match (&self.user, self.clean) {
            (Some(u), _) => Some(passwd::lookup_user(&self.root, u)?),
            // SAFETY: geteuid(2) has no preconditions and cannot fail.
            (None, true) => Some(passwd::lookup_user(
                &self.root,
                &UserSpec::Uid(unsafe { libc::geteuid() }),
            )?),
            (None, false) => None,
        };
        let creds = match (&self.user, &entry) {
            (Some(_), Some(e)) => Some(Creds {
                uid: e.uid,
                gid: e.gid,
                groups: passwd::group_list(&self.root, &e.name, e.gid)?,
            }),
            _ => None,
        };
        let (env, cwd) = match (&entry, self.clean) {
            (Some(e), true) => {
                let mut env = vec![("PATH".to_string(), CLEAN_PATH.to_string())];
                if let Some(t) = &self.term {
                    env.push(("TERM".into(), t.clone()));
                }
                let shell = if e.shell.is_empty() {
                    "/bin/sh"
                } else {
                    &e.shell
                };
                env.push(("USER".into(), e.name.clone()));
                env.push(("HOME".into(), e.dir.clone()));
                env.push(("SHELL".into(), shell.to_string()));
                (Some(env), Some(PathBuf::from(&e.dir)))
            }
            _ => (None, None),
        };
        Ok(ExecPlan {
            jid: self.jid,
            env,
            cwd,
            creds,
            consolelog: self.consolelog.clone(),
        })
    }
}

/// Characters that make `jail(8)` run a command string through `/bin/sh -c` instead of
/// splitting it on whitespace (`run_command` in `usr.sbin/jail/command.c`).
pub const SHELL_CHARS: &str = "!\"$&'()*;<>?[\\]`{|}~";

/// Turns a command string such as `exec.start = "/bin/sh /etc/rc"` into the argv `jail(8)`
/// executes: `["/bin/sh", "-c", s]` if it contains any of [`SHELL_CHARS`], otherwise the
/// whitespace-separated words (run with `execvp`). An empty or blank string gives an error.
///
/// ```
/// use freebsd_jail::command_argv;
/// assert_eq!(command_argv("/bin/sh /etc/rc").unwrap(), ["/bin/sh", "/etc/rc"]);
/// assert_eq!(command_argv("echo $HOME").unwrap(), ["/bin/sh", "-c", "echo $HOME"]);
/// ```
pub fn command_argv(s: &str) -> Result<Vec<String>> {
    if s.trim().is_empty() {
        return Err(Error::invalid("command", "empty command"));
    }
    if s.contains('\0') {
        return Err(Error::invalid("command", "contains a NUL byte"));
    }
    if s.chars().any(|c| SHELL_CHARS.contains(c)) {
        return Ok(vec!["/bin/sh".into(), "-c".into(), s.into()]);
    }
    Ok(s.split_whitespace().map(str::to_string).collect())
}

/// Opens a console log the way `jail(8)` does for `exec.consolelog`:
/// `O_WRONLY | O_CREAT | O_APPEND`, mode 0666 minus umask. Done in the parent.
pub fn open_consolelog(path: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// The pieces the child uses, all allocated before `fork`.
#[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
pub(crate) struct ChildSteps {
    pub jid: i32,
    pub cwd: Option<CString>,
    pub creds: Option<(libc::uid_t, libc::gid_t, Vec<libc::gid_t>)>,
}

impl ExecPlan {
    /// Converts the plan into the pre-allocated pieces the child uses.
    #[cfg_attr(not(target_os = "freebsd"), allow(dead_code))]
    pub(crate) fn child_steps(&self) -> Result<ChildSteps> {
        let cwd = match &self.cwd {
            Some(p) => Some(
                CString::new(p.as_os_str().as_encoded_bytes())
                    .map_err(|_| Error::invalid("cwd", "contains a NUL byte"))?,
            ),
            None => None,
        };
        Ok(ChildSteps {
            jid: self.jid,
            cwd,
            creds: self.creds.as_ref().map(|c| {
                (
                    c.uid as libc::uid_t,
                    c.gid as libc::gid_t,
                    c.groups.iter().map(|g| *g as libc::gid_t).collect(),
                )
            }),
        })
    }
}

/// Prepares `cmd` to run inside the jail of `plan`, attaching with `attach` (`jail_attach(2)`
/// on FreeBSD; tests on other systems pass a stand-in).
#[cfg_attr(not(any(target_os = "freebsd", test)), allow(dead_code))]
pub(crate) fn install(
    cmd: &mut std::process::Command,
    plan: &ExecPlan,
    attach: fn(libc::c_int) -> libc::c_int,
) -> Result<()> {
    use std::os::unix::process::CommandExt as _;
    use std::process::Stdio;

    let steps = plan.child_steps()?;
    if let Some(env) = &plan.env {
        cmd.env_clear();
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
    }
    if let Some(path) = &plan.consolelog {
        let f = open_consolelog(path)?;
        let f2 = f.try_clone().map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        cmd.stdout(Stdio::from(f)).stderr(Stdio::from(f2));
    }
    let hook = move || -> std::io::Result<()> {
        // Only async-signal-safe system calls below: no allocation, no locks, no I/O.
        if attach(steps.jid) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if let Some((uid, gid, groups)) = &steps.creds {
            // SAFETY: setgroups(2) reads `groups.len()` gids from a live Vec allocated before
            // fork.
            if unsafe { libc::setgroups(groups.len() as _, groups.as_ptr()) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: setgid(2) takes a plain gid.
            if unsafe { libc::setgid(*gid) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: setuid(2) takes a plain uid.
            if unsafe { libc::setuid(*uid) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        if let Some(cwd) = &steps.cwd {
            // SAFETY: chdir(2) reads a NUL-terminated path from a CString allocated before fork.
            if unsafe { libc::chdir(cwd.as_ptr()) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    };
    // SAFETY: the hook runs between fork and exec and only calls async-signal-safe functions
    // (jail_attach, setgroups, setgid, setuid, chdir) on data allocated before fork; it does not
    // allocate, lock or log.
    unsafe { cmd.pre_exec(hook) };
    Ok(())
}

#[cfg(target_os = "freebsd")]
mod freebsd {
    use std::process::Command;

    use super::{ExecPlan, install};
    use crate::error::Result;

    /// Runs a [`Command`] inside a jail: attach in the forked child, then exec.
    pub trait JailCommandExt {
        /// Prepares `self` to run inside the jail of `plan`: sets the environment (if
        /// cleaned), redirects stdout/stderr to the console log (if any), and installs a
        /// `pre_exec` hook that calls `jail_attach(2)`, then `setgroups(2)`/`setgid(2)`/
        /// `setuid(2)` (if a user was given) and `chdir(2)` (if a directory was resolved).
        ///
        /// Do not also call [`Command::current_dir`], [`Command::uid`] or [`Command::gid`]:
        /// std applies those *before* the hook, i.e. on the host and before attaching.
        fn jail_exec(&mut self, plan: &ExecPlan) -> Result<&mut Self>;
    }

    fn jail_attach(jid: libc::c_int) -> libc::c_int {
        // SAFETY: jail_attach(2) takes a plain int and touches no caller memory.
        unsafe { libc::jail_attach(jid) }
    }

    impl JailCommandExt for Command {
        fn jail_exec(&mut self, plan: &ExecPlan) -> Result<&mut Command> {
            install(self, plan, jail_attach)?;
            Ok(self)
        }
    }
}

#[cfg(target_os = "freebsd")]
pub use freebsd::JailCommandExt;

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:*:0:0:Charlie &:/root:/bin/csh\nbuild:*:1002:1002:CI:/home/build:\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "wheel:*:0:root\nwww:*:80:build\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn clean_env_with_user() {
        let r = root();
        let p = JailExec::new(3, r.path())
            .clean(true)
            .user(UserSpec::Name("build".into()))
            .term(Some("xterm".into()))
            .plan()
            .unwrap();
        assert_eq!(
            p.env.unwrap(),
            vec![
                ("PATH".to_string(), CLEAN_PATH.to_string()),
                ("TERM".into(), "xterm".into()),
                ("USER".into(), "build".into()),
                ("HOME".into(), "/home/build".into()),
                ("SHELL".into(), "/bin/sh".into()),
            ]
        );
        assert_eq!(p.cwd, Some(PathBuf::from("/home/build")));
        assert_eq!(
            p.creds,
            Some(Creds {
                uid: 1002,
                gid: 1002,
                groups: vec![1002, 80]
            })
        );
        let s = JailExec::new(3, r.path())
            .user(UserSpec::Uid(1002))
            .plan()
            .unwrap()
            .child_steps()
            .unwrap();
        assert_eq!(s.creds.unwrap().2, vec![1002, 80]);
        assert!(s.cwd.is_none());
    }

    #[test]
    fn plain_exec_resolves_nothing() {
        let empty = tempfile::tempdir().unwrap();
        let p = JailExec::new(9, empty.path()).plan().unwrap();
        assert_eq!(p.env, None);
        assert_eq!(p.cwd, None);
        assert_eq!(p.creds, None);
        // A user that cannot be resolved is an error before anything runs.
        assert!(
            JailExec::new(9, empty.path())
                .user(UserSpec::Uid(0))
                .plan()
                .is_err()
        );
    }

    #[cfg(target_os = "linux")]
    fn no_attach(_jid: libc::c_int) -> libc::c_int {
        0
    }

    #[cfg(target_os = "linux")]
    fn failing_attach(_jid: libc::c_int) -> libc::c_int {
        // SAFETY: __errno_location() returns this thread's errno slot (Linux libc).
        unsafe { *libc::__errno_location() = libc::EINVAL };
        -1
    }

    /// The child side of the hook, with a stand-in for jail_attach: clean environment, cwd,
    /// credentials and console log as a real run would apply them.
    #[cfg(target_os = "linux")]
    #[test]
    fn hook_applies_env_cwd_creds_and_log() {
        // SAFETY: geteuid(2) has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipping hook_applies_env_cwd_creds_and_log: needs root for setuid");
            return;
        }
        let r = tempfile::tempdir().unwrap();
        std::fs::create_dir(r.path().join("etc")).unwrap();
        let home = r.path().join("home");
        std::fs::create_dir(&home).unwrap();
        std::fs::write(
            r.path().join("etc/passwd"),
            format!(
                "nobody:*:65534:65534:Unprivileged:{}:/bin/sh\n",
                home.display()
            ),
        )
        .unwrap();
        std::fs::write(r.path().join("etc/group"), "extra:*:4242:nobody\n").unwrap();
        let log = r.path().join("console.log");
        let plan = JailExec::new(1, r.path())
            .clean(true)
            .user(UserSpec::Name("nobody".into()))
            .term(None)
            .consolelog(&log)
            .plan()
            .unwrap();
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.args(["-c", "echo \"$(id -u) $(id -g) $(id -G) $(pwd) $USER $HOME $PATH ${TERM-unset}\"; env | wc -l"]);
        install(&mut cmd, &plan, no_attach).unwrap();
        let status = cmd.status().unwrap();
        assert!(status.success());
        let out = std::fs::read_to_string(&log).unwrap();
        let h = home.display();
        assert_eq!(
            out.lines().next().unwrap(),
            format!("65534 65534 65534 4242 {h} nobody {h} {CLEAN_PATH} unset")
        );
        // PATH, USER, HOME, SHELL (+ PWD/SHLVL/_ that sh itself adds): nothing inherited.
        let n: usize = out.lines().nth(1).unwrap().trim().parse().unwrap();
        assert!(n <= 7, "{out}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn failing_attach_fails_the_spawn() {
        let empty = tempfile::tempdir().unwrap();
        let plan = JailExec::new(5, empty.path()).plan().unwrap();
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.args(["-c", "exit 0"]);
        install(&mut cmd, &plan, failing_attach).unwrap();
        let e = cmd.status().unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
        let mut ok = std::process::Command::new("/bin/sh");
        ok.args(["-c", "exit 0"]);
        install(&mut ok, &plan, no_attach).unwrap();
        assert!(ok.status().unwrap().success());
    }

    #[test]
    fn command_strings_like_jail8() {
        assert_eq!(
            command_argv("  /bin/sh   /etc/rc ").unwrap(),
            ["/bin/sh", "/etc/rc"]
        );
        for special in SHELL_CHARS.chars() {
            let cmd = format!("echo a{special}b");
            assert_eq!(command_argv(&cmd).unwrap(), ["/bin/sh", "-c", cmd.as_str()]);
        }
        assert!(command_argv("   ").is_err());
        assert!(command_argv("a\0b").is_err());
    }

    #[test]
    fn consolelog_appends() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("console.log");
        std::fs::write(&log, b"old\n").unwrap();
        {
            use std::io::Write;
            let mut f = open_consolelog(&log).unwrap();
            f.write_all(b"new\n").unwrap();
        }
        assert_eq!(std::fs::read(&log).unwrap(), b"old\nnew\n");
        assert!(open_consolelog(&d.path().join("missing/dir/log")).is_err());
    }
}
