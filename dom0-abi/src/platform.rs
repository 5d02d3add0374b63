//! `HYPERVISOR_platform_op` (`platform.h`): dom0's operations on the
//! physical machine: wallclock, MTRRs, microcode, firmware tables, ACPI
//! sleep, cpu power management and hotplug, MSR access and symbol lookup.

use crate::types::{GuestHandle, XenPfn, XenUlong};

/// `xen_platform_op.interface_version` Xen 4.17 expects.
pub const XENPF_INTERFACE_VERSION: u32 = 0x0300_0001;

/// Set the wallclock, 32-bit seconds (`xenpf_settime32`).
pub const XENPF_settime32: u32 = 17;
/// Set the wallclock, 64-bit seconds (`xenpf_settime64`).
pub const XENPF_settime64: u32 = 62;
/// The current name of the settime command.
pub const XENPF_settime: u32 = XENPF_settime64;
/// Add an MTRR range (`xenpf_add_memtype`).
pub const XENPF_add_memtype: u32 = 31;
/// Remove an MTRR range (`xenpf_del_memtype`).
pub const XENPF_del_memtype: u32 = 32;
/// Read an MTRR range (`xenpf_read_memtype`).
pub const XENPF_read_memtype: u32 = 33;
/// Load a microcode update (`xenpf_microcode_update`).
pub const XENPF_microcode_update: u32 = 35;
/// Enable a platform quirk (`xenpf_platform_quirk`).
pub const XENPF_platform_quirk: u32 = 39;
/// Get a physical cpu's vendor and model (`xenpf_pcpu_version`).
pub const XENPF_get_cpu_version: u32 = 48;
/// Call an EFI runtime service (`xenpf_efi_runtime_call`).
pub const XENPF_efi_runtime_call: u32 = 49;
/// Read firmware-provided information (`xenpf_firmware_info`).
pub const XENPF_firmware_info: u32 = 50;
/// Enter an ACPI sleep state (`xenpf_enter_acpi_sleep`).
pub const XENPF_enter_acpi_sleep: u32 = 51;
/// Change a cpu's frequency (`xenpf_change_freq`).
pub const XENPF_change_freq: u32 = 52;
/// Read per-cpu idle time (`xenpf_getidletime`).
pub const XENPF_getidletime: u32 = 53;
/// Pass ACPI processor power data to Xen (`xenpf_set_processor_pminfo`).
pub const XENPF_set_processor_pminfo: u32 = 54;
/// Get a physical cpu's ids and state (`xenpf_pcpuinfo`).
pub const XENPF_get_cpuinfo: u32 = 55;
/// Bring a physical cpu online (`xenpf_cpu_ol`).
pub const XENPF_cpu_online: u32 = 56;
/// Take a physical cpu offline (`xenpf_cpu_ol`).
pub const XENPF_cpu_offline: u32 = 57;
/// Hot-add a physical cpu (`xenpf_cpu_hotadd`).
pub const XENPF_cpu_hotadd: u32 = 58;
/// Hot-add memory (`xenpf_mem_hotadd`).
pub const XENPF_mem_hotadd: u32 = 59;
/// Core parking policy (`xenpf_core_parking`).
pub const XENPF_core_parking: u32 = 60;
/// Batched MSR access on a cpu (`xenpf_resource_op`).
pub const XENPF_resource_op: u32 = 61;
/// Look up a hypervisor symbol (`xenpf_symdata`).
pub const XENPF_get_symbol: u32 = 63;

