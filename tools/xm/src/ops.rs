//! Typed queries and actions over any [`Hypervisor`]: what the commands
//! ask Xen, without any output formatting.

use dom0_abi::domctl::{
    DomctlCmd, XenDomctl, XenDomctlGetdomaininfo, XenDomctlGetvcpuinfo, XenDomctlSchedCredit, XenDomctlSchedulerOp,
    XEN_DOMCTL_SCHEDOP_getinfo, XEN_DOMCTL_SCHEDOP_putinfo, XEN_SCHEDULER_CREDIT,
};
use dom0_abi::sysctl::{SysctlCmd, XenSysctl, XenSysctlPhysinfo};
use dom0_abi::xen_version::{
    XenCompileInfo, XenPlatformParameters, XENVER_capabilities, XENVER_changeset, XENVER_commandline,
    XENVER_compile_info, XENVER_extraversion, XENVER_pagesize, XENVER_platform_parameters, XENVER_version,
};
use dom0_abi::{DomId, Pod};

use std::collections::BTreeSet;

use crate::hypervisor::{Affinity, HvError, Hypervisor};

/// Bytes of a Pod value, mutable (for output buffers).
fn bytes_mut<T: Pod>(v: &mut T) -> &mut [u8] {
    // SAFETY: any byte pattern is a valid `T: Pod`, so writing arbitrary
    // bytes through the slice keeps `v` valid; the slice borrows `v`.
    unsafe { std::slice::from_raw_parts_mut((v as *mut T).cast::<u8>(), std::mem::size_of::<T>()) }
}

