//! The Xen 4.17 x86-64 PV ABI: hypercall numbers, structures and constants
//! shared by the hypervisor, the PV test kernels and the xm toolstack.
//!
//! Every `#[repr(C)]` type here has the size, alignment and field offsets of
//! the matching C definition in Xen 4.17's public headers (checked by
//! `tests/layout.rs` against `/usr/include/xen`). Constants keep Xen's own
//! spelling (`EVTCHNOP_bind_virq`, `XEN_DOMCTL_createdomain`, ...), minus any
//! leading underscores, so a Xen engineer can grep for them; types are
//! CamelCase versions of the C names, whose doc line names the C original.
//!
//! The crate is `no_std` and allocation-free. Where a command or code arrives
//! from an untrusted party, an enum with a `TryFrom` impl turns the raw number
//! into a typed value once, rejecting anything Xen does not define.
#![no_std]
#![allow(non_upper_case_globals)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

#[macro_use]
mod macros;

pub mod arch_x86;
pub mod callback;
pub mod console_io;
pub mod domctl;
pub mod elfnote;
pub mod errno;
pub mod event_channel;
pub mod features;
pub mod grant_table;
pub mod hypercall;
pub mod io;
pub mod linux;
pub mod mca;
pub mod memory;
pub mod mmu;
pub mod nmi;
pub mod physdev;
pub mod platform;
pub mod pod;
pub mod sched;
pub mod sysctl;
pub mod types;
pub mod vcpu;
pub mod vm_assist;
pub mod xen;
pub mod xen_version;

pub use errno::Errno;
pub use hypercall::Hypercall;
pub use linux::privcmd;
pub use pod::{Pod, UnknownValue};
pub use types::{DomId, Gfn, GuestHandle, GuestHandle64, Mfn, Pfn, XenPfn, XenUlong};

/// Guest interface version of Xen 4.17's public headers
/// (`__XEN_LATEST_INTERFACE_VERSION__`). Xen last bumped it in 4.14, so it
/// is 0x00040e00, not 0x00040011.
pub const XEN_INTERFACE_VERSION: u32 = 0x0004_0e00;

/// Major version of the Xen release whose ABI this crate describes.
pub const XEN_VERSION_MAJOR: u32 = 4;
/// Minor version of the Xen release whose ABI this crate describes.
pub const XEN_VERSION_MINOR: u32 = 17;
