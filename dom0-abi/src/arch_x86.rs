//! The x86-64 part of the PV ABI (`arch-x86/xen.h`, `arch-x86/xen-x86_64.h`):
//! the guest virtual-address layout Xen reserves, the flat segment selectors,
//! the register frame, virtual IDT entries, the full vcpu context used by
//! `VCPUOP_initialise` and domctl, and the arch parts of shared structures.

// ---------------------------------------------------------------------------
// Address-space layout
// ---------------------------------------------------------------------------

/// Start of the virtual range Xen reserves in every PV address space.
pub const HYPERVISOR_VIRT_START: u64 = 0xFFFF_8000_0000_0000;
/// End (exclusive) of the range Xen reserves.
pub const HYPERVISOR_VIRT_END: u64 = 0xFFFF_8800_0000_0000;
/// Start of the read-only machine-to-phys table mapped into PV guests.
pub const MACH2PHYS_VIRT_START: u64 = 0xFFFF_8000_0000_0000;
/// End (exclusive) of the read-only machine-to-phys table.
pub const MACH2PHYS_VIRT_END: u64 = 0xFFFF_8040_0000_0000;
/// Number of 8-byte entries the machine-to-phys table can hold.
pub const MACH2PHYS_NR_ENTRIES: u64 = (MACH2PHYS_VIRT_END - MACH2PHYS_VIRT_START) >> 3;

/// Maximum number of vcpus with a slot in `shared_info`.
pub const XEN_LEGACY_MAX_VCPUS: usize = 32;

/// First GDT page reserved for Xen's own descriptors; guest GDTs must stop before it.
pub const FIRST_RESERVED_GDT_PAGE: u32 = 14;
/// Byte offset of the first reserved GDT entry.
pub const FIRST_RESERVED_GDT_BYTE: u32 = FIRST_RESERVED_GDT_PAGE * 4096;
/// Index of the first reserved GDT entry (guests may use entries below it).
pub const FIRST_RESERVED_GDT_ENTRY: u32 = FIRST_RESERVED_GDT_BYTE / 8;

// ---------------------------------------------------------------------------
// Flat segment selectors (in Xen's reserved GDT area)
// ---------------------------------------------------------------------------

/// Ring-3 32-bit code selector.
pub const FLAT_RING3_CS32: u16 = 0xe023;
/// Ring-3 64-bit code selector.
pub const FLAT_RING3_CS64: u16 = 0xe033;
/// Ring-3 32-bit data selector.
pub const FLAT_RING3_DS32: u16 = 0xe02b;
/// Ring-3 64-bit data selector (null: 64-bit mode ignores data segments).
pub const FLAT_RING3_DS64: u16 = 0x0000;
/// Ring-3 32-bit stack selector.
pub const FLAT_RING3_SS32: u16 = 0xe02b;
/// Ring-3 64-bit stack selector.
pub const FLAT_RING3_SS64: u16 = 0xe02b;

/// Kernel 64-bit data selector (PV kernels run in ring 3 too).
pub const FLAT_KERNEL_DS64: u16 = FLAT_RING3_DS64;
/// Kernel 32-bit data selector.
pub const FLAT_KERNEL_DS32: u16 = FLAT_RING3_DS32;
/// Kernel data selector.
pub const FLAT_KERNEL_DS: u16 = FLAT_KERNEL_DS64;
/// Kernel 64-bit code selector.
pub const FLAT_KERNEL_CS64: u16 = FLAT_RING3_CS64;
/// Kernel 32-bit code selector.
pub const FLAT_KERNEL_CS32: u16 = FLAT_RING3_CS32;
/// Kernel code selector.
pub const FLAT_KERNEL_CS: u16 = FLAT_KERNEL_CS64;
/// Kernel 64-bit stack selector.
pub const FLAT_KERNEL_SS64: u16 = FLAT_RING3_SS64;
/// Kernel 32-bit stack selector.
pub const FLAT_KERNEL_SS32: u16 = FLAT_RING3_SS32;
/// Kernel stack selector.
pub const FLAT_KERNEL_SS: u16 = FLAT_KERNEL_SS64;
/// User 64-bit data selector.
pub const FLAT_USER_DS64: u16 = FLAT_RING3_DS64;
/// User 32-bit data selector.
pub const FLAT_USER_DS32: u16 = FLAT_RING3_DS32;
/// User data selector.
pub const FLAT_USER_DS: u16 = FLAT_USER_DS64;
/// User 64-bit code selector.
pub const FLAT_USER_CS64: u16 = FLAT_RING3_CS64;
/// User 32-bit code selector.
pub const FLAT_USER_CS32: u16 = FLAT_RING3_CS32;
/// User code selector.
pub const FLAT_USER_CS: u16 = FLAT_USER_CS64;
/// User 64-bit stack selector.
pub const FLAT_USER_SS64: u16 = FLAT_RING3_SS64;
/// User 32-bit stack selector.
pub const FLAT_USER_SS32: u16 = FLAT_RING3_SS32;
/// User stack selector.
pub const FLAT_USER_SS: u16 = FLAT_USER_SS64;

