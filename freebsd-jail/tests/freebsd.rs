//! Tests against a real FreeBSD kernel. They run only on FreeBSD, as root, outside a jail
//! (otherwise each prints why it skips). Nothing here runs on Linux.
#![cfg(target_os = "freebsd")]

use std::os::unix::process::CommandExt as _;
use std::process::Command;

use freebsd_jail::{Allow, Error, JailCommandExt as _, JailParams, JailSys, Kind, ParamType, Vnet};

fn can_run(test: &str) -> bool {
    // SAFETY: geteuid(2) has no preconditions.
    let why = if unsafe { libc::geteuid() } != 0 {
        "needs root"
    } else if freebsd_jail::host::is_jailed().unwrap() {
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

fn name(tag: &str) -> String {
    format!("fj-test-{tag}-{}", std::process::id())
}

#[test]
fn create_get_list_update_remove() {
    if !can_run("create_get_list_update_remove") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let n = name("life");
    let p = JailParams::builder()
        .name(n.as_str())
        .path(dir.path())
        .hostname("life.test")
        .enforce_statfs(2)
        .allow(Allow::MLOCK)
        .build()
        .unwrap();
    let jail = freebsd_jail::create(&p).unwrap();
    assert!(jail.jid() > 0);
    let by_jid = freebsd_jail::get(jail.jid()).unwrap();
    let by_name = freebsd_jail::get(n.as_str()).unwrap();
    assert_eq!(by_jid, by_name);
    assert_eq!(by_jid.name, n);
    assert_eq!(by_jid.hostname, "life.test");
    assert!(by_jid.persist && !by_jid.dying);
    assert_eq!(
        by_jid.path,
        dir.path().canonicalize().unwrap().to_str().unwrap()
    );
    assert_eq!(
        freebsd_jail::get_allow(jail.jid(), Allow::MLOCK | Allow::RAW_SOCKETS).unwrap(),
        Allow::MLOCK
    );
    let listed: Vec<_> = freebsd_jail::jails().collect::<Result<_, _>>().unwrap();
    assert!(listed.iter().any(|j| j.jid == jail.jid()));
    // Creating the same name again: Exists, with the kernel's message.
    match freebsd_jail::create(&p) {
        Err(Error::Exists { errmsg, .. }) => assert!(errmsg.contains("already exists")),
        other => panic!("{other:?}"),
    }
    let up = JailParams::builder().securelevel(1).build().unwrap();
    jail.update(&up).unwrap();
    assert_eq!(jail.info().unwrap().securelevel, 1);
    let jid = jail.jid();
    jail.remove().unwrap();
    // Gone (EINVAL) or, if the kernel still holds it, dying (which jail_remove answers with 0).
    assert!(matches!(
        freebsd_jail::remove(jid),
        Ok(()) | Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        freebsd_jail::get(n.as_str()),
        Err(Error::NotFound { .. } | Error::Dying { .. })
    ));
}

#[test]
fn vnet_jail_and_exec() {
    if !can_run("vnet_jail_and_exec") {
        return;
    }
    if !freebsd_jail::host::vimage_supported().unwrap() {
        eprintln!("skipping vnet_jail_and_exec: kernel without VIMAGE");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("/rescue/sh", dir.path().join("sh")).unwrap();
    let p = JailParams::builder()
        .name(name("vnet").as_str())
        .path(dir.path())
        .vnet(Vnet::New)
        .build()
        .unwrap();
    let jail = freebsd_jail::create(&p).unwrap();
    assert_eq!(jail.info().unwrap().vnet, Some(JailSys::New));
    let log = dir.path().join("console.log");
    let plan = jail.exec().unwrap().consolelog(&log).plan().unwrap();
    let status = Command::new("/sh")
        .arg0("sh")
        .args(["-c", "echo cwd=$(pwd); exit 3"])
        .jail_exec(&plan)
        .unwrap()
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(3));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "cwd=/\n");
    jail.remove().unwrap();
}

#[test]
fn kernel_rejections_are_typed() {
    if !can_run("kernel_rejections_are_typed") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = JailParams::builder()
        .name(name("bad").as_str())
        .path(dir.path())
        .param("allow.no_such_permission", freebsd_jail::Value::Bool(true))
        .build()
        .unwrap();
    match freebsd_jail::create(&p) {
        Err(Error::InvalidParameter { param, .. }) => {
            assert_eq!(param.as_deref(), Some("allow.no_such_permission"))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        freebsd_jail::attach(999_998),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn param_types_from_sysctl() {
    let t = |n: &str| freebsd_jail::param_type(n).unwrap();
    assert_eq!(t("persist"), ParamType::scalar(Kind::Bool));
    assert_eq!(t("nopersist"), ParamType::scalar(Kind::NoBool));
    assert_eq!(
        t("host.hostname"),
        ParamType::scalar(Kind::Str { max_len: 256 })
    );
    assert_eq!(t("path"), ParamType::scalar(Kind::Str { max_len: 1024 }));
    assert_eq!(t("enforce_statfs"), ParamType::scalar(Kind::Int));
    assert_eq!(t("allow.mount"), ParamType::scalar(Kind::Bool));
    // The `no` form of a node-described boolean (libjail jailparam_type goes on into the node
    // case with JP_NOBOOL), and of a plain one below a node.
    assert_eq!(t("allow.nomount"), ParamType::scalar(Kind::NoBool));
    assert_eq!(t("allow.mount.nozfs"), ParamType::scalar(Kind::NoBool));
    assert_eq!(t("allow.noset_hostname"), ParamType::scalar(Kind::NoBool));
    // Not booleans: no `no` form.
    assert!(freebsd_jail::param_type("nopath").is_err());
    assert!(freebsd_jail::param_type("allow.nosuch").is_err());
    assert_eq!(
        t("ip4.addr"),
        ParamType {
            kind: Kind::InAddr,
            array: true
        }
    );
    if freebsd_jail::host::vimage_supported().unwrap() {
        assert_eq!(t("vnet"), ParamType::scalar(Kind::JailSys));
    }
    assert!(freebsd_jail::param_type("no_such_parameter").is_err());
    // No `security.jail.children.*` sysctl exists (it failed with ENOENT on FreeBSD 13.2 in
    // the VM): the limits follow the kernel's rules instead, and must agree with a jail the
    // test makes.
    let before = freebsd_jail::host::limits().unwrap();
    assert_eq!(before.children_max, Some(freebsd_jail::host::JAIL_MAX));
    let j = freebsd_jail::JailParams::builder()
        .name(name("limits"))
        .path("/")
        .persist(true)
        .build()
        .unwrap();
    let made = freebsd_jail::create(&j).unwrap();
    let during = freebsd_jail::host::limits().unwrap();
    freebsd_jail::remove(made.jid()).unwrap();
    // Other tests of this binary make jails concurrently: the count is at least ours.
    assert!(during.children_cur >= 1, "{during:?}");
    assert!(during.children_max.unwrap() >= during.children_cur);
}

#[test]
fn terminate_processes_as_jail_r_does() {
    use freebsd_jail::term::{TermOutcome, terminate_processes};
    use std::time::{Duration, Instant};
    if !can_run("terminate_processes_as_jail_r_does") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // /rescue is one crunched binary that acts by argv[0]: sh and sleep.
    std::fs::copy("/rescue/sh", dir.path().join("sh")).unwrap();
    let p = JailParams::builder()
        .name(name("term").as_str())
        .path(dir.path())
        .build()
        .unwrap();
    let jail = freebsd_jail::create(&p).unwrap();
    let plan = jail.exec().unwrap().plan().unwrap();
    let spawn = |arg0: &str, args: &[&str]| {
        Command::new("/sh")
            .arg0(arg0)
            .args(args)
            .jail_exec(&plan)
            .unwrap()
            .spawn()
            .unwrap()
    };
    // Nothing running: nothing to do.
    let none = terminate_processes(jail.jid(), Duration::from_secs(5), Duration::from_secs(1));
    assert_eq!(none.unwrap(), TermOutcome::NoProcesses);
    // sleep exits on SIGTERM, long before the timeout.
    let mut sleeper = spawn("sleep", &["60"]);
    let t = Instant::now();
    let out = terminate_processes(jail.jid(), Duration::from_secs(5), Duration::from_secs(1));
    assert_eq!(out.unwrap(), TermOutcome::Terminated);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(
        sleeper.wait().unwrap().code().is_none(),
        "ended by a signal"
    );
    // A shell that ignores SIGTERM is killed once the timeout has passed.
    let mut stubborn = spawn("sh", &["-c", "trap '' TERM; while :; do :; done"]);
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let out = terminate_processes(jail.jid(), Duration::from_secs(1), Duration::from_secs(2));
    assert_eq!(out.unwrap(), TermOutcome::Killed);
    assert!(t.elapsed() >= Duration::from_secs(1));
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(stubborn.wait().unwrap().signal(), Some(libc::SIGKILL));
    jail.remove().unwrap();
    // A removed jail cannot be attached to.
    let gone = terminate_processes(i32::MAX, Duration::from_secs(1), Duration::from_secs(1));
    assert!(matches!(gone, Err(Error::NotFound { .. })), "{gone:?}");
}
