//! Grant tables (`grant_table.h`): the v1 (and v2) shared entry formats and
//! their `GTF_*` flags, every `GNTTABOP_*` command and argument structure,
//! the `GNTMAP_*` mapping flags and the `GNTST_*` per-operation status codes.

use crate::types::{DomId, GuestHandle, XenPfn};

/// `grant_ref_t`: an index into a domain's grant table.
pub type GrantRef = u32;
/// `grant_handle_t`: identifies a mapping made by `GNTTABOP_map_grant_ref`.
pub type GrantHandle = u32;
/// `grant_status_t`: one v2 status-frame entry.
pub type GrantStatus = u16;

// ---------------------------------------------------------------------------
// Shared entries
// ---------------------------------------------------------------------------

/// `struct grant_entry_v1`: one 8-byte entry of a v1 grant table.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GrantEntryV1 {
    /// `GTF_*` type and status bits.
    pub flags: u16,
    /// Domain being granted access.
    pub domid: DomId,
    /// Frame being shared (or, for transfers, filled in by Xen).
    pub frame: u32,
}
impl_pod!(GrantEntryV1);

/// Number of grant entries reserved for the toolstack at the start of the table.
pub const GNTTAB_NR_RESERVED_ENTRIES: u32 = 8;
/// Reserved entry for the console ring.
pub const GNTTAB_RESERVED_CONSOLE: u32 = 0;
/// Reserved entry for the xenstore ring.
pub const GNTTAB_RESERVED_XENSTORE: u32 = 1;

/// Entry type: unused.
pub const GTF_invalid: u16 = 0;
/// Entry type: `domid` may map or copy `frame`.
pub const GTF_permit_access: u16 = 1;
/// Entry type: `domid` may transfer a page into this entry.
pub const GTF_accept_transfer: u16 = 2;
/// Entry type (v2): access is granted through another domain's grant.
pub const GTF_transitive: u16 = 3;
/// Mask of the entry-type bits.
pub const GTF_type_mask: u16 = 3;
/// Bit number of `GTF_readonly`.
pub const _GTF_readonly: u16 = 2;
/// The grantee may only map read-only.
pub const GTF_readonly: u16 = 1 << _GTF_readonly;
/// Bit number of `GTF_reading`.
pub const _GTF_reading: u16 = 3;
/// Set by Xen while the frame is mapped or copied from.
pub const GTF_reading: u16 = 1 << _GTF_reading;
/// Bit number of `GTF_writing`.
pub const _GTF_writing: u16 = 4;
/// Set by Xen while the frame is mapped writable or copied to.
pub const GTF_writing: u16 = 1 << _GTF_writing;
/// Bit number of `GTF_PWT`.
pub const _GTF_PWT: u16 = 5;
/// Map with write-through caching.
pub const GTF_PWT: u16 = 1 << _GTF_PWT;
/// Bit number of `GTF_PCD`.
pub const _GTF_PCD: u16 = 6;
/// Map with caching disabled.
pub const GTF_PCD: u16 = 1 << _GTF_PCD;
/// Bit number of `GTF_PAT`.
pub const _GTF_PAT: u16 = 7;
/// Map with the PAT bit set.
pub const GTF_PAT: u16 = 1 << _GTF_PAT;
/// Bit number of `GTF_sub_page`.
pub const _GTF_sub_page: u16 = 8;
/// (v2) Only part of the page is granted.
pub const GTF_sub_page: u16 = 1 << _GTF_sub_page;
/// Bit number of `GTF_transfer_committed`.
pub const _GTF_transfer_committed: u16 = 2;
/// Transfer entries: Xen has committed to transferring a frame.
pub const GTF_transfer_committed: u16 = 1 << _GTF_transfer_committed;
/// Bit number of `GTF_transfer_completed`.
pub const _GTF_transfer_completed: u16 = 3;
/// Transfer entries: `frame` now holds the transferred frame.
pub const GTF_transfer_completed: u16 = 1 << _GTF_transfer_completed;

/// `struct grant_entry_header`: the common first word of a v2 entry.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GrantEntryHeader {
    /// `GTF_*` bits.
    pub flags: u16,
    /// Grantee domain.
    pub domid: DomId,
}
impl_pod!(GrantEntryHeader);

