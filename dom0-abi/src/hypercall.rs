//! Hypercall numbers (`__HYPERVISOR_*` in `xen.h`): the value a guest puts in
//! `rax` before jumping into its hypercall page, plus the [`Hypercall`] enum
//! that rejects numbers Xen 4.17 does not assign.

/// Load a new virtual IDT (array of `trap_info`).
pub const HYPERVISOR_set_trap_table: u64 = 0;
/// Batched page-table and machine-to-phys updates (`mmu_update`).
pub const HYPERVISOR_mmu_update: u64 = 1;
/// Install a new GDT from a list of guest frames.
pub const HYPERVISOR_set_gdt: u64 = 2;
/// Set the kernel stack (`ss`/`sp`) used on ring transitions.
pub const HYPERVISOR_stack_switch: u64 = 3;
/// Old-style registration of the event and failsafe callbacks.
pub const HYPERVISOR_set_callbacks: u64 = 4;
/// Set or clear CR0.TS on behalf of the guest.
pub const HYPERVISOR_fpu_taskswitch: u64 = 5;
/// Pre-3.0.2 scheduler operations (`sched_op` with a bare argument).
pub const HYPERVISOR_sched_op_compat: u64 = 6;
/// Platform (dom0-only) operations on the physical machine.
pub const HYPERVISOR_platform_op: u64 = 7;
/// Write a debug register.
pub const HYPERVISOR_set_debugreg: u64 = 8;
/// Read a debug register.
pub const HYPERVISOR_get_debugreg: u64 = 9;
/// Write one GDT/LDT descriptor.
pub const HYPERVISOR_update_descriptor: u64 = 10;
/// Memory reservation and physmap operations (`XENMEM_*`).
pub const HYPERVISOR_memory_op: u64 = 12;
/// Run a batch of hypercalls.
pub const HYPERVISOR_multicall: u64 = 13;
/// Write one PTE that maps a given virtual address in the current space.
pub const HYPERVISOR_update_va_mapping: u64 = 14;
/// Arm the one-shot timer (absolute system time in ns).
pub const HYPERVISOR_set_timer_op: u64 = 15;
/// Pre-3.2 event-channel operations (one `evtchn_op` argument).
pub const HYPERVISOR_event_channel_op_compat: u64 = 16;
/// Version and feature queries (`XENVER_*`).
pub const HYPERVISOR_xen_version: u64 = 17;
/// Hypervisor console read and write.
pub const HYPERVISOR_console_io: u64 = 18;
/// Pre-3.2 physical-device operations (one `physdev_op` argument).
pub const HYPERVISOR_physdev_op_compat: u64 = 19;
/// Grant-table operations (`GNTTABOP_*`).
pub const HYPERVISOR_grant_table_op: u64 = 20;
/// Turn on or off optional virtual-machine assists (`VMASST_*`).
pub const HYPERVISOR_vm_assist: u64 = 21;
/// `update_va_mapping` on another domain's page tables.
pub const HYPERVISOR_update_va_mapping_otherdomain: u64 = 22;
/// Return from an exception or event bounce (x86-64 PV `iret`).
pub const HYPERVISOR_iret: u64 = 23;
/// Per-vcpu operations (`VCPUOP_*`).
pub const HYPERVISOR_vcpu_op: u64 = 24;
/// Load the FS/GS bases or the user GS selector (x86-64 only).
pub const HYPERVISOR_set_segment_base: u64 = 25;
/// Extended MMU operations (`MMUEXT_*`): pinning, base pointers, flushes.
pub const HYPERVISOR_mmuext_op: u64 = 26;
/// Security module (XSM/FLASK) operations.
pub const HYPERVISOR_xsm_op: u64 = 27;
/// NMI callback registration.
pub const HYPERVISOR_nmi_op: u64 = 28;
/// Scheduler operations (`SCHEDOP_*`).
pub const HYPERVISOR_sched_op: u64 = 29;
/// Callback registration (`CALLBACKOP_*`).
pub const HYPERVISOR_callback_op: u64 = 30;
/// Xen profiler operations.
pub const HYPERVISOR_xenoprof_op: u64 = 31;
/// Event-channel operations (`EVTCHNOP_*`).
pub const HYPERVISOR_event_channel_op: u64 = 32;
/// Physical-device operations (`PHYSDEVOP_*`).
pub const HYPERVISOR_physdev_op: u64 = 33;
/// HVM operations.
pub const HYPERVISOR_hvm_op: u64 = 34;
/// System-wide control operations for the toolstack (`XEN_SYSCTL_*`).
pub const HYPERVISOR_sysctl: u64 = 35;
/// Per-domain control operations for the toolstack (`XEN_DOMCTL_*`).
pub const HYPERVISOR_domctl: u64 = 36;
/// Kexec operations.
pub const HYPERVISOR_kexec_op: u64 = 37;
/// Transcendent memory operations (removed; always fails).
pub const HYPERVISOR_tmem_op: u64 = 38;
/// Argo inter-domain messaging.
pub const HYPERVISOR_argo_op: u64 = 39;
/// Performance-monitoring unit operations.
pub const HYPERVISOR_xenpmu_op: u64 = 40;
/// Device-model operations.
pub const HYPERVISOR_dm_op: u64 = 41;
/// Hypervisor file-system operations.
pub const HYPERVISOR_hypfs_op: u64 = 42;
/// First architecture-specific hypercall (x86: machine-check operations).
pub const HYPERVISOR_arch_0: u64 = 48;
/// Architecture-specific hypercall 1 (unused on x86).
pub const HYPERVISOR_arch_1: u64 = 49;
/// Architecture-specific hypercall 2 (unused on x86).
pub const HYPERVISOR_arch_2: u64 = 50;
/// Architecture-specific hypercall 3 (unused on x86).
pub const HYPERVISOR_arch_3: u64 = 51;
/// Architecture-specific hypercall 4 (unused on x86).
pub const HYPERVISOR_arch_4: u64 = 52;
/// Architecture-specific hypercall 5 (unused on x86).
pub const HYPERVISOR_arch_5: u64 = 53;
/// Architecture-specific hypercall 6 (unused on x86).
pub const HYPERVISOR_arch_6: u64 = 54;
/// Architecture-specific hypercall 7 (unused on x86).
pub const HYPERVISOR_arch_7: u64 = 55;
/// x86 alias: machine-check architecture operations use `arch_0`.
pub const HYPERVISOR_mca: u64 = HYPERVISOR_arch_0;

