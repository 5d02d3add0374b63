//! `HYPERVISOR_domctl` (`domctl.h`, interface version 0x15): the per-domain
//! control operations a toolstack uses to build, run, inspect, save and
//! destroy domains, with the outer [`XenDomctl`] envelope.

use crate::arch_x86::{VcpuGuestContext, XenArchDomainconfig, XenCpuidLeaf, XenMsrEntry};
use crate::event_channel::EvtchnPort;
use crate::types::{DomId, GuestHandle64, XenDomainHandle, XenPfn};
use crate::xen::XenctlBitmap;

/// `xen_domctl.interface_version` of Xen 4.17.
pub const XEN_DOMCTL_INTERFACE_VERSION: u32 = 0x0000_0015;

// ---------------------------------------------------------------------------
// Command numbers
// ---------------------------------------------------------------------------

/// Create a domain (`xen_domctl_createdomain`).
pub const XEN_DOMCTL_createdomain: u32 = 1;
/// Destroy a domain (no argument).
pub const XEN_DOMCTL_destroydomain: u32 = 2;
/// Pause a domain (no argument).
pub const XEN_DOMCTL_pausedomain: u32 = 3;
/// Unpause a domain (no argument).
pub const XEN_DOMCTL_unpausedomain: u32 = 4;
/// Get a domain's state (`xen_domctl_getdomaininfo`).
pub const XEN_DOMCTL_getdomaininfo: u32 = 5;
/// Set a vcpu's hard/soft affinity (`xen_domctl_vcpuaffinity`).
pub const XEN_DOMCTL_setvcpuaffinity: u32 = 9;
/// Shadow paging and log-dirty control (`xen_domctl_shadow_op`).
pub const XEN_DOMCTL_shadow_op: u32 = 10;
/// Set the memory limit (`xen_domctl_max_mem`).
pub const XEN_DOMCTL_max_mem: u32 = 11;
/// Set a vcpu's context (`xen_domctl_vcpucontext`).
pub const XEN_DOMCTL_setvcpucontext: u32 = 12;
/// Get a vcpu's context (`xen_domctl_vcpucontext`).
pub const XEN_DOMCTL_getvcpucontext: u32 = 13;
/// Get a vcpu's run state (`xen_domctl_getvcpuinfo`).
pub const XEN_DOMCTL_getvcpuinfo: u32 = 14;
/// Set the number of vcpus (`xen_domctl_max_vcpus`).
pub const XEN_DOMCTL_max_vcpus: u32 = 15;
/// Per-domain scheduler parameters (`xen_domctl_scheduler_op`).
pub const XEN_DOMCTL_scheduler_op: u32 = 16;
/// Set the domain handle (`xen_domctl_setdomainhandle`).
pub const XEN_DOMCTL_setdomainhandle: u32 = 17;
/// Turn debugging on or off (`xen_domctl_setdebugging`).
pub const XEN_DOMCTL_setdebugging: u32 = 18;
/// Grant or revoke access to a physical IRQ (`xen_domctl_irq_permission`).
pub const XEN_DOMCTL_irq_permission: u32 = 19;
/// Grant or revoke access to machine frames (`xen_domctl_iomem_permission`).
pub const XEN_DOMCTL_iomem_permission: u32 = 20;
/// Grant or revoke access to I/O ports (`xen_domctl_ioport_permission`).
pub const XEN_DOMCTL_ioport_permission: u32 = 21;
/// Fill a frame with hypercall stubs (`xen_domctl_hypercall_init`).
pub const XEN_DOMCTL_hypercall_init: u32 = 22;
/// Set the wallclock offset (`xen_domctl_settimeoffset`).
pub const XEN_DOMCTL_settimeoffset: u32 = 24;
/// Get a vcpu's affinity (`xen_domctl_vcpuaffinity`).
pub const XEN_DOMCTL_getvcpuaffinity: u32 = 25;
/// Obsolete (PPC real-mode area).
pub const XEN_DOMCTL_real_mode_area: u32 = 26;
/// Resume a suspended domain (no argument).
pub const XEN_DOMCTL_resumedomain: u32 = 27;
/// Inject a trigger such as an NMI (`xen_domctl_sendtrigger`).
pub const XEN_DOMCTL_sendtrigger: u32 = 28;
/// Choose the event channel for `VIRQ_DOM_EXC`-style notifications (`xen_domctl_subscribe`).
pub const XEN_DOMCTL_subscribe: u32 = 29;
/// Get HVM context (`xen_domctl_hvmcontext`).
pub const XEN_DOMCTL_gethvmcontext: u32 = 33;
/// Set HVM context (`xen_domctl_hvmcontext`).
pub const XEN_DOMCTL_sethvmcontext: u32 = 34;
/// Set the guest's address size (`xen_domctl_address_size`).
pub const XEN_DOMCTL_set_address_size: u32 = 35;
/// Get the guest's address size (`xen_domctl_address_size`).
pub const XEN_DOMCTL_get_address_size: u32 = 36;
/// Pass a device through.
pub const XEN_DOMCTL_assign_device: u32 = 37;
/// Bind a passed-through IRQ.
pub const XEN_DOMCTL_bind_pt_irq: u32 = 38;
/// Map machine frames into a guest (`xen_domctl_memory_mapping`).
pub const XEN_DOMCTL_memory_mapping: u32 = 39;
/// Map I/O ports into a guest (`xen_domctl_ioport_mapping`).
pub const XEN_DOMCTL_ioport_mapping: u32 = 40;
/// Set extended vcpu state (`xen_domctl_ext_vcpucontext`).
pub const XEN_DOMCTL_set_ext_vcpucontext: u32 = 42;
/// Get extended vcpu state (`xen_domctl_ext_vcpucontext`).
pub const XEN_DOMCTL_get_ext_vcpucontext: u32 = 43;
/// Obsolete.
pub const XEN_DOMCTL_set_opt_feature: u32 = 44;
/// Check whether a device can be assigned.
pub const XEN_DOMCTL_test_assign_device: u32 = 45;
/// Make the domain privileged over another (`xen_domctl_set_target`).
pub const XEN_DOMCTL_set_target: u32 = 46;
/// Take a passed-through device back.
pub const XEN_DOMCTL_deassign_device: u32 = 47;
/// Unbind a passed-through IRQ.
pub const XEN_DOMCTL_unbind_pt_irq: u32 = 48;
/// List devices sharing an IOMMU group.
pub const XEN_DOMCTL_get_device_group: u32 = 50;
/// Single-step control (`xen_domctl_debug_op`).
pub const XEN_DOMCTL_debug_op: u32 = 54;
/// Get part of the HVM context (`xen_domctl_hvmcontext_partial`).
pub const XEN_DOMCTL_gethvmcontext_partial: u32 = 55;
/// vm_event ring control.
pub const XEN_DOMCTL_vm_event_op: u32 = 56;
/// Memory sharing control.
pub const XEN_DOMCTL_mem_sharing_op: u32 = 57;
/// Get TSC parameters (`xen_domctl_tsc_info`).
pub const XEN_DOMCTL_gettscinfo: u32 = 59;
/// Set TSC parameters (`xen_domctl_tsc_info`).
pub const XEN_DOMCTL_settscinfo: u32 = 60;
/// Get the page types of a list of frames (`xen_domctl_getpageframeinfo3`).
pub const XEN_DOMCTL_getpageframeinfo3: u32 = 61;
/// Set a vcpu's XSAVE state (`xen_domctl_vcpuextstate`).
pub const XEN_DOMCTL_setvcpuextstate: u32 = 62;
/// Get a vcpu's XSAVE state (`xen_domctl_vcpuextstate`).
pub const XEN_DOMCTL_getvcpuextstate: u32 = 63;
/// Require a mem_access listener.
pub const XEN_DOMCTL_set_access_required: u32 = 64;
/// Audit the p2m (`xen_domctl_audit_p2m`, debug builds).
pub const XEN_DOMCTL_audit_p2m: u32 = 65;
/// Route a global VIRQ to this domain (`xen_domctl_set_virq_handler`).
pub const XEN_DOMCTL_set_virq_handler: u32 = 66;
/// Mark a p2m entry broken (`xen_domctl_set_broken_page_p2m`).
pub const XEN_DOMCTL_set_broken_page_p2m: u32 = 67;
/// Set the NUMA node affinity (`xen_domctl_nodeaffinity`).
pub const XEN_DOMCTL_setnodeaffinity: u32 = 68;
/// Get the NUMA node affinity (`xen_domctl_nodeaffinity`).
pub const XEN_DOMCTL_getnodeaffinity: u32 = 69;
/// Flush caches for guest frames (`xen_domctl_cacheflush`, Arm).
pub const XEN_DOMCTL_cacheflush: u32 = 71;
/// Get a vcpu's MSRs (`xen_domctl_vcpu_msrs`).
pub const XEN_DOMCTL_get_vcpu_msrs: u32 = 72;
/// Set a vcpu's MSRs (`xen_domctl_vcpu_msrs`).
pub const XEN_DOMCTL_set_vcpu_msrs: u32 = 73;
/// Set the virtual NUMA topology.
pub const XEN_DOMCTL_setvnumainfo: u32 = 74;
/// Cache monitoring control.
pub const XEN_DOMCTL_psr_cmt_op: u32 = 75;
/// Introspection monitor control.
pub const XEN_DOMCTL_monitor_op: u32 = 77;
/// Cache/bandwidth allocation control.
pub const XEN_DOMCTL_psr_alloc: u32 = 78;
/// Reset the domain in place (no argument).
pub const XEN_DOMCTL_soft_reset: u32 = 79;
/// Virtual UART control (Arm).
pub const XEN_DOMCTL_vuart_op: u32 = 81;
/// Get the domain's cpu policy (`xen_domctl_cpu_policy`).
pub const XEN_DOMCTL_get_cpu_policy: u32 = 82;
/// Set the domain's cpu policy (`xen_domctl_cpu_policy`).
pub const XEN_DOMCTL_set_cpu_policy: u32 = 83;
/// Processor trace control.
pub const XEN_DOMCTL_vmtrace_op: u32 = 84;
/// Get the paging-pool size (`xen_domctl_paging_mempool`).
pub const XEN_DOMCTL_get_paging_mempool_size: u32 = 85;
/// Set the paging-pool size (`xen_domctl_paging_mempool`).
pub const XEN_DOMCTL_set_paging_mempool_size: u32 = 86;
/// gdbsx: access guest memory.
pub const XEN_DOMCTL_gdbsx_guestmemio: u32 = 1000;
/// gdbsx: pause a vcpu.
pub const XEN_DOMCTL_gdbsx_pausevcpu: u32 = 1001;
/// gdbsx: unpause a vcpu.
pub const XEN_DOMCTL_gdbsx_unpausevcpu: u32 = 1002;
/// gdbsx: domain status.
pub const XEN_DOMCTL_gdbsx_domstatus: u32 = 1003;

