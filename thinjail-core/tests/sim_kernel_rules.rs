//! SimHost enforces the kernel rules of FREEBSD-FACTS.md: one test per rule (or family).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use thinjail_core::host::{
    AddrFamily, CanMount, DatasetProps, Errno, FileKind, FsType, Host, HostError, IfKind,
    JailCommand, JailSpec, OpKind,
};
use thinjail_core::sim::{FaultTrigger, LogOutcome, SimHost};

fn host() -> (tempfile::TempDir, SimHost) {
    let dir = tempfile::tempdir().unwrap();
    let h = SimHost::new(dir.path().join("root")).unwrap();
    (dir, h)
}

fn errno<T: std::fmt::Debug>(r: Result<T, HostError>) -> Errno {
    r.expect_err("expected an error")
        .errno()
        .expect("expected an errno error")
}

fn p(s: &str) -> &Path {
    Path::new(s)
}

fn vnet_spec(name: &str, path: &str) -> JailSpec {
    JailSpec {
        name: name.into(),
        path: path.into(),
        vnet: true,
        ..Default::default()
    }
}

fn mkjail(h: &SimHost, name: &str) -> i32 {
    let path = format!("/j/{name}");
    if h.file_type(p("/j")).unwrap().is_none() {
        h.mkdir(p("/j"), 0o755).unwrap();
    }
    h.mkdir(p(&path), 0o755).unwrap();
    h.jail_create(&vnet_spec(name, &path)).unwrap()
}

// ---------------------------------------------------------------- jails

#[test]
fn jail_names_unique_among_live_jails() {
    let (_d, h) = host();
    let jid = mkjail(&h, "dev");
    h.mkdir(p("/other"), 0o755).unwrap();
    let e = h.jail_create(&vnet_spec("dev", "/other")).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EEXIST));
    assert!(e.to_string().contains("already exists"), "{e}");
    h.jail_remove(jid).unwrap();
    // Removed: the name is free again.
    assert!(h.jail_create(&vnet_spec("dev", "/other")).is_ok());
}

#[test]
fn jids_are_allocated_increasing_and_never_reused_while_live() {
    let (_d, h) = host();
    let a = mkjail(&h, "a");
    let b = mkjail(&h, "b");
    let c = mkjail(&h, "c");
    assert!(a > 0 && b > a && c > b);
    h.jail_remove(b).unwrap();
    let d = mkjail(&h, "d");
    assert!(d > c, "next jid continues after the last one ({d} > {c})");
    let all: Vec<i32> = h.jails().unwrap().iter().map(|j| j.jid).collect();
    assert_eq!(all, vec![a, c, d]);
}

#[test]
fn numeric_name_is_the_jid() {
    let (_d, h) = host();
    h.mkdir(p("/x"), 0o755).unwrap();
    let jid = h.jail_create(&vnet_spec("253", "/x")).unwrap();
    assert_eq!(jid, 253);
    h.mkdir(p("/y"), 0o755).unwrap();
    assert_eq!(errno(h.jail_create(&vnet_spec("253", "/y"))), Errno::EEXIST);
}

#[test]
fn vnet_jail_refuses_ip4() {
    let (_d, h) = host();
    h.mkdir(p("/x"), 0o755).unwrap();
    let mut s = vnet_spec("v", "/x");
    s.ip4 = vec![Ipv4Addr::new(10, 0, 0, 2)];
    let e = h.jail_create(&s).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EINVAL));
    assert!(
        e.to_string()
            .contains("vnet jails cannot have IP address restrictions"),
        "{e}"
    );
    // Non-VNET jail with the address is fine; 0.0.0.0 is not.
    s.vnet = false;
    assert!(h.jail_create(&s).is_ok());
    s.name = "w".into();
    s.ip4 = vec![Ipv4Addr::UNSPECIFIED];
    assert_eq!(errno(h.jail_create(&s)), Errno::EINVAL);
}

#[test]
fn jail_path_must_exist_and_be_a_directory() {
    let (_d, h) = host();
    assert_eq!(
        errno(h.jail_create(&vnet_spec("a", "/missing"))),
        Errno::ENOENT
    );
    h.write_file(p("/file"), b"x", 0o644).unwrap();
    assert_eq!(
        errno(h.jail_create(&vnet_spec("a", "/file"))),
        Errno::ENOTDIR
    );
    assert!(h.jails().unwrap().is_empty());
}

#[test]
fn jail_param_checks() {
    let (_d, h) = host();
    h.mkdir(p("/x"), 0o755).unwrap();
    let long = "n".repeat(256);
    assert_eq!(
        errno(h.jail_create(&vnet_spec(&long, "/x"))),
        Errno::ENAMETOOLONG
    );
    let mut s = vnet_spec("a", "/x");
    s.enforce_statfs = Some(3);
    assert_eq!(errno(h.jail_create(&s)), Errno::EINVAL);
    let mut s = vnet_spec("a", "/x");
    s.allow = vec!["no_such_flag".into()];
    assert_eq!(errno(h.jail_create(&s)), Errno::ENOENT);
    // Hierarchical name whose parent does not exist.
    assert_eq!(errno(h.jail_create(&vnet_spec("p.c", "/x"))), Errno::ENOENT);
}

