//! The recipe as validated types: host layout, release, template, skeleton, nullfs mounts,
//! devfs, VNET networking and the thin jail that combines them.
//!
//! Every type is checked when it is built; an error names the field that is wrong.
//! [`ThinJailSpec::default()`] is the recipe's `dev` jail.
//!
//! ```
//! use thinjail_core::model::ThinJailSpec;
//! let dev = ThinJailSpec::default().build().unwrap();
//! assert_eq!(dev.name(), "dev");
//! assert_eq!(dev.root().to_str(), Some("/zdata/jails/dev-nullfs-base"));
//! assert_eq!(dev.clone_dataset(), Some("zdata/jails/containers/dev".to_string()));
//! let bad = ThinJailSpec { name: "a b".into(), ..Default::default() }.build().unwrap_err();
//! assert_eq!(bad.field(), "name");
//! ```

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// A value that failed validation, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason} (got {value:?})")]
pub struct ModelError {
    field: &'static str,
    value: String,
    reason: String,
}

impl ModelError {
    fn new(field: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        ModelError {
            field,
            value: value.into(),
            reason: reason.into(),
        }
    }

    /// The field that is wrong (`name`, `pool`, `address`, …).
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// The rejected value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Why it was rejected.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// `IFNAMSIZ` (`<net/if.h>`): interface names hold at most 15 bytes plus the NUL.
pub const IFNAMSIZ: usize = 16;

/// ZFS's `ZFS_MAX_DATASET_NAME_LEN` (`<sys/fs/zfs.h>`): 256 bytes including the NUL.
pub const ZFS_MAX_DATASET_NAME_LEN: usize = 256;

/// Checks a jail name for a thin jail: 1–64 characters of `[A-Za-z0-9_-]`, not starting with
/// `-`, not all digits (jail(8) would take a number for a jid).
pub fn check_jail_name(field: &'static str, s: &str) -> Result<(), ModelError> {
    let err = |r: &str| Err(ModelError::new(field, s, r));
    if s.is_empty() {
        return err("must not be empty");
    }
    if s.len() > 64 {
        return err("longer than 64 characters");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return err("only letters, digits, '_' and '-' are allowed");
    }
    if s.starts_with('-') {
        return err("must not start with '-'");
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return err("must not be all digits (jail(8) reads a number as a jid)");
    }
    Ok(())
}

/// Checks one ZFS dataset name component: `[A-Za-z0-9_.:-]`, not `.`/`..`, not starting with `-`.
pub fn check_dataset_component(field: &'static str, s: &str) -> Result<(), ModelError> {
    let err = |r: &str| Err(ModelError::new(field, s, r));
    if s.is_empty() {
        return err("empty dataset name component");
    }
    if s == "." || s == ".." {
        return err("'.' and '..' are not dataset names");
    }
    if s.starts_with('-') {
        return err("must not start with '-'");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
    {
        return err("only letters, digits, '_', '.', ':' and '-' are allowed in a dataset name");
    }
    Ok(())
}

/// Checks a full dataset name (`pool/a/b`).
pub fn check_dataset(field: &'static str, s: &str) -> Result<(), ModelError> {
    if s.len() >= ZFS_MAX_DATASET_NAME_LEN {
        return Err(ModelError::new(
            field,
            s,
            "dataset name longer than 255 bytes",
        ));
    }
    for c in s.split('/') {
        check_dataset_component(field, c)?;
    }
    Ok(())
}

/// Checks an absolute, normalized path: starts with `/`, no empty, `.` or `..` components, no
/// trailing `/`, no control characters.
pub fn check_abs_path(field: &'static str, s: &str) -> Result<(), ModelError> {
    let err = |r: &str| Err(ModelError::new(field, s, r));
    if !s.starts_with('/') {
        return err("must be an absolute path");
    }
    if s == "/" {
        return Ok(());
    }
    if s.chars().any(|c| c.is_control()) {
        return err("must not contain control characters");
    }
    if s.ends_with('/') {
        return err("must not end with '/'");
    }
    if s[1..]
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return err("must not contain empty, '.' or '..' components");
    }
    Ok(())
}

/// Checks an interface name: 1–15 bytes of `[A-Za-z0-9_.-]`.
pub fn check_ifname(field: &'static str, s: &str) -> Result<(), ModelError> {
    let err = |r: &str| Err(ModelError::new(field, s, r));
    if s.is_empty() {
        return err("empty interface name");
    }
    if s.len() >= IFNAMSIZ {
        return err("interface names hold at most 15 bytes (IFNAMSIZ)");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return err("only letters, digits, '_', '.' and '-' are allowed in an interface name");
    }
    Ok(())
}

/// Where jails live: ZFS datasets (the recipe) or plain directories (UFS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Storage {
    /// ZFS datasets: templates are datasets, the skeleton is snapshotted and cloned per jail.
    #[default]
    Zfs,
    /// Plain directories (UFS): the skeleton is copied per jail.
    Directories,
}

