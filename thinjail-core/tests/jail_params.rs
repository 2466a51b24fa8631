//! Further jail parameters (`JailSpec::params`, `ThinJail::params`) from the model to the
//! kernel on SimHost: each refusal of the simulated kernel (FreeBSD 14's table and rules,
//! `thinjail_core::jailparams`) leaves the host unchanged; accepted parameters reach the jail
//! (`SimHost::state()`, `jail_by_name`); the runner refuses bad values while planning, before
//! anything on the host changes; a fault injected at `jail_create` of a jail with parameters
//! is still undone.

mod sim_fixture;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use sim_fixture::fixture;
use thinjail_core::host::{Errno, Host, JailSpec, OpKind};
use thinjail_core::model::{ThinJail, ThinJailSpec};
use thinjail_core::run::{RunError, Runner, generate_release};
use thinjail_core::sim::{FaultTrigger, SimHost, SimState};

const BRIDGE: &str = "igc0bridge";

fn spec(name: &str, vnet: bool, params: &[(&str, Option<&str>)]) -> JailSpec {
    JailSpec {
        name: name.into(),
        path: PathBuf::from(format!("/zdata/jails/{name}")),
        hostname: Some(format!("{name}.local")),
        vnet,
        devfs_ruleset: Some(5),
        enforce_statfs: Some(2),
        allow: vec!["raw_sockets".into()],
        params: params
            .iter()
            .map(|(n, v)| (n.to_string(), v.map(str::to_string)))
            .collect(),
        ..JailSpec::default()
    }
}

/// `jail_create` on the fixture host must fail with `errno`; the host is unchanged.
fn refused(host: &SimHost, s: &JailSpec, errno: Errno) -> String {
    let before = host.state();
    let e = host.jail_create(s).unwrap_err();
    assert_eq!(e.errno(), Some(errno), "{:?}: {e}", s.params);
    assert_eq!(e.op(), OpKind::JailCreate);
    assert!(e.to_string().contains(&format!("jail {:?}", s.name)), "{e}");
    assert_eq!(host.state(), before, "{:?} changed the host", s.params);
    assert!(host.jail_by_name(&s.name).unwrap().is_none());
    e.to_string()
}

#[test]
fn simhost_refuses_what_the_kernel_refuses() {
    let fx = fixture();
    let h = &fx.host;
    h.mkdir(Path::new("/zdata/jails/j"), 0o755).unwrap();
    let r = |params: &[(&str, Option<&str>)], errno| refused(h, &spec("j", true, params), errno);
    let mut n = 0;
    // Unknown names: ENOENT with libjail's message.
    for bad in [
        "allow.flying",
        "securelevels",
        "nosysvshm",
        "exec.start",
        "meta",
    ] {
        let m = r(&[(bad, None)], Errno::ENOENT);
        assert!(m.contains(&format!("unknown parameter: {bad}")), "{m}");
        n += 1;
    }
    for (p, v, errno) in [
        // Values that do not parse as the parameter's type.
        ("securelevel", Some("abc"), Errno::EINVAL),
        ("securelevel", None, Errno::EINVAL),
        ("allow.mlock", Some("yes"), Errno::EINVAL),
        ("host.hostid", Some("-"), Errno::EINVAL),
        ("linux.oss_version", Some("1.5"), Errno::EINVAL),
        // jailsys values.
        ("sysvshm", Some("sometimes"), Errno::EINVAL),
        ("sysvmsg", Some("3"), Errno::EINVAL),
        ("sysvsem", Some("-1"), Errno::EINVAL),
        ("host", Some("disable"), Errno::EINVAL),
        // The kernel's ranges.
        ("securelevel", Some("-2"), Errno::EPERM),
        ("osrelease", Some(""), Errno::EINVAL),
        (
            "osrelease",
            Some("14.2-RELEASE-p99-and-a-long-tail"),
            Errno::EINVAL,
        ),
        ("osreldate", Some("0"), Errno::EINVAL),
        ("jid", Some("-4"), Errno::EINVAL),
        ("host.domainname", Some(&"d".repeat(256)), Errno::EINVAL),
        // Read-only parameters are not taken by jail_set(2).
        ("dying", None, Errno::EINVAL),
        ("children.cur", Some("0"), Errno::EINVAL),
        ("parent", Some("0"), Errno::EINVAL),
        // Fields of JailSpec are not repeated in params.
        ("enforce_statfs", Some("1"), Errno::EINVAL),
        ("children.max", Some("-1"), Errno::EINVAL),
        ("path", Some("/tmp"), Errno::EINVAL),
        ("nopersist", None, Errno::EINVAL),
        ("vnet", Some("new"), Errno::EINVAL),
        // VNET jails refuse IP restrictions, whatever form they take.
        ("ip4", Some("inherit"), Errno::EINVAL),
        ("ip6", Some("disable"), Errno::EINVAL),
        ("ip6.addr", Some("2001:db8::2"), Errno::EINVAL),
    ] {
        let m = r(&[(p, v)], errno);
        assert!(
            m.contains(p) || m.contains("vnet jails") || m.contains("below"),
            "{m}"
        );
        n += 1;
    }
    // Typed fields keep the kernel's ranges.
    let mut s = spec("j", true, &[]);
    s.enforce_statfs = Some(3);
    refused(h, &s, Errno::EINVAL);
    let mut s = spec("j", true, &[]);
    s.children_max = Some(999_999);
    refused(h, &s, Errno::EPERM);
    let mut s = spec("j", false, &[]);
    s.ip4 = vec!["0.0.0.0".parse().unwrap()];
    refused(h, &s, Errno::EINVAL);
    let mut s = spec("j", true, &[]);
    s.ip4 = vec!["10.0.0.2".parse().unwrap()];
    refused(h, &s, Errno::EINVAL);
    // A bad parameter after good ones still refuses the whole jail.
    refused(
        h,
        &spec(
            "j",
            true,
            &[("securelevel", Some("3")), ("sysvshm", Some("bogus"))],
        ),
        Errno::EINVAL,
    );
    n += 5;
    println!("SimHost refusals with the host unchanged: {n} of {n}");
}