xen_enum! {
    /// A domctl command (C: `XEN_DOMCTL_*`).
    pub enum DomctlCmd: u32 {
        /// `XEN_DOMCTL_createdomain`.
        Createdomain = XEN_DOMCTL_createdomain,
        /// `XEN_DOMCTL_destroydomain`.
        Destroydomain = XEN_DOMCTL_destroydomain,
        /// `XEN_DOMCTL_pausedomain`.
        Pausedomain = XEN_DOMCTL_pausedomain,
        /// `XEN_DOMCTL_unpausedomain`.
        Unpausedomain = XEN_DOMCTL_unpausedomain,
        /// `XEN_DOMCTL_getdomaininfo`.
        Getdomaininfo = XEN_DOMCTL_getdomaininfo,
        /// `XEN_DOMCTL_setvcpuaffinity`.
        Setvcpuaffinity = XEN_DOMCTL_setvcpuaffinity,
        /// `XEN_DOMCTL_shadow_op`.
        ShadowOp = XEN_DOMCTL_shadow_op,
        /// `XEN_DOMCTL_max_mem`.
        MaxMem = XEN_DOMCTL_max_mem,
        /// `XEN_DOMCTL_setvcpucontext`.
        Setvcpucontext = XEN_DOMCTL_setvcpucontext,
        /// `XEN_DOMCTL_getvcpucontext`.
        Getvcpucontext = XEN_DOMCTL_getvcpucontext,
        /// `XEN_DOMCTL_getvcpuinfo`.
        Getvcpuinfo = XEN_DOMCTL_getvcpuinfo,
        /// `XEN_DOMCTL_max_vcpus`.
        MaxVcpus = XEN_DOMCTL_max_vcpus,
        /// `XEN_DOMCTL_scheduler_op`.
        SchedulerOp = XEN_DOMCTL_scheduler_op,
        /// `XEN_DOMCTL_setdomainhandle`.
        Setdomainhandle = XEN_DOMCTL_setdomainhandle,
        /// `XEN_DOMCTL_setdebugging`.
        Setdebugging = XEN_DOMCTL_setdebugging,
        /// `XEN_DOMCTL_irq_permission`.
        IrqPermission = XEN_DOMCTL_irq_permission,
        /// `XEN_DOMCTL_iomem_permission`.
        IomemPermission = XEN_DOMCTL_iomem_permission,
        /// `XEN_DOMCTL_ioport_permission`.
        IoportPermission = XEN_DOMCTL_ioport_permission,
        /// `XEN_DOMCTL_hypercall_init`.
        HypercallInit = XEN_DOMCTL_hypercall_init,
        /// `XEN_DOMCTL_settimeoffset`.
        Settimeoffset = XEN_DOMCTL_settimeoffset,
        /// `XEN_DOMCTL_getvcpuaffinity`.
        Getvcpuaffinity = XEN_DOMCTL_getvcpuaffinity,
        /// `XEN_DOMCTL_real_mode_area`.
        RealModeArea = XEN_DOMCTL_real_mode_area,
        /// `XEN_DOMCTL_resumedomain`.
        Resumedomain = XEN_DOMCTL_resumedomain,
        /// `XEN_DOMCTL_sendtrigger`.
        Sendtrigger = XEN_DOMCTL_sendtrigger,
        /// `XEN_DOMCTL_subscribe`.
        Subscribe = XEN_DOMCTL_subscribe,
        /// `XEN_DOMCTL_gethvmcontext`.
        Gethvmcontext = XEN_DOMCTL_gethvmcontext,
        /// `XEN_DOMCTL_sethvmcontext`.
        Sethvmcontext = XEN_DOMCTL_sethvmcontext,
        /// `XEN_DOMCTL_set_address_size`.
        SetAddressSize = XEN_DOMCTL_set_address_size,
        /// `XEN_DOMCTL_get_address_size`.
        GetAddressSize = XEN_DOMCTL_get_address_size,
        /// `XEN_DOMCTL_assign_device`.
        AssignDevice = XEN_DOMCTL_assign_device,
        /// `XEN_DOMCTL_bind_pt_irq`.
        BindPtIrq = XEN_DOMCTL_bind_pt_irq,
        /// `XEN_DOMCTL_memory_mapping`.
        MemoryMapping = XEN_DOMCTL_memory_mapping,
        /// `XEN_DOMCTL_ioport_mapping`.
        IoportMapping = XEN_DOMCTL_ioport_mapping,
        /// `XEN_DOMCTL_set_ext_vcpucontext`.
        SetExtVcpucontext = XEN_DOMCTL_set_ext_vcpucontext,
        /// `XEN_DOMCTL_get_ext_vcpucontext`.
        GetExtVcpucontext = XEN_DOMCTL_get_ext_vcpucontext,
        /// `XEN_DOMCTL_set_opt_feature`.
        SetOptFeature = XEN_DOMCTL_set_opt_feature,
        /// `XEN_DOMCTL_test_assign_device`.
        TestAssignDevice = XEN_DOMCTL_test_assign_device,
        /// `XEN_DOMCTL_set_target`.
        SetTarget = XEN_DOMCTL_set_target,
        /// `XEN_DOMCTL_deassign_device`.
        DeassignDevice = XEN_DOMCTL_deassign_device,
        /// `XEN_DOMCTL_unbind_pt_irq`.
        UnbindPtIrq = XEN_DOMCTL_unbind_pt_irq,
        /// `XEN_DOMCTL_get_device_group`.
        GetDeviceGroup = XEN_DOMCTL_get_device_group,
        /// `XEN_DOMCTL_debug_op`.
        DebugOp = XEN_DOMCTL_debug_op,
        /// `XEN_DOMCTL_gethvmcontext_partial`.
        GethvmcontextPartial = XEN_DOMCTL_gethvmcontext_partial,
        /// `XEN_DOMCTL_vm_event_op`.
        VmEventOp = XEN_DOMCTL_vm_event_op,
        /// `XEN_DOMCTL_mem_sharing_op`.
        MemSharingOp = XEN_DOMCTL_mem_sharing_op,
        /// `XEN_DOMCTL_gettscinfo`.
        Gettscinfo = XEN_DOMCTL_gettscinfo,
        /// `XEN_DOMCTL_settscinfo`.
        Settscinfo = XEN_DOMCTL_settscinfo,
        /// `XEN_DOMCTL_getpageframeinfo3`.
        Getpageframeinfo3 = XEN_DOMCTL_getpageframeinfo3,
        /// `XEN_DOMCTL_setvcpuextstate`.
        Setvcpuextstate = XEN_DOMCTL_setvcpuextstate,
        /// `XEN_DOMCTL_getvcpuextstate`.
        Getvcpuextstate = XEN_DOMCTL_getvcpuextstate,
        /// `XEN_DOMCTL_set_access_required`.
        SetAccessRequired = XEN_DOMCTL_set_access_required,
        /// `XEN_DOMCTL_audit_p2m`.
        AuditP2m = XEN_DOMCTL_audit_p2m,
        /// `XEN_DOMCTL_set_virq_handler`.
        SetVirqHandler = XEN_DOMCTL_set_virq_handler,
        /// `XEN_DOMCTL_set_broken_page_p2m`.
        SetBrokenPageP2m = XEN_DOMCTL_set_broken_page_p2m,
        /// `XEN_DOMCTL_setnodeaffinity`.
        Setnodeaffinity = XEN_DOMCTL_setnodeaffinity,
        /// `XEN_DOMCTL_getnodeaffinity`.
        Getnodeaffinity = XEN_DOMCTL_getnodeaffinity,
        /// `XEN_DOMCTL_cacheflush`.
        Cacheflush = XEN_DOMCTL_cacheflush,
        /// `XEN_DOMCTL_get_vcpu_msrs`.
        GetVcpuMsrs = XEN_DOMCTL_get_vcpu_msrs,
        /// `XEN_DOMCTL_set_vcpu_msrs`.
        SetVcpuMsrs = XEN_DOMCTL_set_vcpu_msrs,
        /// `XEN_DOMCTL_setvnumainfo`.
        Setvnumainfo = XEN_DOMCTL_setvnumainfo,
        /// `XEN_DOMCTL_psr_cmt_op`.
        PsrCmtOp = XEN_DOMCTL_psr_cmt_op,
        /// `XEN_DOMCTL_monitor_op`.
        MonitorOp = XEN_DOMCTL_monitor_op,
        /// `XEN_DOMCTL_psr_alloc`.
        PsrAlloc = XEN_DOMCTL_psr_alloc,
        /// `XEN_DOMCTL_soft_reset`.
        SoftReset = XEN_DOMCTL_soft_reset,
        /// `XEN_DOMCTL_vuart_op`.
        VuartOp = XEN_DOMCTL_vuart_op,
        /// `XEN_DOMCTL_get_cpu_policy`.
        GetCpuPolicy = XEN_DOMCTL_get_cpu_policy,
        /// `XEN_DOMCTL_set_cpu_policy`.
        SetCpuPolicy = XEN_DOMCTL_set_cpu_policy,
        /// `XEN_DOMCTL_vmtrace_op`.
        VmtraceOp = XEN_DOMCTL_vmtrace_op,
        /// `XEN_DOMCTL_get_paging_mempool_size`.
        GetPagingMempoolSize = XEN_DOMCTL_get_paging_mempool_size,
        /// `XEN_DOMCTL_set_paging_mempool_size`.
        SetPagingMempoolSize = XEN_DOMCTL_set_paging_mempool_size,
        /// `XEN_DOMCTL_gdbsx_guestmemio`.
        GdbsxGuestmemio = XEN_DOMCTL_gdbsx_guestmemio,
        /// `XEN_DOMCTL_gdbsx_pausevcpu`.
        GdbsxPausevcpu = XEN_DOMCTL_gdbsx_pausevcpu,
        /// `XEN_DOMCTL_gdbsx_unpausevcpu`.
        GdbsxUnpausevcpu = XEN_DOMCTL_gdbsx_unpausevcpu,
        /// `XEN_DOMCTL_gdbsx_domstatus`.
        GdbsxDomstatus = XEN_DOMCTL_gdbsx_domstatus,
    }
}

