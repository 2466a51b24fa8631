//! Golden tests: the recipe's own jail.conf, dev.conf and fstab resolve to the parameters
//! jail(8) would use; the files thinjail renders for a thin jail parse back to the same model.

use serde_json::json;
use std::path::Path;
use thinjail_core::fstab::Fstab;
use thinjail_core::jailconf::{Config, DumpValue, dump_json, parse, render};
use thinjail_core::model::{EpairNaming, Storage, ThinJail, ThinJailSpec, VnetStrings};

fn data(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(p)
}

#[test]
fn recipe_jail_conf_dumps_what_jail8_uses() {
    // The recipe's files verbatim, except that the include is relative to this directory.
    let cfg = Config::load(&data("recipe-jail.conf")).unwrap();
    let jails = cfg.resolve().unwrap();
    assert_eq!(jails.len(), 1, "the global section is not a jail");
    let got = dump_json(&jails);
    let want = json!({
        "dev": {
            "name": ["dev"],
            "exec.start": [
                "/bin/sh /etc/rc",
                "ifconfig epair253b 192.168.7.253/24 up",
                "route add default 192.168.7.101"
            ],
            "exec.stop": ["/bin/sh /etc/rc.shutdown"],
            "exec.consolelog": ["/var/log/jail_console_dev.log"],
            "allow.raw_sockets": true,
            "exec.clean": true,
            "mount.devfs": true,
            "host.hostname": ["dev"],
            "interface": ["igc0bridge"],
            "devfs_ruleset": ["5"],
            "path": ["/zdata/jails/dev-nullfs-base"],
            "vnet": true,
            "vnet.interface": ["epair253b"],
            "exec.prestart": [
                "ifconfig epair253 create up",
                "ifconfig epair253a up descr jail:dev",
                "ifconfig igc0bridge addm epair253a up"
            ],
            "exec.poststop": [
                "ifconfig igc0bridge deletem epair253a",
                "ifconfig epair253a destroy"
            ],
            "mount.fstab": ["/zdata/jails/dev-nullfs-base.fstab"]
        }
    });
    assert_eq!(got, want);
    // jail(8)'s parameter order: name, globals (they precede the jail), then the jail's own.
    let order: Vec<&str> = jails[0].params.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(order[..3], ["name", "exec.start", "exec.stop"]);
    assert_eq!(order.last(), Some(&"mount.fstab"));
    // The recipe's ordering bug, visible in the dump: /etc/rc runs before the network is set.
    assert_eq!(
        jails[0].get("exec.start").map(|v| match v {
            DumpValue::List(l) => l[0].as_str(),
            DumpValue::True => "",
        }),
        Some("/bin/sh /etc/rc")
    );
}

#[test]
fn recipe_fstab_matches_the_thin_jail_model() {
    let text = std::fs::read_to_string(data("recipe-dev.fstab")).unwrap();
    let recipe = Fstab::parse(&text, "recipe-dev.fstab").unwrap();
    let ours = ThinJail::recipe_dev().fstab();
    let norm = |f: &Fstab| -> Vec<(String, String, String, String)> {
        f.entries()
            .map(|e| {
                (
                    e.spec.clone(),
                    e.file.trim_end_matches('/').to_string(),
                    e.vfstype.clone(),
                    e.mntops.clone(),
                )
            })
            .collect()
    };
    assert_eq!(norm(&recipe), norm(&ours));
    // and ours round-trips through its own text
    assert_eq!(Fstab::parse(&ours.render(), "x").unwrap(), ours);
}

