//! The recipe's names and paths come out of the model exactly.

use thinjail_core::model::{
    Devfs, EpairNaming, HostLayout, Release, Storage, ThinJail, ThinJailSpec, VnetSpec,
};

#[test]
fn recipe_names_and_paths() {
    let j = ThinJail::recipe_dev();
    let l = j.layout();
    assert_eq!(l.jails_dataset(), "zdata/jails");
    assert_eq!(l.media_dataset(), "zdata/jails/media");
    assert_eq!(l.templates_dataset(), "zdata/jails/templates");
    assert_eq!(l.containers_dataset(), "zdata/jails/containers");
    let t = j.template();
    assert_eq!(t.dataset(), "zdata/jails/templates/14.2-RELEASE-base");
    assert_eq!(
        t.dir().to_str(),
        Some("/zdata/jails/templates/14.2-RELEASE-base")
    );
    assert_eq!(
        t.archive().to_str(),
        Some("/zdata/jails/media/14.2-RELEASE-base.txz")
    );
    assert_eq!(
        t.release().base_url(),
        "https://download.freebsd.org/ftp/releases/amd64/amd64/14.2-RELEASE/base.txz"
    );
    let s = j.skeleton();
    assert_eq!(s.dataset(), "zdata/jails/templates/14.2-RELEASE-skeleton");
    assert_eq!(
        s.snapshot(),
        "zdata/jails/templates/14.2-RELEASE-skeleton@base"
    );
    assert_eq!(
        j.clone_dataset().as_deref(),
        Some("zdata/jails/containers/dev")
    );
    assert_eq!(j.root().to_str(), Some("/zdata/jails/dev-nullfs-base"));
    assert_eq!(
        j.fstab_path().to_str(),
        Some("/zdata/jails/dev-nullfs-base.fstab")
    );
    assert_eq!(j.conf_path().to_str(), Some("/etc/jail.conf.d/dev.conf"));
    let [base, skel] = j.mounts();
    assert!(base.read_only && !skel.read_only);
    assert_eq!(
        skel.target.to_str(),
        Some("/zdata/jails/dev-nullfs-base/skeleton")
    );
    assert_eq!(j.devfs().ruleset(), 5);
    let v = j.vnet().unwrap();
    assert_eq!(v.bridge, "igc0bridge");
    assert_eq!(v.address.to_string(), "192.168.7.253/24");
    assert_eq!(v.gateway.to_string(), "192.168.7.101");
    assert_eq!(v.epair, EpairNaming::Kernel);
    assert_eq!(
        j.derived_epair_names(),
        ("dev_a".to_string(), "dev_b".to_string())
    );
    assert_eq!(HostLayout::recipe(), l.clone());
    assert_eq!(Release::recipe(), t.release().clone());
    assert_eq!(Devfs::default(), j.devfs());
    assert_eq!(VnetSpec::recipe(253).unwrap(), v.clone());
}

#[test]
fn directory_storage_has_no_datasets_to_clone() {
    let j = ThinJailSpec {
        storage: Storage::Directories,
        root: "/usr/jails".into(),
        ..Default::default()
    }
    .build()
    .unwrap();
    assert_eq!(j.clone_dataset(), None);
    assert_eq!(j.clone_dir().to_str(), Some("/usr/jails/containers/dev"));
}

#[test]
fn releases() {
    for ok in [
        "14.2-RELEASE",
        "14.3-RC1",
        "15.0-BETA2",
        "13.4-RELEASE-p3",
        "15.0-ALPHA5",
    ] {
        assert!(Release::new(ok, "amd64").is_ok(), "{ok}");
    }
    for bad in [
        "14.2",
        "14-RELEASE",
        "a.b-RELEASE",
        "14.2-RELEASED",
        "14.2-RC",
        "14.2-RELEASE-px",
        "",
    ] {
        assert_eq!(
            Release::new(bad, "amd64").unwrap_err().field(),
            "release",
            "{bad}"
        );
    }
    let r = Release::new("14.2-RELEASE", "arm64").unwrap();
    assert!(
        r.base_url()
            .contains("/releases/arm64/aarch64/14.2-RELEASE/")
    );
    assert!(r.manifest_url().ends_with("/MANIFEST"));
}

#[test]
fn vnet_validation() {
    let v = |a: &str, g: &str| VnetSpec::new("bridge0", a, g, None, None, EpairNaming::Kernel);
    assert!(
        v("10.0.0.2/31", "10.0.0.3").is_ok(),
        "point-to-point /31 has no broadcast"
    );
    assert_eq!(
        v("10.0.0.255/24", "10.0.0.1").unwrap_err().field(),
        "address"
    );
    assert_eq!(v("10.0.0.2/24", "10.0.0.2").unwrap_err().field(), "gateway");
    assert_eq!(v("10.0.0.2", "10.0.0.1").unwrap_err().field(), "address");
    let e = VnetSpec::new(
        "bridge0",
        "10.0.0.2/24",
        "10.0.0.1",
        None,
        Some("fe80::1"),
        EpairNaming::Kernel,
    );
    assert_eq!(e.unwrap_err().field(), "ipv6_gateway");
    let e = VnetSpec::new(
        "bridge0",
        "10.0.0.2/24",
        "10.0.0.1",
        Some("2001:db8::2/64"),
        Some("2001:db9::1"),
        EpairNaming::Kernel,
    );
    assert_eq!(e.unwrap_err().field(), "ipv6_gateway");
    // IPv6 addresses a jail's interface cannot have are refused before anything runs.
    let v6 = |a: &str, g: Option<&str>| {
        VnetSpec::new(
            "bridge0",
            "10.0.0.2/24",
            "10.0.0.1",
            Some(a),
            g,
            EpairNaming::Kernel,
        )
    };
    for bad in [
        "2001:db8::2/0",
        "::/64",
        "::1/128",
        "ff02::1/64",
        "fe80::2/64",
    ] {
        assert_eq!(v6(bad, None).unwrap_err().field(), "ipv6", "{bad}");
    }
    for bad in ["2001:db8::2", "ff02::2", "::"] {
        assert_eq!(
            v6("2001:db8::2/64", Some(bad)).unwrap_err().field(),
            "ipv6_gateway",
            "{bad}"
        );
    }
    assert!(v6("fd00:7::2/64", Some("fd00:7::1")).is_ok());
    assert!(v6("2001:db8::2/128", None).is_ok());
    assert!(Devfs::new(70000).is_err() && Devfs::new(0).is_err() && Devfs::new(4).is_ok());
}
