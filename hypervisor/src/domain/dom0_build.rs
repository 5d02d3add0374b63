//! Building dom0 from the first boot module: unpack it when it is a
//! bzImage, parse and check the PV kernel ELF (shared `pvboot` crate, with
//! Xen 4.17's dom0 feature policy), give dom0 its memory, lay out the
//! x86-64 PV start of day exactly as Xen documents it, and prepare vCPU 0's
//! first register frame.
//!
//! A bzImage's payload (Debian's: 8 MB of xz that become a 63 MiB ELF, with
//! a 32 MiB dictionary) is decoded into machine frames, not the 4 MiB heap:
//! the dictionary's frames are freed once decoding ends; the ELF's frames
//! become the top of dom0's pseudo-physical memory once the kernel has been
//! copied out of them (zeroed then, as the rest of dom0's memory), so dom0
//! is sized as if they were free, as Xen counts the boot modules' memory.
//! Frames that dom0 cannot take (a small `dom0_mem`) are freed.

use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;

use dom0_abi::xen::{StartInfo, SIF_INITDOMAIN, SIF_MOD_START_PFN, SIF_PRIVILEGED, XEN_START_INFO_MAGIC};
use pvboot::policy::FeatureRefusal;
use pvboot::{KernelModule, Layout, LayoutError, LayoutRequest, PvError, UnpackError};

use super::{Domain, Vcpu};
use crate::arch::x86_64::apic;
use crate::arch::x86_64::gdt::{FLAT_RING3_CS64, FLAT_RING3_DS32};
use crate::arch::x86_64::paging::{self, maddr_to_virt, Pte};
use crate::arch::x86_64::traps::TrapFrame;
use crate::cmdline::{Dom0Mem, Dom0Vcpus};
use crate::mm::page::PageType;
use crate::mm::{self, frame_table, m2p, PAGE_SHIFT, PAGE_SIZE};
use crate::pv::hypercall_page;

/// `XEN_PROCESSOR_PM_PX | XEN_PROCESSOR_PM_CX`, reported in the PM byte of
/// dom0's start_info flags.
const DOM0_PM_BITS: u32 = 0x3;

/// Why dom0 could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// The module is a bzImage that could not be unpacked.
    Unpack(UnpackError),
    /// The kernel image is not an acceptable PV kernel.
    Kernel(PvError),
    /// The kernel's features are refused for dom0, as Xen refuses them.
    Feature(FeatureRefusal),
    /// The memory given is too small for the start-of-day layout.
    Layout(LayoutError),
    /// The initial page tables did not validate (a builder bug).
    PageTables(crate::mm::pv::MmError),
    /// Not enough free memory.
    NoMemory {
        /// Pages wanted.
        wanted: u64,
        /// Pages free.
        free: u64,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unpack(e) => write!(f, "{e}"),
            Self::Kernel(e) => write!(f, "{e}"),
            Self::Feature(e) => write!(f, "{e}"),
            Self::Layout(e) => write!(f, "{e}"),
            Self::PageTables(e) => write!(f, "initial page tables rejected: {e:?}"),
            Self::NoMemory { wanted, free } => {
                write!(f, "not enough memory: {wanted} pages wanted, {free} free")
            }
        }
    }
}

/// dom0, ready to run.
pub struct Dom0 {
    /// The domain.
    pub domain: &'static Domain,
    /// vCPU 0.
    pub vcpu: &'static mut Vcpu,
    /// Its first register frame.
    pub frame: TrapFrame,
}

/// Pages dom0 gets from `dom0_mem` and the free memory, as Xen computes
/// them: the given amount, or all but min(1/16, 128 MiB), within min/max.
pub fn dom0_pages(opt: &Dom0Mem, free_pages: u64) -> u64 {
    let avail = free_pages * PAGE_SIZE;
    let mut bytes = match opt.amount {
        Some(a) => a.resolve(avail),
        None => avail - (avail / 16).min(128 << 20),
    };
    if let Some(min) = opt.min {
        bytes = bytes.max(min.resolve(avail));
    }
    if let Some(max) = opt.max {
        bytes = bytes.min(max.resolve(avail));
    }
    (bytes / PAGE_SIZE).min(free_pages)
}

