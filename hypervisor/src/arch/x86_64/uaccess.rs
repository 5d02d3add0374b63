//! Access to guest memory from hypercalls and trap handling.
//!
//! Guest pointers are guest-virtual addresses, valid under the guest page
//! tables that are live while the hypervisor runs on the guest's behalf.
//! A range is refused (`EFAULT`) when it wraps or touches the hypervisor's
//! reserved range; a fault on the copy itself (unmapped or read-only guest
//! memory, a non-canonical address) is caught by the fixup in `traps.rs`
//! and also becomes `EFAULT`. Nothing a guest passes can make the
//! hypervisor touch its own memory. The same fixup table lets the
//! hypervisor probe MSRs that may not exist.

use dom0_abi::arch_x86::{HYPERVISOR_VIRT_END, HYPERVISOR_VIRT_START};

unsafe extern "C" {
    fn hv_copy_guest(dst: *mut u8, src: *const u8, len: usize) -> usize;
    fn hv_rdmsr_safe(msr: u32, out: *mut u64) -> u32;
    fn hv_wrmsr_safe(msr: u32, value: u64) -> u32;
    static copy_guest_insn: u8;
    static copy_guest_fixup: u8;
    static rdmsr_safe_insn: u8;
    static rdmsr_safe_fixup: u8;
    static wrmsr_safe_insn: u8;
    static wrmsr_safe_fixup: u8;
    static load_gs_insn: u8;
    static load_gs_fixup: u8;
    fn hv_load_user_gs(sel: u16);
}

/// Load the guest user GS selector (null if it is not loadable).
pub fn load_user_gs(sel: u16) {
    // SAFETY: a faulting selector load is fixed up to a null load; SWAPGS
    // pairs around it keep the kernel GS base.
    unsafe { hv_load_user_gs(sel) }
}

/// A guest range could not be accessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault;

/// Whether `[addr, addr + len)` is a range a guest may name.
pub fn range_ok(addr: u64, len: u64) -> bool {
    let Some(end) = addr.checked_add(len) else { return false };
    end <= HYPERVISOR_VIRT_START || addr >= HYPERVISOR_VIRT_END
}

/// Copy `dst.len()` bytes from guest address `src`.
pub fn copy_from_guest(dst: &mut [u8], src: u64) -> Result<(), Fault> {
    if !range_ok(src, dst.len() as u64) {
        return Err(Fault);
    }
    // SAFETY: `dst` is ours; the source range is outside the hypervisor
    // range and faults on it are fixed up.
    let left = unsafe { hv_copy_guest(dst.as_mut_ptr(), src as *const u8, dst.len()) };
    if left == 0 { Ok(()) } else { Err(Fault) }
}

/// Copy `src` to guest address `dst`.
pub fn copy_to_guest(dst: u64, src: &[u8]) -> Result<(), Fault> {
    if !range_ok(dst, src.len() as u64) {
        return Err(Fault);
    }
    // SAFETY: as in `copy_from_guest`, with the roles swapped.
    let left = unsafe { hv_copy_guest(dst as *mut u8, src.as_ptr(), src.len()) };
    if left == 0 { Ok(()) } else { Err(Fault) }
}

/// Read a plain-data value from guest memory.
pub fn read_guest<T: dom0_abi::Pod>(src: u64) -> Result<T, Fault> {
    let mut v = T::zeroed();
    // SAFETY: `Pod` types are valid for any byte pattern.
    let bytes = unsafe { core::slice::from_raw_parts_mut(&mut v as *mut T as *mut u8, core::mem::size_of::<T>()) };
    copy_from_guest(bytes, src)?;
    Ok(v)
}

/// Write a plain-data value to guest memory.
pub fn write_guest<T: dom0_abi::Pod>(dst: u64, v: &T) -> Result<(), Fault> {
    // SAFETY: reading the bytes of a `Pod` value.
    let bytes = unsafe { core::slice::from_raw_parts(v as *const T as *const u8, core::mem::size_of::<T>()) };
    copy_to_guest(dst, bytes)
}

/// The exception table: instructions allowed to fault in ring 0 and where
/// each resumes.
fn fixups() -> [(u64, u64); 4] {
    [
        (&raw const load_gs_insn as u64, &raw const load_gs_fixup as u64),
        (&raw const copy_guest_insn as u64, &raw const copy_guest_fixup as u64),
        (&raw const rdmsr_safe_insn as u64, &raw const rdmsr_safe_fixup as u64),
        (&raw const wrmsr_safe_insn as u64, &raw const wrmsr_safe_fixup as u64),
    ]
}

/// If `rip` is an instruction with a fixup, the address to resume at.
pub fn fixup_for(rip: u64) -> Option<u64> {
    fixups().iter().find(|&&(insn, _)| insn == rip).map(|&(_, fixup)| fixup)
}

/// Read an MSR that may not exist.
pub fn rdmsr_safe(msr: u32) -> Option<u64> {
    let mut v = 0;
    // SAFETY: a #GP on the RDMSR is fixed up; `v` is a valid out pointer.
    (unsafe { hv_rdmsr_safe(msr, &mut v) } == 0).then_some(v)
}

/// Write an MSR that may not exist or may refuse the value.
pub fn wrmsr_safe(msr: u32, value: u64) -> bool {
    // SAFETY: a #GP on the WRMSR is fixed up. Callers only write MSRs whose
    // effect on the hypervisor they know.
    unsafe { hv_wrmsr_safe(msr, value) == 0 }
}
