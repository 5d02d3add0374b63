//! Xen's migration stream v2, as `xl save` writes it: the xl save-file
//! header, the libxl stream (`docs/specs/libxl-migration-stream.pandoc`)
//! and inside its `LIBXC_CONTEXT` record the libxc stream
//! (`docs/specs/libxc-migration-stream.pandoc`, revision 3), x86 PV only.
//!
//! Pure encoding and decoding: [`write_prologue`] / [`read_prologue`] for
//! the headers, [`Record`] for the records of both layers, and typed
//! bodies ([`PageData`], [`PvInfo`], [`P2mFrames`], [`VcpuBlob`],
//! [`TscInfo`]). Integers of the headers' identifying fields are
//! big-endian, everything else little-endian, as the specifications say.
//! Every decoder checks lengths and values: a truncated or corrupted
//! stream is a [`StreamError`], never a panic.

use std::io::{self, Read, Write};

/// `savefileheader_magic` of xl (32 bytes).
pub const XL_MAGIC: &[u8; 32] = b"Xen saved domain, xl format\n \0 \r";
/// `SAVEFILE_BYTEORDER_VALUE`, written in the host's (little-endian) order.
pub const XL_BYTEORDER: u32 = 0x0102_0304;
/// `XL_MANDATORY_FLAG_JSON`: the configuration is libxl JSON.
pub const XL_MANDATORY_FLAG_JSON: u32 = 1 << 0;
/// `XL_MANDATORY_FLAG_STREAMv2`: the stream is libxl migration v2.
pub const XL_MANDATORY_FLAG_STREAMV2: u32 = 1 << 1;

/// libxl stream `ident`: "LibxlFmt".
pub const LIBXL_IDENT: u64 = 0x4c69_6278_6c46_6d74;
/// libxl stream version.
pub const LIBXL_VERSION: u32 = 2;
/// libxl record: end of the stream.
pub const LIBXL_REC_END: u32 = 0;
/// libxl record: the libxc stream follows.
pub const LIBXL_REC_LIBXC_CONTEXT: u32 = 1;

/// libxc image header marker.
pub const LIBXC_MARKER: u64 = u64::MAX;
/// libxc image header id: "XENF".
pub const LIBXC_ID: u32 = 0x5845_4e46;
/// libxc stream version written (3: STATIC_DATA_END is mandatory).
pub const LIBXC_VERSION: u32 = 3;
/// Domain header type: x86 PV.
pub const DHDR_TYPE_X86_PV: u32 = 1;
/// Page size of x86 guests.
pub const PAGE_SIZE: usize = 4096;
/// Page shift of x86 guests.
pub const PAGE_SHIFT: u16 = 12;

/// libxc record types (`REC_TYPE_*`).
pub mod rec {
    /// End of the libxc stream.
    pub const END: u32 = 0x00;
    /// Guest pages.
    pub const PAGE_DATA: u32 = 0x01;
    /// Guest width and page-table levels.
    pub const X86_PV_INFO: u32 = 0x02;
    /// The frames holding the guest's p2m.
    pub const X86_PV_P2M_FRAMES: u32 = 0x03;
    /// `vcpu_guest_context` of one vcpu.
    pub const X86_PV_VCPU_BASIC: u32 = 0x04;
    /// `xen_domctl_ext_vcpucontext` of one vcpu.
    pub const X86_PV_VCPU_EXTENDED: u32 = 0x05;
    /// Extended (xsave) state of one vcpu.
    pub const X86_PV_VCPU_XSAVE: u32 = 0x06;
    /// The shared-info page.
    pub const SHARED_INFO: u32 = 0x07;
    /// TSC mode and frequency.
    pub const X86_TSC_INFO: u32 = 0x08;
    /// MSRs of one vcpu.
    pub const X86_PV_VCPU_MSRS: u32 = 0x0c;
    /// Debug: more memory follows.
    pub const VERIFY: u32 = 0x0d;
    /// Checkpoint marker (Remus/COLO).
    pub const CHECKPOINT: u32 = 0x0e;
    /// End of the static (execution-invariant) data.
    pub const STATIC_DATA_END: u32 = 0x10;
    /// CPUID policy.
    pub const X86_CPUID_POLICY: u32 = 0x11;
    /// MSR policy.
    pub const X86_MSR_POLICY: u32 = 0x12;
    /// Bit set in the type of records a restorer may ignore.
    pub const OPTIONAL: u32 = 0x8000_0000;
}