/// The host's dataset and directory tree (RECIPE.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLayout {
    storage: Storage,
    pool: String,
    root: PathBuf,
}

impl HostLayout {
    /// A layout rooted at dataset `<pool>/jails` mounted on `root`.
    ///
    /// ```
    /// use thinjail_core::model::{HostLayout, Storage};
    /// let l = HostLayout::new(Storage::Zfs, "zdata", "/zdata/jails").unwrap();
    /// assert_eq!(l.templates_dataset(), "zdata/jails/templates");
    /// assert!(HostLayout::new(Storage::Zfs, "zdata", "relative").is_err());
    /// ```
    pub fn new(storage: Storage, pool: &str, root: &str) -> Result<Self, ModelError> {
        check_dataset_component("pool", pool)?;
        check_abs_path("root", root)?;
        if root == "/" {
            return Err(ModelError::new(
                "root",
                root,
                "the jails root must not be /",
            ));
        }
        Ok(HostLayout {
            storage,
            pool: pool.to_string(),
            root: PathBuf::from(root),
        })
    }

    /// The recipe's layout: pool `zdata`, datasets under `zdata/jails` mounted at `/zdata/jails`.
    pub fn recipe() -> Self {
        HostLayout {
            storage: Storage::Zfs,
            pool: "zdata".into(),
            root: PathBuf::from("/zdata/jails"),
        }
    }

    /// ZFS or plain directories.
    pub fn storage(&self) -> Storage {
        self.storage
    }

    /// The pool.
    pub fn pool(&self) -> &str {
        &self.pool
    }

    /// The mount point of `<pool>/jails` (where every jail's root directory is made).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<pool>/jails`.
    pub fn jails_dataset(&self) -> String {
        format!("{}/jails", self.pool)
    }

    /// `<pool>/jails/media`: downloaded release archives.
    pub fn media_dataset(&self) -> String {
        format!("{}/jails/media", self.pool)
    }

    /// `<pool>/jails/templates`: release templates and skeletons.
    pub fn templates_dataset(&self) -> String {
        format!("{}/jails/templates", self.pool)
    }

    /// `<pool>/jails/containers`: one dataset per jail.
    pub fn containers_dataset(&self) -> String {
        format!("{}/jails/containers", self.pool)
    }

    /// `<root>/media`.
    pub fn media_dir(&self) -> PathBuf {
        self.root.join("media")
    }

    /// `<root>/templates`.
    pub fn templates_dir(&self) -> PathBuf {
        self.root.join("templates")
    }

    /// `<root>/containers`.
    pub fn containers_dir(&self) -> PathBuf {
        self.root.join("containers")
    }
}

/// A FreeBSD release such as `14.2-RELEASE`, for one architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    name: String,
    arch: String,
}

