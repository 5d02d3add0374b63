//! `traps`: exception bouncing and returning. Raises int3, ud2, page
//! faults (unmapped, read-only page table, hypervisor memory), divide
//! error, #GP from privileged and non-canonical accesses and software
//! interrupts with each trap-table DPL; checks that `HYPERVISOR_iret`
//! returns with every register intact; then `stack_switch`,
//! `set_segment_base` (read back through `%fs:`/`%gs:` and emulated
//! `rdmsr`), `fpu_taskswitch` and #NM, callback registration, the
//! forced-emulation CPUID leaves, and port I/O with and without
//! `physdev_op(set_iopl)`.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use dom0_abi::arch_x86::{TrapInfo, FLAT_KERNEL_SS, SEGBASE_FS, SEGBASE_GS_KERNEL, SEGBASE_GS_USER, SEGBASE_GS_USER_SEL};
use dom0_abi::callback::*;
use dom0_abi::hypercall::{
    HYPERVISOR_callback_op, HYPERVISOR_fpu_taskswitch, HYPERVISOR_physdev_op, HYPERVISOR_set_callbacks,
    HYPERVISOR_set_segment_base, HYPERVISOR_stack_switch,
};
use dom0_abi::physdev::{PhysdevSetIopl, PHYSDEVOP_set_iopl};
use pv_guests::fmt::yes_no;
use pv_guests::hypercall::raw;
use pv_guests::report::{show, show_raw};
use pv_guests::start::VIRT_BASE;
use pv_guests::transcript::Transcript;
use pv_guests::traps::{self, Trap};
use pv_guests::{trigger, StartInfo};

pv_guests::entry!(main);

fn main(si: &'static StartInfo) {
    let mut t = Transcript::begin("traps");
    t.fact("set_trap_table", show(traps::install()));
    t.fact("map shared_info", show(pv_guests::shared::map(si).map(|_| 0)));
    int3_roundtrip(&mut t);
    simple_faults(&mut t);
    page_faults(&mut t, si);
    soft_interrupts(&mut t);
    stack_switch(&mut t);
    segment_bases(&mut t);
    fpu(&mut t);
    callbacks(&mut t);
    cpuid(&mut t);
    ports(&mut t);
    t.fact("traps taken", traps::count());
    t.end();
}

/// Print what a trap (or its absence) looked like, as `name.*` facts.
fn report(t: &mut Transcript, name: &str, trap: Option<Trap>) {
    report_masked(t, name, trap, u64::MAX);
}

/// [`report`] with only the bits `ec_mask` of the error code as a fact,
/// the whole error code as an implementation-specific value (whether the
/// hypervisor maps its own addresses decides the present bit of a #PF).
fn report_masked(t: &mut Transcript, name: &str, trap: Option<Trap>, ec_mask: u64) {
    let Some(trap) = trap else {
        t.fact(name, "no trap");
        return;
    };
    let mut key = Key::new(name);
    t.fact(key.with(".vector"), trap.frame.vector);
    if ec_mask == u64::MAX {
        t.fact(key.with(".error_code"), format_args!("{:#x}", trap.frame.error_code));
    } else {
        t.fact(key.with(".error_code (masked)"), format_args!("{:#x}", trap.frame.error_code & ec_mask));
        t.specific(key.with(".error_code"), format_args!("{:#x}", trap.frame.error_code));
    }
    t.fact(key.with(".rip"), trap.rip_where());
    t.fact(key.with(".cs"), format_args!("{:#x}", trap.frame.cs));
    t.fact(key.with(".rflags"), format_args!("{:#x}", trap.frame.rflags));
    t.fact(key.with(".ss"), format_args!("{:#x}", trap.frame.ss));
}

/// A small stack buffer for `name.suffix` keys.
struct Key {
    buf: [u8; 96],
    len: usize,
}

impl Key {
    fn new(name: &str) -> Self {
        let mut k = Key { buf: [0; 96], len: name.len().min(64) };
        k.buf[..k.len].copy_from_slice(&name.as_bytes()[..k.len]);
        k
    }

    fn with(&mut self, suffix: &str) -> &str {
        let n = suffix.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&suffix.as_bytes()[..n]);
        core::str::from_utf8(&self.buf[..self.len + n]).unwrap_or("?")
    }
}

