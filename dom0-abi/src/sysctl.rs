//! `HYPERVISOR_sysctl` (`sysctl.h`, interface version 0x15): host-wide
//! queries and controls for the toolstack (console ring, physical info,
//! domain lists, topology, cpupools, scheduler globals, cpu policies), with
//! the outer [`XenSysctl`] envelope.

use crate::arch_x86::{XenCpuidLeaf, XenMsrEntry};
use crate::domctl::XenDomctlGetdomaininfo;
use crate::physdev::PhysdevPciDevice;
use crate::types::{DomId, GuestHandle64};
use crate::xen::XenctlBitmap;

/// `xen_sysctl.interface_version` of Xen 4.17.
pub const XEN_SYSCTL_INTERFACE_VERSION: u32 = 0x0000_0015;

/// Read (and optionally clear) the Xen console ring (`xen_sysctl_readconsole`).
pub const XEN_SYSCTL_readconsole: u32 = 1;
/// Trace-buffer control (`xen_sysctl_tbuf_op`).
pub const XEN_SYSCTL_tbuf_op: u32 = 2;
/// Physical host information (`xen_sysctl_physinfo`).
pub const XEN_SYSCTL_physinfo: u32 = 3;
/// Default scheduler id (`xen_sysctl_sched_id`).
pub const XEN_SYSCTL_sched_id: u32 = 4;
/// Performance counters (`xen_sysctl_perfc_op`).
pub const XEN_SYSCTL_perfc_op: u32 = 5;
/// Info for a range of domains (`xen_sysctl_getdomaininfolist`).
pub const XEN_SYSCTL_getdomaininfolist: u32 = 6;
/// Inject debug keys (`xen_sysctl_debug_keys`).
pub const XEN_SYSCTL_debug_keys: u32 = 7;
/// Per-cpu idle times (`xen_sysctl_getcpuinfo`).
pub const XEN_SYSCTL_getcpuinfo: u32 = 8;
/// Free heap memory (`xen_sysctl_availheap`).
pub const XEN_SYSCTL_availheap: u32 = 9;
/// Power-management statistics.
pub const XEN_SYSCTL_get_pmstat: u32 = 10;
/// Physical cpu hotplug (`xen_sysctl_cpu_hotplug`).
pub const XEN_SYSCTL_cpu_hotplug: u32 = 11;
/// Power-management control.
pub const XEN_SYSCTL_pm_op: u32 = 12;
/// Page offlining.
pub const XEN_SYSCTL_page_offline_op: u32 = 14;
/// Lock profiling.
pub const XEN_SYSCTL_lockprof_op: u32 = 15;
/// Cpu topology (`xen_sysctl_cputopoinfo`).
pub const XEN_SYSCTL_cputopoinfo: u32 = 16;
/// NUMA information (`xen_sysctl_numainfo`).
pub const XEN_SYSCTL_numainfo: u32 = 17;
/// Cpupool management (`xen_sysctl_cpupool_op`).
pub const XEN_SYSCTL_cpupool_op: u32 = 18;
/// Global scheduler parameters (`xen_sysctl_scheduler_op`).
pub const XEN_SYSCTL_scheduler_op: u32 = 19;
/// Code coverage data.
pub const XEN_SYSCTL_coverage_op: u32 = 20;
/// Cache monitoring.
pub const XEN_SYSCTL_psr_cmt_op: u32 = 21;
/// PCI device NUMA nodes (`xen_sysctl_pcitopoinfo`).
pub const XEN_SYSCTL_pcitopoinfo: u32 = 22;
/// Cache/bandwidth allocation.
pub const XEN_SYSCTL_psr_alloc: u32 = 23;
/// Cpu levelling capabilities (`xen_sysctl_cpu_levelling_caps`).
pub const XEN_SYSCTL_get_cpu_levelling_caps: u32 = 25;
/// Cpu featuresets (`xen_sysctl_cpu_featureset`).
pub const XEN_SYSCTL_get_cpu_featureset: u32 = 26;
/// Live patching.
pub const XEN_SYSCTL_livepatch_op: u32 = 27;
/// Host and default cpu policies (`xen_sysctl_cpu_policy`).
pub const XEN_SYSCTL_get_cpu_policy: u32 = 29;

