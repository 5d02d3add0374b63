//! `hello`: the first test kernel. Prints what the domain builder handed
//! over (start_info and the boot layout), what `xen_version` says, how
//! unknown hypercalls fail, and what the shared_info page holds; then powers
//! off.
#![no_std]
#![no_main]

use dom0_abi::hypercall::HYPERVISOR_arch_7;
use dom0_abi::mmu::UVMF_INVLPG;
use dom0_abi::xen::{
    SharedInfo, SIF_INITDOMAIN, SIF_MOD_START_PFN, SIF_MULTIBOOT_MOD, SIF_PM_MASK, SIF_PRIVILEGED, SIF_VIRT_P2M_4TOOLS,
    XEN_START_INFO_MAGIC,
};
use dom0_abi::xen_version::{
    XenFeatureInfo, XENVER_capabilities, XENVER_extraversion, XENVER_get_features, XENVER_pagesize, XENVER_version,
    XEN_CAPABILITIES_INFO_LEN, XEN_EXTRAVERSION_LEN,
};
use pv_guests::fmt::{cstr, yes_no, Flags};
use pv_guests::hypercall::{self, XenResult};
use pv_guests::start::{boot_rsp, image_end};
use pv_guests::transcript::Transcript;
use pv_guests::StartInfo;

pv_guests::entry!(main);

const PAGE: u64 = 4096;

/// Names of the `SIF_*` flags.
const SIF_NAMES: &[(u64, &str)] = &[
    (SIF_PRIVILEGED as u64, "SIF_PRIVILEGED"),
    (SIF_INITDOMAIN as u64, "SIF_INITDOMAIN"),
    (SIF_MULTIBOOT_MOD as u64, "SIF_MULTIBOOT_MOD"),
    (SIF_MOD_START_PFN as u64, "SIF_MOD_START_PFN"),
    (SIF_VIRT_P2M_4TOOLS as u64, "SIF_VIRT_P2M_4TOOLS"),
];

/// A page of our image whose mapping is replaced by the shared_info frame.
#[repr(C, align(4096))]
struct PageSlot([u8; PAGE as usize]);
static mut SHARED_INFO_SLOT: PageSlot = PageSlot([0; PAGE as usize]);

fn main(si: &'static StartInfo) {
    let mut t = Transcript::begin("hello");
    start_info(&mut t, si);
    layout(&mut t, si);
    xen_version(&mut t);
    unknown_hypercalls(&mut t);
    shared_info(&mut t, si);
    console(&mut t);
    t.end();
}

fn start_info(t: &mut Transcript, si: &StartInfo) {
    // Xen appends "p" for a kernel whose PAE_MODE note says "yes".
    t.fact("start_info.magic", cstr(&si.magic));
    t.fact("start_info.magic starts xen-3.0-x86_64", yes_no(si.magic.starts_with(XEN_START_INFO_MAGIC)));
    t.specific("start_info.nr_pages", si.nr_pages);
    t.fact("start_info.flags", Flags { bits: (si.flags & !SIF_PM_MASK).into(), names: SIF_NAMES });
    t.fact("start_info.flags PM bits", format_args!("{:#x}", (si.flags & SIF_PM_MASK) >> 8));
    t.specific("start_info.shared_info", format_args!("{:#x}", si.shared_info));
    t.fact("start_info.shared_info page aligned", yes_no(si.shared_info.is_multiple_of(PAGE)));
    t.fact("start_info.store_mfn", si.store_mfn);
    t.fact("start_info.store_evtchn", si.store_evtchn);
    t.specific("start_info.pt_base", format_args!("{:#x}", si.pt_base));
    t.fact("start_info.pt_base page aligned", yes_no(si.pt_base.is_multiple_of(PAGE)));
    t.specific("start_info.nr_pt_frames", si.nr_pt_frames);
    t.specific("start_info.mfn_list", format_args!("{:#x}", si.mfn_list));
    t.fact("start_info.mod_start", si.mod_start);
    t.fact("start_info.mod_len", si.mod_len);
    t.fact("start_info.cmd_line", cstr(&si.cmd_line));
    // The PFN after the builder's initial allocation (a power of two pages
    // covering the mapped area): fixed by the layout rules.
    t.fact("start_info.first_p2m_pfn", si.first_p2m_pfn);
    t.fact("start_info.nr_p2m_frames", si.nr_p2m_frames);
}

/// Where `addr` is relative to `expected`: `expected` when equal, else the
/// signed distance.
fn relative(addr: u64, expected: u64, what: &'static str) -> impl core::fmt::Display {
    struct Rel(u64, u64, &'static str);
    impl core::fmt::Display for Rel {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            match self.0.cmp(&self.1) {
                core::cmp::Ordering::Equal => write!(f, "{}", self.2),
                core::cmp::Ordering::Greater => write!(f, "{} + {:#x}", self.2, self.0 - self.1),
                core::cmp::Ordering::Less => write!(f, "{} - {:#x}", self.2, self.1 - self.0),
            }
        }
    }
    Rel(addr, expected, what)
}