// ---------------------------------------------------------------------------
// createdomain
// ---------------------------------------------------------------------------

/// Bit number of `XEN_DOMCTL_CDF_hvm`.
pub const _XEN_DOMCTL_CDF_hvm: u32 = 0;
/// Create an HVM (or PVH) domain rather than PV.
pub const XEN_DOMCTL_CDF_hvm: u32 = 1 << _XEN_DOMCTL_CDF_hvm;
/// Bit number of `XEN_DOMCTL_CDF_hap`.
pub const _XEN_DOMCTL_CDF_hap: u32 = 1;
/// Use hardware-assisted paging.
pub const XEN_DOMCTL_CDF_hap: u32 = 1 << _XEN_DOMCTL_CDF_hap;
/// Bit number of `XEN_DOMCTL_CDF_s3_integrity`.
pub const _XEN_DOMCTL_CDF_s3_integrity: u32 = 2;
/// Protect memory integrity across S3 (tboot).
pub const XEN_DOMCTL_CDF_s3_integrity: u32 = 1 << _XEN_DOMCTL_CDF_s3_integrity;
/// Bit number of `XEN_DOMCTL_CDF_oos_off`.
pub const _XEN_DOMCTL_CDF_oos_off: u32 = 3;
/// Disable out-of-sync shadow page tables.
pub const XEN_DOMCTL_CDF_oos_off: u32 = 1 << _XEN_DOMCTL_CDF_oos_off;
/// Bit number of `XEN_DOMCTL_CDF_xs_domain`.
pub const _XEN_DOMCTL_CDF_xs_domain: u32 = 4;
/// The domain runs xenstored.
pub const XEN_DOMCTL_CDF_xs_domain: u32 = 1 << _XEN_DOMCTL_CDF_xs_domain;
/// Bit number of `XEN_DOMCTL_CDF_iommu`.
pub const _XEN_DOMCTL_CDF_iommu: u32 = 5;
/// Give the domain an IOMMU context.
pub const XEN_DOMCTL_CDF_iommu: u32 = 1 << _XEN_DOMCTL_CDF_iommu;
/// Bit number of `XEN_DOMCTL_CDF_nested_virt`.
pub const _XEN_DOMCTL_CDF_nested_virt: u32 = 6;
/// Allow nested virtualisation.
pub const XEN_DOMCTL_CDF_nested_virt: u32 = 1 << _XEN_DOMCTL_CDF_nested_virt;
/// Give the domain a virtual PMU.
pub const XEN_DOMCTL_CDF_vpmu: u32 = 1 << 7;
/// Highest defined createdomain flag.
pub const XEN_DOMCTL_CDF_MAX: u32 = XEN_DOMCTL_CDF_vpmu;