unsafe extern "C" {
    /// Load patterns into every general register, `int3`, store the
    /// registers (rax..r15, then rsp) to `out`.
    fn pv_regs_roundtrip(out: *mut [u64; 16]);
    /// `rsp` at the `int3` of [`pv_regs_roundtrip`].
    static pv_regs_rsp: u64;
}

/// Pattern loaded into register `i` (0 = rax, ..., 14 = r15).
const fn pattern(i: u64) -> u64 {
    0x5a5a_5a5a_0000_0000 + (i + 1) * 0x1111
}

core::arch::global_asm!(
    ".pushsection .data.pv_regs, \"aw\", @progbits",
    ".balign 8",
    "pv_regs_out: .quad 0",
    ".globl pv_regs_rsp",
    "pv_regs_rsp: .quad 0",
    ".popsection",
    ".pushsection .text.pv_regs, \"ax\", @progbits",
    ".globl pv_regs_roundtrip",
    "pv_regs_roundtrip:",
    "push %rbx",
    "push %rbp",
    "push %r12",
    "push %r13",
    "push %r14",
    "push %r15",
    "mov %rdi, pv_regs_out(%rip)",
    "mov %rsp, pv_regs_rsp(%rip)",
    "movabs ${p0}, %rax",
    "movabs ${p1}, %rbx",
    "movabs ${p2}, %rcx",
    "movabs ${p3}, %rdx",
    "movabs ${p4}, %rsi",
    "movabs ${p5}, %rdi",
    "movabs ${p6}, %rbp",
    "movabs ${p7}, %r8",
    "movabs ${p8}, %r9",
    "movabs ${p9}, %r10",
    "movabs ${p10}, %r11",
    "movabs ${p11}, %r12",
    "movabs ${p12}, %r13",
    "movabs ${p13}, %r14",
    "movabs ${p14}, %r15",
    "int3",
    "xchg %rax, pv_regs_out(%rip)",
    "mov %rbx, 8(%rax)",
    "mov %rcx, 16(%rax)",
    "mov %rdx, 24(%rax)",
    "mov %rsi, 32(%rax)",
    "mov %rdi, 40(%rax)",
    "mov %rbp, 48(%rax)",
    "mov %r8, 56(%rax)",
    "mov %r9, 64(%rax)",
    "mov %r10, 72(%rax)",
    "mov %r11, 80(%rax)",
    "mov %r12, 88(%rax)",
    "mov %r13, 96(%rax)",
    "mov %r14, 104(%rax)",
    "mov %r15, 112(%rax)",
    "mov %rsp, 120(%rax)",
    "mov pv_regs_out(%rip), %rbx",
    "mov %rbx, (%rax)",
    "pop %r15",
    "pop %r14",
    "pop %r13",
    "pop %r12",
    "pop %rbp",
    "pop %rbx",
    "ret",
    ".popsection",
    p0 = const pattern(0), p1 = const pattern(1), p2 = const pattern(2), p3 = const pattern(3),
    p4 = const pattern(4), p5 = const pattern(5), p6 = const pattern(6), p7 = const pattern(7),
    p8 = const pattern(8), p9 = const pattern(9), p10 = const pattern(10), p11 = const pattern(11),
    p12 = const pattern(12), p13 = const pattern(13), p14 = const pattern(14),
    options(att_syntax)
);

const REG_NAMES: [&str; 15] =
    ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];

/// The frame's registers in [`REG_NAMES`] order.
fn frame_regs(f: &traps::TrapFrame) -> [u64; 15] {
    [f.rax, f.rbx, f.rcx, f.rdx, f.rsi, f.rdi, f.rbp, f.r8, f.r9, f.r10, f.r11, f.r12, f.r13, f.r14, f.r15]
}

/// Names of the registers in `regs` that do not hold their pattern.
fn changed(regs: &[u64]) -> impl core::fmt::Display + '_ {
    struct Changed<'a>(&'a [u64]);
    impl core::fmt::Display for Changed<'_> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            let mut any = false;
            for (i, &v) in self.0.iter().enumerate() {
                if v != pattern(i as u64) {
                    write!(f, "{}{}", if any { "," } else { "changed " }, REG_NAMES[i])?;
                    any = true;
                }
            }
            if !any {
                write!(f, "intact")?;
            }
            Ok(())
        }
    }
    Changed(regs)
}

