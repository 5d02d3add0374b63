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

/// A vCPU's saved x87/SSE/AVX state: an XSAVE area (the FXSAVE image
/// where the CPU has no XSAVE), big enough for every component this
/// hypervisor lets guests enable.
#[repr(C, align(64))]
pub struct XsaveArea(pub [u8; 4096]);

impl XsaveArea {
    /// The state of a fresh vCPU: x87 and SSE in their reset state
    /// (FCW 0x37f, MXCSR 0x1f80), every XSAVE component in its initial
    /// configuration (XSTATE_BV 0).
    pub fn initial() -> alloc::boxed::Box<Self> {
        let mut a = alloc::boxed::Box::new(Self([0; 4096]));
        a.0[0..2].copy_from_slice(&0x37fu16.to_le_bytes());
        a.0[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        a.0[28..32].copy_from_slice(&0xffffu32.to_le_bytes()); // MXCSR_MASK
        a
    }
}

/// Whether the CPU's largest XSAVE image fits an [`XsaveArea`].
pub fn area_fits() -> bool {
    !enabled() || cpuid(0xd, 0).ecx as usize <= core::mem::size_of::<XsaveArea>()
}

/// Save this CPU's x87/SSE/AVX state (every component XCR0 enables).
/// CR0.TS must be clear.
pub fn save(area: &mut XsaveArea) {
    let p = area.0.as_mut_ptr();
    if enabled() {
        // SAFETY: a 64-byte-aligned area large enough for every component
        // (checked at boot by `area_fits`); OSXSAVE is on.
        unsafe { core::arch::asm!("xsave64 [{}]", in(reg) p, in("eax") u32::MAX, in("edx") u32::MAX, options(nostack)) };
    } else {
        // SAFETY: a 16-byte-aligned area of at least 512 bytes.
        unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) p, options(nostack)) };
    }
}

/// Load XCR0 `xcr0` and the state saved in `area`. CR0.TS must be clear.
pub fn restore(area: &XsaveArea, xcr0: u64) {
    let p = area.0.as_ptr();
    if enabled() {
        // SAFETY: `xcr0` was checked when the guest set it (or is x87|SSE);
        // the area was written by `save` or is `XsaveArea::initial`, whose
        // header is valid (reserved bytes zero).
        unsafe {
            set_xcr0(xcr0);
            core::arch::asm!("xrstor64 [{}]", in(reg) p, in("eax") u32::MAX, in("edx") u32::MAX, options(nostack));
        }
    } else {
        // SAFETY: an FXSAVE image written by `save` or the initial one.
        unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) p, options(nostack)) };
    }
}
