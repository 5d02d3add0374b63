//! Core definitions of `xen.h`: virtual IRQs, reserved domain ids, the
//! multicall entry, and the three pages every PV guest shares with Xen
//! (`start_info`, `shared_info` with its `vcpu_info` slots and time records).

use crate::arch_x86::{ArchSharedInfo, ArchVcpuInfo, XEN_LEGACY_MAX_VCPUS};
use crate::types::GuestHandle64;

// ---------------------------------------------------------------------------
// Virtual IRQs
// ---------------------------------------------------------------------------

/// Per-vcpu: the one-shot or periodic timer fired.
pub const VIRQ_TIMER: u32 = 0;
/// Per-vcpu: a debug key was pressed on the Xen console (`'q'` etc.).
pub const VIRQ_DEBUG: u32 = 1;
/// Global: bytes arrived on the emergency (Xen) console, for dom0.
pub const VIRQ_CONSOLE: u32 = 2;
/// Global: a domain crashed or shut down, for dom0.
pub const VIRQ_DOM_EXC: u32 = 3;
/// Global: trace buffers are half full.
pub const VIRQ_TBUF: u32 = 4;
/// Global: a domain hit a debugger trap.
pub const VIRQ_DEBUGGER: u32 = 6;
/// Per-vcpu: Xenoprof sample buffer needs attention.
pub const VIRQ_XENOPROF: u32 = 7;
/// Global: the Xen console ring has new output.
pub const VIRQ_CON_RING: u32 = 8;
/// Global: a physical cpu came online or went offline.
pub const VIRQ_PCPU_STATE: u32 = 9;
/// Global: a vm_event ring needs servicing.
pub const VIRQ_MEM_EVENT: u32 = 10;
/// Global: an Argo ring has data.
pub const VIRQ_ARGO: u32 = 11;
/// Global: Xen's heap is running low.
pub const VIRQ_ENOMEM: u32 = 12;
/// Per-vcpu: PMU interrupt for the vPMU interface.
pub const VIRQ_XENPMU: u32 = 13;
/// First architecture-specific VIRQ (x86: machine check, `VIRQ_MCA`).
pub const VIRQ_ARCH_0: u32 = 16;
/// Architecture-specific VIRQ 1.
pub const VIRQ_ARCH_1: u32 = 17;
/// Architecture-specific VIRQ 2.
pub const VIRQ_ARCH_2: u32 = 18;
/// Architecture-specific VIRQ 3.
pub const VIRQ_ARCH_3: u32 = 19;
/// Architecture-specific VIRQ 4.
pub const VIRQ_ARCH_4: u32 = 20;
/// Architecture-specific VIRQ 5.
pub const VIRQ_ARCH_5: u32 = 21;
/// Architecture-specific VIRQ 6.
pub const VIRQ_ARCH_6: u32 = 22;
/// Architecture-specific VIRQ 7.
pub const VIRQ_ARCH_7: u32 = 23;
/// Number of VIRQ numbers (valid ones are below this).
pub const NR_VIRQS: u32 = 24;
/// x86 name for `VIRQ_ARCH_0`: machine-check event.
pub const VIRQ_MCA: u32 = VIRQ_ARCH_0;

