//! The hypervisor's lock: a spinlock that, while it waits, answers this
//! CPU's pending TLB-flush requests.
//!
//! The hypervisor runs with interrupts masked, so a CPU spinning for a lock
//! cannot take the flush IPI of a CPU that holds the lock and waits for
//! every CPU to flush (a page becoming a page table under the frame-table
//! lock): without this, the two would wait for each other forever.

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
            #[cfg(not(test))]
            crate::mm::tlbflush::service();
            core::hint::spin_loop();
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
