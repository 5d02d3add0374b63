//! The end of a domain: shutdown (it stops running and the control domain
//! is told) and destruction (Xen's `domain_kill` and
//! `domain_relinquish_resources` for PV): every reference the domain holds
//! is dropped and every frame it owns is given back. A frame another
//! domain still maps (dom0's foreign or grant mappings of its rings) is
//! freed when that mapping goes, as on Xen.

use alloc::boxed::Box;
use core::sync::atomic::Ordering;

use super::{Domain, ShutdownReason};
use crate::mm::frame_table;
use crate::mm::page::Owner;

/// `VIRQ_DOM_EXC`: a domain shut down or was destroyed.
const VIRQ_DOM_EXC: u32 = 3;

/// Tell the control domain that some domain changed state (Xen's
/// `send_global_virq(VIRQ_DOM_EXC)`).
pub fn notify_dom_exc() {
    let Some(d0) = super::by_id(0) else { return };
    let port = d0.evtchn.lock().virq_port(VIRQ_DOM_EXC);
    if let Some(p) = port {
        crate::hypercall::event_channel::notify(d0, p);
    }
}

/// Shut `d` down for `reason` (a no-op if it already is): its vCPUs stop
/// being scheduled, their state kept, and the control domain hears of it.
pub fn shutdown(d: &Domain, reason: ShutdownReason) {
    {
        let mut st = d.state.lock();
        if st.shutdown.is_some() {
            return;
        }
        st.shutdown = Some(reason);
    }
    log::info!("d{}: shut down ({reason:?})", d.domid);
    for v in d.vcpu_list() {
        crate::sched::remove(v.get());
    }
    notify_dom_exc();
}

/// Undo a shutdown (`XEN_DOMCTL_resumedomain`: a cancelled suspend): the
/// vCPUs run again.
pub fn resume(d: &Domain) {
    let was = d.state.lock().shutdown.take();
    if was.is_some() {
        crate::sched::wake_domain(d);
    }
}

/// Destroy `d` (not the running domain): it stops for good, drops every
/// reference it holds and gives back its frames; the structure itself is
/// freed and its ID no longer names it.
pub fn destroy(d: &'static Domain) {
    if d.dying.swap(true, Ordering::AcqRel) {
        // Another CPU is destroying it (two dom0 vCPUs asked at once).
        return;
    }
    let domid = d.domid;
    // None of its vCPUs is loaded on any CPU once this returns.
    crate::sched::deschedule_domain(d);
    // Its log-dirty bitmap (if any) goes, and with it the bookkeeping of
    // its frames' writes while they are released.
    crate::mm::log_dirty_ops::destroy(d);
    for v in d.vcpu_list() {
        release_vcpu(v.get());
    }
    release_events(d);
    release_grants(d);
    let eoi = d.pirq_eoi_mfn.swap(0, Ordering::AcqRel);
    if eoi != 0 {
        frame_table::with(|m| m.put_page_and_type(eoi));
    }
    let (freed_now, still_mapped) = relinquish_memory(domid);
    super::unregister(d);
    // Code on other CPUs that found the domain before it left the
    // registry (a domctl, an event sent to it, the timers) is done with it
    // once each CPU has passed a quiescent state.
    super::synchronize();
    let vcpus = d.vcpus.get().cloned().unwrap_or_default();
    for v in vcpus {
        // SAFETY: leaked with `Box::leak` at creation; the domain is out of
        // the registry, its vCPUs off the run queue and not current (the
        // caller is another domain), and every other CPU has been
        // quiescent since, so nothing refers to them any more.
        drop(unsafe { Box::from_raw(v.0) });
    }
    // SAFETY: leaked by `leak_domain`; unregistered above, and no vCPU or
    // table refers to it (other domains name it by ID only).
    drop(unsafe { Box::from_raw(d as *const Domain as *mut Domain) });
    log::info!("d{domid}: destroyed ({freed_now} frames freed, {still_mapped} still mapped by other domains)");
    notify_dom_exc();
}

/// Take `v` off the scheduler and drop what it holds: page-table bases,
/// GDT frames, a registered `vcpu_info`.
fn release_vcpu(v: &mut super::Vcpu) {
    crate::sched::remove(v);
    v.online.store(false, core::sync::atomic::Ordering::Release);
    let (k, u) = (core::mem::take(&mut v.guest_table), core::mem::take(&mut v.guest_table_user));
    frame_table::with(|m| {
        for base in [k, u] {
            if base != 0 {
                m.put_page_and_type(base);
            }
        }
    });
    crate::hypercall::descriptor::release_gdt(v);
    v.ldt.clear();
    if let Some(slot) = v.domain.vcpu_info_maddr.get(v.vcpu_id as usize) {
        let maddr = slot.swap(0, Ordering::AcqRel);
        if maddr != 0 {
            frame_table::with(|m| m.put_page_and_type(maddr >> 12));
        }
    }
}

/// Close every event channel (interdomain peers see their port unbound,
/// as when the domain closes it) and drop the FIFO control blocks.
fn release_events(d: &Domain) {
    let peers = d.evtchn.lock().reset();
    crate::hypercall::event_fifo::destroy(d);
    for (rdom, rport) in peers {
        if let Some(rd) = super::by_id(rdom) {
            rd.evtchn.lock().peer_closed(rport, d.domid);
        }
    }
}

/// Grants the domain mapped from others: their pins are released (the
/// frame references go with its page tables).
fn release_grants(d: &Domain) {
    let maps: alloc::vec::Vec<_> = d.grant.lock().mappings().map(|(_, m)| m).collect();
    for m in maps {
        if let Some(rd) = super::by_id(m.dom) {
            rd.grant.lock().unpin(&crate::hypercall::grant_table::DirectFrames, m.gref, m.readonly);
        }
    }
}

/// Drop the domain's pins and allocation references on every frame it
/// owns (Xen's `relinquish_memory`): page tables devalidate as their last
/// type reference goes, and each frame is freed with its last reference.
/// Returns the frames freed and those still referenced by other domains.
fn relinquish_memory(domid: u16) -> (u64, u64) {
    let owner = Owner::Domain(domid);
    let free_before = crate::mm::free_frames();
    let nr = frame_table::nr_frames() as u64;
    // In slices, so that the frames freed go back to the allocator as it
    // goes.
    const SLICE: u64 = 16384;
    for start in (0..nr).step_by(SLICE as usize) {
        frame_table::with(|m| {
            for f in start..(start + SLICE).min(nr) {
                if m.owner(f) != owner {
                    continue;
                }
                m.release_pin(f);
                // The pin may have been the last reference but the
                // allocation's: still the domain's?
                if m.owner(f) == owner {
                    m.release_allocation(f);
                }
            }
        });
    }
    let still = (0..nr).filter(|&f| frame_table::owner(f) == owner).count() as u64;
    (crate::mm::free_frames().saturating_sub(free_before), still)
}
