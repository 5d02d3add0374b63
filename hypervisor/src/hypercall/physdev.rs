//! `physdev_op`: the parts a PV kernel needs before devices exist —
//! setting its virtual I/O privilege level.

use dom0_abi::physdev::PHYSDEVOP_set_iopl;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::uaccess::read_guest;
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
        _ => err(Errno::ENOSYS),
    }
}
