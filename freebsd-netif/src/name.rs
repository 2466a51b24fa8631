//! Validated interface names, and the short deterministic epair names derived from a jail's name.

use std::fmt;

use crate::wire::IFNAMSIZ;

/// Why a string is not a usable interface name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IfNameError {
    /// The empty string.
    #[error("interface name is empty")]
    Empty,
    /// More than 15 bytes (`IFNAMSIZ` is 16 including the NUL).
    #[error("interface name {name:?} is {len} bytes; the kernel allows at most 15 (IFNAMSIZ - 1)")]
    TooLong {
        /// The rejected name.
        name: String,
        /// Its length in bytes.
        len: usize,
    },
    /// A space, tab or other whitespace byte.
    #[error("interface name {name:?} contains whitespace at byte {pos}")]
    Whitespace {
        /// The rejected name.
        name: String,
        /// Byte offset of the first whitespace.
        pos: usize,
    },
    /// A `/`, which ifconfig and devfs paths cannot carry.
    #[error("interface name {name:?} contains '/' at byte {pos}")]
    Slash {
        /// The rejected name.
        name: String,
        /// Byte offset of the slash.
        pos: usize,
    },
    /// A byte outside printable ASCII (control characters, NUL, non-ASCII UTF-8).
    #[error(
        "interface name {name:?} contains a non-printable or non-ASCII byte {byte:#04x} at byte {pos}"
    )]
    NotPrintable {
        /// The rejected name (lossy if it was not UTF-8).
        name: String,
        /// The offending byte.
        byte: u8,
        /// Its offset.
        pos: usize,
    },
}

/// An interface name the kernel will accept: 1 to 15 bytes of printable ASCII, no whitespace,
/// no `/`.
///
/// ```
/// use freebsd_netif::IfName;
/// let n: IfName = "epair0a".parse().unwrap();
/// assert_eq!(n.as_str(), "epair0a");
/// assert!("sixteen_chars___".parse::<IfName>().unwrap_err().to_string().contains("at most 15"));
/// assert!("em 0".parse::<IfName>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfName {
    buf: [u8; IFNAMSIZ],
    len: u8,
}

impl IfName {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<IfName, IfNameError> {
        IfName::from_bytes(name.as_bytes())
    }

    /// Validates a name given as bytes (as the kernel returns them, without the NUL).
    pub fn from_bytes(b: &[u8]) -> Result<IfName, IfNameError> {
        let lossy = || String::from_utf8_lossy(b).into_owned();
        if b.is_empty() {
            return Err(IfNameError::Empty);
        }
        for (pos, &c) in b.iter().enumerate() {
            if c.is_ascii_whitespace() || c == b' ' {
                return Err(IfNameError::Whitespace { name: lossy(), pos });
            }
            if c == b'/' {
                return Err(IfNameError::Slash { name: lossy(), pos });
            }
            if !c.is_ascii_graphic() {
                return Err(IfNameError::NotPrintable {
                    name: lossy(),
                    byte: c,
                    pos,
                });
            }
        }
        if b.len() >= IFNAMSIZ {
            return Err(IfNameError::TooLong {
                name: lossy(),
                len: b.len(),
            });
        }
        let mut buf = [0u8; IFNAMSIZ];
        buf[..b.len()].copy_from_slice(b);
        Ok(IfName {
            buf,
            len: b.len() as u8,
        })
    }