impl Release {
    /// Parses `MAJOR.MINOR-{RELEASE,RCn,BETAn,ALPHAn}` (optionally `-pN`) for `arch`
    /// (`amd64`, `arm64`, `i386`, `powerpc64`, `riscv64`, `armv7`).
    ///
    /// ```
    /// use thinjail_core::model::Release;
    /// let r = Release::new("14.2-RELEASE", "amd64").unwrap();
    /// assert!(r.base_url().ends_with("/releases/amd64/amd64/14.2-RELEASE/base.txz"));
    /// assert!(Release::new("14.2", "amd64").is_err());
    /// ```
    pub fn new(name: &str, arch: &str) -> Result<Self, ModelError> {
        let err = |r: &str| Err(ModelError::new("release", name, r));
        let Some((ver, rest)) = name.split_once('-') else {
            return err("expected MAJOR.MINOR-RELEASE, e.g. 14.2-RELEASE");
        };
        let Some((maj, min)) = ver.split_once('.') else {
            return err("expected MAJOR.MINOR before '-'");
        };
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 3 && s.chars().all(|c| c.is_ascii_digit());
        if !digits(maj) || !digits(min) {
            return err("MAJOR and MINOR must be numbers");
        }
        let (kind, patch) = match rest.split_once("-p") {
            Some((k, p)) => (k, Some(p)),
            None => (rest, None),
        };
        if let Some(p) = patch
            && !digits(p)
        {
            return err("patch level must be -pN");
        }
        let ok_kind = kind == "RELEASE"
            || ["RC", "BETA", "ALPHA"]
                .iter()
                .any(|k| kind.strip_prefix(k).is_some_and(digits));
        if !ok_kind {
            return err("expected RELEASE, RCn, BETAn or ALPHAn after the version");
        }
        if !["amd64", "arm64", "i386", "powerpc64", "riscv64", "armv7"].contains(&arch) {
            return Err(ModelError::new("arch", arch, "unknown architecture"));
        }
        Ok(Release {
            name: name.to_string(),
            arch: arch.to_string(),
        })
    }

    /// `14.2-RELEASE` for amd64.
    pub fn recipe() -> Self {
        Release {
            name: "14.2-RELEASE".into(),
            arch: "amd64".into(),
        }
    }

    /// The release name, e.g. `14.2-RELEASE`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The architecture, e.g. `amd64`.
    pub fn arch(&self) -> &str {
        &self.arch
    }

    fn machine(&self) -> &str {
        match self.arch.as_str() {
            "arm64" => "arm64/aarch64",
            "powerpc64" => "powerpc/powerpc64",
            "riscv64" => "riscv/riscv64",
            "armv7" => "arm/armv7",
            "i386" => "i386/i386",
            _ => "amd64/amd64",
        }
    }

    /// The release's directory on the FreeBSD download mirror.
    pub fn dist_url(&self) -> String {
        let tree = if self.name.contains("-RELEASE")
            || self.name.contains("-RC")
            || self.name.contains("-BETA")
            || self.name.contains("-ALPHA")
        {
            "releases"
        } else {
            "snapshots"
        };
        format!(
            "https://download.freebsd.org/ftp/{tree}/{}/{}",
            self.machine(),
            self.name
        )
    }

    /// The URL of `base.txz`.
    pub fn base_url(&self) -> String {
        format!("{}/base.txz", self.dist_url())
    }

    /// The URL of the release's `MANIFEST` (SHA-256 of each archive).
    pub fn manifest_url(&self) -> String {
        format!("{}/MANIFEST", self.dist_url())
    }
}

/// The read-write template dataset `<release>-base` holding the shared userland (RECIPE.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    layout: HostLayout,
    release: Release,
}

impl Template {
    /// The template of `release` in `layout`.
    pub fn new(layout: HostLayout, release: Release) -> Self {
        Template { layout, release }
    }

    /// The host layout.
    pub fn layout(&self) -> &HostLayout {
        &self.layout
    }

