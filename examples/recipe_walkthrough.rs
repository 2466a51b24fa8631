//! The whole recipe: host init, template create (download and verify `base.txz`, extract,
//! split the skeleton, snapshot), jail create, start, enable at boot, then stop.
//!
//! On FreeBSD as root this runs on the real host; elsewhere it prints the plans and exits 0.
//! (`thinjail` with no arguments runs the same on a simulated host.)
//!
//! `cargo run --example recipe_walkthrough`

use std::process::ExitCode;

use thinjail::core::model::ThinJail;
use thinjail::core::plan;
use thinjail::core::run::{Runner, is_root, real_host};

fn main() -> ExitCode {
    let j = ThinJail::recipe_dev();
    if !(cfg!(target_os = "freebsd") && is_root()) {
        let p = plan::host_init(j.layout())
            .then(plan::template_create(j.template()))
            .then(plan::create(&j))
            .then(plan::start(&j))
            .then(plan::enable(&j));
        print!("{}", p.to_shell());
        return ExitCode::SUCCESS;
    }
    let run = || -> Result<(), Box<dyn std::error::Error>> {
        let host = real_host()?;
        let r = Runner::new(host.as_ref(), "/", "/var/db/thinjail")?;
        let bridge = j.vnet().map(|v| v.bridge.clone());
        r.host_init(j.layout(), bridge.as_deref())?;
        let t = j.template();
        let archive = r.real(&t.archive());
        if !archive.is_file() {
            let rel: thinjail::release::Release = t.release().name().parse()?;
            thinjail::release::fetch::Fetcher::new()
                .progress(true)
                .fetch_release(
                    "https://download.freebsd.org",
                    &rel,
                    &thinjail::release::Arch::AMD64,
                    "base.txz",
                    &archive,
                )?;
        }
        r.template_create(t, &archive, None)?;
        r.create(&j)?;
        r.start(&j)?;
        r.enable(&j)?;
        for s in r.list()? {
            println!(
                "{} jid {:?} epair {:?} inet {:?} inet6 {:?}",
                s.name, s.jid, s.epair, s.addrs, s.addrs6
            );
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("recipe_walkthrough: {e}");
            ExitCode::FAILURE
        }
    }
}
