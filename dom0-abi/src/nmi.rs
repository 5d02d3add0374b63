//! NMI callback registration (`nmi.h`) and the reasons Xen reports in
//! `arch_shared_info.nmi_reason`.

/// Bit number of `XEN_NMIREASON_io_error`.
pub const _XEN_NMIREASON_io_error: u32 = 0;
/// NMI caused by an I/O check error.
pub const XEN_NMIREASON_io_error: u64 = 1 << _XEN_NMIREASON_io_error;
/// Bit number of `XEN_NMIREASON_pci_serr`.
pub const _XEN_NMIREASON_pci_serr: u32 = 1;
/// NMI caused by a PCI SERR.
pub const XEN_NMIREASON_pci_serr: u64 = 1 << _XEN_NMIREASON_pci_serr;
/// Bit number of `XEN_NMIREASON_unknown`.
pub const _XEN_NMIREASON_unknown: u32 = 2;
/// NMI of unknown origin.
pub const XEN_NMIREASON_unknown: u64 = 1 << _XEN_NMIREASON_unknown;

/// `nmi_op`: register an NMI handler (`xennmi_callback`).
pub const XENNMI_register_callback: u32 = 0;
/// `nmi_op`: remove the NMI handler.
pub const XENNMI_unregister_callback: u32 = 1;

/// `struct xennmi_callback`: the NMI handler to install.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XennmiCallback {
    /// Handler entry point.
    pub handler_address: u64,
    /// Must be zero.
    pub pad: u64,
}
impl_pod!(XennmiCallback);