    /// The release.
    pub fn release(&self) -> &Release {
        &self.release
    }

    /// `<pool>/jails/templates/<release>-base`.
    pub fn dataset(&self) -> String {
        format!(
            "{}/{}-base",
            self.layout.templates_dataset(),
            self.release.name
        )
    }

    /// `<root>/templates/<release>-base`: the directory nullfs-mounted read-only into every jail.
    pub fn dir(&self) -> PathBuf {
        self.layout
            .templates_dir()
            .join(format!("{}-base", self.release.name))
    }

    /// `<root>/media/<release>-base.txz`: where `base.txz` is downloaded.
    pub fn archive(&self) -> PathBuf {
        self.layout
            .media_dir()
            .join(format!("{}-base.txz", self.release.name))
    }

    /// The skeleton split from this template.
    pub fn skeleton(&self) -> Skeleton {
        Skeleton {
            template: self.clone(),
        }
    }
}

/// The per-jail writable part, `<release>-skeleton`, and its `@base` snapshot (RECIPE.md §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skeleton {
    template: Template,
}

/// Directories moved from the template into the skeleton, relative to the template root.
pub const SKELETON_DIRS: &[&str] = &["etc", "usr/local", "tmp", "var", "root"];

/// Symlinks left in the template: `(link, target)`; targets are relative, so they resolve to
/// `/skeleton/...` inside the jail and to the template's own `skeleton/` on the host.
pub const SKELETON_LINKS: &[(&str, &str)] = &[
    ("etc", "skeleton/etc"),
    ("home", "skeleton/home"),
    ("root", "skeleton/root"),
    ("usr/local", "../skeleton/usr/local"),
    ("tmp", "skeleton/tmp"),
    ("var", "skeleton/var"),
];

impl Skeleton {
    /// The template it was split from.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// `<pool>/jails/templates/<release>-skeleton`.
    pub fn dataset(&self) -> String {
        format!(
            "{}/{}-skeleton",
            self.template.layout.templates_dataset(),
            self.template.release.name
        )
    }

    /// `<dataset>@base`: the snapshot every jail clones.
    pub fn snapshot(&self) -> String {
        format!("{}@base", self.dataset())
    }

    /// `<root>/templates/<release>-skeleton`.
    pub fn dir(&self) -> PathBuf {
        self.template
            .layout
            .templates_dir()
            .join(format!("{}-skeleton", self.template.release.name))
    }
}

/// A nullfs mount (mount_nullfs(8)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NullfsMount {
    /// The directory shown.
    pub source: PathBuf,
    /// Where it is shown.
    pub target: PathBuf,
    /// Mounted read-only.
    pub read_only: bool,
}

impl NullfsMount {
    /// A mount of `source` on `target`, both absolute and normalized.
    pub fn new(source: &str, target: &str, read_only: bool) -> Result<Self, ModelError> {
        check_abs_path("mount.source", source)?;
        check_abs_path("mount.target", target)?;
        if source == target {
            return Err(ModelError::new(
                "mount.target",
                target,
                "source and target are the same",
            ));
        }
        Ok(NullfsMount {
            source: source.into(),
            target: target.into(),
            read_only,
        })
    }

    /// The fstab(5) line.
    pub fn fstab_entry(&self) -> crate::fstab::FstabEntry {
        crate::fstab::FstabEntry::nullfs(
            &self.source.to_string_lossy(),
            &self.target.to_string_lossy(),
            self.read_only,
        )
    }
}

/// The devfs ruleset applied to the jail's `/dev` (devfs.rules(5)); the recipe uses 5
/// (`devfsrules_jail_vnet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Devfs {
    ruleset: u16,
}

impl Devfs {
    /// A ruleset number, 1–65535 (0 means "no ruleset" and would expose all of /dev).
    pub fn new(ruleset: u32) -> Result<Self, ModelError> {
        match u16::try_from(ruleset) {
            Ok(r) if r > 0 => Ok(Devfs { ruleset: r }),
            _ => Err(ModelError::new(
                "devfs_ruleset",
                ruleset.to_string(),
                "must be 1-65535 (0 leaves /dev unrestricted)",
            )),
        }
    }

