//! Codec tests: the byte-exact create example of FREEBSD-FACTS §1.2 and property round trips.

use std::net::{Ipv4Addr, Ipv6Addr};

use freebsd_jail::{
    Allow, GetRequest, IoVecList, IpMode, JAIL_ERRMSGLEN, JailInfo, JailKey, JailParams, JailSys,
    Kind, ParamType, Value, Vnet, info_params, no_name,
};
use proptest::prelude::*;

fn int(v: i32) -> Option<Vec<u8>> {
    Some(v.to_ne_bytes().to_vec())
}

fn s(v: &str) -> Option<Vec<u8>> {
    let mut b = v.as_bytes().to_vec();
    b.push(0);
    Some(b)
}

/// FREEBSD-FACTS §1.2: one `jail_set(iov, 20, JAIL_CREATE)` call, 10 pairs.
#[test]
fn facts_create_example_is_byte_exact() {
    let params = JailParams::builder()
        .name("j253")
        .path_unverified("/jails/j253")
        .hostname("j253.example")
        .vnet(Vnet::New)
        .persist(true)
        .allow(Allow::RAW_SOCKETS)
        .enforce_statfs(2)
        .devfs_ruleset(5)
        .children_max(0)
        .build()
        .unwrap();
    let mut list = params.to_create_iovecs(false).unwrap();
    let expected: Vec<(&[u8], Option<Vec<u8>>)> = vec![
        (b"name\0", s("j253")),
        (b"path\0", s("/jails/j253")),
        (b"host.hostname\0", s("j253.example")),
        (b"vnet\0", int(1)),
        (b"persist\0", None),
        (b"allow.raw_sockets\0", None),
        (b"enforce_statfs\0", int(2)),
        (b"devfs_ruleset\0", int(5)),
        (b"children.max\0", int(0)),
        (b"errmsg\0", Some(vec![0u8; 1024])),
    ];
    let wire = list.wire_pairs();
    assert_eq!(wire.len(), 10);
    for ((name, value), (en, ev)) in wire.iter().zip(&expected) {
        assert_eq!(name.as_slice(), *en);
        assert_eq!(value, ev, "{}", String::from_utf8_lossy(name));
    }
    // The iovecs themselves: 20 entries, booleans as (NULL, 0), ints exactly 4 bytes.
    list.with_iovecs(|iov| {
        assert_eq!(iov.len(), 20);
        assert_eq!(iov[0].iov_len, 5); // "name" + NUL
        assert!(iov[9].iov_base.is_null() && iov[9].iov_len == 0); // persist
        assert!(iov[11].iov_base.is_null() && iov[11].iov_len == 0); // allow.raw_sockets
        assert_eq!(iov[7].iov_len, 4); // vnet
        assert_eq!(iov[19].iov_len, JAIL_ERRMSGLEN);
    });
}

#[test]
fn booleans_false_use_the_no_prefix_and_no_value() {
    let p = JailParams::builder()
        .persist(false)
        .deny(Allow::MOUNT_ZFS | Allow::RAW_SOCKETS)
        .build()
        .unwrap();
    let wire = p.to_iovecs().unwrap().wire_pairs();
    let names: Vec<&[u8]> = wire.iter().map(|(n, _)| n.as_slice()).collect();
    assert_eq!(
        names,
        vec![
            &b"nopersist\0"[..],
            b"allow.noraw_sockets\0",
            b"allow.mount.nozfs\0",
            b"errmsg\0"
        ]
    );
    assert!(wire[..3].iter().all(|(_, v)| v.is_none()));
}

#[test]
fn addresses_are_network_order() {
    let p = JailParams::builder()
        .ip4_addrs(["10.0.0.2".parse().unwrap(), "192.0.2.1".parse().unwrap()])
        .ip6_addrs(["2001:db8::1".parse().unwrap()])
        .build()
        .unwrap();
    let wire = p.to_iovecs().unwrap().wire_pairs();
    assert_eq!(wire[0].1.as_deref(), Some(&[10, 0, 0, 2, 192, 0, 2, 1][..]));
    let mut v6 = vec![0x20, 0x01, 0x0d, 0xb8];
    v6.extend([0; 11]);
    v6.push(1);
    assert_eq!(wire[1].1.as_deref(), Some(&v6[..]));
}

