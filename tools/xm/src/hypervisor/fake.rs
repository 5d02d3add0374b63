//! An in-memory [`Hypervisor`] for host tests: a few domains, a console
//! ring and version strings, answering sysctl/domctl/xen_version the way
//! Xen 4.17 does (including `EACCES` on an interface version mismatch and
//! `ESRCH` for a missing domain).
//!
//! For the domain builder it is also a small fake machine: machine frames
//! with owners and contents ([`FakeFrame`]), `createdomain` (paused, with a
//! shared-info frame), `max_vcpus`/`max_mem` limits, `populate_physmap`
//! giving out frames against physinfo's free pages, foreign mappings that
//! copy frames in and write them back when dropped, L4 pinning, vCPU
//! contexts, unbound event channels, and `destroydomain` freeing everything
//! the domain owned. Tests inject failures through [`FakeFaults`].

#![allow(non_upper_case_globals)]

use std::cell::RefCell;
use std::collections::BTreeMap;

use dom0_abi::arch_x86::VcpuGuestContext;
use dom0_abi::domctl::{
    XenDomctl, XenDomctlGetdomaininfo, XenDomctlSchedCredit, XEN_DOMCTL_INTERFACE_VERSION, XEN_DOMCTL_SCHEDOP_getinfo,
    XEN_DOMCTL_SCHEDOP_putinfo, XEN_DOMCTL_createdomain, XEN_DOMCTL_destroydomain, XEN_DOMCTL_getdomaininfo,
    XEN_DOMCTL_getvcpuinfo, XEN_DOMCTL_hypercall_init, XEN_DOMCTL_max_mem, XEN_DOMCTL_max_vcpus,
    XEN_DOMCTL_pausedomain, XEN_DOMCTL_scheduler_op, XEN_DOMCTL_unpausedomain, XEN_DOMINF_paused,
    XEN_SCHEDULER_CREDIT,
};
use dom0_abi::mmu::{MmuextOp, MMUEXT_PIN_L4_TABLE};
use dom0_abi::sysctl::{
    XenSysctl, XenSysctlPhysinfo, XEN_SYSCTL_INTERFACE_VERSION, XEN_SYSCTL_getdomaininfolist, XEN_SYSCTL_physinfo,
    XEN_SYSCTL_readconsole, XEN_SYSCTL_sched_id,
};
use dom0_abi::xen_version::*;
use dom0_abi::{DomId, Errno};

use super::{Affinity, ForeignPages, HvErrno, HvError, Hypervisor};

/// Size of a machine frame.
const PAGE: usize = 4096;

/// One fake domain.
#[derive(Clone, Debug, Default)]
pub struct FakeDomain {
    /// What getdomaininfo reports.
    pub info: XenDomctlGetdomaininfo,
    /// Credit parameters.
    pub credit: XenDomctlSchedCredit,
    /// `max_vcpus` given at createdomain.
    pub max_vcpus: u32,
    /// Guest frame -> machine frame, as populated.
    pub p2m: BTreeMap<u64, u64>,
    /// Contexts set with setvcpucontext, by vCPU.
    pub vcpu_contexts: BTreeMap<u32, Box<VcpuGuestContext>>,
    /// Machine frames pinned as L4 tables.
    pub pinned_l4: Vec<u64>,
    /// Unbound event channels: (port, remote domain).
    pub evtchns: Vec<(u32, DomId)>,
    /// Machine frame given to hypercall_init.
    pub hypercall_page: Option<u64>,
    /// Hard affinity set with setvcpuaffinity, by vCPU (bit per cpu; a
    /// vCPU not here may run anywhere).
    pub hard_affinity: BTreeMap<u32, Vec<u8>>,
}

/// A machine frame of the fake.
#[derive(Clone, Debug)]
pub struct FakeFrame {
    /// Owning domain.
    pub owner: DomId,
    /// A hypervisor page shared with the domain (shared info): not
    /// counted in the domain's pages or the free pages.
    pub xenheap: bool,
    /// Contents.
    pub data: Box<[u8; PAGE]>,
}

/// Failures a test can make the fake produce.
#[derive(Clone, Debug, Default)]
pub struct FakeFaults {
    /// `createdomain` fails with this.
    pub createdomain: Option<Errno>,
    /// `populate_physmap` hands out at most this many more frames, then
    /// stops short (as Xen does when memory runs out).
    pub populate_limit: Option<u64>,
    /// Every mmuext_op fails with this.
    pub mmuext: Option<Errno>,
    /// setvcpucontext fails with this.
    pub setvcpucontext: Option<Errno>,
    /// alloc_unbound fails with this.
    pub alloc_unbound: Option<Errno>,
    /// Foreign mapping of these machine frames fails per page (`-EFAULT`).
    pub unmappable: Vec<u64>,
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
    /// Machine frames in use, by MFN.
    pub frames: BTreeMap<u64, FakeFrame>,
    /// Next MFN to hand out (0 means the default, 0x10000).
    pub next_mfn: u64,
    /// Injected failures.
    pub faults: FakeFaults,
}