fn check_rendered_files(j: &ThinJail) {
    let dir = tempfile::tempdir().unwrap();
    let common = render(&j.jail_conf_common());
    let own = render(&j.jail_conf());
    // Both parse back to exactly the trees that were rendered.
    assert_eq!(
        parse(&common, "jail.conf").unwrap().without_positions(),
        j.jail_conf_common()
    );
    assert_eq!(
        parse(&own, "dev.conf").unwrap().without_positions(),
        j.jail_conf()
    );
    // Laid out as on the host (include made relative), they resolve to the model's values.
    let common_local = common.replace("/etc/jail.conf.d/*.conf", "jail.conf.d/*.conf");
    std::fs::create_dir(dir.path().join("jail.conf.d")).unwrap();
    std::fs::write(dir.path().join("jail.conf"), common_local).unwrap();
    std::fs::write(
        dir.path().join(format!("jail.conf.d/{}.conf", j.name())),
        &own,
    )
    .unwrap();
    let jails = Config::load(&dir.path().join("jail.conf"))
        .unwrap()
        .resolve()
        .unwrap();
    assert_eq!(jails.len(), 1);
    let r = &jails[0];
    assert_eq!(r.name, j.name());
    assert_eq!(r.scalar("path"), Some(j.root().to_str().unwrap()));
    assert_eq!(
        r.scalar("mount.fstab"),
        Some(j.fstab_path().to_str().unwrap())
    );
    assert_eq!(
        r.scalar("devfs_ruleset"),
        Some(j.devfs().ruleset().to_string().as_str())
    );
    assert_eq!(r.scalar("host.hostname"), Some(j.hostname()));
    assert_eq!(r.get("mount.devfs"), Some(&DumpValue::True));
    let list = |n: &str| match r.get(n) {
        Some(DumpValue::List(l)) => l.clone(),
        _ => Vec::new(),
    };
    let prestart = list("exec.prestart");
    let rs = j.devfs().ruleset();
    assert!(
        prestart[0].starts_with(&format!("devfs rule -s {rs} show | grep -q . && ")),
        "{prestart:?}"
    );
    // The jail's /dev is looked at through the resolved path (jail(8) has mounted it by then).
    let path = r.scalar("path").unwrap();
    for d in ["mem", "kmem", "io"] {
        assert!(
            prestart[0].contains(&format!("[ ! -e \"{path}/dev/{d}\" ]")),
            "{prestart:?}"
        );
    }
    match j.vnet() {
        Some(v) => {
            let (a, b) = j.derived_epair_names();
            assert_eq!(r.get("vnet"), Some(&DumpValue::True));
            assert_eq!(r.scalar("vnet.interface"), Some(b.as_str()));
            // a leftover pair is destroyed before a new one is made, with no fixed unit number
            assert_eq!(
                prestart[1],
                format!("ifconfig {a} destroy 2>/dev/null || true")
            );
            assert_eq!(
                prestart[2],
                format!(
                    "e=$(ifconfig epair create) && ifconfig $e name {a} && ifconfig ${{e%a}}b name {b}"
                )
            );
            assert!(prestart.iter().all(|c| !c.contains("epair253")));
            // network first, /etc/rc last
            let start = list("exec.start");
            assert_eq!(start[0], format!("ifconfig {b} inet {} up", v.address));
            assert_eq!(start[1], format!("route add default {}", v.gateway));
            assert_eq!(start.last().map(String::as_str), Some("/bin/sh /etc/rc"));
            assert_eq!(
                list("exec.poststop"),
                vec![
                    format!("ifconfig {} deletem {a}", v.bridge),
                    format!("ifconfig {a} destroy")
                ]
            );
        }
        None => {
            assert_eq!(r.get("vnet"), None);
            assert_eq!(list("exec.start"), vec!["/bin/sh /etc/rc".to_string()]);
        }
    }
    for p in j.params() {
        match &p.value {
            Some(v) => assert_eq!(r.scalar(&p.name), Some(v.as_str())),
            None => assert_eq!(r.get(&p.name), Some(&DumpValue::True)),
        }
    }
    // Formatting the rendered files again changes nothing.
    assert_eq!(render(&parse(&own, "x").unwrap()), own);
    assert_eq!(render(&parse(&common, "x").unwrap()), common);
}

#[test]
fn rendered_recipe_jail_parses_back_to_the_model() {
    check_rendered_files(&ThinJail::recipe_dev());
}

#[test]
fn rendered_variants_parse_back_to_the_model() {
    let specs = [
        ThinJailSpec {
            name: "web_1".into(),
            hostname: "web.example.org".into(),
            devfs_ruleset: 10,
            root: "/srv/jails dir".into(),
            params: vec!["allow.mlock".into(), "enforce_statfs=1".into()],
            ..Default::default()
        },
        ThinJailSpec {
            name: "nonet".into(),
            vnet: None,
            storage: Storage::Directories,
            ..Default::default()
        },
        ThinJailSpec {
            name: "v6".into(),
            vnet: Some(VnetStrings {
                ipv6: Some("2001:db8::5/64".into()),
                ipv6_gateway: Some("fe80::1".into()),
                epair: EpairNaming::Derived,
                ..Default::default()
            }),
            ..Default::default()
        },
    ];
    for s in specs {
        let j = match s.build() {
            Ok(j) => j,
            Err(e) if s.root.contains(' ') => {
                assert_eq!(e.field(), "root");
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        check_rendered_files(&j);
    }
}
