//! The hypervisor's own page tables.
//!
//! Layout, inside the range the x86-64 PV ABI reserves for the hypervisor:
//! * the image at its link address (`XEN_VIRT_START` + load address), text
//!   read-only and executable, read-only data and data no-execute;
//! * a direct map of machine memory at [`DIRECTMAP_VIRT_START`] (2 MiB
//!   pages, no-execute; non-RAM uncached), covering at least 4 GiB so that
//!   the local APIC, IOAPICs and ACPI tables are reachable.
//!
//! Nothing is mapped in the lower half: that belongs to guests.

use bitflags::bitflags;

use crate::mm::memmap::RangeSet;
use crate::mm::{align_up, PAGE_SIZE};

/// Where the image is linked, minus its load address.
pub const XEN_VIRT_START: u64 = 0xffff_82d0_4000_0000;
/// Start of the direct map of machine memory.
pub const DIRECTMAP_VIRT_START: u64 = 0xffff_8300_0000_0000;
/// The direct map covers at least this much.
pub const DIRECTMAP_MIN: u64 = 4 << 30;
const LARGE_PAGE: u64 = 2 << 20;

bitflags! {
    /// x86-64 page-table entry bits.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Pte: u64 {
        /// Present.
        const P = 1 << 0;
        /// Writable.
        const RW = 1 << 1;
        /// User accessible.
        const US = 1 << 2;
        /// Write-through.
        const PWT = 1 << 3;
        /// Cache disable.
        const PCD = 1 << 4;
        /// Accessed.
        const A = 1 << 5;
        /// Dirty.
        const D = 1 << 6;
        /// Large page (PS) in L2/L3 entries.
        const PSE = 1 << 7;
        /// Global.
        const G = 1 << 8;
        /// No-execute.
        const NX = 1 << 63;
    }
}

/// Mask of the frame address in an entry.
pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

/// Virtual address of machine address `maddr` in the direct map.
pub const fn maddr_to_virt(maddr: u64) -> u64 {
    DIRECTMAP_VIRT_START + maddr
}

/// Machine address of a direct-map or image virtual address.
pub fn virt_to_maddr(va: u64) -> u64 {
    if va >= DIRECTMAP_VIRT_START {
        va - DIRECTMAP_VIRT_START
    } else {
        va - XEN_VIRT_START
    }
}

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __image_end: u8;
    static boot_pml4: u8;
}

/// Machine address of the boot PML4 (identity map + direct map + image),
/// which application processors start on.
pub fn boot_pml4_maddr() -> u64 {
    // `.boot` is linked at its physical address.
    &raw const boot_pml4 as u64
}

/// Virtual range of the image.
pub fn image_range() -> (u64, u64) {
    (&raw const __text_start as u64, &raw const __image_end as u64)
}

/// Builds page tables from frames handed out by `alloc` (machine addresses).
pub struct Builder<F: FnMut() -> Option<u64>> {
    root: u64,
    alloc: F,
    nx: Pte,
}

/// Page tables could not be built: no frame for a table.
#[derive(Debug)]
pub struct OutOfFrames;

fn table(maddr: u64) -> &'static mut [u64; 512] {
    // SAFETY: page-table frames are freshly allocated RAM that only the
    // builder touches, reached through the boot direct map.
    unsafe { &mut *(maddr_to_virt(maddr) as *mut [u64; 512]) }
}

impl<F: FnMut() -> Option<u64>> Builder<F> {
    /// Start a new, empty address space. `nx` says whether EFER.NXE is on.
    pub fn new(mut alloc: F, nx: bool) -> Result<Self, OutOfFrames> {
        let root = Self::zeroed(&mut alloc)?;
        Ok(Self { root, alloc, nx: if nx { Pte::NX } else { Pte::empty() } })
    }

    fn zeroed(alloc: &mut F) -> Result<u64, OutOfFrames> {
        let m = alloc().ok_or(OutOfFrames)?;
        table(m).fill(0);
        Ok(m)
    }

    /// Machine address of the root (for CR3).
    pub fn root(&self) -> u64 {
        self.root
    }

    /// The table one level down from `entry`, allocating it if absent;
    /// `user` makes the path user-accessible.
    fn next(&mut self, tbl: u64, index: usize, user: bool) -> Result<u64, OutOfFrames> {
        let e = table(tbl)[index];
        let us = if user { Pte::US.bits() } else { 0 };
        if e & Pte::P.bits() != 0 {
            table(tbl)[index] = e | us;
            return Ok(e & ADDR_MASK);
        }
        let m = Self::zeroed(&mut self.alloc)?;
        table(tbl)[index] = m | (Pte::P | Pte::RW).bits() | us;
        Ok(m)
    }