fn int3_roundtrip(t: &mut Transcript) {
    let mut out = [0u64; 16];
    let before = traps::count();
    // SAFETY: the function only writes `out` and restores callee-saved
    // registers; the int3 returns through the handler.
    unsafe { pv_regs_roundtrip(&mut out) };
    let trap = traps::last();
    t.fact("int3 taken", yes_no(traps::count() == before + 1));
    t.fact("int3.vector", trap.frame.vector);
    // SAFETY: written by pv_regs_roundtrip before its int3.
    let rsp = unsafe { core::ptr::addr_of!(pv_regs_rsp).read_volatile() };
    t.fact("int3.frame rsp is the interrupted rsp", yes_no(trap.frame.rsp == rsp));
    t.fact("int3.cs", format_args!("{:#x}", trap.frame.cs));
    t.fact("int3.ss", format_args!("{:#x}", trap.frame.ss));
    t.fact("int3.rflags", format_args!("{:#x}", trap.frame.rflags));
    t.fact("int3.registers seen by the handler", changed(&frame_regs(&trap.frame)));
    t.fact("int3.registers after iret", changed(&out[..15]));
    t.fact("int3.rsp after iret", yes_no(out[15] == rsp));
}

fn simple_faults(t: &mut Transcript) {
    report(t, "ud2", traps::catch(|| trigger!("ud2")));
    report(t, "divide by zero", traps::catch(|| trigger!("div %ecx"; in("ecx") 0u32, inout("eax") 1u32 => _, inout("edx") 0u32 => _)));
    report(t, "swapgs", traps::catch(|| trigger!("swapgs")));
    report(t, "lidt", traps::catch(|| trigger!("lidt ({p})"; p = in(reg) &[0u8; 16])));
    report(t, "wbinvd", traps::catch(|| trigger!("wbinvd")));
    report(t, "non-canonical read", traps::catch(|| trigger!("mov (%rax), %rax"; inout("rax") 0x8000_0000_0000_0000u64 => _)));
}

/// `mov %cr2` (emulated).
fn read_cr2() -> u64 {
    let v: u64;
    // SAFETY: the hypervisor emulates reads of cr2 for a PV kernel.
    unsafe { core::arch::asm!("mov %cr2, {}", out(reg) v, options(att_syntax, nostack)) };
    v
}

fn page_fault(t: &mut Transcript, name: &str, trap: Option<Trap>, expect_cr2: u64, what: &str) {
    page_fault_masked(t, name, trap, expect_cr2, what, u64::MAX);
}

fn page_fault_masked(t: &mut Transcript, name: &str, trap: Option<Trap>, expect_cr2: u64, what: &str, ec_mask: u64) {
    report_masked(t, name, trap, ec_mask);
    if let Some(trap) = trap {
        let mut key = Key::new(name);
        let rel = |v: u64| if v == expect_cr2 { what } else if v == 0 { "0" } else { "other" };
        t.fact(key.with(".vcpu_info cr2"), rel(trap.cr2));
        t.fact(key.with(".mov from cr2"), rel(read_cr2()));
    }
}