/// Bit number of `XEN_DOMCTL_IOMMU_no_sharept`.
pub const _XEN_DOMCTL_IOMMU_no_sharept: u32 = 0;
/// Do not share page tables between the CPU and the IOMMU.
pub const XEN_DOMCTL_IOMMU_no_sharept: u32 = 1 << _XEN_DOMCTL_IOMMU_no_sharept;
/// Highest defined IOMMU option.
pub const XEN_DOMCTL_IOMMU_MAX: u32 = XEN_DOMCTL_IOMMU_no_sharept;

/// Mask of the grant-table version field of `grant_opts`.
pub const XEN_DOMCTL_GRANT_version_mask: u32 = 0xf;

/// `XEN_DOMCTL_GRANT_version(v)`: `grant_opts` allowing versions up to `v`.
pub const fn xen_domctl_grant_version(v: u32) -> u32 {
    v & XEN_DOMCTL_GRANT_version_mask
}

/// `struct xen_domctl_createdomain`. On return `xen_domctl.domain` holds
/// the new domain's id.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlCreatedomain {
    /// Security label.
    pub ssidref: u32,
    /// Domain handle (UUID).
    pub handle: XenDomainHandle,
    /// `XEN_DOMCTL_CDF_*`.
    pub flags: u32,
    /// `XEN_DOMCTL_IOMMU_*`.
    pub iommu_opts: u32,
    /// Number of vcpus.
    pub max_vcpus: u32,
    /// Highest event-channel port allowed.
    pub max_evtchn_port: u32,
    /// Grant-table frame limit (-1: Xen's default).
    pub max_grant_frames: i32,
    /// Maptrack frame limit (-1: Xen's default).
    pub max_maptrack_frames: i32,
    /// Grant options (`XEN_DOMCTL_GRANT_version(v)`).
    pub grant_opts: u32,
    /// Per-vcpu processor-trace buffer size.
    pub vmtrace_size: u32,
    /// Cpupool to create the domain in.
    pub cpupool_id: u32,
    /// Architecture configuration.
    pub arch: XenArchDomainconfig,
}
impl_pod!(XenDomctlCreatedomain);

// ---------------------------------------------------------------------------
// getdomaininfo
// ---------------------------------------------------------------------------

/// Bit number of `XEN_DOMINF_dying`.
pub const _XEN_DOMINF_dying: u32 = 0;
/// The domain is being destroyed.
pub const XEN_DOMINF_dying: u32 = 1 << _XEN_DOMINF_dying;
/// Bit number of `XEN_DOMINF_hvm_guest`.
pub const _XEN_DOMINF_hvm_guest: u32 = 1;
/// The domain is HVM.
pub const XEN_DOMINF_hvm_guest: u32 = 1 << _XEN_DOMINF_hvm_guest;
/// Bit number of `XEN_DOMINF_shutdown`.
pub const _XEN_DOMINF_shutdown: u32 = 2;
/// The domain has shut down (reason in the shutdown field).
pub const XEN_DOMINF_shutdown: u32 = 1 << _XEN_DOMINF_shutdown;
/// Bit number of `XEN_DOMINF_paused`.
pub const _XEN_DOMINF_paused: u32 = 3;
/// The domain is paused by the toolstack.
pub const XEN_DOMINF_paused: u32 = 1 << _XEN_DOMINF_paused;
/// Bit number of `XEN_DOMINF_blocked`.
pub const _XEN_DOMINF_blocked: u32 = 4;
/// All vcpus are blocked.
pub const XEN_DOMINF_blocked: u32 = 1 << _XEN_DOMINF_blocked;
/// Bit number of `XEN_DOMINF_running`.
pub const _XEN_DOMINF_running: u32 = 5;
/// At least one vcpu is running.
pub const XEN_DOMINF_running: u32 = 1 << _XEN_DOMINF_running;
/// Bit number of `XEN_DOMINF_debugged`.
pub const _XEN_DOMINF_debugged: u32 = 6;
/// The domain is being debugged.
pub const XEN_DOMINF_debugged: u32 = 1 << _XEN_DOMINF_debugged;
/// Bit number of `XEN_DOMINF_xs_domain`.
pub const _XEN_DOMINF_xs_domain: u32 = 7;
/// The domain runs xenstored.
pub const XEN_DOMINF_xs_domain: u32 = 1 << _XEN_DOMINF_xs_domain;
/// Bit number of `XEN_DOMINF_hap`.
pub const _XEN_DOMINF_hap: u32 = 8;
/// The domain uses hardware-assisted paging.
pub const XEN_DOMINF_hap: u32 = 1 << _XEN_DOMINF_hap;
/// Mask of the shutdown-reason field (after shifting).
pub const XEN_DOMINF_shutdownmask: u32 = 255;
/// Position of the shutdown-reason field in `flags`.
pub const XEN_DOMINF_shutdownshift: u32 = 16;
/// `max_vcpu_id` of a domain without vcpus.
pub const XEN_INVALID_MAX_VCPU_ID: u32 = !0;

/// `struct xen_domctl_getdomaininfo`: a domain's state, as returned by
/// `XEN_DOMCTL_getdomaininfo` and, in arrays, `XEN_SYSCTL_getdomaininfolist`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlGetdomaininfo {
    /// Domain id.
    pub domain: DomId,
    /// Padding.
    pub pad1: u16,
    /// `XEN_DOMINF_*` plus the shutdown reason.
    pub flags: u32,
    /// Pages owned.
    pub tot_pages: u64,
    /// Page limit.
    pub max_pages: u64,
    /// Pages claimed but not yet allocated.
    pub outstanding_pages: u64,
    /// Pages shared.
    pub shr_pages: u64,
    /// Pages paged out.
    pub paged_pages: u64,
    /// Machine frame of the shared-info page.
    pub shared_info_frame: u64,
    /// Total cpu time used, in ns.
    pub cpu_time: u64,
    /// Number of online vcpus.
    pub nr_online_vcpus: u32,
    /// Highest vcpu id.
    pub max_vcpu_id: u32,
    /// Security label.
    pub ssidref: u32,
    /// Domain handle.
    pub handle: XenDomainHandle,
    /// Cpupool id.
    pub cpupool: u32,
    /// Guest physical address width.
    pub gpaddr_bits: u8,
    /// Padding.
    pub pad2: [u8; 7],
    /// Architecture configuration.
    pub arch_config: XenArchDomainconfig,
}
impl_pod!(XenDomctlGetdomaininfo);

