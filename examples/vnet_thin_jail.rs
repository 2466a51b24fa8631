//! One VNET thin jail, the recipe's `dev`: create and start it.
//!
//! On FreeBSD as root this runs on the real host (through `thinjail_core::run::real_host`), on
//! a template made before (`thinjail template create REL`). Elsewhere it prints the plan (a sh(1)
//! script) and exits 0.
//!
//! ```text
//! cargo run --example vnet_thin_jail [-- --release REL]
//! ```

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
            eprintln!("vnet_thin_jail: {e}");
            return ExitCode::from(2);
        }
    };
    if !(cfg!(target_os = "freebsd") && is_root()) {
        print!("{}", plan::create(&j).then(plan::start(&j)).to_shell());
        return ExitCode::SUCCESS;
    }
    let run = || -> Result<(), Box<dyn std::error::Error>> {
        let host = real_host()?;
        let r = Runner::new(host.as_ref(), "/", "/var/db/thinjail")?;
        r.create(&j)?;
        let ctx = r.start(&j)?;
        println!("jail {} running as jid {}", j.name(), ctx.jids[j.name()]);
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vnet_thin_jail: {e}");
            ExitCode::FAILURE
        }
    }
}