fn page_faults(t: &mut Transcript, si: &StartInfo) {
    let trap = traps::catch(|| trigger!("mov (%rax), %rax"; inout("rax") 0x1000u64 => _));
    page_fault(t, "read of unmapped 0x1000", trap, 0x1000, "0x1000");
    let trap = traps::catch(|| trigger!("movq $1, (%rax)"; in("rax") 0x2008u64));
    page_fault(t, "write to unmapped 0x2008", trap, 0x2008, "0x2008");
    let pt = si.pt_base;
    // SAFETY: pt_base maps the L4 page table, readable by the guest.
    let old = unsafe { (pt as *const u64).read_volatile() };
    let trap = traps::catch(|| trigger!("mov %rcx, (%rax)"; in("rax") pt, in("rcx") old));
    page_fault(t, "write to the L4 page table", trap, pt, "pt_base");
    for (name, addr) in [("read of hypervisor 0xffff830000000000", 0xffff_8300_0000_0000u64), ("read of hypervisor 0xffff82d040200000", 0xffff_82d0_4020_0000)] {
        let trap = traps::catch(|| trigger!("mov (%rax), %rax"; inout("rax") addr => _));
        // The present bit says whether the hypervisor maps the address.
        page_fault_masked(t, name, trap, addr, "the address", !1);
    }
    // The read-only m2p at HYPERVISOR_VIRT_START: m2p[mfn_list[0]] is pfn 0
    // (the image starts at pfn LOAD_PHYS / 4096).
    let first_pfn = (pv_guests::start::image_start() - VIRT_BASE) / 4096;
    // SAFETY: mfn_list holds nr_pages entries.
    let mfn = unsafe { (si.mfn_list as *const u64).add(first_pfn as usize).read_volatile() };
    let m2p = 0xffff_8000_0000_0000u64 + mfn * 8;
    let mut value = u64::MAX;
    let trap = traps::catch(|| trigger!("mov (%rax), %rax"; inout("rax") m2p => value));
    page_fault(t, "read of m2p[mfn of the first image page]", trap, m2p, "the address");
    if trap.is_none() {
        t.fact("m2p[mfn of the first image page] is its pfn", yes_no(value == first_pfn));
    }
}

fn soft_interrupts(t: &mut Transcript) {
    let mut rax = 41u64;
    report(t, "int $0x80 (DPL 3)", traps::catch(|| trigger!("int $0x80"; inout("rax") rax)));
    t.fact("int $0x80 (DPL 3) rax changed by the handler", rax);
    let set = |dpl: u8| traps::set_trap_table(&[traps::entry(0x80, dpl), TrapInfo::default()]);
    t.fact("set_trap_table(0x80, DPL 1)", show(set(1)));
    report(t, "int $0x80 (DPL 1)", traps::catch(|| trigger!("int $0x80")));
    t.fact("set_trap_table(0x80, DPL 0)", show(set(0)));
    report(t, "int $0x80 (DPL 0)", traps::catch(|| trigger!("int $0x80")));
    report(t, "int $0x81 (no entry)", traps::catch(|| trigger!("int $0x81")));
    report(t, "int $0x3 (DPL 3)", traps::catch(|| trigger!("int $0x3")));
    report(t, "int $0xe (DPL 0)", traps::catch(|| trigger!("int $0xe")));
    t.fact("set_trap_table(0x80, DPL 3)", show(set(3)));
}

/// A stack for `stack_switch` (never used: nothing here runs in user mode).
static mut ALT_STACK: [u64; 512] = [0; 512];

fn stack_switch(t: &mut Transcript) {
    let top = core::ptr::addr_of!(ALT_STACK) as u64 + 4096;
    // SAFETY: stack_switch only records ss:rsp for later ring transitions.
    t.fact("stack_switch(FLAT_KERNEL_SS)", show_raw(unsafe { raw(HYPERVISOR_stack_switch, FLAT_KERNEL_SS.into(), top, 0, 0, 0) }));
    // SAFETY: as above; Xen fixes up the selector's RPL.
    t.fact("stack_switch(ss 0xe028)", show_raw(unsafe { raw(HYPERVISOR_stack_switch, 0xe028, top, 0, 0, 0) }));
    // SAFETY: restore the selector the kernel really uses.
    t.fact("stack_switch(restore)", show_raw(unsafe { raw(HYPERVISOR_stack_switch, FLAT_KERNEL_SS.into(), top, 0, 0, 0) }));
}

/// `set_segment_base(which, value)`.
fn segbase(which: u32, value: u64) -> i64 {
    // SAFETY: takes no pointer.
    unsafe { raw(HYPERVISOR_set_segment_base, which.into(), value, 0, 0, 0) }
}

/// `rdmsr` (emulated by the hypervisor); `None` when it raised a trap.
fn rdmsr(msr: u32) -> Option<u64> {
    let (lo, hi): (u32, u32);
    let before = traps::count();
    let mut a = 0u32;
    let mut d = 0u32;
    trigger!("rdmsr"; in("ecx") msr, inout("eax") a, inout("edx") d);
    (lo, hi) = (a, d);
    (traps::count() == before).then_some(u64::from(hi) << 32 | u64::from(lo))
}

