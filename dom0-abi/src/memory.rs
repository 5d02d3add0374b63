//! `HYPERVISOR_memory_op` (`memory.h`): every `XENMEM_*` command number and
//! the structures a PV guest or the toolstack passes with them:
//! reservations, exchanges, physmap edits, memory maps, the m2p location and
//! resource mapping.

#![allow(non_snake_case)]

use crate::physdev::PhysdevPciDevice;
use crate::types::{DomId, GuestHandle, XenPfn, XenUlong};

// ---------------------------------------------------------------------------
// Command numbers
// ---------------------------------------------------------------------------

/// Give frames to a domain (`xen_memory_reservation`).
pub const XENMEM_increase_reservation: u32 = 0;
/// Take frames away from a domain (`xen_memory_reservation`).
pub const XENMEM_decrease_reservation: u32 = 1;
/// Highest machine frame number in the system (no argument structure).
pub const XENMEM_maximum_ram_page: u32 = 2;
/// Pages a domain currently owns (`domid_t` argument).
pub const XENMEM_current_reservation: u32 = 3;
/// Page limit of a domain (`domid_t` argument).
pub const XENMEM_maximum_reservation: u32 = 4;
/// Frames backing the read-only m2p table (`xen_machphys_mfn_list`).
pub const XENMEM_machphys_mfn_list: u32 = 5;
/// Populate guest PFNs with new frames (`xen_memory_reservation`).
pub const XENMEM_populate_physmap: u32 = 6;
/// Map a special page into the physmap (`xen_add_to_physmap`).
pub const XENMEM_add_to_physmap: u32 = 7;
/// The domain's pseudo-physical memory map (`xen_memory_map`).
pub const XENMEM_memory_map: u32 = 9;
/// The host's e820 map, dom0 only (`xen_memory_map`).
pub const XENMEM_machine_memory_map: u32 = 10;
/// Trade frames for frames with other properties (`xen_memory_exchange`).
pub const XENMEM_exchange: u32 = 11;
/// Where the m2p table is mapped (`xen_machphys_mapping`).
pub const XENMEM_machphys_mapping: u32 = 12;
/// Set a domain's memory map, toolstack only (`xen_foreign_memory_map`).
pub const XENMEM_set_memory_map: u32 = 13;
/// Highest guest PFN in use (`domid_t` argument).
pub const XENMEM_maximum_gpfn: u32 = 14;
/// Remove a page from the physmap (`xen_remove_from_physmap`).
pub const XENMEM_remove_from_physmap: u32 = 15;
/// Set the populate-on-demand target (`xen_pod_target`).
pub const XENMEM_set_pod_target: u32 = 16;
/// Get the populate-on-demand target (`xen_pod_target`).
pub const XENMEM_get_pod_target: u32 = 17;
/// Pages freed by memory sharing (no argument).
pub const XENMEM_get_sharing_freed_pages: u32 = 18;
/// Pages shared by memory sharing (no argument).
pub const XENMEM_get_sharing_shared_pages: u32 = 19;
/// Memory paging operations (`xen_mem_paging_op`).
pub const XENMEM_paging_op: u32 = 20;
/// Memory access (permission) operations (`xen_mem_access_op`).
pub const XENMEM_access_op: u32 = 21;
/// Memory sharing operations (`xen_mem_sharing_op`).
pub const XENMEM_sharing_op: u32 = 22;
/// Batched `add_to_physmap` (`xen_add_to_physmap_batch`).
pub const XENMEM_add_to_physmap_batch: u32 = 23;
/// Claim pages ahead of populating them (`xen_memory_reservation`).
pub const XENMEM_claim_pages: u32 = 24;
/// Frames of the compat (32-bit) m2p (`xen_machphys_mfn_list`).
pub const XENMEM_machphys_compat_mfn_list: u32 = 25;
/// Virtual NUMA topology (`xen_vnuma_topology_info`).
pub const XENMEM_get_vnumainfo: u32 = 26;
/// Reserved device memory regions (`xen_reserved_device_memory_map`).
pub const XENMEM_reserved_device_memory_map: u32 = 27;
/// Map a resource's frames, such as another domain's grant table (`xen_mem_acquire_resource`).
pub const XENMEM_acquire_resource: u32 = 28;

/// Bit position of the restart extent in the `memory_op` command word:
/// Xen encodes a continuation's progress in the bits above the command.
pub const MEMOP_EXTENT_SHIFT: u32 = 6;
/// Mask of the command bits of the `memory_op` command word.
pub const MEMOP_CMD_MASK: u64 = (1 << MEMOP_EXTENT_SHIFT) - 1;

