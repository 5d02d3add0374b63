//! Segment descriptors: `set_gdt` and `update_descriptor`.
//!
//! Descriptors are checked as Xen checks them for 64-bit PV guests: code
//! and data segments are accepted with their DPL raised to 3 (the guest
//! kernel runs in ring 3), not-present and type-0 entries are harmless, call
//! gates must target a guest or flat ring-3 code selector and get DPL 0
//! (so their use traps), anything else is refused. The validated entries
//! are kept per vCPU and installed into the CPU's GDT below the
//! hypervisor's reserved page while the vCPU runs; until page types exist,
//! later direct writes to a GDT frame have no effect (`update_descriptor`
//! is the way to change an entry).

use alloc::vec::Vec;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::gdt::{self, FIRST_RESERVED_GDT_ENTRY};
use crate::segdesc::check_descriptor;
use crate::arch::x86_64::paging::maddr_to_virt;
use crate::arch::x86_64::uaccess::read_guest;
use crate::domain::Vcpu;

/// Copy `v`'s validated GDT entries into this CPU's GDT.
pub fn install_gdt(v: &Vcpu) {
    let cpu = crate::arch::x86_64::cpu::this_cpu().cpu_id;
    let table = gdt::gdt_of(cpu);
    let n = v.gdt.len();
    table[..n].copy_from_slice(&v.gdt);
    table[n..FIRST_RESERVED_GDT_ENTRY as usize].fill(0);
}

/// `set_gdt(frame_list, entries)`.
pub fn set_gdt(v: &mut Vcpu, frame_list: u64, entries: u64) -> HcResult {
    if entries > FIRST_RESERVED_GDT_ENTRY {
        return err(Errno::EINVAL);
    }
    let nr_frames = entries.div_ceil(512);
    let mut frames = Vec::with_capacity(nr_frames as usize);
    let mut descs = Vec::with_capacity(entries as usize);
    for i in 0..nr_frames {
        let mfn: u64 = read_guest(frame_list + 8 * i).map_err(|_| Errno::EFAULT)?;
        if v.domain.owned_pfn(mfn).is_none() || v.domain.is_page_table(mfn) {
            return err(Errno::EINVAL);
        }
        let in_frame = (entries - i * 512).min(512);
        let base = maddr_to_virt(mfn << 12) as *const u64;
        for j in 0..in_frame {
            // SAFETY: a frame the domain owns, read through the direct map.
            let d = unsafe { base.add(j as usize).read_volatile() };
            descs.push(check_descriptor(d).ok_or(Errno::EINVAL)?);
        }
        frames.push(mfn);
    }
    v.gdt = descs;
    v.gdt_frames = frames;
    install_gdt(v);
    Ok(0)
}

/// `update_descriptor(maddr, desc)`.
pub fn update_descriptor(v: &mut Vcpu, maddr: u64, desc: u64) -> HcResult {
    let mfn = maddr >> 12;
    if maddr % 8 != 0 || v.domain.owned_pfn(mfn).is_none() || v.domain.is_page_table(mfn) {
        return err(Errno::EINVAL);
    }
    let checked = check_descriptor(desc).ok_or(Errno::EINVAL)?;
    // SAFETY: an aligned slot of a frame the domain owns.
    unsafe { (maddr_to_virt(maddr) as *mut u64).write_volatile(checked) };
    if let Some(k) = v.gdt_frames.iter().position(|&f| f == mfn) {
        let index = k * 512 + ((maddr & 0xfff) / 8) as usize;
        if index < v.gdt.len() {
            v.gdt[index] = checked;
            install_gdt(v);
        }
    }
    Ok(0)
}
