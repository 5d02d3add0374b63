//! ELF note types a PV kernel uses to describe itself to the domain builder
//! (`elfnote.h`). The notes live in sections of type `SHT_NOTE` / segments of
//! type `PT_NOTE` with owner name `"Xen"`.

/// Owner name of Xen ELF notes (without the terminating NUL).
pub const XEN_ELFNOTE_NAME: &[u8] = b"Xen";

/// Old-style `__xen_guest` string (obsolete, unused).
pub const XEN_ELFNOTE_INFO: u32 = 0;
/// Virtual address of the kernel entry point.
pub const XEN_ELFNOTE_ENTRY: u32 = 1;
/// Virtual address of the page to fill with hypercall stubs.
pub const XEN_ELFNOTE_HYPERCALL_PAGE: u32 = 2;
/// Virtual address the kernel is linked at (offset of virtual to pseudo-physical).
pub const XEN_ELFNOTE_VIRT_BASE: u32 = 3;
/// Offset from `VIRT_BASE` of pseudo-physical address 0 (legacy).
pub const XEN_ELFNOTE_PADDR_OFFSET: u32 = 4;
/// Xen version the kernel expects (string, e.g. `"xen-3.0"`).
pub const XEN_ELFNOTE_XEN_VERSION: u32 = 5;
/// Guest OS name (string, e.g. `"linux"`).
pub const XEN_ELFNOTE_GUEST_OS: u32 = 6;
/// Guest OS version (string).
pub const XEN_ELFNOTE_GUEST_VERSION: u32 = 7;
/// Loader type (string; `"generic"`).
pub const XEN_ELFNOTE_LOADER: u32 = 8;
/// PAE mode (string: `"yes"`, `"no"`, `"bimodal"`; x86-32 only).
pub const XEN_ELFNOTE_PAE_MODE: u32 = 9;
/// Required or wanted features (string, `|`-separated `XENFEAT` names, `!` = required).
pub const XEN_ELFNOTE_FEATURES: u32 = 10;
/// Load the symbol table after the kernel (string: `"yes"`).
pub const XEN_ELFNOTE_BSD_SYMTAB: u32 = 11;
/// Lowest address of the hypervisor hole (x86-32 PAE, numeric).
pub const XEN_ELFNOTE_HV_START_LOW: u32 = 12;
/// Mask and value of PTE bits marking an L1 MFN valid (numeric pair).
pub const XEN_ELFNOTE_L1_MFN_VALID: u32 = 13;
/// The kernel can cancel a suspend (numeric, non-zero = yes).
pub const XEN_ELFNOTE_SUSPEND_CANCEL: u32 = 14;
/// Virtual address where the builder should map the initial p2m list.
pub const XEN_ELFNOTE_INIT_P2M: u32 = 15;
/// Kernel accepts `mod_start` as a PFN (`SIF_MOD_START_PFN`).
pub const XEN_ELFNOTE_MOD_START_PFN: u32 = 16;
/// Bitmap of `XENFEAT_*` the kernel supports (numeric, 32 bits).
pub const XEN_ELFNOTE_SUPPORTED_FEATURES: u32 = 17;
/// 32-bit physical entry point for PVH boot.
pub const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;
/// Highest note type the builder understands.
pub const XEN_ELFNOTE_MAX: u32 = XEN_ELFNOTE_PHYS32_ENTRY;

/// Crash-dump note: crash information.
pub const XEN_ELFNOTE_CRASH_INFO: u32 = 0x100_0001;
/// Crash-dump note: registers of a crashed cpu.
pub const XEN_ELFNOTE_CRASH_REGS: u32 = 0x100_0002;
/// Core-dump note: no-op filler.
pub const XEN_ELFNOTE_DUMPCORE_NONE: u32 = 0x200_0000;
/// Core-dump note: header.
pub const XEN_ELFNOTE_DUMPCORE_HEADER: u32 = 0x200_0001;
/// Core-dump note: Xen version information.
pub const XEN_ELFNOTE_DUMPCORE_XEN_VERSION: u32 = 0x200_0002;
/// Core-dump note: format version.
pub const XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION: u32 = 0x200_0003;

