//! Extended processor state (XSAVE): the hypervisor turns CR4.OSXSAVE on
//! where the CPU has XSAVE, so that guests may use AVX and the other
//! XSAVE-managed state, and sets XCR0 for them (`XSETBV` is privileged and
//! emulated, checked by [`crate::xstate_policy`]). The hypervisor itself
//! uses none of that state (its formatting guard covers x87/SSE, and
//! legacy SSE leaves the upper vector halves alone). One domain runs on a
//! CPU, so the guest's state stays in the registers; switching it between
//! vCPUs comes with the scheduler.

use core::sync::atomic::{AtomicU64, Ordering};

use super::cpuid;

/// The XCR0 bits the CPU supports (0: no XSAVE).
static HOST_XCR0: AtomicU64 = AtomicU64::new(0);

/// CR4.OSXSAVE.
const CR4_OSXSAVE: u64 = 1 << 18;

/// Enable XSAVE on this CPU if it has it, with XCR0 = x87|SSE; returns
/// whether it is on.
pub fn init_this_cpu() -> bool {
    if cpuid(1, 0).ecx & (1 << 26) == 0 {
        return false;
    }
    let l = cpuid(0xd, 0);
    HOST_XCR0.store(u64::from(l.eax) | (u64::from(l.edx) << 32), Ordering::Relaxed);
    // SAFETY: CPUID says XSAVE exists; OSXSAVE only enables XGETBV/XSETBV
    // and the XSAVE family; XCR0 = x87|SSE is always valid.
    unsafe {
        core::arch::asm!("mov {t}, cr4", "or {t}, {b}", "mov cr4, {t}", t = out(reg) _, b = in(reg) CR4_OSXSAVE, options(nostack));
        set_xcr0(0x3);
    }
    true
}

/// Whether XSAVE is enabled (on the boot CPU).
pub fn enabled() -> bool {
    HOST_XCR0.load(Ordering::Relaxed) != 0
}

/// The XCR0 bits the CPU supports.
pub fn host_xcr0() -> u64 {
    HOST_XCR0.load(Ordering::Relaxed)
}

/// Load XCR0.
///
/// # Safety
/// `value` must be valid for this CPU (checked by `xstate_policy`).
pub unsafe fn set_xcr0(value: u64) {
    // SAFETY: the caller guarantees a valid value; XSETBV with ECX=0.
    unsafe {
        core::arch::asm!("xsetbv", in("ecx") 0u32, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nomem, nostack))
    };
}

/// Read XCR0.
pub fn xcr0() -> u64 {
    if !enabled() {
        return 0;
    }
    let (lo, hi): (u32, u32);
    // SAFETY: XGETBV with ECX=0 is valid once OSXSAVE is set.
    unsafe { core::arch::asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi, options(nomem, nostack)) };
    (u64::from(hi) << 32) | u64::from(lo)
}
