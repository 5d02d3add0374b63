//! PV memory-management hypercalls of `xen.h`: `mmu_update` requests and
//! their `MMU_*` commands, `mmuext_op` and every `MMUEXT_*` command, and the
//! `UVMF_*` flags of `update_va_mapping`.

use crate::types::{GuestHandle, XenPfn};

// ---------------------------------------------------------------------------
// mmu_update
// ---------------------------------------------------------------------------

/// `ptr` is the machine address of a PTE to set to `val` (checked).
pub const MMU_NORMAL_PT_UPDATE: u64 = 0;
/// `ptr` is a machine address whose m2p entry becomes the PFN in `val`.
pub const MMU_MACHPHYS_UPDATE: u64 = 1;
/// Like `MMU_NORMAL_PT_UPDATE`, keeping the accessed/dirty bits Xen sees.
pub const MMU_PT_UPDATE_PRESERVE_AD: u64 = 2;
/// `ptr` is a PTE address to update without translation (translated guests).
pub const MMU_PT_UPDATE_NO_TRANSLATE: u64 = 3;

/// Mask of the low `ptr` bits that hold the command (Xen uses the bits
/// below the 8-byte PTE alignment; values 4..=7 are rejected).
pub const MMU_UPDATE_CMD_MASK: u64 = 7;

xen_enum! {
    /// The command encoded in the low bits of `mmu_update.ptr` (C: `MMU_*`).
    pub enum MmuUpdateCmd: u64 {
        /// `MMU_NORMAL_PT_UPDATE`.
        NormalPtUpdate = MMU_NORMAL_PT_UPDATE,
        /// `MMU_MACHPHYS_UPDATE`.
        MachphysUpdate = MMU_MACHPHYS_UPDATE,
        /// `MMU_PT_UPDATE_PRESERVE_AD`.
        PtUpdatePreserveAd = MMU_PT_UPDATE_PRESERVE_AD,
        /// `MMU_PT_UPDATE_NO_TRANSLATE`.
        PtUpdateNoTranslate = MMU_PT_UPDATE_NO_TRANSLATE,
    }
}

/// `struct mmu_update`: one request of an `mmu_update` batch. The low three
/// bits of `ptr` select the command; the rest is an 8-byte-aligned address.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct MmuUpdate {
    /// Machine address (or PFN-based address) with the command in bits 0-2.
    pub ptr: u64,
    /// New PTE contents, or the PFN for `MMU_MACHPHYS_UPDATE`.
    pub val: u64,
}
impl_pod!(MmuUpdate);

impl MmuUpdate {
    /// A request with command `cmd` on the 8-byte-aligned address `addr`.
    pub const fn new(cmd: MmuUpdateCmd, addr: u64, val: u64) -> Self {
        MmuUpdate { ptr: (addr & !MMU_UPDATE_CMD_MASK) | cmd as u64, val }
    }

    /// The command bits, parsed (`Err` for the undefined values 4..=7).
    pub fn cmd(&self) -> Result<MmuUpdateCmd, crate::UnknownValue> {
        MmuUpdateCmd::try_from(self.ptr & MMU_UPDATE_CMD_MASK)
    }

    /// The address part of `ptr`, with the command bits cleared.
    pub const fn addr(&self) -> u64 {
        self.ptr & !MMU_UPDATE_CMD_MASK
    }
}

// ---------------------------------------------------------------------------
// mmuext_op
// ---------------------------------------------------------------------------