// ---------------------------------------------------------------------------
// set_segment_base
// ---------------------------------------------------------------------------

/// `set_segment_base`: load the FS base.
pub const SEGBASE_FS: u32 = 0;
/// `set_segment_base`: load the user-mode GS base.
pub const SEGBASE_GS_USER: u32 = 1;
/// `set_segment_base`: load the kernel-mode GS base.
pub const SEGBASE_GS_KERNEL: u32 = 2;
/// `set_segment_base`: load the user GS selector (value is a selector).
pub const SEGBASE_GS_USER_SEL: u32 = 3;

// ---------------------------------------------------------------------------
// vcpu_guest_context flags
// ---------------------------------------------------------------------------

/// Bit number of `VGCF_i387_valid`.
pub const _VGCF_i387_valid: u32 = 0;
/// The FPU context in `fpu_ctxt` is valid.
pub const VGCF_i387_valid: u64 = 1 << _VGCF_i387_valid;
/// Upper-case alias of `VGCF_i387_valid`.
pub const VGCF_I387_VALID: u64 = VGCF_i387_valid;
/// Bit number of `VGCF_in_kernel`.
pub const _VGCF_in_kernel: u32 = 2;
/// The vcpu is in guest-kernel mode.
pub const VGCF_in_kernel: u64 = 1 << _VGCF_in_kernel;
/// Upper-case alias of `VGCF_in_kernel`.
pub const VGCF_IN_KERNEL: u64 = VGCF_in_kernel;
/// Bit number of `VGCF_failsafe_disables_events`.
pub const _VGCF_failsafe_disables_events: u32 = 3;
/// Entering the failsafe callback masks events.
pub const VGCF_failsafe_disables_events: u64 = 1 << _VGCF_failsafe_disables_events;
/// Bit number of `VGCF_syscall_disables_events`.
pub const _VGCF_syscall_disables_events: u32 = 4;
/// Entering the syscall callback masks events.
pub const VGCF_syscall_disables_events: u64 = 1 << _VGCF_syscall_disables_events;
/// Bit number of `VGCF_online`.
pub const _VGCF_online: u32 = 5;
/// The vcpu is online (getvcpucontext output).
pub const VGCF_online: u64 = 1 << _VGCF_online;
/// Bit number of `VGCF_in_syscall`.
pub const _VGCF_in_syscall: u32 = 8;
/// x86-64: the saved frame came from a `syscall` (iret may use sysret).
pub const VGCF_in_syscall: u64 = 1 << _VGCF_in_syscall;
/// Upper-case alias of `VGCF_in_syscall`.
pub const VGCF_IN_SYSCALL: u64 = VGCF_in_syscall;

/// The bytes of Xen's "forced emulation" prefix (`ud2; .ascii "xen"`),
/// which PV guests put before `cpuid` to get Xen's filtered view.
pub const XEN_EMULATE_PREFIX: [u8; 5] = [0x0f, 0x0b, 0x78, 0x65, 0x6e];

/// Builds a CR3 value from a page-table root frame.
pub const fn xen_pfn_to_cr3(pfn: u64) -> u64 {
    pfn << 12
}

/// Extracts the page-table root frame from a CR3 value.
pub const fn xen_cr3_to_pfn(cr3: u64) -> u64 {
    cr3 >> 12
}

// ---------------------------------------------------------------------------
// Structures
// ---------------------------------------------------------------------------

