//! The real [`Hypervisor`]: Linux's `/dev/xen/privcmd`.
//!
//! `IOCTL_PRIVCMD_HYPERCALL` takes a hypercall number and five arguments
//! and returns the hypercall's result (a negative value comes back as the
//! ioctl's errno). Every structure Xen reads or writes lives in a
//! [`HypercallBuf`]. `IOCTL_PRIVCMD_MMAPBATCH_V2` maps another domain's
//! frames into a range `mmap`ed from the same device, with one error per
//! page.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::mem::size_of;
use std::os::fd::AsFd;
use std::path::Path;
use std::ptr::NonNull;

use dom0_abi::arch_x86::VcpuGuestContext;
use dom0_abi::domctl::{DomctlCmd, XenDomctl, XenDomctlVcpuaffinity, XEN_VCPUAFFINITY_HARD};
use dom0_abi::event_channel::{EvtchnAllocUnbound, EVTCHNOP_alloc_unbound};
use dom0_abi::hypercall::{
    HYPERVISOR_domctl, HYPERVISOR_event_channel_op, HYPERVISOR_memory_op, HYPERVISOR_mmuext_op, HYPERVISOR_sysctl,
    HYPERVISOR_xen_version,
};
use dom0_abi::memory::{XenMemoryReservation, XENMEM_populate_physmap};
use dom0_abi::mmu::MmuextOp;
use dom0_abi::GuestHandle;
use dom0_abi::privcmd::{PrivcmdHypercall, PrivcmdMmapbatchV2, IOCTL_PRIVCMD_HYPERCALL, IOCTL_PRIVCMD_MMAPBATCH_V2};
use dom0_abi::sysctl::XenSysctl;
use dom0_abi::xen::XenctlBitmap;
use dom0_abi::{DomId, Errno, Pod};
use rustix::ioctl::{Ioctl, IoctlOutput, Opcode};
use rustix::mm::{MapFlags, ProtFlags};

use super::buffer::{BufferSource, HypercallBuf};
use super::{domctl_data_handle, sysctl_data_handle, Affinity, ForeignPages, HvErrno, HvError, Hypervisor};

/// An ioctl whose argument is a pointer to `T` and whose result is the
/// ioctl's return value.
pub(crate) struct PtrIoctl<'a, T> {
    /// The request number.
    pub(crate) opcode: u32,
    /// The argument pointed at.
    pub(crate) arg: &'a mut T,
}

// SAFETY: the opcodes used with this type (privcmd's HYPERCALL and
// MMAPBATCH_V2, the evtchn binds) take a pointer to exactly a `T`, which stays borrowed for
// the call; IS_MUTATING is true since the driver may write through it.
unsafe impl<T> Ioctl for PtrIoctl<'_, T> {
    type Output = i32;
    const IS_MUTATING: bool = true;

    fn opcode(&self) -> Opcode {
        self.opcode as Opcode
    }

    fn as_ptr(&mut self) -> *mut core::ffi::c_void {
        (self.arg as *mut T).cast()
    }

    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut core::ffi::c_void) -> rustix::io::Result<i32> {
        Ok(out)
    }
}

/// Bytes of a plain-old-data value.
fn bytes_of<T: Pod>(v: &T) -> &[u8] {
    // SAFETY: `T: Pod` has no padding-dependent invariants and every byte of
    // it may be read; the slice borrows `v`.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) }
}

/// An open privcmd device.
#[derive(Debug)]
pub struct Privcmd {
    file: File,
    buffers: BufferSource,
}

impl Privcmd {
    /// Open the device at `path` (normally `/dev/xen/privcmd`).
    pub fn open(path: &Path) -> Result<Self, HvError> {
        let file = OpenOptions::new().read(true).write(true).open(path).map_err(|e| match e.kind() {
            ErrorKind::NotFound => HvError::NoDevice { path: path.to_path_buf() },
            ErrorKind::PermissionDenied => HvError::PermissionDenied { path: path.to_path_buf() },
            _ => HvError::Io { what: format!("opening {}", path.display()), source: e },
        })?;
        Ok(Privcmd { file, buffers: BufferSource::open() })
    }