/// Pin the frame `arg1.mfn` as an L1 page table.
pub const MMUEXT_PIN_L1_TABLE: u32 = 0;
/// Pin `arg1.mfn` as an L2 page table.
pub const MMUEXT_PIN_L2_TABLE: u32 = 1;
/// Pin `arg1.mfn` as an L3 page table.
pub const MMUEXT_PIN_L3_TABLE: u32 = 2;
/// Pin `arg1.mfn` as an L4 page table.
pub const MMUEXT_PIN_L4_TABLE: u32 = 3;
/// Unpin the page table at `arg1.mfn`.
pub const MMUEXT_UNPIN_TABLE: u32 = 4;
/// Switch the kernel page-table base to the L4 at `arg1.mfn`.
pub const MMUEXT_NEW_BASEPTR: u32 = 5;
/// Flush this vcpu's TLB.
pub const MMUEXT_TLB_FLUSH_LOCAL: u32 = 6;
/// Invalidate `arg1.linear_addr` in this vcpu's TLB.
pub const MMUEXT_INVLPG_LOCAL: u32 = 7;
/// Flush the TLBs of the vcpus in the bitmap at `arg2.vcpumask`.
pub const MMUEXT_TLB_FLUSH_MULTI: u32 = 8;
/// Invalidate `arg1.linear_addr` on the vcpus in `arg2.vcpumask`.
pub const MMUEXT_INVLPG_MULTI: u32 = 9;
/// Flush the TLBs of all of the domain's vcpus.
pub const MMUEXT_TLB_FLUSH_ALL: u32 = 10;
/// Invalidate `arg1.linear_addr` on all of the domain's vcpus.
pub const MMUEXT_INVLPG_ALL: u32 = 11;
/// Write back and invalidate this cpu's caches (needs privilege).
pub const MMUEXT_FLUSH_CACHE: u32 = 12;
/// Load the LDT at `arg1.linear_addr` with `arg2.nr_ents` entries.
pub const MMUEXT_SET_LDT: u32 = 13;
/// Switch the user-mode page-table base to the L4 at `arg1.mfn` (x86-64).
pub const MMUEXT_NEW_USER_BASEPTR: u32 = 15;
/// Zero the frame `arg1.mfn`.
pub const MMUEXT_CLEAR_PAGE: u32 = 16;
/// Copy frame `arg2.src_mfn` to `arg1.mfn`.
pub const MMUEXT_COPY_PAGE: u32 = 17;
/// Write back and invalidate caches on all cpus (needs privilege).
pub const MMUEXT_FLUSH_CACHE_GLOBAL: u32 = 18;
/// Obsolete superpage marking; always fails in Xen 4.17.
pub const MMUEXT_MARK_SUPER: u32 = 19;
/// Obsolete superpage unmarking; always fails in Xen 4.17.
pub const MMUEXT_UNMARK_SUPER: u32 = 20;

xen_enum! {
    /// An `mmuext_op` command (C: `MMUEXT_*`).
    pub enum MmuextCmd: u32 {
        /// `MMUEXT_PIN_L1_TABLE`.
        PinL1Table = MMUEXT_PIN_L1_TABLE,
        /// `MMUEXT_PIN_L2_TABLE`.
        PinL2Table = MMUEXT_PIN_L2_TABLE,
        /// `MMUEXT_PIN_L3_TABLE`.
        PinL3Table = MMUEXT_PIN_L3_TABLE,
        /// `MMUEXT_PIN_L4_TABLE`.
        PinL4Table = MMUEXT_PIN_L4_TABLE,
        /// `MMUEXT_UNPIN_TABLE`.
        UnpinTable = MMUEXT_UNPIN_TABLE,
        /// `MMUEXT_NEW_BASEPTR`.
        NewBaseptr = MMUEXT_NEW_BASEPTR,
        /// `MMUEXT_TLB_FLUSH_LOCAL`.
        TlbFlushLocal = MMUEXT_TLB_FLUSH_LOCAL,
        /// `MMUEXT_INVLPG_LOCAL`.
        InvlpgLocal = MMUEXT_INVLPG_LOCAL,
        /// `MMUEXT_TLB_FLUSH_MULTI`.
        TlbFlushMulti = MMUEXT_TLB_FLUSH_MULTI,
        /// `MMUEXT_INVLPG_MULTI`.
        InvlpgMulti = MMUEXT_INVLPG_MULTI,
        /// `MMUEXT_TLB_FLUSH_ALL`.
        TlbFlushAll = MMUEXT_TLB_FLUSH_ALL,
        /// `MMUEXT_INVLPG_ALL`.
        InvlpgAll = MMUEXT_INVLPG_ALL,
        /// `MMUEXT_FLUSH_CACHE`.
        FlushCache = MMUEXT_FLUSH_CACHE,
        /// `MMUEXT_SET_LDT`.
        SetLdt = MMUEXT_SET_LDT,
        /// `MMUEXT_NEW_USER_BASEPTR`.
        NewUserBaseptr = MMUEXT_NEW_USER_BASEPTR,
        /// `MMUEXT_CLEAR_PAGE`.
        ClearPage = MMUEXT_CLEAR_PAGE,
        /// `MMUEXT_COPY_PAGE`.
        CopyPage = MMUEXT_COPY_PAGE,
        /// `MMUEXT_FLUSH_CACHE_GLOBAL`.
        FlushCacheGlobal = MMUEXT_FLUSH_CACHE_GLOBAL,
        /// `MMUEXT_MARK_SUPER`.
        MarkSuper = MMUEXT_MARK_SUPER,
        /// `MMUEXT_UNMARK_SUPER`.
        UnmarkSuper = MMUEXT_UNMARK_SUPER,
    }
}

