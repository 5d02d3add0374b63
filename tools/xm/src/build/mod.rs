//! The PV domain builder: `xm create` up to a built domain, as Xen's
//! libxenguest builds a PV domU.
//!
//! Steps ([`build`]), each failure one [`BuildError`] line:
//!
//! 1. read the kernel (and ramdisk) files (a bzImage's xz, gzip or lz4 payload
//!    unpacked by [`pvboot::unpack`]) and check the kernel with
//!    [`pvboot::parse`] (ELF64 and Xen notes, as Xen's libelf) and
//!    [`pvboot::policy::check_domu`] (libxenguest's feature check);
//! 2. lay out the start of day ([`layout`]) and check the host's free
//!    memory (`XEN_SYSCTL_physinfo`) and the name ([`NameRegistry`]);
//! 3. `XEN_DOMCTL_createdomain` (PV: no CDF flags), `max_vcpus`,
//!    `max_mem` (maxmem plus libxl's 1 MiB slack); from here on a guard
//!    destroys the domain on any failure, so nothing leaks;
//! 4. `XENMEM_populate_physmap` for the domain in batches, recording the
//!    machine frames Xen returns as the p2m;
//! 5. two unbound event channels for dom0 (xenstore, console);
//! 6. through foreign mappings ([`loader`]): the kernel's segments (bss
//!    zeroed), the ramdisk, the p2m list, the page tables
//!    ([`pagetables`]), the zeroed xenstore and console rings, `start_info`
//!    ([`startinfo`]); `XEN_DOMCTL_hypercall_init` for the hypercall page;
//!    event upcalls masked for every vCPU in the shared-info page;
//! 7. `MMUEXT_PIN_L4_TABLE` of the L4 for the domain (foreigndom);
//! 8. `XEN_DOMCTL_setvcpucontext` of vCPU 0 ([`context`]).
//!
//! [`build`] leaves the domain paused and returns a [`BuiltDomain`]; the
//! caller introduces it to xenstore and starts the console daemon (the next
//! step of `xm create`), then calls [`start`] to unpause. [`create`] does
//! both ends for callers without xenstore.

pub mod context;
pub mod layout;
pub mod loader;
pub mod pagetables;
pub mod startinfo;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use dom0_abi::domctl::{xen_domctl_grant_version, XenDomctlCreatedomain};
use dom0_abi::arch_x86::XEN_LEGACY_MAX_VCPUS;
use dom0_abi::xen::{SharedInfo, VcpuInfo};
use dom0_abi::DomId;

use crate::config::cpus::CpuSet;
use crate::config::{CpuAffinity, DomainConfig};
use crate::hypervisor::{HvError, Hypervisor};
use crate::ops;
use layout::{DomULayout, DomULayoutRequest, TooSmall, PAGE};
use loader::GuestMemory;

/// Pages populated per `XENMEM_populate_physmap` call.
pub const POPULATE_BATCH: usize = 1024;
/// Slack libxl adds to a domain's memory limit, in KiB.
pub const MAXMEM_SLACK_KIB: u64 = 1024;
/// Event-channel ports a domU may use (libxl's default `event_channels`).
pub const MAX_EVTCHN_PORT: u32 = 1023;

/// A domain built and paused, with what xenstore and the console daemon
/// need to connect to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltDomain {
    /// The new domain.
    pub domid: DomId,
    /// MFN of its xenstore ring page.
    pub store_mfn: u64,
    /// Its port of the xenstore event channel (remote end: dom0, unbound).
    pub store_evtchn: u32,
    /// MFN of its console ring page.
    pub console_mfn: u64,
    /// Its port of the console event channel (remote end: dom0, unbound).
    pub console_evtchn: u32,
}

/// Who owns domain names. xenstore does (`/local/domain/N/name`); until
/// the builder is wired to it, [`NoNames`] knows none.
pub trait NameRegistry {
    /// The domain called `name`, if any.
    fn lookup(&self, name: &str) -> Result<Option<DomId>, String>;
}

/// A [`NameRegistry`] that knows no names (no duplicate check).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoNames;

impl NameRegistry for NoNames {
    fn lookup(&self, _: &str) -> Result<Option<DomId>, String> {
        Ok(None)
    }
}