xen_enum! {
    /// A guest-kernel note type (C: `XEN_ELFNOTE_*`, 0..=`XEN_ELFNOTE_MAX`).
    pub enum XenElfnote: u32 {
        /// `XEN_ELFNOTE_INFO`.
        Info = XEN_ELFNOTE_INFO,
        /// `XEN_ELFNOTE_ENTRY`.
        Entry = XEN_ELFNOTE_ENTRY,
        /// `XEN_ELFNOTE_HYPERCALL_PAGE`.
        HypercallPage = XEN_ELFNOTE_HYPERCALL_PAGE,
        /// `XEN_ELFNOTE_VIRT_BASE`.
        VirtBase = XEN_ELFNOTE_VIRT_BASE,
        /// `XEN_ELFNOTE_PADDR_OFFSET`.
        PaddrOffset = XEN_ELFNOTE_PADDR_OFFSET,
        /// `XEN_ELFNOTE_XEN_VERSION`.
        XenVersion = XEN_ELFNOTE_XEN_VERSION,
        /// `XEN_ELFNOTE_GUEST_OS`.
        GuestOs = XEN_ELFNOTE_GUEST_OS,
        /// `XEN_ELFNOTE_GUEST_VERSION`.
        GuestVersion = XEN_ELFNOTE_GUEST_VERSION,
        /// `XEN_ELFNOTE_LOADER`.
        Loader = XEN_ELFNOTE_LOADER,
        /// `XEN_ELFNOTE_PAE_MODE`.
        PaeMode = XEN_ELFNOTE_PAE_MODE,
        /// `XEN_ELFNOTE_FEATURES`.
        Features = XEN_ELFNOTE_FEATURES,
        /// `XEN_ELFNOTE_BSD_SYMTAB`.
        BsdSymtab = XEN_ELFNOTE_BSD_SYMTAB,
        /// `XEN_ELFNOTE_HV_START_LOW`.
        HvStartLow = XEN_ELFNOTE_HV_START_LOW,
        /// `XEN_ELFNOTE_L1_MFN_VALID`.
        L1MfnValid = XEN_ELFNOTE_L1_MFN_VALID,
        /// `XEN_ELFNOTE_SUSPEND_CANCEL`.
        SuspendCancel = XEN_ELFNOTE_SUSPEND_CANCEL,
        /// `XEN_ELFNOTE_INIT_P2M`.
        InitP2m = XEN_ELFNOTE_INIT_P2M,
        /// `XEN_ELFNOTE_MOD_START_PFN`.
        ModStartPfn = XEN_ELFNOTE_MOD_START_PFN,
        /// `XEN_ELFNOTE_SUPPORTED_FEATURES`.
        SupportedFeatures = XEN_ELFNOTE_SUPPORTED_FEATURES,
        /// `XEN_ELFNOTE_PHYS32_ENTRY`.
        Phys32Entry = XEN_ELFNOTE_PHYS32_ENTRY,
    }
}

/// How a note's descriptor is to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteKind {
    /// A NUL-terminated string.
    String,
    /// A little-endian integer of 1, 2, 4 or 8 bytes.
    Numeric,
    /// Two 64-bit numbers (mask, value).
    NumericPair,
    /// Not interpreted.
    Opaque,
}

impl XenElfnote {
    /// The descriptor format the domain builder expects for this note.
    pub const fn kind(self) -> NoteKind {
        match self {
            XenElfnote::Info => NoteKind::Opaque,
            XenElfnote::XenVersion
            | XenElfnote::GuestOs
            | XenElfnote::GuestVersion
            | XenElfnote::Loader
            | XenElfnote::PaeMode
            | XenElfnote::Features
            | XenElfnote::BsdSymtab => NoteKind::String,
            XenElfnote::L1MfnValid => NoteKind::NumericPair,
            _ => NoteKind::Numeric,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(XenElfnote::try_from(2u32), Ok(XenElfnote::HypercallPage));
        assert!(XenElfnote::try_from(XEN_ELFNOTE_MAX + 1).is_err());
        assert!(XenElfnote::try_from(XEN_ELFNOTE_CRASH_INFO).is_err());
        assert_eq!(XenElfnote::ALL.len() as u32, XEN_ELFNOTE_MAX + 1);
        assert_eq!(XenElfnote::Features.kind(), NoteKind::String);
        assert_eq!(XenElfnote::Entry.kind(), NoteKind::Numeric);
    }
}
