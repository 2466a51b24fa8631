//! One VNET thin jail, the recipe's `dev`: create and start it.
//!
//! On FreeBSD as root this runs on the real host (through `thinjail_core::run::real_host`).
//! Elsewhere it prints the plan (a sh(1) script) and exits 0.
//!
//! `cargo run --example vnet_thin_jail`

use std::process::ExitCode;

use thinjail::core::model::ThinJail;
use thinjail::core::plan;
use thinjail::core::run::{Runner, is_root, real_host};

fn main() -> ExitCode {
    let j = ThinJail::recipe_dev();
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