impl XenDomctlGetdomaininfo {
    /// The `SHUTDOWN_*` reason packed into `flags`.
    pub const fn shutdown_reason(&self) -> u32 {
        (self.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask
    }

    /// `flags` with the shutdown reason field replaced by `reason`.
    pub const fn with_shutdown_reason(flags: u32, reason: u32) -> u32 {
        (flags & !(XEN_DOMINF_shutdownmask << XEN_DOMINF_shutdownshift))
            | ((reason & XEN_DOMINF_shutdownmask) << XEN_DOMINF_shutdownshift)
    }
}

// ---------------------------------------------------------------------------
// Page frame info, shadow/log-dirty, memory
// ---------------------------------------------------------------------------

/// Shift of the type field in a `getpageframeinfo3` entry.
pub const XEN_DOMCTL_PFINFO_LTAB_SHIFT: u32 = 28;
/// Not a page table.
pub const XEN_DOMCTL_PFINFO_NOTAB: u32 = 0x0 << 28;
/// L1 page table.
pub const XEN_DOMCTL_PFINFO_L1TAB: u32 = 0x1 << 28;
/// L2 page table.
pub const XEN_DOMCTL_PFINFO_L2TAB: u32 = 0x2 << 28;
/// L3 page table.
pub const XEN_DOMCTL_PFINFO_L3TAB: u32 = 0x3 << 28;
/// L4 page table.
pub const XEN_DOMCTL_PFINFO_L4TAB: u32 = 0x4 << 28;
/// Mask of the page-table level.
pub const XEN_DOMCTL_PFINFO_LTABTYPE_MASK: u32 = 0x7 << 28;
/// The page table is pinned.
pub const XEN_DOMCTL_PFINFO_LPINTAB: u32 = 0x1 << 31;
/// Invalid frame.
pub const XEN_DOMCTL_PFINFO_XTAB: u32 = 0xf << 28;
/// Allocate-only frame (no contents to save).
pub const XEN_DOMCTL_PFINFO_XALLOC: u32 = 0xe << 28;
/// Broken frame.
pub const XEN_DOMCTL_PFINFO_BROKEN: u32 = 0xd << 28;
/// Mask of the whole type field.
pub const XEN_DOMCTL_PFINFO_LTAB_MASK: u32 = 0xf << 28;

/// `struct xen_domctl_getpageframeinfo3`: the frame numbers in `array` are
/// replaced (in their top bits) by `XEN_DOMCTL_PFINFO_*` types.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlGetpageframeinfo3 {
    /// Number of entries.
    pub num: u64,
    /// The frames, updated in place.
    pub array: GuestHandle64<XenPfn>,
}
impl_pod!(XenDomctlGetpageframeinfo3);

/// Shadow op: disable shadow / log-dirty mode.
pub const XEN_DOMCTL_SHADOW_OP_OFF: u32 = 0;
/// Shadow op: enable with the `XEN_DOMCTL_SHADOW_ENABLE_*` mode.
pub const XEN_DOMCTL_SHADOW_OP_ENABLE: u32 = 32;
/// Shadow op: read and clear the dirty bitmap.
pub const XEN_DOMCTL_SHADOW_OP_CLEAN: u32 = 11;
/// Shadow op: read the dirty bitmap.
pub const XEN_DOMCTL_SHADOW_OP_PEEK: u32 = 12;
/// Shadow op: get the shadow pool size in MiB.
pub const XEN_DOMCTL_SHADOW_OP_GET_ALLOCATION: u32 = 30;
/// Shadow op: set the shadow pool size in MiB.
pub const XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION: u32 = 31;
/// Legacy shadow op: enable test mode.
pub const XEN_DOMCTL_SHADOW_OP_ENABLE_TEST: u32 = 1;
/// Legacy shadow op: enable log-dirty mode.
pub const XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY: u32 = 2;
/// Enable mode: reference counting.
pub const XEN_DOMCTL_SHADOW_ENABLE_REFCOUNT: u32 = 1 << 1;
/// Enable mode: log dirty pages.
pub const XEN_DOMCTL_SHADOW_ENABLE_LOG_DIRTY: u32 = 1 << 2;
/// Enable mode: translate.
pub const XEN_DOMCTL_SHADOW_ENABLE_TRANSLATE: u32 = 1 << 3;
/// Enable mode: external.
pub const XEN_DOMCTL_SHADOW_ENABLE_EXTERNAL: u32 = 1 << 4;
/// `mode` of CLEAN/PEEK: this is the final pass (domain paused).
pub const XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL: u32 = 1 << 0;

/// `struct xen_domctl_shadow_op_stats`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlShadowOpStats {
    /// Faults since the last clean.
    pub fault_count: u32,
    /// Dirty pages since the last clean.
    pub dirty_count: u32,
}
impl_pod!(XenDomctlShadowOpStats);

/// `struct xen_domctl_shadow_op`: log-dirty tracking for live migration.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlShadowOp {
    /// `XEN_DOMCTL_SHADOW_OP_*`.
    pub op: u32,
    /// Enable mode or `XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL`.
    pub mode: u32,
    /// Shadow pool size in MiB (allocation ops).
    pub mb: u32,
    /// Dirty bitmap buffer (CLEAN/PEEK).
    pub dirty_bitmap: GuestHandle64<u8>,
    /// In: bitmap size in pages; out: pages covered.
    pub pages: u64,
    /// Output statistics.
    pub stats: XenDomctlShadowOpStats,
}
impl_pod!(XenDomctlShadowOp);

/// `struct xen_domctl_max_mem`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlMaxMem {
    /// Limit in KiB.
    pub max_memkb: u64,
}
impl_pod!(XenDomctlMaxMem);

// ---------------------------------------------------------------------------
// vcpus
// ---------------------------------------------------------------------------

/// `struct xen_domctl_vcpucontext`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlVcpucontext {
    /// Vcpu.
    pub vcpu: u32,
    /// Context buffer (null on set: reset the vcpu).
    pub ctxt: GuestHandle64<VcpuGuestContext>,
}
impl_pod!(XenDomctlVcpucontext);

/// `struct xen_domctl_getvcpuinfo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlGetvcpuinfo {
    /// Vcpu.
    pub vcpu: u32,
    /// Output: vcpu is online.
    pub online: u8,
    /// Output: vcpu is blocked.
    pub blocked: u8,
    /// Output: vcpu is running.
    pub running: u8,
    /// Output: cpu time used in ns.
    pub cpu_time: u64,
    /// Output: pcpu it runs or last ran on.
    pub cpu: u32,
}
impl_pod!(XenDomctlGetvcpuinfo);

/// `struct xen_domctl_nodeaffinity`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlNodeaffinity {
    /// NUMA node bitmap.
    pub nodemap: XenctlBitmap,
}
impl_pod!(XenDomctlNodeaffinity);

/// Bit number of `XEN_VCPUAFFINITY_HARD`.
pub const _XEN_VCPUAFFINITY_HARD: u32 = 0;
/// Operate on the hard affinity.
pub const XEN_VCPUAFFINITY_HARD: u32 = 1 << _XEN_VCPUAFFINITY_HARD;
/// Bit number of `XEN_VCPUAFFINITY_SOFT`.
pub const _XEN_VCPUAFFINITY_SOFT: u32 = 1;
/// Operate on the soft affinity.
pub const XEN_VCPUAFFINITY_SOFT: u32 = 1 << _XEN_VCPUAFFINITY_SOFT;
/// Bit number of `XEN_VCPUAFFINITY_FORCE`.
pub const _XEN_VCPUAFFINITY_FORCE: u32 = 2;
/// Undo a temporary pin override.
pub const XEN_VCPUAFFINITY_FORCE: u32 = 1 << _XEN_VCPUAFFINITY_FORCE;

/// `struct xen_domctl_vcpuaffinity`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlVcpuaffinity {
    /// Vcpu.
    pub vcpu: u32,
    /// `XEN_VCPUAFFINITY_*`.
    pub flags: u32,
    /// Hard affinity bitmap (in and, for set, effective result out).
    pub cpumap_hard: XenctlBitmap,
    /// Soft affinity bitmap.
    pub cpumap_soft: XenctlBitmap,
}
impl_pod!(XenDomctlVcpuaffinity);

