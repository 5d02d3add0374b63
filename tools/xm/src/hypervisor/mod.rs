//! The hypervisor interface of xm: the [`Hypervisor`] trait (sysctl, domctl,
//! xen_version) and its implementations.
//!
//! * [`privcmd`]: the real thing, hypercalls through Linux's
//!   `/dev/xen/privcmd` with hypercall-safe buffers ([`buffer`]), plus
//!   foreign mappings (`IOCTL_PRIVCMD_MMAPBATCH_V2`);
//! * [`evtchn`]: event channels through `/dev/xen/evtchn`;
//! * [`fake`]: an in-memory hypervisor for host tests.
//!
//! Everything above this module ([`crate::ops`], the commands) talks to a
//! `&dyn Hypervisor` only, so it runs unchanged against the fake.

#![allow(non_upper_case_globals)] // Xen's constant names in match patterns

pub mod buffer;
pub mod evtchn;
pub mod fake;
pub mod privcmd;

use std::path::PathBuf;

use dom0_abi::arch_x86::VcpuGuestContext;
use dom0_abi::domctl::{DomctlCmd, XenDomctl, XenDomctlCreatedomain, XenDomctlGetdomaininfo};
use dom0_abi::mmu::{MmuextCmd, MmuextOp};
use dom0_abi::sysctl::{XenSysctl, XEN_SYSCTL_getdomaininfolist, XEN_SYSCTL_readconsole};
use dom0_abi::{DomId, Errno, Pod};

/// Why a hypervisor operation failed.
#[derive(Debug, thiserror::Error)]
pub enum HvError {
    /// The device node does not exist.
    #[error("{path} not present: are we running in a Xen dom0 with the xen-privcmd driver loaded?")]
    NoDevice {
        /// The device path.
        path: PathBuf,
    },
    /// The device exists but may not be opened (not root).
    #[error("permission denied opening {path} (xm must run as root)")]
    PermissionDenied {
        /// The device path.
        path: PathBuf,
    },
    /// Another failure opening or driving a device.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Xen refused a domctl/sysctl because its interface version differs.
    #[error("{op}: hypervisor interface version mismatch (hypervisor too old or too new for this xm, which speaks Xen 4.17)")]
    VersionMismatch {
        /// The operation.
        op: &'static str,
    },
    /// The hypercall returned an error.
    #[error("{op} failed: {errno}")]
    Hypercall {
        /// The operation.
        op: &'static str,
        /// Xen's error number.
        errno: HvErrno,
    },
}

/// An error number from a hypercall: a known [`Errno`] or a raw value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HvErrno {
    /// A number Xen defines.
    Known(Errno),
    /// Anything else (positive errno value).
    Raw(i32),
}

impl HvErrno {
    /// From a positive errno value.
    pub fn from_raw(n: i32) -> Self {
        Errno::try_from(n).map_or(HvErrno::Raw(n), HvErrno::Known)
    }

    /// Whether this is `e`.
    pub fn is(self, e: Errno) -> bool {
        self == HvErrno::Known(e)
    }
}

impl std::fmt::Display for HvErrno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HvErrno::Known(e) => write!(f, "{e} ({})", std::io::Error::from_raw_os_error(e.raw()).kind()),
            HvErrno::Raw(n) => write!(f, "error {n}"),
        }
    }
}

