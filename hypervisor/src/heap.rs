//! The hypervisor heap: a `linked_list_allocator` over frames taken from the
//! frame allocator at boot.

use linked_list_allocator::LockedHeap;

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap::empty();

/// Hand `size` bytes at `start` to the heap.
///
/// # Safety
/// The range must be mapped, unused and never handed out again.
pub unsafe fn init(start: u64, size: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe { ALLOCATOR.lock().init(start as *mut u8, size) };
}