/// `struct mmuext_op`. Both C unions are 8-byte words here:
/// `arg1` is `mfn` or `linear_addr`; `arg2` is `nr_ents` (low 32 bits),
/// `vcpumask` (a guest handle) or `src_mfn`, depending on `cmd`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct MmuextOp {
    /// `MMUEXT_*`.
    pub cmd: u32,
    /// First argument (`mfn` or `linear_addr`).
    pub arg1: u64,
    /// Second argument (`nr_ents`, `vcpumask` or `src_mfn`).
    pub arg2: u64,
}
impl_pod!(MmuextOp);

impl MmuextOp {
    /// An operation with raw arguments.
    pub const fn new(cmd: MmuextCmd, arg1: u64, arg2: u64) -> Self {
        MmuextOp { cmd: cmd as u32, arg1, arg2 }
    }

    /// `arg1` read as a frame number (`arg1.mfn`).
    pub const fn mfn(&self) -> XenPfn {
        self.arg1
    }

    /// `arg1` read as a virtual address (`arg1.linear_addr`).
    pub const fn linear_addr(&self) -> u64 {
        self.arg1
    }

    /// `arg2` read as an entry count (`arg2.nr_ents`, an `unsigned int`).
    pub const fn nr_ents(&self) -> u32 {
        self.arg2 as u32
    }

    /// `arg2` read as a handle to a vcpu bitmap (`arg2.vcpumask`).
    pub const fn vcpumask(&self) -> GuestHandle<u64> {
        GuestHandle::new(self.arg2)
    }

    /// `arg2` read as the source frame of `MMUEXT_COPY_PAGE` (`arg2.src_mfn`).
    pub const fn src_mfn(&self) -> XenPfn {
        self.arg2
    }
}

// ---------------------------------------------------------------------------
// update_va_mapping flags
// ---------------------------------------------------------------------------

/// No TLB maintenance after the update.
pub const UVMF_NONE: u64 = 0;
/// Flush the whole TLB after the update.
pub const UVMF_TLB_FLUSH: u64 = 1;
/// Invalidate only the updated address.
pub const UVMF_INVLPG: u64 = 2;
/// Mask of the flush-type bits.
pub const UVMF_FLUSHTYPE_MASK: u64 = 3;
/// Flush on the vcpus in a bitmap whose address is OR-ed into the flags.
pub const UVMF_MULTI: u64 = 0;
/// Flush on this vcpu only.
pub const UVMF_LOCAL: u64 = 0;
/// Flush on all the domain's vcpus.
pub const UVMF_ALL: u64 = 1 << 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmu_update_cmd_bits() {
        let u = MmuUpdate::new(MmuUpdateCmd::MachphysUpdate, 0x1234_5000, 7);
        assert_eq!(u.ptr, 0x1234_5001);
        assert_eq!(u.cmd(), Ok(MmuUpdateCmd::MachphysUpdate));
        assert_eq!(u.addr(), 0x1234_5000);
        for bad in 4..8u64 {
            assert!(MmuUpdate { ptr: 0x1000 | bad, val: 0 }.cmd().is_err());
        }
    }

    #[test]
    fn mmuext_cmd_parsing() {
        assert_eq!(MmuextCmd::try_from(15u32), Ok(MmuextCmd::NewUserBaseptr));
        for bad in [14u32, 21, 0xffff_ffff] {
            assert!(MmuextCmd::try_from(bad).is_err(), "{bad}");
        }
        let op = MmuextOp::new(MmuextCmd::SetLdt, 0x8000, 0xffff_ffff_0000_0010);
        assert_eq!(op.nr_ents(), 0x10);
    }
}
