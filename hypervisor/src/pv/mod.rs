//! The x86-64 PV execution model.
//!
//! Guest kernel and guest user space both run in ring 3; the hypervisor
//! tracks which one is running ([`crate::domain::Vcpu::kernel_mode`]).
//! SYSCALL from the guest kernel is a hypercall; from guest user space it is
//! bounced to the guest kernel's syscall callback. Exceptions are bounced to
//! the guest's virtual IDT (`set_trap_table`) with Xen's frame layout; a
//! guest that cannot take an exception is crashed, never the hypervisor.

pub mod bounce;
pub mod context;
pub mod emulate;
pub mod hypercall_page;
pub mod pci_cfg;
pub mod ptwr;
pub mod traps;

use dom0_abi::arch_x86::{VGCF_in_syscall, HYPERVISOR_VIRT_END, HYPERVISOR_VIRT_START};
use x86_64::registers::model_specific::Msr;

use crate::arch::x86_64::paging;
use crate::arch::x86_64::traps::TrapFrame;
use crate::domain::{self, ShutdownReason, Vcpu};

/// `entry_vector` of a frame built by the 64-bit SYSCALL path.
pub const ENTRY_SYSCALL: u32 = 0x100;
/// `entry_vector` of a frame built by the compatibility-mode SYSCALL path.
pub const ENTRY_SYSCALL32: u32 = 0x101;

const MSR_FS_BASE: u32 = 0xc000_0100;
const MSR_GS_BASE: u32 = 0xc000_0101;
const MSR_SHADOW_GS_BASE: u32 = 0xc000_0102;

/// Whether a guest address may be used as a guest stack or entry point.
pub fn guest_addr_ok(addr: u64) -> bool {
    !(HYPERVISOR_VIRT_START..HYPERVISOR_VIRT_END).contains(&addr)
}

/// Load the page tables and GS bases of `v`'s current mode. The FS base is
/// the same in both modes, so it stays in its register across mode
/// switches (see [`run`]).
pub fn load_guest_context(v: &Vcpu) {
    let root = if v.kernel_mode || v.guest_table_user == 0 { v.guest_table } else { v.guest_table_user };
    // SAFETY: the guest's root shares the hypervisor's L4 slots, so the
    // hypervisor stays mapped; the MSRs hold guest-chosen canonical values
    // (checked when set).
    unsafe {
        paging::load_cr3(root << 12);
        crate::mm::tlbflush::flushed();
        let (active, inactive) =
            if v.kernel_mode { (v.gs_base_kernel, v.gs_base_user) } else { (v.gs_base_user, v.gs_base_kernel) };
        Msr::new(MSR_GS_BASE).write(active);
        Msr::new(MSR_SHADOW_GS_BASE).write(inactive);
    }
}

/// Switch `v` between guest kernel and guest user mode.
pub fn toggle_guest_mode(v: &mut Vcpu) {
    // Remember the active GS base of the mode we leave (it may have
    // changed through WRGSBASE).
    // SAFETY: reading the architectural GS base MSR.
    let gs = unsafe { Msr::new(MSR_GS_BASE).read() };
    if v.kernel_mode {
        v.gs_base_kernel = gs;
    } else {
        v.gs_base_user = gs;
    }
    v.kernel_mode = !v.kernel_mode;
    load_guest_context(v);
    if v.kernel_mode && v.runstate.pending {
        crate::domain::runstate::publish(v);
    }
}

/// Start running `v` with `frame` on this CPU; never returns.
pub fn run(v: &'static mut Vcpu, frame: &TrapFrame) -> ! {
    v.frame = *frame;
    v.online.store(true, core::sync::atomic::Ordering::Release);
    let top = guest_frame_ptr();
    // SAFETY: the frame slot at the top of this CPU's primary stack is free
    // (we are not running on it: callers come from boot code below it).
    let regs = unsafe { &mut *top };
    context::load(v, regs);
    crate::sched::schedule(regs);
    crate::timer::reprogram();
    resume_current(regs)
}

/// Leave the hypervisor for the current vCPU with `regs` (the frame at the
/// top of this CPU's primary stack), abandoning the Rust stack below it.
pub fn resume_current(regs: &mut TrapFrame) -> ! {
    unsafe extern "C" {
        fn resume_frame(frame: *mut TrapFrame) -> !;
    }
    // SAFETY: the frame is a valid ring-3 iret frame of the current vCPU
    // (built by an entry or loaded by a context switch).
    unsafe { resume_frame(regs) }
}

/// Where the frame of the running guest lives: the top of this CPU's
/// primary stack.
pub fn guest_frame_ptr() -> *mut TrapFrame {
    let top = crate::arch::x86_64::cpu::primary_stack_top(crate::arch::x86_64::cpu::this_block());
    (top - core::mem::size_of::<TrapFrame>() as u64) as *mut TrapFrame
}

