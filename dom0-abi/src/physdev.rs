//! `HYPERVISOR_physdev_op` (`physdev.h`): what a Linux dom0 uses to manage
//! physical IRQs, I/O privilege, MSI and PCI devices.

use crate::types::{DomId, GuestHandle, XenPfn};

/// Tell Xen a physical IRQ was handled (`physdev_eoi`).
pub const PHYSDEVOP_eoi: u32 = 12;
/// Register a page of EOI bits, old semantics (`physdev_pirq_eoi_gmfn`).
pub const PHYSDEVOP_pirq_eoi_gmfn_v1: u32 = 17;
/// Register a page of EOI bits (`physdev_pirq_eoi_gmfn`).
pub const PHYSDEVOP_pirq_eoi_gmfn_v2: u32 = 28;
/// The current name of the EOI-page command.
pub const PHYSDEVOP_pirq_eoi_gmfn: u32 = PHYSDEVOP_pirq_eoi_gmfn_v2;
/// Ask whether an IRQ needs an EOI (`physdev_irq_status_query`).
pub const PHYSDEVOP_irq_status_query: u32 = 5;
/// Set the I/O privilege level (`physdev_set_iopl`).
pub const PHYSDEVOP_set_iopl: u32 = 6;
/// Set the I/O port permission bitmap (`physdev_set_iobitmap`).
pub const PHYSDEVOP_set_iobitmap: u32 = 7;
/// Read an IO-APIC register (`physdev_apic`).
pub const PHYSDEVOP_apic_read: u32 = 8;
/// Write an IO-APIC register (`physdev_apic`).
pub const PHYSDEVOP_apic_write: u32 = 9;
/// Allocate a vector for an IRQ (`physdev_irq`).
pub const PHYSDEVOP_alloc_irq_vector: u32 = 10;
/// Free an IRQ's vector (`physdev_irq`).
pub const PHYSDEVOP_free_irq_vector: u32 = 11;
/// Map a GSI or MSI to a pirq (`physdev_map_pirq`).
pub const PHYSDEVOP_map_pirq: u32 = 13;
/// Unmap a pirq (`physdev_unmap_pirq`).
pub const PHYSDEVOP_unmap_pirq: u32 = 14;
/// Report a PCI device, old form (`physdev_manage_pci`).
pub const PHYSDEVOP_manage_pci_add: u32 = 15;
/// Remove a PCI device, old form (`physdev_manage_pci`).
pub const PHYSDEVOP_manage_pci_remove: u32 = 16;
/// Restore a device's MSI state after resume (`physdev_restore_msi`).
pub const PHYSDEVOP_restore_msi: u32 = 19;
/// Report a PCI device with SR-IOV details (`physdev_manage_pci_ext`).
pub const PHYSDEVOP_manage_pci_add_ext: u32 = 20;
/// Set a GSI's trigger mode and polarity (`physdev_setup_gsi`).
pub const PHYSDEVOP_setup_gsi: u32 = 21;
/// Allocate an unused pirq (`physdev_get_free_pirq`).
pub const PHYSDEVOP_get_free_pirq: u32 = 23;
/// Report an MMCONFIG region (`physdev_pci_mmcfg_reserved`).
pub const PHYSDEVOP_pci_mmcfg_reserved: u32 = 24;
/// Report a PCI device (`physdev_pci_device_add`).
pub const PHYSDEVOP_pci_device_add: u32 = 25;
/// Remove a PCI device (`physdev_pci_device`).
pub const PHYSDEVOP_pci_device_remove: u32 = 26;
/// Restore MSI state, with segment (`physdev_pci_device`).
pub const PHYSDEVOP_restore_msi_ext: u32 = 27;
/// USB debug-port operations (`physdev_dbgp_op`).
pub const PHYSDEVOP_dbgp_op: u32 = 29;
/// Let Xen set up a device's MSI-X table (`physdev_pci_device`).
pub const PHYSDEVOP_prepare_msix: u32 = 30;
/// Undo `PHYSDEVOP_prepare_msix` (`physdev_pci_device`).
pub const PHYSDEVOP_release_msix: u32 = 31;
/// Obsolete: ask Xen to unmask an IRQ (no argument).
pub const PHYSDEVOP_IRQ_UNMASK_NOTIFY: u32 = 4;

