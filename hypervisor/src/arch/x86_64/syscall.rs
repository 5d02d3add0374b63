//! SYSCALL set-up: guests enter the hypervisor with SYSCALL (hypercalls
//! from the guest kernel; system calls from guest user space, which are
//! bounced to the guest kernel).
//!
//! SYSCALL does not switch stacks and the guest owns the GS base, so, as
//! Xen does, each CPU gets its own small stub (64 bytes, written into the
//! `syscall_stubs` text page through its direct-map alias) that parks RAX
//! and the guest RSP at the top of that CPU's primary stack and jumps to the
//! common `syscall_enter`.

use x86_64::registers::model_specific::{Efer, EferFlags, Msr};

use super::cpu::primary_stack_top;
use super::gdt::{FLAT_RING3_CS32, HYPERVISOR_CS};
use super::paging::{maddr_to_virt, virt_to_maddr};

const MSR_STAR: u32 = 0xc000_0081;
const MSR_LSTAR: u32 = 0xc000_0082;
const MSR_CSTAR: u32 = 0xc000_0083;
const MSR_SYSCALL_MASK: u32 = 0xc000_0084;
const MSR_SYSENTER_CS: u32 = 0x174;

/// RFLAGS bits SYSCALL clears: TF, IF, DF, NT, AC.
const SYSCALL_MASK: u64 = (1 << 8) | (1 << 9) | (1 << 10) | (1 << 14) | (1 << 18);
const STUB_SIZE: u64 = 64;

unsafe extern "C" {
    static syscall_stubs: u8;
    static syscall_stubs_end: u8;
    static syscall_enter: u8;
    static syscall32_enter: u8;
}

/// Encode a stub: park RAX at `top - 8`, switch RSP, push the guest RSP,
/// jump to `target`.
fn stub_bytes(top: u64, target: u64) -> [u8; 36] {
    let mut b = [0u8; 36];
    let slot = top - 8;
    b[0..2].copy_from_slice(&[0x48, 0xa3]); // movabs %rax, slot
    b[2..10].copy_from_slice(&slot.to_le_bytes());
    b[10..13].copy_from_slice(&[0x48, 0x89, 0xe0]); // mov %rsp, %rax
    b[13..15].copy_from_slice(&[0x48, 0xbc]); // movabs $slot, %rsp
    b[15..23].copy_from_slice(&slot.to_le_bytes());
    b[23] = 0x50; // push %rax
    b[24..26].copy_from_slice(&[0x48, 0xb8]); // movabs $target, %rax
    b[26..34].copy_from_slice(&target.to_le_bytes());
    b[34..36].copy_from_slice(&[0xff, 0xe0]); // jmp *%rax
    b
}

fn write_stub(va: u64, bytes: &[u8]) {
    let alias = maddr_to_virt(virt_to_maddr(va));
    // SAFETY: `va` lies in the `syscall_stubs` pages of the image; their
    // direct-map alias is writable and no CPU executes this CPU's stub yet.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), alias as *mut u8, bytes.len()) };
}

/// Write this CPU's stubs and program the SYSCALL MSRs.
pub fn init_this_cpu(cpu: u32, block_va: u64) {
    let base = &raw const syscall_stubs as u64;
    let capacity = (&raw const syscall_stubs_end as u64 - base) / (2 * STUB_SIZE);
    assert!(u64::from(cpu) < capacity, "no SYSCALL stub slot for CPU{cpu}");
    let lstar = base + u64::from(cpu) * 2 * STUB_SIZE;
    let cstar = lstar + STUB_SIZE;
    let top = primary_stack_top(block_va);
    write_stub(lstar, &stub_bytes(top, &raw const syscall_enter as u64));
    write_stub(cstar, &stub_bytes(top, &raw const syscall32_enter as u64));
    let star = (u64::from(FLAT_RING3_CS32) << 48) | (u64::from(HYPERVISOR_CS) << 32);
    // SAFETY: architectural SYSCALL MSRs pointing at our stubs and
    // selectors present in this CPU's GDT.
    unsafe {
        Msr::new(MSR_STAR).write(star);
        Msr::new(MSR_LSTAR).write(lstar);
        Msr::new(MSR_CSTAR).write(cstar);
        Msr::new(MSR_SYSCALL_MASK).write(SYSCALL_MASK);
        Msr::new(MSR_SYSENTER_CS).write(0);
        Efer::update(|f| f.insert(EferFlags::SYSTEM_CALL_EXTENSIONS));
    }
}
