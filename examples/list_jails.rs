//! List thin jails: created ones (a `/etc/jail.conf.d` file) and running ones, with their
//! epair and addresses.
//!
//! On FreeBSD as root this reads the real host; elsewhere it prints the equivalent commands
//! and exits 0.
//!
//! `cargo run --example list_jails`

use std::process::ExitCode;

use thinjail::core::run::{Runner, is_root, real_host};

fn main() -> ExitCode {
    if !(cfg!(target_os = "freebsd") && is_root()) {
        println!(
            "#!/bin/sh\n# thinjail plan: list jails\nls /etc/jail.conf.d\njls -N\nifconfig -g epair"
        );
        return ExitCode::SUCCESS;
    }
    let run = || -> Result<(), Box<dyn std::error::Error>> {
        let host = real_host()?;
        let r = Runner::new(host.as_ref(), "/", "/var/db/thinjail")?;
        for s in r.list()? {
            let addrs = s.addresses();
            println!(
                "{:<14} {:>5} {:<10} {}",
                s.name,
                s.jid.map(|j| j.to_string()).unwrap_or_else(|| "-".into()),
                s.epair.unwrap_or_else(|| "-".into()),
                addrs.join(",")
            );
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("list_jails: {e}");
            ExitCode::FAILURE
        }
    }
}
