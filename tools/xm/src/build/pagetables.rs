//! The initial page tables of a PV domU, built in our memory and copied
//! into the guest afterwards.
//!
//! Entries hold machine frame numbers (a PV guest's page tables are
//! machine-addressed). Flags follow libxenguest: intermediate tables
//! present, writable, user, accessed and dirty; leaf entries present,
//! writable and accessed, except the page tables' own mappings, which are
//! read-only (Xen refuses to pin an L4 whose tables are mapped writable).
//! The hypervisor's L4 slots stay empty: Xen fills them when it validates
//! the L4 at pin time.

use std::collections::BTreeMap;

use super::layout::{DomULayout, PAGE};

/// Present.
pub const PTE_P: u64 = 1 << 0;
/// Writable.
pub const PTE_RW: u64 = 1 << 1;
/// User.
pub const PTE_US: u64 = 1 << 2;
/// Accessed.
pub const PTE_A: u64 = 1 << 5;
/// Dirty.
pub const PTE_D: u64 = 1 << 6;
/// Frame-address bits of an entry.
pub const PTE_ADDR: u64 = 0x000f_ffff_ffff_f000;

/// Flags of an entry pointing at a lower table.
pub const TABLE_FLAGS: u64 = PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D;
/// Flags of a leaf mapping.
pub const LEAF_FLAGS: u64 = PTE_P | PTE_RW | PTE_A;
/// Flags of a read-only leaf mapping (the page tables themselves).
pub const LEAF_RO_FLAGS: u64 = PTE_P | PTE_A;

/// Index of `va` in the table at `level` (1 = L1 … 4 = L4).
pub fn table_index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * (level - 1))) & 511) as usize
}

/// A page-table page being built.
pub type Table = [u64; 512];

/// Page tables under construction, addressed by PFN; new tables take
/// consecutive PFNs from a given range.
#[derive(Debug)]
pub struct PageTables<'a> {
    p2m: &'a [u64],
    tables: BTreeMap<u64, Box<Table>>,
    by_mfn: BTreeMap<u64, u64>,
    next: u64,
    limit: u64,
}

/// A table was needed beyond the range reserved for them (a layout bug).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("page tables overflow their reserved frames (PFN {pfn:#x})")]
pub struct OutOfTables {
    /// The PFN that would have been used.
    pub pfn: u64,
}

impl<'a> PageTables<'a> {
    /// Tables for a guest whose p2m is `p2m`, with the L4 at PFN `l4_pfn`
    /// and further tables from `l4_pfn + 1` below `limit`.
    pub fn new(p2m: &'a [u64], l4_pfn: u64, limit: u64) -> Self {
        let mut t = PageTables { p2m, tables: BTreeMap::new(), by_mfn: BTreeMap::new(), next: l4_pfn, limit };
        t.new_table().expect("the L4 fits: limit > l4_pfn");
        t
    }

    /// Continue allocating tables from `first` up to `limit` (for a
    /// second mapping such as INIT_P2M's, sharing the L4).
    pub fn reserve(&mut self, first: u64, limit: u64) {
        self.next = first;
        self.limit = limit;
    }

    fn new_table(&mut self) -> Result<u64, OutOfTables> {
        let pfn = self.next;
        if pfn >= self.limit || pfn as usize >= self.p2m.len() {
            return Err(OutOfTables { pfn });
        }
        self.next += 1;
        self.tables.insert(pfn, Box::new([0; 512]));
        self.by_mfn.insert(self.p2m[pfn as usize], pfn);
        Ok(pfn)
    }

    /// Map `va` to guest frame `pfn` with leaf `flags` under the L4 (the
    /// first table made).
    pub fn map(&mut self, l4_pfn: u64, va: u64, pfn: u64, flags: u64) -> Result<(), OutOfTables> {
        let mut t = l4_pfn;
        for level in (2..=4).rev() {
            let idx = table_index(va, level);
            let e = self.tables[&t][idx];
            t = if e & PTE_P != 0 {
                self.by_mfn[&((e & PTE_ADDR) / PAGE)]
            } else {
                let new = self.new_table()?;
                let mfn = self.p2m[new as usize];
                self.tables.get_mut(&t).expect("table exists")[idx] = (mfn * PAGE) | TABLE_FLAGS;
                new
            };
        }
        self.tables.get_mut(&t).expect("table exists")[table_index(va, 1)] = (self.p2m[pfn as usize] * PAGE) | flags;
        Ok(())
    }

    /// PFN the next new table would take.
    pub fn next_pfn(&self) -> u64 {
        self.next
    }

    /// The tables made, by PFN.
    pub fn into_tables(self) -> BTreeMap<u64, Box<Table>> {
        self.tables
    }
}