/// Longest record body accepted (libxc's `REC_LENGTH_MAX` is 128 MiB; no
/// record we read is anywhere near).
pub const MAX_RECORD: u32 = 64 << 20;
/// Most pages in one PAGE_DATA record written (libxc sends batches of 1024).
pub const MAX_BATCH: usize = 1024;

/// Why a stream cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The stream ended early.
    #[error("truncated image: it ends inside {what}")]
    Truncated {
        /// What was being read.
        what: &'static str,
    },
    /// A header or record holds something that cannot be.
    #[error("corrupted image: {0}")]
    Corrupt(String),
    /// Reading or writing failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        source: io::Error,
    },
}

fn corrupt(msg: impl Into<String>) -> StreamError {
    StreamError::Corrupt(msg.into())
}

/// Fill `buf` from `r`; a short read is [`StreamError::Truncated`].
pub fn read_exact(r: &mut dyn Read, buf: &mut [u8], what: &'static str) -> Result<(), StreamError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => StreamError::Truncated { what },
        _ => StreamError::Io { what, source: e },
    })
}

fn write_all(w: &mut dyn Write, buf: &[u8], what: &'static str) -> Result<(), StreamError> {
    w.write_all(buf).map_err(|source| StreamError::Io { what, source })
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// What the headers before the libxc records say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prologue {
    /// The domain configuration carried in xl's optional data (xl config
    /// text, or libxl JSON when `json`).
    pub config: Vec<u8>,
    /// Whether `config` is libxl JSON (`XL_MANDATORY_FLAG_JSON`).
    pub json: bool,
    /// `xen_major` of the domain header.
    pub xen_major: u32,
    /// `xen_minor` of the domain header.
    pub xen_minor: u32,
    /// libxc stream version (2 or 3).
    pub libxc_version: u32,
}

