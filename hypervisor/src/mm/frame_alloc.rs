//! The machine frame allocator: one bit per frame up to the highest usable
//! address, set when the frame is free. Contiguous, aligned runs can be
//! allocated (stacks, per-CPU blocks, later domain memory).

use super::memmap::RangeSet;
use super::PAGE_SHIFT;

/// A machine frame number.
pub type Mfn = u64;

/// Why an allocator operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// No free run of the requested size and alignment.
    OutOfMemory,
    /// A frame being freed was already free or is outside the allocator.
    BadFree(Mfn),
    /// The bitmap storage is too small for the memory it must describe.
    BitmapTooSmall,
}

/// Bitmap frame allocator over `[0, nr_frames)`.
pub struct FrameAllocator {
    bits: &'static mut [u64],
    nr_frames: u64,
    free: u64,
    total: u64,
    /// Word index where the next single-frame search starts.
    hint: usize,
}

impl FrameAllocator {
    /// Number of `u64` words needed to describe frames below `end` (bytes).
    pub const fn words_for(end: u64) -> usize {
        let frames = end >> PAGE_SHIFT;
        frames.div_ceil(64) as usize
    }

    /// Build an allocator whose free frames are exactly the pages in `usable`.
    pub fn new(bits: &'static mut [u64], usable: &RangeSet) -> Result<Self, FrameError> {
        let nr_frames = usable.end() >> PAGE_SHIFT;
        if (bits.len() as u64) * 64 < nr_frames {
            return Err(FrameError::BitmapTooSmall);
        }
        bits.fill(0);
        let mut a = Self { bits, nr_frames, free: 0, total: 0, hint: 0 };
        for r in usable.as_slice() {
            for mfn in (r.start >> PAGE_SHIFT)..(r.end >> PAGE_SHIFT) {
                a.set_free(mfn);
            }
        }
        a.total = a.free;
        Ok(a)
    }

    fn is_free(&self, mfn: Mfn) -> bool {
        self.bits[(mfn / 64) as usize] & (1 << (mfn % 64)) != 0
    }

    fn set_free(&mut self, mfn: Mfn) {
        self.bits[(mfn / 64) as usize] |= 1 << (mfn % 64);
        self.free += 1;
    }

    fn set_used(&mut self, mfn: Mfn) {
        self.bits[(mfn / 64) as usize] &= !(1 << (mfn % 64));
        self.free -= 1;
    }

    /// Frames currently free.
    pub fn free_frames(&self) -> u64 {
        self.free
    }

    /// Frames the allocator managed at start.
    pub fn total_frames(&self) -> u64 {
        self.total
    }

    /// Allocate one frame.
    pub fn alloc(&mut self) -> Result<Mfn, FrameError> {
        let words = self.bits.len();
        for i in 0..words {
            let w = (self.hint + i) % words;
            if self.bits[w] != 0 {
                let mfn = w as u64 * 64 + u64::from(self.bits[w].trailing_zeros());
                self.set_used(mfn);
                self.hint = w;
                return Ok(mfn);
            }
        }
        Err(FrameError::OutOfMemory)
    }

    /// Allocate `count` contiguous frames whose first frame number is a
    /// multiple of `align` (a power of two, in frames).
    pub fn alloc_contiguous(&mut self, count: u64, align: u64) -> Result<Mfn, FrameError> {
        if count == 0 || !align.is_power_of_two() {
            return Err(FrameError::OutOfMemory);
        }
        if count == 1 {
            return self.alloc();
        }
        let mut start = 0;
        while start + count <= self.nr_frames {
            // Whole words of busy frames are skipped at once.
            let w = (start / 64) as usize;
            if self.bits.get(w) == Some(&0) {
                start = ((w as u64 + 1) * 64).next_multiple_of(align);
                continue;
            }
            match (start..start + count).rev().find(|&m| !self.is_free(m)) {
                None => {
                    for m in start..start + count {
                        self.set_used(m);
                    }
                    return Ok(start);
                }
                Some(busy) => start = (busy + 1).next_multiple_of(align),
            }
        }
        Err(FrameError::OutOfMemory)
    }

    /// Return `count` frames starting at `mfn`.
    pub fn free_range(&mut self, mfn: Mfn, count: u64) -> Result<(), FrameError> {
        if let Some(bad) = (mfn..mfn + count).find(|&m| m >= self.nr_frames || self.is_free(m)) {
            return Err(FrameError::BadFree(bad));
        }
        for m in mfn..mfn + count {
            self.set_free(m);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::memmap::Range;
    use std::boxed::Box;
    use std::vec;

    fn allocator(ranges: &[(u64, u64)]) -> FrameAllocator {
        let mut set = RangeSet::new();
        for &(a, b) in ranges {
            set.insert(Range { start: a, end: b }).unwrap();
        }
        let bits = Box::leak(vec![0u64; FrameAllocator::words_for(set.end())].into_boxed_slice());
        FrameAllocator::new(bits, &set).unwrap()
    }

    #[test]
    fn allocates_only_usable_frames_and_counts() {
        let mut a = allocator(&[(0x100000, 0x103000)]);
        assert_eq!(a.total_frames(), 3);
        let got = [a.alloc().unwrap(), a.alloc().unwrap(), a.alloc().unwrap()];
        assert_eq!(got, [0x100, 0x101, 0x102]);
        assert_eq!(a.alloc(), Err(FrameError::OutOfMemory));
        a.free_range(0x101, 1).unwrap();
        assert_eq!(a.free_frames(), 1);
        assert_eq!(a.alloc(), Ok(0x101));
    }

    #[test]
    fn contiguous_and_aligned() {
        let mut a = allocator(&[(0x101000, 0x140000)]);
        let m = a.alloc_contiguous(16, 16).unwrap();
        assert_eq!(m % 16, 0);
        assert_eq!(m, 0x110);
        assert_eq!(a.free_frames(), 0x3f - 16);
        let n = a.alloc_contiguous(16, 16).unwrap();
        assert_eq!(n, 0x120);
        assert_eq!(a.alloc_contiguous(64, 1), Err(FrameError::OutOfMemory));
    }

    #[test]
    fn double_free_and_out_of_range_are_refused() {
        let mut a = allocator(&[(0x100000, 0x102000)]);
        let m = a.alloc().unwrap();
        a.free_range(m, 1).unwrap();
        assert_eq!(a.free_range(m, 1), Err(FrameError::BadFree(m)));
        assert_eq!(a.free_range(0x5000, 1), Err(FrameError::BadFree(0x5000)));
    }

    #[test]
    fn bitmap_size_is_checked() {
        let mut set = RangeSet::new();
        set.insert(Range { start: 0, end: 1 << 30 }).unwrap();
        let bits = Box::leak(vec![0u64; 1].into_boxed_slice());
        assert!(matches!(FrameAllocator::new(bits, &set), Err(FrameError::BitmapTooSmall)));
    }
}