    /// The ruleset number.
    pub fn ruleset(&self) -> u16 {
        self.ruleset
    }
}

impl Default for Devfs {
    fn default() -> Self {
        Devfs { ruleset: 5 }
    }
}

/// How the jail's epair(4) interfaces are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EpairNaming {
    /// Keep the name the kernel picks (`ifconfig epair create` prints it, e.g. `epair3a`);
    /// scripts capture it instead of assuming a fixed unit number.
    #[default]
    Kernel,
    /// Rename the kernel's pair to `<jail>_a` (host side) and `<jail>_b` (jail side), so
    /// jail.conf can refer to them and a leftover pair is recognizable.
    Derived,
}

/// The jail's VNET networking: an epair with one end in a bridge, the other in the jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VnetSpec {
    /// The if_bridge(4) the host end joins.
    pub bridge: String,
    /// The jail's IPv4 address and prefix.
    pub address: Ipv4Net,
    /// The default router.
    pub gateway: Ipv4Addr,
    /// Optional IPv6 address and default router.
    pub ipv6: Option<(Ipv6Net, Option<Ipv6Addr>)>,
    /// Epair naming policy.
    pub epair: EpairNaming,
}

impl VnetSpec {
    /// Validates: bridge is an interface name; the address is not the network or broadcast
    /// address; the gateway is inside the address's network and is not the address itself.
    ///
    /// ```
    /// use thinjail_core::model::{EpairNaming, VnetSpec};
    /// let v = VnetSpec::new("igc0bridge", "192.168.7.253/24", "192.168.7.101", None, None,
    ///     EpairNaming::Kernel).unwrap();
    /// assert_eq!(v.address.prefix_len(), 24);
    /// let e = VnetSpec::new("igc0bridge", "192.168.7.253/24", "10.0.0.1", None, None,
    ///     EpairNaming::Kernel).unwrap_err();
    /// assert_eq!(e.field(), "gateway");
    /// ```
    pub fn new(
        bridge: &str,
        address: &str,
        gateway: &str,
        ipv6: Option<&str>,
        ipv6_gateway: Option<&str>,
        epair: EpairNaming,
    ) -> Result<Self, ModelError> {
        check_ifname("bridge", bridge)?;
        let net: IpNet = address.parse().map_err(|_| {
            ModelError::new(
                "address",
                address,
                "expected IPv4 address/prefix, e.g. 192.168.7.253/24",
            )
        })?;
        let IpNet::V4(a) = net else {
            return Err(ModelError::new(
                "address",
                address,
                "expected an IPv4 address (IPv6 goes in ipv6)",
            ));
        };
        if a.prefix_len() < 31 && (a.addr() == a.network() || a.addr() == a.broadcast()) {
            return Err(ModelError::new(
                "address",
                address,
                "is the network or broadcast address",
            ));
        }
        let gw: Ipv4Addr = gateway
            .parse()
            .map_err(|_| ModelError::new("gateway", gateway, "expected an IPv4 address"))?;
        if !a.contains(&gw) {
            return Err(ModelError::new(
                "gateway",
                gateway,
                format!("not inside {}", a.trunc()),
            ));
        }
        if gw == a.addr() {
            return Err(ModelError::new(
                "gateway",
                gateway,
                "is the jail's own address",
            ));
        }
        let ipv6 = match ipv6 {
            None => {
                if let Some(g) = ipv6_gateway {
                    return Err(ModelError::new("ipv6_gateway", g, "given without ipv6"));
                }
                None
            }
            Some(s) => {
                let n: Ipv6Net = s
                    .parse()
                    .map_err(|_| ModelError::new("ipv6", s, "expected IPv6 address/prefix"))?;
                let a6 = n.addr();
                let bad = if n.prefix_len() == 0 {
                    // SIOCAIFADDR_IN6 refuses it (netinet6/in6.c in6_validate_ifra).
                    Some("prefix length 0 is refused by the kernel")
                } else if a6.is_unspecified() || a6.is_loopback() || a6.is_multicast() {
                    Some("is not a unicast address for an interface")
                } else if a6.is_unicast_link_local() {
                    Some(
                        "is link-local: the kernel gives each interface its own; use a global or unique-local address",
                    )
                } else {
                    None
                };
                if let Some(why) = bad {
                    return Err(ModelError::new("ipv6", s, why));
                }
                let g = match ipv6_gateway {
                    None => None,
                    Some(g) => {
                        let ga: Ipv6Addr = g.parse().map_err(|_| {
                            ModelError::new("ipv6_gateway", g, "expected an IPv6 address")
                        })?;
                        if ga.is_unspecified() || ga.is_multicast() || ga == a6 {
                            return Err(ModelError::new(
                                "ipv6_gateway",
                                g,
                                "is not a router address (unspecified, multicast or the jail's own)",
                            ));
                        }
                        let link_local = (ga.segments()[0] & 0xffc0) == 0xfe80;
                        if !link_local && !n.contains(&ga) {
                            return Err(ModelError::new(
                                "ipv6_gateway",
                                g,
                                format!("not inside {} and not link-local", n.trunc()),
                            ));
                        }
                        Some(ga)
                    }
                };
                Some((n, g))
            }
        };
        Ok(VnetSpec {
            bridge: bridge.to_string(),
            address: a,
            gateway: gw,
            ipv6,
            epair,
        })
    }

