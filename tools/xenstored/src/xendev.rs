//! Device glue for Linux dom0: mapping a domain's xenstore page (grant
//! through `/dev/xen/gntdev`, else foreign frame through
//! `/dev/xen/privcmd` `IOCTL_PRIVCMD_MMAPBATCH_V2`), dom0's own page and
//! port through `/dev/xen/xenbus_backend`, and event channels through
//! `/dev/xen/evtchn`. Only this module touches devices; the ring logic is
//! in [`crate::ring`].

use std::ffi::c_void;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::ptr::NonNull;
use std::sync::atomic::{fence, Ordering};

use dom0_abi::io::xenstore_ring::{XenstoreDomainInterface, XENSTORE_ERROR_RINGIDX};
use dom0_abi::linux::evtchn::{
    IoctlEvtchnBindInterdomain, IoctlEvtchnNotify, IoctlEvtchnUnbind,
    IOCTL_EVTCHN_BIND_INTERDOMAIN, IOCTL_EVTCHN_NOTIFY, IOCTL_EVTCHN_UNBIND,
};
use dom0_abi::linux::gntdev::{
    IoctlGntdevGrantRef, IoctlGntdevMapGrantRef, IoctlGntdevUnmapGrantRef,
    IOCTL_GNTDEV_MAP_GRANT_REF, IOCTL_GNTDEV_UNMAP_GRANT_REF,
};
use dom0_abi::linux::{ioc, IOC_NONE};
use dom0_abi::privcmd::{PrivcmdMmapbatchV2, IOCTL_PRIVCMD_MMAPBATCH_V2};
use rustix::mm::{MapFlags, ProtFlags};

use crate::ring::{Index, RingMemory};

/// Page size of x86-64.
const PAGE_SIZE: usize = 4096;
/// `GNTTAB_RESERVED_XENSTORE`: the grant a guest gives for its xenstore page.
const GNTTAB_RESERVED_XENSTORE: u32 = 1;
/// `IOCTL_XENBUS_BACKEND_EVTCHN`: dom0's xenstore event channel.
const IOCTL_XENBUS_BACKEND_EVTCHN: u32 = ioc(IOC_NONE, b'B', 0, 0);

/// Errors of the device layer.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// Opening a device failed.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The device.
        path: &'static str,
        /// Why.
        source: io::Error,
    },
    /// A system call failed.
    #[error("{what} failed: {source}")]
    Sys {
        /// What was attempted.
        what: &'static str,
        /// Why.
        source: io::Error,
    },
}

fn open(path: &'static str, nonblock: bool) -> Result<File, DevError> {
    let flags = if nonblock {
        rustix::fs::OFlags::NONBLOCK.bits() as i32
    } else {
        0
    };
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|source| DevError::Open { path, source })
}

/// An ioctl whose argument is a pointer to `T` and whose result is the
/// call's return value.
struct PtrIoctl<T> {
    opcode: u32,
    arg: *mut T,
}

// SAFETY: callers construct it only with the opcode whose argument type is
// `T` (the `dom0_abi` constants carry the kernel's layouts), and `arg`
// points to a live `T` for the duration of the call.
unsafe impl<T> rustix::ioctl::Ioctl for PtrIoctl<T> {
    type Output = rustix::ioctl::IoctlOutput;
    const IS_MUTATING: bool = true;

    fn opcode(&self) -> rustix::ioctl::Opcode {
        self.opcode as rustix::ioctl::Opcode
    }

    fn as_ptr(&mut self) -> *mut c_void {
        self.arg.cast()
    }

    unsafe fn output_from_ptr(
        out: Self::Output,
        _: *mut c_void,
    ) -> rustix::io::Result<Self::Output> {
        Ok(out)
    }
}

/// Issues `opcode` with `arg`; returns the ioctl's result.
///
/// # Safety
/// `opcode` must be an ioctl of `file`'s driver taking a pointer to `T`.
unsafe fn ioctl_ptr<T>(
    file: &File,
    opcode: u32,
    arg: &mut T,
    what: &'static str,
) -> Result<i32, DevError> {
    // SAFETY: forwarded from the caller.
    unsafe { rustix::ioctl::ioctl(file, PtrIoctl { opcode, arg }) }.map_err(|e| DevError::Sys {
        what,
        source: e.into(),
    })
}

