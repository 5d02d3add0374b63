//! The hardware debug registers.

/// Load debug register `n` (0-3, 6 or 7) with `value`.
pub fn write(n: usize, value: u64) {
    // SAFETY: the value was checked (addresses outside the hypervisor,
    // reserved bits forced, no general detect); a breakpoint hit in the
    // hypervisor is a trap it returns from.
    unsafe {
        match n {
            0 => core::arch::asm!("mov dr0, {}", in(reg) value, options(nostack)),
            1 => core::arch::asm!("mov dr1, {}", in(reg) value, options(nostack)),
            2 => core::arch::asm!("mov dr2, {}", in(reg) value, options(nostack)),
            3 => core::arch::asm!("mov dr3, {}", in(reg) value, options(nostack)),
            6 => core::arch::asm!("mov dr6, {}", in(reg) value, options(nostack)),
            7 => core::arch::asm!("mov dr7, {}", in(reg) value, options(nostack)),
            _ => {}
        }
    }
}
