//! QEMU integration-test harness, shared by the tests and by xtask.
//!
//! * [`tools`]: find (or install) QEMU and GRUB's image tools;
//! * [`bench`]: the `bench` kernel's result lines and the ours-vs-Xen table;
//! * [`build`]: build the bare-metal hypervisor image with its codegen flags;
//! * [`image`]: make a GRUB ISO from `boot/grub.cfg`, a command line and
//!   modules;
//! * [`ipistorm`]: the progress lines of the `domu` kernel's IPI storm;
//! * [`qemu`]: boot an image under TCG with a timeout and capture the
//!   serial transcript.

pub mod bench;
pub mod build;
pub mod dom0_boot;
pub mod debian;
pub mod fixture;
pub mod fuzz;
pub mod fuzz_domu;
pub mod image;
pub mod ipistorm;
pub mod linux_dom0;
pub mod ours;
pub mod qemu;
pub mod sched;
pub mod tools;
pub mod transcript;
pub mod xen;

use std::path::PathBuf;

/// Root of the workspace.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root exists")
}
