//! `hostile`: hypercalls with hypervisor addresses, unmapped, misaligned
//! and non-canonical pointers, huge counts and bad commands. The guest gets
//! errors (printed one a line), the hypervisor keeps running, and the
//! kernel reaches `TRANSCRIPT END`.
//!
//! As a domU (started by `xm create` with `neighbour=...` on its command
//! line, see [`pv_guests::neighbour`]) it prints to its console ring and
//! also attacks dom0 and the healthy domU beside it: their event channels,
//! grants, the domain and memory operations meant for the toolstack.
//!
//! [`fuzz_findings`] keeps, as regression cases, the answers differential
//! fuzzing (`cargo xtask fuzz --diff`) found ours giving differently from
//! Xen 4.17.
#![no_std]
#![no_main]

use dom0_abi::callback::{CallbackRegister, CALLBACKOP_register, CALLBACKOP_unregister, CALLBACKTYPE_event};
use dom0_abi::console_io::{CONSOLEIO_read, CONSOLEIO_write};
use dom0_abi::hypercall::*;
use dom0_abi::mmu::UVMF_INVLPG;
use dom0_abi::physdev::PHYSDEVOP_set_iopl;
use dom0_abi::sched::*;
use dom0_abi::xen::MulticallEntry;
use dom0_abi::xen_version::*;
use pv_guests::fmt::yes_no;
use pv_guests::hypercall::{raw, raw_syscall};
use pv_guests::key;
use pv_guests::neighbour::Neighbour;
use pv_guests::report::show_raw;
use pv_guests::start::VIRT_BASE;
use pv_guests::transcript::Transcript;
use pv_guests::{traps, StartInfo};

pv_guests::entry!(main);

/// The bad pointers every pointer-taking hypercall is given.
const BAD_POINTERS: &[(&str, u64)] = &[
    ("directmap 0xffff830000000000", 0xffff_8300_0000_0000),
    ("hypervisor image 0xffff82d040200000", 0xffff_82d0_4020_0000),
    ("hypervisor hole start 0xffff800000000000", 0xffff_8000_0000_0000),
    ("unmapped 0x1000", 0x1000),
    ("null", 0),
    ("non-canonical 0x0000800000000000", 0x0000_8000_0000_0000),
    ("non-canonical 0x8000000000000000", 0x8000_0000_0000_0000),
    ("last byte 0xffffffffffffffff", u64::MAX),
];

/// Hypercall `nr` with up to three arguments.
///
/// # Safety
/// Only bad pointers, or pointers to live objects of the expected type.
unsafe fn hc(nr: u64, a1: u64, a2: u64, a3: u64) -> i64 {
    // SAFETY: forwarded to the caller.
    unsafe { raw(nr, a1, a2, a3, 0, 0) }
}

fn addr<T>(x: &T) -> u64 {
    x as *const T as u64
}

/// Two pages: the second is unmapped at start, so buffers placed at the end
/// of the first run into a hole.
#[repr(C, align(4096))]
struct Guarded {
    page: [u8; 4096],
    guard: [u8; 4096],
}
static mut GUARDED: Guarded = Guarded { page: [0; 4096], guard: [0; 4096] };

fn guard_va() -> u64 {
    core::ptr::addr_of!(GUARDED) as u64 + 4096
}

fn main(si: &'static StartInfo) {
    pv_guests::console::init(si);
    let mut t = Transcript::begin("hostile");
    t.fact("set_trap_table", pv_guests::report::show(traps::install()));
    // SAFETY: nothing uses the guard page; it is only ever read by the
    // hypervisor on our behalf (and faults).
    let r = unsafe { hc(HYPERVISOR_update_va_mapping, guard_va(), 0, UVMF_INVLPG) };
    t.fact("update_va_mapping(unmap guard page)", show_raw(r));
    let guarded = r == 0;
    console(&mut t, guarded);
    version(&mut t);
    trap_table(&mut t, guarded);
    multicall(&mut t, guarded);
    sched(&mut t);
    misc(&mut t);
    update_va_mapping(&mut t, si);
    numbers(&mut t);
    fuzz_findings(&mut t);
    xen_crashes(&mut t, si);
    if let Some(n) = Neighbour::of(si) {
        neighbour(&mut t, si, n);
    }
    last_resort(&mut t, si);
    t.fact("traps taken", traps::count());
    t.end();
}

fn console(t: &mut Transcript, guarded: bool) {
    for &(name, p) in BAD_POINTERS {
        // SAFETY: the pointer is bad; the hypervisor must refuse it.
        let r = unsafe { hc(HYPERVISOR_console_io, CONSOLEIO_write.into(), 16, p) };
        t.fact(&Key::of("console_io(write 16) from ", name), show_raw(r));
    }
    let msg = b"xhostile: misaligned console line\n";
    // SAFETY: a live buffer, one byte in.
    let r = unsafe { hc(HYPERVISOR_console_io, CONSOLEIO_write.into(), msg.len() as u64 - 1, addr(msg) + 1) };
    t.fact("console_io(write) misaligned buffer", show_raw(r));
    if guarded {
        let small = guard_va() - 16;
        // SAFETY: 16 bytes of our page, then the hole.
        unsafe { core::ptr::copy_nonoverlapping(b"hostile: small!\n".as_ptr(), small as *mut u8, 16) };
        // SAFETY: the hypervisor must stop at the hole.
        let r = unsafe { hc(HYPERVISOR_console_io, CONSOLEIO_write.into(), 0x7fff_ffff, small) };
        t.fact("console_io(write 0x7fffffff) from a 16-byte buffer before a hole", show_raw(r));
        // SAFETY: as above.
        let r = unsafe { hc(HYPERVISOR_console_io, CONSOLEIO_write.into(), 0xffff_ffff, small) };
        t.fact("console_io(write 0xffffffff) from a 16-byte buffer before a hole", show_raw(r));
    } else {
        t.fact("console_io huge counts", "skipped: no guard page");
    }
    for &(name, p) in &BAD_POINTERS[..2] {
        // SAFETY: no input is pending, and the pointer must be refused.
        let r = unsafe { hc(HYPERVISOR_console_io, CONSOLEIO_read.into(), 16, p) };
        t.fact(&Key::of("console_io(read 16) into ", name), show_raw(r));
    }
    // SAFETY: no pointer is used by an unknown command.
    t.fact("console_io(command 0xffffffff)", show_raw(unsafe { hc(HYPERVISOR_console_io, 0xffff_ffff, 16, 0) }));
}