#[test]
fn jail_remove_unknown_jid_is_einval() {
    let (_d, h) = host();
    assert_eq!(errno(h.jail_remove(42)), Errno::EINVAL);
    let jid = mkjail(&h, "a");
    h.jail_remove(jid).unwrap();
    assert_eq!(errno(h.jail_remove(jid)), Errno::EINVAL);
}

#[test]
fn jail_lookup_by_name() {
    let (_d, h) = host();
    let jid = mkjail(&h, "dev");
    let j = h.jail_by_name("dev").unwrap().unwrap();
    assert_eq!((j.jid, j.vnet, j.path.as_path()), (jid, true, p("/j/dev")));
    assert!(h.jail_by_name("nope").unwrap().is_none());
}

#[test]
fn jail_exec_records_and_needs_the_program() {
    let (_d, h) = host();
    let jid = mkjail(&h, "dev");
    let cmd = JailCommand {
        argv: vec!["/bin/sh".into(), "/etc/rc".into()],
        env: vec![("PATH".into(), "/bin:/usr/bin".into())],
        cwd: "/".into(),
        console_log: Some("/console.log".into()),
        timeout: None,
    };
    assert_eq!(errno(h.jail_exec(jid, &cmd)), Errno::ENOENT);
    h.mkdir(p("/j/dev/bin"), 0o755).unwrap();
    h.write_file(p("/j/dev/bin/sh"), b"#!", 0o755).unwrap();
    assert_eq!(h.jail_exec(jid, &cmd).unwrap(), 0);
    assert_eq!(h.state().jails[&jid].execs, vec![cmd.clone()]);
    let log = std::fs::read_to_string(h.real_path(p("/console.log"))).unwrap();
    assert!(log.contains("/bin/sh /etc/rc"));
    assert_eq!(errno(h.jail_exec(jid + 1, &cmd)), Errno::EINVAL);
}

// ---------------------------------------------------------------- interfaces

#[test]
fn epair_units_lowest_free() {
    let (_d, h) = host();
    let a = h.epair_create(None).unwrap();
    let b = h.epair_create(None).unwrap();
    let c = h.epair_create(None).unwrap();
    assert_eq!((a.a.as_str(), a.b.as_str()), ("epair0a", "epair0b"));
    assert_eq!(b.a, "epair1a");
    assert_eq!(c.a, "epair2a");
    h.if_destroy("epair1b").unwrap(); // destroy by the b side: both go
    let names: Vec<String> = h
        .interfaces(None)
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert!(!names.contains(&"epair1a".to_string()) && !names.contains(&"epair1b".to_string()));
    assert_eq!(h.epair_create(None).unwrap().a, "epair1a");
    assert_eq!(h.epair_create(Some(253)).unwrap().b, "epair253b");
    assert_eq!(errno(h.epair_create(Some(253))), Errno::EEXIST);
    assert_eq!(errno(h.epair_create(Some(0x8000))), Errno::ENOSPC);
}

#[test]
fn epair_eexist_when_a_half_name_exists() {
    let (_d, h) = host();
    // A leftover interface carrying the name "epair0b" (here a renamed bridge).
    let br = h.bridge_create(None).unwrap();
    h.if_rename(&br, "epair0b").unwrap();
    let e = h.epair_create(None).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EEXIST));
    assert!(e.to_string().contains("epair0b"), "{e}");
    // No retry with the next unit, and the unit was not kept.
    assert_eq!(errno(h.epair_create(None)), Errno::EEXIST);
    assert_eq!(errno(h.epair_create(Some(0))), Errno::EEXIST);
    assert_eq!(h.epair_create(Some(1)).unwrap().a, "epair1a");
    h.if_rename("epair0b", "bridge0").unwrap();
    assert_eq!(h.epair_create(None).unwrap().a, "epair0a");
}

#[test]
fn ifnamsiz_limits() {
    let (_d, h) = host();
    let e = h.epair_create(None).unwrap();
    assert_eq!(
        errno(h.if_rename(&e.a, "a_very_long_name")),
        Errno::ENAMETOOLONG
    ); // 16
    h.if_rename(&e.a, "fifteen_chars_x").unwrap(); // 15
    assert_eq!(errno(h.if_rename("fifteen_chars_x", "")), Errno::EINVAL);
    assert_eq!(errno(h.if_rename("fifteen_chars_x", &e.b)), Errno::EEXIST);
    assert_eq!(errno(h.if_rename("nonexistent", "x")), Errno::ENXIO);
    // The renamed half still destroys both.
    h.if_destroy("fifteen_chars_x").unwrap();
    assert!(
        h.interfaces(None)
            .unwrap()
            .iter()
            .all(|i| i.kind != IfKind::Epair)
    );
    assert_eq!(
        errno(h.if_set_description("lo0", Some(&"d".repeat(1024)))),
        Errno::ENAMETOOLONG
    );
    h.if_set_description("lo0", Some("loopback")).unwrap();
}