    /// The recipe's network with the given last octet: `igc0bridge`, `192.168.7.<id>/24` via
    /// `192.168.7.101`.
    pub fn recipe(id: u8) -> Result<Self, ModelError> {
        VnetSpec::new(
            "igc0bridge",
            &format!("192.168.7.{id}/24"),
            "192.168.7.101",
            None,
            None,
            EpairNaming::Kernel,
        )
    }

    /// The gateway as an [`IpAddr`].
    pub fn gateway_ip(&self) -> IpAddr {
        IpAddr::V4(self.gateway)
    }
}

/// A thin jail's request as plain strings (what a CLI or config gives), validated by
/// [`ThinJailSpec::build`]. `Default` is the recipe's `dev` jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThinJailSpec {
    /// Jail name.
    pub name: String,
    /// Release, e.g. `14.2-RELEASE`.
    pub release: String,
    /// Architecture, e.g. `amd64`.
    pub arch: String,
    /// ZFS or plain directories.
    pub storage: Storage,
    /// ZFS pool.
    pub pool: String,
    /// Mount point of `<pool>/jails`.
    pub root: String,
    /// Host name inside the jail (empty: the jail's name).
    pub hostname: String,
    /// devfs ruleset.
    pub devfs_ruleset: u32,
    /// VNET networking; `None` for a jail without its own network stack.
    pub vnet: Option<VnetStrings>,
    /// Further jail parameters, as on jail(8)'s command line: `name=value` or a bare `name`
    /// (e.g. `allow.mlock`, `securelevel=3`, `enforce_statfs=1`).
    pub params: Vec<String>,
}

/// VNET settings as strings, for [`ThinJailSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VnetStrings {
    /// Bridge, e.g. `igc0bridge`.
    pub bridge: String,
    /// Address/prefix, e.g. `192.168.7.253/24`.
    pub address: String,
    /// Gateway, e.g. `192.168.7.101`.
    pub gateway: String,
    /// Optional IPv6 address/prefix.
    pub ipv6: Option<String>,
    /// Optional IPv6 gateway.
    pub ipv6_gateway: Option<String>,
    /// Epair naming policy.
    pub epair: EpairNaming,
}

