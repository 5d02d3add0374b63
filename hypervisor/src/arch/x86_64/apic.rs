//! The local APIC, in x2APIC mode where the CPU has it and xAPIC (MMIO
//! through the direct map) otherwise: identification, EOI, the timer and
//! inter-processor interrupts (INIT/SIPI for bring-up).

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use x86_64::registers::model_specific::Msr;

use super::{cpu, paging, pit, rdtsc};

/// Vector of the local APIC timer.
pub const TIMER_VECTOR: u32 = 0xf0;
/// IPI: look at the run queue and pending events (Xen's event check).
pub const EVENT_CHECK_VECTOR: u32 = 0xf1;
/// IPI: flush the TLB ([`crate::mm::tlbflush`]).
pub const FLUSH_VECTOR: u32 = 0xf2;
/// Spurious-interrupt vector.
pub const SPURIOUS_VECTOR: u32 = 0xff;

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_BASE_ENABLE: u64 = 1 << 11;
const APIC_BASE_X2APIC: u64 = 1 << 10;

// Register offsets (xAPIC MMIO); the x2APIC MSR is 0x800 + offset / 16.
const REG_ID: u32 = 0x20;
const REG_EOI: u32 = 0xb0;
const REG_SVR: u32 = 0xf0;
const REG_ICR_LOW: u32 = 0x300;
const REG_ICR_HIGH: u32 = 0x310;
const REG_LVT_TIMER: u32 = 0x320;
const REG_TIMER_INIT: u32 = 0x380;
const REG_TIMER_CUR: u32 = 0x390;
const REG_TIMER_DIV: u32 = 0x3e0;

const LVT_MASKED: u32 = 1 << 16;
const LVT_PERIODIC: u32 = 1 << 17;

static X2APIC: AtomicBool = AtomicBool::new(false);
static XAPIC_VA: AtomicU64 = AtomicU64::new(0);
/// TSC ticks per millisecond.
static TSC_PER_MS: AtomicU64 = AtomicU64::new(0);
/// APIC timer ticks (divide by 16) per millisecond.
static APIC_PER_MS: AtomicU64 = AtomicU64::new(0);
/// Per CPU: its timer is set up for one-shot use (divide by 16, LVT
/// unmasked, one-shot), so arming it is one write of the initial count.
/// The hypervisor re-arms on every context switch and guest timer change;
/// each APIC write is an exit under a hypervisor or an emulator.
static ONESHOT_MODE: [AtomicBool; cpu::MAX_CPUS] = [const { AtomicBool::new(false) }; cpu::MAX_CPUS];

fn oneshot_mode() -> &'static AtomicBool {
    &ONESHOT_MODE[cpu::this_cpu().cpu_id as usize]
}

/// Whether this system runs the APIC in x2APIC mode.
pub fn x2apic() -> bool {
    X2APIC.load(Ordering::Relaxed)
}

fn read(reg: u32) -> u32 {
    if x2apic() {
        // SAFETY: x2APIC is enabled; the MSR maps an architectural register.
        unsafe { Msr::new(0x800 + reg / 16).read() as u32 }
    } else {
        let va = XAPIC_VA.load(Ordering::Relaxed) + u64::from(reg);
        // SAFETY: the xAPIC page is mapped uncached in the direct map.
        unsafe { core::ptr::read_volatile(va as *const u32) }
    }
}

fn write(reg: u32, value: u32) {
    if x2apic() {
        // SAFETY: as in `read`.
        unsafe { Msr::new(0x800 + reg / 16).write(u64::from(value)) }
    } else {
        let va = XAPIC_VA.load(Ordering::Relaxed) + u64::from(reg);
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile(va as *mut u32, value) }
    }
}

