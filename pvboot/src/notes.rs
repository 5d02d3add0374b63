//! The Xen ELF notes of a PV kernel (`XEN_ELFNOTE_*`, name "Xen"), found
//! as Xen 4.17's libelf finds them (the `PT_NOTE` segments; when those hold
//! no Xen note, the `SHT_NOTE` sections) and checked as it checks them.

use core::fmt;

use crate::elf::ElfImage;

/// Note type numbers (`XEN_ELFNOTE_*`).
pub mod kind {
    /// Virtual entry point.
    pub const ENTRY: u32 = 1;
    /// Virtual address of the hypercall page.
    pub const HYPERCALL_PAGE: u32 = 2;
    /// Virtual address the image's physical address 0 maps to, roughly.
    pub const VIRT_BASE: u32 = 3;
    /// Subtracted from ELF physical addresses.
    pub const PADDR_OFFSET: u32 = 4;
    /// Xen ABI version string ("xen-3.0").
    pub const XEN_VERSION: u32 = 5;
    /// Guest OS name.
    pub const GUEST_OS: u32 = 6;
    /// Guest OS version.
    pub const GUEST_VERSION: u32 = 7;
    /// Loader ("generic").
    pub const LOADER: u32 = 8;
    /// PAE mode string.
    pub const PAE_MODE: u32 = 9;
    /// Feature string ("a|!b").
    pub const FEATURES: u32 = 10;
    /// BSD symbol table request.
    pub const BSD_SYMTAB: u32 = 11;
    /// Lowest hypervisor virtual address the guest tolerates.
    pub const HV_START_LOW: u32 = 12;
    /// L1 entry MFN mask/value.
    pub const L1_MFN_VALID: u32 = 13;
    /// Suspend cancellation support.
    pub const SUSPEND_CANCEL: u32 = 14;
    /// Where the guest wants its initial p2m list mapped.
    pub const INIT_P2M: u32 = 15;
    /// The guest takes the initrd by PFN (`SIF_MOD_START_PFN`).
    pub const MOD_START_PFN: u32 = 16;
    /// Feature bitmap the guest supports.
    pub const SUPPORTED_FEATURES: u32 = 17;
    /// 32-bit entry for PVH.
    pub const PHYS32_ENTRY: u32 = 18;
}

/// Names of the `XENFEAT_*` bits (`xen/include/public/features.h`), for
/// messages.
pub const FEATURE_NAMES: [&str; 18] = [
    "writable_page_tables",
    "writable_descriptor_tables",
    "auto_translated_physmap",
    "supervisor_mode_kernel",
    "pae_pgdir_above_4gb",
    "mmu_pt_update_preserve_ad",
    "highmem_assist",
    "gnttab_map_avail_bits",
    "hvm_callback_vector",
    "hvm_safe_pvclock",
    "hvm_pirqs",
    "dom0",
    "grant_map_identity",
    "memory_op_vnode_supported",
    "ARM_SMCCC_supported",
    "linux_rsdp_unrestricted",
    "not_direct_mapped",
    "direct_mapped",
];

/// The `XENFEAT_*` names libelf knows in a FEATURES note, with their bits.
/// Any other name is ignored when optional and refused when required.
pub const NOTE_FEATURES: [(u32, &str); 7] = [
    (0, "writable_page_tables"),
    (1, "writable_descriptor_tables"),
    (2, "auto_translated_physmap"),
    (3, "supervisor_mode_kernel"),
    (4, "pae_pgdir_above_4gb"),
    (8, "hvm_callback_vector"),
    (11, "dom0"),
];

/// The notes we understand.
#[derive(Clone, Copy, Debug, Default)]
pub struct XenNotes<'a> {
    /// GUEST_OS.
    pub guest_os: Option<&'a str>,
    /// GUEST_VERSION.
    pub guest_version: Option<&'a str>,
    /// XEN_VERSION.
    pub xen_version: Option<&'a str>,
    /// LOADER.
    pub loader: Option<&'a str>,
    /// PAE_MODE.
    pub pae_mode: Option<&'a str>,
    /// FEATURES, raw.
    pub features: Option<&'a str>,
    /// ENTRY.
    pub entry: Option<u64>,
    /// HYPERCALL_PAGE.
    pub hypercall_page: Option<u64>,
    /// VIRT_BASE.
    pub virt_base: Option<u64>,
    /// PADDR_OFFSET.
    pub paddr_offset: Option<u64>,
    /// HV_START_LOW.
    pub hv_start_low: Option<u64>,
    /// INIT_P2M.
    pub init_p2m: Option<u64>,
    /// MOD_START_PFN.
    pub mod_start_pfn: bool,
    /// SUSPEND_CANCEL.
    pub suspend_cancel: bool,
    /// SUPPORTED_FEATURES bitmap (plus the FEATURES note's optional ones).
    pub supported_features: u32,
    /// Features the guest requires (`!name` in FEATURES).
    pub required_features: u32,
    /// Whether a SUPPORTED_FEATURES note was present (Xen's dom0 builder
    /// checks for `dom0` only then).
    pub has_supported_features_note: bool,
    /// Whether the notes came from `SHT_NOTE` sections (no Xen note in a
    /// `PT_NOTE` segment).
    pub from_sections: bool,
    /// Whether any Xen note was present.
    pub any: bool,
}