/// `grant_entry_v2.full_page`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GrantEntryV2FullPage {
    /// Common header.
    pub hdr: GrantEntryHeader,
    /// Padding.
    pub pad0: u32,
    /// Frame being shared.
    pub frame: u64,
}
impl_pod!(GrantEntryV2FullPage);

/// `grant_entry_v2.sub_page`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GrantEntryV2SubPage {
    /// Common header.
    pub hdr: GrantEntryHeader,
    /// Offset of the granted range.
    pub page_off: u16,
    /// Length of the granted range.
    pub length: u16,
    /// Frame being shared.
    pub frame: u64,
}
impl_pod!(GrantEntryV2SubPage);

/// `grant_entry_v2.transitive`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GrantEntryV2Transitive {
    /// Common header.
    pub hdr: GrantEntryHeader,
    /// Domain whose grant is passed on.
    pub trans_domid: DomId,
    /// Padding.
    pub pad0: u16,
    /// That domain's grant reference.
    pub gref: GrantRef,
}
impl_pod!(GrantEntryV2Transitive);

/// `union grant_entry_v2`: one 16-byte entry of a v2 grant table.
#[repr(C)]
#[derive(Clone, Copy)]
pub union GrantEntryV2 {
    /// Header only.
    pub hdr: GrantEntryHeader,
    /// Whole-page grant.
    pub full_page: GrantEntryV2FullPage,
    /// Sub-page grant.
    pub sub_page: GrantEntryV2SubPage,
    /// Transitive grant.
    pub transitive: GrantEntryV2Transitive,
    /// Sizing member.
    pub __spacer: [u32; 4],
}
pod_union!(GrantEntryV2);

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/// Map granted frames (`gnttab_map_grant_ref[]`).
pub const GNTTABOP_map_grant_ref: u32 = 0;
/// Remove grant mappings (`gnttab_unmap_grant_ref[]`).
pub const GNTTABOP_unmap_grant_ref: u32 = 1;
/// Size the table and get its frames (`gnttab_setup_table`).
pub const GNTTABOP_setup_table: u32 = 2;
/// Dump the table to the Xen console (`gnttab_dump_table`).
pub const GNTTABOP_dump_table: u32 = 3;
/// Give pages to other domains (`gnttab_transfer[]`).
pub const GNTTABOP_transfer: u32 = 4;
/// Copy between granted and local frames (`gnttab_copy[]`).
pub const GNTTABOP_copy: u32 = 5;
/// Query current and maximum table size (`gnttab_query_size`).
pub const GNTTABOP_query_size: u32 = 6;
/// Unmap a grant and put another mapping in its place (`gnttab_unmap_and_replace[]`).
pub const GNTTABOP_unmap_and_replace: u32 = 7;
/// Choose the table format (`gnttab_set_version`).
pub const GNTTABOP_set_version: u32 = 8;
/// Get the v2 status frames (`gnttab_get_status_frames`).
pub const GNTTABOP_get_status_frames: u32 = 9;
/// Query a domain's table format (`gnttab_get_version`).
pub const GNTTABOP_get_version: u32 = 10;
/// Swap two entries of the caller's table (`gnttab_swap_grant_ref[]`).
pub const GNTTABOP_swap_grant_ref: u32 = 11;
/// Clean or invalidate caches for granted memory (`gnttab_cache_flush[]`, Arm).
pub const GNTTABOP_cache_flush: u32 = 12;

xen_enum! {
    /// A `grant_table_op` command (C: `GNTTABOP_*`).
    pub enum GnttabOp: u32 {
        /// `GNTTABOP_map_grant_ref`.
        MapGrantRef = GNTTABOP_map_grant_ref,
        /// `GNTTABOP_unmap_grant_ref`.
        UnmapGrantRef = GNTTABOP_unmap_grant_ref,
        /// `GNTTABOP_setup_table`.
        SetupTable = GNTTABOP_setup_table,
        /// `GNTTABOP_dump_table`.
        DumpTable = GNTTABOP_dump_table,
        /// `GNTTABOP_transfer`.
        Transfer = GNTTABOP_transfer,
        /// `GNTTABOP_copy`.
        Copy = GNTTABOP_copy,
        /// `GNTTABOP_query_size`.
        QuerySize = GNTTABOP_query_size,
        /// `GNTTABOP_unmap_and_replace`.
        UnmapAndReplace = GNTTABOP_unmap_and_replace,
        /// `GNTTABOP_set_version`.
        SetVersion = GNTTABOP_set_version,
        /// `GNTTABOP_get_status_frames`.
        GetStatusFrames = GNTTABOP_get_status_frames,
        /// `GNTTABOP_get_version`.
        GetVersion = GNTTABOP_get_version,
        /// `GNTTABOP_swap_grant_ref`.
        SwapGrantRef = GNTTABOP_swap_grant_ref,
        /// `GNTTABOP_cache_flush`.
        CacheFlush = GNTTABOP_cache_flush,
    }
}

