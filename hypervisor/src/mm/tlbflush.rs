//! The TLB-flush clock (Xen's `tlbflush_clock`): when each CPU last
//! flushed its TLB, and when a frame last lost a use a stale TLB entry
//! could still allow, so a flush happens exactly when a stale entry could
//! matter.
//!
//! The clock ticks at every full TLB flush of any CPU (a CR3 load: global
//! pages are off, so it flushes everything), and each CPU keeps the value
//! it reached at its last one. A frame is stamped with the clock when its
//! last writable use ends; a CPU whose last flush is not later than that
//! stamp may still hold a writable TLB entry for it. Before such a frame
//! becomes a page table or descriptor table (validated contents the guest
//! must not write), those CPUs flush ([`flush_if_stale`]): otherwise a
//! guest could unmap a page without a flush, have it validated, and write
//! through the entry left behind.
//!
//! Another CPU flushes when asked ([`flush_mask`]): a request flag and an
//! IPI, answered by the IPI's handler, by its idle loop, or while it spins
//! for a lock ([`crate::sync::Mutex`]); the asking CPU waits for every
//! answer, answering requests to itself meanwhile.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bumped at every full TLB flush.
static CLOCK: AtomicU64 = AtomicU64::new(1);

const NO_FLUSH: AtomicU64 = AtomicU64::new(0);
/// The clock at each CPU's last full flush.
static CPU_FLUSHED: [AtomicU64; 64] = [NO_FLUSH; 64];

#[cfg(not(test))]
fn this_cpu() -> usize {
    crate::arch::x86_64::cpu::this_cpu().cpu_id as usize
}

#[cfg(test)]
fn this_cpu() -> usize {
    0
}

/// The clock now: the stamp of a frame whose writable use ends now.
pub fn now() -> u64 {
    CLOCK.load(Ordering::Acquire)
}

/// This CPU has just flushed its whole TLB.
pub fn flushed() {
    let t = CLOCK.fetch_add(1, Ordering::AcqRel) + 1;
    CPU_FLUSHED[this_cpu()].store(t, Ordering::Release);
}

/// Whether `cpu` may still hold a TLB entry from before `stamp`.
pub fn may_be_stale(cpu: usize, stamp: u64) -> bool {
    CPU_FLUSHED[cpu].load(Ordering::Acquire) <= stamp
}

/// Flush this CPU's TLB (a CR3 reload) and record it.
pub fn flush_local() {
    #[cfg(not(test))]
    x86_64::instructions::tlb::flush_all();
    flushed();
}

const NO_REQUEST: AtomicBool = AtomicBool::new(false);
/// A flush asked of each CPU and not yet done.
static REQUESTED: [AtomicBool; 64] = [NO_REQUEST; 64];

/// Do the flush another CPU asked of this one, if any (nothing while the
/// boot CPU is still on its boot stack: no other CPU runs then).
pub fn service() {
    #[cfg(not(test))]
    let Some(me) = crate::arch::x86_64::cpu::this_cpu_checked().map(|c| c.cpu_id as usize) else { return };
    #[cfg(test)]
    let me = this_cpu();
    if REQUESTED[me].load(Ordering::Acquire) {
        flush_local();
        REQUESTED[me].store(false, Ordering::Release);
    }
}

/// CPUs brought up (one bit each).
#[cfg(not(test))]
fn online_mask() -> u64 {
    let n = crate::arch::x86_64::cpu::CPUS_ONLINE.load(Ordering::Acquire).min(64);
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

#[cfg(test)]
fn online_mask() -> u64 {
    1
}

/// Flush the TLBs of the CPUs in `mask` (one bit each) and wait until
/// every one has.
pub fn flush_mask(mask: u64) {
    let me = this_cpu();
    let others = mask & online_mask() & !(1 << me);
    if mask & (1 << me) != 0 {
        flush_local();
    }
    for c in (0..64).filter(|c| others & (1 << c) != 0) {
        REQUESTED[c].store(true, Ordering::SeqCst);
        #[cfg(not(test))]
        crate::arch::x86_64::apic::send_to_cpu(c as u32, crate::arch::x86_64::apic::FLUSH_VECTOR);
    }
    for c in (0..64).filter(|c| others & (1 << c) != 0) {
        while REQUESTED[c].load(Ordering::Acquire) {
            service();
            core::hint::spin_loop();
        }
    }
}

/// Flush every CPU but this one (a guest's `TLB_FLUSH_ALL`/`_MULTI` and
/// `INVLPG_ALL`/`_MULTI`, done as whole flushes elsewhere).
pub fn flush_others() {
    flush_mask(online_mask() & !(1 << this_cpu()));
}

/// A frame stamped `stamp` is about to hold validated contents (or to be
/// reused): flush every CPU that may hold a TLB entry from before the
/// stamp.
pub fn flush_if_stale(stamp: u64) {
    let mask = (0..64usize)
        .filter(|&c| online_mask() & (1 << c) != 0 && may_be_stale(c, stamp))
        .fold(0u64, |m, c| m | (1 << c));
    if mask != 0 {
        flush_mask(mask);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flush_after_the_stamp_clears_it() {
        let stamp = now();
        assert!(may_be_stale(0, stamp));
        flush_local();
        assert!(!may_be_stale(0, stamp));
        // A later stamp needs a later flush.
        let later = now();
        assert!(may_be_stale(0, later));
    }
}
