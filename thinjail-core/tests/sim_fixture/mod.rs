//! Shared fixture for the SimHost tests: the host after `host init` and `template create`, and the
//! recipe's create-and-start plan for one thin jail.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use thinjail_core::exec::{Context, IfRef, Op};
use thinjail_core::host::{DatasetProps, Host, JailCommand, JailSpec};
use thinjail_core::sim::SimHost;

pub const BASE: &str = "zdata/jails/templates/14.2-RELEASE-base";
pub const SKEL: &str = "zdata/jails/templates/14.2-RELEASE-skeleton";
pub const BRIDGE: &str = "igc0bridge";

pub struct Fx {
    pub dir: tempfile::TempDir,
    pub host: SimHost,
}

impl Fx {
    pub fn journals(&self) -> PathBuf {
        self.dir.path().join("journal")
    }
}

pub fn p(s: &str) -> &Path {
    Path::new(s)
}

/// The host after `host init` and `template create`: the dataset tree, a base with `/bin/sh`, a
/// skeleton snapshot, the bridge up, devfs rulesets loaded.
pub fn fixture() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let host = SimHost::new(dir.path().join("root")).unwrap();
    setup(&host);
    Fx { dir, host }
}

/// Build the fixture's host state on `host`.
pub fn setup(host: &SimHost) {
    setup_with(host, |h| {
        h.mkdir(&Path::new("/").join(SKEL).join("etc"), 0o755)
            .unwrap();
        h.write_file(&Path::new("/").join(SKEL).join("etc/rc"), b"# rc\n", 0o644)
            .unwrap();
    });
}

/// The fixture's host state, with the skeleton dataset filled by `skeleton` before its `@base`
/// snapshot (the benchmarks put a realistic tree there).
pub fn setup_with(host: &SimHost, skeleton: impl FnOnce(&SimHost)) {
    host.add_pool("zdata").unwrap();
    for ds in [
        "zdata/jails",
        "zdata/jails/templates",
        "zdata/jails/containers",
        BASE,
        SKEL,
    ] {
        host.dataset_create(ds, &DatasetProps::default()).unwrap();
        let mp = host.dataset_mountpoint(ds).unwrap();
        host.mount_zfs(ds, &mp).unwrap();
    }
    let base = format!("/{BASE}");
    for d in ["bin", "dev", "skeleton"] {
        host.mkdir(&Path::new(&base).join(d), 0o755).unwrap();
    }
    host.write_file(&Path::new(&base).join("bin/sh"), b"#!/bin/sh\n", 0o755)
        .unwrap();
    skeleton(host);
    host.dataset_snapshot(&format!("{SKEL}@base")).unwrap();
    let br = host.bridge_create(None).unwrap();
    host.if_rename(&br, BRIDGE).unwrap();
    host.if_set_up(BRIDGE, true).unwrap();
    host.clear_log();
}