fn type_of(v: &Value) -> ParamType {
    let k = match v {
        Value::Int(_) => Kind::Int,
        Value::UInt(_) => Kind::UInt,
        Value::Long(_) => Kind::Long,
        Value::ULong(_) => Kind::ULong,
        Value::Int64(_) => Kind::Int64,
        Value::UInt64(_) => Kind::UInt64,
        Value::Bool(_) => Kind::Bool,
        Value::JailSys(_) => Kind::JailSys,
        Value::Str(_) => Kind::Str { max_len: 1024 },
        Value::Ip4(_) => Kind::InAddr,
        Value::Ip6(_) => Kind::In6Addr,
        Value::Raw(b) => Kind::Opaque { len: b.len() },
    };
    ParamType {
        kind: k,
        array: matches!(v, Value::Ip4(_) | Value::Ip6(_)),
    }
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::Int),
        any::<u32>().prop_map(Value::UInt),
        any::<i64>().prop_map(Value::Long),
        any::<u64>().prop_map(Value::ULong),
        any::<i64>().prop_map(Value::Int64),
        any::<u64>().prop_map(Value::UInt64),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![
            Just(JailSys::Disable),
            Just(JailSys::New),
            Just(JailSys::Inherit)
        ]
        .prop_map(Value::JailSys),
        "[^\u{0}]{0,40}".prop_map(Value::Str),
        prop::collection::vec(any::<u32>().prop_map(Ipv4Addr::from), 0..8).prop_map(Value::Ip4),
        prop::collection::vec(any::<u128>().prop_map(Ipv6Addr::from), 0..4).prop_map(Value::Ip6),
        prop::collection::vec(any::<u8>(), 1..32).prop_map(Value::Raw),
    ]
}