/// `struct trap_info`: one virtual IDT entry given to `set_trap_table`.
/// `flags` bits 0-1 are the DPL; bit 2 masks events on entry.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct TrapInfo {
    /// Exception or interrupt vector; a zero `address` ends the table.
    pub vector: u8,
    /// DPL in bits 0-1, "mask events" in bit 2.
    pub flags: u8,
    /// Code selector of the handler.
    pub cs: u16,
    /// Handler entry point.
    pub address: u64,
}
impl_pod!(TrapInfo);

impl TrapInfo {
    /// Lowest privilege level allowed to raise the vector with `int`
    /// (`TI_GET_DPL`).
    pub const fn dpl(&self) -> u8 {
        self.flags & 3
    }

    /// Whether event delivery is masked on entry, like an interrupt gate
    /// (`TI_GET_IF`).
    pub const fn masks_events(&self) -> bool {
        self.flags & 4 != 0
    }
}

/// `struct cpu_user_regs` (x86-64): the register frame Xen saves on entry
/// and exposes through `vcpu_guest_context`. Padding fields keep the C
/// layout, where each selector occupies a full 8-byte slot.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct CpuUserRegs {
    /// r15.
    pub r15: u64,
    /// r14.
    pub r14: u64,
    /// r13.
    pub r13: u64,
    /// r12.
    pub r12: u64,
    /// rbp.
    pub rbp: u64,
    /// rbx.
    pub rbx: u64,
    /// r11.
    pub r11: u64,
    /// r10.
    pub r10: u64,
    /// r9.
    pub r9: u64,
    /// r8.
    pub r8: u64,
    /// rax.
    pub rax: u64,
    /// rcx.
    pub rcx: u64,
    /// rdx.
    pub rdx: u64,
    /// rsi.
    pub rsi: u64,
    /// rdi.
    pub rdi: u64,
    /// Hardware error code (Xen-private on entry).
    pub error_code: u32,
    /// Vector that caused the entry (Xen-private).
    pub entry_vector: u32,
    /// rip.
    pub rip: u64,
    /// cs.
    pub cs: u16,
    /// Padding after `cs`.
    pub _pad0: [u16; 1],
    /// Copy of `evtchn_upcall_mask` saved on an exception bounce.
    pub saved_upcall_mask: u8,
    /// Padding.
    pub _pad1: [u8; 3],
    /// rflags.
    pub rflags: u64,
    /// rsp.
    pub rsp: u64,
    /// ss.
    pub ss: u16,
    /// Padding after `ss`.
    pub _pad2: [u16; 3],
    /// es.
    pub es: u16,
    /// Padding after `es`.
    pub _pad3: [u16; 3],
    /// ds.
    pub ds: u16,
    /// Padding after `ds`.
    pub _pad4: [u16; 3],
    /// fs.
    pub fs: u16,
    /// Padding after `fs`.
    pub _pad5: [u16; 3],
    /// gs.
    pub gs: u16,
    /// Padding after `gs`.
    pub _pad6: [u16; 3],
}
impl_pod!(CpuUserRegs);

/// `struct iret_context`: the frame a PV guest pushes before
/// `HYPERVISOR_iret`, lowest address first.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct IretContext {
    /// rax to restore (the hypercall clobbered it).
    pub rax: u64,
    /// r11 to restore.
    pub r11: u64,
    /// rcx to restore.
    pub rcx: u64,
    /// `VGCF_in_syscall` if returning from a syscall frame.
    pub flags: u64,
    /// Return rip.
    pub rip: u64,
    /// Return cs.
    pub cs: u64,
    /// Return rflags.
    pub rflags: u64,
    /// Return rsp.
    pub rsp: u64,
    /// Return ss.
    pub ss: u64,
}
impl_pod!(IretContext);

/// Number of virtual IDT entries in `vcpu_guest_context.trap_ctxt`.
pub const VCPU_TRAP_CTXT_ENTRIES: usize = 256;

