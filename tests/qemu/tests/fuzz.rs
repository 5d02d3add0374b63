//! A short run of the hypercall fuzzer (`cargo xtask fuzz` runs it for
//! longer): fixed seeds, so a failure is reproducible with
//! `cargo xtask fuzz --seed S`. The host must neither crash nor hang, the
//! runs must finish, and dom0's reservation must end where it started.
//!
//! Then differential fuzzing as dom0: seed [`DIFF_SEED`]'s `diff=1`
//! transcript on ours must match Xen 4.17's call by call, but for the
//! differences `qemu_tests::fuzz::KNOWN_DIFFERENCES` explains
//! (`cargo xtask fuzz --diff` runs more seeds). Without Debian's archive
//! the Xen half prints `SKIPPED: ...`.

use std::sync::Mutex;

use qemu_tests::fixture::hypervisor_elf;
use qemu_tests::fuzz::{compare_transcripts, diff_seed, run_seed, Outcome, XenRun};

/// The seed of the differential run.
const DIFF_SEED: u64 = 1;
/// Its calls.
const DIFF_CALLS: u64 = 1500;

/// One QEMU at a time: the machines running these tests have few cores.
static QEMU: Mutex<()> = Mutex::new(());

#[test]
fn fuzz_short_run_leaves_the_host_standing() {
    let kernel = qemu_tests::build::guest("fuzz").expect("the fuzz kernel builds");
    let _one_qemu = QEMU.lock().unwrap_or_else(|e| e.into_inner());
    for seed in [1u64, 3] {
        let run = run_seed(&hypervisor_elf(), &kernel, seed, 20_000).expect("booting the fuzz kernel");
        match &run.outcome {
            Outcome::Done { calls, distinct, pages, max } => {
                println!("seed {seed}: {calls} calls, {distinct} distinct (hypercall, sub-op, errno), {:.1?}", run.elapsed);
                assert!(run.outcome.memory_kept(), "seed {seed}: dom0's reservation changed: {pages:?}, maximum {max:?}");
                assert!(*distinct > 100, "seed {seed}: too few distinct answers ({distinct})");
            }
            other => panic!("seed {seed}: {other:?}\nserial log:\n{}", run.log),
        }
    }
}

#[test]
fn fuzz_diff_as_dom0_matches_xen() {
    let kernel = qemu_tests::build::guest("fuzz").expect("the fuzz kernel builds");
    let _one_qemu = QEMU.lock().unwrap_or_else(|e| e.into_inner());
    let started = std::time::Instant::now();
    let (ours, xen) = diff_seed(&kernel, DIFF_SEED, DIFF_CALLS).expect("the diff=1 boots");
    let serial = &ours.boot.as_ref().expect("a booted transcript keeps its boot").text;
    if let Some(line) = qemu_tests::ours::crash_line(serial) {
        panic!("the diff=1 fuzzer crashed on ours: {line}\nserial log:\n{serial}");
    }
    assert_eq!(ours.facts.len() as u64, DIFF_CALLS, "our transcript:\n{ours}");
    let xen = match xen {
        XenRun::Transcript(t) => t,
        XenRun::Unavailable => {
            println!("SKIPPED: the Xen 4.17 half of differential fuzzing (Debian's archive is unavailable)");
            return;
        }
        XenRun::Crashed { line, log } => panic!("Xen 4.17 crashed on seed {DIFF_SEED} (a call to keep out of diff=1 mode): {line}\n{log}"),
    };
    assert_eq!(xen.facts.len() as u64, DIFF_CALLS, "Xen's transcript:\n{xen}");
    let c = compare_transcripts(&ours, &xen);
    println!("seed {DIFF_SEED}: {} calls compared, {} differ ({:.1?})\n{}", c.calls, c.differing, started.elapsed(), c.report.join("\n"));
    assert_eq!(c.unexplained, 0, "differences between ours and Xen 4.17 as dom0:\n{}", c.report.join("\n"));
}
