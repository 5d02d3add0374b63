//! The hypercall table: one function per hypercall family, each parsing
//! its guest arguments into typed values once and answering with Xen's
//! errno values. Unknown numbers give `-ENOSYS`.

pub mod callbacks;
pub mod console_io;
pub mod debugreg;
pub mod descriptor;
pub mod event_channel;
pub mod event_fifo;
pub mod grant_table;
pub mod mca;
pub mod memory;
pub mod mm;
pub mod multicall;
pub mod physdev;
pub mod platform;
pub mod sched;
pub mod vcpu;
pub mod vm_assist;
pub mod xen_version;

use dom0_abi::hypercall as nr;
use dom0_abi::Errno;

use crate::arch::x86_64::traps::TrapFrame;
use crate::domain::Vcpu;

/// Result of a hypercall: a non-negative value or a Xen errno.
pub type HcResult = Result<i64, Errno>;

/// Shorthand for an errno result.
pub fn err(e: Errno) -> HcResult {
    Err(e)
}

/// Entry from SYSCALL in guest kernel mode: `rax` = number, arguments in
/// `rdi, rsi, rdx, r10, r8, r9`; the result goes back in `rax`.
pub fn dispatch(v: &mut Vcpu, regs: &mut TrapFrame) {
    if regs.rax == nr::HYPERVISOR_iret {
        regs.rax = crate::pv::do_iret(v, regs);
        return;
    }
    let op = regs.rax;
    let args = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
    let r = call(v, regs, op, args);
    if r == Err(Errno::ENOSYS) {
        log::debug!("d{}v{}: hypercall {op} ({:#x}, {:#x}) not implemented", v.domain.domid, v.vcpu_id, args[0], args[1]);
    }
    match v.continuation.take() {
        // A preempted batch: re-execute the guest's SYSCALL (2 bytes) with
        // the advanced arguments, as Xen's hypercall continuations do.
        Some(next) => {
            regs.rax = op;
            [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9] = next;
            regs.rip -= 2;
        }
        None => regs.rax = encode(r),
    }
}

/// The value left in `rax` for a result.
pub fn encode(r: HcResult) -> u64 {
    match r {
        Ok(v) => v as u64,
        Err(e) => e.as_neg() as u64,
    }
}

/// Run hypercall `op` with `args` (also used by `multicall`).
pub fn call(v: &mut Vcpu, regs: &mut TrapFrame, op: u64, a: [u64; 6]) -> HcResult {
    match op {
        nr::HYPERVISOR_set_trap_table => callbacks::set_trap_table(v, a[0]),
        nr::HYPERVISOR_stack_switch => callbacks::stack_switch(v, a[0], a[1]),
        nr::HYPERVISOR_set_callbacks => callbacks::set_callbacks(v, a[0], a[1], a[2]),
        nr::HYPERVISOR_fpu_taskswitch => callbacks::fpu_taskswitch(v, a[0]),
        nr::HYPERVISOR_set_segment_base => callbacks::set_segment_base(v, a[0] as u32, a[1]),
        nr::HYPERVISOR_callback_op => callbacks::callback_op(v, a[0] as u32, a[1]),
        nr::HYPERVISOR_console_io => console_io::console_io(v, a[0] as u32, a[1], a[2]),
        nr::HYPERVISOR_xen_version => xen_version::xen_version(v, a[0] as u32, a[1]),
        nr::HYPERVISOR_sched_op => sched::sched_op(v, regs, a[0] as u32, a[1]),
        nr::HYPERVISOR_vm_assist => vm_assist::vm_assist(v, a[0] as u32, a[1] as u32),
        nr::HYPERVISOR_multicall => multicall::multicall(v, regs, a[0], a[1]),
        nr::HYPERVISOR_physdev_op => physdev::physdev_op(v, a[0] as u32, a[1]),
        nr::HYPERVISOR_update_va_mapping => mm::update_va_mapping(v, a[0], a[1], a[2]),
        nr::HYPERVISOR_update_va_mapping_otherdomain => mm::update_va_mapping_otherdomain(v, a[0], a[1], a[2], a[3]),
        nr::HYPERVISOR_memory_op => memory::memory_op(v, a[0], a[1]),
        nr::HYPERVISOR_set_timer_op => vcpu::set_timer_op(v, a[0]),
        // Xen's vcpu_op takes its vCPU id as an unsigned int: the upper
        // half of the register is ignored.
        nr::HYPERVISOR_vcpu_op => vcpu::vcpu_op(v, a[0] as u32, u64::from(a[1] as u32), a[2]),
        nr::HYPERVISOR_grant_table_op => grant_table::grant_table_op(v, a[0], a[1], a[2]),
        nr::HYPERVISOR_event_channel_op => event_channel::event_channel_op(v, a[0] as u32, a[1]),
        nr::HYPERVISOR_mmu_update => mm::mmu_update(v, a[0], a[1], a[2], a[3]),
        nr::HYPERVISOR_mmuext_op => mm::mmuext_op(v, a[0], a[1], a[2], a[3]),
        nr::HYPERVISOR_set_gdt => descriptor::set_gdt(v, a[0], a[1]),
        nr::HYPERVISOR_update_descriptor => descriptor::update_descriptor(v, a[0], a[1]),
        nr::HYPERVISOR_platform_op => platform::platform_op(v, a[0]),
        nr::HYPERVISOR_sysctl => crate::sysctl::sysctl(v, a[0]),
        nr::HYPERVISOR_mca => mca::mca(v, a[0]),
        nr::HYPERVISOR_domctl => crate::domctl::domctl(v, a[0]),
        nr::HYPERVISOR_set_debugreg => debugreg::set_debugreg(v, a[0], a[1]),
        nr::HYPERVISOR_get_debugreg => debugreg::get_debugreg(v, u64::from(a[0] as u32)),
        // No virtual PMU (Xen 4.17's default, `vpmu=0`).
        nr::HYPERVISOR_xenpmu_op => err(Errno::EOPNOTSUPP),
        _ => err(Errno::ENOSYS),
    }
}
