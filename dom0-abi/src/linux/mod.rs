//! Linux's user-space interfaces to Xen, which dom0 tools drive through
//! `ioctl`: `/dev/xen/privcmd`, `/dev/xen/evtchn` and `/dev/xen/gntdev`
//! (`include/uapi/xen/*.h`). These are Linux's ABI, not Xen's; layouts are
//! for x86-64 Linux.

pub mod evtchn;
pub mod gntdev;
pub mod privcmd;

/// `_IOC_NONE`: the ioctl transfers no data in the kernel's view.
pub const IOC_NONE: u32 = 0;
/// `_IOC_WRITE`: user space writes data to the kernel.
pub const IOC_WRITE: u32 = 1;
/// `_IOC_READ`: user space reads data from the kernel.
pub const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)`: encodes an ioctl request number.
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    (dir << 30) | ((size as u32 & 0x3fff) << 16) | ((ty as u32) << 8) | nr as u32
}
