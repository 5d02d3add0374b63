//! Event channels (2-level ABI): the per-domain port table and the pending
//! and mask bits in `shared_info`, as pure logic.
//!
//! A port is free, reserved (port 0), unbound (waiting for a given remote
//! domain to bind), interdomain (connected to a peer port), bound to a
//! VIRQ, or an IPI. Sending on a port sets the pending bit of its peer (or
//! of itself for an IPI); a pending, unmasked port sets its selector bit
//! and the vCPU's upcall-pending flag, which the hypervisor turns into an
//! upcall to the guest's event callback on its way back to the guest.

use alloc::vec::Vec;

use dom0_abi::event_channel::*;
use dom0_abi::xen::{SharedInfo, VcpuInfo};

/// Ports of the 2-level ABI for 64-bit guests (64 × 64).
pub const NR_EVENT_CHANNELS: u32 = 4096;
/// Number of VIRQs.
pub const NR_VIRQS: u32 = 24;
/// VIRQs that are per vCPU (TIMER, DEBUG, XENOPROF, XENPMU); all the
/// others are per domain and bound on vCPU 0.
const PER_VCPU_VIRQS: [u32; 4] = [0, 1, 5, 13];

/// What a port is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortState {
    /// Free.
    Free,
    /// Never allocated (port 0).
    Reserved,
    /// Waiting for `remote` to bind.
    Unbound {
        /// The domain allowed to bind.
        remote: u16,
    },
    /// Connected.
    Interdomain {
        /// Peer domain.
        remote: u16,
        /// Peer port.
        remote_port: u32,
    },
    /// Bound to a VIRQ.
    Virq(u32),
    /// An inter-processor event.
    Ipi,
    /// Bound to a physical IRQ (pirq).
    Pirq(u32),
}

/// Why an operation failed (mapped to Xen's errnos by the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvtchnError {
    /// Bad port, state or argument (`EINVAL`).
    Invalid,
    /// Already bound (`EEXIST`).
    Exists,
    /// No such vCPU (`ENOENT`).
    NoVcpu,
    /// No free port (`ENOSPC`).
    NoSpace,
}

/// One domain's ports.
pub struct EvtchnTable {
    states: Vec<PortState>,
    vcpus: Vec<u32>,
    /// The port of each VIRQ, per vCPU (global VIRQs live in vCPU 0's row).
    virq_port: Vec<[u32; NR_VIRQS as usize]>,
    nr_vcpus: u32,
    max_port: u32,
    /// Ports below this are valid (Xen's `valid_evtchns`: its port
    /// structures come in buckets of 64, allocated as ports are given out
    /// and never freed); a valid free port and one beyond answer
    /// differently (`ENOSYS` vs `EINVAL` for `set_priority`).
    valid: u32,
}

/// Ports per bucket of Xen's port structures (a page of 64-byte ones).
const PORTS_PER_BUCKET: u32 = 64;

/// Where a send lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Nowhere (an unbound port drops it).
    Dropped,
    /// Port `port` of domain `domid`, for vCPU `vcpu`.
    To {
        /// Domain.
        domid: u16,
        /// Port.
        port: u32,
    },
}

fn is_global(virq: u32) -> bool {
    !PER_VCPU_VIRQS.contains(&virq)
}

impl EvtchnTable {
    /// A table for a domain with `nr_vcpus` vCPUs; port 0 is reserved.
    pub fn new(nr_vcpus: u32) -> Self {
        let mut states = alloc::vec![PortState::Free; NR_EVENT_CHANNELS as usize];
        states[0] = PortState::Reserved;
        Self {
            states,
            vcpus: alloc::vec![0; NR_EVENT_CHANNELS as usize],
            virq_port: alloc::vec![[0; NR_VIRQS as usize]; nr_vcpus.max(1) as usize],
            nr_vcpus,
            max_port: u32::MAX,
            valid: PORTS_PER_BUCKET,
        }
    }

    fn free_port(&mut self) -> Result<u32, EvtchnError> {
        let p = self.states.iter().position(|s| *s == PortState::Free).ok_or(EvtchnError::NoSpace)? as u32;
        // Ports above the domain's limit (`max_evtchn_port`) are not given.
        if p > self.max_port {
            return Err(EvtchnError::NoSpace);
        }
        self.valid = self.valid.max((p / PORTS_PER_BUCKET + 1) * PORTS_PER_BUCKET);
        Ok(p)
    }