/// What is wrong with the notes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteError {
    /// No Xen note at all: not a Xen PV kernel.
    NoXenNotes,
    /// A note header or body runs past its segment.
    Truncated,
    /// Neither LOADER "generic" nor GUEST_OS "linux".
    UnsupportedLoader,
    /// XEN_VERSION missing or not "xen-3.0".
    UnsupportedXenVersion,
    /// FEATURES requires (`!name`) a feature libelf does not know.
    UnknownRequiredFeature,
}

impl fmt::Display for NoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoXenNotes => f.write_str("not a Xen PV kernel: no Xen ELF notes"),
            Self::Truncated => f.write_str("a Xen ELF note is truncated"),
            Self::UnsupportedLoader => {
                f.write_str("will only load images built for the generic loader or Linux images")
            }
            Self::UnsupportedXenVersion => f.write_str("will only load images built for Xen v3.0 (XEN_VERSION note)"),
            Self::UnknownRequiredFeature => f.write_str("FEATURES note requires an unknown feature"),
        }
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A string note's bytes: up to its first NUL, or the whole body when it
/// has none. Linux emits FEATURES with `.ascii` (no NUL inside `descsz`);
/// Xen's libelf reads such a string on into the note's zero padding, which
/// ends it where the body ends.
fn c_string(desc: &[u8]) -> &[u8] {
    desc.split(|&b| b == 0).next().unwrap_or(desc)
}

/// A string note as text: libelf takes any bytes, so a string that is not
/// UTF-8 is kept up to its first invalid byte (the prefixes Xen compares,
/// "linux", "generic", "xen-3.0", are ASCII).
fn string(desc: &[u8]) -> &str {
    let body = c_string(desc);
    match core::str::from_utf8(body) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(&body[..e.valid_up_to()]).unwrap_or(""),
    }
}

/// A numeric note's value: a 1, 2, 4 or 8-byte little-endian number; any
/// other size reads as 0, as libelf reads it.
fn number(desc: &[u8]) -> u64 {
    match *desc {
        [a] => u64::from(a),
        [a, b] => u64::from(u16::from_le_bytes([a, b])),
        [a, b, c, d] => u64::from(u32::from_le_bytes([a, b, c, d])),
        [a, b, c, d, e, f, g, h] => u64::from_le_bytes([a, b, c, d, e, f, g, h]),
        _ => 0,
    }
}

