//! Domains and virtual CPUs.
//!
//! A [`Domain`] owns memory (its phys-to-machine map), a shared-info page
//! and its vCPUs; a [`Vcpu`] holds the PV state Xen keeps per vCPU: guest
//! kernel/user mode, trap table, callbacks, kernel stack, page-table bases,
//! segment bases and the virtual CR0.TS. While a vCPU runs, its registers
//! live in the frame at the top of its CPU's primary stack.

pub mod create;
pub mod destroy;
pub mod dom0_build;
pub mod runstate;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, Ordering};

use dom0_abi::arch_x86::TrapInfo;
use dom0_abi::xen::SharedInfo;
use crate::sync::Mutex;

use crate::arch::x86_64::paging::maddr_to_virt;
use crate::arch::x86_64::traps::TrapFrame;

/// Domain identifier.
pub type DomId = u16;

/// Why a domain stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownReason {
    /// SHUTDOWN_poweroff.
    Poweroff,
    /// SHUTDOWN_reboot.
    Reboot,
    /// SHUTDOWN_suspend.
    Suspend,
    /// SHUTDOWN_crash (also a domain the hypervisor crashed).
    Crash,
    /// SHUTDOWN_watchdog.
    Watchdog,
    /// SHUTDOWN_soft_reset.
    SoftReset,
}

impl ShutdownReason {
    /// From a `SHUTDOWN_*` code.
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            0 => Self::Poweroff,
            1 => Self::Reboot,
            2 => Self::Suspend,
            3 => Self::Crash,
            4 => Self::Watchdog,
            5 => Self::SoftReset,
            _ => return None,
        })
    }
}

/// Mutable per-domain state.
pub struct DomainState {
    /// `VMASST_TYPE_*` bits enabled.
    pub vm_assist: u64,
    /// Set once the domain has shut down.
    pub shutdown: Option<ShutdownReason>,
    /// Code given with `SCHEDOP_shutdown_code`.
    pub shutdown_code: Option<u32>,
    /// The domain's PCI configuration address register (port 0xcf8).
    pub pci_cf8: u32,
}

/// A domain.
pub struct Domain {
    /// Its ID.
    pub domid: DomId,
    /// Hardware/control domain (dom0).
    pub is_privileged: bool,
    /// Pages it owns.
    pub tot_pages: core::sync::atomic::AtomicU64,
    /// Reservation ceiling in pages.
    pub max_pages: core::sync::atomic::AtomicU64,
    /// PFN → MFN.
    pub p2m: Vec<u64>,
    /// Machine frame of the shared-info page.
    pub shared_info_mfn: u64,
    /// Event channels.
    pub evtchn: Mutex<crate::evtchn::EvtchnTable>,
    /// FIFO event-channel state, once the domain switched to that ABI.
    pub fifo: Mutex<Option<crate::evtchn_fifo::Fifo>>,
    /// Grant table and maptrack.
    pub grant: Mutex<crate::grant::GrantTable>,
    /// Mutable state.
    pub state: Mutex<DomainState>,
    /// Machine address of each vCPU's `vcpu_info` where the guest placed
    /// it (`VCPUOP_register_vcpu_info`); 0 while it is the vCPU's slot in
    /// the shared-info page.
    pub vcpu_info_maddr: [AtomicU64; MAX_VIRT_CPUS],
    /// Machine frame of its pirq EOI bitmap (`PHYSDEVOP_pirq_eoi_gmfn`;
    /// 0: none), held with a writable-type reference.
    pub pirq_eoi_mfn: AtomicU64,
    /// The bitmap was registered with the v1 call: an EOI also unmasks the
    /// pirq's event channel.
    pub pirq_auto_unmask: core::sync::atomic::AtomicBool,
    /// Its vCPUs, by ID (created with the domain, as Xen 4.17 does; set
    /// once, right after the domain).
    pub vcpus: spin::Once<Vec<VcpuRef>>,
    /// Pauses by the toolstack (`XEN_DOMCTL_pausedomain`); the domain
    /// runs only at 0. A new domain starts with one.
    pub pause_count: AtomicU32,
    /// Being destroyed: no longer runs, no new references.
    pub dying: AtomicBool,
    /// The toolstack's 16-byte handle (a UUID).
    pub handle: Mutex<[u8; 16]>,
    /// Security label given at creation.
    pub ssidref: u32,
    /// Seconds added to the wallclock it sees (`settimeoffset`).
    pub time_offset: AtomicI64,
    /// Credit-scheduler weight and cap (`scheduler_op`).
    pub sched_params: Mutex<SchedParams>,
    /// Highest event-channel port it may use (`set_max_evtchn`).
    pub max_evtchn_port: AtomicU32,
    /// I/O port ranges it may use (`ioport_permission`), inclusive.
    pub ioports: Mutex<Vec<(u32, u32)>>,
    /// Machine-frame ranges it may map (`iomem_permission`), inclusive.
    pub iomem: Mutex<Vec<(u64, u64)>>,
}

