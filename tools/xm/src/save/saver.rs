//! A PV domain to a migration stream, as libxc's x86 PV saver writes it:
//! X86_PV_INFO, STATIC_DATA_END, X86_PV_P2M_FRAMES, PAGE_DATA batches
//! (page tables canonicalised), X86_TSC_INFO, SHARED_INFO, the vcpu
//! records (BASIC canonicalised, EXTENDED, XSAVE, MSRS) and END.
//!
//! [`Saver::new`] reads the guest's p2m through the frame-list-list the
//! guest publishes in its shared-info page; the reverse map (MFN → PFN)
//! comes from that p2m, so only the guest's own frames canonicalise.
//! Pages can be written in any order and more than once (live rounds);
//! a page table that cannot be canonicalised while the guest runs is
//! deferred to the final round, as libxc does.

use std::collections::HashMap;
use std::io::Write;

use dom0_abi::arch_x86::VcpuGuestContext;
use dom0_abi::domctl::{DomctlCmd, XenDomctl};
use dom0_abi::xen::SharedInfo;
use dom0_abi::{DomId, Pod};

use super::pagetable::{self, Keys, PtError};
use super::progress::Progress;
use super::stream::{self, pfinfo, rec, PageData, P2mFrames, PvInfo, Record, StreamError, TscInfo, VcpuBlob};
use crate::hypervisor::{HvError, Hypervisor};

/// A p2m entry with no frame.
pub const INVALID_MFN: u64 = u64::MAX;
/// Entries per p2m frame of a 64-bit guest.
const FPP: usize = 512;
/// `FIRST_RESERVED_GDT_ENTRY`: GDT entries a PV guest may use.
const FIRST_RESERVED_GDT_ENTRY: u64 = 14 * 512;

/// Why a domain could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// A hypervisor call failed.
    #[error("{step}: {source}")]
    Hypervisor {
        /// What was being done.
        step: &'static str,
        /// The failure.
        source: HvError,
    },
    /// The guest's p2m cannot be read.
    #[error("domain {domid}: {what}")]
    P2m {
        /// The domain.
        domid: u16,
        /// What is wrong.
        what: String,
    },
    /// A page table of the suspended guest cannot be canonicalised.
    #[error("page table at pfn {pfn:#x}: {source}")]
    PageTable {
        /// Its PFN.
        pfn: u64,
        /// Why.
        source: PtError,
    },
    /// A guest page could not be mapped.
    #[error("mapping pfn {pfn:#x} (mfn {mfn:#x}) failed with error {err}")]
    Map {
        /// The PFN.
        pfn: u64,
        /// The MFN.
        mfn: u64,
        /// Xen's error.
        err: i32,
    },
    /// A vcpu context holds a frame outside the guest.
    #[error("vcpu {vcpu}: {what} frame {mfn:#x} is not part of the guest")]
    VcpuFrame {
        /// The vcpu.
        vcpu: u32,
        /// Which field.
        what: &'static str,
        /// The frame.
        mfn: u64,
    },
    /// Writing the stream failed.
    #[error(transparent)]
    Stream(#[from] StreamError),
}

fn failed(step: &'static str) -> impl FnOnce(HvError) -> SaveError {
    move |source| SaveError::Hypervisor { step, source }
}

/// Bytes of a plain-old-data value.
pub(crate) fn bytes_of<T: Pod>(v: &T) -> &[u8] {
    // SAFETY: `T: Pod` may be read as bytes; the slice borrows `v`.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}

/// What is known of a domain being saved.
pub struct Saver<'a> {
    hv: &'a dyn Hypervisor,
    dom: DomId,
    /// PFN → MFN, [`INVALID_MFN`] where the guest has no frame.
    pub p2m: Vec<u64>,
    m2p: HashMap<u64, u64>,
    p2m_frame_pfns: Vec<u64>,
    max_vcpu_id: u32,
    /// What canonicalisation does with L1 key bits: [`Keys::Strip`] once
    /// log-dirty mode is on (see [`pagetable`]).
    pub keys: Keys,
}

