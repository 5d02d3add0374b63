//! Linux's bzImage: finding and decompressing the ELF kernel inside, as
//! Xen's libxenguest bzImage loader does, so that a distribution's
//! `vmlinuz` boots as a PV domU.
//!
//! A bzImage starts with the real-mode setup sectors; their header carries
//! `setup_sects` (offset `0x1f1`, 0 meaning 4), the magic `HdrS` (`0x202`),
//! the boot protocol version (`0x206`, at least 2.08 for a payload), and
//! `payload_offset`/`payload_length` (`0x248`/`0x24c`), relative to the
//! protected-mode part that starts at `(setup_sects + 1) * 512`. The payload
//! is the compressed `vmlinux` ELF; its format is told by its magic:
//! xz (Debian's choice, with the x86 BCJ filter, decoded by `lzma-rust2`)
//! or gzip (decoded by `miniz_oxide`).

use std::io::Read;

/// Offset of `setup_sects` in the setup header.
const SETUP_SECTS: usize = 0x1f1;
/// Offset of the `HdrS` magic.
const HEADER_MAGIC: usize = 0x202;
/// Offset of the boot protocol version.
const VERSION: usize = 0x206;
/// Offset of `payload_offset`.
const PAYLOAD_OFFSET: usize = 0x248;
/// Offset of `payload_length`.
const PAYLOAD_LENGTH: usize = 0x24c;
/// The first boot protocol with a payload (2.08).
const MIN_VERSION: u16 = 0x0208;
/// Largest decompressed kernel accepted (a bound against a hostile image).
pub const MAX_KERNEL: usize = 512 << 20;

/// xz stream magic.
const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0];
/// gzip magic and the deflate method byte.
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b, 0x08];