#[test]
fn vnet_moves() {
    let (_d, h) = host();
    let jid = mkjail(&h, "v");
    h.mkdir(p("/nv"), 0o755).unwrap();
    let nonvnet = h
        .jail_create(&JailSpec {
            name: "nv".into(),
            path: "/nv".into(),
            ..Default::default()
        })
        .unwrap();
    let e = h.epair_create(None).unwrap();
    assert_eq!(errno(h.if_move_to_jail(&e.b, nonvnet)), Errno::EEXIST);
    assert_eq!(errno(h.if_move_to_jail(&e.b, 9999)), Errno::ENXIO);
    assert_eq!(errno(h.if_move_to_jail("nope0", jid)), Errno::ENXIO);
    h.if_move_to_jail(&e.b, jid).unwrap();
    let inside: Vec<String> = h
        .interfaces(Some(jid))
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(inside, vec!["lo0".to_string(), e.b.clone()]);
    // Not visible on the host any more.
    assert_eq!(errno(h.if_set_up(&e.b, true)), Errno::ENXIO);
    h.if_move_from_jail(&e.b, jid).unwrap();
    assert_eq!(errno(h.if_move_from_jail(&e.b, jid)), Errno::ENXIO);
    h.if_move_to_jail(&e.b, jid).unwrap();
    // Destroying the host side destroys the half inside the jail too.
    h.if_destroy(&e.a).unwrap();
    assert_eq!(h.interfaces(Some(jid)).unwrap().len(), 1);
}

#[test]
fn interfaces_return_home_when_the_jail_is_removed() {
    let (_d, h) = host();
    let jid = mkjail(&h, "v");
    let e = h.epair_create(None).unwrap();
    h.if_move_to_jail(&e.b, jid).unwrap();
    h.jail_if_addr_add(jid, &e.b, net("10.0.0.2/24")).unwrap();
    h.jail_if_addr_add(jid, &e.b, net("2001:db8::2/64"))
        .unwrap();
    h.jail_route_add_default(jid, ip("2001:db8::1")).unwrap();
    h.jail_remove(jid).unwrap();
    let b = h
        .interfaces(None)
        .unwrap()
        .into_iter()
        .find(|i| i.name == e.b)
        .expect("b side is back");
    assert!(b.addrs.is_empty(), "addresses are purged on the move");
    assert!(b.addrs6.is_empty(), "IPv6 addresses too");
    // A new vnet under the same jid (a numeric name is the jid) starts without the old vnet's
    // IPv6 route.
    let jid2 = h.jail_create(&vnet_spec(&jid.to_string(), "/j/v")).unwrap();
    assert_eq!(jid2, jid);
    assert_eq!(h.state().jails[&jid2].default_route6, None);
    assert_eq!(
        h.interfaces(None)
            .unwrap()
            .iter()
            .filter(|i| i.name == "lo0")
            .count(),
        1
    );
}

#[test]
fn bridge_member_rules() {
    let (_d, h) = host();
    let b0 = h.bridge_create(None).unwrap();
    let b1 = h.bridge_create(None).unwrap();
    assert_eq!((b0.as_str(), b1.as_str()), ("bridge0", "bridge1"));
    let e = h.epair_create(None).unwrap();
    assert_eq!(errno(h.bridge_addm(&b0, "epair9a")), Errno::ENOENT);
    assert_eq!(errno(h.bridge_addm("bridge7", &e.a)), Errno::ENXIO);
    assert_eq!(errno(h.bridge_addm(&b0, &b1)), Errno::EINVAL);
    h.bridge_addm(&b0, &e.a).unwrap();
    assert_eq!(errno(h.bridge_addm(&b0, &e.a)), Errno::EEXIST);
    assert_eq!(errno(h.bridge_addm(&b1, &e.a)), Errno::EBUSY);
    let info = h
        .interfaces(None)
        .unwrap()
        .into_iter()
        .find(|i| i.name == b0)
        .unwrap();
    assert_eq!(info.members, vec![e.a.clone()]);
    assert_eq!(errno(h.bridge_deletem(&b1, &e.a)), Errno::ENOENT);
    h.bridge_deletem(&b0, &e.a).unwrap();
    h.bridge_addm(&b1, &e.a).unwrap();
    // Destroying the member removes it from the bridge.
    h.if_destroy(&e.a).unwrap();
    let info = h
        .interfaces(None)
        .unwrap()
        .into_iter()
        .find(|i| i.name == b1)
        .unwrap();
    assert!(info.members.is_empty());
    assert_eq!(errno(h.bridge_create(Some(1))), Errno::EEXIST);
    assert_eq!(errno(h.if_destroy("lo0")), Errno::EINVAL);
}

