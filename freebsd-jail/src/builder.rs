//! Typed jail parameters and their builder.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use crate::allow::Allow;
use crate::codec::IoVecList;
use crate::error::{Error, JailRef, Result};
use crate::flags::JailSys;
use crate::name::{self, Hostname, JailName, JailPath};
use crate::param::Value;

/// The `vnet` parameter. The kernel has no "disable" for it (`vnet=0` is `EINVAL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vnet {
    /// `vnet=1` (`JAIL_SYS_NEW`): the jail gets its own network stack.
    New,
    /// `vnet=2` (`JAIL_SYS_INHERIT`): the jail shares its parent's network stack (the default).
    Inherit,
}

/// How a non-VNET jail uses one address family (`ip4`/`ip6` and `ip4.addr`/`ip6.addr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpMode<A> {
    /// `ip4=inherit`: the jail may use every address of the host.
    Inherit,
    /// `ip4=disable`: the jail may not use this family.
    Disable,
    /// `ip4.addr=…`: the jail is restricted to these addresses; the first is the primary one.
    Addrs(Vec<A>),
}

/// Parameters that cannot be changed with `JAIL_UPDATE` (the kernel answers `EINVAL`
/// "… cannot be changed after creation").
const CREATE_ONLY: &[&str] = &["path", "vnet", "osrelease", "osreldate"];

/// Names set by typed builder methods; [`JailParamsBuilder::param`] refuses them.
const TYPED: &[&str] = &[
    "jid",
    "name",
    "path",
    "host.hostname",
    "host.domainname",
    "vnet",
    "ip4",
    "ip4.addr",
    "ip6",
    "ip6.addr",
    "persist",
    "enforce_statfs",
    "devfs_ruleset",
    "children.max",
    "securelevel",
    "osrelease",
    "osreldate",
    "errmsg",
    "lastjid",
];

/// A validated set of jail parameters, in the order they are encoded.
///
/// Built with [`JailParams::builder`]; every value has been checked, so the only errors left
/// are the ones the kernel decides (existing names, privileges, parent limits).
///
/// ```
/// use freebsd_jail::{Allow, JailParams, Vnet};
/// let dir = std::env::temp_dir();
/// let p = JailParams::builder()
///     .name("j253")
///     .path(&dir)
///     .hostname("j253.example")
///     .vnet(Vnet::New)
///     .persist(true)
///     .allow(Allow::RAW_SOCKETS)
///     .build()
///     .unwrap();
/// assert_eq!(p.names(), vec!["name", "path", "host.hostname", "vnet", "persist", "allow.raw_sockets"]);
///
/// // A VNET jail given addresses is rejected at build time, not by the kernel:
/// let e = JailParams::builder()
///     .name("j1")
///     .vnet(Vnet::New)
///     .ip4_addrs(["10.0.0.2".parse().unwrap()])
///     .build()
///     .unwrap_err();
/// assert!(e.to_string().contains("VNET"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JailParams {
    params: Vec<(String, Value)>,
    jid: Option<i32>,
    name: Option<JailName>,
}

/// Builder for [`JailParams`]; values are validated by [`JailParamsBuilder::build`].
#[derive(Debug, Clone, Default)]
pub struct JailParamsBuilder {
    jid: Option<i32>,
    name: Option<String>,
    path: Option<PathBuf>,
    path_checked: bool,
    hostname: Option<String>,
    domainname: Option<String>,
    vnet: Option<Vnet>,
    ip4: Option<IpMode<Ipv4Addr>>,
    ip6: Option<IpMode<Ipv6Addr>>,
    persist: Option<bool>,
    allow: Allow,
    deny: Allow,
    enforce_statfs: Option<i32>,
    devfs_ruleset: Option<i32>,
    children_max: Option<i32>,
    securelevel: Option<i32>,
    osrelease: Option<String>,
    osreldate: Option<i32>,
    extra: Vec<(String, Value)>,
}