xen_enum! {
    /// A `platform_op` command (C: `XENPF_*`).
    pub enum PlatformOpCmd: u32 {
        /// `XENPF_settime32`.
        Settime32 = XENPF_settime32,
        /// `XENPF_add_memtype`.
        AddMemtype = XENPF_add_memtype,
        /// `XENPF_del_memtype`.
        DelMemtype = XENPF_del_memtype,
        /// `XENPF_read_memtype`.
        ReadMemtype = XENPF_read_memtype,
        /// `XENPF_microcode_update`.
        MicrocodeUpdate = XENPF_microcode_update,
        /// `XENPF_platform_quirk`.
        PlatformQuirk = XENPF_platform_quirk,
        /// `XENPF_get_cpu_version`.
        GetCpuVersion = XENPF_get_cpu_version,
        /// `XENPF_efi_runtime_call`.
        EfiRuntimeCall = XENPF_efi_runtime_call,
        /// `XENPF_firmware_info`.
        FirmwareInfo = XENPF_firmware_info,
        /// `XENPF_enter_acpi_sleep`.
        EnterAcpiSleep = XENPF_enter_acpi_sleep,
        /// `XENPF_change_freq`.
        ChangeFreq = XENPF_change_freq,
        /// `XENPF_getidletime`.
        Getidletime = XENPF_getidletime,
        /// `XENPF_set_processor_pminfo`.
        SetProcessorPminfo = XENPF_set_processor_pminfo,
        /// `XENPF_get_cpuinfo`.
        GetCpuinfo = XENPF_get_cpuinfo,
        /// `XENPF_cpu_online`.
        CpuOnline = XENPF_cpu_online,
        /// `XENPF_cpu_offline`.
        CpuOffline = XENPF_cpu_offline,
        /// `XENPF_cpu_hotadd`.
        CpuHotadd = XENPF_cpu_hotadd,
        /// `XENPF_mem_hotadd`.
        MemHotadd = XENPF_mem_hotadd,
        /// `XENPF_core_parking`.
        CoreParking = XENPF_core_parking,
        /// `XENPF_resource_op`.
        ResourceOp = XENPF_resource_op,
        /// `XENPF_settime64`.
        Settime64 = XENPF_settime64,
        /// `XENPF_get_symbol`.
        GetSymbol = XENPF_get_symbol,
    }
}

/// `struct xenpf_settime32`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfSettime32 {
    /// Wallclock seconds at `system_time`.
    pub secs: u32,
    /// Wallclock nanoseconds at `system_time`.
    pub nsecs: u32,
    /// Xen system time the wallclock refers to.
    pub system_time: u64,
}
impl_pod!(XenpfSettime32);

/// `struct xenpf_settime64`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfSettime64 {
    /// Wallclock seconds at `system_time`.
    pub secs: u64,
    /// Wallclock nanoseconds at `system_time`.
    pub nsecs: u32,
    /// Must be zero.
    pub mbz: u32,
    /// Xen system time the wallclock refers to.
    pub system_time: u64,
}
impl_pod!(XenpfSettime64);

/// `struct xenpf_add_memtype`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfAddMemtype {
    /// First frame.
    pub mfn: XenPfn,
    /// Number of frames.
    pub nr_mfns: u64,
    /// MTRR memory type.
    pub r#type: u32,
    /// Output: handle for deletion.
    pub handle: u32,
    /// Output: MTRR register used.
    pub reg: u32,
}
impl_pod!(XenpfAddMemtype);

/// `struct xenpf_del_memtype`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfDelMemtype {
    /// Handle from the add.
    pub handle: u32,
    /// MTRR register.
    pub reg: u32,
}
impl_pod!(XenpfDelMemtype);

/// `struct xenpf_read_memtype`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfReadMemtype {
    /// MTRR register to read.
    pub reg: u32,
    /// Output: first frame.
    pub mfn: XenPfn,
    /// Output: number of frames.
    pub nr_mfns: u64,
    /// Output: memory type.
    pub r#type: u32,
}
impl_pod!(XenpfReadMemtype);

/// `struct xenpf_microcode_update`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfMicrocodeUpdate {
    /// The microcode blob.
    pub data: GuestHandle<u8>,
    /// Its length in bytes.
    pub length: u32,
}
impl_pod!(XenpfMicrocodeUpdate);

/// Quirk: do not balance IRQs across cpus.
pub const QUIRK_NOIRQBALANCING: u32 = 1;
/// Quirk: the IO-APIC register-select register is unreliable.
pub const QUIRK_IOAPIC_BAD_REGSEL: u32 = 2;
/// Quirk: the IO-APIC register-select register is reliable.
pub const QUIRK_IOAPIC_GOOD_REGSEL: u32 = 3;

/// `struct xenpf_platform_quirk`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfPlatformQuirk {
    /// `QUIRK_*`.
    pub quirk_id: u32,
}
impl_pod!(XenpfPlatformQuirk);

// ---------------------------------------------------------------------------
// EFI runtime services
// ---------------------------------------------------------------------------

/// EFI service: GetTime.
pub const XEN_EFI_get_time: u32 = 1;
/// EFI service: SetTime.
pub const XEN_EFI_set_time: u32 = 2;
/// EFI service: GetWakeupTime.
pub const XEN_EFI_get_wakeup_time: u32 = 3;
/// EFI service: SetWakeupTime.
pub const XEN_EFI_set_wakeup_time: u32 = 4;
/// EFI service: GetNextHighMonotonicCount.
pub const XEN_EFI_get_next_high_monotonic_count: u32 = 5;
/// EFI service: GetVariable.
pub const XEN_EFI_get_variable: u32 = 6;
/// EFI service: SetVariable.
pub const XEN_EFI_set_variable: u32 = 7;
/// EFI service: GetNextVariableName.
pub const XEN_EFI_get_next_variable_name: u32 = 8;
/// EFI service: QueryVariableInfo.
pub const XEN_EFI_query_variable_info: u32 = 9;
/// EFI service: QueryCapsuleCapabilities.
pub const XEN_EFI_query_capsule_capabilities: u32 = 10;
/// EFI service: UpdateCapsule.
pub const XEN_EFI_update_capsule: u32 = 11;

