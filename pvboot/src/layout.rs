//! The x86-64 PV start-of-day layout, as Xen builds it for dom0.
//!
//! From `VIRT_BASE` upwards, in guest-virtual addresses that map 1:1 onto
//! guest pseudo-physical frames from PFN 0: the kernel image, the initrd
//! (unless the kernel takes it by PFN), the phys-to-machine list (unless the
//! kernel placed it with INIT_P2M), `start_info` (plus the dom0 console info
//! after it), the initial page tables, one page of boot stack, and padding
//! to a 4 MiB boundary with at least 512 KiB to spare. Everything in
//! `[virt_base, v_end)` is mapped by the initial page tables.

use core::fmt;

const PAGE: u64 = 4096;
/// Size of `start_info` for x86-64 (the struct in the public headers).
pub const START_INFO_SIZE: u64 = 1168;
/// Size of the dom0 console info Xen places after `start_info`.
pub const DOM0_VGA_CONSOLE_INFO_SIZE: u64 = 64;

fn round_pgup(x: u64) -> u64 {
    (x + PAGE - 1) & !(PAGE - 1)
}

/// What the builder knows before laying out.
#[derive(Clone, Copy, Debug)]
pub struct LayoutRequest {
    /// `VIRT_BASE` (start of the mapped area, PFN 0).
    pub virt_base: u64,
    /// End of the kernel image (virtual).
    pub virt_kend: u64,
    /// Pages the domain gets.
    pub nr_pages: u64,
    /// Bytes of initrd (0 for none).
    pub initrd_len: u64,
    /// The kernel takes the initrd by PFN (MOD_START_PFN note).
    pub unmapped_initrd: bool,
    /// The kernel maps its own p2m list (INIT_P2M note).
    pub p2m_placed_by_guest: bool,
}

/// The computed layout (virtual addresses unless said otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Start of the mapped area (= `virt_base`, PFN 0).
    pub v_start: u64,
    /// Initrd start (0 when unmapped or absent).
    pub vinitrd_start: u64,
    /// Initrd end.
    pub vinitrd_end: u64,
    /// Start of the phys-to-machine list.
    pub vphysmap_start: u64,
    /// End of the phys-to-machine list.
    pub vphysmap_end: u64,
    /// `start_info` page.
    pub vstartinfo_start: u64,
    /// End of `start_info` and the console info.
    pub vstartinfo_end: u64,
    /// First page-table page (the L4).
    pub vpt_start: u64,
    /// Number of page-table pages.
    pub nr_pt_pages: u64,
    /// Boot stack page.
    pub vstack_start: u64,
    /// End of the mapped area.
    pub v_end: u64,
    /// First PFN of an initrd passed by PFN.
    pub initrd_pfn: Option<u64>,
    /// The initial allocation: the mapped area (less a mapped initrd)
    /// rounded up to a power of two pages, as Xen allocates it.
    pub initial_alloc_pages: u64,
    /// The first PFN after the initial allocation and the initrd: where
    /// an INIT_P2M phys-to-machine list's frames begin
    /// (`start_info.first_p2m_pfn`).
    pub first_p2m_pfn: u64,
}

/// The domain is too small for its own start-of-day layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The mapped area needs more pages than the domain has.
    TooMuchSpace {
        /// Pages the layout needs.
        needed: u64,
        /// Pages the domain has.
        available: u64,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooMuchSpace { needed, available } => write!(
                f,
                "initial guest OS requires too much space: {needed} pages mapped at start of day, domain has {available}"
            ),
        }
    }
}

/// Number of aligned `1 << shift` blocks touching `[lo, hi)`.
fn blocks(lo: u64, hi: u64, shift: u32) -> u64 {
    let size = 1u64 << shift;
    // Wrapping like Xen's unsigned arithmetic: the top of the address
    // space rounds up to 0.
    ((hi.wrapping_add(size - 1) & !(size - 1)).wrapping_sub(lo & !(size - 1))) >> shift
}

/// Page-table pages needed to map `[lo, hi)` with 4 KiB pages (one L4).
pub fn page_tables_needed(lo: u64, hi: u64) -> u64 {
    1 + blocks(lo, hi, 39) + blocks(lo, hi, 30) + blocks(lo, hi, 21)
}

/// The end of a start-of-day mapped area: its page tables, one page of
/// boot stack after them, and padding to a 4 MiB boundary with at least
/// 512 KiB to spare; the page tables are the fewest (at least a given
/// number) that map everything from `VIRT_BASE` to that end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappedTail {
    /// Number of page-table pages.
    pub nr_pt_pages: u64,
    /// Boot stack page.
    pub vstack_start: u64,
    /// End of the mapped area.
    pub v_end: u64,
}

impl MappedTail {
    /// The tail of an area from `v_start` whose page tables begin at
    /// `vpt_start`, trying `min_pt_pages` page-table pages first.
    pub fn compute(v_start: u64, vpt_start: u64, min_pt_pages: u64) -> Self {
        let mut nr_pt_pages = min_pt_pages;
        loop {
            let vstack_start = vpt_start + nr_pt_pages * PAGE;
            let vstack_end = vstack_start + PAGE;
            let mut v_end = vstack_end.next_multiple_of(4 << 20);
            if v_end - vstack_end < 512 << 10 {
                v_end += 4 << 20;
            }
            if page_tables_needed(v_start, v_end) <= nr_pt_pages {
                return Self { nr_pt_pages, vstack_start, v_end };
            }
            nr_pt_pages += 1;
        }
    }
}