#[test]
fn params_reach_the_jail() {
    let fx = fixture();
    let h = &fx.host;
    h.mkdir(Path::new("/zdata/jails/j"), 0o755).unwrap();
    let s = spec(
        "j",
        true,
        &[
            ("securelevel", Some("3")),
            ("sysvshm", Some("new")),
            ("sysvmsg", None),
            ("sysvsem", Some("INHERIT")),
            ("osrelease", Some("13.2-RELEASE")),
            ("osreldate", Some("1302001")),
            ("host.domainname", Some("example.org")),
            ("allow.mount.nullfs", None),
            ("allow.mount", Some("1")),
            ("allow.noraw_sockets", None),
            ("allow.mlock", None),
            ("allow.nomlock", Some("false")),
            ("ip4.nosaddrsel", None),
            ("linux.osrelease", Some("5.15.0")),
            ("securelevel", Some("2")),
        ],
    );
    let jid = h.jail_create(&s).unwrap();
    let st = h.state();
    let j = &st.jails[&jid];
    let want: Vec<(&str, &str)> = vec![
        ("host.domainname", "example.org"),
        ("ip4.saddrsel", "false"),
        ("linux.osrelease", "5.15.0"),
        ("osreldate", "1302001"),
        ("osrelease", "13.2-RELEASE"),
        ("securelevel", "2"),
        ("sysvmsg", "new"),
        ("sysvsem", "inherit"),
        ("sysvshm", "new"),
    ];
    let got: Vec<(&str, &str)> = j
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(got, want);
    let allow: Vec<&str> = j.allow.iter().map(String::as_str).collect();
    assert_eq!(allow, ["mlock", "mount", "mount.nullfs"]);
    let info = h.jail_by_name("j").unwrap().unwrap();
    assert_eq!(info.params, j.params);
    assert_eq!(h.jails().unwrap()[0].params, j.params);
    // An explicit jid is the jail's jid.
    h.mkdir(Path::new("/zdata/jails/k"), 0o755).unwrap();
    let k = h
        .jail_create(&spec(
            "k",
            false,
            &[("jid", Some("77")), ("ip4", Some("disable"))],
        ))
        .unwrap();
    assert_eq!(k, 77);
    assert_eq!(h.state().jails[&77].params["ip4"], "disable");
    h.mkdir(Path::new("/zdata/jails/l"), 0o755).unwrap();
    refused(h, &spec("l", false, &[("jid", Some("77"))]), Errno::EEXIST);
    // JailInfo stays compatible: no params, no field in JSON; old JSON reads.
    let mut plain = info.clone();
    plain.params.clear();
    let v = serde_json::to_value(&plain).unwrap();
    assert!(v.get("params").is_none(), "{v}");
    let back: thinjail_core::host::JailInfo = serde_json::from_value(v).unwrap();
    assert_eq!(back, plain);
    let old_spec = serde_json::json!({
        "name": "x", "path": "/x", "hostname": null, "vnet": true, "ip4": [],
        "devfs_ruleset": 5, "enforce_statfs": 2, "children_max": null, "allow": []
    });
    let s: JailSpec = serde_json::from_value(old_spec).unwrap();
    assert!(s.params.is_empty());
}

