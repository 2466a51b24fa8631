//! Wire a VNET jail to a bridge without ifconfig or route: create an epair, put its a-side into
//! a bridge, move the b-side into the jail, configure lo0, an address and the default route
//! inside the jail, then tear everything down.
//!
//! ```text
//! vnet_pair [<jid>] [--bridge NAME] [--addr 10.0.0.2/24] [--gateway 10.0.0.1]
//!                 [--jail-name NAME] [--keep]
//! ```
//!
//! - `--bridge NAME`: an existing bridge; without it a new bridge is created and given the
//!   gateway address (so the jail can reach it), and destroyed at teardown.
//! - `--jail-name NAME`: rename both ends to the short deterministic names derived from the jail
//!   name (see `JailPairNames`) and set the description `jail:NAME`.
//! - `--keep`: leave everything in place (no teardown).
//!
//! On FreeBSD, as root, this does it for real: with the running VNET jail `<jid>`, or without a
//! jid with a VNET jail it makes for the purpose (`persist`, `path=/`) and removes at the end.
//! Elsewhere it prints the plan — every ioctl with its number and the exact bytes it would pass —
//! and exits 0.

use std::net::IpAddr;
use std::process::ExitCode;

use thinjail::netif::jailops::{JailOps, RawOps};
use thinjail::netif::route::{RouteAction, RouteMessage};
use thinjail::netif::wire::{self, IfBReq, IfDrv, IfReq, In6AliasReq, InAliasReq, Wire};
use thinjail::netif::{IfName, IpNet, JailPairNames};

struct Args {
    /// The jail; `None`: one made for the run (FreeBSD) or a placeholder (the plan).
    jid: Option<i32>,
    bridge: Option<IfName>,
    addr: IpNet,
    gateway: IpAddr,
    jail_name: Option<String>,
    keep: bool,
}

fn usage() -> String {
    "usage: vnet_pair [<jid>] [--bridge NAME] [--addr 10.0.0.2/24] [--gateway 10.0.0.1] \
     [--jail-name NAME] [--keep]"
        .to_string()
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        jid: None,
        bridge: None,
        addr: "10.0.0.2/24".parse().map_err(|e| format!("{e}"))?,
        gateway: "10.0.0.1".parse().map_err(|e| format!("{e}"))?,
        jail_name: None,
        keep: false,
    };
    while let Some(arg) = it.next() {
        let mut val = |what: &str| {
            it.next()
                .ok_or(format!("{what} needs a value\n{}", usage()))
        };
        match arg.as_str() {
            "--bridge" => {
                a.bridge = Some(IfName::new(&val("--bridge")?).map_err(|e| e.to_string())?)
            }
            "--addr" => a.addr = val("--addr")?.parse().map_err(|e| format!("--addr: {e}"))?,
            "--gateway" => {
                a.gateway = val("--gateway")?
                    .parse()
                    .map_err(|e| format!("--gateway: {e}"))?
            }
            "--jail-name" => a.jail_name = Some(val("--jail-name")?),
            "--keep" => a.keep = true,
            "-h" | "--help" => return Err(usage()),
            s => {
                a.jid = Some(
                    s.parse::<i32>()
                        .map_err(|_| format!("not a jid: {s:?}\n{}", usage()))?,
                )
            }
        }
    }
    Ok(a)
}

