//! The byte rings of a `xenstore_domain_interface` page, seen from the
//! daemon's side: requests are consumed from `req`, replies produced into
//! `rsp`, both with free-running indexes masked into 1024-byte buffers.
//!
//! The logic works on any [`RingMemory`]: an in-memory page in tests, a
//! foreign-mapped page (volatile accesses and fences) in the daemon. The
//! other side is untrusted: indexes more than a ring apart are rejected as
//! [`RingError::BadIndex`] and never used to address memory.

use dom0_abi::io::xenstore_ring::{
    mask_xenstore_idx, ring_used, XenstoreDomainInterface, XENSTORE_RING_SIZE,
};

/// The four indexes of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Index {
    /// `req_cons` (ours).
    ReqCons,
    /// `req_prod` (the domain's).
    ReqProd,
    /// `rsp_cons` (the domain's).
    RspCons,
    /// `rsp_prod` (ours).
    RspProd,
}

/// Access to a xenstore page.
pub trait RingMemory {
    /// Reads an index (with acquire ordering for the peer's writes).
    fn load(&self, idx: Index) -> u32;
    /// Writes an index (with release ordering for our data).
    fn store(&mut self, idx: Index, value: u32);
    /// Copies bytes out of the request ring at `offset` (no wrap inside).
    fn read_req(&self, offset: usize, out: &mut [u8]);
    /// Copies bytes into the response ring at `offset` (no wrap inside).
    fn write_rsp(&mut self, offset: usize, data: &[u8]);
}

/// The peer broke the ring protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    /// Producer and consumer indexes are more than a ring apart.
    #[error("inconsistent ring indexes (cons {cons:#x}, prod {prod:#x})")]
    BadIndex {
        /// Consumer index.
        cons: u32,
        /// Producer index.
        prod: u32,
    },
}

/// Consumes every request byte available, appending it to `out`; returns
/// how many were read.
pub fn read_requests(mem: &mut impl RingMemory, out: &mut Vec<u8>) -> Result<usize, RingError> {
    let cons = mem.load(Index::ReqCons);
    let prod = mem.load(Index::ReqProd);
    let avail = ring_used(cons, prod).ok_or(RingError::BadIndex { cons, prod })?;
    let mut done = 0;
    while done < avail {
        let off = mask_xenstore_idx(cons.wrapping_add(done as u32));
        let chunk = (avail - done).min(XENSTORE_RING_SIZE - off);
        let start = out.len();
        out.resize(start + chunk, 0);
        mem.read_req(off, &mut out[start..]);
        done += chunk;
    }
    if done > 0 {
        mem.store(Index::ReqCons, cons.wrapping_add(done as u32));
    }
    Ok(done)
}

/// Writes as much of `data` as fits in the response ring; returns how many
/// bytes were written.
pub fn write_responses(mem: &mut impl RingMemory, data: &[u8]) -> Result<usize, RingError> {
    let cons = mem.load(Index::RspCons);
    let prod = mem.load(Index::RspProd);
    let used = ring_used(cons, prod).ok_or(RingError::BadIndex { cons, prod })?;
    let n = data.len().min(XENSTORE_RING_SIZE - used);
    let mut done = 0;
    while done < n {
        let off = mask_xenstore_idx(prod.wrapping_add(done as u32));
        let chunk = (n - done).min(XENSTORE_RING_SIZE - off);
        mem.write_rsp(off, &data[done..done + chunk]);
        done += chunk;
    }
    if n > 0 {
        mem.store(Index::RspProd, prod.wrapping_add(n as u32));
    }
    Ok(n)
}

impl RingMemory for XenstoreDomainInterface {
    fn load(&self, idx: Index) -> u32 {
        match idx {
            Index::ReqCons => self.req_cons,
            Index::ReqProd => self.req_prod,
            Index::RspCons => self.rsp_cons,
            Index::RspProd => self.rsp_prod,
        }
    }

    fn store(&mut self, idx: Index, value: u32) {
        match idx {
            Index::ReqCons => self.req_cons = value,
            Index::ReqProd => self.req_prod = value,
            Index::RspCons => self.rsp_cons = value,
            Index::RspProd => self.rsp_prod = value,
        }
    }

    fn read_req(&self, offset: usize, out: &mut [u8]) {
        out.copy_from_slice(&self.req[offset..offset + out.len()]);
    }

    fn write_rsp(&mut self, offset: usize, data: &[u8]) {
        self.rsp[offset..offset + data.len()].copy_from_slice(data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dom0_abi::Pod;

    /// The guest side, for tests: put request bytes in, take replies out.
    fn guest_send(page: &mut XenstoreDomainInterface, data: &[u8]) {
        for &b in data {
            page.req[mask_xenstore_idx(page.req_prod)] = b;
            page.req_prod = page.req_prod.wrapping_add(1);
        }
    }

    fn guest_take(page: &mut XenstoreDomainInterface) -> Vec<u8> {
        let mut out = Vec::new();
        while page.rsp_cons != page.rsp_prod {
            out.push(page.rsp[mask_xenstore_idx(page.rsp_cons)]);
            page.rsp_cons = page.rsp_cons.wrapping_add(1);
        }
        out
    }

    #[test]
    fn requests_wrap_around() {
        let mut page = XenstoreDomainInterface::zeroed();
        page.req_cons = u32::MAX - 10;
        page.req_prod = u32::MAX - 10;
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        guest_send(&mut page, &data);
        let mut got = Vec::new();
        assert_eq!(read_requests(&mut page, &mut got), Ok(1000));
        assert_eq!(got, data);
        assert_eq!(read_requests(&mut page, &mut got), Ok(0));
    }

    #[test]
    fn responses_respect_space() {
        let mut page = XenstoreDomainInterface::zeroed();
        page.rsp_cons = 1000;
        page.rsp_prod = 1000;
        let data: Vec<u8> = (0..1500u32).map(|i| (i * 7) as u8).collect();
        assert_eq!(write_responses(&mut page, &data), Ok(1024));
        assert_eq!(write_responses(&mut page, &data[1024..]), Ok(0));
        let mut seen = guest_take(&mut page);
        assert_eq!(write_responses(&mut page, &data[1024..]), Ok(476));
        seen.extend(guest_take(&mut page));
        assert_eq!(seen, data);
    }

    #[test]
    fn bad_indexes_rejected() {
        let mut page = XenstoreDomainInterface::zeroed();
        page.req_prod = 5000;
        assert!(matches!(
            read_requests(&mut page, &mut Vec::new()),
            Err(RingError::BadIndex { .. })
        ));
        page.rsp_prod = 2000;
        assert!(write_responses(&mut page, b"x").is_err());
    }
}
