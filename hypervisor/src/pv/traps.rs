//! Exceptions taken while a PV guest runs: page faults report CR2 through
//! `vcpu_info`, `int N` through a ring-0 gate becomes a software interrupt
//! when the guest's virtual IDT allows it, privileged instructions of the
//! guest kernel are emulated, the rest is bounced to the guest.

use x86_64::registers::control::Cr2;

use super::bounce::{inject_exception, inject_software_interrupt};
use super::emulate;
use crate::arch::x86_64::traps::TrapFrame;
use crate::domain::{self, Vcpu};

const PFEC_USER: u32 = 1 << 2;

/// `int $0x80` from guest ring 3, through the DPL-3 gate Xen also has: it
/// goes to the guest's vector-0x80 handler whatever that entry's DPL; with
/// no handler it is a #GP as for any other `int N`.
pub fn int80(regs: &mut TrapFrame) {
    let Some(v) = domain::current() else {
        crate::arch::x86_64::halt_forever();
    };
    if v.trap_table[0x80].address != 0 {
        inject_software_interrupt(v, regs, 0x80);
    } else {
        regs.rip -= 2;
        regs.error_code = (0x80 << 3) | 2;
        general_protection(v, regs);
    }
}

/// Page-fault error code: a protection-key violation.
pub const PFEC_PK: u32 = 1 << 5;

/// Vectors that push an error code.
fn has_error_code(vector: u32) -> bool {
    matches!(vector, 8 | 10 | 11 | 12 | 13 | 14 | 17 | 21 | 29 | 30)
}

/// An exception from ring 3 (the running PV guest).
pub fn guest_exception(regs: &mut TrapFrame) {
    let Some(v) = domain::current() else {
        crate::arch::x86_64::halt_forever();
    };
    let vector = regs.entry_vector;
    match vector {
        14 => {
            let cr2 = Cr2::read_raw();
            if regs.error_code & PFEC_PK != 0 && crate::mm::log_dirty_ops::pk_fault(v.domain.domid, cr2) {
                return; // a write tracked for log-dirty mode: retried
            }
            if super::ptwr::try_emulate(v, regs, cr2) {
                return;
            }
            if let Some(vi) = v.vcpu_info() {
                vi.arch.cr2 = cr2;
            }
            // The guest kernel runs in ring 3, but its faults are reported
            // as supervisor faults, as on Xen.
            let ec = if v.kernel_mode { regs.error_code & !PFEC_USER } else { regs.error_code };
            inject_exception(v, regs, 14, Some(ec));
        }
        13 => general_protection(v, regs),
        6 => {
            if !emulate::forced_invocation(v, regs) {
                inject_exception(v, regs, 6, None);
            }
        }
        7 => device_not_available(v, regs),
        _ => {
            let ec = has_error_code(vector).then_some(regs.error_code);
            inject_exception(v, regs, vector as u8, ec);
        }
    }
}

/// `int N` through a DPL-0 gate arrives as #GP with error code `N<<3 | 2`.
fn general_protection(v: &mut Vcpu, regs: &mut TrapFrame) {
    if regs.error_code & 3 == 2 {
        let vector = (regs.error_code >> 3) as u8;
        let dpl = v.trap_table[usize::from(vector)].flags & 3;
        let needed = if v.kernel_mode { 1 } else { 3 };
        if dpl >= needed {
            regs.rip += 2;
            inject_software_interrupt(v, regs, vector);
            return;
        }
    } else if regs.error_code == 0 && emulate::privileged_op(v, regs) {
        return;
    }
    inject_exception(v, regs, 13, Some(regs.error_code));
}

/// #NM: the guest set its virtual CR0.TS (`fpu_taskswitch`); deliver the
/// fault once and clear the flag, as Xen does.
fn device_not_available(v: &mut Vcpu, regs: &mut TrapFrame) {
    crate::arch::x86_64::fpu::clts();
    if v.cr0_ts {
        v.cr0_ts = false;
        inject_exception(v, regs, 7, None);
    }
}
