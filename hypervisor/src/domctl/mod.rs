//! `domctl`: the toolstack's control of domains, for the privileged domain
//! only (`EPERM`), with Xen 4.17's interface version (`EACCES`). So far
//! `getdomaininfo` (the domain asked for, or the next one above it, as Xen
//! answers); the operations that build and run other domains answer
//! `ENOSYS` until this hypervisor runs more than dom0.

use dom0_abi::domctl::*;
use dom0_abi::Errno;

use crate::arch::x86_64::uaccess::{read_guest, write_guest};
use crate::domain::Vcpu;
use crate::hypercall::{err, HcResult};

/// `domctl(op)`.
pub fn domctl(v: &mut Vcpu, arg: u64) -> HcResult {
    let mut op: XenDomctl = read_guest(arg).map_err(|_| Errno::EFAULT)?;
    if op.interface_version != XEN_DOMCTL_INTERFACE_VERSION {
        return err(Errno::EACCES);
    }
    if !v.domain.is_privileged {
        return err(Errno::EPERM);
    }
    match op.cmd {
        XEN_DOMCTL_getdomaininfo => {
            let mut ds = crate::domain::all();
            ds.sort_by_key(|d| d.domid);
            let d = ds.iter().find(|d| d.domid >= op.domain.0).ok_or(Errno::ESRCH)?;
            op.domain = dom0_abi::DomId(d.domid);
            op.u.getdomaininfo = d.info();
        }
        cmd => {
            log::debug!("d{}: domctl {cmd} not implemented", v.domain.domid);
            return err(Errno::ENOSYS);
        }
    }
    write_guest(arg, &op).map_err(|_| Errno::EFAULT)?;
    Ok(0)
}