/// A domain's credit-scheduler parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedParams {
    /// Relative share (1-65535, default 256).
    pub weight: u16,
    /// Upper limit in percent of one CPU (0: none).
    pub cap: u16,
}

impl Default for SchedParams {
    fn default() -> Self {
        Self { weight: 256, cap: 0 }
    }
}

/// A vCPU as the scheduler and the domain hold it: leaked while the
/// domain lives, freed when the domain is destroyed (never while current).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VcpuRef(pub *mut Vcpu);

// SAFETY: vCPUs are only touched by the CPU that runs them or, while they
// are not running, by hypercalls of the control domain on the same CPU
// (every vCPU runs on CPU 0 until the SMP scheduler arrives).
unsafe impl Send for VcpuRef {}
// SAFETY: see `Send`.
unsafe impl Sync for VcpuRef {}

impl VcpuRef {
    /// The vCPU.
    #[allow(clippy::mut_from_ref)]
    pub fn get(&self) -> &'static mut Vcpu {
        // SAFETY: see the type's comment: alive while its domain is
        // registered, used by one CPU at a time.
        unsafe { &mut *self.0 }
    }
}

/// vCPU slots of the shared-info page (Xen's `XEN_LEGACY_MAX_VCPUS`).
pub const MAX_VIRT_CPUS: usize = 32;

