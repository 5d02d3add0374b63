//! Grant tables (v1), as pure logic: a domain's shared grant frames, the
//! hypervisor's active entries (pins) on them, and the domain's maptrack
//! (the handles of the grant mappings it made).
//!
//! A granting domain publishes `grant_entry_v1 {flags, domid, frame}`
//! entries in frames the hypervisor shares with it. Another domain (or the
//! granter itself, a loopback grant) maps or copies a granted frame by
//! reference; while it does, the entry is *pinned*: the hypervisor sets
//! `GTF_reading` (and `GTF_writing` for a writable use) in the shared
//! flags with a compare-and-swap on the entry's first word, as Xen does,
//! so the granter can see the frame is in use and may not end access. The
//! flags are cleared again with the last reader (writer).
//!
//! Mappings are tracked by handle in the mapping domain's maptrack. Handles
//! are handed out as Xen 4.17 hands them out, so guests see the same
//! values: a new maptrack page of [`MAPTRACK_PER_PAGE`] handles is added at
//! the front of the free list when fewer than two are free, and freed
//! handles go to its back.
//!
//! The hypercall glue (`hypercall::grant_table`) parses the guest's
//! operations, takes page references through the page-type engine and
//! edits page tables; everything that is bookkeeping is here, behind the
//! [`SharedEntries`] trait so the host tests run it over a fake memory.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use dom0_abi::grant_table::{
    GTF_permit_access, GTF_reading, GTF_readonly, GTF_sub_page, GTF_type_mask, GTF_writing, Gntst,
};

/// Size of a frame.
const PAGE_SIZE: usize = 4096;
/// v1 entries per grant frame.
pub const ENTRIES_PER_FRAME: u32 = (PAGE_SIZE / 8) as u32;
/// Grant frames a domain may have (Xen 4.17's `gnttab_max_frames`).
pub const DEFAULT_MAX_FRAMES: u32 = 64;
/// Grant frames a new table starts with (Xen's `INITIAL_NR_GRANT_FRAMES`).
pub const INITIAL_FRAMES: u32 = 1;
/// Maptrack entries per maptrack page (Xen's 16-byte `grant_mapping`).
pub const MAPTRACK_PER_PAGE: u32 = 256;
/// Maptrack pages a domain may have (Xen 4.17's `gnttab_max_maptrack_frames`).
pub const MAX_MAPTRACK_FRAMES: u32 = 1024;
/// Attempts at the compare-and-swap of an entry's flags before giving up
/// (the granting guest keeps changing the entry under us).
const CAS_RETRIES: u32 = 16;
/// Pins of one kind above which a new pin is refused (Xen keeps 8-bit
/// counters and refuses at bit 7).
const MAX_PINS: u32 = 0x7f;

/// Access to the words of the hypervisor frames shared as grant frames.
pub trait SharedEntries {
    /// The 32-bit word at byte `offset` (4-aligned, < 4096) of grant frame
    /// `mfn`.
    fn word(&self, mfn: u64, offset: usize) -> &AtomicU32;
}

/// What a pin is for: a mapping checks the entry's sub-page bit too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// `GNTTABOP_map_grant_ref`.
    Map,
    /// `GNTTABOP_copy`.
    Copy,
}

/// A granted frame in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Active {
    /// The domain using it.
    domid: u16,
    /// The frame (a machine frame for a PV granter).
    frame: u64,
    /// All pins.
    pins: u32,
    /// Writable pins.
    writers: u32,
}

/// A pin taken: the frame, and whether it is the entry's first (the
/// caller then checks the frame belongs to the granter, and unpins if not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pinned {
    /// The granted frame, as the entry named it on the first pin.
    pub frame: u64,
    /// This pin made the entry active.
    pub first: bool,
}

/// One grant mapping of a domain's maptrack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The granting domain.
    pub dom: u16,
    /// Its grant reference.
    pub gref: u32,
    /// The frame mapped.
    pub frame: u64,
    /// Mapped read-only.
    pub readonly: bool,
    /// The guest-virtual address of the host mapping, or the machine
    /// address of its L1 entry when `contains_pte`.
    pub host_addr: u64,
    /// Mapped with `GNTMAP_contains_pte`: `host_addr` names the L1 entry
    /// itself (how Linux maps rings into its vmalloc area).
    pub contains_pte: bool,
}