    fn walk_to(&mut self, va: u64, level: u32, user: bool) -> Result<u64, OutOfFrames> {
        let mut t = self.root;
        for l in (level + 1..=4).rev() {
            t = self.next(t, index(va, l), user)?;
        }
        Ok(t)
    }

    /// Map one 4 KiB page.
    pub fn map_4k(&mut self, va: u64, maddr: u64, flags: Pte) -> Result<(), OutOfFrames> {
        let l1 = self.walk_to(va, 1, flags.contains(Pte::US))?;
        table(l1)[index(va, 1)] = maddr | self.fix(flags).bits();
        Ok(())
    }

    /// Map one 2 MiB page.
    pub fn map_2m(&mut self, va: u64, maddr: u64, flags: Pte) -> Result<(), OutOfFrames> {
        let l2 = self.walk_to(va, 2, flags.contains(Pte::US))?;
        table(l2)[index(va, 2)] = maddr | (self.fix(flags) | Pte::PSE).bits();
        Ok(())
    }

    fn fix(&self, flags: Pte) -> Pte {
        if flags.contains(Pte::NX) { (flags - Pte::NX) | self.nx } else { flags }
    }
}

/// Index of `va` in its level-`level` table (1 = L1 … 4 = L4).
pub const fn index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * (level - 1))) & 511) as usize
}

/// Machine address of the hypervisor's PML4 (0 until built).
static HV_ROOT: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// The hypervisor's PML4, whose slots 256–271 every guest L4 shares.
pub fn hypervisor_root_table() -> &'static [u64; 512] {
    let root = HV_ROOT.load(core::sync::atomic::Ordering::Acquire);
    // SAFETY: the PML4 frame, read through the direct map.
    unsafe { &*(maddr_to_virt(root) as *const [u64; 512]) }
}

/// Build the hypervisor's final address space for machine memory `ram`,
/// including the read-only machine-to-phys table at `MACH2PHYS_VIRT_START`
/// for machine frames `[0, m2p_frames_maddr..)`: `m2p_maddr` is the machine
/// address of `m2p_pages` contiguous pages holding it.
pub fn build_hypervisor_tables<F: FnMut() -> Option<u64>>(
    alloc: F,
    ram: &RangeSet,
    nx: bool,
    m2p_maddr: u64,
    m2p_pages: u64,
) -> Result<u64, OutOfFrames> {
    let mut b = Builder::new(alloc, nx)?;
    for i in 0..m2p_pages {
        b.map_4k(
            dom0_abi::arch_x86::MACH2PHYS_VIRT_START + i * PAGE_SIZE,
            m2p_maddr + i * PAGE_SIZE,
            Pte::P | Pte::US | Pte::NX | Pte::A,
        )?;
    }
    let (text, text_end, rodata_end, image_end) = (
        &raw const __text_start as u64,
        &raw const __text_end as u64,
        &raw const __rodata_end as u64,
        align_up(&raw const __image_end as u64, PAGE_SIZE),
    );
    let mut va = text;
    while va < image_end {
        let flags = if va < text_end {
            Pte::P
        } else if va < rodata_end {
            Pte::P | Pte::NX
        } else {
            Pte::P | Pte::RW | Pte::NX
        };
        b.map_4k(va, va - XEN_VIRT_START, flags | Pte::A | Pte::D)?;
        va += PAGE_SIZE;
    }
    let end = align_up(ram.end().max(DIRECTMAP_MIN), LARGE_PAGE);
    let mut pa = 0;
    while pa < end {
        let is_ram = ram.as_slice().iter().any(|r| r.start < pa + LARGE_PAGE && pa < r.end);
        let cache = if is_ram { Pte::empty() } else { Pte::PCD | Pte::PWT };
        b.map_2m(maddr_to_virt(pa), pa, Pte::P | Pte::RW | Pte::NX | Pte::A | Pte::D | cache)?;
        pa += LARGE_PAGE;
    }
    HV_ROOT.store(b.root(), core::sync::atomic::Ordering::Release);
    Ok(b.root())
}

/// Switch this CPU to the page tables rooted at `cr3`.
///
/// # Safety
/// The tables must map the running code, its stack and all data in use.
pub unsafe fn load_cr3(cr3: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { core::arch::asm!("mov cr3, {}", in(reg) cr3, options(nostack)) };
}
