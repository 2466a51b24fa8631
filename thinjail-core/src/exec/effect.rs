//! Effects: what a completed step changed on the host, each with its inverse.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::host::{
    AddrFamily, Errno, FsType, Host, HostError, HostResult, MountInfo, Object, OpKind,
};

/// One change made to the host, recorded in the journal before the next step runs.
///
/// [`Effect::undo`] applies the inverse and is idempotent: an effect that is already undone (the
/// object is gone, the mount is not there, the jail was removed) counts as undone, so a crashed
/// undo can simply be run again.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// A dataset, clone or snapshot was created. Undo: destroy it.
    DatasetCreated {
        /// Dataset or snapshot name.
        name: String,
    },
    /// A directory was created (it did not exist). Undo: rmdir.
    DirCreated {
        /// Host path.
        path: PathBuf,
    },
    /// A file was created (it did not exist). Undo: unlink.
    FileWritten {
        /// Host path.
        path: PathBuf,
    },
    /// A filesystem was mounted. Undo: unmount it if it is still the top mount there.
    Mounted {
        /// The mount.
        mount: MountInfo,
    },
    /// A filesystem was unmounted. Undo: mount it again.
    Unmounted {
        /// The mount as it was.
        mount: MountInfo,
    },
    /// A jail was created. Undo: remove it (if the jail with that name still has that jid; with
    /// no jid — recorded before the call — the jail of that name, which the caller's lock owns).
    JailCreated {
        /// jid, once known.
        jid: Option<i32>,
        /// name.
        name: String,
    },
    /// An interface was cloned (an epair's a side, a bridge). Undo: destroy it.
    IfCreated {
        /// Name at creation.
        name: String,
    },
    /// An interface was renamed. Undo: rename it back.
    IfRenamed {
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// An interface's description was set. Undo: restore the previous one.
    IfDescribed {
        /// Interface.
        name: String,
        /// Description before.
        previous: Option<String>,
    },
    /// An interface was brought up (it was down). Undo: down.
    IfUp {
        /// Interface.
        name: String,
    },
    /// An interface was added to a bridge. Undo: deletem.
    BridgeMember {
        /// Bridge.
        bridge: String,
        /// Member.
        member: String,
    },
    /// An interface was removed from a bridge. Undo: add it back.
    BridgeMemberRemoved {
        /// Bridge.
        bridge: String,
        /// Member.
        member: String,
    },
    /// An empty directory was removed. Undo: create it again (mode 0755).
    DirRemoved {
        /// Host path.
        path: PathBuf,
    },
    /// An interface was moved into a jail's vnet. Undo: move it back (nothing to do if the jail
    /// is gone: the kernel returned it).
    VnetMoved {
        /// Interface.
        name: String,
        /// jid.
        jid: i32,
        /// Jail name (checked so a reused jid is never touched).
        jail: String,
    },
    /// An address was added inside a jail's vnet. Undo: delete it.
    JailAddr {
        /// jid.
        jid: i32,
        /// Jail name.
        jail: String,
        /// Interface.
        name: String,
        /// Address, IPv4 or IPv6 (an old journal's IPv4 address reads as `IpAddr::V4`).
        addr: IpAddr,
    },
    /// An interface was brought up inside a jail's vnet. Undo: down.
    JailIfUp {
        /// jid.
        jid: i32,
        /// Jail name.
        jail: String,
        /// Interface.
        name: String,
    },
    /// A default route was added inside a jail's vnet. Undo: delete the default route of
    /// that family.
    JailRoute {
        /// jid.
        jid: i32,
        /// Jail name.
        jail: String,
        /// Its family (absent in journals written before IPv6: `inet`).
        #[serde(default)]
        family: AddrFamily,
    },
    /// An epair with a kernel-chosen unit is about to be created (the write-ahead intent of
    /// [`crate::exec::Op::CreateEpair`]); `before` lists the epair names that existed. Undone
    /// (only after a crash between the call and its record) by destroying every epair not in
    /// `before` that is still as the kernel made it: no description, down, in no bridge.
    EpairPending {
        /// Epair interfaces of the host's vnet before the call.
        before: Vec<String>,
    },
    /// A bridge with a kernel-chosen unit is about to be created (the write-ahead intent of
    /// [`crate::exec::Op::CreateBridge`] without a unit); undone like [`Effect::EpairPending`]:
    /// every bridge not in `before` that is undescribed, down and without members is destroyed.
    BridgePending {
        /// Bridges of the host's vnet before the call.
        before: Vec<String>,
    },
    /// A real file was created (real path, not a host path).
    RealFileCreated {
        /// Real path.
        path: PathBuf,
    },
    /// An empty directory was filled (real path; undo empties it again).
    TreeFilled {
        /// Real path.
        path: PathBuf,
    },
    /// A directory tree was created (real path; undo removes it).
    TreeCreated {
        /// Real path.
        path: PathBuf,
    },
    /// A file was replaced (real path; undo restores `previous` or removes the file).
    FileReplaced {
        /// Real path.
        path: PathBuf,
        /// The previous contents, `None` if it did not exist.
        previous: Option<Vec<u8>>,
    },
    /// A host program ran (its changes are not undone).
    CommandRun {
        /// argv.
        argv: Vec<String>,
    },
    /// A command ran inside a jail (`exec.start`). Nothing to undo: removing the jail ends it.
    JailCommandRun {
        /// jid.
        jid: i32,
        /// Jail name.
        jail: String,
        /// argv.
        argv: Vec<String>,
    },
}