/// Write the xl header (with `config` as xl config text), the libxl
/// header and `LIBXC_CONTEXT` record, and the libxc image and domain
/// headers.
pub fn write_prologue(w: &mut dyn Write, config: &[u8], xen_major: u32, xen_minor: u32) -> Result<(), StreamError> {
    let mut h = Vec::with_capacity(64 + config.len());
    h.extend_from_slice(XL_MAGIC);
    h.extend_from_slice(&XL_BYTEORDER.to_le_bytes());
    h.extend_from_slice(&XL_MANDATORY_FLAG_STREAMV2.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    let optional_len = if config.is_empty() { 0 } else { 4 + config.len() };
    h.extend_from_slice(&(optional_len as u32).to_le_bytes());
    if !config.is_empty() {
        h.extend_from_slice(&(config.len() as u32).to_le_bytes());
        h.extend_from_slice(config);
    }
    // libxl header.
    h.extend_from_slice(&LIBXL_IDENT.to_be_bytes());
    h.extend_from_slice(&LIBXL_VERSION.to_be_bytes());
    h.extend_from_slice(&0u32.to_be_bytes());
    Record::new(LIBXL_REC_LIBXC_CONTEXT, Vec::new()).encode_into(&mut h);
    // libxc image header.
    h.extend_from_slice(&LIBXC_MARKER.to_be_bytes());
    h.extend_from_slice(&LIBXC_ID.to_be_bytes());
    h.extend_from_slice(&LIBXC_VERSION.to_be_bytes());
    h.extend_from_slice(&0u16.to_be_bytes());
    h.extend_from_slice(&[0; 6]);
    // libxc domain header.
    h.extend_from_slice(&DHDR_TYPE_X86_PV.to_le_bytes());
    h.extend_from_slice(&PAGE_SHIFT.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&xen_major.to_le_bytes());
    h.extend_from_slice(&xen_minor.to_le_bytes());
    write_all(w, &h, "writing the image headers")
}

/// Write the end of the libxc stream and of the libxl stream.
pub fn write_epilogue(w: &mut dyn Write) -> Result<(), StreamError> {
    let mut b = Vec::new();
    Record::new(rec::END, Vec::new()).encode_into(&mut b);
    Record::new(LIBXL_REC_END, Vec::new()).encode_into(&mut b);
    write_all(w, &b, "writing the end records")
}

/// Read and check everything [`write_prologue`] writes. Xen's own images
/// (JSON configuration) are accepted too.
pub fn read_prologue(r: &mut dyn Read) -> Result<Prologue, StreamError> {
    let mut h = [0u8; 48];
    read_exact(r, &mut h, "the xl header")?;
    if &h[..32] != XL_MAGIC {
        return Err(corrupt("not a Xen saved domain (no \"Xen saved domain, xl format\" header)"));
    }
    if le32(&h, 32) != XL_BYTEORDER {
        return Err(corrupt("xl header byte order is not little-endian"));
    }
    let mandatory = le32(&h, 36);
    if mandatory & !(XL_MANDATORY_FLAG_JSON | XL_MANDATORY_FLAG_STREAMV2) != 0 {
        return Err(corrupt(format!("unknown mandatory xl flags {mandatory:#x}")));
    }
    if mandatory & XL_MANDATORY_FLAG_STREAMV2 == 0 {
        return Err(corrupt("legacy (pre-v2) save format is not supported"));
    }
    let optional_len = le32(&h, 44) as usize;
    if optional_len > 16 << 20 {
        return Err(corrupt(format!("xl optional data of {optional_len} bytes")));
    }
    let mut opt = vec![0u8; optional_len];
    read_exact(r, &mut opt, "the xl optional data")?;
    let config = if opt.is_empty() {
        Vec::new()
    } else {
        if opt.len() < 4 {
            return Err(corrupt("xl optional data too short"));
        }
        let n = le32(&opt, 0) as usize;
        if n > opt.len() - 4 {
            return Err(corrupt("xl configuration longer than the optional data"));
        }
        opt[4..4 + n].to_vec()
    };

    let mut l = [0u8; 16];
    read_exact(r, &mut l, "the libxl header")?;
    if u64::from_be_bytes(l[..8].try_into().expect("8")) != LIBXL_IDENT {
        return Err(corrupt("no libxl stream header (LibxlFmt)"));
    }
    let v = u32::from_be_bytes(l[8..12].try_into().expect("4"));
    if v != LIBXL_VERSION {
        return Err(corrupt(format!("libxl stream version {v} (expected {LIBXL_VERSION})")));
    }
    if u32::from_be_bytes(l[12..16].try_into().expect("4")) & 1 != 0 {
        return Err(corrupt("big-endian libxl stream"));
    }
    // libxl records up to LIBXC_CONTEXT (emulator records of HVM guests
    // have no place in a PV image).
    let first = Record::read(r)?;
    if first.rtype != LIBXL_REC_LIBXC_CONTEXT {
        return Err(corrupt(format!("libxl record {:#x} where LIBXC_CONTEXT was expected", first.rtype)));
    }

    let mut x = [0u8; 40];
    read_exact(r, &mut x, "the libxc headers")?;
    if u64::from_be_bytes(x[..8].try_into().expect("8")) != LIBXC_MARKER
        || u32::from_be_bytes(x[8..12].try_into().expect("4")) != LIBXC_ID
    {
        return Err(corrupt("no libxc image header (XENF)"));
    }
    let libxc_version = u32::from_be_bytes(x[12..16].try_into().expect("4"));
    if !(2..=3).contains(&libxc_version) {
        return Err(corrupt(format!("libxc stream version {libxc_version} (2 or 3 expected)")));
    }
    if u16::from_be_bytes(x[16..18].try_into().expect("2")) & 1 != 0 {
        return Err(corrupt("big-endian libxc stream"));
    }
    let dtype = le32(&x, 24);
    if dtype != DHDR_TYPE_X86_PV {
        return Err(corrupt(format!("domain type {dtype} is not x86 PV")));
    }
    let shift = u16::from_le_bytes(x[28..30].try_into().expect("2"));
    if shift != PAGE_SHIFT {
        return Err(corrupt(format!("page shift {shift} (expected 12)")));
    }
    Ok(Prologue {
        config,
        json: mandatory & XL_MANDATORY_FLAG_JSON != 0,
        xen_major: le32(&x, 32),
        xen_minor: le32(&x, 36),
        libxc_version,
    })
}

/// One record of either layer: type and body (padding not included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Record type.
    pub rtype: u32,
    /// Body.
    pub body: Vec<u8>,
}

