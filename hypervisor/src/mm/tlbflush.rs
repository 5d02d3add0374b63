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

use core::sync::atomic::{AtomicU64, Ordering};

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

/// A frame stamped `stamp` is about to hold validated contents: flush
/// this CPU if it may hold a TLB entry from before the stamp. Every vCPU
/// runs on this CPU (issue 13: other CPUs join with IPIs).
pub fn flush_if_stale(stamp: u64) {
    if may_be_stale(this_cpu(), stamp) {
        flush_local();
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