xen_enum! {
    /// A virtual IRQ number that `EVTCHNOP_bind_virq` accepts (C: `VIRQ_*`).
    pub enum Virq: u32 {
        /// `VIRQ_TIMER`.
        Timer = VIRQ_TIMER,
        /// `VIRQ_DEBUG`.
        Debug = VIRQ_DEBUG,
        /// `VIRQ_CONSOLE`.
        Console = VIRQ_CONSOLE,
        /// `VIRQ_DOM_EXC`.
        DomExc = VIRQ_DOM_EXC,
        /// `VIRQ_TBUF`.
        Tbuf = VIRQ_TBUF,
        /// `VIRQ_DEBUGGER`.
        Debugger = VIRQ_DEBUGGER,
        /// `VIRQ_XENOPROF`.
        Xenoprof = VIRQ_XENOPROF,
        /// `VIRQ_CON_RING`.
        ConRing = VIRQ_CON_RING,
        /// `VIRQ_PCPU_STATE`.
        PcpuState = VIRQ_PCPU_STATE,
        /// `VIRQ_MEM_EVENT`.
        MemEvent = VIRQ_MEM_EVENT,
        /// `VIRQ_ARGO`.
        Argo = VIRQ_ARGO,
        /// `VIRQ_ENOMEM`.
        Enomem = VIRQ_ENOMEM,
        /// `VIRQ_XENPMU`.
        Xenpmu = VIRQ_XENPMU,
        /// `VIRQ_ARCH_0` (`VIRQ_MCA`).
        Arch0 = VIRQ_ARCH_0,
        /// `VIRQ_ARCH_1`.
        Arch1 = VIRQ_ARCH_1,
        /// `VIRQ_ARCH_2`.
        Arch2 = VIRQ_ARCH_2,
        /// `VIRQ_ARCH_3`.
        Arch3 = VIRQ_ARCH_3,
        /// `VIRQ_ARCH_4`.
        Arch4 = VIRQ_ARCH_4,
        /// `VIRQ_ARCH_5`.
        Arch5 = VIRQ_ARCH_5,
        /// `VIRQ_ARCH_6`.
        Arch6 = VIRQ_ARCH_6,
        /// `VIRQ_ARCH_7`.
        Arch7 = VIRQ_ARCH_7,
    }
}

impl Virq {
    /// Whether the VIRQ is bound per vcpu (as opposed to once per domain,
    /// on vcpu 0), which decides which vcpus `bind_virq` accepts.
    pub const fn is_per_vcpu(self) -> bool {
        matches!(self, Virq::Timer | Virq::Debug | Virq::Xenoprof | Virq::Xenpmu)
    }
}

// ---------------------------------------------------------------------------
// Domain ids
// ---------------------------------------------------------------------------

/// Lowest domain id reserved for special purposes.
pub const DOMID_FIRST_RESERVED: u16 = 0x7FF0;
/// "The calling domain".
pub const DOMID_SELF: u16 = 0x7FF0;
/// Pseudo-domain owning I/O memory.
pub const DOMID_IO: u16 = 0x7FF1;
/// Pseudo-domain owning the hypervisor's own pages.
pub const DOMID_XEN: u16 = 0x7FF2;
/// Pseudo-domain owning shared copy-on-write pages.
pub const DOMID_COW: u16 = 0x7FF3;
/// "No domain".
pub const DOMID_INVALID: u16 = 0x7FF4;
/// The idle domain.
pub const DOMID_IDLE: u16 = 0x7FFF;
/// Mask of the bits a domain id may use.
pub const DOMID_MASK: u16 = 0x7FFF;

// ---------------------------------------------------------------------------
// Multicall
// ---------------------------------------------------------------------------

/// `struct multicall_entry`: one hypercall in a `multicall` batch; Xen
/// writes the hypercall's return value into `result`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct MulticallEntry {
    /// Hypercall number.
    pub op: u64,
    /// Return value, filled in by Xen.
    pub result: u64,
    /// Up to six arguments.
    pub args: [u64; 6],
}
impl_pod!(MulticallEntry);

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

/// `vcpu_time_info.flags`: the TSC is synchronised across all vcpus.
pub const XEN_PVCLOCK_TSC_STABLE_BIT: u8 = 1 << 0;
/// `vcpu_time_info.flags`: the vcpu was paused by the host.
pub const XEN_PVCLOCK_GUEST_STOPPED: u8 = 1 << 1;

/// `struct vcpu_time_info`: the parameters a guest uses to turn its TSC into
/// Xen system time. `version` is odd while Xen is updating the record.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct VcpuTimeInfo {
    /// Update counter; odd while an update is in progress.
    pub version: u32,
    /// Padding.
    pub pad0: u32,
    /// TSC value at the moment `system_time` was sampled.
    pub tsc_timestamp: u64,
    /// Nanoseconds since boot at `tsc_timestamp`.
    pub system_time: u64,
    /// Fixed-point (32.32) multiplier from shifted TSC ticks to ns.
    pub tsc_to_system_mul: u32,
    /// Power-of-two shift applied to TSC deltas before the multiply.
    pub tsc_shift: i8,
    /// `XEN_PVCLOCK_*` flags.
    pub flags: u8,
    /// Padding.
    pub pad1: [u8; 2],
}
impl_pod!(VcpuTimeInfo);