    /// Whether `port` is valid (Xen's `port_is_valid`): below the ports
    /// whose structures exist, free or not.
    pub fn port_is_valid(&self, port: u32) -> bool {
        port < self.valid && (port as usize) < self.states.len()
    }

    /// Limit the ports handed out to `max_port` and below (the toolstack's
    /// `max_evtchn_port` at creation).
    pub fn set_max_port(&mut self, max_port: u32) {
        self.max_port = max_port;
    }

    fn state(&self, port: u32) -> Result<PortState, EvtchnError> {
        self.states.get(port as usize).copied().ok_or(EvtchnError::Invalid)
    }

    /// The state of `port` and the vCPU it notifies.
    pub fn status(&self, port: u32) -> Result<(PortState, u32), EvtchnError> {
        Ok((self.state(port)?, self.vcpus[port as usize]))
    }

    /// A new unbound port that `remote` may bind.
    pub fn alloc_unbound(&mut self, remote: u16) -> Result<u32, EvtchnError> {
        let p = self.free_port()?;
        self.states[p as usize] = PortState::Unbound { remote };
        self.vcpus[p as usize] = 0;
        Ok(p)
    }

    /// Whether `port` is unbound and waits for `domid`.
    pub fn is_unbound_for(&self, port: u32, domid: u16) -> bool {
        matches!(self.state(port), Ok(PortState::Unbound { remote }) if remote == domid)
    }

    /// A new port connected to `remote_port` of `remote`.
    pub fn bind_local(&mut self, remote: u16, remote_port: u32) -> Result<u32, EvtchnError> {
        let p = self.free_port()?;
        self.states[p as usize] = PortState::Interdomain { remote, remote_port };
        self.vcpus[p as usize] = 0;
        Ok(p)
    }

    /// Turn unbound `port` into the peer end of a connection.
    pub fn connect(&mut self, port: u32, remote: u16, remote_port: u32) {
        self.states[port as usize] = PortState::Interdomain { remote, remote_port };
    }

    /// Bind `virq` on `vcpu` (a per-vCPU VIRQ once per vCPU, a global one
    /// once, on vCPU 0).
    pub fn bind_virq(&mut self, virq: u32, vcpu: u32) -> Result<u32, EvtchnError> {
        if virq >= NR_VIRQS || (is_global(virq) && vcpu != 0) {
            return Err(EvtchnError::Invalid);
        }
        if vcpu >= self.nr_vcpus {
            return Err(EvtchnError::NoVcpu);
        }
        if self.virq_port[vcpu as usize][virq as usize] != 0 {
            return Err(EvtchnError::Exists);
        }
        let p = self.free_port()?;
        self.states[p as usize] = PortState::Virq(virq);
        self.vcpus[p as usize] = vcpu;
        self.virq_port[vcpu as usize][virq as usize] = p;
        Ok(p)
    }

    /// The port bound to global `virq` (or to `virq` on vCPU 0), if any.
    pub fn virq_port(&self, virq: u32) -> Option<u32> {
        self.virq_port_on(virq, 0)
    }

    /// The port bound to `virq` on `vcpu`, if any.
    pub fn virq_port_on(&self, virq: u32, vcpu: u32) -> Option<u32> {
        self.virq_port.get(vcpu as usize)?.get(virq as usize).copied().filter(|&p| p != 0)
    }

    /// Bind `pirq` to a new port (notifying vCPU 0); one port per pirq.
    pub fn bind_pirq(&mut self, pirq: u32) -> Result<u32, EvtchnError> {
        if self.states.contains(&PortState::Pirq(pirq)) {
            return Err(EvtchnError::Exists);
        }
        let p = self.free_port()?;
        self.states[p as usize] = PortState::Pirq(pirq);
        self.vcpus[p as usize] = 0;
        Ok(p)
    }

    /// Bind an IPI port notifying `vcpu`.
    pub fn bind_ipi(&mut self, vcpu: u32) -> Result<u32, EvtchnError> {
        if vcpu >= self.nr_vcpus {
            return Err(EvtchnError::NoVcpu);
        }
        let p = self.free_port()?;
        self.states[p as usize] = PortState::Ipi;
        self.vcpus[p as usize] = vcpu;
        Ok(p)
    }

