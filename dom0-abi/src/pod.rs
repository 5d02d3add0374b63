//! Plain-old-data support: the [`Pod`] marker for ABI types that any bit
//! pattern may inhabit, and [`UnknownValue`], the error every raw-number
//! enum returns for numbers Xen does not define.

use core::fmt;
use core::mem::size_of;

/// A type made only of integers (and arrays, structs or unions of them) in
/// which every bit pattern is a valid value, so it can be zero-filled or
/// read out of guest or ioctl memory without validation.
///
/// # Safety
/// Implementors must be `#[repr(C)]` or `#[repr(transparent)]` and contain
/// no references, pointers, `bool`s, `char`s or enums with invalid bit
/// patterns.
pub unsafe trait Pod: Copy + 'static {
    /// The all-zero value.
    fn zeroed() -> Self {
        // SAFETY: the trait contract says all-zero is a valid value.
        unsafe { core::mem::zeroed() }
    }

    /// Reads a value from the start of `bytes` (no alignment needed), or
    /// `None` when `bytes` is shorter than the type.
    fn read_from(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < size_of::<Self>() {
            return None;
        }
        // SAFETY: the length was checked, `read_unaligned` has no alignment
        // requirement and the contract makes any bit pattern valid.
        Some(unsafe { core::ptr::read_unaligned(bytes.as_ptr().cast::<Self>()) })
    }
}

// SAFETY: primitive integers accept every bit pattern.
unsafe impl Pod for u8 {}
// SAFETY: as above.
unsafe impl Pod for u16 {}
// SAFETY: as above.
unsafe impl Pod for u32 {}
// SAFETY: as above.
unsafe impl Pod for u64 {}
// SAFETY: as above.
unsafe impl Pod for i8 {}
// SAFETY: as above.
unsafe impl Pod for i16 {}
// SAFETY: as above.
unsafe impl Pod for i32 {}
// SAFETY: as above.
unsafe impl Pod for i64 {}
// SAFETY: an array of `Pod` values has no padding and no invalid patterns
// beyond those of its elements.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

/// A raw number that names no value of the enum it was parsed into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UnknownValue {
    /// Name of the Rust enum the number was meant for.
    pub type_name: &'static str,
    /// The rejected number (sign-extended for signed enums).
    pub value: u64,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} value {:#x}", self.type_name, self.value)
    }
}

impl core::error::Error for UnknownValue {}