/// `struct xenpf_efi_time`: EFI_TIME.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEfiTime {
    /// Year.
    pub year: u16,
    /// Month (1-12).
    pub month: u8,
    /// Day (1-31).
    pub day: u8,
    /// Hour.
    pub hour: u8,
    /// Minute.
    pub min: u8,
    /// Second.
    pub sec: u8,
    /// Nanosecond.
    pub ns: u32,
    /// Time zone offset in minutes.
    pub tz: i16,
    /// Daylight-saving flags.
    pub daylight: u8,
}
impl_pod!(XenpfEfiTime);

/// `struct xenpf_efi_guid`: an EFI GUID.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEfiGuid {
    /// First field.
    pub data1: u32,
    /// Second field.
    pub data2: u16,
    /// Third field.
    pub data3: u16,
    /// Last eight bytes.
    pub data4: [u8; 8],
}
impl_pod!(XenpfEfiGuid);

/// Arguments of `XEN_EFI_get_time`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEfiGetTime {
    /// Output: the time.
    pub time: XenpfEfiTime,
    /// Output: clock resolution.
    pub resolution: u32,
    /// Output: clock accuracy.
    pub accuracy: u32,
}
impl_pod!(XenpfEfiGetTime);

/// Arguments of `XEN_EFI_get_variable` and `XEN_EFI_set_variable`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEfiVariable {
    /// UCS-2 variable name.
    pub name: GuestHandle<u8>,
    /// Size of `data`.
    pub size: XenUlong,
    /// Variable contents.
    pub data: GuestHandle<u8>,
    /// Vendor GUID.
    pub vendor_guid: XenpfEfiGuid,
}
impl_pod!(XenpfEfiVariable);

/// Arguments of `XEN_EFI_get_next_variable_name`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEfiGetNextVariableName {
    /// Size of `name`.
    pub size: XenUlong,
    /// In: previous name; out: next name.
    pub name: GuestHandle<u8>,
    /// Vendor GUID.
    pub vendor_guid: XenpfEfiGuid,
}
impl_pod!(XenpfEfiGetNextVariableName);

/// Arguments of `XEN_EFI_query_variable_info`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEfiQueryVariableInfo {
    /// Attributes to query for.
    pub attr: u32,
    /// Output: total storage.
    pub max_store_size: u64,
    /// Output: free storage.
    pub remain_store_size: u64,
    /// Output: largest variable.
    pub max_size: u64,
}
impl_pod!(XenpfEfiQueryVariableInfo);

/// Arguments of `XEN_EFI_query_capsule_capabilities`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEfiQueryCapsuleCapabilities {
    /// Array of capsule headers.
    pub capsule_header_array: GuestHandle<u8>,
    /// Number of capsules.
    pub capsule_count: XenUlong,
    /// Output: maximum capsule size.
    pub max_capsule_size: u64,
    /// Output: reset type needed.
    pub reset_type: u32,
}
impl_pod!(XenpfEfiQueryCapsuleCapabilities);

/// Arguments of `XEN_EFI_update_capsule`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEfiUpdateCapsule {
    /// Array of capsule headers.
    pub capsule_header_array: GuestHandle<u8>,
    /// Number of capsules.
    pub capsule_count: XenUlong,
    /// Physical address of the scatter-gather list.
    pub sg_list: u64,
}
impl_pod!(XenpfEfiUpdateCapsule);

/// The per-service argument union of `xenpf_efi_runtime_call`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenpfEfiRuntimeCallArgs {
    /// `XEN_EFI_get_time`.
    pub get_time: XenpfEfiGetTime,
    /// `XEN_EFI_set_time`.
    pub set_time: XenpfEfiTime,
    /// `XEN_EFI_get_wakeup_time`.
    pub get_wakeup_time: XenpfEfiTime,
    /// `XEN_EFI_set_wakeup_time`.
    pub set_wakeup_time: XenpfEfiTime,
    /// `XEN_EFI_get_variable`.
    pub get_variable: XenpfEfiVariable,
    /// `XEN_EFI_set_variable`.
    pub set_variable: XenpfEfiVariable,
    /// `XEN_EFI_get_next_variable_name`.
    pub get_next_variable_name: XenpfEfiGetNextVariableName,
    /// `XEN_EFI_query_variable_info`.
    pub query_variable_info: XenpfEfiQueryVariableInfo,
    /// `XEN_EFI_query_capsule_capabilities`.
    pub query_capsule_capabilities: XenpfEfiQueryCapsuleCapabilities,
    /// `XEN_EFI_update_capsule`.
    pub update_capsule: XenpfEfiUpdateCapsule,
}
pod_union!(XenpfEfiRuntimeCallArgs);

