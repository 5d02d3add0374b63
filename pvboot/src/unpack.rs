//! Unpacking a kernel module into the ELF a PV builder loads, as Xen's dom0
//! builder and libxenguest accept it: a plain ELF as it is, or a bzImage
//! whose payload is decompressed.
//!
//! Decoding is allocation-free where it matters: the caller provides the
//! output buffer ([`Packed::output_len`] bytes, the size Linux's build
//! appends to the payload) and, for xz, the dictionary
//! ([`Packed::dict_len`] bytes, from the stream's LZMA2 properties), so the
//! hypervisor can hand the decoder machine frames instead of its small
//! heap. Only the decoders' own state (some 40 KiB) is boxed.
//!
//! Payload formats Linux can build, and what this module does with them:
//! xz (Debian's choice; LZMA2 with the x86 BCJ filter, decoded by
//! `xz4rust`), gzip (deflate, by `miniz_oxide`, with the gzip CRC and
//! size checked here), lz4 (the legacy frame `lz4 -l` writes, its blocks
//! decoded by `lz4_flex`) and an uncompressed ELF are unpacked; bzip2,
//! lzma, lzo and zstd are refused with one line naming the format: their
//! Rust decoders keep their window or dictionary on the heap (zstd's and
//! lzma's tens of MiB for a kernel), which the hypervisor's 4 MiB heap
//! cannot hold.

use alloc::boxed::Box;
use core::fmt;

use crate::bzimage::{is_bzimage, u16_at, u32_at, BzImage};

/// Largest decompressed kernel accepted (a bound against a hostile image).
pub const MAX_KERNEL: usize = 512 << 20;

/// How a payload is compressed, told by its magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed: the ELF itself.
    None,
    /// gzip (deflate).
    Gzip,
    /// xz (LZMA2, usually with a BCJ filter).
    Xz,
    /// bzip2.
    Bzip2,
    /// The legacy `.lzma` format.
    Lzma,
    /// lzop.
    Lzo,
    /// LZ4 (the legacy frame format Linux uses).
    Lz4,
    /// Zstandard.
    Zstd,
    /// None of the formats Linux builds.
    Unknown,
}

impl Compression {
    /// The format of `payload`, by its magic.
    pub fn detect(payload: &[u8]) -> Self {
        const MAGICS: &[(&[u8], Compression)] = &[
            (b"\x7fELF", Compression::None),
            (&[0x1f, 0x8b], Compression::Gzip),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0], Compression::Xz),
            (b"BZh", Compression::Bzip2),
            (&[0x5d, 0x00, 0x00], Compression::Lzma),
            (&[0x89, b'L', b'Z', b'O'], Compression::Lzo),
            (&[0x02, 0x21, 0x4c, 0x18], Compression::Lz4),
            (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
        ];
        MAGICS.iter().find(|(m, _)| payload.starts_with(m)).map_or(Self::Unknown, |&(_, c)| c)
    }

    /// The format's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "uncompressed",
            Self::Gzip => "gzip",
            Self::Xz => "xz",
            Self::Bzip2 => "bzip2",
            Self::Lzma => "lzma",
            Self::Lzo => "lzo",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
            Self::Unknown => "an unknown format",
        }
    }

    /// Whether [`Packed::unpack_into`] decodes this format.
    pub fn supported(self) -> bool {
        matches!(self, Self::None | Self::Gzip | Self::Xz | Self::Lz4)
    }
}