/// How a mapped page must be released (the device stays open while mapped).
#[allow(dead_code)]
enum Backing {
    Privcmd(File),
    Gntdev(File, u64),
    Xenbus(File),
}

/// A domain's xenstore page mapped into our address space.
pub struct ForeignPage {
    ptr: NonNull<XenstoreDomainInterface>,
    backing: Backing,
}

impl ForeignPage {
    fn map_fd(
        file: &File,
        offset: u64,
        what: &'static str,
    ) -> Result<NonNull<XenstoreDomainInterface>, DevError> {
        // SAFETY: a fresh shared mapping of one page of a device file; no
        // existing memory is affected.
        let p = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                PAGE_SIZE,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                file,
                offset,
            )
        }
        .map_err(|e| DevError::Sys {
            what,
            source: e.into(),
        })?;
        NonNull::new(p.cast()).ok_or(DevError::Sys {
            what,
            source: io::Error::other("null mapping"),
        })
    }

    /// Maps `domid`'s page through its reserved xenstore grant.
    pub fn map_grant(domid: u32) -> Result<Self, DevError> {
        let file = open("/dev/xen/gntdev", false)?;
        let mut arg = IoctlGntdevMapGrantRef {
            count: 1,
            refs: [IoctlGntdevGrantRef {
                domid,
                r#ref: GNTTAB_RESERVED_XENSTORE,
            }],
            ..Default::default()
        };
        // SAFETY: MAP_GRANT_REF takes an `ioctl_gntdev_map_grant_ref` with `count` refs.
        unsafe { ioctl_ptr(&file, IOCTL_GNTDEV_MAP_GRANT_REF, &mut arg, "gntdev map")? };
        let ptr = Self::map_fd(&file, arg.index, "gntdev mmap")?;
        Ok(ForeignPage {
            ptr,
            backing: Backing::Gntdev(file, arg.index),
        })
    }

    /// Maps frame `gfn` of `domid` through privcmd.
    pub fn map_foreign(domid: u32, gfn: u64) -> Result<Self, DevError> {
        let file = open("/dev/xen/privcmd", false)?;
        let ptr = Self::map_fd(&file, 0, "privcmd mmap")?;
        let mut frame = gfn;
        let mut err: i32 = 0;
        let mut arg = PrivcmdMmapbatchV2 {
            num: 1,
            dom: dom0_abi::DomId(domid as u16),
            addr: ptr.as_ptr() as u64,
            arr: &mut frame as *mut u64 as u64,
            err: &mut err as *mut i32 as u64,
        };
        // SAFETY: MMAPBATCH_V2 takes a `privcmd_mmapbatch_v2` whose arrays
        // (one frame, one error) live on this stack frame.
        let r = unsafe {
            ioctl_ptr(
                &file,
                IOCTL_PRIVCMD_MMAPBATCH_V2,
                &mut arg,
                "privcmd mmapbatch",
            )
        };
        let page = ForeignPage {
            ptr,
            backing: Backing::Privcmd(file),
        };
        r?;
        if err != 0 {
            return Err(DevError::Sys {
                what: "privcmd mmapbatch",
                source: io::Error::from_raw_os_error(-err),
            });
        }
        Ok(page)
    }

    /// Maps a domain's page: as a foreign frame through privcmd (dom0 is
    /// privileged, and `xm`'s builder seeds no grant entries), falling
    /// back to the reserved xenstore grant.
    ///
    /// The foreign mapping comes first because the grant can only fail for
    /// the domains `xm` builds; with the grant tried first, `XS_INTRODUCE`
    /// did not answer within xm's former 2 s timeout on Xen 4.17 (the two
    /// changes were made together, so which one mattered is not known).
    pub fn map(domid: u32, gfn: u64) -> Result<Self, DevError> {
        Self::map_foreign(domid, gfn).or_else(|e| {
            log::debug!("domain {domid}: foreign mapping failed ({e}), trying its grant");
            Self::map_grant(domid)
        })
    }

    /// Dom0's own page and local xenstore port: from
    /// `/dev/xen/xenbus_backend` (`IOCTL_XENBUS_BACKEND_EVTCHN`, then
    /// `mmap`), else from xenfs's `/proc/xen/xsd_port` and `/proc/xen/xsd_kva`.
    ///
    /// A PV dom0 kernel booted without a store event channel in its
    /// start info (Linux's `XS_LOCAL`) allocates the page and an unbound
    /// port itself, and waits for its first event before probing xenbus.
    pub fn map_dom0() -> Result<(Self, u32), DevError> {
        Self::map_dom0_backend().or_else(|e| {
            log::debug!("{e}; trying /proc/xen/xsd_kva");
            Self::map_dom0_xenfs()
        })
    }

    fn map_dom0_backend() -> Result<(Self, u32), DevError> {
        let file = open("/dev/xen/xenbus_backend", false)?;
        let mut unused = 0u64;
        // SAFETY: IOCTL_XENBUS_BACKEND_EVTCHN ignores its argument and
        // returns the port.
        let port = unsafe {
            ioctl_ptr(
                &file,
                IOCTL_XENBUS_BACKEND_EVTCHN,
                &mut unused,
                "xenbus_backend evtchn",
            )?
        };
        let ptr = Self::map_fd(&file, 0, "xenbus_backend mmap")?;
        Ok((
            ForeignPage {
                ptr,
                backing: Backing::Xenbus(file),
            },
            port as u32,
        ))
    }

    fn map_dom0_xenfs() -> Result<(Self, u32), DevError> {
        const PORT: &str = "/proc/xen/xsd_port";
        let text = std::fs::read_to_string(PORT).map_err(|source| DevError::Open {
            path: PORT,
            source,
        })?;
        let port = text.trim().parse::<u32>().map_err(|_| DevError::Sys {
            what: "parsing /proc/xen/xsd_port",
            source: io::Error::other(format!("{text:?} is not a port")),
        })?;
        let file = open("/proc/xen/xsd_kva", false)?;
        let ptr = Self::map_fd(&file, 0, "xsd_kva mmap")?;
        Ok((
            ForeignPage {
                ptr,
                backing: Backing::Xenbus(file),
            },
            port,
        ))
    }

    fn field(&self, offset: usize) -> *mut u32 {
        // SAFETY: offsets come from `offset_of!` on the page's type, inside the mapping.
        unsafe { self.ptr.as_ptr().cast::<u8>().add(offset).cast::<u32>() }
    }

    /// Reports a protocol error to the guest (`error` field).
    pub fn set_error(&mut self, code: u32) {
        let p = self.field(std::mem::offset_of!(XenstoreDomainInterface, error));
        // SAFETY: aligned u32 inside the live mapping.
        unsafe { p.write_volatile(code) };
    }

    /// Reports inconsistent indexes.
    pub fn set_ring_index_error(&mut self) {
        self.set_error(XENSTORE_ERROR_RINGIDX);
    }
}

