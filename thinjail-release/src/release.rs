//! Release names (`14.2-RELEASE`, `15.0-BETA3`, `14.3-STABLE`) and architecture pairs.

use crate::Error;
use std::fmt;
use std::str::FromStr;

/// What kind of build a release name denotes; decides the mirror directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReleaseKind {
    /// `N.M-RELEASE` (under `releases/`).
    Release,
    /// `N.M-BETAk` (under `releases/`).
    Beta(u32),
    /// `N.M-RCk` (under `releases/`).
    Rc(u32),
    /// `N.M-ALPHAk` (under `snapshots/`).
    Alpha(u32),
    /// `N.M-STABLE` snapshot (under `snapshots/`).
    Stable,
    /// `N.M-CURRENT` snapshot (under `snapshots/`).
    Current,
    /// `N.M-PRERELEASE` snapshot (under `snapshots/`).
    Prerelease,
}

/// A FreeBSD release or snapshot name, as the mirrors name their directories.
///
/// ```
/// use thinjail_release::{Release, ReleaseKind};
/// let r: Release = "15.0-BETA3".parse().unwrap();
/// assert_eq!((r.major, r.minor, r.kind), (15, 0, ReleaseKind::Beta(3)));
/// assert_eq!(r.to_string(), "15.0-BETA3");
/// assert!("14-STABLE".parse::<Release>().is_err()); // mirrors use 14.3-STABLE
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Release {
    /// Major version (14).
    pub major: u32,
    /// Minor version (2).
    pub minor: u32,
    /// Build kind.
    pub kind: ReleaseKind,
}

impl Release {
    /// Whether the build lives under `snapshots/` rather than `releases/` on the mirrors.
    pub fn is_snapshot(&self) -> bool {
        matches!(
            self.kind,
            ReleaseKind::Alpha(_)
                | ReleaseKind::Stable
                | ReleaseKind::Current
                | ReleaseKind::Prerelease
        )
    }

    /// Directory URL of this build: `<mirror>/{releases|snapshots}/<machine>/<machine_arch>/<name>/`.
    /// `mirror` is the base, e.g. `https://download.freebsd.org` (a trailing `/` is ignored).
    pub fn dir_url(&self, mirror: &str, arch: &Arch) -> String {
        let top = if self.is_snapshot() {
            "snapshots"
        } else {
            "releases"
        };
        format!(
            "{}/{top}/{}/{}/{self}/",
            mirror.trim_end_matches('/'),
            arch.machine,
            arch.machine_arch
        )
    }

    /// URL of one distribution file (`base.txz`, `MANIFEST`, ...).
    pub fn dist_url(&self, mirror: &str, arch: &Arch, file: &str) -> String {
        format!("{}{file}", self.dir_url(mirror, arch))
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}-", self.major, self.minor)?;
        match self.kind {
            ReleaseKind::Release => f.write_str("RELEASE"),
            ReleaseKind::Beta(n) => write!(f, "BETA{n}"),
            ReleaseKind::Rc(n) => write!(f, "RC{n}"),
            ReleaseKind::Alpha(n) => write!(f, "ALPHA{n}"),
            ReleaseKind::Stable => f.write_str("STABLE"),
            ReleaseKind::Current => f.write_str("CURRENT"),
            ReleaseKind::Prerelease => f.write_str("PRERELEASE"),
        }
    }
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl FromStr for Release {
    type Err = Error;
    fn from_str(name: &str) -> Result<Self, Error> {
        let bad = |reason| Error::InvalidRelease {
            name: name.to_string(),
            reason,
        };
        let (ver, tag) = name
            .split_once('-')
            .ok_or_else(|| bad("expected <major>.<minor>-<TAG>, e.g. 14.2-RELEASE"))?;
        let (major, minor) = match ver.split_once('.') {
            Some((a, b)) => (
                num(a).ok_or_else(|| bad("major version is not a number"))?,
                num(b).ok_or_else(|| bad("minor version is not a number"))?,
            ),
            None => {
                return Err(bad(
                    "missing minor version: mirror directories are named like 14.3-STABLE or 14.2-RELEASE",
                ));
            }
        };
        let counted = |prefix: &str| -> Option<Result<u32, Error>> {
            tag.strip_prefix(prefix)
                .map(|n| num(n).ok_or_else(|| bad("pre-release tag needs a number, e.g. BETA3")))
        };
        let kind = match tag {
            "RELEASE" => ReleaseKind::Release,
            "STABLE" => ReleaseKind::Stable,
            "CURRENT" => ReleaseKind::Current,
            "PRERELEASE" => ReleaseKind::Prerelease,
            _ => {
                if let Some(n) = counted("BETA") {
                    ReleaseKind::Beta(n?)
                } else if let Some(n) = counted("RC") {
                    ReleaseKind::Rc(n?)
                } else if let Some(n) = counted("ALPHA") {
                    ReleaseKind::Alpha(n?)
                } else {
                    return Err(bad(
                        "unknown tag (RELEASE, BETAn, RCn, ALPHAn, STABLE, CURRENT, PRERELEASE)",
                    ));
                }
            }
        };
        Ok(Release { major, minor, kind })
    }
}

