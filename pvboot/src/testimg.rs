//! Synthetic ELF images for the unit tests.

use std::vec::Vec;

/// One note to put in the image.
#[derive(Clone)]
pub struct Note {
    kind: u32,
    desc: Vec<u8>,
}

impl Note {
    pub fn str(kind: u32, s: &str) -> Self {
        let mut desc = s.as_bytes().to_vec();
        desc.push(0);
        Self { kind, desc }
    }
    pub fn u64(kind: u32, v: u64) -> Self {
        Self { kind, desc: v.to_le_bytes().to_vec() }
    }
    pub fn raw(kind: u32, b: &[u8]) -> Self {
        Self { kind, desc: b.to_vec() }
    }
}

/// Builder of a test image: loadable segments at file offset == paddr.
pub struct Img {
    notes: Vec<Note>,
    segs: Vec<(u64, u64, u64, u64)>,
    truncate_notes: bool,
    /// Notes of an `SHT_NOTE` section, if any.
    section_notes: Option<Vec<Note>>,
    /// Whether the `PT_NOTE` segment is left out.
    no_note_segment: bool,
    /// Whether the `PT_NOTE` segment claims file offset 0.
    note_offset_zero: bool,
}

/// File offset of the `SHT_NOTE` section's bytes.
const SECTION_NOTES_AT: usize = 0x3000;
/// File offset of the section header table.
const SHDRS_AT: usize = 0x3c00;

fn encode(notes: &[Note]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in notes {
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&(n.desc.len() as u32).to_le_bytes());
        out.extend_from_slice(&n.kind.to_le_bytes());
        out.extend_from_slice(b"Xen\0");
        out.extend_from_slice(&n.desc);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    out
}

pub const VIRT_BASE: u64 = 0xffff_ffff_8000_0000;

impl Img {
    /// A valid kernel: one segment at paddr 0x1000 (file 0x2000, mem 0x3000).
    pub fn standard() -> Self {
        Self {
            notes: vec![
                Note::str(6, "test"),
                Note::str(5, "xen-3.0"),
                Note::str(8, "generic"),
                Note::u64(3, VIRT_BASE),
                Note::u64(4, 0),
                Note::u64(1, VIRT_BASE + 0x1000),
                Note::u64(2, VIRT_BASE + 0x2000),
            ],
            segs: vec![(0x1000, 0x1000, 0x2000, 0x3000)],
            truncate_notes: false,
            section_notes: None,
            no_note_segment: false,
            note_offset_zero: false,
        }
    }
    /// The notes in an `SHT_NOTE` section, and no `PT_NOTE` segment.
    pub fn notes_in_section_only(mut self) -> Self {
        self.section_notes = Some(self.notes.clone());
        self.no_note_segment = true;
        self
    }
    /// An `SHT_NOTE` section with `notes`, besides the segment.
    pub fn with_section_notes(mut self, notes: Vec<Note>) -> Self {
        self.section_notes = Some(notes);
        self
    }
    /// The `PT_NOTE` segment at file offset 0 (as some binutils wrote it).
    pub fn note_segment_offset_zero(mut self) -> Self {
        self.note_offset_zero = true;
        self
    }
    pub fn with(mut self, n: Note) -> Self {
        self.notes.retain(|o| o.kind != n.kind);
        self.notes.push(n);
        self
    }
    pub fn no_notes(mut self) -> Self {
        self.notes.clear();
        self
    }
    pub fn truncated_notes(mut self) -> Self {
        self.truncate_notes = true;
        self
    }
    pub fn no_segments(mut self) -> Self {
        self.segs.clear();
        self
    }
    /// Add a PT_LOAD (file offset, paddr, filesz, memsz).
    pub fn segment(mut self, offset: u64, paddr: u64, filesz: u64, memsz: u64) -> Self {
        self.segs.push((offset, paddr, filesz, memsz));
        self
    }

    pub fn build(&self) -> Vec<u8> {
        let mut notes = if self.no_note_segment { Vec::new() } else { encode(&self.notes) };
        let mut note_len = notes.len() as u64;
        if self.truncate_notes {
            notes.extend_from_slice(&4u32.to_le_bytes());
            notes.extend_from_slice(&64u32.to_le_bytes());
            notes.extend_from_slice(&1u32.to_le_bytes());
            notes.extend_from_slice(b"Xen\0");
            note_len = notes.len() as u64;
        }
        let nph = self.segs.len() + usize::from(!notes.is_empty());
        let note_off = 64 + 56 * nph as u64;
        let mut f = vec![0u8; 0x4000];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[6] = 1;
        f[16..18].copy_from_slice(&2u16.to_le_bytes());
        f[18..20].copy_from_slice(&62u16.to_le_bytes());
        f[24..32].copy_from_slice(&(VIRT_BASE + 0x1000).to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes());
        f[52..54].copy_from_slice(&64u16.to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&(nph as u16).to_le_bytes());
        let mut ph = 64;
        let mut put = |f: &mut Vec<u8>, ty: u32, off: u64, paddr: u64, filesz: u64, memsz: u64| {
            f[ph..ph + 4].copy_from_slice(&ty.to_le_bytes());
            f[ph + 8..ph + 16].copy_from_slice(&off.to_le_bytes());
            f[ph + 16..ph + 24].copy_from_slice(&(VIRT_BASE + paddr).to_le_bytes());
            f[ph + 24..ph + 32].copy_from_slice(&paddr.to_le_bytes());
            f[ph + 32..ph + 40].copy_from_slice(&filesz.to_le_bytes());
            f[ph + 40..ph + 48].copy_from_slice(&memsz.to_le_bytes());
            ph += 56;
        };
        for &(off, paddr, filesz, memsz) in &self.segs {
            put(&mut f, 1, off, paddr, filesz, memsz);
        }
        if !notes.is_empty() {
            let off = if self.note_offset_zero { 0 } else { note_off };
            put(&mut f, 4, off, 0, note_len, note_len);
            f[note_off as usize..note_off as usize + notes.len()].copy_from_slice(&notes);
        }
        if let Some(sn) = &self.section_notes {
            let bytes = encode(sn);
            f[SECTION_NOTES_AT..SECTION_NOTES_AT + bytes.len()].copy_from_slice(&bytes);
            // Section 0 (null), 1 (.text, PROGBITS), 2 (.notes, NOTE).
            f[40..48].copy_from_slice(&(SHDRS_AT as u64).to_le_bytes());
            f[58..60].copy_from_slice(&64u16.to_le_bytes());
            f[60..62].copy_from_slice(&3u16.to_le_bytes());
            let text = SHDRS_AT + 64;
            f[text + 4..text + 8].copy_from_slice(&1u32.to_le_bytes());
            let sh = SHDRS_AT + 128;
            f[sh + 4..sh + 8].copy_from_slice(&7u32.to_le_bytes());
            f[sh + 24..sh + 32].copy_from_slice(&(SECTION_NOTES_AT as u64).to_le_bytes());
            f[sh + 32..sh + 40].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        }
        f
    }
}
