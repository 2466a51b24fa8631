//! The jail parameters of FreeBSD 14 and the kernel's rules for their values: one table shared
//! by [`SimHost`](crate::sim::SimHost) (which enforces it at `jail_create`) and the
//! [`Runner`](crate::run::Runner) (which refuses bad values while planning, before anything on
//! the host changes).
//!
//! Text values are read the way jail(8) reads them (libjail's `jailparam_import()` and
//! `jailparam_set()` in `lib/libjail/jail.c`), with the same code the real host uses
//! ([`freebsd_jail::ParamType::parse_value`]); [`to_value`] adds what jail(8) does for a
//! parameter written without a value:
//!
//! - a boolean alone is `true` (`allow.mlock`), its `no` form alone is `false`
//!   (`allow.nomlock`); with a value, `true`/`false` (any case) or a number, and a `no` form
//!   inverts it (`allow.nomlock=0` sets `allow.mlock`). The result is always named by the
//!   positive name;
//! - a jailsys parameter alone (or empty) is `new` (`sysvshm`), otherwise
//!   `disable`/`new`/`inherit` (any case) or 0/1/2;
//! - an address list alone, empty or `-` is the empty list;
//! - a string alone is the empty string;
//! - a number alone is refused here (libjail would send 0, which is never what was meant).
//!
//! ```
//! use freebsd_jail::Value;
//! use thinjail_core::host::Errno;
//! use thinjail_core::jailparams::check_text;
//!
//! let (name, v) = check_text("allow.nomount.nullfs", None).unwrap_err().param_and_errno();
//! assert_eq!((name.as_str(), v), ("allow.nomount.nullfs", Errno::ENOENT));
//! assert_eq!(check_text("allow.mount.nonullfs", None).unwrap(),
//!            ("allow.mount.nullfs".to_string(), Value::Bool(false)));
//! assert_eq!(check_text("securelevel", Some("abc")).unwrap_err().errno, Errno::EINVAL);
//! assert_eq!(check_text("securelevel", Some("-2")).unwrap_err().errno, Errno::EPERM);
//! ```

use std::fmt;

use freebsd_jail::{JailSys, Kind, ParamType, Value};

use crate::host::Errno;

use freebsd_jail::{JAIL_MAX, MAXHOSTNAMELEN, MAXPATHLEN, OSRELEASELEN};

/// `HOSTUUIDLEN` (`<sys/jail.h>`, visible only to the kernel and `_WANT_PRISON`: like
/// freebsd-jail's `OSRELEASELEN` and `JAIL_MAX` it is not in the ABI check's header set; the
/// value is from reading `sys/sys/jail.h`).
const HOSTUUIDLEN: usize = 64;
/// `LINUX_MAX_UTSNAME` (`sys/compat/linux/linux_mib.h`, a kernel header not installed in
/// /usr/include, so not in [`crate::abi::facts`]).
const LINUX_MAX_UTSNAME: usize = 65;
/// `jail_max_af_ips` (`kern_jail.c`): addresses per family.
const MAX_AF_IPS: usize = 255;

/// Who may set a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `CTLFLAG_RW`: set at creation and later.
    ReadWrite,
    /// `CTLFLAG_RDTUN`: set only when the jail is created.
    CreateOnly,
    /// `CTLFLAG_RD`: reported by `jail_get(2)` only; `jail_set(2)` does not take it (the kernel
    /// answers `EINVAL` "unknown parameter").
    ReadOnly,
}

/// One jail parameter: its name, its type as `security.jail.param.<name>` describes it, and
/// who may set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamDef {
    /// The parameter's name (`allow.mount.nullfs`).
    pub name: &'static str,
    /// Its type (strings with the buffer size the kernel advertises, NUL included).
    pub ty: ParamType,
    /// Who may set it.
    pub access: Access,
}

const fn def(name: &'static str, kind: Kind, access: Access) -> ParamDef {
    ParamDef {
        name,
        ty: ParamType { kind, array: false },
        access,
    }
}

const fn rw(name: &'static str, kind: Kind) -> ParamDef {
    def(name, kind, Access::ReadWrite)
}

