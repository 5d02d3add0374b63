//! Log-dirty mode for PV domains without shadow paging: which pages of a
//! domain changed since the toolstack last asked (Xen's `paging_log_dirty`
//! for `XEN_DOMCTL_shadow_op`'s `ENABLE_LOGDIRTY`/`CLEAN`/`PEEK`/`OFF`,
//! what live migration's pre-copy rounds need).
//!
//! # Design: protection keys instead of shadow page tables
//!
//! Xen needs shadow paging for a PV domain's log-dirty mode: the guest
//! reads its own page tables, so the hypervisor can neither clear their
//! RW bits behind its back nor clear D bits (the guest's own dirty
//! information, e.g. for file pages and `MADV_FREE`). Ours uses
//! protection keys (CR4.PKE, PKRU, L1 bits 59-62) instead. A PV guest's
//! kernel and user code run in ring 3 and every guest page is a user page,
//! so the keys govern every guest data access, and every write of the
//! hypervisor to a user address (CR0.WP is set).
//!
//! * Enabling (`ENABLE_LOGDIRTY`) gives every present writable L1 entry of
//!   the domain that maps one of its own RAM pages key 1 ("armed"); the
//!   domain's vCPUs run with CR4.PKE set and PKRU = 0x8 (write-disable
//!   for key 1), loaded with the vCPU ([`crate::pv::context`]); other
//!   domains' vCPUs run with CR4.PKE clear. PKRU is never in XCR0.
//! * A write through an armed entry faults with the PK bit in the error
//!   code. The hypervisor walks the address to its L1 entry and, under
//!   that table's page lock, marks the target page and the L1 table (the
//!   CPU sets D in it next) dirty *before* it clears the key (cmpxchg, the
//!   CPU may be setting A/D bits), so no other CPU can see the entry
//!   unarmed and the page unmarked; then INVLPG and retry, for the guest's
//!   faults and for its own accesses to guest memory (`uaccess`) alike.
//! * **Invariant: an unarmed writable entry of the domain's own page
//!   implies that page is in the current dirty set.** So `CLEAN` can (1)
//!   re-arm every unarmed writable own-page entry of every L1 table the
//!   domain owns, (2) flush every CPU's TLB, (3) take the bitmap and clear
//!   it; a write through a stale TLB entry between (1) and (2) goes to a
//!   page already in the set returned, which the toolstack reads after
//!   `CLEAN` returns. (Like Xen, ours also pauses the domain for the
//!   operation.) `PEEK` returns the set without clearing it.
//! * Entries the hypervisor writes for a log-dirty domain (`mmu_update`,
//!   `update_va_mapping`, writable page-table emulation, grant mappings,
//!   validation) are armed when writable and of its own pages, and the
//!   page table they are in is marked dirty. Key bits the guest writes are
//!   stripped (it reads armed entries and writes modified copies back);
//!   after a log-dirty period they stay stripped, since an old armed copy
//!   may still come back. A domain never in log-dirty mode keeps whatever
//!   it writes there, as on Xen (bits 52-62 are a PV guest's software
//!   bits; Xen never sets CR4.PKE for PV guests).
//! * Writes that bypass the domain's own entries are marked explicitly:
//!   the end of any writable use of one of its pages (an unmap by a
//!   backend or the toolstack, a grant unmap, the end of a grant copy to
//!   it, a released event-channel page) marks it ([`super::pv::Mm`]
//!   notes it), and at every `CLEAN` the pages still in such use are
//!   marked: those another domain's L1 entries map writable (found by
//!   scanning the other domains' L1 tables) and those the hypervisor
//!   writes through its direct map (registered `vcpu_info`, FIFO event
//!   control blocks and arrays, the pirq EOI bitmap).
//! * `OFF` strips every key from the domain's entries, flushes, and frees
//!   the bitmap; the vCPUs run with CR4.PKE clear from their next load.
//!   Destroying a domain in log-dirty mode frees the same.
//!
//! # Limits
//!
//! * A guest that executes `WRPKRU` itself (user space may, while CR4.PKE
//!   is set) can defeat the tracking of its own writes: only its own
//!   migration suffers.
//! * User processes of the domain see OSPKE in the native CPUID leaf 7
//!   only while the domain is in log-dirty mode; the PV CPUID policy never
//!   offers PKU.
//! * Accessed bits the CPU sets in page tables while reading are not
//!   tracked (they are ageing hints); dirty bits are (the L1 table is
//!   marked at the fault that precedes them).
//! * Without PKU (CPUID.7.0:ECX bit 3) log-dirty mode is `EOPNOTSUPP`, as
//!   on Xen without shadow paging.
//!
//! This module holds the host-testable part: the per-domain mode and
//! dirty bitmap (behind one leaf lock). The operations on machine state
//! are in [`super::log_dirty_ops`].

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::pv::KeyMode;
use crate::sync::Mutex;