xen_enum! {
    /// A `memory_op` command (C: `XENMEM_*`), after masking with `MEMOP_CMD_MASK`.
    pub enum XenMemOp: u32 {
        /// `XENMEM_increase_reservation`.
        IncreaseReservation = XENMEM_increase_reservation,
        /// `XENMEM_decrease_reservation`.
        DecreaseReservation = XENMEM_decrease_reservation,
        /// `XENMEM_maximum_ram_page`.
        MaximumRamPage = XENMEM_maximum_ram_page,
        /// `XENMEM_current_reservation`.
        CurrentReservation = XENMEM_current_reservation,
        /// `XENMEM_maximum_reservation`.
        MaximumReservation = XENMEM_maximum_reservation,
        /// `XENMEM_machphys_mfn_list`.
        MachphysMfnList = XENMEM_machphys_mfn_list,
        /// `XENMEM_populate_physmap`.
        PopulatePhysmap = XENMEM_populate_physmap,
        /// `XENMEM_add_to_physmap`.
        AddToPhysmap = XENMEM_add_to_physmap,
        /// `XENMEM_memory_map`.
        MemoryMap = XENMEM_memory_map,
        /// `XENMEM_machine_memory_map`.
        MachineMemoryMap = XENMEM_machine_memory_map,
        /// `XENMEM_exchange`.
        Exchange = XENMEM_exchange,
        /// `XENMEM_machphys_mapping`.
        MachphysMapping = XENMEM_machphys_mapping,
        /// `XENMEM_set_memory_map`.
        SetMemoryMap = XENMEM_set_memory_map,
        /// `XENMEM_maximum_gpfn`.
        MaximumGpfn = XENMEM_maximum_gpfn,
        /// `XENMEM_remove_from_physmap`.
        RemoveFromPhysmap = XENMEM_remove_from_physmap,
        /// `XENMEM_set_pod_target`.
        SetPodTarget = XENMEM_set_pod_target,
        /// `XENMEM_get_pod_target`.
        GetPodTarget = XENMEM_get_pod_target,
        /// `XENMEM_get_sharing_freed_pages`.
        GetSharingFreedPages = XENMEM_get_sharing_freed_pages,
        /// `XENMEM_get_sharing_shared_pages`.
        GetSharingSharedPages = XENMEM_get_sharing_shared_pages,
        /// `XENMEM_paging_op`.
        PagingOp = XENMEM_paging_op,
        /// `XENMEM_access_op`.
        AccessOp = XENMEM_access_op,
        /// `XENMEM_sharing_op`.
        SharingOp = XENMEM_sharing_op,
        /// `XENMEM_add_to_physmap_batch`.
        AddToPhysmapBatch = XENMEM_add_to_physmap_batch,
        /// `XENMEM_claim_pages`.
        ClaimPages = XENMEM_claim_pages,
        /// `XENMEM_machphys_compat_mfn_list`.
        MachphysCompatMfnList = XENMEM_machphys_compat_mfn_list,
        /// `XENMEM_get_vnumainfo`.
        GetVnumainfo = XENMEM_get_vnumainfo,
        /// `XENMEM_reserved_device_memory_map`.
        ReservedDeviceMemoryMap = XENMEM_reserved_device_memory_map,
        /// `XENMEM_acquire_resource`.
        AcquireResource = XENMEM_acquire_resource,
    }
}

impl XenMemOp {
    /// Splits a raw `memory_op` command word into the command and the
    /// extent to restart from (the bits above `MEMOP_EXTENT_SHIFT`).
    pub fn split(cmd: u64) -> Result<(XenMemOp, u64), crate::UnknownValue> {
        let op = XenMemOp::try_from(cmd & MEMOP_CMD_MASK)?;
        Ok((op, cmd >> MEMOP_EXTENT_SHIFT))
    }
}

// ---------------------------------------------------------------------------
// Reservations
// ---------------------------------------------------------------------------

/// `mem_flags`: mask of the maximum-address-width field.
pub const XENMEMF_address_bits_mask: u32 = 0xff;
/// `mem_flags`: allocate populate-on-demand entries instead of frames.
pub const XENMEMF_populate_on_demand: u32 = 1 << 16;
/// `mem_flags`: fail rather than fall back to another NUMA node.
pub const XENMEMF_exact_node_request: u32 = 1 << 17;
/// `mem_flags`: the node in the flags is a virtual NUMA node.
pub const XENMEMF_vnode: u32 = 1 << 18;