impl Record {
    /// A record.
    pub fn new(rtype: u32, body: Vec<u8>) -> Self {
        Record { rtype, body }
    }

    /// Append the record, padded to 8 bytes, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.rtype.to_le_bytes());
        out.extend_from_slice(&(self.body.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.body);
        out.resize(out.len() + (8 - self.body.len() % 8) % 8, 0);
    }

    /// Write the record.
    pub fn write(&self, w: &mut dyn Write) -> Result<(), StreamError> {
        let mut b = Vec::with_capacity(self.body.len() + 16);
        self.encode_into(&mut b);
        write_all(w, &b, "writing a record")
    }

    /// Read one record.
    pub fn read(r: &mut dyn Read) -> Result<Record, StreamError> {
        let mut h = [0u8; 8];
        read_exact(r, &mut h, "a record header")?;
        let rtype = le32(&h, 0);
        let len = le32(&h, 4);
        if len > MAX_RECORD {
            return Err(corrupt(format!("record type {rtype:#x} claims {len} bytes")));
        }
        let padded = (len as usize).div_ceil(8) * 8;
        let mut body = vec![0u8; padded];
        read_exact(r, &mut body, "a record body")?;
        body.truncate(len as usize);
        Ok(Record { rtype, body })
    }
}

/// `XEN_DOMCTL_PFINFO_*` types as the stream carries them (the domctl's
/// values shifted right by 28).
pub mod pfinfo {
    /// Normal page.
    pub const NOTAB: u8 = 0x0;
    /// L1 page table.
    pub const L1TAB: u8 = 0x1;
    /// L4 page table.
    pub const L4TAB: u8 = 0x4;
    /// Pinned flag.
    pub const LPINTAB: u8 = 0x8;
    /// Broken page.
    pub const BROKEN: u8 = 0xd;
    /// Allocate only.
    pub const XALLOC: u8 = 0xe;
    /// Invalid page.
    pub const XTAB: u8 = 0xf;

    /// Whether `t` is a type the stream may carry.
    pub fn valid(t: u8) -> bool {
        matches!(t, 0x0..=0x4 | 0x9..=0xf)
    }

    /// Whether a page of type `t` has contents in the stream.
    pub fn has_data(t: u8) -> bool {
        !matches!(t, BROKEN | XALLOC | XTAB)
    }

    /// The page-table level of `t` (0: not a page table).
    pub fn level(t: u8) -> u8 {
        match t & 0x7 {
            l @ 1..=4 if t < BROKEN => l,
            _ => 0,
        }
    }
}

/// Mask of the PFN in a PAGE_DATA entry.
pub const PAGE_DATA_PFN_MASK: u64 = (1 << 52) - 1;

/// A PAGE_DATA record: pages with their PFN and type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageData {
    /// `(pfn, type)` of each page ([`pfinfo`]).
    pub pfns: Vec<(u64, u8)>,
    /// Contents of the pages whose type has data, in order.
    pub data: Vec<u8>,
}

