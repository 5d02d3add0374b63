//! `HYPERVISOR_vcpu_op` (`vcpu.h`): bringing vcpus up and down, runstate
//! and time areas, per-vcpu timers and `vcpu_info` placement.

/// Set a stopped vcpu's initial context (`vcpu_guest_context`).
pub const VCPUOP_initialise: u32 = 0;
/// Start an initialised vcpu.
pub const VCPUOP_up: u32 = 1;
/// Stop a vcpu (it may be brought up again).
pub const VCPUOP_down: u32 = 2;
/// Returns 1 if the vcpu is up, 0 if down.
pub const VCPUOP_is_up: u32 = 3;
/// Copy out the vcpu's `vcpu_runstate_info`.
pub const VCPUOP_get_runstate_info: u32 = 4;
/// Register a guest area that Xen keeps updated with the runstate.
pub const VCPUOP_register_runstate_memory_area: u32 = 5;
/// Start a periodic timer (`vcpu_set_periodic_timer`).
pub const VCPUOP_set_periodic_timer: u32 = 6;
/// Stop the periodic timer.
pub const VCPUOP_stop_periodic_timer: u32 = 7;
/// Arm the one-shot timer (`vcpu_set_singleshot_timer`).
pub const VCPUOP_set_singleshot_timer: u32 = 8;
/// Disarm the one-shot timer.
pub const VCPUOP_stop_singleshot_timer: u32 = 9;
/// Move the vcpu's `vcpu_info` to a guest page (`vcpu_register_vcpu_info`).
pub const VCPUOP_register_vcpu_info: u32 = 10;
/// Send an NMI to the vcpu.
pub const VCPUOP_send_nmi: u32 = 11;
/// Get the physical id of the pcpu with the same number (dom0).
pub const VCPUOP_get_physid: u32 = 12;
/// Register a guest area Xen keeps updated with `vcpu_time_info`.
pub const VCPUOP_register_vcpu_time_memory_area: u32 = 13;

xen_enum! {
    /// A `vcpu_op` command (C: `VCPUOP_*`).
    pub enum VcpuOp: u32 {
        /// `VCPUOP_initialise`.
        Initialise = VCPUOP_initialise,
        /// `VCPUOP_up`.
        Up = VCPUOP_up,
        /// `VCPUOP_down`.
        Down = VCPUOP_down,
        /// `VCPUOP_is_up`.
        IsUp = VCPUOP_is_up,
        /// `VCPUOP_get_runstate_info`.
        GetRunstateInfo = VCPUOP_get_runstate_info,
        /// `VCPUOP_register_runstate_memory_area`.
        RegisterRunstateMemoryArea = VCPUOP_register_runstate_memory_area,
        /// `VCPUOP_set_periodic_timer`.
        SetPeriodicTimer = VCPUOP_set_periodic_timer,
        /// `VCPUOP_stop_periodic_timer`.
        StopPeriodicTimer = VCPUOP_stop_periodic_timer,
        /// `VCPUOP_set_singleshot_timer`.
        SetSingleshotTimer = VCPUOP_set_singleshot_timer,
        /// `VCPUOP_stop_singleshot_timer`.
        StopSingleshotTimer = VCPUOP_stop_singleshot_timer,
        /// `VCPUOP_register_vcpu_info`.
        RegisterVcpuInfo = VCPUOP_register_vcpu_info,
        /// `VCPUOP_send_nmi`.
        SendNmi = VCPUOP_send_nmi,
        /// `VCPUOP_get_physid`.
        GetPhysid = VCPUOP_get_physid,
        /// `VCPUOP_register_vcpu_time_memory_area`.
        RegisterVcpuTimeMemoryArea = VCPUOP_register_vcpu_time_memory_area,
    }
}

/// The vcpu is running on a pcpu.
pub const RUNSTATE_running: i32 = 0;
/// The vcpu could run but is waiting for a pcpu.
pub const RUNSTATE_runnable: i32 = 1;
/// The vcpu is blocked (waiting for an event).
pub const RUNSTATE_blocked: i32 = 2;
/// The vcpu is offline or paused.
pub const RUNSTATE_offline: i32 = 3;

