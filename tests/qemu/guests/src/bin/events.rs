//! `events`: event channels as a PV dom0 sees them. It registers an event
//! callback, unmasks events, and exercises every `EVTCHNOP_*` of the 2-level
//! ABI on loopback connections to itself, VIRQs and IPIs, printing each
//! result and the ports its callback saw after each step (upcalls are
//! delivered on the way back from the hypercall that raised them), then
//! the errors for bad ports, domains, VIRQs and vCPUs.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use dom0_abi::callback::{CallbackRegister, CALLBACKOP_register, CALLBACKTYPE_event};
use dom0_abi::event_channel::*;
use dom0_abi::hypercall::{HYPERVISOR_callback_op, HYPERVISOR_event_channel_op};
use dom0_abi::xen::{SharedInfo, DOMID_SELF};
use dom0_abi::DomId;
use pv_guests::hypercall::{check, raw, XenResult};
use pv_guests::report::show;
use pv_guests::transcript::Transcript;
use pv_guests::StartInfo;

pv_guests::entry!(main);

/// The shared_info mapping.
static SHARED: AtomicU64 = AtomicU64::new(0);
/// Ports the callback saw, in order (cleared by [`take_events`]).
static SEEN: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];
static NSEEN: AtomicUsize = AtomicUsize::new(0);
/// The iret slot of the hypercall page, for the callback's return.
#[unsafe(no_mangle)]
static EVENTS_IRET: AtomicU64 = AtomicU64::new(0);

// The event callback: Xen's bounce frame is {rcx, r11, rip, cs, rflags,
// rsp, ss}; restore rcx/r11, save the rest, scan the pending bits, then
// return with HYPERVISOR_iret (a zero `flags` word on top of the frame).
core::arch::global_asm!(
    ".pushsection .text",
    ".global events_callback",
    "events_callback:",
    "pop rcx",
    "pop r11",
    "push rax", "push rbx", "push rcx", "push rdx", "push rsi", "push rdi", "push rbp",
    "push r8", "push r9", "push r10", "push r11", "push r12", "push r13", "push r14", "push r15",
    "call events_dispatch",
    "pop r15", "pop r14", "pop r13", "pop r12", "pop r11", "pop r10", "pop r9", "pop r8",
    "pop rbp", "pop rdi", "pop rsi", "pop rdx", "pop rcx", "pop rbx", "pop rax",
    "push 0",
    "jmp qword ptr [rip + EVENTS_IRET]",
    ".popsection",
);

unsafe extern "C" {
    fn events_callback();
}

/// Called by the callback with events masked: take every pending,
/// unmasked port (2-level scan, as Linux does).
#[unsafe(no_mangle)]
extern "C" fn events_dispatch() {
    let si = SHARED.load(Ordering::Relaxed) as *mut SharedInfo;
    // SAFETY: the shared_info page is mapped; only this vCPU's slot and the
    // bitmaps are touched, with atomic operations where the hypervisor
    // writes concurrently.
    unsafe {
        (*si).vcpu_info[0].evtchn_upcall_pending = 0;
        let sel = AtomicU64::from_ptr(&raw mut (*si).vcpu_info[0].evtchn_pending_sel).swap(0, Ordering::SeqCst);
        for word in (0..64).filter(|w| sel & (1 << w) != 0) {
            let pending = AtomicU64::from_ptr(&raw mut (*si).evtchn_pending[word]);
            let bits = pending.load(Ordering::SeqCst) & !(*si).evtchn_mask[word];
            pending.fetch_and(!bits, Ordering::SeqCst);
            for bit in (0..64).filter(|b| bits & (1 << b) != 0) {
                let n = NSEEN.fetch_add(1, Ordering::Relaxed);
                if n < SEEN.len() {
                    SEEN[n].store((word * 64 + bit) as u64, Ordering::Relaxed);
                }
            }
        }
    }
}

/// The ports seen since the last call, as a list.
struct Seen([u64; 16], usize);

impl core::fmt::Display for Seen {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("[")?;
        for (i, p) in self.0[..self.1.min(16)].iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{p}")?;
        }
        f.write_str("]")
    }
}

