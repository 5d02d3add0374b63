//! `HYPERVISOR_event_channel_op` (`event_channel.h`): every `EVTCHNOP_*`
//! command with its argument structure, port states, and the FIFO ABI's
//! control block and constants.

use crate::types::DomId;

/// `evtchn_port_t`: an event-channel port number.
pub type EvtchnPort = u32;

/// Connect to a port another domain left unbound (`evtchn_bind_interdomain`).
pub const EVTCHNOP_bind_interdomain: u32 = 0;
/// Bind a VIRQ to a new port (`evtchn_bind_virq`).
pub const EVTCHNOP_bind_virq: u32 = 1;
/// Bind a physical IRQ to a new port (`evtchn_bind_pirq`).
pub const EVTCHNOP_bind_pirq: u32 = 2;
/// Close a port (`evtchn_close`).
pub const EVTCHNOP_close: u32 = 3;
/// Signal the remote end of a port (`evtchn_send`).
pub const EVTCHNOP_send: u32 = 4;
/// Query a port's state (`evtchn_status`).
pub const EVTCHNOP_status: u32 = 5;
/// Allocate a port for a remote domain to connect to (`evtchn_alloc_unbound`).
pub const EVTCHNOP_alloc_unbound: u32 = 6;
/// Allocate a port for inter-vcpu notifications (`evtchn_bind_ipi`).
pub const EVTCHNOP_bind_ipi: u32 = 7;
/// Change which vcpu receives a port's notifications (`evtchn_bind_vcpu`).
pub const EVTCHNOP_bind_vcpu: u32 = 8;
/// Unmask a port, re-raising it if pending (`evtchn_unmask`).
pub const EVTCHNOP_unmask: u32 = 9;
/// Close all of a domain's ports (`evtchn_reset`).
pub const EVTCHNOP_reset: u32 = 10;
/// Switch to the FIFO ABI for a vcpu (`evtchn_init_control`).
pub const EVTCHNOP_init_control: u32 = 11;
/// Add a page to the FIFO event array (`evtchn_expand_array`).
pub const EVTCHNOP_expand_array: u32 = 12;
/// Set a port's FIFO priority (`evtchn_set_priority`).
pub const EVTCHNOP_set_priority: u32 = 13;

xen_enum! {
    /// An `event_channel_op` command (C: `EVTCHNOP_*`).
    pub enum EvtchnOpCmd: u32 {
        /// `EVTCHNOP_bind_interdomain`.
        BindInterdomain = EVTCHNOP_bind_interdomain,
        /// `EVTCHNOP_bind_virq`.
        BindVirq = EVTCHNOP_bind_virq,
        /// `EVTCHNOP_bind_pirq`.
        BindPirq = EVTCHNOP_bind_pirq,
        /// `EVTCHNOP_close`.
        Close = EVTCHNOP_close,
        /// `EVTCHNOP_send`.
        Send = EVTCHNOP_send,
        /// `EVTCHNOP_status`.
        Status = EVTCHNOP_status,
        /// `EVTCHNOP_alloc_unbound`.
        AllocUnbound = EVTCHNOP_alloc_unbound,
        /// `EVTCHNOP_bind_ipi`.
        BindIpi = EVTCHNOP_bind_ipi,
        /// `EVTCHNOP_bind_vcpu`.
        BindVcpu = EVTCHNOP_bind_vcpu,
        /// `EVTCHNOP_unmask`.
        Unmask = EVTCHNOP_unmask,
        /// `EVTCHNOP_reset`.
        Reset = EVTCHNOP_reset,
        /// `EVTCHNOP_init_control`.
        InitControl = EVTCHNOP_init_control,
        /// `EVTCHNOP_expand_array`.
        ExpandArray = EVTCHNOP_expand_array,
        /// `EVTCHNOP_set_priority`.
        SetPriority = EVTCHNOP_set_priority,
    }
}

/// `struct evtchn_alloc_unbound`: allocate a port in `dom` that `remote_dom`
/// may later bind; the new port is returned in `port`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnAllocUnbound {
    /// Domain that gets the port (usually `DOMID_SELF`).
    pub dom: DomId,
    /// Domain allowed to connect.
    pub remote_dom: DomId,
    /// Output: the allocated port.
    pub port: EvtchnPort,
}
impl_pod!(EvtchnAllocUnbound);

/// `struct evtchn_bind_interdomain`: connect a new local port to
/// `remote_port` of `remote_dom`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnBindInterdomain {
    /// The peer domain.
    pub remote_dom: DomId,
    /// The peer's unbound port.
    pub remote_port: EvtchnPort,
    /// Output: the new local port.
    pub local_port: EvtchnPort,
}
impl_pod!(EvtchnBindInterdomain);

/// `struct evtchn_bind_virq`: bind `virq` on `vcpu` to a new port.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnBindVirq {
    /// `VIRQ_*`.
    pub virq: u32,
    /// Vcpu to notify.
    pub vcpu: u32,
    /// Output: the new port.
    pub port: EvtchnPort,
}
impl_pod!(EvtchnBindVirq);

