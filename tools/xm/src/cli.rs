//! Command-line interface of xm (clap derive) and command dispatch.
//!
//! `xm create --dryrun` works without the hypervisor; `xm create` opens
//! `/dev/xen/privcmd` and creates the domain ([`crate::lifecycle::create`]:
//! the PV builder, its xenstore nodes and introduction, unpause), `-c`
//! then attaching to its console ([`crate::consoled::attach`]).
//! `destroy`, `shutdown [-w]`, `reboot`, `console`, `mem-set`, `mem-max`
//! and `vcpu-set` need xenstore as well ([`run_lifecycle`]).
//! `block-attach`, `block-detach`, `block-list`, `network-attach`,
//! `network-detach` and `network-list` work on a running domain's virtual
//! devices ([`run_device_command`], [`crate::devices`]).
//! `info`, `list`,
//! `dmesg`, `pause`, `unpause`, `domid`, `domname`, `uptime`,
//! `vcpu-list` and `sched-credit` open `/dev/xen/privcmd` and run
//! [`crate::commands`]; the others say they are not implemented yet. Every
//! failure is one line on stderr and exit status 1; no command pretends to
//! succeed.
//!
//! The device path can be overridden with the `XM_PRIVCMD` environment
//! variable (used by the tests).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::build::{self, BuildError};
use crate::consoled;
use crate::domstore::{self, ConfigSource};
use crate::lifecycle::{self, LifecycleError};
use crate::ops;
use crate::xs;
use dom0_abi::DomId;
use xenstore::client::{Client, TxId};
use crate::commands::{self, CmdError};
use crate::config::{self, ConfigError, CpuSet};
use crate::hypervisor::privcmd::Privcmd;
use crate::hypervisor::Hypervisor;
use crate::sxp;
use dom0_abi::domctl::DomctlCmd;

/// Default path of the privcmd device.
pub const PRIVCMD_PATH: &str = "/dev/xen/privcmd";

/// Xen domain management (xm), for the Xen 4.17 PV ABI.
#[derive(Parser, Debug)]
#[command(
    name = "xm",
    version,
    about = "Xen domain management (xm), for the Xen 4.17 PV ABI"
)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// A domain given by name or numeric id.
pub type Dom = String;

