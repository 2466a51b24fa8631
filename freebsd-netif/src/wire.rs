//! Portable `#[repr(C)]` mirrors of the FreeBSD structs the interface ioctls take, and the ioctl
//! numbers computed from `<sys/ioccom.h>`'s `_IOC` formula.

/// `IFNAMSIZ`: an interface name is at most 15 bytes plus the terminating NUL.
pub const IFNAMSIZ: usize = 16;

/// `IOCPARM_MASK`: the parameter length is stored in 13 bits.
pub const IOCPARM_MASK: u32 = (1 << 13) - 1;
/// `IOC_VOID`: no parameters.
pub const IOC_VOID: u32 = 0x2000_0000;
/// `IOC_OUT`: the kernel copies the parameter out.
pub const IOC_OUT: u32 = 0x4000_0000;
/// `IOC_IN`: the kernel copies the parameter in.
pub const IOC_IN: u32 = 0x8000_0000;
/// `IOC_INOUT`: both directions.
pub const IOC_INOUT: u32 = IOC_IN | IOC_OUT;

/// `_IOC(inout, group, num, len)` from `<sys/ioccom.h>`.
pub const fn ioc(inout: u32, group: u8, num: u8, len: usize) -> u32 {
    inout | (((len as u32) & IOCPARM_MASK) << 16) | ((group as u32) << 8) | num as u32
}

/// `_IOW(group, num, T)`.
pub const fn iow<T>(group: u8, num: u8) -> u32 {
    ioc(IOC_IN, group, num, std::mem::size_of::<T>())
}

/// `_IOWR(group, num, T)`.
pub const fn iowr<T>(group: u8, num: u8) -> u32 {
    ioc(IOC_INOUT, group, num, std::mem::size_of::<T>())
}

/// The 16-byte union `ifr_ifru` of `struct ifreq`, kept as raw bytes with typed accessors.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfrIfru(pub [u8; 16]);

/// `struct ifreq` (`<net/if.h>`): an interface name and a 16-byte union.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfReq {
    /// `ifr_name`: NUL-terminated interface name.
    pub ifr_name: [u8; IFNAMSIZ],
    /// `ifr_ifru`: the union (flags, jid, data pointer, buffer, mtu, address…).
    pub ifr_ifru: IfrIfru,
}

impl IfReq {
    /// A zeroed request for the interface `name`, or `None` when `name` does not fit in
    /// `IFNAMSIZ - 1` bytes or contains a NUL.
    pub fn new(name: &str) -> Option<IfReq> {
        let b = name.as_bytes();
        if b.len() >= IFNAMSIZ || b.contains(&0) {
            return None;
        }
        let mut r = IfReq::default();
        r.ifr_name[..b.len()].copy_from_slice(b);
        Some(r)
    }

    /// The name as the kernel left it (up to the first NUL).
    pub fn name(&self) -> &[u8] {
        let end = self
            .ifr_name
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(IFNAMSIZ);
        &self.ifr_name[..end]
    }

    /// `ifr_jid` (the `int` at the start of the union), for `SIOCSIFVNET` / `SIOCSIFRVNET`.
    pub fn set_jid(&mut self, jid: i32) {
        self.ifr_ifru.0[..4].copy_from_slice(&jid.to_ne_bytes());
    }

    /// `ifr_flags | ifr_flagshigh << 16`, as `SIOCGIFFLAGS` reports them.
    pub fn flags(&self) -> u32 {
        let lo = u16::from_ne_bytes([self.ifr_ifru.0[0], self.ifr_ifru.0[1]]);
        let hi = u16::from_ne_bytes([self.ifr_ifru.0[2], self.ifr_ifru.0[3]]);
        u32::from(lo) | (u32::from(hi) << 16)
    }
}

/// `SIOCIFCREATE2` = `_IOWR('i', 124, struct ifreq)`: create a cloned interface with parameters.
pub const SIOCIFCREATE2: u32 = iowr::<IfReq>(b'i', 124);
/// `SIOCIFDESTROY` = `_IOW('i', 121, struct ifreq)`: destroy a cloned interface.
pub const SIOCIFDESTROY: u32 = iow::<IfReq>(b'i', 121);
/// `SIOCSIFVNET` = `_IOWR('i', 90, struct ifreq)`: move an interface into a jail's vnet.
pub const SIOCSIFVNET: u32 = iowr::<IfReq>(b'i', 90);

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn ifreq_layout_matches_facts() {
        assert_eq!(size_of::<IfReq>(), 32);
        assert_eq!(align_of::<IfReq>(), 8);
        assert_eq!(offset_of!(IfReq, ifr_ifru), 16);
    }

    #[test]
    fn ioctl_numbers_match_facts() {
        assert_eq!(SIOCIFCREATE2, 0xc020_697c);
        assert_eq!(SIOCIFDESTROY, 0x8020_6979);
        assert_eq!(SIOCSIFVNET, 0xc020_695a);
    }

    #[test]
    fn names_are_bounded_and_nul_free() {
        assert_eq!(IfReq::new("epair253a").unwrap().name(), b"epair253a");
        assert!(IfReq::new("fifteen_chars__").is_some());
        assert!(IfReq::new("sixteen_chars___").is_none());
        assert!(IfReq::new("a\0b").is_none());
    }

    #[test]
    fn union_views() {
        let mut r = IfReq::new("epair0b").unwrap();
        r.set_jid(253);
        assert_eq!(&r.ifr_ifru.0[..4], &253i32.to_ne_bytes());
        r.ifr_ifru.0[..4].copy_from_slice(&[0x43, 0x88, 0x02, 0x00]);
        assert_eq!(r.flags(), 0x0002_8843);
    }
}
