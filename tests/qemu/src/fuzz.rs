//! The hypercall fuzzer's harness: boots the `fuzz` PV kernel as dom0 of
//! our hypervisor with a seed, watches the serial console, and classifies
//! the run: finished, the guest crashed itself (fine: the next seed goes
//! on), the host crashed (a hypervisor fatal exception or panic), or the
//! host hung (no progress line for [`STALL`]). `cargo xtask fuzz` and the
//! short run in the test suite use it.
//!
//! Differential fuzzing ([`diff_seed`], `cargo xtask fuzz --diff`): the
//! kernel's `diff=1` transcript of one seed (each call's hypercall,
//! sub-operation and result) from ours and from Xen 4.17, compared call by
//! call ([`call_differences`]); the differences that are Xen's own
//! business are in [`KNOWN_DIFFERENCES`] with their reason.

use anyhow::Result;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::fixture::scratch_dir;
use crate::image::{make_iso, ImageSpec, Module};
use crate::qemu::{boot, Capture, Ending, Machine};
use crate::transcript::Transcript;

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
        /// Its maximum reservation before and after (as dom0 the fuzzer
        /// may raise its own with domctl max_mem, and then grow within it).
        max: (i64, i64),
    },
    /// The guest crashed itself (a domain crash, reported with its dump).
    GuestCrashed(String),
    /// The hypervisor took a fatal exception or panicked.
    HostCrashed(String),
    /// No end within [`STALL`].
    Hang,
}

