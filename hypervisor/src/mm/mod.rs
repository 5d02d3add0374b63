//! Machine memory: the boot memory map and the frame allocator.

pub mod frame_alloc;
#[cfg(not(test))]
pub mod frame_table;
pub mod log_dirty;
#[cfg(not(test))]
pub mod log_dirty_ops;
pub mod m2p;
pub mod page;
pub mod pv;
pub mod tlbflush;
pub mod memmap;

/// Size of a machine frame.
pub const PAGE_SIZE: u64 = 4096;
/// log2 of [`PAGE_SIZE`].
pub const PAGE_SHIFT: u32 = 12;

/// Round `x` up to a multiple of `align` (a power of two).
pub const fn align_up(x: u64, align: u64) -> u64 {
    (x + align - 1) & !(align - 1)
}

/// Round `x` down to a multiple of `align` (a power of two).
pub const fn align_down(x: u64, align: u64) -> u64 {
    x & !(align - 1)
}

/// The machine frame allocator, set up once at boot.
pub static FRAMES: crate::sync::Mutex<Option<frame_alloc::FrameAllocator>> = crate::sync::Mutex::new(None);

/// Allocate one frame from the global allocator.
pub fn alloc_frame() -> Option<frame_alloc::Mfn> {
    FRAMES.lock().as_mut()?.alloc().ok()
}

/// Allocate `count` contiguous frames aligned to `align` frames.
pub fn alloc_frames(count: u64, align: u64) -> Option<frame_alloc::Mfn> {
    FRAMES.lock().as_mut()?.alloc_contiguous(count, align).ok()
}

/// Frames free in the global allocator.
pub fn free_frames() -> u64 {
    FRAMES.lock().as_ref().map_or(0, |f| f.free_frames())
}
