//! `events`: event channels as a PV dom0 sees them. It registers an event
//! callback, unmasks events, and exercises every `EVTCHNOP_*` of the 2-level
//! ABI on loopback connections to itself, VIRQs and IPIs, printing each
//! result and the ports its callback saw after each step (upcalls are
//! delivered on the way back from the hypercall that raised them), then
//! the errors for bad ports, domains, VIRQs and vCPUs.
#![no_std]
#![no_main]
// Xen spells its constants in lower case.
#![allow(non_upper_case_globals)]

use core::sync::atomic::{AtomicU64, Ordering};

use dom0_abi::event_channel::*;
use dom0_abi::hypercall::HYPERVISOR_event_channel_op;
use dom0_abi::xen::DOMID_SELF;
use dom0_abi::DomId;
use pv_guests::hypercall::{check, raw, XenResult};
use pv_guests::report::show;
use pv_guests::transcript::Transcript;
use pv_guests::StartInfo;

pv_guests::entry!(main);

fn op<T>(cmd: u32, arg: &mut T) -> XenResult {
    // SAFETY: `arg` is the structure this command reads and writes.
    check(unsafe { raw(HYPERVISOR_event_channel_op, u64::from(cmd), arg as *mut T as u64, 0, 0, 0) })
}

fn self_dom() -> DomId {
    DomId(DOMID_SELF)
}

fn status(t: &mut Transcript, label: &str, dom: DomId, port: u32) {
    let mut s = EvtchnStatus { dom, port, status: 0, vcpu: 0, u: dom0_abi::Pod::zeroed() };
    let r = op(EVTCHNOP_status, &mut s);
    match r {
        Ok(_) => {
            // SAFETY: the union member matching the status is the one written.
            let detail = unsafe {
                match s.status {
                    EVTCHNSTAT_unbound => (u32::from(s.u.unbound.dom.0), 0),
                    EVTCHNSTAT_interdomain => (u32::from(s.u.interdomain.dom.0), s.u.interdomain.port),
                    EVTCHNSTAT_virq => (s.u.virq, 0),
                    _ => (0, 0),
                }
            };
            t.fact(label, format_args!("status {} vcpu {} detail {} {}", s.status, s.vcpu, detail.0, detail.1));
        }
        Err(e) => t.fact(label, format_args!("{e}")),
    }
}