xen_enum! {
    /// A `physdev_op` command (C: `PHYSDEVOP_*`).
    pub enum PhysdevOp: u32 {
        /// `PHYSDEVOP_IRQ_UNMASK_NOTIFY`.
        IrqUnmaskNotify = PHYSDEVOP_IRQ_UNMASK_NOTIFY,
        /// `PHYSDEVOP_irq_status_query`.
        IrqStatusQuery = PHYSDEVOP_irq_status_query,
        /// `PHYSDEVOP_set_iopl`.
        SetIopl = PHYSDEVOP_set_iopl,
        /// `PHYSDEVOP_set_iobitmap`.
        SetIobitmap = PHYSDEVOP_set_iobitmap,
        /// `PHYSDEVOP_apic_read`.
        ApicRead = PHYSDEVOP_apic_read,
        /// `PHYSDEVOP_apic_write`.
        ApicWrite = PHYSDEVOP_apic_write,
        /// `PHYSDEVOP_alloc_irq_vector`.
        AllocIrqVector = PHYSDEVOP_alloc_irq_vector,
        /// `PHYSDEVOP_free_irq_vector`.
        FreeIrqVector = PHYSDEVOP_free_irq_vector,
        /// `PHYSDEVOP_eoi`.
        Eoi = PHYSDEVOP_eoi,
        /// `PHYSDEVOP_map_pirq`.
        MapPirq = PHYSDEVOP_map_pirq,
        /// `PHYSDEVOP_unmap_pirq`.
        UnmapPirq = PHYSDEVOP_unmap_pirq,
        /// `PHYSDEVOP_manage_pci_add`.
        ManagePciAdd = PHYSDEVOP_manage_pci_add,
        /// `PHYSDEVOP_manage_pci_remove`.
        ManagePciRemove = PHYSDEVOP_manage_pci_remove,
        /// `PHYSDEVOP_pirq_eoi_gmfn_v1`.
        PirqEoiGmfnV1 = PHYSDEVOP_pirq_eoi_gmfn_v1,
        /// `PHYSDEVOP_restore_msi`.
        RestoreMsi = PHYSDEVOP_restore_msi,
        /// `PHYSDEVOP_manage_pci_add_ext`.
        ManagePciAddExt = PHYSDEVOP_manage_pci_add_ext,
        /// `PHYSDEVOP_setup_gsi`.
        SetupGsi = PHYSDEVOP_setup_gsi,
        /// `PHYSDEVOP_get_free_pirq`.
        GetFreePirq = PHYSDEVOP_get_free_pirq,
        /// `PHYSDEVOP_pci_mmcfg_reserved`.
        PciMmcfgReserved = PHYSDEVOP_pci_mmcfg_reserved,
        /// `PHYSDEVOP_pci_device_add`.
        PciDeviceAdd = PHYSDEVOP_pci_device_add,
        /// `PHYSDEVOP_pci_device_remove`.
        PciDeviceRemove = PHYSDEVOP_pci_device_remove,
        /// `PHYSDEVOP_restore_msi_ext`.
        RestoreMsiExt = PHYSDEVOP_restore_msi_ext,
        /// `PHYSDEVOP_pirq_eoi_gmfn_v2`.
        PirqEoiGmfnV2 = PHYSDEVOP_pirq_eoi_gmfn_v2,
        /// `PHYSDEVOP_dbgp_op`.
        DbgpOp = PHYSDEVOP_dbgp_op,
        /// `PHYSDEVOP_prepare_msix`.
        PrepareMsix = PHYSDEVOP_prepare_msix,
        /// `PHYSDEVOP_release_msix`.
        ReleaseMsix = PHYSDEVOP_release_msix,
    }
}

/// `struct physdev_eoi`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevEoi {
    /// The pirq being acknowledged.
    pub irq: u32,
}
impl_pod!(PhysdevEoi);

/// `struct physdev_pirq_eoi_gmfn`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevPirqEoiGmfn {
    /// Guest frame holding the EOI bitmap.
    pub gmfn: XenPfn,
}
impl_pod!(PhysdevPirqEoiGmfn);

/// Bit number of `XENIRQSTAT_needs_eoi`.
pub const _XENIRQSTAT_needs_eoi: u32 = 0;
/// The IRQ needs `PHYSDEVOP_eoi` after handling.
pub const XENIRQSTAT_needs_eoi: u32 = 1 << _XENIRQSTAT_needs_eoi;
/// Bit number of `XENIRQSTAT_shared`.
pub const _XENIRQSTAT_shared: u32 = 1;
/// The IRQ is shared with other domains.
pub const XENIRQSTAT_shared: u32 = 1 << _XENIRQSTAT_shared;

