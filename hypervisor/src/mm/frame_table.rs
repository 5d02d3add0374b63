//! The hypervisor's frame table: one [`PageInfo`] per machine frame below
//! the end of RAM, shared by every CPU without a lock (each frame's words
//! change atomically, see [`crate::mm::page`]), and the [`Mm`] engine over
//! machine memory reached through the direct map.

use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::page::{Owner, PageInfo, PageState};
use super::pv::{LogDirtyHooks, Memory, Mm};
use super::{m2p, memmap::RangeSet, PAGE_SHIFT, PAGE_SIZE};
use crate::arch::x86_64::paging::{self, maddr_to_virt};

/// Page-table entries in machine memory, through the direct map.
pub struct DirectMap;

impl Memory for DirectMap {
    fn read(&self, mfn: u64, index: usize) -> u64 {
        // SAFETY: `mfn` is a RAM frame below the end of RAM (the engine only
        // reads frames of the frame table), mapped by the direct map.
        unsafe { ((maddr_to_virt(mfn << PAGE_SHIFT) + 8 * index as u64) as *const u64).read_volatile() }
    }

    fn write(&self, mfn: u64, index: usize, value: u64) {
        // SAFETY: as in `read`; entries are naturally aligned u64s, so the
        // store is a single write the MMU and other CPUs see whole.
        unsafe { ((maddr_to_virt(mfn << PAGE_SHIFT) + 8 * index as u64) as *mut u64).write_volatile(value) }
    }

    fn cmpxchg(&self, mfn: u64, index: usize, old: u64, new: u64) -> bool {
        // SAFETY: as in `read`; an aligned u64 in the direct map, which the
        // CPU's page walker also updates atomically.
        let e = unsafe {
            &*((maddr_to_virt(mfn << PAGE_SHIFT) + 8 * index as u64) as *const core::sync::atomic::AtomicU64)
        };
        e.compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

/// The machine's log-dirty state, as the engine sees it.
const LOG_DIRTY: LogDirtyHooks =
    LogDirtyHooks { key_mode: super::log_dirty::key_mode, mark: |d, mfn| super::log_dirty::mark(d, m2p::get(mfn)) };

struct State {
    frames: &'static [PageInfo],
    reserved_io: Vec<u64>,
    max_io_mfn: u64,
}

static STATE: spin::Once<State> = spin::Once::new();

/// Set up the frame table for machine memory `ram`: RAM frames start as
/// the hypervisor's, holes as device memory. `reserved_io` are device
/// frames no guest may map.
pub fn init(ram: &RangeSet, reserved_io: Vec<u64>) -> bool {
    let nr = (ram.end() >> PAGE_SHIFT) as usize;
    let bytes = (nr * core::mem::size_of::<PageInfo>()) as u64;
    let pages = bytes.div_ceil(PAGE_SIZE);
    let Some(mfn) = super::alloc_frames(pages, 1) else { return false };
    let va = maddr_to_virt(mfn << PAGE_SHIFT) as *mut PageInfo;
    // SAFETY: freshly allocated frames large enough for `nr` entries, owned
    // by the frame table for the rest of the run; written before any
    // shared reference to them exists.
    let frames: &'static [PageInfo] = unsafe {
        for i in 0..nr {
            va.add(i).write(PageInfo::new(Owner::Io));
        }
        core::slice::from_raw_parts(va, nr)
    };
    for r in ram.as_slice() {
        for m in (r.start >> PAGE_SHIFT)..(r.end >> PAGE_SHIFT) {
            frames[m as usize].set_owner(Owner::Xen);
        }
    }
    // Physical address width (CPUID 0x80000008), 36 bits when unknown.
    let ext = crate::arch::x86_64::cpuid(0x8000_0000, 0).eax;
    let bits = if ext >= 0x8000_0008 { crate::arch::x86_64::cpuid(0x8000_0008, 0).eax & 0xff } else { 36 };
    let max_io_mfn = 1u64 << (bits.clamp(32, 52) - 12);
    STATE.call_once(|| State { frames, reserved_io, max_io_mfn });
    true
}

fn state() -> &'static State {
    STATE.get().expect("frame table initialised at boot")
}

/// Run `f` with an engine handle (no lock is taken: any number of CPUs
/// run at once); frames whose last reference went are returned to the
/// frame allocator afterwards.
pub fn with<R>(f: impl FnOnce(&mut Mm<'_, DirectMap>) -> R) -> R {
    let st = state();
    let hv = paging::hypervisor_root_table();
    let mut mm = Mm {
        frames: st.frames,
        mem: DirectMap,
        hv_l4: &hv[super::pv::HYPERVISOR_L4_FIRST..super::pv::HYPERVISOR_L4_END],
        reserved_io: &st.reserved_io,
        max_io_mfn: st.max_io_mfn,
        freed: Vec::new(),
        log_dirty: LOG_DIRTY,
    };
    let r = f(&mut mm);
    free(core::mem::take(&mut mm.freed));
    r
}

/// Give frames whose last reference went back to the allocator.
fn free(freed: Vec<u64>) {
    if freed.is_empty() {
        return;
    }
    // A freed frame goes back to the allocator, which may hand it to the
    // hypervisor or another domain: no TLB may still map it (the domain
    // that freed it may not have flushed). Every CPU not flushed since the
    // frames were freed flushes now (Xen filters the same flush by the
    // frames' stamps when it allocates them). No lock is held here.
    super::tlbflush::flush_if_stale(super::tlbflush::now());
    for &mfn in &freed {
        m2p::set(mfn, m2p::INVALID_M2P_ENTRY);
    }
    let mut alloc = super::FRAMES.lock();
    if let Some(a) = alloc.as_mut() {
        for mfn in freed {
            let _ = a.free_range(mfn, 1);
        }
    }
}

/// Give freshly allocated frame `mfn` to domain `d` (its allocation
/// reference); `xen_heap` marks a hypervisor page shared with the domain.
pub fn assign(mfn: u64, d: u16, xen_heap: bool) {
    if let Some(p) = state().frames.get(mfn as usize) {
        debug_assert_eq!(p.count_info.load(Ordering::Relaxed) & super::page::pgc::COUNT_MASK, 0);
        p.assign(Owner::Domain(d), xen_heap);
    }
}

/// The owner of `mfn`.
pub fn owner(mfn: u64) -> Owner {
    state().frames.get(mfn as usize).map_or(Owner::Io, PageInfo::owner)
}

/// A copy of the bookkeeping of `mfn`.
pub fn info(mfn: u64) -> Option<PageState> {
    state().frames.get(mfn as usize).map(PageInfo::snapshot)
}

/// Frames in the table.
pub fn nr_frames() -> usize {
    state().frames.len()
}
