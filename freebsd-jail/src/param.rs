//! Parameter values and types, and the type descriptions the kernel publishes under
//! `security.jail.param.*` (parsed the way libjail's `jailparam_type()` does).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};
use crate::flags::JailSys;

/// `CTLTYPE` (`<sys/sysctl.h>`): mask of the type bits of a sysctl kind.
pub const CTLTYPE: u32 = 0xf;
/// `CTLTYPE_NODE`.
pub const CTLTYPE_NODE: u32 = 1;
/// `CTLTYPE_INT`.
pub const CTLTYPE_INT: u32 = 2;
/// `CTLTYPE_STRING`.
pub const CTLTYPE_STRING: u32 = 3;
/// `CTLTYPE_S64` (libjail's `CTLTYPE_QUAD`).
pub const CTLTYPE_S64: u32 = 4;
/// `CTLTYPE_OPAQUE` = `CTLTYPE_STRUCT`.
pub const CTLTYPE_STRUCT: u32 = 5;
/// `CTLTYPE_UINT`.
pub const CTLTYPE_UINT: u32 = 6;
/// `CTLTYPE_LONG`.
pub const CTLTYPE_LONG: u32 = 7;
/// `CTLTYPE_ULONG`.
pub const CTLTYPE_ULONG: u32 = 8;
/// `CTLTYPE_U64`.
pub const CTLTYPE_U64: u32 = 9;

/// The value of one jail parameter, in the form the kernel reads and writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A C `int`: exactly 4 native-endian bytes.
    Int(i32),
    /// A C `unsigned int`: 4 bytes.
    UInt(u32),
    /// A C `long` (8 bytes on amd64).
    Long(i64),
    /// A C `unsigned long` (8 bytes on amd64).
    ULong(u64),
    /// A 64-bit integer (`CTLTYPE_S64`).
    Int64(i64),
    /// An unsigned 64-bit integer (`CTLTYPE_U64`).
    UInt64(u64),
    /// A boolean: sent by presence of `name` (true) or `no`-prefixed name (false), no value.
    Bool(bool),
    /// A jailsys value (`host`, `vnet`, `ip4`, `ip6`): a 4-byte `int` 0/1/2.
    JailSys(JailSys),
    /// A string, sent with its terminating NUL.
    Str(String),
    /// An array of IPv4 addresses, 4 bytes each in network byte order.
    Ip4(Vec<Ipv4Addr>),
    /// An array of IPv6 addresses, 16 bytes each.
    Ip6(Vec<Ipv6Addr>),
    /// Raw bytes (opaque structures), sent as they are.
    Raw(Vec<u8>),
}

impl Value {
    /// The value bytes the kernel reads, or `None` for a boolean (sent without a value).
    ///
    /// ```
    /// use freebsd_jail::Value;
    /// assert_eq!(Value::Int(1).to_bytes(), Some(1i32.to_ne_bytes().to_vec()));
    /// assert_eq!(Value::Str("j1".into()).to_bytes(), Some(b"j1\0".to_vec()));
    /// assert_eq!(Value::Bool(true).to_bytes(), None);
    /// ```
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        Some(match self {
            Value::Int(v) => v.to_ne_bytes().to_vec(),
            Value::UInt(v) => v.to_ne_bytes().to_vec(),
            Value::Long(v) | Value::Int64(v) => v.to_ne_bytes().to_vec(),
            Value::ULong(v) | Value::UInt64(v) => v.to_ne_bytes().to_vec(),
            Value::Bool(_) => return None,
            Value::JailSys(s) => (*s as i32).to_ne_bytes().to_vec(),
            Value::Str(s) => {
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                b
            }
            Value::Ip4(a) => a.iter().flat_map(|x| x.octets()).collect(),
            Value::Ip6(a) => a.iter().flat_map(|x| x.octets()).collect(),
            Value::Raw(b) => b.clone(),
        })
    }

    /// The text form `jls(8)`/`jail.conf(5)` use (libjail's `jailparam_export()`): booleans
    /// `true`/`false`, jailsys `disable`/`new`/`inherit`, arrays comma-separated, raw bytes as
    /// hex. [`ParamType::parse_value`] reads it back.
    ///
    /// ```
    /// use freebsd_jail::{JailSys, Value};
    /// assert_eq!(Value::JailSys(JailSys::New).to_text(), "new");
    /// assert_eq!(Value::Ip4(vec!["10.0.0.2".parse().unwrap(), "10.0.0.3".parse().unwrap()]).to_text(),
    ///            "10.0.0.2,10.0.0.3");
    /// ```
    pub fn to_text(&self) -> String {
        fn join<T: std::fmt::Display>(v: &[T]) -> String {
            v.iter().map(T::to_string).collect::<Vec<_>>().join(",")
        }
        match self {
            Value::Int(v) => v.to_string(),
            Value::UInt(v) => v.to_string(),
            Value::Long(v) | Value::Int64(v) => v.to_string(),
            Value::ULong(v) | Value::UInt64(v) => v.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::JailSys(JailSys::Disable) => "disable".into(),
            Value::JailSys(JailSys::New) => "new".into(),
            Value::JailSys(JailSys::Inherit) => "inherit".into(),
            Value::Str(s) => s.clone(),
            Value::Ip4(a) => join(a),
            Value::Ip6(a) => join(a),
            Value::Raw(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
        }
    }

    /// Checks the value can be encoded: strings without NUL bytes.
    pub(crate) fn check(&self, name: &str) -> Result<()> {
        if let Value::Str(s) = self
            && s.contains('\0')
        {
            return Err(Error::invalid(name, "string contains a NUL byte"));
        }
        Ok(())
    }
}

