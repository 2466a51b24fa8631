//! Update the shared template with freebsd-update(8): every thin jail sees the patched base at
//! once (their own `/etc` lives in their skeleton clones).
//!
//! On FreeBSD as root this runs on the real host; elsewhere it prints the plan and exits 0.
//!
//! ```text
//! cargo run --example update_template [-- --release REL] [--updater PROGRAM]
//! ```
//!
//! `--updater` runs PROGRAM instead of freebsd-update(8), with the same arguments and the
//! skeleton mounted inside the template (e.g. a wrapper that pins a mirror).

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
            eprintln!("update_template: {e}");
            return ExitCode::from(2);
        }
    };
    let t = j.template();
    if !(cfg!(target_os = "freebsd") && is_root()) {
        print!("{}", plan::template_update(t).to_shell());
        return ExitCode::SUCCESS;
    }
    let run = || -> Result<(), Box<dyn std::error::Error>> {
        let host = real_host()?;
        let mut r = Runner::new(host.as_ref(), "/", "/var/db/thinjail")?;
        if let Some(u) = &opts.updater {
            r = r.with_updater(u.clone());
        }
        r.template_update(t)?;
        println!("template {} updated", t.release().name());
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("update_template: {e}");
            ExitCode::FAILURE
        }
    }
}