/// SYSCALL entry (from `syscall_enter`), interrupts masked.
#[unsafe(no_mangle)]
extern "C" fn hv_syscall(regs: &mut TrapFrame) {
    let Some(v) = domain::current() else {
        crate::arch::x86_64::halt_forever();
    };
    if regs.entry_vector == ENTRY_SYSCALL32 || !v.kernel_mode {
        bounce::syscall_from_user(v, regs);
    } else {
        crate::hypercall::dispatch(v, regs);
    }
    exit_to_guest(regs);
}

/// Work deferred from interrupt handlers, done where no vCPU is
/// borrowed: due timers, console input and physical interrupts for dom0.
pub fn softirqs() {
    crate::timer::run_pending();
    crate::console::input::deliver();
    crate::irq::deliver();
}

/// The way out to a guest with `regs` the frame at the top of this CPU's
/// primary stack: deferred work, a possible switch to another vCPU, then
/// the events pending for the one that runs.
fn exit_to_guest(regs: &mut TrapFrame) {
    softirqs();
    crate::sched::schedule(regs);
    if let Some(v) = domain::current() {
        bounce::deliver_events(v, regs);
    }
    // Nothing found in the hypervisor is held past this point.
    crate::rcu::quiescent();
}

/// Leaving the hypervisor for a guest after a trap or interrupt taken in
/// guest context: deliver pending events. Only a frame at the top of the
/// primary stack may be switched away from (not one on an IST stack).
pub fn return_to_guest(regs: &mut TrapFrame) {
    if core::ptr::eq(regs, guest_frame_ptr()) {
        exit_to_guest(regs);
    } else if let Some(v) = domain::current() {
        bounce::deliver_events(v, regs);
    }
}

/// `HYPERVISOR_iret`: return from a bounce frame (Xen's `do_iret`).
/// Returns the RAX to leave in the frame.
pub fn do_iret(v: &mut Vcpu, regs: &mut TrapFrame) -> u64 {
    let ctx: dom0_abi::arch_x86::IretContext = match crate::arch::x86_64::uaccess::read_guest(regs.rsp) {
        Ok(c) => c,
        Err(_) => crash(v, regs, "fault while reading the IRET context from the guest stack"),
    };
    if ctx.cs & 3 == 3 {
        if v.guest_table_user == 0 {
            crash(v, regs, "guest switching to user mode with no user page tables");
        }
        toggle_guest_mode(v);
    }
    // IRETQ faults in ring 0 on a non-canonical RIP or an unusable CS/SS:
    // such a frame crashes the guest, never the hypervisor.
    let (cs, ss) = ((ctx.cs | 3) as u16, (ctx.ss | 3) as u16);
    if !canonical(ctx.rip) || !selector_ok(v, cs, SegKind::Code) || !selector_ok(v, ss, SegKind::Stack) {
        crash(v, regs, "iret to a non-canonical address or an unusable segment");
    }
    regs.rip = ctx.rip;
    regs.cs = u64::from(cs);
    regs.rflags = (ctx.rflags & !((3 << 12) | (1 << 17))) | (1 << 9);
    regs.rsp = ctx.rsp;
    regs.ss = u64::from(ss);
    if ctx.flags & VGCF_in_syscall == 0 {
        regs.r11 = ctx.r11;
        regs.rcx = ctx.rcx;
    }
    // Returning from an iret context is never a plain SYSCALL return.
    regs.entry_vector = 0;
    // The end of an NMI handler (Xen's `async_exception_cleanup`).
    v.nmi_masked = false;
    if let Some(vi) = v.vcpu_info() {
        vi.evtchn_upcall_mask = u8::from(ctx.rflags & (1 << 9) == 0);
    }
    ctx.rax
}

/// Whether `a` is a canonical 48-bit virtual address.
pub fn canonical(a: u64) -> bool {
    ((a as i64) << 16 >> 16) as u64 == a
}

/// What a selector is about to be loaded as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SegKind {
    /// CS.
    Code,
    /// SS.
    Stack,
}

/// Whether `sel` names a present ring-3 segment of the right kind in the
/// GDT (guest entries or the flat ones) or the guest LDT.
fn selector_ok(v: &Vcpu, sel: u16, kind: SegKind) -> bool {
    use crate::arch::x86_64::gdt;
    if sel & !3 == 0 {
        return false; // a null CS or SS cannot be loaded for ring 3
    }
    let index = usize::from(sel >> 3);
    let desc = if sel & 4 != 0 {
        v.ldt.get(index).copied()
    } else if (index as u64) < gdt::FIRST_RESERVED_GDT_ENTRY {
        v.gdt.get(index).copied()
    } else {
        match sel {
            gdt::FLAT_RING3_CS64 | gdt::FLAT_RING3_CS32 if kind == SegKind::Code => return true,
            gdt::FLAT_RING3_DS32 if kind == SegKind::Stack => return true,
            _ => return false,
        }
    };
    let Some(d) = desc else { return false };
    let present = d & (1 << 47) != 0;
    let dpl3 = (d >> 45) & 3 == 3;
    let user_seg = d & (1 << 44) != 0;
    let code = d & (1 << 43) != 0;
    let writable = d & (1 << 41) != 0;
    present
        && dpl3
        && user_seg
        && match kind {
            SegKind::Code => code,
            SegKind::Stack => !code && writable,
        }
}

