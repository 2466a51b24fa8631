//! [`JailSpec::params`] at `JAIL_CREATE` on the simulated host: the FreeBSD 14 table and the
//! kernel's rules of [`crate::jailparams`].

use std::collections::{BTreeMap, BTreeSet};

use crate::host::{Errno, JailSpec, SPEC_FIELD_PARAMS};
use crate::jailparams;

/// What [`extra_params`] found.
#[derive(Default)]
pub(super) struct ExtraParams {
    /// An explicit `jid` (0: none).
    pub(super) jid: i32,
    /// The other parameters, by positive name, as text.
    pub(super) params: BTreeMap<String, String>,
}

/// Checks [`JailSpec::params`] in order as a FreeBSD 14 host does at `JAIL_CREATE` (the
/// table and rules of [`jailparams`]); `allow.*` booleans update `allow`, the others are
/// returned by positive name in text form (a later occurrence replaces an earlier one, as
/// the kernel keeps the last).
pub(super) fn extra_params(
    spec: &JailSpec,
    allow: &mut BTreeSet<String>,
) -> Result<ExtraParams, jailparams::ParamError> {
    let mut out = ExtraParams::default();
    let mut ip = None;
    for (name, text) in &spec.params {
        let pos = jailparams::positive_name(name)
            .filter(|p| jailparams::lookup(p).is_some())
            .unwrap_or_else(|| name.clone());
        if SPEC_FIELD_PARAMS.contains(&pos.as_str()) {
            return Err(jailparams::ParamError {
                param: name.clone(),
                errno: Errno::EINVAL,
                errmsg: format!("{name}: set through the JailSpec field, not params"),
            });
        }
        let (pos, value) = jailparams::check_text(name, text.as_deref())?;
        if let Some(a) = pos.strip_prefix("allow.") {
            if value == freebsd_jail::Value::Bool(true) {
                allow.insert(a.to_string());
            } else {
                allow.remove(a);
            }
            continue;
        }
        match (pos.as_str(), &value) {
            ("jid", freebsd_jail::Value::Int(j)) => {
                // Reported as the jid, not as a parameter.
                out.jid = *j;
                continue;
            }
            ("ip4" | "ip6" | "ip6.addr", _) => ip = Some(pos.clone()),
            _ => {}
        }
        out.params.insert(pos, value.to_text());
    }
    if let Some(p) = ip
        && spec.vnet
    {
        return Err(jailparams::ParamError {
            param: p,
            errno: Errno::EINVAL,
            errmsg: "vnet jails cannot have IP address restrictions".into(),
        });
    }
    Ok(out)
}
