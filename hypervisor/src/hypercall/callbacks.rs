//! Guest entry points and kernel-state hypercalls: `set_trap_table`,
//! `set_callbacks`, `callback_op`, `stack_switch`, `set_segment_base`,
//! `fpu_taskswitch`.

use dom0_abi::arch_x86::{TrapInfo, SEGBASE_FS, SEGBASE_GS_KERNEL, SEGBASE_GS_USER, SEGBASE_GS_USER_SEL};
use dom0_abi::callback::*;
use dom0_abi::Errno;
use x86_64::registers::model_specific::Msr;

use super::{err, HcResult};
use crate::arch::x86_64::uaccess::read_guest;
use crate::domain::Vcpu;

/// Most trap-table entries read in one call (the table has 256 vectors; a
/// longer list without terminator is refused rather than walked forever).
const MAX_TRAP_ENTRIES: u64 = 4096;

use crate::pv::canonical;

/// `set_trap_table(traps)`: install entries until one with address 0; a
/// null list clears the table.
pub fn set_trap_table(v: &mut Vcpu, list: u64) -> HcResult {
    if list == 0 {
        v.trap_table = [TrapInfo { vector: 0, flags: 0, cs: 0, address: 0 }; 256];
        return Ok(0);
    }
    for i in 0..MAX_TRAP_ENTRIES {
        let t: TrapInfo = read_guest(list + i * core::mem::size_of::<TrapInfo>() as u64).map_err(|_| Errno::EFAULT)?;
        if t.address == 0 {
            return Ok(0);
        }
        if !canonical(t.address) {
            return err(Errno::EINVAL);
        }
        v.trap_table[usize::from(t.vector)] = TrapInfo { cs: t.cs | 3, ..t };
    }
    err(Errno::E2BIG)
}

/// `stack_switch(ss, sp)`: the guest kernel stack for entries from user.
pub fn stack_switch(v: &mut Vcpu, ss: u64, sp: u64) -> HcResult {
    v.kernel_ss = ss | 3;
    v.kernel_sp = sp;
    Ok(0)
}

fn register(v: &mut Vcpu, kind: u16, flags: u16, address: u64) -> HcResult {
    if !canonical(address) {
        return err(Errno::EINVAL);
    }
    let mask = flags & CALLBACKF_mask_events != 0;
    let cb = &mut v.callbacks;
    match kind {
        CALLBACKTYPE_event => cb.event = address,
        CALLBACKTYPE_failsafe => {
            cb.failsafe = address;
            cb.failsafe_disables_events = mask;
        }
        CALLBACKTYPE_syscall => {
            cb.syscall = address;
            cb.syscall_disables_events = mask;
        }
        CALLBACKTYPE_syscall32 => cb.syscall32 = address,
        CALLBACKTYPE_sysenter => {}
        CALLBACKTYPE_nmi => {
            // As Xen's `register_guest_nmi_callback`: the NMI is delivered
            // through vector 2 of the virtual IDT, with events masked.
            cb.nmi = address;
            v.trap_table[2] = dom0_abi::arch_x86::TrapInfo {
                vector: 2,
                flags: 4,
                cs: dom0_abi::arch_x86::FLAT_KERNEL_CS,
                address,
            };
        }
        _ => return err(Errno::ENOSYS),
    }
    Ok(0)
}

/// `set_callbacks(event, failsafe, syscall)`: like Xen, each address is
/// registered if valid (a non-canonical one is skipped) and the call
/// itself always succeeds.
pub fn set_callbacks(v: &mut Vcpu, event: u64, failsafe: u64, syscall: u64) -> HcResult {
    let _ = register(v, CALLBACKTYPE_event, 0, event);
    let _ = register(v, CALLBACKTYPE_failsafe, 0, failsafe);
    let _ = register(v, CALLBACKTYPE_syscall, 0, syscall);
    Ok(0)
}

/// `callback_op(cmd, arg)`: register or unregister one callback.
pub fn callback_op(v: &mut Vcpu, cmd: u32, arg: u64) -> HcResult {
    match cmd {
        CALLBACKOP_register => {
            let r: CallbackRegister = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            register(v, r.r#type, r.flags, r.address)
        }
        CALLBACKOP_unregister => {
            let r: CallbackUnregister = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            match r.r#type {
                CALLBACKTYPE_event | CALLBACKTYPE_failsafe | CALLBACKTYPE_syscall => err(Errno::EINVAL),
                CALLBACKTYPE_nmi => {
                    v.callbacks.nmi = 0;
                    v.trap_table[2] = dom0_abi::arch_x86::TrapInfo::default();
                    Ok(0)
                }
                _ => err(Errno::ENOSYS),
            }
        }
        _ => err(Errno::ENOSYS),
    }
}

/// `fpu_taskswitch(set)`: the guest's virtual CR0.TS, reflected in the
/// real one while it runs.
pub fn fpu_taskswitch(v: &mut Vcpu, set: u64) -> HcResult {
    v.cr0_ts = set != 0;
    if v.cr0_ts {
        crate::arch::x86_64::fpu::stts();
    } else {
        crate::arch::x86_64::fpu::clts();
    }
    Ok(0)
}

const MSR_FS_BASE: u32 = 0xc000_0100;
const MSR_GS_BASE: u32 = 0xc000_0101;
const MSR_SHADOW_GS_BASE: u32 = 0xc000_0102;

/// `set_segment_base(which, value)`.
pub fn set_segment_base(v: &mut Vcpu, which: u32, value: u64) -> HcResult {
    match which {
        SEGBASE_FS | SEGBASE_GS_USER | SEGBASE_GS_KERNEL if !canonical(value) => err(Errno::EINVAL),
        SEGBASE_FS => {
            v.fs_base = value;
            // SAFETY: canonical base of the guest's own FS.
            unsafe { Msr::new(MSR_FS_BASE).write(value) };
            Ok(0)
        }
        SEGBASE_GS_USER => {
            v.gs_base_user = value;
            // SAFETY: in guest kernel mode the user GS base is the shadow.
            unsafe { Msr::new(MSR_SHADOW_GS_BASE).write(value) };
            Ok(0)
        }
        SEGBASE_GS_KERNEL => {
            v.gs_base_kernel = value;
            // SAFETY: the active GS base of the guest kernel.
            unsafe { Msr::new(MSR_GS_BASE).write(value) };
            Ok(0)
        }
        SEGBASE_GS_USER_SEL => {
            // A selector that cannot be loaded loads null, as on Xen.
            crate::arch::x86_64::uaccess::load_user_gs((value as u16) | 3);
            Ok(0)
        }
        _ => err(Errno::EINVAL),
    }
}