    /// Close `port`; returns the peer to reset to unbound, if it had one.
    pub fn close(&mut self, port: u32) -> Result<Option<(u16, u32)>, EvtchnError> {
        let peer = match self.state(port)? {
            PortState::Free | PortState::Reserved => return Err(EvtchnError::Invalid),
            PortState::Interdomain { remote, remote_port } => Some((remote, remote_port)),
            PortState::Virq(v) => {
                // Bound on vCPU 0 if global; a global VIRQ's port may have
                // been moved to another vCPU since (`bind_vcpu`).
                let row = if is_global(v) { 0 } else { self.vcpus[port as usize] as usize };
                if let Some(slot) = self.virq_port.get_mut(row).and_then(|r| r.get_mut(v as usize)) {
                    *slot = 0;
                }
                None
            }
            _ => None,
        };
        self.states[port as usize] = PortState::Free;
        Ok(peer)
    }

    /// The peer end of a closed connection becomes unbound again (for the
    /// domain that closed it), as on Xen.
    pub fn peer_closed(&mut self, port: u32, closer: u16) {
        if let Some(s) = self.states.get_mut(port as usize) {
            *s = PortState::Unbound { remote: closer };
        }
    }

    /// Where a send on `port` of domain `me` goes.
    pub fn send(&self, me: u16, port: u32) -> Result<Delivery, EvtchnError> {
        match self.state(port)? {
            PortState::Interdomain { remote, remote_port } => Ok(Delivery::To { domid: remote, port: remote_port }),
            PortState::Ipi => Ok(Delivery::To { domid: me, port }),
            PortState::Unbound { .. } => Ok(Delivery::Dropped),
            _ => Err(EvtchnError::Invalid),
        }
    }

    /// Notify `port` on another vCPU.
    pub fn bind_vcpu(&mut self, port: u32, vcpu: u32) -> Result<(), EvtchnError> {
        if vcpu >= self.nr_vcpus {
            return Err(EvtchnError::NoVcpu);
        }
        match self.state(port)? {
            PortState::Unbound { .. } | PortState::Interdomain { .. } => {}
            PortState::Virq(v) if is_global(v) => {}
            _ => return Err(EvtchnError::Invalid),
        }
        self.vcpus[port as usize] = vcpu;
        Ok(())
    }

    /// The vCPU `port` notifies.
    pub fn vcpu_of(&self, port: u32) -> u32 {
        self.vcpus.get(port as usize).copied().unwrap_or(0)
    }

    /// Close every port (EVTCHNOP_reset); returns the peers to unbind.
    pub fn reset(&mut self) -> Vec<(u16, u32)> {
        let mut peers = Vec::new();
        for p in 1..NR_EVENT_CHANNELS {
            if let Ok(Some(peer)) = self.close(p) {
                peers.push(peer);
            }
        }
        peers
    }

    /// `EVTCHNSTAT_*` of a state.
    pub fn stat(s: PortState) -> u32 {
        match s {
            PortState::Free | PortState::Reserved => EVTCHNSTAT_closed,
            PortState::Unbound { .. } => EVTCHNSTAT_unbound,
            PortState::Interdomain { .. } => EVTCHNSTAT_interdomain,
            PortState::Virq(_) => EVTCHNSTAT_virq,
            PortState::Ipi => EVTCHNSTAT_ipi,
            PortState::Pirq(_) => EVTCHNSTAT_pirq,
        }
    }
}

/// Mark `port` pending in `si`; returns the selector word to flag in the
/// target vCPU's `vcpu_info` ([`mark_selector`]) when the port became
/// newly pending and is not masked.
pub fn set_pending(si: &mut SharedInfo, port: u32) -> Option<usize> {
    let (word, bit) = ((port / 64) as usize, 1u64 << (port % 64));
    if si.evtchn_pending[word] & bit != 0 {
        return None;
    }
    si.evtchn_pending[word] |= bit;
    if si.evtchn_mask[word] & bit != 0 {
        return None;
    }
    Some(word)
}

/// Flag selector `word` and the upcall in a vCPU's `vcpu_info`; returns
/// whether an upcall became pending.
pub fn mark_selector(vi: &mut VcpuInfo, word: usize) -> bool {
    let sel = 1u64 << word;
    if vi.evtchn_pending_sel & sel != 0 && vi.evtchn_upcall_pending != 0 {
        return false;
    }
    vi.evtchn_pending_sel |= sel;
    vi.evtchn_upcall_pending = 1;
    true
}