impl PageData {
    /// The record.
    pub fn encode(&self) -> Record {
        let mut b = Vec::with_capacity(8 + self.pfns.len() * 8 + self.data.len());
        b.extend_from_slice(&(self.pfns.len() as u32).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        for &(pfn, t) in &self.pfns {
            b.extend_from_slice(&((u64::from(t) << 60) | (pfn & PAGE_DATA_PFN_MASK)).to_le_bytes());
        }
        b.extend_from_slice(&self.data);
        Record::new(rec::PAGE_DATA, b)
    }

    /// Decode and check a PAGE_DATA body; PFNs above `max_pfn` are refused.
    pub fn decode(body: &[u8], max_pfn: u64) -> Result<PageData, StreamError> {
        let pfns = Self::check(body, max_pfn)?;
        let data = body[8 + pfns.len() * 8..].to_vec();
        Ok(PageData { pfns, data })
    }

    /// Check a PAGE_DATA body as [`PageData::decode`] does, without
    /// copying the page contents; returns the `(pfn, type)` entries.
    pub fn check(body: &[u8], max_pfn: u64) -> Result<Vec<(u64, u8)>, StreamError> {
        if body.len() < 8 {
            return Err(corrupt("PAGE_DATA record shorter than its header"));
        }
        let count = le32(body, 0) as usize;
        if count == 0 || body.len() < 8 + count * 8 {
            return Err(corrupt(format!("PAGE_DATA record with {count} pages in {} bytes", body.len())));
        }
        let mut pfns = Vec::with_capacity(count);
        let mut with_data = 0;
        for i in 0..count {
            let v = le64(body, 8 + i * 8);
            let (pfn, t) = (v & PAGE_DATA_PFN_MASK, (v >> 60) as u8);
            if !pfinfo::valid(t) {
                return Err(corrupt(format!("PAGE_DATA: pfn {pfn:#x} has unknown type {t:#x}")));
            }
            if pfn > max_pfn {
                return Err(corrupt(format!("PAGE_DATA: pfn {pfn:#x} beyond the guest's max pfn {max_pfn:#x}")));
            }
            with_data += usize::from(pfinfo::has_data(t));
            pfns.push((pfn, t));
        }
        let data = &body[8 + count * 8..];
        if data.len() != with_data * PAGE_SIZE {
            return Err(corrupt(format!(
                "PAGE_DATA: {} bytes of page data for {with_data} pages",
                data.len()
            )));
        }
        Ok(pfns)
    }
}

/// X86_PV_INFO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PvInfo {
    /// Guest width in bytes (8).
    pub guest_width: u8,
    /// Page-table levels (4).
    pub pt_levels: u8,
}

impl PvInfo {
    /// The record.
    pub fn encode(&self) -> Record {
        let mut b = vec![0u8; 8];
        b[0] = self.guest_width;
        b[1] = self.pt_levels;
        Record::new(rec::X86_PV_INFO, b)
    }

    /// Decode; only 64-bit guests with 4 levels are supported.
    pub fn decode(body: &[u8]) -> Result<PvInfo, StreamError> {
        if body.len() != 8 {
            return Err(corrupt(format!("X86_PV_INFO of {} bytes", body.len())));
        }
        let info = PvInfo { guest_width: body[0], pt_levels: body[1] };
        if info != (PvInfo { guest_width: 8, pt_levels: 4 }) {
            return Err(corrupt(format!(
                "guest width {} with {} page-table levels (only 64-bit PV guests are supported)",
                info.guest_width, info.pt_levels
            )));
        }
        Ok(info)
    }
}

/// X86_PV_P2M_FRAMES: the PFNs of the frames holding p2m entries
/// `start_pfn..=end_pfn`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct P2mFrames {
    /// First PFN covered.
    pub start_pfn: u32,
    /// Last PFN covered (the guest's max pfn).
    pub end_pfn: u32,
    /// One PFN per p2m frame.
    pub pfns: Vec<u64>,
}

impl P2mFrames {
    /// The record.
    pub fn encode(&self) -> Record {
        let mut b = Vec::with_capacity(8 + self.pfns.len() * 8);
        b.extend_from_slice(&self.start_pfn.to_le_bytes());
        b.extend_from_slice(&self.end_pfn.to_le_bytes());
        for p in &self.pfns {
            b.extend_from_slice(&p.to_le_bytes());
        }
        Record::new(rec::X86_PV_P2M_FRAMES, b)
    }

    /// Decode and check (512 p2m entries per frame of a 64-bit guest).
    pub fn decode(body: &[u8]) -> Result<P2mFrames, StreamError> {
        if body.len() < 8 || !body.len().is_multiple_of(8) {
            return Err(corrupt(format!("X86_PV_P2M_FRAMES of {} bytes", body.len())));
        }
        let (start_pfn, end_pfn) = (le32(body, 0), le32(body, 4));
        let pfns: Vec<u64> = body[8..].chunks_exact(8).map(|c| le64(c, 0)).collect();
        let wanted = (u64::from(end_pfn) / 512 + 1).saturating_sub(u64::from(start_pfn) / 512);
        if start_pfn > end_pfn || pfns.len() as u64 != wanted {
            return Err(corrupt(format!(
                "X86_PV_P2M_FRAMES: {} frames for pfns {start_pfn:#x}..={end_pfn:#x}",
                pfns.len()
            )));
        }
        if let Some(bad) = pfns.iter().find(|&&p| p > u64::from(end_pfn)) {
            return Err(corrupt(format!("X86_PV_P2M_FRAMES: p2m frame pfn {bad:#x} beyond max pfn")));
        }
        Ok(P2mFrames { start_pfn, end_pfn, pfns })
    }
}

