//! A migration stream to a PV domain, as libxc's x86 PV restorer does it:
//! the domain is created paused, pages are populated as PAGE_DATA
//! records name them (page tables localised, PFN → new MFN), the shared
//! info's vcpu and arch parts are taken over (pending events cleared, all
//! masked), and at END the guest's p2m frames are rewritten with the new
//! MFNs, the pinned page tables pinned, the start info given the new
//! store and console rings and event channels, and the vcpus' contexts
//! set with their frames localised.
//!
//! [`Restorer`] takes records one at a time, so the same code serves a
//! file ([`crate::save`] commands) and a migration socket. Whatever fails,
//! the caller destroys the domain ([`Restorer::domid`]).

use dom0_abi::arch_x86::{VcpuGuestContext, VGCF_online};
use dom0_abi::domctl::{DomctlCmd, XenDomctl};
use dom0_abi::mmu::{MmuextCmd, MmuextOp};
use dom0_abi::xen::{SharedInfo, StartInfo};
use dom0_abi::{DomId, Pod};

use super::pagetable;
use super::saver::{bytes_of, INVALID_MFN};
use super::stream::{self, pfinfo, rec, PageData, P2mFrames, PvInfo, Record, StreamError, TscInfo, VcpuBlob};
use crate::build::MAXMEM_SLACK_KIB;
use crate::config::DomainConfig;
use crate::hypervisor::{HvError, Hypervisor};

/// Why a stream could not be restored.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The stream is malformed.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// A hypervisor call failed.
    #[error("{step}: {source}")]
    Hypervisor {
        /// What was being done.
        step: &'static str,
        /// The failure.
        source: HvError,
    },
    /// Xen gave fewer frames than asked.
    #[error("populating the new domain's memory: Xen gave {done} of {wanted} pages (out of memory?)")]
    Populate {
        /// Pages given.
        done: usize,
        /// Pages asked for.
        wanted: usize,
    },
    /// The records disagree with each other.
    #[error("corrupted image: {0}")]
    Inconsistent(String),
}

fn failed(step: &'static str) -> impl FnOnce(HvError) -> RestoreError {
    move |source| RestoreError::Hypervisor { step, source }
}

fn bad(msg: impl Into<String>) -> RestoreError {
    RestoreError::Inconsistent(msg.into())
}

/// The new domain's rings, for xenstore and xenconsoled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rings {
    /// MFN of the xenstore ring.
    pub store_mfn: u64,
    /// The domain's port of the xenstore event channel.
    pub store_evtchn: u32,
    /// MFN of the console ring.
    pub console_mfn: u64,
    /// The domain's port of the console event channel.
    pub console_evtchn: u32,
}

/// A restore in progress.
pub struct Restorer<'a> {
    hv: &'a dyn Hypervisor,
    dom: DomId,
    max_vcpus: u32,
    seen_info: bool,
    p2m: Vec<u64>,
    types: Vec<u8>,
    p2m_frames: Vec<u64>,
    vcpus: Vec<Vec<VcpuBlob>>,
    /// Pages received, counting resends.
    pub pages: u64,
}

impl<'a> Restorer<'a> {
    /// Create the (paused) domain for `cfg`.
    pub fn create(hv: &'a dyn Hypervisor, cfg: &DomainConfig) -> Result<Self, RestoreError> {
        let create = crate::build::createdomain_config(cfg.vcpus);
        let dom = hv.createdomain(&create).map_err(failed("creating the domain"))?;
        let r = Restorer {
            hv,
            dom,
            max_vcpus: cfg.vcpus,
            seen_info: false,
            p2m: Vec::new(),
            types: Vec::new(),
            p2m_frames: Vec::new(),
            vcpus: vec![Vec::new(); cfg.vcpus as usize],
            pages: 0,
        };
        let maxmem_kib = cfg.maxmem_mib.max(cfg.memory_mib) * 1024 + MAXMEM_SLACK_KIB;
        let limits = hv.max_vcpus(dom, cfg.vcpus).and_then(|()| hv.max_mem(dom, maxmem_kib));
        if let Err(e) = limits {
            let _ = hv.destroydomain(dom);
            return Err(RestoreError::Hypervisor { step: "setting the domain's limits", source: e });
        }
        Ok(r)
    }

