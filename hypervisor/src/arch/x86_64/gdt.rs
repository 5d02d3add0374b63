//! Per-CPU global descriptor table and task-state segment, laid out as Xen
//! lays them out for PV guests.
//!
//! The GDT spans 16 pages: pages 0–13 hold the running guest's own
//! descriptors (`set_gdt`), page 14 holds the hypervisor's reserved entries
//! at the selectors the PV ABI fixes (`FLAT_RING3_CS64 = 0xe033`, …), so
//! guests see the same selectors as on Xen. The TSS gives every CPU its
//! ring-0 stack for entries from guest rings and the IST stacks of NMI, #DF
//! and #MC.

use x86_64::instructions::segmentation::{Segment, CS, DS, ES, FS, GS, SS};
use x86_64::instructions::tables::{lgdt, load_tss};
use x86_64::structures::gdt::{Descriptor, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::structures::DescriptorTablePointer;
use x86_64::{PrivilegeLevel, VirtAddr};

use super::cpu::{ist, ist_stack_top, primary_stack_top};
use super::paging::maddr_to_virt;
use crate::mm::{self, PAGE_SHIFT};

/// Pages in each CPU's GDT.
pub const GDT_PAGES: u64 = 16;
/// First page holding hypervisor entries (`FIRST_RESERVED_GDT_PAGE`).
pub const FIRST_RESERVED_GDT_PAGE: u64 = 14;
/// Guest GDT entries available (`FIRST_RESERVED_GDT_ENTRY`).
pub const FIRST_RESERVED_GDT_ENTRY: u64 = FIRST_RESERVED_GDT_PAGE * 512;
/// Hypervisor 64-bit code (`__HYPERVISOR_CS`).
pub const HYPERVISOR_CS: u16 = 0xe008;
/// Hypervisor data (`__HYPERVISOR_DS`).
pub const HYPERVISOR_DS: u16 = 0xe010;
/// Ring-3 compatibility-mode code (`FLAT_RING3_CS32`).
pub const FLAT_RING3_CS32: u16 = 0xe023;
/// Ring-3 data and stack (`FLAT_RING3_DS32`, `FLAT_RING3_SS64`).
pub const FLAT_RING3_DS32: u16 = 0xe02b;
/// Ring-3 64-bit code (`FLAT_RING3_CS64`, the PV guest kernel's CS).
pub const FLAT_RING3_CS64: u16 = 0xe033;
/// Hypervisor compatibility-mode code (`__HYPERVISOR_CS32`).
pub const HYPERVISOR_CS32: u16 = 0xe038;
/// The TSS (`TSS_ENTRY`).
pub const TSS_SEL: u16 = 0xe040;
/// The guest LDT slot (`LDT_ENTRY`).
pub const LDT_SEL: u16 = 0xe050;
/// Per-CPU entry whose limit is the CPU number (`PER_CPU_GDT_ENTRY`).
pub const PER_CPU_SEL: u16 = 0xe060;

/// The reserved entries at 0xe000 (index by `selector / 8 - 7168`).
const RESERVED: [u64; 8] = [
    0,
    0x00af_9b00_0000_ffff, // 0xe008 ring 0 code, 64-bit
    0x00cf_9300_0000_ffff, // 0xe010 ring 0 data
    0,
    0x00cf_fb00_0000_ffff, // 0xe023 ring 3 code, compatibility
    0x00cf_f300_0000_ffff, // 0xe02b ring 3 data
    0x00af_fb00_0000_ffff, // 0xe033 ring 3 code, 64-bit
    0x00cf_9b00_0000_ffff, // 0xe038 ring 0 code, compatibility
];

fn entry_index(sel: u16) -> usize {
    usize::from(sel >> 3)
}

/// Virtual address of a CPU's GDT.
static GDT_VA: [core::sync::atomic::AtomicU64; super::cpu::MAX_CPUS] =
    [const { core::sync::atomic::AtomicU64::new(0) }; super::cpu::MAX_CPUS];

/// The GDT of `cpu` as a slice of descriptors (for installing guest
/// descriptors on context switch).
pub fn gdt_of(cpu: u32) -> &'static mut [u64] {
    let va = GDT_VA[cpu as usize].load(core::sync::atomic::Ordering::Relaxed);
    // SAFETY: set once at bring-up to this CPU's 16 GDT pages; only that
    // CPU modifies its guest part.
    unsafe { core::slice::from_raw_parts_mut(va as *mut u64, (GDT_PAGES * 512) as usize) }
}

/// Build and load the GDT and TSS of CPU `cpu` whose stack block is at
/// `block_va`; reloads every segment register.
pub fn load_for_cpu(cpu: u32, block_va: u64) {
    let mut tss = TaskStateSegment::new();
    tss.privilege_stack_table[0] = VirtAddr::new(primary_stack_top(block_va));
    for n in 1..=ist::COUNT as u8 {
        tss.interrupt_stack_table[usize::from(n - 1)] = VirtAddr::new(ist_stack_top(block_va, n));
    }
    tss.iomap_base = core::mem::size_of::<TaskStateSegment>() as u16;
    let tss: &'static TaskStateSegment = alloc::boxed::Box::leak(alloc::boxed::Box::new(tss));
    let Some(mfn) = mm::alloc_frames(GDT_PAGES, 1) else {
        panic!("no memory for the GDT of CPU{cpu}");
    };
    let va = maddr_to_virt(mfn << PAGE_SHIFT);
    GDT_VA[cpu as usize].store(va, core::sync::atomic::Ordering::Relaxed);
    let gdt = gdt_of(cpu);
    gdt.fill(0);
    let base = FIRST_RESERVED_GDT_ENTRY as usize;
    gdt[base..base + RESERVED.len()].copy_from_slice(&RESERVED);
    match Descriptor::tss_segment(tss) {
        Descriptor::SystemSegment(low, high) => {
            gdt[entry_index(TSS_SEL)] = low;
            gdt[entry_index(TSS_SEL) + 1] = high;
        }
        Descriptor::UserSegment(_) => unreachable!("a TSS descriptor is a system segment"),
    }
    // Data segment, present, DPL 0, limit = CPU number (Xen's per-CPU entry).
    gdt[entry_index(PER_CPU_SEL)] = 0x0000_9100_0000_0000 | u64::from(cpu & 0xffff);
    let ptr = DescriptorTablePointer { limit: (GDT_PAGES * 4096 - 1) as u16, base: VirtAddr::new(va) };
    // SAFETY: the GDT pages are this CPU's for good; the code and data
    // entries match the selectors loaded below; the TSS descriptor is fresh.
    unsafe {
        lgdt(&ptr);
        CS::set_reg(SegmentSelector(HYPERVISOR_CS));
        let ds = SegmentSelector(HYPERVISOR_DS);
        SS::set_reg(ds);
        let null = SegmentSelector::new(0, PrivilegeLevel::Ring0);
        DS::set_reg(null);
        ES::set_reg(null);
        FS::set_reg(null);
        GS::set_reg(null);
        load_tss(SegmentSelector(TSS_SEL));
    }
}