/// The body of the four X86_PV_VCPU_* records: a vcpu id and a blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VcpuBlob {
    /// The record type.
    pub rtype: u32,
    /// The vcpu.
    pub vcpu_id: u32,
    /// The context bytes.
    pub context: Vec<u8>,
}

impl VcpuBlob {
    /// The record.
    pub fn encode(&self) -> Record {
        let mut b = Vec::with_capacity(8 + self.context.len());
        b.extend_from_slice(&self.vcpu_id.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&self.context);
        Record::new(self.rtype, b)
    }

    /// Decode a record of type `rtype` for a guest with `max_vcpus`.
    pub fn decode(rtype: u32, body: &[u8], max_vcpus: u32) -> Result<VcpuBlob, StreamError> {
        if body.len() < 8 {
            return Err(corrupt(format!("vcpu record {rtype:#x} of {} bytes", body.len())));
        }
        let vcpu_id = le32(body, 0);
        if vcpu_id >= max_vcpus {
            return Err(corrupt(format!("vcpu record for vcpu {vcpu_id} of a {max_vcpus}-vcpu guest")));
        }
        Ok(VcpuBlob { rtype, vcpu_id, context: body[8..].to_vec() })
    }
}

/// X86_TSC_INFO.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TscInfo {
    /// `TSC_MODE_*`.
    pub mode: u32,
    /// Frequency in kHz.
    pub khz: u32,
    /// Elapsed time in ns.
    pub nsec: u64,
    /// Incarnation.
    pub incarnation: u32,
}

