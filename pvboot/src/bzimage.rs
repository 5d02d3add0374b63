//! Linux's bzImage container: where the compressed kernel ELF sits.
//!
//! A bzImage starts with the real-mode setup sectors; their header carries
//! `setup_sects` (offset `0x1f1`, 0 meaning 4), the magic `HdrS` (`0x202`),
//! the boot protocol version (`0x206`, at least 2.08 for a payload), and
//! `payload_offset`/`payload_length` (`0x248`/`0x24c`), relative to the
//! protected-mode part that starts at `(setup_sects + 1) * 512`. The payload
//! is the `vmlinux` ELF, compressed (see [`crate::unpack`]), as both Xen's
//! dom0 builder (`xen/arch/x86/bzimage.c`) and libxenguest find it.

use crate::unpack::UnpackError;

/// Offset of `setup_sects` in the setup header.
pub const SETUP_SECTS: usize = 0x1f1;
/// Offset of the `HdrS` magic.
pub const HEADER_MAGIC: usize = 0x202;
/// Offset of the boot protocol version.
pub const VERSION: usize = 0x206;
/// Offset of `payload_offset`.
pub const PAYLOAD_OFFSET: usize = 0x248;
/// Offset of `payload_length`.
pub const PAYLOAD_LENGTH: usize = 0x24c;
/// The first boot protocol with a payload (2.08).
pub const MIN_VERSION: u16 = 0x0208;

/// A bzImage's setup header, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BzImage<'a> {
    /// Boot protocol version (major, minor).
    pub version: (u8, u8),
    /// The compressed kernel.
    pub payload: &'a [u8],
}

/// Whether `image` looks like a bzImage (has the `HdrS` setup header).
pub fn is_bzimage(image: &[u8]) -> bool {
    image.get(HEADER_MAGIC..HEADER_MAGIC + 4) == Some(b"HdrS")
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl<'a> BzImage<'a> {
    /// Check the setup header of `image` (which [`is_bzimage`]) and find
    /// its payload.
    pub fn parse(image: &'a [u8]) -> Result<Self, UnpackError> {
        let header = UnpackError::BzImageTruncated { what: "setup header" };
        let version = u16_at(image, VERSION).ok_or(header)?;
        let [minor, major] = version.to_le_bytes();
        if version < MIN_VERSION {
            return Err(UnpackError::OldProtocol { major, minor });
        }
        let sects = match *image.get(SETUP_SECTS).ok_or(header)? {
            0 => 4,
            n => usize::from(n),
        };
        let offset = u32_at(image, PAYLOAD_OFFSET).ok_or(header)? as usize;
        let length = u32_at(image, PAYLOAD_LENGTH).ok_or(header)? as usize;
        let start = (sects + 1) * 512 + offset;
        let payload = start
            .checked_add(length)
            .and_then(|end| image.get(start..end))
            .ok_or(UnpackError::BzImageTruncated { what: "payload" })?;
        Ok(Self { version: (major, minor), payload })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::vec::Vec;

    /// A fake bzImage: `sects` setup sectors (plus the boot sector), the
    /// header fields, then `payload` at `offset` in the protected-mode part.
    pub fn bzimage(sects: u8, version: u16, offset: u32, payload: &[u8]) -> Vec<u8> {
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

    #[test]
    fn header_fields_locate_the_payload() {
        let img = bzimage(0, 0x020f, 0x2cc, b"\x7fELFxyz");
        assert!(is_bzimage(&img));
        assert!(!is_bzimage(b"\x7fELF"));
        let bz = BzImage::parse(&img).unwrap();
        assert_eq!(bz.payload, b"\x7fELFxyz", "setup_sects 0 means 4");
        assert_eq!(bz.version, (2, 15));
        let img = bzimage(39, 0x020f, 0x100, b"abc");
        assert_eq!(BzImage::parse(&img).unwrap().payload, b"abc");
    }

    #[test]
    fn header_refusals() {
        let img = bzimage(4, 0x0206, 0, b"x");
        assert_eq!(BzImage::parse(&img), Err(UnpackError::OldProtocol { major: 2, minor: 6 }));
        let mut img = bzimage(4, 0x020f, 0, b"abcd");
        img.pop();
        assert_eq!(BzImage::parse(&img), Err(UnpackError::BzImageTruncated { what: "payload" }));
        let img = bzimage(4, 0x020f, 0, b"abcd");
        assert_eq!(BzImage::parse(&img[..0x210]), Err(UnpackError::BzImageTruncated { what: "setup header" }));
    }
}