fn version(t: &mut Transcript) {
    for &(name, p) in BAD_POINTERS {
        // SAFETY: the pointer must be refused.
        let r = unsafe { hc(HYPERVISOR_xen_version, XENVER_extraversion.into(), p, 0) };
        t.fact(&Key::of("xen_version(extraversion) into ", name), show_raw(r));
    }
    for &(name, p) in &BAD_POINTERS[..2] {
        // SAFETY: the pointer must be refused.
        let r = unsafe { hc(HYPERVISOR_xen_version, XENVER_capabilities.into(), p, 0) };
        t.fact(&Key::of("xen_version(capabilities) into ", name), show_raw(r));
        // SAFETY: the pointer must be refused.
        let r = unsafe { hc(HYPERVISOR_xen_version, XENVER_get_features.into(), p, 0) };
        t.fact(&Key::of("xen_version(get_features) into ", name), show_raw(r));
    }
    let mut buf = [0u32; 4];
    // SAFETY: a live buffer, one byte in (xen_feature_info fits).
    let r = unsafe { hc(HYPERVISOR_xen_version, XENVER_get_features.into(), addr(&mut buf) + 1, 0) };
    t.fact("xen_version(get_features) misaligned", show_raw(r));
}

fn trap_table(t: &mut Transcript, guarded: bool) {
    for &(name, p) in &BAD_POINTERS[..4] {
        // SAFETY: the pointer must be refused.
        let r = unsafe { traps::set_trap_table_raw(p) };
        t.fact(&Key::of("set_trap_table from ", name), pv_guests::report::show(r));
    }
    if guarded {
        // An unterminated table of valid entries running into the hole.
        let table = traps::standard_table();
        let n = 4;
        let size = core::mem::size_of::<dom0_abi::arch_x86::TrapInfo>();
        let start = guard_va() - (n * size) as u64;
        // SAFETY: n entries fit in our page before the hole.
        unsafe { core::ptr::copy_nonoverlapping(table.as_ptr(), start as *mut dom0_abi::arch_x86::TrapInfo, n) };
        // SAFETY: the hypervisor must stop at the hole.
        let r = unsafe { traps::set_trap_table_raw(start) };
        t.fact("set_trap_table unterminated before a hole", pv_guests::report::show(r));
    }
    t.fact("set_trap_table(standard) again", pv_guests::report::show(traps::install()));
    let n = traps::count();
    // SAFETY: int3 returns through the handler.
    unsafe { core::arch::asm!("int3") };
    t.fact("int3 still handled", yes_no(traps::count() == n + 1));
}

/// A `multicall_entry` asking for the Xen version.
const VERSION_CALL: MulticallEntry = MulticallEntry { op: HYPERVISOR_xen_version, result: 0xdead, args: [0; 6] };

