//! Hypercall-safe memory: pages Xen can read and write while it runs a
//! hypercall for us, without faulting on a page the kernel swapped out or
//! moved.
//!
//! Linux provides `/dev/xen/hypercall` for this (pages from `mmap` on it
//! are the kernel's own, never paged); without it we fall back to
//! anonymous memory locked with `mlock`, as older toolstacks did.

use std::fs::File;
use std::os::fd::AsFd;
use std::ptr::NonNull;

use rustix::mm::{MapFlags, ProtFlags};

use super::HvError;

/// Path of Linux's hypercall-buffer device.
pub const HYPERCALL_DEVICE: &str = "/dev/xen/hypercall";

/// Page size of x86-64.
const PAGE: usize = 4096;

/// Where buffers come from.
#[derive(Debug)]
pub enum BufferSource {
    /// `mmap` of `/dev/xen/hypercall`.
    Device(File),
    /// Anonymous memory, `mlock`ed.
    Locked,
}

impl BufferSource {
    /// `/dev/xen/hypercall` if it can be opened, else locked memory.
    pub fn open() -> Self {
        match std::fs::OpenOptions::new().read(true).write(true).open(HYPERCALL_DEVICE) {
            Ok(f) => BufferSource::Device(f),
            Err(_) => BufferSource::Locked,
        }
    }

    /// A zeroed buffer of at least `len` bytes (whole pages).
    pub fn alloc(&self, len: usize) -> Result<HypercallBuf, HvError> {
        let len = len.max(1).div_ceil(PAGE) * PAGE;
        let io = |what: &str, e: rustix::io::Errno| HvError::Io { what: what.into(), source: e.into() };
        let ptr = match self {
            // SAFETY: a fresh shared mapping of the device at an address the
            // kernel picks; it aliases no Rust object.
            BufferSource::Device(f) => unsafe {
                rustix::mm::mmap(std::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::SHARED, f.as_fd(), 0)
            }
            .map_err(|e| io("mapping a hypercall buffer from /dev/xen/hypercall", e))?,
            BufferSource::Locked => {
                // SAFETY: a fresh private anonymous mapping; it aliases nothing.
                let p = unsafe {
                    rustix::mm::mmap_anonymous(std::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE)
                }
                .map_err(|e| io("allocating a hypercall buffer", e))?;
                // SAFETY: `p..p+len` is the mapping made just above.
                if let Err(e) = unsafe { rustix::mm::mlock(p, len) } {
                    // SAFETY: unmapping the mapping made above, used by no one.
                    let _ = unsafe { rustix::mm::munmap(p, len) };
                    return Err(io("locking a hypercall buffer (mlock)", e));
                }
                p
            }
        };
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| HvError::Io {
            what: "mmap returned a null hypercall buffer".into(),
            source: std::io::ErrorKind::Other.into(),
        })?;
        // Both kinds of mapping start zero-filled.
        Ok(HypercallBuf { ptr, len })
    }
}

/// A page-aligned, hypercall-safe buffer; unmapped on drop.
#[derive(Debug)]
pub struct HypercallBuf {
    ptr: NonNull<u8>,
    len: usize,
}

impl HypercallBuf {
    /// The buffer's user-space address, for guest handles.
    pub fn addr(&self) -> u64 {
        self.ptr.as_ptr() as u64
    }

    /// The whole buffer.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr..ptr+len` is our own readable and writable mapping,
        // borrowed mutably through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// The whole buffer, read-only.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: as in `as_mut_slice`, shared borrow.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for HypercallBuf {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `BufferSource::alloc` with this
        // length and no slice of it outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_buffers_are_zeroed_whole_pages() {
        // mlock may be refused by a small RLIMIT_MEMLOCK; that is an error,
        // not a crash.
        match BufferSource::Locked.alloc(10) {
            Ok(mut b) => {
                assert_eq!(b.as_slice().len(), PAGE);
                assert!(b.as_slice().iter().all(|&x| x == 0));
                assert_eq!(b.addr() % PAGE as u64, 0);
                b.as_mut_slice()[5] = 7;
                assert_eq!(b.as_slice()[5], 7);
            }
            Err(e) => eprintln!("mlock refused here: {e}"),
        }
    }
}