/// `evtchn_bind_pirq.flags`: the IRQ may be shared with other domains.
pub const BIND_PIRQ__WILL_SHARE: u32 = 1;

/// `struct evtchn_bind_pirq`: bind physical IRQ `pirq` to a new port.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnBindPirq {
    /// Physical IRQ number (as mapped with `PHYSDEVOP_map_pirq`).
    pub pirq: u32,
    /// `BIND_PIRQ__*`.
    pub flags: u32,
    /// Output: the new port.
    pub port: EvtchnPort,
}
impl_pod!(EvtchnBindPirq);

/// `struct evtchn_bind_ipi`: allocate a port that notifies `vcpu`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnBindIpi {
    /// Vcpu to notify.
    pub vcpu: u32,
    /// Output: the new port.
    pub port: EvtchnPort,
}
impl_pod!(EvtchnBindIpi);

/// `struct evtchn_close`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnClose {
    /// Port to close.
    pub port: EvtchnPort,
}
impl_pod!(EvtchnClose);

/// `struct evtchn_send`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnSend {
    /// Local port whose remote end is signalled.
    pub port: EvtchnPort,
}
impl_pod!(EvtchnSend);

/// Port is free.
pub const EVTCHNSTAT_closed: u32 = 0;
/// Port waits for a remote domain to bind.
pub const EVTCHNSTAT_unbound: u32 = 1;
/// Port is connected to another domain's port.
pub const EVTCHNSTAT_interdomain: u32 = 2;
/// Port is bound to a physical IRQ.
pub const EVTCHNSTAT_pirq: u32 = 3;
/// Port is bound to a VIRQ.
pub const EVTCHNSTAT_virq: u32 = 4;
/// Port is an inter-vcpu channel.
pub const EVTCHNSTAT_ipi: u32 = 5;

xen_enum! {
    /// A port state reported by `EVTCHNOP_status` (C: `EVTCHNSTAT_*`).
    pub enum EvtchnStat: u32 {
        /// `EVTCHNSTAT_closed`.
        Closed = EVTCHNSTAT_closed,
        /// `EVTCHNSTAT_unbound`.
        Unbound = EVTCHNSTAT_unbound,
        /// `EVTCHNSTAT_interdomain`.
        Interdomain = EVTCHNSTAT_interdomain,
        /// `EVTCHNSTAT_pirq`.
        Pirq = EVTCHNSTAT_pirq,
        /// `EVTCHNSTAT_virq`.
        Virq = EVTCHNSTAT_virq,
        /// `EVTCHNSTAT_ipi`.
        Ipi = EVTCHNSTAT_ipi,
    }
}

/// `evtchn_status.u.unbound`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnStatusUnbound {
    /// Domain allowed to bind.
    pub dom: DomId,
}
impl_pod!(EvtchnStatusUnbound);

/// `evtchn_status.u.interdomain`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnStatusInterdomain {
    /// Peer domain.
    pub dom: DomId,
    /// Peer port.
    pub port: EvtchnPort,
}
impl_pod!(EvtchnStatusInterdomain);

/// The state-specific union of `evtchn_status`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union EvtchnStatusDetail {
    /// For `EVTCHNSTAT_unbound`.
    pub unbound: EvtchnStatusUnbound,
    /// For `EVTCHNSTAT_interdomain`.
    pub interdomain: EvtchnStatusInterdomain,
    /// For `EVTCHNSTAT_pirq`.
    pub pirq: u32,
    /// For `EVTCHNSTAT_virq`.
    pub virq: u32,
}
pod_union!(EvtchnStatusDetail);

/// `struct evtchn_status`: state of `port` in `dom`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct EvtchnStatus {
    /// Domain owning the port.
    pub dom: DomId,
    /// Port to query.
    pub port: EvtchnPort,
    /// Output: `EVTCHNSTAT_*`.
    pub status: u32,
    /// Output: vcpu notified by the port.
    pub vcpu: u32,
    /// Output: state details.
    pub u: EvtchnStatusDetail,
}
impl_pod!(EvtchnStatus);

/// `struct evtchn_bind_vcpu`: route `port` to `vcpu`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnBindVcpu {
    /// Port to re-route.
    pub port: EvtchnPort,
    /// Vcpu to notify from now on.
    pub vcpu: u32,
}
impl_pod!(EvtchnBindVcpu);

/// `struct evtchn_unmask`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnUnmask {
    /// Port to unmask.
    pub port: EvtchnPort,
}
impl_pod!(EvtchnUnmask);

/// `struct evtchn_reset`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnReset {
    /// Domain whose ports are closed.
    pub dom: DomId,
}
impl_pod!(EvtchnReset);

