//! Link arguments of a freestanding binary, for its build script.

extern crate std;

use std::println;

/// Tell cargo to link this package's binaries freestanding with the linker
/// script `script` (relative to the package directory).
pub fn link_binaries_with(script: &str) {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed={script}");
    for arg in [
        std::format!("-T{dir}/{script}"),
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