proptest! {
    /// Every value survives encode → iovec bytes → decode with its type.
    #[test]
    fn values_round_trip(vals in prop::collection::vec(value(), 1..12)) {
        let mut list = IoVecList::new();
        for (i, v) in vals.iter().enumerate() {
            list.push(&format!("p.x{i}"), v).unwrap();
        }
        list.push_errmsg();
        let wire = list.wire_pairs();
        prop_assert_eq!(wire.len(), vals.len() + 1);
        for (i, (v, (name, bytes))) in vals.iter().zip(&wire).enumerate() {
            let plain = format!("p.x{i}");
            match v {
                Value::Bool(b) => {
                    let expect = if *b { plain.clone() } else { no_name(&plain) };
                    prop_assert_eq!(&name[..name.len() - 1], expect.as_bytes());
                    prop_assert!(bytes.is_none());
                }
                _ => {
                    prop_assert_eq!(&name[..name.len() - 1], plain.as_bytes());
                    prop_assert_eq!(*name.last().unwrap(), 0);
                    let b = bytes.as_deref().unwrap();
                    let back = type_of(v).decode(&plain, b).unwrap();
                    prop_assert_eq!(&back, v);
                    if matches!(v, Value::Int(_) | Value::UInt(_) | Value::JailSys(_)) {
                        prop_assert_eq!(b.len(), 4);
                    }
                    if let Value::Str(st) = v {
                        prop_assert_eq!(b.len(), st.len() + 1);
                    }
                }
            }
        }
    }

    /// The text form reads back to the same value (jail.conf / jls round trip).
    #[test]
    fn text_round_trips(v in value()) {
        prop_assume!(!matches!(v, Value::Raw(_)));
        let t = type_of(&v);
        let back = t.parse_value("p", &v.to_text()).unwrap();
        prop_assert_eq!(back, v);
    }

    /// Whatever JailName accepts fits the kernel's buffer and keeps its numeric rule.
    #[test]
    fn accepted_names_fit_the_kernel(name in "[a-z0-9.]{0,300}") {
        if let Ok(n) = freebsd_jail::JailName::new(name.clone()) {
            prop_assert!(!name.is_empty() && name.len() <= 255);
            prop_assert!(!name.split('.').any(str::is_empty));
            if let Some(j) = n.implied_jid() {
                prop_assert!(j > 0);
                prop_assert_eq!(j.to_string(), name.rsplit('.').next().unwrap());
            }
        }
    }

    /// Builder output decodes back to the same parameters.
    #[test]
    fn builder_round_trips(
        name in "[a-z][a-z0-9]{0,20}",
        host in "[a-z][a-z0-9-]{0,20}[a-z0-9]",
        vnet in any::<bool>(),
        addrs in prop::collection::btree_set(1u32..0xffff_fffe, 0..5),
        allow_bits in any::<u32>(),
        enforce in 0i32..=2,
        ruleset in 0i32..=65535,
        persist in any::<bool>(),
    ) {
        let allow = Allow::from_bits_truncate(allow_bits);
        let mut b = JailParams::builder()
            .name(name.clone())
            .path_unverified("/jails/x")
            .hostname(host.clone())
            .persist(persist)
            .allow(allow)
            .enforce_statfs(enforce)
            .devfs_ruleset(ruleset);
        if vnet {
            b = b.vnet(Vnet::New);
        } else {
            b = b.ip4(IpMode::Addrs(addrs.iter().map(|a| Ipv4Addr::from(*a)).collect()));
        }
        let p = b.build().unwrap();
        let wire = p.to_iovecs().unwrap().wire_pairs();
        prop_assert_eq!(wire.len(), p.params().len() + 1);
        for ((n, v), (wn, wv)) in p.params().iter().zip(&wire) {
            match v {
                Value::Bool(on) => {
                    let sent = if *on { n.clone() } else { no_name(n) };
                    prop_assert_eq!(&wn[..wn.len() - 1], sent.as_bytes());
                }
                _ => {
                    prop_assert_eq!(&wn[..wn.len() - 1], n.as_bytes());
                    let back = type_of(v).decode(n, wv.as_deref().unwrap()).unwrap();
                    prop_assert_eq!(&back, v);
                }
            }
        }
        prop_assert_eq!(p.get("name"), Some(&Value::Str(name)));
        prop_assert_eq!(p.get("vnet").is_some(), vnet);
    }

    /// What a kernel writes into a GetRequest decodes into the same JailInfo.
    #[test]
    fn jail_get_results_round_trip(
        jid in 1i32..999_999,
        name in "[a-z0-9]{1,30}",
        path in "/[a-z/]{0,60}",
        dying in any::<bool>(),
        ruleset in 0i32..65536,
        ip4 in prop::collection::vec(any::<u32>(), 0..10),
    ) {
        let want = JailInfo {
            jid,
            name: name.clone(),
            path: path.clone(),
            vnet: Some(if ip4.is_empty() { JailSys::New } else { JailSys::Inherit }),
            dying,
            persist: !dying,
            devfs_ruleset: ruleset,
            ip4_addrs: ip4.iter().map(|a| Ipv4Addr::from(*a)).collect(),
            ..JailInfo::default()
        };
        let mut req = GetRequest::info(JailKey::LastJid(jid - 1)).unwrap();
        let writes: Vec<(&str, Vec<u8>)> = vec![
            ("jid", jid.to_ne_bytes().to_vec()),
            ("name", s(&name).unwrap()),
            ("path", s(&path).unwrap()),
            ("host.hostname", vec![0]),
            ("host.domainname", vec![0]),
            ("osrelease", vec![0]),
            ("vnet", (want.vnet.unwrap() as i32).to_ne_bytes().to_vec()),
            ("dying", i32::from(dying).to_ne_bytes().to_vec()),
            ("persist", i32::from(!dying).to_ne_bytes().to_vec()),
            ("devfs_ruleset", ruleset.to_ne_bytes().to_vec()),
            ("ip4.addr", want.ip4_addrs.iter().flat_map(|a| a.octets()).collect()),
            ("ip6.addr", Vec::new()),
        ];
        req.iovecs().with_iovecs(|iov| {
            for (n, data) in &writes {
                let mut done = false;
                for p in iov.chunks_exact_mut(2) {
                    // SAFETY: name iovecs point at live NUL-terminated names owned by the request.
                    let pn = unsafe {
                        std::slice::from_raw_parts(p[0].iov_base as *const u8, p[0].iov_len)
                    };
                    if &pn[..pn.len() - 1] == n.as_bytes() {
                        assert!(p[1].iov_len >= data.len(), "{n} buffer too small");
                        // SAFETY: the value buffer holds at least data.len() bytes (checked).
                        unsafe {
                            std::ptr::copy_nonoverlapping(
                                data.as_ptr(),
                                p[1].iov_base as *mut u8,
                                data.len(),
                            )
                        };
                        p[1].iov_len = data.len();
                        done = true;
                    }
                }
                assert!(done, "{n} not requested");
            }
        });
        let got = JailInfo::from_values(&req.decode().unwrap());
        prop_assert_eq!(got, want);
    }
}

#[test]
fn info_params_have_buffers_of_the_kernel_sizes() {
    let mut req = GetRequest::info(JailKey::Jid(1)).unwrap();
    let wire = req.iovecs().wire_pairs();
    let len = |n: &str| {
        let key = format!("{n}\0");
        wire.iter()
            .find(|(w, _)| w == key.as_bytes())
            .map(|(_, v)| v.as_ref().map_or(0, Vec::len))
            .unwrap()
    };
    assert_eq!(len("jid"), 4);
    assert_eq!(len("name"), 256);
    assert_eq!(len("path"), 1024);
    assert_eq!(len("osrelease"), 32);
    assert_eq!(len("ip4.addr"), 255 * 4);
    assert_eq!(len("ip6.addr"), 255 * 16);
    assert_eq!(len("errmsg"), 1024);
    assert_eq!(wire.len(), info_params().len() + 1);
    assert!(req.iovecs().wire_size() < freebsd_jail::MAX_ARGS_SIZE);
}
