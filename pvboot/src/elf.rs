//! The ELF64 container of a PV kernel: header checks, `PT_LOAD` segments,
//! and the note areas (`PT_NOTE` segments, `SHT_NOTE` sections).

use core::fmt;

/// Most loadable segments we accept.
pub const MAX_SEGMENTS: usize = 16;

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const SHT_NOTE: u32 = 7;
/// Size of an ELF64 section header.
const SHDR_SIZE: usize = 64;
const EM_X86_64: u16 = 62;
const ET_EXEC: u16 = 2;

/// One loadable segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// Offset of the segment's bytes in the file.
    pub offset: u64,
    /// Virtual address the linker gave it.
    pub vaddr: u64,
    /// Physical address the linker gave it (what Xen loads by).
    pub paddr: u64,
    /// Bytes present in the file.
    pub filesz: u64,
    /// Bytes in memory (the rest is zero).
    pub memsz: u64,
}

/// A checked ELF64 x86-64 executable.
#[derive(Clone, Debug)]
pub struct ElfImage<'a> {
    /// The whole file.
    pub bytes: &'a [u8],
    /// `e_entry`.
    pub entry: u64,
    segments: [Segment; MAX_SEGMENTS],
    nsegments: usize,
    notes: [(u64, u64); MAX_SEGMENTS],
    nnotes: usize,
}

/// What is wrong with the ELF container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Shorter than an ELF header.
    TooShort,
    /// No `\x7fELF` magic.
    NotElf,
    /// Not ELFCLASS64.
    NotElf64,
    /// Not little-endian.
    NotLittleEndian,
    /// `e_machine` is not x86-64.
    NotX86_64,
    /// Not an executable (`ET_EXEC`).
    NotExecutable,
    /// The program header table is malformed or outside the file.
    BadProgramHeaders,
    /// No `PT_LOAD` segment.
    NoLoadSegments,
    /// More segments than we handle.
    TooManySegments,
    /// A segment's bytes lie outside the file, or `filesz > memsz`.
    SegmentOutsideFile {
        /// Index among the loadable segments.
        index: usize,
    },
    /// Two loadable segments overlap in physical address.
    SegmentsOverlap {
        /// First segment's index.
        first: usize,
        /// Second segment's index.
        second: usize,
    },
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => f.write_str("not an ELF file: too short"),
            Self::NotElf => f.write_str("not an ELF file: bad magic"),
            Self::NotElf64 => f.write_str("not a 64-bit ELF file (a PV kernel for x86-64 must be ELFCLASS64)"),
            Self::NotLittleEndian => f.write_str("ELF file is not little-endian"),
            Self::NotX86_64 => f.write_str("ELF file is not for x86-64"),
            Self::NotExecutable => f.write_str("ELF file is not an executable"),
            Self::BadProgramHeaders => f.write_str("ELF program headers are malformed"),
            Self::NoLoadSegments => f.write_str("ELF file has no loadable segment"),
            Self::TooManySegments => f.write_str("ELF file has too many segments"),
            Self::SegmentOutsideFile { index } => write!(f, "ELF segment {index} lies outside the file"),
            Self::SegmentsOverlap { first, second } => write!(f, "ELF segments {first} and {second} overlap"),
        }
    }
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

