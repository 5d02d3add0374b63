//! A vCPU's hardware context: what a context switch saves from the CPU
//! into the outgoing [`Vcpu`] and loads from the incoming one. The
//! registers (the frame at the top of the CPU's primary stack), the FS
//! and GS bases, the x87/SSE/AVX state with XCR0, the virtual CR0.TS, the
//! debug registers, the page-table base, GDT and LDT, and CR4.PKE with
//! PKRU for a domain in log-dirty mode.

use x86_64::registers::model_specific::Msr;

use crate::arch::x86_64::traps::TrapFrame;
use crate::arch::x86_64::{debugreg, fpu, xstate};
use crate::domain::{self, Vcpu};

const MSR_FS_BASE: u32 = 0xc000_0100;
const MSR_GS_BASE: u32 = 0xc000_0101;
const MSR_SHADOW_GS_BASE: u32 = 0xc000_0102;

/// DR7's enable bits (L0-L3, G0-G3).
const DR7_ENABLES: u64 = 0xff;

/// Save the running `v` (whose registers are `regs`) into its `Vcpu`.
pub fn save(v: &mut Vcpu, regs: &TrapFrame) {
    v.frame = *regs;
    // SAFETY: reading the architectural segment-base MSRs.
    let (fs, gs, shadow) =
        unsafe { (Msr::new(MSR_FS_BASE).read(), Msr::new(MSR_GS_BASE).read(), Msr::new(MSR_SHADOW_GS_BASE).read()) };
    v.fs_base = fs;
    if v.kernel_mode {
        (v.gs_base_kernel, v.gs_base_user) = (gs, shadow);
    } else {
        (v.gs_base_user, v.gs_base_kernel) = (gs, shadow);
    }
    fpu::clts();
    xstate::save(&mut v.fpu);
    if v.debugreg[7] & DR7_ENABLES != 0 {
        // Keep what the hardware reported since the vCPU set DR6.
        let dr6: u64;
        // SAFETY: reading DR6 has no side effects.
        unsafe { core::arch::asm!("mov {}, dr6", out(reg) dr6, options(nomem, nostack)) };
        v.debugreg[6] = dr6;
        debugreg::write(7, 0);
    }
    if v.is_online() {
        let state = if v.is_blocked() { dom0_abi::vcpu::RUNSTATE_blocked } else { dom0_abi::vcpu::RUNSTATE_runnable };
        crate::domain::runstate::set_state(v, state);
    }
}

/// Make `v` the running vCPU of this CPU: its state into the hardware and
/// its registers into `regs`.
pub fn load(v: &'static mut Vcpu, regs: &mut TrapFrame) {
    fpu::clts();
    xstate::restore(&v.fpu, v.xcr0);
    if v.cr0_ts {
        fpu::stts();
    }
    if v.debugreg[7] & DR7_ENABLES != 0 {
        for n in [0, 1, 2, 3, 6, 7] {
            debugreg::write(n, v.debugreg[n]);
        }
    }
    super::load_guest_context(v);
    // Its virtual CR4's FSGSBASE: set on whichever CPU it set it on, it
    // must follow it to this one (Linux sets it on every CPU it brings up).
    crate::arch::x86_64::set_fsgsbase(v.cr4 & crate::arch::x86_64::CR4_FSGSBASE != 0);
    // CR4.PKE and PKRU: set while its domain is in log-dirty mode, clear
    // otherwise (before anything below writes its memory).
    crate::mm::log_dirty_ops::load_vcpu(v.domain);
    // SAFETY: a canonical base (checked when set, or read back from the
    // register when the vCPU was last descheduled).
    unsafe { Msr::new(MSR_FS_BASE).write(v.fs_base) };
    crate::hypercall::descriptor::install_gdt(v);
    crate::hypercall::descriptor::install_ldt(v);
    *regs = v.frame;
    domain::set_current(v);
    crate::domain::runstate::set_state(v, dom0_abi::vcpu::RUNSTATE_running);
    crate::timer::update_vcpu_system_time(v);
    if v.runstate.pending && v.kernel_mode {
        crate::domain::runstate::publish(v);
    }
}
