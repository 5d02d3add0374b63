//! `HYPERVISOR_sched_op` (`sched.h`): yielding, blocking, polling, shutdown
//! and watchdogs, with the argument structures and shutdown reasons.

use crate::event_channel::EvtchnPort;
use crate::types::{DomId, GuestHandle};

/// Give up the cpu voluntarily (no argument).
pub const SCHEDOP_yield: u32 = 0;
/// Block until an event is pending (no argument).
pub const SCHEDOP_block: u32 = 1;
/// Shut the calling domain down (`sched_shutdown`).
pub const SCHEDOP_shutdown: u32 = 2;
/// Block until one of a set of ports is pending or a timeout (`sched_poll`).
pub const SCHEDOP_poll: u32 = 3;
/// Shut another domain down (`sched_remote_shutdown`, privileged).
pub const SCHEDOP_remote_shutdown: u32 = 4;
/// Record the reason for a later shutdown without acting (`sched_shutdown`).
pub const SCHEDOP_shutdown_code: u32 = 5;
/// Create, kick or destroy a domain watchdog (`sched_watchdog`).
pub const SCHEDOP_watchdog: u32 = 6;
/// Pin the calling vcpu temporarily to a pcpu (`sched_pin_override`, dom0).
pub const SCHEDOP_pin_override: u32 = 7;

xen_enum! {
    /// A `sched_op` command (C: `SCHEDOP_*`).
    pub enum SchedOp: u32 {
        /// `SCHEDOP_yield`.
        Yield = SCHEDOP_yield,
        /// `SCHEDOP_block`.
        Block = SCHEDOP_block,
        /// `SCHEDOP_shutdown`.
        Shutdown = SCHEDOP_shutdown,
        /// `SCHEDOP_poll`.
        Poll = SCHEDOP_poll,
        /// `SCHEDOP_remote_shutdown`.
        RemoteShutdown = SCHEDOP_remote_shutdown,
        /// `SCHEDOP_shutdown_code`.
        ShutdownCode = SCHEDOP_shutdown_code,
        /// `SCHEDOP_watchdog`.
        Watchdog = SCHEDOP_watchdog,
        /// `SCHEDOP_pin_override`.
        PinOverride = SCHEDOP_pin_override,
    }
}

/// Clean power-off.
pub const SHUTDOWN_poweroff: u32 = 0;
/// Clean reboot.
pub const SHUTDOWN_reboot: u32 = 1;
/// Suspended for save or migration.
pub const SHUTDOWN_suspend: u32 = 2;
/// The domain crashed.
pub const SHUTDOWN_crash: u32 = 3;
/// A watchdog expired.
pub const SHUTDOWN_watchdog: u32 = 4;
/// Reset the domain in place (soft reset).
pub const SHUTDOWN_soft_reset: u32 = 5;
/// Highest defined reason.
pub const SHUTDOWN_MAX: u32 = 5;

xen_enum! {
    /// Why a domain shut down (C: `SHUTDOWN_*`).
    pub enum ShutdownReason: u32 {
        /// `SHUTDOWN_poweroff`.
        Poweroff = SHUTDOWN_poweroff,
        /// `SHUTDOWN_reboot`.
        Reboot = SHUTDOWN_reboot,
        /// `SHUTDOWN_suspend`.
        Suspend = SHUTDOWN_suspend,
        /// `SHUTDOWN_crash`.
        Crash = SHUTDOWN_crash,
        /// `SHUTDOWN_watchdog`.
        Watchdog = SHUTDOWN_watchdog,
        /// `SHUTDOWN_soft_reset`.
        SoftReset = SHUTDOWN_soft_reset,
    }
}

/// `struct sched_shutdown`: argument of `SCHEDOP_shutdown` and `SCHEDOP_shutdown_code`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct SchedShutdown {
    /// `SHUTDOWN_*`.
    pub reason: u32,
}
impl_pod!(SchedShutdown);

/// `struct sched_poll`: argument of `SCHEDOP_poll`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct SchedPoll {
    /// Array of ports to wait on.
    pub ports: GuestHandle<EvtchnPort>,
    /// Number of ports in the array.
    pub nr_ports: u32,
    /// Absolute system time (ns) to give up at; 0 waits forever.
    pub timeout: u64,
}
impl_pod!(SchedPoll);

/// `struct sched_remote_shutdown`: argument of `SCHEDOP_remote_shutdown`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct SchedRemoteShutdown {
    /// Domain to shut down.
    pub domain_id: DomId,
    /// `SHUTDOWN_*`.
    pub reason: u32,
}
impl_pod!(SchedRemoteShutdown);

/// `struct sched_watchdog`: argument of `SCHEDOP_watchdog`. `id == 0`
/// creates a watchdog (the id is returned); `timeout == 0` destroys `id`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct SchedWatchdog {
    /// Watchdog id, or 0 to allocate one.
    pub id: u32,
    /// Seconds until expiry, or 0 to destroy.
    pub timeout: u32,
}
impl_pod!(SchedWatchdog);

/// `struct sched_pin_override`: argument of `SCHEDOP_pin_override`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct SchedPinOverride {
    /// Physical cpu to pin to, or negative to end the override.
    pub pcpu: i32,
}
impl_pod!(SchedPinOverride);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(SchedOp::try_from(3u64), Ok(SchedOp::Poll));
        assert!(SchedOp::try_from(8u32).is_err());
        assert_eq!(ShutdownReason::try_from(SHUTDOWN_MAX), Ok(ShutdownReason::SoftReset));
        assert!(ShutdownReason::try_from(SHUTDOWN_MAX + 1).is_err());
    }
}