/// `XENMEMF_address_bits(x)`: limit frames to `bits`-wide machine addresses.
pub const fn XENMEMF_address_bits(bits: u32) -> u32 {
    bits
}

/// `XENMEMF_get_address_bits(x)`.
pub const fn XENMEMF_get_address_bits(flags: u32) -> u32 {
    flags & XENMEMF_address_bits_mask
}

/// `XENMEMF_node(x)`: prefer NUMA node `node`.
pub const fn XENMEMF_node(node: u32) -> u32 {
    (node + 1) << 8
}

/// `XENMEMF_get_node(x)`: the preferred node (0xff when none was given).
pub const fn XENMEMF_get_node(flags: u32) -> u32 {
    ((flags >> 8).wrapping_sub(1)) & 0xff
}

/// `XENMEMF_exact_node(n)`: require NUMA node `node`.
pub const fn XENMEMF_exact_node(node: u32) -> u32 {
    XENMEMF_node(node) | XENMEMF_exact_node_request
}

/// `struct xen_memory_reservation`: `nr_extents` extents of
/// `2^extent_order` pages for `domid`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenMemoryReservation {
    /// Frame list: input for decrease/populate, output for increase.
    pub extent_start: GuestHandle<XenPfn>,
    /// Number of extents.
    pub nr_extents: XenUlong,
    /// log2 of the pages per extent.
    pub extent_order: u32,
    /// `XENMEMF_*`.
    pub mem_flags: u32,
    /// Target domain.
    pub domid: DomId,
}
impl_pod!(XenMemoryReservation);

/// `struct xen_memory_exchange`: give up the `in` extents and receive the
/// `out` extents; `nr_exchanged` counts input extents done so far.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenMemoryExchange {
    /// Extents handed to Xen.
    pub r#in: XenMemoryReservation,
    /// Extents received.
    pub out: XenMemoryReservation,
    /// Progress: input extents exchanged.
    pub nr_exchanged: XenUlong,
}
impl_pod!(XenMemoryExchange);

/// `struct xen_memory_domain`: the `domid_t` argument of several queries.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenMemoryDomain {
    /// Domain queried.
    pub domid: DomId,
}
impl_pod!(XenMemoryDomain);

/// `struct xen_machphys_mfn_list`: the frames backing the m2p, in 2 MiB units.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenMachphysMfnList {
    /// Size of the output array.
    pub max_extents: u32,
    /// Output array of first frames of each 2 MiB extent.
    pub extent_start: GuestHandle<XenPfn>,
    /// Output: number of entries written.
    pub nr_extents: u32,
}
impl_pod!(XenMachphysMfnList);

/// `struct xen_machphys_mapping`: where the m2p is mapped and its size.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenMachphysMapping {
    /// Start of the m2p mapping.
    pub v_start: XenUlong,
    /// End of the m2p mapping.
    pub v_end: XenUlong,
    /// Highest MFN the m2p covers.
    pub max_mfn: XenUlong,
}
impl_pod!(XenMachphysMapping);

// ---------------------------------------------------------------------------
// Physmap edits
// ---------------------------------------------------------------------------

/// Map space: the shared-info page.
pub const XENMAPSPACE_shared_info: u32 = 0;
/// Map space: a grant-table frame (`XENMAPIDX_grant_table_status` for status frames).
pub const XENMAPSPACE_grant_table: u32 = 1;
/// Map space: one of the caller's own frames (moved).
pub const XENMAPSPACE_gmfn: u32 = 2;
/// Map space: a range of the caller's frames (`size` of them).
pub const XENMAPSPACE_gmfn_range: u32 = 3;
/// Map space: a frame of another domain.
pub const XENMAPSPACE_gmfn_foreign: u32 = 4;
/// Map space: device MMIO (Arm only).
pub const XENMAPSPACE_dev_mmio: u32 = 5;

xen_enum! {
    /// What `xen_add_to_physmap.space` names (C: `XENMAPSPACE_*`).
    pub enum XenMapSpace: u32 {
        /// `XENMAPSPACE_shared_info`.
        SharedInfo = XENMAPSPACE_shared_info,
        /// `XENMAPSPACE_grant_table`.
        GrantTable = XENMAPSPACE_grant_table,
        /// `XENMAPSPACE_gmfn`.
        Gmfn = XENMAPSPACE_gmfn,
        /// `XENMAPSPACE_gmfn_range`.
        GmfnRange = XENMAPSPACE_gmfn_range,
        /// `XENMAPSPACE_gmfn_foreign`.
        GmfnForeign = XENMAPSPACE_gmfn_foreign,
        /// `XENMAPSPACE_dev_mmio`.
        DevMmio = XENMAPSPACE_dev_mmio,
    }
}