/// `struct xen_domctl_max_vcpus`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlMaxVcpus {
    /// Number of vcpus.
    pub max: u32,
}
impl_pod!(XenDomctlMaxVcpus);

// ---------------------------------------------------------------------------
// Scheduler
// ---------------------------------------------------------------------------

/// Scheduler id: credit.
pub const XEN_SCHEDULER_CREDIT: u32 = 5;
/// Scheduler id: credit2.
pub const XEN_SCHEDULER_CREDIT2: u32 = 6;
/// Scheduler id: ARINC 653.
pub const XEN_SCHEDULER_ARINC653: u32 = 7;
/// Scheduler id: RTDS.
pub const XEN_SCHEDULER_RTDS: u32 = 8;
/// Scheduler id: null.
pub const XEN_SCHEDULER_NULL: u32 = 9;

xen_enum! {
    /// A scheduler id (C: `XEN_SCHEDULER_*`).
    pub enum XenScheduler: u32 {
        /// `XEN_SCHEDULER_CREDIT`.
        Credit = XEN_SCHEDULER_CREDIT,
        /// `XEN_SCHEDULER_CREDIT2`.
        Credit2 = XEN_SCHEDULER_CREDIT2,
        /// `XEN_SCHEDULER_ARINC653`.
        Arinc653 = XEN_SCHEDULER_ARINC653,
        /// `XEN_SCHEDULER_RTDS`.
        Rtds = XEN_SCHEDULER_RTDS,
        /// `XEN_SCHEDULER_NULL`.
        Null = XEN_SCHEDULER_NULL,
    }
}

/// `struct xen_domctl_sched_credit`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlSchedCredit {
    /// Relative weight (default 256).
    pub weight: u16,
    /// Cap in percent of one pcpu (0: none).
    pub cap: u16,
}
impl_pod!(XenDomctlSchedCredit);

/// `struct xen_domctl_sched_credit2`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlSchedCredit2 {
    /// Relative weight.
    pub weight: u16,
    /// Cap in percent.
    pub cap: u16,
}
impl_pod!(XenDomctlSchedCredit2);

/// Bit number of `XEN_DOMCTL_SCHEDRT_extra`.
pub const _XEN_DOMCTL_SCHEDRT_extra: u32 = 0;
/// RTDS: the vcpu may use spare time.
pub const XEN_DOMCTL_SCHEDRT_extra: u32 = 1 << _XEN_DOMCTL_SCHEDRT_extra;

/// `struct xen_domctl_sched_rtds`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlSchedRtds {
    /// Period in µs.
    pub period: u32,
    /// Budget in µs.
    pub budget: u32,
    /// `XEN_DOMCTL_SCHEDRT_*`.
    pub flags: u32,
}
impl_pod!(XenDomctlSchedRtds);

/// Per-scheduler parameter union.
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenDomctlSchedParams {
    /// Credit.
    pub credit: XenDomctlSchedCredit,
    /// Credit2.
    pub credit2: XenDomctlSchedCredit2,
    /// RTDS.
    pub rtds: XenDomctlSchedRtds,
}
pod_union!(XenDomctlSchedParams);

/// `struct xen_domctl_schedparam_vcpu`: one vcpu's parameters.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct XenDomctlSchedparamVcpu {
    /// Parameters.
    pub u: XenDomctlSchedParams,
    /// Vcpu.
    pub vcpuid: u32,
}
impl_pod!(XenDomctlSchedparamVcpu);

/// Scheduler op: set domain parameters.
pub const XEN_DOMCTL_SCHEDOP_putinfo: u32 = 0;
/// Scheduler op: get domain parameters.
pub const XEN_DOMCTL_SCHEDOP_getinfo: u32 = 1;
/// Scheduler op: set per-vcpu parameters.
pub const XEN_DOMCTL_SCHEDOP_putvcpuinfo: u32 = 2;
/// Scheduler op: get per-vcpu parameters.
pub const XEN_DOMCTL_SCHEDOP_getvcpuinfo: u32 = 3;

/// The per-vcpu array member of the scheduler-op union.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlSchedVcpus {
    /// Array of per-vcpu parameters.
    pub vcpus: GuestHandle64<XenDomctlSchedparamVcpu>,
    /// In: array length; out: entries processed.
    pub nr_vcpus: u32,
    /// Padding.
    pub padding: u32,
}
impl_pod!(XenDomctlSchedVcpus);

/// The parameter union of `xen_domctl_scheduler_op`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenDomctlSchedulerOpArgs {
    /// Credit parameters.
    pub credit: XenDomctlSchedCredit,
    /// Credit2 parameters.
    pub credit2: XenDomctlSchedCredit2,
    /// RTDS parameters.
    pub rtds: XenDomctlSchedRtds,
    /// Per-vcpu array (`*vcpuinfo` commands).
    pub v: XenDomctlSchedVcpus,
}
pod_union!(XenDomctlSchedulerOpArgs);

/// `struct xen_domctl_scheduler_op`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct XenDomctlSchedulerOp {
    /// `XEN_SCHEDULER_*` (must match the domain's scheduler).
    pub sched_id: u32,
    /// `XEN_DOMCTL_SCHEDOP_*`.
    pub cmd: u32,
    /// Parameters.
    pub u: XenDomctlSchedulerOpArgs,
}
impl_pod!(XenDomctlSchedulerOp);

// ---------------------------------------------------------------------------
// Small commands
// ---------------------------------------------------------------------------

/// `struct xen_domctl_setdomainhandle`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlSetdomainhandle {
    /// New handle.
    pub handle: XenDomainHandle,
}
impl_pod!(XenDomctlSetdomainhandle);

/// `struct xen_domctl_setdebugging`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlSetdebugging {
    /// Non-zero to enable.
    pub enable: u8,
}
impl_pod!(XenDomctlSetdebugging);

/// `struct xen_domctl_irq_permission`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlIrqPermission {
    /// Physical IRQ.
    pub pirq: u32,
    /// Non-zero to allow, zero to revoke.
    pub allow_access: u8,
    /// Padding.
    pub pad: [u8; 3],
}
impl_pod!(XenDomctlIrqPermission);

/// `struct xen_domctl_iomem_permission`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlIomemPermission {
    /// First machine frame.
    pub first_mfn: u64,
    /// Number of frames.
    pub nr_mfns: u64,
    /// Non-zero to allow.
    pub allow_access: u8,
}
impl_pod!(XenDomctlIomemPermission);

/// `struct xen_domctl_ioport_permission`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlIoportPermission {
    /// First port.
    pub first_port: u32,
    /// Number of ports.
    pub nr_ports: u32,
    /// Non-zero to allow.
    pub allow_access: u8,
}
impl_pod!(XenDomctlIoportPermission);

/// `struct xen_domctl_hypercall_init`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlHypercallInit {
    /// Guest frame to fill with hypercall stubs.
    pub gmfn: u64,
}
impl_pod!(XenDomctlHypercallInit);

/// `struct xen_domctl_settimeoffset`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlSettimeoffset {
    /// Offset from the host wallclock, in seconds.
    pub time_offset_seconds: i64,
}
impl_pod!(XenDomctlSettimeoffset);

/// `struct xen_domctl_hvmcontext`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlHvmcontext {
    /// Buffer size.
    pub size: u32,
    /// Buffer (null to query the size).
    pub buffer: GuestHandle64<u8>,
}
impl_pod!(XenDomctlHvmcontext);

