//! `exec.stop` follows jail(8): unbounded unless `exec.timeout` is set (command.c run_command;
//! `stop.timeout` is for term_procs only). One that outlives a set exec.timeout: the stop goes
//! on and removes the jail (SimHost answers the exec with ETIMEDOUT, as FreeBsdHost does after
//! killing the command).

use std::time::Duration;
use thinjail_core::host::{Errno, Host, OpKind};
use thinjail_core::model::{Storage, ThinJailSpec};
use thinjail_core::run::{Runner, generate_release};
use thinjail_core::sim::{FaultTrigger, SimHost};

#[test]
fn a_timed_out_exec_stop_does_not_stop_the_stop() {
    let dir = tempfile::tempdir().unwrap();
    let rel = tempfile::tempdir().unwrap();
    let (archive, manifest) = generate_release(rel.path()).unwrap();
    let host = SimHost::new(dir.path().join("root")).unwrap();
    let r = Runner::new(&host, dir.path().join("root"), dir.path().join("state"))
        .unwrap()
        .with_freebsd_update(false);
    let j = ThinJailSpec {
        storage: Storage::Directories,
        ..Default::default()
    }
    .build()
    .unwrap();
    r.host_init(j.layout(), Some("igc0bridge")).unwrap();
    r.template_create(j.template(), &archive, Some(&manifest))
        .unwrap();
    r.create(&j).unwrap();
    r.start(&j).unwrap();
    assert!(host.jail_by_name("dev").unwrap().is_some());

    // jail(8)'s default: no bound on exec.stop (a 10 s bound killed rc.shutdown early).
    let stop_cmd = format!("{:?}", r.stop_ops(&j).unwrap());
    assert!(stop_cmd.contains("timeout: None"), "{stop_cmd}");
    let limit = Duration::from_secs(30);
    let r = r.with_exec_timeout(Some(limit));
    let stop_cmd = format!("{:?}", r.stop_ops(&j).unwrap());
    assert!(
        stop_cmd.contains(&format!("timeout: Some({limit:?})")),
        "exec.stop carries exec.timeout: {stop_cmd}"
    );

    // The next jail command (exec.stop) times out.
    host.inject(FaultTrigger::NthOf(OpKind::JailExec, 1), Errno::ETIMEDOUT);
    let ctx = r
        .stop(&j)
        .expect("the stop goes on after a timed-out exec.stop");
    assert_eq!(ctx.stop_status.get("dev"), Some(&124));
    assert!(host.jail_by_name("dev").unwrap().is_none(), "jail removed");
    let left: Vec<_> = host
        .mounts()
        .unwrap()
        .into_iter()
        .filter(|m| m.at.starts_with(j.root()))
        .collect();
    assert!(
        left.is_empty(),
        "nothing left mounted under the jail: {left:?}"
    );

    // Any other exec.stop failure still stops the stop, with nothing removed.
    r.start(&j).unwrap();
    host.inject(FaultTrigger::NthOf(OpKind::JailExec, 1), Errno::EIO);
    assert!(r.stop(&j).is_err());
    assert!(
        host.jail_by_name("dev").unwrap().is_some(),
        "an EIO is not a timeout"
    );
}