/// `struct gnttab_map_grant_ref`: map grant `ref` of domain `dom`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabMapGrantRef {
    /// Virtual address (or PTE address with `GNTMAP_contains_pte`).
    pub host_addr: u64,
    /// `GNTMAP_*`.
    pub flags: u32,
    /// Grant reference in the granting domain's table.
    pub r#ref: GrantRef,
    /// Granting domain.
    pub dom: DomId,
    /// Output: `GNTST_*`.
    pub status: i16,
    /// Output: handle for the unmap.
    pub handle: GrantHandle,
    /// Output: bus address for device mappings.
    pub dev_bus_addr: u64,
}
impl_pod!(GnttabMapGrantRef);

/// `struct gnttab_unmap_grant_ref`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabUnmapGrantRef {
    /// Address the grant was mapped at (0: no host mapping).
    pub host_addr: u64,
    /// Device address (0: no device mapping).
    pub dev_bus_addr: u64,
    /// Handle returned by the map.
    pub handle: GrantHandle,
    /// Output: `GNTST_*`.
    pub status: i16,
}
impl_pod!(GnttabUnmapGrantRef);

/// `struct gnttab_setup_table`: grow `dom`'s table to `nr_frames` frames and
/// list their frame numbers in `frame_list`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabSetupTable {
    /// Domain (normally `DOMID_SELF`).
    pub dom: DomId,
    /// Number of frames wanted.
    pub nr_frames: u32,
    /// Output: `GNTST_*`.
    pub status: i16,
    /// Output array of frame numbers.
    pub frame_list: GuestHandle<XenPfn>,
}
impl_pod!(GnttabSetupTable);

/// `struct gnttab_dump_table`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabDumpTable {
    /// Domain whose table is dumped.
    pub dom: DomId,
    /// Output: `GNTST_*`.
    pub status: i16,
}
impl_pod!(GnttabDumpTable);

/// `struct gnttab_transfer`: give frame `mfn` to `domid` through its grant `ref`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabTransfer {
    /// Frame to give away.
    pub mfn: XenPfn,
    /// Receiving domain.
    pub domid: DomId,
    /// Receiver's `GTF_accept_transfer` entry.
    pub r#ref: GrantRef,
    /// Output: `GNTST_*`.
    pub status: i16,
}
impl_pod!(GnttabTransfer);

/// Bit number of `GNTCOPY_source_gref`.
pub const _GNTCOPY_source_gref: u16 = 0;
/// `gnttab_copy.flags`: `source.u` is a grant reference, not a frame.
pub const GNTCOPY_source_gref: u16 = 1 << _GNTCOPY_source_gref;
/// Bit number of `GNTCOPY_dest_gref`.
pub const _GNTCOPY_dest_gref: u16 = 1;
/// `gnttab_copy.flags`: `dest.u` is a grant reference, not a frame.
pub const GNTCOPY_dest_gref: u16 = 1 << _GNTCOPY_dest_gref;

/// `struct gnttab_copy_ptr`: one end of a grant copy. The C union `u` holds
/// either a grant reference (low 32 bits) or a frame number.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabCopyPtr {
    /// `ref` or `gmfn`, according to the `GNTCOPY_*_gref` flag.
    pub u: u64,
    /// Domain owning the reference or frame.
    pub domid: DomId,
    /// Byte offset in the page.
    pub offset: u16,
}
impl_pod!(GnttabCopyPtr);

impl GnttabCopyPtr {
    /// `u.ref`: the grant reference view of `u`.
    pub const fn gref(&self) -> GrantRef {
        self.u as u32
    }

    /// `u.gmfn`: the frame-number view of `u`.
    pub const fn gmfn(&self) -> XenPfn {
        self.u
    }
}