/// The domU's initial page tables: `[v_start, v_end)` mapped to PFN 0
/// onwards (page tables read-only), and with INIT_P2M the p2m list's
/// frames mapped at the kernel's chosen base. Returns the tables by PFN
/// (the L4 at `layout.pfn_of(layout.vpt_start)`) and the number of p2m
/// segment frames (list plus its tables; 0 without INIT_P2M).
pub fn build(p2m: &[u64], l: &DomULayout) -> Result<(BTreeMap<u64, Box<Table>>, u64), OutOfTables> {
    let l4 = l.pfn_of(l.vpt_start);
    let mut pt = PageTables::new(p2m, l4, l4 + l.nr_pt_pages);
    let pt_range = l.vpt_start..l.vpt_start + l.nr_pt_pages * PAGE;
    let mut va = l.v_start;
    while va < l.v_end {
        let flags = if pt_range.contains(&va) { LEAF_RO_FLAGS } else { LEAF_FLAGS };
        pt.map(l4, va, l.pfn_of(va), flags)?;
        va += PAGE;
    }
    let mut p2m_frames = 0;
    if let Some(base) = l.init_p2m {
        let first_table = l.p2m_pfn + l.p2m_pages;
        pt.reserve(first_table, first_table + l.p2m_pt_pages_max);
        for i in 0..l.p2m_pages {
            pt.map(l4, base + i * PAGE, l.p2m_pfn + i, LEAF_FLAGS)?;
        }
        p2m_frames = pt.next_pfn() - l.p2m_pfn;
    }
    Ok((pt.into_tables(), p2m_frames))
}

#[cfg(test)]
mod tests {
    use super::super::layout::DomULayoutRequest;
    use super::*;

    const BASE: u64 = 0xffff_ffff_8000_0000;

    fn layout(init_p2m: Option<u64>) -> DomULayout {
        DomULayout::compute(&DomULayoutRequest {
            virt_base: BASE,
            virt_kend: BASE + 0x5000,
            nr_pages: 8192,
            initrd_len: 0,
            unmapped_initrd: false,
            init_p2m,
        })
        .unwrap()
    }

    /// A p2m where MFN = PFN + 0x1000 (so a bug swapping them shows).
    fn p2m() -> Vec<u64> {
        (0..8192).map(|p| p + 0x1000).collect()
    }

    /// Walk the tables for `va`: the leaf entry.
    fn walk(tables: &BTreeMap<u64, Box<Table>>, l4: u64, va: u64) -> Option<u64> {
        let mut t = l4;
        for level in (2..=4).rev() {
            let e = tables[&t][table_index(va, level)];
            if e & PTE_P == 0 {
                return None;
            }
            assert_eq!(e & !PTE_ADDR, TABLE_FLAGS);
            t = (e & PTE_ADDR) / PAGE - 0x1000;
        }
        Some(tables[&t][table_index(va, 1)])
    }

    #[test]
    fn maps_the_whole_area_with_page_tables_read_only() {
        let l = layout(None);
        let p2m = p2m();
        let (tables, p2m_frames) = build(&p2m, &l).unwrap();
        assert_eq!(p2m_frames, 0);
        assert_eq!(tables.len() as u64, l.nr_pt_pages);
        let l4 = l.pfn_of(l.vpt_start);
        assert_eq!(*tables.keys().next().unwrap(), l4);
        for va in (l.v_start..l.v_end).step_by(PAGE as usize) {
            let e = walk(&tables, l4, va).unwrap();
            assert_eq!((e & PTE_ADDR) / PAGE, l.pfn_of(va) + 0x1000, "{va:#x}");
            let ro = (l.vpt_start..l.vpt_start + l.nr_pt_pages * PAGE).contains(&va);
            assert_eq!(e & !PTE_ADDR, if ro { LEAF_RO_FLAGS } else { LEAF_FLAGS }, "{va:#x}");
        }
        assert_eq!(walk(&tables, l4, l.v_end), None);
        assert_eq!(walk(&tables, l4, l.v_start - PAGE), None);
        // Hypervisor slots (256..272) are Xen's to fill.
        assert!(tables[&l4][256..272].iter().all(|&e| e == 0));
    }

    #[test]
    fn init_p2m_list_is_mapped_at_the_requested_base() {
        let base = 0x80_0000_0000;
        let l = layout(Some(base));
        let p2m = p2m();
        let (tables, p2m_frames) = build(&p2m, &l).unwrap();
        assert_eq!(p2m_frames, l.p2m_pages + 3);
        let l4 = l.pfn_of(l.vpt_start);
        for i in 0..l.p2m_pages {
            let e = walk(&tables, l4, base + i * PAGE).unwrap();
            assert_eq!((e & PTE_ADDR) / PAGE, l.p2m_pfn + i + 0x1000);
        }
        assert!(tables.contains_key(&(l.p2m_pfn + l.p2m_pages)));
    }
}