fn frame_va(mfn: u64) -> *mut u8 {
    maddr_to_virt(mfn << PAGE_SHIFT) as *mut u8
}

/// Writes into dom0's pseudo-physical memory through the direct map.
struct GuestMem<'a> {
    p2m: &'a [u64],
    layout: &'a Layout,
}

impl GuestMem<'_> {
    fn mfn_of_va(&self, va: u64) -> u64 {
        self.p2m[self.layout.pfn_of(va) as usize]
    }

    /// Copy `bytes` to guest virtual `va` (inside the mapped area).
    fn write(&self, mut va: u64, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let off = va & (PAGE_SIZE - 1);
            let n = ((PAGE_SIZE - off) as usize).min(bytes.len());
            // SAFETY: the frame belongs to dom0 and is not yet in use; the
            // write stays within one page.
            unsafe {
                core::ptr::copy_nonoverlapping(bytes.as_ptr(), frame_va(self.mfn_of_va(va)).add(off as usize), n)
            };
            va += n as u64;
            bytes = &bytes[n..];
        }
    }
}

/// A run of contiguous machine frames the builder holds for a while, seen
/// through the direct map. Frames not given to dom0 are freed on drop, so
/// no error path leaks them.
struct FrameRun {
    first: u64,
    count: u64,
    /// How many of the first frames now belong to dom0.
    donated: Cell<u64>,
}

impl FrameRun {
    /// Contiguous frames for at least `bytes` bytes (none for 0).
    fn alloc(bytes: usize) -> Result<Self, BuildError> {
        let count = (bytes as u64).div_ceil(PAGE_SIZE);
        if count == 0 {
            return Ok(Self { first: 0, count: 0, donated: Cell::new(0) });
        }
        let free = mm::FRAMES.lock().as_ref().map_or(0, |f| f.free_frames());
        let first = mm::alloc_frames(count, 1).ok_or(BuildError::NoMemory { wanted: count, free })?;
        Ok(Self { first, count, donated: Cell::new(0) })
    }

    /// The frames' bytes.
    fn bytes_mut(&mut self) -> &mut [u8] {
        if self.count == 0 {
            return &mut [];
        }
        // SAFETY: the run is ours (allocated above, not yet donated: donation
        // takes `&self` after the last `&mut` use) and mapped by the direct map.
        unsafe { core::slice::from_raw_parts_mut(frame_va(self.first), (self.count * PAGE_SIZE) as usize) }
    }

    /// Give the first `n` frames to dom0 (they are no longer freed here).
    fn donate(&self, n: u64) -> core::ops::Range<u64> {
        let n = n.min(self.count);
        self.donated.set(n);
        self.first..self.first + n
    }
}

impl Drop for FrameRun {
    fn drop(&mut self) {
        let (first, n) = (self.first + self.donated.get(), self.count - self.donated.get());
        if n > 0 {
            if let Some(f) = mm::FRAMES.lock().as_mut() {
                let _ = f.free_range(first, n);
            }
        }
    }
}

/// The dom0 kernel ELF: in the boot module, or unpacked into frames.
enum KernelElf<'m> {
    /// The module (or its uncompressed bzImage payload).
    InModule(&'m [u8]),
    /// `len` bytes at the start of `run`.
    Unpacked {
        /// The frames.
        run: FrameRun,
        /// The ELF's length.
        len: usize,
    },
}

impl KernelElf<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::InModule(b) => b,
            // SAFETY: the run holds `len` bytes written by the decoder, and
            // is neither written nor freed while this borrow of it lives.
            Self::Unpacked { run, len } => unsafe { core::slice::from_raw_parts(frame_va(run.first), *len) },
        }
    }

    fn run(&self) -> Option<&FrameRun> {
        match self {
            Self::InModule(_) => None,
            Self::Unpacked { run, .. } => Some(run),
        }
    }
}

/// " (N KiB dictionary)" for a decoder that used one, else nothing.
struct DictNote(usize);

impl fmt::Display for DictNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => Ok(()),
            n => write!(f, " ({} KiB dictionary)", n >> 10),
        }
    }
}