/// Enable the local APIC on this CPU (x2APIC mode when `use_x2apic`).
pub fn enable_this_cpu(use_x2apic: bool) {
    let mut base = Msr::new(IA32_APIC_BASE);
    // SAFETY: IA32_APIC_BASE exists on every x86-64 CPU; enabling the APIC
    // (and x2APIC mode, when CPUID reports it) is architecturally defined.
    unsafe {
        let mut v = base.read() | APIC_BASE_ENABLE;
        if use_x2apic {
            v |= APIC_BASE_X2APIC;
        }
        base.write(v);
        XAPIC_VA.store(paging::maddr_to_virt(v & 0xffff_f000), Ordering::Relaxed);
    }
    X2APIC.store(use_x2apic, Ordering::Relaxed);
    write(REG_SVR, 0x100 | SPURIOUS_VECTOR);
    write(REG_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
}

/// Whether the CPU supports x2APIC mode.
pub fn cpu_has_x2apic() -> bool {
    super::cpuid(1, 0).ecx & (1 << 21) != 0
}

/// This CPU's APIC ID.
pub fn id() -> u32 {
    let v = read(REG_ID);
    if x2apic() { v } else { v >> 24 }
}

/// Signal end of interrupt.
pub fn eoi() {
    write(REG_EOI, 0);
}

/// Result of calibrating the clocks against the PIT.
#[derive(Clone, Copy, Debug)]
pub struct Calibration {
    /// TSC frequency in kHz.
    pub tsc_khz: u64,
    /// APIC timer ticks per millisecond at divide-by-16.
    pub apic_ticks_per_ms: u64,
}

/// Measure the TSC and the APIC timer over 10 ms of PIT time.
pub fn calibrate() -> Calibration {
    const MS: u64 = 10;
    write(REG_TIMER_DIV, 0x3); // divide by 16
    write(REG_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
    let mut tsc0 = 0;
    let (tsc1, left) = pit::measure(
        MS,
        || {
            write(REG_TIMER_INIT, u32::MAX);
            tsc0 = rdtsc();
        },
        || (rdtsc(), read(REG_TIMER_CUR)),
    );
    write(REG_TIMER_INIT, 0);
    let cal = Calibration {
        tsc_khz: (tsc1 - tsc0) / MS,
        apic_ticks_per_ms: u64::from(u32::MAX - left) / MS,
    };
    TSC_PER_MS.store(cal.tsc_khz.max(1), Ordering::Relaxed);
    APIC_PER_MS.store(cal.apic_ticks_per_ms.max(1), Ordering::Relaxed);
    cal
}

/// Busy-wait `us` microseconds on the calibrated TSC.
pub fn udelay(us: u64) {
    let end = rdtsc() + TSC_PER_MS.load(Ordering::Relaxed) * us / 1000;
    while rdtsc() < end {
        core::hint::spin_loop();
    }
}

/// Milliseconds elapsed since TSC value `since`.
pub fn ms_since(since: u64) -> u64 {
    (rdtsc() - since) / TSC_PER_MS.load(Ordering::Relaxed).max(1)
}

/// Start the periodic timer with period `ms`.
pub fn timer_start_periodic(ms: u64) {
    oneshot_mode().store(false, Ordering::Relaxed);
    write(REG_TIMER_DIV, 0x3);
    write(REG_LVT_TIMER, LVT_PERIODIC | TIMER_VECTOR);
    let count = (APIC_PER_MS.load(Ordering::Relaxed) * ms).min(u64::from(u32::MAX)) as u32;
    write(REG_TIMER_INIT, count.max(1));
}

/// Fire the timer once, `ns` nanoseconds from now (clamped to what the
/// counter can hold; the handler re-arms for later deadlines).
pub fn timer_oneshot_ns(ns: u64) {
    let per_ms = APIC_PER_MS.load(Ordering::Relaxed);
    let count = (u128::from(ns) * u128::from(per_ms) / 1_000_000).clamp(1, u128::from(u32::MAX)) as u32;
    let mode = oneshot_mode();
    if !mode.load(Ordering::Relaxed) {
        write(REG_TIMER_DIV, 0x3);
        write(REG_LVT_TIMER, TIMER_VECTOR);
        mode.store(true, Ordering::Relaxed);
    }
    write(REG_TIMER_INIT, count);
}

/// Stop the timer: an initial count of 0 stops it in either mode (the
/// LVT is masked too unless it stays set up for one-shot use).
pub fn timer_stop() {
    if !oneshot_mode().load(Ordering::Relaxed) {
        write(REG_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
    }
    write(REG_TIMER_INIT, 0);
}

/// Timer interrupt handler: count it, acknowledge it, expire guest timers.
pub fn timer_interrupt() {
    cpu::this_cpu().timer_ticks.fetch_add(1, Ordering::Relaxed);
    eoi();
    crate::timer::interrupt();
}

fn send_ipi(dest: u32, low: u32) {
    if x2apic() {
        // SAFETY: writing the x2APIC ICR sends an IPI; the values are
        // architecturally defined INIT/SIPI/fixed requests.
        unsafe { Msr::new(0x830).write((u64::from(dest) << 32) | u64::from(low)) };
    } else {
        write(REG_ICR_HIGH, dest << 24);
        write(REG_ICR_LOW, low);
        while read(REG_ICR_LOW) & (1 << 12) != 0 {
            core::hint::spin_loop();
        }
    }
}

/// Send interrupt `vector` to CPU `cpu` (fixed delivery, physical
/// destination); nothing before the CPUs are registered.
pub fn send_to_cpu(target: u32, vector: u32) {
    if let Some(p) = cpu::pcpus().get(target as usize) {
        send_ipi(p.apic_id, vector & 0xff);
    }
}

/// Send INIT (assert) to `apic_id`.
pub fn send_init(apic_id: u32) {
    send_ipi(apic_id, 0x4500);
}

/// Send a start-up IPI pointing at page `vector` (address `vector << 12`).
pub fn send_sipi(apic_id: u32, vector: u8) {
    send_ipi(apic_id, 0x4600 | u32::from(vector));
}