impl RingMemory for ForeignPage {
    fn load(&self, idx: Index) -> u32 {
        let off = match idx {
            Index::ReqCons => std::mem::offset_of!(XenstoreDomainInterface, req_cons),
            Index::ReqProd => std::mem::offset_of!(XenstoreDomainInterface, req_prod),
            Index::RspCons => std::mem::offset_of!(XenstoreDomainInterface, rsp_cons),
            Index::RspProd => std::mem::offset_of!(XenstoreDomainInterface, rsp_prod),
        };
        // SAFETY: aligned u32 inside the live mapping; the peer may change
        // it at any time, hence volatile.
        let v = unsafe { self.field(off).read_volatile() };
        fence(Ordering::Acquire);
        v
    }

    fn store(&mut self, idx: Index, value: u32) {
        let off = match idx {
            Index::ReqCons => std::mem::offset_of!(XenstoreDomainInterface, req_cons),
            Index::ReqProd => std::mem::offset_of!(XenstoreDomainInterface, req_prod),
            Index::RspCons => std::mem::offset_of!(XenstoreDomainInterface, rsp_cons),
            Index::RspProd => std::mem::offset_of!(XenstoreDomainInterface, rsp_prod),
        };
        fence(Ordering::Release);
        // SAFETY: as in `load`.
        unsafe { self.field(off).write_volatile(value) };
    }