/// `struct vcpu_guest_context` (x86-64): a vcpu's complete PV state, as set
/// by `VCPUOP_initialise` / `XEN_DOMCTL_setvcpucontext` and read back by
/// `XEN_DOMCTL_getvcpucontext`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VcpuGuestContext {
    /// FXSAVE image of the FPU/SSE state (C: `struct { char x[512]; }`).
    pub fpu_ctxt: [u8; 512],
    /// `VGCF_*` flags.
    pub flags: u64,
    /// General-purpose registers.
    pub user_regs: CpuUserRegs,
    /// Virtual IDT.
    pub trap_ctxt: [TrapInfo; VCPU_TRAP_CTXT_ENTRIES],
    /// LDT linear base address.
    pub ldt_base: u64,
    /// Number of LDT entries.
    pub ldt_ents: u64,
    /// Guest frames holding the GDT.
    pub gdt_frames: [u64; 16],
    /// Number of GDT entries.
    pub gdt_ents: u64,
    /// Kernel stack selector.
    pub kernel_ss: u64,
    /// Kernel stack pointer.
    pub kernel_sp: u64,
    /// Control registers; `ctrlreg[3]` holds the L4 as `xen_pfn_to_cr3`.
    pub ctrlreg: [u64; 8],
    /// Debug registers.
    pub debugreg: [u64; 8],
    /// Event upcall entry point.
    pub event_callback_eip: u64,
    /// Failsafe (bad segment on return) entry point.
    pub failsafe_callback_eip: u64,
    /// 64-bit `syscall` entry point.
    pub syscall_callback_eip: u64,
    /// `VMASST_TYPE_*` bits currently enabled.
    pub vm_assist: u64,
    /// FS base.
    pub fs_base: u64,
    /// Kernel-mode GS base.
    pub gs_base_kernel: u64,
    /// User-mode GS base.
    pub gs_base_user: u64,
}
pod_zeroed_default!(VcpuGuestContext);

/// `struct arch_vcpu_info` (x86-64): the arch part of `vcpu_info`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct ArchVcpuInfo {
    /// Faulting address of the last page fault bounced to the guest.
    pub cr2: u64,
    /// Padding.
    pub pad: u64,
}
impl_pod!(ArchVcpuInfo);

/// `struct arch_shared_info` (x86-64): the arch part of `shared_info`,
/// where a PV guest advertises its p2m to the toolstack.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct ArchSharedInfo {
    /// Number of entries in the p2m (highest PFN + 1).
    pub max_pfn: u64,
    /// MFN of the frame listing the frames that list the p2m frames.
    pub pfn_to_mfn_frame_list_list: u64,
    /// `XEN_NMIREASON_*` bits.
    pub nmi_reason: u64,
    /// CR3 of the address space holding the linear p2m (0: none).
    pub p2m_cr3: u64,
    /// Virtual address of the linear p2m.
    pub p2m_vaddr: u64,
    /// Bumped around p2m updates (odd while updating).
    pub p2m_generation: u64,
}
impl_pod!(ArchSharedInfo);

// ---------------------------------------------------------------------------
// Domain configuration (domctl createdomain / getdomaininfo)
// ---------------------------------------------------------------------------

