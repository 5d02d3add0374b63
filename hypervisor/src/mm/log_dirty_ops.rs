//! Log-dirty mode on the machine: enabling, cleaning and turning it off
//! for a domain, and the protection-key fault that records a write. The
//! design, its invariant and its limits are in [`super::log_dirty`].
//!
//! Locks: the page locks of the L1 tables it rewrites or disarms (one at a
//! time), then the log-dirty state's (a leaf). No guest memory is touched
//! under either (a write to a log-dirty domain's memory may fault into
//! [`pk_fault`], which takes both).

use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use dom0_abi::Errno;

use super::frame_table::{self, DirectMap};
use super::log_dirty::{self, DirtyBitmap, PKRU_LOG_DIRTY};
use super::page::PageType;
use super::pv::{l1_keys, Disarm, KeyMode, Memory, ADDR_MASK, P, PSE};
use crate::arch::x86_64::{self as arch, paging};
use crate::domain::Domain;

/// Whether log-dirty mode can be offered: the CPU has protection keys.
pub fn supported() -> bool {
    arch::has_pku()
}

/// Run `f` with `d` paused (as Xen's log-dirty operations pause it): none
/// of its vCPUs runs anywhere meanwhile.
fn paused<R>(d: &Domain, f: impl FnOnce() -> R) -> R {
    d.pause_count.fetch_add(1, Ordering::AcqRel);
    crate::sched::deschedule_domain(d);
    let r = f();
    d.pause_count.fetch_sub(1, Ordering::AcqRel);
    crate::sched::wake_domain(d);
    r
}

/// Flush every CPU's TLB (armed or stripped keys must be seen everywhere).
fn flush_all_cpus() {
    super::tlbflush::flush_mask(u64::MAX);
}

/// `XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY`: `EOPNOTSUPP` without
/// protection keys, `EINVAL` when already on (Xen's answers).
pub fn enable(d: &Domain) -> Result<(), Errno> {
    if !supported() {
        return Err(Errno::EOPNOTSUPP);
    }
    if log_dirty::enabled(d.domid) {
        return Err(Errno::EINVAL);
    }
    paused(d, || {
        log_dirty::start(d.domid);
        let armed = frame_table::with(|m| m.rewrite_l1_entries(d.domid, |e, own| l1_keys(e, KeyMode::Arm, own)));
        flush_all_cpus();
        log::info!("d{}: log-dirty mode on ({armed} entries armed)", d.domid);
    });
    Ok(())
}

/// `XEN_DOMCTL_SHADOW_OP_OFF`: keys stripped, bitmap freed (nothing to do
/// when the mode is off).
pub fn disable(d: &Domain) {
    if !log_dirty::enabled(d.domid) {
        return;
    }
    paused(d, || {
        log_dirty::stop(d.domid, false);
        frame_table::with(|m| m.rewrite_l1_entries(d.domid, |e, own| l1_keys(e, KeyMode::Strip, own)));
        flush_all_cpus();
    });
    log::info!("d{}: log-dirty mode off", d.domid);
}

/// Forget `d`'s log-dirty state (it is being destroyed).
pub fn destroy(d: &Domain) {
    log_dirty::stop(d.domid, true);
}

/// Mark the pages of `d` written other than through its own (armed)
/// entries and still in such use: other domains' writable mappings, and
/// the pages the hypervisor writes through its direct map.
fn mark_bypassing_writes(d: &Domain) {
    let mut held: Vec<u64> = d
        .vcpu_info_maddr
        .iter()
        .map(|a| a.load(Ordering::Acquire))
        .filter(|&a| a != 0)
        .map(|a| a >> 12)
        .collect();
    if let Some(f) = d.fifo.lock().as_ref() {
        held.extend_from_slice(&f.frames);
    }
    let eoi = d.pirq_eoi_mfn.load(Ordering::Acquire);
    if eoi != 0 {
        held.push(eoi);
    }
    frame_table::with(|m| {
        m.note_foreign_writable(d.domid);
        for mfn in held {
            m.mark(d.domid, mfn);
        }
    });
}

/// `XEN_DOMCTL_SHADOW_OP_CLEAN` (`clean`) or `_PEEK`: the dirty set since
/// the last clean and its statistics, `None` when `d` is not in log-dirty
/// mode. A clean re-arms every entry written through, flushes every CPU,
/// then takes the set (the order the invariant of [`super::log_dirty`]
/// needs).
pub fn clean_or_peek(d: &Domain, clean: bool) -> Option<DirtyBitmap> {
    if !log_dirty::enabled(d.domid) {
        return None;
    }
    let start = crate::timer::now_ns();
    paused(d, || {
        mark_bypassing_writes(d);
        if clean {
            let rearmed =
                frame_table::with(|m| m.rewrite_l1_entries(d.domid, |e, own| l1_keys(e, KeyMode::Arm, own)));
            flush_all_cpus();
            let set = log_dirty::with_bitmap(d.domid, DirtyBitmap::take);
            if let Some(b) = &set {
                log::info!(
                    "d{}: log-dirty clean: {} pages dirty, {} key faults, {rearmed} entries re-armed, {} us",
                    d.domid,
                    b.dirty_count,
                    b.fault_count,
                    (crate::timer::now_ns() - start) / 1000
                );
            }
            set
        } else {
            log_dirty::with_bitmap(d.domid, |b| b.clone())
        }
    })
}

/// The L1 table and index mapping `va` in the address space rooted at L4
/// `root` (read without locks: [`super::pv::Mm::disarm`] checks what it
/// finds under the L1's page lock).
fn walk(m: &super::pv::Mm<'_, DirectMap>, root: u64, va: u64) -> Option<(u64, usize)> {
    let mut table = root;
    for level in (2..=4u32).rev() {
        if m.page_type(table)? != PageType::table(level) {
            return None;
        }
        let e = DirectMap.read(table, paging::index(va, level));
        if e & P == 0 || e & PSE != 0 {
            return None;
        }
        table = (e & ADDR_MASK) >> 12;
    }
    (m.page_type(table)? == PageType::L1).then_some((table, paging::index(va, 1)))
}

/// A page fault with the PK bit at `va` by (or on behalf of) a vCPU of
/// domain `domid`, under the page tables live on this CPU: when it is a
/// write through an armed entry, the page and its L1 table are marked,
/// the entry disarmed and the TLB entry dropped; true when the access
/// should simply be retried.
pub fn pk_fault(domid: u16, va: u64) -> bool {
    if !log_dirty::enabled(domid) {
        return false;
    }
    let root = x86_64::registers::control::Cr3::read_raw().0.start_address().as_u64() >> 12;
    let r = frame_table::with(|m| {
        let (l1, index) = walk(m, root, va)?;
        match m.disarm(l1, index, domid) {
            Disarm::Disarmed => Some(true),
            Disarm::NotArmed => Some(false),
            Disarm::NotOurs => None,
        }
    });
    let retry = match r {
        Some(true) => {
            log_dirty::count_fault(domid);
            true
        }
        // Disarmed by another CPU; this one's TLB had it armed. Unless the
        // guest changed PKRU itself (its own faults then).
        Some(false) => arch::rdpkru() == PKRU_LOG_DIRTY,
        None => false,
    };
    if retry {
        x86_64::instructions::tlb::flush(x86_64::VirtAddr::new_truncate(va));
    }
    retry
}

/// CR4.PKE and PKRU for a vCPU of `d` about to run on this CPU.
pub fn load_vcpu(d: &Domain) {
    arch::set_pke(log_dirty::enabled(d.domid), PKRU_LOG_DIRTY);
}