// ---- through the runner ----

fn release() -> &'static (PathBuf, PathBuf) {
    static R: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        generate_release(&dir).unwrap()
    })
}

fn runner<'h>(host: &'h SimHost, dir: &Path) -> Runner<'h> {
    Runner::new(host, dir.join("root"), dir.join("state"))
        .unwrap()
        .with_freebsd_update(false)
}

fn jail(name: &str, params: &[&str]) -> Result<ThinJail, String> {
    ThinJailSpec {
        name: name.into(),
        params: params.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
    .build()
    .map_err(|e| e.to_string())
}

/// A host after `host init` and `template create`.
fn host(dir: &Path) -> SimHost {
    let host = SimHost::new(dir.join("root")).unwrap();
    host.add_pool("zdata").unwrap();
    let r = runner(&host, dir);
    let j = ThinJail::recipe_dev();
    r.host_init(j.layout(), Some(BRIDGE)).unwrap();
    let (a, m) = release();
    r.template_create(j.template(), a, Some(m)).unwrap();
    host
}

fn console_free(host: &SimHost) -> SimState {
    let mut st = host.state();
    st.files
        .retain(|p, _| !p.to_string_lossy().starts_with("var/log/jail_console_"));
    st
}

#[test]
fn runner_applies_params_when_it_starts_the_jail() {
    let d = tempfile::tempdir().unwrap();
    let h = host(d.path());
    let r = runner(&h, d.path());
    let j = jail(
        "dev",
        &[
            "securelevel=3",
            "sysvshm=new",
            "osrelease=13.2-RELEASE",
            "allow.mount.nullfs",
            "allow.mount",
            "enforce_statfs=1",
            "children.max=4",
            "host.domainname=example.org",
        ],
    )
    .unwrap();
    let spec = r.jail_spec(&j).unwrap();
    assert_eq!(spec.enforce_statfs, Some(1));
    assert_eq!(spec.children_max, Some(4));
    assert_eq!(spec.allow, ["raw_sockets", "mount.nullfs", "mount"]);
    let names: Vec<&str> = spec.params.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["securelevel", "sysvshm", "osrelease", "host.domainname"]
    );
    r.create(&j).unwrap();
    r.start(&j).unwrap();
    let info = h.jail_by_name("dev").unwrap().unwrap();
    assert_eq!(info.params["securelevel"], "3");
    assert_eq!(info.params["sysvshm"], "new");
    assert_eq!(info.params["osrelease"], "13.2-RELEASE");
    assert_eq!(info.params["host.domainname"], "example.org");
    let st = h.state();
    assert!(st.jails[&info.jid].allow.contains("mount.nullfs"));
    // The same parameters are in the jail's jail.conf for `service jail start`.
    let conf =
        std::fs::read_to_string(h.real_path(Path::new("/etc/jail.conf.d/dev.conf"))).unwrap();
    assert!(
        conf.contains("securelevel") && conf.contains("sysvshm"),
        "{conf}"
    );
    r.stop(&j).unwrap();
    assert!(h.jail_by_name("dev").unwrap().is_none());
}

