//! Link the PV test kernels as freestanding ELF images with our own linker
//! script (Xen's ELF notes, the hypercall page, a kernel-style virtual
//! base). Only the binaries get these arguments; the library's host unit
//! tests link normally.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed=linker.ld");
    for arg in [
        format!("-T{dir}/linker.ld"),
        "-nostartfiles".into(),
        "-nostdlib".into(),
        "-static".into(),
        "-no-pie".into(),
        "-Wl,--build-id=none".into(),
        "-Wl,--gc-sections".into(),
        "-Wl,-z,max-page-size=0x1000".into(),
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