/// Why a domain could not be built. Whatever was created is destroyed
/// before this is returned.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The kernel file does not exist.
    #[error("kernel image '{}' not found", path.display())]
    KernelMissing {
        /// The configured path.
        path: PathBuf,
    },
    /// The ramdisk file does not exist.
    #[error("ramdisk '{}' not found", path.display())]
    RamdiskMissing {
        /// The configured path.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("cannot read {what} '{}': {source}", path.display())]
    Read {
        /// "kernel image" or "ramdisk".
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The kernel is not a PV kernel we can boot.
    #[error("kernel image '{}' is not a Xen PV kernel: {reason}", path.display())]
    NotPvKernel {
        /// The path.
        path: PathBuf,
        /// What pvboot found wrong.
        reason: pvboot::PvError,
    },
    /// The kernel is a bzImage whose ELF could not be unpacked.
    #[error("kernel image '{}': {source}", path.display())]
    BzImage {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        source: pvboot::UnpackError,
    },
    /// The kernel requires what a domU cannot have.
    #[error("kernel image '{}': {reason}", path.display())]
    Features {
        /// The path.
        path: PathBuf,
        /// libxenguest's refusal.
        reason: pvboot::policy::FeatureRefusal,
    },
    /// The configured memory cannot hold the start-of-day layout.
    #[error("memory = {memory_mib} MiB is too small for this kernel: {source}")]
    TooSmall {
        /// Configured memory.
        memory_mib: u64,
        /// The layout's complaint.
        source: TooSmall,
    },
    /// The host lacks the free memory.
    #[error("not enough free memory for domain '{name}': {wanted_mib} MiB wanted, {free_mib} MiB free")]
    NotEnoughMemory {
        /// Domain name.
        name: String,
        /// Memory wanted.
        wanted_mib: u64,
        /// Memory free.
        free_mib: u64,
    },
    /// The name is taken.
    #[error("domain name '{name}' is already in use by domain {domid}")]
    DuplicateName {
        /// The name.
        name: String,
        /// Its current owner.
        domid: u16,
    },
    /// The name registry could not be asked.
    #[error("checking domain name '{name}': {reason}")]
    NameLookup {
        /// The name.
        name: String,
        /// Why not.
        reason: String,
    },
    /// A hypervisor operation failed.
    #[error("{step}: {source}")]
    Hypervisor {
        /// What the builder was doing.
        step: &'static str,
        /// The failure.
        source: HvError,
    },
    /// Xen populated fewer pages than asked.
    #[error("populating memory of domain {domid}: Xen gave {done} of {wanted} pages (out of memory?)")]
    PopulateShort {
        /// The domain.
        domid: u16,
        /// Pages populated.
        done: u64,
        /// Pages wanted.
        wanted: u64,
    },
    /// A guest frame could not be mapped.
    #[error("mapping PFN {pfn:#x} of domain {domid} failed (error {err})")]
    MapFailed {
        /// The domain.
        domid: u16,
        /// The guest frame.
        pfn: u64,
        /// Xen's per-page error.
        err: i32,
    },
    /// A write fell outside the domain's memory (a builder bug).
    #[error("PFN {pfn:#x} is outside the memory of domain {domid}")]
    OutsideMemory {
        /// The domain.
        domid: u16,
        /// The guest frame.
        pfn: u64,
    },
    /// The page tables did not fit their frames (a builder bug).
    #[error(transparent)]
    PageTables(#[from] pagetables::OutOfTables),
}

/// Shorthand for a failed hypervisor step.
fn failed(step: &'static str) -> impl FnOnce(HvError) -> BuildError {
    move |source| BuildError::Hypervisor { step, source }
}

/// The kernel and ramdisk files of a configuration, read.
#[derive(Clone, Debug)]
pub struct Images {
    /// Kernel path.
    pub kernel_path: PathBuf,
    /// Kernel bytes.
    pub kernel: Vec<u8>,
    /// Ramdisk bytes.
    pub ramdisk: Option<Vec<u8>>,
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, BuildError> {
    std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound if what == "kernel image" => BuildError::KernelMissing { path: path.into() },
        std::io::ErrorKind::NotFound => BuildError::RamdiskMissing { path: path.into() },
        _ => BuildError::Read { what, path: path.into(), source },
    })
}

impl Images {
    /// Read the files `cfg` names.
    pub fn load(cfg: &DomainConfig) -> Result<Self, BuildError> {
        let kernel_path = PathBuf::from(&cfg.kernel);
        let file = read("kernel image", &kernel_path)?;
        let unpack_error = |source| BuildError::BzImage { path: kernel_path.clone(), source };
        let kernel = match pvboot::identify(&file).map_err(unpack_error)? {
            pvboot::KernelModule::Plain(elf) if elf.len() == file.len() => file,
            pvboot::KernelModule::Plain(elf) => elf.to_vec(),
            pvboot::KernelModule::Packed(packed) => packed.unpack_to_vec().map_err(unpack_error)?,
        };
        let ramdisk = cfg.ramdisk.as_deref().map(|r| read("ramdisk", Path::new(r))).transpose()?;
        Ok(Images { kernel_path, kernel, ramdisk })
    }
}

/// Destroys the domain when dropped, unless disarmed: every early return
/// of the builder after createdomain cleans up through it.
struct DomainGuard<'a> {
    hv: &'a dyn Hypervisor,
    domid: DomId,
    armed: bool,
}