/// Why `set_version` refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionError {
    /// Neither 1 nor 2 (`EINVAL`).
    Invalid,
    /// Version 2 is not implemented here (`ENOSYS`, what Xen answers when
    /// v2 is disabled).
    Unsupported,
}

/// One domain's grant table and maptrack.
pub struct GrantTable {
    frames: Vec<u64>,
    max_frames: u32,
    version: u32,
    active: BTreeMap<u32, Active>,
    maptrack: Vec<Option<Mapping>>,
    free: VecDeque<u32>,
}

impl GrantTable {
    /// An empty v1 table (no frames yet) that may grow to `max_frames`.
    pub fn new(max_frames: u32) -> Self {
        Self {
            frames: Vec::new(),
            max_frames,
            version: 1,
            active: BTreeMap::new(),
            maptrack: Vec::new(),
            free: VecDeque::new(),
        }
    }

    /// Machine frames of the shared grant frames, in order.
    pub fn frames(&self) -> &[u64] {
        &self.frames
    }

    /// Number of grant frames.
    pub fn nr_frames(&self) -> u32 {
        self.frames.len() as u32
    }

    /// Grant frames the table may grow to.
    pub fn max_frames(&self) -> u32 {
        self.max_frames
    }

    /// Number of grant entries.
    pub fn nr_entries(&self) -> u32 {
        self.nr_frames() * ENTRIES_PER_FRAME
    }

    /// Grow to at least `nr` frames (at least [`INITIAL_FRAMES`]), taking
    /// new zeroed frames from `alloc`; never shrinks. Beyond the maximum,
    /// or without memory: `GNTST_general_error`.
    pub fn grow(&mut self, nr: u32, mut alloc: impl FnMut() -> Option<u64>) -> Result<(), Gntst> {
        if nr > self.max_frames {
            return Err(Gntst::GeneralError);
        }
        while self.nr_frames() < nr.max(INITIAL_FRAMES) {
            self.frames.push(alloc().ok_or(Gntst::GeneralError)?);
        }
        Ok(())
    }

    /// The table format in force.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Choose the table format.
    pub fn set_version(&mut self, version: u32) -> Result<(), VersionError> {
        match version {
            v if v == self.version => Ok(()),
            1 => {
                self.version = 1;
                Ok(())
            }
            2 => Err(VersionError::Unsupported),
            _ => Err(VersionError::Invalid),
        }
    }

    /// Frame and byte offset of entry `gref`.
    fn locate(&self, gref: u32) -> Result<(u64, usize), Gntst> {
        if gref >= self.nr_entries() {
            return Err(Gntst::BadGntref);
        }
        let frame = self.frames[(gref / ENTRIES_PER_FRAME) as usize];
        Ok((frame, (gref % ENTRIES_PER_FRAME) as usize * 8))
    }

    /// Set `GTF_reading` (and `GTF_writing` unless `readonly`) in entry
    /// `gref`, checking first that it grants `ldom` access (when it is not
    /// pinned yet) and that a writable use is allowed.
    fn set_status(
        &self,
        mem: &impl SharedEntries,
        gref: u32,
        ldom: u16,
        readonly: bool,
        pinned: bool,
        kind: Use,
    ) -> Result<(), Gntst> {
        let (frame, off) = self.locate(gref)?;
        let word = mem.word(frame, off);
        let mask = GTF_type_mask | if kind == Use::Map { GTF_sub_page } else { 0 };
        for _ in 0..CAS_RETRIES {
            let cur = word.load(Ordering::SeqCst);
            let (flags, domid) = (cur as u16, (cur >> 16) as u16);
            if !pinned && (flags & mask != GTF_permit_access || domid != ldom) {
                return Err(Gntst::GeneralError);
            }
            let mut new = flags | GTF_reading;
            if !readonly {
                if flags & GTF_readonly != 0 {
                    return Err(Gntst::GeneralError);
                }
                new |= GTF_writing;
            }
            let new = (cur & 0xffff_0000) | u32::from(new);
            if word.compare_exchange(cur, new, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                return Ok(());
            }
        }
        Err(Gntst::GeneralError)
    }

