//! The `thinjail` command.
//!
//! With no arguments it creates and starts the recipe's `dev` jail: on FreeBSD as root on the
//! real host; elsewhere on a simulated host under a fresh temporary root, with a generated
//! release tree (clearly labelled). `--dry-run` prints the plan instead.

mod lifecycle;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use thinjail_core::jailconf::{self, Config};
use thinjail_core::model::{EpairNaming, Storage, ThinJail, ThinJailSpec, VnetStrings};
use thinjail_core::plan;

/// Create and run FreeBSD VNET thin jails.
///
/// With no arguments: create and start the recipe's `dev` jail (on FreeBSD as root for real;
/// elsewhere on a simulated host under a temporary directory, with a generated release tree).
/// With --dry-run: print the plan (a sh(1) script) and change nothing.
#[derive(Parser, Debug)]
#[command(name = "thinjail", version, about, long_about)]
struct Cli {
    /// Run on a simulated host (SimHost) kept under --root instead of the real kernel.
    #[arg(long)]
    sim: bool,
    /// With --sim: the directory every host path is placed under (an alternate root; paths
    /// written inside files stay the host's own).
    #[arg(long = "root", value_name = "DIR", requires = "sim")]
    sim_root: Option<PathBuf>,
    /// Print the plan (a sh(1) script) instead of running it.
    #[arg(long, global = true)]
    dry_run: bool,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Check, format, dump or render jail.conf(5) files.
    #[command(subcommand)]
    Conf(ConfCmd),
    /// Print the plan of a lifecycle operation as a sh(1) script (nothing is executed).
    Plan {
        /// The operation.
        #[arg(value_enum)]
        op: Op,
        #[command(flatten)]
        jail: Box<JailArgs>,
    },
    /// Prepare the host: datasets (or directories), the bridge, rc.conf.
    #[command(subcommand)]
    Host(lifecycle::HostCmd),
    /// Release archives: download (verified) or generate a simulated one.
    #[command(subcommand)]
    Release(lifecycle::ReleaseCmd),
    /// Templates: create from base.txz, update with freebsd-update, destroy.
    #[command(subcommand)]
    Template(lifecycle::TemplateCmd),
    /// Thin jails: create, start, stop, restart, destroy, list, exec.
    #[command(subcommand)]
    Jail(lifecycle::JailCmd),
    /// Start a jail at boot (rc.conf jail_list).
    Enable(lifecycle::Named),
    /// Finish or undo interrupted operations now, and show the journals that cannot be
    /// (every command does this first; exit 1 while one is stuck).
    Recover,
}