fn multicall(t: &mut Transcript, guarded: bool) {
    for &(name, p) in &BAD_POINTERS[..5] {
        // SAFETY: the pointer must be refused.
        let r = unsafe { hc(HYPERVISOR_multicall, p, 1, 0) };
        t.fact(&Key::of("multicall(1) from ", name), show_raw(r));
    }
    // SAFETY: the list pointer must be refused before anything runs.
    let r = unsafe { hc(HYPERVISOR_multicall, 0x1000, 1 << 20, 0) };
    t.fact("multicall(1<<20) from unmapped 0x1000", show_raw(r));
    if guarded {
        let size = core::mem::size_of::<MulticallEntry>() as u64;
        let start = guard_va() - 2 * size;
        // SAFETY: two entries fit before the hole.
        unsafe {
            (start as *mut MulticallEntry).write(VERSION_CALL);
            (start as *mut MulticallEntry).add(1).write(VERSION_CALL);
        }
        // SAFETY: the hypervisor must stop at the hole.
        let r = unsafe { hc(HYPERVISOR_multicall, start, 1 << 20, 0) };
        t.fact("multicall(1<<20) with 2 entries before a hole", show_raw(r));
        // SAFETY: the entries are ours.
        let results = unsafe { [(*(start as *const MulticallEntry)).result, (*(start as *const MulticallEntry).add(1)).result] };
        let ver = |v: u64| if v == 0xdead { "untouched" } else if v >> 16 == 4 { "a version" } else { "other" };
        t.fact("multicall before a hole: entry 0", ver(results[0]));
        t.fact("multicall before a hole: entry 1", ver(results[1]));
    }
    let mut raw_list = [0u8; 3 * 64 + 8];
    let list = addr(&mut raw_list) + 4;
    // SAFETY: three entries at a misaligned address inside raw_list.
    unsafe {
        for i in 0..3 {
            core::ptr::write_unaligned((list as *mut MulticallEntry).add(i), VERSION_CALL);
        }
    }
    // SAFETY: as above.
    let r = unsafe { hc(HYPERVISOR_multicall, list, 3, 0) };
    t.fact("multicall(3) misaligned list", show_raw(r));
    // SAFETY: reading back our own entries.
    let e = unsafe { core::ptr::read_unaligned((list as *const MulticallEntry).add(2)) };
    t.fact("multicall misaligned entry 2 is a version", yes_no(e.result >> 16 == 4));
    let bad_args = [MulticallEntry { op: HYPERVISOR_xen_version, result: 0, args: [XENVER_extraversion.into(), 0xffff_8300_0000_0000, 0, 0, 0, 0] }];
    // SAFETY: the entry's pointer argument must be refused.
    let r = unsafe { hc(HYPERVISOR_multicall, addr(&bad_args), 1, 0) };
    t.fact("multicall(xen_version into the directmap)", show_raw(r));
    t.fact("multicall entry result", show_raw(bad_args[0].result as i64));
    // SAFETY: an unknown hypercall in a list changes nothing.
    let unknown = [MulticallEntry { op: u64::MAX, result: 0, args: [0; 6] }];
    let r = unsafe { hc(HYPERVISOR_multicall, addr(&unknown), 1, 0) };
    t.fact("multicall(op u64::MAX)", show_raw(r));
    t.fact("multicall(op u64::MAX) entry result", show_raw(unknown[0].result as i64));
}

fn sched(t: &mut Transcript) {
    for &(name, p) in &BAD_POINTERS[..5] {
        // SAFETY: the pointer must be refused (else the domain shuts down).
        let r = unsafe { hc(HYPERVISOR_sched_op, SCHEDOP_shutdown.into(), p, 0) };
        t.fact(&Key::of("sched_op(shutdown) from ", name), show_raw(r));
    }
    for &(name, p) in &BAD_POINTERS[..2] {
        // SAFETY: the pointer must be refused.
        let r = unsafe { hc(HYPERVISOR_sched_op, SCHEDOP_shutdown_code.into(), p, 0) };
        t.fact(&Key::of("sched_op(shutdown_code) from ", name), show_raw(r));
        // SAFETY: the pointer must be refused.
        let r = unsafe { hc(HYPERVISOR_sched_op, SCHEDOP_remote_shutdown.into(), p, 0) };
        t.fact(&Key::of("sched_op(remote_shutdown) from ", name), show_raw(r));
    }
    let remote = SchedRemoteShutdown { domain_id: dom0_abi::types::DomId(0x7fff), reason: SHUTDOWN_crash };
    // SAFETY: a live struct; no such domain.
    let r = unsafe { hc(HYPERVISOR_sched_op, SCHEDOP_remote_shutdown.into(), addr(&remote), 0) };
    t.fact("sched_op(remote_shutdown, domain 0x7fff)", show_raw(r));
    for cmd in [0xffff_ffffu64, 0x8000_0000] {
        // SAFETY: unknown commands take nothing.
        let r = unsafe { hc(HYPERVISOR_sched_op, cmd, 0, 0) };
        t.fact(if cmd == 0x8000_0000 { "sched_op(0x80000000)" } else { "sched_op(0xffffffff)" }, show_raw(r));
    }
}