/// The base type of a jail parameter, as the kernel describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `CTLTYPE_INT`, format `I`.
    Int,
    /// `CTLTYPE_UINT`.
    UInt,
    /// `CTLTYPE_LONG`.
    Long,
    /// `CTLTYPE_ULONG`.
    ULong,
    /// `CTLTYPE_S64`.
    Int64,
    /// `CTLTYPE_U64`.
    UInt64,
    /// `CTLTYPE_INT` with format `B`: a boolean.
    Bool,
    /// A boolean's `no` counterpart (`nopersist`), reported as a boolean of inverted sense.
    NoBool,
    /// `CTLTYPE_INT` with format `E,jailsys`.
    JailSys,
    /// `CTLTYPE_STRING`: a string of at most `max_len` bytes including the NUL.
    Str {
        /// Buffer size the kernel advertises (the sysctl's value); 0 if not known yet.
        max_len: usize,
    },
    /// `CTLTYPE_STRUCT` with format `S,in_addr`.
    InAddr,
    /// `CTLTYPE_STRUCT` with format `S,in6_addr`.
    In6Addr,
    /// Any other `CTLTYPE_STRUCT`: opaque bytes of the given size.
    Opaque {
        /// The structure's size (the sysctl's length); 0 if not known yet.
        len: usize,
    },
}

/// A parameter's type: its base kind and whether it is an array (format suffix `,a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamType {
    /// The element type.
    pub kind: Kind,
    /// Whether the value is an array of `kind` elements.
    pub array: bool,
}

/// What [`ParamType::from_sysctl_format`] needs next: the type, or a note that the sysctl is a
/// node whose description is an empty-named child (e.g. `allow.mount`, which is both a node and
/// a boolean), as libjail handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Described {
    /// The parameter's type. For [`Kind::Str`] and [`Kind::Opaque`] the size is still 0: read
    /// it from the sysctl's value (strings) or length (structures).
    Type(ParamType),
    /// A `CTLTYPE_NODE`: look up its empty-named child and describe that.
    Node,
}

impl ParamType {
    /// A scalar (non-array) type.
    pub const fn scalar(kind: Kind) -> ParamType {
        ParamType { kind, array: false }
    }

