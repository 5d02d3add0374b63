//! Writing into a domU's memory from dom0: its frames mapped through
//! foreign mappings (`IOCTL_PRIVCMD_MMAPBATCH_V2`), in batches, addressed
//! by pseudo-physical address.

use dom0_abi::DomId;

use super::layout::PAGE;
use super::BuildError;
use crate::hypervisor::Hypervisor;

/// Pages mapped at once.
pub const MAP_BATCH: usize = 1024;

/// A domU's pseudo-physical memory, as seen through its p2m.
pub struct GuestMemory<'a> {
    hv: &'a dyn Hypervisor,
    dom: DomId,
    p2m: &'a [u64],
}

impl<'a> GuestMemory<'a> {
    /// The memory of `dom`, whose PFN `i` is machine frame `p2m[i]`.
    pub fn new(hv: &'a dyn Hypervisor, dom: DomId, p2m: &'a [u64]) -> Self {
        GuestMemory { hv, dom, p2m }
    }

    /// Copy `bytes` to pseudo-physical address `paddr`.
    pub fn write(&self, paddr: u64, bytes: &[u8]) -> Result<(), BuildError> {
        self.fill(paddr, bytes.len() as u64, Some(bytes))
    }

    /// Zero `len` bytes at `paddr`.
    pub fn zero(&self, paddr: u64, len: u64) -> Result<(), BuildError> {
        self.fill(paddr, len, None)
    }

    /// Write `len` bytes at `paddr`: from `src`, or zeros.
    fn fill(&self, paddr: u64, len: u64, src: Option<&[u8]>) -> Result<(), BuildError> {
        if len == 0 {
            return Ok(());
        }
        let first = paddr / PAGE;
        let last = (paddr + len - 1) / PAGE;
        if last >= self.p2m.len() as u64 {
            return Err(BuildError::OutsideMemory { domid: self.dom.0, pfn: last });
        }
        let mut done = 0u64;
        let mut pfn = first;
        while pfn <= last {
            let n = ((last - pfn + 1) as usize).min(MAP_BATCH);
            let mfns = &self.p2m[pfn as usize..pfn as usize + n];
            let mut map = self.hv.map_foreign(self.dom, mfns).map_err(|source| BuildError::Hypervisor {
                step: "mapping guest memory",
                source,
            })?;
            for i in 0..n {
                let this = pfn + i as u64;
                let page_start = this * PAGE;
                let off = (paddr + done).saturating_sub(page_start) as usize;
                let take = ((PAGE as usize - off) as u64).min(len - done) as usize;
                let err = map.error(i);
                let page = map.page_mut(i).ok_or(BuildError::MapFailed { domid: self.dom.0, pfn: this, err })?;
                let dst = &mut page[off..off + take];
                match src {
                    Some(s) => dst.copy_from_slice(&s[done as usize..done as usize + take]),
                    None => dst.fill(0),
                }
                done += take as u64;
            }
            pfn += n as u64;
        }
        Ok(())
    }
}
