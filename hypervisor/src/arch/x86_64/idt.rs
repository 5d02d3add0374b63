//! The interrupt descriptor table, shared by all CPUs.
//!
//! Every vector points at its stub in `entry.S` (`vector_stubs + 16 * v`).
//! NMI, #DF and #MC switch to IST stacks of their own (they can strike
//! anywhere). Everything else arrives either from a guest (ring 3: the
//! CPU switches to the primary stack through TSS.RSP0, so the guest's frame
//! is always at the top of that stack) or from the hypervisor itself, which
//! runs with interrupts masked except in the idle loop and takes exceptions
//! only in its own guest-access routines (with fixups) or through bugs.
//! Our crates never use the red zone, and precompiled `core` code is never
//! interrupted (interrupts masked, no faults expected in it), so no other
//! gate needs an IST stack. `int3`, `into` and `int $0x80` are callable from
//! ring 3 (the last one is delivered straight to the guest's handler).

use spin::Once;
use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;
use x86_64::VirtAddr;

use super::cpu::ist;
use super::gdt::HYPERVISOR_CS;

/// One 16-byte interrupt gate.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

static IDT: Once<Idt> = Once::new();

unsafe extern "C" {
    static vector_stubs: u8;
}

fn ist_for(vector: usize) -> u8 {
    match vector {
        2 => ist::NMI,
        8 => ist::DF,
        18 => ist::MCE,
        _ => 0,
    }
}

fn build() -> Idt {
    let base = &raw const vector_stubs as u64;
    let mut idt = Idt([Gate::default(); 256]);
    for (v, gate) in idt.0.iter_mut().enumerate() {
        let handler = base + 16 * v as u64;
        *gate = Gate {
            offset_low: handler as u16,
            selector: HYPERVISOR_CS,
            ist: ist_for(v),
            // Present 64-bit interrupt gate; DPL 3 for int3/into.
            type_attr: if v == 3 || v == 4 || v == 0x80 { 0xee } else { 0x8e },
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        };
    }
    idt
}

/// Load the IDT on this CPU (building it on first use).
pub fn load() {
    let idt = IDT.call_once(build);
    let ptr = DescriptorTablePointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: VirtAddr::new(idt as *const Idt as u64),
    };
    // SAFETY: the IDT is a 'static with valid gates into our entry stubs.
    unsafe { lidt(&ptr) };
}