/// `struct xen_domctl_address_size`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlAddressSize {
    /// Address size in bits (32 or 64 for PV).
    pub size: u32,
}
impl_pod!(XenDomctlAddressSize);

/// Trigger: NMI.
pub const XEN_DOMCTL_SENDTRIGGER_NMI: u32 = 0;
/// Trigger: reset.
pub const XEN_DOMCTL_SENDTRIGGER_RESET: u32 = 1;
/// Trigger: INIT.
pub const XEN_DOMCTL_SENDTRIGGER_INIT: u32 = 2;
/// Trigger: power button.
pub const XEN_DOMCTL_SENDTRIGGER_POWER: u32 = 3;
/// Trigger: sleep button.
pub const XEN_DOMCTL_SENDTRIGGER_SLEEP: u32 = 4;

/// `struct xen_domctl_sendtrigger`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlSendtrigger {
    /// `XEN_DOMCTL_SENDTRIGGER_*`.
    pub trigger: u32,
    /// Target vcpu.
    pub vcpu: u32,
}
impl_pod!(XenDomctlSendtrigger);

/// `add_mapping` value: map.
pub const DPCI_ADD_MAPPING: u32 = 1;
/// `add_mapping` value: unmap.
pub const DPCI_REMOVE_MAPPING: u32 = 0;

/// `struct xen_domctl_memory_mapping`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlMemoryMapping {
    /// First guest frame.
    pub first_gfn: u64,
    /// First machine frame.
    pub first_mfn: u64,
    /// Number of frames.
    pub nr_mfns: u64,
    /// `DPCI_ADD_MAPPING` or `DPCI_REMOVE_MAPPING`.
    pub add_mapping: u32,
    /// Padding.
    pub padding: u32,
}
impl_pod!(XenDomctlMemoryMapping);

/// `struct xen_domctl_ioport_mapping`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlIoportMapping {
    /// First guest port.
    pub first_gport: u32,
    /// First machine port.
    pub first_mport: u32,
    /// Number of ports.
    pub nr_ports: u32,
    /// `DPCI_ADD_MAPPING` or `DPCI_REMOVE_MAPPING`.
    pub add_mapping: u32,
}
impl_pod!(XenDomctlIoportMapping);

/// `struct hvm_vmce_vcpu` (`arch-x86/hvm/save.h`): machine-check state.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct HvmVmceVcpu {
    /// MCG_CAP (also the `mcg_cap` union member of the ext context).
    pub caps: u64,
    /// MCi_CTL2 of bank 0.
    pub mci_ctl2_bank0: u64,
    /// MCi_CTL2 of bank 1.
    pub mci_ctl2_bank1: u64,
    /// MCG_EXT_CTL.
    pub mcg_ext_ctl: u64,
}
impl_pod!(HvmVmceVcpu);

/// `struct xen_domctl_ext_vcpucontext`: the vcpu state that does not fit
/// `vcpu_guest_context` (32-bit entry points, machine-check state).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlExtVcpucontext {
    /// Vcpu.
    pub vcpu: u32,
    /// Size of the valid part of this structure.
    pub size: u32,
    /// Compat `syscall` entry point.
    pub syscall32_callback_eip: u64,
    /// `sysenter` entry point.
    pub sysenter_callback_eip: u64,
    /// Compat `syscall` code selector.
    pub syscall32_callback_cs: u16,
    /// `sysenter` code selector.
    pub sysenter_callback_cs: u16,
    /// Compat `syscall` masks events.
    pub syscall32_disables_events: u8,
    /// `sysenter` masks events.
    pub sysenter_disables_events: u8,
    /// Machine-check state (C: anonymous union with `mcg_cap`).
    pub vmce: HvmVmceVcpu,
}
impl_pod!(XenDomctlExtVcpucontext);

/// `struct xen_domctl_set_target`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlSetTarget {
    /// Domain the caller's `domain` becomes privileged over.
    pub target: DomId,
}
impl_pod!(XenDomctlSetTarget);

/// `XEN_CPUID_INPUT_UNUSED`: marks an unused CPUID input.
pub const XEN_CPUID_INPUT_UNUSED: u32 = 0xFFFF_FFFF;

/// `struct xen_domctl_cpu_policy`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlCpuPolicy {
    /// In/out: number of leaves.
    pub nr_leaves: u32,
    /// In/out: number of MSRs.
    pub nr_msrs: u32,
    /// CPUID leaves.
    pub leaves: GuestHandle64<XenCpuidLeaf>,
    /// MSRs.
    pub msrs: GuestHandle64<XenMsrEntry>,
    /// Output: leaf that failed validation.
    pub err_leaf: u32,
    /// Output: sub-leaf that failed validation.
    pub err_subleaf: u32,
    /// Output: MSR that failed validation.
    pub err_msr: u32,
}
impl_pod!(XenDomctlCpuPolicy);

/// `struct xen_domctl_subscribe`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlSubscribe {
    /// Port to notify on domain state changes.
    pub port: EvtchnPort,
}
impl_pod!(XenDomctlSubscribe);

/// Debug op: stop single-stepping.
pub const XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_OFF: u32 = 0;
/// Debug op: start single-stepping.
pub const XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_ON: u32 = 1;

/// `struct xen_domctl_debug_op`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlDebugOp {
    /// `XEN_DOMCTL_DEBUG_OP_*`.
    pub op: u32,
    /// Vcpu.
    pub vcpu: u32,
}
impl_pod!(XenDomctlDebugOp);

/// `struct xen_domctl_hvmcontext_partial`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlHvmcontextPartial {
    /// Save record type.
    pub r#type: u32,
    /// Record instance.
    pub instance: u32,
    /// Buffer size.
    pub bufsz: u64,
    /// Buffer.
    pub buffer: GuestHandle64<u8>,
}
impl_pod!(XenDomctlHvmcontextPartial);

/// `struct xen_domctl_tsc_info`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlTscInfo {
    /// TSC mode (0 default, 1 always emulate, 2 never emulate).
    pub tsc_mode: u32,
    /// Guest TSC frequency in kHz.
    pub gtsc_khz: u32,
    /// Bumped on each restore or migration.
    pub incarnation: u32,
    /// Padding.
    pub pad: u32,
    /// Elapsed ns offset.
    pub elapsed_nsec: u64,
}
impl_pod!(XenDomctlTscInfo);

/// `struct xen_domctl_audit_p2m`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlAuditP2m {
    /// Output: orphaned frames.
    pub orphans: u64,
    /// Output: bad m2p entries.
    pub m2p_bad: u64,
    /// Output: bad p2m entries.
    pub p2m_bad: u64,
}
impl_pod!(XenDomctlAuditP2m);

/// `struct xen_domctl_set_virq_handler`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlSetVirqHandler {
    /// Global VIRQ to route to the domain.
    pub virq: u32,
}
impl_pod!(XenDomctlSetVirqHandler);

/// `struct xen_domctl_vcpuextstate`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlVcpuextstate {
    /// Vcpu.
    pub vcpu: u32,
    /// XCR0 feature mask.
    pub xfeature_mask: u64,
    /// Buffer size in bytes (0 queries it).
    pub size: u64,
    /// XSAVE area buffer.
    pub buffer: GuestHandle64<u64>,
}
impl_pod!(XenDomctlVcpuextstate);

/// `struct xen_domctl_set_broken_page_p2m`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlSetBrokenPageP2m {
    /// Guest frame.
    pub pfn: u64,
}
impl_pod!(XenDomctlSetBrokenPageP2m);

/// `struct xen_domctl_cacheflush`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlCacheflush {
    /// First guest frame.
    pub start_pfn: XenPfn,
    /// Number of frames.
    pub nr_pfns: XenPfn,
}
impl_pod!(XenDomctlCacheflush);