impl Domain {
    /// The shared-info page.
    pub fn shared_info(&self) -> &'static mut SharedInfo {
        // SAFETY: a hypervisor-owned frame allocated for this domain, alive
        // as long as the domain; guests write to it concurrently, as Xen's
        // interface expects, and only fields of plain data are touched.
        unsafe { &mut *(maddr_to_virt(self.shared_info_mfn << 12) as *mut SharedInfo) }
    }

    /// Whether the domain owns machine frame `mfn`.
    pub fn owns(&self, mfn: u64) -> bool {
        crate::mm::frame_table::owner(mfn) == crate::mm::page::Owner::Domain(self.domid)
    }

    /// The domain as the memory-management engine sees it.
    pub fn actor(&self) -> crate::mm::pv::Actor {
        crate::mm::pv::Actor::own(self.domid, self.is_privileged)
    }

    /// vCPU `vcpu`'s `vcpu_info`: where the guest registered it, else its
    /// slot in the shared-info page.
    pub fn vcpu_info(&self, vcpu: usize) -> Option<&'static mut dom0_abi::xen::VcpuInfo> {
        let maddr = self.vcpu_info_maddr.get(vcpu)?.load(Ordering::Acquire);
        if maddr != 0 {
            // SAFETY: a frame of the domain's own, held with a writable-type
            // reference while registered; the offset keeps the structure
            // inside the page and aligned (checked at registration).
            return Some(unsafe { &mut *(maddr_to_virt(maddr) as *mut dom0_abi::xen::VcpuInfo) });
        }
        self.shared_info().vcpu_info.get_mut(vcpu)
    }

    /// What `getdomaininfo` reports of the domain (Xen's
    /// `getdomaininfo`: blocked when every online vCPU is, running when
    /// one is, CPU time summed over the vCPUs' running time).
    pub fn info(&self) -> dom0_abi::domctl::XenDomctlGetdomaininfo {
        use dom0_abi::domctl::*;
        let now = crate::timer::now_ns();
        let mut flags = XEN_DOMINF_blocked;
        let mut cpu_time = 0;
        let mut online = 0;
        for v in self.vcpu_list().iter().map(VcpuRef::get) {
            cpu_time += v.runstate.snapshot(now).time[dom0_abi::vcpu::RUNSTATE_running as usize];
            if v.is_online() {
                if !v.is_blocked() {
                    flags &= !XEN_DOMINF_blocked;
                }
                if crate::sched::is_running(v) {
                    flags |= XEN_DOMINF_running;
                }
                online += 1;
            }
        }
        if online == 0 {
            flags = 0;
        }
        if self.pause_count.load(Ordering::Acquire) > 0 {
            flags |= XEN_DOMINF_paused;
        }
        if self.dying.load(Ordering::Acquire) {
            flags |= XEN_DOMINF_dying;
        }
        if let Some(reason) = self.state.lock().shutdown {
            flags = XenDomctlGetdomaininfo::with_shutdown_reason(flags | XEN_DOMINF_shutdown, reason as u32);
        }
        let mut info: XenDomctlGetdomaininfo = dom0_abi::Pod::zeroed();
        info.domain = dom0_abi::DomId(self.domid);
        info.flags = flags;
        info.tot_pages = self.tot_pages.load(Ordering::Relaxed);
        info.max_pages = self.max_pages.load(Ordering::Relaxed);
        info.shared_info_frame = self.shared_info_mfn;
        info.cpu_time = cpu_time;
        info.nr_online_vcpus = online;
        info.max_vcpu_id = self.vcpu_list().len().saturating_sub(1) as u32;
        info.ssidref = self.ssidref;
        info.handle = *self.handle.lock();
        info.gpaddr_bits = 0;
        info
    }

    /// Whether the domain may run: not paused, shut down or dying.
    pub fn may_run(&self) -> bool {
        self.pause_count.load(Ordering::Acquire) == 0
            && !self.dying.load(Ordering::Acquire)
            && self.state.lock().shutdown.is_none()
    }

    /// Its vCPUs.
    pub fn vcpu_list(&self) -> &[VcpuRef] {
        self.vcpus.get().map_or(&[], |v| v.as_slice())
    }

    /// vCPU `id`.
    pub fn vcpu(&self, id: u32) -> Option<&'static mut Vcpu> {
        self.vcpu_list().get(id as usize).map(VcpuRef::get)
    }

    /// Machine frame of `pfn`, if the domain has it.
    pub fn mfn_of(&self, pfn: u64) -> Option<u64> {
        self.p2m.get(pfn as usize).copied()
    }
}

/// PV callbacks a guest registers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Callbacks {
    /// Event upcall entry.
    pub event: u64,
    /// Failsafe (bad segment on return) entry.
    pub failsafe: u64,
    /// SYSCALL from guest user mode.
    pub syscall: u64,
    /// SYSCALL from 32-bit guest user mode.
    pub syscall32: u64,
    /// NMI entry.
    pub nmi: u64,
    /// Events are masked on entry to the syscall callback.
    pub syscall_disables_events: bool,
    /// Events are masked on entry to the failsafe callback.
    pub failsafe_disables_events: bool,
}

