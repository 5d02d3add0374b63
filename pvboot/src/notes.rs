//! The Xen ELF notes of a PV kernel (`XEN_ELFNOTE_*`, name "Xen"), parsed
//! from the `PT_NOTE` segments and checked the way Xen 4.17's loader does.

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

/// Names of the `XENFEAT_*` bits, as the FEATURES note spells them.
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
    /// A string note is not UTF-8.
    BadString {
        /// Note type.
        kind: u32,
    },
    /// A numeric note has a size other than 1, 2, 4 or 8.
    BadNumber {
        /// Note type.
        kind: u32,
    },
    /// Neither LOADER "generic" nor GUEST_OS "linux".
    UnsupportedLoader,
    /// XEN_VERSION missing or not "xen-3.0".
    UnsupportedXenVersion,
    /// FEATURES names a feature nobody knows.
    UnknownFeature,
    /// The guest requires a feature this hypervisor lacks.
    RequiredFeatureUnsupported {
        /// XENFEAT bit number.
        bit: u32,
    },
}

impl fmt::Display for NoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoXenNotes => f.write_str("not a Xen PV kernel: no Xen ELF notes"),
            Self::Truncated => f.write_str("a Xen ELF note is truncated"),
            Self::BadString { kind } => write!(f, "Xen ELF note {kind} is not a UTF-8 string"),
            Self::BadNumber { kind } => write!(f, "Xen ELF note {kind} has a bad numeric size"),
            Self::UnsupportedLoader => {
                f.write_str("will only load images built for the generic loader or Linux images")
            }
            Self::UnsupportedXenVersion => f.write_str("will only load images built for Xen v3.0 (XEN_VERSION note)"),
            Self::UnknownFeature => f.write_str("FEATURES note names an unknown feature"),
            Self::RequiredFeatureUnsupported { bit } => write!(
                f,
                "kernel requires feature '{}', which this hypervisor does not support",
                FEATURE_NAMES.get(*bit as usize).copied().unwrap_or("?")
            ),
        }
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A string note's text: up to its first NUL, or the whole body when it
/// has none. Linux emits FEATURES with `.ascii` (no NUL inside `descsz`);
/// Xen's libelf reads such a string on into the note's zero padding, which
/// ends it where the body ends.
fn string(kind: u32, desc: &[u8]) -> Result<&str, NoteError> {
    let body = desc.split(|&b| b == 0).next().unwrap_or(desc);
    core::str::from_utf8(body).map_err(|_| NoteError::BadString { kind })
}

fn number(kind: u32, desc: &[u8]) -> Result<u64, NoteError> {
    Ok(match desc.len() {
        1 => u64::from(desc[0]),
        2 => u64::from(u16::from_le_bytes([desc[0], desc[1]])),
        4 => u64::from(u32::from_le_bytes(desc.try_into().map_err(|_| NoteError::BadNumber { kind })?)),
        8 => u64::from_le_bytes(desc.try_into().map_err(|_| NoteError::BadNumber { kind })?),
        _ => return Err(NoteError::BadNumber { kind }),
    })
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
    /// Collect the Xen notes of an image.
    pub fn parse(elf: &ElfImage<'a>) -> Result<Self, NoteError> {
        let mut n = Self::default();
        for seg in elf.note_segments() {
            for e in entries(seg) {
                let (name, kind_no, desc) = e?;
                if name != b"Xen" {
                    continue;
                }
                n.any = true;
                n.apply(kind_no, desc)?;
            }
        }
        if !n.any {
            return Err(NoteError::NoXenNotes);
        }
        Ok(n)
    }

    fn apply(&mut self, k: u32, desc: &'a [u8]) -> Result<(), NoteError> {
        match k {
            kind::GUEST_OS => self.guest_os = Some(string(k, desc)?),
            kind::GUEST_VERSION => self.guest_version = Some(string(k, desc)?),
            kind::XEN_VERSION => self.xen_version = Some(string(k, desc)?),
            kind::LOADER => self.loader = Some(string(k, desc)?),
            kind::PAE_MODE => self.pae_mode = Some(string(k, desc)?),
            kind::FEATURES => {
                let s = string(k, desc)?;
                self.features = Some(s);
                let (opt, req) = parse_features(s)?;
                self.supported_features |= opt | req;
                self.required_features |= req;
            }
            kind::ENTRY => self.entry = Some(number(k, desc)?),
            kind::HYPERCALL_PAGE => self.hypercall_page = Some(number(k, desc)?),
            kind::VIRT_BASE => self.virt_base = Some(number(k, desc)?),
            kind::PADDR_OFFSET => self.paddr_offset = Some(number(k, desc)?),
            kind::HV_START_LOW => self.hv_start_low = Some(number(k, desc)?),
            kind::INIT_P2M => self.init_p2m = Some(number(k, desc)?),
            kind::MOD_START_PFN => self.mod_start_pfn = number(k, desc)? != 0,
            kind::SUSPEND_CANCEL => self.suspend_cancel = number(k, desc)? != 0,
            kind::SUPPORTED_FEATURES => self.supported_features |= number(k, desc)? as u32,
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

    /// Refuse a guest that requires a feature outside `available`.
    pub fn check_required(&self, available: u32) -> Result<(), NoteError> {
        let missing = self.required_features & !available;
        if missing != 0 {
            return Err(NoteError::RequiredFeatureUnsupported { bit: missing.trailing_zeros() });
        }
        Ok(())
    }
}

/// Parse "a|!b|c" into (optional, required) bitmaps.
pub fn parse_features(s: &str) -> Result<(u32, u32), NoteError> {
    let (mut opt, mut req) = (0u32, 0u32);
    for item in s.split('|').filter(|i| !i.is_empty()) {
        let (name, required) = match item.strip_prefix('!') {
            Some(n) => (n, true),
            None => (item, false),
        };
        let bit = FEATURE_NAMES.iter().position(|&f| f == name).ok_or(NoteError::UnknownFeature)?;
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
        assert_eq!(parse_features("!writable_page_tables|pae_pgdir_above_4gb").unwrap(), (1 << 4, 1));
        assert_eq!(parse_features("frobnicate"), Err(NoteError::UnknownFeature));
        assert_eq!(parse_features(""), Ok((0, 0)));
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
        let img = Img::standard().with(Note::raw(6, b"\xff\xfe")).build();
        assert_eq!(notes(&img).unwrap_err(), NoteError::BadString { kind: 6 });
        // Linux's FEATURES note is `.ascii`, without a NUL: taken whole.
        let img = Img::standard().with(Note::raw(10, b"!writable_page_tables")).build();
        assert!(notes(&img).is_ok());
        let img = Img::standard().with(Note::raw(1, &[1, 2, 3])).build();
        assert_eq!(notes(&img).unwrap_err(), NoteError::BadNumber { kind: 1 });
        let img = Img::standard().truncated_notes().build();
        assert_eq!(notes(&img).unwrap_err(), NoteError::Truncated);
    }

    #[test]
    fn required_features() {
        let img = Img::standard().with(Note::str(10, "!writable_page_tables|dom0")).build();
        let n = notes(&img).unwrap();
        assert_eq!(n.check_required(0), Err(NoteError::RequiredFeatureUnsupported { bit: 0 }));
        assert!(n.check_required(1).is_ok());
        assert_ne!(n.supported_features & (1 << 11), 0);
    }
}
