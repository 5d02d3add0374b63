//! Trap dispatch: the Rust side of the entry stubs.
//!
//! For now every exception taken by the hypervisor is fatal: the CPU prints
//! a full register dump (vector, error code, CR2, every register, the
//! faulting RIP) and halts. Interrupts go to their device handlers.

use x86_64::registers::control::{Cr0, Cr2, Cr3, Cr4};

use super::{apic, cpu};
use crate::console::print_emergency;

/// Register frame built by `trap_common`, in the order of Xen's
/// `cpu_user_regs` up to `ss`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
#[allow(missing_docs)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    /// Hardware error code (0 where the vector has none).
    pub error_code: u32,
    /// The vector that was taken.
    pub entry_vector: u32,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// Mnemonic and description of exception vectors.
pub fn exception_name(vector: u32) -> (&'static str, &'static str) {
    match vector {
        0 => ("#DE", "divide error"),
        1 => ("#DB", "debug"),
        2 => ("NMI", "non-maskable interrupt"),
        3 => ("#BP", "breakpoint"),
        4 => ("#OF", "overflow"),
        5 => ("#BR", "bound range"),
        6 => ("#UD", "invalid opcode"),
        7 => ("#NM", "device not available"),
        8 => ("#DF", "double fault"),
        10 => ("#TS", "invalid TSS"),
        11 => ("#NP", "segment not present"),
        12 => ("#SS", "stack fault"),
        13 => ("#GP", "general protection"),
        14 => ("#PF", "page fault"),
        16 => ("#MF", "x87 floating point"),
        17 => ("#AC", "alignment check"),
        18 => ("#MC", "machine check"),
        19 => ("#XM", "SIMD floating point"),
        20 => ("#VE", "virtualization"),
        21 => ("#CP", "control protection"),
        _ => ("#??", "reserved"),
    }
}

/// Entry from `trap_common` with interrupts disabled.
#[unsafe(no_mangle)]
extern "C" fn hv_trap(frame: &mut TrapFrame) {
    match frame.entry_vector {
        0..=31 if frame.cs & 3 == 3 => crate::pv::traps::guest_exception(frame),
        0x80 if frame.cs & 3 == 3 => crate::pv::traps::int80(frame),
        // A guest's hardware breakpoint hit by the hypervisor touching guest
        // memory for it: a trap, nothing to undo; the guest's DR6 keeps it.
        1 => {}
        14 if frame.error_code & crate::pv::traps::PFEC_PK != 0
            && super::uaccess::fixup_for(frame.rip).is_some()
            && crate::domain::current().is_some_and(|v| crate::mm::log_dirty_ops::pk_fault(v.domain.domid, Cr2::read_raw())) => {
            // The hypervisor wrote guest memory through an armed entry of a
            // domain in log-dirty mode: recorded, and the access retried.
        }
        0..=31 => {
            // A guest-memory access that faulted resumes at its fixup.
            match super::uaccess::fixup_for(frame.rip) {
                Some(fixup) if matches!(frame.entry_vector, 11 | 13 | 14) => frame.rip = fixup,
                _ => fatal_exception(frame),
            }
        }
        apic::TIMER_VECTOR => apic::timer_interrupt(),
        apic::FLUSH_VECTOR => {
            apic::eoi();
            crate::mm::tlbflush::service();
        }
        // Only to interrupt: the way out looks at the run queue and events.
        apic::EVENT_CHECK_VECTOR => apic::eoi(),
        v if crate::irq::is_gsi_vector(v) => crate::irq::interrupt(v),
        v if v == crate::console::input::SERIAL_VECTOR => {
            crate::console::input::interrupt();
            apic::eoi();
        }
        apic::SPURIOUS_VECTOR => {}
        v => {
            log::warn!("unexpected interrupt vector {v:#x} on CPU{}", cpu::this_cpu().cpu_id);
            apic::eoi();
        }
    }
    if frame.cs & 3 == 3 {
        crate::pv::return_to_guest(frame);
    }
}

/// Print the register dump of an exception the hypervisor took, then halt.
fn fatal_exception(f: &TrapFrame) -> ! {
    macro_rules! p {
        ($($arg:tt)*) => { print_emergency(format_args!($($arg)*)) };
    }
    let cpu = cpu::this_cpu().cpu_id;
    let (mnemonic, name) = exception_name(f.entry_vector);
    p!("----[ hypervisor fatal exception on CPU{cpu} ]----\n");
    p!(
        "vector {} ({mnemonic} {name}), error code {:#06x}\n",
        f.entry_vector, f.error_code
    );
    p!("CR2: {:016x}\n", Cr2::read_raw());
    p!("RIP: {:04x}:[<{:016x}>]  RFLAGS: {:016x}\n", f.cs, f.rip, f.rflags);
    p!("rax: {:016x}   rbx: {:016x}   rcx: {:016x}\n", f.rax, f.rbx, f.rcx);
    p!("rdx: {:016x}   rsi: {:016x}   rdi: {:016x}\n", f.rdx, f.rsi, f.rdi);
    p!("rbp: {:016x}   rsp: {:016x}   r8:  {:016x}\n", f.rbp, f.rsp, f.r8);
    p!("r9:  {:016x}   r10: {:016x}   r11: {:016x}\n", f.r9, f.r10, f.r11);
    p!("r12: {:016x}   r13: {:016x}   r14: {:016x}\n", f.r12, f.r13, f.r14);
    p!("r15: {:016x}   ss:  {:04x}   cs: {:04x}\n", f.r15, f.ss, f.cs);
    let (cr3, _) = Cr3::read_raw();
    p!(
        "cr0: {:016x}   cr3: {:016x}   cr4: {:016x}\n",
        Cr0::read_raw(),
        cr3.start_address().as_u64(),
        Cr4::read_raw()
    );
    p!("Fatal exception in hypervisor context: CPU{cpu} halted.\n");
    super::halt_forever()
}
