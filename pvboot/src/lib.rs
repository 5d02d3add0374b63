//! PV kernel loading, shared by the hypervisor's dom0 builder and xm's
//! domain builder (as Xen shares libelf and its bzImage loader between the
//! two):
//!
//! * [`bzimage`], [`unpack`]: a kernel module as given (plain ELF, or a
//!   bzImage with an xz or gzip payload) to the ELF to load;
//! * [`elf`]: the ELF64 header, loadable segments and note areas;
//! * [`notes`]: the Xen ELF notes, found and checked as Xen 4.17's libelf
//!   finds and checks them;
//! * [`policy`]: which required features each of Xen's builders refuses;
//! * [`layout`]: the x86-64 PV start-of-day virtual layout (kernel, initrd,
//!   phys-to-machine list, start_info, page tables, boot stack).
//!
//! Everything is pure and `no_std`; only the decoders' state is allocated,
//! their output and dictionary being buffers the caller provides, so the
//! hypervisor can decode into machine frames and the host tests can reach
//! every error path.
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub mod bzimage;
pub mod elf;
pub mod layout;
pub mod notes;
pub mod policy;
pub mod unpack;

pub use elf::{ElfError, ElfImage, Segment};
pub use layout::{Layout, LayoutError, LayoutRequest};
pub use notes::{NoteError, XenNotes};
pub use unpack::{identify, Compression, KernelModule, Packed, UnpackError};

/// A kernel image accepted for PV booting: its segments and its notes,
/// with the virtual addresses Xen derives from them.
#[derive(Clone, Debug)]
pub struct PvKernel<'a> {
    /// The parsed ELF image.
    pub elf: ElfImage<'a>,
    /// The Xen notes.
    pub notes: XenNotes<'a>,
    /// `VIRT_BASE - PADDR_OFFSET`: added to a segment's physical address
    /// to get the virtual address it is loaded at.
    pub virt_offset: u64,
    /// First virtual address of the kernel image.
    pub virt_kstart: u64,
    /// One past the last virtual address of the kernel image.
    pub virt_kend: u64,
    /// Virtual entry point.
    pub virt_entry: u64,
    /// Virtual address of the hypercall page, if the kernel asks for one.
    pub virt_hypercall: Option<u64>,
}

/// Why an image cannot be booted as a PV kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PvError {
    /// The ELF container is malformed or not x86-64.
    Elf(ElfError),
    /// The Xen notes are missing or unacceptable.
    Note(NoteError),
    /// The entry point is outside the loaded image.
    EntryOutOfBounds {
        /// Virtual entry.
        entry: u64,
    },
    /// The hypercall page is outside the loaded image.
    HypercallPageOutOfBounds {
        /// Virtual address of the page.
        page: u64,
    },
    /// `VIRT_BASE` lies above the kernel's start.
    VirtBaseAboveKernel,
    /// The image reaches into the hypervisor's reserved virtual range.
    OverlapsHypervisor,
    /// INIT_P2M asks for the p2m list inside the kernel image.
    P2mInsideKernel {
        /// The requested base.
        base: u64,
    },
}

impl core::fmt::Display for PvError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Elf(e) => write!(f, "{e}"),
            Self::Note(e) => write!(f, "{e}"),
            Self::EntryOutOfBounds { entry } => write!(f, "entry point {entry:#x} is outside the kernel image"),
            Self::HypercallPageOutOfBounds { page } => {
                write!(f, "hypercall page {page:#x} is outside the kernel image")
            }
            Self::VirtBaseAboveKernel => f.write_str("VIRT_BASE is above the start of the kernel image"),
            Self::OverlapsHypervisor => f.write_str("the kernel image overlaps the hypervisor's virtual range"),
            Self::P2mInsideKernel { base } => write!(f, "INIT_P2M base {base:#x} is inside the kernel image"),
        }
    }
}

impl From<ElfError> for PvError {
    fn from(e: ElfError) -> Self {
        Self::Elf(e)
    }
}

impl From<NoteError> for PvError {
    fn from(e: NoteError) -> Self {
        Self::Note(e)
    }
}

/// Start of the virtual range the x86-64 PV ABI reserves for the hypervisor.
pub const HYPERVISOR_VIRT_START: u64 = 0xffff_8000_0000_0000;
/// End of that range.
pub const HYPERVISOR_VIRT_END: u64 = 0xffff_8800_0000_0000;

