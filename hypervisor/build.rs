//! Link the hypervisor as a freestanding multiboot2 ELF with our own linker
//! script. Only the `hypervisor` binary gets these arguments; the library's
//! host unit tests link normally.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed=linker.ld");
    println!("cargo:rerun-if-changed=src/arch/x86_64/boot.S");
    println!("cargo:rerun-if-changed=src/arch/x86_64/entry.S");
    println!("cargo:rerun-if-changed=src/arch/x86_64/trampoline.S");
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
