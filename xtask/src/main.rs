//! `cargo xtask`: build, image, run, test and bench the hypervisor.
//!
//! * `build`: the hypervisor ELF (and the PV test kernels, once they exist);
//! * `iso`: a GRUB image from `boot/grub.cfg` with a command line and modules;
//! * `run`: boot that image in QEMU with the serial console on the terminal;
//! * `test`: host unit tests, then the QEMU integration tests;
//! * `bench`: the `bench` PV kernel on ours and on Xen 4.17, as a table.

mod bench;
mod bench_xenstore;
mod bench_xm;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use qemu_tests::image::{make_iso, ImageSpec, Module};
use qemu_tests::qemu::{base_args, Machine};
use qemu_tests::{build, tools, workspace_root};
use std::path::PathBuf;
use std::process::Command;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, image, run and test the hypervisor")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

/// What goes into an image.
#[derive(clap::Args, Clone)]
struct ImageArgs {
    /// dom0 kernel (a PV ELF), passed as the first module (`run` defaults
    /// to the `hello` test kernel; `--no-dom0` boots without one).
    #[arg(long)]
    dom0: Option<PathBuf>,
    /// Boot with no dom0 kernel at all.
    #[arg(long, conflicts_with = "dom0")]
    no_dom0: bool,
    /// Command line of the dom0 kernel.
    #[arg(long, default_value = "")]
    dom0_cmdline: String,
    /// Initial ramdisk for dom0, passed as the second module.
    #[arg(long)]
    initrd: Option<PathBuf>,
    /// Hypervisor command line (default: the one in boot/grub.cfg).
    #[arg(long)]
    cmdline: Option<String>,
}

#[derive(Subcommand)]
enum Task {
    /// Build the hypervisor ELF.
    Build,
    /// Make a bootable GRUB ISO (default target/hypervisor.iso).
    Iso {
        #[command(flatten)]
        image: ImageArgs,
        /// Where to write the ISO.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Boot the image in QEMU with the serial console here (Ctrl-A X quits).
    Run {
        #[command(flatten)]
        image: ImageArgs,
        /// Number of CPUs.
        #[arg(long, default_value_t = 2)]
        smp: u32,
        /// Memory in MiB.
        #[arg(long, default_value_t = 512)]
        mem: u32,
        /// Boot the reference system instead: Xen 4.17 with Debian's Linux
        /// as dom0 and a busybox shell that has our `xm` (image options are
        /// ignored; 1024 MiB is a good `--mem`).
        #[arg(long)]
        reference: bool,
    },
    /// Host unit tests, then the QEMU integration tests.
    Test {
        /// Only the host unit tests.
        #[arg(long)]
        host_only: bool,
    },
    /// Cycles per operation on ours and on Xen 4.17 (same QEMU), as a table.
    Bench,
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Build => {
            println!("{}", build::hypervisor()?.display());
            for elf in build::guests()? {
                println!("{}", elf.display());
            }
        }
        Task::Iso { image, output } => {
            let iso = iso(&image, output)?;
            println!("{}", iso.display());
        }
        Task::Run { reference: true, smp, mem, .. } => {
            qemu_tests::linux_dom0::run_interactive(smp, mem.max(1024))?
        }
        Task::Run { image, smp, mem, reference: false } => run(&image, smp, mem)?,
        Task::Test { host_only } => test(host_only)?,
        Task::Bench => {
            bench::bench()?;
            println!("\nxenstored through its unix socket (host, release build):");
            println!("{}", bench_xenstore::run()?);
            println!("\nPV domU lifecycle with xm on Xen 4.17 (Linux dom0 system):");
            println!("{}", bench_xm::run()?);
            println!("\nLive migration with xm on Xen 4.17 (two Linux dom0 systems):");
            println!("{}", bench_xm::run_migration()?);
        }
    }
    Ok(())
}

fn iso(args: &ImageArgs, output: Option<PathBuf>) -> Result<PathBuf> {
    tools::ensure()?;
    let hypervisor = build::hypervisor()?;
    let mut modules = Vec::new();
    if let Some(k) = &args.dom0 {
        modules.push(Module { file: k.clone(), name: "dom0".into(), args: args.dom0_cmdline.clone() });
    }
    if let Some(i) = &args.initrd {
        if args.dom0.is_none() {
            bail!("--initrd needs --dom0");
        }
        modules.push(Module { file: i.clone(), name: "initrd".into(), args: String::new() });
    }
    let out = output.unwrap_or_else(|| workspace_root().join("target/hypervisor.iso"));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    make_iso(&ImageSpec { hypervisor, cmdline: args.cmdline.clone(), modules }, &out)?;
    Ok(out)
}

fn run(args: &ImageArgs, smp: u32, mem: u32) -> Result<()> {
    let mut args = args.clone();
    if args.dom0.is_none() && !args.no_dom0 {
        args.dom0 = Some(build::guest("hello")?);
        if args.dom0_cmdline.is_empty() {
            args.dom0_cmdline = "hello from cargo xtask run".into();
        }
    }
    let iso = iso(&args, None)?;
    let machine = Machine { smp, mem_mib: mem, ..Machine::default() };
    eprintln!("Booting {} under QEMU (TCG, {smp} CPUs, {mem} MiB). Ctrl-A X quits.", iso.display());
    let status = Command::new("qemu-system-x86_64")
        .args(base_args(&iso, &machine))
        .arg("-nographic")
        .status()
        .context("starting qemu-system-x86_64")?;
    if !status.success() {
        bail!("QEMU exited with {status}");
    }
    Ok(())
}

fn cargo(args: &[&str]) -> Result<()> {
    let status = Command::new(env!("CARGO"))
        .current_dir(workspace_root())
        .args(args)
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn test(host_only: bool) -> Result<()> {
    // Everything apt provides, once, before any test needs it.
    tools::ensure()?;
    eprintln!("== host unit tests");
    cargo(&["test", "--workspace", "--exclude", "qemu-tests"])?;
    if host_only {
        return Ok(());
    }
    eprintln!("== QEMU integration tests");
    tools::ensure()?;
    build::hypervisor()?;
    cargo(&["test", "--package", "qemu-tests"])
}