/// Number of 32-byte slots in a hypercall page (one page / 32).
pub const HYPERCALL_PAGE_SLOTS: usize = 128;
/// Size in bytes of each hypercall stub in the hypercall page.
pub const HYPERCALL_SLOT_SIZE: usize = 32;

xen_enum! {
    /// Every hypercall number Xen 4.17 assigns on x86 (C: `__HYPERVISOR_*`).
    pub enum Hypercall: u64 {
        /// `set_trap_table`.
        SetTrapTable = HYPERVISOR_set_trap_table,
        /// `mmu_update`.
        MmuUpdate = HYPERVISOR_mmu_update,
        /// `set_gdt`.
        SetGdt = HYPERVISOR_set_gdt,
        /// `stack_switch`.
        StackSwitch = HYPERVISOR_stack_switch,
        /// `set_callbacks`.
        SetCallbacks = HYPERVISOR_set_callbacks,
        /// `fpu_taskswitch`.
        FpuTaskswitch = HYPERVISOR_fpu_taskswitch,
        /// `sched_op_compat`.
        SchedOpCompat = HYPERVISOR_sched_op_compat,
        /// `platform_op`.
        PlatformOp = HYPERVISOR_platform_op,
        /// `set_debugreg`.
        SetDebugreg = HYPERVISOR_set_debugreg,
        /// `get_debugreg`.
        GetDebugreg = HYPERVISOR_get_debugreg,
        /// `update_descriptor`.
        UpdateDescriptor = HYPERVISOR_update_descriptor,
        /// `memory_op`.
        MemoryOp = HYPERVISOR_memory_op,
        /// `multicall`.
        Multicall = HYPERVISOR_multicall,
        /// `update_va_mapping`.
        UpdateVaMapping = HYPERVISOR_update_va_mapping,
        /// `set_timer_op`.
        SetTimerOp = HYPERVISOR_set_timer_op,
        /// `event_channel_op_compat`.
        EventChannelOpCompat = HYPERVISOR_event_channel_op_compat,
        /// `xen_version`.
        XenVersion = HYPERVISOR_xen_version,
        /// `console_io`.
        ConsoleIo = HYPERVISOR_console_io,
        /// `physdev_op_compat`.
        PhysdevOpCompat = HYPERVISOR_physdev_op_compat,
        /// `grant_table_op`.
        GrantTableOp = HYPERVISOR_grant_table_op,
        /// `vm_assist`.
        VmAssist = HYPERVISOR_vm_assist,
        /// `update_va_mapping_otherdomain`.
        UpdateVaMappingOtherdomain = HYPERVISOR_update_va_mapping_otherdomain,
        /// `iret`.
        Iret = HYPERVISOR_iret,
        /// `vcpu_op`.
        VcpuOp = HYPERVISOR_vcpu_op,
        /// `set_segment_base`.
        SetSegmentBase = HYPERVISOR_set_segment_base,
        /// `mmuext_op`.
        MmuextOp = HYPERVISOR_mmuext_op,
        /// `xsm_op`.
        XsmOp = HYPERVISOR_xsm_op,
        /// `nmi_op`.
        NmiOp = HYPERVISOR_nmi_op,
        /// `sched_op`.
        SchedOp = HYPERVISOR_sched_op,
        /// `callback_op`.
        CallbackOp = HYPERVISOR_callback_op,
        /// `xenoprof_op`.
        XenoprofOp = HYPERVISOR_xenoprof_op,
        /// `event_channel_op`.
        EventChannelOp = HYPERVISOR_event_channel_op,
        /// `physdev_op`.
        PhysdevOp = HYPERVISOR_physdev_op,
        /// `hvm_op`.
        HvmOp = HYPERVISOR_hvm_op,
        /// `sysctl`.
        Sysctl = HYPERVISOR_sysctl,
        /// `domctl`.
        Domctl = HYPERVISOR_domctl,
        /// `kexec_op`.
        KexecOp = HYPERVISOR_kexec_op,
        /// `tmem_op`.
        TmemOp = HYPERVISOR_tmem_op,
        /// `argo_op`.
        ArgoOp = HYPERVISOR_argo_op,
        /// `xenpmu_op`.
        XenpmuOp = HYPERVISOR_xenpmu_op,
        /// `dm_op`.
        DmOp = HYPERVISOR_dm_op,
        /// `hypfs_op`.
        HypfsOp = HYPERVISOR_hypfs_op,
        /// `arch_0` (x86: `mca`).
        Arch0 = HYPERVISOR_arch_0,
        /// `arch_1`.
        Arch1 = HYPERVISOR_arch_1,
        /// `arch_2`.
        Arch2 = HYPERVISOR_arch_2,
        /// `arch_3`.
        Arch3 = HYPERVISOR_arch_3,
        /// `arch_4`.
        Arch4 = HYPERVISOR_arch_4,
        /// `arch_5`.
        Arch5 = HYPERVISOR_arch_5,
        /// `arch_6`.
        Arch6 = HYPERVISOR_arch_6,
        /// `arch_7`.
        Arch7 = HYPERVISOR_arch_7,
    }
}

impl Hypercall {
    /// Byte offset of this hypercall's stub inside the hypercall page.
    pub const fn page_offset(self) -> usize {
        self as usize * HYPERCALL_SLOT_SIZE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_numbers_are_rejected() {
        assert_eq!(Hypercall::try_from(1u64), Ok(Hypercall::MmuUpdate));
        assert!(Hypercall::try_from(11u64).is_err());
        assert!(Hypercall::try_from(43u64).is_err());
        assert!(Hypercall::try_from(47u64).is_err());
        assert!(Hypercall::try_from(56u64).is_err());
        assert!(Hypercall::try_from(u64::MAX).is_err());
        for &h in Hypercall::ALL {
            assert_eq!(Hypercall::try_from(h.raw()), Ok(h));
            assert!(h.page_offset() + HYPERCALL_SLOT_SIZE <= 4096);
        }
    }
}
