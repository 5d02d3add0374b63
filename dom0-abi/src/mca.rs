//! Machine-check architecture interface (`arch-x86/xen-mca.h`): the
//! `mca` hypercall through which dom0 reads physical CPU information and
//! fetches machine-check telemetry.

use crate::types::GuestHandle;

/// `XEN_MCA_INTERFACE_VERSION`.
pub const XEN_MCA_INTERFACE_VERSION: u32 = 0x01ec_c003;

/// Fetch telemetry (`xen_mc_fetch`).
pub const XEN_MC_fetch: u32 = 1;
/// Notify a domU of an error (`xen_mc_notifydomain`).
pub const XEN_MC_notifydomain: u32 = 2;
/// Physical CPU information (`xen_mc_physcpuinfo`).
pub const XEN_MC_physcpuinfo: u32 = 3;
/// Inject MSR values (`xen_mc_msrinject`).
pub const XEN_MC_msrinject: u32 = 4;
/// Inject a machine check (`xen_mc_mceinject`).
pub const XEN_MC_mceinject: u32 = 5;
/// Inject, version 2.
pub const XEN_MC_inject_v2: u32 = 6;

/// Fetch flag: non-urgent telemetry.
pub const XEN_MC_NONURGENT: u32 = 0x1;
/// Fetch flag: urgent telemetry.
pub const XEN_MC_URGENT: u32 = 0x2;
/// Fetch flag: acknowledge an earlier fetch.
pub const XEN_MC_ACK: u32 = 0x4;
/// Result flag: done.
pub const XEN_MC_OK: u32 = 0x0;
/// Result flag: the fetch failed.
pub const XEN_MC_FETCHFAILED: u32 = 0x1;
/// Result flag: no telemetry.
pub const XEN_MC_NODATA: u32 = 0x2;

/// `MC_NCAPS`: CPU feature words in a logical CPU record.
pub const MC_NCAPS: usize = 7;
/// `__MC_MSR_ARRAYSIZE`.
pub const MC_MSR_ARRAYSIZE: usize = 8;

/// `struct mcinfo_msr`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct McinfoMsr {
    /// MSR number.
    pub reg: u64,
    /// Its value.
    pub value: u64,
}
impl_pod!(McinfoMsr);

/// `struct mcinfo_logical_cpu` (`xen_mc_logical_cpu_t`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct McinfoLogicalCpu {
    /// Xen's CPU number.
    pub mc_cpunr: u32,
    /// Package.
    pub mc_chipid: u32,
    /// Core within the package.
    pub mc_coreid: u16,
    /// Thread within the core.
    pub mc_threadid: u16,
    /// APIC ID.
    pub mc_apicid: u32,
    /// Cluster.
    pub mc_clusterid: u32,
    /// Cores per package.
    pub mc_ncores: u32,
    /// Cores booted.
    pub mc_ncores_active: u32,
    /// Threads per core.
    pub mc_nthreads: u32,
    /// Highest basic CPUID leaf.
    pub mc_cpuid_level: i32,
    /// Family.
    pub mc_family: u32,
    /// Xen's vendor code.
    pub mc_vendor: u32,
    /// Model.
    pub mc_model: u32,
    /// Stepping.
    pub mc_step: u32,
    /// CPUID vendor string.
    pub mc_vendorid: [u8; 16],
    /// CPUID brand string.
    pub mc_brandid: [u8; 64],
    /// Feature words.
    pub mc_cpu_caps: [u32; MC_NCAPS],
    /// Cache size (KiB).
    pub mc_cache_size: u32,
    /// Cache line alignment.
    pub mc_cache_alignment: u32,
    /// Valid entries of `mc_msrvalues`.
    pub mc_nmsrvals: i32,
    /// Machine-check MSRs.
    pub mc_msrvalues: [McinfoMsr; MC_MSR_ARRAYSIZE],
}
impl_pod!(McinfoLogicalCpu);

/// `struct xen_mc_fetch`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenMcFetch {
    /// In: urgency and ack; out: result flags.
    pub flags: u32,
    /// Padding.
    pub _pad0: u32,
    /// Out: id to ack; in: the id acked.
    pub fetch_id: u64,
    /// Out: the telemetry.
    pub data: GuestHandle<u8>,
}
impl_pod!(XenMcFetch);

/// `struct xen_mc_physcpuinfo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenMcPhyscpuinfo {
    /// In: capacity of `info`; out: CPUs reported.
    pub ncpus: u32,
    /// Padding.
    pub _pad0: u32,
    /// Out: one record a CPU (null: only count them).
    pub info: GuestHandle<McinfoLogicalCpu>,
}
impl_pod!(XenMcPhyscpuinfo);

/// The argument union of `struct xen_mc` (sized as its largest member,
/// `xen_mc_msrinject`).
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenMcArgs {
    /// `XEN_MC_fetch`.
    pub mc_fetch: XenMcFetch,
    /// `XEN_MC_physcpuinfo`.
    pub mc_physcpuinfo: XenMcPhyscpuinfo,
    /// Raw bytes (144, the size of `xen_mc_msrinject`).
    pub raw: [u64; 18],
}
pod_union!(XenMcArgs);

/// `struct xen_mc`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct XenMc {
    /// `XEN_MC_*`.
    pub cmd: u32,
    /// `XEN_MCA_INTERFACE_VERSION`.
    pub interface_version: u32,
    /// Argument.
    pub u: XenMcArgs,
}
impl_pod!(XenMc);
