//! Tests against a real FreeBSD kernel. They run only on FreeBSD, as root, outside a jail
//! (otherwise each prints why it skips). Nothing here runs on Linux; CI only links them.
//! The VNET jails they need are made with a raw jail_set(2) here, because this crate does not
//! depend on freebsd-jail.
#![cfg(target_os = "freebsd")]

use std::net::Ipv4Addr;

use freebsd_netif::jailops::{JailOp, JailOps};
use freebsd_netif::{Error, IfName, JailPairNames, Netif, wire};

fn jailed() -> bool {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>();
    // SAFETY: sysctlbyname(3) with a NUL-terminated name and an int-sized out buffer.
    let r = unsafe {
        libc::sysctlbyname(
            c"security.jail.jailed".as_ptr(),
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
            std::ptr::null(),
            0,
        )
    };
    r == 0 && v != 0
}

fn can_run(test: &str) -> bool {
    // SAFETY: geteuid(2) has no preconditions.
    let why = if unsafe { libc::geteuid() } != 0 {
        "needs root"
    } else if jailed() {
        "running inside a jail"
    } else {
        return true;
    };
    // The VM stage (.ci/vm/run.sh) sets THINJAIL_REQUIRE_KERNEL: there a skip is a failure.
    assert!(
        std::env::var_os("THINJAIL_REQUIRE_KERNEL").is_none(),
        "{test} cannot run: {why}"
    );
    eprintln!("skipping {test}: {why}");
    false
}

fn name(s: &str) -> IfName {
    IfName::new(s).unwrap()
}

/// A persistent jail made with jail_set(2), removed on drop.
struct TestJail(i32);

impl TestJail {
    fn create(tag: &str, vnet: bool) -> TestJail {
        let jname = format!("netif-{tag}-{}\0", std::process::id());
        let mut one: libc::c_int = 1; // JAIL_SYS_NEW
        let mut errmsg = [0u8; 256];
        let mut pairs: Vec<(&[u8], *mut libc::c_void, usize)> = vec![
            (b"name\0", jname.as_ptr() as *mut _, jname.len()),
            (b"path\0", c"/".as_ptr() as *mut _, 2),
            (b"persist\0", std::ptr::null_mut(), 0),
            (b"errmsg\0", errmsg.as_mut_ptr().cast(), errmsg.len()),
        ];
        if vnet {
            pairs.push((b"vnet\0", (&mut one as *mut libc::c_int).cast(), 4));
        }
        let mut iov: Vec<libc::iovec> = pairs
            .iter()
            .flat_map(|&(k, v, l)| {
                [
                    libc::iovec {
                        iov_base: k.as_ptr() as *mut _,
                        iov_len: k.len(),
                    },
                    libc::iovec {
                        iov_base: v,
                        iov_len: l,
                    },
                ]
            })
            .collect();
        // SAFETY: jail_set(2) with name/value iovec pairs whose buffers outlive the call;
        // JAIL_CREATE = 1.
        let jid = unsafe { libc::jail_set(iov.as_mut_ptr(), iov.len() as u32, 1) };
        let msg =
            String::from_utf8_lossy(&errmsg[..errmsg.iter().position(|&c| c == 0).unwrap_or(0)])
                .into_owned();
        assert!(
            jid > 0,
            "jail_set: {} {msg}",
            std::io::Error::last_os_error()
        );
        TestJail(jid)
    }
}

impl Drop for TestJail {
    fn drop(&mut self) {
        // SAFETY: jail_remove(2) takes a jid.
        unsafe { libc::jail_remove(self.0) };
    }
}

fn has(net: &Netif, n: &IfName) -> bool {
    net.interfaces().unwrap().iter().any(|i| &i.name == n)
}