impl Drop for DomainGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: the error being returned is the one to report.
            let _ = self.hv.destroydomain(self.domid);
        }
    }
}

/// A random version-4 UUID for the domain handle.
/// The `createdomain` request of a PV domain with `vcpus` vCPUs, as
/// libxl makes it (a fresh handle, Xen's default grant limits, grant
/// table v2 allowed): shared by `xm create` and `xm restore`.
pub fn createdomain_config(vcpus: u32) -> XenDomctlCreatedomain {
    XenDomctlCreatedomain {
        handle: new_handle(),
        flags: 0,
        max_vcpus: vcpus,
        max_evtchn_port: MAX_EVTCHN_PORT,
        max_grant_frames: -1,
        max_maptrack_frames: -1,
        grant_opts: xen_domctl_grant_version(2),
        ..Default::default()
    }
}

/// A random version-4 UUID for a new domain's handle.
fn new_handle() -> [u8; 16] {
    let mut h = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut h));
    if random.is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        h[..16].copy_from_slice(&(t ^ (u128::from(std::process::id()) << 64)).to_le_bytes());
    }
    h[6] = (h[6] & 0x0f) | 0x40;
    h[8] = (h[8] & 0x3f) | 0x80;
    h
}

/// `xm create` without xenstore: [`build`], then [`start`].
pub fn create(hv: &dyn Hypervisor, cfg: &DomainConfig, names: &dyn NameRegistry) -> Result<BuiltDomain, BuildError> {
    let images = Images::load(cfg)?;
    let built = build(hv, cfg, &images, names)?;
    start(hv, &built)?;
    Ok(built)
}

/// Unpause a built domain (destroying it if that fails).
pub fn start(hv: &dyn Hypervisor, built: &BuiltDomain) -> Result<(), BuildError> {
    hv.unpausedomain(built.domid).map_err(|source| {
        let _ = hv.destroydomain(built.domid);
        BuildError::Hypervisor { step: "unpausing the domain", source }
    })
}

