//! vCPU runstate accounting (Xen's `struct vcpu_runstate_info`): which
//! state a vCPU is in since when, and the time it spent in each, mirrored
//! into the guest's registered runstate area
//! (`VCPUOP_register_runstate_memory_area`) on every change.
//!
//! A PV guest's area is a guest virtual address, reachable only in the
//! guest kernel's address space; a change seen while the vCPU is in guest
//! user mode is written on its next entry to kernel mode, as Xen does.

use dom0_abi::vcpu::{VcpuRunstateInfo, RUNSTATE_running, XEN_RUNSTATE_UPDATE};
use dom0_abi::vm_assist::VMASST_TYPE_runstate_update_flag;

use super::Vcpu;
use crate::arch::x86_64::uaccess::write_guest;

/// A vCPU's runstate and where the guest wants it.
#[derive(Clone, Copy, Debug)]
pub struct Runstate {
    /// The accounting itself.
    pub info: VcpuRunstateInfo,
    /// Guest virtual address of the area (0: none registered).
    pub guest_area: u64,
    /// The area is out of date (changed while in guest user mode).
    pub pending: bool,
}

impl Runstate {
    /// A vCPU that starts in `state` at system time `now`.
    pub fn new(state: i32, now: u64) -> Self {
        Self { info: VcpuRunstateInfo { state, state_entry_time: now, time: [0; 4] }, guest_area: 0, pending: false }
    }

    /// The accounting as of `now`: the current state's time includes the
    /// time since it was entered (`vcpu_runstate_get`).
    pub fn snapshot(&self, now: u64) -> VcpuRunstateInfo {
        let mut r = self.info;
        if let Some(t) = r.time.get_mut(r.state as usize) {
            *t += now.saturating_sub(r.state_entry_time);
        }
        r
    }

    /// Enter `state` at `now`.
    pub fn change(&mut self, state: i32, now: u64) {
        let i = &mut self.info;
        if let Some(t) = i.time.get_mut(i.state as usize) {
            *t += now.saturating_sub(i.state_entry_time);
        }
        i.state = state;
        i.state_entry_time = now;
    }
}

/// Move `v` to `state` now and publish it (the domain's CPU time is the
/// sum of its vCPUs' running time).
pub fn set_state(v: &mut Vcpu, state: i32) {
    if v.runstate.info.state == state {
        return;
    }
    let now = crate::timer::now_ns();
    v.runstate.change(state, now);
    publish(v);
}

/// Register the guest area at `addr` and fill it (Xen writes it at once).
pub fn register(v: &mut Vcpu, addr: u64) {
    v.runstate.guest_area = addr;
    publish(v);
}

/// Write the runstate into the guest's area, if it has one and its kernel
/// address space is loaded; otherwise remember to do it later.
pub fn publish(v: &mut Vcpu) {
    let addr = v.runstate.guest_area;
    if addr == 0 {
        return;
    }
    // The area is in the vCPU's address space: only reachable while it
    // is loaded (in kernel mode) on this CPU.
    if !v.kernel_mode || !crate::sched::is_current(v) {
        v.runstate.pending = true;
        return;
    }
    v.runstate.pending = false;
    let mut info = v.runstate.info;
    let flagged = v.domain.state.lock().vm_assist & (1 << VMASST_TYPE_runstate_update_flag) != 0;
    // `state_entry_time` follows the 32-bit state and its padding.
    let entry_time = addr + 8;
    if flagged {
        // Readers retry while XEN_RUNSTATE_UPDATE is set: set it first,
        // copy everything with it set, clear it last.
        info.state_entry_time |= XEN_RUNSTATE_UPDATE;
        let _ = write_guest(entry_time, &info.state_entry_time);
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    }
    // A guest that unmapped its area only loses the update (as on Xen).
    let _ = write_guest(addr, &info);
    if flagged {
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        let _ = write_guest(entry_time, &(info.state_entry_time & !XEN_RUNSTATE_UPDATE));
    }
}

/// A vCPU that starts running at boot.
pub fn initial() -> Runstate {
    Runstate::new(RUNSTATE_running, crate::timer::now_ns())
}
