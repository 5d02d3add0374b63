//! `vcpu_op` (timers, liveness, runstate) and `set_timer_op`.

use dom0_abi::vcpu::*;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::uaccess::read_guest;
use crate::domain::Vcpu;
use crate::timer;

/// Shortest periodic timer a guest may ask for (Xen: 1 ms).
const MIN_PERIOD_NS: u64 = 1_000_000;

/// `set_timer_op(timeout)`: arm (absolute system time) or, with 0, stop
/// the one-shot timer.
pub fn set_timer_op(v: &mut Vcpu, timeout: u64) -> HcResult {
    if timeout == 0 {
        timer::set_singleshot(v, None);
    } else {
        timer::set_singleshot(v, Some(timer::sanitize(timeout)));
    }
    Ok(0)
}

/// `vcpu_op(cmd, vcpuid, arg)`.
pub fn vcpu_op(v: &mut Vcpu, cmd: u32, vcpuid: u64, arg: u64) -> HcResult {
    // Only one vCPU per domain so far.
    if vcpuid as u32 != v.vcpu_id || vcpuid > u64::from(u32::MAX) {
        return err(Errno::ENOENT);
    }
    match cmd {
        VCPUOP_is_up => Ok(1),
        VCPUOP_set_singleshot_timer => {
            // Xen 4.17 ignores VCPU_SSHOTTMR_future: a past deadline fires
            // at once.
            let t: VcpuSetSingleshotTimer = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            timer::set_singleshot(v, Some(t.timeout_abs_ns));
            Ok(0)
        }
        VCPUOP_stop_singleshot_timer => {
            timer::set_singleshot(v, None);
            Ok(0)
        }
        VCPUOP_set_periodic_timer => {
            let p: VcpuSetPeriodicTimer = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            if p.period_ns < MIN_PERIOD_NS || p.period_ns > i64::MAX as u64 {
                return err(Errno::EINVAL);
            }
            timer::set_periodic(v, p.period_ns);
            Ok(0)
        }
        VCPUOP_stop_periodic_timer => {
            timer::set_periodic(v, 0);
            Ok(0)
        }
        _ => err(Errno::ENOSYS),
    }
}
