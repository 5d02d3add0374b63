//! Application-processor bring-up: INIT-SIPI-SIPI through the trampoline,
//! one CPU at a time, each on its own stack block with its own GDT/TSS.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::{apic, cpu, gdt, idt, paging};

/// Physical address the trampoline is copied to (page 8, SIPI vector 8).
pub const TRAMPOLINE_BASE: u64 = 0x8000;

unsafe extern "C" {
    static trampoline_start: u8;
    static trampoline_end: u8;
    static tramp_params: u8;
}

/// Parameter block at the end of the trampoline.
#[repr(C)]
struct TrampParams {
    cr3: u64,
    efer: u64,
    stack: u64,
    entry: u64,
    arg: u64,
}

/// CR3 of the hypervisor's final tables, loaded by each AP.
static HV_CR3: AtomicU64 = AtomicU64::new(0);
/// Logical number of the last AP that came up.
static AP_UP: AtomicU32 = AtomicU32::new(u32::MAX);
static X2APIC: AtomicU32 = AtomicU32::new(0);

/// One AP to start.
pub struct ApStart {
    /// Logical CPU number to give it.
    pub cpu_id: u32,
    /// Its local APIC ID.
    pub apic_id: u32,
    /// Virtual address of its freshly allocated stack block.
    pub block_va: u64,
}

/// Why an AP did not come up.
#[derive(Debug)]
pub enum ApError {
    /// It never reported in.
    Timeout,
}

/// Copy the trampoline below 1 MiB; `hv_cr3` is the hypervisor's final CR3.
pub fn install_trampoline(hv_cr3: u64, nx: bool) {
    HV_CR3.store(hv_cr3, Ordering::SeqCst);
    X2APIC.store(u32::from(apic::x2apic()), Ordering::SeqCst);
    let start = &raw const trampoline_start as u64;
    let len = &raw const trampoline_end as u64 - start;
    // SAFETY: TRAMPOLINE_BASE is in conventional low memory, which the frame
    // allocator never hands out; the direct map covers it.
    unsafe {
        core::ptr::copy_nonoverlapping(
            start as *const u8,
            paging::maddr_to_virt(TRAMPOLINE_BASE) as *mut u8,
            len as usize,
        );
    }
    let params = params();
    params.cr3 = paging::boot_pml4_maddr();
    params.efer = 0x100 | if nx { 0x800 } else { 0 };
    params.entry = ap_entry as *const () as u64;
}

fn params() -> &'static mut TrampParams {
    let off = &raw const tramp_params as u64 - &raw const trampoline_start as u64;
    // SAFETY: the copied trampoline's parameter block, only written by the
    // BSP while no AP is between SIPI and reading it.
    unsafe { &mut *(paging::maddr_to_virt(TRAMPOLINE_BASE + off) as *mut TrampParams) }
}

/// Start one AP and wait (up to 2 s: emulators under load are slow) until
/// it is online.
pub fn start_ap(ap: &ApStart) -> Result<(), ApError> {
    // SAFETY: the block is the AP's own, not yet running.
    unsafe { cpu::init_cpu_info(ap.block_va, ap.cpu_id, ap.apic_id) };
    let p = params();
    p.stack = cpu::primary_stack_top(ap.block_va);
    p.arg = ap.block_va;
    apic::send_init(ap.apic_id);
    apic::udelay(10_000);
    for _ in 0..2 {
        apic::send_sipi(ap.apic_id, (TRAMPOLINE_BASE >> 12) as u8);
        apic::udelay(200);
        if AP_UP.load(Ordering::SeqCst) == ap.cpu_id {
            return Ok(());
        }
    }
    let t0 = super::rdtsc();
    while apic::ms_since(t0) < 2000 {
        if AP_UP.load(Ordering::SeqCst) == ap.cpu_id {
            return Ok(());
        }
        core::hint::spin_loop();
    }
    Err(ApError::Timeout)
}

/// First Rust code an AP runs, on its primary stack, on the boot tables.
extern "C" fn ap_entry(block_va: u64) -> ! {
    // SAFETY: the final tables map this code, this stack (direct map) and
    // all hypervisor data.
    unsafe { paging::load_cr3(HV_CR3.load(Ordering::SeqCst)) };
    super::fpu::init_this_cpu();
    super::xstate::init_this_cpu();
    let me = cpu::this_cpu();
    gdt::load_for_cpu(me.cpu_id, block_va);
    idt::load();
    super::syscall::init_this_cpu(me.cpu_id, block_va);
    apic::enable_this_cpu(X2APIC.load(Ordering::SeqCst) != 0);
    super::cpuid_fault::enable_this_cpu();
    cpu::mark_online();
    AP_UP.store(me.cpu_id, Ordering::SeqCst);
    // Into the scheduler, below the guest-frame slot at the top of the
    // primary stack (this function's frame is there).
    let below_slot = (cpu::primary_stack_top(block_va) - 512) & !0xf;
    // SAFETY: the primary stack is this CPU's; `ap_main` never returns, so
    // nothing needs this function's frame again.
    unsafe {
        core::arch::asm!(
            "mov rsp, {sp}",
            "xor ebp, ebp",
            "call {main}",
            sp = in(reg) below_slot,
            main = sym crate::sched::ap_main,
            options(noreturn),
        )
    }
}
