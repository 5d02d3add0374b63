//! Bounce frames: delivering an exception, interrupt or user-mode SYSCALL
//! to the guest kernel, with the frame Xen builds on the guest kernel stack:
//! `{ RCX, R11, [ERRCODE,] RIP, CS, RFLAGS, RSP, SS }`, CS carrying the
//! saved event mask in bits 32–39 and RPL 0 when the guest was in kernel
//! mode, RFLAGS.IF mirroring the saved mask.

use dom0_abi::arch_x86::{TrapInfo, HYPERVISOR_VIRT_END, HYPERVISOR_VIRT_START};

use super::{crash, toggle_guest_mode, ENTRY_SYSCALL32};
use crate::arch::x86_64::gdt::{FLAT_RING3_CS64, FLAT_RING3_DS32};
use crate::arch::x86_64::traps::TrapFrame;
use crate::arch::x86_64::uaccess::copy_to_guest;
use crate::domain::Vcpu;

/// What to deliver.
#[derive(Clone, Copy, Debug)]
pub struct TrapBounce {
    /// Guest handler.
    pub eip: u64,
    /// Error code to push, if any.
    pub error_code: Option<u32>,
    /// Mask events on entry (`TBF_INTERRUPT`).
    pub mask_events: bool,
}

const RFLAGS_IF: u64 = 1 << 9;
const RFLAGS_IOPL: u64 = 3 << 12;
/// Flags cleared on delivery: TF, NT, RF, VM, AC.
const RFLAGS_CLEAR: u64 = (1 << 8) | (1 << 14) | (1 << 16) | (1 << 17) | (1 << 18);

/// Build the bounce frame and point `regs` at the guest handler.
pub fn create_bounce_frame(v: &mut Vcpu, regs: &mut TrapFrame, tb: TrapBounce) {
    if tb.eip == 0 {
        crash(v, regs, "bounce to a null guest handler");
    }
    let mut cs = regs.cs;
    let mut sp = if v.kernel_mode {
        cs &= !3; // tell the guest it was in kernel context
        regs.rsp
    } else {
        toggle_guest_mode(v);
        v.kernel_sp
    };
    sp &= !0xf;
    if (HYPERVISOR_VIRT_START + 1..HYPERVISOR_VIRT_END + 8 * 8).contains(&sp) {
        crash(v, regs, "guest kernel stack in the hypervisor range");
    }
    let Some(vi) = v.vcpu_info() else {
        crash(v, regs, "vCPU without a vcpu_info slot");
    };
    let saved_mask = vi.evtchn_upcall_mask;
    if tb.mask_events {
        vi.evtchn_upcall_mask = 1;
    }
    let mut rflags = regs.rflags & !(RFLAGS_IF | RFLAGS_IOPL);
    if saved_mask == 0 {
        rflags |= RFLAGS_IF;
    }
    let arch_iopl = v.domain.state.lock().vm_assist & (1 << dom0_abi::vm_assist::VMASST_TYPE_architectural_iopl) != 0;
    if arch_iopl {
        rflags |= u64::from(v.iopl) & RFLAGS_IOPL;
    }
    let mut words = [0u64; 8];
    let mut n = 0;
    let mut push = |w: u64| {
        words[n] = w;
        n += 1;
    };
    push(regs.rcx);
    push(regs.r11);
    if let Some(ec) = tb.error_code {
        push(u64::from(ec));
    }
    push(regs.rip);
    push((cs & 0xffff) | (u64::from(saved_mask) << 32));
    push(rflags);
    push(regs.rsp);
    push(regs.ss);
    let bytes: [u8; 64] = {
        let mut b = [0u8; 64];
        for (i, w) in words[..n].iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        b
    };
    let frame_at = sp - 8 * n as u64;
    if copy_to_guest(frame_at, &bytes[..8 * n]).is_err() {
        crash(v, regs, "fault writing an exception frame to the guest kernel stack");
    }
    regs.rflags &= !RFLAGS_CLEAR;
    regs.ss = u64::from(FLAT_RING3_DS32);
    regs.rsp = frame_at;
    regs.cs = u64::from(FLAT_RING3_CS64);
    regs.rip = tb.eip;
}

/// Deliver hardware exception `vector` through the guest's trap table;
/// crash the guest when it has no handler.
pub fn inject_exception(v: &mut Vcpu, regs: &mut TrapFrame, vector: u8, error_code: Option<u32>) {
    let ti: TrapInfo = v.trap_table[usize::from(vector)];
    if ti.address == 0 {
        let (mnemonic, name) = crate::arch::x86_64::traps::exception_name(u32::from(vector));
        log::warn!(
            "d{}v{}: unhandled {mnemonic} {name} [#{vector}, ec={:04x}]",
            v.domain.domid,
            v.vcpu_id,
            error_code.unwrap_or(0)
        );
        regs.error_code = error_code.unwrap_or(0);
        crash(v, regs, "exception with no guest handler");
    }
    create_bounce_frame(v, regs, TrapBounce { eip: ti.address, error_code, mask_events: ti.flags & 4 != 0 });
}

/// Deliver software interrupt `vector` (no error code).
pub fn inject_software_interrupt(v: &mut Vcpu, regs: &mut TrapFrame, vector: u8) {
    inject_exception(v, regs, vector, None)
}

/// On the way back to the guest: a pending NMI first (through vector 2 of
/// the virtual IDT, NMIs masked until the guest's `HYPERVISOR_iret`, an
/// NMI with no handler dropped, as Xen's `process_nmi`); then, if an upcall
/// is pending and events are not masked, the guest's event callback
/// (masking events, as `TBF_INTERRUPT` does).
pub fn deliver_events(v: &mut Vcpu, regs: &mut TrapFrame) {
    if v.nmi_pending && !v.nmi_masked {
        v.nmi_pending = false;
        let ti: TrapInfo = v.trap_table[2];
        if ti.address != 0 {
            v.nmi_masked = true;
            create_bounce_frame(v, regs, TrapBounce { eip: ti.address, error_code: None, mask_events: ti.flags & 4 != 0 });
            return;
        }
    }
    let Some(vi) = v.vcpu_info() else { return };
    if vi.evtchn_upcall_pending == 0 || vi.evtchn_upcall_mask != 0 || v.callbacks.event == 0 {
        return;
    }
    create_bounce_frame(v, regs, TrapBounce { eip: v.callbacks.event, error_code: None, mask_events: true });
}

/// SYSCALL from guest user space: enter the guest kernel's syscall
/// callback in kernel mode.
pub fn syscall_from_user(v: &mut Vcpu, regs: &mut TrapFrame) {
    let (eip, mask) = if regs.entry_vector == ENTRY_SYSCALL32 {
        (v.callbacks.syscall32, v.callbacks.syscall_disables_events)
    } else {
        (v.callbacks.syscall, v.callbacks.syscall_disables_events)
    };
    if eip == 0 {
        // No callback: the instruction behaves as an invalid opcode.
        inject_exception(v, regs, 6, None);
        return;
    }
    create_bounce_frame(v, regs, TrapBounce { eip, error_code: None, mask_events: mask });
}