/// Find the kernel ELF in boot module `module`, unpacking a bzImage.
fn unpack(module: &[u8]) -> Result<KernelElf<'_>, BuildError> {
    let packed = match pvboot::identify(module).map_err(BuildError::Unpack)? {
        KernelModule::Plain(elf) => return Ok(KernelElf::InModule(elf)),
        KernelModule::Packed(p) => p,
    };
    let t0 = crate::arch::x86_64::rdtsc();
    let mut out = FrameRun::alloc(packed.output_len)?;
    let mut dict = FrameRun::alloc(packed.dict_len)?;
    packed.unpack_into(out.bytes_mut(), dict.bytes_mut()).map_err(BuildError::Unpack)?;
    drop(dict);
    let (major, minor) = packed.bzimage_version;
    log::info!(
        "Dom0 kernel: bzImage {major}.{minor:02}, {} payload of {} bytes unpacked to a {}-byte ELF in {} ms{}",
        packed.format.name(),
        packed.payload.len(),
        packed.output_len,
        apic::ms_since(t0),
        DictNote(packed.dict_len)
    );
    Ok(KernelElf::Unpacked { run: out, len: packed.output_len })
}

/// The PFNs below which the builder writes (kernel, initrd, p2m list,
/// start_info, page tables, stack; and the INIT_P2M list with its page
/// tables after them): frames above may hold the unpacked kernel meanwhile.
fn pfns_written(layout: &Layout, nr_pages: u64, init_p2m: bool) -> u64 {
    let mut end = layout.first_p2m_pfn;
    if init_p2m {
        let data = (nr_pages * 8).div_ceil(PAGE_SIZE);
        // One L1 per 512 list pages, plus L2/L3 pages to reach them.
        end += data + data.div_ceil(512) + data.div_ceil(512 * 512) + 4;
    }
    end
}

