//! Boots of the test kernels on our hypervisor: the differential tests'
//! first half (the other is [`crate::xen`]).
//!
//! A test kernel is module 1 of a GRUB image with our hypervisor, so it
//! runs as dom0. The boot stops at the guest's `TRANSCRIPT END`, or when
//! the hypervisor reports that the domain crashed, or at a timeout.

use anyhow::Result;
use std::path::Path;
use std::time::Duration;

use crate::dom0_boot::{boot_kernel, Dom0Boot};
use crate::fixture::hypervisor_elf;
use crate::qemu::{Capture, Machine};
use crate::transcript::{Transcript, END};

/// Our hypervisor's command line in these boots.
pub const OURS_CMDLINE: &str = "console=com1 loglvl=all dom0_mem=256M,max:256M noreboot";

/// How long a boot may take before it is given up.
pub const OURS_TIMEOUT: Duration = Duration::from_secs(120);

/// Marker of a domain crash in our console (`(XEN) ... crashed`).
pub const CRASHED: &str = "crashed";

/// Boot `kernel` as dom0 of our hypervisor with `kernel_cmdline` and return
/// the transcript it printed (with the serial log in `boot`). The boot
/// stops at `TRANSCRIPT END`, or shortly after a crash report (keeping the
/// register dump that follows it), or at the timeout.
pub fn boot_on_ours(kernel: &Path, kernel_cmdline: &str, machine: &Machine) -> Result<Transcript> {
    let b = Dom0Boot {
        hypervisor: hypervisor_elf(),
        cmdline: OURS_CMDLINE,
        label: "our hypervisor",
        capture: Capture {
            timeout: OURS_TIMEOUT,
            stop_on: Some(END),
            stop_after: Some((CRASHED_LINE, CRASH_GRACE)),
            mark: Some(END),
        },
    };
    boot_kernel(&b, kernel, kernel_cmdline, machine)
}

/// The hypervisor line that says a domain crashed, if the log has one.
pub fn crash_line(serial: &str) -> Option<&str> {
    serial.lines().find(|l| l.starts_with("(XEN) ") && l.contains(CRASHED))
}

/// A line fragment only crash reports contain.
const CRASHED_LINE: &str = " crashed: ";

/// After a crash line, how long to keep reading (the register dump and
/// the final "Hardware Dom0 crashed" line follow it).
const CRASH_GRACE: Duration = Duration::from_secs(1);