const fn bool_(name: &'static str) -> ParamDef {
    def(name, Kind::Bool, Access::ReadWrite)
}

const fn str_(name: &'static str, max_len: usize, access: Access) -> ParamDef {
    def(name, Kind::Str { max_len }, access)
}

const fn addrs(name: &'static str, kind: Kind) -> ParamDef {
    ParamDef {
        name,
        ty: ParamType { kind, array: true },
        access: Access::ReadWrite,
    }
}

/// The jail parameters of a FreeBSD 14 GENERIC kernel, as `sysctl security.jail.param` lists
/// them, with the modules thin jails commonly load.
///
/// Sources (freebsd-src): `sys/kern/kern_jail.c` (the `SYSCTL_JAIL_PARAM*` declarations, the
/// static `pr_flag_allow` list and `prison_add_vfs()`, which registers `allow.mount.<fs>` for
/// every jail-friendly file system); `sys/kern/sysv_msg.c`, `sysv_sem.c`, `sysv_shm.c`
/// (`SYSCTL_JAIL_PARAM_SYS_NODE(sysvmsg|sysvsem|sysvshm, CTLFLAG_RW, ...)`: jailsys);
/// `sys/compat/linux/linux_mib.c` (`linux`, `linux.osname`, `linux.osrelease`,
/// `linux.oss_version`, while linux.ko is loaded); `sys/amd64/vmm/vmm.c` (`allow.vmm`, while
/// vmm.ko is loaded).
///
/// Not verified here against a 14.x tree: the exact release that added `allow.nfsd`,
/// `allow.extattr`, `allow.adjtime`, `allow.settime` and `allow.routing` (all in 14.x
/// kernels as far as the freebsd-jail crate's `Allow` list knows). A kernel without one of
/// them answers "unknown parameter", as [`SimHost`](crate::sim::SimHost) does for names
/// missing here.
pub static FREEBSD14: &[ParamDef] = &[
    def("jid", Kind::Int, Access::CreateOnly),
    def("parent", Kind::Int, Access::ReadOnly),
    str_("name", MAXHOSTNAMELEN, Access::ReadWrite),
    str_("path", MAXPATHLEN, Access::CreateOnly),
    rw("securelevel", Kind::Int),
    def("osreldate", Kind::Int, Access::CreateOnly),
    str_("osrelease", OSRELEASELEN, Access::CreateOnly),
    rw("enforce_statfs", Kind::Int),
    rw("devfs_ruleset", Kind::Int),
    bool_("persist"),
    def("vnet", Kind::JailSys, Access::CreateOnly),
    def("dying", Kind::Bool, Access::ReadOnly),
    def("children.cur", Kind::Int, Access::ReadOnly),
    rw("children.max", Kind::Int),
    rw("host", Kind::JailSys),
    str_("host.hostname", MAXHOSTNAMELEN, Access::ReadWrite),
    str_("host.domainname", MAXHOSTNAMELEN, Access::ReadWrite),
    str_("host.hostuuid", HOSTUUIDLEN, Access::ReadWrite),
    rw("host.hostid", Kind::ULong),
    def("cpuset.id", Kind::Int, Access::ReadOnly),
    def("ip4", Kind::JailSys, Access::CreateOnly),
    addrs("ip4.addr", Kind::InAddr),
    bool_("ip4.saddrsel"),
    def("ip6", Kind::JailSys, Access::CreateOnly),
    addrs("ip6.addr", Kind::In6Addr),
    bool_("ip6.saddrsel"),
    bool_("allow.set_hostname"),
    bool_("allow.sysvipc"),
    bool_("allow.raw_sockets"),
    bool_("allow.chflags"),
    bool_("allow.mount"),
    bool_("allow.quotas"),
    bool_("allow.socket_af"),
    bool_("allow.mlock"),
    bool_("allow.reserved_ports"),
    bool_("allow.read_msgbuf"),
    bool_("allow.unprivileged_proc_debug"),
    bool_("allow.suser"),
    bool_("allow.nfsd"),
    bool_("allow.extattr"),
    bool_("allow.adjtime"),
    bool_("allow.settime"),
    bool_("allow.routing"),
    bool_("allow.vmm"),
    bool_("allow.mount.devfs"),
    bool_("allow.mount.fdescfs"),
    bool_("allow.mount.fusefs"),
    bool_("allow.mount.linprocfs"),
    bool_("allow.mount.linsysfs"),
    bool_("allow.mount.nullfs"),
    bool_("allow.mount.procfs"),
    bool_("allow.mount.tmpfs"),
    bool_("allow.mount.zfs"),
    rw("sysvmsg", Kind::JailSys),
    rw("sysvsem", Kind::JailSys),
    rw("sysvshm", Kind::JailSys),
    rw("linux", Kind::JailSys),
    str_("linux.osname", LINUX_MAX_UTSNAME, Access::ReadWrite),
    str_("linux.osrelease", LINUX_MAX_UTSNAME, Access::ReadWrite),
    rw("linux.oss_version", Kind::Int),
];

