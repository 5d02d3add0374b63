//! `event_channel_op`: allocate, bind, send, close, query, unmask and reset
//! event channels (2-level ABI). The table logic is in [`crate::evtchn`];
//! this module parses the guest's arguments, finds the domains, and raises
//! upcalls.

use dom0_abi::event_channel::*;
use dom0_abi::xen::DOMID_SELF;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::uaccess::{read_guest, write_guest};
use crate::domain::{self, Domain, Vcpu};
use crate::evtchn::{self, Delivery, EvtchnError, EvtchnTable, PortState};

fn errno(e: EvtchnError) -> Errno {
    match e {
        EvtchnError::Invalid => Errno::EINVAL,
        EvtchnError::Exists => Errno::EEXIST,
        EvtchnError::NoVcpu => Errno::ENOENT,
        EvtchnError::NoSpace => Errno::ENOSPC,
    }
}

/// The domain `id` names for `v` (`DOMID_SELF` is the caller): one that
/// exists, else `ESRCH` whoever asks (Xen looks the domain up before it
/// checks the caller's right to it).
fn lookup(v: &Vcpu, id: u16) -> Result<&'static Domain, Errno> {
    if id == DOMID_SELF || id == v.domain.domid {
        return Ok(v.domain);
    }
    domain::by_id(id).ok_or(Errno::ESRCH)
}

/// Whether `v` may act on `d`'s event channels: its own, or any domain's
/// for a privileged caller (Xen's `XSM_TARGET`); else `EPERM`.
fn permit(v: &Vcpu, d: &Domain) -> Result<(), Errno> {
    if d.domid == v.domain.domid || v.domain.is_privileged { Ok(()) } else { Err(Errno::EPERM) }
}

/// [`lookup`], then [`permit`].
fn target(v: &Vcpu, id: u16) -> Result<&'static Domain, Errno> {
    let d = lookup(v, id)?;
    permit(v, d)?;
    Ok(d)
}

fn resolve(v: &Vcpu, id: u16) -> u16 {
    if id == DOMID_SELF { v.domain.domid } else { id }
}

/// Mark `port` of `d` pending; the upcall itself is delivered on the way
/// back to the guest. A vCPU blocked waiting for it is woken (Xen's
/// `vcpu_kick`).
pub fn notify(d: &Domain, port: u32) {
    let vcpu = d.evtchn.lock().vcpu_of(port) as usize;
    match super::event_fifo::raise(d, vcpu, port) {
        Some(upcall) => {
            if upcall {
                mark_upcall(d, vcpu);
            }
        }
        None => {
            if let Some(word) = evtchn::set_pending(d.shared_info(), port) {
                if let Some(vi) = d.vcpu_info(vcpu) {
                    evtchn::mark_selector(vi, word);
                }
            }
        }
    }
    kick(d, vcpu);
    wake_pollers(d, port);
}

/// Whether `port` of `d` is pending (either ABI).
pub fn is_pending(d: &Domain, port: u32) -> bool {
    if let Some(f) = d.fifo.lock().as_ref() {
        return f.is_pending(port);
    }
    let si = d.shared_info();
    si.evtchn_pending.get((port / 64) as usize).is_some_and(|w| w & (1 << (port % 64)) != 0)
}

/// Wake the vCPUs of `d` polling for `port` (`SCHEDOP_poll` on it or on
/// several ports), as Xen's `evtchn_check_pollers`.
fn wake_pollers(d: &Domain, port: u32) {
    for v in d.vcpu_list().iter().map(|r| r.get()) {
        if v.is_polling() && (v.poll_port == 0 || v.poll_port == port) {
            crate::sched::unblock(v);
        }
    }
}

/// Wake `vcpu` of `d` if an upcall is pending for it.
fn kick(d: &Domain, vcpu: usize) {
    let pending = d.vcpu_info(vcpu).is_some_and(|vi| core::hint::black_box(vi.evtchn_upcall_pending) != 0);
    if pending {
        if let Some(v) = d.vcpu(vcpu as u32) {
            crate::sched::unblock(v);
        }
    }
}