fn take_events() -> Seen {
    let n = NSEEN.swap(0, Ordering::Relaxed);
    let mut s = [0; 16];
    for (i, slot) in s.iter_mut().enumerate().take(n.min(16)) {
        *slot = SEEN[i].load(Ordering::Relaxed);
    }
    Seen(s, n)
}

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
    let shared = pv_guests::shared::map(si).expect("shared_info maps") as *mut SharedInfo;
    SHARED.store(shared as u64, Ordering::Relaxed);
    EVENTS_IRET.store(pv_guests::hypercall::page_address() + 23 * 32, Ordering::Relaxed);
    let mut cb = CallbackRegister { r#type: CALLBACKTYPE_event, flags: 0, address: events_callback as *const () as u64 };
    // SAFETY: registers our callback entry point.
    let r = check(unsafe { raw(HYPERVISOR_callback_op, u64::from(CALLBACKOP_register), &mut cb as *mut _ as u64, 0, 0, 0) });
    t.fact("register event callback", show(r));
    // SAFETY: our own vcpu_info slot; unmasking lets upcalls in.
    unsafe { (*shared).vcpu_info[0].evtchn_upcall_mask = 0 };

    let mut a = EvtchnAllocUnbound { dom: self_dom(), remote_dom: self_dom(), port: 0 };
    t.fact("alloc_unbound (remote self)", show(op(EVTCHNOP_alloc_unbound, &mut a)));
    t.fact("alloc_unbound port", a.port);
    status(&mut t, "status of the unbound port", self_dom(), a.port);
    t.fact("events so far", take_events());

    let mut b = EvtchnBindInterdomain { remote_dom: self_dom(), remote_port: a.port, local_port: 0 };
    t.fact("bind_interdomain to it", show(op(EVTCHNOP_bind_interdomain, &mut b)));
    t.fact("bind_interdomain local port", b.local_port);
    t.fact("events after binding", take_events());
    status(&mut t, "status of the local end", self_dom(), b.local_port);
    status(&mut t, "status of the remote end", self_dom(), a.port);
    let mut again = EvtchnBindInterdomain { remote_dom: self_dom(), remote_port: a.port, local_port: 0 };
    t.fact("bind_interdomain to a bound port", show(op(EVTCHNOP_bind_interdomain, &mut again)));

    let mut s = EvtchnSend { port: b.local_port };
    t.fact("send on the local end", show(op(EVTCHNOP_send, &mut s)));
    t.fact("events after it", take_events());
    let mut s = EvtchnSend { port: a.port };
    t.fact("send on the remote end", show(op(EVTCHNOP_send, &mut s)));
    t.fact("events after it", take_events());

    // Mask the remote end, send to it: pending but no upcall; unmasking
    // with EVTCHNOP_unmask delivers it.
    let (word, bit) = ((a.port / 64) as usize, 1u64 << (a.port % 64));
    // SAFETY: our shared_info bitmaps.
    unsafe { AtomicU64::from_ptr(&raw mut (*shared).evtchn_mask[word]).fetch_or(bit, Ordering::SeqCst) };
    let mut s = EvtchnSend { port: b.local_port };
    t.fact("send to the masked end", show(op(EVTCHNOP_send, &mut s)));
    t.fact("events while masked", take_events());
    // SAFETY: as above.
    let pending = unsafe { AtomicU64::from_ptr(&raw mut (*shared).evtchn_pending[word]).load(Ordering::SeqCst) & bit != 0 };
    t.fact("pending while masked", if pending { "yes" } else { "no" });
    let mut u = EvtchnUnmask { port: a.port };
    t.fact("unmask", show(op(EVTCHNOP_unmask, &mut u)));
    t.fact("events after unmask", take_events());

    let mut ipi = EvtchnBindIpi { vcpu: 0, port: 0 };
    t.fact("bind_ipi vcpu 0", show(op(EVTCHNOP_bind_ipi, &mut ipi)));
    t.fact("bind_ipi port", ipi.port);
    let mut s = EvtchnSend { port: ipi.port };
    t.fact("send on the ipi", show(op(EVTCHNOP_send, &mut s)));
    t.fact("events after it", take_events());
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
    t.fact("events after it", take_events());

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
    t.fact("events at the end", take_events());
    t.end();
}
