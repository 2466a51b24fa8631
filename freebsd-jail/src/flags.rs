//! Flags for `jail_set(2)` / `jail_get(2)` and the values of "jailsys" parameters.

bitflags::bitflags! {
    /// The `flags` argument of `jail_set(2)` and `jail_get(2)` (`<sys/jail.h>`).
    ///
    /// FreeBSD 14 accepts only these four bits (`JAIL_SET_MASK` = 0x0f); any other bit makes the
    /// kernel answer `EINVAL`, so this type cannot carry them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct JailFlags: i32 {
        /// `JAIL_CREATE`: create a new jail.
        const CREATE = 0x01;
        /// `JAIL_UPDATE`: modify an existing jail.
        const UPDATE = 0x02;
        /// `JAIL_ATTACH`: attach the calling process to the jail after creating or updating it.
        const ATTACH = 0x04;
        /// `JAIL_DYING`: allow getting or updating a jail that is being removed.
        const DYING = 0x08;
    }
}

impl JailFlags {
    /// The flags `jail_get(2)` accepts on FreeBSD 14 (`JAIL_GET_MASK`).
    pub const GET_MASK: JailFlags = JailFlags::DYING;
}

/// The value of a "jailsys" parameter (`host`, `vnet`, `ip4`, `ip6`): a C `int`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum JailSys {
    /// `JAIL_SYS_DISABLE` (0): the jail may not use the facility. The kernel rejects it for `vnet`.
    Disable = 0,
    /// `JAIL_SYS_NEW` (1): the jail gets its own instance (for `vnet`: its own network stack).
    New = 1,
    /// `JAIL_SYS_INHERIT` (2): the jail shares its parent's instance.
    Inherit = 2,
}

impl JailSys {
    /// Decodes the integer the kernel reports through `jail_get(2)`.
    pub fn from_raw(v: i32) -> Option<JailSys> {
        match v {
            0 => Some(JailSys::Disable),
            1 => Some(JailSys::New),
            2 => Some(JailSys::Inherit),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_match_sys_jail_h() {
        assert_eq!(JailFlags::CREATE.bits(), 1);
        assert_eq!(JailFlags::UPDATE.bits(), 2);
        assert_eq!(JailFlags::ATTACH.bits(), 4);
        assert_eq!(JailFlags::DYING.bits(), 8);
        assert_eq!(JailFlags::all().bits(), 0x0f, "JAIL_SET_MASK on FreeBSD 14");
        assert!(
            JailFlags::from_bits(0x10).is_none(),
            "FreeBSD 15's JAIL_USE_DESC is not 14's"
        );
    }

    #[test]
    fn jailsys_round_trips() {
        for v in [JailSys::Disable, JailSys::New, JailSys::Inherit] {
            assert_eq!(JailSys::from_raw(v as i32), Some(v));
        }
        assert_eq!(JailSys::from_raw(3), None);
        assert_eq!(JailSys::from_raw(-1), None);
    }
}