/// `struct physdev_irq_status_query`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevIrqStatusQuery {
    /// The pirq.
    pub irq: u32,
    /// Output: `XENIRQSTAT_*`.
    pub flags: u32,
}
impl_pod!(PhysdevIrqStatusQuery);

/// `struct physdev_set_iopl`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevSetIopl {
    /// New I/O privilege level (0-3).
    pub iopl: u32,
}
impl_pod!(PhysdevSetIopl);

/// `struct physdev_set_iobitmap`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevSetIobitmap {
    /// Bitmap address (a set bit denies the port, like the TSS bitmap).
    pub bitmap: GuestHandle<u8>,
    /// Number of ports the bitmap covers.
    pub nr_ports: u32,
}
impl_pod!(PhysdevSetIobitmap);

/// `struct physdev_apic`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevApic {
    /// Physical base address of the IO-APIC.
    pub apic_physbase: u64,
    /// Register index.
    pub reg: u32,
    /// Value read or to write.
    pub value: u32,
}
impl_pod!(PhysdevApic);

/// `struct physdev_irq`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevIrq {
    /// IRQ.
    pub irq: u32,
    /// Vector (output of alloc, input of free).
    pub vector: u32,
}
impl_pod!(PhysdevIrq);

/// `physdev_map_pirq.type`: MSI.
pub const MAP_PIRQ_TYPE_MSI: i32 = 0x0;
/// `physdev_map_pirq.type`: GSI.
pub const MAP_PIRQ_TYPE_GSI: i32 = 0x1;
/// `physdev_map_pirq.type`: unknown.
pub const MAP_PIRQ_TYPE_UNKNOWN: i32 = 0x2;
/// `physdev_map_pirq.type`: MSI with a PCI segment in `bus` bits 16+.
pub const MAP_PIRQ_TYPE_MSI_SEG: i32 = 0x3;
/// `physdev_map_pirq.type`: multi-vector MSI.
pub const MAP_PIRQ_TYPE_MULTI_MSI: i32 = 0x4;

/// `struct physdev_map_pirq`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevMapPirq {
    /// Domain getting the pirq.
    pub domid: DomId,
    /// `MAP_PIRQ_TYPE_*`.
    pub r#type: i32,
    /// GSI number, or MSI entry index.
    pub index: i32,
    /// In: wanted pirq (or -1); out: the pirq.
    pub pirq: i32,
    /// PCI bus (MSI).
    pub bus: i32,
    /// PCI device/function (MSI).
    pub devfn: i32,
    /// MSI-X entry or number of MSI vectors.
    pub entry_nr: i32,
    /// MSI-X table base.
    pub table_base: u64,
}
impl_pod!(PhysdevMapPirq);

/// `struct physdev_unmap_pirq`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevUnmapPirq {
    /// Domain owning the pirq.
    pub domid: DomId,
    /// The pirq.
    pub pirq: i32,
}
impl_pod!(PhysdevUnmapPirq);

/// `struct physdev_manage_pci`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevManagePci {
    /// Bus.
    pub bus: u8,
    /// Device/function.
    pub devfn: u8,
}
impl_pod!(PhysdevManagePci);

/// `struct physdev_restore_msi`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevRestoreMsi {
    /// Bus.
    pub bus: u8,
    /// Device/function.
    pub devfn: u8,
}
impl_pod!(PhysdevRestoreMsi);

/// The bus/devfn pair naming a physical function.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevPhysfn {
    /// Bus.
    pub bus: u8,
    /// Device/function.
    pub devfn: u8,
}
impl_pod!(PhysdevPhysfn);

/// `struct physdev_manage_pci_ext`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevManagePciExt {
    /// Bus.
    pub bus: u8,
    /// Device/function.
    pub devfn: u8,
    /// Non-zero for an extended function (ARI).
    pub is_extfn: u32,
    /// Non-zero for an SR-IOV virtual function.
    pub is_virtfn: u32,
    /// The parent physical function of a virtual function.
    pub physfn: PhysdevPhysfn,
}
impl_pod!(PhysdevManagePciExt);

/// The argument union of the compat `physdev_op`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union PhysdevOpArgs {
    /// `PHYSDEVOP_irq_status_query`.
    pub irq_status_query: PhysdevIrqStatusQuery,
    /// `PHYSDEVOP_set_iopl`.
    pub set_iopl: PhysdevSetIopl,
    /// `PHYSDEVOP_set_iobitmap`.
    pub set_iobitmap: PhysdevSetIobitmap,
    /// `PHYSDEVOP_apic_read` / `PHYSDEVOP_apic_write`.
    pub apic_op: PhysdevApic,
    /// `PHYSDEVOP_alloc_irq_vector` / `PHYSDEVOP_free_irq_vector`.
    pub irq_op: PhysdevIrq,
}
pod_union!(PhysdevOpArgs);

