//! Creating a domain (Xen's `domain_create` for a PV guest): its
//! shared-info page, event-channel and grant tables, and its vCPUs, all
//! created at once as Xen 4.17 does. Dom0's builder and
//! `XEN_DOMCTL_createdomain` both come here.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};

use dom0_abi::Errno;
use crate::sync::Mutex;

use super::{Domain, DomainState, DomId, SchedParams, Vcpu, VcpuRef, MAX_VIRT_CPUS};
use crate::arch::x86_64::paging::maddr_to_virt;
use crate::mm::{self, frame_table, PAGE_SHIFT, PAGE_SIZE};

/// What a new domain is made with.
pub struct NewDomain {
    /// Its ID.
    pub domid: DomId,
    /// The control domain.
    pub privileged: bool,
    /// vCPUs (1..=[`MAX_VIRT_CPUS`]).
    pub max_vcpus: u32,
    /// Pages it already owns (dom0) and its ceiling.
    pub tot_pages: u64,
    /// Reservation ceiling in pages.
    pub max_pages: u64,
    /// Its PFN → MFN map where the hypervisor built it (dom0), else empty.
    pub p2m: Vec<u64>,
    /// Assists it starts with.
    pub vm_assist: u64,
    /// Security label.
    pub ssidref: u32,
    /// Toolstack handle.
    pub handle: [u8; 16],
    /// Highest event-channel port.
    pub max_evtchn_port: u32,
    /// A shared-info frame allocated already (dom0's start-of-day layout
    /// names it), else 0 for a fresh one.
    pub shared_info_mfn: u64,
    /// Starts paused (by the toolstack, which unpauses it when built).
    pub paused: bool,
}

/// A zeroed frame for the domain's shared-info page.
fn new_shared_info(domid: DomId) -> Result<u64, Errno> {
    let mfn = mm::alloc_frame().ok_or(Errno::ENOMEM)?;
    // SAFETY: a fresh frame of RAM, ours until assigned.
    unsafe { core::ptr::write_bytes(maddr_to_virt(mfn << PAGE_SHIFT) as *mut u8, 0, PAGE_SIZE as usize) };
    frame_table::assign(mfn, domid, true);
    Ok(mfn)
}

/// Create and register a domain with its vCPUs (offline until given a
/// context, except that the caller may start vCPU 0 itself).
pub fn create(n: NewDomain) -> Result<&'static Domain, Errno> {
    if n.max_vcpus == 0 || n.max_vcpus as usize > MAX_VIRT_CPUS {
        return Err(Errno::EINVAL);
    }
    let shared_info_mfn = if n.shared_info_mfn != 0 {
        frame_table::assign(n.shared_info_mfn, n.domid, true);
        n.shared_info_mfn
    } else {
        new_shared_info(n.domid)?
    };
    let Some(grant) = crate::hypercall::grant_table::new_table(n.domid) else {
        frame_table::with(|m| m.put_page(shared_info_mfn));
        return Err(Errno::ENOMEM);
    };
    let d = super::leak_domain(Domain {
        domid: n.domid,
        is_privileged: n.privileged,
        tot_pages: AtomicU64::new(n.tot_pages),
        max_pages: AtomicU64::new(n.max_pages),
        p2m: n.p2m,
        shared_info_mfn,
        evtchn: Mutex::new({
            let mut t = crate::evtchn::EvtchnTable::new(n.max_vcpus);
            t.set_max_port(n.max_evtchn_port);
            t
        }),
        fifo: Mutex::new(None),
        grant: Mutex::new(grant),
        vcpu_info_maddr: [const { AtomicU64::new(0) }; MAX_VIRT_CPUS],
        pirq_eoi_mfn: AtomicU64::new(0),
        pirq_auto_unmask: AtomicBool::new(false),
        state: Mutex::new(DomainState { vm_assist: n.vm_assist, shutdown: None, shutdown_code: None, pci_cf8: 0 }),
        vcpus: spin::Once::new(),
        pause_count: AtomicU32::new(u32::from(n.paused)),
        dying: AtomicBool::new(false),
        handle: Mutex::new(n.handle),
        ssidref: n.ssidref,
        time_offset: AtomicI64::new(0),
        sched_params: Mutex::new(SchedParams::default()),
        max_evtchn_port: AtomicU32::new(n.max_evtchn_port),
        ioports: Mutex::new(Vec::new()),
        iomem: Mutex::new(Vec::new()),
    });
    let si = d.shared_info();
    // Every vCPU starts with events masked; `arch.max_pfn` is the guest's
    // (or its builder's) to fill in.
    for vi in si.vcpu_info.iter_mut() {
        vi.evtchn_upcall_mask = 1;
    }
    crate::timer::publish(si);
    let now = crate::timer::now_ns();
    let vcpus = (0..n.max_vcpus)
        .map(|id| {
            let mut v = Box::new(Vcpu::new(d, id));
            v.runstate = super::runstate::Runstate::new(dom0_abi::vcpu::RUNSTATE_offline, now);
            VcpuRef(Box::leak(v))
        })
        .collect();
    d.vcpus.call_once(|| vcpus);
    log::info!("d{}: created ({} vCPUs, max {} pages)", d.domid, n.max_vcpus, d.max_pages.load(Ordering::Relaxed));
    Ok(d)
}

/// The ID `XEN_DOMCTL_createdomain` gives when the caller names none:
/// the next free one after the last given, as Xen's rover does (so a
/// destroyed domain's ID is not reused until the IDs wrap).
pub fn next_free_domid() -> Option<DomId> {
    static ROVER: Mutex<DomId> = Mutex::new(0);
    let mut rover = ROVER.lock();
    let mut dom = *rover;
    for _ in 0..dom0_abi::xen::DOMID_FIRST_RESERVED {
        dom = dom.wrapping_add(1);
        if dom >= dom0_abi::xen::DOMID_FIRST_RESERVED {
            dom = 1;
        }
        if super::by_id(dom).is_none() {
            *rover = dom;
            return Some(dom);
        }
    }
    None
}
