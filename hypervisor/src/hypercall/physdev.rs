//! `physdev_op`: the virtual I/O privilege level, and the hardware
//! domain's IO-APIC register access.

use dom0_abi::physdev::*;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::ioapic;
use crate::arch::x86_64::uaccess::{read_guest, write_guest};
use crate::domain::Vcpu;

/// `physdev_op(cmd, arg)`.
pub fn physdev_op(v: &mut Vcpu, cmd: u32, arg: u64) -> HcResult {
    match cmd {
        PHYSDEVOP_set_iopl => {
            let iopl: u32 = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            if iopl > 3 {
                return err(Errno::EINVAL);
            }
            v.iopl = iopl << 12;
            Ok(0)
        }
        PHYSDEVOP_apic_read => {
            if !v.domain.is_privileged {
                return err(Errno::EPERM);
            }
            let mut a: PhysdevApic = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            a.value = ioapic::read(a.apic_physbase, a.reg).ok_or(Errno::EINVAL)?;
            write_guest(arg, &a).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        PHYSDEVOP_apic_write => {
            if !v.domain.is_privileged {
                return err(Errno::EPERM);
            }
            let a: PhysdevApic = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            ioapic_guest_write(a.apic_physbase, a.reg, a.value)
        }
        _ => err(Errno::ENOSYS),
    }
}

/// dom0 writing an IO-APIC register. As on Xen, writes other than the low
/// half of a redirection entry are ignored. The hypervisor owns the
/// routing (vectors, destinations) and sets it up from `map_pirq` and
/// `setup_gsi`; Xen's legacy path that derives a pirq from a written entry
/// is not supported: `EINVAL`.
fn ioapic_guest_write(base: u64, reg: u32, value: u32) -> HcResult {
    if ioapic::read(base, 0).is_none() {
        return err(Errno::EINVAL);
    }
    if reg < 0x10 || reg & 1 != 0 {
        return Ok(0);
    }
    log::warn!("dom0 IO-APIC {base:#x}: legacy write of RTE {} = {value:#x} refused", (reg - 0x10) / 2);
    err(Errno::EINVAL)
}
