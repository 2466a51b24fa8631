//! The whole recipe: host init, template create (download and verify `base.txz`, extract,
//! split the skeleton, snapshot), jail create, start, enable at boot, then stop.
//!
//! On FreeBSD as root this runs on the real host; elsewhere it prints the plans and exits 0.
//! (`thinjail` with no arguments runs the same on a simulated host.)
//!
//! ```text
//! cargo run --example recipe_walkthrough [-- --release REL --archive base.txz [--manifest MANIFEST]]
//! ```
//!
//! Without `--archive`, `base.txz` of `--release` (default 14.2-RELEASE) is downloaded and
//! verified against the release's MANIFEST; with it, the local archive is used (checked against
//! `--manifest` when given).

use std::process::ExitCode;

use clap::Parser as _;
use thinjail::core::plan;
use thinjail::core::run::{Runner, is_root, real_host};

mod common;

fn main() -> ExitCode {
    let opts = common::Opts::parse();
    let j = match opts.jail() {
        Ok(j) => j,
        Err(e) => {
            eprintln!("recipe_walkthrough: {e}");
            return ExitCode::from(2);
        }
    };
    if !(cfg!(target_os = "freebsd") && is_root()) {
        let p = plan::host_init(j.layout())
            .then(plan::template_create(j.template()))
            .then(plan::create(&j))
            .then(plan::start(&j))
            .then(plan::enable(&j))
            .then(plan::stop(&j));
        print!("{}", p.to_shell());
        return ExitCode::SUCCESS;
    }
    let run = || -> Result<(), Box<dyn std::error::Error>> {
        let host = real_host()?;
        let r = Runner::new(host.as_ref(), "/", "/var/db/thinjail")?;
        let bridge = j.vnet().map(|v| v.bridge.clone());
        r.host_init(j.layout(), bridge.as_deref())?;
        let t = j.template();
        let archive = match &opts.archive {
            Some(a) => a.clone(),
            None => {
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
                archive
            }
        };
        r.template_create(t, &archive, opts.manifest.as_deref())?;
        r.create(&j)?;
        r.start(&j)?;
        r.enable(&j)?;
        for s in r.list()? {
            println!(
                "{} jid {:?} epair {:?} inet {:?} inet6 {:?}",
                s.name, s.jid, s.epair, s.addrs, s.addrs6
            );
        }
        r.stop(&j)?;
        println!(
            "{} stopped; rc.conf's jail_list starts it at boot",
            j.name()
        );
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
