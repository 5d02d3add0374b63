//! Basic ABI types shared by every header family: guest handles, frame
//! numbers and domain ids, plus the integer aliases Xen's C headers use.

use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::mem::size_of;

use crate::xen::{
    DOMID_COW, DOMID_FIRST_RESERVED, DOMID_IDLE, DOMID_INVALID, DOMID_IO, DOMID_SELF, DOMID_XEN,
};

/// `xen_pfn_t`: a frame number as it crosses the ABI (64 bits on x86-64).
pub type XenPfn = u64;
/// `xen_ulong_t`: Xen's "native word" type, 64 bits on x86-64.
pub type XenUlong = u64;
/// `xen_callback_t`: a callback entry point, a plain virtual address on x86-64.
pub type XenCallback = u64;
/// `domid_t` as a bare integer, for places where the typed [`DomId`] is not wanted.
pub type DomidT = u16;
/// `xen_domain_handle_t`: the 16-byte handle (normally a UUID) of a domain.
pub type XenDomainHandle = [u8; 16];

/// log2 of the page size Xen uses on x86 (4 KiB).
pub const XEN_PAGE_SHIFT: u32 = 12;
/// The x86 page size in bytes.
pub const XEN_PAGE_SIZE: u64 = 1 << XEN_PAGE_SHIFT;

/// `XEN_GUEST_HANDLE(T)` / `XEN_GUEST_HANDLE_64(T)`: the address of a `T` (or
/// an array of them) in the caller's virtual address space.
///
/// On x86-64 both C spellings are a single 8-byte, 8-aligned word; the type
/// parameter only records what the address points at. The hypervisor must
/// treat the value as untrusted and copy through it with checked accessors.
#[repr(C)]
pub struct GuestHandle<T: ?Sized = u8> {
    /// The guest virtual address (the C field `p`).
    pub p: u64,
    _points_at: PhantomData<fn() -> *const T>,
}

/// The 64-bit handle used inside domctl and sysctl; identical to
/// [`GuestHandle`] on x86-64.
pub type GuestHandle64<T = u8> = GuestHandle<T>;

impl<T: ?Sized> GuestHandle<T> {
    /// A handle holding the address `addr`.
    pub const fn new(addr: u64) -> Self {
        Self { p: addr, _points_at: PhantomData }
    }

    /// The null handle.
    pub const fn null() -> Self {
        Self::new(0)
    }

    /// The guest virtual address held by the handle.
    pub const fn addr(self) -> u64 {
        self.p
    }

    /// Whether the handle is null (which Xen often treats as "query only").
    pub const fn is_null(self) -> bool {
        self.p == 0
    }

    /// The same address, viewed as pointing at another type.
    pub const fn cast<U: ?Sized>(self) -> GuestHandle<U> {
        GuestHandle::new(self.p)
    }
}

impl<T> GuestHandle<T> {
    /// A handle to a local object (for guests and the toolstack, which pass
    /// their own addresses to Xen).
    pub fn from_ptr(ptr: *const T) -> Self {
        Self::new(ptr as usize as u64)
    }

    /// The address of element `index` of the array the handle points at, or
    /// `None` if computing it overflows.
    pub fn element_addr(self, index: u64) -> Option<u64> {
        let size = size_of::<T>() as u64;
        index.checked_mul(size).and_then(|off| self.p.checked_add(off))
    }
}

impl<T: ?Sized> Clone for GuestHandle<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for GuestHandle<T> {}

impl<T: ?Sized> Default for GuestHandle<T> {
    fn default() -> Self {
        Self::null()
    }
}

impl<T: ?Sized> PartialEq for GuestHandle<T> {
    fn eq(&self, other: &Self) -> bool {
        self.p == other.p
    }
}

impl<T: ?Sized> Eq for GuestHandle<T> {}

impl<T: ?Sized> Hash for GuestHandle<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.p.hash(state);
    }
}

impl<T: ?Sized> fmt::Debug for GuestHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GuestHandle({:#x})", self.p)
    }
}

// SAFETY: a guest handle is one `u64` plus a zero-sized marker.
unsafe impl<T: ?Sized + 'static> crate::pod::Pod for GuestHandle<T> {}

