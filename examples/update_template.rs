//! Update the shared template with freebsd-update(8): every thin jail sees the patched base at
//! once (their own `/etc` lives in their skeleton clones).
//!
//! On FreeBSD as root this runs on the real host; elsewhere it prints the plan and exits 0.
//!
//! `cargo run --example update_template`

use std::process::ExitCode;

use thinjail::core::model::ThinJail;
use thinjail::core::plan;
use thinjail::core::run::{Runner, is_root, real_host};

fn main() -> ExitCode {
    let j = ThinJail::recipe_dev();
    let t = j.template();
    if !(cfg!(target_os = "freebsd") && is_root()) {
        print!("{}", plan::template_update(t).to_shell());
        return ExitCode::SUCCESS;
    }
    let run = || -> Result<(), Box<dyn std::error::Error>> {
        let host = real_host()?;
        let r = Runner::new(host.as_ref(), "/", "/var/db/thinjail")?;
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
