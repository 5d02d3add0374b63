//! The x86-64 PV start-of-day layout of a domU, as Xen's libxenguest
//! (`xc_dom_x86.c`) lays it out.
//!
//! From `VIRT_BASE` upwards, guest-virtual addresses map 1:1 onto
//! pseudo-physical frames from PFN 0: the kernel image, a mapped initrd,
//! the phys-to-machine list (unless the kernel asked for it elsewhere with
//! INIT_P2M), then one page each for `start_info`, the xenstore ring and the
//! console ring, the initial page tables, one page of boot stack, and
//! padding to a 4 MiB boundary with at least 512 KiB to spare (the rules of
//! [`pvboot::Layout`], which lays out dom0 without the two ring pages).
//! Beyond the mapped area: an initrd passed by PFN (MOD_START_PFN), then
//! an INIT_P2M list's frames and the page tables that map it.

use pvboot::layout::{page_tables_needed, MappedTail};

/// Bytes in a page.
pub const PAGE: u64 = 4096;

fn round_pgup(x: u64) -> u64 {
    x.div_ceil(PAGE) * PAGE
}

/// What the builder knows before laying out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomULayoutRequest {
    /// `VIRT_BASE`: virtual address of PFN 0.
    pub virt_base: u64,
    /// End of the kernel image (virtual).
    pub virt_kend: u64,
    /// Pages the domain is populated with.
    pub nr_pages: u64,
    /// Bytes of initrd (0 for none).
    pub initrd_len: u64,
    /// The kernel takes the initrd by PFN (MOD_START_PFN note).
    pub unmapped_initrd: bool,
    /// Where the kernel wants its p2m list mapped (INIT_P2M), if anywhere.
    /// Only honoured below `virt_base` and page aligned, as libxenguest does.
    pub init_p2m: Option<u64>,
}

/// The computed layout: virtual addresses unless said otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomULayout {
    /// Start of the mapped area (`VIRT_BASE`, PFN 0).
    pub v_start: u64,
    /// Mapped initrd start (0 when unmapped or absent).
    pub vinitrd_start: u64,
    /// Mapped initrd end.
    pub vinitrd_end: u64,
    /// Start of the p2m list when it is in the mapped area.
    pub vphysmap_start: u64,
    /// End of that list (= start with INIT_P2M).
    pub vphysmap_end: u64,
    /// The `start_info` page.
    pub vstartinfo: u64,
    /// The xenstore ring page.
    pub vxenstore: u64,
    /// The console ring page.
    pub vconsole: u64,
    /// First page-table page (the L4).
    pub vpt_start: u64,
    /// Number of page-table pages in the mapped area.
    pub nr_pt_pages: u64,
    /// Boot stack page.
    pub vstack: u64,
    /// End of the mapped area.
    pub v_end: u64,
    /// First PFN of an initrd passed by PFN.
    pub initrd_pfn: Option<u64>,
    /// INIT_P2M: the virtual base the kernel asked for.
    pub init_p2m: Option<u64>,
    /// First PFN of the p2m segment (`start_info.first_p2m_pfn`).
    pub p2m_pfn: u64,
    /// Pages of the p2m list itself.
    pub p2m_pages: u64,
    /// Most page-table pages an INIT_P2M mapping can need (its frames
    /// follow the list's).
    pub p2m_pt_pages_max: u64,
    /// Pages the domain has.
    pub nr_pages: u64,
}

/// The domain is too small for its own start-of-day layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the start-of-day layout needs {needed} pages, the domain has {available}")]
pub struct TooSmall {
    /// Pages the layout needs.
    pub needed: u64,
    /// Pages the domain has.
    pub available: u64,
}

