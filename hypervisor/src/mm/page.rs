//! Per-frame bookkeeping (Xen's `struct page_info`): who owns a machine
//! frame, how many references it has, and which type it is used as.
//!
//! A frame has one type at a time — none, an L1–L4 page table, a segment
//! descriptor page, or writable memory — and a count of references that
//! need that type. The type can only change once that count is zero, so a
//! frame used as a page table can never be mapped writable at the same time.

/// Who owns a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Owner {
    /// Free, in the frame allocator.
    #[default]
    Free,
    /// The hypervisor's own memory.
    Xen,
    /// Not RAM: device memory (a privileged domain may map it).
    Io,
    /// A domain.
    Domain(u16),
}

/// How a frame is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PageType {
    /// No use that needs a type.
    #[default]
    None,
    /// Level-1 page table.
    L1,
    /// Level-2 page table.
    L2,
    /// Level-3 page table.
    L3,
    /// Level-4 page table.
    L4,
    /// Segment descriptor table (GDT/LDT).
    SegDesc,
    /// Mapped writable.
    Writable,
}

impl PageType {
    /// Page-table level (1–4) of a page-table type.
    pub fn level(self) -> Option<u32> {
        match self {
            Self::L1 => Some(1),
            Self::L2 => Some(2),
            Self::L3 => Some(3),
            Self::L4 => Some(4),
            _ => None,
        }
    }

    /// The page-table type of `level`.
    pub fn table(level: u32) -> Self {
        match level {
            1 => Self::L1,
            2 => Self::L2,
            3 => Self::L3,
            _ => Self::L4,
        }
    }
}

/// One frame's state.
#[derive(Clone, Copy, Debug, Default)]
pub struct PageInfo {
    /// Owner.
    pub owner: Owner,
    /// General references (mappings, page-table entries, pins, the owner's
    /// own allocation reference).
    pub count: u32,
    /// Current type.
    pub ty: PageType,
    /// References that need `ty`.
    pub type_count: u32,
    /// Pinned as a page table by its owner.
    pub pinned: bool,
    /// The owner's allocation reference is held (Xen's `PGC_allocated`).
    pub allocated: bool,
    /// A hypervisor page shared with the domain (shared_info): never
    /// released through the domain's reservation.
    pub xen_heap: bool,
    /// Entries of this page table that map another page table of its own
    /// level (linear page tables).
    pub linear_entries: u16,
    /// Entries of other page tables of its level that map this one.
    pub linear_uses: u16,
    /// The TLB-flush clock when its last writable use ended (or it was
    /// freed): CPUs not flushed since may still write it through a stale
    /// TLB entry ([`crate::mm::tlbflush`]).
    pub tlbflush_timestamp: u64,
}