/// One virtual CPU.
pub struct Vcpu {
    /// Index within the domain.
    pub vcpu_id: u32,
    /// Owning domain.
    pub domain: &'static Domain,
    /// Guest kernel mode (as opposed to guest user mode).
    pub kernel_mode: bool,
    /// The virtual IDT (`set_trap_table`).
    pub trap_table: [TrapInfo; 256],
    /// Registered callbacks.
    pub callbacks: Callbacks,
    /// Guest kernel stack for entries from user mode (`stack_switch`).
    pub kernel_ss: u64,
    /// See `kernel_ss`.
    pub kernel_sp: u64,
    /// Machine frame of the kernel page-table root.
    pub guest_table: u64,
    /// Machine frame of the user page-table root (0: none).
    pub guest_table_user: u64,
    /// FS base as last set through the hypervisor (loaded when the vCPU
    /// starts on a CPU; the guest may change the register itself with
    /// WRFSBASE, so whoever takes the vCPU off a CPU must read it back).
    pub fs_base: u64,
    /// GS base while in guest kernel mode.
    pub gs_base_kernel: u64,
    /// GS base while in guest user mode.
    pub gs_base_user: u64,
    /// Virtual CR0.TS (`fpu_taskswitch`).
    pub cr0_ts: bool,
    /// Virtual I/O privilege level (0-3 in bits 12-13 of EFLAGS).
    pub iopl: u32,
    /// The guest's GDT entries (`set_gdt`), validated, as installed below
    /// the hypervisor's reserved entries while this vCPU runs.
    pub gdt: Vec<u64>,
    /// Machine frames the guest GDT came from (each holding a
    /// segment-descriptor type reference).
    pub gdt_frames: Vec<u64>,
    /// The guest LDT (`MMUEXT_SET_LDT`), validated.
    pub ldt: Vec<u64>,
    /// Arguments of a hypercall to resume (a preempted batch).
    pub continuation: Option<[u64; 6]>,
    /// Inside a multicall: batches run to completion.
    pub in_multicall: bool,
    /// One-shot timer deadline (system time, ns).
    pub singleshot: Option<u64>,
    /// Periodic timer period (0: off).
    pub period_ns: u64,
    /// Next periodic deadline.
    pub periodic_next: u64,
    /// Blocked in `SCHEDOP_block` or `SCHEDOP_poll` (the periodic timer is
    /// off meanwhile); cleared by whichever CPU sends it an event.
    pub blocked: AtomicBool,
    /// Runstate accounting and the guest's runstate area.
    pub runstate: runstate::Runstate,
    /// Guest address of a second `vcpu_time_info` copy
    /// (`VCPUOP_register_vcpu_time_memory_area`, 0: none).
    pub time_area: u64,
    /// An NMI is pending for the guest (`VCPUOP_send_nmi`).
    pub nmi_pending: bool,
    /// An NMI was delivered and the guest has not returned from it
    /// (`HYPERVISOR_iret`) yet.
    pub nmi_masked: bool,
    /// Virtual machine-check registers.
    pub vmce: crate::vmce::Vmce,
    /// The guest's view of CR4 (Xen's PV default; TSD and DE are its own).
    pub cr4: u64,
    /// Debug registers DR0-DR7 (`set_debugreg`; DR4/DR5 unused).
    pub debugreg: [u64; 8],
    /// Up and with a context: it runs unless blocked or its domain may
    /// not run (Xen's `VPF_down` clear).
    pub online: AtomicBool,
    /// Its registers while it is not running.
    pub frame: TrapFrame,
    /// Its x87/SSE/AVX state while it is not running.
    pub fpu: Box<crate::arch::x86_64::xstate::XsaveArea>,
    /// Its XCR0 (`XSETBV`).
    pub xcr0: u64,
    /// CPUs it may run on (hard affinity, one bit per CPU).
    pub hard_affinity: u64,
    /// CPUs it prefers (soft affinity).
    pub soft_affinity: u64,
    /// Queued on a run queue (claimed by whoever queues it).
    pub on_runq: AtomicBool,
    /// The CPU whose run queue and timers it belongs to.
    pub processor: u32,
    /// The CPU it is loaded on ([`NOT_RUNNING`] when on none).
    pub running_on: AtomicU32,
    /// Credit1's state: balance, priority, parking.
    pub csched: crate::sched::credit::CreditVcpu,
    /// Blocked in `SCHEDOP_poll`: woken by an event on `poll_port` (any
    /// port of the domain when 0) or at `poll_deadline`.
    pub polling: AtomicBool,
    /// See `polling`.
    pub poll_port: u32,
    /// See `polling` (system time; `None`: no timeout).
    pub poll_deadline: Option<u64>,
}

