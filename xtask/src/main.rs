//! `cargo xtask`: build, image, run, test and bench the hypervisor.
//!
//! * `build`: the hypervisor ELF (and the PV test kernels, once they exist);
//! * `iso`: a GRUB image from `boot/grub.cfg` with a command line and modules;
//! * `run`: boot that image in QEMU with the serial console on the terminal;
//! * `test`: host unit tests, then the QEMU integration tests;
//! * `bench`: the `bench` PV kernel on ours and on Xen 4.17, as a table.

mod bench;
mod bench_linux;
mod bench_ipi;
mod bench_sched;
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
    /// dom0 kernel (a PV ELF or bzImage, or the name of a test kernel such
    /// as `hello`), passed as the first module (`run` defaults to Debian's
    /// Linux with the busybox initramfs carrying our toolstack;
    /// `--no-dom0` boots without one).
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
    Bench {
        /// Run one part only: kernel, xenstore, linux, xm, sched, ipi or migrate.
        #[arg(long)]
        only: Option<String>,
    },
    /// Fuzz the hypercall surface of ours: the `fuzz` PV kernel as dom0,
    /// seed after seed, until the time is up; non-zero exit on a host
    /// crash or hang.
    Fuzz {
        /// How long to fuzz.
        #[arg(long, default_value_t = 5)]
        minutes: u64,
        /// First seed (runs go on with the next ones).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Calls per seed (default 200000; 3000 with `--diff`).
        #[arg(long)]
        calls: Option<u64>,
        /// Differential fuzzing: each seed's `diff=1` transcript on ours and
        /// on Xen 4.17, compared call by call.
        #[arg(long)]
        diff: bool,
    },
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
        Task::Fuzz { minutes, seed, calls, diff: false } => fuzz(minutes, seed, calls.unwrap_or(200_000))?,
        Task::Fuzz { minutes, seed, calls, diff: true } => fuzz_diff(minutes, seed, calls.unwrap_or(3000))?,
        Task::Bench { only } => {
            let part = |name: &str| only.as_deref().is_none_or(|o| o == name);
            if let Some(o) = only.as_deref() {
                if !["kernel", "xenstore", "linux", "xm", "sched", "ipi", "migrate"].contains(&o) {
                    bail!("--only takes kernel, xenstore, linux, xm, sched, ipi or migrate, not {o:?}");
                }
            }
            if part("kernel") {
                bench::bench()?;
            }
            if part("xenstore") {
                println!("\nxenstored through its unix socket (host, release build):");
                println!("{}", bench_xenstore::run()?);
            }
            if part("linux") {
                println!("\nLinux dom0, ours vs Xen 4.17 (same QEMU, one after the other):");
                println!("{}", bench_linux::run()?);
            }
            if part("xm") {
                println!("\nPV domU lifecycle with xm, Xen 4.17 and ours (Linux dom0 system):");
                println!("{}", bench_xm::run()?);
            }
            if part("sched") {
                println!("\nThe credit scheduler, Xen 4.17 and ours (Linux dom0 system):");
                println!("{}", bench_sched::run()?);
            }
            if part("ipi") {
                println!("\nEvent-channel round trips between two vCPUs, Xen 4.17 and ours (Linux dom0 system):");
                println!("{}", bench_ipi::run()?);
            }
            if part("migrate") {
                println!("\nLive migration with xm, Xen 4.17 and ours (two Linux dom0 systems each):");
                println!("{}", bench_xm::run_migration()?);
            }
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
    let iso = match &args.dom0 {
        None if !args.no_dom0 => {
            // The main job: Debian's Linux as dom0 on our hypervisor, with the
            // busybox shell that carries xm, xenstored and xenconsoled.
            let iso = workspace_root().join("target/linux-dom0-ours.iso");
            qemu_tests::linux_dom0::build_iso_for(qemu_tests::linux_dom0::Host::Ours, &iso, false)?;
            let mem = mem.max(1024);
            return boot_interactive(&iso, smp, mem);
        }
        Some(k) if !k.exists() && !k.to_string_lossy().contains('/') => {
            // A test kernel by name (`--dom0 hello`).
            let name = k.to_string_lossy().into_owned();
            args.dom0 = Some(build::guest(&name)?);
            if args.dom0_cmdline.is_empty() {
                args.dom0_cmdline = format!("{name} from cargo xtask run");
            }
            iso(&args, None)?
        }
        _ => iso(&args, None)?,
    };
    boot_interactive(&iso, smp, mem)
}

