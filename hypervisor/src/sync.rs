//! The hypervisor's lock: a spinlock that, while it waits, answers this
//! CPU's pending TLB-flush requests; and the lock order of the whole
//! hypervisor.
//!
//! The hypervisor runs with interrupts masked, so a CPU spinning for a lock
//! cannot take the flush IPI of a CPU that holds the lock and waits for
//! every CPU to flush (a page becoming a page table while its caller holds
//! a domain's grant lock, frames freed): without this, the two would wait
//! for each other forever. Every busy-wait ([`cpu_relax`]) answers them.
//!
//! # Lock order
//!
//! There is no global lock on the hypercall path. Locks are taken in this
//! order (a lock further down may be taken while one above is held, never
//! the reverse), and two locks of one kind are never held at once but
//! where said:
//!
//! 1. `domain::DOMAINS`, the domain list: only to add or remove a domain
//!    (lookups and walks read a published copy without a lock, freed after
//!    a grace period); under it only `domain::RETIRED`, a leaf.
//! 2. A domain's locks, one domain at a time: `irq::TABLE` (the pirq
//!    table) before a domain's `evtchn`, then its `fifo`; a domain's
//!    `grant` table; `state`, `handle`, `sched_params`, `ioports`, `iomem`
//!    (leaves). Operations on two domains lock one, release it, then lock
//!    the other (grant maps, closing a connected port, destruction), except
//!    an interdomain bind, which holds both event-channel tables, the
//!    lower domain ID's first (Xen's `double_evtchn_lock`).
//! 3. Frame-table operations ([`crate::mm::frame_table::with`]), under any
//!    of the above (grant pins take page references under `grant`). The
//!    frame table itself has no lock: each frame's `count_info` and
//!    `type_info` change by compare-and-swap ([`crate::mm::page`]). Within
//!    it ([`crate::mm::pv`]):
//!    - a page table's *validation claim* (type count one, not validated,
//!      held by the CPU validating or devalidating it; getters of that
//!      type wait) nests strictly by level: an L4's validation waits only
//!      for L3s, an L3's for L2s, an L2's for L1s, an L1's for nothing, so
//!      waits cannot form a cycle;
//!    - the *page lock* of one page table (`PGT_locked`, Xen's
//!      `page_lock`) while one of its entries changes, at most one per CPU;
//!      under it, validation claims of the tables the new entry names and
//!      devalidation of those the old one named, never another page lock
//!      (unmap-and-replace of a grant takes the two tables' locks one after
//!      the other). Log-dirty mode takes the page locks of L1 tables, one
//!      at a time: to re-arm or strip them, to scan other domains' for
//!      writable mappings, and to disarm an entry after a protection-key
//!      fault. Such a fault may come from the hypervisor's own write to a
//!      guest address, so none is made under a page lock.
//! 4. `mm::FRAMES`, the frame allocator: taken when a frame-table
//!    operation has finished and frees frames, and by allocation; nothing
//!    is taken under it.
//! 5. Leaves: a run queue (`sched`, one at a time), the console and serial
//!    port, `IOAPICS`, PCI configuration (`pv::pci_cfg`), `HOST_E820`, the
//!    log-dirty bitmaps (`mm::log_dirty`, marked under page locks).
//!
//! Waits that are not locks: [`crate::rcu::synchronize`] (a destroyed
//! domain's grace period) is entered with no lock held, and
//! [`crate::sched::deschedule_domain`] (waiting for other CPUs to save a
//! paused domain's vCPUs) with none that a CPU running a guest may need.

/// A mutual-exclusion lock (`spin::Mutex` with flush servicing).
pub struct Mutex<T: ?Sized>(spin::Mutex<T>);

/// The guard of a held [`Mutex`].
pub type MutexGuard<'a, T> = spin::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    /// A new, unlocked lock holding `value`.
    pub const fn new(value: T) -> Self {
        Self(spin::Mutex::new(value))
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Take the lock, spinning (and flushing this CPU's TLB when another
    /// CPU asks) until it is free.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        loop {
            if let Some(g) = self.0.try_lock() {
                return g;
            }
            cpu_relax();
        }
    }

    /// Take the lock if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.0.try_lock()
    }

    /// Release the lock whoever holds it (the panic path's console only).
    ///
    /// # Safety
    /// The holder must never touch the data again.
    pub unsafe fn force_unlock(&self) {
        // SAFETY: guaranteed by the caller.
        unsafe { self.0.force_unlock() }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

/// One round of a spin-wait: answer this CPU's pending TLB-flush request
/// (the CPU waited for may itself be waiting for this one's flush), then
/// pause. Every busy-wait of the hypervisor goes through here.
pub fn cpu_relax() {
    #[cfg(not(test))]
    crate::mm::tlbflush::service();
    core::hint::spin_loop();
}