static FS_VALUE: u64 = 0x0123_4567_89ab_cdef;
static GS_VALUE: u64 = 0xfedc_ba98_7654_3210;
static GS_USER_VALUE: u64 = 0x1111_2222_3333_4444;

fn segment_bases(t: &mut Transcript) {
    let fs = core::ptr::addr_of!(FS_VALUE) as u64;
    let gs = core::ptr::addr_of!(GS_VALUE) as u64;
    let gsu = core::ptr::addr_of!(GS_USER_VALUE) as u64;
    let msr = |v: Option<u64>, want: u64| match v {
        None => "trap",
        Some(x) if x == want => "the base set",
        Some(0) => "0",
        Some(_) => "other",
    };
    t.fact("set_segment_base(FS)", show_raw(segbase(SEGBASE_FS, fs)));
    let v: u64;
    // SAFETY: the FS base points at FS_VALUE.
    unsafe { core::arch::asm!("mov %fs:0, {}", out(reg) v, options(att_syntax, nostack, readonly)) };
    t.fact("%fs:0 reads the value at the FS base", yes_no(v == FS_VALUE));
    t.fact("rdmsr(FS_BASE)", msr(rdmsr(0xc000_0100), fs));
    t.fact("set_segment_base(GS_KERNEL)", show_raw(segbase(SEGBASE_GS_KERNEL, gs)));
    let v: u64;
    // SAFETY: the GS base points at GS_VALUE.
    unsafe { core::arch::asm!("mov %gs:0, {}", out(reg) v, options(att_syntax, nostack, readonly)) };
    t.fact("%gs:0 reads the value at the GS base", yes_no(v == GS_VALUE));
    t.fact("rdmsr(GS_BASE)", msr(rdmsr(0xc000_0101), gs));
    t.fact("set_segment_base(GS_USER)", show_raw(segbase(SEGBASE_GS_USER, gsu)));
    t.fact("rdmsr(SHADOW_GS_BASE)", msr(rdmsr(0xc000_0102), gsu));
    t.fact("rdmsr(GS_BASE) after GS_USER", msr(rdmsr(0xc000_0101), gs));
    t.fact("set_segment_base(GS_USER_SEL, 0)", show_raw(segbase(SEGBASE_GS_USER_SEL, 0)));
    t.fact("set_segment_base(FS, non-canonical)", show_raw(segbase(SEGBASE_FS, 0x8000_0000_0000_0000)));
    t.fact("set_segment_base(GS_KERNEL, non-canonical)", show_raw(segbase(SEGBASE_GS_KERNEL, 0x8000_0000_0000_0000)));
    t.fact("set_segment_base(GS_USER, non-canonical)", show_raw(segbase(SEGBASE_GS_USER, 0x8000_0000_0000_0000)));
    t.fact("set_segment_base(4)", show_raw(segbase(4, 0)));
    t.fact("rdmsr(FS_BASE) after the failures", msr(rdmsr(0xc000_0100), fs));
    t.fact("set_segment_base(FS, 0)", show_raw(segbase(SEGBASE_FS, 0)));
    t.fact("set_segment_base(GS_KERNEL, 0)", show_raw(segbase(SEGBASE_GS_KERNEL, 0)));
    t.fact("rdmsr(FS_BASE) after reset", msr(rdmsr(0xc000_0100), 0));
}

fn fpu_taskswitch(set: u64) -> i64 {
    // SAFETY: takes no pointer.
    unsafe { raw(HYPERVISOR_fpu_taskswitch, set, 0, 0, 0, 0) }
}

/// CR0.TS as `mov %cr0` (emulated) shows it.
fn cr0_ts() -> &'static str {
    let v: u64;
    // SAFETY: the hypervisor emulates reads of cr0 for a PV kernel.
    unsafe { core::arch::asm!("mov %cr0, {}", out(reg) v, options(att_syntax, nostack)) };
    if v & 8 != 0 { "set" } else { "clear" }
}