/// Why a kernel module could not be unpacked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnpackError {
    /// The bzImage setup header is cut short or points outside the file.
    BzImageTruncated {
        /// Which part is missing.
        what: &'static str,
    },
    /// Boot protocol older than 2.08 (no payload fields).
    OldProtocol {
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// A compression this loader does not decode.
    Unsupported(Compression),
    /// The size the payload records is zero or above [`MAX_KERNEL`].
    BadSize {
        /// The recorded size.
        size: u64,
    },
    /// The compressed stream ends early.
    Truncated(Compression),
    /// The compressed stream is corrupt.
    Corrupt {
        /// The format.
        format: Compression,
        /// What the decoder found.
        reason: &'static str,
    },
    /// The stream decodes to another size than the payload records.
    SizeMismatch {
        /// The format.
        format: Compression,
        /// Size recorded at the end of the payload.
        recorded: usize,
        /// `None` when the stream holds more than that.
        decoded: Option<usize>,
    },
    /// The caller's buffers are smaller than [`Packed`] asked for.
    BufferTooSmall,
}

impl fmt::Display for UnpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::BzImageTruncated { what } => write!(f, "truncated bzImage ({what})"),
            Self::OldProtocol { major, minor } => {
                write!(f, "bzImage boot protocol {major}.{minor:02} has no payload (2.08 or newer needed)")
            }
            Self::Unsupported(c) => {
                write!(f, "kernel payload is compressed with {}, which is not supported (xz, gzip and lz4 are)", c.name())
            }
            Self::BadSize { size } => {
                write!(f, "kernel payload records a decompressed size of {size} bytes (at most {} MiB accepted)", MAX_KERNEL >> 20)
            }
            Self::Truncated(c) => write!(f, "{} kernel payload is truncated", c.name()),
            Self::Corrupt { format, reason } => write!(f, "{} kernel payload is corrupt: {reason}", format.name()),
            Self::SizeMismatch { format, recorded, decoded: Some(n) } => write!(
                f,
                "{} kernel payload decodes to {n} bytes, but records {recorded}",
                format.name()
            ),
            Self::SizeMismatch { format, recorded, decoded: None } => {
                write!(f, "{} kernel payload decodes to more than the {recorded} bytes it records", format.name())
            }
            Self::BufferTooSmall => f.write_str("unpack buffers smaller than the payload needs"),
        }
    }
}

impl core::error::Error for UnpackError {}

/// A kernel module as found: to load as it is, or to unpack first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelModule<'a> {
    /// The bytes are the image (an ELF, or whatever the ELF parser will
    /// refuse with its own reason).
    Plain(&'a [u8]),
    /// A compressed bzImage payload.
    Packed(Packed<'a>),
}

/// A compressed payload and what decoding it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packed<'a> {
    /// The bzImage boot protocol version (major, minor).
    pub bzimage_version: (u8, u8),
    /// The format (one that [`Compression::supported`]).
    pub format: Compression,
    /// The compressed bytes.
    pub payload: &'a [u8],
    /// Bytes the payload decodes to (recorded in its last four bytes).
    pub output_len: usize,
    /// Bytes of dictionary the decoder needs besides the output (xz).
    pub dict_len: usize,
}

/// Look at a kernel module: a plain image, or a bzImage whose payload is
/// checked to be in a supported format with a sane recorded size.
pub fn identify(module: &[u8]) -> Result<KernelModule<'_>, UnpackError> {
    if !is_bzimage(module) {
        return Ok(KernelModule::Plain(module));
    }
    let bz = BzImage::parse(module)?;
    let format = Compression::detect(bz.payload);
    if format == Compression::None {
        return Ok(KernelModule::Plain(bz.payload));
    }
    if !format.supported() {
        return Err(UnpackError::Unsupported(format));
    }
    let size = recorded_size(bz.payload).ok_or(UnpackError::Truncated(format))?;
    if size == 0 || size > MAX_KERNEL as u64 {
        return Err(UnpackError::BadSize { size });
    }
    let dict_len = match format {
        Compression::Xz => xz_dict_size(bz.payload)?,
        _ => 0,
    };
    Ok(KernelModule::Packed(Packed {
        bzimage_version: bz.version,
        format,
        payload: bz.payload,
        output_len: size as usize,
        dict_len,
    }))
}