    fn clear_flags(&self, mem: &impl SharedEntries, gref: u32, bits: u16) {
        if let Ok((frame, off)) = self.locate(gref) {
            mem.word(frame, off).fetch_and(!u32::from(bits), Ordering::SeqCst);
        }
    }

    /// Pin entry `gref` for domain `ldom` (read-only or writable).
    pub fn pin(
        &mut self,
        mem: &impl SharedEntries,
        gref: u32,
        ldom: u16,
        readonly: bool,
        kind: Use,
    ) -> Result<Pinned, Gntst> {
        let (frame, off) = self.locate(gref)?;
        let act = self.active.get(&gref).copied();
        if let Some(a) = act {
            if a.domid != ldom || a.pins >= MAX_PINS {
                return Err(Gntst::GeneralError);
            }
        }
        if act.is_none() || (!readonly && act.is_some_and(|a| a.writers == 0)) {
            self.set_status(mem, gref, ldom, readonly, act.is_some(), kind)?;
        }
        let mut a = act.unwrap_or(Active {
            domid: ldom,
            frame: u64::from(mem.word(frame, off + 4).load(Ordering::SeqCst)),
            pins: 0,
            writers: 0,
        });
        a.pins += 1;
        if !readonly {
            a.writers += 1;
        }
        self.active.insert(gref, a);
        Ok(Pinned { frame: a.frame, first: act.is_none() })
    }

    /// Drop a pin of entry `gref`; the entry's flags follow.
    pub fn unpin(&mut self, mem: &impl SharedEntries, gref: u32, readonly: bool) {
        let Some(a) = self.active.get_mut(&gref) else { return };
        a.pins = a.pins.saturating_sub(1);
        if !readonly {
            a.writers = a.writers.saturating_sub(1);
        }
        let (pins, writers) = (a.pins, a.writers);
        if writers == 0 {
            self.clear_flags(mem, gref, GTF_writing);
        }
        if pins == 0 {
            self.clear_flags(mem, gref, GTF_reading);
            self.active.remove(&gref);
        }
    }

    /// Whether entry `gref` is in use.
    pub fn is_pinned(&self, gref: u32) -> bool {
        self.active.contains_key(&gref)
    }

    /// Swap entries `a` and `b` (`GNTTABOP_swap_grant_ref`): both must
    /// exist and neither be in use (`GNTST_eagain`).
    pub fn swap(&self, mem: &impl SharedEntries, a: u32, b: u32) -> Result<(), Gntst> {
        let (fa, oa) = self.locate(a)?;
        let (fb, ob) = self.locate(b)?;
        if a == b {
            return Ok(());
        }
        if self.is_pinned(a) || self.is_pinned(b) {
            return Err(Gntst::Eagain);
        }
        for w in [0, 4] {
            let (wa, wb) = (mem.word(fa, oa + w), mem.word(fb, ob + w));
            let va = wa.load(Ordering::SeqCst);
            wa.store(wb.load(Ordering::SeqCst), Ordering::SeqCst);
            wb.store(va, Ordering::SeqCst);
        }
        Ok(())
    }

    /// A new maptrack handle (`GNTST_no_space` when the maptrack is full).
    pub fn alloc_handle(&mut self) -> Result<u32, Gntst> {
        if self.free.len() > 1 {
            return self.free.pop_front().ok_or(Gntst::NoSpace);
        }
        let limit = self.maptrack.len() as u32;
        if limit >= MAPTRACK_PER_PAGE * MAX_MAPTRACK_FRAMES {
            return Err(Gntst::NoSpace);
        }
        self.maptrack.resize(self.maptrack.len() + MAPTRACK_PER_PAGE as usize, None);
        for h in (limit + 1..limit + MAPTRACK_PER_PAGE).rev() {
            self.free.push_front(h);
        }
        Ok(limit)
    }

    /// Record the mapping made under `handle`.
    pub fn record(&mut self, handle: u32, m: Mapping) {
        if let Some(slot) = self.maptrack.get_mut(handle as usize) {
            *slot = Some(m);
        }
    }

    /// The mapping of `handle` (`GNTST_bad_handle` if there is none).
    pub fn mapping(&self, handle: u32) -> Result<Mapping, Gntst> {
        self.maptrack.get(handle as usize).copied().flatten().ok_or(Gntst::BadHandle)
    }