impl VcpuTimeInfo {
    /// Converts a TSC delta (ticks since `tsc_timestamp`) to nanoseconds,
    /// exactly as the PV clock algorithm prescribes.
    pub const fn scale_delta(&self, delta: u64) -> u64 {
        let shifted = if self.tsc_shift < 0 {
            delta >> (-(self.tsc_shift as i32)) as u32
        } else {
            delta << self.tsc_shift as u32
        };
        ((shifted as u128 * self.tsc_to_system_mul as u128) >> 32) as u64
    }
}

// ---------------------------------------------------------------------------
// shared_info
// ---------------------------------------------------------------------------

/// `struct vcpu_info`: the per-vcpu slot of `shared_info` (or a page the
/// guest registered with `VCPUOP_register_vcpu_info`).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct VcpuInfo {
    /// Set by Xen when an event is pending for this vcpu.
    pub evtchn_upcall_pending: u8,
    /// Guest-controlled: non-zero masks event upcalls (the PV "cli").
    pub evtchn_upcall_mask: u8,
    /// Which words of `evtchn_pending` may have bits set (2-level ABI).
    pub evtchn_pending_sel: u64,
    /// Architecture part (`cr2` on x86).
    pub arch: ArchVcpuInfo,
    /// Time parameters for this vcpu.
    pub time: VcpuTimeInfo,
}
impl_pod!(VcpuInfo);


/// `struct shared_info`: the page Xen and a PV guest share for event
/// delivery, wallclock time and the first 32 vcpus' `vcpu_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedInfo {
    /// Slots for vcpus 0..32.
    pub vcpu_info: [VcpuInfo; XEN_LEGACY_MAX_VCPUS],
    /// 2-level pending bitmap, one bit per event channel.
    pub evtchn_pending: [u64; 64],
    /// 2-level mask bitmap, one bit per event channel.
    pub evtchn_mask: [u64; 64],
    /// Wallclock update counter; odd while updating.
    pub wc_version: u32,
    /// Wallclock seconds (low 32 bits) at system time 0.
    pub wc_sec: u32,
    /// Wallclock nanoseconds at system time 0.
    pub wc_nsec: u32,
    /// Wallclock seconds, high 32 bits.
    pub wc_sec_hi: u32,
    /// Architecture part (p2m list location, NMI reason).
    pub arch: ArchSharedInfo,
}
pod_zeroed_default!(SharedInfo);

// ---------------------------------------------------------------------------
// start_info
// ---------------------------------------------------------------------------

/// The magic that starts `start_info.magic` for an x86-64 PV guest.
pub const XEN_START_INFO_MAGIC: &[u8] = b"xen-3.0-x86_64";
/// Size of `start_info.cmd_line`.
pub const MAX_GUEST_CMDLINE: usize = 1024;

/// `start_info.flags`: the domain is privileged.
pub const SIF_PRIVILEGED: u32 = 1 << 0;
/// `start_info.flags`: this is the initial domain (dom0).
pub const SIF_INITDOMAIN: u32 = 1 << 1;
/// `start_info.flags`: `mod_start` points at a multiboot module list.
pub const SIF_MULTIBOOT_MOD: u32 = 1 << 2;
/// `start_info.flags`: `mod_start` is a PFN rather than a virtual address.
pub const SIF_MOD_START_PFN: u32 = 1 << 3;
/// `start_info.flags`: the toolstack uses the virtually mapped p2m list.
pub const SIF_VIRT_P2M_4TOOLS: u32 = 1 << 4;
/// `start_info.flags`: power-management bits reserved for dom0.
pub const SIF_PM_MASK: u32 = 0xFF << 8;

/// `start_info.console.domU`: a domU's console ring page and event channel.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct StartInfoConsoleDomU {
    /// Machine frame of the console ring page.
    pub mfn: u64,
    /// Event channel of the console ring.
    pub evtchn: u32,
}
impl_pod!(StartInfoConsoleDomU);

/// `start_info.console.dom0`: where dom0 finds its VGA console description.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct StartInfoConsoleDom0 {
    /// Offset of a `dom0_vga_console_info` from the start of `start_info`.
    pub info_off: u32,
    /// Size of that structure.
    pub info_size: u32,
}
impl_pod!(StartInfoConsoleDom0);