#[test]
fn runner_refuses_bad_params_before_changing_anything() {
    let d = tempfile::tempdir().unwrap();
    let h = host(d.path());
    let r = runner(&h, d.path());
    // Refused by `jail create` (values of kernel parameters).
    let mut n = 0;
    for bad in [
        "securelevel=abc",
        "securelevel=-5",
        "sysvshm=maybe",
        "enforce_statfs=7",
        "children.max=-1",
        "osrelease=",
        "allow.mlock=perhaps",
        "ip6.addr=not-an-address",
    ] {
        let j = jail("dev", &[bad]).unwrap();
        let before = h.state();
        let e = r.create(&j).unwrap_err();
        assert!(matches!(e, RunError::Refused(_)), "{bad}: {e}");
        let name = bad.split('=').next().unwrap();
        assert!(e.to_string().contains(name), "{bad}: {e}");
        assert_eq!(h.state(), before, "{bad}");
        n += 1;
    }
    // Refused by `jail start` (names it cannot apply), after a create that accepted them for
    // jail.conf.
    for bad in [
        "allow.flying",
        "exec.stop=/bin/sh /etc/rc.shutdown jail",
        "mount.fdescfs",
        "depend=db",
        "ip4.addr=192.168.7.9",
        "ip4=inherit",
    ] {
        let d = tempfile::tempdir().unwrap();
        let h = host(d.path());
        let r = runner(&h, d.path());
        let j = jail("dev", &[bad]).unwrap();
        r.create(&j).unwrap();
        let before = h.state();
        let log0 = h.op_counts().1;
        let e = r.start(&j).unwrap_err();
        assert!(matches!(e, RunError::Refused(_)), "{bad}: {e}");
        assert!(
            e.to_string().contains(bad.split('=').next().unwrap()),
            "{e}"
        );
        assert_eq!(h.state(), before, "{bad}");
        assert_eq!(
            h.op_counts().1,
            log0,
            "{bad}: a state-changing call was made"
        );
        n += 1;
    }
    println!("runner refusals with the host unchanged: {n} of {n}");
}

#[test]
fn fault_at_jail_create_with_params_is_undone() {
    let d = tempfile::tempdir().unwrap();
    let h = host(d.path());
    let r = runner(&h, d.path());
    let j = jail(
        "dev",
        &["securelevel=3", "sysvshm=new", "allow.mount.nullfs"],
    )
    .unwrap();
    r.create(&j).unwrap();
    let before = console_free(&h);
    let mut n = 0;
    for errno in [Errno::EIO, Errno::EPERM, Errno::EAGAIN] {
        h.inject(FaultTrigger::NthOf(OpKind::JailCreate, 1), errno);
        let e = r.start(&j).unwrap_err();
        assert!(e.to_string().contains("jail_create"), "{e}");
        assert_eq!(console_free(&h), before, "fault {errno}");
        h.clear_faults();
        n += 1;
    }
    // A fault after the jail exists (the epair) undoes the jail too.
    h.inject(FaultTrigger::NthOf(OpKind::EpairCreate, 1), Errno::ENOSPC);
    r.start(&j).unwrap_err();
    assert_eq!(console_free(&h), before);
    h.clear_faults();
    n += 1;
    r.start(&j).unwrap();
    assert_eq!(
        h.jail_by_name("dev").unwrap().unwrap().params["securelevel"],
        "3"
    );
    println!("faults at jail start with parameters undone: {n} of {n}");
}

proptest! {
    /// Any integer text is read as jail(8) reads it: within i32 it is the value, otherwise
    /// refused; booleans read every integer as true unless 0.
    #[test]
    fn integer_and_boolean_text(v in any::<i64>()) {
        use freebsd_jail::Value;
        use thinjail_core::jailparams::check_text;
        let t = v.to_string();
        match check_text("osreldate", Some(&t)) {
            Ok((_, Value::Int(i))) => prop_assert_eq!(i64::from(i), v),
            Ok(other) => prop_assert!(false, "{:?}", other),
            Err(e) => prop_assert!(v == 0 || i32::try_from(v).is_err(), "{}: {}", v, e),
        }
        if let Ok(b) = i32::try_from(v) {
            let (n, val) = check_text("allow.nomlock", Some(&t)).unwrap();
            prop_assert_eq!(n, "allow.mlock");
            prop_assert_eq!(val, Value::Bool(b == 0));
        }
    }

    /// Text that is not a jailsys word or 0..=2 is refused with EINVAL; the words in any case
    /// are accepted; nothing panics.
    #[test]
    fn jailsys_text(t in "\\PC{0,12}") {
        use thinjail_core::jailparams::check_text;
        let ok = matches!(
            t.to_ascii_lowercase().as_str(),
            "" | "disable" | "new" | "inherit"
        ) || matches!(t.trim().parse::<i32>(), Ok(0..=2));
        match check_text("sysvshm", Some(&t)) {
            Ok(_) => prop_assert!(ok, "{:?} accepted", t),
            Err(e) => {
                prop_assert!(!ok, "{:?} refused: {}", t, e);
                prop_assert_eq!(e.errno, Errno::EINVAL);
            }
        }
    }
}