/// The SUPPORTED_FEATURES bitmap's first 32-bit word (the only one Xen
/// 4.17 defines); 0 when the note is not made of 32-bit words, as libelf.
fn first_word(desc: &[u8]) -> u32 {
    match desc {
        [a, b, c, d, ..] if desc.len() % 4 == 0 => u32::from_le_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

/// Iterate `(name, type, desc)` over one note segment.
fn entries(seg: &[u8]) -> impl Iterator<Item = Result<(&[u8], u32, &[u8]), NoteError>> {
    let mut at = 0usize;
    core::iter::from_fn(move || {
        if at + 12 > seg.len() {
            return None;
        }
        let word = |o: usize| u32::from_le_bytes(seg[o..o + 4].try_into().unwrap_or([0; 4])) as usize;
        let (namesz, descsz, kind) = (word(at), word(at + 4), word(at + 8) as u32);
        let name_at = at + 12;
        let desc_at = name_at.checked_add(align4(namesz))?;
        let end = desc_at.checked_add(align4(descsz));
        match end {
            Some(end) if desc_at + descsz <= seg.len() && name_at + namesz <= seg.len() => {
                at = end;
                let name = &seg[name_at..name_at + namesz];
                let name = name.strip_suffix(&[0]).unwrap_or(name);
                Some(Ok((name, kind, &seg[desc_at..desc_at + descsz])))
            }
            _ => {
                at = seg.len();
                Some(Err(NoteError::Truncated))
            }
        }
    })
}

impl<'a> XenNotes<'a> {
    /// Collect the Xen notes of an image: from its `PT_NOTE` segments, or,
    /// when those hold none, from its `SHT_NOTE` sections.
    pub fn parse(elf: &ElfImage<'a>) -> Result<Self, NoteError> {
        let mut n = Self::default();
        for seg in elf.note_segments() {
            n.collect(seg)?;
        }
        if !n.any {
            for sec in elf.note_sections() {
                n.collect(sec)?;
            }
            n.from_sections = n.any;
        }
        if !n.any {
            return Err(NoteError::NoXenNotes);
        }
        Ok(n)
    }

    /// Apply the Xen notes of one note area.
    fn collect(&mut self, area: &'a [u8]) -> Result<(), NoteError> {
        for e in entries(area) {
            let (name, kind_no, desc) = e?;
            if name == b"Xen" {
                self.any = true;
                self.apply(kind_no, desc)?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, k: u32, desc: &'a [u8]) -> Result<(), NoteError> {
        match k {
            kind::GUEST_OS => self.guest_os = Some(string(desc)),
            kind::GUEST_VERSION => self.guest_version = Some(string(desc)),
            kind::XEN_VERSION => self.xen_version = Some(string(desc)),
            kind::LOADER => self.loader = Some(string(desc)),
            kind::PAE_MODE => self.pae_mode = Some(string(desc)),
            kind::FEATURES => {
                self.features = Some(string(desc));
                let (opt, req) = parse_features(c_string(desc))?;
                self.supported_features |= opt | req;
                self.required_features |= req;
            }
            kind::ENTRY => self.entry = Some(number(desc)),
            kind::HYPERCALL_PAGE => self.hypercall_page = Some(number(desc)),
            kind::VIRT_BASE => self.virt_base = Some(number(desc)),
            kind::PADDR_OFFSET => self.paddr_offset = Some(number(desc)),
            kind::HV_START_LOW => self.hv_start_low = Some(number(desc)),
            kind::INIT_P2M => self.init_p2m = Some(number(desc)),
            kind::MOD_START_PFN => self.mod_start_pfn = number(desc) != 0,
            kind::SUSPEND_CANCEL => self.suspend_cancel = number(desc) != 0,
            kind::SUPPORTED_FEATURES => {
                self.supported_features |= first_word(desc);
                self.has_supported_features_note = true;
            }
            _ => {}
        }
        Ok(())
    }

    /// Xen's acceptance checks: generic loader or Linux, Xen 3.0 ABI.
    pub fn check(&self) -> Result<(), NoteError> {
        let generic = self.loader.is_some_and(|l| l.starts_with("generic"));
        let linux = self.guest_os.is_some_and(|g| g.starts_with("linux"));
        if !generic && !linux {
            return Err(NoteError::UnsupportedLoader);
        }
        if !self.xen_version.is_some_and(|v| v.starts_with("xen-3.0")) {
            return Err(NoteError::UnsupportedXenVersion);
        }
        Ok(())
    }
}

/// Parse "a|!b|c" into (optional, required) bitmaps, as libelf does: a
/// name it does not know is ignored, unless it is required.
pub fn parse_features(s: &[u8]) -> Result<(u32, u32), NoteError> {
    let (mut opt, mut req) = (0u32, 0u32);
    for item in s.split(|&b| b == b'|').filter(|i| !i.is_empty()) {
        let (name, required) = match item.strip_prefix(b"!") {
            Some(n) => (n, true),
            None => (item, false),
        };
        let Some(&(bit, _)) = NOTE_FEATURES.iter().find(|&&(_, f)| f.as_bytes() == name) else {
            if required {
                return Err(NoteError::UnknownRequiredFeature);
            }
            continue;
        };
        if required {
            req |= 1 << bit;
        } else {
            opt |= 1 << bit;
        }
    }
    Ok((opt, req))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testimg::{Img, Note};

    fn notes(img: &[u8]) -> Result<XenNotes<'_>, NoteError> {
        let elf = ElfImage::parse(img).unwrap();
        let n = XenNotes::parse(&elf)?;
        n.check()?;
        Ok(n)
    }

    #[test]
    fn features_parse() {
        assert_eq!(parse_features(b"!writable_page_tables|pae_pgdir_above_4gb").unwrap(), (1 << 4, 1));
        assert_eq!(parse_features(b"frobnicate|dom0"), Ok((1 << 11, 0)), "unknown optional names are ignored");
        assert_eq!(parse_features(b"!frobnicate"), Err(NoteError::UnknownRequiredFeature));
        // libelf knows seven names; others, even Xen's, are unknown to it.
        assert_eq!(parse_features(b"gnttab_map_avail_bits"), Ok((0, 0)));
        assert_eq!(parse_features(b"!gnttab_map_avail_bits"), Err(NoteError::UnknownRequiredFeature));
        assert_eq!(parse_features(b""), Ok((0, 0)));
    }

    #[test]
    fn no_notes_is_not_pv() {
        let img = Img::standard().no_notes().build();
        assert_eq!(notes(&img).unwrap_err(), NoteError::NoXenNotes);
    }

    #[test]
    fn loader_and_version_are_checked() {
        let img = Img::standard().with(Note::str(8, "weird")).build();
        assert_eq!(notes(&img).unwrap_err(), NoteError::UnsupportedLoader);
        let img = Img::standard().with(Note::str(8, "weird")).with(Note::str(6, "linux")).build();
        assert!(notes(&img).is_ok(), "GUEST_OS linux is accepted without the generic loader");
        let img = Img::standard().with(Note::str(5, "xen-2.0")).build();
        assert_eq!(notes(&img).unwrap_err(), NoteError::UnsupportedXenVersion);
    }

    #[test]
    fn bad_note_bodies() {
        // Not UTF-8: kept up to the first invalid byte (libelf takes bytes).
        let img = Img::standard().with(Note::raw(7, b"2.6\xff\xfe")).build();
        assert_eq!(notes(&img).unwrap().guest_version, Some("2.6"));
        let img = Img::standard().with(Note::raw(10, b"dom0|\xff|!supervisor_mode_kernel")).build();
        assert_eq!(notes(&img).unwrap().required_features, 1 << 3, "features read as bytes");
        // Linux's FEATURES note is `.ascii`, without a NUL: taken whole.
        let img = Img::standard().with(Note::raw(10, b"!writable_page_tables")).build();
        assert!(notes(&img).is_ok());
        // A numeric note of another size reads as 0, as in libelf.
        let img = Img::standard().with(Note::raw(3, &[1, 2, 3])).build();
        assert_eq!(notes(&img).unwrap().virt_base, Some(0));
        let img = Img::standard().with(Note::raw(1, &[0x10, 0x20])).build();
        assert_eq!(notes(&img).unwrap().entry, Some(0x2010));
        let img = Img::standard().with(Note::raw(17, &[0x01, 0x08, 0, 0, 0xff, 0xff, 0xff, 0xff])).build();
        assert_eq!(notes(&img).unwrap().supported_features, 0x801, "the first 32-bit word");
        let img = Img::standard().with(Note::raw(17, &[0x01, 0x08])).build();
        assert_eq!(notes(&img).unwrap().supported_features, 0);
        let img = Img::standard().truncated_notes().build();
        assert_eq!(notes(&img).unwrap_err(), NoteError::Truncated);
    }

    #[test]
    fn required_and_supported_features() {
        let img = Img::standard().with(Note::str(10, "!writable_page_tables|dom0")).build();
        let n = notes(&img).unwrap();
        assert_eq!(n.required_features, 1);
        assert_eq!(n.supported_features, 1 | (1 << 11));
        assert!(!n.has_supported_features_note);
        let img = Img::standard().with(Note::raw(17, &0x8801u32.to_le_bytes())).build();
        let n = notes(&img).unwrap();
        assert!(n.has_supported_features_note);
        assert_eq!(n.supported_features, 0x8801);
    }

    #[test]
    fn notes_from_sections_when_no_segment_has_them() {
        let img = Img::standard().notes_in_section_only().build();
        let n = notes(&img).unwrap();
        assert!(n.from_sections);
        assert_eq!(n.guest_os, Some("test"));
        assert_eq!(n.virt_base, Some(crate::testimg::VIRT_BASE));
        let img = Img::standard().build();
        assert!(!notes(&img).unwrap().from_sections, "segments first");
    }

    #[test]
    fn segment_notes_win_over_sections() {
        // A section with other notes is not read once a segment had some.
        let img = Img::standard().with_section_notes(vec![Note::str(6, "from-section")]).build();
        assert_eq!(notes(&img).unwrap().guest_os, Some("test"));
        // With no Xen note in the segment, the section's notes count.
        let img = Img::standard().notes_in_section_only().build();
        assert_eq!(notes(&img).unwrap().guest_os, Some("test"));
    }

    #[test]
    fn note_segment_at_offset_zero_is_skipped() {
        let img = Img::standard().note_segment_offset_zero().build();
        assert_eq!(notes(&img).unwrap_err(), NoteError::NoXenNotes, "libelf skips PT_NOTE with p_offset 0");
    }
}