    /// The new domain.
    pub fn domid(&self) -> DomId {
        self.dom
    }

    /// Take one libxc record; returns true at END.
    pub fn record(&mut self, r: &Record) -> Result<bool, RestoreError> {
        match r.rtype {
            rec::END => return Ok(true),
            rec::X86_PV_INFO => {
                PvInfo::decode(&r.body)?;
                self.seen_info = true;
            }
            rec::STATIC_DATA_END | rec::X86_CPUID_POLICY | rec::X86_MSR_POLICY | rec::VERIFY => {}
            rec::X86_PV_P2M_FRAMES => self.p2m_frames_record(&r.body)?,
            rec::PAGE_DATA => self.page_data(&r.body)?,
            rec::X86_TSC_INFO => {
                let t = TscInfo::decode(&r.body)?;
                let mut op = XenDomctl::new(DomctlCmd::Settscinfo, self.dom);
                op.u.tsc_info.tsc_mode = t.mode;
                op.u.tsc_info.gtsc_khz = t.khz;
                op.u.tsc_info.incarnation = t.incarnation;
                op.u.tsc_info.elapsed_nsec = t.nsec;
                self.hv.domctl(&mut op).map_err(failed("setting the TSC info"))?;
            }
            rec::SHARED_INFO => self.shared_info(&r.body)?,
            rec::X86_PV_VCPU_BASIC | rec::X86_PV_VCPU_EXTENDED | rec::X86_PV_VCPU_XSAVE | rec::X86_PV_VCPU_MSRS => {
                if self.p2m.is_empty() {
                    return Err(bad("vcpu record before X86_PV_P2M_FRAMES"));
                }
                let v = VcpuBlob::decode(r.rtype, &r.body, self.max_vcpus)?;
                if !v.context.is_empty() {
                    self.vcpus[v.vcpu_id as usize].push(v);
                }
            }
            t if t & rec::OPTIONAL != 0 => {}
            t => return Err(bad(format!("unsupported record type {t:#x}"))),
        }
        Ok(false)
    }

    fn p2m_frames_record(&mut self, body: &[u8]) -> Result<(), RestoreError> {
        if !self.seen_info {
            return Err(bad("X86_PV_P2M_FRAMES before X86_PV_INFO"));
        }
        let f = P2mFrames::decode(body)?;
        if f.start_pfn != 0 || !self.p2m.is_empty() {
            return Err(bad("a second or partial X86_PV_P2M_FRAMES record"));
        }
        let nr = f.end_pfn as usize + 1;
        self.p2m = vec![INVALID_MFN; nr];
        self.types = vec![pfinfo::XTAB; nr];
        self.p2m_frames = f.pfns;
        Ok(())
    }

    /// Give frames to the PFNs of `pfns` that have none yet.
    fn populate(&mut self, pfns: &[u64]) -> Result<(), RestoreError> {
        let mut want: Vec<u64> = pfns.iter().copied().filter(|&p| self.p2m[p as usize] == INVALID_MFN).collect();
        want.sort_unstable();
        want.dedup();
        if want.is_empty() {
            return Ok(());
        }
        let mut extents = want.clone();
        let done = self.hv.populate_physmap(self.dom, &mut extents).map_err(failed("populating the domain's memory"))?;
        if done < want.len() {
            return Err(RestoreError::Populate { done, wanted: want.len() });
        }
        for (pfn, mfn) in want.iter().zip(extents) {
            self.p2m[*pfn as usize] = mfn;
        }
        Ok(())
    }