impl FakeState {
    /// A fresh zeroed frame owned by `owner`; ordinary frames are taken
    /// from physinfo's free pages (`None` when there are none left).
    fn alloc_frame(&mut self, owner: DomId, xenheap: bool) -> Option<u64> {
        if !xenheap {
            if self.physinfo.free_pages == 0 {
                return None;
            }
            self.physinfo.free_pages -= 1;
        }
        if self.next_mfn == 0 {
            self.next_mfn = 0x10000;
        }
        let mfn = self.next_mfn;
        self.next_mfn += 1;
        self.frames.insert(mfn, FakeFrame { owner, xenheap, data: Box::new([0; PAGE]) });
        Some(mfn)
    }

    /// Frames owned by `dom` (ordinary and shared).
    pub fn frames_of(&self, dom: DomId) -> usize {
        self.frames.values().filter(|f| f.owner == dom).count()
    }

    /// Contents of machine frame `mfn`.
    pub fn frame(&self, mfn: u64) -> Option<&[u8; PAGE]> {
        self.frames.get(&mfn).map(|f| &*f.data)
    }

    /// Domain `dom`.
    pub fn domain(&self, dom: DomId) -> Option<&FakeDomain> {
        self.domains.iter().find(|d| d.info.domain == dom)
    }

    fn domain_mut(&mut self, dom: DomId) -> Result<&mut FakeDomain, HvError> {
        self.domains.iter_mut().find(|d| d.info.domain == dom).ok_or_else(|| FakeHypervisor::fail("domctl", Errno::ESRCH))
    }

    /// Remove `dom` and free every frame it owns.
    fn destroy(&mut self, dom: DomId) {
        self.domains.retain(|d| d.info.domain != dom);
        let freed: Vec<u64> = self.frames.iter().filter(|(_, f)| f.owner == dom).map(|(&m, _)| m).collect();
        for mfn in freed {
            if let Some(f) = self.frames.remove(&mfn) {
                if !f.xenheap {
                    self.physinfo.free_pages += 1;
                }
            }
        }
    }