    /// Parses the `(kind, format)` pair that `sysctl({CTL_SYSCTL, CTL_SYSCTL_OIDFMT, ...})`
    /// returns for `security.jail.param.<name>`, exactly as libjail's `jailparam_type()` does:
    /// a trailing `,a` marks an array; `CTLTYPE_INT` with format `B…` is a boolean, `E,jailsys`
    /// a jailsys value; `CTLTYPE_STRUCT` `S,in_addr`/`S,in6_addr` are addresses.
    ///
    /// ```
    /// use freebsd_jail::{Described, Kind, ParamType, CTLTYPE_INT, CTLTYPE_STRUCT};
    /// let d = ParamType::from_sysctl_format(CTLTYPE_STRUCT, "S,in_addr,a").unwrap();
    /// assert_eq!(d, Described::Type(ParamType { kind: Kind::InAddr, array: true }));
    /// let d = ParamType::from_sysctl_format(CTLTYPE_INT, "E,jailsys").unwrap();
    /// assert_eq!(d, Described::Type(ParamType::scalar(Kind::JailSys)));
    /// ```
    pub fn from_sysctl_format(kind: u32, format: &str) -> Result<Described> {
        let (fmt, array) = match format.strip_suffix(",a") {
            Some(f) => (f, true),
            None => (format, false),
        };
        let k = match kind & CTLTYPE {
            CTLTYPE_INT if fmt.starts_with('B') => Kind::Bool,
            CTLTYPE_INT if fmt == "E,jailsys" => Kind::JailSys,
            CTLTYPE_INT => Kind::Int,
            CTLTYPE_UINT => Kind::UInt,
            CTLTYPE_LONG => Kind::Long,
            CTLTYPE_ULONG => Kind::ULong,
            CTLTYPE_S64 => Kind::Int64,
            CTLTYPE_U64 => Kind::UInt64,
            CTLTYPE_STRING => Kind::Str { max_len: 0 },
            CTLTYPE_STRUCT if fmt == "S,in_addr" => Kind::InAddr,
            CTLTYPE_STRUCT if fmt == "S,in6_addr" => Kind::In6Addr,
            CTLTYPE_STRUCT => Kind::Opaque { len: 0 },
            CTLTYPE_NODE => return Ok(Described::Node),
            other => {
                return Err(Error::invalid(
                    "param type",
                    format!("unknown sysctl type {other} (format {format:?})"),
                ));
            }
        };
        Ok(Described::Type(ParamType { kind: k, array }))
    }

    /// Size of one element in bytes (for strings: the buffer size).
    pub fn elem_len(&self) -> usize {
        match self.kind {
            Kind::Int | Kind::UInt | Kind::Bool | Kind::NoBool | Kind::JailSys => 4,
            Kind::Long | Kind::ULong | Kind::Int64 | Kind::UInt64 => 8,
            Kind::Str { max_len } => max_len,
            Kind::InAddr => 4,
            Kind::In6Addr => 16,
            Kind::Opaque { len } => len,
        }
    }