/// The in-jail operation list (shared by the plan and the real run).
fn jail_ops(b: &IfName, a: &Args) -> Result<JailOps, thinjail::netif::Error> {
    let mut ops = JailOps::new();
    ops.loopback().up(b).add_address(b, a.addr);
    ops.default_route(a.gateway)?;
    Ok(ops)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vnet_pair: {e}");
            ExitCode::FAILURE
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.chunks(16)
        .map(|c| {
            c.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n        ")
}

fn show(step: &str, req: u32, bytes: &[u8]) {
    println!(
        "  {step}\n    ioctl {req:#010x}, {} bytes:\n        {}",
        bytes.len(),
        hex(bytes)
    );
}

/// Prints what the FreeBSD run would do, with placeholder names where the kernel decides.
#[cfg_attr(target_os = "freebsd", allow(dead_code))]
fn plan(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    // Validate the in-jail list first: bad input fails before anything is printed or changed.
    let (ea, eb) = match &a.jail_name {
        Some(j) => {
            let n = JailPairNames::derive(j, 0);
            (n.a, n.b)
        }
        None => (IfName::new("epair0a")?, IfName::new("epair0b")?),
    };
    let ops = jail_ops(&eb, a)?;
    let jid = a.jid.unwrap_or(0);
    match a.jid {
        Some(j) => println!("Not on FreeBSD: printing the plan for jail {j}."),
        None => println!(
            "Not on FreeBSD: printing the plan. On FreeBSD without a jid a VNET jail is made for \
             the run; its jid stands as 0 below."
        ),
    }
    println!("(The kernel picks the epair unit; `epair0` stands for it below.)\n");
    let epair = IfName::new("epair")?;
    let bridge = match &a.bridge {
        Some(b) => b.clone(),
        None => IfName::new("bridge0")?,
    };

    println!("host vnet (socket(AF_INET, SOCK_DGRAM, 0)):");
    show(
        "1. ifconfig epair create -> SIOCIFCREATE2 (kernel writes back \"epair<N>a\")",
        wire::SIOCIFCREATE2,
        IfReq::named(&epair).as_bytes(),
    );
    if let Some(j) = &a.jail_name {
        let n = JailPairNames::derive(j, 0);
        println!(
            "  1b. rename epair<N>a -> {}, epair<N>b -> {} (SIOCSIFNAME {:#010x}, ifr_data -> new \
             name); description {:?} (SIOCSIFDESCR {:#010x})",
            n.a,
            n.b,
            wire::SIOCSIFNAME,
            n.description,
            wire::SIOCSIFDESCR
        );
    }
    if a.bridge.is_none() {
        show(
            "2. ifconfig bridge create -> SIOCIFCREATE2",
            wire::SIOCIFCREATE2,
            IfReq::named(&IfName::new("bridge")?).as_bytes(),
        );
        match (a.addr, a.gateway) {
            (IpNet::V4(net), IpAddr::V4(gw)) => show(
                &format!(
                    "2b. ifconfig {bridge} inet {gw}/{} -> SIOCAIFADDR",
                    net.prefix_len()
                ),
                wire::SIOCAIFADDR,
                InAliasReq::new(&bridge, gw, net.prefix_len()).as_bytes(),
            ),
            (IpNet::V6(net), IpAddr::V6(gw)) => show(
                &format!(
                    "2b. ifconfig {bridge} inet6 {gw}/{} -> SIOCAIFADDR_IN6 (AF_INET6 socket)",
                    net.prefix_len()
                ),
                wire::SIOCAIFADDR_IN6,
                In6AliasReq::new(&bridge, gw, net.prefix_len()).as_bytes(),
            ),
            _ => println!(
                "  (address and gateway families differ: no gateway address on the bridge)"
            ),
        }
    }
    let mut d = IfDrv::new(&bridge, wire::BRDGADD, size_of::<IfBReq>(), 0);
    d.ifd_data = 0x7fff_0000_0000; // stands for &ifbreq
    show(
        &format!("3. ifconfig {bridge} addm {ea} -> SIOCSDRVSPEC, ifdrv (ifd_data -> ifbreq)"),
        wire::SIOCSDRVSPEC,
        d.as_bytes(),
    );
    println!(
        "    ifbreq (80 bytes):\n        {}",
        hex(IfBReq::new(&ea).as_bytes())
    );
    let mut up = IfReq::named(&ea);
    up.set_flags(wire::IFF_UP);
    show(
        &format!("4. ifconfig {ea} up; ifconfig {bridge} up -> SIOCGIFFLAGS then SIOCSIFFLAGS"),
        wire::SIOCSIFFLAGS,
        up.as_bytes(),
    );
    let mut mv = IfReq::named(&eb);
    mv.set_jid(jid);
    show(
        &format!("5. ifconfig {eb} vnet {jid} -> SIOCSIFVNET"),
        wire::SIOCSIFVNET,
        mv.as_bytes(),
    );

    println!(
        "
6. fork; child: jail_attach({}); then, in the jail's vnet, the pre-encoded list \
         ({} bytes, {} steps):",
        jid,
        ops.encoded().len(),
        ops.ops().len()
    );
    for (i, (op, raw)) in ops.ops().iter().zip(RawOps::new(ops.encoded())).enumerate() {
        let raw = raw?;
        println!(
            "  [{i}] {op}  ({:?}, {} bytes)",
            raw.kind,
            raw.payload.len()
        );
        println!("        {}", hex(raw.payload));
    }
    println!(
        "  each step answers (index u32 LE, errno i32 LE) on a pipe; the first error stops it."
    );

    println!("\nteardown:");
    if !a.keep {
        show(
            &format!(
                "7. ifconfig {ea} destroy -> SIOCIFDESTROY (destroys {eb} too, even in the jail)"
            ),
            wire::SIOCIFDESTROY,
            IfReq::named(&ea).as_bytes(),
        );
        if a.bridge.is_none() {
            show(
                &format!("8. ifconfig {bridge} destroy -> SIOCIFDESTROY"),
                wire::SIOCIFDESTROY,
                IfReq::named(&bridge).as_bytes(),
            );
        }
    } else {
        println!("  (--keep: nothing)");
    }
    let del = RouteMessage::default_route(RouteAction::Delete, a.gateway, 1).encode();
    println!(
        "\n(For reference, `route delete default {}` on a PF_ROUTE socket is {} bytes.)",
        a.gateway,
        del.len()
    );
    Ok(())
}

#[cfg(not(target_os = "freebsd"))]
fn run(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    plan(a)
}

#[cfg(target_os = "freebsd")]
fn run(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    use thinjail::jail::{JailParams, Vnet};
    if let Some(jid) = a.jid {
        return wire_up(a, jid);
    }
    // No jid: a VNET jail of our own for the run (jail_set(2) with `persist`, removed after).
    let p = JailParams::builder()
        .name(format!("vnet-pair-{}", std::process::id()))
        .path("/")
        .vnet(Vnet::New)
        .persist(true)
        .build()?;
    let jail = thinjail::jail::create(&p)?;
    println!("created VNET jail {} (jid {})", jail.name(), jail.jid());
    let result = wire_up(a, jail.jid());
    if a.keep && result.is_ok() {
        println!("--keep: leaving jail {} in place", jail.jid());
        return Ok(());
    }
    let jid = jail.jid();
    match jail.remove() {
        Ok(()) => println!("removed jail {jid}"),
        Err(e) => eprintln!("teardown: {e}"),
    }
    result
}

#[cfg(target_os = "freebsd")]
fn wire_up(a: &Args, jid: i32) -> Result<(), Box<dyn std::error::Error>> {
    use thinjail::netif::Netif;
    // Validate the in-jail list (with a placeholder name) before anything is created.
    jail_ops(&IfName::new("epair0b")?, a)?;
    let net = Netif::open()?;
    let pair = match &a.jail_name {
        Some(j) => net.epair_for_jail(j, true)?,
        None => net.epair()?,
    };
    println!("created {} / {}", pair.a, pair.b);
    let mut made_bridge = None;
    let result = (|| -> Result<(), Box<dyn std::error::Error>> {
        let bridge = match &a.bridge {
            Some(b) => b.clone(),
            None => {
                let b = net.bridge()?;
                println!("created {b}");
                made_bridge = Some(b.clone());
                match (a.addr, a.gateway) {
                    (IpNet::V4(n4), IpAddr::V4(gw)) => {
                        net.add_inet(&b, thinjail::netif::Ipv4Net::new(gw, n4.prefix_len())?)?;
                        println!("{b}: inet {gw}/{}", n4.prefix_len());
                    }
                    (IpNet::V6(n6), IpAddr::V6(gw)) => {
                        net.add_inet6(&b, thinjail::netif::Ipv6Net::new(gw, n6.prefix_len())?)?;
                        println!("{b}: inet6 {gw}/{}", n6.prefix_len());
                    }
                    _ => println!("{b}: address and gateway families differ; no address"),
                }
                b
            }
        };
        net.bridge_add(&bridge, &pair.a)?;
        net.up(&pair.a)?;
        net.up(&bridge)?;
        let members: Vec<String> = net
            .bridge_members(&bridge)?
            .iter()
            .map(|m| m.name.to_string())
            .collect();
        println!("{bridge} members: {}", members.join(", "));
        net.move_to_jail(&pair.b, jid)?;
        println!("{} moved into jail {}", pair.b, jid);
        let ops = jail_ops(&pair.b, a)?;
        net.configure_in_jail(jid, &ops)?;
        for op in ops.ops() {
            println!("in jail {}: {op}: ok", jid);
        }
        Ok(())
    })();
    if a.keep && result.is_ok() {
        println!("--keep: leaving {} / {} in place", pair.a, pair.b);
        return Ok(());
    }
    // Teardown (also after a failure): destroying the a side destroys the b side too, even
    // inside the jail; then the bridge if we made it.
    match net.destroy(&pair.a) {
        Ok(()) => println!("destroyed {} and {}", pair.a, pair.b),
        Err(e) => eprintln!("teardown: {e}"),
    }
    if let Some(b) = made_bridge {
        match net.destroy(&b) {
            Ok(()) => println!("destroyed {b}"),
            Err(e) => eprintln!("teardown: {e}"),
        }
    }
    result
}
