//! Secondary vCPUs, brought up the way a PV Linux brings up its CPUs
//! (`cpu_initialize_context` in `arch/x86/xen/smp_pv.c`): the boot vCPU
//! fills a `vcpu_guest_context` for the new one and hands it to
//! `VCPUOP_initialise`, then starts it with `VCPUOP_up`.
//!
//! The context says: kernel mode (`VGCF_in_kernel`); the flat 64-bit
//! kernel selectors Xen's default GDT provides (so no GDT frames of our
//! own, `gdt_ents` 0); `rip` at the secondary entry stub with `rdi` = the
//! vCPU's id and `rsp` at the top of its own stack (also `kernel_sp`); the
//! page tables in use (`ctrlreg[3]` = the builder's L4); the event callback
//! of [`crate::events`] and a failsafe/syscall callback that panics (the
//! test kernels never load bad segments and never run user mode). The
//! vCPU's `vcpu_info` is its slot in shared_info (vCPUs below 32).
//!
//! Every vCPU runs on a stack of its own, and the code finds out which vCPU
//! it is on from its stack pointer ([`current`]): the event callback needs
//! that to take only its own vCPU's events.

/// How many vCPUs the runtime can run (the boot vCPU included).
pub const MAX_VCPUS: usize = 4;
/// Size of a secondary vCPU's stack.
pub const SECONDARY_STACK: usize = 16 * 1024;
/// Which vCPU a stack pointer belongs to: `n` on secondary stack `n - 1`
/// (stacks of `size` bytes from `base`), otherwise 0 (the boot vCPU,
/// which runs on the start-of-day stack).
pub fn vcpu_of_stack(rsp: u64, base: u64, size: u64, secondaries: usize) -> u32 {
    match rsp.checked_sub(base) {
        Some(off) if off < size * secondaries as u64 => (off / size) as u32 + 1,
        _ => 0,
    }
}

#[cfg(not(test))]
pub use bare::*;

/// The parts that run only in a bare build (hypercalls, entry code).
#[cfg(not(test))]
mod bare {
    use core::sync::atomic::{AtomicU64, Ordering};

    use dom0_abi::arch_x86::{xen_pfn_to_cr3, VcpuGuestContext, FLAT_KERNEL_CS, FLAT_KERNEL_SS, VGCF_in_kernel};
    use dom0_abi::hypercall::HYPERVISOR_vcpu_op;
    use dom0_abi::vcpu::{VCPUOP_initialise, VCPUOP_up};
    use dom0_abi::xen::SharedInfo;

    use crate::hypercall::{check, raw, XenError};
    use crate::StartInfo;

    use super::{vcpu_of_stack, MAX_VCPUS, SECONDARY_STACK};

    /// `rflags` a new vCPU starts with: the reserved bit 1 and IF (Xen keeps
    /// IF set for PV guests anyway; events are masked in `vcpu_info`).
    const START_RFLAGS: u64 = 0x202;

