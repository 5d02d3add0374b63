//! The hypercall fuzzer as an unprivileged domU: the `fuzz` PV kernel
//! started by `xm create` from a Linux dom0 ([`LinuxDom0`]), on ours or on
//! Xen 4.17.
//!
//! [`run_seeds`] starts one fuzzer domU per seed and waits for each to end:
//! it finishes (`FUZZ DONE` in its console log, then powers itself off), or
//! the hypervisor crashes it (`on_crash = 'preserve'` in [`CONFIG`] keeps
//! it in `xm list`, state `c`): then it is destroyed and the next seed
//! starts. After each domain is gone the host's free memory must be back
//! where it was. [`diff_transcript`] runs one seed in `diff=1` mode and
//! returns its transcript, for comparison with the other host's.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::linux_dom0::LinuxDom0;
use crate::transcript::Transcript;

/// The fuzz kernel in dom0's initramfs.
pub const KERNEL: &str = "/usr/lib/xen/boot/fuzz";
/// Its `xm` configuration (the command line comes as `extra=` override).
pub const CONFIG: (&str, &str) = (
    "/etc/xen/fuzz.cfg",
    "name = 'fuzz'\nkernel = '/usr/lib/xen/boot/fuzz'\nmemory = 16\nvcpus = 1\non_crash = 'preserve'\n",
);
/// How long one fuzzer domU may run before the host counts as hung.
pub const STALL: Duration = Duration::from_secs(240);

/// How one fuzzer domU ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomuOutcome {
    /// All calls made, and the domain powered itself off.
    Done {
        /// Calls made.
        calls: u64,
        /// Distinct (hypercall, sub-operation, errno) triples.
        distinct: u64,
        /// Its reservation before and after.
        pages: (i64, i64),
    },
    /// The hypervisor crashed the domain (it stays, preserved, until
    /// destroyed).
    Crashed,
}

/// One seed's run.
#[derive(Clone, Debug)]
pub struct DomuRun {
    /// The seed.
    pub seed: u64,
    /// How it ended.
    pub outcome: DomuOutcome,
    /// From `xm create` to the domain's end.
    pub elapsed: Duration,
}

/// What the console log and the domain's `xm list` state (`None`: gone)
/// say about a fuzzer domU: `None` while it still runs.
pub fn classify(log: &str, state: Option<&str>) -> Option<DomuOutcome> {
    if state.is_some_and(|s| s.contains('c')) {
        return Some(DomuOutcome::Crashed);
    }
    let done = log.lines().find(|l| l.starts_with("FUZZ DONE"));
    match (done, state) {
        (Some(l), None) => {
            let field = |k: &str| -> i64 {
                l.split(' ').find_map(|w| w.strip_prefix(k)?.strip_prefix('=')?.trim().parse().ok()).unwrap_or(-1)
            };
            Some(DomuOutcome::Done {
                calls: field("calls") as u64,
                distinct: field("distinct") as u64,
                pages: (field("pages_before"), field("pages_after")),
            })
        }
        // Gone without its last line: destroyed by its crash.
        (None, None) => Some(DomuOutcome::Crashed),
        // Still there (finishing, or powering off).
        (_, Some(_)) => None,
    }
}

/// The `xm list` state column of domain `name`, `None` when it is gone.
fn state(sys: &mut LinuxDom0, name: &str) -> Option<String> {
    let list = sys.sh_ok("xm list");
    list.lines().skip(1).find(|l| l.split_whitespace().next() == Some(name)).map(|l| {
        l.split_whitespace().nth(4).unwrap_or("").to_string()
    })
}

