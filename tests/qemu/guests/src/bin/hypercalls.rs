//! `hypercalls`: each hypercall the hypervisor implements, with valid and
//! invalid arguments (but no hostile pointers: that is `hostile`), one
//! return code a line.
#![no_std]
#![no_main]

use dom0_abi::arch_x86::{FLAT_KERNEL_SS, SEGBASE_FS};
use dom0_abi::callback::{CallbackRegister, CALLBACKOP_register, CALLBACKTYPE_event};
use dom0_abi::console_io::{CONSOLEIO_read, CONSOLEIO_write};
use dom0_abi::hypercall::*;
use dom0_abi::mmu::UVMF_INVLPG;
use dom0_abi::physdev::{PhysdevSetIopl, PHYSDEVOP_set_iopl};
use dom0_abi::sched::*;
use dom0_abi::vm_assist::*;
use dom0_abi::xen::MulticallEntry;
use dom0_abi::xen_version::*;
use pv_guests::fmt::{cstr, yes_no};
use pv_guests::hypercall::raw;
use pv_guests::report::show_raw;
use pv_guests::start::VIRT_BASE;
use pv_guests::transcript::Transcript;
use pv_guests::{traps, StartInfo};

pv_guests::entry!(main);

/// Hypercall `nr` with up to three arguments.
fn hc(nr: u64, a1: u64, a2: u64, a3: u64) -> i64 {
    // SAFETY: every call below passes pointers to live objects of the type
    // the hypercall expects, or none.
    unsafe { raw(nr, a1, a2, a3, 0, 0) }
}

fn addr<T>(x: &T) -> u64 {
    x as *const T as u64
}

fn main(si: &'static StartInfo) {
    let mut t = Transcript::begin("hypercalls");
    trap_table(&mut t);
    simple(&mut t);
    console(&mut t);
    version(&mut t);
    sched(&mut t);
    vm_assist(&mut t);
    multicall(&mut t);
    physdev(&mut t);
    update_va_mapping(&mut t, si);
    unknown(&mut t);
    t.end();
}

fn trap_table(t: &mut Transcript) {
    let table = traps::standard_table();
    t.fact("set_trap_table(standard)", show_raw(hc(HYPERVISOR_set_trap_table, addr(&table), 0, 0)));
    t.fact("set_trap_table(null)", show_raw(hc(HYPERVISOR_set_trap_table, 0, 0, 0)));
    let empty = [dom0_abi::arch_x86::TrapInfo::default()];
    t.fact("set_trap_table(empty)", show_raw(hc(HYPERVISOR_set_trap_table, addr(&empty), 0, 0)));
    t.fact("set_trap_table(standard again)", show_raw(hc(HYPERVISOR_set_trap_table, addr(&table), 0, 0)));
    let n = traps::count();
    // SAFETY: int3 returns through the freshly installed handler.
    unsafe { core::arch::asm!("int3") };
    t.fact("int3 handled after reinstall", yes_no(traps::count() == n + 1));
}