impl Outcome {
    /// Whether a finished run left the domain's memory as it was: the
    /// same reservation, unless the run raised its own maximum first.
    pub fn memory_kept(&self) -> bool {
        match self {
            Outcome::Done { pages, max, .. } => pages.0 == pages.1 || max.0 != max.1,
            _ => true,
        }
    }
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

/// The line of a serial log that says the hypervisor itself crashed (a
/// fatal exception or a panic, ours or Xen's), if there is one.
pub fn host_crash_line(log: &str) -> Option<&str> {
    log.lines().find(|l| {
        l.contains("hypervisor fatal exception") || l.starts_with("Panic: ") || l.contains("Panic on CPU") || l.contains("FATAL TRAP")
    })
}

/// What a serial log says about a run.
pub fn classify(log: &str, ending: &Ending) -> Outcome {
    if let Some(l) = host_crash_line(log) {
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
            max: (field("max_before"), field("max_after")),
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

/// The `diff=1` command line of the fuzz kernel.
pub fn diff_cmdline(seed: u64, calls: u64) -> String {
    format!("seed={seed} calls={calls} diff=1")
}

/// What Xen 4.17 gave in a differential run.
pub enum XenRun {
    /// Its transcript.
    Transcript(Transcript),
    /// Debian's archive is unavailable: no Xen to run.
    Unavailable,
    /// Xen itself crashed: a bug of the reference, to keep out of the
    /// `diff=1` calls and to keep against ours.
    Crashed {
        /// Its panic line.
        line: String,
        /// The serial log.
        log: String,
    },
}

/// One seed's `diff=1` transcripts as dom0: ours, and what Xen 4.17 gave.
pub fn diff_seed(kernel: &Path, seed: u64, calls: u64) -> Result<(Transcript, XenRun)> {
    let m = Machine::default();
    let xen = match crate::xen::boot_on_xen(kernel, &diff_cmdline(seed, calls), &m) {
        Ok(t) => XenRun::Transcript(t),
        Err(e) if crate::debian::is_unavailable(&e) => XenRun::Unavailable,
        Err(e) => {
            let log = format!("{e:#}");
            match host_crash_line(&log) {
                Some(line) => XenRun::Crashed { line: line.to_string(), log: log.clone() },
                None => return Err(e),
            }
        }
    };
    let ours = crate::ours::boot_on_ours(kernel, &diff_cmdline(seed, calls), &m)?;
    Ok((ours, xen))
}

/// A call whose result differs between the two transcripts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallDifference {
    /// The call's number in the seed's sequence (1-based; 0 when the
    /// transcripts' shapes differ).
    pub call: u64,
    /// `<hypercall>.<sub-operation>`.
    pub op: String,
    /// Our result.
    pub ours: String,
    /// Xen's result.
    pub xen: String,
}

/// Why a difference stays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Xen's answer follows from something ours legitimately lacks or
    /// does differently (the host's hardware, a debugging aid).
    Legitimate,
    /// Ours does not implement the operation yet: open work, listed so
    /// that every other difference fails the comparison.
    Open,
}

/// A difference that is not fixed: the call, both answers, why.
pub struct KnownDifference {
    /// `<hypercall>.<sub-operation>`, or `<hypercall>.*` for every one.
    pub op: &'static str,
    /// Our answer (`None`: any).
    pub ours: Option<&'static str>,
    /// Xen 4.17's answer (`None`: any).
    pub xen: Option<&'static str>,
    /// Legitimate or open.
    pub verdict: Verdict,
    /// Why.
    pub why: &'static str,
}

const fn open(op: &'static str, why: &'static str) -> KnownDifference {
    KnownDifference { op, ours: None, xen: None, verdict: Verdict::Open, why }
}

/// The differences found by differential fuzzing that stay, with reasons
/// (hypercall numbers: 7 platform_op, 12 memory_op, 20 grant_table_op,
/// 29 sched_op, 33 physdev_op, 35 sysctl, 36 domctl, 48 mca).
pub const KNOWN_DIFFERENCES: &[KnownDifference] = &[
    KnownDifference {
        op: "48.*",
        ours: Some("-38 (ENOSYS)"),
        xen: None,
        verdict: Verdict::Legitimate,
        why: "machine-check injection (msrinject, mceinject, inject_v2) is a debugging aid of Xen's that ours does not offer; Xen's answer depends on the host's MCA banks",
    },
    KnownDifference {
        op: "17.10",
        ours: Some("-61 (ENODATA)"),
        xen: None,
        verdict: Verdict::Legitimate,
        why: "XENVER_build_id: ours is linked without a build ID; Debian's Xen has one (its size, 20)",
    },
    KnownDifference {
        op: "1.0",
        ours: Some("-22 (EINVAL)"),
        xen: None,
        verdict: Verdict::Legitimate,
        why: "mmu_update of a random machine frame: whether the frame is the caller's (and a write to it succeeds) follows from each hypervisor's memory layout",
    },
    KnownDifference {
        op: "35.1",
        ours: None,
        xen: None,
        verdict: Verdict::Legitimate,
        why: "XEN_SYSCTL_readconsole copies each hypervisor's own log: whether there is anything to copy (and so whether a bad buffer faults) differs",
    },
    open("12.13", "XENMEM_set_memory_map: ours keeps no pseudo-physical map per domain"),
    open("12.21", "XENMEM_access_op (mem_access, VM introspection) is not implemented"),
    open("12.24", "XENMEM_claim_pages is not implemented"),
    open("12.27", "XENMEM_reserved_device_memory_map (IOMMU reserved regions) is not implemented"),
    open("12.28", "XENMEM_acquire_resource is not implemented"),
    open("20.4", "GNTTABOP_transfer is not implemented"),
    open("20.12", "GNTTABOP_cache_flush is not implemented"),
    open("24.5", "VCPUOP_register_runstate_memory_area: Xen takes an area it cannot write yet (only its start is checked), ours refuses it (EFAULT); hypercall/vcpu.rs belongs to the SMP work"),
    open("29.7", "SCHEDOP_pin_override: temporary pinning of dom0's vCPUs is not implemented (its permission and argument checks are)"),
    open("33.4", "PHYSDEVOP_IRQ_UNMASK_NOTIFY (the pre-EOI unmask call) is not implemented"),
    open("33.7", "PHYSDEVOP_set_iobitmap: ours emulates port I/O by IOPL only"),
    open("33.13", "PHYSDEVOP_map_pirq of an MSI: ours has no MSI (EOPNOTSUPP), Xen looks the device up first (ENODEV)"),
    open("33.15", "PHYSDEVOP_manage_pci_add: ours knows only the devices on the host bus, Xen records any"),
    open("33.21", "PHYSDEVOP_setup_gsi: Xen refuses to set up a pin it has programmed already (EEXIST); ours does not track that yet"),
    open("33.19", "PHYSDEVOP_restore_msi: no MSI support"),
    open("33.20", "PHYSDEVOP_manage_pci_add_ext: ours knows only the devices on the host bus, Xen records any"),
    open("33.24", "PHYSDEVOP_pci_mmcfg_reserved: no MMCFG handling"),
    open("33.25", "PHYSDEVOP_pci_device_add: ours knows only the devices on the host bus, Xen records any"),
    open("33.27", "PHYSDEVOP_restore_msi_ext: no MSI support"),
    open("33.30", "PHYSDEVOP_prepare_msix: no MSI-X support (not made in diff=1 mode: it crashes Xen 4.17)"),
    open("33.31", "PHYSDEVOP_release_msix: no MSI-X support (not made in diff=1 mode: it crashes Xen 4.17)"),
    open("7.*", "platform_op commands ours lacks (memtypes, microcode, platform quirks, CPU/memory hot-add, core parking, resource_op, symbols)"),
    open("35.*", "sysctl commands ours lacks or checks in another order (not yet matched)"),
    open("36.*", "domctl commands ours lacks or checks in another order (not yet matched)"),
];

impl CallDifference {
    /// The entry of [`KNOWN_DIFFERENCES`] that explains it, if any.
    pub fn known(&self) -> Option<&'static KnownDifference> {
        KNOWN_DIFFERENCES.iter().find(|k| {
            let op = match k.op.strip_suffix(".*") {
                Some(nr) => self.op.split('.').next() == Some(nr),
                None => k.op == self.op,
            };
            op && k.ours.is_none_or(|o| o == self.ours) && k.xen.is_none_or(|x| x == self.xen)
        })
    }
}