#[test]
fn epair_lifecycle_flags_description_rename() {
    if !can_run("epair_lifecycle_flags_description_rename") {
        return;
    }
    let net = Netif::open().unwrap();
    let p = net.epair().unwrap();
    assert!(p.a.as_str().starts_with("epair") && p.a.as_str().ends_with('a'));
    assert!(has(&net, &p.a) && has(&net, &p.b));

    net.up(&p.a).unwrap();
    assert_ne!(net.flags(&p.a).unwrap() & wire::IFF_UP, 0);
    net.down(&p.a).unwrap();
    assert_eq!(net.flags(&p.a).unwrap() & wire::IFF_UP, 0);

    assert_eq!(net.description(&p.a).unwrap(), None);
    net.set_description(&p.a, "jail:test").unwrap();
    assert_eq!(net.description(&p.a).unwrap().as_deref(), Some("jail:test"));
    let long = "d".repeat(300);
    net.set_description(&p.a, &long).unwrap();
    assert_eq!(net.description(&p.a).unwrap(), Some(long));

    let renamed = name(&format!("nt{}a", std::process::id() % 100_000));
    net.rename(&p.a, &renamed).unwrap();
    assert!(has(&net, &renamed) && !has(&net, &p.a));
    // Renaming onto an existing name: Exists, naming the taken name.
    match net.rename(&renamed, &p.b) {
        Err(Error::Exists { name, .. }) => assert_eq!(name, p.b.as_str()),
        other => panic!("{other:?}"),
    }
    // Destroying the renamed a side destroys both ends.
    net.destroy(&renamed).unwrap();
    assert!(!has(&net, &renamed) && !has(&net, &p.b));
    assert!(matches!(
        net.destroy(&renamed),
        Err(Error::NoSuchInterface { .. })
    ));
    assert!(matches!(
        net.flags(&p.b),
        Err(Error::NoSuchInterface { .. })
    ));
}

#[test]
fn epair_for_jail_names_and_finds_its_ends() {
    if !can_run("epair_for_jail_names_and_finds_its_ends") {
        return;
    }
    let net = Netif::open().unwrap();
    let jail = format!("netif-names-{}", std::process::id());
    let p = net.epair_for_jail(&jail, true).unwrap();
    let want = JailPairNames::choose(&jail, |_| false).unwrap();
    assert_eq!((p.a.clone(), p.b.clone()), (want.a, want.b));
    assert_eq!(
        net.description(&p.b).unwrap().as_deref(),
        Some(format!("jail:{jail}").as_str())
    );
    let mut found = net.interfaces_of_jail(&jail).unwrap();
    found.sort();
    let mut both = vec![p.a.clone(), p.b.clone()];
    both.sort();
    assert_eq!(found, both);
    // A second pair for the same jail avoids the taken names (next salt).
    let q = net.epair_for_jail(&jail, true).unwrap();
    assert_ne!(q.a, p.a);
    net.destroy(&q.a).unwrap();
    net.destroy(&p.a).unwrap();
    assert!(net.interfaces_of_jail(&jail).unwrap().is_empty());
}

#[test]
fn bridge_members_and_typed_rejections() {
    if !can_run("bridge_members_and_typed_rejections") {
        return;
    }
    let net = Netif::open().unwrap();
    let br = net.bridge().unwrap();
    let br2 = net.bridge().unwrap();
    let p = net.epair().unwrap();
    net.bridge_add(&br, &p.a).unwrap();
    let members = net.bridge_members(&br).unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].name, p.a);
    assert!(matches!(
        net.bridge_add(&br, &p.a),
        Err(Error::AlreadyMember { .. })
    ));
    assert!(matches!(
        net.bridge_add(&br2, &p.a),
        Err(Error::MemberOfOtherBridge { .. })
    ));
    assert!(matches!(
        net.bridge_add(&br, &name("nosuchif0")),
        Err(Error::NoSuchInterface { .. })
    ));
    net.bridge_delete(&br, &p.a).unwrap();
    assert!(net.bridge_members(&br).unwrap().is_empty());
    assert!(matches!(
        net.bridge_delete(&br, &p.a),
        Err(Error::NotMember { .. })
    ));
    net.destroy(&p.a).unwrap();
    net.destroy(&br).unwrap();
    net.destroy(&br2).unwrap();
}

