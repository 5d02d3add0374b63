//! The machine memory map: RAM ranges from the boot loader less what is
//! already in use (low memory, the hypervisor image, the boot modules, the
//! boot information), computed as pure functions over page-aligned ranges.

use super::{align_down, align_up, PAGE_SIZE};

/// A half-open physical address range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl Range {
    /// A range from `start` of `len` bytes.
    pub const fn new(start: u64, len: u64) -> Self {
        Self { start, end: start.saturating_add(len) }
    }

    /// Bytes covered.
    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the range covers nothing.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Shrink to whole pages inside the range.
    pub const fn pages_inside(&self) -> Self {
        Self { start: align_up(self.start, PAGE_SIZE), end: align_down(self.end, PAGE_SIZE) }
    }

    /// Grow to whole pages covering the range.
    pub const fn pages_covering(&self) -> Self {
        Self { start: align_down(self.start, PAGE_SIZE), end: align_up(self.end, PAGE_SIZE) }
    }
}

/// Maximum number of ranges a [`RangeSet`] holds; the boot memory map of a
/// PC has a few dozen entries at most.
pub const MAX_RANGES: usize = 128;

/// A sorted, non-overlapping set of ranges with a fixed capacity (usable
/// before the heap exists).
#[derive(Clone, Debug)]
pub struct RangeSet {
    ranges: [Range; MAX_RANGES],
    len: usize,
}

/// The set is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeSetFull;

impl Default for RangeSet {
    fn default() -> Self {
        Self::new()
    }
}

impl RangeSet {
    /// An empty set.
    pub const fn new() -> Self {
        Self { ranges: [Range { start: 0, end: 0 }; MAX_RANGES], len: 0 }
    }

    /// The ranges, sorted by start.
    pub fn as_slice(&self) -> &[Range] {
        &self.ranges[..self.len]
    }

    /// Total bytes covered.
    pub fn total(&self) -> u64 {
        self.as_slice().iter().map(Range::len).sum()
    }

    /// Add a range, merging with neighbours it touches or overlaps.
    pub fn insert(&mut self, r: Range) -> Result<(), RangeSetFull> {
        if r.is_empty() {
            return Ok(());
        }
        let mut merged = r;
        let mut out = [Range { start: 0, end: 0 }; MAX_RANGES];
        let mut n = 0;
        let mut placed = false;
        for &cur in self.as_slice() {
            if cur.end < merged.start {
                out[n] = cur;
                n += 1;
            } else if merged.end < cur.start {
                if !placed {
                    out[n] = merged;
                    n += 1;
                    placed = true;
                }
                if n == MAX_RANGES {
                    return Err(RangeSetFull);
                }
                out[n] = cur;
                n += 1;
            } else {
                merged = Range { start: merged.start.min(cur.start), end: merged.end.max(cur.end) };
            }
            if n == MAX_RANGES && !placed {
                return Err(RangeSetFull);
            }
        }
        if !placed {
            if n == MAX_RANGES {
                return Err(RangeSetFull);
            }
            out[n] = merged;
            n += 1;
        }
        self.ranges = out;
        self.len = n;
        Ok(())
    }

    /// Remove a range from the set, splitting ranges it cuts through.
    pub fn remove(&mut self, r: Range) -> Result<(), RangeSetFull> {
        if r.is_empty() {
            return Ok(());
        }
        let mut out = [Range { start: 0, end: 0 }; MAX_RANGES];
        let mut n = 0;
        for &cur in self.as_slice() {
            let pieces = [
                Range { start: cur.start, end: cur.end.min(r.start) },
                Range { start: cur.start.max(r.end), end: cur.end },
            ];
            for p in pieces {
                if !p.is_empty() {
                    if n == MAX_RANGES {
                        return Err(RangeSetFull);
                    }
                    out[n] = p;
                    n += 1;
                }
            }
        }
        self.ranges = out;
        self.len = n;
        Ok(())
    }

    /// Highest address covered (0 when empty).
    pub fn end(&self) -> u64 {
        self.as_slice().last().map_or(0, |r| r.end)
    }
}

/// Below this, memory is left to firmware and the AP trampoline.
pub const LOW_MEMORY_END: u64 = 0x10_0000;

/// Compute the frames free for allocation: whole pages of `ram` above low
/// memory, less every `reserved` range (rounded out to whole pages).
pub fn usable_frames(ram: &RangeSet, reserved: &[Range]) -> Result<RangeSet, RangeSetFull> {
    let mut set = RangeSet::new();
    for r in ram.as_slice() {
        set.insert(r.pages_inside())?;
    }
    set.remove(Range { start: 0, end: LOW_MEMORY_END })?;
    for r in reserved {
        set.remove(r.pages_covering())?;
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ranges: &[(u64, u64)]) -> RangeSet {
        let mut s = RangeSet::new();
        for &(a, b) in ranges {
            s.insert(Range { start: a, end: b }).unwrap();
        }
        s
    }

    #[test]
    fn insert_merges_and_sorts() {
        let s = set(&[(0x3000, 0x4000), (0x1000, 0x2000), (0x2000, 0x3000), (0x8000, 0x9000)]);
        assert_eq!(s.as_slice(), &[Range { start: 0x1000, end: 0x4000 }, Range { start: 0x8000, end: 0x9000 }]);
        assert_eq!(s.total(), 0x4000);
    }

    #[test]
    fn remove_splits() {
        let mut s = set(&[(0x0, 0x10000)]);
        s.remove(Range { start: 0x4000, end: 0x6000 }).unwrap();
        assert_eq!(s.as_slice(), &[Range { start: 0, end: 0x4000 }, Range { start: 0x6000, end: 0x10000 }]);
        s.remove(Range { start: 0x0, end: 0x20000 }).unwrap();
        assert!(s.as_slice().is_empty());
    }

    #[test]
    fn usable_excludes_low_memory_image_and_modules() {
        // A typical QEMU map for -m 128: 0..0x9fc00 and 1M..128M-128K.
        let ram = set(&[(0, 0x9fc00), (0x100000, 0x7fe0000)]);
        let image = Range { start: 0x200000, end: 0x2a1234 };
        let module = Range { start: 0x300800, end: 0x300900 };
        let usable = usable_frames(&ram, &[image, module]).unwrap();
        assert_eq!(
            usable.as_slice(),
            &[
                Range { start: 0x100000, end: 0x200000 },
                Range { start: 0x2a2000, end: 0x300000 },
                Range { start: 0x301000, end: 0x7fe0000 },
            ]
        );
    }

    #[test]
    fn capacity_is_reported() {
        let mut s = RangeSet::new();
        for i in 0..MAX_RANGES as u64 {
            s.insert(Range { start: i * 0x2000, end: i * 0x2000 + 0x1000 }).unwrap();
        }
        assert_eq!(s.insert(Range { start: 0x1000_0000, end: 0x1000_1000 }), Err(RangeSetFull));
        assert_eq!(s.remove(Range { start: 0x800, end: 0x900 }), Err(RangeSetFull));
    }
}
