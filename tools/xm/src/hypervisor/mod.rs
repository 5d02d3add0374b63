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

use dom0_abi::domctl::XenDomctl;
use dom0_abi::sysctl::{XenSysctl, XEN_SYSCTL_getdomaininfolist, XEN_SYSCTL_readconsole};
use dom0_abi::Errno;

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
