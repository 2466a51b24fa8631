//! jail(8)'s way of ending the processes left in a jail before removing it (`term_procs()` in
//! `usr.sbin/jail/command.c`): send every process in the jail SIGTERM, give them
//! `stop.timeout` seconds (default 10) to exit, and only then remove the jail — whose
//! `jail_remove(2)` SIGKILLs what is left. Removing at once instead leaves killed processes
//! exiting asynchronously, and unmounting the jail's devfs or nullfs mounts right after can fail
//! with `EBUSY` while they still hold files there.
//!
//! The sequence ([`terminate`]) is portable logic over a [`Signals`] source, tested on every OS
//! with scripted process sets; `terminate_processes` (FreeBSD only) runs it in a forked child attached to the
//! jail, where `kill(-1, sig)` reaches exactly the jail's other processes (kill(2): "all
//! processes … the caller has permission to signal", and a jailed process sees only its jail's).

use std::time::Duration;

/// How [`terminate`] ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TermOutcome {
    /// The jail had no process to signal.
    NoProcesses,
    /// Every process exited after SIGTERM, within the timeout.
    Terminated,
    /// Some ignored SIGTERM for the whole timeout; SIGKILL ended them.
    Killed,
    /// Processes remained even after SIGKILL and the grace period (e.g. stuck in the kernel);
    /// `jail_remove(2)` will leave the jail dying until they go.
    Remaining,
}

impl TermOutcome {
    /// The child's exit status for this outcome (see [`TermOutcome::from_status`]).
    pub fn status(self) -> i32 {
        match self {
            TermOutcome::NoProcesses => 0,
            TermOutcome::Terminated => 1,
            TermOutcome::Killed => 2,
            TermOutcome::Remaining => 3,
        }
    }

    /// The outcome for a child's exit status: `Ok` for 0–3, `Err(errno)` for
    /// [`ERRNO_STATUS_BASE`] + errno, `Err(EIO)` otherwise.
    pub fn from_status(status: i32) -> Result<TermOutcome, i32> {
        match status {
            0 => Ok(TermOutcome::NoProcesses),
            1 => Ok(TermOutcome::Terminated),
            2 => Ok(TermOutcome::Killed),
            3 => Ok(TermOutcome::Remaining),
            s if (ERRNO_STATUS_BASE..=255).contains(&s) => Err(s - ERRNO_STATUS_BASE),
            _ => Err(libc::EIO),
        }
    }
}

/// Exit statuses from this value on carry an errno (status − base) from the child.
pub const ERRNO_STATUS_BASE: i32 = 64;

/// What [`terminate`] needs from the system: signalling every other process of the jail, and a
/// clock. Implementations must not allocate (the FreeBSD one runs in a forked child).
pub trait Signals {
    /// `kill(-1, sig)`: `Ok(true)` when some process was signalled (or, for `sig` 0, exists),
    /// `Ok(false)` when there is none (`ESRCH`), `Err(errno)` otherwise.
    fn signal_all(&mut self, sig: i32) -> Result<bool, i32>;
    /// Time since the sequence started.
    fn elapsed(&self) -> Duration;
    /// Wait a little before polling again.
    fn pause(&mut self);
}

/// jail(8)'s sequence: SIGTERM to every process, poll (signal 0) until none is left or
/// `timeout` has passed, then SIGKILL and poll for up to `kill_grace` more.
///
/// ```
/// use freebsd_jail::term::{terminate, Signals, TermOutcome};
/// use std::time::Duration;
/// /// Two processes that exit on the third poll after SIGTERM.
/// struct Fake { alive: u32, polls: u32, t: Duration }
/// impl Signals for Fake {
///     fn signal_all(&mut self, sig: i32) -> Result<bool, i32> {
///         if sig == 0 { self.polls += 1; if self.polls >= 3 { self.alive = 0; } }
///         Ok(self.alive > 0)
///     }
///     fn elapsed(&self) -> Duration { self.t }
///     fn pause(&mut self) { self.t += Duration::from_millis(10); }
/// }
/// let mut f = Fake { alive: 2, polls: 0, t: Duration::ZERO };
/// let out = terminate(&mut f, Duration::from_secs(10), Duration::from_secs(2));
/// assert_eq!(out, Ok(TermOutcome::Terminated));
/// ```
pub fn terminate<S: Signals>(
    s: &mut S,
    timeout: Duration,
    kill_grace: Duration,
) -> Result<TermOutcome, i32> {
    if !s.signal_all(libc::SIGTERM)? {
        return Ok(TermOutcome::NoProcesses);
    }
    loop {
        if !s.signal_all(0)? {
            return Ok(TermOutcome::Terminated);
        }
        if s.elapsed() >= timeout {
            break;
        }
        s.pause();
    }
    if !s.signal_all(libc::SIGKILL)? {
        return Ok(TermOutcome::Terminated);
    }
    let deadline = timeout + kill_grace;
    loop {
        if !s.signal_all(0)? {
            return Ok(TermOutcome::Killed);
        }
        if s.elapsed() >= deadline {
            return Ok(TermOutcome::Remaining);
        }
        s.pause();
    }
}