    /// Issue hypercall `op` with `args`; the error is the positive errno.
    pub fn hypercall(&self, op: u64, args: [u64; 5]) -> Result<i64, HvErrno> {
        let mut call = PrivcmdHypercall { op, arg: args };
        let ioctl = PtrIoctl { opcode: IOCTL_PRIVCMD_HYPERCALL, arg: &mut call };
        // SAFETY: every pointer argument of the hypercalls issued through
        // this type points into a live `HypercallBuf` (see the callers).
        match unsafe { rustix::ioctl::ioctl(self.file.as_fd(), ioctl) } {
            Ok(v) => Ok(i64::from(v)),
            Err(e) => Err(HvErrno::from_raw(e.raw_os_error())),
        }
    }

    /// Copy `value` into a fresh hypercall buffer.
    fn buffer_with<T: Pod>(&self, value: &T, extra: usize) -> Result<HypercallBuf, HvError> {
        let mut buf = self.buffers.alloc(size_of::<T>() + extra)?;
        buf.as_mut_slice()[..size_of::<T>()].copy_from_slice(bytes_of(value));
        Ok(buf)
    }

    /// Map `gfns` of domain `dom` read-write; per-page failures are in the
    /// result's [`ForeignMapping::errors`].
    pub fn map_foreign_batch(&self, dom: DomId, gfns: &[u64]) -> Result<ForeignMapping, HvError> {
        self.map_foreign_batch_prot(dom, gfns, ProtFlags::READ | ProtFlags::WRITE)
    }

    /// [`Privcmd::map_foreign_batch`] with protection `prot`.
    pub fn map_foreign_batch_prot(&self, dom: DomId, gfns: &[u64], prot: ProtFlags) -> Result<ForeignMapping, HvError> {
        let pages = gfns.len();
        if pages == 0 {
            return Err(HvError::Io { what: "mapping no pages".into(), source: ErrorKind::InvalidInput.into() });
        }
        let len = pages * 4096;
        let io = |what: &str, e: rustix::io::Errno| HvError::Io { what: what.into(), source: e.into() };
        // SAFETY: a fresh shared mapping of the privcmd device at an address
        // the kernel picks; it aliases no Rust object.
        let addr = unsafe {
            rustix::mm::mmap(std::ptr::null_mut(), len, prot, MapFlags::SHARED, self.file.as_fd(), 0)
        }
        .map_err(|e| io("reserving address space for a foreign mapping", e))?;
        let mapping = ForeignMapping {
            ptr: NonNull::new(addr.cast::<u8>()).expect("mmap never returns null on success"),
            len,
            errors: vec![0; pages],
        };
        let mut arr = gfns.to_vec();
        let mut errors = vec![0i32; pages];
        let mut batch = PrivcmdMmapbatchV2 {
            num: u32::try_from(pages).map_err(|_| io("too many pages", rustix::io::Errno::INVAL))?,
            dom,
            addr: addr as u64,
            arr: arr.as_mut_ptr() as u64,
            err: errors.as_mut_ptr() as u64,
        };
        let ioctl = PtrIoctl { opcode: IOCTL_PRIVCMD_MMAPBATCH_V2, arg: &mut batch };
        // SAFETY: `arr` and `errors` hold `num` entries and outlive the
        // call; `addr..addr+len` is a privcmd mapping made above.
        let r = unsafe { rustix::ioctl::ioctl(self.file.as_fd(), ioctl) };
        let mut mapping = mapping;
        match r {
            Ok(_) => {}
            // ENOENT: some pages failed (paged out); the array says which.
            Err(e) if e == rustix::io::Errno::NOENT => {}
            Err(e) => {
                return Err(HvError::Hypercall { op: "IOCTL_PRIVCMD_MMAPBATCH_V2", errno: HvErrno::from_raw(e.raw_os_error()) })
            }
        }
        mapping.errors = errors;
        Ok(mapping)
    }
}

impl Hypervisor for Privcmd {
    fn sysctl(&self, op: &mut XenSysctl, data: Option<&mut [u8]>) -> Result<(), HvError> {
        let mut data_buf = match &data {
            Some(d) => {
                let mut b = self.buffers.alloc(d.len())?;
                b.as_mut_slice()[..d.len()].copy_from_slice(d);
                Some(b)
            }
            None => None,
        };
        if let (Some(b), Some(handle)) = (&data_buf, sysctl_data_handle(op)) {
            *handle = b.addr();
        }
        let mut buf = self.buffer_with(op, 0)?;
        let r = self.hypercall(HYPERVISOR_sysctl, [buf.addr(), 0, 0, 0, 0]);
        let out = XenSysctl::read_from(buf.as_mut_slice()).expect("buffer holds a sysctl");
        let handle_value = sysctl_data_handle(op).map(|h| *h);
        *op = out;
        // Give the caller back its own view: the handle pointed at our copy.
        if let (Some(h), Some(v)) = (sysctl_data_handle(op), handle_value) {
            *h = v;
        }
        if let (Some(d), Some(b)) = (data, data_buf.as_mut()) {
            let n = d.len();
            d.copy_from_slice(&b.as_slice()[..n]);
        }
        r.map(|_| ()).map_err(|e| HvError::control("sysctl", e))
    }