    fn read_req(&self, offset: usize, out: &mut [u8]) {
        let base = self.ptr.as_ptr().cast::<u8>();
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: `ring` guarantees offset + len <= 1024, inside `req`.
            *b = unsafe { base.add(offset + i).read_volatile() };
        }
    }

    fn write_rsp(&mut self, offset: usize, data: &[u8]) {
        // SAFETY: `rsp` starts after the 1024-byte `req`; `ring`
        // guarantees offset + len <= 1024.
        let base = unsafe {
            self.ptr
                .as_ptr()
                .cast::<u8>()
                .add(std::mem::offset_of!(XenstoreDomainInterface, rsp))
        };
        for (i, &b) in data.iter().enumerate() {
            // SAFETY: as above.
            unsafe { base.add(offset + i).write_volatile(b) };
        }
    }
}

impl Drop for ForeignPage {
    fn drop(&mut self) {
        // SAFETY: the page was mapped by us with this length and is not
        // referenced after drop.
        if let Err(e) = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), PAGE_SIZE) } {
            log::warn!("munmap of a xenstore page failed: {e}");
        }
        if let Backing::Gntdev(file, index) = &self.backing {
            let mut arg = IoctlGntdevUnmapGrantRef {
                index: *index,
                count: 1,
                pad: 0,
            };
            // SAFETY: UNMAP_GRANT_REF takes an `ioctl_gntdev_unmap_grant_ref`.
            if let Err(e) =
                unsafe { ioctl_ptr(file, IOCTL_GNTDEV_UNMAP_GRANT_REF, &mut arg, "gntdev unmap") }
            {
                log::warn!("{e}");
            }
        }
    }
}

/// `/dev/xen/evtchn`: our ends of the domains' xenstore event channels.
pub struct EventChannels {
    file: File,
}

impl EventChannels {
    /// Opens the device (non-blocking).
    pub fn open() -> Result<Self, DevError> {
        Ok(EventChannels {
            file: open("/dev/xen/evtchn", true)?,
        })
    }

    /// The device, for polling.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Binds to `domid`'s unbound `port`; returns our local port.
    pub fn bind_interdomain(&self, domid: u32, port: u32) -> Result<u32, DevError> {
        let mut arg = IoctlEvtchnBindInterdomain {
            remote_domain: domid,
            remote_port: port,
        };
        // SAFETY: BIND_INTERDOMAIN takes an `ioctl_evtchn_bind_interdomain`.
        let local = unsafe {
            ioctl_ptr(
                &self.file,
                IOCTL_EVTCHN_BIND_INTERDOMAIN,
                &mut arg,
                "evtchn bind",
            )?
        };
        Ok(local as u32)
    }

    /// Closes a local port.
    pub fn unbind(&self, port: u32) {
        let mut arg = IoctlEvtchnUnbind { port };
        // SAFETY: UNBIND takes an `ioctl_evtchn_unbind`.
        if let Err(e) =
            unsafe { ioctl_ptr(&self.file, IOCTL_EVTCHN_UNBIND, &mut arg, "evtchn unbind") }
        {
            log::warn!("{e}");
        }
    }

    /// Signals the domain behind a local port.
    pub fn notify(&self, port: u32) {
        let mut arg = IoctlEvtchnNotify { port };
        // SAFETY: NOTIFY takes an `ioctl_evtchn_notify`.
        if let Err(e) =
            unsafe { ioctl_ptr(&self.file, IOCTL_EVTCHN_NOTIFY, &mut arg, "evtchn notify") }
        {
            log::warn!("{e}");
        }
    }

    /// Pending local ports (empty when none); they stay masked until
    /// [`Self::unmask`].
    pub fn pending(&mut self) -> Vec<u32> {
        let mut buf = [0u8; 256];
        match self.file.read(&mut buf) {
            Ok(n) => buf[..n]
                .chunks_exact(4)
                .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Re-enables delivery on `port`.
    pub fn unmask(&mut self, port: u32) {
        if let Err(e) = self.file.write_all(&port.to_ne_bytes()) {
            log::warn!("evtchn unmask {port}: {e}");
        }
    }
}