impl Vcpu {
    /// Whether it is up ([`Vcpu::online`]).
    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::Acquire)
    }

    /// Whether it is blocked ([`Vcpu::blocked`]).
    pub fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::Acquire)
    }

    /// Whether it is in `SCHEDOP_poll` ([`Vcpu::polling`]).
    pub fn is_polling(&self) -> bool {
        self.polling.load(Ordering::Acquire)
    }

    /// A fresh vCPU of `domain`.
    pub fn new(domain: &'static Domain, vcpu_id: u32) -> Self {
        Self {
            vcpu_id,
            domain,
            kernel_mode: true,
            trap_table: [TrapInfo { vector: 0, flags: 0, cs: 0, address: 0 }; 256],
            callbacks: Callbacks::default(),
            kernel_ss: 0,
            kernel_sp: 0,
            guest_table: 0,
            guest_table_user: 0,
            fs_base: 0,
            gs_base_kernel: 0,
            gs_base_user: 0,
            cr0_ts: false,
            iopl: 0,
            gdt: Vec::new(),
            gdt_frames: Vec::new(),
            ldt: Vec::new(),
            continuation: None,
            in_multicall: false,
            singleshot: None,
            period_ns: crate::timer::DEFAULT_PERIOD_NS,
            periodic_next: crate::timer::now_ns() + crate::timer::DEFAULT_PERIOD_NS,
            blocked: AtomicBool::new(false),
            runstate: runstate::initial(),
            time_area: 0,
            nmi_pending: false,
            nmi_masked: false,
            cr4: 0x6f0,
            vmce: crate::vmce::Vmce::new(crate::arch::x86_64::cpuid(0, 0).ebx == 0x756e_6547),
            debugreg: [0, 0, 0, 0, 0, 0, 0xffff_0ff0, 0x400],
            online: AtomicBool::new(false),
            frame: TrapFrame::default(),
            fpu: crate::arch::x86_64::xstate::XsaveArea::initial(),
            xcr0: 0x3,
            hard_affinity: !0,
            soft_affinity: !0,
            on_runq: AtomicBool::new(false),
            processor: 0,
            running_on: AtomicU32::new(NOT_RUNNING),
            csched: Default::default(),
            polling: AtomicBool::new(false),
            poll_port: 0,
            poll_deadline: None,
        }
    }

    /// This vCPU's `vcpu_info` (see [`Domain::vcpu_info`]).
    pub fn vcpu_info(&self) -> Option<&'static mut dom0_abi::xen::VcpuInfo> {
        self.domain.vcpu_info(self.vcpu_id as usize)
    }
}

/// The vCPU running on each CPU (null when idle).
static CURRENT: [AtomicPtr<Vcpu>; crate::arch::x86_64::cpu::MAX_CPUS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; crate::arch::x86_64::cpu::MAX_CPUS];

/// `Vcpu::running_on` of a vCPU loaded on no CPU.
pub const NOT_RUNNING: u32 = u32::MAX;

/// Make `v` the vCPU of this CPU.
pub fn set_current(v: &mut Vcpu) {
    let cpu = crate::arch::x86_64::cpu::this_cpu().cpu_id;
    v.running_on.store(cpu, Ordering::SeqCst);
    CURRENT[cpu as usize].store(v, Ordering::Release);
}

/// This CPU runs no vCPU any more (its state is saved).
pub fn clear_current() {
    let cpu = crate::arch::x86_64::cpu::this_cpu().cpu_id as usize;
    let p = CURRENT[cpu].swap(core::ptr::null_mut(), Ordering::AcqRel);
    // SAFETY: vCPUs are leaked while they may be current.
    if let Some(v) = unsafe { p.as_ref() } {
        v.running_on.store(NOT_RUNNING, Ordering::SeqCst);
    }
}