/// `struct gnttab_copy`: copy `len` bytes from `source` to `dest`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabCopy {
    /// Where to copy from.
    pub source: GnttabCopyPtr,
    /// Where to copy to.
    pub dest: GnttabCopyPtr,
    /// Number of bytes; neither end may cross a page.
    pub len: u16,
    /// `GNTCOPY_*`.
    pub flags: u16,
    /// Output: `GNTST_*`.
    pub status: i16,
}
impl_pod!(GnttabCopy);

/// `struct gnttab_query_size`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabQuerySize {
    /// Domain to query.
    pub dom: DomId,
    /// Output: current number of frames.
    pub nr_frames: u32,
    /// Output: maximum number of frames.
    pub max_nr_frames: u32,
    /// Output: `GNTST_*`.
    pub status: i16,
}
impl_pod!(GnttabQuerySize);

/// `struct gnttab_unmap_and_replace`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabUnmapAndReplace {
    /// Address of the grant mapping.
    pub host_addr: u64,
    /// Address whose mapping moves to `host_addr` (and is then cleared).
    pub new_addr: u64,
    /// Handle of the grant mapping.
    pub handle: GrantHandle,
    /// Output: `GNTST_*`.
    pub status: i16,
}
impl_pod!(GnttabUnmapAndReplace);

/// `struct gnttab_set_version`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabSetVersion {
    /// In: wanted version (1 or 2); out: version in force.
    pub version: u32,
}
impl_pod!(GnttabSetVersion);

/// `struct gnttab_get_status_frames`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabGetStatusFrames {
    /// Number of frames wanted.
    pub nr_frames: u32,
    /// Domain.
    pub dom: DomId,
    /// Output: `GNTST_*`.
    pub status: i16,
    /// Output array of frame numbers.
    pub frame_list: GuestHandle<u64>,
}
impl_pod!(GnttabGetStatusFrames);

/// `struct gnttab_get_version`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabGetVersion {
    /// Domain to query.
    pub dom: DomId,
    /// Padding.
    pub pad: u16,
    /// Output: table version.
    pub version: u32,
}
impl_pod!(GnttabGetVersion);

/// `struct gnttab_swap_grant_ref`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabSwapGrantRef {
    /// First entry.
    pub ref_a: GrantRef,
    /// Second entry.
    pub ref_b: GrantRef,
    /// Output: `GNTST_*`.
    pub status: i16,
}
impl_pod!(GnttabSwapGrantRef);

/// `gnttab_cache_flush.op`: clean (write back) the range.
pub const GNTTAB_CACHE_CLEAN: u32 = 1 << 0;
/// `gnttab_cache_flush.op`: invalidate the range.
pub const GNTTAB_CACHE_INVAL: u32 = 1 << 1;
/// `gnttab_cache_flush.op`: `a` holds a grant reference.
pub const GNTTAB_CACHE_SOURCE_GREF: u32 = 1 << 31;

/// `struct gnttab_cache_flush`. The C union `a` is a bus address or (low
/// 32 bits) a grant reference.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct GnttabCacheFlush {
    /// `dev_bus_addr` or `ref`.
    pub a: u64,
    /// Offset within the page.
    pub offset: u16,
    /// Length of the range.
    pub length: u16,
    /// `GNTTAB_CACHE_*`.
    pub op: u32,
}
impl_pod!(GnttabCacheFlush);

// ---------------------------------------------------------------------------
// Mapping flags and status codes
// ---------------------------------------------------------------------------

/// Bit number of `GNTMAP_device_map`.
pub const _GNTMAP_device_map: u32 = 0;
/// Map for device (DMA) access.
pub const GNTMAP_device_map: u32 = 1 << _GNTMAP_device_map;
/// Bit number of `GNTMAP_host_map`.
pub const _GNTMAP_host_map: u32 = 1;
/// Map into the caller's page tables.
pub const GNTMAP_host_map: u32 = 1 << _GNTMAP_host_map;
/// Bit number of `GNTMAP_readonly`.
pub const _GNTMAP_readonly: u32 = 2;
/// Map read-only.
pub const GNTMAP_readonly: u32 = 1 << _GNTMAP_readonly;
/// Bit number of `GNTMAP_application_map`.
pub const _GNTMAP_application_map: u32 = 3;
/// Make the mapping accessible from guest user mode.
pub const GNTMAP_application_map: u32 = 1 << _GNTMAP_application_map;
/// Bit number of `GNTMAP_contains_pte`.
pub const _GNTMAP_contains_pte: u32 = 4;
/// `host_addr` is the machine address of the PTE to write.
pub const GNTMAP_contains_pte: u32 = 1 << _GNTMAP_contains_pte;
/// Bit number of the first guest-available flag bit.
pub const _GNTMAP_guest_avail0: u32 = 16;
/// Flag bits copied into the PTE's available bits.
pub const GNTMAP_guest_avail_mask: u32 = u32::MAX << _GNTMAP_guest_avail0;