    fn page_data(&mut self, body: &[u8]) -> Result<(), RestoreError> {
        if self.p2m.is_empty() {
            return Err(bad("PAGE_DATA before X86_PV_P2M_FRAMES"));
        }
        let pd = PageData::decode(body, self.p2m.len() as u64 - 1)?;
        let real: Vec<u64> = pd.pfns.iter().filter(|(_, t)| !matches!(*t, pfinfo::XTAB | pfinfo::BROKEN)).map(|p| p.0).collect();
        self.populate(&real)?;
        let mut pages: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut k = 0;
        for &(pfn, t) in &pd.pfns {
            self.types[pfn as usize] = t;
            if pfinfo::has_data(t) {
                pages.push((pfn, pd.data[k * stream::PAGE_SIZE..(k + 1) * stream::PAGE_SIZE].to_vec()));
                k += 1;
            }
        }
        // Page tables may point at frames not sent yet: populate those.
        let mut referenced = Vec::new();
        for (pfn, page) in &pages {
            if pfinfo::level(self.types[*pfn as usize]) > 0 {
                for c in page.chunks_exact(8) {
                    let pte = u64::from_le_bytes(c.try_into().expect("8"));
                    if pte & pagetable::PAGE_PRESENT != 0 {
                        let target = (pte & pagetable::FRAME_MASK) >> 12;
                        if target as usize >= self.p2m.len() {
                            return Err(bad(format!("page table at pfn {pfn:#x} points beyond the guest (pfn {target:#x})")));
                        }
                        referenced.push(target);
                    }
                }
            }
        }
        self.populate(&referenced)?;
        if pages.is_empty() {
            return Ok(());
        }
        let mfns: Vec<u64> = pages.iter().map(|(p, _)| self.p2m[*p as usize]).collect();
        let mut map = self.hv.map_foreign(self.dom, &mfns).map_err(failed("mapping the new domain's pages"))?;
        for (i, (pfn, mut page)) in pages.into_iter().enumerate() {
            let level = pfinfo::level(self.types[pfn as usize]);
            if level > 0 {
                let p2m = &self.p2m;
                pagetable::localise(&mut page, level, &|p| p2m.get(p as usize).copied().filter(|&m| m != INVALID_MFN))
                    .map_err(|e| bad(format!("page table at pfn {pfn:#x}: {e}")))?;
            }
            let err = map.error(i);
            let dst = map.page_mut(i).ok_or_else(|| bad(format!("cannot map pfn {pfn:#x} of the new domain (error {err})")))?;
            dst.copy_from_slice(&page);
            self.pages += 1;
        }
        Ok(())
    }

    fn shared_info(&mut self, body: &[u8]) -> Result<(), RestoreError> {
        if body.len() != stream::PAGE_SIZE {
            return Err(bad(format!("SHARED_INFO of {} bytes", body.len())));
        }
        let old = SharedInfo::read_from(body).expect("a page holds the shared info");
        let info = self.hv.getdomaininfo(self.dom).map_err(failed("reading the new domain's info"))?;
        let mut map = self.hv.map_foreign(self.dom, &[info.shared_info_frame]).map_err(failed("mapping the shared info"))?;
        let err = map.error(0);
        let page = map.page_mut(0).ok_or_else(|| bad(format!("cannot map the new shared info (error {err})")))?;
        let mut new = SharedInfo::read_from(page).expect("a page holds the shared info");
        new.vcpu_info = old.vcpu_info;
        new.arch = old.arch;
        new.arch.pfn_to_mfn_frame_list_list = 0;
        new.evtchn_pending = [0; 64];
        new.evtchn_mask = [u64::MAX; 64];
        for v in new.vcpu_info.iter_mut() {
            v.evtchn_pending_sel = 0;
        }
        page[..std::mem::size_of::<SharedInfo>()].copy_from_slice(bytes_of(&new));
        Ok(())
    }

    fn mfn(&self, pfn: u64, what: &str) -> Result<u64, RestoreError> {
        self.p2m.get(pfn as usize).copied().filter(|&m| m != INVALID_MFN).ok_or_else(|| bad(format!("{what} at pfn {pfn:#x}, which has no page")))
    }

