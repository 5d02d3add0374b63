//! Reference boots on real Xen 4.17: the differential tests' other half.
//!
//! Debian's `xen-4.17-amd64.gz` is the multiboot2 "hypervisor" of a GRUB
//! image (GRUB unpacks gzip itself) and a test kernel is module 1, so Xen
//! builds it as a PV dom0. Xen only halts (it never powers off) when dom0
//! shuts down, so a boot stops on the guest's `TRANSCRIPT END` line.

use anyhow::Result;
use std::path::Path;
use std::time::Duration;

use crate::dom0_boot::{boot_kernel, Dom0Boot};
use crate::qemu::{Capture, Machine};
use crate::transcript::{Transcript, END};
use crate::{debian, tools};

/// Xen's command line in reference boots: serial console, all log levels,
/// a 256 MiB dom0, and no reboot on dom0 crash (so its message stays last).
pub const XEN_CMDLINE: &str =
    "console=com1 com1=115200,8n1 dom0_mem=256M,max:256M dom0_max_vcpus=1 loglvl=all guest_loglvl=all noreboot";

/// How long a reference boot may take before it is given up.
pub const XEN_TIMEOUT: Duration = Duration::from_secs(180);

/// Boot `kernel` as dom0 of Xen 4.17 with `kernel_cmdline` and return the
/// transcript it printed (with the serial log in `boot`). Fails with
/// [`debian::ArchiveUnavailable`] in the chain when Xen cannot be fetched.
pub fn boot_on_xen(kernel: &Path, kernel_cmdline: &str, machine: &Machine) -> Result<Transcript> {
    boot_on_xen_with(kernel, kernel_cmdline, XEN_CMDLINE, machine)
}

/// [`boot_on_xen`] with Xen's own command line given.
pub fn boot_on_xen_with(kernel: &Path, kernel_cmdline: &str, xen_cmdline: &str, machine: &Machine) -> Result<Transcript> {
    let xen = debian::xen_hypervisor()?;
    tools::ensure()?;
    let b = Dom0Boot {
        hypervisor: xen,
        cmdline: xen_cmdline,
        label: "Xen 4.17",
        // A panic of Xen ends the boot soon after (its register dump
        // follows the line) instead of at the timeout.
        capture: Capture {
            timeout: XEN_TIMEOUT,
            stop_on: Some(END),
            stop_after: Some(("Panic on CPU", std::time::Duration::from_secs(2))),
            mark: Some(END),
        },
    };
    boot_kernel(&b, kernel, kernel_cmdline, machine)
}
