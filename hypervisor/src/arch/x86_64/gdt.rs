//! Per-CPU global descriptor table and task-state segment.
//!
//! The TSS gives every CPU its ring-0 stack for entries from guest rings and
//! its IST stacks (see [`super::cpu::ist`]).

use alloc::boxed::Box;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::{lgdt, load_tss};
use x86_64::structures::gdt::{Descriptor, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::structures::DescriptorTablePointer;
use x86_64::{PrivilegeLevel, VirtAddr};

use super::cpu::{ist, ist_stack_top, primary_stack_top};

/// Hypervisor 64-bit code selector.
pub const HYPERVISOR_CS: u16 = 0x08;
/// Hypervisor data selector.
pub const HYPERVISOR_DS: u16 = 0x10;
/// TSS selector.
pub const TSS_SEL: u16 = 0x18;

const ENTRIES: usize = 5;

/// One CPU's descriptor tables.
#[repr(C, align(16))]
pub struct CpuTables {
    gdt: [u64; ENTRIES],
    tss: TaskStateSegment,
}

/// Build and load the GDT and TSS of the CPU whose stack block is at
/// `block_va`; reloads every segment register.
pub fn load_for_cpu(block_va: u64) {
    let mut tss = TaskStateSegment::new();
    tss.privilege_stack_table[0] = VirtAddr::new(primary_stack_top(block_va));
    for n in 1..=ist::COUNT as u8 {
        tss.interrupt_stack_table[usize::from(n - 1)] = VirtAddr::new(ist_stack_top(block_va, n));
    }
    let tables: &'static mut CpuTables = Box::leak(Box::new(CpuTables { gdt: [0; ENTRIES], tss }));
    tables.gdt[1] = 0x00af_9a00_0000_ffff; // 64-bit code, DPL 0
    tables.gdt[2] = 0x00cf_9200_0000_ffff; // data, DPL 0
    // SAFETY: `tables` is leaked, so the TSS lives for the rest of the run.
    let tss_ref: &'static TaskStateSegment = unsafe { &*(&raw const tables.tss) };
    match Descriptor::tss_segment(tss_ref) {
        Descriptor::SystemSegment(low, high) => {
            tables.gdt[3] = low;
            tables.gdt[4] = high;
        }
        Descriptor::UserSegment(_) => unreachable!("a TSS descriptor is a system segment"),
    }
    let ptr = DescriptorTablePointer {
        limit: (core::mem::size_of::<[u64; ENTRIES]>() - 1) as u16,
        base: VirtAddr::new(tables.gdt.as_ptr() as u64),
    };
    // SAFETY: the GDT is leaked ('static) and its code/data entries match
    // the selectors loaded below; the TSS descriptor is fresh (not busy).
    unsafe {
        lgdt(&ptr);
        CS::set_reg(SegmentSelector::new(HYPERVISOR_CS / 8, PrivilegeLevel::Ring0));
        let ds = SegmentSelector::new(HYPERVISOR_DS / 8, PrivilegeLevel::Ring0);
        DS::set_reg(ds);
        ES::set_reg(ds);
        SS::set_reg(ds);
        load_tss(SegmentSelector::new(TSS_SEL / 8, PrivilegeLevel::Ring0));
    }
}