/// xm subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print information about the host and hypervisor.
    Info,
    /// List domains (all of them, or the given ones).
    List {
        /// Long output: full SXP description of each domain.
        #[arg(short, long)]
        long: bool,
        /// Domains to list (names or ids).
        doms: Vec<Dom>,
    },
    /// Print the hypervisor's console ring.
    Dmesg {
        /// Clear the ring after printing it.
        #[arg(short, long)]
        clear: bool,
    },
    /// Create a domain from a configuration file.
    Create {
        /// Only parse the configuration and print the resulting domain
        /// description; do not touch the hypervisor.
        #[arg(short = 'n', long)]
        dryrun: bool,
        /// Attach to the domain's console once it is created.
        #[arg(short, long)]
        console: bool,
        /// The configuration file.
        config: PathBuf,
        /// Overrides applied after the file, e.g. `memory=256 name=foo`.
        #[arg(value_name = "KEY=VALUE", value_parser = parse_override)]
        overrides: Vec<String>,
    },
    /// Destroy a domain immediately.
    Destroy {
        /// The domain.
        dom: Dom,
    },
    /// Ask a domain to shut down.
    Shutdown {
        /// Wait until the domain has shut down.
        #[arg(short, long)]
        wait: bool,
        /// The domain.
        dom: Dom,
    },
    /// Ask a domain to reboot.
    Reboot {
        /// The domain.
        dom: Dom,
    },
    /// Pause a domain.
    Pause {
        /// The domain.
        dom: Dom,
    },
    /// Unpause a domain.
    Unpause {
        /// The domain.
        dom: Dom,
    },
    /// Print the id of the named domain.
    Domid {
        /// Domain name.
        name: String,
    },
    /// Print the name of the domain with the given id.
    Domname {
        /// Domain id.
        id: u32,
    },
    /// Print how long domains have been running.
    Uptime {
        /// Domains (default: all).
        doms: Vec<Dom>,
    },
    /// List the vcpus of domains and where they run.
    VcpuList {
        /// Domains (default: all).
        doms: Vec<Dom>,
    },
    /// Pin a vcpu (or `all`) to a cpu list such as `0-3,^2`.
    VcpuPin {
        /// The domain.
        dom: Dom,
        /// vcpu number, or `all`.
        #[arg(value_parser = parse_vcpu)]
        vcpu: String,
        /// Physical cpus, e.g. `0-3,^2` or `all`.
        #[arg(value_parser = parse_cpus)]
        cpus: CpuSet,
    },
    /// Set the number of online vcpus of a domain.
    VcpuSet {
        /// The domain.
        dom: Dom,
        /// Number of vcpus.
        #[arg(value_parser = clap::value_parser!(u32).range(1..))]
        count: u32,
    },
    /// Set a domain's memory target (balloon), in MiB.
    MemSet {
        /// The domain.
        dom: Dom,
        /// Memory in MiB.
        mem: u64,
    },
    /// Set a domain's maximum memory, in MiB.
    MemMax {
        /// The domain.
        dom: Dom,
        /// Memory in MiB.
        mem: u64,
    },
    /// Show or set credit scheduler parameters.
    SchedCredit {
        /// Domain to show or change (default: show all).
        #[arg(short, long)]
        domain: Option<Dom>,
        /// New weight (1-65535).
        #[arg(short, long, requires = "domain", value_parser = clap::value_parser!(u16).range(1..))]
        weight: Option<u16>,
        /// New cap in % of one cpu (0 = no cap).
        #[arg(short, long, requires = "domain")]
        cap: Option<u16>,
    },
    /// Attach to a domain's console.
    Console {
        /// The domain.
        dom: Dom,
    },
    /// Save a domain's state to a file (the domain is destroyed).
    Save {
        /// The domain.
        dom: Dom,
        /// State file.
        file: PathBuf,
    },
    /// Restore a domain from a state file.
    Restore {
        /// State file.
        file: PathBuf,
    },
    /// Migrate a domain to another host.
    Migrate {
        /// Live migration (keep the domain running while copying memory).
        #[arg(short, long)]
        live: bool,
        /// Port of the relocation server (`xm serve`) on the destination.
        #[arg(short, long, default_value_t = crate::save::migrate::DEFAULT_PORT)]
        port: u16,
        /// The domain.
        dom: Dom,
        /// Destination host.
        host: String,
    },
    /// Monitor domains' resource usage.
    Top,
    /// Relocation server: receive migrated domains (xend's port 8002).
    Serve {
        /// Port to listen on.
        #[arg(short, long, default_value_t = crate::save::migrate::DEFAULT_PORT)]
        port: u16,
    },
    /// Give a running domain a virtual disk: `xm block-attach DOM phy:/dev/vg/x xvdb w`.
    BlockAttach {
        /// The domain.
        dom: Dom,
        /// The disk in dom0: `phy:DEVICE`, `phy:MAJOR:MINOR` or `file:IMAGE`.
        backdev: String,
        /// The guest's device (`xvdb`, `hdb`, `sdb1`, or a number).
        frontdev: String,
        /// `r`, `w` or `w!`.
        mode: String,
    },
    /// Take a virtual disk away from a running domain (after the guest closed it).
    BlockDetach {
        /// Remove it even if the guest does not close it.
        #[arg(short, long)]
        force: bool,
        /// The domain.
        dom: Dom,
        /// The guest's device (name or number).
        dev: String,
    },
    /// List a domain's virtual disks.
    BlockList {
        /// The domain.
        dom: Dom,
    },
    /// Give a running domain a network interface: `xm network-attach DOM mac=... bridge=...`.
    NetworkAttach {
        /// The domain.
        dom: Dom,
        /// `mac=`, `bridge=`, `ip=`, `script=`, `vifname=` items, as in a `vif` entry.
        #[arg(value_name = "KEY=VALUE")]
        items: Vec<String>,
    },
    /// Take a network interface away from a running domain.
    NetworkDetach {
        /// Remove it even if the guest does not close it.
        #[arg(short, long)]
        force: bool,
        /// The domain.
        dom: Dom,
        /// The interface: its number or MAC address.
        dev: String,
    },
    /// List a domain's network interfaces.
    NetworkList {
        /// The domain.
        dom: Dom,
    },
}