xen_enum! {
    /// A sysctl command (C: `XEN_SYSCTL_*`).
    pub enum SysctlCmd: u32 {
        /// `XEN_SYSCTL_readconsole`.
        Readconsole = XEN_SYSCTL_readconsole,
        /// `XEN_SYSCTL_tbuf_op`.
        TbufOp = XEN_SYSCTL_tbuf_op,
        /// `XEN_SYSCTL_physinfo`.
        Physinfo = XEN_SYSCTL_physinfo,
        /// `XEN_SYSCTL_sched_id`.
        SchedId = XEN_SYSCTL_sched_id,
        /// `XEN_SYSCTL_perfc_op`.
        PerfcOp = XEN_SYSCTL_perfc_op,
        /// `XEN_SYSCTL_getdomaininfolist`.
        Getdomaininfolist = XEN_SYSCTL_getdomaininfolist,
        /// `XEN_SYSCTL_debug_keys`.
        DebugKeys = XEN_SYSCTL_debug_keys,
        /// `XEN_SYSCTL_getcpuinfo`.
        Getcpuinfo = XEN_SYSCTL_getcpuinfo,
        /// `XEN_SYSCTL_availheap`.
        Availheap = XEN_SYSCTL_availheap,
        /// `XEN_SYSCTL_get_pmstat`.
        GetPmstat = XEN_SYSCTL_get_pmstat,
        /// `XEN_SYSCTL_cpu_hotplug`.
        CpuHotplug = XEN_SYSCTL_cpu_hotplug,
        /// `XEN_SYSCTL_pm_op`.
        PmOp = XEN_SYSCTL_pm_op,
        /// `XEN_SYSCTL_page_offline_op`.
        PageOfflineOp = XEN_SYSCTL_page_offline_op,
        /// `XEN_SYSCTL_lockprof_op`.
        LockprofOp = XEN_SYSCTL_lockprof_op,
        /// `XEN_SYSCTL_cputopoinfo`.
        Cputopoinfo = XEN_SYSCTL_cputopoinfo,
        /// `XEN_SYSCTL_numainfo`.
        Numainfo = XEN_SYSCTL_numainfo,
        /// `XEN_SYSCTL_cpupool_op`.
        CpupoolOp = XEN_SYSCTL_cpupool_op,
        /// `XEN_SYSCTL_scheduler_op`.
        SchedulerOp = XEN_SYSCTL_scheduler_op,
        /// `XEN_SYSCTL_coverage_op`.
        CoverageOp = XEN_SYSCTL_coverage_op,
        /// `XEN_SYSCTL_psr_cmt_op`.
        PsrCmtOp = XEN_SYSCTL_psr_cmt_op,
        /// `XEN_SYSCTL_pcitopoinfo`.
        Pcitopoinfo = XEN_SYSCTL_pcitopoinfo,
        /// `XEN_SYSCTL_psr_alloc`.
        PsrAlloc = XEN_SYSCTL_psr_alloc,
        /// `XEN_SYSCTL_get_cpu_levelling_caps`.
        GetCpuLevellingCaps = XEN_SYSCTL_get_cpu_levelling_caps,
        /// `XEN_SYSCTL_get_cpu_featureset`.
        GetCpuFeatureset = XEN_SYSCTL_get_cpu_featureset,
        /// `XEN_SYSCTL_livepatch_op`.
        LivepatchOp = XEN_SYSCTL_livepatch_op,
        /// `XEN_SYSCTL_get_cpu_policy`.
        GetCpuPolicy = XEN_SYSCTL_get_cpu_policy,
    }
}