/// The decompressed size Linux's build appends to every payload (for gzip
/// it is the gzip trailer's ISIZE).
fn recorded_size(payload: &[u8]) -> Option<u64> {
    let at = payload.len().checked_sub(4)?;
    u32_at(payload, at).map(u64::from)
}

impl Packed<'_> {
    /// Decode the payload into `out` (at least [`Self::output_len`] bytes),
    /// using `dict` (at least [`Self::dict_len`] bytes) as the decoder's
    /// dictionary. Returns the decoded length, which is `output_len`.
    pub fn unpack_into(&self, out: &mut [u8], dict: &mut [u8]) -> Result<usize, UnpackError> {
        if out.len() < self.output_len || dict.len() < self.dict_len {
            return Err(UnpackError::BufferTooSmall);
        }
        let out = &mut out[..self.output_len];
        let n = match self.format {
            // The stream without the recorded size Linux appends after it.
            Compression::Xz => {
                unxz(&self.payload[..self.payload.len() - 4], out, &mut dict[..self.dict_len])?
            }
            Compression::Gzip => gunzip(self.payload, out)?,
            Compression::Lz4 => unlz4(&self.payload[..self.payload.len() - 4], out)?,
            other => return Err(UnpackError::Unsupported(other)),
        };
        if n != self.output_len {
            return Err(UnpackError::SizeMismatch { format: self.format, recorded: self.output_len, decoded: Some(n) });
        }
        Ok(n)
    }

    /// Decode into a fresh vector (the toolstack's and the tests' way).
    pub fn unpack_to_vec(&self) -> Result<alloc::vec::Vec<u8>, UnpackError> {
        let mut out = alloc::vec![0u8; self.output_len];
        let mut dict = alloc::vec![0u8; self.dict_len];
        self.unpack_into(&mut out, &mut dict)?;
        Ok(out)
    }
}

/// LZMA2 filter ID in an xz block header.
const XZ_FILTER_LZMA2: u64 = 0x21;