#[cfg(target_os = "freebsd")]
mod sys {
    use super::*;
    use crate::error::{Error, JailRef, Result};
    use std::time::Instant;

    /// `kill(2)` on every process the (jailed) caller may signal.
    struct Kill {
        start: Instant,
    }

    impl Signals for Kill {
        fn signal_all(&mut self, sig: i32) -> std::result::Result<bool, i32> {
            // SAFETY: kill(2) with pid -1 takes plain ints and touches no memory.
            if unsafe { libc::kill(-1, sig) } == 0 {
                return Ok(true);
            }
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::ESRCH) => Ok(false),
                Some(e) => Err(e),
                None => Err(libc::EIO),
            }
        }

        fn elapsed(&self) -> Duration {
            self.start.elapsed()
        }

        fn pause(&mut self) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Ends the processes in jail `jid` as `jail -r` does before removing it: SIGTERM, up to
    /// `timeout` for them to exit, then SIGKILL and up to `kill_grace` more. Runs in a forked
    /// child attached to the jail (`fork(2)`, `jail_attach(2)`, `kill(2)` with pid -1), so the
    /// caller's own credentials and root stay as they are.
    ///
    /// An unknown or dying jail gives [`Error::NotFound`] (what `jail_attach(2)` answers).
    pub fn terminate_processes(
        jid: i32,
        timeout: Duration,
        kill_grace: Duration,
    ) -> Result<TermOutcome> {
        let err = |op: &'static str, errno: i32| Error::from_errno(op, JailRef::Jid(jid), errno);
        // SAFETY: fork(2). The child runs only async-signal-safe system calls (jail_attach,
        // kill, clock_gettime, nanosleep, _exit) and allocates nothing, as required after
        // forking a multithreaded process.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(err(
                "fork",
                std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO),
            ));
        }
        if pid == 0 {
            // SAFETY: jail_attach(2) takes a plain int.
            let status = if unsafe { libc::jail_attach(jid) } != 0 {
                ERRNO_STATUS_BASE
                    + std::io::Error::last_os_error()
                        .raw_os_error()
                        .unwrap_or(libc::EIO)
            } else {
                let mut k = Kill {
                    start: Instant::now(),
                };
                match terminate(&mut k, timeout, kill_grace) {
                    Ok(o) => o.status(),
                    Err(e) => ERRNO_STATUS_BASE + e,
                }
            };
            // SAFETY: _exit(2) ends the child without running the parent's atexit handlers.
            unsafe { libc::_exit(status.min(255)) };
        }
        let mut wstatus = 0;
        loop {
            // SAFETY: waitpid(2) on our own child, writing into a local int.
            let r = unsafe { libc::waitpid(pid, &mut wstatus, 0) };
            if r == pid {
                break;
            }
            let e = std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO);
            if e != libc::EINTR {
                return Err(err("waitpid", e));
            }
        }
        if !libc::WIFEXITED(wstatus) {
            return Err(err("terminate", libc::EIO));
        }
        match TermOutcome::from_status(libc::WEXITSTATUS(wstatus)) {
            Ok(o) => Ok(o),
            Err(e) => Err(err("jail_attach", e)),
        }
    }
}

