//! Page-table frames in the stream: canonicalised on save (each present
//! entry's machine frame replaced by the guest frame, Xen's own L4 slots
//! cleared) and localised on restore (guest frames back to the new
//! machine frames), as libxc's `normalise_pagetable` and
//! `x86_pv_localise_page` do for 64-bit PV guests.
//!
//! Bits 59-62 of present L1 entries are a PV guest's software bits on Xen
//! (kept, as libxc keeps them), but while our hypervisor tracks a domain's
//! writes with protection keys they are its keys (an armed entry has key
//! 1, and the guest's own bits are stripped): a save that used log-dirty
//! mode strips them ([`Keys::Strip`]), so the stream is what Xen would
//! have written for the same guest (Linux never sets them).

/// `_PAGE_PRESENT`.
pub const PAGE_PRESENT: u64 = 1 << 0;
/// `_PAGE_PSE`.
pub const PAGE_PSE: u64 = 1 << 7;
/// Frame bits of an entry (12..=51).
pub const FRAME_MASK: u64 = ((1 << 40) - 1) << 12;
/// First L4 slot of Xen's area (`HYPERVISOR_VIRT_START` 0xffff800000000000).
pub const XEN_L4_FIRST: usize = 256;
/// Last L4 slot cleared (`HYPERVISOR_VIRT_END` 0xffff880000000000, as libxc).
pub const XEN_L4_LAST: usize = 272;

/// Why a page table cannot be translated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PtError {
    /// An entry points at a frame the translation does not know.
    #[error("L{level}[{index}] points at frame {frame:#x}, not part of the guest")]
    BadFrame {
        /// Table level.
        level: u8,
        /// Entry index.
        index: usize,
        /// The frame.
        frame: u64,
    },
    /// A superpage mapping above L1 (not migratable).
    #[error("L{level}[{index}] is a superpage mapping, which cannot be migrated")]
    Superpage {
        /// Table level.
        level: u8,
        /// Entry index.
        index: usize,
    },
}

/// Protection-key bits of an L1 entry (59-62).
pub const PKEY_MASK: u64 = 0xf << 59;

/// What canonicalisation does with bits 59-62 of present L1 entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keys {
    /// Keep them (the guest's software bits, as libxc does).
    Keep,
    /// Strip them (they were the hypervisor's log-dirty keys).
    Strip,
}

fn translate(page: &mut [u8], level: u8, clear_xen: bool, keys: Keys, map: &dyn Fn(u64) -> Option<u64>) -> Result<(), PtError> {
    for (index, chunk) in page.chunks_exact_mut(8).enumerate() {
        let mut pte = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        if clear_xen && level == 4 && (XEN_L4_FIRST..=XEN_L4_LAST).contains(&index) {
            pte = 0;
        }
        if pte & PAGE_PRESENT != 0 {
            if level > 1 && pte & PAGE_PSE != 0 {
                return Err(PtError::Superpage { level, index });
            }
            let frame = (pte & FRAME_MASK) >> 12;
            let to = map(frame).ok_or(PtError::BadFrame { level, index, frame })?;
            pte = (pte & !FRAME_MASK) | ((to << 12) & FRAME_MASK);
            if level == 1 && keys == Keys::Strip {
                pte &= !PKEY_MASK;
            }
        }
        chunk.copy_from_slice(&pte.to_le_bytes());
    }
    Ok(())
}

/// Canonicalise a level-`level` page table in place: machine frames to
/// guest frames through `mfn_to_pfn`, Xen's L4 slots cleared, the key
/// bits of L1 entries as `keys` says.
pub fn canonicalise(page: &mut [u8], level: u8, keys: Keys, mfn_to_pfn: &dyn Fn(u64) -> Option<u64>) -> Result<(), PtError> {
    translate(page, level, true, keys, mfn_to_pfn)
}