#[test]
fn in_jail_network_config() {
    let (_d, h) = host();
    let jid = mkjail(&h, "v");
    h.mkdir(p("/nv"), 0o755).unwrap();
    let nv = h
        .jail_create(&JailSpec {
            name: "nv".into(),
            path: "/nv".into(),
            ..Default::default()
        })
        .unwrap();
    let e = h.epair_create(None).unwrap();
    h.if_move_to_jail(&e.b, jid).unwrap();
    let gw = Ipv4Addr::new(192, 168, 7, 1);
    let gw_ip = IpAddr::V4(gw);
    assert_eq!(errno(h.jail_if_set_up(nv, "lo0", true)), Errno::EPERM);
    assert_eq!(errno(h.jail_if_set_up(9999, "lo0", true)), Errno::EINVAL);
    h.jail_if_set_up(jid, "lo0", true).unwrap();
    assert_eq!(
        errno(h.jail_route_add_default(jid, gw_ip)),
        Errno::ENETUNREACH
    );
    assert_eq!(
        errno(h.jail_if_addr_add(jid, &e.a, net("192.168.7.2/24"))),
        Errno::ENXIO
    );
    h.jail_if_addr_add(jid, &e.b, net("192.168.7.2/24"))
        .unwrap();
    h.jail_route_add_default(jid, gw_ip).unwrap();
    assert_eq!(errno(h.jail_route_add_default(jid, gw_ip)), Errno::EEXIST);
    assert_eq!(h.state().jails[&jid].default_route, Some(gw));
    h.jail_route_delete_default(jid, AddrFamily::Inet).unwrap();
    assert_eq!(
        errno(h.jail_route_delete_default(jid, AddrFamily::Inet)),
        Errno::ESRCH
    );
    assert_eq!(
        errno(h.jail_if_addr_delete(jid, &e.b, ip("192.168.7.3"))),
        Errno::EADDRNOTAVAIL
    );
}

fn net(s: &str) -> ipnet::IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A VNET jail with an epair's b side inside: (jid, b side).
fn jail_with_b(h: &SimHost, name: &str) -> (i32, String) {
    let jid = mkjail(h, name);
    let e = h.epair_create(None).unwrap();
    h.if_move_to_jail(&e.b, jid).unwrap();
    (jid, e.b)
}

fn addrs6(h: &SimHost, jid: i32, name: &str) -> Vec<(Ipv6Addr, u8)> {
    h.interfaces(Some(jid))
        .unwrap()
        .into_iter()
        .find(|i| i.name == name)
        .unwrap()
        .addrs6
}

/// IPv4: re-adding an address the interface has must not go through SIOCAIFADDR, which deletes
/// and re-adds it and drops the routes through it (in.c in_aifaddr_ioctl → in_ifadown): the
/// default route survives the same address again; another prefix is EADDRINUSE, unchanged.
#[test]
fn ipv4_readd_keeps_the_default_route() {
    let (_d, h) = host();
    let (jid, b) = jail_with_b(&h, "v4");
    h.jail_if_addr_add(jid, &b, net("10.9.0.2/24")).unwrap();
    h.jail_route_add_default(jid, "10.9.0.1".parse().unwrap())
        .unwrap();
    let before = h.state();
    h.jail_if_addr_add(jid, &b, net("10.9.0.2/24")).unwrap();
    assert_eq!(h.state(), before);
    assert_eq!(
        errno(h.jail_if_addr_add(jid, &b, net("10.9.0.2/16"))),
        Errno::EADDRINUSE
    );
    assert_eq!(h.state(), before);
    let j = h
        .state()
        .jails
        .values()
        .find(|j| j.info.jid == jid)
        .cloned()
        .unwrap();
    assert_eq!(j.default_route, "10.9.0.1".parse().ok());
}