/// `struct xenpf_efi_runtime_call`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct XenpfEfiRuntimeCall {
    /// `XEN_EFI_*`.
    pub function: u32,
    /// Service-specific flags.
    pub misc: u32,
    /// Output: EFI status.
    pub status: XenUlong,
    /// Service arguments.
    pub u: XenpfEfiRuntimeCallArgs,
}
impl_pod!(XenpfEfiRuntimeCall);

// ---------------------------------------------------------------------------
// Firmware information
// ---------------------------------------------------------------------------

/// Firmware info: EDD disk information.
pub const XEN_FW_DISK_INFO: u32 = 1;
/// Firmware info: MBR signature of a disk.
pub const XEN_FW_DISK_MBR_SIGNATURE: u32 = 2;
/// Firmware info: VBE DDC (EDID) data.
pub const XEN_FW_VBEDDC_INFO: u32 = 3;
/// Firmware info: EFI information (sub-index in `index`).
pub const XEN_FW_EFI_INFO: u32 = 4;
/// EFI info index: firmware version.
pub const XEN_FW_EFI_VERSION: u32 = 0;
/// EFI info index: configuration table.
pub const XEN_FW_EFI_CONFIG_TABLE: u32 = 1;
/// EFI info index: vendor string.
pub const XEN_FW_EFI_VENDOR: u32 = 2;
/// EFI info index: memory map entry.
pub const XEN_FW_EFI_MEM_INFO: u32 = 3;
/// EFI info index: runtime services version.
pub const XEN_FW_EFI_RT_VERSION: u32 = 4;
/// EFI info index: PCI option ROM.
pub const XEN_FW_EFI_PCI_ROM: u32 = 5;
/// EFI info index: Apple device properties.
pub const XEN_FW_EFI_APPLE_PROPERTIES: u32 = 6;
/// Firmware info: BIOS keyboard shift flags.
pub const XEN_FW_KBD_SHIFT_FLAGS: u32 = 5;

/// `xenpf_firmware_info.u.disk_info`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfDiskInfo {
    /// BIOS drive number.
    pub device: u8,
    /// EDD version.
    pub version: u8,
    /// EDD interface support bits.
    pub interface_support: u16,
    /// Legacy maximum cylinder.
    pub legacy_max_cylinder: u16,
    /// Legacy maximum head.
    pub legacy_max_head: u8,
    /// Legacy sectors per track.
    pub legacy_sectors_per_track: u8,
    /// Buffer for the EDD parameters.
    pub edd_params: GuestHandle<u8>,
}
impl_pod!(XenpfDiskInfo);

/// `xenpf_firmware_info.u.disk_mbr_signature`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfDiskMbrSignature {
    /// BIOS drive number.
    pub device: u8,
    /// MBR signature.
    pub mbr_signature: u32,
}
impl_pod!(XenpfDiskMbrSignature);

/// `xenpf_firmware_info.u.vbeddc_info`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfVbeddcInfo {
    /// DDC capabilities.
    pub capabilities: u8,
    /// EDID transfer time.
    pub edid_transfer_time: u8,
    /// Buffer for the 128-byte EDID block.
    pub edid: GuestHandle<u8>,
}
impl_pod!(XenpfVbeddcInfo);

/// `xenpf_efi_info.cfg`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEfiInfoCfg {
    /// Address of the configuration table.
    pub addr: u64,
    /// Number of entries.
    pub nent: u32,
}
impl_pod!(XenpfEfiInfoCfg);

/// `xenpf_efi_info.vendor`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEfiInfoVendor {
    /// Firmware revision.
    pub revision: u32,
    /// Size of `name`.
    pub bufsz: u32,
    /// UCS-2 vendor name.
    pub name: GuestHandle<u8>,
}
impl_pod!(XenpfEfiInfoVendor);

/// `xenpf_efi_info.mem`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEfiInfoMem {
    /// Start address.
    pub addr: u64,
    /// Size.
    pub size: u64,
    /// EFI attributes.
    pub attr: u64,
    /// EFI memory type.
    pub r#type: u32,
}
impl_pod!(XenpfEfiInfoMem);

