//! Start of day: the image a PV domain builder loads and the code it jumps
//! to.
//!
//! * `.note.Xen` notes (as Linux's `xen-head.S` has them, as far as a 64-bit
//!   PV kernel needs): guest OS and version, `xen-3.0`, the `generic`
//!   loader, virtual base and physical offset, entry point, hypercall page,
//!   features (`pae_pgdir_above_4gb`; the test kernels do not write their
//!   page tables directly, so they do not require `writable_page_tables`;
//!   dom0 supported),
//!   PAE mode, L1 MFN validity mask and the hypervisor hole start.
//! * `pv_guest_start`: Xen enters it in 64-bit ring 3 with `rsi` = virtual
//!   address of start_info and `rsp` on its boot stack. It records that
//!   `rsp`, moves to our own stack and calls [`guest_start`].

use core::sync::atomic::{AtomicU64, Ordering};

use dom0_abi::arch_x86::HYPERVISOR_VIRT_START;
use dom0_abi::elfnote::*;
use dom0_abi::features::XENFEAT_dom0;
use dom0_abi::sched::{SHUTDOWN_crash, SHUTDOWN_poweroff};

use crate::StartInfo;

/// Size of the kernel's own stack.
pub const STACK_SIZE: usize = 64 * 1024;

/// Virtual base of the image (`XEN_ELFNOTE_VIRT_BASE`; see `linker.ld`).
pub const VIRT_BASE: u64 = 0xffff_ffff_8000_0000;

/// One Xen ELF note: `type`, then the descriptor as assembler directives.
macro_rules! xen_note {
    ($ty:expr, $($desc:literal),+) => {
        core::arch::global_asm!(
            ".pushsection .note.Xen, \"a\", @note",
            ".balign 4",
            ".long 4",
            ".long 2f - 1f",
            ".long {ty}",
            ".asciz \"Xen\"",
            ".balign 4",
            "1:",
            $($desc,)+
            "2:",
            ".balign 4",
            ".popsection",
            ty = const $ty,
            options(att_syntax)
        );
    };
}

xen_note!(XEN_ELFNOTE_GUEST_OS, ".asciz \"pv-guests\"");
xen_note!(XEN_ELFNOTE_GUEST_VERSION, ".asciz \"0.1\"");
xen_note!(XEN_ELFNOTE_XEN_VERSION, ".asciz \"xen-3.0\"");
xen_note!(XEN_ELFNOTE_LOADER, ".asciz \"generic\"");
xen_note!(XEN_ELFNOTE_VIRT_BASE, ".quad 0xffffffff80000000");
xen_note!(XEN_ELFNOTE_PADDR_OFFSET, ".quad 0");
xen_note!(XEN_ELFNOTE_ENTRY, ".quad pv_guest_start");
xen_note!(XEN_ELFNOTE_HYPERCALL_PAGE, ".quad pv_guest_hypercall_page");
xen_note!(XEN_ELFNOTE_FEATURES, ".asciz \"pae_pgdir_above_4gb\"");
xen_note!(XEN_ELFNOTE_SUPPORTED_FEATURES, ".long 1 << 11");
xen_note!(XEN_ELFNOTE_PAE_MODE, ".asciz \"yes\"");
// mask, value: an L1 entry holds a valid MFN when _PAGE_PRESENT is set.
xen_note!(XEN_ELFNOTE_L1_MFN_VALID, ".quad 1", ".quad 1");
xen_note!(XEN_ELFNOTE_HV_START_LOW, ".quad 0xffff800000000000");

// The literals above must agree with the ABI constants.
const _: () = assert!(HYPERVISOR_VIRT_START == 0xffff_8000_0000_0000);
const _: () = assert!(XENFEAT_dom0 == 11);

/// The kernel's stack (the boot stack Xen gives us is only a page).
#[repr(C, align(4096))]
struct Stack([u8; STACK_SIZE]);

/// Backing store of the kernel stack; only the entry code names it.
static mut STACK: Stack = Stack([0; STACK_SIZE]);

/// `rsp` as the hypervisor set it at entry.
static BOOT_RSP: AtomicU64 = AtomicU64::new(0);

core::arch::global_asm!(
    ".pushsection .text.entry, \"ax\", @progbits",
    ".globl pv_guest_start",
    "pv_guest_start:",
    "mov %rsp, {boot_rsp}(%rip)",
    "lea {stack}+{size}(%rip), %rsp",
    "xor %ebp, %ebp",
    "mov %rsi, %rdi",
    "call {start}",
    "ud2",
    ".popsection",
    boot_rsp = sym BOOT_RSP,
    stack = sym STACK,
    size = const STACK_SIZE,
    start = sym guest_start,
    options(att_syntax)
);

unsafe extern "Rust" {
    /// The kernel's main function, defined by [`crate::entry!`].
    safe fn pv_guest_main(start_info: &'static StartInfo);
}

unsafe extern "C" {
    /// First byte of the image (`linker.ld`).
    static __kernel_start: u8;
    /// End of the image, bss included, page aligned (`linker.ld`).
    static __kernel_end: u8;
}

/// Called by the entry code on our stack with the start_info address;
/// runs the kernel's main function, then powers the domain off.
extern "C" fn guest_start(start_info: *const StartInfo) -> ! {
    // SAFETY: the PV ABI passes the virtual address of a mapped, writable
    // start_info page in rsi; nothing else writes it while we run.
    let start_info = unsafe { &*start_info };
    pv_guest_main(start_info);
    crate::hypercall::shutdown(SHUTDOWN_poweroff)
}

/// Shut down with `SHUTDOWN_crash` (after a panic).
pub fn crash() -> ! {
    crate::hypercall::shutdown(SHUTDOWN_crash)
}

/// `rsp` as the hypervisor set it when it entered the kernel.
pub fn boot_rsp() -> u64 {
    BOOT_RSP.load(Ordering::Relaxed)
}

/// Virtual address of the first byte of the image.
pub fn image_start() -> u64 {
    core::ptr::addr_of!(__kernel_start) as u64
}

/// Virtual address of the (page-aligned) end of the image, bss included.
pub fn image_end() -> u64 {
    core::ptr::addr_of!(__kernel_end) as u64
}
