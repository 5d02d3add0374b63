//! Runtime of the PV test kernels: tiny `no_std` Rust guests of the Xen
//! x86-64 PV ABI that print a transcript of facts and shut down.
//!
//! A kernel is a binary of this crate (`src/bin/<name>.rs`) that names its
//! main function with [`entry!`]. The runtime supplies the rest:
//!
//! * [`start`]: the entry point (`rsi` = start_info), the boot stack, the
//!   `.note.Xen` ELF notes a domain builder reads, the hypercall page, and
//!   the image bounds;
//! * [`hypercall`]: calls through the hypercall page, with typed wrappers
//!   (`console_io`, `sched_op`, `xen_version`, `update_va_mapping`);
//! * [`console`]: `print!`/`println!` through `CONSOLEIO_write`;
//! * [`transcript`]: the `TRANSCRIPT BEGIN`/`END` framing and `key: value`
//!   facts, `~ ` marking implementation-specific values;
//! * [`fmt`]: small formatting helpers (NUL-terminated strings, flag names);
//! * [`report`]: hypercall results as transcript values;
//! * [`neighbour`]: the healthy domU a hostile domU is told to attack;
//! * `traps` (bare builds only): trap table, exception entry stubs, the
//!   trap recorder, `HYPERVISOR_iret`, and the [`trigger!`] macro;
//! * `shared` (bare builds only): mapping the shared_info page;
//! * `pt` (bare builds only): page-table helpers, free frames, scratch
//!   pages and the memory-management hypercalls;
//! * [`smp`]: secondary vCPUs started with `VCPUOP_initialise`/`up`, each
//!   on its own stack, and which vCPU the code runs on;
//! * `panic` (bare builds only): `PANIC: <message>`, then a crash shutdown.
//!
//! The binaries are built by `qemu_tests::build::guest` with the bare-metal
//! codegen flags and `linker.ld`; the library also builds for the host, where
//! its pure helpers are unit-tested.
#![cfg_attr(not(test), no_std)]


// The C memory primitives come from `freestanding` (bare builds only).
#[cfg(not(test))]
use freestanding as _;

pub mod console;
#[cfg(not(test))]
pub mod events;
pub mod fmt;
pub mod hypercall;
pub mod neighbour;
#[cfg(not(test))]
mod panic;
#[cfg(not(test))]
pub mod pt;
pub mod report;
#[cfg(not(test))]
pub mod shared;
pub mod smp;
#[cfg(not(test))]
pub mod start;
pub mod transcript;
#[cfg(not(test))]
pub mod traps;

pub use dom0_abi;
pub use dom0_abi::xen::StartInfo;

/// Name the kernel's main function: `fn(&'static StartInfo)`. When it
/// returns, the runtime powers the domain off.
///
/// ```ignore
/// pv_guests::entry!(main);
/// fn main(si: &'static pv_guests::StartInfo) { /* ... */ }
/// ```
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// The kernel's main function, called by the runtime's entry code.
        #[unsafe(no_mangle)]
        fn pv_guest_main(start_info: &'static $crate::StartInfo) {
            let main: fn(&'static $crate::StartInfo) = $main;
            main(start_info)
        }
    };
}