impl<'a> Saver<'a> {
    /// Read the p2m of `dom` (running or suspended).
    pub fn new(hv: &'a dyn Hypervisor, dom: DomId) -> Result<Self, SaveError> {
        let info = hv.getdomaininfo(dom).map_err(failed("reading the domain's info"))?;
        let shinfo = read_shared_info(hv, dom, info.shared_info_frame)?;
        let si = SharedInfo::read_from(&shinfo).expect("a page holds the shared info");
        let p2m_err = |what: String| SaveError::P2m { domid: dom.0, what };
        let nr = si.arch.max_pfn;
        if nr == 0 || nr > (1 << 30) {
            return Err(p2m_err(format!("guest publishes no usable p2m size (arch.max_pfn = {nr:#x})")));
        }
        let fll_mfn = si.arch.pfn_to_mfn_frame_list_list;
        if fll_mfn == 0 || fll_mfn == u64::MAX {
            return Err(p2m_err("guest publishes no p2m frame list list (has its kernel booted?)".into()));
        }
        let max_pfn = nr - 1;
        let fll_entries = max_pfn as usize / (FPP * FPP) + 1;
        let leaves = max_pfn as usize / FPP + 1;
        let read_mfns = |mfns: &[u64], count: usize, what: &str| -> Result<Vec<u64>, SaveError> {
            let map = hv.map_foreign_ro(dom, mfns).map_err(failed("mapping the guest's p2m"))?;
            let mut out = Vec::with_capacity(count);
            for (i, mfn) in mfns.iter().enumerate() {
                let page = map.page(i).ok_or_else(|| p2m_err(format!("cannot map {what} frame {mfn:#x}")))?;
                out.extend(page.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8"))));
            }
            out.truncate(count);
            Ok(out)
        };
        let fll = read_mfns(&[fll_mfn], fll_entries, "frame list list")?;
        let fl = read_mfns(&fll, leaves, "frame list")?;
        let mut p2m = read_mfns(&fl, leaves * FPP, "p2m")?;
        p2m.truncate(nr as usize);
        let mut m2p = HashMap::with_capacity(p2m.len());
        for (pfn, mfn) in p2m.iter_mut().enumerate() {
            // Missing, identity and foreign entries carry high bits.
            if *mfn >> 40 != 0 || m2p.insert(*mfn, pfn as u64).is_some() {
                *mfn = INVALID_MFN;
            }
        }
        let p2m_frame_pfns = fl
            .iter()
            .map(|m| m2p.get(m).copied().ok_or_else(|| p2m_err(format!("p2m frame {m:#x} is not in the p2m"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Saver { hv, dom, p2m, m2p, p2m_frame_pfns, max_vcpu_id: info.max_vcpu_id, keys: Keys::Keep })
    }

    /// Highest PFN.
    pub fn max_pfn(&self) -> u64 {
        self.p2m.len() as u64 - 1
    }

    /// PFNs with a frame.
    pub fn populated(&self) -> Vec<u64> {
        (0..self.p2m.len() as u64).filter(|&p| self.p2m[p as usize] != INVALID_MFN).collect()
    }

    fn pfn_of(&self, mfn: u64) -> Option<u64> {
        self.m2p.get(&mfn).copied()
    }

    /// X86_PV_INFO, STATIC_DATA_END, X86_PV_P2M_FRAMES.
    pub fn write_start(&self, w: &mut dyn Write) -> Result<(), SaveError> {
        PvInfo { guest_width: 8, pt_levels: 4 }.encode().write(w)?;
        Record::new(rec::STATIC_DATA_END, Vec::new()).write(w)?;
        let frames = P2mFrames { start_pfn: 0, end_pfn: self.max_pfn() as u32, pfns: self.p2m_frame_pfns.clone() };
        frames.encode().write(w)?;
        Ok(())
    }

    /// PAGE_DATA records for `pfns`. With `live`, page tables that do not
    /// canonicalise (the guest is changing them) and pages that do not map
    /// are left out and returned, to be sent after the guest stopped;
    /// otherwise they are errors.
    pub fn write_pages(&self, w: &mut dyn Write, pfns: &[u64], live: bool, progress: &Progress) -> Result<Vec<u64>, SaveError> {
        let mut deferred = Vec::new();
        for batch in pfns.chunks(stream::MAX_BATCH) {
            deferred.extend(self.write_batch(w, batch, live)?);
            progress.inc(batch.len() as u64);
        }
        Ok(deferred)
    }

    fn write_batch(&self, w: &mut dyn Write, pfns: &[u64], live: bool) -> Result<Vec<u64>, SaveError> {
        let mfns: Vec<u64> = pfns.iter().map(|&p| self.p2m.get(p as usize).copied().unwrap_or(INVALID_MFN)).collect();
        let valid: Vec<usize> = (0..pfns.len()).filter(|&i| mfns[i] != INVALID_MFN).collect();
        let mut types = vec![pfinfo::XTAB; pfns.len()];
        if !valid.is_empty() {
            let mut arr: Vec<u8> = valid.iter().flat_map(|&i| mfns[i].to_le_bytes()).collect();
            let mut op = XenDomctl::new(DomctlCmd::Getpageframeinfo3, self.dom);
            op.u.getpageframeinfo3.num = valid.len() as u64;
            self.hv.domctl_with_data(&mut op, &mut arr).map_err(failed("reading page types"))?;
            for (k, &i) in valid.iter().enumerate() {
                let t = u64::from_le_bytes(arr[k * 8..k * 8 + 8].try_into().expect("8"));
                types[i] = ((t >> 28) & 0xf) as u8;
            }
        }
        let with_data: Vec<usize> = (0..pfns.len()).filter(|&i| pfinfo::has_data(types[i])).collect();
        let map_mfns: Vec<u64> = with_data.iter().map(|&i| mfns[i]).collect();
        let mut deferred = Vec::new();
        let mut pd = PageData { pfns: Vec::with_capacity(pfns.len()), data: Vec::with_capacity(with_data.len() * 4096) };
        let map = if map_mfns.is_empty() {
            None
        } else {
            Some(self.hv.map_foreign_ro(self.dom, &map_mfns).map_err(failed("mapping guest pages"))?)
        };
        let mut k = 0;
        for i in 0..pfns.len() {
            let t = types[i];
            if !pfinfo::has_data(t) {
                pd.pfns.push((pfns[i], t));
                continue;
            }
            let map = map.as_ref().expect("mapped when a page has data");
            let Some(page) = map.page(k) else {
                if live {
                    deferred.push(pfns[i]);
                    k += 1;
                    continue;
                }
                return Err(SaveError::Map { pfn: pfns[i], mfn: mfns[i], err: map.error(k) });
            };
            k += 1;
            let mut copy = page.to_vec();
            let level = pfinfo::level(t);
            if level > 0 {
                if let Err(source) = pagetable::canonicalise(&mut copy, level, self.keys, &|m| self.pfn_of(m)) {
                    if live {
                        deferred.push(pfns[i]);
                        continue;
                    }
                    return Err(SaveError::PageTable { pfn: pfns[i], source });
                }
            }
            pd.pfns.push((pfns[i], t));
            pd.data.extend_from_slice(&copy);
        }
        if !pd.pfns.is_empty() {
            pd.encode().write(w)?;
        }
        Ok(deferred)
    }

    /// X86_TSC_INFO, SHARED_INFO, the vcpu records and END of the
    /// suspended domain.
    pub fn write_end(&self, w: &mut dyn Write) -> Result<(), SaveError> {
        let mut op = XenDomctl::new(DomctlCmd::Gettscinfo, self.dom);
        self.hv.domctl(&mut op).map_err(failed("reading the TSC info"))?;
        // SAFETY: the tsc_info member, plain old data, written by Xen.
        let t = unsafe { op.u.tsc_info };
        TscInfo { mode: t.tsc_mode, khz: t.gtsc_khz, nsec: t.elapsed_nsec, incarnation: t.incarnation }.encode().write(w)?;
        let info = self.hv.getdomaininfo(self.dom).map_err(failed("reading the domain's info"))?;
        let shinfo = read_shared_info(self.hv, self.dom, info.shared_info_frame)?;
        Record::new(rec::SHARED_INFO, shinfo).write(w)?;
        for vcpu in 0..=self.max_vcpu_id {
            let online = crate::ops::vcpu_info(self.hv, self.dom, vcpu).map(|v| v.online != 0).unwrap_or(false);
            if online {
                self.write_vcpu(w, vcpu)?;
            }
        }
        Record::new(rec::END, Vec::new()).write(w)?;
        Ok(())
    }

    fn write_vcpu(&self, w: &mut dyn Write, vcpu: u32) -> Result<(), SaveError> {
        let mut ctx = self.hv.get_vcpu_context(self.dom, vcpu).map_err(failed("reading a vcpu context"))?;
        self.canonicalise_context(vcpu, &mut ctx)?;
        let blob = |rtype, context: Vec<u8>| VcpuBlob { rtype, vcpu_id: vcpu, context }.encode();
        blob(rec::X86_PV_VCPU_BASIC, bytes_of(&ctx).to_vec()).write(w)?;

        let mut op = XenDomctl::new(DomctlCmd::GetExtVcpucontext, self.dom);
        op.u.ext_vcpucontext.vcpu = vcpu;
        self.hv.domctl(&mut op).map_err(failed("reading a vcpu's extended context"))?;
        // SAFETY: the ext_vcpucontext member, plain old data, written by Xen.
        let ext = unsafe { op.u.ext_vcpucontext };
        let n = (ext.size as usize).min(std::mem::size_of_val(&ext));
        if n > 0 {
            blob(rec::X86_PV_VCPU_EXTENDED, bytes_of(&ext)[..n].to_vec()).write(w)?;
        }

        let mut op = XenDomctl::new(DomctlCmd::Getvcpuextstate, self.dom);
        op.u.vcpuextstate.vcpu = vcpu;
        self.hv.domctl_with_data(&mut op, &mut []).map_err(failed("sizing a vcpu's xsave state"))?;
        // SAFETY: the vcpuextstate member, plain old data, written by Xen.
        let (size, mask) = unsafe { (op.u.vcpuextstate.size as usize, op.u.vcpuextstate.xfeature_mask) };
        if size > 0 {
            let mut buf = vec![0u8; size];
            let mut op = XenDomctl::new(DomctlCmd::Getvcpuextstate, self.dom);
            op.u.vcpuextstate.vcpu = vcpu;
            // Xen insists on the size and feature mask it reported.
            op.u.vcpuextstate.size = size as u64;
            op.u.vcpuextstate.xfeature_mask = mask;
            self.hv.domctl_with_data(&mut op, &mut buf).map_err(failed("reading a vcpu's xsave state"))?;
            // Xen says how much it wrote: the size for the vcpu's
            // xcr0_accum, which the restoring side insists on.
            // SAFETY: the vcpuextstate member, plain old data, written by Xen.
            let written = unsafe { op.u.vcpuextstate.size } as usize;
            buf.truncate(written.min(size));
            blob(rec::X86_PV_VCPU_XSAVE, buf).write(w)?;
        }

        let mut op = XenDomctl::new(DomctlCmd::GetVcpuMsrs, self.dom);
        op.u.vcpu_msrs.vcpu = vcpu;
        // A null buffer asks for the count.
        self.hv.domctl(&mut op).map_err(failed("counting a vcpu's MSRs"))?;
        // SAFETY: the vcpu_msrs member, plain old data, written by Xen.
        let count = unsafe { op.u.vcpu_msrs.msr_count } as usize;
        if count > 0 {
            let mut buf = vec![0u8; count * 16];
            let mut op = XenDomctl::new(DomctlCmd::GetVcpuMsrs, self.dom);
            op.u.vcpu_msrs.vcpu = vcpu;
            op.u.vcpu_msrs.msr_count = count as u32;
            self.hv.domctl_with_data(&mut op, &mut buf).map_err(failed("reading a vcpu's MSRs"))?;
            // SAFETY: as above.
            let got = unsafe { op.u.vcpu_msrs.msr_count } as usize;
            buf.truncate(got.min(count) * 16);
            if !buf.is_empty() {
                blob(rec::X86_PV_VCPU_MSRS, buf).write(w)?;
            }
        }
        Ok(())
    }

    /// The frames of a context as guest frames: the start-info MFN in vcpu
    /// 0's `rdx` (the suspend record), GDT frames, CR3 and the user CR1.
    fn canonicalise_context(&self, vcpu: u32, ctx: &mut VcpuGuestContext) -> Result<(), SaveError> {
        let pfn = |what, mfn| self.pfn_of(mfn).ok_or(SaveError::VcpuFrame { vcpu, what, mfn });
        if vcpu == 0 {
            ctx.user_regs.rdx = pfn("start info", ctx.user_regs.rdx)?;
        }
        if ctx.gdt_ents > FIRST_RESERVED_GDT_ENTRY {
            return Err(SaveError::VcpuFrame { vcpu, what: "GDT entry count", mfn: ctx.gdt_ents });
        }
        for i in 0..ctx.gdt_ents.div_ceil(512) as usize {
            ctx.gdt_frames[i] = pfn("GDT", ctx.gdt_frames[i])?;
        }
        ctx.ctrlreg[3] = pfn("CR3", ctx.ctrlreg[3] >> 12)? << 12;
        if ctx.ctrlreg[1] != 0 {
            ctx.ctrlreg[1] = 1 | (pfn("user CR3", ctx.ctrlreg[1] >> 12)? << 12);
        }
        Ok(())
    }
}

/// A copy of the domain's shared-info page.
fn read_shared_info(hv: &dyn Hypervisor, dom: DomId, frame: u64) -> Result<Vec<u8>, SaveError> {
    let map = hv.map_foreign_ro(dom, &[frame]).map_err(failed("mapping the shared-info page"))?;
    map.page(0).map(<[u8]>::to_vec).ok_or(SaveError::Map { pfn: u64::MAX, mfn: frame, err: map.error(0) })
}

/// Save a suspended domain: every page, then its state.
pub fn save_suspended(saver: &Saver<'_>, w: &mut dyn Write, progress: &Progress) -> Result<u64, SaveError> {
    saver.write_start(w)?;
    let pfns: Vec<u64> = (0..=saver.max_pfn()).collect();
    saver.write_pages(w, &pfns, false, progress)?;
    saver.write_end(w)?;
    Ok(pfns.len() as u64)
}