/// Unmask `port`; returns the selector word to flag ([`mark_selector`])
/// if it is pending.
pub fn unmask(si: &mut SharedInfo, port: u32) -> Option<usize> {
    let (word, bit) = ((port / 64) as usize, 1u64 << (port % 64));
    si.evtchn_mask[word] &= !bit;
    (si.evtchn_pending[word] & bit != 0).then_some(word)
}

/// Clear the pending and mask bits of a freed port.
pub fn clear(si: &mut SharedInfo, port: u32) {
    let (word, bit) = ((port / 64) as usize, 1u64 << (port % 64));
    si.evtchn_pending[word] &= !bit;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    fn si() -> Box<SharedInfo> {
        Box::new(dom0_abi::Pod::zeroed())
    }

    #[test]
    fn loopback_connection_and_send() {
        let mut t = EvtchnTable::new(1);
        let a = t.alloc_unbound(0).unwrap();
        assert_eq!(a, 1, "port 0 is reserved");
        assert!(t.is_unbound_for(a, 0));
        let b = t.bind_local(0, a).unwrap();
        t.connect(a, 0, b);
        assert_eq!(t.send(0, b), Ok(Delivery::To { domid: 0, port: a }));
        assert_eq!(t.send(0, a), Ok(Delivery::To { domid: 0, port: b }));
        assert_eq!(t.close(b), Ok(Some((0, a))));
        t.peer_closed(a, 0);
        assert_eq!(t.send(0, a), Ok(Delivery::Dropped));
        assert_eq!(t.send(0, b), Err(EvtchnError::Invalid));
        assert_eq!(t.close(b), Err(EvtchnError::Invalid));
    }

    #[test]
    fn virqs_and_ipis() {
        let mut t = EvtchnTable::new(1);
        let p = t.bind_virq(0, 0).unwrap();
        assert_eq!(t.bind_virq(0, 0), Err(EvtchnError::Exists));
        assert_eq!(t.bind_virq(99, 0), Err(EvtchnError::Invalid));
        assert_eq!(t.bind_virq(2, 1), Err(EvtchnError::Invalid), "global VIRQ (CONSOLE) on vCPU 1");
        assert_eq!(t.bind_virq(1, 1), Err(EvtchnError::NoVcpu), "per-vCPU VIRQ (DEBUG) on a missing vCPU");
        assert_eq!(t.bind_virq(0, 1), Err(EvtchnError::NoVcpu));
        assert_eq!(t.virq_port(0), Some(p));
        assert_eq!(t.send(0, p), Err(EvtchnError::Invalid));
        t.close(p).unwrap();
        assert_eq!(t.virq_port(0), None);
        let i = t.bind_ipi(0).unwrap();
        assert_eq!(t.send(0, i), Ok(Delivery::To { domid: 0, port: i }));
        assert_eq!(t.bind_ipi(3), Err(EvtchnError::NoVcpu));
    }

    #[test]
    fn pending_mask_and_selector() {
        let mut s = si();
        let raise = |s: &mut SharedInfo, w: Option<usize>| w.is_some_and(|w| mark_selector(&mut s.vcpu_info[0], w));
        let w = set_pending(&mut s, 70);
        assert!(raise(&mut s, w));
        assert_eq!(s.evtchn_pending[1], 1 << 6);
        assert_eq!(s.vcpu_info[0].evtchn_pending_sel, 1 << 1);
        assert_eq!(s.vcpu_info[0].evtchn_upcall_pending, 1);
        assert_eq!(set_pending(&mut s, 70), None, "already pending");
        s.evtchn_mask[0] = 1 << 5;
        s.vcpu_info[0].evtchn_upcall_pending = 0;
        s.vcpu_info[0].evtchn_pending_sel = 0;
        assert_eq!(set_pending(&mut s, 5), None, "masked: no upcall");
        let w = unmask(&mut s, 5);
        assert!(raise(&mut s, w), "unmasking a pending port raises it");
        assert_eq!(s.vcpu_info[0].evtchn_pending_sel, 1);
    }

    #[test]
    fn ports_run_out() {
        let mut t = EvtchnTable::new(1);
        for _ in 1..NR_EVENT_CHANNELS {
            t.bind_ipi(0).unwrap();
        }
        assert_eq!(t.bind_ipi(0), Err(EvtchnError::NoSpace));
    }
}