/// `xenpf_efi_info.pci_rom`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEfiInfoPciRom {
    /// PCI segment.
    pub segment: u16,
    /// Bus.
    pub bus: u8,
    /// Device/function.
    pub devfn: u8,
    /// Vendor id.
    pub vendor: u16,
    /// Device id.
    pub devid: u16,
    /// Address of the ROM image.
    pub address: u64,
    /// Size of the ROM image.
    pub size: XenUlong,
}
impl_pod!(XenpfEfiInfoPciRom);

/// `xenpf_efi_info.apple_properties`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEfiInfoAppleProperties {
    /// Address of the properties.
    pub address: u64,
    /// Their size.
    pub size: XenUlong,
}
impl_pod!(XenpfEfiInfoAppleProperties);

/// `union xenpf_efi_info`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenpfEfiInfo {
    /// `XEN_FW_EFI_VERSION` / `XEN_FW_EFI_RT_VERSION`.
    pub version: u32,
    /// `XEN_FW_EFI_CONFIG_TABLE`.
    pub cfg: XenpfEfiInfoCfg,
    /// `XEN_FW_EFI_VENDOR`.
    pub vendor: XenpfEfiInfoVendor,
    /// `XEN_FW_EFI_MEM_INFO`.
    pub mem: XenpfEfiInfoMem,
    /// `XEN_FW_EFI_PCI_ROM`.
    pub pci_rom: XenpfEfiInfoPciRom,
    /// `XEN_FW_EFI_APPLE_PROPERTIES`.
    pub apple_properties: XenpfEfiInfoAppleProperties,
}
pod_union!(XenpfEfiInfo);

/// The type-specific union of `xenpf_firmware_info`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenpfFirmwareInfoArgs {
    /// `XEN_FW_DISK_INFO`.
    pub disk_info: XenpfDiskInfo,
    /// `XEN_FW_DISK_MBR_SIGNATURE`.
    pub disk_mbr_signature: XenpfDiskMbrSignature,
    /// `XEN_FW_VBEDDC_INFO`.
    pub vbeddc_info: XenpfVbeddcInfo,
    /// `XEN_FW_EFI_INFO`.
    pub efi_info: XenpfEfiInfo,
    /// `XEN_FW_KBD_SHIFT_FLAGS`.
    pub kbd_shift_flags: u8,
}
pod_union!(XenpfFirmwareInfoArgs);

/// `struct xenpf_firmware_info`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct XenpfFirmwareInfo {
    /// `XEN_FW_*`.
    pub r#type: u32,
    /// Which item (disk number, EFI sub-index, ...).
    pub index: u32,
    /// Output.
    pub u: XenpfFirmwareInfoArgs,
}
impl_pod!(XenpfFirmwareInfo);

// ---------------------------------------------------------------------------
// Power management and cpu control
// ---------------------------------------------------------------------------

/// `xenpf_enter_acpi_sleep.flags`: `val_a`/`val_b` are for the extended sleep registers.
pub const XENPF_ACPI_SLEEP_EXTENDED: u32 = 0x0000_0001;

/// `struct xenpf_enter_acpi_sleep`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfEnterAcpiSleep {
    /// PM1a control (or sleep control) value.
    pub val_a: u16,
    /// PM1b control (or sleep type) value.
    pub val_b: u16,
    /// ACPI S-state.
    pub sleep_state: u32,
    /// `XENPF_ACPI_SLEEP_*`.
    pub flags: u32,
}
impl_pod!(XenpfEnterAcpiSleep);

/// `struct xenpf_change_freq`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfChangeFreq {
    /// Must be zero.
    pub flags: u32,
    /// Physical cpu.
    pub cpu: u32,
    /// New frequency in Hz.
    pub freq: u64,
}
impl_pod!(XenpfChangeFreq);

/// `struct xenpf_getidletime`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfGetidletime {
    /// In/out: bitmap of cpus.
    pub cpumap_bitmap: GuestHandle<u8>,
    /// Number of cpus the bitmap covers.
    pub cpumap_nr_cpus: u32,
    /// Output: idle ns per cpu.
    pub idletime: GuestHandle<u64>,
    /// Output: system time of the sample.
    pub now: u64,
}
impl_pod!(XenpfGetidletime);

