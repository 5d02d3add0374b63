//! `/dev/xen/evtchn` (Linux `include/uapi/xen/evtchn.h`): event channels
//! for dom0 user space. Pending ports are read from the device as `u32`s
//! and re-enabled by writing them back.

use core::mem::size_of;

use super::{ioc, IOC_NONE};
use crate::types::DomId;

/// `struct ioctl_evtchn_bind_virq`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlEvtchnBindVirq {
    /// `VIRQ_*` to bind (the ioctl returns the local port).
    pub virq: u32,
}
impl_pod!(IoctlEvtchnBindVirq);

/// `struct ioctl_evtchn_bind_interdomain`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlEvtchnBindInterdomain {
    /// Peer domain.
    pub remote_domain: u32,
    /// Peer's unbound port.
    pub remote_port: u32,
}
impl_pod!(IoctlEvtchnBindInterdomain);

/// `struct ioctl_evtchn_bind_unbound_port`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlEvtchnBindUnboundPort {
    /// Domain allowed to connect.
    pub remote_domain: u32,
}
impl_pod!(IoctlEvtchnBindUnboundPort);

/// `struct ioctl_evtchn_unbind`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlEvtchnUnbind {
    /// Local port to close.
    pub port: u32,
}
impl_pod!(IoctlEvtchnUnbind);

/// `struct ioctl_evtchn_notify`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlEvtchnNotify {
    /// Local port whose peer is signalled.
    pub port: u32,
}
impl_pod!(IoctlEvtchnNotify);

/// `struct ioctl_evtchn_restrict_domid`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlEvtchnRestrictDomid {
    /// The only domain this file descriptor may talk to.
    pub domid: DomId,
}
impl_pod!(IoctlEvtchnRestrictDomid);

/// Bind a VIRQ.
pub const IOCTL_EVTCHN_BIND_VIRQ: u32 = ioc(IOC_NONE, b'E', 0, size_of::<IoctlEvtchnBindVirq>());
/// Bind to another domain's unbound port.
pub const IOCTL_EVTCHN_BIND_INTERDOMAIN: u32 =
    ioc(IOC_NONE, b'E', 1, size_of::<IoctlEvtchnBindInterdomain>());
/// Allocate an unbound port.
pub const IOCTL_EVTCHN_BIND_UNBOUND_PORT: u32 =
    ioc(IOC_NONE, b'E', 2, size_of::<IoctlEvtchnBindUnboundPort>());
/// Close a port.
pub const IOCTL_EVTCHN_UNBIND: u32 = ioc(IOC_NONE, b'E', 3, size_of::<IoctlEvtchnUnbind>());
/// Signal a port.
pub const IOCTL_EVTCHN_NOTIFY: u32 = ioc(IOC_NONE, b'E', 4, size_of::<IoctlEvtchnNotify>());
/// Clear the pending-port buffer and any error.
pub const IOCTL_EVTCHN_RESET: u32 = ioc(IOC_NONE, b'E', 5, 0);
/// Restrict the file descriptor to one domain.
pub const IOCTL_EVTCHN_RESTRICT_DOMID: u32 =
    ioc(IOC_NONE, b'E', 6, size_of::<IoctlEvtchnRestrictDomid>());