/// Build dom0 from boot module `module` (and `initrd`) with `cmdline`.
pub fn build(module: &[u8], initrd: Option<&[u8]>, cmdline: &str, mem: &Dom0Mem, vcpus: Dom0Vcpus) -> Result<Dom0, BuildError> {
    let unpacked = unpack(module)?;
    let k = pvboot::parse(unpacked.bytes()).map_err(BuildError::Kernel)?;
    pvboot::policy::check_dom0(&k.notes).map_err(BuildError::Feature)?;
    let vm_assist = initial_vm_assist(k.notes.pae_mode);
    let scratch_pages = unpacked.run().map_or(0, |r| r.count);
    let free = mm::FRAMES.lock().as_ref().map_or(0, |f| f.free_frames());
    // Keep a reserve for the hypervisor's own allocations; the unpacked
    // kernel's frames count as free, as they become dom0's or are freed.
    let nr_pages = dom0_pages(mem, (free + scratch_pages).saturating_sub(1024));
    let initrd_len = initrd.map_or(0, |i| i.len() as u64);
    let layout = Layout::compute(&LayoutRequest {
        virt_base: k.notes.virt_base.unwrap_or(0),
        virt_kend: k.virt_kend,
        nr_pages,
        initrd_len,
        unmapped_initrd: k.notes.mod_start_pfn,
        p2m_placed_by_guest: k.notes.init_p2m.is_some(),
    })
    .map_err(BuildError::Layout)?;

    // The unpacked kernel's frames take the PFNs above what the builder
    // writes; the rest of dom0's memory is fresh.
    let room = nr_pages.saturating_sub(pfns_written(&layout, nr_pages, k.notes.init_p2m.is_some()));
    let to_donate = unpacked.run().map_or(0, |run| run.count.min(room));
    let fresh = nr_pages - to_donate;
    let mut p2m = allocate(fresh, nr_pages).ok_or(BuildError::NoMemory { wanted: fresh, free })?;
    let donated = unpacked.run().map_or(0..0, |run| run.donate(to_donate));
    p2m.extend(donated.clone());
    for (pfn, &mfn) in p2m.iter().enumerate() {
        m2p::set(mfn, pfn as u64);
        frame_table::assign(mfn, 0, false);
        if !donated.contains(&mfn) {
            // SAFETY: freshly allocated dom0 frame.
            unsafe { core::ptr::write_bytes(frame_va(mfn), 0, PAGE_SIZE as usize) };
        }
    }
    let mem_w = GuestMem { p2m: &p2m, layout: &layout };

    for seg in k.elf.segments() {
        mem_w.write(seg.paddr.wrapping_add(k.virt_offset), k.elf.segment_bytes(seg));
    }
    if let Some(page) = k.virt_hypercall {
        mem_w.write(page, &hypercall_page::contents());
    }
    // The kernel is copied: what is left of `k` is plain values.
    let (virt_kstart, virt_kend, virt_entry) = (k.virt_kstart, k.virt_kend, k.virt_entry);
    let (init_p2m, pae_mode) = (k.notes.init_p2m, k.notes.pae_mode.is_some());
    for mfn in donated.clone() {
        // SAFETY: a frame of the unpacked kernel, now dom0's free memory;
        // nothing reads the kernel image after the copy above.
        unsafe { core::ptr::write_bytes(frame_va(mfn), 0, PAGE_SIZE as usize) };
    }
    drop(unpacked);
    let mut mod_start = 0;
    if let Some(rd) = initrd {
        match layout.initrd_pfn {
            Some(pfn) => {
                for (i, chunk) in rd.chunks(PAGE_SIZE as usize).enumerate() {
                    let mfn = p2m[pfn as usize + i];
                    // SAFETY: dom0 frame reserved for the initrd.
                    unsafe { core::ptr::copy_nonoverlapping(chunk.as_ptr(), frame_va(mfn), chunk.len()) };
                }
                mod_start = pfn;
            }
            None => {
                mem_w.write(layout.vinitrd_start, rd);
                mod_start = layout.vinitrd_start;
            }
        }
    }
    if init_p2m.is_none() {
        for (i, chunk) in p2m.chunks(P2M_PER_PAGE).enumerate() {
            let page = p2m_page(chunk);
            mem_w.write(layout.vphysmap_start + i as u64 * PAGE_SIZE, &page[..chunk.len() * 8]);
        }
    }
    let l4_pfn = build_page_tables(&p2m, &layout);
    let l4_mfn = p2m[l4_pfn as usize];
    let (mfn_list, nr_p2m_frames) = match init_p2m {
        Some(base) => (base, build_init_p2m(&p2m, &layout, l4_pfn, base)),
        None => (layout.vphysmap_start, 0),
    };

    let shared_info_mfn = mm::alloc_frame().ok_or(BuildError::NoMemory { wanted: 1, free: 0 })?;
    // SAFETY: fresh hypervisor frame for the shared-info page.
    unsafe { core::ptr::write_bytes(frame_va(shared_info_mfn), 0, PAGE_SIZE as usize) };
    frame_table::assign(shared_info_mfn, 0, true);

    let mut si = StartInfo { ..dom0_abi::Pod::zeroed() };
    si.magic[..XEN_START_INFO_MAGIC.len()].copy_from_slice(XEN_START_INFO_MAGIC);
    // Xen appends "p" for a kernel that declares a PAE mode.
    if pae_mode {
        si.magic[XEN_START_INFO_MAGIC.len()] = b'p';
    }
    si.nr_pages = nr_pages;
    si.shared_info = shared_info_mfn << PAGE_SHIFT;
    si.flags = SIF_PRIVILEGED | SIF_INITDOMAIN | if layout.initrd_pfn.is_some() { SIF_MOD_START_PFN } else { 0 };
    // Processor power management is left to dom0 (Xen's default PX|CX).
    si.flags |= DOM0_PM_BITS << 8;
    si.pt_base = layout.vpt_start;
    si.nr_pt_frames = layout.nr_pt_pages;
    si.mfn_list = mfn_list;
    si.first_p2m_pfn = layout.first_p2m_pfn;
    si.nr_p2m_frames = nr_p2m_frames;
    si.mod_start = mod_start;
    si.mod_len = initrd_len;
    let n = cmdline.len().min(si.cmd_line.len() - 1);
    si.cmd_line[..n].copy_from_slice(&cmdline.as_bytes()[..n]);
    // SAFETY: `StartInfo` is plain data.
    let si_bytes = unsafe {
        core::slice::from_raw_parts(&si as *const StartInfo as *const u8, core::mem::size_of::<StartInfo>())
    };
    mem_w.write(layout.vstartinfo_start, si_bytes);

    // Validate the initial address space as the guest will use it: the L4
    // pinned, plus the reference of its use as the page-table base.
    let actor = crate::mm::pv::Actor::own(0, true);
    frame_table::with(|m| {
        m.pin(l4_mfn, PageType::L4, actor)?;
        m.get_page_and_type(l4_mfn, PageType::L4, actor)
    })
    .map_err(BuildError::PageTables)?;

    let domain = super::create::create(super::create::NewDomain {
        domid: 0,
        privileged: true,
        // vCPUs past the first stay down until dom0 brings them up
        // (`VCPUOP_initialise`/`up`), as Linux does for its CPUs.
        max_vcpus: vcpus.resolve(crate::sched::pool_cpus().count_ones(), super::MAX_VIRT_CPUS as u32),
        tot_pages: nr_pages,
        // Without `max:`, dom0 may grow without limit, as on Xen (~0U).
        max_pages: mem.max.map_or(u64::from(u32::MAX), |m| (m.resolve(free * PAGE_SIZE) / PAGE_SIZE).max(nr_pages)),
        p2m,
        vm_assist,
        ssidref: 0,
        handle: [0; 16],
        max_evtchn_port: u32::MAX,
        shared_info_mfn,
        paused: false,
    })
    .map_err(|_| BuildError::NoMemory { wanted: 1, free: 0 })?;
    let vcpu = domain.vcpu(0).expect("dom0 has vCPU 0");
    vcpu.runstate = super::runstate::initial();
    vcpu.guest_table = l4_mfn;
    let frame = TrapFrame {
        rip: virt_entry,
        cs: u64::from(FLAT_RING3_CS64),
        rflags: 1 << 9,
        rsp: layout.vstack_start + PAGE_SIZE,
        ss: u64::from(FLAT_RING3_DS32),
        rsi: layout.vstartinfo_start,
        ..Default::default()
    };
    log::info!(
        "dom0: {} pages ({} of them the unpacked kernel's frames), kernel {:#x}-{:#x}, entry {:#x}, start_info {:#x}, page tables {:#x} ({} frames), mapped to {:#x}",
        nr_pages,
        donated.end - donated.start,
        virt_kstart,
        virt_kend,
        virt_entry,
        layout.vstartinfo_start,
        layout.vpt_start,
        layout.nr_pt_pages,
        layout.v_end
    );
    Ok(Dom0 { domain, vcpu, frame })
}

