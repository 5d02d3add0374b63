//! `memcpy`, `memmove`, `memset`, `memcmp`, `bcmp`: the compiler emits calls
//! to them and a freestanding link has no C library to provide them. String
//! instructions keep the compiler from turning the loops back into calls,
//! and no SSE is used. Copies and fills move quadwords, then the remaining
//! bytes: QEMU's TCG runs a `rep` string instruction one iteration at a
//! time, so a 4 KiB page takes 512 iterations instead of 4096.

/// Copy `n` bytes between non-overlapping ranges.
///
/// # Safety
/// The C `memcpy` contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller passes valid, disjoint ranges of `n` bytes. The
    // forward copy is also right for `dest` below an overlapping `src`
    // (memmove relies on it): every quadword is read before the writes
    // reach it.
    unsafe {
        core::arch::asm!(
            "rep movsq",
            "mov rcx, {rest}",
            "rep movsb",
            rest = in(reg) n & 7,
            inout("rcx") n >> 3 => _,
            inout("rdi") dest => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags),
        );
    }
    dest
}

/// Copy `n` bytes between possibly overlapping ranges.
///
/// # Safety
/// The C `memmove` contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if n == 0 || (dest as usize) <= (src as usize) || (dest as usize) >= (src as usize) + n {
        // SAFETY: a forward copy never reads a byte it already overwrote here.
        return unsafe { memcpy(dest, src, n) };
    }
    // SAFETY: dest overlaps src from above, so copy backwards (DF set, then
    // cleared again as the ABI requires).
    unsafe {
        core::arch::asm!("std", "rep movsb", "cld",
            inout("rcx") n => _, inout("rdi") dest.add(n - 1) => _, inout("rsi") src.add(n - 1) => _,
            options(nostack));
    }
    dest
}

/// Fill `n` bytes with `c`.
///
/// # Safety
/// The C `memset` contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    let pattern = u64::from(c as u8) * 0x0101_0101_0101_0101;
    // SAFETY: the caller passes a valid range of `n` bytes.
    unsafe {
        core::arch::asm!(
            "rep stosq",
            "mov rcx, {rest}",
            "rep stosb",
            rest = in(reg) n & 7,
            inout("rcx") n >> 3 => _,
            inout("rdi") dest => _,
            in("rax") pattern,
            options(nostack, preserves_flags),
        );
    }
    dest
}

/// Compare `n` bytes.
///
/// # Safety
/// The C `memcmp` contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: both ranges are valid for `n` bytes; volatile reads keep
        // the loop from becoming a call to memcmp.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// Compare `n` bytes for equality.
///
/// # Safety
/// The C `bcmp` contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}