/// `struct xen_sysctl_readconsole`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlReadconsole {
    /// Non-zero: clear the ring after reading.
    pub clear: u8,
    /// Non-zero: read from `index` on, not from the start.
    pub incremental: u8,
    /// Padding.
    pub pad0: u8,
    /// Padding.
    pub pad1: u8,
    /// In: start position (incremental); out: position after the read.
    pub index: u32,
    /// Output buffer.
    pub buffer: GuestHandle64<u8>,
    /// In: buffer size; out: bytes written.
    pub count: u32,
}
impl_pod!(XenSysctlReadconsole);

/// Trace-buffer op: get info.
pub const XEN_SYSCTL_TBUFOP_get_info: u32 = 0;
/// Trace-buffer op: set the cpu mask.
pub const XEN_SYSCTL_TBUFOP_set_cpu_mask: u32 = 1;
/// Trace-buffer op: set the event mask.
pub const XEN_SYSCTL_TBUFOP_set_evt_mask: u32 = 2;
/// Trace-buffer op: set the size.
pub const XEN_SYSCTL_TBUFOP_set_size: u32 = 3;
/// Trace-buffer op: enable.
pub const XEN_SYSCTL_TBUFOP_enable: u32 = 4;
/// Trace-buffer op: disable.
pub const XEN_SYSCTL_TBUFOP_disable: u32 = 5;

/// `struct xen_sysctl_tbuf_op`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlTbufOp {
    /// `XEN_SYSCTL_TBUFOP_*`.
    pub cmd: u32,
    /// Cpus to trace.
    pub cpu_mask: XenctlBitmap,
    /// Events to trace.
    pub evt_mask: u32,
    /// Output: first frame of the buffers.
    pub buffer_mfn: u64,
    /// Per-cpu buffer size in pages.
    pub size: u32,
}
impl_pod!(XenSysctlTbufOp);

/// Bit number of `XEN_SYSCTL_PHYSCAP_hvm`.
pub const _XEN_SYSCTL_PHYSCAP_hvm: u32 = 0;
/// The host can run HVM guests.
pub const XEN_SYSCTL_PHYSCAP_hvm: u32 = 1 << _XEN_SYSCTL_PHYSCAP_hvm;
/// Bit number of `XEN_SYSCTL_PHYSCAP_pv`.
pub const _XEN_SYSCTL_PHYSCAP_pv: u32 = 1;
/// The host can run PV guests.
pub const XEN_SYSCTL_PHYSCAP_pv: u32 = 1 << _XEN_SYSCTL_PHYSCAP_pv;
/// Bit number of `XEN_SYSCTL_PHYSCAP_directio`.
pub const _XEN_SYSCTL_PHYSCAP_directio: u32 = 2;
/// The host supports device pass-through.
pub const XEN_SYSCTL_PHYSCAP_directio: u32 = 1 << _XEN_SYSCTL_PHYSCAP_directio;
/// Bit number of `XEN_SYSCTL_PHYSCAP_hap`.
pub const _XEN_SYSCTL_PHYSCAP_hap: u32 = 3;
/// The host supports hardware-assisted paging.
pub const XEN_SYSCTL_PHYSCAP_hap: u32 = 1 << _XEN_SYSCTL_PHYSCAP_hap;
/// Bit number of `XEN_SYSCTL_PHYSCAP_shadow`.
pub const _XEN_SYSCTL_PHYSCAP_shadow: u32 = 4;
/// The host supports shadow paging.
pub const XEN_SYSCTL_PHYSCAP_shadow: u32 = 1 << _XEN_SYSCTL_PHYSCAP_shadow;
/// Bit number of `XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share`.
pub const _XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share: u32 = 5;
/// The IOMMU can share HAP page tables.
pub const XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share: u32 = 1 << _XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share;
/// Processor trace is available.
pub const XEN_SYSCTL_PHYSCAP_vmtrace: u32 = 1 << 6;
/// Virtual PMU is available.
pub const XEN_SYSCTL_PHYSCAP_vpmu: u32 = 1 << 7;
/// Grant tables v1 are available.
pub const XEN_SYSCTL_PHYSCAP_gnttab_v1: u32 = 1 << 8;
/// Grant tables v2 are available.
pub const XEN_SYSCTL_PHYSCAP_gnttab_v2: u32 = 1 << 9;
/// Highest defined capability bit.
pub const XEN_SYSCTL_PHYSCAP_MAX: u32 = XEN_SYSCTL_PHYSCAP_gnttab_v2;