/// `set_processor_pminfo` type bit: C-states.
pub const XEN_PROCESSOR_PM_CX: u32 = 1;
/// `set_processor_pminfo` type bit: P-states.
pub const XEN_PROCESSOR_PM_PX: u32 = 2;
/// `set_processor_pminfo` type bit: T-states.
pub const XEN_PROCESSOR_PM_TX: u32 = 4;
/// `xenpf_set_processor_pminfo.type`: C-state data.
pub const XEN_PM_CX: u32 = 0;
/// `xenpf_set_processor_pminfo.type`: P-state data.
pub const XEN_PM_PX: u32 = 1;
/// `xenpf_set_processor_pminfo.type`: T-state data.
pub const XEN_PM_TX: u32 = 2;
/// `xenpf_set_processor_pminfo.type`: _PDC evaluation.
pub const XEN_PM_PDC: u32 = 3;
/// `xen_processor_performance.flags`: `_PCT` present.
pub const XEN_PX_PCT: u32 = 1;
/// `xen_processor_performance.flags`: `_PSS` present.
pub const XEN_PX_PSS: u32 = 2;
/// `xen_processor_performance.flags`: `_PPC` present.
pub const XEN_PX_PPC: u32 = 4;
/// `xen_processor_performance.flags`: `_PSD` present.
pub const XEN_PX_PSD: u32 = 8;
/// `_PSD` coordination: hardware.
pub const XEN_CPUPERF_SHARED_TYPE_HW: u32 = 1;
/// `_PSD` coordination: all cpus.
pub const XEN_CPUPERF_SHARED_TYPE_ALL: u32 = 2;
/// `_PSD` coordination: any cpu.
pub const XEN_CPUPERF_SHARED_TYPE_ANY: u32 = 3;

/// `struct xen_power_register`: an ACPI generic address.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenPowerRegister {
    /// Address space id.
    pub space_id: u32,
    /// Register width in bits.
    pub bit_width: u32,
    /// Bit offset.
    pub bit_offset: u32,
    /// Access size.
    pub access_size: u32,
    /// Address.
    pub address: u64,
}
impl_pod!(XenPowerRegister);

/// `struct xen_processor_csd`: C-state dependency.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenProcessorCsd {
    /// Dependency domain.
    pub domain: u32,
    /// Coordination type.
    pub coord_type: u32,
    /// Number of processors in the domain.
    pub num: u32,
}
impl_pod!(XenProcessorCsd);

/// `struct xen_processor_cx`: one C-state.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenProcessorCx {
    /// Entry register.
    pub reg: XenPowerRegister,
    /// C-state type (1, 2, 3).
    pub r#type: u8,
    /// Worst-case latency in µs.
    pub latency: u32,
    /// Average power in mW.
    pub power: u32,
    /// Number of dependency entries.
    pub dpcnt: u32,
    /// Dependency entries.
    pub dp: GuestHandle<XenProcessorCsd>,
}
impl_pod!(XenProcessorCx);

/// `struct xen_processor_flags`: a 32-bit word of bit-fields.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenProcessorFlags {
    /// Bit 0 `bm_control`, 1 `bm_check`, 2 `has_cst`, 3 `power_setup_done`, 4 `bm_rld_set`.
    pub bits: u32,
}
impl_pod!(XenProcessorFlags);

/// `struct xen_processor_power`: the C-states of one processor.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenProcessorPower {
    /// Number of C-states.
    pub count: u32,
    /// Capability bits.
    pub flags: XenProcessorFlags,
    /// The C-states.
    pub states: GuestHandle<XenProcessorCx>,
}
impl_pod!(XenProcessorPower);

/// `struct xen_pct_register`: an ACPI `_PCT` register.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenPctRegister {
    /// Descriptor type.
    pub descriptor: u8,
    /// Length.
    pub length: u16,
    /// Address space id.
    pub space_id: u8,
    /// Width in bits.
    pub bit_width: u8,
    /// Bit offset.
    pub bit_offset: u8,
    /// Reserved.
    pub reserved: u8,
    /// Address.
    pub address: u64,
}
impl_pod!(XenPctRegister);

/// `struct xen_processor_px`: one P-state.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenProcessorPx {
    /// Frequency in MHz.
    pub core_frequency: u64,
    /// Power in mW.
    pub power: u64,
    /// Transition latency in µs.
    pub transition_latency: u64,
    /// Bus-master latency in µs.
    pub bus_master_latency: u64,
    /// Value to write to the control register.
    pub control: u64,
    /// Value the status register shows.
    pub status: u64,
}
impl_pod!(XenProcessorPx);

/// `struct xen_psd_package`: ACPI `_PSD`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenPsdPackage {
    /// Number of entries.
    pub num_entries: u64,
    /// Revision.
    pub revision: u64,
    /// Dependency domain.
    pub domain: u64,
    /// Coordination type.
    pub coord_type: u64,
    /// Number of processors.
    pub num_processors: u64,
}
impl_pod!(XenPsdPackage);

