//! Event-channel round trips between two vCPUs of one domain for `cargo
//! xtask bench --only ipi`, Xen 4.17 (`sched=credit`) and ours in the same
//! run, one QEMU machine each (two CPUs, Linux dom0 idle meanwhile).
//!
//! The guest is the `domu` kernel's IPI storm (`/etc/xen/ipistorm.cfg`):
//! its two vCPUs bind an IPI port each (`EVTCHNOP_bind_ipi`), vCPU 0 sends
//! to vCPU 1, whose upcall sees it and which answers, and vCPU 0 waits for
//! the answer before the next round trip. It is measured twice: with the
//! waiting vCPU blocked in `SCHEDOP_block` (a wake-up per event, as between
//! idle Linux vCPUs) and spinning with events unmasked (`ipistorm spin`:
//! the event interrupts a running vCPU). The vCPUs are pinned to CPUs 0
//! and 1; the guest times itself with its PV clock and prints the mean
//! round trip each second (see [`qemu_tests::ipistorm`]). The table shows
//! the median of ten such seconds (a second in which the host left a QEMU
//! vCPU thread waiting does not move it) and the ten seconds' mean.
//!
//! Why a domU under Linux dom0 rather than the `bench` kernel as dom0: the
//! same guest runs in the `xm_smp` test, and both hosts then run it the way
//! the test system always boots them (Xen with `sched=credit`), with no
//! second dom0 vCPU to bring up in the bench kernel. Dom0 is nearly idle
//! meanwhile, but not quite (xenconsoled, the harness's polling): while
//! blocking, that costs little; while spinning, a dom0 vCPU that runs on
//! a storm vCPU's CPU holds the round trip up to the end of a time slice.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use qemu_tests::ipistorm::{self, mean_round_trip_ns, median_round_trip_ns, Progress};
use qemu_tests::linux_dom0::{machine, Host, LinuxDom0};
use qemu_tests::qemu::Machine;

/// Progress lines (seconds of guest time) each measurement averages over.
const WINDOW_LINES: usize = 10;
/// How long one measurement may take.
const TIMEOUT: Duration = Duration::from_secs(180);
/// How much of the serial log an error shows.
const LOG_TAIL: usize = 4000;
/// The two ways of waiting: (table label, `extra` of the storm domain).
const MODES: [(&str, &str); 2] = [
    ("IPI round trip, vCPUs blocking (ns)", "ipistorm"),
    ("IPI round trip, vCPUs spinning (ns)", "ipistorm spin"),
];

/// Run `cmd` in dom0; it must succeed. Its output.
fn ok(sys: &mut LinuxDom0, cmd: &str) -> Result<String> {
    let o = sys.run(cmd)?;
    if o.exit_code != 0 {
        bail!("{cmd}: exit {}: {}{}", o.exit_code, o.stdout, o.stderr);
    }
    Ok(o.stdout)
}

/// The storm's progress lines so far.
fn progress(sys: &mut LinuxDom0) -> Result<Vec<Progress>> {
    Ok(Progress::all(&ok(sys, &ipistorm::log_cmd(ipistorm::NAME))?))
}

/// Round trips (ns) of a storm started with `extra`, its vCPUs pinned
/// apart, over [`WINDOW_LINES`] seconds after the pinning: the median of
/// the one-second means, and the mean over the whole window.
fn storm(sys: &mut LinuxDom0, extra: &str) -> Result<(f64, f64)> {
    ok(sys, &format!("rm -f /var/log/xen/console/guest-{}.log", ipistorm::NAME))?;
    let o = ok(sys, &format!("xm create /etc/xen/ipistorm.cfg \"extra='{extra}'\""))?;
    if !o.contains("Started domain") {
        bail!("xm create: {o}");
    }
    let deadline = Instant::now() + TIMEOUT;
    let wait = |sys: &mut LinuxDom0, lines: usize| -> Result<Vec<Progress>> {
        loop {
            let p = progress(sys)?;
            if p.len() >= lines {
                return Ok(p);
            }
            if Instant::now() > deadline {
                bail!("the storm printed {} progress lines in {TIMEOUT:?}", p.len());
            }
            sys.settle(Duration::from_secs(2));
        }
    };
    wait(sys, 1)?;
    let mode = if extra.contains("spin") { "spinning" } else { "blocking" };
    let log = ok(sys, &ipistorm::log_cmd(ipistorm::NAME))?;
    if !log.lines().any(|l| l.contains("vCPU 1 up") && l.ends_with(mode)) {
        bail!("the storm started with extra={extra:?} is not {mode}:\n{log}");
    }
    ok(sys, &format!("xm vcpu-pin {n} 0 0 && xm vcpu-pin {n} 1 1", n = ipistorm::NAME))?;
    // The first line after the pinning may cover time before it.
    let from = progress(sys)?.len() + 1;
    let lines = wait(sys, from + WINDOW_LINES)?;
    ok(sys, &format!("xm destroy {}", ipistorm::NAME))?;
    let window = &lines[from..];
    let median = median_round_trip_ns(&window[1..]).ok_or_else(|| anyhow!("no progress lines"))?;
    let mean = mean_round_trip_ns(window).ok_or_else(|| anyhow!("no round trips in {window:?}"))?;
    Ok((median as f64, mean))
}

/// Both modes' mean round trips on `host`.
fn measure_host(host: Host) -> Result<Vec<(f64, f64)>> {
    let mut sys = LinuxDom0::boot_host(host, &Machine { smp: 2, ..machine() })?;
    let r = MODES.iter().map(|(_, extra)| storm(&mut sys, extra)).collect::<Result<Vec<_>>>();
    let r = r.map_err(|e| {
        let log = sys.log();
        let tail = &log[log.len().saturating_sub(LOG_TAIL)..];
        e.context(format!("{}: the storm bench failed; the serial log ends:\n{tail}", host.name()))
    });
    let _ = sys.shutdown();
    r
}

/// The formatted table, or why it could not be measured.
pub fn run() -> Result<String> {
    let xen = match crate::bench::xen_first(|| measure_host(Host::Xen))? {
        Ok(x) => x,
        Err(skipped) => return Ok(skipped),
    };
    let ours = measure_host(Host::Ours)?;
    let mut out = String::from(
        "| event channel between two vCPUs, 2 CPUs | Xen 4.17 |     ours | ours/Xen | Xen mean | ours mean |\n|---|---|---|---|---|---|\n",
    );
    for (((label, _), x), o) in MODES.iter().zip(&xen).zip(&ours) {
        out.push_str(&format!("| {label:<39} | {:>8.0} | {:>8.0} | {:>7.2}x | {:>8.0} | {:>9.0} |\n", x.0, o.0, o.0 / x.0, x.1, o.1));
    }
    out.push_str(
        "(QEMU TCG, 2 CPUs, Linux dom0 nearly idle, the storm's vCPUs pinned to CPUs 0 and 1; median of ten one-second means by \
         the guest's clock (and the mean over the ten seconds). TCG makes Xen's entry and exit paths relatively dearer than on hardware, which flatters ours. Spinning keeps \
         both QEMU vCPU threads busy and never yields: a dom0 vCPU run on a storm vCPU's CPU holds a round trip up to \
         the end of its time slice, and the host's own scheduling of QEMU's threads weighs in.)",
    );
    Ok(out)
}