/// Start the fuzzer as domain `name` with command line `args`, wait for
/// its end, and leave no trace of it (a crashed one is destroyed). Returns
/// the outcome and the console log.
fn run_one(sys: &mut LinuxDom0, name: &str, args: &str) -> Result<(DomuOutcome, String)> {
    let log = format!("/var/log/xen/console/guest-{name}.log");
    sys.sh_ok(&format!("rm -f {log}"));
    let o = sys.sh_ok(&format!("xm create {} name={name} 'extra={args}'", CONFIG.0));
    if !o.starts_with(&format!("Started domain {name} (id=")) {
        bail!("xm create {name}: {o}");
    }
    let deadline = Instant::now() + STALL;
    // The log without the diff=1 transcript's call lines.
    let read = |sys: &mut LinuxDom0| sys.sh_guest(&format!("tr -d '\\r' < {log} 2>/dev/null | grep -v '^[0-9~]'")).stdout;
    loop {
        // The state first: a domain gone by then has written all it will.
        let st = state(sys, name);
        let mut text = read(sys);
        if st.is_none() && !text.contains("FUZZ DONE") {
            // Its last lines can reach the log just after it is gone.
            for _ in 0..5 {
                sys.settle(Duration::from_secs(1));
                text = read(sys);
                if text.contains("FUZZ DONE") {
                    break;
                }
            }
        }
        if let Some(outcome) = classify(&text, st.as_deref()) {
            if outcome == DomuOutcome::Crashed && st.is_some() {
                sys.sh_ok(&format!("xm destroy {name}"));
            }
            // Not echoed to the test's output: a diff=1 log is long.
            let full = crate::linux_dom0::without_xen(&sys.run(&format!("tr -d '\\r' < {log}"))?.stdout);
            return Ok((outcome, full));
        }
        if Instant::now() > deadline {
            bail!("fuzzer domU {name} ({args}) did not end within {STALL:?} (host hung?); its log:\n{text}");
        }
        sys.settle(Duration::from_secs(1));
    }
}

/// Wait (up to 20 s) until `name` is gone from `xm list`.
fn wait_gone(sys: &mut LinuxDom0, name: &str) -> Result<()> {
    for _ in 0..40 {
        if state(sys, name).is_none() {
            return Ok(());
        }
        sys.settle(Duration::from_millis(500));
    }
    bail!("{name} is still in xm list")
}

/// Fuzzer domUs for `seeds` seeds from `first`, `calls` calls each, one
/// after the other; a crashed one is destroyed and the next seed goes on.
/// With `crash_first`, the first seed has the hypervisor crash it midway
/// (`crash_at=`), to show that path works. After each, the domain must be
/// gone and `xm info`'s free memory back at `free_mib`.
pub fn run_seeds(sys: &mut LinuxDom0, first: u64, seeds: u64, calls: u64, free_mib: u64, crash_first: bool) -> Result<Vec<DomuRun>> {
    let mut runs = Vec::new();
    for seed in first..first + seeds {
        let t0 = Instant::now();
        let crash = if crash_first && seed == first { format!(" crash_at={}", calls / 2) } else { String::new() };
        let (outcome, _) = run_one(sys, "fuzz", &format!("seed={seed} calls={calls}{crash}"))?;
        wait_gone(sys, "fuzz")?;
        let free = sys.xm_free_mib();
        if free != free_mib {
            bail!("after fuzzer seed {seed} ({outcome:?}) free memory is {free} MiB, not {free_mib}");
        }
        runs.push(DomuRun { seed, outcome, elapsed: t0.elapsed() });
    }
    Ok(runs)
}

/// One seed's `diff=1` transcript from a fuzzer domU, which must finish
/// (a crash is an error here: the transcript would be cut) and go away
/// with its memory given back.
pub fn diff_transcript(sys: &mut LinuxDom0, seed: u64, calls: u64, free_mib: u64) -> Result<Transcript> {
    let (outcome, log) = run_one(sys, "fuzzdiff", &crate::fuzz::diff_cmdline(seed, calls))?;
    if !matches!(outcome, DomuOutcome::Done { .. }) {
        bail!("the diff=1 fuzzer domU (seed {seed}) ended {outcome:?}; its log:\n{log}");
    }
    wait_gone(sys, "fuzzdiff")?;
    let free = sys.xm_free_mib();
    if free != free_mib {
        bail!("after the diff=1 fuzzer domU free memory is {free} MiB, not {free_mib}");
    }
    Transcript::extract(&log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_domu_runs() {
        let done = "FUZZ BEGIN seed=1 calls=10\nFUZZ DONE calls=10 distinct=7 pages_before=4096 pages_after=4096\n";
        assert_eq!(classify(done, Some("-b----")), None, "still powering off");
        assert_eq!(classify(done, None), Some(DomuOutcome::Done { calls: 10, distinct: 7, pages: (4096, 4096) }));
        assert_eq!(classify("FUZZ BEGIN seed=1 calls=10\n", Some("r-----")), None);
        assert_eq!(classify("FUZZ BEGIN seed=1 calls=10\n", Some("---c--")), Some(DomuOutcome::Crashed));
        assert_eq!(classify("FUZZ BEGIN seed=1 calls=10\n", None), Some(DomuOutcome::Crashed));
    }
}
