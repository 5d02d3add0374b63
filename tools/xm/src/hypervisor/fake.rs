//! An in-memory [`Hypervisor`] for host tests: a few domains, a console
//! ring and version strings, answering sysctl/domctl/xen_version the way
//! Xen 4.17 does (including `EACCES` on an interface version mismatch and
//! `ESRCH` for a missing domain).

#![allow(non_upper_case_globals)]

use std::cell::RefCell;

use dom0_abi::domctl::{
    XenDomctl, XenDomctlGetdomaininfo, XenDomctlSchedCredit, XEN_DOMCTL_INTERFACE_VERSION, XEN_DOMCTL_SCHEDOP_getinfo,
    XEN_DOMCTL_SCHEDOP_putinfo, XEN_DOMCTL_destroydomain, XEN_DOMCTL_getvcpuinfo, XEN_DOMCTL_pausedomain,
    XEN_DOMCTL_scheduler_op, XEN_DOMCTL_unpausedomain, XEN_DOMINF_paused, XEN_SCHEDULER_CREDIT,
};
use dom0_abi::sysctl::{
    XenSysctl, XenSysctlPhysinfo, XEN_SYSCTL_INTERFACE_VERSION, XEN_SYSCTL_getdomaininfolist, XEN_SYSCTL_physinfo,
    XEN_SYSCTL_readconsole, XEN_SYSCTL_sched_id,
};
use dom0_abi::xen_version::*;
use dom0_abi::{DomId, Errno};

use super::{HvErrno, HvError, Hypervisor};

/// One fake domain.
#[derive(Clone, Debug, Default)]
pub struct FakeDomain {
    /// What getdomaininfo reports.
    pub info: XenDomctlGetdomaininfo,
    /// Credit parameters.
    pub credit: XenDomctlSchedCredit,
}

/// The fake hypervisor's state.
#[derive(Clone, Debug, Default)]
pub struct FakeState {
    /// Domains by id.
    pub domains: Vec<FakeDomain>,
    /// Physinfo.
    pub physinfo: XenSysctlPhysinfo,
    /// Console ring.
    pub console: Vec<u8>,
    /// Interface version the fake accepts (Xen 4.17's by default).
    pub interface_version: Option<u32>,
    /// Every call, for assertions (`"sysctl 3"`, `"domctl 3 dom 1"`).
    pub calls: Vec<String>,
}

/// A fake Xen 4.17.
#[derive(Debug, Default)]
pub struct FakeHypervisor {
    /// State, inspectable by tests.
    pub state: RefCell<FakeState>,
}

impl FakeHypervisor {
    /// Dom0 (512 MiB, running, 1 vcpu, 12.5 s of cpu) and a paused dom 3.
    pub fn new() -> Self {
        let dom = |id: u16, pages: u64, flags: u32, ns: u64| FakeDomain {
            info: XenDomctlGetdomaininfo {
                domain: DomId(id),
                flags,
                tot_pages: pages,
                max_pages: pages,
                cpu_time: ns,
                nr_online_vcpus: 1,
                max_vcpu_id: 0,
                ..Default::default()
            },
            credit: XenDomctlSchedCredit { weight: 256, cap: 0 },
        };
        let physinfo = XenSysctlPhysinfo {
            threads_per_core: 1,
            cores_per_socket: 2,
            nr_cpus: 2,
            nr_nodes: 1,
            cpu_khz: 2_000_123,
            total_pages: 262_144,
            free_pages: 100_000,
            hw_cap: [0x178b_fbff, 0xf7fa_3223, 0x2c10_0800, 0, 0, 0, 0, 0],
            ..Default::default()
        };
        FakeHypervisor {
            state: RefCell::new(FakeState {
                domains: vec![dom(0, 131_072, 1 << 5, 12_500_000_000), dom(3, 32_768, XEN_DOMINF_paused, 1_000_000_000)],
                physinfo,
                console: b"(XEN) Xen version 4.17 (fake)\n(XEN) second line\n".to_vec(),
                ..Default::default()
            }),
        }
    }

    fn fail(op: &'static str, e: Errno) -> HvError {
        HvError::control(op, HvErrno::Known(e))
    }
}

fn copy_str(out: &mut [u8], s: &str) {
    let n = s.len().min(out.len().saturating_sub(1));
    out[..n].copy_from_slice(&s.as_bytes()[..n]);
}

impl Hypervisor for FakeHypervisor {
    fn sysctl(&self, op: &mut XenSysctl, data: Option<&mut [u8]>) -> Result<(), HvError> {
        let mut st = self.state.borrow_mut();
        st.calls.push(format!("sysctl {}", op.cmd));
        if op.interface_version != st.interface_version.unwrap_or(XEN_SYSCTL_INTERFACE_VERSION) {
            return Err(Self::fail("sysctl", Errno::EACCES));
        }
        // SAFETY (all union accesses below): the members are plain old data
        // and `cmd` says which one is meant.
        match op.cmd {
            XEN_SYSCTL_physinfo => op.u.physinfo = st.physinfo,
            XEN_SYSCTL_sched_id => op.u.sched_id.sched_id = XEN_SCHEDULER_CREDIT,
            XEN_SYSCTL_getdomaininfolist => {
                let data = data.ok_or_else(|| Self::fail("sysctl", Errno::EFAULT))?;
                let (first, max) = unsafe { (op.u.getdomaininfolist.first_domain, op.u.getdomaininfolist.max_domains) };
                let size = std::mem::size_of::<XenDomctlGetdomaininfo>();
                let mut n = 0;
                for d in st.domains.iter().filter(|d| d.info.domain >= first).take(max as usize) {
                    let dst = data.get_mut(n * size..(n + 1) * size).ok_or_else(|| Self::fail("sysctl", Errno::EFAULT))?;
                    // SAFETY: `info` is Pod; reading its bytes is sound.
                    let src = unsafe { std::slice::from_raw_parts((&d.info as *const XenDomctlGetdomaininfo).cast::<u8>(), size) };
                    dst.copy_from_slice(src);
                    n += 1;
                }
                op.u.getdomaininfolist.num_domains = n as u32;
            }
            XEN_SYSCTL_readconsole => {
                let data = data.ok_or_else(|| Self::fail("sysctl", Errno::EFAULT))?;
                let rc = unsafe { op.u.readconsole };
                let start = if rc.incremental != 0 { rc.index as usize } else { 0 }.min(st.console.len());
                let n = (st.console.len() - start).min(rc.count as usize).min(data.len());
                data[..n].copy_from_slice(&st.console[start..start + n]);
                op.u.readconsole.count = n as u32;
                op.u.readconsole.index = (start + n) as u32;
                if rc.clear != 0 {
                    st.console.clear();
                }
            }
            _ => return Err(Self::fail("sysctl", Errno::ENOSYS)),
        }
        Ok(())
    }