fn simple(t: &mut Transcript) {
    static mut STACK: [u64; 512] = [0; 512];
    let top = core::ptr::addr_of!(STACK) as u64 + 4096;
    t.fact("stack_switch", show_raw(hc(HYPERVISOR_stack_switch, FLAT_KERNEL_SS.into(), top, 0)));
    let ud2 = traps::stub_address(6);
    t.fact("set_callbacks", show_raw(hc(HYPERVISOR_set_callbacks, ud2, ud2, ud2)));
    let cb = CallbackRegister { r#type: CALLBACKTYPE_event, flags: 0, address: ud2 };
    t.fact("callback_op(register event)", show_raw(hc(HYPERVISOR_callback_op, CALLBACKOP_register.into(), addr(&cb), 0)));
    t.fact("fpu_taskswitch(0)", show_raw(hc(HYPERVISOR_fpu_taskswitch, 0, 0, 0)));
    t.fact("set_segment_base(FS, 0)", show_raw(hc(HYPERVISOR_set_segment_base, SEGBASE_FS.into(), 0, 0)));
    t.fact("set_segment_base(5, 0)", show_raw(hc(HYPERVISOR_set_segment_base, 5, 0, 0)));
}

fn console(t: &mut Transcript) {
    let msg = b"hypercalls: console line\n";
    t.fact("console_io(write)", show_raw(hc(HYPERVISOR_console_io, CONSOLEIO_write.into(), msg.len() as u64, addr(msg))));
    t.fact("console_io(write, 0 bytes)", show_raw(hc(HYPERVISOR_console_io, CONSOLEIO_write.into(), 0, addr(msg))));
    t.fact("console_io(write, 0 bytes, null)", show_raw(hc(HYPERVISOR_console_io, CONSOLEIO_write.into(), 0, 0)));
    let mut buf = [0u8; 16];
    t.fact("console_io(read, 0 bytes)", show_raw(hc(HYPERVISOR_console_io, CONSOLEIO_read.into(), 0, addr(&mut buf))));
    t.fact("console_io(read, 16 bytes, no input)", show_raw(hc(HYPERVISOR_console_io, CONSOLEIO_read.into(), 16, addr(&mut buf))));
    t.fact("console_io(command 2)", show_raw(hc(HYPERVISOR_console_io, 2, 0, 0)));
    t.fact("console_io(command 99)", show_raw(hc(HYPERVISOR_console_io, 99, 0, 0)));
}

fn version(t: &mut Transcript) {
    let v = hc(HYPERVISOR_xen_version, XENVER_version.into(), 0, 0);
    t.fact("xen_version(version)", format_args!("{}.{}", v >> 16, v & 0xffff));
    let mut extra = [0u8; XEN_EXTRAVERSION_LEN];
    t.fact("xen_version(extraversion)", show_raw(hc(HYPERVISOR_xen_version, XENVER_extraversion.into(), addr(&mut extra), 0)));
    let mut compile = [0u8; 64 + 16 + 32 + 32];
    t.fact("xen_version(compile_info)", show_raw(hc(HYPERVISOR_xen_version, XENVER_compile_info.into(), addr(&mut compile), 0)));
    t.specific("xen_version(compile_info).compiler", cstr(&compile[..64]));
    let mut changeset = [0u8; XEN_CHANGESET_INFO_LEN];
    t.fact("xen_version(changeset)", show_raw(hc(HYPERVISOR_xen_version, XENVER_changeset.into(), addr(&mut changeset), 0)));
    t.specific("xen_version(changeset).text", cstr(&changeset));
    let mut params = [0u64; 1];
    t.fact("xen_version(platform_parameters)", show_raw(hc(HYPERVISOR_xen_version, XENVER_platform_parameters.into(), addr(&mut params), 0)));
    t.fact("xen_version(platform_parameters).virt_start", format_args!("{:#x}", params[0]));
    t.fact("xen_version(pagesize)", show_raw(hc(HYPERVISOR_xen_version, XENVER_pagesize.into(), 0, 0)));
    let mut handle = [0xaau8; 16];
    t.fact("xen_version(guest_handle)", show_raw(hc(HYPERVISOR_xen_version, XENVER_guest_handle.into(), addr(&mut handle), 0)));
    t.fact("xen_version(guest_handle) all zero", yes_no(handle.iter().all(|&b| b == 0)));
    let mut cmdline = [0u8; 1024];
    t.fact("xen_version(commandline)", show_raw(hc(HYPERVISOR_xen_version, XENVER_commandline.into(), addr(&mut cmdline), 0)));
    t.specific("xen_version(commandline).text", cstr(&cmdline));
    let mut features = [0u32; 2];
    t.fact("xen_version(get_features, 0)", show_raw(hc(HYPERVISOR_xen_version, XENVER_get_features.into(), addr(&mut features), 0)));
    features[0] = 7;
    t.fact("xen_version(get_features, 7)", show_raw(hc(HYPERVISOR_xen_version, XENVER_get_features.into(), addr(&mut features), 0)));
    for cmd in [11u64, 12, 99, 1 << 31] {
        t.fact(if cmd == 11 { "xen_version(11)" } else if cmd == 12 { "xen_version(12)" } else if cmd == 99 { "xen_version(99)" } else { "xen_version(1<<31)" }, show_raw(hc(HYPERVISOR_xen_version, cmd, 0, 0)));
    }
}

fn sched(t: &mut Transcript) {
    t.fact("sched_op(yield)", show_raw(hc(HYPERVISOR_sched_op, SCHEDOP_yield.into(), 0, 0)));
    let code = SchedShutdown { reason: SHUTDOWN_poweroff };
    t.fact("sched_op(shutdown_code, poweroff)", show_raw(hc(HYPERVISOR_sched_op, SCHEDOP_shutdown_code.into(), addr(&code), 0)));
    let remote = SchedRemoteShutdown { domain_id: dom0_abi::types::DomId(7), reason: SHUTDOWN_poweroff };
    t.fact("sched_op(remote_shutdown, domain 7)", show_raw(hc(HYPERVISOR_sched_op, SCHEDOP_remote_shutdown.into(), addr(&remote), 0)));
    let remote = SchedRemoteShutdown { domain_id: dom0_abi::types::DomId::SELF, reason: SHUTDOWN_poweroff };
    t.fact("sched_op(remote_shutdown, DOMID_SELF)", show_raw(hc(HYPERVISOR_sched_op, SCHEDOP_remote_shutdown.into(), addr(&remote), 0)));
    t.fact("sched_op(8)", show_raw(hc(HYPERVISOR_sched_op, 8, 0, 0)));
    t.fact("sched_op(99)", show_raw(hc(HYPERVISOR_sched_op, 99, 0, 0)));
}

#[allow(non_upper_case_globals)] // the ABI's names
fn vm_assist(t: &mut Transcript) {
    let name = |ty: u32| match ty {
        VMASST_TYPE_4gb_segments => "4gb_segments",
        VMASST_TYPE_4gb_segments_notify => "4gb_segments_notify",
        VMASST_TYPE_writable_pagetables => "writable_pagetables",
        VMASST_TYPE_pae_extended_cr3 => "pae_extended_cr3",
        VMASST_TYPE_architectural_iopl => "architectural_iopl",
        VMASST_TYPE_runstate_update_flag => "runstate_update_flag",
        VMASST_TYPE_m2p_strict => "m2p_strict",
        6 => "type 6",
        31 => "type 31",
        _ => "type 33",
    };
    for ty in [0, 1, 2, 3, 4, 5, 6, 31, 32, 33] {
        let mut k = Key::new("vm_assist(enable, ");
        k.push(name(ty));
        t.fact(k.push(")"), show_raw(hc(HYPERVISOR_vm_assist, VMASST_CMD_enable.into(), ty.into(), 0)));
        let mut k = Key::new("vm_assist(disable, ");
        k.push(name(ty));
        t.fact(k.push(")"), show_raw(hc(HYPERVISOR_vm_assist, VMASST_CMD_disable.into(), ty.into(), 0)));
    }
    t.fact("vm_assist(command 2)", show_raw(hc(HYPERVISOR_vm_assist, 2, 0, 0)));
}

/// A `multicall_entry` for hypercall `op` with `args`.
fn entry(op: u64, args: [u64; 6]) -> MulticallEntry {
    MulticallEntry { op, result: 0xdead, args }
}

fn multicall(t: &mut Transcript) {
    let mut inner = [entry(HYPERVISOR_xen_version, [0; 6])];
    let mut calls = [
        entry(HYPERVISOR_xen_version, [XENVER_pagesize.into(), 0, 0, 0, 0, 0]),
        entry(HYPERVISOR_sched_op, [SCHEDOP_yield.into(), 0, 0, 0, 0, 0]),
        entry(1000, [0; 6]),
        entry(HYPERVISOR_multicall, [addr(&mut inner), 1, 0, 0, 0, 0]),
        entry(HYPERVISOR_fpu_taskswitch, [0; 6]),
        entry(HYPERVISOR_xen_version, [99, 0, 0, 0, 0, 0]),
    ];
    t.fact("multicall(6 entries)", show_raw(hc(HYPERVISOR_multicall, addr(&mut calls), calls.len() as u64, 0)));
    let names = ["pagesize", "yield", "op 1000", "nested multicall", "fpu_taskswitch", "xen_version 99"];
    for (c, n) in calls.iter().zip(names) {
        let mut k = Key::new("multicall entry ");
        t.fact(k.push(n), show_raw(c.result as i64));
    }
    t.fact("multicall nested entry result untouched", yes_no(inner[0].result == 0xdead));
    t.fact("multicall(0 entries)", show_raw(hc(HYPERVISOR_multicall, addr(&mut calls), 0, 0)));
}

fn physdev(t: &mut Transcript) {
    let iopl = |v: u32| {
        let a = PhysdevSetIopl { iopl: v };
        hc(HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl.into(), addr(&a), 0)
    };
    t.fact("physdev_op(set_iopl 1)", show_raw(iopl(1)));
    t.fact("physdev_op(set_iopl 3)", show_raw(iopl(3)));
    t.fact("physdev_op(set_iopl 4)", show_raw(iopl(4)));
    t.fact("physdev_op(set_iopl 0)", show_raw(iopl(0)));
    let a = [0u64; 8];
    t.fact("physdev_op(99)", show_raw(hc(HYPERVISOR_physdev_op, 99, addr(&a), 0)));
}

#[repr(C, align(4096))]
struct Page([u8; 4096]);
static mut SCRATCH: Page = Page([0; 4096]);

fn update_va_mapping(t: &mut Transcript, si: &StartInfo) {
    let va = core::ptr::addr_of!(SCRATCH) as u64;
    let pfn = (va - VIRT_BASE) >> 12;
    // SAFETY: mfn_list holds nr_pages entries and pfn is in our image.
    let mfn = unsafe { (si.mfn_list as *const u64).add(pfn as usize).read_volatile() };
    let pte = (mfn << 12) | 0x63;
    let uvm = |va: u64, pte: u64, flags: u64| hc(HYPERVISOR_update_va_mapping, va, pte, flags);
    t.fact("update_va_mapping(shared_info)", show_raw(uvm(va, si.shared_info | 0x63, UVMF_INVLPG)));
    t.fact("update_va_mapping(unmap)", show_raw(uvm(va, 0, UVMF_INVLPG)));
    t.fact("update_va_mapping(own frame back)", show_raw(uvm(va, pte, UVMF_INVLPG)));
    // SAFETY: the page maps its own frame again.
    unsafe { core::ptr::addr_of_mut!(SCRATCH.0[0]).write_volatile(0x5a) };
    t.fact("update_va_mapping(own frame, read-only)", show_raw(uvm(va, pte & !2, UVMF_INVLPG)));
    t.fact("update_va_mapping(flags TLB_FLUSH|ALL)", show_raw(uvm(va, pte, 1 | 4)));
    t.fact("update_va_mapping(flags 0)", show_raw(uvm(va, pte, 0)));
    t.fact("update_va_mapping(non-canonical va)", show_raw(uvm(0x8000_0000_0000_0000, pte, UVMF_INVLPG)));
    t.fact("update_va_mapping(unmapped va 0x1000)", show_raw(uvm(0x1000, pte, UVMF_INVLPG)));
    // SAFETY: the page maps its own frame.
    t.fact("own frame readable after the calls", yes_no(unsafe { core::ptr::addr_of!(SCRATCH.0[0]).read_volatile() } == 0x5a));
}

fn unknown(t: &mut Transcript) {
    for nr in [11u64, 43, 47, 56, 63] {
        let mut k = Key::new("hypercall ");
        k.num(nr);
        t.fact(k.push(""), show_raw(hc(nr, 0, 0, 0)));
    }
}

/// A small buffer for composed keys.
struct Key {
    buf: [u8; 96],
    len: usize,
}

impl Key {
    fn new(s: &str) -> Self {
        let mut k = Key { buf: [0; 96], len: 0 };
        k.push(s);
        k
    }

    fn push(&mut self, s: &str) -> &str {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }

    fn num(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push(core::str::from_utf8(&digits[i..]).unwrap_or("?"));
    }
}