impl JailParams {
    /// Starts a builder.
    pub fn builder() -> JailParamsBuilder {
        JailParamsBuilder::default()
    }

    /// The `(name, value)` pairs in encoding order.
    pub fn params(&self) -> &[(String, Value)] {
        &self.params
    }

    /// The parameter names as sent (booleans set to false under their `no` name).
    pub fn names(&self) -> Vec<String> {
        self.params
            .iter()
            .map(|(n, v)| match v {
                Value::Bool(false) => crate::allow::no_name(n),
                _ => n.clone(),
            })
            .collect()
    }

    /// The explicit jid, if any (or the one a numeric name implies).
    pub fn jid(&self) -> Option<i32> {
        self.jid
            .or_else(|| self.name.as_ref().and_then(JailName::implied_jid))
    }

    /// The name, if any.
    pub fn name(&self) -> Option<&JailName> {
        self.name.as_ref()
    }

    /// The jail these parameters are about, for errors: the jid if given, else the name.
    pub fn jail_ref(&self) -> JailRef {
        match (self.jid, &self.name) {
            (Some(j), _) => JailRef::Jid(j),
            (None, Some(n)) => JailRef::Name(n.to_string()),
            (None, None) => JailRef::None,
        }
    }

    /// Looks up a parameter's value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Encodes the parameters as iovec pairs followed by `errmsg`, exactly as given.
    pub fn to_iovecs(&self) -> Result<IoVecList> {
        let mut l = IoVecList::new();
        for (n, v) in &self.params {
            l.push(n, v)?;
        }
        l.push_errmsg();
        l.check_size()?;
        Ok(l)
    }

    /// Encodes for a `JAIL_CREATE` call. Without `attach`, the kernel requires `persist`
    /// ("new jail must persist or attach"): it is added if absent, and an explicit
    /// `persist(false)` is an error.
    pub fn to_create_iovecs(&self, attach: bool) -> Result<IoVecList> {
        if attach {
            return self.to_iovecs();
        }
        match self.get("persist") {
            Some(Value::Bool(true)) => self.to_iovecs(),
            Some(_) => Err(Error::invalid(
                "persist",
                "a jail created without attaching must persist",
            )),
            None => {
                let mut p = self.clone();
                let at = p
                    .params
                    .iter()
                    .position(|(n, _)| {
                        n.starts_with("allow.") || !TYPED[..10].contains(&n.as_str())
                    })
                    .unwrap_or(p.params.len());
                p.params.insert(at, ("persist".into(), Value::Bool(true)));
                p.to_iovecs()
            }
        }
    }

    /// Encodes for a `JAIL_UPDATE` call: the jail must be named (jid or name), and parameters
    /// fixed at creation (`path`, `vnet`, `osrelease`, `osreldate`) are refused.
    pub fn to_update_iovecs(&self) -> Result<IoVecList> {
        if self.jid.is_none() && self.name.is_none() {
            return Err(Error::invalid(
                "jid",
                "an update must name the jail (jid or name)",
            ));
        }
        if let Some((n, _)) = self
            .params
            .iter()
            .find(|(n, _)| CREATE_ONLY.contains(&n.as_str()))
        {
            return Err(Error::invalid(
                n.as_str(),
                "cannot be changed after creation",
            ));
        }
        self.to_iovecs()
    }
}

fn check_ips<A: Copy + Eq + std::fmt::Display>(
    param: &str,
    addrs: &[A],
    bad: impl Fn(&A) -> bool,
) -> Result<()> {
    for (i, a) in addrs.iter().enumerate() {
        if bad(a) {
            return Err(Error::invalid(
                param,
                format!("{a} is not a usable jail address"),
            ));
        }
        if addrs[..i].contains(a) {
            return Err(Error::invalid(param, format!("{a} is listed twice")));
        }
    }
    Ok(())
}

