//! Page-table helpers of the memory-management test kernels (`mm`,
//! `mm_hostile`, `bench`): the p2m the domain builder hands over, the
//! hypervisor's read-only m2p, a walk of the current page tables, a
//! bump allocator of free frames, scratch virtual pages that can be
//! remapped at will, and typed wrappers of `mmu_update`, `mmuext_op`,
//! `memory_op` and `vm_assist`.
//!
//! Free frames are the pfns at the top of the domain's memory: the builder
//! maps only the image, the p2m, start_info, the bootstrap page tables and
//! the boot stack (a few MiB from the bottom), so the top pfns are owned by
//! the domain and mapped nowhere.

use core::fmt::{self, Write};

use dom0_abi::hypercall::{HYPERVISOR_memory_op, HYPERVISOR_mmu_update, HYPERVISOR_mmuext_op, HYPERVISOR_vm_assist};
use dom0_abi::mmu::{MmuUpdate, MmuextOp, UVMF_INVLPG};
use dom0_abi::xen::DOMID_SELF;

use crate::hypercall::{self, check, XenResult};
use crate::start::VIRT_BASE;
use crate::StartInfo;

/// Page-table entry bit: present.
pub const P: u64 = 1 << 0;
/// Page-table entry bit: writable.
pub const RW: u64 = 1 << 1;
/// Page-table entry bit: user.
pub const US: u64 = 1 << 2;
/// Page-table entry bit: page-level write-through.
pub const PWT: u64 = 1 << 3;
/// Page-table entry bit: accessed.
pub const A: u64 = 1 << 5;
/// Page-table entry bit: dirty.
pub const D: u64 = 1 << 6;
/// Page-table entry bit: page size (superpage in an L2/L3 entry; PAT in an L1).
pub const PSE: u64 = 1 << 7;
/// Flags of an ordinary writable data mapping.
pub const DATA_RW: u64 = P | RW | US | A | D;
/// Flags of a read-only data mapping.
pub const DATA_RO: u64 = P | US | A;
/// Flags of an entry pointing at a lower-level table.
pub const TABLE: u64 = P | RW | US | A;
/// Mask of the frame-number bits of an entry.
pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
/// Mask of the flag bits of an entry (low 12 and top 12 bits).
pub const FLAGS_MASK: u64 = !ADDR_MASK;

/// Where Xen 4.17 maps the read-only m2p for PV guests (`RO_MPT_VIRT_START`).
pub const M2P_VIRT: u64 = 0xffff_8000_0000_0000;

/// Size of a page.
pub const PAGE: u64 = 4096;

/// The p2m (pfn → mfn list) the domain builder placed at `mfn_list`.
pub fn p2m(si: &StartInfo) -> &'static [u64] {
    // SAFETY: the builder maps `nr_pages` entries at `mfn_list` for the
    // domain's lifetime; nothing here writes them.
    unsafe { core::slice::from_raw_parts(si.mfn_list as *const u64, si.nr_pages as usize) }
}

/// The m2p entry of `mfn`, read from the hypervisor's read-only m2p.
pub fn m2p(mfn: u64) -> u64 {
    // SAFETY: the m2p is mapped read-only for PV guests over every frame
    // of the machine; callers pass MFNs of RAM.
    unsafe { ((M2P_VIRT + mfn * 8) as *const u64).read_volatile() }
}

/// Virtual address of `pfn` in the builder's initial mapping (valid only
/// for the pfns it maps).
pub fn pfn_va(pfn: u64) -> u64 {
    VIRT_BASE + pfn * PAGE
}

/// The pfn of a virtual address of the initial mapping.
pub fn va_pfn(va: u64) -> u64 {
    (va - VIRT_BASE) / PAGE
}

/// The mfn behind a virtual address of the initial mapping.
pub fn va_mfn(si: &StartInfo, va: u64) -> u64 {
    p2m(si)[va_pfn(va) as usize]
}

/// MFN of the L4 the builder made (the one in use at start).
pub fn boot_l4_mfn(si: &StartInfo) -> u64 {
    va_mfn(si, si.pt_base)
}

/// Read entry `index` of the page-table frame `mfn` (which must be one of
/// the builder's tables, mapped in the initial mapping).
pub fn read_boot_table(mfn: u64, index: usize) -> u64 {
    let va = pfn_va(m2p(mfn)) + index as u64 * 8;
    // SAFETY: the builder's page tables lie inside its initial mapping
    // (mapped read-only); reading an entry has no side effect.
    unsafe { (va as *const u64).read_volatile() }
}

/// Machine address of the L1 entry that maps `va` in the builder's page
/// tables, with the entry's value; `None` if a level is not present.
pub fn l1_entry_of(si: &StartInfo, va: u64) -> Option<(u64, u64)> {
    let mut table = boot_l4_mfn(si);
    for level in (1..=4u32).rev() {
        let index = ((va >> (12 + 9 * (level - 1))) & 511) as usize;
        let entry = read_boot_table(table, index);
        if level == 1 {
            return Some((table * PAGE + index as u64 * 8, entry));
        }
        if entry & P == 0 || entry & PSE != 0 {
            return None;
        }
        table = (entry & ADDR_MASK) / PAGE;
    }
    None
}

/// Hands out the domain's free frames, from the top pfn down.
pub struct Frames {
    /// One above the next pfn handed out.
    next: u64,
    /// Lowest pfn it may hand out.
    lowest: u64,
}

/// One frame of the domain: its pfn and mfn.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// Guest pseudo-physical frame number.
    pub pfn: u64,
    /// Machine frame number (`p2m[pfn]`).
    pub mfn: u64,
}

impl Frame {
    /// Machine address of byte `offset` of the frame.
    pub fn maddr(self, offset: u64) -> u64 {
        self.mfn * PAGE + offset
    }

