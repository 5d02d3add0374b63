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
use core::sync::atomic::{AtomicUsize, Ordering};
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::gdt::{self, FIRST_RESERVED_GDT_ENTRY};
use crate::segdesc::check_descriptor;
use crate::arch::x86_64::paging::maddr_to_virt;
use crate::arch::x86_64::uaccess::{range_ok, read_guest};
use crate::domain::Vcpu;
use crate::mm::frame_table;
use crate::mm::page::PageType;

/// Most LDT entries (`MMUEXT_SET_LDT`).
pub const MAX_LDT_ENTRIES: u64 = 8192;

/// Point this CPU's LDT at `v`'s validated LDT (or none).
pub fn install_ldt(v: &Vcpu) {
    let cpu = crate::arch::x86_64::cpu::this_cpu().cpu_id;
    let table = gdt::gdt_of(cpu);
    let slot = usize::from(gdt::LDT_SEL >> 3);
    if v.ldt.is_empty() {
        table[slot] = 0;
        table[slot + 1] = 0;
        // SAFETY: a null LDT selector disables the LDT.
        unsafe { core::arch::asm!("lldt {0:x}", in(reg) 0u16, options(nostack)) };
        return;
    }
    let base = v.ldt.as_ptr() as u64;
    let limit = (v.ldt.len() * 8 - 1) as u64;
    // A present LDT system descriptor (type 2, DPL 0), 16 bytes.
    table[slot] = (limit & 0xffff)
        | ((base & 0xff_ffff) << 16)
        | (0x82 << 40)
        | (((limit >> 16) & 0xf) << 48)
        | (((base >> 24) & 0xff) << 56);
    table[slot + 1] = base >> 32;
    // SAFETY: the descriptor just written describes the vCPU's LDT buffer,
    // which lives as long as the vCPU and holds only checked descriptors.
    unsafe { core::arch::asm!("lldt {0:x}", in(reg) gdt::LDT_SEL, options(nostack)) };
}

/// `MMUEXT_SET_LDT(linear_addr, nr_ents)`: copy and check the guest's LDT.
pub fn set_ldt(v: &mut Vcpu, linear_addr: u64, nr_ents: u64) -> Result<(), Errno> {
    if nr_ents > MAX_LDT_ENTRIES || linear_addr & 0xfff != 0 || !range_ok(linear_addr, nr_ents * 8) {
        return Err(Errno::EINVAL);
    }
    let mut ldt = Vec::with_capacity(nr_ents as usize);
    for i in 0..nr_ents {
        let d: u64 = read_guest(linear_addr + 8 * i).map_err(|_| Errno::EFAULT)?;
        ldt.push(check_descriptor(d).ok_or(Errno::EINVAL)?);
    }
    v.ldt = ldt;
    install_ldt(v);
    Ok(())
}

/// Guest entries that may be non-zero in each CPU's GDT (what the last
/// [`install_gdt`] there copied; all of them before the first). A context
/// switch clears only what the previous vCPU left beyond the next one's
/// entries: clearing all 14 pages (57 KiB) on every switch and every
/// `update_descriptor` cost more than the rest of a switch.
static INSTALLED: [AtomicUsize; crate::arch::x86_64::cpu::MAX_CPUS] =
    [const { AtomicUsize::new(FIRST_RESERVED_GDT_ENTRY as usize) }; crate::arch::x86_64::cpu::MAX_CPUS];

/// Copy `v`'s validated GDT entries into this CPU's GDT, clearing the
/// entries of the vCPU installed before beyond them.
pub fn install_gdt(v: &Vcpu) {
    let cpu = crate::arch::x86_64::cpu::this_cpu().cpu_id;
    let table = gdt::gdt_of(cpu);
    let n = v.gdt.len();
    table[..n].copy_from_slice(&v.gdt);
    let before = INSTALLED[cpu as usize].swap(n, Ordering::Relaxed);
    if before > n {
        table[n..before].fill(0);
    }
}

fn release_frames(frames: &[u64]) {
    frame_table::with(|m| {
        for &f in frames {
            m.put_page_and_type(f);
        }
    });
}

