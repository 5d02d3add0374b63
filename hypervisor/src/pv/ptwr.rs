//! Writable page tables (`VMASST_TYPE_writable_pagetables`): a guest
//! kernel may write its own L1 page tables directly. The frames stay mapped
//! read-only; the write faults, and here it is decoded, validated like an
//! `mmu_update` of that entry, and carried out. Decoded ([`crate::insn`]):
//! `mov`, `xchg`, `(lock) cmpxchg`, the read-modify-write ALU forms and
//! `bts`/`btr`/`btc`, of 1 to 8 bytes within one entry. Anything else, or
//! an entry that fails validation, is left to the guest as the page fault
//! it was.

use crate::arch::x86_64::paging;
use crate::arch::x86_64::traps::TrapFrame;
use crate::arch::x86_64::uaccess::copy_from_guest;
use crate::domain::Vcpu;
use crate::insn::{apply, decode_write, Op, Src, FLAGS_MASK};
use crate::mm::frame_table::{self, DirectMap};
use crate::mm::page::PageType;
use crate::mm::pv::{Memory, ADDR_MASK, P, RW};

const PFEC_PRESENT: u32 = 1 << 0;
const PFEC_WRITE: u32 = 1 << 1;
const PFEC_RESERVED: u32 = 1 << 3;
const PFEC_FETCH: u32 = 1 << 4;

/// General register `n` (0–15, x86 encoding order) of a frame.
pub fn gpr(regs: &mut TrapFrame, n: u8) -> &mut u64 {
    match n & 15 {
        0 => &mut regs.rax,
        1 => &mut regs.rcx,
        2 => &mut regs.rdx,
        3 => &mut regs.rbx,
        4 => &mut regs.rsp,
        5 => &mut regs.rbp,
        6 => &mut regs.rsi,
        7 => &mut regs.rdi,
        8 => &mut regs.r8,
        9 => &mut regs.r9,
        10 => &mut regs.r10,
        11 => &mut regs.r11,
        12 => &mut regs.r12,
        13 => &mut regs.r13,
        14 => &mut regs.r14,
        _ => &mut regs.r15,
    }
}

/// Try to emulate the write behind a page fault at `cr2`; true when done.
pub fn try_emulate(v: &mut Vcpu, regs: &mut TrapFrame, cr2: u64) -> bool {
    let ec = regs.error_code;
    // Xen emulates writes to L1 tables for a domain with the assist, and for
    // the hardware domain always (its read-only fault path handles them).
    let enabled = v.domain.is_privileged
        || v.domain.state.lock().vm_assist & (1 << dom0_abi::vm_assist::VMASST_TYPE_writable_pagetables) != 0;
    if !enabled
        || !v.kernel_mode
        || ec & (PFEC_PRESENT | PFEC_WRITE) != (PFEC_PRESENT | PFEC_WRITE)
        || ec & (PFEC_RESERVED | PFEC_FETCH) != 0
    {
        return false;
    }
    // The page written must be mapped read-only and be an L1 page table.
    let Some(l1) = crate::hypercall::mm::l1_for(v, cr2) else { return false };
    let pte = DirectMap.read(l1, paging::index(cr2, 1));
    if pte & P == 0 || pte & RW != 0 {
        return false;
    }
    let target = (pte & ADDR_MASK) >> 12;
    if frame_table::info(target).is_none_or(|p| p.ty != PageType::L1) {
        return false;
    }
    let mut insn = [0u8; 16];
    if copy_from_guest(&mut insn, regs.rip).is_err() && copy_from_guest(&mut insn[..8], regs.rip).is_err() {
        return false;
    }
    let Some(w) = decode_write(&insn) else { return false };
    let off = (cr2 & 7) as u32;
    if off + u32::from(w.width) > 8 {
        return false;
    }
    let index = ((cr2 & 0xfff) / 8) as usize;
    let bits = u32::from(w.width) * 8;
    let mask = if bits == 64 { !0u64 } else { (1u64 << bits) - 1 };
    let src = match w.src {
        Src::Reg(r) => *gpr(regs, r) & mask,
        Src::Imm(i) => i & mask,
    };
    let rax = regs.rax;
    let a = v.domain.actor();
    // The read-modify-write of the entry happens under the table's page
    // lock, so a concurrent change by another vCPU is never lost and a
    // cmpxchg compares with the value it replaces.
    let mut seen = None;
    let r = frame_table::with(|m| {
        m.mod_entry_with(target, 1, index, a, |old_entry| {
            let old = (old_entry >> (off * 8)) & mask;
            if w.op == Op::Cmpxchg && rax & mask != old {
                seen = Some((old, 0, false));
                return None;
            }
            let (new, flags) = apply(w.op, w.width, old, src);
            seen = Some((old, flags, true));
            Some((old_entry & !(mask << (off * 8))) | ((new & mask) << (off * 8)))
        })
    });
    let (Ok(()), Some((old, flags, wrote))) = (r, seen) else { return false };
    if !wrote {
        set_sized(&mut regs.rax, w.width, old);
        regs.rflags &= !(1 << 6); // ZF clear: no write
        regs.rip += w.len as u64;
        return true;
    }
    match (w.op, w.src) {
        (Op::Xchg, Src::Reg(r)) => set_sized(gpr(regs, r), w.width, old),
        (Op::Cmpxchg, _) => regs.rflags |= 1 << 6,
        (Op::Mov | Op::Xchg, _) => {}
        _ => regs.rflags = (regs.rflags & !FLAGS_MASK) | flags,
    }
    crate::mm::tlbflush::flush_local();
    regs.rip += w.len as u64;
    true
}

/// Store `value` into a register as an x86 operation of `width` bytes
/// does: 32-bit results zero the upper half, 8/16-bit ones merge.
fn set_sized(reg: &mut u64, width: u8, value: u64) {
    *reg = match width {
        8 => value,
        4 => value & 0xffff_ffff,
        2 => (*reg & !0xffff) | (value & 0xffff),
        _ => (*reg & !0xff) | (value & 0xff),
    };
}