impl Command {
    /// The subcommand's name as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Info => "info",
            Command::List { .. } => "list",
            Command::Dmesg { .. } => "dmesg",
            Command::Create { .. } => "create",
            Command::Destroy { .. } => "destroy",
            Command::Shutdown { .. } => "shutdown",
            Command::Reboot { .. } => "reboot",
            Command::Pause { .. } => "pause",
            Command::Unpause { .. } => "unpause",
            Command::Domid { .. } => "domid",
            Command::Domname { .. } => "domname",
            Command::Uptime { .. } => "uptime",
            Command::VcpuList { .. } => "vcpu-list",
            Command::VcpuPin { .. } => "vcpu-pin",
            Command::VcpuSet { .. } => "vcpu-set",
            Command::MemSet { .. } => "mem-set",
            Command::MemMax { .. } => "mem-max",
            Command::SchedCredit { .. } => "sched-credit",
            Command::Console { .. } => "console",
            Command::Save { .. } => "save",
            Command::Restore { .. } => "restore",
            Command::Migrate { .. } => "migrate",
            Command::Top => "top",
            Command::Serve { .. } => "serve",
            Command::BlockAttach { .. } => "block-attach",
            Command::BlockDetach { .. } => "block-detach",
            Command::BlockList { .. } => "block-list",
            Command::NetworkAttach { .. } => "network-attach",
            Command::NetworkDetach { .. } => "network-detach",
            Command::NetworkList { .. } => "network-list",
        }
    }
}

fn parse_override(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some((k, _)) if !k.trim().is_empty() => Ok(s.to_string()),
        _ => Err("expected KEY=VALUE (e.g. memory=256)".to_string()),
    }
}

fn parse_vcpu(s: &str) -> Result<String, String> {
    if s == "all" || s.parse::<u32>().is_ok() {
        Ok(s.to_string())
    } else {
        Err("expected a vcpu number or 'all'".to_string())
    }
}

