//! `/dev/xen/gntdev` (Linux `include/uapi/xen/gntdev.h`): mapping other
//! domains' grants into dom0 user space and copying through grants.

use core::mem::size_of;

use super::{ioc, IOC_NONE};

/// `struct ioctl_gntdev_grant_ref`: one grant to map.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlGntdevGrantRef {
    /// Granting domain.
    pub domid: u32,
    /// Grant reference.
    pub r#ref: u32,
}
impl_pod!(IoctlGntdevGrantRef);

/// `struct ioctl_gntdev_map_grant_ref` header; the C struct ends in a
/// one-element `refs` array that callers extend to `count` entries.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlGntdevMapGrantRef {
    /// Number of grants.
    pub count: u32,
    /// Padding.
    pub pad: u32,
    /// Output: offset to pass to `mmap`.
    pub index: u64,
    /// First of `count` grants.
    pub refs: [IoctlGntdevGrantRef; 1],
}
impl_pod!(IoctlGntdevMapGrantRef);

/// `struct ioctl_gntdev_unmap_grant_ref`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlGntdevUnmapGrantRef {
    /// Offset returned by the map.
    pub index: u64,
    /// Number of pages.
    pub count: u32,
    /// Padding.
    pub pad: u32,
}
impl_pod!(IoctlGntdevUnmapGrantRef);

/// `struct ioctl_gntdev_get_offset_for_vaddr`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlGntdevGetOffsetForVaddr {
    /// Address of the first mapped page.
    pub vaddr: u64,
    /// Output: the mmap offset.
    pub offset: u64,
    /// Output: number of pages.
    pub count: u32,
    /// Padding.
    pub pad: u32,
}
impl_pod!(IoctlGntdevGetOffsetForVaddr);

/// `struct ioctl_gntdev_set_max_grants`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlGntdevSetMaxGrants {
    /// Maximum grants mapped at once.
    pub count: u32,
}
impl_pod!(IoctlGntdevSetMaxGrants);

/// Unmap notification: clear the byte at `index`.
pub const UNMAP_NOTIFY_CLEAR_BYTE: u32 = 0x1;
/// Unmap notification: signal `event_channel_port`.
pub const UNMAP_NOTIFY_SEND_EVENT: u32 = 0x2;

/// `struct ioctl_gntdev_unmap_notify`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlGntdevUnmapNotify {
    /// mmap offset of the byte to clear.
    pub index: u64,
    /// `UNMAP_NOTIFY_*`.
    pub action: u32,
    /// Port to signal.
    pub event_channel_port: u32,
}
impl_pod!(IoctlGntdevUnmapNotify);

/// The `foreign` member of a grant-copy endpoint.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlGntdevForeignPtr {
    /// Grant reference.
    pub r#ref: u32,
    /// Offset in the page.
    pub offset: u16,
    /// Granting domain.
    pub domid: u16,
}
impl_pod!(IoctlGntdevForeignPtr);

/// One end of a grant copy: a local address or a foreign grant.
#[repr(C)]
#[derive(Clone, Copy)]
pub union IoctlGntdevCopyPtr {
    /// Local virtual address.
    pub virt: u64,
    /// Foreign grant.
    pub foreign: IoctlGntdevForeignPtr,
}
pod_union!(IoctlGntdevCopyPtr);

/// `struct ioctl_gntdev_grant_copy_segment`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct IoctlGntdevGrantCopySegment {
    /// Source.
    pub source: IoctlGntdevCopyPtr,
    /// Destination.
    pub dest: IoctlGntdevCopyPtr,
    /// Bytes to copy.
    pub len: u16,
    /// `GNTCOPY_*`.
    pub flags: u16,
    /// Output: `GNTST_*`.
    pub status: i16,
}
impl_pod!(IoctlGntdevGrantCopySegment);

/// `struct ioctl_gntdev_grant_copy`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IoctlGntdevGrantCopy {
    /// Number of segments.
    pub count: u32,
    /// Address of the segment array.
    pub segments: u64,
}
impl_pod!(IoctlGntdevGrantCopy);

/// Map grant references.
pub const IOCTL_GNTDEV_MAP_GRANT_REF: u32 =
    ioc(IOC_NONE, b'G', 0, size_of::<IoctlGntdevMapGrantRef>());
/// Unmap grant references.
pub const IOCTL_GNTDEV_UNMAP_GRANT_REF: u32 =
    ioc(IOC_NONE, b'G', 1, size_of::<IoctlGntdevUnmapGrantRef>());
/// Find the mmap offset of a mapped address.
pub const IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR: u32 =
    ioc(IOC_NONE, b'G', 2, size_of::<IoctlGntdevGetOffsetForVaddr>());
/// Limit the grants mapped at once.
pub const IOCTL_GNTDEV_SET_MAX_GRANTS: u32 =
    ioc(IOC_NONE, b'G', 3, size_of::<IoctlGntdevSetMaxGrants>());
/// Request a notification when a mapping is torn down.
pub const IOCTL_GNTDEV_SET_UNMAP_NOTIFY: u32 =
    ioc(IOC_NONE, b'G', 7, size_of::<IoctlGntdevUnmapNotify>());
/// Copy through grants.
pub const IOCTL_GNTDEV_GRANT_COPY: u32 = ioc(IOC_NONE, b'G', 8, size_of::<IoctlGntdevGrantCopy>());
