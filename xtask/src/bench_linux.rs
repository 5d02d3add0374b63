//! Linux dom0 on ours and on Xen 4.17 for `cargo xtask bench`: the time
//! from QEMU start to dom0's shell, and PV MMU workloads inside dom0
//! (fork+exit, fork+exec of busybox, touching a freshly mapped 64 MiB
//! buffer). Each host boots alone, one after the other, on the same QEMU
//! machine; each workload's time is its wall time seen from the host less
//! an empty command's (the serial round trip). Under TCG, Xen's entry
//! paths cost far more than on hardware, which flatters ours.

use std::time::{Duration, Instant};

use anyhow::Result;
use qemu_tests::linux_dom0::{machine, Host, LinuxDom0};

/// The workloads: name and shell command.
const WORKLOADS: &[(&str, &str)] = &[
    ("fork+exit x2000", "i=0; while [ $i -lt 2000 ]; do ( : ); i=$((i+1)); done"),
    ("fork+exec busybox x1000", "i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done"),
    ("touch a fresh 64 MiB buffer x4", "for i in 1 2 3 4; do dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; done"),
];

/// Boot time and each workload's time on `host`.
fn measure(host: Host) -> Result<Vec<Duration>> {
    let start = Instant::now();
    let mut sys = LinuxDom0::boot_host(host, &machine())?;
    let boot = sys.boot_time.min(start.elapsed());
    let empty = (0..3).map(|_| timed(&mut sys, ":")).min().unwrap_or_default();
    let mut out = vec![boot];
    for (_, cmd) in WORKLOADS {
        out.push(timed(&mut sys, cmd).saturating_sub(empty));
    }
    let _ = sys.shutdown();
    Ok(out)
}

fn timed(sys: &mut LinuxDom0, cmd: &str) -> Duration {
    let t = Instant::now();
    let _ = sys.sh(cmd);
    t.elapsed()
}

/// The formatted table, or why it could not be measured.
pub fn run() -> Result<String> {
    let xen = match crate::bench::xen_first(|| measure(Host::Xen))? {
        Ok(x) => x,
        Err(skipped) => return Ok(skipped),
    };
    let ours = measure(Host::Ours)?;
    let mut names = vec!["boot to dom0's shell"];
    names.extend(WORKLOADS.iter().map(|w| w.0));
    let mut s = format!("{:<34} {:>10} {:>10} {:>12}\n", "Linux dom0", "Xen 4.17", "ours", "ours/Xen");
    for ((name, x), o) in names.iter().zip(&xen).zip(&ours) {
        let (x, o) = (x.as_secs_f64(), o.as_secs_f64());
        s.push_str(&format!("{name:<34} {:>9.2}s {:>9.2}s {:>11.2}x\n", x, o, if x > 0.0 { o / x } else { 0.0 }));
    }
    s.push_str("(QEMU TCG, 1 CPU, 1 GiB; wall time less an empty command's round trip)");
    Ok(s)
}