fn boot_interactive(iso: &std::path::Path, smp: u32, mem: u32) -> Result<()> {
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

fn fuzz(minutes: u64, first_seed: u64, calls: u64) -> Result<()> {
    use qemu_tests::fuzz::{run_seed, Outcome};
    tools::ensure()?;
    let hypervisor = build::hypervisor()?;
    let kernel = build::guest("fuzz")?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(minutes * 60);
    let (mut total_calls, mut busy, mut max_distinct) = (0u64, std::time::Duration::ZERO, 0u64);
    let mut failures = Vec::new();
    let mut seed = first_seed;
    while std::time::Instant::now() < deadline || seed == first_seed {
        let run = run_seed(&hypervisor, &kernel, seed, calls)?;
        match &run.outcome {
            Outcome::Done { calls, distinct, pages, max } => {
                total_calls += calls;
                busy += run.elapsed;
                max_distinct = max_distinct.max(*distinct);
                let memory = match (run.outcome.memory_kept(), pages.0 == pages.1) {
                    (true, true) => "memory unchanged",
                    (true, false) => "memory grew within a maximum the run raised",
                    (false, _) => "MEMORY CHANGED",
                };
                println!("seed {seed}: {calls} calls, {distinct} distinct (hypercall, sub-op, errno), {memory}, {:.1?}", run.elapsed);
                if !run.outcome.memory_kept() {
                    failures.push(format!("seed {seed}: reservation {} -> {} (maximum {} -> {})", pages.0, pages.1, max.0, max.1));
                }
            }
            Outcome::GuestCrashed(line) => {
                println!("seed {seed}: the guest crashed itself ({line}); next seed")
            }
            Outcome::HostCrashed(line) => {
                println!("seed {seed}: HOST CRASHED: {line}");
                failures.push(format!("seed {seed}: host crashed: {line}"));
                let log = workspace_root().join(format!("target/fuzz-seed-{seed}.log"));
                let _ = std::fs::write(&log, &run.log);
                println!("  serial log: {}", log.display());
            }
            Outcome::Hang => {
                println!("seed {seed}: HOST HUNG");
                failures.push(format!("seed {seed}: host hung"));
            }
        }
        seed += 1;
    }
    let rate = if busy.is_zero() { 0.0 } else { total_calls as f64 / busy.as_secs_f64() };
    println!(
        "fuzz: {} seeds, {total_calls} calls, {rate:.0} calls/s (boots included), up to {max_distinct} distinct (hypercall, sub-op, errno) triples a seed",
        seed - first_seed
    );
    if !failures.is_empty() {
        bail!("reproduce with `cargo xtask fuzz --seed S --minutes 0`:\n{}", failures.join("\n"));
    }
    Ok(())
}

/// `cargo xtask fuzz --diff`: seed after seed, the fuzz kernel's `diff=1`
/// transcript as dom0 of ours and of Xen 4.17; prints the differences
/// grouped by call and answers, and fails on one that
/// `qemu_tests::fuzz::KNOWN_DIFFERENCES` does not explain.
fn fuzz_diff(minutes: u64, first_seed: u64, calls: u64) -> Result<()> {
    use qemu_tests::fuzz::{compare_transcripts, diff_seed, XenRun};
    tools::ensure()?;
    build::hypervisor()?;
    let kernel = build::guest("fuzz")?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(minutes * 60);
    let mut seed = first_seed;
    let (mut compared, mut unexplained) = (0u64, 0usize);
    while std::time::Instant::now() < deadline || seed == first_seed {
        let (ours, xen) = diff_seed(&kernel, seed, calls)?;
        if let Some(line) = qemu_tests::ours::crash_line(&ours.boot.as_ref().map(|b| b.text.clone()).unwrap_or_default()) {
            bail!("seed {seed}: the fuzzer crashed on ours: {line}");
        }
        let xen = match xen {
            XenRun::Transcript(t) => t,
            XenRun::Unavailable => bail!("Xen 4.17 is not available (Debian's archive)"),
            XenRun::Crashed { line, log } => {
                let path = workspace_root().join(format!("target/fuzz-diff-seed-{seed}-xen.log"));
                let _ = std::fs::write(&path, log);
                println!("seed {seed}: XEN 4.17 CRASHED: {line} (a bug of the reference: keep the call out of diff=1 mode, see xen_unsafe in the fuzz kernel); serial log: {}", path.display());
                seed += 1;
                continue;
            }
        };
        let c = compare_transcripts(&ours, &xen);
        compared += c.calls as u64;
        unexplained += c.unexplained;
        println!("seed {seed}: {} calls compared, {} differ", c.calls, c.differing);
        for line in &c.report {
            println!("{line}");
        }
        seed += 1;
    }
    println!("fuzz --diff: {} seeds, {compared} calls compared, {unexplained} unexplained differences", seed - first_seed);
    if unexplained > 0 {
        bail!("differences between ours and Xen 4.17 (replay one with `--seed S --minutes 0`)");
    }
    Ok(())
}