/// `struct xen_sysctl_physinfo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlPhysinfo {
    /// Hardware threads per core.
    pub threads_per_core: u32,
    /// Cores per socket.
    pub cores_per_socket: u32,
    /// Online cpus.
    pub nr_cpus: u32,
    /// Highest possible cpu id.
    pub max_cpu_id: u32,
    /// Online NUMA nodes.
    pub nr_nodes: u32,
    /// Highest possible node id.
    pub max_node_id: u32,
    /// Cpu speed in kHz.
    pub cpu_khz: u32,
    /// `XEN_SYSCTL_PHYSCAP_*`.
    pub capabilities: u32,
    /// Architecture-specific capabilities.
    pub arch_capabilities: u32,
    /// Padding.
    pub pad: u32,
    /// Total memory pages.
    pub total_pages: u64,
    /// Free memory pages.
    pub free_pages: u64,
    /// Pages waiting to be scrubbed.
    pub scrub_pages: u64,
    /// Pages claimed but not allocated.
    pub outstanding_pages: u64,
    /// Highest machine frame number.
    pub max_mfn: u64,
    /// Cpu feature words.
    pub hw_cap: [u32; 8],
}
impl_pod!(XenSysctlPhysinfo);

/// `struct xen_sysctl_sched_id`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlSchedId {
    /// Output: `XEN_SCHEDULER_*` of cpupool 0.
    pub sched_id: u32,
}
impl_pod!(XenSysctlSchedId);

/// Perf-counter op: reset.
pub const XEN_SYSCTL_PERFCOP_reset: u32 = 1;
/// Perf-counter op: query.
pub const XEN_SYSCTL_PERFCOP_query: u32 = 2;

/// `struct xen_sysctl_perfc_desc`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XenSysctlPerfcDesc {
    /// Counter name.
    pub name: [u8; 80],
    /// Number of values.
    pub nr_vals: u32,
}
pod_zeroed_default!(XenSysctlPerfcDesc);

/// `struct xen_sysctl_perfc_op`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlPerfcOp {
    /// `XEN_SYSCTL_PERFCOP_*`.
    pub cmd: u32,
    /// Output: number of counters.
    pub nr_counters: u32,
    /// Output: number of values.
    pub nr_vals: u32,
    /// Descriptor array.
    pub desc: GuestHandle64<XenSysctlPerfcDesc>,
    /// Value array.
    pub val: GuestHandle64<u32>,
}
impl_pod!(XenSysctlPerfcOp);

/// `struct xen_sysctl_getdomaininfolist`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlGetdomaininfolist {
    /// Lowest domain id to report.
    pub first_domain: DomId,
    /// Capacity of `buffer`.
    pub max_domains: u32,
    /// Output array.
    pub buffer: GuestHandle64<XenDomctlGetdomaininfo>,
    /// Output: entries written.
    pub num_domains: u32,
}
impl_pod!(XenSysctlGetdomaininfolist);

/// `struct xen_sysctl_debug_keys`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlDebugKeys {
    /// Key characters.
    pub keys: GuestHandle64<u8>,
    /// Number of keys.
    pub nr_keys: u32,
}
impl_pod!(XenSysctlDebugKeys);

/// `struct xen_sysctl_cpuinfo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlCpuinfo {
    /// Idle time in ns.
    pub idletime: u64,
}
impl_pod!(XenSysctlCpuinfo);

