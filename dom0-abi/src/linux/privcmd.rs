//! `/dev/xen/privcmd` (Linux `include/uapi/xen/privcmd.h`): issuing
//! hypercalls from dom0 user space and mapping other domains' memory.
//! Pointer fields are user-space addresses stored as `u64`.

use core::mem::size_of;

use super::{ioc, IOC_NONE};
use crate::types::DomId;

/// `struct privcmd_hypercall`: a hypercall number and five arguments.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PrivcmdHypercall {
    /// Hypercall number.
    pub op: u64,
    /// Arguments (`rdi`, `rsi`, `rdx`, `r10`, `r8`).
    pub arg: [u64; 5],
}
impl_pod!(PrivcmdHypercall);

/// `struct privcmd_mmap_entry`: map `npages` frames starting at `mfn` at `va`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PrivcmdMmapEntry {
    /// Virtual address in the caller's mapping.
    pub va: u64,
    /// First frame (a GFN of the target domain).
    pub mfn: u64,
    /// Number of pages.
    pub npages: u64,
}
impl_pod!(PrivcmdMmapEntry);

/// `struct privcmd_mmap`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PrivcmdMmap {
    /// Number of entries.
    pub num: i32,
    /// Target domain.
    pub dom: DomId,
    /// Address of a `privcmd_mmap_entry` array.
    pub entry: u64,
}
impl_pod!(PrivcmdMmap);

/// `struct privcmd_mmapbatch`: map one frame per page; failures are flagged
/// in the top nibble of the frame entries.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PrivcmdMmapbatch {
    /// Number of pages.
    pub num: i32,
    /// Target domain.
    pub dom: DomId,
    /// Virtual address of the mapping.
    pub addr: u64,
    /// Address of a `xen_pfn_t` array.
    pub arr: u64,
}
impl_pod!(PrivcmdMmapbatch);

/// Old batch interface: bits or-ed into a frame entry that failed.
pub const PRIVCMD_MMAPBATCH_MFN_ERROR: u32 = 0xf000_0000;
/// Old batch interface: bits or-ed into a frame entry that is paged out.
pub const PRIVCMD_MMAPBATCH_PAGED_ERROR: u32 = 0x8000_0000;

/// `struct privcmd_mmapbatch_v2`: like v1, with a separate error array.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PrivcmdMmapbatchV2 {
    /// Number of pages.
    pub num: u32,
    /// Target domain.
    pub dom: DomId,
    /// Virtual address of the mapping.
    pub addr: u64,
    /// Address of a `xen_pfn_t` array (input only).
    pub arr: u64,
    /// Address of an `int` array of per-page errors.
    pub err: u64,
}
impl_pod!(PrivcmdMmapbatchV2);

/// `struct privcmd_dm_op_buf`: one buffer of a device-model operation.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PrivcmdDmOpBuf {
    /// Buffer address.
    pub uptr: u64,
    /// Buffer size.
    pub size: u64,
}
impl_pod!(PrivcmdDmOpBuf);

/// `struct privcmd_dm_op`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PrivcmdDmOp {
    /// Target domain.
    pub dom: DomId,
    /// Number of buffers.
    pub num: u16,
    /// Address of a `privcmd_dm_op_buf` array.
    pub ubufs: u64,
}
impl_pod!(PrivcmdDmOp);

/// `struct privcmd_mmap_resource`: map frames of a resource (see
/// `XENMEM_acquire_resource`).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PrivcmdMmapResource {
    /// Domain owning the resource.
    pub dom: DomId,
    /// `XENMEM_resource_*`.
    pub r#type: u32,
    /// Type-specific id.
    pub id: u32,
    /// First frame index.
    pub idx: u32,
    /// Number of frames (with `addr == 0`: query the size).
    pub num: u64,
    /// Virtual address of the mapping.
    pub addr: u64,
}
impl_pod!(PrivcmdMmapResource);

/// Issue a hypercall (`privcmd_hypercall`); the ioctl returns its result.
pub const IOCTL_PRIVCMD_HYPERCALL: u32 = ioc(IOC_NONE, b'P', 0, size_of::<PrivcmdHypercall>());
/// Map foreign frames (`privcmd_mmap`).
pub const IOCTL_PRIVCMD_MMAP: u32 = ioc(IOC_NONE, b'P', 2, size_of::<PrivcmdMmap>());
/// Map a batch of foreign frames (`privcmd_mmapbatch`).
pub const IOCTL_PRIVCMD_MMAPBATCH: u32 = ioc(IOC_NONE, b'P', 3, size_of::<PrivcmdMmapbatch>());
/// Map a batch of foreign frames with per-page errors (`privcmd_mmapbatch_v2`).
pub const IOCTL_PRIVCMD_MMAPBATCH_V2: u32 = ioc(IOC_NONE, b'P', 4, size_of::<PrivcmdMmapbatchV2>());
/// Issue a device-model operation (`privcmd_dm_op`).
pub const IOCTL_PRIVCMD_DM_OP: u32 = ioc(IOC_NONE, b'P', 5, size_of::<PrivcmdDmOp>());
/// Restrict this file descriptor to one domain (`domid_t`).
pub const IOCTL_PRIVCMD_RESTRICT: u32 = ioc(IOC_NONE, b'P', 6, size_of::<u16>());
/// Map a resource (`privcmd_mmap_resource`).
pub const IOCTL_PRIVCMD_MMAP_RESOURCE: u32 = ioc(IOC_NONE, b'P', 7, size_of::<PrivcmdMmapResource>());
/// An ioctl number no driver implements (used to probe for the device).
pub const IOCTL_PRIVCMD_UNIMPLEMENTED: u32 = ioc(IOC_NONE, b'P', 0xFF, 0);