#[test]
fn ipv6_addresses_follow_in6_validate_ifra() {
    let (_d, h) = host();
    let (jid, b) = jail_with_b(&h, "v");
    // Not in this vnet (the b side is, the a side stayed on the host).
    assert_eq!(
        errno(h.jail_if_addr_add(jid, "epair0a", net("2001:db8::2/64"))),
        Errno::ENXIO
    );
    // in6_validate_ifra: a prefix length of 0 is EINVAL.
    assert_eq!(
        errno(h.jail_if_addr_add(jid, &b, net("2001:db8::2/0"))),
        Errno::EINVAL
    );
    h.jail_if_addr_add(jid, &b, net("2001:db8::2/64")).unwrap();
    // The same address with the same length updates it (nothing changes) ...
    let before = h.state();
    h.jail_if_addr_add(jid, &b, net("2001:db8::2/64")).unwrap();
    assert_eq!(h.state(), before);
    // ... with another length it is refused: an existing prefix length is not changed.
    assert_eq!(
        errno(h.jail_if_addr_add(jid, &b, net("2001:db8::2/48"))),
        Errno::EINVAL
    );
    h.jail_if_addr_add(jid, &b, net("2001:db8:1::9/128"))
        .unwrap();
    assert_eq!(
        addrs6(&h, jid, &b),
        vec![
            ("2001:db8::2".parse().unwrap(), 64),
            ("2001:db8:1::9".parse().unwrap(), 128)
        ]
    );
    // IPv4 and IPv6 live side by side; deleting one family's address leaves the other.
    h.jail_if_addr_add(jid, &b, net("10.0.0.2/24")).unwrap();
    h.jail_if_addr_delete(jid, &b, ip("2001:db8:1::9")).unwrap();
    assert_eq!(
        errno(h.jail_if_addr_delete(jid, &b, ip("2001:db8:1::9"))),
        Errno::EADDRNOTAVAIL
    );
    // An IPv4 address is not an IPv6 one (and vice versa).
    assert_eq!(
        errno(h.jail_if_addr_delete(jid, &b, ip("::ffff:10.0.0.2"))),
        Errno::EADDRNOTAVAIL
    );
    let i = h
        .interfaces(Some(jid))
        .unwrap()
        .into_iter()
        .find(|i| i.name == b)
        .unwrap();
    assert_eq!(i.addrs, vec![(Ipv4Addr::new(10, 0, 0, 2), 24)]);
    assert_eq!(i.addrs6, vec![("2001:db8::2".parse().unwrap(), 64)]);
    // Not a VNET jail: its network stack is the host's.
    h.mkdir(p("/nv"), 0o755).unwrap();
    let nv = h
        .jail_create(&JailSpec {
            name: "nv".into(),
            path: "/nv".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        errno(h.jail_if_addr_add(nv, "lo0", net("2001:db8::5/64"))),
        Errno::EPERM
    );
}

#[test]
fn ipv6_default_route_rules() {
    let (_d, h) = host();
    let (jid, b) = jail_with_b(&h, "v");
    let gw6 = ip("2001:db8::1");
    // No address yet: the gateway is not on-link.
    assert_eq!(
        errno(h.jail_route_add_default(jid, gw6)),
        Errno::ENETUNREACH
    );
    h.jail_if_addr_add(jid, &b, net("2001:db8::2/64")).unwrap();
    // Off-link (outside 2001:db8::/64).
    assert_eq!(
        errno(h.jail_route_add_default(jid, ip("2001:db8:1::1"))),
        Errno::ENETUNREACH
    );
    // A link-local gateway needs the interface scope the call cannot carry.
    assert_eq!(
        errno(h.jail_route_add_default(jid, ip("fe80::1"))),
        Errno::EINVAL
    );
    // An IPv6 address does not make an IPv4 gateway reachable.
    assert_eq!(
        errno(h.jail_route_add_default(jid, ip("192.168.7.1"))),
        Errno::ENETUNREACH
    );
    h.jail_route_add_default(jid, gw6).unwrap();
    assert_eq!(errno(h.jail_route_add_default(jid, gw6)), Errno::EEXIST);
    assert_eq!(
        errno(h.jail_route_add_default(jid, ip("2001:db8::fe"))),
        Errno::EEXIST
    );
    let st = h.state();
    assert_eq!(st.jails[&jid].default_route6, gw6.to_string().parse().ok());
    assert_eq!(st.jails[&jid].default_route, None);
    // The families' tables are separate: no IPv4 default route to delete.
    assert_eq!(
        errno(h.jail_route_delete_default(jid, AddrFamily::Inet)),
        Errno::ESRCH
    );
    h.jail_route_delete_default(jid, AddrFamily::Inet6).unwrap();
    assert_eq!(
        errno(h.jail_route_delete_default(jid, AddrFamily::Inet6)),
        Errno::ESRCH
    );
    // Deleting the address that made the gateway on-link takes the route with it; an IPv4
    // route is untouched.
    h.jail_if_addr_add(jid, &b, net("192.168.7.2/24")).unwrap();
    h.jail_route_add_default(jid, ip("192.168.7.1")).unwrap();
    h.jail_route_add_default(jid, gw6).unwrap();
    h.jail_if_addr_delete(jid, &b, ip("2001:db8::2")).unwrap();
    let st = h.state();
    assert_eq!(st.jails[&jid].default_route6, None);
    assert_eq!(
        st.jails[&jid].default_route,
        Some(Ipv4Addr::new(192, 168, 7, 1))
    );
    // Unknown jail.
    assert_eq!(errno(h.jail_route_add_default(9999, gw6)), Errno::EINVAL);
}

// ---------------------------------------------------------------- mounts

#[test]
fn mounts_busy_rules() {
    let (_d, h) = host();
    for d in ["/t", "/t/dev", "/t/skeleton", "/jroot", "/c"] {
        h.mkdir(p(d), 0o755).unwrap();
    }
    assert_eq!(
        errno(h.mount_nullfs(p("/missing"), p("/jroot"), true)),
        Errno::ENOENT
    );
    assert_eq!(
        errno(h.mount_nullfs(p("/t"), p("/nothere"), true)),
        Errno::ENOENT
    );
    h.mount_nullfs(p("/t"), p("/jroot"), true).unwrap();
    // Through the nullfs mount the lower directory's contents are visible...
    assert!(h.file_type(p("/jroot/skeleton")).unwrap().is_some());
    // ...and read-only.
    assert_eq!(errno(h.mkdir(p("/jroot/new"), 0o755)), Errno::EROFS);
    h.mount_nullfs(p("/c"), p("/jroot/skeleton"), false)
        .unwrap();
    h.mount_devfs(p("/jroot/dev"), 5).unwrap();
    // Something mounted beneath: EBUSY.
    assert_eq!(errno(h.unmount(p("/jroot"), false)), Errno::EBUSY);
    assert_eq!(errno(h.unmount(p("/nomount"), false)), Errno::EINVAL);
    assert_eq!(errno(h.remove_dir(p("/jroot/dev"))), Errno::EBUSY);
    h.unmount(p("/jroot/dev"), false).unwrap();
    h.unmount(p("/jroot/skeleton"), false).unwrap();
    // A jail rooted on the mount: EBUSY until it is removed.
    let jid = h.jail_create(&vnet_spec("j", "/jroot")).unwrap();
    let e = h.unmount(p("/jroot"), false).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EBUSY));
    assert!(e.to_string().contains("jail"), "{e}");
    h.jail_remove(jid).unwrap();
    h.unmount(p("/jroot"), false).unwrap();
    assert!(h.mounts().unwrap().is_empty());
}

