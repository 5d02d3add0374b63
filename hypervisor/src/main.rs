//! The hypervisor image: everything lives in the library; `_start` in its
//! boot assembly is the entry point GRUB jumps to.
#![no_std]
#![no_main]

// Link the library (boot code, entry points, panic handler, allocator).
use hypervisor as _;