/// Bit number of `XEN_X86_EMU_LAPIC`.
pub const _XEN_X86_EMU_LAPIC: u32 = 0;
/// Emulate a local APIC.
pub const XEN_X86_EMU_LAPIC: u32 = 1 << _XEN_X86_EMU_LAPIC;
/// Bit number of `XEN_X86_EMU_HPET`.
pub const _XEN_X86_EMU_HPET: u32 = 1;
/// Emulate an HPET.
pub const XEN_X86_EMU_HPET: u32 = 1 << _XEN_X86_EMU_HPET;
/// Bit number of `XEN_X86_EMU_PM`.
pub const _XEN_X86_EMU_PM: u32 = 2;
/// Emulate ACPI PM timer and registers.
pub const XEN_X86_EMU_PM: u32 = 1 << _XEN_X86_EMU_PM;
/// Bit number of `XEN_X86_EMU_RTC`.
pub const _XEN_X86_EMU_RTC: u32 = 3;
/// Emulate an RTC.
pub const XEN_X86_EMU_RTC: u32 = 1 << _XEN_X86_EMU_RTC;
/// Bit number of `XEN_X86_EMU_IOAPIC`.
pub const _XEN_X86_EMU_IOAPIC: u32 = 4;
/// Emulate an IO-APIC.
pub const XEN_X86_EMU_IOAPIC: u32 = 1 << _XEN_X86_EMU_IOAPIC;
/// Bit number of `XEN_X86_EMU_PIC`.
pub const _XEN_X86_EMU_PIC: u32 = 5;
/// Emulate the legacy PIC.
pub const XEN_X86_EMU_PIC: u32 = 1 << _XEN_X86_EMU_PIC;
/// Bit number of `XEN_X86_EMU_VGA`.
pub const _XEN_X86_EMU_VGA: u32 = 6;
/// Emulate VGA.
pub const XEN_X86_EMU_VGA: u32 = 1 << _XEN_X86_EMU_VGA;
/// Bit number of `XEN_X86_EMU_IOMMU`.
pub const _XEN_X86_EMU_IOMMU: u32 = 7;
/// Emulate an IOMMU.
pub const XEN_X86_EMU_IOMMU: u32 = 1 << _XEN_X86_EMU_IOMMU;
/// Bit number of `XEN_X86_EMU_PIT`.
pub const _XEN_X86_EMU_PIT: u32 = 8;
/// Emulate the PIT.
pub const XEN_X86_EMU_PIT: u32 = 1 << _XEN_X86_EMU_PIT;
/// Bit number of `XEN_X86_EMU_USE_PIRQ`.
pub const _XEN_X86_EMU_USE_PIRQ: u32 = 9;
/// Route physical IRQs through event channels (PVHVM).
pub const XEN_X86_EMU_USE_PIRQ: u32 = 1 << _XEN_X86_EMU_USE_PIRQ;
/// Bit number of `XEN_X86_EMU_VPCI`.
pub const _XEN_X86_EMU_VPCI: u32 = 10;
/// Emulate PCI config space (vPCI).
pub const XEN_X86_EMU_VPCI: u32 = 1 << _XEN_X86_EMU_VPCI;
/// Every emulation flag.
pub const XEN_X86_EMU_ALL: u32 = XEN_X86_EMU_LAPIC
    | XEN_X86_EMU_HPET
    | XEN_X86_EMU_PM
    | XEN_X86_EMU_RTC
    | XEN_X86_EMU_IOAPIC
    | XEN_X86_EMU_PIC
    | XEN_X86_EMU_VGA
    | XEN_X86_EMU_IOMMU
    | XEN_X86_EMU_PIT
    | XEN_X86_EMU_USE_PIRQ
    | XEN_X86_EMU_VPCI;
/// `misc_flags`: ignore (rather than fault) accesses to unknown MSRs.
pub const XEN_X86_MSR_RELAXED: u32 = 1 << 0;
/// Highest defined `misc_flags` bit.
pub const XEN_X86_MISC_FLAGS_MAX: u32 = XEN_X86_MSR_RELAXED;

/// `struct xen_arch_domainconfig` (x86): emulation choices fixed at domain
/// creation. A PV domain uses `emulation_flags == 0`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenArchDomainconfig {
    /// `XEN_X86_EMU_*` bits.
    pub emulation_flags: u32,
    /// `XEN_X86_MSR_RELAXED` and future flags.
    pub misc_flags: u32,
}
impl_pod!(XenArchDomainconfig);

/// `xen_cpuid_leaf.subleaf` value for leaves without sub-leaves.
pub const XEN_CPUID_NO_SUBLEAF: u32 = 0xffff_ffff;

/// `struct xen_cpuid_leaf`: one CPUID result in a cpu policy.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenCpuidLeaf {
    /// Leaf (EAX input).
    pub leaf: u32,
    /// Sub-leaf (ECX input) or `XEN_CPUID_NO_SUBLEAF`.
    pub subleaf: u32,
    /// EAX output.
    pub a: u32,
    /// EBX output.
    pub b: u32,
    /// ECX output.
    pub c: u32,
    /// EDX output.
    pub d: u32,
}
impl_pod!(XenCpuidLeaf);

/// `struct xen_msr_entry`: one MSR value in a cpu policy.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenMsrEntry {
    /// MSR index.
    pub idx: u32,
    /// Reserved, zero.
    pub flags: u32,
    /// Value.
    pub val: u64,
}
impl_pod!(XenMsrEntry);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_info_flag_helpers() {
        let t = TrapInfo { vector: 0x80, flags: 3 | 4, cs: FLAT_KERNEL_CS, address: 0x1000 };
        assert_eq!(t.dpl(), 3);
        assert!(t.masks_events());
        assert_eq!(xen_cr3_to_pfn(xen_pfn_to_cr3(0x1234)), 0x1234);
        assert_eq!(MACH2PHYS_NR_ENTRIES, 1 << 35);
    }
}