impl Layout {
    /// Lay out the start of day.
    pub fn compute(r: &LayoutRequest) -> Result<Self, LayoutError> {
        let v_start = r.virt_base;
        let (vinitrd_start, vinitrd_end, vphysmap_start) = if r.unmapped_initrd || r.initrd_len == 0 {
            (0, 0, round_pgup(r.virt_kend))
        } else {
            let s = round_pgup(r.virt_kend);
            (s, s + r.initrd_len, round_pgup(s + r.initrd_len))
        };
        let vphysmap_end = if r.p2m_placed_by_guest { vphysmap_start } else { vphysmap_start + r.nr_pages * 8 };
        let vstartinfo_start = round_pgup(vphysmap_end);
        let vstartinfo_end = vstartinfo_start + START_INFO_SIZE + DOM0_VGA_CONSOLE_INFO_SIZE;
        let vpt_start = round_pgup(vstartinfo_end);
        let MappedTail { nr_pt_pages, vstack_start, v_end } = MappedTail::compute(v_start, vpt_start, 2);
        let initrd_pages = round_pgup(r.initrd_len) / PAGE;
        let mapped_initrd = if r.unmapped_initrd { 0 } else { initrd_pages };
        let initial_alloc_pages = ((v_end - v_start) / PAGE - mapped_initrd).next_power_of_two();
        let needed = initial_alloc_pages + initrd_pages;
        if needed > r.nr_pages {
            return Err(LayoutError::TooMuchSpace { needed, available: r.nr_pages });
        }
        let initrd_pfn = (r.unmapped_initrd && r.initrd_len > 0).then_some(initial_alloc_pages);
        Ok(Self {
            v_start,
            vinitrd_start,
            vinitrd_end,
            vphysmap_start,
            vphysmap_end,
            vstartinfo_start,
            vstartinfo_end,
            vpt_start,
            nr_pt_pages,
            vstack_start,
            v_end,
            initrd_pfn,
            initial_alloc_pages,
            first_p2m_pfn: initial_alloc_pages + initrd_pages,
        })
    }

    /// Pages mapped at start of day.
    pub fn mapped_pages(&self) -> u64 {
        (self.v_end - self.v_start) / PAGE
    }

    /// PFN of a virtual address inside the mapped area.
    pub fn pfn_of(&self, va: u64) -> u64 {
        (va - self.v_start) / PAGE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0xffff_ffff_8000_0000;

    fn req(kend_off: u64, nr_pages: u64) -> LayoutRequest {
        LayoutRequest {
            virt_base: BASE,
            virt_kend: BASE + kend_off,
            nr_pages,
            initrd_len: 0,
            unmapped_initrd: false,
            p2m_placed_by_guest: false,
        }
    }

    #[test]
    fn small_kernel_layout() {
        // 64 MiB domain, kernel ends at 0x5000.
        let l = Layout::compute(&req(0x5000, 16384)).unwrap();
        assert_eq!(l.vphysmap_start, BASE + 0x5000);
        assert_eq!(l.vphysmap_end, BASE + 0x5000 + 16384 * 8);
        assert_eq!(l.vstartinfo_start, BASE + 0x25000);
        assert_eq!(l.vpt_start, BASE + 0x26000);
        // One L4, one L3, one L2, two L1 (4 MiB mapped) = 5 pages.
        assert_eq!(l.nr_pt_pages, 5);
        assert_eq!(l.vstack_start, BASE + 0x26000 + 5 * 4096);
        assert_eq!(l.v_end, BASE + (4 << 20));
        assert!(l.v_end - (l.vstack_start + 4096) >= 512 << 10);
        assert_eq!(l.mapped_pages(), 1024);
        assert_eq!((l.initial_alloc_pages, l.first_p2m_pfn), (1024, 1024));
    }

    #[test]
    fn padding_adds_4mib_when_short() {
        // Stack end lands 256 KiB below a 4 MiB boundary.
        let l = Layout::compute(&req(0x3b_0000, 16384)).unwrap();
        assert!(l.v_end - (l.vstack_start + 4096) >= 512 << 10);
        assert_eq!(l.v_end % (4 << 20), 0);
    }

    #[test]
    fn initrd_mapped_or_by_pfn() {
        let mut r = req(0x5000, 16384);
        r.initrd_len = 0x1800;
        let l = Layout::compute(&r).unwrap();
        assert_eq!((l.vinitrd_start, l.vinitrd_end), (BASE + 0x5000, BASE + 0x6800));
        assert_eq!(l.vphysmap_start, BASE + 0x7000);
        assert_eq!(l.first_p2m_pfn, 1024 + 2, "after the initial allocation and the initrd");
        r.unmapped_initrd = true;
        let l = Layout::compute(&r).unwrap();
        assert_eq!(l.vinitrd_start, 0);
        assert_eq!(l.initrd_pfn, Some(1024), "right after the initial allocation, as Xen puts it");
        assert_eq!(l.first_p2m_pfn, 1026);
    }

    #[test]
    fn too_small_domain() {
        assert_eq!(
            Layout::compute(&req(0x5000, 512)),
            Err(LayoutError::TooMuchSpace { needed: 1024, available: 512 })
        );
    }

    #[test]
    fn page_table_count() {
        assert_eq!(page_tables_needed(BASE, BASE + (4 << 20)), 1 + 1 + 1 + 2);
        // Crossing a 1 GiB boundary needs a second L2.
        assert_eq!(page_tables_needed(BASE + (1 << 30) - (2 << 20), BASE + (1 << 30) + (2 << 20)), 1 + 1 + 2 + 2);
    }
}