/// Create and start the thin jail `name` with address 192.168.7.`ip`/24.
pub fn plan(name: &str, ip: u8) -> Vec<Op> {
    let root = PathBuf::from(format!("/zdata/jails/{name}-nullfs-base"));
    let clone = format!("zdata/jails/containers/{name}");
    vec![
        Op::Clone {
            snapshot: format!("{SKEL}@base"),
            name: clone.clone(),
            props: DatasetProps::default(),
        },
        Op::MountZfs {
            dataset: clone.clone(),
            at: None,
        },
        Op::MkdirAll {
            path: root.clone(),
            mode: 0o755,
        },
        Op::MountNullfs {
            lower: PathBuf::from(format!("/{BASE}")),
            at: root.clone(),
            readonly: true,
        },
        Op::MountNullfs {
            lower: PathBuf::from(format!("/{clone}")),
            at: root.join("skeleton"),
            readonly: false,
        },
        Op::MountDevfs {
            at: root.join("dev"),
            ruleset: 5,
        },
        Op::CreateJail {
            spec: JailSpec {
                name: name.into(),
                path: root.clone(),
                hostname: Some(name.into()),
                vnet: true,
                devfs_ruleset: Some(5),
                enforce_statfs: Some(2),
                allow: vec!["raw_sockets".into()],
                ..Default::default()
            },
        },
        Op::CreateEpair {
            bind: "e".into(),
            description: format!("jail:{name}"),
        },
        Op::IfUp {
            iface: IfRef::var("e.a"),
        },
        Op::BridgeAddm {
            bridge: IfRef::Name(BRIDGE.into()),
            member: IfRef::var("e.a"),
        },
        Op::VnetMove {
            iface: IfRef::var("e.b"),
            jail: name.into(),
        },
        Op::JailIfUp {
            jail: name.into(),
            iface: IfRef::Name("lo0".into()),
        },
        Op::JailAddr {
            jail: name.into(),
            iface: IfRef::var("e.b"),
            addr: IpAddr::V4(Ipv4Addr::new(192, 168, 7, ip)),
            prefix: 24,
        },
        Op::JailIfUp {
            jail: name.into(),
            iface: IfRef::var("e.b"),
        },
        Op::JailDefaultRoute {
            jail: name.into(),
            gateway: IpAddr::V4(Ipv4Addr::new(192, 168, 7, 1)),
        },
        Op::JailExec {
            jail: name.into(),
            command: JailCommand {
                argv: vec!["/bin/sh".into(), "/etc/rc".into()],
                env: vec![("PATH".into(), "/bin:/usr/bin:/sbin:/usr/sbin".into())],
                cwd: "/root".into(),
                console_log: None,
                timeout: None,
            },
        },
    ]
}

/// [`plan`] for a dual-stack jail: after the IPv4 default route, the address
/// `2001:db8:7::<ip>/64` on the b side and the IPv6 default route via `2001:db8:7::1`, as
/// `Runner::start_ops` orders them.
pub fn plan_dual(name: &str, ip: u8) -> Vec<Op> {
    let mut steps = plan(name, ip);
    let exec = steps.len() - 1;
    steps.splice(
        exec..exec,
        [
            Op::JailAddr {
                jail: name.into(),
                iface: IfRef::var("e.b"),
                addr: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, ip.into())),
                prefix: 64,
            },
            Op::JailDefaultRoute {
                jail: name.into(),
                gateway: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 1)),
            },
        ],
    );
    steps
}

/// `exec.stop`, remove the jail, drop the epair from the bridge and destroy it, unmount in
/// reverse, remove the directories and the clone.
pub fn teardown(name: &str, ctx: &Context) -> Vec<Op> {
    let root = PathBuf::from(format!("/zdata/jails/{name}-nullfs-base"));
    let clone = format!("zdata/jails/containers/{name}");
    let a = ctx.ifaces["e.a"].clone();
    vec![
        Op::JailExec {
            jail: name.into(),
            command: JailCommand {
                argv: vec!["/bin/sh".into(), "/etc/rc.shutdown".into()],
                env: vec![],
                cwd: "/".into(),
                console_log: None,
                timeout: None,
            },
        },
        Op::RemoveJail { jail: name.into() },
        Op::BridgeDeletem {
            bridge: IfRef::Name(BRIDGE.into()),
            member: IfRef::Name(a.clone()),
        },
        Op::DestroyIf {
            iface: IfRef::Name(a),
        },
        Op::Unmount {
            at: root.join("dev"),
        },
        Op::Unmount {
            at: root.join("skeleton"),
        },
        Op::Unmount { at: root.clone() },
        Op::RemoveDir { path: root },
        Op::Unmount {
            at: PathBuf::from(format!("/{clone}")),
        },
        Op::RemoveDir {
            path: PathBuf::from(format!("/{clone}")),
        },
        Op::DestroyDataset { name: clone },
    ]
}
