//! Per-CPU state and stacks.
//!
//! As in Xen, each CPU owns one naturally aligned block of [`STACK_PAGES`]
//! pages: the IST stacks at the bottom, the primary stack above them, and
//! [`CpuInfo`] at the very top. Any code running on any of these stacks
//! finds its CPU's `CpuInfo` by rounding the stack pointer.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::fpu::FxArea;

use crate::mm::{PAGE_SHIFT, PAGE_SIZE};

/// Pages in one CPU's stack block (a power of two).
pub const STACK_PAGES: u64 = 32;
/// Bytes in one CPU's stack block.
pub const STACK_SIZE: u64 = STACK_PAGES * PAGE_SIZE;
/// Bytes of each IST stack.
pub const IST_STACK_SIZE: u64 = 2 * PAGE_SIZE;

/// IST slots (1-based, as the TSS numbers them).
pub mod ist {
    /// Double fault.
    pub const DF: u8 = 1;
    /// Non-maskable interrupt.
    pub const NMI: u8 = 2;
    /// Machine check.
    pub const MCE: u8 = 3;
    /// Number of IST stacks.
    pub const COUNT: u64 = 3;
}

/// Per-CPU data at the top of each CPU's stack block.
#[repr(C, align(64))]
pub struct CpuInfo {
    /// x87/SSE state saved while the hypervisor formats text.
    pub fpu_area: UnsafeCell<FxArea>,
    /// Logical CPU number (0 is the boot CPU).
    pub cpu_id: u32,
    /// Local APIC ID.
    pub apic_id: u32,
    /// Timer interrupts taken.
    pub timer_ticks: AtomicU32,
    /// Nesting depth of [`super::fpu::with_guest_fpu_saved`].
    pub fpu_depth: AtomicU32,
    /// [`CPU_INFO_MAGIC`] once initialised.
    magic: AtomicU64,
}

// SAFETY: the UnsafeCell is only touched by its own CPU.
unsafe impl Sync for CpuInfo {}

/// Marks an initialised [`CpuInfo`].
const CPU_INFO_MAGIC: u64 = 0x6370_7569_6e66_6f21;

/// Most CPUs the hypervisor brings up.
pub const MAX_CPUS: usize = 64;

/// Number of CPUs that finished bring-up.
pub static CPUS_ONLINE: AtomicU32 = AtomicU32::new(0);

/// Virtual address of the `CpuInfo` of the stack block at `block_va`.
pub const fn cpu_info_addr(block_va: u64) -> u64 {
    block_va + STACK_SIZE - core::mem::size_of::<CpuInfo>() as u64
}

/// Top of the primary stack (16-byte aligned, just below `CpuInfo`).
pub const fn primary_stack_top(block_va: u64) -> u64 {
    cpu_info_addr(block_va) & !0xf
}

/// Top of IST stack `n` (1-based).
pub const fn ist_stack_top(block_va: u64, n: u8) -> u64 {
    block_va + (n as u64) * IST_STACK_SIZE
}

/// Initialise the `CpuInfo` of a fresh stack block.
///
/// # Safety
/// `block_va` must be the mapped, exclusively owned block of one CPU.
pub unsafe fn init_cpu_info(block_va: u64, cpu_id: u32, apic_id: u32) {
    let info = cpu_info_addr(block_va) as *mut CpuInfo;
    // SAFETY: the caller guarantees the block is mapped and unshared.
    unsafe {
        info.write(CpuInfo {
            fpu_area: UnsafeCell::new(FxArea([0; 512])),
            cpu_id,
            apic_id,
            timer_ticks: AtomicU32::new(0),
            fpu_depth: AtomicU32::new(0),
            magic: AtomicU64::new(CPU_INFO_MAGIC),
        })
    };
}

/// Base of the stack block this CPU runs on.
pub fn this_block() -> u64 {
    let rsp: u64;
    // SAFETY: reading RSP has no side effects.
    unsafe { core::arch::asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack)) };
    rsp & !(STACK_SIZE - 1)
}

/// Whether this CPU already runs on its stack block (the boot CPU starts
/// on a boot stack inside the image).
fn on_stack_block() -> bool {
    this_block() >= super::paging::DIRECTMAP_VIRT_START
}

/// This CPU's `CpuInfo`. Valid once the CPU runs on its stack block.
pub fn this_cpu() -> &'static CpuInfo {
    // SAFETY: every CPU runs on a stack block whose top holds an initialised
    // CpuInfo (the BSP switches to its block before anything calls this).
    unsafe { &*(cpu_info_addr(this_block()) as *const CpuInfo) }
}

/// This CPU's `CpuInfo`, or `None` while still on the boot stack.
pub fn this_cpu_checked() -> Option<&'static CpuInfo> {
    if !on_stack_block() {
        return None;
    }
    let info = this_cpu();
    (info.magic.load(Ordering::Relaxed) == CPU_INFO_MAGIC).then_some(info)
}

/// Count this CPU as online.
pub fn mark_online() {
    CPUS_ONLINE.fetch_add(1, Ordering::SeqCst);
}

const _: () = assert!(STACK_SIZE.is_power_of_two());
const _: () = assert!((ist::COUNT * IST_STACK_SIZE) < STACK_SIZE / 2);
const _: () = assert!(PAGE_SHIFT == 12);

/// A physical CPU as the hardware domain sees it (`XENPF_get_cpuinfo`):
/// Xen's CPU number is the index in [`pcpus`].
#[derive(Clone, Copy, Debug)]
pub struct Pcpu {
    /// Local APIC ID.
    pub apic_id: u32,
    /// ACPI processor UID.
    pub acpi_id: u32,
    /// Brought up and running.
    pub online: bool,
}

static PCPUS: spin::Once<alloc::vec::Vec<Pcpu>> = spin::Once::new();

/// Record the physical CPUs once bring-up is over (boot CPU first).
pub fn register_pcpus(list: alloc::vec::Vec<Pcpu>) {
    PCPUS.call_once(|| list);
}

/// The physical CPUs, boot CPU first (empty before bring-up ends).
pub fn pcpus() -> &'static [Pcpu] {
    PCPUS.get().map_or(&[], |v| v.as_slice())
}