#[cfg(target_os = "freebsd")]
pub use sys::terminate_processes;

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted jail: `procs` processes; each exits `exit_after_term` polls after SIGTERM
    /// (`None`: ignores it); SIGKILL ends all unless `stuck`.
    struct Scripted {
        procs: u32,
        exit_after_term: Option<u32>,
        stuck: bool,
        termed: bool,
        polls: u32,
        t: Duration,
        log: Vec<i32>,
        fail_with: Option<i32>,
    }

    impl Scripted {
        fn new(procs: u32, exit_after_term: Option<u32>) -> Scripted {
            Scripted {
                procs,
                exit_after_term,
                stuck: false,
                termed: false,
                polls: 0,
                t: Duration::ZERO,
                log: Vec::new(),
                fail_with: None,
            }
        }
    }

    impl Signals for Scripted {
        fn signal_all(&mut self, sig: i32) -> Result<bool, i32> {
            self.log.push(sig);
            if let Some(e) = self.fail_with {
                return Err(e);
            }
            let any = self.procs > 0;
            match sig {
                libc::SIGTERM => self.termed = true,
                libc::SIGKILL if !self.stuck => self.procs = 0,
                0 if self.termed => {
                    self.polls += 1;
                    if self.exit_after_term.is_some_and(|n| self.polls >= n) {
                        self.procs = 0;
                    }
                    return Ok(self.procs > 0);
                }
                _ => {}
            }
            Ok(any)
        }
        fn elapsed(&self) -> Duration {
            self.t
        }
        fn pause(&mut self) {
            self.t += Duration::from_millis(10);
        }
    }

    const T: Duration = Duration::from_secs(10);
    const G: Duration = Duration::from_secs(2);

    #[test]
    fn an_empty_jail_gets_one_sigterm_and_nothing_else() {
        let mut s = Scripted::new(0, None);
        assert_eq!(terminate(&mut s, T, G), Ok(TermOutcome::NoProcesses));
        assert_eq!(s.log, [libc::SIGTERM]);
    }

    #[test]
    fn processes_that_exit_on_sigterm_are_never_killed() {
        let mut s = Scripted::new(3, Some(4));
        assert_eq!(terminate(&mut s, T, G), Ok(TermOutcome::Terminated));
        assert!(!s.log.contains(&libc::SIGKILL));
        assert_eq!(
            s.t,
            Duration::from_millis(30),
            "three pauses before the fourth poll"
        );
    }

    #[test]
    fn sigterm_ignored_for_the_whole_timeout_then_sigkill() {
        let mut s = Scripted::new(1, None);
        assert_eq!(terminate(&mut s, T, G), Ok(TermOutcome::Killed));
        assert!(s.t >= T && s.t < T + Duration::from_millis(20), "{:?}", s.t);
        assert_eq!(s.log.iter().filter(|&&g| g == libc::SIGKILL).count(), 1);
        let kill_at = s.log.iter().position(|&g| g == libc::SIGKILL).unwrap();
        assert!(s.log[1..kill_at].iter().all(|&g| g == 0));
    }

    #[test]
    fn stuck_processes_are_reported_after_the_grace_period() {
        let mut s = Scripted::new(2, None);
        s.stuck = true;
        assert_eq!(terminate(&mut s, T, G), Ok(TermOutcome::Remaining));
        assert!(s.t >= T + G && s.t < T + G + Duration::from_millis(20));
    }

    #[test]
    fn a_zero_timeout_goes_straight_to_sigkill() {
        let mut s = Scripted::new(1, None);
        assert_eq!(
            terminate(&mut s, Duration::ZERO, G),
            Ok(TermOutcome::Killed)
        );
        assert_eq!(s.log[..3], [libc::SIGTERM, 0, libc::SIGKILL]);
    }

    #[test]
    fn errors_stop_the_sequence() {
        let mut s = Scripted::new(1, None);
        s.fail_with = Some(libc::EPERM);
        assert_eq!(terminate(&mut s, T, G), Err(libc::EPERM));
        assert_eq!(s.log.len(), 1);
    }

    #[test]
    fn statuses_round_trip() {
        for o in [
            TermOutcome::NoProcesses,
            TermOutcome::Terminated,
            TermOutcome::Killed,
            TermOutcome::Remaining,
        ] {
            assert_eq!(TermOutcome::from_status(o.status()), Ok(o));
        }
        assert_eq!(
            TermOutcome::from_status(ERRNO_STATUS_BASE + libc::EINVAL),
            Err(libc::EINVAL)
        );
        assert_eq!(TermOutcome::from_status(17), Err(libc::EIO));
    }
}
