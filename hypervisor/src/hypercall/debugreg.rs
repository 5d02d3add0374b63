//! `set_debugreg` and `get_debugreg`: the guest's debug registers, checked
//! by [`crate::debugreg::check`], kept per vCPU and loaded into the
//! hardware while the vCPU runs.

use dom0_abi::Errno;

use super::{err, HcResult};
use crate::debugreg::check;
use crate::domain::Vcpu;

/// `set_debugreg(reg, value)`.
pub fn set_debugreg(v: &mut Vcpu, reg: u64, value: u64) -> HcResult {
    let reg = reg as u32;
    let value = check(reg, value)?;
    // DR4/DR5 alias DR6/DR7 without CR4.DE.
    let slot = match reg {
        4 => 6,
        5 => 7,
        r => r,
    } as usize;
    v.debugreg[slot] = value;
    crate::arch::x86_64::debugreg::write(slot, value);
    Ok(0)
}

/// `get_debugreg(reg)`: the value, or `ENODEV` for no such register.
pub fn get_debugreg(v: &Vcpu, reg: u64) -> HcResult {
    let slot = match reg {
        0..=3 | 6 | 7 => reg as usize,
        4 => 6,
        5 => 7,
        _ => return err(Errno::ENODEV),
    };
    Ok(v.debugreg[slot] as i64)
}