#[test]
fn devfs_ruleset_loaded_is_detectable() {
    let (_d, h) = host();
    h.mkdir(p("/dev2"), 0o755).unwrap();
    assert!(h.devfs_ruleset_loaded(5).unwrap());
    assert!(!h.devfs_ruleset_loaded(6).unwrap());
    h.unload_devfs_ruleset(5).unwrap();
    assert!(!h.devfs_ruleset_loaded(5).unwrap());
    // The kernel accepts an unloaded ruleset (creating it empty): the check must come first.
    h.mount_devfs(p("/dev2"), 5).unwrap();
    assert_eq!(h.mounts().unwrap()[0].ruleset, Some(5));
    // devfs_rule.c devfs_ruleset_use: the reference made ruleset 5 exist (`devfs rule
    // showsets` lists it), empty — it still is not loaded, and /dev shows everything.
    assert!(h.devfs_ruleset_exists(5).unwrap());
    assert!(!h.devfs_ruleset_loaded(5).unwrap());
    assert_eq!(h.file_type(p("/dev2/mem")).unwrap(), Some(FileKind::Other));
    assert_eq!(h.file_type(p("/dev2/null")).unwrap(), Some(FileKind::Other));
    // devfs_ruleset_reap: the empty ruleset goes with the last mount naming it.
    h.unmount(p("/dev2"), false).unwrap();
    assert!(!h.devfs_ruleset_exists(5).unwrap());
}

#[test]
fn a_loaded_jail_ruleset_hides_memory_devices() {
    let (_d, h) = host();
    h.mkdir(p("/dev2"), 0o755).unwrap();
    h.mount_devfs(p("/dev2"), 4).unwrap();
    assert_eq!(h.file_type(p("/dev2")).unwrap(), Some(FileKind::Dir));
    assert_eq!(h.file_type(p("/dev2/null")).unwrap(), Some(FileKind::Other));
    assert_eq!(h.file_type(p("/dev2/fd")).unwrap(), Some(FileKind::Dir));
    for hidden in ["mem", "kmem", "io"] {
        assert_eq!(h.file_type(&p("/dev2").join(hidden)).unwrap(), None);
    }
    // A loaded ruleset that hides nothing: the rules exist, /dev/mem shows.
    h.load_devfs_ruleset_without_hiding(9).unwrap();
    assert!(h.devfs_ruleset_loaded(9).unwrap());
    h.mkdir(p("/dev3"), 0o755).unwrap();
    h.mount_devfs(p("/dev3"), 9).unwrap();
    assert_eq!(h.file_type(p("/dev3/mem")).unwrap(), Some(FileKind::Other));
}

// ---------------------------------------------------------------- datasets

fn pool(h: &SimHost) {
    h.add_pool("zdata").unwrap();
}