/// Build the domain `cfg` describes from `images`, paused.
pub fn build(
    hv: &dyn Hypervisor,
    cfg: &DomainConfig,
    images: &Images,
    names: &dyn NameRegistry,
) -> Result<BuiltDomain, BuildError> {
    let kernel = pvboot::parse(&images.kernel)
        .map_err(|reason| BuildError::NotPvKernel { path: images.kernel_path.clone(), reason })?;
    pvboot::policy::check_domu(&kernel.notes)
        .map_err(|reason| BuildError::Features { path: images.kernel_path.clone(), reason })?;
    let nr_pages = cfg.memory_mib * (1 << 20) / PAGE;
    let initrd_len = images.ramdisk.as_ref().map_or(0, |r| r.len() as u64);
    let layout = DomULayout::compute(&DomULayoutRequest {
        virt_base: kernel.notes.virt_base.unwrap_or(0),
        virt_kend: kernel.virt_kend,
        nr_pages,
        initrd_len,
        unmapped_initrd: kernel.notes.mod_start_pfn,
        init_p2m: kernel.notes.init_p2m,
    })
    .map_err(|source| BuildError::TooSmall { memory_mib: cfg.memory_mib, source })?;

    match names.lookup(&cfg.name) {
        Ok(Some(domid)) => return Err(BuildError::DuplicateName { name: cfg.name.clone(), domid: domid.0 }),
        Ok(None) => {}
        Err(reason) => return Err(BuildError::NameLookup { name: cfg.name.clone(), reason }),
    }
    let physinfo = ops::physinfo(hv).map_err(failed("reading the host's free memory"))?;
    if physinfo.free_pages < nr_pages {
        return Err(BuildError::NotEnoughMemory {
            name: cfg.name.clone(),
            wanted_mib: cfg.memory_mib,
            free_mib: (physinfo.free_pages * PAGE) >> 20,
        });
    }

    let create = createdomain_config(cfg.vcpus);
    let domid = hv.createdomain(&create).map_err(failed("creating the domain"))?;
    let mut guard = DomainGuard { hv, domid, armed: true };
    let built = populate_and_load(hv, cfg, images, &kernel, &layout, domid)?;
    guard.armed = false;
    Ok(built)
}

/// Steps 3 (limits) to 8, on a created domain.
fn populate_and_load(
    hv: &dyn Hypervisor,
    cfg: &DomainConfig,
    images: &Images,
    kernel: &pvboot::PvKernel<'_>,
    l: &DomULayout,
    domid: DomId,
) -> Result<BuiltDomain, BuildError> {
    hv.max_vcpus(domid, cfg.vcpus).map_err(failed("setting the vcpu limit"))?;
    pin_vcpus(hv, domid, cfg)?;
    let maxmem_kib = cfg.maxmem_mib.max(cfg.memory_mib) * 1024 + MAXMEM_SLACK_KIB;
    hv.max_mem(domid, maxmem_kib).map_err(failed("setting the memory limit"))?;
    let p2m = populate(hv, domid, l.nr_pages)?;
    let info = hv.getdomaininfo(domid).map_err(failed("reading the new domain's info"))?;
    let store_evtchn = hv.evtchn_alloc_unbound(domid, DomId(0)).map_err(failed("allocating the xenstore event channel"))?;
    let console_evtchn =
        hv.evtchn_alloc_unbound(domid, DomId(0)).map_err(failed("allocating the console event channel"))?;

    let mem = GuestMemory::new(hv, domid, &p2m);
    load_kernel(&mem, kernel, l)?;
    if let Some(rd) = &images.ramdisk {
        let paddr = match l.initrd_pfn {
            Some(pfn) => pfn * PAGE,
            None => l.paddr_of(l.vinitrd_start),
        };
        mem.write(paddr, rd)?;
    }
    let p2m_bytes: Vec<u8> = p2m.iter().flat_map(|m| m.to_le_bytes()).collect();
    let p2m_paddr = if l.init_p2m.is_some() { l.p2m_pfn * PAGE } else { l.paddr_of(l.vphysmap_start) };
    mem.write(p2m_paddr, &p2m_bytes)?;
    let (tables, nr_p2m_frames) = pagetables::build(&p2m, l)?;
    for (pfn, table) in &tables {
        let bytes: Vec<u8> = table.iter().flat_map(|e| e.to_le_bytes()).collect();
        mem.write(pfn * PAGE, &bytes)?;
    }
    mem.zero(l.paddr_of(l.vxenstore), PAGE)?;
    mem.zero(l.paddr_of(l.vconsole), PAGE)?;
    let store_mfn = p2m[l.pfn_of(l.vxenstore) as usize];
    let console_mfn = p2m[l.pfn_of(l.vconsole) as usize];
    let cmdline = startinfo::cmdline(cfg.root.as_deref(), cfg.extra.as_deref());
    let si = startinfo::start_info(
        l,
        &startinfo::StartInfoParams {
            shared_info_maddr: info.shared_info_frame * PAGE,
            store_mfn,
            store_evtchn,
            console_mfn,
            console_evtchn,
            nr_p2m_frames,
            initrd_len: images.ramdisk.as_ref().map_or(0, |r| r.len() as u64),
            cmdline: &cmdline,
        },
    );
    mem.write(l.paddr_of(l.vstartinfo), &startinfo::to_page(&si))?;
    if let Some(page) = kernel.virt_hypercall {
        hv.hypercall_init(domid, p2m[l.pfn_of(page) as usize]).map_err(failed("initialising the hypercall page"))?;
    }
    mask_event_upcalls(hv, domid, info.shared_info_frame)?;

    let l4_mfn = p2m[l.pfn_of(l.vpt_start) as usize];
    hv.pin_l4(domid, l4_mfn).map_err(failed("pinning the initial page tables"))?;
    let ctx = context::vcpu0(&context::Entry {
        entry: kernel.virt_entry,
        stack_top: l.stack_top(),
        start_info: l.vstartinfo,
        l4_mfn,
    });
    hv.set_vcpu_context(domid, 0, &ctx).map_err(failed("setting vcpu 0's context"))?;
    Ok(BuiltDomain { domid, store_mfn, store_evtchn, console_mfn, console_evtchn })
}

