//! `vcpu_op` (timers, liveness, runstate and vcpu_info placement, time
//! area, NMIs) and `set_timer_op`.

use dom0_abi::vcpu::*;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::uaccess::{range_ok, read_guest, write_guest};
use crate::domain::{runstate, Vcpu};
use crate::mm::frame_table;
use crate::mm::page::PageType;
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

/// `vcpu_op(cmd, vcpuid, arg)`: on vCPU `vcpuid` of the caller's domain
/// (`ENOENT` for none). Xen's rules: a context is given once
/// (`initialise`, else `EEXIST`), `up` needs one (`EINVAL`), the last
/// online vCPU going down powers the domain off, one-shot timers are the
/// calling vCPU's own (`EINVAL`).
pub fn vcpu_op(v: &mut Vcpu, cmd: u32, vcpuid: u64, arg: u64) -> HcResult {
    let d = v.domain;
    if vcpuid > u64::from(u32::MAX) {
        return err(Errno::ENOENT);
    }
    let is_self = vcpuid as u32 == v.vcpu_id;
    let other = if is_self { None } else { Some(d.vcpu(vcpuid as u32).ok_or(Errno::ENOENT)?) };
    if !is_self && matches!(cmd, VCPUOP_set_singleshot_timer | VCPUOP_stop_singleshot_timer) {
        return err(Errno::EINVAL);
    }
    let v: &mut Vcpu = match other {
        Some(o) => o,
        None => v,
    };
    match cmd {
        VCPUOP_is_up => Ok(i64::from(v.is_online())),
        VCPUOP_initialise => {
            if v.guest_table != 0 {
                return err(Errno::EEXIST);
            }
            let c: dom0_abi::arch_x86::VcpuGuestContext = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            crate::domctl::vcpu::set_info_guest(v, &c)?;
            Ok(0)
        }
        VCPUOP_up => {
            if v.guest_table == 0 {
                return err(Errno::EINVAL);
            }
            if !v.is_online() {
                v.online.store(true, core::sync::atomic::Ordering::Release);
                v.blocked.store(false, core::sync::atomic::Ordering::Release);
                runstate::set_state(v, RUNSTATE_runnable);
                crate::sched::wake(v);
            }
            Ok(0)
        }
        VCPUOP_down => {
            let others_up = d.vcpu_list().iter().any(|o| o.0 as *const Vcpu != v as *const Vcpu && o.get().is_online());
            if !others_up {
                // The domain's last vCPU going down powers the domain off.
                if is_self {
                    crate::pv::shutdown(v, crate::domain::ShutdownReason::Poweroff)
                }
                crate::domain::destroy::shutdown(d, crate::domain::ShutdownReason::Poweroff);
                return Ok(0);
            }
            if v.is_online() {
                v.online.store(false, core::sync::atomic::Ordering::Release);
                crate::sched::remove(v);
                runstate::set_state(v, RUNSTATE_offline);
            }
            // A vCPU taking itself down leaves the CPU on the way out and
            // resumes here when brought up again.
            Ok(0)
        }
        VCPUOP_get_runstate_info => {
            let r = v.runstate.snapshot(timer::now_ns());
            write_guest(arg, &r).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        VCPUOP_register_runstate_memory_area => {
            let area: VcpuRegisterRunstateMemoryArea = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            let size = core::mem::size_of::<VcpuRunstateInfo>() as u64;
            if !range_ok(area.addr, size) {
                return err(Errno::EFAULT);
            }
            runstate::register(v, area.addr);
            Ok(0)
        }
        VCPUOP_register_vcpu_info => {
            let info: VcpuRegisterVcpuInfo = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            register_vcpu_info(v, info.mfn, info.offset)
        }
        VCPUOP_register_vcpu_time_memory_area => {
            let area: VcpuRegisterTimeMemoryArea = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            let size = core::mem::size_of::<dom0_abi::xen::VcpuTimeInfo>() as u64;
            if !range_ok(area.addr, size) {
                return err(Errno::EFAULT);
            }
            v.time_area = area.addr;
            timer::update_time_area(v);
            Ok(0)
        }
        VCPUOP_send_nmi => {
            if arg != 0 {
                return err(Errno::EINVAL);
            }
            v.nmi_pending = true;
            crate::sched::unblock(v);
            Ok(0)
        }
        VCPUOP_get_physid => {
            // Only for a hardware-domain vCPU whose hard affinity is one
            // CPU (Xen's `is_hwdom_pinned_vcpu`): affinity is every CPU here,
            // so that is a one-CPU host. The ids are those of the physical
            // CPU numbered like the vCPU, as Xen reports them.
            let cpus = crate::arch::x86_64::cpu::pcpus();
            let pinned = v.domain.is_privileged && cpus.iter().filter(|c| c.online).count() == 1;
            let Some(p) = cpus.get(v.vcpu_id as usize).filter(|_| pinned) else {
                return err(Errno::EINVAL);
            };
            let id = VcpuGetPhysid { phys_id: u64::from(p.apic_id) | (u64::from(p.acpi_id) << 32) };
            write_guest(arg, &id).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
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

/// `VCPUOP_register_vcpu_info`: move `v`'s `vcpu_info` into guest frame
/// `gfn` at `offset`, as Xen's `map_vcpu_info` does: the structure must fit
/// in the page and be 8-byte aligned (else `ENXIO`), may be placed once
/// (`EINVAL`), and the frame must be the domain's and writable (`EINVAL`).
/// The current contents move along, and every event selector is marked
/// pending so that nothing is lost.
fn register_vcpu_info(v: &mut Vcpu, gfn: u64, offset: u32) -> HcResult {
    let size = core::mem::size_of::<dom0_abi::xen::VcpuInfo>() as u32;
    if offset > 4096 - size || offset % 8 != 0 {
        return err(Errno::ENXIO);
    }
    let slot = v.domain.vcpu_info_maddr.get(v.vcpu_id as usize).ok_or(Errno::EINVAL)?;
    if slot.load(core::sync::atomic::Ordering::Acquire) != 0 {
        return err(Errno::EINVAL);
    }
    // PV guests name machine frames.
    let mfn = gfn;
    let a = v.domain.actor();
    frame_table::with(|m| m.get_page_and_type(mfn, PageType::Writable, a)).map_err(|_| Errno::EINVAL)?;
    let old = v.vcpu_info().map(|vi| *vi);
    slot.store((mfn << 12) + u64::from(offset), core::sync::atomic::Ordering::Release);
    let Some(new) = v.vcpu_info() else { return err(Errno::EINVAL) };
    match old {
        Some(o) => *new = o,
        None => {
            *new = dom0_abi::Pod::zeroed();
            new.evtchn_upcall_mask = 1;
        }
    }
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    new.evtchn_pending_sel = !0;
    new.evtchn_upcall_pending = 1;
    timer::update_time_area(v);
    Ok(0)
}