/// `struct xen_processor_performance`: P-state data of one processor.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenProcessorPerformance {
    /// `XEN_PX_*` presence bits.
    pub flags: u32,
    /// `_PPC` limit.
    pub platform_limit: u32,
    /// `_PCT` control register.
    pub control_register: XenPctRegister,
    /// `_PCT` status register.
    pub status_register: XenPctRegister,
    /// Number of P-states.
    pub state_count: u32,
    /// The P-states.
    pub states: GuestHandle<XenProcessorPx>,
    /// `_PSD`.
    pub domain_info: XenPsdPackage,
    /// `XEN_CPUPERF_SHARED_TYPE_*`.
    pub shared_type: u32,
}
impl_pod!(XenProcessorPerformance);

/// The type-specific union of `xenpf_set_processor_pminfo`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenpfPminfoArgs {
    /// `XEN_PM_CX`.
    pub power: XenProcessorPower,
    /// `XEN_PM_PX`.
    pub perf: XenProcessorPerformance,
    /// `XEN_PM_PDC`: the `_PDC` buffer.
    pub pdc: GuestHandle<u32>,
}
pod_union!(XenpfPminfoArgs);

/// `struct xenpf_set_processor_pminfo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct XenpfSetProcessorPminfo {
    /// ACPI processor id.
    pub id: u32,
    /// `XEN_PM_*`.
    pub r#type: u32,
    /// Data.
    pub u: XenpfPminfoArgs,
}
impl_pod!(XenpfSetProcessorPminfo);

/// `xenpf_pcpuinfo.flags`: the cpu is online.
pub const XEN_PCPU_FLAGS_ONLINE: u32 = 1;
/// `xenpf_pcpuinfo.flags`: no such cpu.
pub const XEN_PCPU_FLAGS_INVALID: u32 = 2;

/// `struct xenpf_pcpuinfo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfPcpuinfo {
    /// Xen's cpu number.
    pub xen_cpuid: u32,
    /// Output: highest present cpu number.
    pub max_present: u32,
    /// Output: `XEN_PCPU_FLAGS_*`.
    pub flags: u32,
    /// Output: APIC id.
    pub apic_id: u32,
    /// Output: ACPI id.
    pub acpi_id: u32,
}
impl_pod!(XenpfPcpuinfo);

/// `struct xenpf_pcpu_version`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfPcpuVersion {
    /// Xen's cpu number.
    pub xen_cpuid: u32,
    /// Output: highest present cpu number.
    pub max_present: u32,
    /// Output: CPUID vendor string.
    pub vendor_id: [u8; 12],
    /// Output: family.
    pub family: u32,
    /// Output: model.
    pub model: u32,
    /// Output: stepping.
    pub stepping: u32,
}
impl_pod!(XenpfPcpuVersion);

/// `struct xenpf_cpu_ol`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfCpuOl {
    /// Xen's cpu number.
    pub cpuid: u32,
}
impl_pod!(XenpfCpuOl);

/// `struct xenpf_cpu_hotadd`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfCpuHotadd {
    /// APIC id.
    pub apic_id: u32,
    /// ACPI id.
    pub acpi_id: u32,
    /// Proximity domain.
    pub pxm: u32,
}
impl_pod!(XenpfCpuHotadd);

/// `struct xenpf_mem_hotadd`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfMemHotadd {
    /// First frame.
    pub spfn: u64,
    /// Frame after the last.
    pub epfn: u64,
    /// Proximity domain.
    pub pxm: u32,
    /// Flags.
    pub flags: u32,
}
impl_pod!(XenpfMemHotadd);

/// Core parking: set the number of idle cores.
pub const XEN_CORE_PARKING_SET: u32 = 1;
/// Core parking: get the number of idle cores.
pub const XEN_CORE_PARKING_GET: u32 = 2;

/// `struct xenpf_core_parking`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfCoreParking {
    /// `XEN_CORE_PARKING_*`.
    pub r#type: u32,
    /// Number of cores to park / parked.
    pub idle_nums: u32,
}
impl_pod!(XenpfCoreParking);

/// Resource op: read an MSR.
pub const XEN_RESOURCE_OP_MSR_READ: u32 = 0;
/// Resource op: write an MSR.
pub const XEN_RESOURCE_OP_MSR_WRITE: u32 = 1;