/// The console union of `start_info`: `domU` for guests, `dom0` for dom0.
#[repr(C)]
#[derive(Clone, Copy)]
#[allow(non_snake_case)]
pub union StartInfoConsole {
    /// Unprivileged domains: the console ring.
    pub domU: StartInfoConsoleDomU,
    /// The initial domain: VGA console information.
    pub dom0: StartInfoConsoleDom0,
}
pod_union!(StartInfoConsole);

/// `struct start_info`: the page the domain builder hands a PV kernel in
/// `rsi` at entry, describing its memory, its special pages and modules.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StartInfo {
    /// `"xen-<version>-<platform>"`, NUL padded (see [`XEN_START_INFO_MAGIC`]).
    pub magic: [u8; 32],
    /// Number of pages the domain owns.
    pub nr_pages: u64,
    /// Machine address of the shared-info page.
    pub shared_info: u64,
    /// `SIF_*` flags.
    pub flags: u32,
    /// Machine frame of the xenstore ring page.
    pub store_mfn: u64,
    /// Event channel of the xenstore ring.
    pub store_evtchn: u32,
    /// Console ring (domU) or VGA info location (dom0).
    pub console: StartInfoConsole,
    /// Virtual address of the initial page-table root (L4).
    pub pt_base: u64,
    /// Number of page-table frames the builder set up.
    pub nr_pt_frames: u64,
    /// Virtual address of the initial p2m (pfn to mfn) list.
    pub mfn_list: u64,
    /// Virtual address (or PFN, see `SIF_MOD_START_PFN`) of the first module.
    pub mod_start: u64,
    /// Size in bytes of the first module.
    pub mod_len: u64,
    /// NUL-terminated kernel command line.
    pub cmd_line: [u8; MAX_GUEST_CMDLINE],
    /// PFN of the first p2m table frame, if placed by `XEN_ELFNOTE_INIT_P2M`.
    pub first_p2m_pfn: u64,
    /// Number of p2m table frames.
    pub nr_p2m_frames: u64,
}
pod_zeroed_default!(StartInfo);

impl StartInfo {
    /// Writes the x86-64 magic string (NUL padded) into `magic`.
    pub fn set_magic(&mut self) {
        self.magic = [0; 32];
        self.magic[..XEN_START_INFO_MAGIC.len()].copy_from_slice(XEN_START_INFO_MAGIC);
    }

    /// Whether `magic` begins with `"xen-3.0-"`, the check Linux makes.
    pub fn has_xen3_magic(&self) -> bool {
        self.magic.starts_with(b"xen-3.0-")
    }

    /// The command line up to (not including) its first NUL.
    pub fn cmd_line_bytes(&self) -> &[u8] {
        let len = self.cmd_line.iter().position(|&b| b == 0).unwrap_or(MAX_GUEST_CMDLINE);
        &self.cmd_line[..len]
    }

    /// Copies `line` into `cmd_line`, truncated so a terminating NUL fits.
    pub fn set_cmd_line(&mut self, line: &[u8]) {
        self.cmd_line = [0; MAX_GUEST_CMDLINE];
        let len = line.len().min(MAX_GUEST_CMDLINE - 1);
        self.cmd_line[..len].copy_from_slice(&line[..len]);
    }
}

/// `struct xen_multiboot_mod_list`: one module when `SIF_MULTIBOOT_MOD`
/// is set; all fields are offsets from the start of the module area.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenMultibootModList {
    /// Offset of the module's first byte.
    pub mod_start: u32,
    /// Offset one past the module's last byte.
    pub mod_end: u32,
    /// Offset of the module's NUL-terminated command line.
    pub cmdline: u32,
    /// Unused, zero.
    pub pad: u32,
}
impl_pod!(XenMultibootModList);

/// `dom0_vga_console_info.video_type`: VGA text mode 3.
pub const XEN_VGATYPE_TEXT_MODE_3: u8 = 0x03;
/// `dom0_vga_console_info.video_type`: VESA linear framebuffer.
pub const XEN_VGATYPE_VESA_LFB: u8 = 0x23;
/// `dom0_vga_console_info.video_type`: EFI linear framebuffer.
pub const XEN_VGATYPE_EFI_LFB: u8 = 0x70;

