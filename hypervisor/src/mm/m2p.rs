//! The machine-to-phys table: one `u64` per machine frame giving the
//! guest PFN it backs (or `INVALID_M2P_ENTRY`). It lives in machine memory
//! the hypervisor writes through the direct map, and guests read it at
//! `MACH2PHYS_VIRT_START` (mapped read-only, user-accessible).

use core::sync::atomic::{AtomicU64, Ordering};

/// M2P value of a frame no guest PFN maps.
pub const INVALID_M2P_ENTRY: u64 = !0;

/// Direct-map address of entry 0 (0 until set up).
static TABLE_VA: AtomicU64 = AtomicU64::new(0);
/// Number of entries.
static ENTRIES: AtomicU64 = AtomicU64::new(0);

/// Register the table (direct-map address, entry count) and invalidate it.
///
/// # Safety
/// `va` must address `entries * 8` bytes of hypervisor-owned memory.
pub unsafe fn init(va: u64, entries: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { core::slice::from_raw_parts_mut(va as *mut u64, entries as usize) }.fill(INVALID_M2P_ENTRY);
    TABLE_VA.store(va, Ordering::Release);
    ENTRIES.store(entries, Ordering::Release);
}

/// Record that machine frame `mfn` backs guest `pfn`.
pub fn set(mfn: u64, pfn: u64) {
    let va = TABLE_VA.load(Ordering::Acquire);
    if mfn < ENTRIES.load(Ordering::Acquire) {
        // SAFETY: in bounds of the table registered by `init`; entries are
        // naturally aligned u64s written atomically.
        unsafe { (*((va + mfn * 8) as *const AtomicU64)).store(pfn, Ordering::Relaxed) };
    }
}

/// The PFN machine frame `mfn` backs.
pub fn get(mfn: u64) -> u64 {
    let va = TABLE_VA.load(Ordering::Acquire);
    if mfn >= ENTRIES.load(Ordering::Acquire) {
        return INVALID_M2P_ENTRY;
    }
    // SAFETY: as in `set`.
    unsafe { (*((va + mfn * 8) as *const AtomicU64)).load(Ordering::Relaxed) }
}

/// Number of entries (machine frames covered).
pub fn entries() -> u64 {
    ENTRIES.load(Ordering::Acquire)
}

/// First machine frame of the table and its number of frames.
pub fn frames() -> (u64, u64) {
    let va = TABLE_VA.load(Ordering::Acquire);
    let first = if va == 0 { 0 } else { (va - 0xffff_8300_0000_0000) >> 12 };
    (first, (entries() * 8).div_ceil(4096))
}
