//! The `thinjail` command.

use clap::Parser;

/// Create and run FreeBSD VNET thin jails.
#[derive(Parser, Debug)]
#[command(name = "thinjail", version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    println!(
        "thinjail {}: the lifecycle commands are not built yet.",
        env!("CARGO_PKG_VERSION")
    );
    println!("The recipe this tool will carry out (see shared/RECIPE.md):");
    for step in [
        "zfs create -p zdata/jails/{media,templates,containers}",
        "extract 14.2-RELEASE base.txz into zdata/jails/templates/14.2-RELEASE-base",
        "split the skeleton into zdata/jails/templates/14.2-RELEASE-skeleton, snapshot @base",
        "zfs clone …-skeleton@base zdata/jails/containers/dev",
        "nullfs-mount base (ro) and the clone (rw, at /skeleton); devfs with ruleset 5",
        "jail_set(create, vnet); epair into igc0bridge; address and default route in the jail",
        "run /bin/sh /etc/rc inside the jail",
    ] {
        println!("  - {step}");
    }
}