/// The assists a kernel starts with: `pae_extended_cr3` when its PAE_MODE
/// note is "yes" or names "bimodal", as libelf reads it.
fn initial_vm_assist(pae_mode: Option<&str>) -> u64 {
    match pae_mode {
        Some(m) if m == "yes" || m.contains("bimodal") => 1 << dom0_abi::vm_assist::VMASST_TYPE_pae_extended_cr3,
        _ => 0,
    }
}

/// `nr_pages` frames for dom0, contiguous when possible, in a list with
/// room for `capacity` (the heap is small: the list is not grown later).
fn allocate(nr_pages: u64, capacity: u64) -> Option<Vec<u64>> {
    let mut v = Vec::with_capacity(capacity.max(nr_pages) as usize);
    if let Some(first) = mm::alloc_frames(nr_pages, 1) {
        v.extend(first..first + nr_pages);
        return Some(v);
    }
    for _ in 0..nr_pages {
        match mm::alloc_frame() {
            Some(m) => v.push(m),
            None => {
                let mut frames = mm::FRAMES.lock();
                for &m in &v {
                    let _ = frames.as_mut().map(|f| f.free_range(m, 1));
                }
                return None;
            }
        }
    }
    Some(v)
}

/// Builds guest page tables in dom0's frames, addressed by PFN; new tables
/// come from consecutive PFNs starting at `next_table`.
struct PtWriter<'a> {
    p2m: &'a [u64],
    next_table: u64,
}

