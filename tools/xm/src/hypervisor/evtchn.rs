//! Event channels from dom0 user space: Linux's `/dev/xen/evtchn`.
//!
//! Binding ioctls return the local port; pending ports are read from the
//! device as `u32`s and re-enabled by writing them back.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use dom0_abi::linux::evtchn::{
    IoctlEvtchnBindInterdomain, IoctlEvtchnBindUnboundPort, IoctlEvtchnBindVirq, IoctlEvtchnNotify,
    IoctlEvtchnUnbind, IOCTL_EVTCHN_BIND_INTERDOMAIN, IOCTL_EVTCHN_BIND_UNBOUND_PORT, IOCTL_EVTCHN_BIND_VIRQ,
    IOCTL_EVTCHN_NOTIFY, IOCTL_EVTCHN_UNBIND,
};

use super::privcmd::PtrIoctl;
use super::{HvErrno, HvError};

/// Default path of the event-channel device.
pub const EVTCHN_PATH: &str = "/dev/xen/evtchn";

/// A local event-channel port.
pub type Port = u32;

/// An open `/dev/xen/evtchn`; ports bound through it close with it.
#[derive(Debug)]
pub struct Evtchn {
    file: File,
    path: PathBuf,
}

impl Evtchn {
    /// Open the device at `path`.
    pub fn open(path: &Path) -> Result<Self, HvError> {
        let file = OpenOptions::new().read(true).write(true).open(path).map_err(|e| match e.kind() {
            ErrorKind::NotFound => HvError::NoDevice { path: path.to_path_buf() },
            ErrorKind::PermissionDenied => HvError::PermissionDenied { path: path.to_path_buf() },
            _ => HvError::Io { what: format!("opening {}", path.display()), source: e },
        })?;
        Ok(Evtchn { file, path: path.to_path_buf() })
    }

    fn ioctl<T>(&self, op: &'static str, opcode: u32, arg: &mut T) -> Result<Port, HvError> {
        let ioctl = PtrIoctl { opcode, arg };
        // SAFETY: `opcode` is an evtchn ioctl whose argument is a `T`,
        // borrowed for the call.
        match unsafe { rustix::ioctl::ioctl(self.file.as_fd(), ioctl) } {
            Ok(port) => Ok(port as Port),
            Err(e) => Err(HvError::Hypercall { op, errno: HvErrno::from_raw(e.raw_os_error()) }),
        }
    }

    /// Bind virtual IRQ `virq`; returns the local port.
    pub fn bind_virq(&self, virq: u32) -> Result<Port, HvError> {
        self.ioctl("IOCTL_EVTCHN_BIND_VIRQ", IOCTL_EVTCHN_BIND_VIRQ, &mut IoctlEvtchnBindVirq { virq })
    }

    /// Allocate a port that `remote_domain` may connect to.
    pub fn bind_unbound_port(&self, remote_domain: u16) -> Result<Port, HvError> {
        let mut arg = IoctlEvtchnBindUnboundPort { remote_domain: u32::from(remote_domain) };
        self.ioctl("IOCTL_EVTCHN_BIND_UNBOUND_PORT", IOCTL_EVTCHN_BIND_UNBOUND_PORT, &mut arg)
    }

    /// Connect to `remote_port` of `remote_domain`.
    pub fn bind_interdomain(&self, remote_domain: u16, remote_port: Port) -> Result<Port, HvError> {
        let mut arg = IoctlEvtchnBindInterdomain { remote_domain: u32::from(remote_domain), remote_port };
        self.ioctl("IOCTL_EVTCHN_BIND_INTERDOMAIN", IOCTL_EVTCHN_BIND_INTERDOMAIN, &mut arg)
    }

    /// Signal the peer of `port`.
    pub fn notify(&self, port: Port) -> Result<(), HvError> {
        self.ioctl("IOCTL_EVTCHN_NOTIFY", IOCTL_EVTCHN_NOTIFY, &mut IoctlEvtchnNotify { port }).map(drop)
    }

    /// Close `port`.
    pub fn unbind(&self, port: Port) -> Result<(), HvError> {
        self.ioctl("IOCTL_EVTCHN_UNBIND", IOCTL_EVTCHN_UNBIND, &mut IoctlEvtchnUnbind { port }).map(drop)
    }

    /// The device file, for `poll`.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Wait for the next pending port.
    pub fn wait(&mut self) -> Result<Port, HvError> {
        let mut b = [0u8; 4];
        self.file.read_exact(&mut b).map_err(|e| self.io("reading", e))?;
        Ok(u32::from_ne_bytes(b))
    }

    /// Re-enable delivery on `port` after [`Evtchn::wait`] returned it.
    pub fn unmask(&mut self, port: Port) -> Result<(), HvError> {
        self.file.write_all(&port.to_ne_bytes()).map_err(|e| self.io("writing", e))
    }

    fn io(&self, what: &str, source: std::io::Error) -> HvError {
        HvError::Io { what: format!("{what} {}", self.path.display()), source }
    }
}