impl TscInfo {
    /// The record.
    pub fn encode(&self) -> Record {
        let mut b = Vec::with_capacity(24);
        b.extend_from_slice(&self.mode.to_le_bytes());
        b.extend_from_slice(&self.khz.to_le_bytes());
        b.extend_from_slice(&self.nsec.to_le_bytes());
        b.extend_from_slice(&self.incarnation.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        Record::new(rec::X86_TSC_INFO, b)
    }

    /// Decode.
    pub fn decode(body: &[u8]) -> Result<TscInfo, StreamError> {
        if body.len() != 24 {
            return Err(corrupt(format!("X86_TSC_INFO of {} bytes", body.len())));
        }
        Ok(TscInfo { mode: le32(body, 0), khz: le32(body, 4), nsec: le64(body, 8), incarnation: le32(body, 16) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prologue_bytes(config: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        write_prologue(&mut v, config, 4, 17).unwrap();
        v
    }

    #[test]
    fn prologue_round_trip_and_layout() {
        let b = prologue_bytes(b"name = 'g'\n");
        assert_eq!(&b[..32], XL_MAGIC);
        // byteorder, mandatory = STREAMv2, optional flags 0, optional len 4 + 11.
        assert_eq!(&b[32..48], &[4, 3, 2, 1, 2, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0, 0]);
        let libxl = 48 + 15;
        assert_eq!(&b[libxl..libxl + 8], b"LibxlFmt");
        assert_eq!(&b[libxl + 8..libxl + 16], &[0, 0, 0, 2, 0, 0, 0, 0]);
        // LIBXC_CONTEXT, empty.
        assert_eq!(&b[libxl + 16..libxl + 24], &[1, 0, 0, 0, 0, 0, 0, 0]);
        let xc = libxl + 24;
        assert_eq!(&b[xc..xc + 16], &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, b'X', b'E', b'N', b'F', 0, 0, 0, 3]);
        assert_eq!(&b[xc + 24..xc + 40], &[1, 0, 0, 0, 12, 0, 0, 0, 4, 0, 0, 0, 17, 0, 0, 0]);
        let p = read_prologue(&mut &b[..]).unwrap();
        assert_eq!(
            p,
            Prologue { config: b"name = 'g'\n".to_vec(), json: false, xen_major: 4, xen_minor: 17, libxc_version: 3 }
        );
    }

    #[test]
    fn every_truncation_of_the_prologue_is_refused() {
        let b = prologue_bytes(b"x");
        for n in 0..b.len() {
            let e = read_prologue(&mut &b[..n]).unwrap_err();
            assert!(matches!(e, StreamError::Truncated { .. }), "{n}: {e}");
        }
    }

    #[test]
    fn corrupted_prologues_are_refused() {
        let good = prologue_bytes(b"");
        for (at, what) in [(0, "Xen saved domain"), (36, "mandatory"), (48, "LibxlFmt"), (64, "libxl record"), (72, "XENF")] {
            let mut b = good.clone();
            b[at] ^= 0x40;
            let e = read_prologue(&mut &b[..]).unwrap_err().to_string();
            assert!(e.starts_with("corrupted image: "), "{at}: {e}");
            assert!(e.contains(what), "{at}: {e}");
        }
    }

    #[test]
    fn records_are_padded() {
        let mut b = Vec::new();
        Record::new(7, vec![1, 2, 3]).encode_into(&mut b);
        assert_eq!(b, [7, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 0]);
        assert_eq!(Record::read(&mut &b[..]).unwrap(), Record::new(7, vec![1, 2, 3]));
        assert!(matches!(Record::read(&mut &b[..12]), Err(StreamError::Truncated { .. })));
        let huge = [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(Record::read(&mut &huge[..]), Err(StreamError::Corrupt(_))));
    }

    #[test]
    fn page_data_round_trip() {
        let mut data = vec![0xaa; PAGE_SIZE];
        data.extend(vec![0x55; PAGE_SIZE]);
        let pd = PageData { pfns: vec![(5, pfinfo::NOTAB), (6, pfinfo::XTAB), (7, pfinfo::L4TAB | pfinfo::LPINTAB)], data };
        let r = pd.encode();
        assert_eq!(r.rtype, rec::PAGE_DATA);
        assert_eq!(le64(&r.body, 24), 7 | (0xc << 60));
        assert_eq!(PageData::decode(&r.body, 7).unwrap(), pd);
        // A pfn beyond the guest, a short body, a bad type, no pages.
        assert!(PageData::decode(&r.body, 6).is_err());
        assert!(PageData::decode(&r.body[..r.body.len() - 1], 7).is_err());
        let mut bad = r.body.clone();
        bad[15] = 0x70;
        assert!(PageData::decode(&bad, 7).unwrap_err().to_string().contains("unknown type 0x7"));
        assert!(PageData::decode(&[0; 8], 7).is_err());
    }

    #[test]
    fn small_records_round_trip() {
        let info = PvInfo { guest_width: 8, pt_levels: 4 };
        assert_eq!(PvInfo::decode(&info.encode().body).unwrap(), info);
        assert!(PvInfo::decode(&[4, 3, 0, 0, 0, 0, 0, 0]).is_err());
        let f = P2mFrames { start_pfn: 0, end_pfn: 0x7fff, pfns: (100..164).collect() };
        assert_eq!(P2mFrames::decode(&f.encode().body).unwrap(), f);
        let short = P2mFrames { pfns: (100..163).collect(), ..f.clone() };
        assert!(P2mFrames::decode(&short.encode().body).is_err());
        let t = TscInfo { mode: 0, khz: 2_000_000, nsec: 12345, incarnation: 2 };
        assert_eq!(TscInfo::decode(&t.encode().body).unwrap(), t);
        let v = VcpuBlob { rtype: rec::X86_PV_VCPU_BASIC, vcpu_id: 1, context: vec![9; 100] };
        assert_eq!(VcpuBlob::decode(v.rtype, &v.encode().body, 2).unwrap(), v);
        assert!(VcpuBlob::decode(v.rtype, &v.encode().body, 1).is_err());
    }

    #[test]
    fn pfinfo_levels() {
        assert_eq!(pfinfo::level(pfinfo::L4TAB | pfinfo::LPINTAB), 4);
        assert_eq!(pfinfo::level(pfinfo::L1TAB), 1);
        assert_eq!(pfinfo::level(pfinfo::NOTAB), 0);
        assert_eq!(pfinfo::level(pfinfo::XTAB), 0);
        assert_eq!(pfinfo::level(pfinfo::BROKEN), 0);
    }
}