/// Crash the running domain: print why and its registers, then carry out
/// the crash (for dom0: the host stops, as on Xen).
pub fn crash(v: &mut Vcpu, regs: &TrapFrame, why: &str) -> ! {
    log::error!("domain {} vcpu {} crashed: {why}", v.domain.domid, v.vcpu_id);
    dump_guest_registers(v, regs);
    shutdown(v, ShutdownReason::Crash)
}

/// Print a guest register dump (`(XEN)`-prefixed, as Xen does).
pub fn dump_guest_registers(v: &Vcpu, f: &TrapFrame) {
    crate::printk!(
        "----[ d{}v{} guest state ({} mode) ]----\n",
        v.domain.domid,
        v.vcpu_id,
        if v.kernel_mode { "kernel" } else { "user" }
    );
    crate::printk!("RIP: {:04x}:[<{:016x}>]  RFLAGS: {:016x}\n", f.cs, f.rip, f.rflags);
    crate::printk!("rax: {:016x}   rbx: {:016x}   rcx: {:016x}\n", f.rax, f.rbx, f.rcx);
    crate::printk!("rdx: {:016x}   rsi: {:016x}   rdi: {:016x}\n", f.rdx, f.rsi, f.rdi);
    crate::printk!("rbp: {:016x}   rsp: {:016x}   r8:  {:016x}\n", f.rbp, f.rsp, f.r8);
    crate::printk!("r9:  {:016x}   r10: {:016x}   r11: {:016x}\n", f.r9, f.r10, f.r11);
    crate::printk!("r12: {:016x}   r13: {:016x}   r14: {:016x}\n", f.r12, f.r13, f.r14);
    crate::printk!("r15: {:016x}   ss:  {:04x}   cs: {:04x}\n", f.r15, f.ss, f.cs);
    // The error code as the guest kernel would have seen it (page faults
    // in guest kernel mode are supervisor faults), and CR2.
    let ec = if f.entry_vector == 14 && v.kernel_mode { f.error_code & !4 } else { f.error_code };
    crate::printk!(
        "cr2: {:016x}   cr3: {:016x}   vector: {:#x}   error code: {:#06x}\n",
        x86_64::registers::control::Cr2::read_raw(),
        v.guest_table << 12,
        f.entry_vector,
        ec
    );
}

/// Carry out a domain shutdown requested by (or forced on) its running
/// vCPU `v`, whose frame is at the top of the stack. A domU stops running
/// and the control domain hears of it (`VIRQ_DOM_EXC`); its registers are
/// kept, with the hypercall's result 0, for the toolstack (save, or resume
/// after a cancelled suspend). Dom0's shutdown stops the host, as Xen's
/// does (power off, reboot, or halt on crash with `noreboot`).
pub fn shutdown(v: &mut Vcpu, reason: ShutdownReason) -> ! {
    let d = v.domain;
    if !d.is_privileged || d.domid != 0 {
        crate::domain::destroy::shutdown(d, reason);
        // SAFETY: the running vCPU's frame at the top of the stack.
        let regs = unsafe { &mut *guest_frame_ptr() };
        if matches!(regs.entry_vector, ENTRY_SYSCALL | ENTRY_SYSCALL32) {
            regs.rax = 0;
        }
        crate::sched::leave(v)
    }
    d.state.lock().shutdown = Some(reason);
    match reason {
        ShutdownReason::Poweroff => {
            crate::printk!("Hardware Dom0 halted: powering off\n");
            crate::arch::x86_64::power::power_off()
        }
        ShutdownReason::Reboot => {
            crate::printk!("Hardware Dom0 shutdown: rebooting machine\n");
            crate::arch::x86_64::power::reboot()
        }
        ShutdownReason::Crash | ShutdownReason::Watchdog => {
            if crate::setup::noreboot() {
                crate::printk!("Hardware Dom0 crashed: 'noreboot' set - not rebooting.\n");
                crate::arch::x86_64::halt_forever()
            }
            crate::printk!("Hardware Dom0 crashed: rebooting machine.\n");
            crate::arch::x86_64::power::reboot()
        }
        ShutdownReason::Suspend | ShutdownReason::SoftReset => {
            crate::printk!("Hardware Dom0 shutdown ({reason:?}): halting machine\n");
            crate::arch::x86_64::power::power_off()
        }
    }
}
