//! A VNET jail's whole life: create it on an existing directory, run a command in it, list the
//! jails, remove it.
//!
//! ```text
//! cargo run --example jail_lifecycle [DIR]
//! ```
//!
//! On FreeBSD as root this does it for real (DIR defaults to a new temporary directory; if DIR
//! has no `bin/sh`, the statically linked `/rescue/sh` is copied in to have something to run).
//! Anywhere else it prints exactly what it would send to the kernel — every iovec of the
//! `jail_set(2)` call — and the plan for the command, then exits 0.

use std::path::{Path, PathBuf};

use thinjail::jail::{Allow, JailExec, JailParams, Value, Vnet};

fn describe(v: Option<&Value>, bytes: Option<&[u8]>) -> String {
    match (v, bytes) {
        (_, None) => "(NULL, 0)".to_string(),
        (Some(Value::Str(s)), Some(b)) => format!("{s:?}\\0 ({} bytes)", b.len()),
        (Some(Value::Int(i)), Some(_)) => format!("int32 {i} (4 bytes)"),
        (Some(Value::JailSys(s)), Some(_)) => format!("int32 {} = {s:?} (4 bytes)", *s as i32),
        (Some(Value::Ip4(a)), Some(b)) => format!("{a:?} in network order ({} bytes)", b.len()),
        (_, Some(b)) if b.iter().all(|&c| c == 0) => format!("zeroed buffer ({} bytes)", b.len()),
        (_, Some(b)) => format!("{} bytes", b.len()),
    }
}

fn print_plan(params: &JailParams, exec: &JailExec) -> Result<(), thinjail::jail::Error> {
    let mut iov = params.to_create_iovecs(false)?;
    let wire = iov.wire_pairs();
    println!(
        "jail_set(iov, {}, JAIL_CREATE) with these iovec pairs:",
        2 * wire.len()
    );
    for (i, (name, value)) in wire.iter().enumerate() {
        let n = String::from_utf8_lossy(&name[..name.len() - 1]).into_owned();
        let typed = params.get(&n).or_else(|| {
            // booleans set false are sent under their `no` name
            params
                .params()
                .iter()
                .find(|(p, _)| thinjail::jail::no_name(p) == n)
                .map(|(_, v)| v)
        });
        println!(
            "  iov[{:2}] {:?}\\0 ({} bytes)  iov[{:2}] {}",
            2 * i,
            n,
            name.len(),
            2 * i + 1,
            describe(typed, value.as_deref())
        );
    }
    let plan = exec.plan()?;
    println!(
        "then: fork; in the child jail_attach(<the jid jail_set returned>) and exec sh -c 'echo …'"
    );
    println!(
        "  (exec plan: env {:?}, cwd {:?}, creds {:?})",
        plan.env, plan.cwd, plan.creds
    );
    println!("then: list all jails with jail_get(lastjid=0, 1, …) until ENOENT");
    println!("then: jail_remove(jid)");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    let dir: PathBuf = match std::env::args_os().nth(1) {
        Some(d) => PathBuf::from(d),
        None => tmp.path().to_path_buf(),
    };
    let dir = std::fs::canonicalize(&dir)?;
    let name = format!("thinjail-demo-{}", std::process::id());
    let params = JailParams::builder()
        .name(name.as_str())
        .path(&dir)
        .hostname("demo.thinjail")
        .vnet(Vnet::New)
        .persist(true)
        .allow(Allow::RAW_SOCKETS)
        .enforce_statfs(2)
        .children_max(0)
        .build()?;
    run(&dir, &params)
}

#[cfg(target_os = "freebsd")]
fn run(dir: &Path, params: &JailParams) -> Result<(), Box<dyn std::error::Error>> {
    use std::os::unix::process::CommandExt as _;
    use thinjail::jail::{self as fj, JailCommandExt as _};

    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc_geteuid() } != 0 {
        println!("not root: showing what would be done instead.");
        return Ok(print_plan(params, &JailExec::new(0, dir))?);
    }
    if !fj::host::vimage_supported()? {
        println!("kernel without VIMAGE: a VNET jail cannot be created; showing the plan.");
        return Ok(print_plan(params, &JailExec::new(0, dir))?);
    }
    let (sh, arg0) = if dir.join("bin/sh").exists() {
        ("/bin/sh".to_string(), "sh")
    } else {
        std::fs::copy("/rescue/sh", dir.join("rescue-sh"))?;
        ("/rescue-sh".to_string(), "sh")
    };
    let cleanup = || -> std::io::Result<()> {
        if sh == "/rescue-sh" {
            std::fs::remove_file(dir.join("rescue-sh"))?;
        }
        Ok(())
    };
    let jail = match fj::create(params) {
        Ok(j) => j,
        Err(e) => {
            cleanup()?;
            return Err(e.into());
        }
    };
    println!(
        "created jail {} ({}), jid {}",
        jail.name(),
        dir.display(),
        jail.jid()
    );
    let result = (|| -> Result<(), Box<dyn std::error::Error>> {
        let plan = JailExec::new(jail.jid(), dir).plan()?;
        let status = std::process::Command::new(&sh)
            .arg0(arg0)
            .args(["-c", "echo \"inside the jail: pid $$, cwd $(pwd)\""])
            .jail_exec(&plan)?
            .status()?;
        println!("command exited with {status}");
        for j in fj::jails() {
            let j = j?;
            println!(
                "  jid {:4} name {:24} vnet {:?} path {}",
                j.jid, j.name, j.vnet, j.path
            );
        }
        Ok(())
    })();
    let jid = jail.jid();
    jail.remove()?;
    println!("removed jail {jid}");
    cleanup()?;
    result
}

#[cfg(target_os = "freebsd")]
unsafe fn libc_geteuid() -> u32 {
    unsafe extern "C" {
        fn geteuid() -> u32;
    }
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { geteuid() }
}

#[cfg(not(target_os = "freebsd"))]
fn run(dir: &Path, params: &JailParams) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "not FreeBSD ({}): showing what would be done on a FreeBSD host as root.",
        std::env::consts::OS
    );
    print_plan(params, &JailExec::new(0, dir))?;
    Ok(())
}