    /// Forget the mapping of `handle` and free the handle.
    pub fn release_handle(&mut self, handle: u32) {
        if let Some(slot) = self.maptrack.get_mut(handle as usize) {
            *slot = None;
            self.free.push_back(handle);
        }
    }

    /// Every live mapping with its handle.
    pub fn mappings(&self) -> impl Iterator<Item = (u32, Mapping)> + '_ {
        self.maptrack.iter().enumerate().filter_map(|(h, m)| m.map(|m| (h as u32, m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dom0_abi::grant_table::GTF_accept_transfer;
    use std::boxed::Box;
    use std::collections::HashMap;
    use std::vec::Vec;

    struct FakeFrames(HashMap<u64, Box<[AtomicU32]>>);

    impl FakeFrames {
        fn new(mfns: &[u64]) -> Self {
            Self(mfns.iter().map(|&m| (m, (0..1024).map(|_| AtomicU32::new(0)).collect())).collect())
        }
        fn set(&self, mfn: u64, gref: u32, flags: u16, domid: u16, frame: u32) {
            let e = &self.0[&mfn];
            e[gref as usize * 2 + 1].store(frame, Ordering::SeqCst);
            e[gref as usize * 2].store(u32::from(flags) | (u32::from(domid) << 16), Ordering::SeqCst);
        }
        fn flags(&self, mfn: u64, gref: u32) -> u16 {
            self.0[&mfn][gref as usize * 2].load(Ordering::SeqCst) as u16
        }
    }

    impl SharedEntries for FakeFrames {
        fn word(&self, mfn: u64, offset: usize) -> &AtomicU32 {
            &self.0[&mfn][offset / 4]
        }
    }

    fn table() -> (GrantTable, FakeFrames) {
        let mut t = GrantTable::new(DEFAULT_MAX_FRAMES);
        let mut next = 100;
        t.grow(0, || {
            next += 1;
            Some(next)
        })
        .unwrap();
        (t, FakeFrames::new(&[101, 102]))
    }

    #[test]
    fn grows_to_the_limit_and_never_shrinks() {
        let (mut t, _) = table();
        assert_eq!((t.nr_frames(), t.frames()), (1, &[101][..]));
        let mut next = 101;
        let mut alloc = || {
            next += 1;
            Some(next)
        };
        t.grow(2, &mut alloc).unwrap();
        t.grow(1, &mut alloc).unwrap();
        assert_eq!(t.frames(), &[101, 102]);
        assert_eq!(t.nr_entries(), 1024);
        assert_eq!(t.grow(65, &mut alloc), Err(Gntst::GeneralError));
        assert_eq!(t.grow(5, || None), Err(Gntst::GeneralError));
    }

    #[test]
    fn versions() {
        let (mut t, _) = table();
        assert_eq!(t.set_version(1), Ok(()));
        assert_eq!(t.set_version(2), Err(VersionError::Unsupported));
        assert_eq!(t.set_version(3), Err(VersionError::Invalid));
        assert_eq!(t.set_version(0), Err(VersionError::Invalid));
        assert_eq!(t.version(), 1);
    }

    #[test]
    fn pins_set_and_clear_the_flags() {
        let (mut t, m) = table();
        m.set(101, 10, GTF_permit_access, 0, 0x1234);
        let p = t.pin(&m, 10, 0, false, Use::Map).unwrap();
        assert_eq!(p, Pinned { frame: 0x1234, first: true });
        assert_eq!(m.flags(101, 10), GTF_permit_access | GTF_reading | GTF_writing);
        // The granter changes the frame meanwhile: the pin keeps the old.
        m.set(101, 10, GTF_permit_access | GTF_reading | GTF_writing, 0, 0x9999);
        assert_eq!(t.pin(&m, 10, 0, true, Use::Map), Ok(Pinned { frame: 0x1234, first: false }));
        t.unpin(&m, 10, false);
        assert_eq!(m.flags(101, 10), GTF_permit_access | GTF_reading);
        t.unpin(&m, 10, true);
        assert_eq!(m.flags(101, 10), GTF_permit_access);
        assert!(!t.is_pinned(10));
    }

    #[test]
    fn refusals() {
        let (mut t, m) = table();
        m.set(101, 11, 0, 0, 1);
        m.set(101, 12, GTF_permit_access | GTF_readonly, 0, 1);
        m.set(101, 13, GTF_permit_access, 5, 1);
        m.set(101, 14, GTF_accept_transfer, 0, 1);
        m.set(101, 15, GTF_permit_access | GTF_sub_page, 0, 1);
        assert_eq!(t.pin(&m, 512, 0, true, Use::Map), Err(Gntst::BadGntref));
        assert_eq!(t.pin(&m, 11, 0, true, Use::Map), Err(Gntst::GeneralError));
        assert_eq!(t.pin(&m, 12, 0, false, Use::Map), Err(Gntst::GeneralError));
        assert_eq!(m.flags(101, 12), GTF_permit_access | GTF_readonly, "flags untouched by a refusal");
        assert_eq!(t.pin(&m, 13, 0, true, Use::Copy), Err(Gntst::GeneralError));
        assert_eq!(t.pin(&m, 14, 0, true, Use::Map), Err(Gntst::GeneralError));
        assert_eq!(t.pin(&m, 15, 0, true, Use::Map), Err(Gntst::GeneralError));
        assert!(t.pin(&m, 15, 0, true, Use::Copy).is_ok(), "copies ignore the sub-page bit");
        // A read-only pin of a read-only grant, then a writable one.
        assert!(t.pin(&m, 12, 0, true, Use::Map).is_ok());
        assert_eq!(t.pin(&m, 12, 0, false, Use::Map), Err(Gntst::GeneralError));
        // Pinned for domain 0: domain 3 may not share it.
        assert_eq!(t.pin(&m, 12, 3, true, Use::Map), Err(Gntst::GeneralError));
    }

    #[test]
    fn swaps() {
        let (mut t, m) = table();
        m.set(101, 1, GTF_permit_access, 3, 0x77);
        t.swap(&m, 1, 2).unwrap();
        assert_eq!((m.flags(101, 1), m.flags(101, 2)), (0, GTF_permit_access));
        assert_eq!(m.word(101, 2 * 8 + 4).load(Ordering::SeqCst), 0x77);
        assert_eq!(t.swap(&m, 2, 512), Err(Gntst::BadGntref));
        assert_eq!(t.swap(&m, 2, 2), Ok(()));
        m.set(101, 2, GTF_permit_access, 0, 0x77);
        t.pin(&m, 2, 0, true, Use::Copy).unwrap();
        assert_eq!(t.swap(&m, 1, 2), Err(Gntst::Eagain));
    }

    #[test]
    fn pin_counts_are_bounded() {
        let (mut t, m) = table();
        m.set(101, 1, GTF_permit_access, 0, 1);
        for _ in 0..MAX_PINS {
            t.pin(&m, 1, 0, true, Use::Map).unwrap();
        }
        assert_eq!(t.pin(&m, 1, 0, true, Use::Map), Err(Gntst::GeneralError));
    }

    #[test]
    fn handles_come_in_xens_order() {
        let (mut t, _) = table();
        let m = Mapping { dom: 0, gref: 1, frame: 1, readonly: false, host_addr: 0, contains_pte: false };
        assert_eq!(t.mapping(0), Err(Gntst::BadHandle));
        let a = t.alloc_handle().unwrap();
        let b = t.alloc_handle().unwrap();
        assert_eq!((a, b), (0, 1));
        t.record(a, m);
        assert_eq!(t.mapping(a), Ok(m));
        assert_eq!(t.mapping(b), Err(Gntst::BadHandle));
        t.release_handle(a);
        t.release_handle(b);
        assert_eq!(t.mapping(a), Err(Gntst::BadHandle));
        // Freed handles go to the back: fresh ones come first.
        let rest: Vec<u32> = (0..MAPTRACK_PER_PAGE).map(|_| t.alloc_handle().unwrap()).collect();
        assert_eq!(rest[..3], [2, 3, 4]);
        assert_eq!(rest[253], 255);
        assert_eq!(rest[254], 0, "then the freed ones, in order");
        // The last free one is kept: a new page comes first.
        assert_eq!(rest[255], 256);
        assert_eq!(t.alloc_handle(), Ok(257));
        assert_eq!(t.mapping(9999), Err(Gntst::BadHandle));
        assert_eq!(t.mappings().count(), 0);
    }
}