/// Localise a canonical level-`level` page table in place: guest frames to
/// machine frames through `pfn_to_mfn`.
pub fn localise(page: &mut [u8], level: u8, pfn_to_mfn: &dyn Fn(u64) -> Option<u64>) -> Result<(), PtError> {
    translate(page, level, false, Keys::Keep, pfn_to_mfn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(usize, u64)]) -> Vec<u8> {
        let mut p = vec![0u8; 4096];
        for &(i, v) in entries {
            p[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        p
    }

    fn entry(p: &[u8], i: usize) -> u64 {
        u64::from_le_bytes(p[i * 8..i * 8 + 8].try_into().unwrap())
    }

    #[test]
    fn round_trip_keeps_flags_and_clears_xen_slots() {
        let nx = 1u64 << 63;
        let mut p = table(&[(0, (0x1234 << 12) | 0x67), (1, (0x999 << 12) | 0x66), (3, nx | (0x1235 << 12) | 0x63), (256, 0xabc063), (272, 0xdef063)]);
        let m2p = |m: u64| (0x1234..0x1240).contains(&m).then(|| m - 0x1000);
        canonicalise(&mut p, 4, Keys::Keep, &m2p).unwrap();
        assert_eq!(entry(&p, 0), (0x234 << 12) | 0x67);
        // Not present: kept as is, frame and all.
        assert_eq!(entry(&p, 1), (0x999 << 12) | 0x66);
        assert_eq!(entry(&p, 3), nx | (0x235 << 12) | 0x63);
        assert_eq!((entry(&p, 256), entry(&p, 272)), (0, 0));
        let p2m = |pfn: u64| (pfn < 0x300).then(|| pfn + 0x5000);
        localise(&mut p, 4, &p2m).unwrap();
        assert_eq!(entry(&p, 0), (0x5234 << 12) | 0x67);
        assert_eq!(entry(&p, 3), nx | (0x5235 << 12) | 0x63);
    }

    #[test]
    fn foreign_frames_and_superpages_are_refused() {
        let mut p = table(&[(5, (0x77 << 12) | 1)]);
        assert_eq!(canonicalise(&mut p, 1, Keys::Keep, &|_| None), Err(PtError::BadFrame { level: 1, index: 5, frame: 0x77 }));
        let mut p = table(&[(9, (0x77 << 12) | PAGE_PSE | 1)]);
        assert_eq!(canonicalise(&mut p, 2, Keys::Keep, &Some), Err(PtError::Superpage { level: 2, index: 9 }));
        // PSE in an L1 is PAT, not a superpage.
        let mut p = table(&[(9, (0x77 << 12) | PAGE_PSE | 1)]);
        assert!(canonicalise(&mut p, 1, Keys::Keep, &Some).is_ok());
        // Xen's slots are only cleared in L4 tables.
        let mut p = table(&[(256, (0x77 << 12) | 1)]);
        canonicalise(&mut p, 3, Keys::Keep, &Some).unwrap();
        assert_eq!(entry(&p, 256), (0x77 << 12) | 1);
    }

    #[test]
    fn log_dirty_keys_are_stripped_from_present_l1_entries_only() {
        let armed = (1u64 << 59) | (0x1234 << 12) | 0x67;
        let swap = (5u64 << 59) | (0x42 << 12); // not present: the guest's
        let upper = (3u64 << 59) | (0x1234 << 12) | 0x67;
        let m2p = |m: u64| Some(m - 0x1000);
        let mut p = table(&[(0, armed), (1, swap)]);
        canonicalise(&mut p, 1, Keys::Strip, &m2p).unwrap();
        assert_eq!(entry(&p, 0), (0x234 << 12) | 0x67);
        assert_eq!(entry(&p, 1), swap);
        let mut p = table(&[(0, armed)]);
        canonicalise(&mut p, 1, Keys::Keep, &m2p).unwrap();
        assert_eq!(entry(&p, 0), (1u64 << 59) | (0x234 << 12) | 0x67, "kept without log-dirty mode, as libxc");
        let mut p = table(&[(0, upper)]);
        canonicalise(&mut p, 2, Keys::Strip, &m2p).unwrap();
        assert_eq!(entry(&p, 0), (3u64 << 59) | (0x234 << 12) | 0x67, "only L1 entries carry keys");
    }
}