/// The bootstrap layout `xen.h` documents for a PV guest: kernel, modules,
/// p2m list, start_info, (domU rings), page tables, stack; packed, each
/// element page aligned.
fn layout(t: &mut Transcript, si: &StartInfo) {
    let si_addr = si as *const StartInfo as u64;
    let p2m_end = si.mfn_list + si.nr_pages * 8;
    let pt_end = si.pt_base + si.nr_pt_frames * PAGE;
    t.fact("layout.mfn_list", relative(si.mfn_list, image_end(), "kernel image end"));
    t.fact("layout.start_info", relative(si_addr, p2m_end.next_multiple_of(PAGE), "page after mfn_list"));
    t.fact("layout.pt_base", relative(si.pt_base, si_addr + PAGE, "page after start_info"));
    t.fact("layout.boot rsp", relative(boot_rsp(), pt_end + PAGE, "top of the page after the page tables"));
    // SAFETY: mfn_list maps nr_pages entries (the ABI's p2m list); we read
    // the first, which exists since the domain owns at least one page.
    let mfn0 = unsafe { (si.mfn_list as *const u64).read_volatile() };
    t.specific("mfn_list[0]", format_args!("{mfn0:#x}"));
}

fn show(r: XenResult) -> impl core::fmt::Display {
    struct Show(XenResult);
    impl core::fmt::Display for Show {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            match self.0 {
                Ok(v) => write!(f, "{v}"),
                Err(e) => write!(f, "{e}"),
            }
        }
    }
    Show(r)
}

fn xen_version(t: &mut Transcript) {
    match hypercall::xen_version(XENVER_version) {
        Ok(v) => t.fact("xen_version", format_args!("{}.{}", v >> 16, v & 0xffff)),
        Err(e) => t.fact("xen_version", e),
    }
    let mut extra = [0u8; XEN_EXTRAVERSION_LEN];
    // SAFETY: XENVER_extraversion writes an xen_extraversion_t.
    let r = unsafe { hypercall::xen_version_into(XENVER_extraversion, &mut extra) };
    t.fact("xen_version.extraversion result", show(r));
    t.specific("xen_version.extraversion", cstr(&extra));
    let mut caps = [0u8; XEN_CAPABILITIES_INFO_LEN];
    // SAFETY: XENVER_capabilities writes an xen_capabilities_info_t.
    let r = unsafe { hypercall::xen_version_into(XENVER_capabilities, &mut caps) };
    t.fact("xen_version.capabilities result", show(r));
    let caps_text = cstr(&caps).0;
    let has = caps_text.split(|&b| b == b' ').any(|w| w == b"xen-3.0-x86_64");
    t.fact("xen_version.capabilities has xen-3.0-x86_64", yes_no(has));
    t.specific("xen_version.capabilities", cstr(&caps));
    t.fact("xen_version.pagesize", show(hypercall::xen_version(XENVER_pagesize)));
    let mut features = XenFeatureInfo { submap_idx: 0, submap: 0 };
    // SAFETY: XENVER_get_features reads and writes a xen_feature_info.
    let r = unsafe { hypercall::xen_version_into(XENVER_get_features, &mut features) };
    t.fact("xen_version.get_features result", show(r));
    // The bits every implementation of the 64-bit PV dom0 ABI reports:
    // dom0, pae_pgdir_above_4gb, direct_mapped. The whole word differs until
    // ours implements what Xen's other bits name (mmu_pt_update_preserve_ad,
    // highmem_assist, gnttab_map_avail_bits, memory_op_vnode_supported).
    const CORE_FEATURES: u32 = (1 << 11) | (1 << 4) | (1 << 17);
    t.fact("xen_version.features[0] core bits", format_args!("{:#010x}", features.submap & CORE_FEATURES));
    t.specific("xen_version.features[0]", format_args!("{:#010x}", features.submap));
    let mut bad = XenFeatureInfo { submap_idx: 1, submap: 0xdead };
    // SAFETY: as above.
    let r = unsafe { hypercall::xen_version_into(XENVER_get_features, &mut bad) };
    t.fact("xen_version.get_features submap 1", show(r));
    t.fact("xen_version unknown command 99", show(hypercall::xen_version(99)));
}

fn unknown_hypercalls(t: &mut Transcript) {
    // SAFETY: numbers with no hypercall behind them take no arguments.
    let slot = unsafe { hypercall::raw(HYPERVISOR_arch_7 + 4, 0, 0, 0, 0, 0) };
    t.fact("hypercall 59 (unused page slot)", show(hypercall::check(slot)));
    // SAFETY: as above.
    let past = unsafe { hypercall::raw_syscall(1000, 0, 0, 0, 0, 0) };
    t.fact("hypercall 1000 (syscall, past the table)", show(hypercall::check(past)));
}

fn shared_info(t: &mut Transcript, si: &StartInfo) {
    let va = core::ptr::addr_of!(SHARED_INFO_SLOT) as u64;
    const PTE_FLAGS: u64 = 0x63; // present, writable, accessed, dirty
    // SAFETY: the slot is a page of our bss that nothing else uses; from now
    // on it is only read through `shared`, as shared_info.
    let r = unsafe { hypercall::update_va_mapping(va, si.shared_info | PTE_FLAGS, UVMF_INVLPG) };
    t.fact("update_va_mapping(shared_info)", show(r));
    if r.is_err() {
        return;
    }
    let shared = va as *const SharedInfo;
    // SAFETY: `va` now maps the shared_info page, which has the layout of
    // `SharedInfo`; the hypervisor may change it at any time, hence volatile.
    let (mask, pending) = unsafe {
        (
            core::ptr::addr_of!((*shared).vcpu_info[0].evtchn_upcall_mask).read_volatile(),
            core::ptr::addr_of!((*shared).vcpu_info[0].evtchn_upcall_pending).read_volatile(),
        )
    };
    t.fact("shared_info.vcpu_info[0].evtchn_upcall_mask", mask);
    t.specific("shared_info.vcpu_info[0].evtchn_upcall_pending", pending);
}

fn console(t: &mut Transcript) {
    let r = hypercall::console_write(b"console: written with CONSOLEIO_write\n");
    t.fact("console_io write result", show(r));
}
