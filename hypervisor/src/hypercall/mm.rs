//! `update_va_mapping`: replace one L1 entry of the guest's current
//! address space, validated so that the guest can map only what it may.
//!
//! A new entry may map a frame the domain owns (read-only when the frame is
//! one of its page tables) or its shared-info page, with no reserved bits.
//! The page tables walked are the domain's own, checked at every level.
//! Until PV memory management adds page types, the domain's page tables are
//! exactly the builder's, since no hypercall yet creates or pins others.

use dom0_abi::mmu::{UVMF_FLUSHTYPE_MASK, UVMF_INVLPG, UVMF_TLB_FLUSH};
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::paging::{self, maddr_to_virt, Pte, ADDR_MASK};
use crate::arch::x86_64::uaccess::range_ok;
use crate::domain::Vcpu;

/// Bits that must be zero in a guest L1 entry: 52–62 (NX, bit 63, is fine).
const L1_RESERVED: u64 = 0x7ff0_0000_0000_0000;

fn entry_ptr(mfn: u64, index: usize) -> *mut u64 {
    (maddr_to_virt(mfn << 12) + 8 * index as u64) as *mut u64
}

/// Walk to the L1 table mapping `va`: its MFN, if every level is present,
/// not a superpage and one of the domain's page tables.
fn l1_for(v: &Vcpu, va: u64) -> Option<u64> {
    let d = v.domain;
    let mut table = if v.kernel_mode { v.guest_table } else { v.guest_table_user };
    for level in (2..=4).rev() {
        if !d.is_page_table(table) {
            return None;
        }
        // SAFETY: `table` is a frame of the domain's page tables, read
        // through the direct map.
        let e = unsafe { entry_ptr(table, paging::index(va, level)).read_volatile() };
        if e & Pte::P.bits() == 0 || e & Pte::PSE.bits() != 0 {
            return None;
        }
        table = (e & ADDR_MASK) >> 12;
    }
    d.is_page_table(table).then_some(table)
}

/// Whether `val` is an L1 entry the domain may install.
fn l1e_ok(v: &Vcpu, val: u64) -> bool {
    if val & Pte::P.bits() == 0 {
        return true;
    }
    if val & L1_RESERVED != 0 {
        return false;
    }
    let d = v.domain;
    let mfn = (val & ADDR_MASK) >> 12;
    if mfn == d.shared_info_mfn {
        return true;
    }
    d.owned_pfn(mfn).is_some() && (!d.is_page_table(mfn) || val & Pte::RW.bits() == 0)
}

/// `update_va_mapping(va, val, flags)`.
pub fn update_va_mapping(v: &mut Vcpu, va: u64, val: u64, flags: u64) -> HcResult {
    if !range_ok(va, 1) || ((va as i64) << 16 >> 16) as u64 != va {
        return err(Errno::EINVAL);
    }
    let Some(l1) = l1_for(v, va) else { return err(Errno::EINVAL) };
    if !l1e_ok(v, val) {
        return err(Errno::EINVAL);
    }
    // The guest kernel runs in ring 3: like Xen, make present entries
    // user-accessible.
    let val = if val & Pte::P.bits() != 0 { val | Pte::US.bits() } else { val };
    // SAFETY: `l1` is one of the domain's L1 tables; the new entry was
    // validated above.
    unsafe { entry_ptr(l1, paging::index(va, 1)).write_volatile(val) };
    match flags & UVMF_FLUSHTYPE_MASK {
        UVMF_INVLPG => x86_64::instructions::tlb::flush(x86_64::VirtAddr::new_truncate(va)),
        UVMF_TLB_FLUSH => x86_64::instructions::tlb::flush_all(),
        _ => {}
    }
    Ok(0)
}