/// A variable-length integer of the xz format at `*at`.
fn xz_vli(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..9 {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// The LZMA2 dictionary size of the first block of an xz stream (the
/// kernel's payload is one stream of one block).
fn xz_dict_size(s: &[u8]) -> Result<usize, UnpackError> {
    let bad = |reason| UnpackError::Corrupt { format: Compression::Xz, reason };
    let size_byte = *s.get(12).ok_or(UnpackError::Truncated(Compression::Xz))?;
    if size_byte == 0 {
        return Err(bad("no block"));
    }
    let header_end = 12 + (usize::from(size_byte) + 1) * 4;
    let header = s.get(..header_end).ok_or(UnpackError::Truncated(Compression::Xz))?;
    let flags = header[13];
    let mut at = 14;
    for present in [flags & 0x40 != 0, flags & 0x80 != 0] {
        if present {
            xz_vli(header, &mut at).ok_or(bad("bad block header"))?;
        }
    }
    for _ in 0..(flags & 3) + 1 {
        let id = xz_vli(header, &mut at).ok_or(bad("bad block header"))?;
        let props_len = xz_vli(header, &mut at).ok_or(bad("bad block header"))? as usize;
        let props = at.checked_add(props_len).and_then(|end| header.get(at..end)).ok_or(bad("bad block header"))?;
        at += props_len;
        if id == XZ_FILTER_LZMA2 {
            let d = u32::from(*props.first().ok_or(bad("bad LZMA2 properties"))?);
            let size = match d {
                0..=39 => ((2 | (d & 1)) << (d / 2 + 11)) as usize,
                40 => u32::MAX as usize,
                _ => return Err(bad("bad LZMA2 properties")),
            };
            // The decoder wants all of it: bound it as the output is bounded.
            if size > MAX_KERNEL {
                return Err(bad("LZMA2 dictionary larger than 512 MiB"));
            }
            return Ok(size);
        }
    }
    Err(bad("no LZMA2 filter"))
}

/// Decode one xz stream into `out`; what follows it (the recorded size)
/// is ignored.
fn unxz(input: &[u8], out: &mut [u8], dict: &mut [u8]) -> Result<usize, UnpackError> {
    use xz4rust::{XzDecoder, XzNextBlockResult};
    let mut dec = Box::new(XzDecoder::with_fixed_size_dict(dict));
    let (mut inp, mut outp) = (0usize, 0usize);
    loop {
        match dec.decode(&input[inp..], &mut out[outp..]) {
            Ok(XzNextBlockResult::EndOfStream(_, produced)) => return Ok(outp + produced),
            Ok(XzNextBlockResult::NeedMoreData(consumed, produced)) => {
                inp += consumed;
                outp += produced;
                if consumed == 0 && produced == 0 {
                    if outp == out.len() {
                        return Err(UnpackError::SizeMismatch {
                            format: Compression::Xz,
                            recorded: out.len(),
                            decoded: None,
                        });
                    }
                    return Err(UnpackError::Truncated(Compression::Xz));
                }
            }
            Err(xz4rust::XzError::NeedsLargerInputBuffer) => return Err(UnpackError::Truncated(Compression::Xz)),
            Err(e) => return Err(UnpackError::Corrupt { format: Compression::Xz, reason: xz_reason(&e) }),
        }
    }
}

fn xz_reason(e: &xz4rust::XzError) -> &'static str {
    use xz4rust::XzError as E;
    match e {
        E::DictionaryTooLarge(_) => "dictionary larger than given",
        E::ContentCrc32Mismatch(..) | E::ContentCrc64Mismatch(..) => "content checksum mismatch",
        E::StreamHeaderCrc32Mismatch(..) | E::BlockHeaderCrc32Mismatch(..) => "header checksum mismatch",
        E::IndexCrc32Mismatch(..) | E::FooterCrc32Mismatch(..) | E::FooterDecoderIndexMismatch(..) => {
            "index or footer mismatch"
        }
        E::UnsupportedCheckType(_) => "unsupported check type",
        _ => "bad compressed data",
    }
}

/// Magic of an lz4 legacy frame (also found between concatenated frames).
const LZ4_LEGACY_MAGIC: u32 = 0x184c_2102;
/// Most bytes one legacy-frame block decodes to.
const LZ4_LEGACY_BLOCK: usize = 8 << 20;

/// Decode an lz4 legacy frame into `out`: after the magic, blocks of a
/// little-endian compressed length and that many bytes, each decoding on
/// its own to at most 8 MiB, until the input ends.
fn unlz4(input: &[u8], out: &mut [u8]) -> Result<usize, UnpackError> {
    let lz4 = Compression::Lz4;
    let (mut at, mut outp) = (4usize, 0usize);
    while at < input.len() {
        let len = u32_at(input, at).ok_or(UnpackError::Truncated(lz4))? as usize;
        at += 4;
        if len == LZ4_LEGACY_MAGIC as usize {
            continue;
        }
        let block = at.checked_add(len).and_then(|end| input.get(at..end)).ok_or(UnpackError::Truncated(lz4))?;
        at += len;
        let room = (out.len() - outp).min(LZ4_LEGACY_BLOCK);
        let n = lz4_flex::block::decompress_into(block, &mut out[outp..outp + room]).map_err(|e| match e {
            lz4_flex::block::DecompressError::OutputTooSmall { .. } if room < LZ4_LEGACY_BLOCK => {
                UnpackError::SizeMismatch { format: lz4, recorded: out.len(), decoded: None }
            }
            _ => UnpackError::Corrupt { format: lz4, reason: "bad block" },
        })?;
        outp += n;
    }
    Ok(outp)
}

/// gzip header flag bits (RFC 1952).
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;

/// Decode one gzip member into `out`: skip the header (RFC 1952), inflate,
/// then check the trailer's CRC-32 and size.
fn gunzip(data: &[u8], out: &mut [u8]) -> Result<usize, UnpackError> {
    use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
    use miniz_oxide::inflate::TINFLStatus;
    let gz = Compression::Gzip;
    let bad = |reason| UnpackError::Corrupt { format: gz, reason };
    let short = UnpackError::Truncated(gz);
    if data.get(2) != Some(&8) {
        return Err(bad("not deflate"));
    }
    let flags = *data.get(3).ok_or(short)?;
    let mut at = 10usize;
    if flags & FEXTRA != 0 {
        at += 2 + usize::from(u16_at(data, at).ok_or(short)?);
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let rest = data.get(at..).ok_or(short)?;
            at += rest.iter().position(|&b| b == 0).ok_or(short)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    let body = data.get(at..).ok_or(short)?;
    let mut state = Box::<DecompressorOxide>::default();
    let (status, consumed, produced) =
        decompress(&mut state, body, out, 0, inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF);
    match status {
        TINFLStatus::Done => {}
        TINFLStatus::HasMoreOutput => {
            return Err(UnpackError::SizeMismatch { format: gz, recorded: out.len(), decoded: None })
        }
        TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => return Err(short),
        _ => return Err(bad("bad deflate data")),
    }
    let trailer = body.get(consumed..consumed + 8).ok_or(short)?;
    let crc = u32_at(trailer, 0).ok_or(short)?;
    let isize = u32_at(trailer, 4).ok_or(short)?;
    if isize != produced as u32 {
        return Err(bad("size in the trailer differs"));
    }
    if crc32(&out[..produced]) != crc {
        return Err(bad("CRC-32 mismatch"));
    }
    Ok(produced)
}

/// CRC-32 (IEEE 802.3, reflected), as gzip checks it.
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    !data.iter().fold(!0u32, |c, &b| TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bzimage::tests::bzimage;
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::vec::Vec;

    /// Some compressible bytes that are not all alike.
    fn sample() -> Vec<u8> {
        let mut v = Vec::new();
        for i in 0..20_000u32 {
            v.extend_from_slice(format!("line {i} of a kernel that is not one\n").as_bytes());
        }
        v.extend_from_slice(b"\x7fELF\x02\x01\x01 and some binary \0\0\x01\x02");
        v
    }

    /// `data` through the host's compressor `cmd` (as Linux's build does),
    /// with the decompressed size appended.
    fn compress(cmd: &[&str], data: &[u8], append_size: bool) -> Vec<u8> {
        let mut child = Command::new(cmd[0])
            .args(&cmd[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
        let mut stdin = child.stdin.take().unwrap();
        let input = data.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        assert!(out.status.success(), "{cmd:?} failed");
        let mut v = out.stdout;
        if append_size {
            v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        }
        v
    }

    fn xz_payload(data: &[u8]) -> Vec<u8> {
        compress(&["xz", "--check=crc32", "--x86", "--lzma2=dict=1MiB", "-c"], data, true)
    }

    fn packed(img: &[u8]) -> Packed<'_> {
        match identify(img).unwrap() {
            KernelModule::Packed(p) => p,
            other => panic!("not packed: {other:?}"),
        }
    }

    #[test]
    fn formats_by_magic() {
        assert_eq!(Compression::detect(b"\x7fELF.."), Compression::None);
        assert_eq!(Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Compression::Zstd);
        assert_eq!(Compression::detect(b"BZh91AY"), Compression::Bzip2);
        assert_eq!(Compression::detect(&[0x5d, 0, 0, 0x80]), Compression::Lzma);
        assert_eq!(Compression::detect(&[0x89, b'L', b'Z', b'O', 0]), Compression::Lzo);
        assert_eq!(Compression::detect(&[0x02, 0x21, 0x4c, 0x18]), Compression::Lz4);
        assert_eq!(Compression::detect(b"junk"), Compression::Unknown);
    }

    #[test]
    fn plain_elf_and_uncompressed_payload_pass_through() {
        assert_eq!(identify(b"\x7fELF...").unwrap(), KernelModule::Plain(b"\x7fELF..."));
        let img = bzimage(4, 0x020f, 0x10, b"\x7fELFxyz");
        assert_eq!(identify(&img).unwrap(), KernelModule::Plain(b"\x7fELFxyz"));
    }

    #[test]
    fn gzip_payload() {
        let data = sample();
        let gz = compress(&["gzip", "-n", "-9", "-c"], &data, false);
        let img = bzimage(39, 0x020f, 0x100, &gz);
        let p = packed(&img);
        assert_eq!((p.format, p.output_len, p.dict_len), (Compression::Gzip, data.len(), 0));
        assert_eq!(p.unpack_to_vec().unwrap(), data);
        // A header with a name, as gzip writes without -n.
        let mut named = gz.clone();
        named[3] |= FNAME;
        named.splice(10..10, b"vmlinux\0".iter().copied());
        assert_eq!(packed(&bzimage(4, 0x020f, 0, &named)).unpack_to_vec().unwrap(), data);
    }

    #[test]
    fn xz_payload_with_bcj() {
        let data = sample();
        let img = bzimage(39, 0x020f, 0x2cc, &xz_payload(&data));
        let p = packed(&img);
        assert_eq!((p.format, p.output_len, p.dict_len), (Compression::Xz, data.len(), 1 << 20));
        assert_eq!(p.unpack_to_vec().unwrap(), data);
    }

    #[test]
    fn lz4_legacy_payload() {
        // More than one 8 MiB block, and a second frame concatenated.
        let mut data = Vec::new();
        while data.len() < 9 << 20 {
            data.extend_from_slice(&sample());
        }
        let mut lz = compress(&["lz4", "-l", "-9", "-c"], &data, false);
        let second = compress(&["lz4", "-l", "-c"], b"tail of the kernel", false);
        lz.extend_from_slice(&second);
        let mut all = data.clone();
        all.extend_from_slice(b"tail of the kernel");
        lz.extend_from_slice(&(all.len() as u32).to_le_bytes());
        let img = bzimage(4, 0x020f, 0, &lz);
        let p = packed(&img);
        assert_eq!((p.format, p.output_len, p.dict_len), (Compression::Lz4, all.len(), 0));
        assert!(p.unpack_to_vec().unwrap() == all, "decodes to the input");
        // Cut short, and corrupt.
        let mut cut = lz[..lz.len() / 2].to_vec();
        cut.extend_from_slice(&(all.len() as u32).to_le_bytes());
        let r = packed(&bzimage(4, 0x020f, 0, &cut)).unpack_to_vec().map(|v| v.len());
        assert_eq!(r, Err(UnpackError::Truncated(Compression::Lz4)));
        // A block whose first match reaches back before the output's start.
        let mut bad = LZ4_LEGACY_MAGIC.to_le_bytes().to_vec();
        bad.extend_from_slice(&3u32.to_le_bytes());
        bad.extend_from_slice(&[0x00, 0x05, 0x00]);
        bad.extend_from_slice(&100u32.to_le_bytes());
        let r = packed(&bzimage(4, 0x020f, 0, &bad)).unpack_to_vec().map(|v| v.len());
        assert_eq!(r, Err(UnpackError::Corrupt { format: Compression::Lz4, reason: "bad block" }));
    }

    #[test]
    fn xz_dictionary_size_is_bounded() {
        let data = sample();
        let mut xz = xz_payload(&data);
        // The LZMA2 properties byte of the only block's only-but-BCJ filter:
        // dictionary byte 1 MiB = 16; 40 (4 GiB) is refused.
        let at = xz.windows(3).position(|w| w == [0x21, 0x01, 16]).expect("LZMA2 filter flags") + 2;
        xz[at] = 40;
        let e = identify(&bzimage(4, 0x020f, 0, &xz)).unwrap_err();
        assert_eq!(e, UnpackError::Corrupt { format: Compression::Xz, reason: "LZMA2 dictionary larger than 512 MiB" });
    }

    #[test]
    fn truncated_payloads_are_refused() {
        let data = sample();
        let xz = xz_payload(&data);
        // Cut inside the stream, keeping a plausible size at the end.
        let mut cut = xz[..xz.len() / 2].to_vec();
        cut.extend_from_slice(&(data.len() as u32).to_le_bytes());
        let img = bzimage(4, 0x020f, 0, &cut);
        assert_eq!(packed(&img).unpack_to_vec(), Err(UnpackError::Truncated(Compression::Xz)));
        let gz = compress(&["gzip", "-n", "-c"], &data, false);
        let mut cut = gz[..gz.len() / 2].to_vec();
        cut.extend_from_slice(&(data.len() as u32).to_le_bytes());
        let img = bzimage(4, 0x020f, 0, &cut);
        assert_eq!(packed(&img).unpack_to_vec(), Err(UnpackError::Truncated(Compression::Gzip)));
        let e = packed(&img).unpack_to_vec().unwrap_err();
        assert_eq!(e.to_string(), "gzip kernel payload is truncated");
    }

    #[test]
    fn corrupt_payloads_are_refused() {
        let data = sample();
        let mut xz = xz_payload(&data);
        let mid = xz.len() / 2;
        xz[mid] ^= 0x55;
        let img = bzimage(4, 0x020f, 0, &xz);
        let e = packed(&img).unpack_to_vec().unwrap_err();
        assert!(matches!(e, UnpackError::Corrupt { format: Compression::Xz, .. }), "{e:?}");
        assert!(e.to_string().starts_with("xz kernel payload is corrupt: "), "{e}");

        let mut gz = compress(&["gzip", "-n", "-c"], &data, false);
        let crc_at = gz.len() - 8;
        gz[crc_at] ^= 1;
        let img = bzimage(4, 0x020f, 0, &gz);
        assert_eq!(
            packed(&img).unpack_to_vec(),
            Err(UnpackError::Corrupt { format: Compression::Gzip, reason: "CRC-32 mismatch" })
        );
    }

    #[test]
    fn recorded_size_must_match() {
        let data = sample();
        let mut xz = xz_payload(&data);
        let n = xz.len();
        xz[n - 4..].copy_from_slice(&(data.len() as u32 - 1).to_le_bytes());
        let img = bzimage(4, 0x020f, 0, &xz);
        let e = packed(&img).unpack_to_vec().unwrap_err();
        assert_eq!(e, UnpackError::SizeMismatch { format: Compression::Xz, recorded: data.len() - 1, decoded: None });
        xz[n - 4..].copy_from_slice(&(data.len() as u32 + 1).to_le_bytes());
        let img = bzimage(4, 0x020f, 0, &xz);
        let e = packed(&img).unpack_to_vec().unwrap_err();
        assert_eq!(
            e,
            UnpackError::SizeMismatch { format: Compression::Xz, recorded: data.len() + 1, decoded: Some(data.len()) }
        );
        xz[n - 4..].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(identify(&bzimage(4, 0x020f, 0, &xz)), Err(UnpackError::BadSize { size: 0 }));
    }

    #[test]
    fn other_formats_get_one_line_naming_them() {
        for (magic, name) in [
            (&b"BZh91AY&SY"[..], "bzip2"),
            (&[0x5d, 0, 0, 0x80, 0][..], "lzma"),
            (&[0x89, b'L', b'Z', b'O', 0][..], "lzo"),
            (&[0x28, 0xb5, 0x2f, 0xfd, 0][..], "zstd"),
            (&b"nonsense"[..], "an unknown format"),
        ] {
            let e = identify(&bzimage(4, 0x020f, 0, magic)).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("kernel payload is compressed with {name}, which is not supported (xz, gzip and lz4 are)")
            );
        }
    }

    #[test]
    fn crc32_known_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }
}
