//! Feature bits reported by `XENVER_get_features` (`features.h`). Each is a
//! bit number within submap 0, the only submap Xen 4.17 defines.

/// Guest may write its page tables directly; Xen traps and validates.
pub const XENFEAT_writable_page_tables: u32 = 0;
/// Guest may write its descriptor tables directly.
pub const XENFEAT_writable_descriptor_tables: u32 = 1;
/// Xen translates guest frame numbers (HVM/PVH: no p2m in the guest).
pub const XENFEAT_auto_translated_physmap: u32 = 2;
/// Guest kernel runs in ring 0 (unsupported on x86-64 PV).
pub const XENFEAT_supervisor_mode_kernel: u32 = 3;
/// PAE page directories may live above 4 GiB.
pub const XENFEAT_pae_pgdir_above_4gb: u32 = 4;
/// `MMU_PT_UPDATE_PRESERVE_AD` is available.
pub const XENFEAT_mmu_pt_update_preserve_ad: u32 = 5;
/// `VMASST_TYPE_m2p_strict`-era highmem assist is available (x86-32 only).
pub const XENFEAT_highmem_assist: u32 = 6;
/// Grant mappings keep the guest-available PTE bits (`GNTMAP_guest_avail_mask`).
pub const XENFEAT_gnttab_map_avail_bits: u32 = 7;
/// HVM guests may receive event upcalls on an IDT vector.
pub const XENFEAT_hvm_callback_vector: u32 = 8;
/// HVM guests may use the PV clock safely.
pub const XENFEAT_hvm_safe_pvclock: u32 = 9;
/// HVM guests may route physical IRQs to event channels.
pub const XENFEAT_hvm_pirqs: u32 = 10;
/// The domain is the hardware domain (dom0).
pub const XENFEAT_dom0: u32 = 11;
/// `XENMEM_get_vnumainfo` and the `XENMEMF_vnode` flag are available.
pub const XENFEAT_memory_op_vnode_supported: u32 = 13;
/// Arm SMCCC is supported.
pub const XENFEAT_ARM_SMCCC_supported: u32 = 14;
/// The RSDP may be placed anywhere for a Linux PVH dom0.
pub const XENFEAT_linux_rsdp_unrestricted: u32 = 15;
/// Guest memory is not 1:1 mapped (Arm).
pub const XENFEAT_not_direct_mapped: u32 = 16;
/// Guest memory is 1:1 mapped (Arm).
pub const XENFEAT_direct_mapped: u32 = 17;
/// Number of 32-bit feature submaps.
pub const XENFEAT_NR_SUBMAPS: u32 = 1;

/// The submap-0 bitmap with the given feature bit numbers set.
pub const fn feature_mask(bits: &[u32]) -> u32 {
    let mut mask = 0;
    let mut i = 0;
    while i < bits.len() {
        mask |= 1 << bits[i];
        i += 1;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_building() {
        assert_eq!(feature_mask(&[XENFEAT_writable_page_tables, XENFEAT_dom0]), 1 | 1 << 11);
        assert_eq!(feature_mask(&[]), 0);
    }
}