impl Default for VnetStrings {
    fn default() -> Self {
        VnetStrings {
            bridge: "igc0bridge".into(),
            address: "192.168.7.253/24".into(),
            gateway: "192.168.7.101".into(),
            ipv6: None,
            ipv6_gateway: None,
            epair: EpairNaming::Kernel,
        }
    }
}

impl Default for ThinJailSpec {
    fn default() -> Self {
        ThinJailSpec {
            name: "dev".into(),
            release: "14.2-RELEASE".into(),
            arch: "amd64".into(),
            storage: Storage::Zfs,
            pool: "zdata".into(),
            root: "/zdata/jails".into(),
            hostname: String::new(),
            devfs_ruleset: 5,
            vnet: Some(VnetStrings::default()),
            params: Vec::new(),
        }
    }
}

impl ThinJailSpec {
    /// Validates every field and builds the jail.
    pub fn build(&self) -> Result<ThinJail, ModelError> {
        check_jail_name("name", &self.name)?;
        let layout = HostLayout::new(self.storage, &self.pool, &self.root)?;
        let release = Release::new(&self.release, &self.arch)?;
        let hostname = if self.hostname.is_empty() {
            self.name.clone()
        } else {
            let h = &self.hostname;
            let ok = h.len() <= 255
                && h.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                });
            if !ok {
                return Err(ModelError::new("hostname", h, "not a valid host name"));
            }
            h.clone()
        };
        let devfs = Devfs::new(self.devfs_ruleset)?;
        let vnet = match &self.vnet {
            None => None,
            Some(v) => Some(VnetSpec::new(
                &v.bridge,
                &v.address,
                &v.gateway,
                v.ipv6.as_deref(),
                v.ipv6_gateway.as_deref(),
                v.epair,
            )?),
        };
        let mut params = Vec::new();
        for p in &self.params {
            params.push(JailParam::parse(p)?);
        }
        let jail = ThinJail {
            params,
            name: self.name.clone(),
            hostname,
            template: Template::new(layout, release),
            devfs,
            vnet,
        };
        // Derived interface names must fit IFNAMSIZ.
        let (a, b) = jail.derived_epair_names();
        check_ifname("name", &a).map_err(|_| {
            ModelError::new("name", &self.name, format!("derived epair name {a:?} is longer than 15 bytes; use a name of at most 13 characters"))
        })?;
        check_ifname("name", &b)?;
        Ok(jail)
    }
}

/// A thin jail: the template mounted read-only at its root, its own skeleton clone mounted
/// read-write at `/skeleton`, devfs with a ruleset, optional VNET networking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThinJail {
    name: String,
    hostname: String,
    template: Template,
    devfs: Devfs,
    vnet: Option<VnetSpec>,
    params: Vec<JailParam>,
}

impl ThinJail {
    /// The recipe's `dev` jail.
    pub fn recipe_dev() -> ThinJail {
        ThinJailSpec::default()
            .build()
            .expect("the recipe's defaults are valid")
    }

    /// The jail's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host name inside the jail.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The template it runs on.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// The template's skeleton.
    pub fn skeleton(&self) -> Skeleton {
        self.template.skeleton()
    }

    /// The host layout.
    pub fn layout(&self) -> &HostLayout {
        &self.template.layout
    }

    /// The devfs ruleset.
    pub fn devfs(&self) -> Devfs {
        self.devfs
    }

    /// Further jail parameters.
    pub fn params(&self) -> &[JailParam] {
        &self.params
    }

    /// The VNET settings, if any.
    pub fn vnet(&self) -> Option<&VnetSpec> {
        self.vnet.as_ref()
    }

    /// `<pool>/jails/containers/<name>` (ZFS storage only).
    pub fn clone_dataset(&self) -> Option<String> {
        match self.layout().storage {
            Storage::Zfs => Some(format!(
                "{}/{}",
                self.layout().containers_dataset(),
                self.name
            )),
            Storage::Directories => None,
        }
    }