/// Success.
pub const GNTST_okay: i16 = 0;
/// Unspecified error.
pub const GNTST_general_error: i16 = -1;
/// Unknown or unusable domain.
pub const GNTST_bad_domain: i16 = -2;
/// Bad grant reference.
pub const GNTST_bad_gntref: i16 = -3;
/// Bad mapping handle.
pub const GNTST_bad_handle: i16 = -4;
/// Bad virtual address.
pub const GNTST_bad_virt_addr: i16 = -5;
/// Bad device address.
pub const GNTST_bad_dev_addr: i16 = -6;
/// No space in the I/O MMU.
pub const GNTST_no_device_space: i16 = -7;
/// Not allowed by the grant.
pub const GNTST_permission_denied: i16 = -8;
/// Bad page.
pub const GNTST_bad_page: i16 = -9;
/// A copy crosses a page boundary.
pub const GNTST_bad_copy_arg: i16 = -10;
/// The frame does not fit the address width.
pub const GNTST_address_too_big: i16 = -11;
/// Retry later (paged-out frame).
pub const GNTST_eagain: i16 = -12;
/// Out of maptrack or other space.
pub const GNTST_no_space: i16 = -13;

xen_enum! {
    /// A grant-operation status (C: `GNTST_*`).
    pub enum Gntst: i16 {
        /// `GNTST_okay`.
        Okay = GNTST_okay,
        /// `GNTST_general_error`.
        GeneralError = GNTST_general_error,
        /// `GNTST_bad_domain`.
        BadDomain = GNTST_bad_domain,
        /// `GNTST_bad_gntref`.
        BadGntref = GNTST_bad_gntref,
        /// `GNTST_bad_handle`.
        BadHandle = GNTST_bad_handle,
        /// `GNTST_bad_virt_addr`.
        BadVirtAddr = GNTST_bad_virt_addr,
        /// `GNTST_bad_dev_addr`.
        BadDevAddr = GNTST_bad_dev_addr,
        /// `GNTST_no_device_space`.
        NoDeviceSpace = GNTST_no_device_space,
        /// `GNTST_permission_denied`.
        PermissionDenied = GNTST_permission_denied,
        /// `GNTST_bad_page`.
        BadPage = GNTST_bad_page,
        /// `GNTST_bad_copy_arg`.
        BadCopyArg = GNTST_bad_copy_arg,
        /// `GNTST_address_too_big`.
        AddressTooBig = GNTST_address_too_big,
        /// `GNTST_eagain`.
        Eagain = GNTST_eagain,
        /// `GNTST_no_space`.
        NoSpace = GNTST_no_space,
    }
}

/// Human-readable text for each status, indexed by `-status`
/// (C: `GNTTABOP_error_msgs`).
pub const GNTTABOP_error_msgs: [&str; 14] = [
    "okay",
    "undefined error",
    "unrecognised domain id",
    "invalid grant reference",
    "invalid mapping handle",
    "invalid virtual address",
    "invalid device address",
    "no spare translation slot in the I/O MMU",
    "permission denied",
    "bad page",
    "copy arguments cross page boundary",
    "page address size too large",
    "operation not done; try again",
    "out of space",
];

impl Gntst {
    /// The message Xen's tools print for this status.
    pub fn message(self) -> &'static str {
        GNTTABOP_error_msgs[(-(self as i16)) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(GnttabOp::try_from(5u32), Ok(GnttabOp::Copy));
        assert!(GnttabOp::try_from(13u32).is_err());
        assert_eq!(Gntst::try_from(-12i16), Ok(Gntst::Eagain));
        assert!(Gntst::try_from(-14i16).is_err());
        assert!(Gntst::try_from(1i16).is_err());
        assert_eq!(Gntst::NoSpace.message(), "out of space");
        for &s in Gntst::ALL {
            assert!(!s.message().is_empty());
        }
    }
}