/// The vCPU loaded on CPU `cpu`, if any (another CPU's: read only its
/// atomics and scheduling priority).
pub fn current_on(cpu: u32) -> Option<&'static Vcpu> {
    let p = CURRENT.get(cpu as usize)?.load(Ordering::Acquire);
    // SAFETY: vCPUs are leaked while they may be current.
    unsafe { p.as_ref() }
}

/// The vCPU running on this CPU.
pub fn current() -> Option<&'static mut Vcpu> {
    let cpu = crate::arch::x86_64::cpu::this_cpu().cpu_id as usize;
    let p = CURRENT[cpu].load(Ordering::Acquire);
    // SAFETY: only this CPU uses its current vCPU mutably, and vCPUs are
    // leaked (never freed while current).
    unsafe { p.as_mut() }
}

/// Every domain, by ID: changed under this lock, which readers never take
/// (they walk [`LIST`]).
static DOMAINS: Mutex<Vec<&'static Domain>> = Mutex::new(Vec::new());

/// A copy of [`DOMAINS`] that any CPU reads without a lock (read-copy
/// update): every change publishes a new copy, and a replaced one is kept
/// in [`RETIRED`] until a grace period has passed ([`synchronize`]).
/// A reader's borrow never outlives [`with_list`], and a CPU passes no
/// quiescent state in one.
static LIST: AtomicPtr<Vec<&'static Domain>> = AtomicPtr::new(core::ptr::null_mut());

/// Replaced copies of the list, not freed yet (a leaf lock).
static RETIRED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// Publish `list` (under the [`DOMAINS`] lock) as the readers' copy.
fn publish(list: &[&'static Domain]) {
    let new = Box::into_raw(Box::new(list.to_vec()));
    let old = LIST.swap(new, Ordering::AcqRel);
    if !old.is_null() {
        RETIRED.lock().push(old as usize);
    }
}

/// Run `f` on the current list of domains, without a lock.
fn with_list<R>(f: impl FnOnce(&[&'static Domain]) -> R) -> R {
    let p = LIST.load(Ordering::Acquire);
    // SAFETY: a published copy is freed only by `synchronize`, after every
    // other CPU has been quiescent since it was replaced; this CPU is not
    // quiescent while `f` runs, and the borrow ends with it.
    let list: &[&'static Domain] = if p.is_null() { &[] } else { unsafe { &*p } };
    f(list)
}

/// Wait for a grace period ([`crate::rcu::synchronize`]), then free the
/// copies of the domain list that were replaced before it began.
pub fn synchronize() {
    let retired = core::mem::take(&mut *RETIRED.lock());
    crate::rcu::synchronize();
    for p in retired {
        // SAFETY: made by `Box::into_raw` in `publish` and replaced before
        // the grace period began: no reader still borrows it.
        drop(unsafe { Box::from_raw(p as *mut Vec<&'static Domain>) });
    }
}

/// Leak a domain until it is destroyed ([`destroy::destroy`] frees it)
/// and register it.
pub fn leak_domain(d: Domain) -> &'static Domain {
    let d: &'static Domain = Box::leak(Box::new(d));
    let mut list = DOMAINS.lock();
    list.push(d);
    publish(&list);
    d
}

/// Take `d` out of the registry (it can no longer be found by ID).
pub fn unregister(d: &Domain) {
    let mut list = DOMAINS.lock();
    list.retain(|x| x.domid != d.domid);
    publish(&list);
}

/// The domain with ID `id`.
pub fn by_id(id: DomId) -> Option<&'static Domain> {
    with_list(|l| l.iter().copied().find(|d| d.domid == id))
}

/// Every domain (a copy, for callers that keep it).
pub fn all() -> Vec<&'static Domain> {
    with_list(<[_]>::to_vec)
}

/// Run `f` on every domain, without a lock or a copy (the timer
/// interrupt's walk).
pub fn for_each(f: impl FnMut(&'static Domain)) {
    with_list(|l| l.iter().copied().for_each(f))
}
