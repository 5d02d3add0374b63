//! The credit scheduler for `cargo xtask bench --only sched`, Xen 4.17
//! (`sched=credit`) and ours in the same run, one QEMU machine each:
//!
//! * the fairness error of two CPU-bound domUs with weights 256 and 512
//!   sharing the (one) CPU: how far their CPU ratio is from 1:2;
//! * the CPU share of one capped at 25;
//! * the wall time of a parallel workload (two shells counting) in a
//!   2-vCPU Linux domU, by the guest's clock, on a second machine with two
//!   CPUs (dom0 has two vCPUs too).
//!
//! The first two need one CPU: credit1 shares credit out across the whole
//! pool, so on more CPUs two domUs pinned to one never run into debt and
//! split it evenly whatever their weights (on Xen as on ours).

use anyhow::Result;
use qemu_tests::linux_dom0::{machine, Host, LinuxDom0};
use qemu_tests::qemu::Machine;
use qemu_tests::sched::{fairness_error, measure, parallel_workload, weighted_pair};

/// Iterations of each shell's counting loop.
const COUNT: u32 = 20_000;

/// Fairness error, capped share (one CPU), parallel wall time (two CPUs)
/// on one host.
fn measure_host(host: Host) -> Result<(f64, f64, f64)> {
    let mut sys = LinuxDom0::boot_host(host, &machine())?;
    let pair = weighted_pair(&mut sys)?;
    let ok = |sys: &mut LinuxDom0, cmd: &str| -> Result<()> {
        let o = sys.run(cmd)?;
        anyhow::ensure!(o.exit_code == 0, "{cmd}: {}{}", o.stdout, o.stderr);
        Ok(())
    };
    ok(&mut sys, "xm destroy spinB")?;
    ok(&mut sys, "xm sched-credit -d spinA -c 25")?;
    let capped = measure(&mut sys, &["spinA"])?;
    ok(&mut sys, "xm destroy spinA")?;
    let _ = sys.shutdown();
    let mut sys = LinuxDom0::boot_host(host, &Machine { smp: 2, ..machine() })?;
    let wall = parallel_workload(&mut sys, COUNT)?;
    let _ = sys.shutdown();
    Ok((fairness_error(&pair), capped.cpu[0] / capped.wall, wall))
}

/// The formatted table, or why it could not be measured.
pub fn run() -> Result<String> {
    let xen = match crate::bench::xen_first(|| measure_host(Host::Xen))? {
        Ok(x) => x,
        Err(skipped) => return Ok(skipped),
    };
    let ours = measure_host(Host::Ours)?;
    let mut out = String::from("| credit scheduler, Linux dom0                    |  Xen 4.17 |      ours | ours/Xen |\n|---|---|---|---|\n");
    let pct = |x: f64| format!("{:.1} %", x * 100.0);
    out.push_str(&format!(
        "| fairness error, weights 256:512, 1 CPU (lower is better) | {:>9} | {:>9} | {:>7.2}x |\n",
        pct(xen.0),
        pct(ours.0),
        ours.0 / xen.0
    ));
    out.push_str(&format!("| CPU share under cap 25, 1 CPU (goal 25 %)        | {:>9} | {:>9} |          |\n", pct(xen.1), pct(ours.1)));
    out.push_str(&format!(
        "| 2-vCPU Linux domU on 2 CPUs, parallel workload (s) | {:>9.2} | {:>9.2} | {:>7.2}x |\n",
        xen.2,
        ours.2,
        ours.2 / xen.2
    ));
    out.push_str(
        "(QEMU TCG; the workload is two shells counting to 20,000 each, timed by the guest; \
         TCG makes Xen's hypervisor entries dearer than on hardware, which flatters ours)",
    );
    Ok(out)
}