    fn domctl(&self, op: &mut XenDomctl) -> Result<(), HvError> {
        let mut st = self.state.borrow_mut();
        st.calls.push(format!("domctl {} dom {}", op.cmd, op.domain.0));
        if op.interface_version != st.interface_version.unwrap_or(XEN_DOMCTL_INTERFACE_VERSION) {
            return Err(Self::fail("domctl", Errno::EACCES));
        }
        let idx = st.domains.iter().position(|d| d.info.domain == op.domain).ok_or_else(|| Self::fail("domctl", Errno::ESRCH))?;
        let d = &mut st.domains[idx];
        match op.cmd {
            XEN_DOMCTL_pausedomain => d.info.flags |= XEN_DOMINF_paused,
            XEN_DOMCTL_unpausedomain => d.info.flags &= !XEN_DOMINF_paused,
            XEN_DOMCTL_destroydomain => {
                st.domains.remove(idx);
            }
            XEN_DOMCTL_getvcpuinfo => {
                // SAFETY: Pod union member selected by `cmd`.
                let v = unsafe { &mut op.u.getvcpuinfo };
                if v.vcpu > d.info.max_vcpu_id {
                    return Err(Self::fail("domctl", Errno::EINVAL));
                }
                v.online = 1;
                v.running = u8::from(d.info.flags & (1 << 5) != 0);
                v.blocked = 0;
                v.cpu_time = d.info.cpu_time;
                v.cpu = 0;
            }
            XEN_DOMCTL_scheduler_op => {
                // SAFETY: Pod union members selected by `cmd`.
                let s = unsafe { &mut op.u.scheduler_op };
                if s.sched_id != XEN_SCHEDULER_CREDIT {
                    return Err(Self::fail("domctl", Errno::EINVAL));
                }
                match s.cmd {
                    XEN_DOMCTL_SCHEDOP_getinfo => s.u.credit = d.credit,
                    XEN_DOMCTL_SCHEDOP_putinfo => {
                        let new = unsafe { s.u.credit };
                        if new.weight != 0 {
                            d.credit.weight = new.weight;
                        }
                        d.credit.cap = new.cap;
                    }
                    _ => return Err(Self::fail("domctl", Errno::EINVAL)),
                }
            }
            _ => return Err(Self::fail("domctl", Errno::ENOSYS)),
        }
        Ok(())
    }

    fn xen_version(&self, cmd: u32, buf: &mut [u8]) -> Result<i64, HvError> {
        self.state.borrow_mut().calls.push(format!("xen_version {cmd}"));
        match cmd {
            XENVER_version => return Ok(0x0004_0011),
            XENVER_pagesize => return Ok(4096),
            XENVER_extraversion => copy_str(buf, ".5-fake"),
            XENVER_capabilities => copy_str(buf, "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_64"),
            XENVER_changeset => copy_str(buf, ""),
            XENVER_commandline => copy_str(buf, "console=com1 sched=credit"),
            XENVER_platform_parameters => buf[..8].copy_from_slice(&0xffff_8000_0000_0000u64.to_ne_bytes()),
            XENVER_compile_info => copy_str(&mut buf[..64], "gcc (Debian 12.2.0-14) 12.2.0"),
            _ => return Err(HvError::Hypercall { op: "xen_version", errno: HvErrno::Known(Errno::ENOSYS) }),
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypervisor::sysctl_data_handle;
    use dom0_abi::domctl::DomctlCmd;
    use dom0_abi::sysctl::SysctlCmd;

    #[test]
    fn missing_domain_is_esrch_and_wrong_version_eacces() {
        let hv = FakeHypervisor::new();
        let e = hv.domctl(&mut XenDomctl::new(DomctlCmd::Pausedomain, DomId(999))).unwrap_err();
        assert_eq!(e.errno(), Some(HvErrno::Known(Errno::ESRCH)));
        let mut op = XenDomctl::new(DomctlCmd::Pausedomain, DomId(0));
        op.interface_version = 0x14;
        assert!(matches!(hv.domctl(&mut op), Err(HvError::VersionMismatch { op: "domctl" })));
    }

    #[test]
    fn data_handles_are_found_per_command() {
        let mut op = XenSysctl::new(SysctlCmd::Readconsole);
        assert!(sysctl_data_handle(&mut op).is_some());
        let mut op = XenSysctl::new(SysctlCmd::Physinfo);
        assert!(sysctl_data_handle(&mut op).is_none());
    }
}