/// `struct xen_sysctl_getcpuinfo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlGetcpuinfo {
    /// Capacity of `info`.
    pub max_cpus: u32,
    /// Output array.
    pub info: GuestHandle64<XenSysctlCpuinfo>,
    /// Output: entries written.
    pub nr_cpus: u32,
}
impl_pod!(XenSysctlGetcpuinfo);

/// `struct xen_sysctl_availheap`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlAvailheap {
    /// Smallest address width to count.
    pub min_bitwidth: u32,
    /// Largest address width to count.
    pub max_bitwidth: u32,
    /// NUMA node, or -1 for all.
    pub node: i32,
    /// Output: free bytes.
    pub avail_bytes: u64,
}
impl_pod!(XenSysctlAvailheap);

/// Cpu hotplug op: online.
pub const XEN_SYSCTL_CPU_HOTPLUG_ONLINE: u32 = 0;
/// Cpu hotplug op: offline.
pub const XEN_SYSCTL_CPU_HOTPLUG_OFFLINE: u32 = 1;
/// Cpu hotplug op: enable SMT siblings.
pub const XEN_SYSCTL_CPU_HOTPLUG_SMT_ENABLE: u32 = 2;
/// Cpu hotplug op: disable SMT siblings.
pub const XEN_SYSCTL_CPU_HOTPLUG_SMT_DISABLE: u32 = 3;

/// `struct xen_sysctl_cpu_hotplug`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlCpuHotplug {
    /// Physical cpu.
    pub cpu: u32,
    /// `XEN_SYSCTL_CPU_HOTPLUG_*`.
    pub op: u32,
}
impl_pod!(XenSysctlCpuHotplug);

/// Core id of an absent cpu.
pub const XEN_INVALID_CORE_ID: u32 = !0;
/// Socket id of an absent cpu.
pub const XEN_INVALID_SOCKET_ID: u32 = !0;
/// Node id of an absent cpu or node.
pub const XEN_INVALID_NODE_ID: u32 = !0;
/// Size of an absent node.
pub const XEN_INVALID_MEM_SZ: u32 = !0;
/// Distance to an absent node.
pub const XEN_INVALID_NODE_DIST: u32 = !0;
/// Node of an unknown PCI device.
pub const XEN_INVALID_DEV: u32 = XEN_INVALID_NODE_ID - 1;

/// `struct xen_sysctl_cputopo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlCputopo {
    /// Core id.
    pub core: u32,
    /// Socket id.
    pub socket: u32,
    /// Node id.
    pub node: u32,
}
impl_pod!(XenSysctlCputopo);

/// `struct xen_sysctl_cputopoinfo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlCputopoinfo {
    /// In: capacity; out: number of cpus.
    pub num_cpus: u32,
    /// Output array (null to query the count).
    pub cputopo: GuestHandle64<XenSysctlCputopo>,
}
impl_pod!(XenSysctlCputopoinfo);

/// `struct xen_sysctl_meminfo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlMeminfo {
    /// Node memory size in bytes.
    pub memsize: u64,
    /// Node free memory in bytes.
    pub memfree: u64,
}
impl_pod!(XenSysctlMeminfo);

/// `struct xen_sysctl_numainfo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlNumainfo {
    /// In: capacity; out: number of nodes.
    pub num_nodes: u32,
    /// Per-node memory.
    pub meminfo: GuestHandle64<XenSysctlMeminfo>,
    /// Node distance matrix.
    pub distance: GuestHandle64<u32>,
}
impl_pod!(XenSysctlNumainfo);