/// `idx` flag with `XENMAPSPACE_grant_table`: map a status frame.
pub const XENMAPIDX_grant_table_status: u64 = 0x8000_0000;

/// `struct xen_add_to_physmap`: make page `idx` of `space` appear at `gpfn`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenAddToPhysmap {
    /// Domain whose physmap changes.
    pub domid: DomId,
    /// Number of pages for `XENMAPSPACE_gmfn_range`.
    pub size: u16,
    /// `XENMAPSPACE_*`.
    pub space: u32,
    /// Index within the space.
    pub idx: XenUlong,
    /// Guest frame where the page appears.
    pub gpfn: XenPfn,
}
impl_pod!(XenAddToPhysmap);

/// `struct xen_add_to_physmap_batch`: many pages of one space at once.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenAddToPhysmapBatch {
    /// Domain whose physmap changes.
    pub domid: DomId,
    /// `XENMAPSPACE_*`.
    pub space: u16,
    /// Number of entries in the three arrays.
    pub size: u16,
    /// C union `u`: `foreign_domid` for `XENMAPSPACE_gmfn_foreign`, else `res0` (zero).
    pub u: u16,
    /// Indexes within the space.
    pub idxs: GuestHandle<XenUlong>,
    /// Guest frames where the pages appear.
    pub gpfns: GuestHandle<XenPfn>,
    /// Output: per-entry error codes.
    pub errs: GuestHandle<i32>,
}
impl_pod!(XenAddToPhysmapBatch);

impl XenAddToPhysmapBatch {
    /// `u.foreign_domid`.
    pub const fn foreign_domid(&self) -> DomId {
        DomId(self.u)
    }
}

/// `struct xen_remove_from_physmap`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenRemoveFromPhysmap {
    /// Domain whose physmap changes.
    pub domid: DomId,
    /// Guest frame to unmap.
    pub gpfn: XenPfn,
}
impl_pod!(XenRemoveFromPhysmap);

// ---------------------------------------------------------------------------
// Memory maps
// ---------------------------------------------------------------------------

/// `struct xen_memory_map`: a buffer of [`E820Entry`] records.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenMemoryMap {
    /// In: capacity of `buffer` in entries; out: entries written.
    pub nr_entries: u32,
    /// The e820 entries.
    pub buffer: GuestHandle<E820Entry>,
}
impl_pod!(XenMemoryMap);

/// `struct xen_foreign_memory_map`: argument of `XENMEM_set_memory_map`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenForeignMemoryMap {
    /// Domain whose map is set.
    pub domid: DomId,
    /// The map.
    pub map: XenMemoryMap,
}
impl_pod!(XenForeignMemoryMap);

/// e820 type: usable RAM.
pub const E820_RAM: u32 = 1;
/// e820 type: reserved.
pub const E820_RESERVED: u32 = 2;
/// e820 type: ACPI tables (reclaimable).
pub const E820_ACPI: u32 = 3;
/// e820 type: ACPI non-volatile storage.
pub const E820_NVS: u32 = 4;
/// e820 type: unusable (bad) memory.
pub const E820_UNUSABLE: u32 = 5;

/// One e820 memory-map record as `XENMEM_memory_map` returns it: the
/// packed 20-byte BIOS format (Xen's public headers leave it untyped).
#[repr(C, packed)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct E820Entry {
    /// Start address.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// `E820_*`.
    pub r#type: u32,
}
impl_pod!(E820Entry);

// ---------------------------------------------------------------------------
// Populate on demand, vNUMA, reserved device memory, resources
// ---------------------------------------------------------------------------

/// `struct xen_pod_target`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenPodTarget {
    /// Target number of pages.
    pub target_pages: u64,
    /// Output: pages the domain has.
    pub tot_pages: u64,
    /// Output: pages in the PoD cache.
    pub pod_cache_pages: u64,
    /// Output: outstanding PoD entries.
    pub pod_entries: u64,
    /// Domain.
    pub domid: DomId,
}
impl_pod!(XenPodTarget);

/// `struct xen_vmemrange`: one virtual-NUMA memory range.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenVmemrange {
    /// Start address.
    pub start: u64,
    /// End address.
    pub end: u64,
    /// Reserved.
    pub flags: u32,
    /// Virtual node id.
    pub nid: u32,
}
impl_pod!(XenVmemrange);

