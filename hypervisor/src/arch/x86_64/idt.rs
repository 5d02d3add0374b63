//! The interrupt descriptor table, shared by all CPUs.
//!
//! Every vector points at its stub in `entry.S` (`vector_stubs + 16 * v`).
//! The hypervisor runs with interrupts masked in ring 0 except while idle,
//! and precompiled `core` may use the red zone, so every gate switches to
//! an IST stack: #DF, NMI and #MC each get their own, the other exceptions
//! share one, and external interrupts another.

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
        0..=31 => ist::EXCEPTION,
        _ => ist::IRQ,
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
            type_attr: 0x8e, // present, DPL 0, 64-bit interrupt gate
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