#[derive(Subcommand, Debug)]
enum ConfCmd {
    /// Check files: exit 0 when valid, else print FILE:LINE:COL: message and exit 1.
    Check {
        /// jail.conf files (their .include directives are followed).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the canonical rendering of a file (formatting it again changes nothing).
    Fmt {
        /// The jail.conf file (.include directives are kept, not expanded).
        file: PathBuf,
    },
    /// Print the parameters of every jail as JSON, resolved as jail(8) would.
    ///
    /// One object per non-wildcard jail, after .include, globals, wildcards, variables and +=:
    /// bare parameters are `true`, others lists of strings; variables are left out.
    Dump {
        /// The jail.conf file.
        file: PathBuf,
    },
    /// Print the files a thin jail needs: /etc/jail.conf, /etc/jail.conf.d/NAME.conf, the fstab.
    Render {
        #[command(flatten)]
        jail: Box<JailArgs>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub(crate) enum Op {
    /// Datasets and rc.conf jail_enable/jail_parallel_start.
    HostInit,
    /// Download, verify, extract, patch a release; split and snapshot its skeleton.
    TemplateCreate,
    /// Patch the template with freebsd-update.
    TemplateUpdate,
    /// Clone the skeleton; write the fstab and jail.conf files.
    Create,
    /// Mount, make the epair, create the jail, configure its network, run /etc/rc.
    Start,
    /// Shut down, remove the jail, destroy its epair, unmount.
    Stop,
    /// Remove the jail's files, root directory and clone.
    Destroy,
    /// Start the jail at boot (rc.conf jail_list, jail_reverse_stop).
    Enable,
    /// Create, then start.
    Up,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum StorageArg {
    /// ZFS datasets, snapshots and clones.
    Zfs,
    /// Plain directories (UFS); the skeleton is copied.
    Dir,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum EpairArg {
    /// Keep the kernel's epairN name (captured by the script).
    Kernel,
    /// Rename the pair to NAME_a / NAME_b.
    Derived,
}

/// The jail and host the plan is for; defaults are the recipe's.
#[derive(Args, Debug, Clone)]
pub(crate) struct JailArgs {
    /// Jail name.
    #[arg(long, default_value = "dev")]
    name: String,
    /// FreeBSD release of the template.
    #[arg(long, default_value = "14.2-RELEASE")]
    release: String,
    /// Architecture.
    #[arg(long, default_value = "amd64")]
    arch: String,
    /// Storage backend.
    #[arg(long, value_enum, default_value = "zfs")]
    storage: StorageArg,
    /// ZFS pool.
    #[arg(long, default_value = "zdata")]
    pool: String,
    /// Mount point of POOL/jails.
    #[arg(long, default_value = "/zdata/jails")]
    root: String,
    /// Host name inside the jail (default: the jail's name).
    #[arg(long, default_value = "")]
    hostname: String,
    /// devfs ruleset for the jail's /dev.
    #[arg(long, default_value_t = 5)]
    devfs_ruleset: u32,
    /// No VNET: the jail shares the host's network stack.
    #[arg(long)]
    no_vnet: bool,
    /// Bridge the jail's epair joins.
    #[arg(long, default_value = "igc0bridge")]
    bridge: String,
    /// The jail's IPv4 address/prefix.
    #[arg(long, default_value = "192.168.7.253/24")]
    address: String,
    /// Default router.
    #[arg(long, default_value = "192.168.7.101")]
    gateway: String,
    /// Optional IPv6 address/prefix.
    #[arg(long)]
    ipv6: Option<String>,
    /// Optional IPv6 default router.
    #[arg(long)]
    ipv6_gateway: Option<String>,
    /// Epair naming policy.
    #[arg(long, value_enum, default_value = "kernel")]
    epair: EpairArg,
    /// A further jail parameter, NAME=VALUE or a bare NAME (repeatable), e.g. allow.mlock.
    #[arg(long = "param", value_name = "NAME[=VALUE]")]
    params: Vec<String>,
}

impl JailArgs {
    /// The jail name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Settings given on the command line (long names, see `settings_given`) whose values differ
    /// from `rec`'s.
    pub(crate) fn differing(&self, rec: &ThinJailSpec, given: &[String]) -> Vec<String> {
        let cli = self.spec();
        let v = |s: &ThinJailSpec| s.vnet.clone();
        given
            .iter()
            .filter(|g| match g.as_str() {
                "release" => cli.release != rec.release,
                "arch" => cli.arch != rec.arch,
                "storage" => cli.storage != rec.storage,
                "pool" => cli.pool != rec.pool,
                "root" => cli.root != rec.root,
                "hostname" => cli.hostname != rec.hostname,
                "devfs-ruleset" => cli.devfs_ruleset != rec.devfs_ruleset,
                "no-vnet" => cli.vnet.is_some() != rec.vnet.is_some(),
                "bridge" => v(&cli).map(|x| x.bridge) != v(rec).map(|x| x.bridge),
                "address" => v(&cli).map(|x| x.address) != v(rec).map(|x| x.address),
                "gateway" => v(&cli).map(|x| x.gateway) != v(rec).map(|x| x.gateway),
                "ipv6" => v(&cli).map(|x| x.ipv6) != v(rec).map(|x| x.ipv6),
                "ipv6-gateway" => v(&cli).map(|x| x.ipv6_gateway) != v(rec).map(|x| x.ipv6_gateway),
                "epair" => v(&cli).map(|x| x.epair) != v(rec).map(|x| x.epair),
                "param" => cli.params != rec.params,
                _ => true,
            })
            .cloned()
            .collect()
    }

    pub(crate) fn build(&self) -> Result<ThinJail, String> {
        self.spec()
            .build()
            .map_err(|e| format!("thinjail: invalid {e}"))
    }

    fn spec(&self) -> ThinJailSpec {
        ThinJailSpec {
            name: self.name.clone(),
            release: self.release.clone(),
            arch: self.arch.clone(),
            storage: match self.storage {
                StorageArg::Zfs => Storage::Zfs,
                StorageArg::Dir => Storage::Directories,
            },
            pool: self.pool.clone(),
            root: self.root.clone(),
            hostname: self.hostname.clone(),
            devfs_ruleset: self.devfs_ruleset,
            vnet: (!self.no_vnet).then(|| VnetStrings {
                bridge: self.bridge.clone(),
                address: self.address.clone(),
                gateway: self.gateway.clone(),
                ipv6: self.ipv6.clone(),
                ipv6_gateway: self.ipv6_gateway.clone(),
                epair: match self.epair {
                    EpairArg::Kernel => EpairNaming::Kernel,
                    EpairArg::Derived => EpairNaming::Derived,
                },
            }),
            params: self.params.clone(),
        }
    }
}

pub(crate) fn plan_for(op: Op, j: &ThinJail) -> plan::Plan {
    match op {
        Op::HostInit => plan::host_init(j.layout()),
        Op::TemplateCreate => plan::template_create(j.template()),
        Op::TemplateUpdate => plan::template_update(j.template()),
        Op::Create => plan::create(j),
        Op::Start => plan::start(j),
        Op::Stop => plan::stop(j),
        Op::Destroy => plan::destroy(j),
        Op::Enable => plan::enable(j),
        Op::Up => plan::create(j).then(plan::start(j)),
    }
}

fn conf(cmd: ConfCmd) -> Result<(), String> {
    match cmd {
        ConfCmd::Check { files } => {
            let mut failed = Vec::new();
            for f in &files {
                if let Err(e) = Config::load(f).and_then(|c| c.resolve()) {
                    failed.push(e.to_string());
                }
            }
            if failed.is_empty() {
                Ok(())
            } else {
                Err(failed.join("\n"))
            }
        }
        ConfCmd::Fmt { file } => {
            let name = file.display().to_string();
            let text = std::fs::read_to_string(&file).map_err(|e| format!("{name}: {e}"))?;
            let parsed = jailconf::parse(&text, &name).map_err(|e| e.to_string())?;
            print!("{}", jailconf::render(&parsed));
            Ok(())
        }
        ConfCmd::Dump { file } => {
            let jails = Config::load(&file)
                .and_then(|c| c.resolve())
                .map_err(|e| e.to_string())?;
            println!("{:#}", jailconf::dump_json(&jails));
            Ok(())
        }
        ConfCmd::Render { jail } => {
            let j = jail.build()?;
            println!("==> /etc/jail.conf <==");
            print!("{}", jailconf::render(&j.jail_conf_common()));
            println!("\n==> {} <==", j.conf_path().display());
            print!("{}", jailconf::render(&j.jail_conf()));
            println!("\n==> {} <==", j.fstab_path().display());
            print!("{}", j.fstab().render());
            Ok(())
        }
    }
}

/// The jail settings (JailArgs options other than the name) given on the command line of the
/// innermost subcommand, as long option names.
fn settings_given(m: &ArgMatches) -> Vec<String> {
    let mut leaf = m;
    while let Some((_, sub)) = leaf.subcommand() {
        leaf = sub;
    }
    let settings = JailArgs::augment_args(clap::Command::new("settings"));
    settings
        .get_arguments()
        .filter(|a| a.get_id() != "name")
        .filter(|a| {
            leaf.try_contains_id(a.get_id().as_str()).unwrap_or(false)
                && leaf.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine)
        })
        .map(|a| a.get_long().unwrap_or(a.get_id().as_str()).to_string())
        .collect()
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let g = lifecycle::Global {
        sim: cli.sim,
        root: cli.sim_root.clone(),
        dry_run: cli.dry_run,
        settings_given: settings_given(&matches),
    };
    let result = match cli.cmd {
        None if cli.dry_run => {
            let j = ThinJail::recipe_dev();
            print!("{}", plan_for(Op::Up, &j).to_shell());
            Ok(())
        }
        None => lifecycle::main_job(&g),
        Some(Cmd::Conf(c)) => conf(c),
        Some(Cmd::Plan { op, jail }) => jail
            .build()
            .map(|j| print!("{}", plan_for(op, &j).to_shell())),
        Some(Cmd::Host(c)) => lifecycle::host(&g, c),
        Some(Cmd::Release(c)) => lifecycle::release(&g, c),
        Some(Cmd::Template(c)) => lifecycle::template(&g, c),
        Some(Cmd::Jail(c)) => lifecycle::jail(&g, c),
        Some(Cmd::Enable(n)) => lifecycle::enable(&g, n),
        Some(Cmd::Recover) => lifecycle::recover(&g),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::from(1)
        }
    }
}