#[test]
fn dataset_parent_and_exists() {
    let (_d, h) = host();
    pool(&h);
    let d = DatasetProps::default();
    assert_eq!(errno(h.dataset_create("zdata/a/b", &d)), Errno::ENOENT);
    assert_eq!(errno(h.dataset_create("nopool/a", &d)), Errno::ENOENT);
    h.dataset_create("zdata/a", &d).unwrap();
    h.dataset_create("zdata/a/b", &d).unwrap();
    assert_eq!(errno(h.dataset_create("zdata/a", &d)), Errno::EEXIST);
    assert!(h.dataset_exists("zdata/a/b").unwrap());
    assert!(!h.dataset_exists("zdata/x").unwrap());
    assert_eq!(
        errno(h.dataset_create(&format!("zdata/{}", "x".repeat(250)), &d)),
        Errno::ENAMETOOLONG
    );
    assert_eq!(
        errno(h.dataset_create("zdata/bad name!", &d)),
        Errno::EINVAL
    );
    assert_eq!(errno(h.dataset_create("zdata/a@snap", &d)), Errno::EINVAL);
}

#[test]
fn dataset_mountpoint_inherits() {
    let (_d, h) = host();
    pool(&h);
    let props = DatasetProps {
        mountpoint: Some("/jails".into()),
        canmount: Some(CanMount::On),
        ..Default::default()
    };
    h.dataset_create("zdata/j", &props).unwrap();
    h.dataset_create("zdata/j/dev", &DatasetProps::default())
        .unwrap();
    h.dataset_create("zdata/other", &DatasetProps::default())
        .unwrap();
    assert_eq!(
        h.dataset_mountpoint("zdata/j/dev").unwrap(),
        p("/jails/dev")
    );
    assert_eq!(
        h.dataset_mountpoint("zdata/other").unwrap(),
        p("/zdata/other")
    );
    let bad = DatasetProps {
        mountpoint: Some("relative".into()),
        ..Default::default()
    };
    assert_eq!(errno(h.dataset_create("zdata/r", &bad)), Errno::EINVAL);
}

#[test]
fn snapshots_clones_and_destroy_refusals() {
    let (_d, h) = host();
    pool(&h);
    let d = DatasetProps::default();
    h.dataset_create("zdata/t", &d).unwrap();
    h.dataset_create("zdata/t/child", &d).unwrap();
    assert_eq!(errno(h.dataset_snapshot("zdata/none@s")), Errno::ENOENT);
    h.dataset_snapshot("zdata/t@base").unwrap();
    assert_eq!(errno(h.dataset_snapshot("zdata/t@base")), Errno::EEXIST);
    assert_eq!(
        errno(h.dataset_clone("zdata/t@nope", "zdata/c", &d)),
        Errno::ENOENT
    );
    h.dataset_clone("zdata/t@base", "zdata/c1", &d).unwrap();
    h.dataset_clone("zdata/t@base", "zdata/c2", &d).unwrap();
    assert_eq!(
        errno(h.dataset_clone("zdata/t@base", "zdata/c1", &d)),
        Errno::EEXIST
    );
    assert_eq!(
        errno(h.dataset_clone("zdata/t@base", "zdata/x/y", &d)),
        Errno::ENOENT
    );
    h.add_pool("other").unwrap();
    assert_eq!(
        errno(h.dataset_clone("zdata/t@base", "other/c", &d)),
        Errno::EXDEV
    );
    assert_eq!(
        h.dataset_clones("zdata/t@base").unwrap(),
        vec!["zdata/c1".to_string(), "zdata/c2".to_string()]
    );
    // Snapshot with clones: refused.
    let e = h.dataset_destroy("zdata/t@base").unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EEXIST));
    assert!(e.to_string().contains("clones"), "{e}");
    // Filesystem with children / with snapshots: refused.
    assert_eq!(errno(h.dataset_destroy("zdata/t")), Errno::EEXIST);
    h.dataset_destroy("zdata/t/child").unwrap();
    assert_eq!(errno(h.dataset_destroy("zdata/t")), Errno::EEXIST);
    // Mounted: EBUSY.
    h.mount_zfs("zdata/c1", p("/zdata/c1")).unwrap();
    assert!(
        h.real_path(p("/zdata/c1")).is_dir(),
        "zfs mount mkdirs its mount point"
    );
    assert_eq!(
        errno(h.mount_zfs("zdata/c1", p("/elsewhere"))),
        Errno::EBUSY
    );
    assert_eq!(errno(h.dataset_destroy("zdata/c1")), Errno::EBUSY);
    h.unmount(p("/zdata/c1"), false).unwrap();
    h.dataset_destroy("zdata/c1").unwrap();
    h.dataset_destroy("zdata/c2").unwrap();
    h.dataset_destroy("zdata/t@base").unwrap();
    h.dataset_destroy("zdata/t").unwrap();
    assert_eq!(errno(h.dataset_destroy("zdata/t")), Errno::ENOENT);
    assert_eq!(errno(h.dataset_destroy("zdata")), Errno::EINVAL);
    assert_eq!(
        h.mounts()
            .unwrap()
            .iter()
            .filter(|m| m.fstype == FsType::Zfs)
            .count(),
        2
    );
}