    /// `<root>/containers/<name>`: the jail's writable skeleton copy or clone.
    pub fn clone_dir(&self) -> PathBuf {
        self.layout().containers_dir().join(&self.name)
    }

    /// `<root>/<name>-nullfs-base`: the jail's root path (an empty directory nullfs fills).
    pub fn root(&self) -> PathBuf {
        self.layout()
            .root
            .join(format!("{}-nullfs-base", self.name))
    }

    /// `<root>/<name>-nullfs-base.fstab`.
    pub fn fstab_path(&self) -> PathBuf {
        self.layout()
            .root
            .join(format!("{}-nullfs-base.fstab", self.name))
    }

    /// `/etc/jail.conf.d/<name>.conf`.
    pub fn conf_path(&self) -> PathBuf {
        PathBuf::from(format!("/etc/jail.conf.d/{}.conf", self.name))
    }

    /// The two nullfs mounts: the template read-only at the root, the clone read-write at
    /// `<root>/skeleton`.
    pub fn mounts(&self) -> [NullfsMount; 2] {
        let root = self.root();
        [
            NullfsMount {
                source: self.template.dir(),
                target: root.clone(),
                read_only: true,
            },
            NullfsMount {
                source: self.clone_dir(),
                target: root.join("skeleton"),
                read_only: false,
            },
        ]
    }

    /// `(<name>_a, <name>_b)`: the epair names when renamed (host side, jail side).
    pub fn derived_epair_names(&self) -> (String, String) {
        (format!("{}_a", self.name), format!("{}_b", self.name))
    }
}

/// Parameters thinjail sets itself from the model; [`JailParam`] refuses them.
pub const MANAGED_PARAMS: &[&str] = &[
    "name",
    "jid",
    "path",
    "host.hostname",
    "devfs_ruleset",
    "vnet",
    "vnet.interface",
    "mount.fstab",
    "mount.devfs",
    "persist",
    "exec.prestart",
    "exec.start",
    "exec.poststop",
];

/// One further jail parameter: a name and an optional value (`None` for a boolean).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JailParam {
    /// Parameter name, e.g. `allow.mlock`.
    pub name: String,
    /// Value, or `None` for a bare boolean.
    pub value: Option<String>,
}

impl JailParam {
    /// Parses `name=value` or `name`. Names are dotted words of `[A-Za-z0-9_]`; parameters
    /// the model sets itself ([`MANAGED_PARAMS`]) are refused, as are values with newlines.
    ///
    /// ```
    /// use thinjail_core::model::JailParam;
    /// assert_eq!(JailParam::parse("securelevel=3").unwrap().value.as_deref(), Some("3"));
    /// assert_eq!(JailParam::parse("allow.mlock").unwrap().value, None);
    /// assert_eq!(JailParam::parse("path=/x").unwrap_err().field(), "params");
    /// ```
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let (name, value) = match s.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (s, None),
        };
        let ok = !name.is_empty()
            && name
                .split('.')
                .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if !ok {
            return Err(ModelError::new(
                "params",
                s,
                "expected NAME or NAME=VALUE, NAME dotted words of letters, digits and _",
            ));
        }
        let base = name.strip_prefix("no").unwrap_or(name);
        let last_no = name
            .rsplit_once('.')
            .map(|(a, b)| format!("{a}.{}", b.strip_prefix("no").unwrap_or(b)));
        if MANAGED_PARAMS
            .iter()
            .any(|m| *m == name || *m == base || Some(m.to_string()) == last_no)
        {
            return Err(ModelError::new(
                "params",
                s,
                "this parameter is set by thinjail from the model",
            ));
        }
        if let Some(v) = value
            && v.contains(['\n', '\0'])
        {
            return Err(ModelError::new(
                "params",
                s,
                "values must not contain newlines or NUL",
            ));
        }
        Ok(JailParam {
            name: name.to_string(),
            value: value.map(String::from),
        })
    }
}
