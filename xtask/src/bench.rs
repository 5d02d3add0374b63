//! `cargo xtask bench`: the `bench` PV kernel on our hypervisor and on Xen
//! 4.17, back to back under the same QEMU settings, and a table of the two.
//!
//! Both boots use [`Machine::default`] (TCG, `-cpu max,-smap,-smep`, one
//! CPU, 512 MiB) and a 256 MiB dom0. Without the Debian archive (so without
//! Xen) ours is printed alone and the table says why Xen was skipped. The
//! serial logs are kept in `target/bench/` for a closer look. Nothing here
//! fails on a slow result: benchmarks only report.

use anyhow::{Context, Result};
use qemu_tests::bench::{header, table, Reference, Results};
use qemu_tests::image::{make_iso, ImageSpec, Module};
use qemu_tests::qemu::{boot, Capture, Ending, Machine, Transcript};
use qemu_tests::transcript::END;
use qemu_tests::{build, debian, tools, workspace_root, xen};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Name of the benchmark kernel (a binary of `pv-guests`).
const KERNEL: &str = "bench";

/// Our hypervisor's command line in benchmark boots (what the brief of the
/// reference boots uses too: serial console, a 256 MiB dom0, no reboot on a
/// dom0 crash so its message stays last).
const OURS_CMDLINE: &str = "console=com1 com1=115200 loglvl=all dom0_mem=256M noreboot";

/// How long the boot on ours may take.
const OURS_TIMEOUT: Duration = Duration::from_secs(300);

/// Run the benchmarks and print the table.
pub fn bench() -> Result<()> {
    tools::ensure()?;
    let hypervisor = build::hypervisor()?;
    let kernel = build::guest(KERNEL)?;
    let machine = Machine::default();
    let logs = workspace_root().join("target/bench");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;

    eprintln!("== bench on ours");
    let ours = run_ours(&hypervisor, &kernel, &machine, &logs)?;
    eprintln!("== bench on Xen 4.17");
    let reference = run_xen(&kernel, &machine, &logs);

    let machine_text = format!(
        "QEMU TCG, -cpu {}, {} CPU, {} MiB; dom0 256 MiB; serial logs in {}",
        machine.cpu,
        machine.smp,
        machine.mem_mib,
        logs.display()
    );
    println!();
    print!("{}", header(&machine_text));
    println!();
    print!("{}", table(&ours, &reference));
    Ok(())
}

/// Boot the kernel as dom0 of our hypervisor; every operation it did not
/// report gets `n/a` with how the boot ended.
fn run_ours(hypervisor: &Path, kernel: &Path, machine: &Machine, logs: &Path) -> Result<Results> {
    let iso = qemu_tests::fixture::scratch_dir().join(format!("bench-ours-{}.iso", std::process::id()));
    let spec = ImageSpec {
        hypervisor: hypervisor.to_path_buf(),
        cmdline: Some(OURS_CMDLINE.to_string()),
        modules: vec![Module { file: kernel.to_path_buf(), name: "dom0".into(), args: String::new() }],
    };
    make_iso(&spec, &iso)?;
    let cap = Capture { timeout: OURS_TIMEOUT, stop_on: Some(END), mark: Some(END), ..Capture::default() };
    let run = boot(&iso, machine, &cap);
    let _ = std::fs::remove_file(&iso);
    let run = run?;
    let log = save_log(logs, "ours.log", &run.text);
    eprintln!("   {:?} after {:.1?}; log {}", run.ending, run.elapsed, log.display());
    let mut results = Results::parse(&run.text);
    results.fill_missing(&why_incomplete(&run));
    Ok(results)
}

/// Boot the kernel as dom0 of Xen 4.17; `Skipped` when Xen cannot be had
/// or the boot failed (with the reason, never a made-up number).
fn run_xen(kernel: &Path, machine: &Machine, logs: &Path) -> Reference {
    match xen::boot_on_xen(kernel, "", machine) {
        Ok(t) => {
            let Some(run) = t.boot else {
                return Reference::Skipped("the Xen boot kept no serial log".into());
            };
            let log = save_log(logs, "xen.log", &run.text);
            eprintln!("   {:?} after {:.1?}; log {}", run.ending, run.elapsed, log.display());
            let mut results = Results::parse(&run.text);
            results.fill_missing(&why_incomplete(&run));
            Reference::Ran(results)
        }
        Err(e) if debian::is_unavailable(&e) => {
            eprintln!("   skipped: {e:#}");
            Reference::Skipped(format!("no Debian archive ({e:#}); ours is shown alone"))
        }
        Err(e) => {
            let first = format!("{e:#}").lines().next().unwrap_or_default().to_string();
            eprintln!("   Xen boot failed: {e:#}");
            Reference::Skipped(format!("the Xen 4.17 boot failed: {first}"))
        }
    }
}

/// Why a boot left operations unreported: how it ended and the
/// hypervisor's last complaint, if any.
fn why_incomplete(run: &Transcript) -> String {
    let ending = match &run.ending {
        Ending::StopPattern => "the kernel ended its transcript without reporting it".to_string(),
        Ending::Timeout => format!("no result within {:.0?}", run.elapsed),
        Ending::Exited(code) => format!("QEMU exited ({code:?}) before the kernel reported it"),
    };
    let complaint = run
        .text
        .lines()
        .rev()
        .find(|l| l.contains("crashed") || l.contains("PANIC") || l.contains("FATAL") || l.contains("Unhandled"));
    match complaint {
        Some(line) => format!("{ending}; last complaint: {}", line.trim()),
        None => ending,
    }
}

/// Write a serial log under `dir`; returns its path (a failure to write is
/// only reported: the numbers matter more).
fn save_log(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Err(e) = std::fs::write(&path, text) {
        eprintln!("   could not write {}: {e}", path.display());
    }
    path
}

/// Measure on Xen 4.17 first: `Ok(Err(line))` when Debian's archive cannot
/// be reached (the part prints that line and is skipped).
pub fn xen_first<T>(measure: impl FnOnce() -> Result<T>) -> Result<Result<T, String>> {
    match measure() {
        Ok(t) => Ok(Ok(t)),
        Err(e) if debian::is_unavailable(&e) => Ok(Err(format!("skipped: {e:#}"))),
        Err(e) => Err(e),
    }
}