fn parse_cpus(s: &str) -> Result<CpuSet, String> {
    s.parse().map_err(|e: config::CpuListError| e.to_string())
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration could not be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The command needs the privcmd device, which is absent.
    #[error("'{command}' needs {path} (not present: are we running in a Xen dom0?)")]
    NoPrivcmd {
        /// The subcommand.
        command: &'static str,
        /// The device path checked.
        path: String,
    },
    /// The command is not written yet.
    #[error("'{command}' is not implemented yet ({path} is present)")]
    NotImplemented {
        /// The subcommand.
        command: &'static str,
        /// The device path checked.
        path: String,
    },
    /// `xm create` could not read its files (nothing was created).
    #[error("create: {0}")]
    Build(#[from] BuildError),
    /// A hypervisor command failed.
    #[error(transparent)]
    Cmd(#[from] CmdError),
    /// Creating or destroying a domain failed (nothing of it is left).
    #[error("{0}")]
    Lifecycle(#[from] LifecycleError),
    /// The command needs xenstored, which does not answer.
    #[error("no xenstored answers at {0}")]
    NoXenstore(String),
    /// A xenstore write failed.
    #[error("writing {path}: {source}")]
    Xenstore {
        /// The node.
        path: String,
        /// Why.
        source: xenstore::client::ClientError,
    },
    /// `xm console` could not attach.
    #[error(transparent)]
    Console(#[from] consoled::AttachError),
    /// `xm shutdown -w` gave up waiting.
    #[error("domain '{dom}' did not shut down within {secs} s")]
    Timeout {
        /// The domain.
        dom: String,
        /// How long we waited.
        secs: u64,
    },
    /// `xm vcpu-set` above the domain's vcpu count.
    #[error("domain '{dom}' has {max} vcpus; cannot set {count}")]
    TooManyVcpus {
        /// The domain.
        dom: String,
        /// Asked for.
        count: u32,
        /// Its vcpus.
        max: u32,
    },
    /// A disk or network interface command failed.
    #[error(transparent)]
    Device(#[from] crate::devices::DeviceError),
    /// A `block-attach`/`network-attach` argument is malformed.
    #[error("{0}")]
    DeviceSpec(String),
    /// Writing the output failed.
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
    /// `xm save`, `restore`, `migrate` or `serve` failed.
    #[error(transparent)]
    Save(#[from] crate::save::commands::SaveCmdError),
}

/// The privcmd device path: `$XM_PRIVCMD` if set, else [`PRIVCMD_PATH`].
pub fn privcmd_path() -> PathBuf {
    std::env::var_os("XM_PRIVCMD").map_or_else(|| PathBuf::from(PRIVCMD_PATH), PathBuf::from)
}

fn needs_privcmd(command: &'static str, path: &Path) -> CliError {
    let path_s = path.display().to_string();
    if path.exists() {
        CliError::NotImplemented {
            command,
            path: path_s,
        }
    } else {
        CliError::NoPrivcmd {
            command,
            path: path_s,
        }
    }
}

/// Runs a parsed command line. Regular output goes to `out`, warnings to
/// `err`; the returned error is the single line to report.
pub fn run(cli: &Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), CliError> {
    match &cli.command {
        Command::Create {
            dryrun,
            console,
            config,
            overrides,
        } => {
            let (cfg, warnings) = config::load(config, overrides)?;
            for w in &warnings {
                writeln!(err, "xm: {w}")?;
            }
            if *dryrun {
                out.write_all(sxp::domain(&cfg).render_block().as_bytes())?;
                Ok(())
            } else {
                // The files first: a missing kernel is reported even
                // outside dom0.
                let images = build::Images::load(&cfg)?;
                let hv = Privcmd::open(&privcmd_path()).map_err(CmdError::from)?;
                let mut xs = Client::connect_timeout(xs::socket_path(), CREATE_XS_TIMEOUT).ok();
                if xs.is_none() {
                    writeln!(err, "xm: no xenstored at {}: the domain runs without xenstore", xs::socket_path().display())?;
                    if !cfg.disks.is_empty() || !cfg.vifs.is_empty() {
                        writeln!(err, "xm: without xenstore its disks and network interfaces are not set up")?;
                    }
                }
                let path = std::fs::canonicalize(config).unwrap_or_else(|_| config.clone());
                let path = path.display().to_string();
                // Kept with the domain: a later save or migration sends
                // this, not whatever the file says then (or nothing, on a
                // host without it).
                let text = std::fs::read_to_string(config)
                    .ok()
                    .map(|t| crate::save::image::compose_config(&path, overrides, &t));
                let src = ConfigSource { path, overrides: overrides.clone(), text };
                let built = lifecycle::create(&hv, xs.as_mut(), &cfg, &images, &src)?;
                writeln!(out, "Started domain {} (id={})", cfg.name, built.domid.0)?;
                if *console {
                    out.flush()?;
                    consoled::attach(Path::new(consoled::SOCKET), built.domid.0, out)?;
                }
                Ok(())
            }
        }
        other if crate::save::commands::handles(other) => crate::save::commands::run(other, out),
        other if is_device_command(other) => {
            let hv = Privcmd::open(&privcmd_path()).map_err(CmdError::from)?;
            run_device_command(other, &hv, out)
        }
        other if uses_xenstore(other) => {
            let hv = Privcmd::open(&privcmd_path()).map_err(CmdError::from)?;
            run_lifecycle(other, &hv, out)
        }
        other if uses_hypervisor(other) => {
            let hv = Privcmd::open(&privcmd_path()).map_err(CmdError::from)?;
            run_with(other, &hv, out)
        }
        other => Err(needs_privcmd(other.name(), &privcmd_path())),
    }
}

/// A connection to xenstored, if one runs.
fn xenstore_client() -> Option<Client> {
    Client::connect_timeout(xs::socket_path(), xs::TIMEOUT).ok()
}

/// Whether `cmd` is one of the commands [`run_lifecycle`] implements.
pub fn uses_xenstore(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Destroy { .. }
            | Command::Shutdown { .. }
            | Command::Reboot { .. }
            | Command::Console { .. }
            | Command::MemSet { .. }
            | Command::MemMax { .. }
            | Command::VcpuSet { .. }
    )
}

/// How long one xenstore request of `xm create` may take (introducing a
/// domain maps its ring and binds its event channel).
pub const CREATE_XS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long `xm shutdown -w` waits for the domain to go.
pub const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Write `value` at `rel` under the domain's home in xenstore.
fn write_dom_node(domid: DomId, rel: &str, value: &str) -> Result<(), CliError> {
    let mut xs = xenstore_client().ok_or_else(|| CliError::NoXenstore(xs::socket_path().display().to_string()))?;
    let path = format!("{}/{rel}", domstore::dom_path(domid));
    xs.write(TxId::NONE, &path, value.as_bytes()).map_err(|source| CliError::Xenstore { path, source })
}

/// Run a command that needs xenstore as well as the hypervisor.
pub fn run_lifecycle(cmd: &Command, hv: &dyn Hypervisor, out: &mut dyn Write) -> Result<(), CliError> {
    match cmd {
        Command::Destroy { dom } => {
            let d = commands::find_domain(hv, dom)?;
            lifecycle::destroy(hv, xenstore_client().as_mut(), d.domain)?;
        }
        Command::Shutdown { wait, dom } => {
            let d = commands::find_domain(hv, dom)?;
            write_dom_node(d.domain, "control/shutdown", "poweroff")?;
            if *wait {
                let deadline = std::time::Instant::now() + SHUTDOWN_WAIT;
                while ops::domains(hv).map_err(CmdError::from)?.iter().any(|i| i.domain == d.domain) {
                    if std::time::Instant::now() > deadline {
                        return Err(CliError::Timeout { dom: dom.clone(), secs: SHUTDOWN_WAIT.as_secs() });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            }
        }
        Command::Reboot { dom } => {
            let d = commands::find_domain(hv, dom)?;
            write_dom_node(d.domain, "control/shutdown", "reboot")?;
        }
        Command::Console { dom } => {
            let d = commands::find_domain(hv, dom)?;
            consoled::attach(Path::new(consoled::SOCKET), d.domain.0, out)?;
        }
        Command::MemSet { dom, mem } => {
            let d = commands::find_domain(hv, dom)?;
            write_dom_node(d.domain, "memory/target", &(mem * 1024).to_string())?;
        }
        Command::MemMax { dom, mem } => {
            let d = commands::find_domain(hv, dom)?;
            hv.max_mem(d.domain, mem * 1024 + build::MAXMEM_SLACK_KIB).map_err(CmdError::from)?;
            let _ = write_dom_node(d.domain, "memory/static-max", &(mem * 1024).to_string());
        }
        Command::VcpuSet { dom, count } => {
            let d = commands::find_domain(hv, dom)?;
            let max = d.max_vcpu_id + 1;
            if *count > max {
                return Err(CliError::TooManyVcpus { dom: dom.clone(), count: *count, max });
            }
            for v in 0..max {
                let state = if v < *count { "online" } else { "offline" };
                write_dom_node(d.domain, &format!("cpu/{v}/availability"), state)?;
            }
        }
        other => return Err(needs_privcmd(other.name(), &privcmd_path())),
    }
    Ok(())
}

/// Whether `cmd` is a disk or network interface command ([`run_device_command`]).
pub fn is_device_command(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::BlockAttach { .. }
            | Command::BlockDetach { .. }
            | Command::BlockList { .. }
            | Command::NetworkAttach { .. }
            | Command::NetworkDetach { .. }
            | Command::NetworkList { .. }
    )
}

/// Run a disk or network interface command on a running domain
/// ([`crate::devices`]).
pub fn run_device_command(cmd: &Command, hv: &dyn Hypervisor, out: &mut dyn Write) -> Result<(), CliError> {
    use crate::devices::{self, nodes::Kind};
    let mut xs = xenstore_client().ok_or_else(|| CliError::NoXenstore(xs::socket_path().display().to_string()))?;
    match cmd {
        Command::BlockAttach { dom, backdev, frontdev, mode } => {
            let spec = format!("{backdev},{frontdev},{mode}");
            let disk = config::Disk::parse(&spec).map_err(|e| CliError::DeviceSpec(format!("disk {spec:?}: {e}")))?;
            let d = commands::find_domain(hv, dom)?;
            devices::attach_disk(&mut xs, d.domain, &disk)?;
        }
        Command::NetworkAttach { dom, items } => {
            let spec = items.join(",");
            let (vif, unknown) = config::Vif::parse(&spec).map_err(|e| CliError::DeviceSpec(format!("vif {spec:?}: {e}")))?;
            if let Some(k) = unknown.first() {
                return Err(CliError::DeviceSpec(format!("vif {spec:?}: unknown item '{k}'")));
            }
            let d = commands::find_domain(hv, dom)?;
            let devid = devices::next_vif_devid(&mut xs, d.domain);
            devices::attach_vif(&mut xs, d.domain, &vif, devid)?;
        }
        Command::BlockDetach { force, dom, dev } | Command::NetworkDetach { force, dom, dev } => {
            let kind = if matches!(cmd, Command::BlockDetach { .. }) { Kind::Vbd } else { Kind::Vif };
            let d = commands::find_domain(hv, dom)?;
            let devid = devices::find_device(&mut xs, kind, d.domain, dev)?;
            devices::detach(&mut xs, kind, d.domain, devid, *force)?;
        }
        Command::BlockList { dom } | Command::NetworkList { dom } => {
            let kind = if matches!(cmd, Command::BlockList { .. }) { Kind::Vbd } else { Kind::Vif };
            let d = commands::find_domain(hv, dom)?;
            out.write_all(devices::list(&mut xs, kind, d.domain).as_bytes())?;
        }
        other => return Err(needs_privcmd(other.name(), &privcmd_path())),
    }
    Ok(())
}

/// Whether `cmd` is one of the commands [`run_with`] implements.
pub fn uses_hypervisor(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Info
            | Command::List { .. }
            | Command::Dmesg { .. }
            | Command::Pause { .. }
            | Command::Unpause { .. }
            | Command::Domid { .. }
            | Command::Domname { .. }
            | Command::Uptime { .. }
            | Command::VcpuList { .. }
            | Command::VcpuPin { .. }
            | Command::SchedCredit { .. }
    )
}

/// Run a hypervisor command against `hv` (the privcmd device, or a fake in
/// tests).
pub fn run_with(cmd: &Command, hv: &dyn Hypervisor, out: &mut dyn Write) -> Result<(), CliError> {
    match cmd {
        Command::Info => commands::info(hv, out)?,
        Command::List { long, doms } => commands::list(hv, *long, doms, out)?,
        Command::Dmesg { clear } => commands::dmesg(hv, *clear, out)?,
        Command::Pause { dom } => commands::domain_action(hv, DomctlCmd::Pausedomain, dom)?,
        Command::Unpause { dom } => commands::domain_action(hv, DomctlCmd::Unpausedomain, dom)?,
        Command::Domid { name } => commands::domid(hv, name, out)?,
        Command::Domname { id } => commands::domname(hv, *id, out)?,
        Command::Uptime { doms } => commands::uptime(hv, doms, out)?,
        Command::VcpuList { doms } => commands::vcpu_list(hv, doms, out)?,
        Command::VcpuPin { dom, vcpu, cpus } => commands::vcpu_pin(hv, dom, vcpu, cpus)?,
        Command::SchedCredit { domain, weight, cap } => {
            commands::sched_credit(hv, domain.as_deref(), *weight, *cap, out)?
        }
        other => return Err(needs_privcmd(other.name(), &privcmd_path())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("xm").chain(args.iter().copied()))
    }

    #[test]
    fn parses_commands() {
        let c = parse(&["create", "-n", "g.cfg", "memory=256", "name=foo"]).unwrap();
        match c.command {
            Command::Create {
                dryrun, overrides, ..
            } => {
                assert!(dryrun);
                assert_eq!(overrides, ["memory=256", "name=foo"]);
            }
            _ => panic!(),
        }
        assert!(parse(&["create", "g.cfg", "memory"]).is_err());
        assert!(matches!(
            parse(&["list", "-l", "a", "b"]).unwrap().command,
            Command::List { long: true, .. }
        ));
        assert!(parse(&["sched-credit", "-w", "256"]).is_err());
        assert!(parse(&["sched-credit", "-d", "g", "-w", "256", "-c", "50"]).is_ok());
        assert!(parse(&["vcpu-pin", "g", "all", "0-3,^2"]).is_ok());
        assert!(parse(&["vcpu-pin", "g", "x", "0"]).is_err());
        assert!(parse(&["vcpu-pin", "g", "0", "^1"]).is_err());
        assert!(parse(&["migrate", "--live", "g", "host"]).is_ok());
        match parse(&["migrate", "-p", "9000", "-l", "g", "host"]).unwrap().command {
            Command::Migrate { live, port, dom, host } => assert_eq!((live, port, &*dom, &*host), (true, 9000, "g", "host")),
            _ => panic!(),
        }
        assert!(matches!(parse(&["migrate", "g", "h"]).unwrap().command, Command::Migrate { live: false, port: 8002, .. }));
        assert!(matches!(parse(&["serve"]).unwrap().command, Command::Serve { port: 8002 }));
        assert!(parse(&["vcpu-set", "g", "0"]).is_err());
        assert_eq!(parse(&["vcpu-list"]).unwrap().command.name(), "vcpu-list");
    }

    #[test]
    fn parses_device_commands() {
        let c = parse(&["block-attach", "g", "phy:/dev/vg/x", "xvdb", "w!"]).unwrap().command;
        assert!(matches!(&c, Command::BlockAttach { mode, .. } if mode == "w!"));
        assert!(is_device_command(&c) && !uses_xenstore(&c) && !uses_hypervisor(&c));
        assert!(parse(&["block-attach", "g", "phy:/dev/vg/x", "xvdb"]).is_err());
        assert!(matches!(parse(&["block-detach", "-f", "g", "xvdb"]).unwrap().command, Command::BlockDetach { force: true, .. }));
        let c = parse(&["network-attach", "g", "mac=00:16:3e:00:00:01", "bridge=xenbr1"]).unwrap().command;
        assert!(matches!(&c, Command::NetworkAttach { items, .. } if items.len() == 2));
        assert!(matches!(parse(&["network-detach", "g", "1"]).unwrap().command, Command::NetworkDetach { force: false, .. }));
        for (args, name) in [(["block-list", "g"], "block-list"), (["network-list", "g"], "network-list")] {
            assert_eq!(parse(&args).unwrap().command.name(), name);
        }
    }

    #[test]
    fn privcmd_messages() {
        let missing = needs_privcmd("list", Path::new("/nonexistent/privcmd"));
        assert_eq!(
            missing.to_string(),
            "'list' needs /nonexistent/privcmd (not present: are we running in a Xen dom0?)"
        );
        let present = needs_privcmd("info", Path::new("/"));
        assert!(matches!(
            present,
            CliError::NotImplemented {
                command: "info",
                ..
            }
        ));
    }
}