/// `struct xen_vnuma_topology_info`: argument of `XENMEM_get_vnumainfo`.
/// Each handle sits in an 8-byte union with a `u64` pad in C.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenVnumaTopologyInfo {
    /// Domain.
    pub domid: DomId,
    /// Padding.
    pub pad: u16,
    /// In/out: number of virtual nodes.
    pub nr_vnodes: u32,
    /// In/out: number of vcpus.
    pub nr_vcpus: u32,
    /// In/out: number of memory ranges.
    pub nr_vmemranges: u32,
    /// Output: node distance matrix.
    pub vdistance: GuestHandle<u32>,
    /// Output: node of each vcpu.
    pub vcpu_to_vnode: GuestHandle<u32>,
    /// Output: memory ranges.
    pub vmemrange: GuestHandle<XenVmemrange>,
}
impl_pod!(XenVnumaTopologyInfo);

/// `xen_reserved_device_memory_map.flags`: report all regions, not one device's.
pub const XENMEM_RDM_ALL: u32 = 1;

/// `struct xen_reserved_device_memory`: one reserved region.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenReservedDeviceMemory {
    /// First frame.
    pub start_pfn: XenPfn,
    /// Number of frames.
    pub nr_pages: XenUlong,
}
impl_pod!(XenReservedDeviceMemory);

/// `struct xen_reserved_device_memory_map`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenReservedDeviceMemoryMap {
    /// `XENMEM_RDM_*`.
    pub flags: u32,
    /// In: capacity of `buffer`; out: entries written.
    pub nr_entries: u32,
    /// Output entries.
    pub buffer: GuestHandle<XenReservedDeviceMemory>,
    /// Device to report for (C: single-member union `dev.pci`).
    pub dev: PhysdevPciDevice,
}
impl_pod!(XenReservedDeviceMemoryMap);

/// Resource type: an ioreq server's pages.
pub const XENMEM_resource_ioreq_server: u16 = 0;
/// Resource type: a domain's grant table.
pub const XENMEM_resource_grant_table: u16 = 1;
/// Resource type: a vcpu's trace buffer.
pub const XENMEM_resource_vmtrace_buf: u16 = 2;
/// Grant-table resource id: the shared entries.
pub const XENMEM_resource_grant_table_id_shared: u32 = 0;
/// Grant-table resource id: the v2 status frames.
pub const XENMEM_resource_grant_table_id_status: u32 = 1;
/// Ioreq-server frame index of the buffered ioreq page.
pub const XENMEM_resource_ioreq_server_frame_bufioreq: u64 = 0;

/// `XENMEM_resource_ioreq_server_frame_ioreq(n)`: frame index of ioreq page `n`.
pub const fn XENMEM_resource_ioreq_server_frame_ioreq(n: u64) -> u64 {
    1 + n
}

/// `struct xen_mem_acquire_resource`: map `nr_frames` frames of a resource
/// of `domid`, starting at `frame`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenMemAcquireResource {
    /// Domain owning the resource.
    pub domid: DomId,
    /// `XENMEM_resource_*`.
    pub r#type: u16,
    /// Type-specific id.
    pub id: u32,
    /// In: frames wanted (0 queries the size); out: frames available.
    pub nr_frames: u32,
    /// Padding.
    pub pad: u32,
    /// First frame index within the resource.
    pub frame: u64,
    /// In (translated callers) or out (PV callers): the frame list.
    pub frame_list: GuestHandle<XenPfn>,
}
impl_pod!(XenMemAcquireResource);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_split() {
        assert_eq!(XenMemOp::try_from(28u32), Ok(XenMemOp::AcquireResource));
        for bad in [8u32, 29, 63] {
            assert!(XenMemOp::try_from(bad).is_err(), "{bad}");
        }
        assert_eq!(XenMemOp::split((5 << 6) | 6), Ok((XenMemOp::PopulatePhysmap, 5)));
        assert!(XenMemOp::split(8).is_err());
        assert!(XenMapSpace::try_from(6u32).is_err());
    }

    #[test]
    fn memflags() {
        assert_eq!(XENMEMF_get_node(XENMEMF_node(3)), 3);
        assert_eq!(XENMEMF_get_node(0), 0xff);
        assert_eq!(XENMEMF_get_address_bits(XENMEMF_address_bits(32) | XENMEMF_node(1)), 32);
        assert_eq!(XENMEMF_exact_node(0), 0x100 | XENMEMF_exact_node_request);
    }
}
