//! The hypercall fuzzer's harness: boots the `fuzz` PV kernel as dom0 of
//! our hypervisor with a seed, watches the serial console, and classifies
//! the run: finished, the guest crashed itself (fine: the next seed goes
//! on), the host crashed (a hypervisor fatal exception or panic), or the
//! host hung (no progress line for [`STALL`]). `cargo xtask fuzz` and the
//! short run in the test suite use it.

use anyhow::Result;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::fixture::scratch_dir;
use crate::image::{make_iso, ImageSpec, Module};
use crate::qemu::{boot, Capture, Ending, Machine};

/// Our hypervisor's command line for fuzz runs.
pub const CMDLINE: &str = "console=com1 loglvl=warning dom0_mem=256M,max:256M noreboot";
/// How long a run may go without finishing before it counts as a hang
/// (generous: TCG on a loaded machine is slow).
pub const STALL: Duration = Duration::from_secs(300);

/// How one seed's run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// All calls made.
    Done {
        /// Calls made.
        calls: u64,
        /// Distinct (hypercall, sub-operation, errno) triples seen.
        distinct: u64,
        /// The domain's reservation before and after.
        pages: (i64, i64),
    },
    /// The guest crashed itself (a domain crash, reported with its dump).
    GuestCrashed(String),
    /// The hypervisor took a fatal exception or panicked.
    HostCrashed(String),
    /// No end within [`STALL`].
    Hang,
}

/// One seed's run: outcome, wall time, serial log.
pub struct Run {
    /// How it ended.
    pub outcome: Outcome,
    /// Wall time.
    pub elapsed: Duration,
    /// Everything the serial port printed.
    pub log: String,
}

/// Boot the fuzz kernel at `kernel` with `seed` for `calls` calls.
pub fn run_seed(hypervisor: &Path, kernel: &Path, seed: u64, calls: u64) -> Result<Run> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let iso = scratch_dir().join(format!("fuzz-{}-{}.iso", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
    let spec = ImageSpec {
        hypervisor: hypervisor.to_path_buf(),
        cmdline: Some(CMDLINE.into()),
        modules: vec![Module { file: kernel.to_path_buf(), name: "dom0".into(), args: format!("seed={seed} calls={calls}") }],
    };
    make_iso(&spec, &iso)?;
    let cap = Capture {
        timeout: STALL,
        stop_on: Some("FUZZ DONE"),
        stop_after: Some(("crashed", Duration::from_secs(1))),
        mark: None,
    };
    let run = boot(&iso, &Machine { mem_mib: 512, ..Machine::default() }, &cap);
    let _ = std::fs::remove_file(&iso);
    let run = run?;
    let outcome = classify(&run.text, &run.ending);
    Ok(Run { outcome, elapsed: run.elapsed, log: run.text })
}

/// What a serial log says about a run.
pub fn classify(log: &str, ending: &Ending) -> Outcome {
    if let Some(l) = log.lines().find(|l| l.contains("hypervisor fatal exception") || l.starts_with("Panic: ")) {
        return Outcome::HostCrashed(l.to_string());
    }
    if let Some(l) = log.lines().find(|l| l.starts_with("FUZZ DONE")) {
        let field = |k: &str| -> i64 {
            l.split(' ').find_map(|w| w.strip_prefix(k)?.strip_prefix('=')?.parse().ok()).unwrap_or(-1)
        };
        return Outcome::Done {
            calls: field("calls") as u64,
            distinct: field("distinct") as u64,
            pages: (field("pages_before"), field("pages_after")),
        };
    }
    if let Some(l) = log.lines().find(|l| l.starts_with("(XEN)") && l.contains(" crashed")) {
        return Outcome::GuestCrashed(l.to_string());
    }
    match ending {
        Ending::Timeout => Outcome::Hang,
        // QEMU stopped by itself without the end line: the host went down.
        _ => Outcome::HostCrashed("the machine stopped before the run ended".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_logs() {
        let done = "FUZZ BEGIN seed=1 calls=10\nFUZZ DONE calls=10 distinct=7 pages_before=65536 pages_after=65536\n";
        assert_eq!(
            classify(done, &Ending::StopPattern),
            Outcome::Done { calls: 10, distinct: 7, pages: (65536, 65536) }
        );
        let fatal = "(XEN) x\n----[ hypervisor fatal exception on CPU0 ]----\n";
        assert!(matches!(classify(fatal, &Ending::Timeout), Outcome::HostCrashed(_)));
        let guest = "(XEN) ERROR: domain 0 vcpu 0 crashed: exception with no guest handler\n";
        assert!(matches!(classify(guest, &Ending::StopPattern), Outcome::GuestCrashed(_)));
        assert_eq!(classify("FUZZ 2000 calls\n", &Ending::Timeout), Outcome::Hang);
    }
}