/// Unmask `port` of `d`, raising it if pending (`EINVAL` for no port).
pub fn unmask_port(d: &Domain, port: u32) -> HcResult {
    let t = d.evtchn.lock();
    if t.status(port).is_err() {
        return err(Errno::EINVAL);
    }
    let vcpu = t.vcpu_of(port) as usize;
    drop(t);
    match super::event_fifo::unmask(d, vcpu, port) {
        Some(true) => mark_upcall(d, vcpu),
        Some(false) => {}
        None => {
            if let Some(word) = evtchn::unmask(d.shared_info(), port) {
                if let Some(vi) = d.vcpu_info(vcpu) {
                    evtchn::mark_selector(vi, word);
                }
            }
        }
    }
    kick(d, vcpu);
    Ok(0)
}

/// Flag an upcall for `vcpu` of `d` (Xen's `vcpu_mark_events_pending`).
fn mark_upcall(d: &Domain, vcpu: usize) {
    if let Some(vi) = d.vcpu_info(vcpu) {
        vi.evtchn_upcall_pending = 1;
    }
}

fn args<T: dom0_abi::Pod>(arg: u64) -> Result<T, Errno> {
    read_guest(arg).map_err(|_| Errno::EFAULT)
}

fn out<T: dom0_abi::Pod>(arg: u64, v: &T) -> Result<(), Errno> {
    write_guest(arg, v).map_err(|_| Errno::EFAULT)
}

/// Connect a new port of `ld` to `remote_port` of `rd`, which must be
/// unbound for `ld`. Both tables are held for the whole check-and-connect
/// (the lower domain ID's first, as Xen's `double_evtchn_lock`): without
/// that, two binds of one remote port, or a bind racing the remote's
/// close, would both succeed.
fn bind_interdomain(ld: &Domain, rd: &Domain, remote_port: u32) -> Result<u32, Errno> {
    let bind = |lt: &mut EvtchnTable, rt: Option<&mut EvtchnTable>| {
        let unbound = rt.as_ref().map_or_else(|| lt.is_unbound_for(remote_port, ld.domid), |rt| rt.is_unbound_for(remote_port, ld.domid));
        if !unbound {
            return Err(Errno::EINVAL);
        }
        let lport = lt.bind_local(rd.domid, remote_port).map_err(errno)?;
        match rt {
            Some(rt) => rt.connect(remote_port, ld.domid, lport),
            None => lt.connect(remote_port, ld.domid, lport),
        }
        Ok(lport)
    };
    if ld.domid == rd.domid {
        return bind(&mut ld.evtchn.lock(), None);
    }
    if ld.domid < rd.domid {
        let mut lt = ld.evtchn.lock();
        let mut rt = rd.evtchn.lock();
        bind(&mut lt, Some(&mut rt))
    } else {
        let mut rt = rd.evtchn.lock();
        let mut lt = ld.evtchn.lock();
        bind(&mut lt, Some(&mut rt))
    }
}

