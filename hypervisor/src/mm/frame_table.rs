//! The hypervisor's frame table: one [`PageInfo`] per machine frame below
//! the end of RAM, behind one lock, and the [`Mm`] engine over machine
//! memory reached through the direct map.

use alloc::vec::Vec;
use crate::sync::Mutex;

use super::page::{Owner, PageInfo};
use super::pv::{Memory, Mm};
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

    fn write(&mut self, mfn: u64, index: usize, value: u64) {
        // SAFETY: as in `read`; entries are naturally aligned u64s.
        unsafe { ((maddr_to_virt(mfn << PAGE_SHIFT) + 8 * index as u64) as *mut u64).write_volatile(value) }
    }

    fn cmpxchg(&mut self, mfn: u64, index: usize, old: u64, new: u64) -> bool {
        // SAFETY: as in `read`; an aligned u64 in the direct map, which
        // the CPU's page walker also updates atomically.
        let e = unsafe { &*((maddr_to_virt(mfn << PAGE_SHIFT) + 8 * index as u64) as *const core::sync::atomic::AtomicU64) };
        e.compare_exchange(old, new, core::sync::atomic::Ordering::AcqRel, core::sync::atomic::Ordering::Acquire).is_ok()
    }
}

struct State {
    frames: &'static mut [PageInfo],
    reserved_io: Vec<u64>,
    max_io_mfn: u64,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

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
    // by the frame table for the rest of the run.
    let frames = unsafe {
        for i in 0..nr {
            va.add(i).write(PageInfo { owner: Owner::Io, ..Default::default() });
        }
        core::slice::from_raw_parts_mut(va, nr)
    };
    for r in ram.as_slice() {
        for m in (r.start >> PAGE_SHIFT)..(r.end >> PAGE_SHIFT) {
            frames[m as usize].owner = Owner::Xen;
        }
    }
    // Physical address width (CPUID 0x80000008), 36 bits when unknown.
    let ext = crate::arch::x86_64::cpuid(0x8000_0000, 0).eax;
    let bits = if ext >= 0x8000_0008 { crate::arch::x86_64::cpuid(0x8000_0008, 0).eax & 0xff } else { 36 };
    let max_io_mfn = 1u64 << (bits.clamp(32, 52) - 12);
    *STATE.lock() = Some(State { frames, reserved_io, max_io_mfn });
    true
}

/// Run `f` with the engine; frames whose last reference went are returned
/// to the frame allocator afterwards.
pub fn with<R>(f: impl FnOnce(&mut Mm<'_, DirectMap>) -> R) -> R {
    let mut guard = STATE.lock();
    let st = guard.as_mut().expect("frame table initialised at boot");
    let hv = paging::hypervisor_root_table();
    let mut mm = Mm {
        frames: &mut *st.frames,
        mem: DirectMap,
        hv_l4: &hv[super::pv::HYPERVISOR_L4_FIRST..super::pv::HYPERVISOR_L4_END],
        reserved_io: &st.reserved_io,
        max_io_mfn: st.max_io_mfn,
        freed: Vec::new(),
        key_mode: super::log_dirty::key_mode,
        dirtied: Vec::new(),
    };
    let r = f(&mut mm);
    // Pages of log-dirty domains written behind their keys' back: marked
    // before the lock goes (their owner and PFN are still theirs).
    for mfn in core::mem::take(&mut mm.dirtied) {
        if let Some(Owner::Domain(d)) = mm.frames.get(mfn as usize).map(|p| p.owner) {
            super::log_dirty::mark(d, m2p::get(mfn));
        }
    }
    let freed = core::mem::take(&mut mm.freed);
    drop(guard);
    if !freed.is_empty() {
        // A freed frame goes back to the allocator, which may hand it to
        // the hypervisor or another domain: no TLB may still map it (the
        // domain that freed it may not have flushed). Every CPU not
        // flushed since the frames were freed flushes now (Xen filters the
        // same flush by the frames' stamps when it allocates them).
        super::tlbflush::flush_if_stale(super::tlbflush::now());
        let mut alloc = super::FRAMES.lock();
        for mfn in freed {
            m2p::set(mfn, m2p::INVALID_M2P_ENTRY);
            if let Some(a) = alloc.as_mut() {
                let _ = a.free_range(mfn, 1);
            }
        }
    }
    r
}

/// Give freshly allocated frame `mfn` to domain `d` (its allocation
/// reference); `xen_heap` marks a hypervisor page shared with the domain.
pub fn assign(mfn: u64, d: u16, xen_heap: bool) {
    with(|mm| {
        if let Some(p) = mm.frames.get_mut(mfn as usize) {
            *p = PageInfo { owner: Owner::Domain(d), count: 1, allocated: true, xen_heap, ..Default::default() };
        }
    })
}

/// The owner of `mfn`.
pub fn owner(mfn: u64) -> Owner {
    with(|mm| mm.frames.get(mfn as usize).map_or(Owner::Io, |p| p.owner))
}

/// A copy of the bookkeeping of `mfn`.
pub fn info(mfn: u64) -> Option<PageInfo> {
    with(|mm| mm.frames.get(mfn as usize).copied())
}