/// Cpupool op: create.
pub const XEN_SYSCTL_CPUPOOL_OP_CREATE: u32 = 1;
/// Cpupool op: destroy.
pub const XEN_SYSCTL_CPUPOOL_OP_DESTROY: u32 = 2;
/// Cpupool op: info.
pub const XEN_SYSCTL_CPUPOOL_OP_INFO: u32 = 3;
/// Cpupool op: add a cpu.
pub const XEN_SYSCTL_CPUPOOL_OP_ADDCPU: u32 = 4;
/// Cpupool op: remove a cpu.
pub const XEN_SYSCTL_CPUPOOL_OP_RMCPU: u32 = 5;
/// Cpupool op: move a domain.
pub const XEN_SYSCTL_CPUPOOL_OP_MOVEDOMAIN: u32 = 6;
/// Cpupool op: list free cpus.
pub const XEN_SYSCTL_CPUPOOL_OP_FREEINFO: u32 = 7;
/// "Any cpupool / any cpu".
pub const XEN_SYSCTL_CPUPOOL_PAR_ANY: u32 = 0xFFFF_FFFF;

/// `struct xen_sysctl_cpupool_op`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlCpupoolOp {
    /// `XEN_SYSCTL_CPUPOOL_OP_*`.
    pub op: u32,
    /// Cpupool id.
    pub cpupool_id: u32,
    /// Scheduler id.
    pub sched_id: u32,
    /// Domain id.
    pub domid: u32,
    /// Cpu.
    pub cpu: u32,
    /// Output: number of domains.
    pub n_dom: u32,
    /// Output: cpus of the pool.
    pub cpumap: XenctlBitmap,
}
impl_pod!(XenSysctlCpupoolOp);

/// Largest credit rate limit in µs.
pub const XEN_SYSCTL_SCHED_RATELIMIT_MAX: u32 = 500_000;
/// Smallest credit rate limit in µs.
pub const XEN_SYSCTL_SCHED_RATELIMIT_MIN: u32 = 100;
/// Largest credit time slice in ms.
pub const XEN_SYSCTL_CSCHED_TSLICE_MAX: u32 = 1000;
/// Smallest credit time slice in ms.
pub const XEN_SYSCTL_CSCHED_TSLICE_MIN: u32 = 1;
/// Largest credit migration delay in µs.
pub const XEN_SYSCTL_CSCHED_MGR_DLY_MAX_US: u32 = 100 * 1000;

/// `struct xen_sysctl_credit_schedule`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlCreditSchedule {
    /// Time slice in ms.
    pub tslice_ms: u32,
    /// Rate limit in µs.
    pub ratelimit_us: u32,
    /// Migration delay in µs.
    pub vcpu_migr_delay_us: u32,
}
impl_pod!(XenSysctlCreditSchedule);

/// `struct xen_sysctl_credit2_schedule`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlCredit2Schedule {
    /// Rate limit in µs.
    pub ratelimit_us: u32,
}
impl_pod!(XenSysctlCredit2Schedule);

/// Scheduler op: set global parameters.
pub const XEN_SYSCTL_SCHEDOP_putinfo: u32 = 0;
/// Scheduler op: get global parameters.
pub const XEN_SYSCTL_SCHEDOP_getinfo: u32 = 1;

/// The per-scheduler union of `xen_sysctl_scheduler_op`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenSysctlSchedulerOpArgs {
    /// ARINC 653: handle of the schedule.
    pub sched_arinc653: GuestHandle64<u8>,
    /// Credit.
    pub sched_credit: XenSysctlCreditSchedule,
    /// Credit2.
    pub sched_credit2: XenSysctlCredit2Schedule,
}
pod_union!(XenSysctlSchedulerOpArgs);

/// `struct xen_sysctl_scheduler_op`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct XenSysctlSchedulerOp {
    /// Cpupool.
    pub cpupool_id: u32,
    /// `XEN_SCHEDULER_*`.
    pub sched_id: u32,
    /// `XEN_SYSCTL_SCHEDOP_*`.
    pub cmd: u32,
    /// Parameters.
    pub u: XenSysctlSchedulerOpArgs,
}
impl_pod!(XenSysctlSchedulerOp);

/// `struct xen_sysctl_pcitopoinfo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlPcitopoinfo {
    /// In: number of devices; out: devices processed.
    pub num_devs: u32,
    /// Devices to look up.
    pub devs: GuestHandle64<PhysdevPciDevice>,
    /// Output: node of each device.
    pub nodes: GuestHandle64<u32>,
}
impl_pod!(XenSysctlPcitopoinfo);

