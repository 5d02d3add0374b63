//! `crash`: a kernel with no trap table that takes a page fault. The
//! hypervisor cannot bounce the fault anywhere, so it crashes the domain
//! with a register dump (for dom0 with `noreboot`: the host halts). The
//! transcript never ends; `tests/qemu/tests/pv_crash.rs` reads the
//! hypervisor's lines instead.
//!
//! With `bad-iret` on its command line it instead returns through
//! `HYPERVISOR_iret` to a non-canonical address, which must crash the
//! guest too (the hypervisor's own return instruction would fault on it).
#![no_std]
#![no_main]

use pv_guests::transcript::Transcript;
use pv_guests::StartInfo;

pv_guests::entry!(main);

/// An address nothing maps (the low 2 MiB stay empty in a PV kernel).
const UNMAPPED: u64 = 0x1000;

/// A non-canonical address.
const NON_CANONICAL: u64 = 0x8000_0000_0000_0000;

fn main(si: &'static StartInfo) {
    let mut t = Transcript::begin("crash");
    let cmdline = pv_guests::fmt::until_nul(&si.cmd_line);
    if cmdline.windows(8).any(|w| w == b"bad-iret") {
        t.fact("about to iret", format_args!("to {NON_CANONICAL:#x}"));
        let iret = pv_guests::hypercall::page_address() + 23 * 32;
        // SAFETY: deliberately not safe: the iret context names a
        // non-canonical RIP; the hypervisor crashes the domain.
        unsafe {
            core::arch::asm!(
                "push 0xe02b",        // ss
                "push rsp",           // rsp
                "pushfq",             // rflags
                "push 0xe030",        // cs: kernel context (RPL 0)
                "push {rip}",         // rip
                "push 0",             // flags
                "jmp {iret}",
                rip = in(reg) NON_CANONICAL,
                iret = in(reg) iret,
            );
        }
        t.fact("PANIC", "the iret returned");
        t.end();
        return;
    }
    t.fact("about to read", format_args!("{UNMAPPED:#x} with no trap table"));
    // SAFETY: deliberately not safe: the read faults and, with no trap
    // table, the hypervisor crashes the domain; nothing runs after it.
    let v = unsafe { (UNMAPPED as *const u64).read_volatile() };
    t.fact("PANIC", format_args!("the read returned {v:#x}: no crash"));
    t.end();
}
