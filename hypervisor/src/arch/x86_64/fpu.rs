//! Guarding guest FPU/SSE state from the hypervisor's own use of SSE.
//!
//! Our crates are built without SSE, but the precompiled `core::fmt` (and
//! `str::count`) contain SSE instructions. All formatting happens inside
//! console output, which runs under [`with_guest_fpu_saved`]: the x87/SSE
//! state is saved with FXSAVE before and restored with FXRSTOR after, so the
//! state a guest left in the registers survives. `core` is compiled for
//! baseline x86-64 (legacy SSE encodings only), which leaves the upper
//! halves of the YMM registers untouched, so FXSAVE covers all it can touch.

use core::sync::atomic::Ordering;

use super::cpu;

/// FXSAVE image (512 bytes, 16-byte aligned).
#[repr(C, align(16))]
pub struct FxArea(pub [u8; 512]);

/// Enable SSE for the hypervisor on this CPU (CR4.OSFXSR/OSXMMEXCPT,
/// CR0.MP set, CR0.EM and CR0.TS clear).
pub fn init_this_cpu() {
    // SAFETY: setting the architectural SSE-enable bits has no memory
    // effects; the values are those every x86-64 OS uses.
    unsafe {
        core::arch::asm!(
            "mov {t}, cr4",
            "or {t}, 0x600",
            "mov cr4, {t}",
            "mov {t}, cr0",
            "and {t}, ~0xc",
            "or {t}, 0x2",
            "mov cr0, {t}",
            t = out(reg) _,
            options(nostack),
        );
    }
}

/// Clear CR0.TS.
pub fn clts() {
    // SAFETY: CLTS only affects FPU trapping.
    unsafe { core::arch::asm!("clts", options(nomem, nostack)) };
}

/// Set CR0.TS: the next x87/SSE instruction traps with #NM.
pub fn stts() {
    // SAFETY: only affects FPU trapping.
    unsafe {
        core::arch::asm!("mov {t}, cr0", "or {t}, 8", "mov cr0, {t}", t = out(reg) _, options(nomem, nostack))
    };
}

fn ts_set() -> bool {
    let cr0: u64;
    // SAFETY: reading CR0 has no side effects.
    unsafe { core::arch::asm!("mov {}, cr0", out(reg) cr0, options(nomem, nostack)) };
    cr0 & 8 != 0
}

/// Run `f`, which may execute SSE code, keeping the interrupted x87/SSE
/// state intact. Nests: only the outermost level saves and restores.
pub fn with_guest_fpu_saved<R>(f: impl FnOnce() -> R) -> R {
    let me = cpu::this_cpu_checked();
    let Some(me) = me else {
        // Before the per-CPU block exists no guest has run: nothing to save.
        return f();
    };
    let depth = me.fpu_depth.fetch_add(1, Ordering::Relaxed);
    let area = me.fpu_area.get();
    // A guest may have CR0.TS set (fpu_taskswitch): lift it meanwhile.
    let ts = depth == 0 && ts_set();
    if ts {
        clts();
    }
    if depth == 0 {
        // SAFETY: `area` is this CPU's own 16-byte-aligned 512-byte buffer,
        // used only at depth 0 on this CPU with interrupts masked.
        unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) area, options(nostack)) };
    }
    let r = f();
    if depth == 0 {
        // SAFETY: restores the image saved above.
        unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) area, options(nostack)) };
    }
    if ts {
        stts();
    }
    me.fpu_depth.fetch_sub(1, Ordering::Relaxed);
    r
}

/// Boot self-test of [`with_guest_fpu_saved`]: load a known pattern into
/// the x87/SSE registers, print a formatted line (which runs `core::fmt`'s
/// SSE code), and compare the registers afterwards. Returns whether the
/// XMM registers and MXCSR came back unchanged.
pub fn self_test() -> bool {
    let mut before = FxArea([0; 512]);
    let mut after = FxArea([0; 512]);
    // SAFETY: FXSAVE/FXRSTOR on local, aligned 512-byte buffers.
    unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) before.0.as_mut_ptr(), options(nostack)) };
    // XMM0-15 live at bytes 160..416 of the image: fill them with a pattern.
    for (i, b) in before.0[160..416].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
    // SAFETY: restores a valid image (taken above, XMM bytes patterned).
    unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) before.0.as_ptr(), options(nostack)) };
    crate::printk!("FPU guard self-test: formatting {} {:>12} {:?}\n", u64::MAX, "padded", (1u8, "x"));
    // SAFETY: as above.
    unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) after.0.as_mut_ptr(), options(nostack)) };
    before.0[24..28] == after.0[24..28] && before.0[160..416] == after.0[160..416]
}
