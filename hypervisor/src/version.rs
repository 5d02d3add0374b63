//! Version strings reported at boot and through `xen_version`.

/// Our own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Xen ABI we implement.
pub const XEN_ABI: &str = "Xen 4.17 x86-64 PV ABI";
/// Product name printed in the banner.
pub const NAME: &str = "Rust PV hypervisor";