impl<'a> ElfImage<'a> {
    /// Check the header and collect the loadable and note segments.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ElfError> {
        if bytes.len() < 64 {
            return Err(ElfError::TooShort);
        }
        if &bytes[..4] != b"\x7fELF" {
            return Err(ElfError::NotElf);
        }
        if bytes[4] != 2 {
            return Err(ElfError::NotElf64);
        }
        if bytes[5] != 1 {
            return Err(ElfError::NotLittleEndian);
        }
        let bad = ElfError::BadProgramHeaders;
        if u16_at(bytes, 18) != Some(EM_X86_64) {
            return Err(ElfError::NotX86_64);
        }
        if u16_at(bytes, 16) != Some(ET_EXEC) {
            return Err(ElfError::NotExecutable);
        }
        let entry = u64_at(bytes, 24).ok_or(bad)?;
        let phoff = u64_at(bytes, 32).ok_or(bad)? as usize;
        let phentsize = usize::from(u16_at(bytes, 54).ok_or(bad)?);
        let phnum = usize::from(u16_at(bytes, 56).ok_or(bad)?);
        if phentsize < 56 || phoff.checked_add(phentsize.checked_mul(phnum).ok_or(bad)?).is_none_or(|e| e > bytes.len()) {
            return Err(bad);
        }
        let mut img = Self {
            bytes,
            entry,
            segments: [Segment::default(); MAX_SEGMENTS],
            nsegments: 0,
            notes: [(0, 0); MAX_SEGMENTS],
            nnotes: 0,
        };
        for i in 0..phnum {
            let ph = phoff + i * phentsize;
            let p_type = u32_at(bytes, ph).ok_or(bad)?;
            let seg = Segment {
                offset: u64_at(bytes, ph + 8).ok_or(bad)?,
                vaddr: u64_at(bytes, ph + 16).ok_or(bad)?,
                paddr: u64_at(bytes, ph + 24).ok_or(bad)?,
                filesz: u64_at(bytes, ph + 32).ok_or(bad)?,
                memsz: u64_at(bytes, ph + 40).ok_or(bad)?,
            };
            let in_file = seg.offset.checked_add(seg.filesz).is_some_and(|e| e <= bytes.len() as u64);
            match p_type {
                PT_LOAD => {
                    let index = img.nsegments;
                    if index == MAX_SEGMENTS {
                        return Err(ElfError::TooManySegments);
                    }
                    if !in_file || seg.filesz > seg.memsz || seg.paddr.checked_add(seg.memsz).is_none() {
                        return Err(ElfError::SegmentOutsideFile { index });
                    }
                    img.segments[index] = seg;
                    img.nsegments += 1;
                }
                // As libelf: some binutils leave p_offset 0 on note segments.
                PT_NOTE if in_file && seg.offset != 0 && img.nnotes < MAX_SEGMENTS => {
                    img.notes[img.nnotes] = (seg.offset, seg.filesz);
                    img.nnotes += 1;
                }
                _ => {}
            }
        }
        if img.nsegments == 0 {
            return Err(ElfError::NoLoadSegments);
        }
        let segs = img.segments();
        for (a, sa) in segs.iter().enumerate() {
            for (b, sb) in segs.iter().enumerate().skip(a + 1) {
                let overlap = sa.memsz > 0 && sb.memsz > 0 && sa.paddr < sb.paddr + sb.memsz && sb.paddr < sa.paddr + sa.memsz;
                if overlap {
                    return Err(ElfError::SegmentsOverlap { first: a, second: b });
                }
            }
        }
        Ok(img)
    }

    /// The loadable segments in file order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments[..self.nsegments]
    }

    /// The contents of each `PT_NOTE` segment.
    pub fn note_segments(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.notes[..self.nnotes].iter().map(|&(off, len)| &self.bytes[off as usize..(off + len) as usize])
    }

    /// The contents of each `SHT_NOTE` section (section 0 excepted), in
    /// section order. A section table outside the file, or a note section
    /// whose bytes are, is skipped, as libelf skips what it cannot reach.
    pub fn note_sections(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let b = self.bytes;
        let shoff = u64_at(b, 40).unwrap_or(0) as usize;
        let shentsize = usize::from(u16_at(b, 58).unwrap_or(0));
        let shnum = if shoff == 0 || shentsize < SHDR_SIZE { 0 } else { usize::from(u16_at(b, 60).unwrap_or(0)) };
        (1..shnum).filter_map(move |i| {
            let sh = shoff.checked_add(i.checked_mul(shentsize)?)?;
            if u32_at(b, sh + 4)? != SHT_NOTE {
                return None;
            }
            let off = u64_at(b, sh + 24)? as usize;
            let size = u64_at(b, sh + 32)? as usize;
            b.get(off..off.checked_add(size)?)
        })
    }

    /// Lowest and one-past-highest physical address of the loadable segments.
    pub fn paddr_bounds(&self) -> (u64, u64) {
        let start = self.segments().iter().map(|s| s.paddr).min().unwrap_or(0);
        let end = self.segments().iter().map(|s| s.paddr + s.memsz).max().unwrap_or(0);
        (start, end)
    }

    /// The file bytes of a segment.
    pub fn segment_bytes(&self, seg: &Segment) -> &'a [u8] {
        &self.bytes[seg.offset as usize..(seg.offset + seg.filesz) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testimg::Img;

    #[test]
    fn header_errors() {
        assert_eq!(ElfImage::parse(b"short").unwrap_err(), ElfError::TooShort);
        let mut img = Img::standard().build();
        img[0] = 0;
        assert_eq!(ElfImage::parse(&img).unwrap_err(), ElfError::NotElf);
        let mut img = Img::standard().build();
        img[4] = 1;
        assert_eq!(ElfImage::parse(&img).unwrap_err(), ElfError::NotElf64);
        let mut img = Img::standard().build();
        img[18] = 3;
        assert_eq!(ElfImage::parse(&img).unwrap_err(), ElfError::NotX86_64);
        let mut img = Img::standard().build();
        img[16] = 3;
        assert_eq!(ElfImage::parse(&img).unwrap_err(), ElfError::NotExecutable);
    }

    #[test]
    fn segment_errors() {
        let img = Img::standard().segment(0x3000, 0x10_0000, 0x2000, 0x2000).build();
        assert_eq!(ElfImage::parse(&img).unwrap_err(), ElfError::SegmentOutsideFile { index: 1 });
        let img = Img::standard().segment(0x3000, 0x10_0000, 0x100, 0x10).build();
        assert_eq!(ElfImage::parse(&img).unwrap_err(), ElfError::SegmentOutsideFile { index: 1 }, "filesz > memsz");
        let img = Img::standard().segment(0x3000, 0x1800, 0x10, 0x10).build();
        assert_eq!(ElfImage::parse(&img).unwrap_err(), ElfError::SegmentsOverlap { first: 0, second: 1 });
        let img = Img::standard().no_segments().build();
        assert_eq!(ElfImage::parse(&img).unwrap_err(), ElfError::NoLoadSegments);
    }

    #[test]
    fn truncated_program_headers() {
        let img = Img::standard().build();
        assert_eq!(ElfImage::parse(&img[..70]).unwrap_err(), ElfError::BadProgramHeaders);
    }
}
