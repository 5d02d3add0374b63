//! Scheduler measurements on the Linux dom0 test system, shared by the
//! `xm_sched` test and `cargo xtask bench --only sched`: CPU shares of
//! CPU-bound domUs (the `domu` kernel with `spin`) under credit weights and
//! caps, and the wall time of a parallel workload in a 2-vCPU Linux domU.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::linux_dom0::{without_xen, LinuxDom0, LINUX_DOMU_READY};

/// How long a CPU share is measured (dom0 seconds).
pub const WINDOW_S: u32 = 24;

/// What one window measured.
#[derive(Clone, Debug)]
pub struct Share {
    /// CPU seconds each domain used in the window.
    pub cpu: Vec<f64>,
    /// The window's length, as dom0 measured it.
    pub wall: f64,
    /// `name cpu` of each of the domains' vCPUs, sampled every 3 s.
    pub placements: Vec<String>,
}

/// CPU seconds of each domain in `names`, from `xm list`.
pub fn cpu_times(sys: &mut LinuxDom0, names: &[&str]) -> Result<Vec<f64>> {
    let list = without_xen(&sys.run("xm list")?.stdout);
    names
        .iter()
        .map(|n| {
            let line = list
                .lines()
                .find(|l| l.split_whitespace().next() == Some(n))
                .ok_or_else(|| anyhow!("{n} not in xm list:\n{list}"))?;
            let t = line.split_whitespace().last().unwrap_or_default();
            t.parse().with_context(|| format!("time {t:?} of {n}"))
        })
        .collect()
}

/// The CPU seconds `names` use over [`WINDOW_S`] seconds, checking
/// meanwhile which CPU each of their vCPUs is on.
pub fn measure(sys: &mut LinuxDom0, names: &[&str]) -> Result<Share> {
    let t0 = cpu_times(sys, names)?;
    let samples = WINDOW_S / 3;
    let filter = names.join("|");
    let o = sys
        .run_for(
            &format!(
                "s=$(cat /proc/uptime); for i in $(seq {samples}); do sleep 3; \
                 xm vcpu-list | awk '$1 ~ /^({filter})$/ {{print $1, $4}}'; done; e=$(cat /proc/uptime); \
                 echo wall ${{s%% *}} ${{e%% *}}"
            ),
            Duration::from_secs(u64::from(WINDOW_S) * 10),
        )?
        .stdout;
    let o = without_xen(&o);
    let t1 = cpu_times(sys, names)?;
    let wall_line = o.lines().find(|l| l.starts_with("wall ")).ok_or_else(|| anyhow!("no wall line in {o}"))?;
    let w: Vec<f64> = wall_line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    if w.len() != 2 {
        bail!("bad wall line {wall_line:?}");
    }
    Ok(Share {
        cpu: t1.iter().zip(&t0).map(|(b, a)| b - a).collect(),
        wall: w[1] - w[0],
        placements: o.lines().filter(|l| !l.starts_with("wall ")).map(str::to_string).collect(),
    })
}

/// Run `cmd` in dom0; it must succeed. Its output, without the
/// hypervisor's console lines that share the serial port.
fn ok(sys: &mut LinuxDom0, cmd: &str) -> Result<String> {
    let o = sys.run(cmd)?;
    if o.exit_code != 0 {
        bail!("{cmd}: exit {}: {}{}", o.exit_code, o.stdout, o.stderr);
    }
    Ok(without_xen(&o.stdout))
}

/// Create a spinning `domu` named `name`, pinned to CPU 0, and wait until
/// it spins.
pub fn spinner(sys: &mut LinuxDom0, name: &str) -> Result<()> {
    let o = ok(sys, &format!("xm create /etc/xen/domu.cfg name={name} extra=spin"))?;
    if !o.starts_with(&format!("Started domain {name}")) {
        bail!("xm create {name}: {o}");
    }
    ok(
        sys,
        &format!(
            "i=0; while ! grep -q 'domu: ready (spinning)' /var/log/xen/console/guest-{name}.log 2>/dev/null; do \
             i=$((i+1)); [ $i -gt 300 ] && exit 1; usleep 100000; done"
        ),
    )?;
    ok(sys, &format!("xm vcpu-pin {name} 0 0"))?;
    Ok(())
}

/// Two spinners `spinA` and `spinB` with weights 256 and 512, measured;
/// they are left running.
pub fn weighted_pair(sys: &mut LinuxDom0) -> Result<Share> {
    spinner(sys, "spinA")?;
    spinner(sys, "spinB")?;
    ok(sys, "xm sched-credit -d spinA -w 256")?;
    ok(sys, "xm sched-credit -d spinB -w 512")?;
    // An accounting period or two with the new weights.
    sys.settle(Duration::from_secs(1));
    measure(sys, &["spinA", "spinB"])
}

/// How far the pair's CPU ratio is from the weights' 1:2 (0.05: 5 % off).
pub fn fairness_error(s: &Share) -> f64 {
    (s.cpu[1] / s.cpu[0] / 2.0 - 1.0).abs()
}

/// A 2-vCPU Linux domU (`/etc/xen/linux.cfg`) counting to `n` in two
/// shells at once: the workload's wall time in seconds, by the guest's own
/// clock (`/proc/uptime` before and after, printed on its console). The
/// domain is destroyed after.
pub fn parallel_workload(sys: &mut LinuxDom0, n: u32) -> Result<f64> {
    let log = "/var/log/xen/console/guest-linux1.log";
    ok(sys, &format!("rm -f {log}; xm create /etc/xen/linux.cfg >/dev/null"))?;
    // The log is read without terminal escapes and with a newline added:
    // it ends in the guest's prompt, and the driver's markers must start
    // their lines.
    let ready = Instant::now();
    while !ok(sys, &format!("tr -d '\\033\\r' < {log} 2>/dev/null; echo"))?.contains(LINUX_DOMU_READY) {
        if ready.elapsed() > Duration::from_secs(300) {
            bail!("the Linux domU did not start");
        }
        sys.settle(Duration::from_secs(2));
    }
    let cmd = format!(
        "s=$(cat /proc/uptime); for i in 1 2; do (k=0; while [ $k -lt {n} ]; do k=$((k+1)); done) & done; wait; \
         e=$(cat /proc/uptime); echo PAR ${{s%% *}} ${{e%% *}} PAR"
    );
    ok(sys, &format!("(sleep 2; echo '{cmd}'; sleep 1) | timeout 10 xm console linux1 >/dev/null; true"))?;
    let start = Instant::now();
    let line = loop {
        let text = ok(sys, &format!("tr -d '\\033\\r' < {log}; echo"))?;
        if let Some(l) = text.lines().find(|l| l.starts_with("PAR ") && l.ends_with(" PAR")) {
            break l.to_string();
        }
        if start.elapsed() > Duration::from_secs(600) {
            bail!("the parallel workload did not finish");
        }
        sys.settle(Duration::from_secs(2));
    };
    let t: Vec<f64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    ok(sys, "xm destroy linux1")?;
    if t.len() != 2 {
        bail!("bad workload line {line:?}");
    }
    Ok(t[1] - t[0])
}
