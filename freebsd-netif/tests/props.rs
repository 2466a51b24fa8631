//! Property tests of the portable half: names, derived epair names, the in-jail list codec.

use freebsd_netif::jailops::{ATTACH_INDEX, JailOp, JailOps, OpResult, RawOps};
use freebsd_netif::{IfName, JailPairNames};
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn valid_name() -> impl Strategy<Value = String> {
    "[!-.0-~]{1,15}" // printable ASCII without space and '/'
}

proptest! {
    #[test]
    fn ifname_accepts_exactly_the_rule(s in "\\PC{0,20}") {
        let b = s.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 15
            && b.iter().all(|&c| c.is_ascii_graphic() && c != b'/');
        match IfName::new(&s) {
            Ok(n) => {
                prop_assert!(ok);
                prop_assert_eq!(n.as_str(), s.as_str());
                prop_assert_eq!(&n.to_c_array()[..b.len()], b);
                prop_assert!(n.to_c_array()[b.len()..].iter().all(|&c| c == 0));
            }
            Err(e) => {
                prop_assert!(!ok, "{s:?} rejected: {e}");
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn valid_names_round_trip(s in valid_name()) {
        let n = IfName::new(&s).unwrap();
        prop_assert_eq!(IfName::from_bytes(n.as_bytes()).unwrap(), n);
    }

    #[test]
    fn derived_pair_names_are_always_valid(jail in "\\PC{0,64}", salt in 0u32..16) {
        let n = JailPairNames::derive(&jail, salt);
        for side in [&n.a, &n.b] {
            prop_assert!(side.as_bytes().len() <= 15);
            prop_assert_eq!(&IfName::new(side.as_str()).unwrap(), side);
            prop_assert!(side.as_str().bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'));
        }
        prop_assert!(n.a.as_str().ends_with('a') && n.b.as_str().ends_with('b'));
        prop_assert_eq!(&n.a.as_str()[..n.a.as_str().len() - 1], &n.b.as_str()[..n.b.as_str().len() - 1]);
        prop_assert_eq!(JailPairNames::derive(&jail, salt), n);
    }

    #[test]
    fn op_lists_decode_to_what_was_encoded(
        specs in proptest::collection::vec((0u8..9, valid_name(), any::<u32>(), 0u8..=32, any::<u128>(), 0u8..=128), 0..12)
    ) {
        let mut ops = JailOps::new();
        for (k, name, v4, p4, v6, p6) in specs {
            let n = IfName::new(&name).unwrap();
            let a4 = Ipv4Addr::from(v4);
            let a6 = Ipv6Addr::from(v6);
            let op = match k {
                0 => JailOp::Up(n),
                1 => JailOp::Down(n),
                2 => JailOp::AddInet(n, freebsd_netif::Ipv4Net::new(a4, p4).unwrap()),
                3 => JailOp::DeleteInet(n, a4),
                4 => JailOp::AddInet6(n, freebsd_netif::Ipv6Net::new(a6, p6).unwrap()),
                5 => JailOp::DeleteInet6(n, a6),
                6 => JailOp::AddDefaultRoute(a4.into()),
                7 => JailOp::DeleteDefaultRoute(a4.into()),
                _ => JailOp::Rename(n.clone(), n),
            };
            ops.push(op).unwrap();
        }
        prop_assert_eq!(ops.encoded().len() % 8, 0);
        let raw: Vec<_> = RawOps::new(ops.encoded()).collect();
        prop_assert_eq!(raw.len(), ops.ops().len());
        for (r, op) in raw.iter().zip(ops.ops()) {
            let r = r.as_ref().unwrap();
            let (kind, payload) = op.encode_payload(0);
            prop_assert_eq!(r.kind, kind);
            prop_assert_eq!(r.payload.len(), payload.len());
            prop_assert_eq!(&r.payload[..16], &payload[..16]);
        }
        // The attach record and every step reporting success is success.
        let records: Vec<u8> = std::iter::once(ATTACH_INDEX)
            .chain(0..ops.ops().len() as u32)
            .flat_map(|index| OpResult { index, errno: 0 }.encode())
            .collect();
        prop_assert!(ops.report_complete(&records));
        prop_assert!(ops.interpret(1, &records, "exit 0").is_ok());
    }

    #[test]
    fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        // RawOps stops at the first malformed record, so flattening is finite.
        for op in RawOps::new(&bytes).flatten() {
            prop_assert!(op.kind.valid_len(op.payload.len()));
        }
        let ops = JailOps::new();
        let _ = ops.interpret(1, &bytes, "exit 0");
    }
}