impl Effect {
    /// True for kernel state that a reboot ends: jails, cloned interfaces and what is set on
    /// them, mounts. In a later boot the names belong to that boot's objects (jids restart at
    /// 1, `epair0a` is whoever cloned it first), so recovery must not undo these.
    pub fn is_kernel_state(&self) -> bool {
        matches!(
            self,
            Effect::Mounted { .. }
                | Effect::Unmounted { .. }
                | Effect::JailCreated { .. }
                | Effect::IfCreated { .. }
                | Effect::IfRenamed { .. }
                | Effect::IfDescribed { .. }
                | Effect::IfUp { .. }
                | Effect::BridgeMember { .. }
                | Effect::BridgeMemberRemoved { .. }
                | Effect::VnetMoved { .. }
                | Effect::JailAddr { .. }
                | Effect::JailIfUp { .. }
                | Effect::JailRoute { .. }
                | Effect::EpairPending { .. }
                | Effect::BridgePending { .. }
                | Effect::JailCommandRun { .. }
        )
    }

    /// The jail this effect was about, by name.
    pub fn jail(&self) -> Option<&str> {
        match self {
            Effect::JailCreated { name, .. } => Some(name),
            Effect::VnetMoved { jail, .. }
            | Effect::JailAddr { jail, .. }
            | Effect::JailIfUp { jail, .. }
            | Effect::JailRoute { jail, .. }
            | Effect::JailCommandRun { jail, .. } => Some(jail),
            _ => None,
        }
    }
}

fn real_io(path: &std::path::Path, source: std::io::Error) -> crate::host::HostError {
    crate::host::HostError::Io {
        op: crate::host::OpKind::RemoveFile,
        path: path.to_path_buf(),
        source,
    }
}