    /// Builds a name from a literal this crate knows to be valid (truncated to 15 bytes).
    pub(crate) fn literal(s: &str) -> IfName {
        let n = s.len().min(IFNAMSIZ - 1);
        let mut buf = [0u8; IFNAMSIZ];
        buf[..n].copy_from_slice(&s.as_bytes()[..n]);
        IfName { buf, len: n as u8 }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        // Only printable ASCII is ever stored, so this cannot fail; fall back to "" defensively.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The name's bytes, without the NUL.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// The name as the kernel's `char[IFNAMSIZ]`, NUL-padded.
    pub fn to_c_array(&self) -> [u8; IFNAMSIZ] {
        self.buf
    }
}

impl std::str::FromStr for IfName {
    type Err = IfNameError;
    fn from_str(s: &str) -> Result<IfName, IfNameError> {
        IfName::new(s)
    }
}

impl TryFrom<&str> for IfName {
    type Error = IfNameError;
    fn try_from(s: &str) -> Result<IfName, IfNameError> {
        IfName::new(s)
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IfName({:?})", self.as_str())
    }
}

impl AsRef<str> for IfName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// 32-bit FNV-1a: a small, stable, dependency-free hash (the names must not change between
/// releases or platforms, so no `std` hasher).
pub fn fnv1a32(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in data {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// How many salts [`JailPairNames::choose`] tries before giving up.
pub const MAX_SALTS: u32 = 16;

/// Short, deterministic names for the two ends of a jail's epair, and its description.
///
/// The kernel picks the epair unit (`epair<N>a`/`epair<N>b`, never a fixed number), then both ends
/// are renamed to `<prefix>_<hash>a` and `<prefix>_<hash>b`: the prefix is up to 7 characters of
/// the jail's name (lowercase ASCII letters, digits, `_`; a leading `j` if it would otherwise start
/// with a digit or be empty), the hash is 6 hex digits of FNV-1a over the full jail name (and a
/// salt, if the first choice is taken). That is at most 7 + 1 + 6 + 1 = 15 bytes.
///
/// Why: the most common complaints against jail managers are duplicate epairs (a fixed number such
/// as `epair253` collides with another jail or a leftover interface) and names that silently
/// exceed 15 bytes when a long jail name is pasted in (`e0b_my_long_jail_name`). Kernel-chosen
/// units cannot collide, the derived names always fit, and two jails whose names share a prefix
/// still get different names because the hash covers the whole name. The `_` keeps the names
/// outside every cloner's `<driver><unit>` pattern, so a later `epair create` never trips on them,
/// and they are valid rc.conf variable suffixes (`ifconfig_web_1a2b3cb="..."`).
///
/// ```
/// use freebsd_netif::JailPairNames;
/// let n = JailPairNames::derive("webserver01", 0);
/// assert_eq!(n.a.as_str().len(), 15);
/// assert!(n.a.as_str().starts_with("webserv_") && n.a.as_str().ends_with('a'));
/// assert_eq!(n.description, "jail:webserver01");
/// // Deterministic: the same jail always gets the same names.
/// assert_eq!(n, JailPairNames::derive("webserver01", 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JailPairNames {
    /// The host side (goes into the bridge).
    pub a: IfName,
    /// The jail side (moves into the jail's vnet).
    pub b: IfName,
    /// `jail:<jail name>`, set on both ends so leftovers can be traced to their jail.
    pub description: String,
    /// The salt that produced these names (0 for the first choice).
    pub salt: u32,
}

impl JailPairNames {
    /// The names for `jail` with `salt` (0 = the first choice).
    pub fn derive(jail: &str, salt: u32) -> JailPairNames {
        let mut prefix: String = jail
            .chars()
            .filter_map(|c| {
                let c = c.to_ascii_lowercase();
                (c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_').then_some(c)
            })
            .take(7)
            .collect();
        if prefix.is_empty() || prefix.starts_with(|c: char| c.is_ascii_digit()) {
            prefix.insert(0, 'j');
            prefix.truncate(7);
        }
        let mut data = jail.as_bytes().to_vec();
        if salt != 0 {
            data.push(0);
            data.extend_from_slice(&salt.to_le_bytes());
        }
        let hash = fnv1a32(&data) & 0x00ff_ffff;
        let make = |side: char| {
            // prefix (1..=7) + '_' + 6 hex digits + side = at most 15 bytes of [a-z0-9_], which
            // is a valid name by construction.
            let s = format!("{prefix}_{hash:06x}{side}");
            let mut buf = [0u8; IFNAMSIZ];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            IfName {
                buf,
                len: s.len() as u8,
            }
        };
        JailPairNames {
            a: make('a'),
            b: make('b'),
            description: format!("jail:{jail}"),
            salt,
        }
    }

    /// The first names (salt 0, 1, … up to [`MAX_SALTS`]) whose two ends are both free according
    /// to `taken`. `None` when every candidate is taken.
    ///
    /// ```
    /// use freebsd_netif::JailPairNames;
    /// let first = JailPairNames::derive("db", 0);
    /// let taken = [first.b.to_string()]; // a leftover jail side from a crashed run
    /// let n = JailPairNames::choose("db", |n| taken.iter().any(|t| t == n)).unwrap();
    /// assert_eq!(n.salt, 1);
    /// assert_ne!(n.b, first.b);
    /// ```
    pub fn choose(jail: &str, taken: impl Fn(&str) -> bool) -> Option<JailPairNames> {
        (0..MAX_SALTS)
            .map(|s| JailPairNames::derive(jail, s))
            .find(|n| !taken(n.a.as_str()) && !taken(n.b.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names() {
        for n in [
            "lo0",
            "epair0a",
            "bridge0",
            "fifteen_chars__",
            "vlan0.100",
            "a",
        ] {
            assert_eq!(IfName::new(n).unwrap().as_str(), n);
        }
        let n = IfName::new("em0").unwrap();
        assert_eq!(&n.to_c_array()[..4], b"em0\0");
    }

    #[test]
    fn invalid_names_say_why() {
        assert_eq!(IfName::new(""), Err(IfNameError::Empty));
        assert!(matches!(
            IfName::new("sixteen_chars___"),
            Err(IfNameError::TooLong { len: 16, .. })
        ));
        assert!(matches!(
            IfName::new("em 0"),
            Err(IfNameError::Whitespace { pos: 2, .. })
        ));
        assert!(matches!(
            IfName::new("em\t0"),
            Err(IfNameError::Whitespace { pos: 2, .. })
        ));
        assert!(matches!(
            IfName::new("a/b"),
            Err(IfNameError::Slash { pos: 1, .. })
        ));
        assert!(matches!(
            IfName::new("a\0b"),
            Err(IfNameError::NotPrintable {
                byte: 0,
                pos: 1,
                ..
            })
        ));
        assert!(matches!(
            IfName::new("é"),
            Err(IfNameError::NotPrintable { byte: 0xc3, .. })
        ));
        let e = IfName::new("x".repeat(20).as_str())
            .unwrap_err()
            .to_string();
        assert!(e.contains("20 bytes") && e.contains("at most 15"), "{e}");
    }

    #[test]
    fn fnv_vectors() {
        // Published FNV-1a 32-bit test vectors.
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn pair_names_fit_and_are_stable() {
        let n = JailPairNames::derive("web", 0);
        let h = fnv1a32(b"web") & 0xff_ffff;
        assert_eq!(n.a.as_str(), format!("web_{h:06x}a"));
        assert_eq!(n.b.as_str(), format!("web_{h:06x}b"));
        for jail in [
            "",
            "1",
            "123456789",
            "a.very.long.hierarchical.jail.name",
            "ÜBER-jail",
            "----",
        ] {
            for salt in 0..MAX_SALTS {
                let n = JailPairNames::derive(jail, salt);
                assert!(n.a.as_bytes().len() <= 15 && n.b.as_bytes().len() <= 15);
                assert!(n.a.as_str().starts_with(|c: char| c.is_ascii_lowercase()));
                assert!(n.a.as_str().contains('_'));
                assert_eq!(n.description, format!("jail:{jail}"));
            }
        }
        assert!(
            JailPairNames::derive("123", 0)
                .a
                .as_str()
                .starts_with("j123_")
        );
        assert!(JailPairNames::derive("", 0).a.as_str().starts_with("j_"));
    }

    #[test]
    fn shared_prefixes_differ_by_hash() {
        let a = JailPairNames::derive("customer-alpha", 0);
        let b = JailPairNames::derive("customer-beta", 0);
        assert_ne!(a.a, b.a);
        assert_eq!(&a.a.as_str()[..8], &b.a.as_str()[..8]);
    }

    #[test]
    fn choose_skips_taken_and_gives_up() {
        let first = JailPairNames::derive("x", 0);
        let n = JailPairNames::choose("x", |_| false).unwrap();
        assert_eq!(n, first);
        let taken = first.a.to_string();
        let n = JailPairNames::choose("x", |s| s == taken).unwrap();
        assert_eq!(n.salt, 1);
        assert!(JailPairNames::choose("x", |_| true).is_none());
    }
}
