//! Link the hypervisor as a freestanding multiboot2 ELF with its own linker
//! script. Only the `hypervisor` binary gets these arguments; the library's
//! host unit tests link normally.
fn main() {
    for asm in ["boot.S", "entry.S", "trampoline.S"] {
        println!("cargo:rerun-if-changed=src/arch/x86_64/{asm}");
    }
    freestanding::link::link_binaries_with("linker.ld");
}
