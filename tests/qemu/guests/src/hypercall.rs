//! Hypercalls through the hypercall page.
//!
//! The hypervisor fills the page named by `XEN_ELFNOTE_HYPERCALL_PAGE` with
//! one 32-byte stub per hypercall number (`mov $nr, %eax; syscall; ...`).
//! A call passes up to five arguments in `rdi`, `rsi`, `rdx`, `r10`, `r8`
//! and returns in `rax`; `rcx` and `r11` are clobbered, and debug builds of
//! Xen poison the argument registers, so all of them count as clobbered.

use core::fmt;

use dom0_abi::console_io::CONSOLEIO_write;
use dom0_abi::hypercall::{
    HYPERCALL_PAGE_SLOTS, HYPERCALL_SLOT_SIZE, HYPERVISOR_console_io, HYPERVISOR_sched_op,
    HYPERVISOR_update_va_mapping, HYPERVISOR_xen_version,
};
use dom0_abi::sched::{SchedShutdown, SCHEDOP_shutdown};
use dom0_abi::Errno;

core::arch::global_asm!(
    ".pushsection .text.hypercall_page, \"ax\", @progbits",
    ".balign 4096",
    ".globl pv_guest_hypercall_page",
    "pv_guest_hypercall_page:",
    ".fill 4096, 1, 0xcc",
    ".popsection",
    options(att_syntax)
);

unsafe extern "C" {
    /// The hypercall page (`int3` until the hypervisor fills it).
    static pv_guest_hypercall_page: [u8; 4096];
}

/// A failed hypercall: the negative value it returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XenError(pub i64);

impl XenError {
    /// The errno, when the value is one Xen defines.
    pub fn errno(self) -> Option<Errno> {
        i32::try_from(-self.0).ok().and_then(|e| Errno::try_from(e).ok())
    }
}

impl fmt::Display for XenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errno() {
            Some(e) => write!(f, "{} ({})", self.0, e.name()),
            None => write!(f, "{}", self.0),
        }
    }
}

/// Result of a hypercall: the non-negative value, or the error.
pub type XenResult = Result<u64, XenError>;

/// Split a raw return value into success and error.
pub fn check(ret: i64) -> XenResult {
    if ret < 0 { Err(XenError(ret)) } else { Ok(ret as u64) }
}

/// Address of the hypercall page.
pub fn page_address() -> u64 {
    core::ptr::addr_of!(pv_guest_hypercall_page) as u64
}

/// Call hypercall `nr` through its stub in the hypercall page with five
/// arguments; returns `rax` as Xen left it.
///
/// # Safety
/// The arguments must be valid for that hypercall: pointers must point to
/// memory of the right type and size that the hypervisor may read or write.
pub unsafe fn raw(nr: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
    assert!((nr as usize) < HYPERCALL_PAGE_SLOTS, "hypercall {nr} has no slot in the page");
    let stub = page_address() + nr * HYPERCALL_SLOT_SIZE as u64;
    let ret: i64;
    // SAFETY: the stub is the hypervisor's; it returns with only rax, rcx,
    // r11 (and, in debug builds, the argument registers) changed. The caller
    // vouches for the arguments.
    unsafe {
        core::arch::asm!(
            "call {stub}",
            stub = in(reg) stub,
            inlateout("rdi") a1 => _,
            inlateout("rsi") a2 => _,
            inlateout("rdx") a3 => _,
            inlateout("r10") a4 => _,
            inlateout("r8") a5 => _,
            lateout("rax") ret,
            lateout("rcx") _,
            lateout("r11") _,
            lateout("r9") _,
        );
    }
    ret
}

/// Make hypercall `nr` with a bare `syscall`, bypassing the page (how a
/// guest reaches numbers the page has no slot for).
///
/// # Safety
/// As for [`raw`].
pub unsafe fn raw_syscall(nr: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
    let ret: i64;
    // SAFETY: from the guest kernel, `syscall` enters the hypervisor's
    // hypercall path, which returns with rax, rcx, r11 (and possibly the
    // argument registers) changed. The caller vouches for the arguments.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as i64 => ret,
            inlateout("rdi") a1 => _,
            inlateout("rsi") a2 => _,
            inlateout("rdx") a3 => _,
            inlateout("r10") a4 => _,
            inlateout("r8") a5 => _,
            lateout("rcx") _,
            lateout("r11") _,
            lateout("r9") _,
        );
    }
    ret
}

/// `HYPERVISOR_console_io(CONSOLEIO_write, len, buf)`: print `bytes` on
/// the hypervisor's console.
pub fn console_write(bytes: &[u8]) -> XenResult {
    // SAFETY: the hypervisor only reads `bytes.len()` bytes at `bytes`.
    check(unsafe { raw(HYPERVISOR_console_io, CONSOLEIO_write.into(), bytes.len() as u64, bytes.as_ptr() as u64, 0, 0) })
}

/// `HYPERVISOR_sched_op(SCHEDOP_shutdown, {reason})`: shut the domain down
/// with a `SHUTDOWN_*` reason. Never returns; if the hypervisor lets it
/// return, spin yielding nothing.
pub fn shutdown(reason: u32) -> ! {
    let arg = SchedShutdown { reason };
    loop {
        // SAFETY: the argument is a live `struct sched_shutdown`.
        unsafe { raw(HYPERVISOR_sched_op, SCHEDOP_shutdown.into(), core::ptr::addr_of!(arg) as u64, 0, 0, 0) };
        core::hint::spin_loop();
    }
}

/// `HYPERVISOR_xen_version(cmd, arg)` with a command that takes no buffer
/// (`XENVER_version`, `XENVER_pagesize`): the value returned.
pub fn xen_version(cmd: u32) -> XenResult {
    // SAFETY: commands without an argument ignore the null pointer.
    check(unsafe { raw(HYPERVISOR_xen_version, cmd.into(), 0, 0, 0, 0) })
}

/// `HYPERVISOR_xen_version(cmd, out)` with a command that fills a buffer of
/// type `T` (`XENVER_extraversion` fills `[u8; 16]`, `XENVER_capabilities`
/// `[u8; 1024]`, `XENVER_get_features` a `xen_feature_info`).
///
/// # Safety
/// `T` must be the structure the hypervisor writes for `cmd`.
pub unsafe fn xen_version_into<T>(cmd: u32, out: &mut T) -> XenResult {
    // SAFETY: the caller matched `T` to `cmd`; `out` is writable.
    check(unsafe { raw(HYPERVISOR_xen_version, cmd.into(), out as *mut T as u64, 0, 0, 0) })
}

/// `HYPERVISOR_update_va_mapping(va, pte, flags)`: write the L1 entry that
/// maps `va` in the current page tables.
///
/// # Safety
/// Nothing may use the old mapping of `va` afterwards, and anything that
/// reads through the new one must expect the new frame's contents.
pub unsafe fn update_va_mapping(va: u64, pte: u64, flags: u64) -> XenResult {
    // SAFETY: the caller gives up the old mapping of `va`.
    check(unsafe { raw(HYPERVISOR_update_va_mapping, va, pte, flags, 0, 0) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_named() {
        assert_eq!(check(5), Ok(5));
        assert_eq!(check(-38), Err(XenError(-38)));
        assert_eq!(XenError(-38).to_string(), "-38 (ENOSYS)");
        assert_eq!(XenError(-9999).to_string(), "-9999");
    }
}
