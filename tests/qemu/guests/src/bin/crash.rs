//! `crash`: a kernel with no trap table that takes a page fault. The
//! hypervisor cannot bounce the fault anywhere, so it crashes the domain
//! with a register dump (for dom0 with `noreboot`: the host halts). The
//! transcript never ends; `tests/qemu/tests/pv_crash.rs` reads the
//! hypervisor's lines instead.
#![no_std]
#![no_main]

use pv_guests::transcript::Transcript;
use pv_guests::StartInfo;

pv_guests::entry!(main);

/// An address nothing maps (the low 2 MiB stay empty in a PV kernel).
const UNMAPPED: u64 = 0x1000;

fn main(_si: &'static StartInfo) {
    let mut t = Transcript::begin("crash");
    t.fact("about to read", format_args!("{UNMAPPED:#x} with no trap table"));
    // SAFETY: deliberately not safe: the read faults and, with no trap
    // table, the hypervisor crashes the domain; nothing runs after it.
    let v = unsafe { (UNMAPPED as *const u64).read_volatile() };
    t.fact("PANIC", format_args!("the read returned {v:#x}: no crash"));
    t.end();
}