/// `struct xenpf_resource_entry`. The C union `u` is the command on input
/// and the (signed) result on output.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfResourceEntry {
    /// In: `XEN_RESOURCE_OP_*`; out: result as `i32`.
    pub u: u32,
    /// Reserved.
    pub rsvd: u32,
    /// MSR index.
    pub idx: u64,
    /// Value read or written.
    pub val: u64,
}
impl_pod!(XenpfResourceEntry);

/// `struct xenpf_resource_op`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfResourceOp {
    /// Number of entries.
    pub nr_entries: u32,
    /// Physical cpu to run on.
    pub cpu: u32,
    /// The entries.
    pub entries: GuestHandle<XenpfResourceEntry>,
}
impl_pod!(XenpfResourceOp);

/// `struct xenpf_symdata`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenpfSymdata {
    /// In: size of `name`; out: length of the name.
    pub namelen: u32,
    /// In: symbol index; out: next index.
    pub symnum: u32,
    /// Output buffer for the name.
    pub name: GuestHandle<u8>,
    /// Output: address.
    pub address: u64,
    /// Output: nm-style type letter.
    pub r#type: u8,
}
impl_pod!(XenpfSymdata);

/// The command-specific union of `xen_platform_op` (128 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub union XenPlatformOpArgs {
    /// `XENPF_settime64` (the current `settime`).
    pub settime: XenpfSettime64,
    /// `XENPF_settime32`.
    pub settime32: XenpfSettime32,
    /// `XENPF_settime64`.
    pub settime64: XenpfSettime64,
    /// `XENPF_add_memtype`.
    pub add_memtype: XenpfAddMemtype,
    /// `XENPF_del_memtype`.
    pub del_memtype: XenpfDelMemtype,
    /// `XENPF_read_memtype`.
    pub read_memtype: XenpfReadMemtype,
    /// `XENPF_microcode_update`.
    pub microcode: XenpfMicrocodeUpdate,
    /// `XENPF_platform_quirk`.
    pub platform_quirk: XenpfPlatformQuirk,
    /// `XENPF_efi_runtime_call`.
    pub efi_runtime_call: XenpfEfiRuntimeCall,
    /// `XENPF_firmware_info`.
    pub firmware_info: XenpfFirmwareInfo,
    /// `XENPF_enter_acpi_sleep`.
    pub enter_acpi_sleep: XenpfEnterAcpiSleep,
    /// `XENPF_change_freq`.
    pub change_freq: XenpfChangeFreq,
    /// `XENPF_getidletime`.
    pub getidletime: XenpfGetidletime,
    /// `XENPF_set_processor_pminfo`.
    pub set_pminfo: XenpfSetProcessorPminfo,
    /// `XENPF_get_cpuinfo`.
    pub pcpu_info: XenpfPcpuinfo,
    /// `XENPF_get_cpu_version`.
    pub pcpu_version: XenpfPcpuVersion,
    /// `XENPF_cpu_online` / `XENPF_cpu_offline`.
    pub cpu_ol: XenpfCpuOl,
    /// `XENPF_cpu_hotadd`.
    pub cpu_add: XenpfCpuHotadd,
    /// `XENPF_mem_hotadd`.
    pub mem_add: XenpfMemHotadd,
    /// `XENPF_core_parking`.
    pub core_parking: XenpfCoreParking,
    /// `XENPF_resource_op`.
    pub resource_op: XenpfResourceOp,
    /// `XENPF_get_symbol`.
    pub symdata: XenpfSymdata,
    /// Sizing member.
    pub pad: [u8; 128],
}
pod_union!(XenPlatformOpArgs);

/// `struct xen_platform_op`: the single argument of `HYPERVISOR_platform_op`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct XenPlatformOp {
    /// `XENPF_*`.
    pub cmd: u32,
    /// Must be `XENPF_INTERFACE_VERSION`.
    pub interface_version: u32,
    /// Command argument.
    pub u: XenPlatformOpArgs,
}
impl_pod!(XenPlatformOp);

impl XenPlatformOp {
    /// A zeroed operation for `cmd` with the right interface version.
    pub fn new(cmd: PlatformOpCmd) -> Self {
        XenPlatformOp { cmd: cmd.raw(), interface_version: XENPF_INTERFACE_VERSION, ..Default::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(PlatformOpCmd::try_from(XENPF_settime), Ok(PlatformOpCmd::Settime64));
        for bad in [0u32, 30, 34, 64] {
            assert!(PlatformOpCmd::try_from(bad).is_err(), "{bad}");
        }
        let op = XenPlatformOp::new(PlatformOpCmd::GetCpuinfo);
        assert_eq!(op.interface_version, XENPF_INTERFACE_VERSION);
        assert_eq!(op.cmd, XENPF_get_cpuinfo);
    }
}