/// Levelling cap: CPUID faulting.
pub const XEN_SYSCTL_CPU_LEVELCAP_faulting: u32 = 1 << 0;
/// Levelling cap: leaf 1 ECX mask.
pub const XEN_SYSCTL_CPU_LEVELCAP_ecx: u32 = 1 << 1;
/// Levelling cap: leaf 1 EDX mask.
pub const XEN_SYSCTL_CPU_LEVELCAP_edx: u32 = 1 << 2;
/// Levelling cap: extended leaf ECX mask.
pub const XEN_SYSCTL_CPU_LEVELCAP_extd_ecx: u32 = 1 << 3;
/// Levelling cap: extended leaf EDX mask.
pub const XEN_SYSCTL_CPU_LEVELCAP_extd_edx: u32 = 1 << 4;
/// Levelling cap: XSAVE EAX mask.
pub const XEN_SYSCTL_CPU_LEVELCAP_xsave_eax: u32 = 1 << 5;
/// Levelling cap: thermal ECX mask.
pub const XEN_SYSCTL_CPU_LEVELCAP_thermal_ecx: u32 = 1 << 6;
/// Levelling cap: leaf 7.0 EAX mask.
pub const XEN_SYSCTL_CPU_LEVELCAP_l7s0_eax: u32 = 1 << 7;
/// Levelling cap: leaf 7.0 EBX mask.
pub const XEN_SYSCTL_CPU_LEVELCAP_l7s0_ebx: u32 = 1 << 8;

/// `struct xen_sysctl_cpu_levelling_caps`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlCpuLevellingCaps {
    /// Output: `XEN_SYSCTL_CPU_LEVELCAP_*`.
    pub caps: u32,
}
impl_pod!(XenSysctlCpuLevellingCaps);

/// Featureset: raw hardware.
pub const XEN_SYSCTL_cpu_featureset_raw: u32 = 0;
/// Featureset: what Xen uses.
pub const XEN_SYSCTL_cpu_featureset_host: u32 = 1;
/// Featureset: default for PV guests.
pub const XEN_SYSCTL_cpu_featureset_pv: u32 = 2;
/// Featureset: default for HVM guests.
pub const XEN_SYSCTL_cpu_featureset_hvm: u32 = 3;
/// Featureset: maximum for PV guests.
pub const XEN_SYSCTL_cpu_featureset_pv_max: u32 = 4;
/// Featureset: maximum for HVM guests.
pub const XEN_SYSCTL_cpu_featureset_hvm_max: u32 = 5;

/// `struct xen_sysctl_cpu_featureset`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlCpuFeatureset {
    /// `XEN_SYSCTL_cpu_featureset_*`.
    pub index: u32,
    /// In: capacity; out: words written.
    pub nr_features: u32,
    /// Feature words.
    pub features: GuestHandle64<u32>,
}
impl_pod!(XenSysctlCpuFeatureset);

/// Cpu policy: raw hardware.
pub const XEN_SYSCTL_cpu_policy_raw: u32 = 0;
/// Cpu policy: host.
pub const XEN_SYSCTL_cpu_policy_host: u32 = 1;
/// Cpu policy: PV maximum.
pub const XEN_SYSCTL_cpu_policy_pv_max: u32 = 2;
/// Cpu policy: HVM maximum.
pub const XEN_SYSCTL_cpu_policy_hvm_max: u32 = 3;
/// Cpu policy: PV default.
pub const XEN_SYSCTL_cpu_policy_pv_default: u32 = 4;
/// Cpu policy: HVM default.
pub const XEN_SYSCTL_cpu_policy_hvm_default: u32 = 5;