    /// `XEN_DOMCTL_createdomain`: the lowest free id from 1, paused, with a
    /// shared-info frame.
    fn create(&mut self, op: &mut XenDomctl) -> Result<(), HvError> {
        if let Some(e) = self.faults.createdomain {
            return Err(FakeHypervisor::fail("domctl", e));
        }
        // SAFETY: the member selected by `cmd`, plain old data.
        let cfg = unsafe { op.u.createdomain };
        // Unknown flags or no vcpus: refused, as Xen does.
        let known = (dom0_abi::domctl::XEN_DOMCTL_CDF_MAX << 1) - 1;
        if cfg.max_vcpus == 0 || cfg.flags & !known != 0 {
            return Err(FakeHypervisor::fail("domctl", Errno::EINVAL));
        }
        let id = (1..dom0_abi::xen::DOMID_FIRST_RESERVED)
            .find(|&i| self.domain(DomId(i)).is_none())
            .ok_or_else(|| FakeHypervisor::fail("domctl", Errno::ENOMEM))?;
        let dom = DomId(id);
        let shared = self.alloc_frame(dom, true).expect("shared frames are not counted");
        self.domains.push(FakeDomain {
            info: XenDomctlGetdomaininfo {
                domain: dom,
                flags: XEN_DOMINF_paused,
                shared_info_frame: shared,
                max_vcpu_id: cfg.max_vcpus - 1,
                handle: cfg.handle,
                ..Default::default()
            },
            credit: XenDomctlSchedCredit { weight: 256, cap: 0 },
            max_vcpus: cfg.max_vcpus,
            ..Default::default()
        });
        self.domains.sort_by_key(|d| d.info.domain);
        op.domain = dom;
        Ok(())
    }
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
            ..Default::default()
        };
        let physinfo = XenSysctlPhysinfo {
            threads_per_core: 1,
            cores_per_socket: 2,
            nr_cpus: 2,
            max_cpu_id: 1,
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
        match op.cmd {
            XEN_DOMCTL_createdomain => return st.create(op),
            XEN_DOMCTL_getdomaininfo => {
                // Xen answers with the first domain at or above the id.
                let d = st.domains.iter().find(|d| d.info.domain >= op.domain).ok_or_else(|| Self::fail("domctl", Errno::ESRCH))?;
                op.domain = d.info.domain;
                op.u.getdomaininfo = d.info;
                return Ok(());
            }
            XEN_DOMCTL_destroydomain => {
                st.domain_mut(op.domain)?;
                st.destroy(op.domain);
                return Ok(());
            }
            XEN_DOMCTL_hypercall_init => {
                // SAFETY: the member selected by `cmd`, plain old data.
                let mfn = unsafe { op.u.hypercall_init.gmfn };
                let dom = op.domain;
                st.domain_mut(dom)?;
                let frame = st.frames.get_mut(&mfn).filter(|f| f.owner == dom && !f.xenheap);
                let frame = frame.ok_or_else(|| Self::fail("domctl", Errno::EINVAL))?;
                fill_hypercall_page(&mut frame.data);
                st.domain_mut(dom)?.hypercall_page = Some(mfn);
                return Ok(());
            }
            _ => {}
        }
        let idx = st.domains.iter().position(|d| d.info.domain == op.domain).ok_or_else(|| Self::fail("domctl", Errno::ESRCH))?;
        let d = &mut st.domains[idx];
        match op.cmd {
            XEN_DOMCTL_pausedomain => d.info.flags |= XEN_DOMINF_paused,
            XEN_DOMCTL_unpausedomain => d.info.flags &= !XEN_DOMINF_paused,
            XEN_DOMCTL_max_vcpus => {
                // SAFETY: the member selected by `cmd`, plain old data.
                if unsafe { op.u.max_vcpus.max } != d.max_vcpus {
                    return Err(Self::fail("domctl", Errno::EINVAL));
                }
            }
            // SAFETY: the member selected by `cmd`, plain old data.
            XEN_DOMCTL_max_mem => d.info.max_pages = unsafe { op.u.max_mem.max_memkb } >> 2,
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

    fn set_vcpu_context(&self, dom: DomId, vcpu: u32, ctx: &VcpuGuestContext) -> Result<(), HvError> {
        let mut st = self.state.borrow_mut();
        st.calls.push(format!("setvcpucontext dom {} vcpu {vcpu}", dom.0));
        if let Some(e) = st.faults.setvcpucontext {
            return Err(Self::fail("domctl", e));
        }
        let d = st.domain_mut(dom)?;
        if vcpu >= d.max_vcpus {
            return Err(Self::fail("domctl", Errno::EINVAL));
        }
        d.vcpu_contexts.insert(vcpu, Box::new(*ctx));
        d.info.nr_online_vcpus = d.info.nr_online_vcpus.max(1);
        Ok(())
    }

    fn vcpu_hard_affinity(&self, op: Affinity, dom: DomId, vcpu: u32, cpumap: &mut [u8]) -> Result<(), HvError> {
        let mut st = self.state.borrow_mut();
        st.calls.push(format!("{op:?}vcpuaffinity dom {} vcpu {vcpu}", dom.0));
        let nr_cpus = st.physinfo.nr_cpus as usize;
        let online = |i: usize| i < nr_cpus;
        let d = st.domain_mut(dom)?;
        if vcpu > d.info.max_vcpu_id {
            return Err(Self::fail("domctl", Errno::EINVAL));
        }
        let bit = |map: &[u8], i: usize| map.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
        if op == Affinity::Set {
            // As Xen: the new map, limited to online cpus, must not be empty.
            let hard: Vec<u8> = (0..nr_cpus.div_ceil(8))
                .map(|byte| (0..8).filter(|b| online(byte * 8 + b) && bit(cpumap, byte * 8 + b)).fold(0u8, |m, b| m | 1 << b))
                .collect();
            if hard.iter().all(|&b| b == 0) {
                return Err(Self::fail("domctl", Errno::EINVAL));
            }
            d.hard_affinity.insert(vcpu, hard);
        }
        let current = d.hard_affinity.get(&vcpu).cloned();
        for (i, byte) in cpumap.iter_mut().enumerate() {
            *byte = (0..8)
                .filter(|b| current.as_deref().map_or(online(i * 8 + b), |m| bit(m, i * 8 + b)))
                .fold(0u8, |m, b| m | 1 << b);
        }
        Ok(())
    }

    fn populate_physmap(&self, dom: DomId, extents: &mut [u64]) -> Result<usize, HvError> {
        let mut st = self.state.borrow_mut();
        st.calls.push(format!("populate_physmap dom {} n {}", dom.0, extents.len()));
        st.domain(dom).ok_or(HvError::Hypercall { op: "XENMEM_populate_physmap", errno: HvErrno::Known(Errno::ESRCH) })?;
        let mut done = 0;
        for e in extents.iter_mut() {
            let d = st.domain(dom).expect("checked above");
            if d.info.tot_pages >= d.info.max_pages || st.faults.populate_limit == Some(0) {
                break;
            }
            let Some(mfn) = st.alloc_frame(dom, false) else { break };
            if let Some(l) = st.faults.populate_limit.as_mut() {
                *l -= 1;
            }
            let d = st.domain_mut(dom)?;
            d.info.tot_pages += 1;
            d.p2m.insert(*e, mfn);
            *e = mfn;
            done += 1;
        }
        Ok(done)
    }

    fn mmuext_op(&self, ops: &[MmuextOp], foreigndom: DomId) -> Result<(), HvError> {
        let mut st = self.state.borrow_mut();
        st.calls.push(format!("mmuext_op n {} foreigndom {}", ops.len(), foreigndom.0));
        let fail = |e| HvError::Hypercall { op: "mmuext_op", errno: HvErrno::Known(e) };
        if let Some(e) = st.faults.mmuext {
            return Err(fail(e));
        }
        for op in ops {
            if op.cmd != MMUEXT_PIN_L4_TABLE {
                return Err(fail(Errno::ENOSYS));
            }
            let mfn = op.mfn();
            let owned = st.frames.get(&mfn).is_some_and(|f| f.owner == foreigndom && !f.xenheap);
            let d = st.domains.iter_mut().find(|d| d.info.domain == foreigndom).ok_or(fail(Errno::ESRCH))?;
            if !owned || d.pinned_l4.contains(&mfn) {
                return Err(fail(Errno::EINVAL));
            }
            d.pinned_l4.push(mfn);
        }
        Ok(())
    }

    fn evtchn_alloc_unbound(&self, dom: DomId, remote: DomId) -> Result<u32, HvError> {
        let mut st = self.state.borrow_mut();
        st.calls.push(format!("alloc_unbound dom {} remote {}", dom.0, remote.0));
        let fail = |e| HvError::Hypercall { op: "EVTCHNOP_alloc_unbound", errno: HvErrno::Known(e) };
        if let Some(e) = st.faults.alloc_unbound {
            return Err(fail(e));
        }
        let d = st.domains.iter_mut().find(|d| d.info.domain == dom).ok_or(fail(Errno::ESRCH))?;
        // Port 0 is never handed out.
        let port = d.evtchns.len() as u32 + 1;
        d.evtchns.push((port, remote));
        Ok(port)
    }

    fn map_foreign(&self, dom: DomId, mfns: &[u64]) -> Result<Box<dyn ForeignPages + '_>, HvError> {
        let mut st = self.state.borrow_mut();
        st.calls.push(format!("map_foreign dom {} n {}", dom.0, mfns.len()));
        if mfns.is_empty() {
            return Err(HvError::Io { what: "mapping no pages".into(), source: std::io::ErrorKind::InvalidInput.into() });
        }
        let pages = mfns
            .iter()
            .map(|m| match st.frames.get(m) {
                Some(f) if f.owner == dom && !st.faults.unmappable.contains(m) => Ok(f.data.clone()),
                _ => Err(Errno::EFAULT.as_neg() as i32),
            })
            .collect();
        Ok(Box::new(FakeMapping { hv: self, mfns: mfns.to_vec(), pages }))
    }
}