fn misc(t: &mut Transcript) {
    for &(name, p) in &BAD_POINTERS[..3] {
        // SAFETY: the pointer must be refused.
        let r = unsafe { hc(HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl.into(), p, 0) };
        t.fact(&Key::of("physdev_op(set_iopl) from ", name), show_raw(r));
        // SAFETY: the pointer must be refused.
        let r = unsafe { hc(HYPERVISOR_callback_op, CALLBACKOP_register.into(), p, 0) };
        t.fact(&Key::of("callback_op(register) from ", name), show_raw(r));
        // SAFETY: the pointer must be refused.
        let r = unsafe { hc(HYPERVISOR_callback_op, CALLBACKOP_unregister.into(), p, 0) };
        t.fact(&Key::of("callback_op(unregister) from ", name), show_raw(r));
    }
    // SAFETY: unknown commands take nothing.
    t.fact("physdev_op(0xffffffff)", show_raw(unsafe { hc(HYPERVISOR_physdev_op, 0xffff_ffff, 0, 0) }));
    // SAFETY: as above.
    t.fact("vm_assist(0xffffffff, 0)", show_raw(unsafe { hc(HYPERVISOR_vm_assist, 0xffff_ffff, 0, 0) }));
    // SAFETY: as above.
    t.fact("vm_assist(enable, 0xffffffff)", show_raw(unsafe { hc(HYPERVISOR_vm_assist, 0, 0xffff_ffff, 0) }));
    // SAFETY: as above.
    t.fact("callback_op(0xffffffff)", show_raw(unsafe { hc(HYPERVISOR_callback_op, 0xffff_ffff, 0, 0) }));
    let cb = CallbackRegister { r#type: CALLBACKTYPE_event, flags: 0, address: 0xffff_8300_0000_0000 };
    // SAFETY: a live struct naming a hypervisor address as the callback.
    t.fact("callback_op(register event at the directmap)", show_raw(unsafe { hc(HYPERVISOR_callback_op, CALLBACKOP_register.into(), addr(&cb), 0) }));
    // SAFETY: takes no pointer; the addresses are the hypervisor's.
    t.fact("set_callbacks(directmap addresses)", show_raw(unsafe { hc(HYPERVISOR_set_callbacks, 0xffff_8300_0000_0000, 0xffff_8300_0000_0000, 0xffff_8300_0000_0000) }));
    let ud2 = traps::stub_address(6);
    // SAFETY: restore sane callbacks.
    t.fact("set_callbacks(restore)", show_raw(unsafe { hc(HYPERVISOR_set_callbacks, ud2, ud2, ud2) }));
    // SAFETY: the stack is only recorded.
    t.fact("stack_switch(ss 0, directmap rsp)", show_raw(unsafe { hc(HYPERVISOR_stack_switch, 0, 0xffff_8300_0000_0000, 0) }));
    // SAFETY: restore a sane kernel stack selector.
    let _ = unsafe { hc(HYPERVISOR_stack_switch, dom0_abi::arch_x86::FLAT_KERNEL_SS.into(), guard_va() - 4096, 0) };
    // SAFETY: takes no pointer.
    t.fact("set_segment_base(FS, directmap)", show_raw(unsafe { hc(HYPERVISOR_set_segment_base, 0, 0xffff_8300_0000_0000, 0) }));
    // SAFETY: takes no pointer.
    t.fact("set_segment_base(GS_USER_SEL, 0xfff8)", show_raw(unsafe { hc(HYPERVISOR_set_segment_base, 3, 0xfff8, 0) }));
    // SAFETY: takes no pointer.
    t.fact("set_segment_base(0xffffffff)", show_raw(unsafe { hc(HYPERVISOR_set_segment_base, 0xffff_ffff, 0, 0) }));
    // SAFETY: reset the FS base.
    let _ = unsafe { hc(HYPERVISOR_set_segment_base, 0, 0, 0) };
    // SAFETY: takes no pointer.
    t.fact("fpu_taskswitch(u64::MAX)", show_raw(unsafe { hc(HYPERVISOR_fpu_taskswitch, u64::MAX, 0, 0) }));
    // SAFETY: as above.
    let _ = unsafe { hc(HYPERVISOR_fpu_taskswitch, 0, 0, 0) };
}

fn update_va_mapping(t: &mut Transcript, si: &StartInfo) {
    let slot = guard_va();
    let pfn = (slot - VIRT_BASE) >> 12;
    // SAFETY: mfn_list holds nr_pages entries.
    let mfn = |pfn: u64| unsafe { (si.mfn_list as *const u64).add(pfn as usize).read_volatile() };
    let own = (mfn(pfn) << 12) | 0x63;
    let uvm = |va: u64, pte: u64| {
        // SAFETY: va is the guard page (unused) or one the hypervisor must
        // refuse.
        unsafe { hc(HYPERVISOR_update_va_mapping, va, pte, UVMF_INVLPG) }
    };
    for &(name, va) in &BAD_POINTERS[..3] {
        t.fact(&Key::of("update_va_mapping va in ", name), show_raw(uvm(va, own)));
    }
    t.fact("update_va_mapping(va non-canonical)", show_raw(uvm(0x8000_0000_0000_0000, own)));
    t.fact("update_va_mapping(va unaligned)", show_raw(uvm(slot + 8, 0)));
    let l4_pfn = (si.pt_base - VIRT_BASE) >> 12;
    t.fact("update_va_mapping(L4 page table writable)", show_raw(uvm(slot, (mfn(l4_pfn) << 12) | 0x63)));
    t.fact("update_va_mapping(L4 page table read-only)", show_raw(uvm(slot, (mfn(l4_pfn) << 12) | 0x61)));
    t.fact("update_va_mapping(pte with reserved bit 51)", show_raw(uvm(slot, own | (1 << 51))));
    t.fact("update_va_mapping(PSE pte)", show_raw(uvm(slot, own | 0x80)));
    // SAFETY: unmapping the guard page again.
    t.fact("update_va_mapping(unmap)", show_raw(uvm(slot, 0)));
    // SAFETY: bad flags with a valid request.
    let r = unsafe { hc(HYPERVISOR_update_va_mapping, slot, 0, 0xffff_ffff_ffff_fff8) };
    t.fact("update_va_mapping(flags with a bad vcpumask pointer)", show_raw(r));
}

fn numbers(t: &mut Transcript) {
    for (name, nr) in [("hypercall 64", 64u64), ("hypercall 0x1_0000_0011", 0x1_0000_0011), ("hypercall u64::MAX", u64::MAX)] {
        // SAFETY: no hypercall behind these numbers takes a pointer here.
        t.fact(name, show_raw(unsafe { raw_syscall(nr, 0, 0, 0, 0, 0) }));
    }
}

/// Answers differential fuzzing found ours giving differently from Xen
/// 4.17, each now Xen's (the same for dom0 and a domU unless noted).
fn fuzz_findings(t: &mut Transcript) {
    let mut word = 0u64;
    let w = core::ptr::addr_of_mut!(word) as u64;
    // SAFETY: numbers and a live word; the breakpoint addresses are
    // refused (DR7 stays off, so none would be armed anyway).
    unsafe {
        // Breakpoints: the guest's half or above the hypervisor's range;
        // a non-canonical address is refused as the hypervisor's is.
        t.fact("set_debugreg(0, non-canonical 0x0000800000000000)", show_raw(hc(HYPERVISOR_set_debugreg, 0, 1 << 47, 0)));
        t.fact("set_debugreg(1, non-canonical 0x8000000000000000)", show_raw(hc(HYPERVISOR_set_debugreg, 1, 1 << 63, 0)));
        // Register numbers are ints: the upper half is ignored.
        t.fact("get_debugreg(0x1_0000_0006)", show_raw(hc(HYPERVISOR_get_debugreg, 0x1_0000_0006, 0, 0)));
        t.fact("vcpu_op(is_up, vcpu 0x1_0000_0000)", show_raw(hc(HYPERVISOR_vcpu_op, 3, 1 << 32, 0)));
        // The page size only to a null handle.
        t.fact("xen_version(pagesize, non-null)", show_raw(hc(HYPERVISOR_xen_version, XENVER_pagesize.into(), w, 0)));
        // mmu_update/mmuext_op: the list's start address before anything
        // else, even for an empty batch; progress not reported is no error;
        // a resumed empty call carries its result in foreigndom.
        let hv = 0xffff_8000_0000_0000u64;
        t.fact("mmu_update(list in the hypervisor, count 0)", show_raw(raw(HYPERVISOR_mmu_update, hv, 0, 0, 0x7ff0, 0)));
        t.fact("mmuext_op(list in the hypervisor, count 0)", show_raw(raw(HYPERVISOR_mmuext_op, hv, 0, 0, 0x7ff0, 0)));
        t.fact("mmu_update(count 0, pdone in the hypervisor)", show_raw(raw(HYPERVISOR_mmu_update, w, 0, hv, 0x7ff0, 0)));
        t.fact("mmu_update(resumed, null list, foreigndom 5)", show_raw(raw(HYPERVISOR_mmu_update, 0, 0x8000_0000, 0, 5, 0)));
        // Reservations answer with the count done, never an errno.
        t.fact("memory_op(increase_reservation, argument in the hypervisor)", show_raw(hc(HYPERVISOR_memory_op, 0, hv, 0)));
        t.fact("memory_op(decrease_reservation, argument in the hypervisor)", show_raw(hc(HYPERVISOR_memory_op, 1, hv, 0)));
        // Only reservations carry progress in the command.
        t.fact("memory_op(maximum_ram_page, start extent 1)", show_raw(hc(HYPERVISOR_memory_op, 2 | 1 << 6, 0, 0)));
        t.fact("memory_op(machphys_compat_mfn_list)", show_raw(hc(HYPERVISOR_memory_op, 25, w, 0)));
        t.fact("memory_op(get_vnumainfo, argument in the hypervisor)", show_raw(hc(HYPERVISOR_memory_op, 26, hv, 0)));
        // Arguments are read before the caller's right is checked.
        t.fact("physdev_op(apic_read, argument in the hypervisor)", show_raw(hc(HYPERVISOR_physdev_op, 8, hv, 0)));
        t.fact("mca(argument in the hypervisor)", show_raw(hc(HYPERVISOR_mca, hv, 0, 0)));
        // exchange: too large an extent order is EPERM before anything
        // else (here the other domain id would be EINVAL, the null lists
        // EFAULT).
        let res = |order, domid| dom0_abi::memory::XenMemoryReservation {
            extent_start: dom0_abi::types::GuestHandle::new(0),
            nr_extents: 1,
            extent_order: order,
            mem_flags: 0,
            domid: dom0_abi::types::DomId(domid),
        };
        // Orders: the control domain's limit is 18, a domU's 9.
        for order in [13, 19] {
            let mut x = dom0_abi::memory::XenMemoryExchange { r#in: res(order, 0x7ff0), out: res(0, 1), nr_exchanged: 0 };
            let r = hc(HYPERVISOR_memory_op, 11, addr(&mut x), 0);
            t.fact(if order == 13 { "memory_op(exchange, in order 13)" } else { "memory_op(exchange, in order 19)" }, show_raw(r));
        }
        let mut x = dom0_abi::memory::XenMemoryExchange { r#in: res(0, 0x7ff0), out: res(0, 1), nr_exchanged: 0 };
        t.fact("memory_op(exchange, in and out domains differ)", show_raw(hc(HYPERVISOR_memory_op, 11, addr(&mut x), 0)));
        let mut x = dom0_abi::memory::XenMemoryExchange { r#in: res(0, 0x7ff0), out: res(0, 0x7ff0), nr_exchanged: 1 };
        t.fact("memory_op(exchange, all exchanged already)", show_raw(hc(HYPERVISOR_memory_op, 11, addr(&mut x), 0)));
        let mut x = dom0_abi::memory::XenMemoryExchange { r#in: res(0, 0x7ff0), out: res(0, 0x7ff0), nr_exchanged: 0 };
        x.r#in.extent_start = dom0_abi::types::GuestHandle::new(hv);
        t.fact("memory_op(exchange, in list in the hypervisor)", show_raw(hc(HYPERVISOR_memory_op, 11, addr(&mut x), 0)));
        // dom0: E2BIG; a domU: EPERM.
        t.fact("console_io(read 0x80000000)", show_raw(hc(HYPERVISOR_console_io, CONSOLEIO_read.into(), 0x8000_0000, w)));
    }
}

/// Host crashes differential fuzzing found, in Xen 4.17 (seed 5 as
/// dom0), kept as cases against ours: `XEN_MC_msrinject` with more MSRs
/// than its structure holds (`mcinj_count` is not bounded) walks off Xen's
/// stack copy of the argument into a fatal page fault, and
/// `PHYSDEVOP_prepare_msix` of a device dom0 reported but that has no
/// MSI-X (Xen records whatever `pci_device_add` names) dereferences its
/// null MSI-X state. Ours must refuse both (no injection, no MSI-X: ENOSYS
/// to dom0; EPERM to a domU) and stay up; as dom0 of Xen the calls are not
/// made. `~ ` facts: the answers differ by design.
fn xen_crashes(t: &mut Transcript, si: &StartInfo) {
    let mut extra = [0u8; 16];
    // SAFETY: a 16-byte buffer for XENVER_extraversion.
    unsafe { hc(HYPERVISOR_xen_version, XENVER_extraversion.into(), addr(&mut extra), 0) };
    let skip = !extra.starts_with(b"-rustpv") && si.flags & dom0_abi::xen::SIF_PRIVILEGED != 0;
    let key = "mca(msrinject of 0x10000 MSRs)";
    if skip {
        t.specific(key, "not made: it takes Xen 4.17 down");
    } else {
        // xen_mc: cmd, interface version, then xen_mc_msrinject: target
        // CPU, flags, count, domain; the MSR array (zeros) follows.
        let mut mc = [0u32; 64];
        mc[0] = 4; // XEN_MC_msrinject
        mc[1] = 0x01ec_c003; // XEN_MCA_INTERFACE_VERSION
        mc[4] = 0x10000;
        // SAFETY: a live buffer holding more than a xen_mc.
        t.specific(key, show_raw(unsafe { hc(HYPERVISOR_mca, addr(&mut mc), 0, 0) }));
    }
    let (add, prepare) = ("physdev_op(pci_device_add ffff:ff:1f.7)", "physdev_op(prepare_msix of ffff:ff:1f.7)");
    if skip {
        t.specific(add, "not made: with the next, it takes Xen 4.17 down");
        t.specific(prepare, "not made: it takes Xen 4.17 down");
    } else {
        // physdev_pci_device_add: segment, bus, devfn, flags, physfn;
        // physdev_pci_device: segment, bus, devfn.
        let mut dev_add = [0xffu8, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut dev = [0xffu8; 4];
        // SAFETY: live physdev_pci_device_add and physdev_pci_device.
        unsafe {
            t.specific(add, show_raw(hc(HYPERVISOR_physdev_op, 25, addr(&mut dev_add), 0)));
            t.specific(prepare, show_raw(hc(HYPERVISOR_physdev_op, 30, addr(&mut dev), 0)));
        }
    }
}

/// A domain id no domain has.
const NO_DOMAIN: u16 = 0x7fef;

/// `event_channel_op(cmd, arg)`.
fn evtchn<T>(cmd: u32, arg: &mut T) -> i64 {
    // SAFETY: callers pass the structure `cmd` takes.
    unsafe { hc(HYPERVISOR_event_channel_op, cmd.into(), arg as *mut T as u64, 0) }
}

/// `grant_table_op(cmd, arg, 1)`.
fn gnttab<T>(cmd: u32, arg: &mut T) -> i64 {
    // SAFETY: callers pass one structure of the type `cmd` takes.
    unsafe { hc(HYPERVISOR_grant_table_op, cmd.into(), arg as *mut T as u64, 1) }
}

/// `memory_op(cmd, arg)`.
fn memory<T>(cmd: u32, arg: &mut T) -> i64 {
    // SAFETY: callers pass the structure `cmd` takes, its handles live.
    unsafe { hc(HYPERVISOR_memory_op, cmd.into(), arg as *mut T as u64, 0) }
}

/// A grant status with its name, as `grants` prints them.
struct St(i16);

impl core::fmt::Display for St {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = dom0_abi::grant_table::Gntst::try_from(self.0).map(|s| s.message()).unwrap_or("?");
        write!(f, "{} ({name})", self.0)
    }
}

/// Attacks on dom0 and on the healthy domU `n` beside us: each must be
/// refused with Xen's errno (or grant status), and change nothing there
/// (the test then checks that the neighbour still answers).
fn neighbour(t: &mut Transcript, si: &StartInfo, n: Neighbour) {
    use dom0_abi::event_channel::*;
    use dom0_abi::grant_table::*;
    use dom0_abi::memory::*;
    use dom0_abi::types::{DomId, GuestHandle};
    use dom0_abi::xen::DOMID_SELF;
    t.specific("neighbour domain", n.domid);
    t.specific("neighbour console frame and port", format_args!("{:#x} {}", n.console_mfn, n.console_port));
    t.specific("neighbour store frame and port", format_args!("{:#x} {}", n.store_mfn, n.store_port));

    // Event channels: only a port left unbound for us may be bound.
    for (name, dom, port) in [
        ("the neighbour's console port", n.domid, n.console_port),
        ("the neighbour's store port", n.domid, n.store_port),
        ("the neighbour's port 0", n.domid, 0),
        ("the neighbour's port 4095", n.domid, 4095),
        ("the neighbour's port 1<<20", n.domid, 1 << 20),
        ("dom0's port 1", 0, 1),
        ("dom0's port 2", 0, 2),
        ("a domain that does not exist", NO_DOMAIN, 1),
    ] {
        let mut b = EvtchnBindInterdomain { remote_dom: DomId(dom), remote_port: port, local_port: 0xdead };
        t.fact(key!("evtchn bind_interdomain to {name}"), show_raw(evtchn(EVTCHNOP_bind_interdomain, &mut b)));
    }
    for (name, dom) in [("the neighbour", n.domid), ("dom0", 0), ("a domain that does not exist", NO_DOMAIN)] {
        let mut a = EvtchnAllocUnbound { dom: DomId(dom), remote_dom: DomId(DOMID_SELF), port: 0 };
        t.fact(key!("evtchn alloc_unbound in {name} for us"), show_raw(evtchn(EVTCHNOP_alloc_unbound, &mut a)));
        let mut a = EvtchnAllocUnbound { dom: DomId(dom), remote_dom: DomId(dom), port: 0 };
        t.fact(key!("evtchn alloc_unbound in {name} for itself"), show_raw(evtchn(EVTCHNOP_alloc_unbound, &mut a)));
        let port = if dom == 0 { 1 } else { n.console_port };
        let mut st = EvtchnStatus { dom: DomId(dom), port, ..Default::default() };
        t.fact(key!("evtchn status of {name}'s port"), show_raw(evtchn(EVTCHNOP_status, &mut st)));
        let mut r = EvtchnReset { dom: DomId(dom) };
        t.fact(key!("evtchn reset {name}"), show_raw(evtchn(EVTCHNOP_reset, &mut r)));
    }
    let mut st = EvtchnStatus { dom: DomId(n.domid), port: 1 << 20, ..Default::default() };
    t.fact("evtchn status of the neighbour's port 1<<20", show_raw(evtchn(EVTCHNOP_status, &mut st)));
    // Our own port offered to the neighbour is fine (it is ours).
    let mut a = EvtchnAllocUnbound { dom: DomId(DOMID_SELF), remote_dom: DomId(n.domid), port: 0 };
    let r = evtchn(EVTCHNOP_alloc_unbound, &mut a);
    t.fact("evtchn alloc_unbound in us for the neighbour", show_raw(r));
    if r == 0 {
        let mut b = EvtchnBindInterdomain { remote_dom: DomId(DOMID_SELF), remote_port: a.port, local_port: 0 };
        t.fact("evtchn bind_interdomain to it ourselves", show_raw(evtchn(EVTCHNOP_bind_interdomain, &mut b)));
        let mut c = EvtchnClose { port: a.port };
        t.fact("evtchn close it", show_raw(evtchn(EVTCHNOP_close, &mut c)));
    }

    // Grants: the neighbour granted us nothing.
    for (name, dom, r, flags) in [
        ("the neighbour's ref 0 (console)", n.domid, GNTTAB_RESERVED_CONSOLE, GNTMAP_host_map),
        ("the neighbour's ref 1 (xenstore) read-only", n.domid, GNTTAB_RESERVED_XENSTORE, GNTMAP_host_map | GNTMAP_readonly),
        ("the neighbour's ref 8", n.domid, 8, GNTMAP_host_map),
        ("the neighbour's ref 100000", n.domid, 100_000, GNTMAP_host_map),
        ("dom0's ref 0", 0, 0, GNTMAP_host_map),
        ("dom0's ref 8", 0, 8, GNTMAP_host_map),
        ("a domain that does not exist", NO_DOMAIN, 8, GNTMAP_host_map),
    ] {
        let mut m = GnttabMapGrantRef { host_addr: guard_va(), flags, r#ref: r, dom: DomId(dom), status: 99, handle: 0xdead, dev_bus_addr: 0 };
        let res = gnttab(GNTTABOP_map_grant_ref, &mut m);
        t.fact(key!("grant map {name}"), format_args!("{} status {}", show_raw(res), St(m.status)));
    }
    let own = {
        // SAFETY: mfn_list holds nr_pages entries.
        let pfn = (core::ptr::addr_of!(GUARDED) as u64 - VIRT_BASE) >> 12;
        unsafe { (si.mfn_list as *const u64).add(pfn as usize).read_volatile() }
    };
    let ptr = |u: u64, dom: u16| GnttabCopyPtr { u, domid: DomId(dom), offset: 0 };
    for (name, source, dest, flags) in [
        ("from the neighbour's console frame", ptr(n.console_mfn, n.domid), ptr(own, DOMID_SELF), 0),
        ("from the neighbour's console frame as our own", ptr(n.console_mfn, DOMID_SELF), ptr(own, DOMID_SELF), 0),
        ("into the neighbour's store frame", ptr(own, DOMID_SELF), ptr(n.store_mfn, n.domid), 0),
        ("from the neighbour's ref 0", ptr(0, n.domid), ptr(own, DOMID_SELF), GNTCOPY_source_gref),
        ("from dom0's ref 8", ptr(8, 0), ptr(own, DOMID_SELF), GNTCOPY_source_gref),
    ] {
        let mut c = GnttabCopy { source, dest, len: 8, flags, status: 99 };
        let res = gnttab(GNTTABOP_copy, &mut c);
        t.fact(key!("grant copy {name}"), format_args!("{} status {}", show_raw(res), St(c.status)));
    }
    for (name, dom) in [("the neighbour", n.domid), ("dom0", 0), ("a domain that does not exist", NO_DOMAIN)] {
        let mut frames = [0u64; 1];
        let mut s = GnttabSetupTable { dom: DomId(dom), nr_frames: 1, status: 99, frame_list: GuestHandle::new(frames.as_mut_ptr() as u64) };
        let res = gnttab(GNTTABOP_setup_table, &mut s);
        t.fact(key!("grant setup_table of {name}"), format_args!("{} status {}", show_raw(res), St(s.status)));
        let mut q = GnttabQuerySize { dom: DomId(dom), nr_frames: 0, max_nr_frames: 0, status: 99 };
        let res = gnttab(GNTTABOP_query_size, &mut q);
        t.fact(key!("grant query_size of {name}"), format_args!("{} status {}", show_raw(res), St(q.status)));
    }

    // The domain operations of the toolstack.
    for (name, dom, reason) in [("the neighbour", n.domid, SHUTDOWN_poweroff), ("dom0", 0, SHUTDOWN_crash)] {
        let remote = SchedRemoteShutdown { domain_id: DomId(dom), reason };
        // SAFETY: a live struct.
        let r = unsafe { hc(HYPERVISOR_sched_op, SCHEDOP_remote_shutdown.into(), addr(&remote), 0) };
        t.fact(key!("sched_op(remote_shutdown) of {name}"), show_raw(r));
    }
    {
        use dom0_abi::domctl::{DomctlCmd, XenDomctl};
        use dom0_abi::sysctl::{SysctlCmd, XenSysctl};
        for (name, cmd, dom) in [
            ("pausedomain the neighbour", DomctlCmd::Pausedomain, n.domid),
            ("destroydomain the neighbour", DomctlCmd::Destroydomain, n.domid),
            ("destroydomain dom0", DomctlCmd::Destroydomain, 0),
            ("getdomaininfo of dom0", DomctlCmd::Getdomaininfo, 0),
        ] {
            let mut d = XenDomctl::new(cmd, DomId(dom));
            // SAFETY: a live domctl.
            let r = unsafe { hc(HYPERVISOR_domctl, &mut d as *mut XenDomctl as u64, 0, 0) };
            t.fact(key!("domctl {name}"), show_raw(r));
        }
        let mut y = XenSysctl::new(SysctlCmd::Physinfo);
        // SAFETY: a live sysctl.
        let r = unsafe { hc(HYPERVISOR_sysctl, &mut y as *mut XenSysctl as u64, 0, 0) };
        t.fact("sysctl physinfo", show_raw(r));
    }

    // Memory of other domains.
    for (name, dom) in [("the neighbour", n.domid), ("dom0", 0), ("a domain that does not exist", NO_DOMAIN)] {
        let mut ext = [n.console_mfn];
        let mut r = XenMemoryReservation {
            extent_start: GuestHandle::new(ext.as_mut_ptr() as u64),
            nr_extents: 1,
            extent_order: 0,
            mem_flags: 0,
            domid: DomId(dom),
        };
        t.fact(key!("decrease_reservation of {name}"), show_raw(memory(XENMEM_decrease_reservation, &mut r)));
        let mut ext = [0u64];
        r.extent_start = GuestHandle::new(ext.as_mut_ptr() as u64);
        t.fact(key!("increase_reservation of {name}"), show_raw(memory(XENMEM_increase_reservation, &mut r)));
        let mut ext = [0x10_0000u64];
        r.extent_start = GuestHandle::new(ext.as_mut_ptr() as u64);
        t.fact(key!("populate_physmap of {name}"), show_raw(memory(XENMEM_populate_physmap, &mut r)));
        let mut d = DomId(dom);
        t.fact(key!("current_reservation of {name}"), show_raw(memory(XENMEM_current_reservation, &mut d)));
        t.fact(key!("maximum_reservation of {name}"), show_raw(memory(XENMEM_maximum_reservation, &mut d)));
        t.fact(key!("maximum_gpfn of {name}"), show_raw(memory(XENMEM_maximum_gpfn, &mut d)));
    }
    // Our own reservation, with the neighbour's frame as the extent.
    let mut ext = [n.console_mfn];
    let mut r = XenMemoryReservation {
        extent_start: GuestHandle::new(ext.as_mut_ptr() as u64),
        nr_extents: 1,
        extent_order: 0,
        mem_flags: 0,
        domid: DomId(DOMID_SELF),
    };
    t.fact("decrease_reservation of ours, the neighbour's console frame", show_raw(memory(XENMEM_decrease_reservation, &mut r)));
}

/// Last, because a hypervisor that gets it wrong corrupts the guest's own
/// page tables: xen_version writing into the (read-only) L4.
fn last_resort(t: &mut Transcript, si: &StartInfo) {
    // SAFETY: pt_base is mapped read-only; the hypervisor must refuse to
    // write through the guest's mapping.
    let r = unsafe { hc(HYPERVISOR_xen_version, XENVER_extraversion.into(), si.pt_base, 0) };
    t.fact("xen_version(extraversion) into the read-only L4", show_raw(r));
}

/// Keys composed of two parts (a stack buffer).
struct Key {
    buf: [u8; 128],
    len: usize,
}

impl Key {
    fn of(a: &str, b: &str) -> Self {
        let mut k = Key { buf: [0; 128], len: 0 };
        for s in [a, b] {
            let n = s.len().min(k.buf.len() - k.len);
            k.buf[k.len..k.len + n].copy_from_slice(&s.as_bytes()[..n]);
            k.len += n;
        }
        k
    }
}

impl core::ops::Deref for Key {
    type Target = str;
    fn deref(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}