macro_rules! frame_number {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The all-ones value Xen uses for "no frame" (`INVALID_MFN` and friends).
            pub const INVALID: $name = $name(u64::MAX);

            /// The frame containing byte address `addr`.
            pub const fn from_addr(addr: u64) -> Self {
                $name(addr >> XEN_PAGE_SHIFT)
            }

            /// The address of the first byte of the frame, or `None` if it
            /// does not fit in 64 bits.
            pub const fn addr(self) -> Option<u64> {
                if self.0 > (u64::MAX >> XEN_PAGE_SHIFT) {
                    None
                } else {
                    Some(self.0 << XEN_PAGE_SHIFT)
                }
            }

            /// The raw frame number.
            pub const fn raw(self) -> u64 {
                self.0
            }

            /// Whether this is [`Self::INVALID`].
            pub const fn is_invalid(self) -> bool {
                self.0 == u64::MAX
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:#x})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }

        impl From<u64> for $name {
            fn from(raw: u64) -> Self {
                $name(raw)
            }
        }

        impl From<$name> for u64 {
            fn from(frame: $name) -> u64 {
                frame.0
            }
        }

        impl_pod!($name);
    };
}

frame_number!(
    /// A machine frame number: the index of a 4 KiB page of host memory.
    Mfn
);
frame_number!(
    /// A pseudo-physical frame number: the index of a page in a PV guest's
    /// own contiguous view of its memory (the p2m maps it to an [`Mfn`]).
    Pfn
);
frame_number!(
    /// A guest frame number: what a guest names a page by in hypercalls
    /// (an MFN for PV guests, a PFN for translated ones).
    Gfn
);

/// `domid_t` with Xen's reserved ids as constants.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct DomId(pub u16);

impl DomId {
    /// Domain 0, the initial (control) domain.
    pub const DOM0: DomId = DomId(0);
    /// `DOMID_SELF`: "the calling domain".
    pub const SELF: DomId = DomId(DOMID_SELF);
    /// `DOMID_IO`: owner of I/O memory and of pages mapped without checks.
    pub const IO: DomId = DomId(DOMID_IO);
    /// `DOMID_XEN`: owner of pages belonging to the hypervisor itself.
    pub const XEN: DomId = DomId(DOMID_XEN);
    /// `DOMID_COW`: owner of shared copy-on-write pages.
    pub const COW: DomId = DomId(DOMID_COW);
    /// `DOMID_INVALID`: "no domain".
    pub const INVALID: DomId = DomId(DOMID_INVALID);
    /// `DOMID_IDLE`: the idle domain that runs idle vcpus.
    pub const IDLE: DomId = DomId(DOMID_IDLE);

    /// Whether the id is one of the reserved special values (≥ `DOMID_FIRST_RESERVED`).
    pub const fn is_reserved(self) -> bool {
        self.0 >= DOMID_FIRST_RESERVED
    }

    /// Whether the id can name a real guest domain.
    pub const fn is_guest(self) -> bool {
        !self.is_reserved()
    }

    /// The raw 16-bit id.
    pub const fn raw(self) -> u16 {
        self.0
    }
}

impl fmt::Debug for DomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            DOMID_SELF => f.write_str("DOMID_SELF"),
            DOMID_IO => f.write_str("DOMID_IO"),
            DOMID_XEN => f.write_str("DOMID_XEN"),
            DOMID_COW => f.write_str("DOMID_COW"),
            DOMID_INVALID => f.write_str("DOMID_INVALID"),
            DOMID_IDLE => f.write_str("DOMID_IDLE"),
            id => write!(f, "DomId({id})"),
        }
    }
}

impl fmt::Display for DomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<u16> for DomId {
    fn from(raw: u16) -> Self {
        DomId(raw)
    }
}

impl From<DomId> for u16 {
    fn from(id: DomId) -> u16 {
        id.0
    }
}

impl_pod!(DomId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_addresses_round_trip() {
        assert_eq!(Mfn::from_addr(0x1234_5678), Mfn(0x12345));
        assert_eq!(Mfn(0x12345).addr(), Some(0x1234_5000));
        assert_eq!(Pfn(u64::MAX).addr(), None);
        assert!(Gfn::INVALID.is_invalid());
    }

    #[test]
    fn reserved_domids() {
        assert!(DomId::SELF.is_reserved());
        assert!(DomId::IDLE.is_reserved());
        assert!(DomId(0x7FEF).is_guest());
        assert!(DomId::DOM0.is_guest());
    }

    #[test]
    fn guest_handle_element_addresses() {
        let h: GuestHandle<u64> = GuestHandle::new(0x1000);
        assert_eq!(h.element_addr(3), Some(0x1018));
        assert_eq!(h.element_addr(u64::MAX), None);
        assert!(GuestHandle::<u8>::null().is_null());
        assert_eq!(h.cast::<u32>().addr(), 0x1000);
    }
}
