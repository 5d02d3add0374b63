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