    fn domctl(&self, op: &mut XenDomctl) -> Result<(), HvError> {
        let mut buf = self.buffer_with(op, 0)?;
        let r = self.hypercall(HYPERVISOR_domctl, [buf.addr(), 0, 0, 0, 0]);
        *op = XenDomctl::read_from(buf.as_mut_slice()).expect("buffer holds a domctl");
        r.map(|_| ()).map_err(|e| HvError::control("domctl", e))
    }

    fn xen_version(&self, cmd: u32, out: &mut [u8]) -> Result<i64, HvError> {
        let mut buf = self.buffers.alloc(out.len())?;
        let arg = if out.is_empty() { 0 } else { buf.addr() };
        let r = self.hypercall(HYPERVISOR_xen_version, [u64::from(cmd), arg, 0, 0, 0]);
        let n = out.len();
        out.copy_from_slice(&buf.as_mut_slice()[..n]);
        r.map_err(|errno| HvError::Hypercall { op: "xen_version", errno })
    }

    fn set_vcpu_context(&self, dom: DomId, vcpu: u32, ctx: &VcpuGuestContext) -> Result<(), HvError> {
        let ctx_buf = self.buffer_with(ctx, 0)?;
        let mut op = XenDomctl::new(DomctlCmd::Setvcpucontext, dom);
        op.u.vcpucontext.vcpu = vcpu;
        op.u.vcpucontext.ctxt = GuestHandle::new(ctx_buf.addr());
        // `ctx_buf` lives until the end of this function, past the call.
        self.domctl(&mut op)
    }

    fn vcpu_hard_affinity(&self, op: Affinity, dom: DomId, vcpu: u32, cpumap: &mut [u8]) -> Result<(), HvError> {
        let mut buf = self.buffers.alloc(cpumap.len().max(1))?;
        buf.as_mut_slice()[..cpumap.len()].copy_from_slice(cpumap);
        let cmd = match op {
            Affinity::Get => DomctlCmd::Getvcpuaffinity,
            Affinity::Set => DomctlCmd::Setvcpuaffinity,
        };
        let mut d = XenDomctl::new(cmd, dom);
        d.u.vcpuaffinity = XenDomctlVcpuaffinity {
            vcpu,
            flags: XEN_VCPUAFFINITY_HARD,
            cpumap_hard: XenctlBitmap {
                bitmap: GuestHandle::new(buf.addr()),
                nr_bits: u32::try_from(cpumap.len() * 8).unwrap_or(u32::MAX),
            },
            ..Default::default()
        };
        // `buf` lives until the end of this function, past the call.
        self.domctl(&mut d)?;
        cpumap.copy_from_slice(&buf.as_slice()[..cpumap.len()]);
        Ok(())
    }

    fn populate_physmap(&self, dom: DomId, extents: &mut [u64]) -> Result<usize, HvError> {
        let bytes: Vec<u8> = extents.iter().flat_map(|e| e.to_ne_bytes()).collect();
        let mut list = self.buffers.alloc(bytes.len())?;
        list.as_mut_slice()[..bytes.len()].copy_from_slice(&bytes);
        let resv = XenMemoryReservation {
            extent_start: GuestHandle::new(list.addr()),
            nr_extents: extents.len() as u64,
            extent_order: 0,
            mem_flags: 0,
            domid: dom,
        };
        let resv_buf = self.buffer_with(&resv, 0)?;
        let done = self
            .hypercall(HYPERVISOR_memory_op, [u64::from(XENMEM_populate_physmap), resv_buf.addr(), 0, 0, 0])
            .map_err(|errno| HvError::Hypercall { op: "XENMEM_populate_physmap", errno })?;
        let done = usize::try_from(done).unwrap_or(0).min(extents.len());
        for (e, chunk) in extents.iter_mut().zip(list.as_slice().chunks_exact(8)).take(done) {
            *e = u64::from_ne_bytes(chunk.try_into().expect("chunks of 8"));
        }
        Ok(done)
    }

