//! x86-64 hardware: boot entry, descriptor tables, paging, local APIC, PIT,
//! ACPI, SMP bring-up and power control. Everything that touches hardware
//! lives below this module; the logic above it is host-testable.

pub mod acpi;
pub mod apic;
pub mod cpu;
pub mod cpuid_fault;
pub mod debugreg;
pub mod fpu;
pub mod gdt;
pub mod idt;
pub mod ioapic;
pub mod paging;
pub mod pic;
pub mod pit;
pub mod power;
pub mod rtc;
pub mod smp;
pub mod syscall;
pub mod traps;
pub mod uaccess;
pub mod xstate;

core::arch::global_asm!(include_str!("boot.S"), options(att_syntax));
core::arch::global_asm!(include_str!("entry.S"), options(att_syntax));
core::arch::global_asm!(include_str!("trampoline.S"), options(att_syntax));

/// Halt this CPU for good, with interrupts off.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: disabling interrupts and halting has no memory effects.
        unsafe { core::arch::asm!("cli; hlt", options(nomem, nostack)) };
    }
}

/// Read the time-stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Execute CPUID for `leaf`/`subleaf`.
pub fn cpuid(leaf: u32, subleaf: u32) -> core::arch::x86_64::CpuidResult {
    core::arch::x86_64::__cpuid_count(leaf, subleaf)
}

/// CR4.FSGSBASE: RDFSBASE/WRFSBASE/RDGSBASE/WRGSBASE usable in ring 3.
pub const CR4_FSGSBASE: u64 = 1 << 16;

/// Whether the CPU has the FS/GS base instructions.
pub fn has_fsgsbase() -> bool {
    cpuid(0, 0).eax >= 7 && cpuid(7, 0).ebx & 1 != 0
}

/// CR4.PKE: protection keys for user pages.
pub const CR4_PKE: u64 = 1 << 22;

/// Whether the CPU has protection keys for user pages (CPUID.7.0:ECX[3]).
pub fn has_pku() -> bool {
    cpuid(0, 0).eax >= 7 && cpuid(7, 0).ecx & (1 << 3) != 0
}

/// Turn CR4.PKE on or off on this CPU (on while a vCPU of a domain in
/// log-dirty mode runs: [`crate::mm::log_dirty`]), and when on load PKRU
/// with `pkru`.
pub fn set_pke(on: bool, pkru: u32) {
    if set_cr4_bit(CR4_PKE, on, has_pku) && on && rdpkru() != pkru {
        // SAFETY: CR4.PKE is set; WRPKRU needs ECX = EDX = 0.
        unsafe { core::arch::asm!("wrpkru", in("eax") pkru, in("ecx") 0u32, in("edx") 0u32, options(nostack)) };
    }
}

/// This CPU's PKRU (0 while CR4.PKE is clear).
pub fn rdpkru() -> u32 {
    if x86_64::registers::control::Cr4::read_raw() & CR4_PKE == 0 {
        return 0;
    }
    let pkru: u32;
    // SAFETY: CR4.PKE is set, so RDPKRU exists; it needs ECX = 0.
    unsafe { core::arch::asm!("rdpkru", out("eax") pkru, in("ecx") 0u32, out("edx") _, options(nomem, nostack)) };
    pkru
}

/// Turn CR4.FSGSBASE on or off on this CPU (a PV guest kernel's choice,
/// made through its virtual CR4; each vCPU's is loaded with it), writing
/// CR4 only when it changes.
pub fn set_fsgsbase(on: bool) {
    set_cr4_bit(CR4_FSGSBASE, on, has_fsgsbase);
}

/// Set CR4 bit `bit` (FSGSBASE or PKE) on this CPU to `on`, writing CR4
/// only when it changes; the bit is set only when `supported()` (asked
/// only then) says the CPU has it. Whether the bit is now `on`.
fn set_cr4_bit(bit: u64, on: bool, supported: impl FnOnce() -> bool) -> bool {
    use x86_64::registers::control::Cr4;
    debug_assert!(bit == CR4_FSGSBASE || bit == CR4_PKE);
    let cr4 = Cr4::read_raw();
    if (cr4 & bit != 0) == on {
        return true;
    }
    if on && !supported() {
        return false;
    }
    // SAFETY: FSGSBASE only enables the FS/GS base instructions (the
    // hypervisor keeps bases in the MSRs either way and saves the guest's
    // on every mode switch); PKE only makes the keys in user entries count
    // (the hypervisor's own mappings are supervisor pages, and PKRU is
    // loaded before any guest access). Either is set only where the CPU
    // has it.
    unsafe { Cr4::write_raw(cr4 ^ bit) };
    true
}
