//! `xm create` and `xm destroy` timings for `cargo xtask bench`: the
//! `domu` test kernel as a PV domU on Xen 4.17 with the Linux dom0 test
//! system, measured from dom0's shell (each step's wall time less an empty
//! command's). xl is not run beside it: Debian's `xl` needs the C
//! toolstack libraries and its own xenstored, which the busybox dom0 does
//! not carry, so these are ours alone.

use anyhow::Result;
use qemu_tests::debian;
use qemu_tests::linux_dom0::{measure_device_throughput, measure_domu_times, LinuxDom0};

/// The formatted lines, or why they could not be measured.
pub fn run() -> Result<String> {
    let mut sys = match LinuxDom0::boot() {
        Ok(s) => s,
        Err(e) if debian::is_unavailable(&e) => return Ok(format!("skipped: {e:#}")),
        Err(e) => return Err(e),
    };
    let t = measure_domu_times(&mut sys)?;
    let d = measure_device_throughput(&mut sys);
    let _ = sys.shutdown();
    let mut out = format!(
        "xm create to the guest's first console line: {:>7.0} ms\nxm destroy:                                  {:>7.0} ms\n(ours alone; QEMU TCG, Xen 4.17, Linux dom0)",
        t.create_to_first_line.as_secs_f64() * 1000.0,
        t.destroy.as_secs_f64() * 1000.0
    );
    out.push_str(&devices_report(d));
    Ok(out)
}

/// The virtual device lines: a Linux domU's disk (a `file:` image through
/// loop and blkback) and TCP to dom0 (netback and the bridge), as the
/// guest times them; Xen 4.17 only until ours runs a Linux dom0.
fn devices_report(d: Result<qemu_tests::linux_dom0::DeviceThroughput>) -> String {
    match d {
        Ok(d) => format!(
            "\n\nLinux domU virtual devices on Xen 4.17 (64 MiB each, guest time):\n\
             disk sequential write (file:, conv=fsync): {:>7.1} MB/s\n\
             disk sequential read (caches dropped):     {:>7.1} MB/s\n\
             TCP domU -> dom0 (busybox nc):             {:>7.1} MB/s",
            d.disk_write, d.disk_read, d.tcp
        ),
        Err(e) => format!("\n\nLinux domU virtual devices: not measured: {e:#}"),
    }
}