/// Text-mode member of the `dom0_vga_console_info` union.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct VgaTextMode3 {
    /// Font height in pixels.
    pub font_height: u16,
    /// Cursor column.
    pub cursor_x: u16,
    /// Cursor row.
    pub cursor_y: u16,
    /// Number of text rows.
    pub rows: u16,
    /// Number of text columns.
    pub columns: u16,
}
impl_pod!(VgaTextMode3);

/// Linear-framebuffer member of the `dom0_vga_console_info` union.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct VgaVesaLfb {
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Bytes per scan line.
    pub bytes_per_line: u16,
    /// Bits per pixel.
    pub bits_per_pixel: u16,
    /// Physical base address of the framebuffer (low 32 bits).
    pub lfb_base: u32,
    /// Framebuffer size in 64 KiB units.
    pub lfb_size: u32,
    /// Red field position.
    pub red_pos: u8,
    /// Red field width.
    pub red_size: u8,
    /// Green field position.
    pub green_pos: u8,
    /// Green field width.
    pub green_size: u8,
    /// Blue field position.
    pub blue_pos: u8,
    /// Blue field width.
    pub blue_size: u8,
    /// Reserved field position.
    pub rsvd_pos: u8,
    /// Reserved field width.
    pub rsvd_size: u8,
    /// VESA capabilities.
    pub gbl_caps: u32,
    /// VESA mode attributes.
    pub mode_attrs: u16,
    /// Padding.
    pub pad: u16,
    /// High 32 bits of the framebuffer base.
    pub ext_lfb_base: u32,
}
impl_pod!(VgaVesaLfb);

/// The mode-specific union of `dom0_vga_console_info`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union VgaConsoleMode {
    /// Valid for `XEN_VGATYPE_TEXT_MODE_3`.
    pub text_mode_3: VgaTextMode3,
    /// Valid for the framebuffer types.
    pub vesa_lfb: VgaVesaLfb,
}
pod_union!(VgaConsoleMode);

/// `struct dom0_vga_console_info`: the boot console Xen hands to dom0.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct Dom0VgaConsoleInfo {
    /// `XEN_VGATYPE_*`.
    pub video_type: u8,
    /// Mode details.
    pub u: VgaConsoleMode,
}
impl_pod!(Dom0VgaConsoleInfo);

/// `xen_uuid_t`: a UUID in big-endian byte order.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct XenUuid {
    /// The 16 bytes.
    pub a: [u8; 16],
}
impl_pod!(XenUuid);

/// `struct xenctl_bitmap`: a bitmap of cpus or nodes passed by handle in
/// domctl and sysctl.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenctlBitmap {
    /// Address of the bitmap bytes.
    pub bitmap: GuestHandle64<u8>,
    /// Number of valid bits.
    pub nr_bits: u32,
}
impl_pod!(XenctlBitmap);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virq_parsing() {
        assert_eq!(Virq::try_from(0u32), Ok(Virq::Timer));
        for bad in [5u32, 14, 15, NR_VIRQS, u32::MAX] {
            assert!(Virq::try_from(bad).is_err(), "{bad}");
        }
        assert!(Virq::Timer.is_per_vcpu());
        assert!(!Virq::DomExc.is_per_vcpu());
    }

    #[test]
    fn start_info_helpers() {
        let mut si = StartInfo::default();
        si.set_magic();
        assert!(si.has_xen3_magic());
        assert_eq!(&si.magic[..15], b"xen-3.0-x86_64\0");
        si.set_cmd_line(b"console=hvc0");
        assert_eq!(si.cmd_line_bytes(), b"console=hvc0");
        si.set_cmd_line(&[b'x'; 2000]);
        assert_eq!(si.cmd_line_bytes().len(), MAX_GUEST_CMDLINE - 1);
    }

    #[test]
    fn pvclock_scaling() {
        let t = VcpuTimeInfo { tsc_to_system_mul: 1 << 31, tsc_shift: 1, ..Default::default() };
        assert_eq!(t.scale_delta(1000), 1000);
        let t = VcpuTimeInfo { tsc_to_system_mul: 1 << 31, tsc_shift: -1, ..Default::default() };
        assert_eq!(t.scale_delta(1000), 250);
    }
}