/// A C string in a fixed array, up to its first NUL.
pub fn c_str(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// `XEN_SYSCTL_physinfo`.
pub fn physinfo(hv: &dyn Hypervisor) -> Result<XenSysctlPhysinfo, HvError> {
    let mut op = XenSysctl::new(SysctlCmd::Physinfo);
    hv.sysctl(&mut op, None)?;
    // SAFETY: the union member for physinfo, all plain old data.
    Ok(unsafe { op.u.physinfo })
}

/// `XEN_SYSCTL_sched_id`: the scheduler of cpupool 0.
pub fn sched_id(hv: &dyn Hypervisor) -> Result<u32, HvError> {
    let mut op = XenSysctl::new(SysctlCmd::SchedId);
    hv.sysctl(&mut op, None)?;
    // SAFETY: as above.
    Ok(unsafe { op.u.sched_id.sched_id })
}

/// Every domain, in id order (`XEN_SYSCTL_getdomaininfolist` in batches).
pub fn domains(hv: &dyn Hypervisor) -> Result<Vec<XenDomctlGetdomaininfo>, HvError> {
    const BATCH: usize = 64;
    let size = std::mem::size_of::<XenDomctlGetdomaininfo>();
    let mut all = Vec::new();
    let mut first = 0u16;
    loop {
        let mut op = XenSysctl::new(SysctlCmd::Getdomaininfolist);
        let mut data = vec![0u8; BATCH * size];
        // Writing a union member is safe: all members are plain old data.
        op.u.getdomaininfolist.first_domain = DomId(first);
        op.u.getdomaininfolist.max_domains = BATCH as u32;
        hv.sysctl(&mut op, Some(&mut data))?;
        // SAFETY: reading the member written by Xen.
        let n = (unsafe { op.u.getdomaininfolist.num_domains } as usize).min(BATCH);
        for chunk in data.chunks_exact(size).take(n) {
            all.push(XenDomctlGetdomaininfo::read_from(chunk).expect("chunk has the struct's size"));
        }
        match all.last() {
            Some(last) if n == BATCH && last.domain.0 < u16::MAX - 1 => first = last.domain.0 + 1,
            _ => return Ok(all),
        }
    }
}

/// `XEN_SYSCTL_readconsole`: the whole console ring, then cleared if asked.
pub fn read_console(hv: &dyn Hypervisor, clear: bool) -> Result<Vec<u8>, HvError> {
    let mut text = Vec::new();
    let mut index = 0u32;
    loop {
        let mut op = XenSysctl::new(SysctlCmd::Readconsole);
        let mut data = vec![0u8; 16384];
        op.u.readconsole.incremental = 1;
        op.u.readconsole.index = index;
        op.u.readconsole.count = data.len() as u32;
        hv.sysctl(&mut op, Some(&mut data))?;
        // SAFETY: reading the member written by Xen.
        let (count, next) = unsafe { (op.u.readconsole.count as usize, op.u.readconsole.index) };
        if count == 0 {
            break;
        }
        text.extend_from_slice(&data[..count.min(data.len())]);
        index = next;
    }
    if clear {
        let mut op = XenSysctl::new(SysctlCmd::Readconsole);
        op.u.readconsole.clear = 1;
        hv.sysctl(&mut op, Some(&mut []))?;
    }
    Ok(text)
}

/// A domctl with no argument (pause, unpause, destroy).
pub fn simple_domctl(hv: &dyn Hypervisor, cmd: DomctlCmd, dom: DomId) -> Result<(), HvError> {
    hv.domctl(&mut XenDomctl::new(cmd, dom))
}

/// `XEN_DOMCTL_getvcpuinfo` of `vcpu`.
pub fn vcpu_info(hv: &dyn Hypervisor, dom: DomId, vcpu: u32) -> Result<XenDomctlGetvcpuinfo, HvError> {
    let mut op = XenDomctl::new(DomctlCmd::Getvcpuinfo, dom);
    op.u.getvcpuinfo.vcpu = vcpu;
    hv.domctl(&mut op)?;
    // SAFETY: as above.
    Ok(unsafe { op.u.getvcpuinfo })
}

/// Physical cpus of a cpumap (`xenctl_bitmap` bytes: bit *n % 8* of byte
/// *n / 8* is cpu *n*).
pub fn cpus_of(map: &[u8]) -> BTreeSet<u32> {
    (0..map.len() * 8).filter(|&i| map[i / 8] & (1 << (i % 8)) != 0).map(|i| i as u32).collect()
}

/// A cpumap of `bytes` bytes with `cpus` set (cpus beyond it are dropped).
pub fn cpumap_of(cpus: &BTreeSet<u32>, bytes: usize) -> Vec<u8> {
    let mut map = vec![0u8; bytes];
    for &c in cpus {
        if let Some(b) = map.get_mut(c as usize / 8) {
            *b |= 1 << (c % 8);
        }
    }
    map
}

/// Size in bytes of a cpumap covering the host's cpus (`max_cpu_id`).
pub fn cpumap_bytes(hv: &dyn Hypervisor) -> Result<usize, HvError> {
    Ok((physinfo(hv)?.max_cpu_id as usize + 1).div_ceil(8))
}

/// Hard affinity of vCPU `vcpu` of `dom` (`XEN_DOMCTL_getvcpuaffinity`).
pub fn hard_affinity(hv: &dyn Hypervisor, dom: DomId, vcpu: u32) -> Result<BTreeSet<u32>, HvError> {
    let mut map = vec![0u8; cpumap_bytes(hv)?];
    hv.vcpu_hard_affinity(Affinity::Get, dom, vcpu, &mut map)?;
    Ok(cpus_of(&map))
}

/// Set the hard affinity of vCPU `vcpu` of `dom` to `cpus`
/// (`XEN_DOMCTL_setvcpuaffinity`); returns the effective affinity Xen
/// reports (the set limited to online cpus).
pub fn set_hard_affinity(
    hv: &dyn Hypervisor,
    dom: DomId,
    vcpu: u32,
    cpus: &BTreeSet<u32>,
) -> Result<BTreeSet<u32>, HvError> {
    let mut map = cpumap_of(cpus, cpumap_bytes(hv)?);
    hv.vcpu_hard_affinity(Affinity::Set, dom, vcpu, &mut map)?;
    Ok(cpus_of(&map))
}

/// Credit scheduler parameters of `dom` (`XEN_DOMCTL_SCHEDOP_getinfo`).
pub fn sched_credit_get(hv: &dyn Hypervisor, dom: DomId) -> Result<XenDomctlSchedCredit, HvError> {
    let mut op = XenDomctl::new(DomctlCmd::SchedulerOp, dom);
    op.u.scheduler_op = XenDomctlSchedulerOp { sched_id: XEN_SCHEDULER_CREDIT, cmd: XEN_DOMCTL_SCHEDOP_getinfo, ..Default::default() };
    hv.domctl(&mut op)?;
    // SAFETY: reading the scheduler_op member, credit parameters (Pod).
    Ok(unsafe { op.u.scheduler_op.u.credit })
}

/// Set credit scheduler parameters of `dom` (`XEN_DOMCTL_SCHEDOP_putinfo`).
pub fn sched_credit_put(hv: &dyn Hypervisor, dom: DomId, p: XenDomctlSchedCredit) -> Result<(), HvError> {
    let mut op = XenDomctl::new(DomctlCmd::SchedulerOp, dom);
    let mut s = XenDomctlSchedulerOp { sched_id: XEN_SCHEDULER_CREDIT, cmd: XEN_DOMCTL_SCHEDOP_putinfo, ..Default::default() };
    s.u.credit = p;
    op.u.scheduler_op = s;
    hv.domctl(&mut op)
}

/// What `xen_version` tells about the hypervisor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionInfo {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Extra version (such as `.3` or `-rust`).
    pub extra: String,
    /// Capabilities (`xen-3.0-x86_64 ...`).
    pub caps: String,
    /// Changeset.
    pub changeset: String,
    /// `virt_start` of the platform parameters.
    pub virt_start: u64,
    /// Page size.
    pub pagesize: i64,
    /// Hypervisor command line.
    pub commandline: String,
    /// Compiler.
    pub compiler: String,
    /// Who compiled it.
    pub compile_by: String,
    /// Where.
    pub compile_domain: String,
    /// When.
    pub compile_date: String,
}

/// Collect [`VersionInfo`].
pub fn version(hv: &dyn Hypervisor) -> Result<VersionInfo, HvError> {
    let word = hv.xen_version(XENVER_version, &mut [])?;
    let string = |cmd: u32, len: usize| -> Result<String, HvError> {
        let mut b = vec![0u8; len];
        hv.xen_version(cmd, &mut b)?;
        Ok(c_str(&b))
    };
    let mut params = XenPlatformParameters::default();
    hv.xen_version(XENVER_platform_parameters, bytes_mut(&mut params))?;
    let mut ci = XenCompileInfo::zeroed();
    hv.xen_version(XENVER_compile_info, bytes_mut(&mut ci))?;
    Ok(VersionInfo {
        major: (word >> 16) as u32 & 0xffff,
        minor: word as u32 & 0xffff,
        extra: string(XENVER_extraversion, 16)?,
        caps: string(XENVER_capabilities, 1024)?,
        changeset: string(XENVER_changeset, 64)?,
        virt_start: params.virt_start,
        pagesize: hv.xen_version(XENVER_pagesize, &mut [])?,
        commandline: string(XENVER_commandline, 1024)?,
        compiler: c_str(&ci.compiler),
        compile_by: c_str(&ci.compile_by),
        compile_domain: c_str(&ci.compile_domain),
        compile_date: c_str(&ci.compile_date),
    })
}