    /// A page-table entry pointing at this frame with `flags`.
    pub fn pte(self, flags: u64) -> u64 {
        (self.mfn * PAGE) | flags
    }
}

impl Frames {
    /// The allocator over the free pfns of `si` (above its initial mapping
    /// plus 4 MiB of slack, as Xen's builder pads it).
    pub fn new(si: &StartInfo) -> Self {
        let mapped_end = si.pt_base + (si.nr_pt_frames + 128) * PAGE;
        let lowest = va_pfn(mapped_end) + 1024;
        Frames { next: si.nr_pages, lowest }
    }

    /// The next free frame (panics when none is left).
    pub fn alloc(&mut self, si: &StartInfo) -> Frame {
        assert!(self.next > self.lowest, "no free frame left");
        self.next -= 1;
        Frame { pfn: self.next, mfn: p2m(si)[self.next as usize] }
    }
}

/// A page of bss whose mapping the kernels replace with other frames.
#[repr(C, align(4096))]
pub struct ScratchPage(pub [u8; 4096]);

/// A scratch virtual page: a page of the kernel's bss, remappable.
#[derive(Clone, Copy)]
pub struct Scratch {
    /// Its virtual address.
    pub va: u64,
}

impl Scratch {
    /// The scratch page over `page` (a static of the kernel).
    pub fn new(page: *mut ScratchPage) -> Self {
        Scratch { va: page as u64 }
    }

    /// Map `pte` at this page (`update_va_mapping` with `UVMF_INVLPG`).
    pub fn map(self, pte: u64) -> XenResult {
        // SAFETY: the scratch page is used only through this type; callers
        // read it only after mapping a frame they expect there.
        unsafe { hypercall::update_va_mapping(self.va, pte, UVMF_INVLPG) }
    }

    /// Map its own bss frame back, writable.
    pub fn restore(self, si: &StartInfo) -> XenResult {
        self.map((va_mfn(si, self.va) * PAGE) | DATA_RW)
    }

    /// Read the u64 at `offset`.
    pub fn read(self, offset: u64) -> u64 {
        // SAFETY: the page is mapped (callers map before reading).
        unsafe { ((self.va + offset) as *const u64).read_volatile() }
    }

    /// Write the u64 at `offset`.
    pub fn write(self, offset: u64, value: u64) {
        // SAFETY: the page is mapped writable (callers map before writing).
        unsafe { ((self.va + offset) as *mut u64).write_volatile(value) }
    }
}

/// `mmu_update(reqs, count, &done, DOMID_SELF)`; `done` receives the count
/// of requests done.
pub fn mmu_update(reqs: &[MmuUpdate], done: &mut u32) -> XenResult {
    mmu_update_for(reqs, done, DOMID_SELF)
}

/// `mmu_update` with a foreign domain.
pub fn mmu_update_for(reqs: &[MmuUpdate], done: &mut u32, dom: u16) -> XenResult {
    // SAFETY: `reqs` is a live array of requests, `done` a live u32.
    check(unsafe {
        hypercall::raw(HYPERVISOR_mmu_update, reqs.as_ptr() as u64, reqs.len() as u64, done as *mut u32 as u64, dom.into(), 0)
    })
}

/// One `MMU_NORMAL_PT_UPDATE` request (done count dropped).
pub fn set_entry(maddr: u64, val: u64) -> XenResult {
    let mut done = 0;
    mmu_update(&[MmuUpdate { ptr: maddr, val }], &mut done)
}

/// `mmuext_op(ops, count, &done, DOMID_SELF)`.
pub fn mmuext(ops: &[MmuextOp], done: &mut u32) -> XenResult {
    // SAFETY: `ops` is a live array of operations, `done` a live u32;
    // operations that name buffers (vcpu masks) point at live memory.
    check(unsafe {
        hypercall::raw(HYPERVISOR_mmuext_op, ops.as_ptr() as u64, ops.len() as u64, done as *mut u32 as u64, DOMID_SELF.into(), 0)
    })
}

/// One `mmuext_op` with raw arguments.
pub fn mmuext1(cmd: u32, arg1: u64, arg2: u64) -> XenResult {
    let mut done = 0;
    mmuext(&[MmuextOp { cmd, arg1, arg2 }], &mut done)
}

/// `memory_op(cmd, arg)`.
///
/// # Safety
/// `T` must be the structure `cmd` takes, and the handles in it must point
/// at live buffers of the sizes it says.
pub unsafe fn memory_op<T>(cmd: u32, arg: &mut T) -> XenResult {
    // SAFETY: the caller matched `T` to `cmd`.
    check(unsafe { hypercall::raw(HYPERVISOR_memory_op, cmd.into(), arg as *mut T as u64, 0, 0, 0) })
}

/// `vm_assist(cmd, type)`.
pub fn vm_assist(cmd: u32, ty: u32) -> XenResult {
    // SAFETY: no pointers.
    check(unsafe { hypercall::raw(HYPERVISOR_vm_assist, cmd.into(), ty.into(), 0, 0, 0) })
}

/// A transcript key built with `format_args!` (up to 120 bytes).
pub struct Key {
    buf: [u8; 120],
    len: usize,
}

impl Key {
    /// Format a key.
    pub fn of(args: fmt::Arguments<'_>) -> Self {
        let mut k = Key { buf: [0; 120], len: 0 };
        let _ = k.write_fmt(args);
        k
    }
}

impl Write for Key {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl core::ops::Deref for Key {
    type Target = str;
    fn deref(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

/// `key!("fmt", args..)`: a [`Key`] to pass where a `&str` key is wanted.
#[macro_export]
macro_rules! key {
    ($($arg:tt)*) => {
        &*$crate::pt::Key::of(format_args!($($arg)*))
    };
}
