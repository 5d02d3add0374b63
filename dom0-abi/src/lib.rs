//! The Xen 4.17 x86-64 PV ABI (work in progress).
#![no_std]