/// Parameters jail(8) reads itself and never passes to the kernel (`usr.sbin/jail/config.c`
/// `intparams[]`): prefixes and whole names.
const PSEUDO_PREFIXES: &[&str] = &["exec.", "mount."];
const PSEUDO_NAMES: &[&str] = &[
    "command",
    "depend",
    "interface",
    "ip_hostname",
    "allow.dying",
    "stop.timeout",
    "vnet.interface",
];

/// True for jail(8)'s own (pseudo-)parameters, which the kernel does not know: `exec.*`,
/// `mount.*`, `depend`, `interface`, `vnet.interface`, `stop.timeout`, …
///
/// ```
/// assert!(thinjail_core::jailparams::is_pseudo("exec.stop"));
/// assert!(!thinjail_core::jailparams::is_pseudo("securelevel"));
/// ```
pub fn is_pseudo(name: &str) -> bool {
    PSEUDO_PREFIXES.iter().any(|p| name.starts_with(p)) || PSEUDO_NAMES.contains(&name)
}

/// The positive name of a `no`-prefixed boolean (`allow.nomlock` → `allow.mlock`,
/// `nopersist` → `persist`), as libjail's `nononame()`; `None` if the last component does not
/// start with `no`.
pub fn positive_name(name: &str) -> Option<String> {
    match name.rsplit_once('.') {
        Some((head, last)) => last.strip_prefix("no").map(|p| format!("{head}.{p}")),
        None => name.strip_prefix("no").map(str::to_string),
    }
}

/// Looks a parameter up in [`FREEBSD14`] as libjail's `jailparam_type()` looks it up in the
/// kernel: by name, or as the `no` form of a boolean (then the type is [`Kind::NoBool`]).
///
/// ```
/// use freebsd_jail::Kind;
/// use thinjail_core::jailparams::lookup;
/// assert_eq!(lookup("sysvshm").unwrap().ty.kind, Kind::JailSys);
/// assert_eq!(lookup("ip4.nosaddrsel").unwrap().ty.kind, Kind::NoBool);
/// assert!(lookup("nosecurelevel").is_none());
/// assert!(lookup("exec.start").is_none());
/// ```
pub fn lookup(name: &str) -> Option<ParamDef> {
    if let Some(d) = FREEBSD14.iter().find(|d| d.name == name) {
        return Some(*d);
    }
    let pos = positive_name(name)?;
    let d = FREEBSD14.iter().find(|d| d.name == pos)?;
    (d.ty.kind == Kind::Bool).then_some(ParamDef {
        name: d.name,
        ty: ParamType::scalar(Kind::NoBool),
        access: d.access,
    })
}

/// A parameter refused: which one, the errno the kernel (or libjail, for text it cannot
/// convert) answers, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter as given.
    pub param: String,
    /// FreeBSD errno.
    pub errno: Errno,
    /// The message (the kernel's or libjail's where they give one).
    pub errmsg: String,
}

impl ParamError {
    fn new(param: &str, errno: Errno, errmsg: impl Into<String>) -> ParamError {
        ParamError {
            param: param.to_string(),
            errno,
            errmsg: errmsg.into(),
        }
    }