impl JailParamsBuilder {
    /// `jid`: create the jail with this id (1..=999999); default: the kernel picks one.
    pub fn jid(mut self, jid: i32) -> Self {
        self.jid = Some(jid);
        self
    }
    /// `name` (see [`JailName`] for the rules).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// `path`: the jail root, an existing directory.
    pub fn path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self.path_checked = true;
        self
    }
    /// `path` without checking that the directory exists here (see
    /// [`JailPath::new_unverified`]): for parameters rendered away from the jail host.
    pub fn path_unverified(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self.path_checked = false;
        self
    }
    /// `host.hostname`.
    pub fn hostname(mut self, name: impl Into<String>) -> Self {
        self.hostname = Some(name.into());
        self
    }
    /// `host.domainname`.
    pub fn domainname(mut self, name: impl Into<String>) -> Self {
        self.domainname = Some(name.into());
        self
    }
    /// `vnet`. Any explicit `vnet` together with `ip4`/`ip6` settings is rejected (the kernel
    /// refuses them even for `vnet=inherit`).
    pub fn vnet(mut self, v: Vnet) -> Self {
        self.vnet = Some(v);
        self
    }
    /// `ip4` mode of a non-VNET jail.
    pub fn ip4(mut self, mode: IpMode<Ipv4Addr>) -> Self {
        self.ip4 = Some(mode);
        self
    }
    /// Shorthand for `ip4(IpMode::Addrs(addrs))`.
    pub fn ip4_addrs(self, addrs: impl IntoIterator<Item = Ipv4Addr>) -> Self {
        self.ip4(IpMode::Addrs(addrs.into_iter().collect()))
    }
    /// `ip6` mode of a non-VNET jail.
    pub fn ip6(mut self, mode: IpMode<Ipv6Addr>) -> Self {
        self.ip6 = Some(mode);
        self
    }
    /// Shorthand for `ip6(IpMode::Addrs(addrs))`.
    pub fn ip6_addrs(self, addrs: impl IntoIterator<Item = Ipv6Addr>) -> Self {
        self.ip6(IpMode::Addrs(addrs.into_iter().collect()))
    }
    /// `persist` / `nopersist`: keep the jail without processes.
    pub fn persist(mut self, on: bool) -> Self {
        self.persist = Some(on);
        self
    }
    /// Sets these `allow.*` flags (sent as `allow.X`).
    pub fn allow(mut self, flags: Allow) -> Self {
        self.allow |= flags;
        self
    }
    /// Explicitly clears these `allow.*` flags (sent as `allow.noX`).
    pub fn deny(mut self, flags: Allow) -> Self {
        self.deny |= flags;
        self
    }
    /// `enforce_statfs` (0..=2).
    pub fn enforce_statfs(mut self, v: i32) -> Self {
        self.enforce_statfs = Some(v);
        self
    }
    /// `devfs_ruleset` (0..=65535).
    pub fn devfs_ruleset(mut self, v: i32) -> Self {
        self.devfs_ruleset = Some(v);
        self
    }
    /// `children.max` (≥ 0).
    pub fn children_max(mut self, v: i32) -> Self {
        self.children_max = Some(v);
        self
    }
    /// `securelevel` (-1..=3).
    pub fn securelevel(mut self, v: i32) -> Self {
        self.securelevel = Some(v);
        self
    }
    /// `osrelease` (1-31 bytes), create only.
    pub fn osrelease(mut self, v: impl Into<String>) -> Self {
        self.osrelease = Some(v.into());
        self
    }
    /// `osreldate` (> 0), create only.
    pub fn osreldate(mut self, v: i32) -> Self {
        self.osreldate = Some(v);
        self
    }
    /// Any other parameter by name, e.g. `("allow.vmm", Value::Bool(true))` or
    /// `("sysvshm", Value::JailSys(JailSys::New))`. Use [`param_type`](crate::ParamType) (or,
    /// on FreeBSD, `param_type()`) to build a value of the right type from text. Names the
    /// typed methods cover are refused.
    pub fn param(mut self, name: impl Into<String>, value: Value) -> Self {
        self.extra.push((name.into(), value));
        self
    }

    /// Validates everything and returns the parameters, or the first error (naming the
    /// parameter). Nothing is sent to the kernel.
    pub fn build(self) -> Result<JailParams> {
        let mut p: Vec<(String, Value)> = Vec::new();
        let jid = self.jid.map(name::check_jid).transpose()?;
        let name = self.name.map(JailName::new).transpose()?;
        if let (Some(j), Some(n)) = (jid, &name)
            && let Some(implied) = n.implied_jid()
            && implied != j
        {
            return Err(Error::invalid(
                "name",
                format!("numeric name {n} differs from jid {j}"),
            ));
        }
        if let Some(j) = jid {
            p.push(("jid".into(), Value::Int(j)));
        }
        if let Some(n) = &name {
            p.push(("name".into(), Value::Str(n.to_string())));
        }
        if let Some(path) = self.path {
            let path = if self.path_checked {
                JailPath::new(path)?
            } else {
                JailPath::new_unverified(path)?
            };
            p.push(("path".into(), Value::Str(path.as_str().to_string())));
        }
        if let Some(h) = self.hostname {
            p.push((
                "host.hostname".into(),
                Value::Str(Hostname::new(h)?.to_string()),
            ));
        }
        if let Some(h) = self.domainname {
            p.push((
                "host.domainname".into(),
                Value::Str(Hostname::domain(h)?.to_string()),
            ));
        }
        if self.vnet.is_some() {
            let ip_extra = self
                .extra
                .iter()
                .find(|(n, _)| n.starts_with("ip4") || n.starts_with("ip6"))
                .map(|(n, _)| n.clone());
            let ip = match (&self.ip4, &self.ip6) {
                (Some(_), _) => Some("ip4".to_string()),
                (None, Some(_)) => Some("ip6".to_string()),
                _ => ip_extra,
            };
            if let Some(ip) = ip {
                return Err(Error::invalid(
                    ip,
                    "VNET jails cannot have IP address restrictions (configure addresses \
                     inside the jail's own network stack instead)",
                ));
            }
        }
        match self.vnet {
            Some(Vnet::New) => p.push(("vnet".into(), Value::JailSys(JailSys::New))),
            Some(Vnet::Inherit) => p.push(("vnet".into(), Value::JailSys(JailSys::Inherit))),
            None => {}
        }
        match self.ip4 {
            Some(IpMode::Inherit) => p.push(("ip4".into(), Value::JailSys(JailSys::Inherit))),
            Some(IpMode::Disable) => p.push(("ip4".into(), Value::JailSys(JailSys::Disable))),
            Some(IpMode::Addrs(a)) => {
                check_ips("ip4.addr", &a, |x| x.is_unspecified() || x.is_broadcast())?;
                p.push(("ip4.addr".into(), Value::Ip4(a)));
            }
            None => {}
        }
        match self.ip6 {
            Some(IpMode::Inherit) => p.push(("ip6".into(), Value::JailSys(JailSys::Inherit))),
            Some(IpMode::Disable) => p.push(("ip6".into(), Value::JailSys(JailSys::Disable))),
            Some(IpMode::Addrs(a)) => {
                check_ips("ip6.addr", &a, Ipv6Addr::is_unspecified)?;
                p.push(("ip6.addr".into(), Value::Ip6(a)));
            }
            None => {}
        }
        if let Some(on) = self.persist {
            p.push(("persist".into(), Value::Bool(on)));
        }
        let both = self.allow & self.deny;
        if !both.is_empty() {
            return Err(Error::invalid(
                both.param_names().join(","),
                "both allowed and denied",
            ));
        }
        for n in self.allow.param_names() {
            p.push((n.into(), Value::Bool(true)));
        }
        for n in self.deny.param_names() {
            p.push((n.into(), Value::Bool(false)));
        }
        if let Some(v) = self.enforce_statfs {
            p.push((
                "enforce_statfs".into(),
                Value::Int(name::check_enforce_statfs(v)?),
            ));
        }
        if let Some(v) = self.devfs_ruleset {
            p.push((
                "devfs_ruleset".into(),
                Value::Int(name::check_devfs_ruleset(v)?),
            ));
        }
        if let Some(v) = self.children_max {
            p.push((
                "children.max".into(),
                Value::Int(name::check_children_max(v)?),
            ));
        }
        if let Some(v) = self.securelevel {
            p.push((
                "securelevel".into(),
                Value::Int(name::check_securelevel(v)?),
            ));
        }
        if let Some(v) = self.osrelease {
            name::check_osrelease(&v)?;
            p.push(("osrelease".into(), Value::Str(v)));
        }
        if let Some(v) = self.osreldate {
            p.push(("osreldate".into(), Value::Int(name::check_osreldate(v)?)));
        }
        for (n, v) in self.extra {
            if n.is_empty() || n.contains('\0') || n.contains('=') {
                return Err(Error::invalid(n, "not a valid parameter name"));
            }
            let base = n.replace(".no", ".");
            let base = base.strip_prefix("no").unwrap_or(&base);
            if TYPED.contains(&n.as_str()) || TYPED.contains(&base) {
                return Err(Error::invalid(n, "has a typed builder method; use it"));
            }
            if Allow::from_param_name(&n).is_some() || Allow::from_param_name(base).is_some() {
                return Err(Error::invalid(n, "is an Allow flag; use allow()/deny()"));
            }
            if p.iter().any(|(m, _)| *m == n) {
                return Err(Error::invalid(n, "given twice"));
            }
            v.check(&n)?;
            p.push((n, v));
        }
        Ok(JailParams {
            params: p,
            jid,
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_param(r: Result<JailParams>) -> String {
        match r {
            Err(Error::Invalid { param, .. }) => param,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn each_bad_input_names_its_parameter() {
        let b = JailParams::builder;
        assert_eq!(invalid_param(b().name("").build()), "name");
        assert_eq!(invalid_param(b().jid(0).build()), "jid");
        assert_eq!(invalid_param(b().jid(5).name("6").build()), "name");
        assert!(b().jid(6).name("6").build().is_ok());
        assert_eq!(invalid_param(b().path("rel").build()), "path");
        assert_eq!(invalid_param(b().hostname("a b").build()), "host.hostname");
        assert_eq!(
            invalid_param(b().domainname("-x").build()),
            "host.domainname"
        );
        assert_eq!(
            invalid_param(b().vnet(Vnet::New).ip4(IpMode::Inherit).build()),
            "ip4"
        );
        assert_eq!(
            invalid_param(
                b().vnet(Vnet::Inherit)
                    .ip6_addrs(["::1".parse().unwrap()])
                    .build()
            ),
            "ip6"
        );
        assert_eq!(
            invalid_param(
                b().vnet(Vnet::New)
                    .param("ip4.saddrsel", Value::Bool(true))
                    .build()
            ),
            "ip4.saddrsel"
        );
        assert_eq!(
            invalid_param(b().ip4_addrs([Ipv4Addr::UNSPECIFIED]).build()),
            "ip4.addr"
        );
        assert_eq!(
            invalid_param(b().ip4_addrs([Ipv4Addr::BROADCAST]).build()),
            "ip4.addr"
        );
        let a: Ipv4Addr = "10.0.0.2".parse().unwrap();
        assert_eq!(invalid_param(b().ip4_addrs([a, a]).build()), "ip4.addr");
        assert_eq!(
            invalid_param(b().ip6_addrs([Ipv6Addr::UNSPECIFIED]).build()),
            "ip6.addr"
        );
        assert_eq!(
            invalid_param(b().allow(Allow::MLOCK).deny(Allow::MLOCK).build()),
            "allow.mlock"
        );
        assert_eq!(
            invalid_param(b().enforce_statfs(3).build()),
            "enforce_statfs"
        );
        assert_eq!(
            invalid_param(b().devfs_ruleset(70000).build()),
            "devfs_ruleset"
        );
        assert_eq!(invalid_param(b().children_max(-2).build()), "children.max");
        assert_eq!(invalid_param(b().securelevel(9).build()), "securelevel");
        assert_eq!(invalid_param(b().osrelease("").build()), "osrelease");
        assert_eq!(invalid_param(b().osreldate(0).build()), "osreldate");
        assert_eq!(invalid_param(b().param("", Value::Int(1)).build()), "");
        assert_eq!(
            invalid_param(b().param("persist", Value::Bool(true)).build()),
            "persist"
        );
        assert_eq!(
            invalid_param(b().param("nopersist", Value::Bool(true)).build()),
            "nopersist"
        );
        assert_eq!(
            invalid_param(b().param("allow.noraw_sockets", Value::Bool(true)).build()),
            "allow.noraw_sockets"
        );
        assert_eq!(
            invalid_param(b().param("errmsg", Value::Int(1)).build()),
            "errmsg"
        );
        assert_eq!(
            invalid_param(
                b().param("allow.vmm", Value::Bool(true))
                    .param("allow.vmm", Value::Bool(false))
                    .build()
            ),
            "allow.vmm"
        );
        assert_eq!(
            invalid_param(b().param("x", Value::Str("a\0b".into())).build()),
            "x"
        );
    }

    #[test]
    fn oversized_requests_are_refused_before_the_call() {
        let p = JailParams::builder()
            .param("x.blob", Value::Raw(vec![1; 70 * 1024]))
            .build()
            .unwrap();
        match p.to_iovecs() {
            Err(Error::Invalid { reason, .. }) => assert!(reason.contains("65536"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn non_vnet_jail_with_addresses() {
        let a: Ipv4Addr = "192.0.2.10".parse().unwrap();
        let p = JailParams::builder()
            .name("web")
            .ip4_addrs([a])
            .ip6(IpMode::Disable)
            .deny(Allow::SET_HOSTNAME)
            .param("allow.vmm", Value::Bool(true))
            .build()
            .unwrap();
        assert_eq!(
            p.names(),
            vec![
                "name",
                "ip4.addr",
                "ip6",
                "allow.noset_hostname",
                "allow.vmm"
            ]
        );
        let mut l = p.to_iovecs().unwrap();
        let w = l.wire_pairs();
        assert_eq!(w[1].1.as_deref(), Some(&[192, 0, 2, 10][..]));
        assert_eq!(w[2].1.as_deref(), Some(&0i32.to_ne_bytes()[..]));
        assert_eq!(w[3], (b"allow.noset_hostname\0".to_vec(), None));
    }

    #[test]
    fn create_adds_persist_and_update_refuses_fixed_params() {
        let dir = tempfile::tempdir().unwrap();
        let p = JailParams::builder()
            .name("j1")
            .path(dir.path())
            .allow(Allow::MOUNT)
            .build()
            .unwrap();
        assert_eq!(
            p.to_create_iovecs(false).unwrap().names(),
            vec!["name", "path", "persist", "allow.mount", "errmsg"]
        );
        assert_eq!(
            p.to_create_iovecs(true).unwrap().names(),
            vec!["name", "path", "allow.mount", "errmsg"]
        );
        let np = JailParams::builder()
            .name("j1")
            .persist(false)
            .build()
            .unwrap();
        assert!(matches!(
            np.to_create_iovecs(false),
            Err(Error::Invalid { .. })
        ));
        match p.to_update_iovecs() {
            Err(Error::Invalid { param, .. }) => assert_eq!(param, "path"),
            other => panic!("{other:?}"),
        }
        let anon = JailParams::builder().securelevel(1).build().unwrap();
        assert!(anon.to_update_iovecs().is_err());
        let u = JailParams::builder().jid(4).securelevel(1).build().unwrap();
        assert_eq!(
            u.to_update_iovecs().unwrap().names(),
            vec!["jid", "securelevel", "errmsg"]
        );
        assert_eq!(u.jail_ref(), JailRef::Jid(4));
    }
}