/// `struct xen_domctl_paging_mempool`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlPagingMempool {
    /// Pool size in bytes.
    pub size: u64,
}
impl_pod!(XenDomctlPagingMempool);

/// `struct xen_domctl_vcpu_msr`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlVcpuMsr {
    /// MSR index.
    pub index: u32,
    /// Reserved.
    pub reserved: u32,
    /// Value.
    pub value: u64,
}
impl_pod!(XenDomctlVcpuMsr);

/// `struct xen_domctl_vcpu_msrs`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenDomctlVcpuMsrs {
    /// Vcpu.
    pub vcpu: u32,
    /// In/out: number of entries.
    pub msr_count: u32,
    /// The MSRs.
    pub msrs: GuestHandle64<XenDomctlVcpuMsr>,
}
impl_pod!(XenDomctlVcpuMsrs);

// ---------------------------------------------------------------------------
// The envelope
// ---------------------------------------------------------------------------

/// The command-specific union of `xen_domctl` (128 bytes; commands this
/// crate does not model can use `pad`).
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenDomctlArgs {
    /// `XEN_DOMCTL_createdomain`.
    pub createdomain: XenDomctlCreatedomain,
    /// `XEN_DOMCTL_getdomaininfo`.
    pub getdomaininfo: XenDomctlGetdomaininfo,
    /// `XEN_DOMCTL_getpageframeinfo3`.
    pub getpageframeinfo3: XenDomctlGetpageframeinfo3,
    /// `XEN_DOMCTL_{set,get}nodeaffinity`.
    pub nodeaffinity: XenDomctlNodeaffinity,
    /// `XEN_DOMCTL_{set,get}vcpuaffinity`.
    pub vcpuaffinity: XenDomctlVcpuaffinity,
    /// `XEN_DOMCTL_shadow_op`.
    pub shadow_op: XenDomctlShadowOp,
    /// `XEN_DOMCTL_max_mem`.
    pub max_mem: XenDomctlMaxMem,
    /// `XEN_DOMCTL_{set,get}vcpucontext`.
    pub vcpucontext: XenDomctlVcpucontext,
    /// `XEN_DOMCTL_getvcpuinfo`.
    pub getvcpuinfo: XenDomctlGetvcpuinfo,
    /// `XEN_DOMCTL_max_vcpus`.
    pub max_vcpus: XenDomctlMaxVcpus,
    /// `XEN_DOMCTL_scheduler_op`.
    pub scheduler_op: XenDomctlSchedulerOp,
    /// `XEN_DOMCTL_setdomainhandle`.
    pub setdomainhandle: XenDomctlSetdomainhandle,
    /// `XEN_DOMCTL_setdebugging`.
    pub setdebugging: XenDomctlSetdebugging,
    /// `XEN_DOMCTL_irq_permission`.
    pub irq_permission: XenDomctlIrqPermission,
    /// `XEN_DOMCTL_iomem_permission`.
    pub iomem_permission: XenDomctlIomemPermission,
    /// `XEN_DOMCTL_ioport_permission`.
    pub ioport_permission: XenDomctlIoportPermission,
    /// `XEN_DOMCTL_hypercall_init`.
    pub hypercall_init: XenDomctlHypercallInit,
    /// `XEN_DOMCTL_settimeoffset`.
    pub settimeoffset: XenDomctlSettimeoffset,
    /// `XEN_DOMCTL_{get,set}tscinfo`.
    pub tsc_info: XenDomctlTscInfo,
    /// `XEN_DOMCTL_{get,set}hvmcontext`.
    pub hvmcontext: XenDomctlHvmcontext,
    /// `XEN_DOMCTL_gethvmcontext_partial`.
    pub hvmcontext_partial: XenDomctlHvmcontextPartial,
    /// `XEN_DOMCTL_{set,get}_address_size`.
    pub address_size: XenDomctlAddressSize,
    /// `XEN_DOMCTL_sendtrigger`.
    pub sendtrigger: XenDomctlSendtrigger,
    /// `XEN_DOMCTL_memory_mapping`.
    pub memory_mapping: XenDomctlMemoryMapping,
    /// `XEN_DOMCTL_ioport_mapping`.
    pub ioport_mapping: XenDomctlIoportMapping,
    /// `XEN_DOMCTL_{set,get}_ext_vcpucontext`.
    pub ext_vcpucontext: XenDomctlExtVcpucontext,
    /// `XEN_DOMCTL_set_target`.
    pub set_target: XenDomctlSetTarget,
    /// `XEN_DOMCTL_subscribe`.
    pub subscribe: XenDomctlSubscribe,
    /// `XEN_DOMCTL_debug_op`.
    pub debug_op: XenDomctlDebugOp,
    /// `XEN_DOMCTL_{get,set}_cpu_policy`.
    pub cpu_policy: XenDomctlCpuPolicy,
    /// `XEN_DOMCTL_{set,get}vcpuextstate`.
    pub vcpuextstate: XenDomctlVcpuextstate,
    /// `XEN_DOMCTL_{get,set}_vcpu_msrs`.
    pub vcpu_msrs: XenDomctlVcpuMsrs,
    /// `XEN_DOMCTL_audit_p2m`.
    pub audit_p2m: XenDomctlAuditP2m,
    /// `XEN_DOMCTL_set_virq_handler`.
    pub set_virq_handler: XenDomctlSetVirqHandler,
    /// `XEN_DOMCTL_set_broken_page_p2m`.
    pub set_broken_page_p2m: XenDomctlSetBrokenPageP2m,
    /// `XEN_DOMCTL_cacheflush`.
    pub cacheflush: XenDomctlCacheflush,
    /// `XEN_DOMCTL_{get,set}_paging_mempool_size`.
    pub paging_mempool: XenDomctlPagingMempool,
    /// Sizing member and raw access.
    pub pad: [u8; 128],
}
pod_union!(XenDomctlArgs);

/// `struct xen_domctl`: the single argument of `HYPERVISOR_domctl`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct XenDomctl {
    /// `XEN_DOMCTL_*`.
    pub cmd: u32,
    /// Must be `XEN_DOMCTL_INTERFACE_VERSION`.
    pub interface_version: u32,
    /// Target domain (output for createdomain).
    pub domain: DomId,
    /// Padding.
    pub _pad: [u16; 3],
    /// Command argument.
    pub u: XenDomctlArgs,
}
impl_pod!(XenDomctl);

impl XenDomctl {
    /// A zeroed domctl for `cmd` on `domain` with the right interface version.
    pub fn new(cmd: DomctlCmd, domain: DomId) -> Self {
        XenDomctl {
            cmd: cmd.raw(),
            interface_version: XEN_DOMCTL_INTERFACE_VERSION,
            domain,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(DomctlCmd::try_from(1u32), Ok(DomctlCmd::Createdomain));
        // 23 is `soft_reset_cont`, internal to Xen.
        for bad in [0u32, 6, 7, 8, 23, 30, 41, 87, 999, 1004] {
            assert!(DomctlCmd::try_from(bad).is_err(), "{bad}");
        }
        assert!(XenScheduler::try_from(4u32).is_err());
    }

    #[test]
    fn shutdown_reason_packing() {
        let flags = XenDomctlGetdomaininfo::with_shutdown_reason(XEN_DOMINF_shutdown, 3);
        let info = XenDomctlGetdomaininfo { flags, ..Default::default() };
        assert_eq!(info.shutdown_reason(), 3);
        assert_ne!(info.flags & XEN_DOMINF_shutdown, 0);
        let d = XenDomctl::new(DomctlCmd::Pausedomain, DomId(7));
        assert_eq!(d.interface_version, XEN_DOMCTL_INTERFACE_VERSION);
    }
}