#[test]
fn host_addresses() {
    if !can_run("host_addresses") {
        return;
    }
    let net = Netif::open().unwrap();
    let p = net.epair().unwrap();
    net.add_inet(&p.a, "10.231.7.1/24".parse().unwrap())
        .unwrap();
    let me = net
        .interfaces()
        .unwrap()
        .into_iter()
        .find(|i| i.name == p.a)
        .unwrap();
    assert!(
        me.addrs.iter().any(|a| a.to_string() == "10.231.7.1/24"),
        "{me:?}"
    );
    assert!(matches!(
        net.delete_inet(&p.a, Ipv4Addr::new(10, 231, 7, 9)),
        Err(Error::NoSuchAddress { .. })
    ));
    net.delete_inet(&p.a, Ipv4Addr::new(10, 231, 7, 1)).unwrap();
    net.add_inet6(&p.a, "fd00:231:7::1/64".parse().unwrap())
        .unwrap();
    net.delete_inet6(&p.a, "fd00:231:7::1".parse().unwrap())
        .unwrap();
    net.destroy(&p.a).unwrap();
}

#[test]
fn vnet_move_configure_inside_and_take_back() {
    if !can_run("vnet_move_configure_inside_and_take_back") {
        return;
    }
    let net = Netif::open().unwrap();
    let jail = TestJail::create("vnet", true);
    let p = net.epair().unwrap();
    net.move_to_jail(&p.b, jail.0).unwrap();
    assert!(!has(&net, &p.b));

    // A directory descriptor open in the caller (as another thread's read_dir would be): the
    // forked child inherits it, and jail_attach(2) refuses with EPERM while one is open
    // (kern_descrip.c pwd_chroot_chdir → chroot_refuse_vdir_fds) unless the child closes it.
    let held_dir = std::fs::File::open("/").unwrap();
    let mut ops = JailOps::new();
    ops.loopback()
        .up(&p.b)
        .add_address(&p.b, "10.232.0.2/24".parse().unwrap())
        .default_route("10.232.0.1".parse().unwrap())
        .unwrap();
    net.configure_in_jail(jail.0, &ops).unwrap();
    drop(held_dir);

    // The same address again, inside: nothing happens. (SIOCAIFADDR alone would delete and
    // re-add it, taking the default route with it — in.c in_aifaddr_ioctl/in_ifadown.)
    let mut again = JailOps::new();
    again.add_address(&p.b, "10.232.0.2/24".parse().unwrap());
    net.configure_in_jail(jail.0, &again).unwrap();
    // With another prefix: a typed error naming the step and the interface.
    let mut other_prefix = JailOps::new();
    other_prefix.add_address(&p.b, "10.232.0.2/16".parse().unwrap());
    match net.configure_in_jail(jail.0, &other_prefix) {
        Err(Error::InJail {
            index: 0, source, ..
        }) => assert!(matches!(*source, Error::AddressExists { .. }), "{source}"),
        other => panic!("{other:?}"),
    }
    // The default route survived both, so adding it again fails.
    let mut route = JailOps::new();
    route.default_route("10.232.0.1".parse().unwrap()).unwrap();
    match net.configure_in_jail(jail.0, &route) {
        Err(Error::InJail { source, .. }) => {
            assert!(matches!(*source, Error::RouteExists { .. }), "{source}")
        }
        other => panic!("{other:?}"),
    }
    // The host's a side is not visible inside the jail.
    let mut missing = JailOps::new();
    missing.push(JailOp::Up(p.a.clone())).unwrap();
    match net.configure_in_jail(jail.0, &missing) {
        Err(Error::InJail { source, .. }) => {
            assert!(matches!(*source, Error::NoSuchInterface { .. }), "{source}")
        }
        other => panic!("{other:?}"),
    }

    let back = net.take_back(&p.b, jail.0).unwrap();
    assert_eq!(back, p.b);
    assert!(has(&net, &p.b));
    net.destroy(&p.a).unwrap();
}

#[test]
fn vnet_typed_rejections() {
    if !can_run("vnet_typed_rejections") {
        return;
    }
    let net = Netif::open().unwrap();
    let plain = TestJail::create("plain", false);
    let p = net.epair().unwrap();
    match net.move_to_jail(&p.b, plain.0) {
        Err(Error::NotVnetJail { jid, name }) => {
            assert_eq!((jid, name.as_str()), (plain.0, p.b.as_str()))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        net.move_to_jail(&p.b, 999_999),
        Err(Error::NoSuchJail { .. })
    ));
    assert!(matches!(
        net.configure_in_jail(999_999, &JailOps::new()),
        Err(Error::Attach { .. })
    ));
    net.destroy(&p.a).unwrap();
}
