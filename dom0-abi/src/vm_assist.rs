//! `HYPERVISOR_vm_assist`: optional behaviours a PV guest turns on or off
//! (`VMASST_*` in `xen.h`).

/// Enable the assist named by the type argument.
pub const VMASST_CMD_enable: u32 = 0;
/// Disable the assist named by the type argument.
pub const VMASST_CMD_disable: u32 = 1;

/// x86-32 only: emulate 4 GiB segments.
pub const VMASST_TYPE_4gb_segments: u32 = 0;
/// x86-32 only: notify the guest when 4 GiB segment emulation happens.
pub const VMASST_TYPE_4gb_segments_notify: u32 = 1;
/// Trap and emulate writes to page tables the guest mapped writable.
pub const VMASST_TYPE_writable_pagetables: u32 = 2;
/// x86-32 PAE only: allow the L3 above 4 GiB.
pub const VMASST_TYPE_pae_extended_cr3: u32 = 3;
/// Use the architectural IOPL (from `EFLAGS`) instead of the virtual one.
pub const VMASST_TYPE_architectural_iopl: u32 = 4;
/// Xen sets `XEN_RUNSTATE_UPDATE` while updating runstate areas.
pub const VMASST_TYPE_runstate_update_flag: u32 = 5;
/// x86-64: keep user-mode page tables' view of the m2p read-only and strict.
pub const VMASST_TYPE_m2p_strict: u32 = 32;

/// Assist types an x86-64 PV guest may enable in Xen 4.17.
pub const VMASST_VALID_X86_64_PV: u64 = (1 << VMASST_TYPE_4gb_segments)
    | (1 << VMASST_TYPE_4gb_segments_notify)
    | (1 << VMASST_TYPE_writable_pagetables)
    | (1 << VMASST_TYPE_pae_extended_cr3)
    | (1 << VMASST_TYPE_architectural_iopl)
    | (1 << VMASST_TYPE_runstate_update_flag)
    | (1 << VMASST_TYPE_m2p_strict);

xen_enum! {
    /// A `vm_assist` command (C: `VMASST_CMD_*`).
    pub enum VmAssistCmd: u32 {
        /// `VMASST_CMD_enable`.
        Enable = VMASST_CMD_enable,
        /// `VMASST_CMD_disable`.
        Disable = VMASST_CMD_disable,
    }
}

xen_enum! {
    /// A `vm_assist` type (C: `VMASST_TYPE_*`).
    pub enum VmAssistType: u32 {
        /// `VMASST_TYPE_4gb_segments`.
        FourGbSegments = VMASST_TYPE_4gb_segments,
        /// `VMASST_TYPE_4gb_segments_notify`.
        FourGbSegmentsNotify = VMASST_TYPE_4gb_segments_notify,
        /// `VMASST_TYPE_writable_pagetables`.
        WritablePagetables = VMASST_TYPE_writable_pagetables,
        /// `VMASST_TYPE_pae_extended_cr3`.
        PaeExtendedCr3 = VMASST_TYPE_pae_extended_cr3,
        /// `VMASST_TYPE_architectural_iopl`.
        ArchitecturalIopl = VMASST_TYPE_architectural_iopl,
        /// `VMASST_TYPE_runstate_update_flag`.
        RunstateUpdateFlag = VMASST_TYPE_runstate_update_flag,
        /// `VMASST_TYPE_m2p_strict`.
        M2pStrict = VMASST_TYPE_m2p_strict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(VmAssistType::try_from(32u32), Ok(VmAssistType::M2pStrict));
        for bad in [6u32, 31, 33] {
            assert!(VmAssistType::try_from(bad).is_err());
        }
        assert!(VmAssistCmd::try_from(2u32).is_err());
    }
}
