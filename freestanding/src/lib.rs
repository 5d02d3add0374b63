//! Support for the freestanding images of this workspace (the hypervisor
//! and the PV test kernels), which are built for the host triple without a
//! C library:
//!
//! * [`mem`]: `memcpy`, `memmove`, `memset`, `memcmp`, `bcmp`, which the
//!   compiler calls. Compiled only with `--cfg freestanding` (the bare
//!   builds pass it), so host builds keep the C library's.
//! * [`link`] (feature `build`): the link arguments their build scripts
//!   give their binaries.
#![no_std]

#[cfg(freestanding)]
pub mod mem;

#[cfg(feature = "build")]
pub mod link;