/// `set_gdt(frame_list, entries)`: each frame takes a segment-descriptor
/// type reference (so it cannot be mapped writable while in use).
pub fn set_gdt(v: &mut Vcpu, frame_list: u64, entries: u64) -> HcResult {
    if entries > FIRST_RESERVED_GDT_ENTRY {
        return err(Errno::EINVAL);
    }
    let mut list = Vec::with_capacity(entries.div_ceil(512) as usize);
    for i in 0..entries.div_ceil(512) {
        list.push(read_guest::<u64>(frame_list + 8 * i).map_err(|_| Errno::EFAULT)?);
    }
    set_gdt_frames(v, &list, entries)?;
    Ok(0)
}

/// Give `v` the GDT of `entries` descriptors in machine frames `list`
/// (`set_gdt`, or a vCPU context from the toolstack), installed at once if
/// `v` is running here.
pub fn set_gdt_frames(v: &mut Vcpu, list: &[u64], entries: u64) -> Result<(), Errno> {
    if entries > FIRST_RESERVED_GDT_ENTRY || (list.len() as u64) < entries.div_ceil(512) {
        return Err(Errno::EINVAL);
    }
    let a = v.domain.actor();
    let nr_frames = entries.div_ceil(512);
    let mut frames = Vec::with_capacity(nr_frames as usize);
    let mut descs = Vec::with_capacity(entries as usize);
    let mut result = Ok(());
    for (i, &mfn) in list.iter().take(nr_frames as usize).enumerate() {
        let i = i as u64;
        if frame_table::with(|m| m.get_page_and_type(mfn, PageType::SegDesc, a)).is_err() {
            result = Err(Errno::EINVAL);
            break;
        }
        frames.push(mfn);
        let in_frame = (entries - i * 512).min(512);
        let base = maddr_to_virt(mfn << 12) as *const u64;
        for j in 0..in_frame {
            // SAFETY: a frame the domain owns, read through the direct map.
            let d = unsafe { base.add(j as usize).read_volatile() };
            match check_descriptor(d) {
                Some(c) => descs.push(c),
                None => result = Err(Errno::EINVAL),
            }
        }
        if result.is_err() {
            break;
        }
    }
    if let Err(e) = result {
        release_frames(&frames);
        return Err(e);
    }
    let old = core::mem::replace(&mut v.gdt_frames, frames);
    release_frames(&old);
    v.gdt = descs;
    if crate::sched::is_current(v) {
        install_gdt(v);
    }
    Ok(())
}

/// Drop `v`'s GDT frames' references (its domain is being destroyed).
pub fn release_gdt(v: &mut Vcpu) {
    let old = core::mem::take(&mut v.gdt_frames);
    release_frames(&old);
    v.gdt.clear();
}

/// `update_descriptor(maddr, desc)`: the frame must be usable as a
/// descriptor page or as writable memory (not a page table).
pub fn update_descriptor(v: &mut Vcpu, maddr: u64, desc: u64) -> HcResult {
    let mfn = maddr >> 12;
    if !maddr.is_multiple_of(8) {
        return err(Errno::EINVAL);
    }
    let checked = check_descriptor(desc).ok_or(Errno::EINVAL)?;
    let a = v.domain.actor();
    frame_table::with(|m| {
        let ty = if m.page_type(mfn) == Some(PageType::SegDesc) {
            PageType::SegDesc
        } else {
            PageType::Writable
        };
        m.get_page_and_type(mfn, ty, a).map_err(|_| Errno::EINVAL)?;
        // SAFETY: an aligned slot of a frame the domain owns, typed for it.
        unsafe { (maddr_to_virt(maddr) as *mut u64).write_volatile(checked) };
        m.note_changed(mfn);
        m.put_page_and_type(mfn);
        Ok::<(), Errno>(())
    })?;
    if let Some(k) = v.gdt_frames.iter().position(|&f| f == mfn) {
        let index = k * 512 + ((maddr & 0xfff) / 8) as usize;
        if index < v.gdt.len() {
            v.gdt[index] = checked;
            // Installed entries of the running vCPU: this one changes
            // (Linux rewrites its TLS entries on most process switches).
            if crate::sched::is_current(v) {
                gdt::gdt_of(crate::arch::x86_64::cpu::this_cpu().cpu_id)[index] = checked;
            }
        }
    }
    Ok(0)
}