impl std::fmt::Display for CallDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "call {} ({}): ours {}, Xen {}", self.call, self.op, self.ours, self.xen)
    }
}

/// Every call whose result differs between `ours` and `xen` (lines marked
/// `~ ` excepted). A transcript that ends early or whose calls do not
/// line up gives one difference with call 0.
pub fn call_differences(ours: &Transcript, xen: &Transcript) -> Vec<CallDifference> {
    let mut out = Vec::new();
    for (a, b) in ours.facts.iter().zip(&xen.facts) {
        if a.key != b.key || a.specific != b.specific {
            out.push(CallDifference { call: 0, op: "shape".into(), ours: a.to_string(), xen: b.to_string() });
            return out;
        }
        if a.specific || a.value == b.value {
            continue;
        }
        let (call, op) = a.key.split_once(' ').unwrap_or(("0", &a.key));
        out.push(CallDifference {
            call: call.parse().unwrap_or(0),
            op: op.to_string(),
            ours: a.value.clone(),
            xen: b.value.clone(),
        });
    }
    if ours.facts.len() != xen.facts.len() {
        let (a, b) = (ours.facts.len(), xen.facts.len());
        out.push(CallDifference { call: 0, op: "length".into(), ours: format!("{a} calls"), xen: format!("{b} calls") });
    }
    out
}

/// The differences of [`call_differences`] grouped by (op, ours, xen), in
/// first-seen order, with their count and first call.
pub fn group(diffs: &[CallDifference]) -> Vec<(CallDifference, usize)> {
    let mut groups: Vec<(CallDifference, usize)> = Vec::new();
    for d in diffs {
        match groups.iter_mut().find(|(g, _)| g.op == d.op && g.ours == d.ours && g.xen == d.xen) {
            Some((_, n)) => *n += 1,
            None => groups.push((d.clone(), 1)),
        }
    }
    groups
}

