//! A Type-1 paravirtualizing hypervisor for x86-64 that speaks the Xen 4.17
//! PV ABI.
//!
//! The library holds everything; the `hypervisor` binary only links it.
//! Modules that touch hardware are compiled for the bare-metal image only
//! (`cfg(not(test))`); the rest is plain logic with host unit tests.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
// Xen spells its constants in lower case (`SCHEDOP_yield`); we keep its names.
#![allow(non_upper_case_globals)]

extern crate alloc;

pub mod acpi_s5;
pub mod cmdline;
pub mod cpuid_policy;
pub mod debugreg;
pub mod evtchn;
pub mod evtchn_fifo;
pub mod grant;
pub mod insn;
#[cfg(not(test))]
pub mod irq;
pub mod console;
pub mod mm;
pub mod pirq;
pub mod segdesc;
pub mod sync;
pub mod time;
pub mod version;
pub mod xstate_policy;
pub mod vmce;

#[cfg(not(test))]
pub mod arch;
#[cfg(not(test))]
pub mod domain;
#[cfg(not(test))]
pub mod domctl;
#[cfg(not(test))]
pub mod sysctl;
#[cfg(not(test))]
pub mod hypercall;
#[cfg(not(test))]
pub mod pv;
#[cfg(not(test))]
pub mod rcu;
#[cfg(not(test))]
pub mod sched;
#[cfg(not(test))]
pub mod timer;
#[cfg(not(test))]
mod heap;
// The C memory primitives come from `freestanding` (bare builds only).
#[cfg(not(test))]
use freestanding as _;
#[cfg(not(test))]
mod panic;
#[cfg(not(test))]
pub mod setup;
// The hypercall page's contents are pure: test them on the host too.
#[cfg(test)]
#[path = "pv/hypercall_page.rs"]
mod hypercall_page_host_tests;