/// `struct evtchn_init_control`: register a vcpu's FIFO control block.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnInitControl {
    /// Guest frame holding the control block.
    pub control_gfn: u64,
    /// Byte offset of the control block in that frame.
    pub offset: u32,
    /// Vcpu the control block belongs to.
    pub vcpu: u32,
    /// Output: number of link bits in an event word.
    pub link_bits: u8,
    /// Padding.
    pub _pad: [u8; 7],
}
impl_pod!(EvtchnInitControl);

/// `struct evtchn_expand_array`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnExpandArray {
    /// Guest frame to append to the event array.
    pub array_gfn: u64,
}
impl_pod!(EvtchnExpandArray);

/// `struct evtchn_set_priority`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnSetPriority {
    /// Port to change.
    pub port: EvtchnPort,
    /// New priority, `EVTCHN_FIFO_PRIORITY_MAX..=EVTCHN_FIFO_PRIORITY_MIN`.
    pub priority: u32,
}
impl_pod!(EvtchnSetPriority);

/// The argument union of the compat `evtchn_op`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union EvtchnOpArgs {
    /// `EVTCHNOP_alloc_unbound`.
    pub alloc_unbound: EvtchnAllocUnbound,
    /// `EVTCHNOP_bind_interdomain`.
    pub bind_interdomain: EvtchnBindInterdomain,
    /// `EVTCHNOP_bind_virq`.
    pub bind_virq: EvtchnBindVirq,
    /// `EVTCHNOP_bind_pirq`.
    pub bind_pirq: EvtchnBindPirq,
    /// `EVTCHNOP_bind_ipi`.
    pub bind_ipi: EvtchnBindIpi,
    /// `EVTCHNOP_close`.
    pub close: EvtchnClose,
    /// `EVTCHNOP_send`.
    pub send: EvtchnSend,
    /// `EVTCHNOP_status`.
    pub status: EvtchnStatus,
    /// `EVTCHNOP_bind_vcpu`.
    pub bind_vcpu: EvtchnBindVcpu,
    /// `EVTCHNOP_unmask`.
    pub unmask: EvtchnUnmask,
}
pod_union!(EvtchnOpArgs);

/// `struct evtchn_op`: the single argument of `event_channel_op_compat`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct EvtchnOp {
    /// `EVTCHNOP_*`.
    pub cmd: u32,
    /// Command argument.
    pub u: EvtchnOpArgs,
}
impl_pod!(EvtchnOp);

// ---------------------------------------------------------------------------
// FIFO ABI
// ---------------------------------------------------------------------------

/// Number of ports of the 2-level ABI on x86-64 (64 × 64 bits).
pub const EVTCHN_2L_NR_CHANNELS: u32 = 64 * 64;

/// Highest FIFO priority (numerically lowest).
pub const EVTCHN_FIFO_PRIORITY_MAX: u32 = 0;
/// Default FIFO priority.
pub const EVTCHN_FIFO_PRIORITY_DEFAULT: u32 = 7;
/// Lowest FIFO priority.
pub const EVTCHN_FIFO_PRIORITY_MIN: u32 = 15;
/// Number of FIFO queues (one per priority).
pub const EVTCHN_FIFO_MAX_QUEUES: usize = EVTCHN_FIFO_PRIORITY_MIN as usize + 1;

/// `event_word_t`: one FIFO event word.
pub type EventWord = u32;

/// Event-word bit: the event is pending.
pub const EVTCHN_FIFO_PENDING: u32 = 31;
/// Event-word bit: the event is masked.
pub const EVTCHN_FIFO_MASKED: u32 = 30;
/// Event-word bit: the event is on a queue.
pub const EVTCHN_FIFO_LINKED: u32 = 29;
/// Event-word bit: the guest is changing the word.
pub const EVTCHN_FIFO_BUSY: u32 = 28;
/// Number of bits of the link field.
pub const EVTCHN_FIFO_LINK_BITS: u32 = 17;
/// Mask of the link field.
pub const EVTCHN_FIFO_LINK_MASK: u32 = (1 << EVTCHN_FIFO_LINK_BITS) - 1;
/// Number of ports of the FIFO ABI.
pub const EVTCHN_FIFO_NR_CHANNELS: u32 = 1 << EVTCHN_FIFO_LINK_BITS;

/// `struct evtchn_fifo_control_block`: per-vcpu FIFO queue heads.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct EvtchnFifoControlBlock {
    /// Bitmap of queues with ready events.
    pub ready: u32,
    /// Reserved.
    pub _rsvd: u32,
    /// Head port of each priority queue.
    pub head: [EventWord; EVTCHN_FIFO_MAX_QUEUES],
}
impl_pod!(EvtchnFifoControlBlock);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(EvtchnOpCmd::try_from(4u32), Ok(EvtchnOpCmd::Send));
        // 14 is Xen-internal (`EVTCHNOP_reset_cont`), never a guest command.
        for bad in [14u32, 15, 0x8000_0004] {
            assert!(EvtchnOpCmd::try_from(bad).is_err(), "{bad}");
        }
        assert!(EvtchnStat::try_from(6u32).is_err());
    }
}