/// Destroy every interface of `kind` not in `before` that is still as the kernel made it: what a
/// crash between creating it and journaling its name leaves behind. "As the kernel made it":
/// the kernel's name (`epair<N>a` with its `epair<N>b`, `bridge<N>`), no description, down, in
/// no bridge, no members. Only an epair's `a` side carries marks, so a pair is judged by its
/// `a` side and destroyed through it (which destroys both halves); a lone `b` side is never
/// touched. Live operations create and mark theirs under the clone lock that recovery holds
/// (`exec::CLONE_LOCK`).
fn destroy_unmarked(
    host: &dyn Host,
    kind: crate::host::IfKind,
    before: &[String],
) -> HostResult<()> {
    use crate::host::IfKind;
    let all = host.interfaces(None)?;
    let unmarked = |name: &str| {
        all.iter().any(|i| {
            i.name == name
                && i.description.is_none()
                && !i.up
                && i.member_of.is_none()
                && i.members.is_empty()
                && !all.iter().any(|m| m.member_of.as_deref() == Some(name))
        })
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    for i in all
        .iter()
        .filter(|i| i.kind == kind && !before.contains(&i.name))
    {
        let fresh = match kind {
            IfKind::Epair => i
                .name
                .strip_prefix("epair")
                .and_then(|r| r.strip_suffix('a'))
                .is_some_and(|unit| {
                    digits(unit) && unmarked(&i.name) && unmarked(&format!("epair{unit}b"))
                }),
            IfKind::Bridge => {
                i.name.strip_prefix("bridge").is_some_and(digits) && unmarked(&i.name)
            }
            _ => false,
        };
        if fresh {
            tolerate(host.if_destroy(&i.name), &[Errno::ENXIO])?;
        }
    }
    Ok(())
}

fn tolerate(r: HostResult<()>, ok: &[Errno]) -> HostResult<()> {
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) if e.errno().is_some_and(|n| ok.contains(&n)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Is the jail `name` still the one with `jid`?
fn same_jail(host: &dyn Host, jid: i32, name: &str) -> HostResult<bool> {
    Ok(host.jail_by_name(name)?.is_some_and(|j| j.jid == jid))
}

impl Effect {
    /// Apply the inverse. Idempotent (see the type's docs).
    pub fn undo(&self, host: &dyn Host) -> HostResult<()> {
        match self {
            Effect::DatasetCreated { name } => tolerate(host.dataset_destroy(name), &[]),
            Effect::DirCreated { path } => tolerate(host.remove_dir(path), &[]),
            Effect::FileWritten { path } => tolerate(host.remove_file(path), &[]),
            Effect::Mounted { mount } => {
                let top = host.mounts()?.into_iter().rev().find(|m| m.at == mount.at);
                match top {
                    Some(m) if m.fstype == mount.fstype && m.source == mount.source => {
                        tolerate(host.unmount(&mount.at, false), &[Errno::EINVAL])
                    }
                    _ => Ok(()),
                }
            }
            Effect::Unmounted { mount } => {
                if host.mounts()?.iter().any(|m| m == mount) {
                    return Ok(());
                }
                match mount.fstype {
                    FsType::Nullfs => {
                        host.mount_nullfs(mount.source.as_ref(), &mount.at, mount.readonly)
                    }
                    // The kernel cannot report a devfs mount's ruleset; remounting with a
                    // guessed one (0 = no rules) would expose all of /dev to the jail, so an
                    // unknown ruleset is refused rather than guessed.
                    FsType::Devfs => match mount.ruleset {
                        Some(ruleset) => host.mount_devfs(&mount.at, ruleset),
                        None => Err(HostError::os_msg(
                            OpKind::MountDevfs,
                            Object::Path(mount.at.clone()),
                            Errno::EINVAL,
                            "cannot remount devfs: its ruleset is unknown (mount it again with \
                             `mount -t devfs -o ruleset=N devfs PATH`)",
                        )),
                    },
                    FsType::Zfs => host.mount_zfs(&mount.source, &mount.at),
                }
            }
            Effect::JailCreated { jid, name } => match host.jail_by_name(name)? {
                Some(j) if jid.is_none_or(|x| x == j.jid) => {
                    tolerate(host.jail_remove(j.jid), &[Errno::EINVAL])
                }
                _ => Ok(()),
            },
            Effect::IfCreated { name } => tolerate(host.if_destroy(name), &[Errno::ENXIO]),
            Effect::IfRenamed { from, to } => tolerate(host.if_rename(to, from), &[Errno::ENXIO]),
            Effect::IfDescribed { name, previous } => tolerate(
                host.if_set_description(name, previous.as_deref()),
                &[Errno::ENXIO],
            ),
            Effect::IfUp { name } => tolerate(host.if_set_up(name, false), &[Errno::ENXIO]),
            Effect::BridgeMember { bridge, member } => {
                tolerate(host.bridge_deletem(bridge, member), &[Errno::ENXIO])
            }
            Effect::BridgeMemberRemoved { bridge, member } => {
                tolerate(host.bridge_addm(bridge, member), &[Errno::EEXIST])
            }
            Effect::DirRemoved { path } => match host.file_type(path)? {
                Some(_) => Ok(()),
                None => host.mkdir(path, 0o755),
            },
            Effect::VnetMoved { name, jid, jail } => {
                if same_jail(host, *jid, jail)? {
                    tolerate(host.if_move_from_jail(name, *jid), &[Errno::ENXIO])
                } else {
                    Ok(())
                }
            }
            Effect::JailAddr {
                jid,
                jail,
                name,
                addr,
            } => {
                if same_jail(host, *jid, jail)? {
                    tolerate(
                        host.jail_if_addr_delete(*jid, name, *addr),
                        &[Errno::ENXIO, Errno::EADDRNOTAVAIL, Errno::EINVAL],
                    )
                } else {
                    Ok(())
                }
            }
            Effect::JailIfUp { jid, jail, name } => {
                if same_jail(host, *jid, jail)? {
                    tolerate(
                        host.jail_if_set_up(*jid, name, false),
                        &[Errno::ENXIO, Errno::EINVAL],
                    )
                } else {
                    Ok(())
                }
            }
            Effect::JailRoute { jid, jail, family } => {
                if same_jail(host, *jid, jail)? {
                    tolerate(
                        host.jail_route_delete_default(*jid, *family),
                        &[Errno::ESRCH, Errno::EINVAL],
                    )
                } else {
                    Ok(())
                }
            }
            Effect::JailCommandRun { .. } | Effect::CommandRun { .. } => Ok(()),
            Effect::EpairPending { before } => {
                destroy_unmarked(host, crate::host::IfKind::Epair, before)
            }
            Effect::BridgePending { before } => {
                destroy_unmarked(host, crate::host::IfKind::Bridge, before)
            }
            Effect::RealFileCreated { path } => match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(real_io(path, e)),
                _ => Ok(()),
            },
            Effect::TreeFilled { path } => {
                let rd = match std::fs::read_dir(path) {
                    Ok(rd) => rd,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                    Err(e) => return Err(real_io(path, e)),
                };
                for ent in rd {
                    let ent = ent.map_err(|e| real_io(path, e))?;
                    thinjail_release::template::remove_tree(&ent.path())
                        .map_err(|e| real_io(&ent.path(), std::io::Error::other(e)))?;
                }
                Ok(())
            }
            Effect::TreeCreated { path } => thinjail_release::template::remove_tree(path)
                .map_err(|e| real_io(path, std::io::Error::other(e))),
            Effect::FileReplaced { path, previous } => {
                let r = match previous {
                    Some(b) => std::fs::write(path, b),
                    None => match std::fs::remove_file(path) {
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                        r => r,
                    },
                };
                r.map_err(|e| real_io(path, e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_effect_roundtrips_through_a_journal_line() {
        let m = MountInfo {
            fstype: FsType::Devfs,
            source: "devfs".into(),
            at: "/j/dev".into(),
            readonly: false,
            ruleset: Some(5),
        };
        let all = vec![
            Effect::DatasetCreated {
                name: "zdata/j".into(),
            },
            Effect::DirCreated { path: "/j".into() },
            Effect::FileWritten {
                path: "/j/f".into(),
            },
            Effect::Mounted { mount: m.clone() },
            Effect::Unmounted { mount: m },
            Effect::JailCreated {
                jid: Some(3),
                name: "dev".into(),
            },
            Effect::JailCreated {
                jid: None,
                name: "dev".into(),
            },
            Effect::IfCreated {
                name: "epair0a".into(),
            },
            Effect::IfRenamed {
                from: "bridge0".into(),
                to: "igc0bridge".into(),
            },
            Effect::IfDescribed {
                name: "epair0a".into(),
                previous: None,
            },
            Effect::IfUp {
                name: "epair0a".into(),
            },
            Effect::BridgeMember {
                bridge: "bridge0".into(),
                member: "epair0a".into(),
            },
            Effect::VnetMoved {
                name: "epair0b".into(),
                jid: 3,
                jail: "dev".into(),
            },
            Effect::JailAddr {
                jid: 3,
                jail: "dev".into(),
                name: "epair0b".into(),
                addr: IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)),
            },
            Effect::JailAddr {
                jid: 3,
                jail: "dev".into(),
                name: "epair0b".into(),
                addr: "2001:db8::2".parse().unwrap(),
            },
            Effect::JailIfUp {
                jid: 3,
                jail: "dev".into(),
                name: "lo0".into(),
            },
            Effect::JailRoute {
                jid: 3,
                jail: "dev".into(),
                family: AddrFamily::Inet,
            },
            Effect::JailRoute {
                jid: 3,
                jail: "dev".into(),
                family: AddrFamily::Inet6,
            },
            Effect::JailCommandRun {
                jid: 3,
                jail: "dev".into(),
                argv: vec!["/bin/sh".into()],
            },
        ];
        for e in all {
            let line = serde_json::to_string(&e).unwrap();
            assert!(!line.contains('\n'));
            assert_eq!(serde_json::from_str::<Effect>(&line).unwrap(), e, "{line}");
        }
        let line = serde_json::to_string(&Effect::IfUp { name: "x".into() }).unwrap();
        assert_eq!(line, r#"{"effect":"if_up","name":"x"}"#);
    }

    /// Journals written before effects knew IPv6 still read, as IPv4.
    #[test]
    fn pre_ipv6_journal_lines_still_read() {
        let old_route = r#"{"effect":"jail_route","jid":3,"jail":"dev"}"#;
        assert_eq!(
            serde_json::from_str::<Effect>(old_route).unwrap(),
            Effect::JailRoute {
                jid: 3,
                jail: "dev".into(),
                family: AddrFamily::Inet,
            }
        );
        let old_addr =
            r#"{"effect":"jail_addr","jid":3,"jail":"dev","name":"epair0b","addr":"10.0.0.2"}"#;
        assert_eq!(
            serde_json::from_str::<Effect>(old_addr).unwrap(),
            Effect::JailAddr {
                jid: 3,
                jail: "dev".into(),
                name: "epair0b".into(),
                addr: "10.0.0.2".parse().unwrap(),
            }
        );
        let v6 = serde_json::to_string(&Effect::JailRoute {
            jid: 3,
            jail: "dev".into(),
            family: AddrFamily::Inet6,
        })
        .unwrap();
        assert!(v6.contains(r#""family":"inet6""#), "{v6}");
    }
}

#[cfg(test)]
mod devfs_undo_tests {
    use super::*;
    use crate::sim::SimHost;

    #[test]
    fn undoing_an_unmount_of_devfs_with_an_unknown_ruleset_is_refused_not_guessed() {
        let root = tempfile::tempdir().expect("tempdir");
        let host = SimHost::new(root.path()).expect("simhost");
        host.mkdir(std::path::Path::new("/dev5"), 0o755)
            .expect("mkdir");
        let unknown = Effect::Unmounted {
            mount: MountInfo {
                fstype: FsType::Devfs,
                source: "devfs".into(),
                at: "/dev5".into(),
                readonly: false,
                ruleset: None,
            },
        };
        let err = unknown
            .undo(&host)
            .expect_err("an unknown ruleset must not be guessed");
        assert_eq!(err.errno(), Some(Errno::EINVAL));
        assert!(err.to_string().contains("ruleset is unknown"), "{err}");
        assert!(
            host.mounts().expect("mounts").is_empty(),
            "nothing was mounted"
        );

        let known = Effect::Unmounted {
            mount: MountInfo {
                ruleset: Some(5),
                ..match &unknown {
                    Effect::Unmounted { mount } => mount.clone(),
                    _ => unreachable!(),
                }
            },
        };
        known
            .undo(&host)
            .expect("remount with the recorded ruleset");
        let mounts = host.mounts().expect("mounts");
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].ruleset, Some(5));
    }
}

#[cfg(test)]
mod net_undo_tests {
    use super::*;
    use crate::host::JailSpec;
    use crate::sim::SimHost;

    /// Undoing an IPv6 address or default route removes exactly that (the other family's
    /// address and route stay), and undoing it again counts as done.
    #[test]
    fn ipv6_address_and_route_undo_leave_ipv4_alone() {
        let root = tempfile::tempdir().expect("tempdir");
        let h = SimHost::new(root.path()).expect("simhost");
        h.mkdir(std::path::Path::new("/j"), 0o755).expect("mkdir");
        let spec = JailSpec {
            name: "dev".into(),
            path: "/j".into(),
            vnet: true,
            ..Default::default()
        };
        let jid = h.jail_create(&spec).expect("jail");
        let e = h.epair_create(None).expect("epair");
        h.if_move_to_jail(&e.b, jid).expect("vnet");
        for a in ["10.0.0.2/24", "2001:db8::2/64"] {
            h.jail_if_addr_add(jid, &e.b, a.parse().expect("net"))
                .expect("addr");
        }
        for g in ["10.0.0.1", "2001:db8::1"] {
            h.jail_route_add_default(jid, g.parse().expect("gw"))
                .expect("route");
        }
        let route6 = Effect::JailRoute {
            jid,
            jail: "dev".into(),
            family: AddrFamily::Inet6,
        };
        let addr6 = Effect::JailAddr {
            jid,
            jail: "dev".into(),
            name: e.b.clone(),
            addr: "2001:db8::2".parse().expect("addr"),
        };
        for _ in 0..2 {
            route6.undo(&h).expect("route undo");
            addr6.undo(&h).expect("addr undo");
        }
        let st = h.state();
        let j = &st.jails[&jid];
        assert_eq!(j.default_route6, None);
        assert_eq!(j.default_route, Some(std::net::Ipv4Addr::new(10, 0, 0, 1)));
        let b = &st.interfaces[&("dev".to_string(), e.b.clone())];
        assert!(b.addrs6.is_empty());
        assert_eq!(b.addrs, vec![(std::net::Ipv4Addr::new(10, 0, 0, 2), 24)]);
    }
}