/// The comparison of two `diff=1` transcripts: one line per group of
/// differences (known ones with their reason), and whether any is not in
/// [`KNOWN_DIFFERENCES`].
pub struct Comparison {
    /// Calls compared.
    pub calls: usize,
    /// Calls whose results differ.
    pub differing: usize,
    /// Each group of differences, explained or not.
    pub report: Vec<String>,
    /// How many groups nothing explains.
    pub unexplained: usize,
}

/// Compare our `diff=1` transcript with Xen's.
pub fn compare_transcripts(ours: &Transcript, xen: &Transcript) -> Comparison {
    let diffs = call_differences(ours, xen);
    let mut report = Vec::new();
    let mut unexplained = 0;
    for (d, n) in group(&diffs) {
        match d.known() {
            Some(k) => report.push(format!("  known, {:?} ({n}x): {d}: {}", k.verdict, k.why)),
            None => {
                unexplained += 1;
                report.push(format!("  DIFFERENCE ({n}x): {d}"));
            }
        }
    }
    Comparison { calls: ours.facts.len().min(xen.facts.len()), differing: diffs.len(), report, unexplained }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_logs() {
        let done = "FUZZ BEGIN seed=1 calls=10\nFUZZ DONE calls=10 distinct=7 pages_before=65536 pages_after=65536 max_before=65536 max_after=65536\n";
        assert_eq!(
            classify(done, &Ending::StopPattern),
            Outcome::Done { calls: 10, distinct: 7, pages: (65536, 65536), max: (65536, 65536) }
        );
        let fatal = "(XEN) x\n----[ hypervisor fatal exception on CPU0 ]----\n";
        assert!(matches!(classify(fatal, &Ending::Timeout), Outcome::HostCrashed(_)));
        let guest = "(XEN) ERROR: domain 0 vcpu 0 crashed: exception with no guest handler\n";
        assert!(matches!(classify(guest, &Ending::StopPattern), Outcome::GuestCrashed(_)));
        assert_eq!(classify("FUZZ 2000 calls\n", &Ending::Timeout), Outcome::Hang);
    }

    #[test]
    fn finds_call_differences() {
        let parse = |s: &str| Transcript::extract(s).unwrap();
        let ours = parse("TRANSCRIPT BEGIN fuzz\n1 17.0: 0\n2 12.3: -14 (EFAULT)\n~ 3 12.2: 5\n4 12.3: -14 (EFAULT)\nTRANSCRIPT END\n");
        let xen = parse("TRANSCRIPT BEGIN fuzz\n1 17.0: 0\n2 12.3: -22 (EINVAL)\n~ 3 12.2: 9\n4 12.3: -22 (EINVAL)\nTRANSCRIPT END\n");
        let d = call_differences(&ours, &xen);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0], CallDifference { call: 2, op: "12.3".into(), ours: "-14 (EFAULT)".into(), xen: "-22 (EINVAL)".into() });
        let g = group(&d);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].1, 2);
        assert!(call_differences(&ours, &ours).is_empty());
        assert!(d[0].known().is_none(), "12.3 is not a known difference");
        let mca = CallDifference { call: 1, op: "48.5".into(), ours: "-38 (ENOSYS)".into(), xen: "0".into() };
        assert_eq!(mca.known().map(|k| k.verdict), Some(Verdict::Legitimate));
        let mca = CallDifference { call: 1, op: "48.1".into(), ours: "0".into(), xen: "-22 (EINVAL)".into() };
        assert!(mca.known().is_none(), "only ENOSYS answers of mca are known");
        let short = parse("TRANSCRIPT BEGIN fuzz\n1 17.0: 0\nTRANSCRIPT END\n");
        assert_eq!(call_differences(&short, &xen).last().unwrap().op, "length");
    }
}