impl DomULayout {
    /// Lay out the start of day.
    pub fn compute(r: &DomULayoutRequest) -> Result<Self, TooSmall> {
        let v_start = r.virt_base;
        let init_p2m = r.init_p2m.filter(|&b| b < r.virt_base && b % PAGE == 0);
        let kend = round_pgup(r.virt_kend.max(v_start));
        let (vinitrd_start, vinitrd_end, after_initrd) = if r.unmapped_initrd || r.initrd_len == 0 {
            (0, 0, kend)
        } else {
            (kend, kend + r.initrd_len, round_pgup(kend + r.initrd_len))
        };
        let p2m_pages = (r.nr_pages * 8).div_ceil(PAGE);
        let vphysmap_start = after_initrd;
        let vphysmap_end = if init_p2m.is_some() { vphysmap_start } else { vphysmap_start + r.nr_pages * 8 };
        let vstartinfo = round_pgup(vphysmap_end);
        let vxenstore = vstartinfo + PAGE;
        let vconsole = vxenstore + PAGE;
        let vpt_start = vconsole + PAGE;
        let MappedTail { nr_pt_pages, vstack_start: vstack, v_end } = MappedTail::compute(v_start, vpt_start, 1);
        let mapped = (v_end - v_start) / PAGE;
        let initrd_pages = if r.unmapped_initrd { r.initrd_len.div_ceil(PAGE) } else { 0 };
        let initrd_pfn = (r.unmapped_initrd && r.initrd_len > 0).then_some(mapped);
        let (p2m_pfn, p2m_pt_pages_max) = match init_p2m {
            Some(base) => (mapped + initrd_pages, page_tables_needed(base, base + p2m_pages * PAGE) - 1),
            None => ((vphysmap_start - v_start) / PAGE, 0),
        };
        let needed = mapped + initrd_pages + if init_p2m.is_some() { p2m_pages + p2m_pt_pages_max } else { 0 };
        if needed > r.nr_pages {
            return Err(TooSmall { needed, available: r.nr_pages });
        }
        Ok(Self {
            v_start,
            vinitrd_start,
            vinitrd_end,
            vphysmap_start,
            vphysmap_end,
            vstartinfo,
            vxenstore,
            vconsole,
            vpt_start,
            nr_pt_pages,
            vstack,
            v_end,
            initrd_pfn,
            init_p2m,
            p2m_pfn,
            p2m_pages,
            p2m_pt_pages_max,
            nr_pages: r.nr_pages,
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

    /// Pseudo-physical byte address of a virtual address in the mapped area.
    pub fn paddr_of(&self, va: u64) -> u64 {
        va - self.v_start
    }

    /// Top of the boot stack (the initial `rsp`).
    pub fn stack_top(&self) -> u64 {
        self.vstack + PAGE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0xffff_ffff_8000_0000;

    fn req(kend_off: u64, nr_pages: u64) -> DomULayoutRequest {
        DomULayoutRequest {
            virt_base: BASE,
            virt_kend: BASE + kend_off,
            nr_pages,
            initrd_len: 0,
            unmapped_initrd: false,
            init_p2m: None,
        }
    }

    #[test]
    fn small_kernel_layout() {
        // 32 MiB domain, kernel ends at 0x5000: p2m 64 KiB.
        let l = DomULayout::compute(&req(0x5000, 8192)).unwrap();
        assert_eq!((l.vphysmap_start, l.vphysmap_end), (BASE + 0x5000, BASE + 0x5000 + 8192 * 8));
        assert_eq!(l.vstartinfo, BASE + 0x15000);
        assert_eq!(l.vxenstore, BASE + 0x16000, "xenstore page right after start_info");
        assert_eq!(l.vconsole, BASE + 0x17000, "then the console page");
        assert_eq!(l.vpt_start, BASE + 0x18000);
        // L4, L3, L2 and two L1s for 4 MiB.
        assert_eq!(l.nr_pt_pages, 5);
        assert_eq!(l.vstack, BASE + 0x18000 + 5 * PAGE);
        assert_eq!(l.v_end, BASE + (4 << 20));
        assert_eq!((l.p2m_pfn, l.p2m_pages), (5, 16));
        assert_eq!(l.stack_top(), l.vstack + PAGE);
    }

    #[test]
    fn padding_is_at_least_512k() {
        let l = DomULayout::compute(&req(0x3b_0000, 8192)).unwrap();
        assert!(l.v_end - l.stack_top() >= 512 << 10);
        assert_eq!(l.v_end % (4 << 20), 0);
        assert_eq!(page_tables_needed(l.v_start, l.v_end), l.nr_pt_pages);
    }

    #[test]
    fn initrd_mapped_or_by_pfn() {
        let mut r = req(0x5000, 8192);
        r.initrd_len = 0x1800;
        let l = DomULayout::compute(&r).unwrap();
        assert_eq!((l.vinitrd_start, l.vinitrd_end), (BASE + 0x5000, BASE + 0x6800));
        assert_eq!(l.vphysmap_start, BASE + 0x7000);
        r.unmapped_initrd = true;
        let l = DomULayout::compute(&r).unwrap();
        assert_eq!(l.vinitrd_start, 0);
        assert_eq!(l.initrd_pfn, Some(l.mapped_pages()));
    }

    #[test]
    fn init_p2m_moves_the_list_out_of_the_mapped_area() {
        let mut r = req(0x5000, 8192);
        r.init_p2m = Some(0x80_0000_0000);
        let l = DomULayout::compute(&r).unwrap();
        assert_eq!(l.vphysmap_start, l.vphysmap_end);
        assert_eq!(l.vstartinfo, BASE + 0x5000);
        assert_eq!(l.p2m_pfn, l.mapped_pages());
        assert_eq!(l.p2m_pt_pages_max, 3, "one L3, one L2, one L1 below the shared L4");
        // Above VIRT_BASE or misaligned: ignored, as libxenguest does.
        r.init_p2m = Some(BASE + (1 << 30));
        assert_eq!(DomULayout::compute(&r).unwrap().init_p2m, None);
        r.init_p2m = Some(0x80_0000_0100);
        assert_eq!(DomULayout::compute(&r).unwrap().init_p2m, None);
    }

    #[test]
    fn too_small_domain() {
        assert_eq!(DomULayout::compute(&req(0x5000, 512)), Err(TooSmall { needed: 1024, available: 512 }));
    }
}