/// Why a bzImage's kernel could not be extracted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BzImageError {
    /// The setup header is cut short or its fields point outside the file.
    #[error("truncated bzImage ({what})")]
    Truncated {
        /// Which part is missing.
        what: &'static str,
    },
    /// Boot protocol older than 2.08 (no payload fields).
    #[error("bzImage boot protocol {major}.{minor:02} has no payload (2.08 or newer needed)")]
    OldProtocol {
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// A compression this builder does not decode.
    #[error("bzImage payload compressed with {0}, which xm does not decode (xz and gzip are supported)")]
    Unsupported(&'static str),
    /// The payload did not decompress.
    #[error("decompressing the {format} payload: {reason}")]
    Corrupt {
        /// "xz" or "gzip".
        format: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// The decompressed kernel is larger than [`MAX_KERNEL`].
    #[error("decompressed kernel larger than {} MiB", MAX_KERNEL >> 20)]
    TooLarge,
}

/// Whether `image` looks like a bzImage (has the `HdrS` setup header).
pub fn is_bzimage(image: &[u8]) -> bool {
    image.get(HEADER_MAGIC..HEADER_MAGIC + 4) == Some(b"HdrS")
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The compressed payload of a bzImage (`image` must be one: see
/// [`is_bzimage`]).
pub fn payload(image: &[u8]) -> Result<&[u8], BzImageError> {
    let header = |what| BzImageError::Truncated { what };
    let version = u16_at(image, VERSION).ok_or(header("setup header"))?;
    if version < MIN_VERSION {
        let [minor, major] = version.to_le_bytes();
        return Err(BzImageError::OldProtocol { major, minor });
    }
    let sects = match image[SETUP_SECTS] {
        0 => 4,
        n => usize::from(n),
    };
    let offset = u32_at(image, PAYLOAD_OFFSET).ok_or(header("setup header"))? as usize;
    let length = u32_at(image, PAYLOAD_LENGTH).ok_or(header("setup header"))? as usize;
    let start = (sects + 1) * 512 + offset;
    start
        .checked_add(length)
        .and_then(|end| image.get(start..end))
        .ok_or(header("payload"))
}

/// Name of the compression of `payload`, told by its magic.
pub fn compression(payload: &[u8]) -> &'static str {
    const MAGICS: &[(&[u8], &str)] = &[
        (XZ_MAGIC, "xz"),
        (GZIP_MAGIC, "gzip"),
        (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
        (&[0x02, 0x21, 0x4c, 0x18], "lz4"),
        (&[0x5d, 0x00, 0x00], "lzma"),
        (b"BZh", "bzip2"),
        (&[0x89, b'L', b'Z', b'O'], "lzo"),
        (b"\x7fELF", "none"),
    ];
    MAGICS.iter().find(|(m, _)| payload.starts_with(m)).map_or("an unknown format", |(_, n)| n)
}

/// The kernel ELF inside bzImage `image`, decompressed.
pub fn extract(image: &[u8]) -> Result<Vec<u8>, BzImageError> {
    let data = payload(image)?;
    match compression(data) {
        "xz" => unxz(data),
        "gzip" => gunzip(data),
        "none" => Ok(data.to_vec()),
        other => Err(BzImageError::Unsupported(other)),
    }
}

/// Decode an xz stream (any filter chain `lzma-rust2` knows, BCJ x86
/// included). The kernel's payload carries the uncompressed size in its
/// last four bytes (for the boot decompressor), used to size the output.
fn unxz(data: &[u8]) -> Result<Vec<u8>, BzImageError> {
    let corrupt = |e: std::io::Error| BzImageError::Corrupt { format: "xz", reason: e.to_string() };
    let mut out = Vec::with_capacity(size_hint(data));
    let reader = lzma_rust2::XzReader::new(data, false);
    reader.take(MAX_KERNEL as u64 + 1).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() > MAX_KERNEL {
        return Err(BzImageError::TooLarge);
    }
    Ok(out)
}

/// The size the payload says it decompresses to (capped), for `Vec`
/// capacity only.
fn size_hint(data: &[u8]) -> usize {
    data.len().checked_sub(4).and_then(|at| u32_at(data, at)).map_or(0, |n| (n as usize).min(MAX_KERNEL))
}

/// gzip header flag bits (RFC 1952).
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;

/// Decode a gzip member: skip the header (RFC 1952), inflate the rest.
fn gunzip(data: &[u8]) -> Result<Vec<u8>, BzImageError> {
    let corrupt = |reason: &str| BzImageError::Corrupt { format: "gzip", reason: reason.into() };
    let flags = *data.get(3).ok_or_else(|| corrupt("header cut short"))?;
    let mut at = 10usize;
    if flags & FEXTRA != 0 {
        let xlen = u16_at(data, at).ok_or_else(|| corrupt("header cut short"))?;
        at += 2 + usize::from(xlen);
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let rest = data.get(at..).ok_or_else(|| corrupt("header cut short"))?;
            at += rest.iter().position(|&b| b == 0).ok_or_else(|| corrupt("unterminated header string"))? + 1;
        }
    }
    if flags & FHCRC != 0 {
        at += 2;
    }
    let body = data.get(at..).ok_or_else(|| corrupt("header cut short"))?;
    let out = miniz_oxide::inflate::decompress_to_vec_with_limit(body, MAX_KERNEL).map_err(|e| match e.status {
        miniz_oxide::inflate::TINFLStatus::HasMoreOutput => BzImageError::TooLarge,
        _ => corrupt(&e.to_string()),
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake bzImage: `sects` setup sectors (plus the boot sector), the
    /// header fields, then `payload` at `offset` in the protected-mode part.
    fn bzimage(sects: u8, version: u16, offset: u32, payload: &[u8]) -> Vec<u8> {
        let pm = (usize::from(if sects == 0 { 4 } else { sects }) + 1) * 512;
        let mut img = vec![0u8; pm + offset as usize + payload.len()];
        img[SETUP_SECTS] = sects;
        img[HEADER_MAGIC..HEADER_MAGIC + 4].copy_from_slice(b"HdrS");
        img[VERSION..VERSION + 2].copy_from_slice(&version.to_le_bytes());
        img[PAYLOAD_OFFSET..PAYLOAD_OFFSET + 4].copy_from_slice(&offset.to_le_bytes());
        img[PAYLOAD_LENGTH..PAYLOAD_LENGTH + 4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        img[pm + offset as usize..].copy_from_slice(payload);
        img
    }

    /// "hello" as a raw deflate stored block in a gzip member with a name.
    fn gzip_hello() -> Vec<u8> {
        let mut g = vec![0x1f, 0x8b, 0x08, FNAME, 0, 0, 0, 0, 0, 3];
        g.extend_from_slice(b"vmlinux\0");
        g.extend_from_slice(&[0x01, 5, 0, !5, 0xff]);
        g.extend_from_slice(b"hello");
        g.extend_from_slice(&[0; 8]);
        g
    }

    #[test]
    fn detects_and_locates_payload() {
        let img = bzimage(0, 0x020f, 0x2cc, b"\x7fELFxyz");
        assert!(is_bzimage(&img));
        assert!(!is_bzimage(b"\x7fELF"));
        assert_eq!(payload(&img).unwrap(), b"\x7fELFxyz");
        assert_eq!(extract(&img).unwrap(), b"\x7fELFxyz");
    }

    #[test]
    fn gzip_payload() {
        let img = bzimage(39, 0x020f, 0x100, &gzip_hello());
        assert_eq!(compression(payload(&img).unwrap()), "gzip");
        assert_eq!(extract(&img).unwrap(), b"hello");
    }

    #[test]
    fn refusals() {
        assert_eq!(extract(&bzimage(4, 0x0206, 0, b"x")), Err(BzImageError::OldProtocol { major: 2, minor: 6 }));
        assert_eq!(extract(&bzimage(4, 0x020f, 0, b"\x28\xb5\x2f\xfd...")), Err(BzImageError::Unsupported("zstd")));
        let mut img = bzimage(4, 0x020f, 0, b"abcd");
        let len = img.len();
        img.truncate(len - 1);
        assert_eq!(extract(&img), Err(BzImageError::Truncated { what: "payload" }));
        let mut bad = bzimage(4, 0x020f, 0, XZ_MAGIC);
        bad.extend_from_slice(&[0; 16]);
        assert!(matches!(extract(&bzimage(4, 0x020f, 0, &bad[bad.len() - 22..])), Err(BzImageError::Corrupt { .. })));
    }

    /// Debian's vmlinuz, when the reference artefacts are cached.
    #[test]
    fn debian_vmlinuz_if_cached() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/debian");
        let Some(vmlinuz) = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("linux-image-"))
            .filter_map(|e| std::fs::read_dir(e.path().join("boot")).ok())
            .flatten()
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().starts_with("vmlinuz-"))
        else {
            eprintln!("no cached Debian kernel; skipped");
            return;
        };
        let img = std::fs::read(vmlinuz.path()).unwrap();
        let elf = extract(&img).unwrap();
        assert!(elf.starts_with(b"\x7fELF\x02"), "not an ELF64");
        let k = pvboot::parse(&elf).unwrap();
        assert!(k.notes.virt_base.is_some());
    }
}