xen_enum! {
    /// A vcpu runstate (C: `RUNSTATE_*`).
    pub enum RunState: i32 {
        /// `RUNSTATE_running`.
        Running = RUNSTATE_running,
        /// `RUNSTATE_runnable`.
        Runnable = RUNSTATE_runnable,
        /// `RUNSTATE_blocked`.
        Blocked = RUNSTATE_blocked,
        /// `RUNSTATE_offline`.
        Offline = RUNSTATE_offline,
    }
}

/// Set in `state_entry_time` while Xen updates a registered runstate area
/// (when `VMASST_TYPE_runstate_update_flag` is on).
pub const XEN_RUNSTATE_UPDATE: u64 = 1 << 63;

/// `struct vcpu_runstate_info`: current runstate and the total time spent
/// in each runstate.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct VcpuRunstateInfo {
    /// `RUNSTATE_*`.
    pub state: i32,
    /// System time at which `state` was entered.
    pub state_entry_time: u64,
    /// Nanoseconds spent in each runstate, indexed by `RUNSTATE_*`.
    pub time: [u64; 4],
}
impl_pod!(VcpuRunstateInfo);

/// `struct vcpu_register_runstate_memory_area`: the guest virtual address
/// of a `vcpu_runstate_info` (the C union of handle, pointer and `u64`).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct VcpuRegisterRunstateMemoryArea {
    /// Guest virtual address of the area.
    pub addr: u64,
}
impl_pod!(VcpuRegisterRunstateMemoryArea);

/// `struct vcpu_set_periodic_timer`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct VcpuSetPeriodicTimer {
    /// Period in nanoseconds.
    pub period_ns: u64,
}
impl_pod!(VcpuSetPeriodicTimer);

/// `flags` bit number of `VCPU_SSHOTTMR_future`.
pub const _VCPU_SSHOTTMR_future: u32 = 0;
/// Fail with `-ETIME` if the timeout is already in the past.
pub const VCPU_SSHOTTMR_future: u32 = 1 << _VCPU_SSHOTTMR_future;

/// `struct vcpu_set_singleshot_timer`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct VcpuSetSingleshotTimer {
    /// Absolute system time (ns) of expiry.
    pub timeout_abs_ns: u64,
    /// `VCPU_SSHOTTMR_*`.
    pub flags: u32,
}
impl_pod!(VcpuSetSingleshotTimer);

/// `struct vcpu_register_vcpu_info`: place `vcpu_info` at `offset` in frame `mfn`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct VcpuRegisterVcpuInfo {
    /// Guest frame holding the new `vcpu_info`.
    pub mfn: u64,
    /// Byte offset within the frame; the structure must not cross the page.
    pub offset: u32,
    /// Reserved, zero.
    pub rsvd: u32,
}
impl_pod!(VcpuRegisterVcpuInfo);

/// `struct vcpu_get_physid`: x86 APIC id in bits 0-31, ACPI id in 32-63.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct VcpuGetPhysid {
    /// Packed physical ids.
    pub phys_id: u64,
}
impl_pod!(VcpuGetPhysid);

impl VcpuGetPhysid {
    /// The x86 APIC id part.
    pub const fn apic_id(&self) -> u32 {
        self.phys_id as u32
    }

    /// The ACPI processor id part.
    pub const fn acpi_id(&self) -> u32 {
        (self.phys_id >> 32) as u32
    }
}

/// `struct vcpu_register_time_memory_area`: guest virtual address of a
/// `vcpu_time_info` Xen keeps updated.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct VcpuRegisterTimeMemoryArea {
    /// Guest virtual address of the area.
    pub addr: u64,
}
impl_pod!(VcpuRegisterTimeMemoryArea);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(VcpuOp::try_from(13u32), Ok(VcpuOp::RegisterVcpuTimeMemoryArea));
        assert!(VcpuOp::try_from(14u32).is_err());
        assert!(RunState::try_from(4i32).is_err());
        assert!(RunState::try_from(-1i32).is_err());
        let p = VcpuGetPhysid { phys_id: (7 << 32) | 3 };
        assert_eq!((p.apic_id(), p.acpi_id()), (3, 7));
    }
}
