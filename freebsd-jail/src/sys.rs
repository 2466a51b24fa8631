//! The FreeBSD half: the system calls themselves.

use crate::error::{Error, JailRef, Result};

/// Removes the jail `jid`, killing every process in it.
///
/// Wraps `jail_remove(2)`. A jail that is already dying counts as removed (the kernel answers 0);
/// an unknown jid gives [`Error::NotFound`] (the kernel answers `EINVAL`, not `ENOENT`).
#[doc(alias = "jail_remove")]
pub fn remove(jid: i32) -> Result<()> {
    // SAFETY: jail_remove(2) takes a plain int and touches no caller memory.
    let rc = unsafe { libc::jail_remove(jid) };
    if rc == 0 {
        Ok(())
    } else {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        Err(Error::from_errno("jail_remove", JailRef::Jid(jid), errno))
    }
}