impl HvError {
    /// The errno of a failed hypercall, if this is one.
    pub fn errno(&self) -> Option<HvErrno> {
        match self {
            HvError::Hypercall { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// The error for a domctl/sysctl that returned `errno`: `EACCES` is how
    /// Xen reports an interface version mismatch.
    pub fn control(op: &'static str, errno: HvErrno) -> Self {
        if errno.is(Errno::EACCES) {
            HvError::VersionMismatch { op }
        } else {
            HvError::Hypercall { op, errno }
        }
    }
}

/// The hypercalls xm needs, with data buffers handled by the
/// implementation.
///
/// Where a command carries a guest handle to a data buffer (for example
/// `readconsole.buffer` or `getdomaininfolist.buffer`), the caller passes
/// the buffer as `data`; the implementation makes it hypercall-safe, stores
/// its address in the handle ([`sysctl_data_handle`]) and copies the
/// result back.
pub trait Hypervisor {
    /// `HYPERVISOR_sysctl`; `op` is updated with Xen's output.
    fn sysctl(&self, op: &mut XenSysctl, data: Option<&mut [u8]>) -> Result<(), HvError>;
    /// `HYPERVISOR_domctl`; `op` is updated with Xen's output.
    fn domctl(&self, op: &mut XenDomctl) -> Result<(), HvError>;
    /// `HYPERVISOR_xen_version(cmd, buf)`; returns the hypercall's value.
    /// `buf` is the output structure (empty for `XENVER_version` and
    /// `XENVER_pagesize`).
    fn xen_version(&self, cmd: u32, buf: &mut [u8]) -> Result<i64, HvError>;

    // ----- Building domains: operations with their own data buffers -----

    /// `XEN_DOMCTL_setvcpucontext`: set vCPU `vcpu` of `dom` to `ctx`
    /// (the context lives in a hypercall buffer the domctl points at).
    fn set_vcpu_context(&self, dom: DomId, vcpu: u32, ctx: &VcpuGuestContext) -> Result<(), HvError>;

    /// `XENMEM_populate_physmap` for `dom`, one 4 KiB extent per entry:
    /// `extents` holds the guest frame numbers to populate; for a PV guest
    /// Xen overwrites each done entry with the machine frame it allocated.
    /// Returns how many extents were done (fewer than asked: out of memory
    /// or over the domain's limit).
    fn populate_physmap(&self, dom: DomId, extents: &mut [u64]) -> Result<usize, HvError>;

    /// `HYPERVISOR_mmuext_op(ops, count, NULL, foreigndom)`.
    fn mmuext_op(&self, ops: &[MmuextOp], foreigndom: DomId) -> Result<(), HvError>;

    /// `XEN_DOMCTL_setvcpuaffinity` or `getvcpuaffinity` of the hard
    /// affinity of vCPU `vcpu` of `dom`: `cpumap` (bit *n* of byte *n/8*
    /// for physical cpu *n*, as `xenctl_bitmap`) is the new affinity for
    /// [`Affinity::Set`]; Xen writes the effective (or current) affinity
    /// back into it.
    fn vcpu_hard_affinity(&self, op: Affinity, dom: DomId, vcpu: u32, cpumap: &mut [u8]) -> Result<(), HvError>;

    /// `EVTCHNOP_alloc_unbound`: a port of `dom` that `remote` may bind.
    fn evtchn_alloc_unbound(&self, dom: DomId, remote: DomId) -> Result<u32, HvError>;

    /// Map machine frames `mfns` of `dom` read-write
    /// (`IOCTL_PRIVCMD_MMAPBATCH_V2`; for a PV guest the frame numbers are
    /// MFNs). Per-page failures show as pages [`ForeignPages::page_mut`]
    /// does not return.
    fn map_foreign(&self, dom: DomId, mfns: &[u64]) -> Result<Box<dyn ForeignPages + '_>, HvError>;

    // ----- Building domains: plain domctls (default: through `domctl`) -----

    /// `XEN_DOMCTL_createdomain` with an id chosen by Xen; returns the id.
    fn createdomain(&self, config: &XenDomctlCreatedomain) -> Result<DomId, HvError> {
        let mut op = XenDomctl::new(DomctlCmd::Createdomain, DomId(0));
        op.u.createdomain = *config;
        self.domctl(&mut op)?;
        Ok(op.domain)
    }

    /// `XEN_DOMCTL_max_vcpus` (must repeat createdomain's `max_vcpus`).
    fn max_vcpus(&self, dom: DomId, max: u32) -> Result<(), HvError> {
        let mut op = XenDomctl::new(DomctlCmd::MaxVcpus, dom);
        op.u.max_vcpus.max = max;
        self.domctl(&mut op)
    }

    /// `XEN_DOMCTL_max_mem`: the domain's memory limit in KiB.
    fn max_mem(&self, dom: DomId, max_memkb: u64) -> Result<(), HvError> {
        let mut op = XenDomctl::new(DomctlCmd::MaxMem, dom);
        op.u.max_mem.max_memkb = max_memkb;
        self.domctl(&mut op)
    }

    /// `XEN_DOMCTL_getdomaininfo` of exactly `dom` (Xen answers with the
    /// next domain up when `dom` is gone: that is `ESRCH` here).
    fn getdomaininfo(&self, dom: DomId) -> Result<XenDomctlGetdomaininfo, HvError> {
        let mut op = XenDomctl::new(DomctlCmd::Getdomaininfo, dom);
        self.domctl(&mut op)?;
        // SAFETY: the getdomaininfo member, plain old data, written by Xen.
        let info = unsafe { op.u.getdomaininfo };
        if info.domain != dom {
            return Err(HvError::Hypercall { op: "domctl", errno: HvErrno::Known(Errno::ESRCH) });
        }
        Ok(info)
    }

    /// `XEN_DOMCTL_hypercall_init`: Xen fills machine frame `mfn` of `dom`
    /// with its hypercall stubs.
    fn hypercall_init(&self, dom: DomId, mfn: u64) -> Result<(), HvError> {
        let mut op = XenDomctl::new(DomctlCmd::HypercallInit, dom);
        op.u.hypercall_init.gmfn = mfn;
        self.domctl(&mut op)
    }

    /// `XEN_DOMCTL_unpausedomain`.
    fn unpausedomain(&self, dom: DomId) -> Result<(), HvError> {
        self.domctl(&mut XenDomctl::new(DomctlCmd::Unpausedomain, dom))
    }

    /// `XEN_DOMCTL_destroydomain`.
    fn destroydomain(&self, dom: DomId) -> Result<(), HvError> {
        self.domctl(&mut XenDomctl::new(DomctlCmd::Destroydomain, dom))
    }

    /// `MMUEXT_PIN_L4_TABLE` of machine frame `mfn`, owned by `dom`.
    fn pin_l4(&self, dom: DomId, mfn: u64) -> Result<(), HvError> {
        self.mmuext_op(&[MmuextOp::new(MmuextCmd::PinL4Table, mfn, 0)], dom)
    }

    // ----- Save, restore and migration -----

    /// A domctl whose command points at a data buffer
    /// ([`domctl_data_handle`]: vcpu contexts, page-frame info, extended
    /// state, MSRs, the dirty bitmap): `data` is made hypercall-safe, its
    /// address stored in the handle, and Xen's output copied back.
    fn domctl_with_data(&self, op: &mut XenDomctl, data: &mut [u8]) -> Result<(), HvError> {
        let _ = (op, data);
        Err(HvError::Hypercall { op: "domctl with a data buffer", errno: HvErrno::Known(Errno::ENOSYS) })
    }

    /// Map machine frames `mfns` of `dom` read-only (page-table frames
    /// cannot be mapped writable); read them with [`ForeignPages::page`].
    fn map_foreign_ro(&self, dom: DomId, mfns: &[u64]) -> Result<Box<dyn ForeignPages + '_>, HvError> {
        self.map_foreign(dom, mfns)
    }

    /// `XEN_DOMCTL_getvcpucontext` of vcpu `vcpu` of `dom`.
    fn get_vcpu_context(&self, dom: DomId, vcpu: u32) -> Result<VcpuGuestContext, HvError> {
        let mut buf = vec![0u8; std::mem::size_of::<VcpuGuestContext>()];
        let mut op = XenDomctl::new(DomctlCmd::Getvcpucontext, dom);
        op.u.vcpucontext.vcpu = vcpu;
        self.domctl_with_data(&mut op, &mut buf)?;
        Ok(VcpuGuestContext::read_from(&buf).expect("buffer holds a context"))
    }

    /// `XEN_DOMCTL_resumedomain`: a domain shut down for suspend runs again.
    fn resumedomain(&self, dom: DomId) -> Result<(), HvError> {
        self.domctl(&mut XenDomctl::new(DomctlCmd::Resumedomain, dom))
    }
}

/// The handle field of `op` that points at its data buffer, for the domctl
/// commands that have one.
pub fn domctl_data_handle(op: &mut XenDomctl) -> Option<&mut u64> {
    use dom0_abi::domctl::*;
    // SAFETY: every member of the domctl union is plain old data, so any
    // member may be viewed whatever was written; `cmd` says which is meant.
    unsafe {
        match op.cmd {
            XEN_DOMCTL_getvcpucontext | XEN_DOMCTL_setvcpucontext => Some(&mut op.u.vcpucontext.ctxt.p),
            XEN_DOMCTL_getpageframeinfo3 => Some(&mut op.u.getpageframeinfo3.array.p),
            XEN_DOMCTL_getvcpuextstate | XEN_DOMCTL_setvcpuextstate => Some(&mut op.u.vcpuextstate.buffer.p),
            XEN_DOMCTL_get_vcpu_msrs | XEN_DOMCTL_set_vcpu_msrs => Some(&mut op.u.vcpu_msrs.msrs.p),
            XEN_DOMCTL_shadow_op => Some(&mut op.u.shadow_op.dirty_bitmap.p),
            _ => None,
        }
    }
}

/// Which way a vcpu affinity domctl goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Affinity {
    /// `XEN_DOMCTL_getvcpuaffinity`.
    Get,
    /// `XEN_DOMCTL_setvcpuaffinity`.
    Set,
}

/// Another domain's pages mapped into ours, as a list of 4 KiB pages;
/// unmapped when dropped.
pub trait ForeignPages {
    /// Number of pages asked for.
    fn len(&self) -> usize;
    /// Whether no page was asked for.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Page `i`, writable, or `None` if it could not be mapped.
    fn page_mut(&mut self, i: usize) -> Option<&mut [u8]>;
    /// Page `i` for reading (also of a read-only mapping), or `None` if it
    /// could not be mapped.
    fn page(&self, i: usize) -> Option<&[u8]> {
        let _ = i;
        None
    }
    /// Xen's error for page `i` (0 when mapped).
    fn error(&self, i: usize) -> i32;
}

/// The handle field of `op` that points at its data buffer, for the sysctl
/// commands that have one.
pub fn sysctl_data_handle(op: &mut XenSysctl) -> Option<&mut u64> {
    // SAFETY: every member of the sysctl union is plain old data, so any
    // member may be viewed whatever was written; `cmd` says which is meant.
    unsafe {
        match op.cmd {
            XEN_SYSCTL_readconsole => Some(&mut op.u.readconsole.buffer.p),
            XEN_SYSCTL_getdomaininfolist => Some(&mut op.u.getdomaininfolist.buffer.p),
            _ => None,
        }
    }
}