fn fpu(t: &mut Transcript) {
    t.fact("cr0.TS at start", cr0_ts());
    t.fact("fpu_taskswitch(1)", show_raw(fpu_taskswitch(1)));
    t.fact("cr0.TS after fpu_taskswitch(1)", cr0_ts());
    report(t, "fnop with TS set", traps::catch(|| trigger!("fnop")));
    t.fact("cr0.TS after #NM", cr0_ts());
    report(t, "fnop again", traps::catch(|| trigger!("fnop")));
    t.fact("fpu_taskswitch(1) again", show_raw(fpu_taskswitch(1)));
    report(t, "clts", traps::catch(|| trigger!("clts")));
    t.fact("cr0.TS after clts", cr0_ts());
    report(t, "fnop after clts", traps::catch(|| trigger!("fnop")));
    t.fact("fpu_taskswitch(1) then (0)", show_raw(fpu_taskswitch(1)));
    t.fact("fpu_taskswitch(0)", show_raw(fpu_taskswitch(0)));
    t.fact("cr0.TS after fpu_taskswitch(0)", cr0_ts());
    report(t, "fnop after fpu_taskswitch(0)", traps::catch(|| trigger!("fnop")));
    t.fact("fpu_taskswitch(2)", show_raw(fpu_taskswitch(2)));
    t.fact("cr0.TS after fpu_taskswitch(2)", cr0_ts());
    let _ = fpu_taskswitch(0);
}

/// Callback target: never entered (events stay masked, nothing syscalls).
extern "C" fn never_called() -> ! {
    panic!("a callback was entered");
}