/// `event_channel_op(cmd, arg)`.
pub fn event_channel_op(v: &mut Vcpu, cmd: u32, arg: u64) -> HcResult {
    match cmd {
        EVTCHNOP_alloc_unbound => {
            let mut a: EvtchnAllocUnbound = args(arg)?;
            let d = target(v, a.dom.0)?;
            a.port = d.evtchn.lock().alloc_unbound(resolve(v, a.remote_dom.0)).map_err(errno)?;
            out(arg, &a)?;
            Ok(0)
        }
        EVTCHNOP_bind_interdomain => {
            let mut b: EvtchnBindInterdomain = args(arg)?;
            let ld = v.domain;
            let rd = target(v, b.remote_dom.0).or_else(|_| domain::by_id(b.remote_dom.0).ok_or(Errno::ESRCH))?;
            let lport = bind_interdomain(ld, rd, b.remote_port)?;
            // Notifications may have been lost while the remote end was
            // unbound: conservatively raise the new local port, as Xen does.
            notify(ld, lport);
            b.local_port = lport;
            out(arg, &b)?;
            Ok(0)
        }
        EVTCHNOP_bind_virq => {
            let mut b: EvtchnBindVirq = args(arg)?;
            b.port = v.domain.evtchn.lock().bind_virq(b.virq, b.vcpu).map_err(errno)?;
            out(arg, &b)?;
            Ok(0)
        }
        EVTCHNOP_bind_pirq => {
            let mut b: EvtchnBindPirq = args(arg)?;
            let d = v.domain;
            // Xen: a pirq beyond the domain's range is EINVAL, one in
            // range but not mapped to an IRQ the domain may use EPERM.
            if b.pirq >= crate::pirq::NR_PIRQS {
                return err(Errno::EINVAL);
            }
            if crate::irq::with(|t| t.gsi_of(d.domid, b.pirq)).is_none() {
                return err(Errno::EPERM);
            }
            let port = d.evtchn.lock().bind_pirq(b.pirq).map_err(|e| match e {
                EvtchnError::Exists => Errno::EBUSY,
                e => errno(e),
            })?;
            match crate::irq::with(|t| t.bind(d.domid, b.pirq, port)) {
                Ok(gsi) => {
                    let level = crate::irq::with(|t| t.gsi(gsi).is_some_and(|g| g.level));
                    crate::irq::set_eoi_bit(d, b.pirq, level);
                    crate::irq::program(gsi, false);
                }
                Err(_) => {
                    let _ = d.evtchn.lock().close(port);
                    return err(Errno::EBUSY);
                }
            }
            b.port = port;
            out(arg, &b)?;
            Ok(0)
        }
        EVTCHNOP_bind_ipi => {
            let mut b: EvtchnBindIpi = args(arg)?;
            b.port = v.domain.evtchn.lock().bind_ipi(b.vcpu).map_err(errno)?;
            out(arg, &b)?;
            Ok(0)
        }
        EVTCHNOP_close => {
            let c: EvtchnClose = args(arg)?;
            let d = v.domain;
            let state = d.evtchn.lock().status(c.port);
            if let Ok((PortState::Pirq(pirq), _)) = state {
                if let Some(gsi) = crate::irq::with(|t| t.unbind(d.domid, pirq)) {
                    crate::arch::x86_64::ioapic::set_masked(gsi, true);
                }
                crate::irq::set_eoi_bit(d, pirq, false);
            }
            let peer = d.evtchn.lock().close(c.port).map_err(errno)?;
            if !super::event_fifo::clear(d, c.port) {
                evtchn::clear(d.shared_info(), c.port);
            }
            if let Some((rdom, rport)) = peer {
                if let Some(rd) = domain::by_id(rdom) {
                    rd.evtchn.lock().peer_closed(rport, d.domid);
                }
            }
            Ok(0)
        }
        EVTCHNOP_send => {
            let s: EvtchnSend = args(arg)?;
            let to = v.domain.evtchn.lock().send(v.domain.domid, s.port).map_err(errno)?;
            if let Delivery::To { domid, port } = to {
                if let Some(d) = domain::by_id(domid) {
                    notify(d, port);
                }
            }
            Ok(0)
        }
        EVTCHNOP_status => {
            let mut s: EvtchnStatus = args(arg)?;
            // Xen checks the port before the caller's right to the domain.
            let d = lookup(v, s.dom.0)?;
            let (state, vcpu) = d.evtchn.lock().status(s.port).map_err(errno)?;
            permit(v, d)?;
            s.status = EvtchnTable::stat(state);
            s.vcpu = vcpu;
            s.u = dom0_abi::Pod::zeroed();
            match state {
                PortState::Unbound { remote } => s.u.unbound = EvtchnStatusUnbound { dom: dom0_abi::DomId(remote) },
                PortState::Interdomain { remote, remote_port } => {
                    s.u.interdomain = EvtchnStatusInterdomain { dom: dom0_abi::DomId(remote), port: remote_port }
                }
                PortState::Virq(virq) => s.u.virq = virq,
                PortState::Pirq(pirq) => s.u.pirq = pirq,
                _ => {}
            }
            out(arg, &s)?;
            Ok(0)
        }
        EVTCHNOP_bind_vcpu => {
            let b: EvtchnBindVcpu = args(arg)?;
            v.domain.evtchn.lock().bind_vcpu(b.port, b.vcpu).map_err(errno)?;
            Ok(0)
        }
        EVTCHNOP_unmask => {
            let u: EvtchnUnmask = args(arg)?;
            unmask_port(v.domain, u.port)
        }
        EVTCHNOP_reset => {
            let r: EvtchnReset = args(arg)?;
            let d = target(v, r.dom.0)?;
            let peers = d.evtchn.lock().reset();
            super::event_fifo::destroy(d);
            for (rdom, rport) in peers {
                if let Some(rd) = domain::by_id(rdom) {
                    rd.evtchn.lock().peer_closed(rport, d.domid);
                }
            }
            Ok(0)
        }
        EVTCHNOP_init_control => super::event_fifo::init_control(v, arg),
        EVTCHNOP_expand_array => super::event_fifo::expand_array(v, arg),
        EVTCHNOP_set_priority => super::event_fifo::set_priority(v, arg),
        _ => err(Errno::ENOSYS),
    }
}
