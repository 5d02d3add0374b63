//! Guest debug-register values, checked as Xen checks them (`set_debugreg`
//! in Xen's PV code): breakpoint addresses outside the hypervisor's range,
//! DR6/DR7 reserved bits forced, no general detect, I/O breakpoints only
//! with CR4.DE (which a PV guest never has).

use dom0_abi::arch_x86::HYPERVISOR_VIRT_END;
use dom0_abi::Errno;

/// DR6 bits that read as one.
const DR6_RESERVED_ONE: u64 = 0xffff_0ff0;
/// DR6 bits that read as zero.
const DR6_RESERVED_ZERO: u64 = 1 << 12;
/// DR7 bits that read as one.
const DR7_RESERVED_ONE: u64 = 1 << 10;
/// DR7 bits that read as zero.
const DR7_RESERVED_ZERO: u64 = (1 << 11) | (1 << 12) | (1 << 14) | (1 << 15);
/// DR7 general detect.
const DR7_GD: u64 = 1 << 13;
/// DR7 local/global enables of the four breakpoints.
const DR7_ACTIVE: u64 = 0xff;
/// The R/W field value of an I/O breakpoint.
const DR_IO: u64 = 2;

/// Whether a breakpoint address is one a guest may use, as Xen's
/// `__addr_ok`: the lower canonical half, or the upper one above the
/// hypervisor's range (so neither the hypervisor's range nor a
/// non-canonical address).
fn breakpoint_addr_ok(a: u64) -> bool {
    a < 1 << 47 || a >= HYPERVISOR_VIRT_END
}

/// Validate `value` for debug register `reg` as Xen does; the value to
/// store.
pub fn check(reg: u32, value: u64) -> Result<u64, Errno> {
    match reg {
        0..=3 if breakpoint_addr_ok(value) => Ok(value),
        0..=3 => Err(Errno::EPERM),
        4 | 6 if value >> 32 != 0 => Err(Errno::EINVAL),
        4 | 6 => Ok((value & !DR6_RESERVED_ZERO) | DR6_RESERVED_ONE),
        5 | 7 if value >> 32 != 0 => Err(Errno::EINVAL),
        5 | 7 => {
            let value = (value & !DR7_RESERVED_ZERO) | DR7_RESERVED_ONE;
            if value & DR7_GD != 0 {
                return Err(Errno::EPERM);
            }
            // I/O breakpoints need CR4.DE, which PV guests do not have.
            if value & DR7_ACTIVE != 0 && (0..4).any(|i| (value >> (16 + 4 * i)) & 3 == DR_IO) {
                return Err(Errno::EPERM);
            }
            Ok(value)
        }
        _ => Err(Errno::ENODEV),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dom0_abi::arch_x86::HYPERVISOR_VIRT_START;

    #[test]
    fn xen_checks() {
        assert_eq!(check(0, 0x1000), Ok(0x1000));
        assert_eq!(check(1, HYPERVISOR_VIRT_START), Err(Errno::EPERM));
        assert_eq!(check(2, 1 << 47), Err(Errno::EPERM), "non-canonical");
        assert_eq!(check(3, 0x8000_0000_0000_0000), Err(Errno::EPERM), "non-canonical");
        assert_eq!(check(3, HYPERVISOR_VIRT_END), Ok(HYPERVISOR_VIRT_END));
        assert_eq!(check(6, 0), Ok(0xffff_0ff0));
        assert_eq!(check(6, 1 << 32), Err(Errno::EINVAL));
        assert_eq!(check(7, 0), Ok(0x400));
        assert_eq!(check(7, DR7_GD), Err(Errno::EPERM));
        assert_eq!(check(7, 1 | (DR_IO << 16)), Err(Errno::EPERM));
        assert_eq!(check(8, 0), Err(Errno::ENODEV));
    }
}