    /// Why a secondary vCPU could not be started.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SmpError {
        /// The id is 0 (the boot vCPU) or not below [`MAX_VCPUS`].
        BadVcpu(u32),
        /// [`crate::events::install`] has not run: no shared_info, no callback.
        EventsNotInstalled,
        /// `VCPUOP_initialise` failed.
        Initialise(XenError),
        /// `VCPUOP_up` failed.
        Up(XenError),
    }

    impl core::fmt::Display for SmpError {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            match self {
                SmpError::BadVcpu(v) => write!(f, "vCPU {v} cannot be a secondary (at most {MAX_VCPUS} vCPUs)"),
                SmpError::EventsNotInstalled => f.write_str("events are not installed"),
                SmpError::Initialise(e) => write!(f, "VCPUOP_initialise: {e}"),
                SmpError::Up(e) => write!(f, "VCPUOP_up: {e}"),
            }
        }
    }

    /// The secondary vCPUs' stacks, vCPU `n` on `STACKS.0[n - 1]`.
    #[repr(C, align(4096))]
    struct Stacks([[u8; SECONDARY_STACK]; MAX_VCPUS - 1]);

    /// Backing store of the secondary stacks; only addresses are taken.
    static mut STACKS: Stacks = Stacks([[0; SECONDARY_STACK]; MAX_VCPUS - 1]);

    /// Main function of each secondary vCPU (`fn(vcpu) -> !`), set before it
    /// is started.
    static MAIN: [AtomicU64; MAX_VCPUS] = [const { AtomicU64::new(0) }; MAX_VCPUS];

    /// The id of the vCPU this code runs on.
    pub fn current() -> u32 {
        let rsp: u64;
        // SAFETY: reading rsp has no side effect.
        unsafe { core::arch::asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack, preserves_flags)) };
        vcpu_of_stack(rsp, core::ptr::addr_of!(STACKS) as u64, SECONDARY_STACK as u64, MAX_VCPUS - 1)
    }

    // A secondary vCPU starts here in kernel mode with events masked, rdi =
    // its id and rsp = the top of its stack (both from its context).
    core::arch::global_asm!(
        ".pushsection .text",
        ".global smp_secondary_entry",
        "smp_secondary_entry:",
        "xor ebp, ebp",
        "call {start}",
        "ud2",
        // Failsafe and syscall callback: nothing here expects either, so
        // report it on a 16-byte aligned stack.
        ".global smp_unexpected_callback",
        "smp_unexpected_callback:",
        "and rsp, -16",
        "call {unexpected}",
        "ud2",
        ".popsection",
        start = sym secondary_start,
        unexpected = sym unexpected_callback,
    );

    unsafe extern "C" {
        fn smp_secondary_entry();
        fn smp_unexpected_callback();
    }

    /// Rust side of the entry stub: run the vCPU's main function.
    extern "C" fn secondary_start(vcpu: u64) -> ! {
        let main = MAIN.get(vcpu as usize).map_or(0, |m| m.load(Ordering::Acquire));
        assert!(main != 0, "vCPU {vcpu} started without a main function");
        // SAFETY: `bring_up` stores a `fn(u32) -> !` before starting the vCPU.
        let main: fn(u32) -> ! = unsafe { core::mem::transmute(main as *const ()) };
        main(vcpu as u32)
    }

    /// Where a failsafe or syscall callback lands.
    extern "C" fn unexpected_callback() -> ! {
        panic!("unexpected failsafe or syscall callback on vCPU {}", current())
    }

    /// Start vCPU `vcpu` (1 up to [`MAX_VCPUS`] - 1) running `main(vcpu)` on a
    /// stack of its own, with the address space and event callback of the boot
    /// vCPU and events masked. [`crate::events::install`] must have run.
    pub fn bring_up(si: &StartInfo, vcpu: u32, main: fn(u32) -> !) -> Result<(), SmpError> {
        let index = vcpu as usize;
        if index == 0 || index >= MAX_VCPUS {
            return Err(SmpError::BadVcpu(vcpu));
        }
        let shared = crate::events::SHARED.load(Ordering::Acquire) as *mut SharedInfo;
        if shared.is_null() {
            return Err(SmpError::EventsNotInstalled);
        }
        MAIN[index].store(main as *const () as u64, Ordering::Release);
        // SAFETY: a slot of shared_info (index below 32); the vCPU is not
        // running yet, so its mask is ours to set.
        unsafe { (&raw mut (*shared).vcpu_info[index].evtchn_upcall_mask).write_volatile(1) };

        let stack_top = core::ptr::addr_of!(STACKS) as u64 + (SECONDARY_STACK * index) as u64;
        // SAFETY: `VcpuGuestContext` is plain data (integers and arrays of
        // them), for which all zeroes is a valid value.
        let mut ctxt: VcpuGuestContext = unsafe { core::mem::zeroed() };
        ctxt.flags = VGCF_in_kernel;
        ctxt.user_regs.rip = smp_secondary_entry as *const () as u64;
        ctxt.user_regs.rsp = stack_top;
        ctxt.user_regs.rdi = u64::from(vcpu);
        ctxt.user_regs.cs = FLAT_KERNEL_CS;
        ctxt.user_regs.ss = FLAT_KERNEL_SS;
        ctxt.user_regs.rflags = START_RFLAGS;
        ctxt.kernel_ss = u64::from(FLAT_KERNEL_SS);
        ctxt.kernel_sp = stack_top;
        ctxt.gdt_ents = 0;
        ctxt.ctrlreg[3] = xen_pfn_to_cr3(crate::pt::boot_l4_mfn(si));
        ctxt.event_callback_eip = crate::events::callback_address();
        ctxt.failsafe_callback_eip = smp_unexpected_callback as *const () as u64;
        ctxt.syscall_callback_eip = smp_unexpected_callback as *const () as u64;

        // SAFETY: the argument is a live `vcpu_guest_context` the hypervisor
        // only reads.
        check(unsafe { raw(HYPERVISOR_vcpu_op, u64::from(VCPUOP_initialise), u64::from(vcpu), &mut ctxt as *mut _ as u64, 0, 0) })
            .map_err(SmpError::Initialise)?;
        // SAFETY: VCPUOP_up takes no argument.
        check(unsafe { raw(HYPERVISOR_vcpu_op, u64::from(VCPUOP_up), u64::from(vcpu), 0, 0, 0) }).map_err(SmpError::Up)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_name_their_vcpu() {
        let (base, size) = (0x10_0000, 0x4000);
        assert_eq!(vcpu_of_stack(base, base, size, 3), 1);
        assert_eq!(vcpu_of_stack(base + size - 8, base, size, 3), 1);
        assert_eq!(vcpu_of_stack(base + size, base, size, 3), 2);
        assert_eq!(vcpu_of_stack(base + 3 * size - 1, base, size, 3), 3);
        // The top of stack n - 1 is its first push's end: rsp there
        // before any push is the bottom of the next stack.
        assert_eq!(vcpu_of_stack(base + 3 * size, base, size, 3), 0);
        assert_eq!(vcpu_of_stack(base - 8, base, size, 3), 0);
        assert_eq!(vcpu_of_stack(0xffff_ffff_8020_0000, base, size, 3), 0);
    }
}
