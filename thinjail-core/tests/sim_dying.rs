//! A removed jail that stays dying (SimHost::keep_dying_after_remove: processes still exiting,
//! a socket in TIME_WAIT) keeps its root busy: `jail stop` reports it and leaves its journal,
//! which blocks only that jail until the jail is gone; then the next command finishes the stop.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use thinjail_core::exec::ExecError;
use thinjail_core::host::{Errno, Host};
use thinjail_core::model::{Storage, ThinJail, ThinJailSpec, VnetStrings};
use thinjail_core::run::{RunError, Runner, generate_release};
use thinjail_core::sim::SimHost;

fn release() -> &'static (PathBuf, PathBuf) {
    static R: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        generate_release(&dir).unwrap()
    })
}

fn jail(name: &str, ip: &str) -> ThinJail {
    ThinJailSpec {
        name: name.into(),
        storage: Storage::Zfs,
        vnet: Some(VnetStrings {
            address: ip.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
    .build()
    .unwrap()
}

fn runner<'h>(host: &'h SimHost, dir: &Path) -> Runner<'h> {
    Runner::new(host, dir.join("root"), dir.join("state"))
        .unwrap()
        .with_freebsd_update(false)
}

#[test]
fn a_dying_jail_blocks_only_itself_until_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let host = SimHost::open_persistent(dir.path().join("root")).unwrap();
    host.add_pool("zdata").unwrap();
    let dev = jail("dev", "192.168.7.253/24");
    let r = runner(&host, dir.path());
    r.host_init(dev.layout(), Some("igc0bridge")).unwrap();
    let (a, m) = release();
    r.template_create(dev.template(), a, Some(m)).unwrap();
    r.create(&dev).unwrap();
    r.start(&dev).unwrap();

    host.keep_dying_after_remove("dev").unwrap();
    let err = r.stop(&dev).unwrap_err();
    let RunError::Exec(ExecError::Incomplete { cause, journal, .. }) = &err else {
        panic!("expected an incomplete stop, got {err:?}");
    };
    assert_eq!(cause.errno(), Some(Errno::EBUSY), "{err}");
    assert!(err.to_string().contains("still dying"), "{err}");
    assert!(journal.exists());
    // The jail itself is gone from view, as jls shows it without -d.
    assert!(host.jail_by_name("dev").unwrap().is_none());

    // The next command: recovery meets the dying jail again; the journal is kept and reported,
    // and only dev is blocked.
    let r = runner(&host, dir.path());
    assert_eq!(r.stuck_journals().len(), 1);
    assert_eq!(r.stuck_journals()[0].jails, ["dev"]);
    assert!(r.stuck_journals()[0].error.contains("still dying"));
    assert!(r.list().unwrap().iter().any(|s| s.name == "dev"));
    let web = jail("web", "192.168.7.252/24");
    r.create(&web).unwrap();
    r.start(&web).unwrap();
    assert!(matches!(r.start(&dev), Err(RunError::Refused(m)) if m.contains("journal")));

    // Its last reference goes: the next command finishes the stop.
    assert_eq!(host.reap_dying().unwrap(), 1);
    let r = runner(&host, dir.path());
    assert!(r.stuck_journals().is_empty());
    assert_eq!(r.recovered().len(), 1);
    assert!(
        !host
            .mounts()
            .unwrap()
            .iter()
            .any(|m| m.at.starts_with(dev.root()))
    );
    r.start(&dev).unwrap();
}