    fn mmuext_op(&self, ops: &[MmuextOp], foreigndom: DomId) -> Result<(), HvError> {
        let bytes: Vec<u8> = ops.iter().flat_map(|o| bytes_of(o).to_vec()).collect();
        let mut buf = self.buffers.alloc(bytes.len())?;
        buf.as_mut_slice()[..bytes.len()].copy_from_slice(&bytes);
        let args = [buf.addr(), ops.len() as u64, 0, u64::from(foreigndom.0), 0];
        self.hypercall(HYPERVISOR_mmuext_op, args).map(drop).map_err(|errno| HvError::Hypercall { op: "mmuext_op", errno })
    }

    fn evtchn_alloc_unbound(&self, dom: DomId, remote: DomId) -> Result<u32, HvError> {
        let mut buf = self.buffer_with(&EvtchnAllocUnbound { dom, remote_dom: remote, port: 0 }, 0)?;
        self.hypercall(HYPERVISOR_event_channel_op, [u64::from(EVTCHNOP_alloc_unbound), buf.addr(), 0, 0, 0])
            .map_err(|errno| HvError::Hypercall { op: "EVTCHNOP_alloc_unbound", errno })?;
        let out = EvtchnAllocUnbound::read_from(buf.as_mut_slice()).expect("buffer holds the struct");
        Ok(out.port)
    }

    fn map_foreign(&self, dom: DomId, mfns: &[u64]) -> Result<Box<dyn ForeignPages + '_>, HvError> {
        Ok(Box::new(self.map_foreign_batch(dom, mfns)?))
    }

    fn map_foreign_ro(&self, dom: DomId, mfns: &[u64]) -> Result<Box<dyn ForeignPages + '_>, HvError> {
        Ok(Box::new(self.map_foreign_batch_prot(dom, mfns, ProtFlags::READ)?))
    }

    fn domctl_with_data(&self, op: &mut XenDomctl, data: &mut [u8]) -> Result<(), HvError> {
        let mut buf = self.buffers.alloc(data.len().max(1))?;
        buf.as_mut_slice()[..data.len()].copy_from_slice(data);
        let caller_handle = domctl_data_handle(op).map(|h| std::mem::replace(h, buf.addr()));
        let r = self.domctl(op);
        if let (Some(h), Some(v)) = (domctl_data_handle(op), caller_handle) {
            *h = v;
        }
        let n = data.len();
        data.copy_from_slice(&buf.as_slice()[..n]);
        r
    }
}

/// Another domain's frames mapped into our address space; unmapped on drop.
#[derive(Debug)]
pub struct ForeignMapping {
    ptr: NonNull<u8>,
    len: usize,
    /// Per-page result: 0, or a negative errno (that page is not mapped and
    /// must not be touched).
    pub errors: Vec<i32>,
}

impl ForeignMapping {
    /// Page `i`, if it was mapped.
    pub fn page(&self, i: usize) -> Option<&[u8]> {
        if self.errors.get(i).copied() != Some(0) {
            return None;
        }
        // SAFETY: page `i` lies inside our mapping and was mapped without
        // error, so it is readable for as long as `self` lives.
        Some(unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(i * 4096), 4096) })
    }
}

impl ForeignPages for ForeignMapping {
    fn len(&self) -> usize {
        self.errors.len()
    }

    fn page(&self, i: usize) -> Option<&[u8]> {
        ForeignMapping::page(self, i)
    }

    fn page_mut(&mut self, i: usize) -> Option<&mut [u8]> {
        if self.errors.get(i).copied() != Some(0) {
            return None;
        }
        // SAFETY: page `i` lies inside our read-write mapping and was mapped
        // without error; the slice borrows `self` mutably, so it is the only
        // view of that page from Rust while it lives.
        Some(unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(i * 4096), 4096) })
    }

    fn error(&self, i: usize) -> i32 {
        self.errors.get(i).copied().unwrap_or(Errno::EINVAL.as_neg() as i32)
    }
}

impl Drop for ForeignMapping {
    fn drop(&mut self) {
        // SAFETY: the range was mapped by `map_foreign` with this length and
        // no slice of it outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}