/// PKRU while a log-dirty domain runs: write-disable for key 1.
pub const PKRU_LOG_DIRTY: u32 = 0x8;

/// Highest PFN tracked (a 64 GiB guest): bits beyond are not kept.
const MAX_PFN: u64 = 1 << 24;

/// Domains in log-dirty mode, one bit per domain ID.
static ENABLED: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];
/// Domains that have been in log-dirty mode, one bit per domain ID.
static EVER: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];

fn bit(set: &[AtomicU64; 1024], domid: u16) -> bool {
    set[usize::from(domid) / 64].load(Ordering::Acquire) & (1 << (domid % 64)) != 0
}

fn set_bit(set: &[AtomicU64; 1024], domid: u16, on: bool) {
    let m = 1u64 << (domid % 64);
    if on {
        set[usize::from(domid) / 64].fetch_or(m, Ordering::AcqRel);
    } else {
        set[usize::from(domid) / 64].fetch_and(!m, Ordering::AcqRel);
    }
}

/// Whether `domid` is in log-dirty mode.
pub fn enabled(domid: u16) -> bool {
    bit(&ENABLED, domid)
}

/// The key mode of `domid`'s L1 entries.
pub fn key_mode(domid: u16) -> KeyMode {
    if bit(&ENABLED, domid) {
        KeyMode::Arm
    } else if bit(&EVER, domid) {
        KeyMode::Strip
    } else {
        KeyMode::Guest
    }
}

/// A dirty bitmap by PFN with Xen's statistics.
#[derive(Clone, Debug, Default)]
pub struct DirtyBitmap {
    words: Vec<u64>,
    /// Pages newly marked since the last clean (Xen's `dirty_count`).
    pub dirty_count: u64,
    /// Protection-key faults handled since the last clean (Xen's
    /// `fault_count`).
    pub fault_count: u64,
}

impl DirtyBitmap {
    /// Mark `pfn`; true when it was not marked yet.
    pub fn mark(&mut self, pfn: u64) -> bool {
        if pfn >= MAX_PFN {
            return false;
        }
        let w = (pfn / 64) as usize;
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let m = 1u64 << (pfn % 64);
        let new = self.words[w] & m == 0;
        self.words[w] |= m;
        if new {
            self.dirty_count += 1;
        }
        new
    }

    /// Whether `pfn` is marked.
    pub fn is_marked(&self, pfn: u64) -> bool {
        self.words.get((pfn / 64) as usize).is_some_and(|w| w & (1 << (pfn % 64)) != 0)
    }

    /// The bitmap's bytes for PFNs from `first` (a multiple of 8) on, into
    /// `out` (zero beyond what is marked).
    pub fn bytes_at(&self, first: u64, out: &mut [u8]) {
        for (i, b) in out.iter_mut().enumerate() {
            let byte = first / 8 + i as u64;
            *b = self.words.get((byte / 8) as usize).map_or(0, |w| (w >> ((byte % 8) * 8)) as u8);
        }
    }