fn main(si: &'static StartInfo) {
    let mut t = Transcript::begin("events");
    let (shared, r) = pv_guests::events::install(si).expect("shared_info maps");
    t.fact("register event callback", show(r));

    let mut a = EvtchnAllocUnbound { dom: self_dom(), remote_dom: self_dom(), port: 0 };
    t.fact("alloc_unbound (remote self)", show(op(EVTCHNOP_alloc_unbound, &mut a)));
    t.fact("alloc_unbound port", a.port);
    status(&mut t, "status of the unbound port", self_dom(), a.port);
    t.fact("events so far", pv_guests::events::take_events());

    let mut b = EvtchnBindInterdomain { remote_dom: self_dom(), remote_port: a.port, local_port: 0 };
    t.fact("bind_interdomain to it", show(op(EVTCHNOP_bind_interdomain, &mut b)));
    t.fact("bind_interdomain local port", b.local_port);
    t.fact("events after binding", pv_guests::events::take_events());
    status(&mut t, "status of the local end", self_dom(), b.local_port);
    status(&mut t, "status of the remote end", self_dom(), a.port);
    let mut again = EvtchnBindInterdomain { remote_dom: self_dom(), remote_port: a.port, local_port: 0 };
    t.fact("bind_interdomain to a bound port", show(op(EVTCHNOP_bind_interdomain, &mut again)));

    let mut s = EvtchnSend { port: b.local_port };
    t.fact("send on the local end", show(op(EVTCHNOP_send, &mut s)));
    t.fact("events after it", pv_guests::events::take_events());
    let mut s = EvtchnSend { port: a.port };
    t.fact("send on the remote end", show(op(EVTCHNOP_send, &mut s)));
    t.fact("events after it", pv_guests::events::take_events());

    // Mask the remote end, send to it: pending but no upcall; unmasking
    // with EVTCHNOP_unmask delivers it.
    let (word, bit) = ((a.port / 64) as usize, 1u64 << (a.port % 64));
    // SAFETY: our shared_info bitmaps.
    unsafe { AtomicU64::from_ptr(&raw mut (*shared).evtchn_mask[word]).fetch_or(bit, Ordering::SeqCst) };
    let mut s = EvtchnSend { port: b.local_port };
    t.fact("send to the masked end", show(op(EVTCHNOP_send, &mut s)));
    t.fact("events while masked", pv_guests::events::take_events());
    // SAFETY: as above.
    let pending = unsafe { AtomicU64::from_ptr(&raw mut (*shared).evtchn_pending[word]).load(Ordering::SeqCst) & bit != 0 };
    t.fact("pending while masked", if pending { "yes" } else { "no" });
    let mut u = EvtchnUnmask { port: a.port };
    t.fact("unmask", show(op(EVTCHNOP_unmask, &mut u)));
    t.fact("events after unmask", pv_guests::events::take_events());

    let mut ipi = EvtchnBindIpi { vcpu: 0, port: 0 };
    t.fact("bind_ipi vcpu 0", show(op(EVTCHNOP_bind_ipi, &mut ipi)));
    t.fact("bind_ipi port", ipi.port);
    let mut s = EvtchnSend { port: ipi.port };
    t.fact("send on the ipi", show(op(EVTCHNOP_send, &mut s)));
    t.fact("events after it", pv_guests::events::take_events());
    status(&mut t, "status of the ipi", self_dom(), ipi.port);
    let mut bad_ipi = EvtchnBindIpi { vcpu: 7, port: 0 };
    t.fact("bind_ipi vcpu 7", show(op(EVTCHNOP_bind_ipi, &mut bad_ipi)));

    let mut virq = EvtchnBindVirq { virq: 1, vcpu: 0, port: 0 };
    t.fact("bind_virq VIRQ_DEBUG", show(op(EVTCHNOP_bind_virq, &mut virq)));
    t.fact("bind_virq port", virq.port);
    status(&mut t, "status of the virq", self_dom(), virq.port);
    let mut twice = EvtchnBindVirq { virq: 1, vcpu: 0, port: 0 };
    t.fact("bind_virq VIRQ_DEBUG again", show(op(EVTCHNOP_bind_virq, &mut twice)));
    let mut bad = EvtchnBindVirq { virq: 99, vcpu: 0, port: 0 };
    t.fact("bind_virq 99", show(op(EVTCHNOP_bind_virq, &mut bad)));
    let mut bad = EvtchnBindVirq { virq: 1, vcpu: 3, port: 0 };
    t.fact("bind_virq VIRQ_DEBUG on vcpu 3", show(op(EVTCHNOP_bind_virq, &mut bad)));
    let mut s = EvtchnSend { port: virq.port };
    t.fact("send on the virq port", show(op(EVTCHNOP_send, &mut s)));

    let mut bv = EvtchnBindVcpu { port: b.local_port, vcpu: 0 };
    t.fact("bind_vcpu interdomain to vcpu 0", show(op(EVTCHNOP_bind_vcpu, &mut bv)));
    let mut bv = EvtchnBindVcpu { port: b.local_port, vcpu: 9 };
    t.fact("bind_vcpu to vcpu 9", show(op(EVTCHNOP_bind_vcpu, &mut bv)));

    let mut c = EvtchnClose { port: a.port };
    t.fact("close the remote end", show(op(EVTCHNOP_close, &mut c)));
    status(&mut t, "status of the closed port", self_dom(), a.port);
    status(&mut t, "status of its peer", self_dom(), b.local_port);
    t.fact("close it again", show(op(EVTCHNOP_close, &mut c)));
    let mut s = EvtchnSend { port: a.port };
    t.fact("send on the closed port", show(op(EVTCHNOP_send, &mut s)));
    let mut s = EvtchnSend { port: b.local_port };
    t.fact("send on the now unbound peer", show(op(EVTCHNOP_send, &mut s)));
    t.fact("events after it", pv_guests::events::take_events());

    let mut c0 = EvtchnClose { port: 0 };
    t.fact("close port 0", show(op(EVTCHNOP_close, &mut c0)));
    let mut s = EvtchnSend { port: 5000 };
    t.fact("send on port 5000", show(op(EVTCHNOP_send, &mut s)));
    status(&mut t, "status of port 5000", self_dom(), 5000);
    status(&mut t, "status in domain 7", DomId(7), 1);
    let mut a7 = EvtchnAllocUnbound { dom: DomId(7), remote_dom: self_dom(), port: 0 };
    t.fact("alloc_unbound in domain 7", show(op(EVTCHNOP_alloc_unbound, &mut a7)));
    let mut b7 = EvtchnBindInterdomain { remote_dom: DomId(7), remote_port: 1, local_port: 0 };
    t.fact("bind_interdomain to domain 7", show(op(EVTCHNOP_bind_interdomain, &mut b7)));

    let mut r = EvtchnReset { dom: self_dom() };
    t.fact("reset", show(op(EVTCHNOP_reset, &mut r)));
    status(&mut t, "status of the ipi after reset", self_dom(), ipi.port);
    t.fact("unknown command 99", show(op(99, &mut r)));
    t.fact("events at the end", pv_guests::events::take_events());
    t.end();
}
