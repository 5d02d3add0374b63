//! `sched_op`: yield, block, shutdown (with each reason), shutdown_code.

use dom0_abi::sched::*;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::traps::TrapFrame;
use crate::arch::x86_64::uaccess::read_guest;
use crate::domain::{ShutdownReason, Vcpu};

/// Block `v` until an event is pending (Xen's `vcpu_block_enable_events`):
/// events are unmasked first, and a vCPU with an event already pending does
/// not block. The scheduler takes it off the CPU on the way out.
pub fn block(v: &mut Vcpu) {
    let Some(vi) = v.vcpu_info() else { return };
    vi.evtchn_upcall_mask = 0;
    let pending = &vi.evtchn_upcall_pending;
    // SAFETY: the vCPU's vcpu_info, mapped while it is registered; a
    // volatile read, as other CPUs set the byte.
    if crate::sched::block_unless(v, false, || unsafe { core::ptr::read_volatile(pending) } != 0) {
        crate::timer::reprogram();
    }
}

/// Most ports one `SCHEDOP_poll` may name (Xen's limit).
const MAX_POLL_PORTS: u32 = 128;

/// `SCHEDOP_poll` (Xen's `do_poll`): return at once when a named port is
/// pending (`EINVAL` for a port that does not exist, `EFAULT` for an
/// unreadable list), else block until an event arrives on one of them
/// (masked or not) or the timeout passes.
fn poll(v: &mut Vcpu, p: &SchedPoll) -> HcResult {
    if p.nr_ports > MAX_POLL_PORTS {
        return err(Errno::EINVAL);
    }
    let d = v.domain;
    let mut last = 0;
    for i in 0..u64::from(p.nr_ports) {
        let port: u32 = read_guest(p.ports.addr() + 4 * i).map_err(|_| Errno::EFAULT)?;
        if d.evtchn.lock().status(port).is_err() {
            return err(Errno::EINVAL);
        }
        if crate::hypercall::event_channel::is_pending(d, port) {
            return Ok(0);
        }
        last = port;
    }
    v.poll_port = if p.nr_ports == 1 { last } else { 0 };
    v.poll_deadline = (p.timeout != 0).then_some(p.timeout);
    let pending = || {
        (0..u64::from(p.nr_ports)).any(|i| {
            let port = read_guest::<u32>(p.ports.addr() + 4 * i).ok();
            port.is_some_and(|port| crate::hypercall::event_channel::is_pending(d, port))
        })
    };
    if !crate::sched::block_unless(v, true, pending) {
        return Ok(0);
    }
    if p.timeout != 0 && p.timeout <= crate::timer::now_ns() {
        crate::sched::unblock(v);
    }
    crate::timer::reprogram();
    Ok(0)
}

/// `sched_op(cmd, arg)`.
pub fn sched_op(v: &mut Vcpu, regs: &mut TrapFrame, cmd: u32, arg: u64) -> HcResult {
    match cmd {
        SCHEDOP_yield => {
            crate::sched::yield_now(v);
            Ok(0)
        }
        SCHEDOP_block => {
            block(v);
            Ok(0)
        }
        SCHEDOP_shutdown => {
            let s: SchedShutdown = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            let Some(reason) = ShutdownReason::from_code(s.reason) else {
                return err(Errno::EINVAL);
            };
            if reason == ShutdownReason::Crash {
                log::error!("domain {} vcpu {} requested a crash", v.domain.domid, v.vcpu_id);
                crate::pv::dump_guest_registers(v, regs);
            }
            crate::pv::shutdown(v, reason)
        }
        SCHEDOP_poll => {
            let p: SchedPoll = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            poll(v, &p)
        }
        SCHEDOP_shutdown_code => {
            // As Xen: any reason (kept as a byte), the first one stays.
            let s: SchedShutdown = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            let mut st = v.domain.state.lock();
            if st.shutdown_code.is_none() {
                st.shutdown_code = Some(s.reason & 0xff);
            }
            Ok(0)
        }
        SCHEDOP_remote_shutdown => {
            let r: SchedRemoteShutdown = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            // The domain is looked up before the caller's right to it, as
            // Xen does (ESRCH, then EPERM).
            let d = crate::domain::by_id(r.domain_id.into()).ok_or(Errno::ESRCH)?;
            if !v.domain.is_privileged {
                return err(Errno::EPERM);
            }
            let Some(reason) = ShutdownReason::from_code(r.reason) else {
                return err(Errno::EINVAL);
            };
            if u16::from(r.domain_id) == v.domain.domid {
                crate::pv::shutdown(v, reason)
            }
            crate::domain::destroy::shutdown(d, reason);
            Ok(0)
        }
        SCHEDOP_pin_override => {
            // Xen: the hardware domain only, then its argument (an int32
            // pCPU). Temporarily pinning a vCPU is not offered by our
            // scheduler yet.
            if !v.domain.is_privileged {
                return err(Errno::EPERM);
            }
            let _: i32 = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            err(Errno::ENOSYS)
        }
        _ => err(Errno::ENOSYS),
    }
}