    /// Converts a textual value to a [`Value`] of this type, as `jail(8)` accepts it
    /// (libjail's `jailparam_import()`): booleans `true`/`false` or a number, jailsys
    /// `disable`/`new`/`inherit` or a number, arrays comma-separated.
    ///
    /// ```
    /// use freebsd_jail::{Kind, ParamType, Value};
    /// let t = ParamType { kind: Kind::InAddr, array: true };
    /// assert_eq!(
    ///     t.parse_value("ip4.addr", "10.0.0.2,10.0.0.3").unwrap(),
    ///     Value::Ip4(vec!["10.0.0.2".parse().unwrap(), "10.0.0.3".parse().unwrap()])
    /// );
    /// ```
    pub fn parse_value(&self, name: &str, text: &str) -> Result<Value> {
        let bad = |why: String| Error::invalid(name, format!("{text:?}: {why}"));
        fn num<T: std::str::FromStr>(s: &str) -> std::result::Result<T, String>
        where
            T::Err: std::fmt::Display,
        {
            s.trim().parse::<T>().map_err(|e| e.to_string())
        }
        let elems: Vec<&str> = if self.array {
            if text.is_empty() {
                Vec::new()
            } else {
                text.split(',').collect()
            }
        } else {
            vec![text]
        };
        let scalar = |s: &str| -> std::result::Result<Value, String> {
            Ok(match self.kind {
                Kind::Int => Value::Int(num(s)?),
                Kind::UInt => Value::UInt(num(s)?),
                Kind::Long => Value::Long(num(s)?),
                Kind::ULong => Value::ULong(num(s)?),
                Kind::Int64 => Value::Int64(num(s)?),
                Kind::UInt64 => Value::UInt64(num(s)?),
                Kind::Bool | Kind::NoBool => {
                    let b = match s.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        n => num::<i32>(n)? != 0,
                    };
                    Value::Bool(if self.kind == Kind::NoBool { !b } else { b })
                }
                Kind::JailSys => Value::JailSys(match s.to_ascii_lowercase().as_str() {
                    "disable" => JailSys::Disable,
                    "new" => JailSys::New,
                    "inherit" => JailSys::Inherit,
                    n => JailSys::from_raw(num(n)?).ok_or("not 0, 1 or 2")?,
                }),
                Kind::Str { max_len } => {
                    if s.contains('\0') {
                        return Err("contains a NUL byte".into());
                    }
                    if max_len > 0 && s.len() >= max_len {
                        return Err(format!("longer than {} bytes", max_len - 1));
                    }
                    Value::Str(s.to_string())
                }
                Kind::InAddr => Value::Ip4(vec![num(s)?]),
                Kind::In6Addr => Value::Ip6(vec![num(s)?]),
                Kind::Opaque { .. } => return Err("opaque parameters have no text form".into()),
            })
        };
        if !self.array {
            return scalar(text).map_err(bad);
        }
        match self.kind {
            Kind::InAddr => elems
                .iter()
                .map(|s| num::<Ipv4Addr>(s))
                .collect::<std::result::Result<_, _>>()
                .map(Value::Ip4)
                .map_err(bad),
            Kind::In6Addr => elems
                .iter()
                .map(|s| num::<Ipv6Addr>(s))
                .collect::<std::result::Result<_, _>>()
                .map(Value::Ip6)
                .map_err(bad),
            _ => Err(bad("arrays of this type are not supported".into())),
        }
    }

    /// Decodes the bytes `jail_get(2)` wrote for a parameter of this type (`bytes` = the value
    /// buffer cut to the `iov_len` the kernel reported).
    ///
    /// ```
    /// use freebsd_jail::{Kind, ParamType, Value};
    /// let t = ParamType::scalar(Kind::Str { max_len: 256 });
    /// assert_eq!(t.decode("name", b"j1\0\0\0").unwrap(), Value::Str("j1".into()));
    /// ```
    pub fn decode(&self, name: &str, bytes: &[u8]) -> Result<Value> {
        let bad = |why: &str| {
            Error::invalid(
                name,
                format!("kernel returned {} bytes: {why}", bytes.len()),
            )
        };
        let exact = |n: usize| -> Result<&[u8]> {
            if bytes.len() == n {
                Ok(bytes)
            } else {
                Err(bad(&format!("expected {n}")))
            }
        };
        let i32_of = |b: &[u8]| i32::from_ne_bytes(b.try_into().unwrap_or([0; 4]));
        let u64_of = |b: &[u8]| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]));
        Ok(match (self.kind, self.array) {
            (Kind::InAddr, _) => {
                if !bytes.len().is_multiple_of(4) {
                    return Err(bad("not a multiple of 4"));
                }
                Value::Ip4(
                    bytes
                        .chunks_exact(4)
                        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                        .collect(),
                )
            }
            (Kind::In6Addr, _) => {
                if !bytes.len().is_multiple_of(16) {
                    return Err(bad("not a multiple of 16"));
                }
                Value::Ip6(
                    bytes
                        .chunks_exact(16)
                        .map(|c| Ipv6Addr::from(<[u8; 16]>::try_from(c).unwrap_or([0; 16])))
                        .collect(),
                )
            }
            (_, true) | (Kind::Opaque { .. }, _) => Value::Raw(bytes.to_vec()),
            (Kind::Int, _) => Value::Int(i32_of(exact(4)?)),
            (Kind::UInt, _) => Value::UInt(i32_of(exact(4)?) as u32),
            (Kind::Bool, _) => Value::Bool(i32_of(exact(4)?) != 0),
            (Kind::NoBool, _) => Value::Bool(i32_of(exact(4)?) == 0),
            (Kind::JailSys, _) => {
                let v = i32_of(exact(4)?);
                Value::JailSys(JailSys::from_raw(v).ok_or_else(|| bad("jailsys not 0..=2"))?)
            }
            (Kind::Long, _) => Value::Long(u64_of(exact(8)?) as i64),
            (Kind::ULong, _) => Value::ULong(u64_of(exact(8)?)),
            (Kind::Int64, _) => Value::Int64(u64_of(exact(8)?) as i64),
            (Kind::UInt64, _) => Value::UInt64(u64_of(exact(8)?)),
            (Kind::Str { .. }, _) => {
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                let s = std::str::from_utf8(&bytes[..end]).map_err(|_| bad("not UTF-8"))?;
                Value::Str(s.to_string())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(kind: u32, fmt: &str) -> ParamType {
        match ParamType::from_sysctl_format(kind, fmt).unwrap() {
            Described::Type(t) => t,
            Described::Node => panic!("node"),
        }
    }

    #[test]
    fn sysctl_formats_like_libjail() {
        assert_eq!(ty(CTLTYPE_INT, "I"), ParamType::scalar(Kind::Int));
        assert_eq!(
            ty(CTLTYPE_INT | 0x8000_0000, "B"),
            ParamType::scalar(Kind::Bool)
        );
        assert_eq!(
            ty(CTLTYPE_INT, "E,jailsys"),
            ParamType::scalar(Kind::JailSys)
        );
        assert_eq!(ty(CTLTYPE_UINT, "IU"), ParamType::scalar(Kind::UInt));
        assert_eq!(ty(CTLTYPE_LONG, "L"), ParamType::scalar(Kind::Long));
        assert_eq!(ty(CTLTYPE_ULONG, "LU"), ParamType::scalar(Kind::ULong));
        assert_eq!(ty(CTLTYPE_S64, "Q"), ParamType::scalar(Kind::Int64));
        assert_eq!(ty(CTLTYPE_U64, "QU"), ParamType::scalar(Kind::UInt64));
        assert_eq!(
            ty(CTLTYPE_STRING, "A"),
            ParamType::scalar(Kind::Str { max_len: 0 })
        );
        assert_eq!(
            ty(CTLTYPE_STRUCT, "S,in6_addr,a"),
            ParamType {
                kind: Kind::In6Addr,
                array: true
            }
        );
        assert_eq!(
            ty(CTLTYPE_STRUCT, "S,uuid"),
            ParamType::scalar(Kind::Opaque { len: 0 })
        );
        assert_eq!(
            ParamType::from_sysctl_format(CTLTYPE_NODE, "N").unwrap(),
            Described::Node
        );
        assert!(ParamType::from_sysctl_format(0xa, "CU").is_err());
    }

    #[test]
    fn text_import() {
        let b = ParamType::scalar(Kind::Bool);
        assert_eq!(b.parse_value("persist", "true").unwrap(), Value::Bool(true));
        assert_eq!(b.parse_value("persist", "0").unwrap(), Value::Bool(false));
        let nb = ParamType::scalar(Kind::NoBool);
        assert_eq!(
            nb.parse_value("nopersist", "true").unwrap(),
            Value::Bool(false)
        );
        assert!(b.parse_value("persist", "maybe").is_err());
        let s = ParamType::scalar(Kind::JailSys);
        assert_eq!(
            s.parse_value("vnet", "new").unwrap(),
            Value::JailSys(JailSys::New)
        );
        assert_eq!(
            s.parse_value("vnet", "2").unwrap(),
            Value::JailSys(JailSys::Inherit)
        );
        assert!(s.parse_value("vnet", "3").is_err());
        let st = ParamType::scalar(Kind::Str { max_len: 4 });
        assert_eq!(
            st.parse_value("x", "abc").unwrap(),
            Value::Str("abc".into())
        );
        assert!(st.parse_value("x", "abcd").is_err());
        let i = ParamType::scalar(Kind::Int);
        assert_eq!(i.parse_value("securelevel", "-1").unwrap(), Value::Int(-1));
        assert!(i.parse_value("securelevel", "x").is_err());
        let a6 = ParamType {
            kind: Kind::In6Addr,
            array: true,
        };
        assert_eq!(a6.parse_value("ip6.addr", "").unwrap(), Value::Ip6(vec![]));
        assert!(a6.parse_value("ip6.addr", "10.0.0.1").is_err());
    }

    #[test]
    fn decode_checks_lengths() {
        let i = ParamType::scalar(Kind::Int);
        assert_eq!(i.decode("jid", &7i32.to_ne_bytes()).unwrap(), Value::Int(7));
        assert!(i.decode("jid", &[0; 3]).is_err());
        let nb = ParamType::scalar(Kind::NoBool);
        assert_eq!(
            nb.decode("nopersist", &1i32.to_ne_bytes()).unwrap(),
            Value::Bool(false)
        );
        let a4 = ParamType {
            kind: Kind::InAddr,
            array: true,
        };
        assert_eq!(a4.decode("ip4.addr", &[]).unwrap(), Value::Ip4(vec![]));
        assert!(a4.decode("ip4.addr", &[1, 2, 3]).is_err());
        let s = ParamType::scalar(Kind::Str { max_len: 8 });
        assert!(s.decode("name", &[0xff, 0]).is_err());
        assert_eq!(s.decode("name", b"").unwrap(), Value::Str(String::new()));
    }
}