    /// The parameter and the errno (handy in tests).
    pub fn param_and_errno(&self) -> (String, Errno) {
        (self.param.clone(), self.errno)
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.errno, self.errmsg)
    }
}

impl std::error::Error for ParamError {}

/// Converts a parameter's text (as jail(8) takes it: `None` when written without `=`) into
/// its positive name and a [`Value`] of type `ty` (from [`lookup`], or on FreeBSD from the
/// kernel through `freebsd_jail::param_type`). See the module documentation for the rules.
///
/// ```
/// use freebsd_jail::{JailSys, Kind, ParamType, Value};
/// use thinjail_core::jailparams::to_value;
/// let js = ParamType::scalar(Kind::JailSys);
/// assert_eq!(to_value("sysvshm", js, None).unwrap().1, Value::JailSys(JailSys::New));
/// let nb = ParamType::scalar(Kind::NoBool);
/// assert_eq!(to_value("allow.nomlock", nb, Some("0")).unwrap(),
///            ("allow.mlock".to_string(), Value::Bool(true)));
/// ```
pub fn to_value(
    name: &str,
    ty: ParamType,
    text: Option<&str>,
) -> Result<(String, Value), ParamError> {
    let einval = |why: String| ParamError::new(name, Errno::EINVAL, why);
    let parse = |t: &str| ty.parse_value(name, t).map_err(|e| einval(e.to_string()));
    if ty.array {
        let t = match text {
            None | Some("-") => "",
            Some(t) => t,
        };
        return Ok((name.to_string(), parse(t)?));
    }
    match ty.kind {
        Kind::Bool => Ok((
            name.to_string(),
            match text {
                None => Value::Bool(true),
                Some(t) => parse(t)?,
            },
        )),
        Kind::NoBool => {
            let pos =
                positive_name(name).ok_or_else(|| einval("not the no form of a boolean".into()))?;
            let v = match text {
                None => Value::Bool(false),
                Some(t) => parse(t)?,
            };
            Ok((pos, v))
        }
        Kind::JailSys => Ok((
            name.to_string(),
            match text {
                None | Some("") => Value::JailSys(JailSys::New),
                Some(t) => parse(t)?,
            },
        )),
        Kind::Str { .. } => Ok((name.to_string(), parse(text.unwrap_or(""))?)),
        _ => match text {
            None => Err(einval(format!("{name} needs a value"))),
            Some(t) => Ok((name.to_string(), parse(t)?)),
        },
    }
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(i64::from(*i)),
        _ => None,
    }
}

/// The kernel's checks of one value at `JAIL_CREATE` (`kern_jail_set()` in
/// `sys/kern/kern_jail.c`, and the sysvipc modules' `PR_METHOD_CHECK`), for a jail whose parent
/// is the host (prison0: securelevel -1, children.max `JAIL_MAX`, every `allow` bit).
/// `name` is the positive name [`to_value`] returned.
///
/// Read-only parameters are refused as the kernel refuses names it does not consume (`EINVAL`
/// "unknown parameter"). Rules that involve other parameters (`vnet` with IP addresses) are
/// the caller's.
pub fn check_value(name: &str, access: Access, v: &Value) -> Result<(), ParamError> {
    let err = |errno, msg: String| Err(ParamError::new(name, errno, msg));
    if access == Access::ReadOnly {
        return err(Errno::EINVAL, format!("unknown parameter: {name}"));
    }
    let i = int_of(v);
    match (name, v) {
        ("securelevel", _) if i < Some(-1) => err(
            Errno::EPERM,
            format!(
                "securelevel {} is below the parent's (-1)",
                i.unwrap_or_default()
            ),
        ),
        ("enforce_statfs", _) if !(Some(0)..=Some(2)).contains(&i) => err(
            Errno::EINVAL,
            format!(
                "enforce_statfs {}: must be 0, 1 or 2",
                i.unwrap_or_default()
            ),
        ),
        ("devfs_ruleset", _) if !(Some(0)..=Some(65535)).contains(&i) => err(
            Errno::EINVAL,
            format!("devfs_ruleset {}: must be 0..=65535", i.unwrap_or_default()),
        ),
        ("children.max", _) if i < Some(0) => err(
            Errno::EINVAL,
            format!(
                "children.max {}: must not be negative",
                i.unwrap_or_default()
            ),
        ),
        ("children.max", _) if i >= Some(i64::from(JAIL_MAX)) => err(
            Errno::EPERM,
            format!(
                "children.max {}: not below the parent's ({JAIL_MAX})",
                i.unwrap_or_default()
            ),
        ),
        ("jid", _) if i < Some(0) => err(Errno::EINVAL, "negative jid".into()),
        ("osreldate", _) if i == Some(0) => err(Errno::EINVAL, "osreldate cannot be 0".into()),
        ("osrelease", Value::Str(s)) if s.is_empty() || s.len() >= OSRELEASELEN => err(
            Errno::EINVAL,
            format!("osrelease string must be 1-{} bytes long", OSRELEASELEN - 1),
        ),
        ("persist", Value::Bool(false)) => {
            err(Errno::EINVAL, "new jail must persist or attach".into())
        }
        ("vnet" | "host", Value::JailSys(JailSys::Disable)) => {
            err(Errno::EINVAL, format!("{name} cannot be disabled"))
        }
        ("ip4.addr", Value::Ip4(a)) => {
            check_addrs(name, a, |x| x.is_unspecified() || x.is_broadcast())
        }
        ("ip6.addr", Value::Ip6(a)) => check_addrs(name, a, |x| x.is_unspecified()),
        _ => Ok(()),
    }
}