/// `struct xen_sysctl_cpu_policy`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenSysctlCpuPolicy {
    /// `XEN_SYSCTL_cpu_policy_*`.
    pub index: u32,
    /// In: capacity; out: leaves written.
    pub nr_leaves: u32,
    /// In: capacity; out: MSRs written.
    pub nr_msrs: u32,
    /// Reserved.
    pub _rsvd: u32,
    /// CPUID leaves.
    pub leaves: GuestHandle64<XenCpuidLeaf>,
    /// MSRs.
    pub msrs: GuestHandle64<XenMsrEntry>,
}
impl_pod!(XenSysctlCpuPolicy);

/// The command-specific union of `xen_sysctl` (128 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenSysctlArgs {
    /// `XEN_SYSCTL_readconsole`.
    pub readconsole: XenSysctlReadconsole,
    /// `XEN_SYSCTL_tbuf_op`.
    pub tbuf_op: XenSysctlTbufOp,
    /// `XEN_SYSCTL_physinfo`.
    pub physinfo: XenSysctlPhysinfo,
    /// `XEN_SYSCTL_cputopoinfo`.
    pub cputopoinfo: XenSysctlCputopoinfo,
    /// `XEN_SYSCTL_pcitopoinfo`.
    pub pcitopoinfo: XenSysctlPcitopoinfo,
    /// `XEN_SYSCTL_numainfo`.
    pub numainfo: XenSysctlNumainfo,
    /// `XEN_SYSCTL_sched_id`.
    pub sched_id: XenSysctlSchedId,
    /// `XEN_SYSCTL_perfc_op`.
    pub perfc_op: XenSysctlPerfcOp,
    /// `XEN_SYSCTL_getdomaininfolist`.
    pub getdomaininfolist: XenSysctlGetdomaininfolist,
    /// `XEN_SYSCTL_debug_keys`.
    pub debug_keys: XenSysctlDebugKeys,
    /// `XEN_SYSCTL_getcpuinfo`.
    pub getcpuinfo: XenSysctlGetcpuinfo,
    /// `XEN_SYSCTL_availheap`.
    pub availheap: XenSysctlAvailheap,
    /// `XEN_SYSCTL_cpu_hotplug`.
    pub cpu_hotplug: XenSysctlCpuHotplug,
    /// `XEN_SYSCTL_cpupool_op`.
    pub cpupool_op: XenSysctlCpupoolOp,
    /// `XEN_SYSCTL_scheduler_op`.
    pub scheduler_op: XenSysctlSchedulerOp,
    /// `XEN_SYSCTL_get_cpu_levelling_caps`.
    pub cpu_levelling_caps: XenSysctlCpuLevellingCaps,
    /// `XEN_SYSCTL_get_cpu_featureset`.
    pub cpu_featureset: XenSysctlCpuFeatureset,
    /// `XEN_SYSCTL_get_cpu_policy`.
    pub cpu_policy: XenSysctlCpuPolicy,
    /// Sizing member and raw access.
    pub pad: [u8; 128],
}
pod_union!(XenSysctlArgs);

/// `struct xen_sysctl`: the single argument of `HYPERVISOR_sysctl`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct XenSysctl {
    /// `XEN_SYSCTL_*`.
    pub cmd: u32,
    /// Must be `XEN_SYSCTL_INTERFACE_VERSION`.
    pub interface_version: u32,
    /// Command argument.
    pub u: XenSysctlArgs,
}
impl_pod!(XenSysctl);

impl XenSysctl {
    /// A zeroed sysctl for `cmd` with the right interface version.
    pub fn new(cmd: SysctlCmd) -> Self {
        XenSysctl { cmd: cmd.raw(), interface_version: XEN_SYSCTL_INTERFACE_VERSION, ..Default::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(SysctlCmd::try_from(3u32), Ok(SysctlCmd::Physinfo));
        for bad in [0u32, 13, 24, 28, 30] {
            assert!(SysctlCmd::try_from(bad).is_err(), "{bad}");
        }
        let s = XenSysctl::new(SysctlCmd::Physinfo);
        assert_eq!(s.interface_version, XEN_SYSCTL_INTERFACE_VERSION);
    }
}