fn callback_register(ty: u16, address: u64) -> i64 {
    let cb = CallbackRegister { r#type: ty, flags: 0, address };
    // SAFETY: a live struct callback_register.
    unsafe { raw(HYPERVISOR_callback_op, CALLBACKOP_register.into(), &cb as *const _ as u64, 0, 0, 0) }
}

fn callback_unregister(ty: u16) -> i64 {
    let cb = CallbackUnregister { r#type: ty, _unused: 0 };
    // SAFETY: a live struct callback_unregister.
    unsafe { raw(HYPERVISOR_callback_op, CALLBACKOP_unregister.into(), &cb as *const _ as u64, 0, 0, 0) }
}

fn callbacks(t: &mut Transcript) {
    let cb = never_called as *const () as usize as u64;
    // SAFETY: takes no pointer; the addresses are code of ours.
    t.fact("set_callbacks", show_raw(unsafe { raw(HYPERVISOR_set_callbacks, cb, cb, cb, 0, 0) }));
    // SAFETY: as above.
    t.fact("set_callbacks(non-canonical event)", show_raw(unsafe { raw(HYPERVISOR_set_callbacks, 0x8000_0000_0000_0000, cb, cb, 0, 0) }));
    for (name, ty) in [
        ("event", CALLBACKTYPE_event),
        ("failsafe", CALLBACKTYPE_failsafe),
        ("syscall", CALLBACKTYPE_syscall),
        ("sysenter_deprecated", CALLBACKTYPE_sysenter_deprecated),
        ("nmi", CALLBACKTYPE_nmi),
        ("sysenter", CALLBACKTYPE_sysenter),
        ("type 6", 6),
        ("syscall32", CALLBACKTYPE_syscall32),
        ("type 8", 8),
    ] {
        let mut k = Key::new("callback_op register ");
        t.fact(k.with(name), show_raw(callback_register(ty, cb)));
    }
    t.fact("callback_op register event non-canonical", show_raw(callback_register(CALLBACKTYPE_event, 0x8000_0000_0000_0000)));
    t.fact("callback_op register nmi non-canonical", show_raw(callback_register(CALLBACKTYPE_nmi, 0x8000_0000_0000_0000)));
    for (name, ty) in [("event", CALLBACKTYPE_event), ("syscall", CALLBACKTYPE_syscall), ("nmi", CALLBACKTYPE_nmi), ("type 8", 8)] {
        let mut k = Key::new("callback_op unregister ");
        t.fact(k.with(name), show_raw(callback_unregister(ty)));
    }
    let cbr = CallbackRegister { r#type: CALLBACKTYPE_event, flags: 0, address: cb };
    // SAFETY: a live struct; the command is invalid.
    t.fact("callback_op command 2", show_raw(unsafe { raw(HYPERVISOR_callback_op, 2, &cbr as *const _ as u64, 0, 0, 0) }));
}

/// Forced-emulation CPUID: `(eax, ebx, ecx, edx)`, or `None` on a trap.
fn xen_cpuid(leaf: u32) -> Option<[u32; 4]> {
    let (a, b, c, d): (u32, u64, u32, u32);
    let before = traps::count();
    // SAFETY: the hypervisor emulates `ud2; .ascii "xen"; cpuid`; should it
    // raise #UD instead, the handler resumes at 2; rbx is saved around it.
    unsafe {
        core::arch::asm!(
            "mov %rbx, {b}",
            "lea 1f(%rip), {t}",
            "mov {t}, ({at})",
            "lea 2f(%rip), {t}",
            "mov {t}, ({resume})",
            "1:",
            "ud2",
            ".ascii \"xen\"",
            "cpuid",
            "2:",
            "movq $0, ({resume})",
            "xchg {b}, %rbx",
            b = out(reg) b,
            t = out(reg) _,
            at = in(reg) traps::TRIGGER_AT.as_ptr(),
            resume = in(reg) traps::RESUME.as_ptr(),
            inout("eax") leaf => a,
            inout("ecx") 0u32 => c,
            out("edx") d,
            options(att_syntax)
        );
    }
    (traps::count() == before).then_some([a, b as u32, c, d])
}

fn cpuid(t: &mut Transcript) {
    match xen_cpuid(0x4000_0000) {
        None => t.fact("cpuid 0x40000000", "trap"),
        Some([a, b, c, d]) => {
            let mut sig = [0u8; 12];
            sig[..4].copy_from_slice(&b.to_le_bytes());
            sig[4..8].copy_from_slice(&c.to_le_bytes());
            sig[8..].copy_from_slice(&d.to_le_bytes());
            t.fact("cpuid 0x40000000 signature", pv_guests::fmt::Bytes(&sig));
            t.fact("cpuid 0x40000000 max leaf", format_args!("{a:#x}"));
        }
    }
    match xen_cpuid(0x4000_0001) {
        None => t.fact("cpuid 0x40000001", "trap"),
        Some([a, ..]) => t.fact("cpuid 0x40000001 version", format_args!("{}.{}", a >> 16, a & 0xffff)),
    }
}

fn set_iopl(iopl: u32) -> i64 {
    let arg = PhysdevSetIopl { iopl };
    // SAFETY: a live struct physdev_set_iopl.
    unsafe { raw(HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl.into(), &arg as *const _ as u64, 0, 0, 0) }
}

/// Value of the last `in` (for the transcript).
static PORT_VALUE: AtomicU64 = AtomicU64::new(0);

fn port_in() -> Option<Trap> {
    traps::catch(|| {
        let mut v = 0u64;
        trigger!("inb $0x80, %al"; inout("rax") 0x5au64 => v);
        PORT_VALUE.store(v & 0xff, Ordering::Relaxed);
    })
}

fn ports(t: &mut Transcript) {
    report(t, "inb 0x80 (iopl 0)", port_in());
    report(t, "outb 0x80 (iopl 0)", traps::catch(|| trigger!("outb %al, $0x80"; in("al") 0u8)));
    t.fact("physdev_op(set_iopl 1)", show_raw(set_iopl(1)));
    let trap = port_in();
    report(t, "inb 0x80 (iopl 1)", trap);
    if trap.is_none() {
        t.fact("inb 0x80 value", format_args!("{:#x}", PORT_VALUE.load(Ordering::Relaxed)));
    }
    report(t, "outb 0x80 (iopl 1)", traps::catch(|| trigger!("outb %al, $0x80"; in("al") 0u8)));
    report(t, "int3 (iopl 1)", traps::catch(|| trigger!("int3")));
    report(t, "cli (iopl 1)", traps::catch(|| trigger!("cli")));
    report(t, "sti (iopl 1)", traps::catch(|| trigger!("sti")));
    t.fact("physdev_op(set_iopl 3)", show_raw(set_iopl(3)));
    report(t, "inb 0x80 (iopl 3)", port_in());
    t.fact("physdev_op(set_iopl 4)", show_raw(set_iopl(4)));
    t.fact("physdev_op(set_iopl 0)", show_raw(set_iopl(0)));
    report(t, "inb 0x80 (iopl 0 again)", port_in());
}
