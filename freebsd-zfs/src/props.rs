//! Properties for `create` and `clone`, each with the nvpair type the kernel expects.

use std::fmt;

/// A property value with its nvpair type: the kernel (`zfs_set_prop_nvlist`) wants string
/// properties as `DATA_TYPE_STRING` and number/index properties as `DATA_TYPE_UINT64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropValue {
    /// A string property (`mountpoint`, user properties `module:name`).
    String(String),
    /// A number or index property (`canmount` index, `quota` …) as the kernel stores it.
    U64(u64),
}

/// `canmount` (an index property: off=0, on=1, noauto=2 in `<sys/fs/zfs.h>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanMount {
    /// `off`.
    Off,
    /// `on`.
    On,
    /// `noauto`.
    NoAuto,
}

impl CanMount {
    /// The index value the kernel stores (`ZFS_CANMOUNT_*`).
    pub fn index(self) -> u64 {
        match self {
            CanMount::Off => 0,
            CanMount::On => 1,
            CanMount::NoAuto => 2,
        }
    }

    /// The name zfs(8) uses.
    pub fn as_str(self) -> &'static str {
        match self {
            CanMount::Off => "off",
            CanMount::On => "on",
            CanMount::NoAuto => "noauto",
        }
    }
}

impl fmt::Display for CanMount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Index properties and the string names zfs(8) takes for their values.
const INDEX_NAMES: &[(&str, &[(&str, u64)])] = &[
    ("canmount", &[("off", 0), ("on", 1), ("noauto", 2)]),
    ("readonly", &[("off", 0), ("on", 1)]),
    ("atime", &[("off", 0), ("on", 1)]),
    ("exec", &[("off", 0), ("on", 1)]),
    ("setuid", &[("off", 0), ("on", 1)]),
    ("devices", &[("off", 0), ("on", 1)]),
];

/// Properties to set at creation, in order.
///
/// ```
/// use freebsd_zfs::{CanMount, PropValue, Props};
/// let p = Props::new()
///     .mountpoint("/zdata/jails/containers/web")
///     .canmount(CanMount::NoAuto)
///     .user("thinjail:role", "container")
///     .unwrap();
/// assert_eq!(p.get("canmount"), Some(&PropValue::U64(2)));
/// assert_eq!(p.cli_args(), ["mountpoint=/zdata/jails/containers/web", "canmount=noauto",
///     "thinjail:role=container"]);
/// assert!(Props::new().user("noColon", "x").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Props(Vec<(String, PropValue)>);

/// A property name or value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid property {name:?}: {reason}")]
pub struct PropError {
    /// The property name.
    pub name: String,
    /// Why.
    pub reason: &'static str,
}

impl Props {
    /// No properties.
    pub fn new() -> Self {
        Self::default()
    }

    fn set(mut self, name: &str, v: PropValue) -> Self {
        self.0.retain(|(n, _)| n != name);
        self.0.push((name.to_string(), v));
        self
    }

    /// `mountpoint` (a string property; also `none` or `legacy`).
    pub fn mountpoint(self, path: impl AsRef<str>) -> Self {
        self.set("mountpoint", PropValue::String(path.as_ref().to_string()))
    }

    /// `canmount` (a uint64 index property).
    pub fn canmount(self, c: CanMount) -> Self {
        self.set("canmount", PropValue::U64(c.index()))
    }

    /// A user property (`module:name`, a string). The name must contain `:` and be at most 255
    /// bytes; the value at most 8191 bytes (`ZFS_MAXPROPLEN` 8192 with NUL).
    pub fn user(self, name: &str, value: impl AsRef<str>) -> Result<Self, PropError> {
        let value = value.as_ref();
        let bad = |reason| PropError {
            name: name.to_string(),
            reason,
        };
        if !name.contains(':') {
            return Err(bad("a user property name contains ':'"));
        }
        if name.len() > 255 {
            return Err(bad("a user property name is at most 255 bytes"));
        }
        if !name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ':' | '_' | '-' | '.')
        }) {
            return Err(bad("a user property name has only [a-z0-9:_.-]"));
        }
        if value.len() >= 8192 || value.contains('\0') {
            return Err(bad(
                "a user property value is at most 8191 bytes, without NUL",
            ));
        }
        Ok(self.set(name, PropValue::String(value.to_string())))
    }

    /// Any native string property (e.g. `compression=lz4` is an index: use [`Props::number`]).
    pub fn string(self, name: &str, value: impl AsRef<str>) -> Self {
        self.set(name, PropValue::String(value.as_ref().to_string()))
    }

    /// Any native number/index property, by its kernel value.
    pub fn number(self, name: &str, value: u64) -> Self {
        self.set(name, PropValue::U64(value))
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&PropValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// `(name, value)` pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PropValue)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// True if no property is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `name=value` arguments for `zfs create -o` (index values by their zfs(8) names).
    pub fn cli_args(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(n, v)| match v {
                PropValue::String(s) => format!("{n}={s}"),
                PropValue::U64(x) => {
                    let named = INDEX_NAMES
                        .iter()
                        .find(|(p, _)| p == n)
                        .and_then(|(_, vals)| vals.iter().find(|(_, i)| i == x))
                        .map(|(s, _)| s.to_string());
                    format!("{n}={}", named.unwrap_or_else(|| x.to_string()))
                }
            })
            .collect()
    }

    /// Checks names and values for NUL bytes and `=` (which zfs(8) would misparse).
    pub fn validate(&self) -> Result<(), PropError> {
        for (n, v) in &self.0 {
            let bad = |reason| PropError {
                name: n.clone(),
                reason,
            };
            if n.is_empty() || n.contains(['\0', '=']) {
                return Err(bad("a property name is non-empty, without NUL or '='"));
            }
            if let PropValue::String(s) = v
                && s.contains('\0')
            {
                return Err(bad("a property value has no NUL"));
            }
        }
        Ok(())
    }
}

/// A property as read back: its value (parsable form) and source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The property name.
    pub name: String,
    /// The value as zfs(8) `-p` prints it (numbers in bytes/seconds, indexes by name).
    pub value: String,
    /// Where the value comes from: `local`, `default`, `inherited from <ds>`, `-` …
    pub source: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_args() {
        let p = Props::new()
            .canmount(CanMount::Off)
            .canmount(CanMount::On)
            .number("quota", 1 << 30)
            .string("mountpoint", "none");
        assert_eq!(p.get("canmount"), Some(&PropValue::U64(1)));
        assert_eq!(
            p.cli_args(),
            ["canmount=on", "quota=1073741824", "mountpoint=none"]
        );
        assert!(p.validate().is_ok());
        assert!(Props::new().string("a=b", "x").validate().is_err());
        assert!(Props::new().user("a:B", "x").is_err());
        assert!(Props::new().user("a:b", "x".repeat(8192)).is_err());
    }
}