    /// After END: p2m, pins, start info, vcpus. Returns the rings.
    pub fn finish(&mut self) -> Result<Rings, RestoreError> {
        if self.p2m.is_empty() {
            return Err(bad("no X86_PV_P2M_FRAMES record"));
        }
        if !self.vcpus[0].iter().any(|v| v.rtype == rec::X86_PV_VCPU_BASIC) {
            return Err(bad("no X86_PV_VCPU_BASIC record for vcpu 0"));
        }
        let t = std::time::Instant::now();
        self.write_p2m()?;
        log::debug!("restore: p2m written in {} ms", t.elapsed().as_millis());
        self.pin_tables()?;
        log::debug!("restore: page tables pinned {} ms after", t.elapsed().as_millis());
        let store_evtchn = self.hv.evtchn_alloc_unbound(self.dom, DomId(0)).map_err(failed("allocating the xenstore event channel"))?;
        let console_evtchn = self.hv.evtchn_alloc_unbound(self.dom, DomId(0)).map_err(failed("allocating the console event channel"))?;
        let mut rings = Rings { store_mfn: 0, store_evtchn, console_mfn: 0, console_evtchn };
        for vcpu in 0..self.max_vcpus {
            for blob in std::mem::take(&mut self.vcpus[vcpu as usize]) {
                self.set_vcpu_blob(vcpu, &blob, &mut rings)?;
            }
        }
        Ok(rings)
    }

    fn write_p2m(&mut self) -> Result<(), RestoreError> {
        let mfns = self.p2m_frames.iter().map(|&p| self.mfn(p, "p2m frame")).collect::<Result<Vec<_>, _>>()?;
        let mut map = self.hv.map_foreign(self.dom, &mfns).map_err(failed("mapping the guest's p2m"))?;
        for (i, chunk) in self.p2m.chunks(512).enumerate() {
            let err = map.error(i);
            let page = map.page_mut(i).ok_or_else(|| bad(format!("cannot map p2m frame {i} (error {err})")))?;
            let mut bytes = vec![0xffu8; stream::PAGE_SIZE];
            for (j, m) in chunk.iter().enumerate() {
                bytes[j * 8..j * 8 + 8].copy_from_slice(&m.to_le_bytes());
            }
            page.copy_from_slice(&bytes);
        }
        Ok(())
    }

    fn pin_tables(&self) -> Result<(), RestoreError> {
        let mut ops = Vec::new();
        for (pfn, &t) in self.types.iter().enumerate() {
            if t & pfinfo::LPINTAB == 0 || !pfinfo::valid(t) || t >= pfinfo::BROKEN {
                continue;
            }
            let cmd = match pfinfo::level(t) {
                1 => MmuextCmd::PinL1Table,
                2 => MmuextCmd::PinL2Table,
                3 => MmuextCmd::PinL3Table,
                4 => MmuextCmd::PinL4Table,
                _ => continue,
            };
            ops.push(MmuextOp::new(cmd, self.p2m[pfn], 0));
        }
        for batch in ops.chunks(1024) {
            self.hv.mmuext_op(batch, self.dom).map_err(failed("pinning the page tables"))?;
        }
        Ok(())
    }

