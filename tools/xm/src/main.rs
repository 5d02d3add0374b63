//! `xm`: the toolstack users touch. Runs in dom0 and drives the hypervisor
//! through `/dev/xen/privcmd`.

use clap::{Parser, Subcommand};

/// Command-line interface of xm.
#[derive(Parser, Debug)]
#[command(name = "xm", version, about = "Xen domain management (xm), for the Xen 4.17 PV ABI")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// xm subcommands.
#[derive(Subcommand, Debug)]
enum Command {
    /// Print information about the host and hypervisor.
    Info,
    /// List domains.
    List,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Info | Command::List => {
            anyhow::bail!("'{:?}' needs the privcmd layer, which is not implemented yet", cli.command)
        }
    }
}