/// Apply the configuration's `cpus` as the vcpus' hard affinity
/// (`XEN_DOMCTL_setvcpuaffinity`); vcpus it does not restrict keep Xen's
/// default (any cpu).
fn pin_vcpus(hv: &dyn Hypervisor, domid: DomId, cfg: &DomainConfig) -> Result<(), BuildError> {
    let Some(affinity) = &cfg.cpus else { return Ok(()) };
    let for_vcpu = |v: u32| match affinity {
        CpuAffinity::All(set) => Some(set),
        CpuAffinity::PerVcpu(list) => list.get(v as usize),
    };
    for v in 0..cfg.vcpus {
        if let Some(CpuSet::Cpus(cpus)) = for_vcpu(v) {
            ops::set_hard_affinity(hv, domid, v, cpus).map_err(failed("pinning the vcpus (cpus =)"))?;
        }
    }
    Ok(())
}

/// Give the domain `nr_pages` frames, PFN 0 upwards; returns the p2m.
fn populate(hv: &dyn Hypervisor, domid: DomId, nr_pages: u64) -> Result<Vec<u64>, BuildError> {
    let mut p2m: Vec<u64> = (0..nr_pages).collect();
    let mut done = 0u64;
    for batch in p2m.chunks_mut(POPULATE_BATCH) {
        let n = hv.populate_physmap(domid, batch).map_err(failed("populating the domain's memory"))?;
        done += n as u64;
        if n < batch.len() {
            return Err(BuildError::PopulateShort { domid: domid.0, done, wanted: nr_pages });
        }
    }
    Ok(p2m)
}

/// Copy the kernel's loadable segments to their places, bss zeroed.
fn load_kernel(mem: &GuestMemory<'_>, k: &pvboot::PvKernel<'_>, l: &DomULayout) -> Result<(), BuildError> {
    for seg in k.elf.segments() {
        let va = seg.paddr.wrapping_add(k.virt_offset);
        let paddr = l.paddr_of(va);
        mem.write(paddr, k.elf.segment_bytes(seg))?;
        mem.zero(paddr + seg.filesz, seg.memsz - seg.filesz)?;
    }
    Ok(())
}

/// Mask event upcalls of every vCPU slot in the shared-info page, as
/// libxenguest does before the guest runs (the guest unmasks when ready).
fn mask_event_upcalls(hv: &dyn Hypervisor, domid: DomId, shared_info_frame: u64) -> Result<(), BuildError> {
    let mut map = hv.map_foreign(domid, &[shared_info_frame]).map_err(failed("mapping the shared-info page"))?;
    let err = map.error(0);
    let page = map.page_mut(0).ok_or(BuildError::MapFailed { domid: domid.0, pfn: shared_info_frame, err })?;
    let stride = std::mem::size_of::<VcpuInfo>();
    let mask = std::mem::offset_of!(VcpuInfo, evtchn_upcall_mask);
    debug_assert_eq!(std::mem::offset_of!(SharedInfo, vcpu_info), 0);
    for i in 0..XEN_LEGACY_MAX_VCPUS {
        page[i * stride + mask] = 1;
    }
    Ok(())
}
