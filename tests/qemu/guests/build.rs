//! Link the PV test kernels as freestanding ELF images with our own linker
//! script (Xen's ELF notes, the hypercall page, a kernel-style virtual
//! base). Only the binaries get these arguments; the library's host unit
//! tests link normally.
fn main() {
    freestanding::link::link_binaries_with("linker.ld");
}