// ---------------------------------------------------------------- files, faults, log

#[test]
fn paths_must_be_absolute() {
    let (_d, h) = host();
    assert_eq!(errno(h.mkdir(p("relative"), 0o755)), Errno::EINVAL);
    assert_eq!(errno(h.mkdir(p("/a/../b"), 0o755)), Errno::EINVAL);
    assert!(h.state().files.is_empty());
}

#[test]
fn file_tree_is_real() {
    let (_d, h) = host();
    h.mkdir(p("/etc"), 0o755).unwrap();
    h.write_file(p("/etc/rc.conf"), b"x=1\n", 0o644).unwrap();
    assert_eq!(
        std::fs::read(h.real_path(p("/etc/rc.conf"))).unwrap(),
        b"x=1\n"
    );
    assert!(
        h.remove_dir(p("/etc"))
            .unwrap_err()
            .to_string()
            .contains("remove_dir")
    );
    h.remove_file(p("/etc/rc.conf")).unwrap();
    h.remove_dir(p("/etc")).unwrap();
    assert!(h.remove_file(p("/etc/rc.conf")).unwrap_err().is_not_found());
}

#[test]
fn fault_injection_nth_and_nth_of_kind() {
    let (_d, h) = host();
    h.inject(FaultTrigger::Nth(2), Errno::EIO);
    h.mkdir(p("/a"), 0o755).unwrap();
    let e = h.mkdir(p("/b"), 0o755).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EIO));
    assert!(
        h.file_type(p("/b")).unwrap().is_none(),
        "an injected fault changes nothing"
    );
    h.mkdir(p("/b"), 0o755).unwrap(); // one-shot
    h.inject(FaultTrigger::NthOf(OpKind::EpairCreate, 2), Errno::ENOSPC);
    h.epair_create(None).unwrap();
    h.mkdir(p("/c"), 0o755).unwrap();
    assert_eq!(errno(h.epair_create(None)), Errno::ENOSPC);
    assert_eq!(h.epair_create(None).unwrap().a, "epair1a");
    h.inject(FaultTrigger::NthMutation(1), Errno::EPERM);
    assert!(
        h.file_type(p("/c")).unwrap().is_some(),
        "queries do not count"
    );
    assert_eq!(errno(h.mkdir(p("/d"), 0o755)), Errno::EPERM);
    assert_eq!(h.armed_faults(), 0);
    let log = h.log();
    assert!(
        log.iter().any(
            |l| l.op == OpKind::EpairCreate && l.outcome == LogOutcome::Injected(Errno::ENOSPC)
        )
    );
    assert!(log.windows(2).all(|w| w[1].seq == w[0].seq + 1));
}

#[test]
fn state_is_comparable() {
    let (_d, h) = host();
    let before = h.state();
    let jid = mkjail(&h, "x");
    assert_ne!(h.state(), before);
    h.jail_remove(jid).unwrap();
    h.remove_dir(p("/j/x")).unwrap();
    h.remove_dir(p("/j")).unwrap();
    assert_eq!(h.state(), before);
}

#[test]
fn simhost_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SimHost>();
}

/// A persistent model saved before IPv6 was simulated (no `addrs6`, no `routes6`) still opens,
/// with its IPv4 state intact; IPv6 then works on it.
#[test]
fn persistent_model_from_before_ipv6_still_opens() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    let (jid, b, before) = {
        let h = SimHost::open_persistent(&root).unwrap();
        let (jid, b) = jail_with_b(&h, "v");
        h.jail_if_addr_add(jid, &b, net("10.0.0.2/24")).unwrap();
        h.jail_route_add_default(jid, ip("10.0.0.1")).unwrap();
        (jid, b, h.state())
    };
    let file = root.join(".simhost/model.json");
    let mut model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    fn strip(v: &mut serde_json::Value) -> usize {
        match v {
            serde_json::Value::Object(m) => {
                let n = usize::from(m.remove("addrs6").is_some())
                    + usize::from(m.remove("routes6").is_some());
                n + m.values_mut().map(strip).sum::<usize>()
            }
            serde_json::Value::Array(a) => a.iter_mut().map(strip).sum(),
            _ => 0,
        }
    }
    assert!(strip(&mut model) >= 2, "the new fields were saved");
    std::fs::write(&file, serde_json::to_vec(&model).unwrap()).unwrap();
    let h = SimHost::open_persistent(&root).unwrap();
    assert_eq!(h.state(), before);
    h.jail_if_addr_add(jid, &b, net("2001:db8::2/64")).unwrap();
    h.jail_route_add_default(jid, ip("2001:db8::1")).unwrap();
    assert_eq!(
        h.state().jails[&jid].default_route6,
        "2001:db8::1".parse().ok()
    );
}
