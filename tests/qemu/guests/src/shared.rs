//! The shared_info page, mapped over a page of the kernel's bss with
//! `update_va_mapping` (the guest-side half of `start_info.shared_info`).

use dom0_abi::mmu::UVMF_INVLPG;
use dom0_abi::xen::SharedInfo;

use crate::hypercall::{self, XenError};
use crate::StartInfo;

/// Page-table entry flags of the mapping: present, writable, accessed, dirty.
const PTE_FLAGS: u64 = 0x63;

/// A page of bss whose mapping is replaced by the shared_info frame.
#[repr(C, align(4096))]
struct PageSlot([u8; 4096]);

/// Backing page of the mapping (never accessed as bss once remapped).
static mut SLOT: PageSlot = PageSlot([0; 4096]);

/// Map shared_info (once) and return its address.
pub fn map(si: &StartInfo) -> Result<*const SharedInfo, XenError> {
    let va = core::ptr::addr_of!(SLOT) as u64;
    // SAFETY: SLOT is only used here, as the place of this mapping.
    unsafe { hypercall::update_va_mapping(va, si.shared_info | PTE_FLAGS, UVMF_INVLPG.into()) }?;
    crate::traps::set_shared_info(va);
    Ok(va as *const SharedInfo)
}