/// Parse and check a PV kernel image the way Xen 4.17's loader does.
pub fn parse(image: &[u8]) -> Result<PvKernel<'_>, PvError> {
    let elf = ElfImage::parse(image)?;
    let notes = XenNotes::parse(&elf)?;
    notes.check()?;
    let (pstart, pend) = elf.paddr_bounds();
    let virt_base = notes.virt_base.unwrap_or(0);
    let paddr_offset = notes.paddr_offset.unwrap_or(virt_base);
    let virt_offset = virt_base.wrapping_sub(paddr_offset);
    let virt_kstart = pstart.wrapping_add(virt_offset);
    let virt_kend = pend.wrapping_add(virt_offset);
    if virt_base > virt_kstart {
        return Err(PvError::VirtBaseAboveKernel);
    }
    if virt_kstart < HYPERVISOR_VIRT_END && virt_kend > HYPERVISOR_VIRT_START {
        return Err(PvError::OverlapsHypervisor);
    }
    let virt_entry = notes.entry.unwrap_or(elf.entry);
    if !(virt_kstart..virt_kend).contains(&virt_entry) {
        return Err(PvError::EntryOutOfBounds { entry: virt_entry });
    }
    if let Some(base) = notes.init_p2m.filter(|b| (virt_kstart..virt_kend).contains(b)) {
        return Err(PvError::P2mInsideKernel { base });
    }
    if let Some(page) = notes.hypercall_page {
        if page < virt_kstart || page.saturating_add(4096) > virt_kend {
            return Err(PvError::HypercallPageOutOfBounds { page });
        }
    }
    Ok(PvKernel { elf, notes, virt_offset, virt_kstart, virt_kend, virt_entry, virt_hypercall: notes.hypercall_page })
}

#[cfg(test)]
pub(crate) mod testimg;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testimg::{Img, Note};

    #[test]
    fn accepts_a_minimal_pv_kernel() {
        let img = Img::standard().build();
        let k = parse(&img).unwrap();
        assert_eq!(k.virt_kstart, 0xffff_ffff_8000_0000 + 0x1000);
        assert_eq!(k.virt_entry, 0xffff_ffff_8000_1000);
        assert_eq!(k.virt_hypercall, Some(0xffff_ffff_8000_2000));
        assert_eq!(k.notes.guest_os, Some("test"));
    }

    #[test]
    fn entry_and_hypercall_page_must_be_inside() {
        let img = Img::standard().with(Note::u64(1, 0xffff_ffff_9000_0000)).build();
        assert!(matches!(parse(&img), Err(PvError::EntryOutOfBounds { .. })));
        let img = Img::standard().with(Note::u64(2, 0xffff_ffff_9000_0000)).build();
        assert!(matches!(parse(&img), Err(PvError::HypercallPageOutOfBounds { .. })));
    }

    /// Debian's vmlinuz, when the reference artefacts are cached: unpacked,
    /// parsed, and accepted by both builders' policies.
    #[test]
    fn debian_vmlinuz_if_cached() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/debian");
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
        let KernelModule::Packed(p) = identify(&img).unwrap() else { panic!("vmlinuz is a bzImage") };
        assert_eq!(p.format, Compression::Xz);
        assert_eq!(p.dict_len, 32 << 20);
        let t = std::time::Instant::now();
        let elf = p.unpack_to_vec().unwrap();
        eprintln!("unpacked {} -> {} bytes in {:?}", p.payload.len(), elf.len(), t.elapsed());
        let k = parse(&elf).unwrap();
        assert!(!k.notes.from_sections, "Linux has a PT_NOTE segment");
        assert_eq!(k.notes.guest_os, Some("linux"));
        assert!(policy::check_dom0(&k.notes).is_ok());
        assert!(policy::check_domu(&k.notes).is_ok());
    }

    #[test]
    fn image_in_hypervisor_range_is_refused() {
        let img = Img::standard().with(Note::u64(3, 0xffff_8100_0000_0000)).build();
        assert_eq!(parse(&img).unwrap_err(), PvError::OverlapsHypervisor);
    }

    #[test]
    fn p2m_base_inside_the_kernel_is_refused() {
        let inside = 0xffff_ffff_8000_2000;
        let img = Img::standard().with(Note::u64(15, inside)).build();
        assert_eq!(parse(&img).unwrap_err(), PvError::P2mInsideKernel { base: inside });
        let img = Img::standard().with(Note::u64(15, 0x80_0000_0000)).build();
        assert_eq!(parse(&img).unwrap().notes.init_p2m, Some(0x80_0000_0000));
    }
}
