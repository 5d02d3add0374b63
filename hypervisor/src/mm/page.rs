//! Per-frame bookkeeping (Xen's `struct page_info`): who owns a machine
//! frame, how many references it has, and which type it is used as.
//!
//! A frame has one type at a time — none, an L1–L4 page table, a segment
//! descriptor page, or writable memory — and a count of references that
//! need that type. The type can only change once that count is zero, so a
//! frame used as a page table can never be mapped writable at the same time.
//!
//! Every field is an atomic changed without any lock, as Xen changes its
//! `count_info` and `type_info` words: general references and the
//! allocation flags live in one word ([`PageInfo::count_info`]), the type,
//! its count and the validated/pinned/locked bits in another
//! ([`PageInfo::type_info`]); each change is one compare-and-swap of the
//! whole word, so a reader never sees a count without its flags. The rules
//! that use these words are in [`crate::mm::pv`].

use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

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

impl Owner {
    const DOMAIN: u32 = 1 << 16;

    fn encode(self) -> u32 {
        match self {
            Self::Free => 0,
            Self::Xen => 1,
            Self::Io => 2,
            Self::Domain(d) => Self::DOMAIN | u32::from(d),
        }
    }

    fn decode(v: u32) -> Self {
        match v {
            0 => Self::Free,
            1 => Self::Xen,
            2 => Self::Io,
            v => Self::Domain(v as u16),
        }
    }
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

    fn encode(self) -> u64 {
        match self {
            Self::None => 0,
            Self::L1 => 1,
            Self::L2 => 2,
            Self::L3 => 3,
            Self::L4 => 4,
            Self::SegDesc => 5,
            Self::Writable => 6,
        }
    }

    fn decode(v: u64) -> Self {
        match v {
            1 => Self::L1,
            2 => Self::L2,
            3 => Self::L3,
            4 => Self::L4,
            5 => Self::SegDesc,
            6 => Self::Writable,
            _ => Self::None,
        }
    }
}

/// Bits of [`PageInfo::count_info`] (Xen's `PGC_*`).
pub mod pgc {
    /// The general reference count.
    pub const COUNT_MASK: u64 = 0xffff_ffff;
    /// The owner's allocation reference is held (Xen's `PGC_allocated`).
    pub const ALLOCATED: u64 = 1 << 63;
    /// A hypervisor page shared with the domain (shared_info, grant
    /// frames): never released through the domain's reservation.
    pub const XEN_HEAP: u64 = 1 << 62;
}

/// Bits of [`PageInfo::type_info`] (Xen's `PGT_*`).
pub mod pgt {
    /// References that need the type.
    pub const COUNT_MASK: u64 = 0xffff_ffff;
    /// The contents were checked for the type (page tables), or the type
    /// needs no check. A page with a type count but without this bit is
    /// being validated (or devalidated) by one CPU; others wait.
    pub const VALIDATED: u64 = 1 << 32;
    /// Pinned as a page table by its owner (Xen's `PGT_pinned`).
    pub const PINNED: u64 = 1 << 33;
    /// Entries of the table are being changed (Xen's `PGT_locked`, the
    /// per-page lock of `page_lock`).
    pub const LOCKED: u64 = 1 << 34;
    /// Where the type sits.
    pub const TYPE_SHIFT: u32 = 40;
    /// The type bits.
    pub const TYPE_MASK: u64 = 0xf << TYPE_SHIFT;
}

/// The type held in a `type_info` word.
pub fn type_of(type_info: u64) -> PageType {
    PageType::decode((type_info & pgt::TYPE_MASK) >> pgt::TYPE_SHIFT)
}

/// The `type_info` bits naming `ty`.
pub fn type_bits(ty: PageType) -> u64 {
    ty.encode() << pgt::TYPE_SHIFT
}

/// One frame's state, changed atomically (Xen's `struct page_info`).
#[derive(Debug, Default)]
pub struct PageInfo {
    /// General references and `PGC_*` flags.
    pub count_info: AtomicU64,
    /// Type, type references and `PGT_*` flags.
    pub type_info: AtomicU64,
    /// Owner ([`Owner`], encoded): set when the frame is allocated or
    /// assigned (count 0 → 1) and when it is freed, never while another
    /// holder may look at it.
    owner: AtomicU32,
    /// Linear page-table accounting (Xen's `linear_pt_count`): above zero,
    /// entries of this table that map another table of its level; below
    /// zero, entries of other tables of its level that map this one. A
    /// page is one or the other, never both.
    pub linear_pt_count: AtomicI32,
    /// The TLB-flush clock when its last writable use ended (or it was
    /// freed): CPUs not flushed since may still write it through a stale
    /// TLB entry ([`crate::mm::tlbflush`]).
    pub tlbflush_timestamp: AtomicU64,
}

impl PageInfo {
    /// A frame of `owner` with no references.
    pub fn new(owner: Owner) -> Self {
        let p = Self::default();
        p.set_owner(owner);
        p
    }

    /// The owner.
    pub fn owner(&self) -> Owner {
        Owner::decode(self.owner.load(Ordering::Acquire))
    }

    /// Set the owner (allocation, assignment, free).
    pub fn set_owner(&self, owner: Owner) {
        self.owner.store(owner.encode(), Ordering::Release);
    }

    /// A consistent-enough copy for reports and checks (each word read
    /// once).
    pub fn snapshot(&self) -> PageState {
        let c = self.count_info.load(Ordering::Acquire);
        let t = self.type_info.load(Ordering::Acquire);
        let l = self.linear_pt_count.load(Ordering::Acquire);
        PageState {
            owner: self.owner(),
            count: (c & pgc::COUNT_MASK) as u32,
            allocated: c & pgc::ALLOCATED != 0,
            xen_heap: c & pgc::XEN_HEAP != 0,
            ty: if t & pgt::COUNT_MASK == 0 { PageType::None } else { type_of(t) },
            type_count: (t & pgt::COUNT_MASK) as u32,
            validated: t & pgt::VALIDATED != 0,
            pinned: t & pgt::PINNED != 0,
            linear_entries: l.max(0) as u16,
            linear_uses: (-l).max(0) as u16,
            tlbflush_timestamp: self.tlbflush_timestamp.load(Ordering::Acquire),
        }
    }

    /// Make a free frame `owner`'s with its allocation reference.
    pub fn assign(&self, owner: Owner, xen_heap: bool) {
        self.type_info.store(0, Ordering::Relaxed);
        self.linear_pt_count.store(0, Ordering::Relaxed);
        self.set_owner(owner);
        let flags = pgc::ALLOCATED | if xen_heap { pgc::XEN_HEAP } else { 0 };
        self.count_info.store(flags | 1, Ordering::Release);
    }
}

/// A copy of one frame's state at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageState {
    /// Owner.
    pub owner: Owner,
    /// General references (mappings, page-table entries, pins, the owner's
    /// own allocation reference).
    pub count: u32,
    /// Current type (none while no reference needs one).
    pub ty: PageType,
    /// References that need `ty`.
    pub type_count: u32,
    /// The type's contents are validated.
    pub validated: bool,
    /// Pinned as a page table by its owner.
    pub pinned: bool,
    /// The owner's allocation reference is held (Xen's `PGC_allocated`).
    pub allocated: bool,
    /// A hypervisor page shared with the domain.
    pub xen_heap: bool,
    /// Entries of this page table that map another page table of its own
    /// level (linear page tables).
    pub linear_entries: u16,
    /// Entries of other page tables of its level that map this one.
    pub linear_uses: u16,
    /// See [`PageInfo::tlbflush_timestamp`].
    pub tlbflush_timestamp: u64,
}