/// Xen's x86-64 PV hypercall page: for hypercall `i`, at `i * 32`,
/// `push %rcx; push %r11; mov $i, %eax; syscall; pop %r11; pop %rcx; ret`.
fn fill_hypercall_page(page: &mut [u8; PAGE]) {
    for (i, stub) in page.chunks_exact_mut(32).enumerate() {
        stub.fill(0xcc);
        stub[..3].copy_from_slice(&[0x51, 0x41, 0x53]);
        stub[3] = 0xb8;
        stub[4..8].copy_from_slice(&(i as u32).to_le_bytes());
        stub[8..15].copy_from_slice(&[0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3, 0xcc]);
    }
}

/// A fake foreign mapping: copies of the frames, written back on drop.
struct FakeMapping<'a> {
    hv: &'a FakeHypervisor,
    mfns: Vec<u64>,
    pages: Vec<Result<Box<[u8; PAGE]>, i32>>,
}

impl ForeignPages for FakeMapping<'_> {
    fn len(&self) -> usize {
        self.pages.len()
    }

    fn page_mut(&mut self, i: usize) -> Option<&mut [u8]> {
        self.pages.get_mut(i)?.as_mut().ok().map(|p| &mut p[..])
    }

    fn page(&self, i: usize) -> Option<&[u8]> {
        self.pages.get(i)?.as_ref().ok().map(|p| &p[..])
    }

    fn error(&self, i: usize) -> i32 {
        self.pages.get(i).map_or(Errno::EINVAL.as_neg() as i32, |p| p.as_ref().err().copied().unwrap_or(0))
    }
}

impl Drop for FakeMapping<'_> {
    fn drop(&mut self) {
        let mut st = self.hv.state.borrow_mut();
        for (mfn, page) in self.mfns.iter().zip(&self.pages) {
            if let (Some(f), Ok(p)) = (st.frames.get_mut(mfn), page) {
                f.data.copy_from_slice(&p[..]);
            }
        }
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