fn check_addrs<A: PartialEq + fmt::Display>(
    name: &str,
    a: &[A],
    bad: impl Fn(&A) -> bool,
) -> Result<(), ParamError> {
    if a.len() > MAX_AF_IPS {
        return Err(ParamError::new(
            name,
            Errno::EINVAL,
            format!(
                "too many {} addresses",
                if name == "ip4.addr" { "IPv4" } else { "IPv6" }
            ),
        ));
    }
    for (k, x) in a.iter().enumerate() {
        if bad(x) || a[..k].contains(x) {
            return Err(ParamError::new(
                name,
                Errno::EINVAL,
                format!("{name}: {x} is not usable (unspecified, broadcast or repeated)"),
            ));
        }
    }
    Ok(())
}

/// [`lookup`] + [`to_value`] + [`check_value`]: what a FreeBSD 14 host answers for one
/// parameter given as text at `JAIL_CREATE`. Unknown names are `ENOENT` "unknown parameter:
/// NAME" (libjail's answer when `security.jail.param.NAME` does not exist).
pub fn check_text(name: &str, text: Option<&str>) -> Result<(String, Value), ParamError> {
    let d = lookup(name).ok_or_else(|| {
        ParamError::new(name, Errno::ENOENT, format!("unknown parameter: {name}"))
    })?;
    let (pos, v) = to_value(name, d.ty, text)?;
    check_value(&pos, d.access, &v).map_err(|mut e| {
        e.param = name.to_string();
        e
    })?;
    Ok((pos, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_unique_and_well_formed() {
        for (i, d) in FREEBSD14.iter().enumerate() {
            assert!(
                FREEBSD14[..i].iter().all(|o| o.name != d.name),
                "{} twice",
                d.name
            );
            assert!(!d.name.is_empty() && !d.name.contains(['=', ' ', '\0']));
            assert!(!is_pseudo(d.name), "{} is also a pseudo-parameter", d.name);
        }
    }

    #[test]
    fn booleans_as_jail8_reads_them() {
        let v = |n: &str, t: Option<&str>| check_text(n, t).unwrap();
        assert_eq!(
            v("allow.mlock", None),
            ("allow.mlock".into(), Value::Bool(true))
        );
        assert_eq!(v("allow.mlock", Some("FALSE")).1, Value::Bool(false));
        assert_eq!(v("allow.mlock", Some("7")).1, Value::Bool(true));
        assert_eq!(
            v("allow.nomlock", None),
            ("allow.mlock".into(), Value::Bool(false))
        );
        assert_eq!(v("allow.nomlock", Some("true")).1, Value::Bool(false));
        assert_eq!(v("ip4.nosaddrsel", None).0, "ip4.saddrsel");
        assert_eq!(
            check_text("allow.mlock", Some("yes")).unwrap_err().errno,
            Errno::EINVAL
        );
        // Only booleans have a no form.
        assert_eq!(
            check_text("nosecurelevel", None).unwrap_err().errno,
            Errno::ENOENT
        );
    }

    #[test]
    fn jailsys_values() {
        for (t, want) in [
            (None, JailSys::New),
            (Some(""), JailSys::New),
            (Some("disable"), JailSys::Disable),
            (Some("NEW"), JailSys::New),
            (Some("inherit"), JailSys::Inherit),
            (Some("0"), JailSys::Disable),
            (Some("2"), JailSys::Inherit),
        ] {
            assert_eq!(
                check_text("sysvshm", t).unwrap().1,
                Value::JailSys(want),
                "{t:?}"
            );
        }
        for bad in ["3", "-1", "yes", "newer"] {
            assert_eq!(
                check_text("sysvsem", Some(bad)).unwrap_err().errno,
                Errno::EINVAL,
                "{bad}"
            );
        }
        assert_eq!(
            check_text("vnet", Some("disable")).unwrap_err().errno,
            Errno::EINVAL
        );
        assert!(check_text("ip4", Some("disable")).is_ok());
    }

    #[test]
    fn kernel_ranges() {
        let errno = |n: &str, t: &str| check_text(n, Some(t)).err().map(|e| e.errno);
        assert_eq!(errno("securelevel", "3"), None);
        assert_eq!(errno("securelevel", "-1"), None);
        assert_eq!(errno("securelevel", "7"), None);
        assert_eq!(errno("securelevel", "-2"), Some(Errno::EPERM));
        assert_eq!(errno("securelevel", "abc"), Some(Errno::EINVAL));
        assert_eq!(errno("enforce_statfs", "3"), Some(Errno::EINVAL));
        assert_eq!(errno("enforce_statfs", "-1"), Some(Errno::EINVAL));
        assert_eq!(errno("children.max", "-1"), Some(Errno::EINVAL));
        assert_eq!(errno("children.max", "999999"), Some(Errno::EPERM));
        assert_eq!(errno("children.max", "10"), None);
        assert_eq!(errno("devfs_ruleset", "65536"), Some(Errno::EINVAL));
        assert_eq!(errno("osreldate", "0"), Some(Errno::EINVAL));
        assert_eq!(errno("osrelease", ""), Some(Errno::EINVAL));
        assert_eq!(errno("osrelease", &"x".repeat(32)), Some(Errno::EINVAL));
        assert_eq!(errno("osrelease", "13.2-RELEASE"), None);
        assert_eq!(
            errno("host.domainname", &"d".repeat(256)),
            Some(Errno::EINVAL)
        );
        assert_eq!(errno("nopersist", "1"), Some(Errno::EINVAL));
        assert_eq!(errno("persist", "1"), None);
        assert_eq!(errno("dying", "1"), Some(Errno::EINVAL));
        assert_eq!(errno("ip4.addr", "10.0.0.1,10.0.0.1"), Some(Errno::EINVAL));
        assert_eq!(errno("ip4.addr", "0.0.0.0"), Some(Errno::EINVAL));
        assert_eq!(errno("ip4.addr", "10.0.0.300"), Some(Errno::EINVAL));
        assert_eq!(errno("ip6.addr", "::"), Some(Errno::EINVAL));
        assert_eq!(
            check_text("ip4.addr", Some("-")).unwrap().1,
            Value::Ip4(vec![])
        );
        assert_eq!(
            check_text("securelevel", None).unwrap_err().errno,
            Errno::EINVAL
        );
    }

    #[test]
    fn unknown_and_pseudo() {
        let e = check_text("allow.flying", None).unwrap_err();
        assert_eq!(e.errno, Errno::ENOENT);
        assert_eq!(e.errmsg, "unknown parameter: allow.flying");
        assert!(is_pseudo("mount.devfs") && is_pseudo("depend") && !is_pseudo("linux"));
        assert_eq!(
            check_text("exec.start", None).unwrap_err().errno,
            Errno::ENOENT
        );
    }
}
