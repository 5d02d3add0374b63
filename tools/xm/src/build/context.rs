//! vCPU 0's first register state for a PV domU (libxenguest's
//! `vcpu_x86_64`), given to Xen with `XEN_DOMCTL_setvcpucontext`.

use dom0_abi::arch_x86::{
    xen_pfn_to_cr3, VcpuGuestContext, FLAT_KERNEL_CS64, FLAT_KERNEL_DS64, FLAT_KERNEL_SS64, VGCF_in_kernel,
    VGCF_online,
};
use dom0_abi::Pod;

/// RFLAGS.IF: the guest starts with (virtual) interrupts enabled.
const RFLAGS_IF: u64 = 1 << 9;

/// Where vCPU 0 starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Virtual entry point (`rip`).
    pub entry: u64,
    /// Top of the boot stack (`rsp`, `kernel_sp`).
    pub stack_top: u64,
    /// Virtual address of `start_info` (`rsi`).
    pub start_info: u64,
    /// Machine frame of the L4 (`ctrlreg[3]`, in Xen's cr3 encoding).
    pub l4_mfn: u64,
}

/// The context: in kernel mode and online, flat kernel selectors
/// (`FLAT_KERNEL_CS64`, `FLAT_KERNEL_SS64`/`DS64`), `rip` = entry,
/// `rsp` = stack top, `rsi` = start_info, interrupts enabled, `cr3` = the
/// L4. Everything else zero: no trap table, callbacks, GDT or LDT yet (the
/// kernel registers its own; on x86-64 the callback code selectors are
/// implied, only the 32-bit ABI carries event/failsafe callback `cs`).
pub fn vcpu0(e: &Entry) -> VcpuGuestContext {
    let mut c = VcpuGuestContext::zeroed();
    c.flags = VGCF_in_kernel | VGCF_online;
    let r = &mut c.user_regs;
    r.rip = e.entry;
    r.rsp = e.stack_top;
    r.rsi = e.start_info;
    r.rflags = RFLAGS_IF;
    r.cs = FLAT_KERNEL_CS64;
    r.ss = FLAT_KERNEL_SS64;
    r.ds = FLAT_KERNEL_DS64;
    r.es = FLAT_KERNEL_DS64;
    r.fs = FLAT_KERNEL_DS64;
    r.gs = FLAT_KERNEL_DS64;
    c.kernel_ss = u64::from(FLAT_KERNEL_SS64);
    c.kernel_sp = e.stack_top;
    c.ctrlreg[3] = xen_pfn_to_cr3(e.l4_mfn);
    c
}
