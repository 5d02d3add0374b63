//! `xm create` and `xm destroy` timings for `cargo xtask bench`: the
//! `domu` test kernel as a PV domU on Xen 4.17 with the Linux dom0 test
//! system, measured from dom0's shell (each step's wall time less an empty
//! command's). xl is not run beside it: Debian's `xl` needs the C
//! toolstack libraries and its own xenstored, which the busybox dom0 does
//! not carry, so these are ours alone.

use anyhow::Result;
use qemu_tests::debian;
use qemu_tests::linux_dom0::{measure_domu_times, LinuxDom0};

/// The formatted lines, or why they could not be measured.
pub fn run() -> Result<String> {
    let mut sys = match LinuxDom0::boot() {
        Ok(s) => s,
        Err(e) if debian::is_unavailable(&e) => return Ok(format!("skipped: {e:#}")),
        Err(e) => return Err(e),
    };
    let t = measure_domu_times(&mut sys)?;
    let _ = sys.shutdown();
    Ok(format!(
        "xm create to the guest's first console line: {:>7.0} ms\nxm destroy:                                  {:>7.0} ms\n(ours alone; QEMU TCG, Xen 4.17, Linux dom0)",
        t.create_to_first_line.as_secs_f64() * 1000.0,
        t.destroy.as_secs_f64() * 1000.0
    ))
}