    fn set_vcpu_blob(&mut self, vcpu: u32, blob: &VcpuBlob, rings: &mut Rings) -> Result<(), RestoreError> {
        match blob.rtype {
            rec::X86_PV_VCPU_BASIC => {
                if blob.context.len() != std::mem::size_of::<VcpuGuestContext>() {
                    return Err(bad(format!("X86_PV_VCPU_BASIC of {} bytes", blob.context.len())));
                }
                let mut ctx = VcpuGuestContext::read_from(&blob.context).expect("length checked");
                if vcpu == 0 {
                    self.start_info(&mut ctx, rings)?;
                }
                ctx.flags |= VGCF_online;
                if ctx.gdt_ents > 14 * 512 {
                    return Err(bad("GDT entry count out of range"));
                }
                for i in 0..ctx.gdt_ents.div_ceil(512) as usize {
                    ctx.gdt_frames[i] = self.mfn(ctx.gdt_frames[i], "GDT frame")?;
                }
                ctx.ctrlreg[3] = self.mfn(ctx.ctrlreg[3] >> 12, "CR3")? << 12;
                if ctx.ctrlreg[1] & 1 != 0 {
                    ctx.ctrlreg[1] = self.mfn(ctx.ctrlreg[1] >> 12, "user CR3")? << 12;
                }
                self.hv.set_vcpu_context(self.dom, vcpu, &ctx).map_err(failed("setting a vcpu context"))
            }
            rec::X86_PV_VCPU_EXTENDED => {
                let mut op = XenDomctl::new(DomctlCmd::SetExtVcpucontext, self.dom);
                // SAFETY: writing plain bytes into the plain-old-data union.
                let u = unsafe { &mut op.u.pad };
                let n = blob.context.len().min(u.len());
                u[..n].copy_from_slice(&blob.context[..n]);
                op.u.ext_vcpucontext.vcpu = vcpu;
                self.hv.domctl(&mut op).map_err(failed("setting a vcpu's extended context"))
            }
            rec::X86_PV_VCPU_XSAVE => {
                let mut buf = blob.context.clone();
                let mut op = XenDomctl::new(DomctlCmd::Setvcpuextstate, self.dom);
                op.u.vcpuextstate.vcpu = vcpu;
                op.u.vcpuextstate.size = buf.len() as u64;
                self.hv.domctl_with_data(&mut op, &mut buf).map_err(failed("setting a vcpu's xsave state"))
            }
            rec::X86_PV_VCPU_MSRS => {
                if !blob.context.len().is_multiple_of(16) {
                    return Err(bad(format!("X86_PV_VCPU_MSRS of {} bytes", blob.context.len())));
                }
                let mut buf = blob.context.clone();
                let mut op = XenDomctl::new(DomctlCmd::SetVcpuMsrs, self.dom);
                op.u.vcpu_msrs.vcpu = vcpu;
                op.u.vcpu_msrs.msr_count = (buf.len() / 16) as u32;
                self.hv.domctl_with_data(&mut op, &mut buf).map_err(failed("setting a vcpu's MSRs"))
            }
            _ => Ok(()),
        }
    }

    /// Vcpu 0's `rdx` names the start-info page (a PFN in the stream):
    /// give it the new rings, event channels and shared info.
    fn start_info(&mut self, ctx: &mut VcpuGuestContext, rings: &mut Rings) -> Result<(), RestoreError> {
        let si_mfn = self.mfn(ctx.user_regs.rdx, "start info")?;
        let info = self.hv.getdomaininfo(self.dom).map_err(failed("reading the new domain's info"))?;
        let mut map = self.hv.map_foreign(self.dom, &[si_mfn]).map_err(failed("mapping the start info"))?;
        let err = map.error(0);
        let page = map.page_mut(0).ok_or_else(|| bad(format!("cannot map the start info (error {err})")))?;
        let mut si = StartInfo::read_from(page).expect("a page holds the start info");
        rings.store_mfn = self.mfn(si.store_mfn, "xenstore ring")?;
        // SAFETY: a domU's start info holds the domU member of the union.
        let console_pfn = unsafe { si.console.domU.mfn };
        rings.console_mfn = self.mfn(console_pfn, "console ring")?;
        si.store_mfn = rings.store_mfn;
        si.store_evtchn = rings.store_evtchn;
        si.console.domU = dom0_abi::xen::StartInfoConsoleDomU { mfn: rings.console_mfn, evtchn: rings.console_evtchn };
        si.nr_pages = self.p2m.len() as u64;
        si.shared_info = info.shared_info_frame << 12;
        si.flags = 0;
        page[..std::mem::size_of::<StartInfo>()].copy_from_slice(bytes_of(&si));
        ctx.user_regs.rdx = si_mfn;
        Ok(())
    }
}