    /// Take the bitmap and the statistics, leaving it clean (`CLEAN`).
    pub fn take(&mut self) -> DirtyBitmap {
        core::mem::take(self)
    }
}

/// The log-dirty state of every domain in the mode.
static STATE: Mutex<BTreeMap<u16, DirtyBitmap>> = Mutex::new(BTreeMap::new());

/// Put `domid` in log-dirty mode with an empty bitmap (the caller arms its
/// entries next).
pub fn start(domid: u16) {
    STATE.lock().insert(domid, DirtyBitmap::default());
    set_bit(&EVER, domid, true);
    set_bit(&ENABLED, domid, true);
}

/// Take `domid` out of log-dirty mode and free its bitmap; `forget` (the
/// domain is being destroyed) also forgets it was ever in the mode, so a
/// later domain of the same ID starts as a new one.
pub fn stop(domid: u16, forget: bool) {
    set_bit(&ENABLED, domid, false);
    if forget {
        set_bit(&EVER, domid, false);
    }
    STATE.lock().remove(&domid);
}

/// Mark `pfn` of `domid` dirty, if it is in log-dirty mode.
pub fn mark(domid: u16, pfn: u64) {
    if let Some(b) = STATE.lock().get_mut(&domid) {
        b.mark(pfn);
    }
}

/// Count a handled protection-key fault of `domid`.
pub fn count_fault(domid: u16) {
    if let Some(b) = STATE.lock().get_mut(&domid) {
        b.fault_count += 1;
    }
}

/// Run `f` on `domid`'s bitmap (`None` when not in log-dirty mode).
pub fn with_bitmap<R>(domid: u16, f: impl FnOnce(&mut DirtyBitmap) -> R) -> Option<R> {
    STATE.lock().get_mut(&domid).map(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_take_and_clear() {
        let mut b = DirtyBitmap::default();
        assert!(b.mark(3));
        assert!(!b.mark(3), "marked once");
        assert!(b.mark(200));
        assert!(!b.mark(MAX_PFN), "beyond the tracked range");
        b.fault_count = 5;
        assert_eq!(b.dirty_count, 2);
        let mut out = [0u8; 32];
        b.bytes_at(0, &mut out);
        assert_eq!(out[0], 1 << 3);
        assert_eq!(out[25], 1 << 0, "pfn 200 = byte 25, bit 0");
        let mut tail = [0xffu8; 4];
        b.bytes_at(192, &mut tail);
        assert_eq!(tail, [0, 1, 0, 0], "an offset view: pfns 192-223");
        let taken = b.take();
        assert!(taken.is_marked(3) && taken.is_marked(200) && !taken.is_marked(4));
        assert_eq!((taken.dirty_count, taken.fault_count), (2, 5));
        assert!(!b.is_marked(3) && b.dirty_count == 0 && b.fault_count == 0, "clean after the take");
        b.bytes_at(0, &mut out);
        assert!(out.iter().all(|&x| x == 0));
    }

    #[test]
    fn modes_and_state() {
        const D: u16 = 777;
        assert_eq!(key_mode(D), KeyMode::Guest);
        start(D);
        assert_eq!(key_mode(D), KeyMode::Arm);
        mark(D, 9);
        count_fault(D);
        assert_eq!(with_bitmap(D, |b| (b.is_marked(9), b.fault_count)), Some((true, 1)));
        stop(D, false);
        assert_eq!(key_mode(D), KeyMode::Strip, "keys stay stripped after log-dirty mode");
        assert_eq!(with_bitmap(D, |_| ()), None, "bitmap freed");
        mark(D, 9); // ignored
        start(D);
        assert_eq!(with_bitmap(D, |b| b.is_marked(9)), Some(false));
        stop(D, true);
        assert_eq!(key_mode(D), KeyMode::Guest, "a destroyed domain's ID starts afresh");
    }
}