/// A `machine/machine_arch` pair as used in mirror paths (`amd64/amd64`, `arm64/aarch64`).
///
/// ```
/// use thinjail_release::Arch;
/// assert_eq!("arm64".parse::<Arch>().unwrap().to_string(), "arm64/aarch64");
/// assert_eq!("amd64/amd64".parse::<Arch>().unwrap(), Arch::AMD64);
/// assert!("amd64/aarch64".parse::<Arch>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arch {
    /// `uname -m` (hw.machine): amd64, arm64, i386, powerpc, riscv, armv7's `arm`.
    pub machine: &'static str,
    /// `uname -p` (hw.machine_arch): amd64, aarch64, i386, powerpc64, ...
    pub machine_arch: &'static str,
}

const KNOWN_ARCHES: &[(&str, &str)] = &[
    ("amd64", "amd64"),
    ("arm64", "aarch64"),
    ("i386", "i386"),
    ("arm", "armv7"),
    ("powerpc", "powerpc64"),
    ("powerpc", "powerpc64le"),
    ("powerpc", "powerpc"),
    ("riscv", "riscv64"),
];

impl Arch {
    /// amd64/amd64.
    pub const AMD64: Arch = Arch {
        machine: "amd64",
        machine_arch: "amd64",
    };
    /// arm64/aarch64.
    pub const ARM64: Arch = Arch {
        machine: "arm64",
        machine_arch: "aarch64",
    };
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.machine, self.machine_arch)
    }
}

impl FromStr for Arch {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let found = match s.split_once('/') {
            Some((m, a)) => KNOWN_ARCHES.iter().find(|(km, ka)| *km == m && *ka == a),
            None => KNOWN_ARCHES.iter().find(|(km, ka)| *km == s || *ka == s),
        };
        found
            .map(|(m, a)| Arch {
                machine: m,
                machine_arch: a,
            })
            .ok_or_else(|| Error::InvalidArch {
                name: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in [
            "14.2-RELEASE",
            "15.0-BETA3",
            "14.3-RC1",
            "15.0-ALPHA2",
            "14.3-STABLE",
            "15.0-CURRENT",
            "13.5-PRERELEASE",
        ] {
            assert_eq!(n.parse::<Release>().unwrap().to_string(), n);
        }
    }

    #[test]
    fn bad_names() {
        for n in [
            "",
            "14.2",
            "14-STABLE",
            "14.2-release",
            "14.2-BETA",
            "x.2-RELEASE",
            "14.2-FOO",
            "14..2-RELEASE",
            "14.2-RC1x",
        ] {
            assert!(n.parse::<Release>().is_err(), "{n}");
        }
    }

    #[test]
    fn urls() {
        let m = "https://download.freebsd.org/";
        let r: Release = "14.2-RELEASE".parse().unwrap();
        assert_eq!(
            r.dist_url(m, &Arch::AMD64, "base.txz"),
            "https://download.freebsd.org/releases/amd64/amd64/14.2-RELEASE/base.txz"
        );
        let b: Release = "15.0-BETA3".parse().unwrap();
        assert_eq!(
            b.dist_url(m, &Arch::ARM64, "MANIFEST"),
            "https://download.freebsd.org/releases/arm64/aarch64/15.0-BETA3/MANIFEST"
        );
        let s: Release = "14.3-STABLE".parse().unwrap();
        assert!(s.is_snapshot());
        assert_eq!(
            s.dir_url(m, &Arch::AMD64),
            "https://download.freebsd.org/snapshots/amd64/amd64/14.3-STABLE/"
        );
    }
}