impl PtWriter<'_> {
    fn table(&self, pfn: u64) -> &'static mut [u64; 512] {
        // SAFETY: a frame of dom0's, not yet in use by the guest.
        unsafe { &mut *(frame_va(self.p2m[pfn as usize]) as *mut [u64; 512]) }
    }

    /// Map guest `va` to `pfn` with `flags` under the L4 at `l4_pfn`.
    fn map(&mut self, l4_pfn: u64, va: u64, pfn: u64, flags: Pte) {
        let table_flags = (Pte::P | Pte::RW | Pte::US | Pte::A).bits();
        let mut t = l4_pfn;
        for level in (2..=4).rev() {
            let idx = paging::index(va, level);
            let e = self.table(t)[idx];
            t = if e & Pte::P.bits() != 0 {
                m2p::get((e & paging::ADDR_MASK) >> PAGE_SHIFT)
            } else {
                let new = self.next_table;
                self.next_table += 1;
                self.table(t)[idx] = (self.p2m[new as usize] << PAGE_SHIFT) | table_flags;
                new
            };
        }
        self.table(t)[paging::index(va, 1)] = (self.p2m[pfn as usize] << PAGE_SHIFT) | flags.bits();
    }
}

/// Lay the initial page tables into the layout's page-table area: the L4
/// first, then L3, L2 and L1 pages as needed, mapping `[v_start, v_end)` to
/// PFN 0 onwards, the page tables themselves read-only, and the
/// hypervisor's L4 slots copied in. Returns the L4's PFN.
fn build_page_tables(p2m: &[u64], l: &Layout) -> u64 {
    let l4 = l.pfn_of(l.vpt_start);
    let mut w = PtWriter { p2m, next_table: l4 + 1 };
    w.table(l4)[256..272].copy_from_slice(&paging::hypervisor_root_table()[256..272]);
    let pt_range = l.vpt_start..l.vpt_start + l.nr_pt_pages * PAGE_SIZE;
    let mut va = l.v_start;
    while va < l.v_end {
        let mut flags = Pte::P | Pte::US | Pte::A | Pte::D;
        if !pt_range.contains(&va) {
            flags |= Pte::RW;
        }
        w.map(l4, va, l.pfn_of(va), flags);
        va += PAGE_SIZE;
    }
    l4
}

/// Entries of the phys-to-machine list in one page.
const P2M_PER_PAGE: usize = PAGE_SIZE as usize / 8;

/// One page of the phys-to-machine list as the guest reads it (so the
/// list is written a page at a time, never copied whole on the small heap).
fn p2m_page(entries: &[u64]) -> [u8; PAGE_SIZE as usize] {
    let mut page = [0u8; PAGE_SIZE as usize];
    for (slot, mfn) in page.chunks_exact_mut(8).zip(entries) {
        slot.copy_from_slice(&mfn.to_le_bytes());
    }
    page
}

/// Map the phys-to-machine list where the kernel asked (INIT_P2M), as
/// Xen's `setup_pv_physmap` does: its frames, then the page tables mapping
/// them, take the PFNs from `layout.first_p2m_pfn` on. Returns the number
/// of frames used (`nr_p2m_frames`). (Xen uses superpages where the list
/// is large and aligned enough; this builder maps it with 4 KiB pages.)
fn build_init_p2m(p2m: &[u64], l: &Layout, l4_pfn: u64, base: u64) -> u64 {
    let data_pages = (p2m.len() as u64 * 8).div_ceil(PAGE_SIZE);
    let first = l.first_p2m_pfn;
    let mut w = PtWriter { p2m, next_table: first + data_pages };
    for (i, chunk) in p2m.chunks(P2M_PER_PAGE).enumerate() {
        let pfn = first + i as u64;
        let page = p2m_page(chunk);
        // SAFETY: a dom0 frame reserved for the list.
        unsafe { core::ptr::copy_nonoverlapping(page.as_ptr(), frame_va(p2m[pfn as usize]), chunk.len() * 8) };
        w.map(l4_pfn, base + i as u64 * PAGE_SIZE, pfn, Pte::P | Pte::RW | Pte::US | Pte::A | Pte::D);
    }
    w.next_table - first
}