/// `struct physdev_op`: the single argument of `physdev_op_compat`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct PhysdevOpCompat {
    /// `PHYSDEVOP_*`.
    pub cmd: u32,
    /// Command argument.
    pub u: PhysdevOpArgs,
}
impl_pod!(PhysdevOpCompat);

/// `struct physdev_setup_gsi`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevSetupGsi {
    /// GSI.
    pub gsi: i32,
    /// 0 edge, 1 level.
    pub triggering: u8,
    /// 0 active high, 1 active low.
    pub polarity: u8,
}
impl_pod!(PhysdevSetupGsi);

/// `struct physdev_get_free_pirq`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevGetFreePirq {
    /// `MAP_PIRQ_TYPE_*`.
    pub r#type: i32,
    /// Output: the pirq.
    pub pirq: u32,
}
impl_pod!(PhysdevGetFreePirq);

/// `physdev_pci_mmcfg_reserved.flags`: the region is reserved in e820.
pub const XEN_PCI_MMCFG_RESERVED: u32 = 0x1;

/// `struct physdev_pci_mmcfg_reserved`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevPciMmcfgReserved {
    /// Base address of the region.
    pub address: u64,
    /// PCI segment.
    pub segment: u16,
    /// First bus.
    pub start_bus: u8,
    /// Last bus.
    pub end_bus: u8,
    /// `XEN_PCI_MMCFG_*`.
    pub flags: u32,
}
impl_pod!(PhysdevPciMmcfgReserved);

/// `physdev_pci_device_add.flags`: extended function.
pub const XEN_PCI_DEV_EXTFN: u32 = 0x1;
/// `physdev_pci_device_add.flags`: virtual function (`physfn` valid).
pub const XEN_PCI_DEV_VIRTFN: u32 = 0x2;
/// `physdev_pci_device_add.flags`: `optarr[0]` holds the proximity domain.
pub const XEN_PCI_DEV_PXM: u32 = 0x4;

/// `struct physdev_pci_device_add` (without its flexible `optarr`, whose
/// first element starts at the structure's end).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevPciDeviceAdd {
    /// PCI segment.
    pub seg: u16,
    /// Bus.
    pub bus: u8,
    /// Device/function.
    pub devfn: u8,
    /// `XEN_PCI_DEV_*`.
    pub flags: u32,
    /// Parent physical function of a virtual function.
    pub physfn: PhysdevPhysfn,
}
impl_pod!(PhysdevPciDeviceAdd);

/// `struct physdev_pci_device`: a device by segment, bus and devfn.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevPciDevice {
    /// PCI segment.
    pub seg: u16,
    /// Bus.
    pub bus: u8,
    /// Device/function.
    pub devfn: u8,
}
impl_pod!(PhysdevPciDevice);

/// `physdev_dbgp_op.op`: the debug port is about to be reset.
pub const PHYSDEVOP_DBGP_RESET_PREPARE: u8 = 1;
/// `physdev_dbgp_op.op`: the debug port reset is done.
pub const PHYSDEVOP_DBGP_RESET_DONE: u8 = 2;
/// `physdev_dbgp_op.bus`: unknown bus.
pub const PHYSDEVOP_DBGP_BUS_UNKNOWN: u8 = 0;
/// `physdev_dbgp_op.bus`: PCI.
pub const PHYSDEVOP_DBGP_BUS_PCI: u8 = 1;

/// `struct physdev_dbgp_op` (its one-member union flattened to `pci`).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PhysdevDbgpOp {
    /// `PHYSDEVOP_DBGP_RESET_*`.
    pub op: u8,
    /// `PHYSDEVOP_DBGP_BUS_*`.
    pub bus: u8,
    /// The device (C: `u.pci`).
    pub u: PhysdevPciDevice,
}
impl_pod!(PhysdevDbgpOp);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(PhysdevOp::try_from(PHYSDEVOP_pirq_eoi_gmfn), Ok(PhysdevOp::PirqEoiGmfnV2));
        for bad in [0u32, 18, 22, 32] {
            assert!(PhysdevOp::try_from(bad).is_err(), "{bad}");
        }
    }
}
