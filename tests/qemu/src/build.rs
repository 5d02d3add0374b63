//! Building the bare-metal crates.
//!
//! There is no `x86_64-unknown-none` target or `rust-src` here, so the
//! hypervisor is built for the host triple as a freestanding binary: its
//! `build.rs` supplies the linker script and link flags, and these codegen
//! flags keep our code free of the red zone and of SSE. They live here, not
//! in `.cargo/config.toml`, because xm, xtask and the tests are ordinary std
//! programs of the same triple. The bare-metal crates get a target directory
//! of their own so the two sets of flags never invalidate each other.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;

use crate::workspace_root;

/// Target triple of the bare-metal builds.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Codegen flags of every bare-metal crate.
pub const BARE_RUSTFLAGS: &str = "-C panic=abort -C no-redzone=yes -C target-feature=-sse,-sse2 --cfg freestanding";

/// Target directory of the bare-metal builds.
pub fn bare_target_dir() -> PathBuf {
    workspace_root().join("target/bare")
}

/// Build a bare-metal binary of `package`; returns the ELF path.
pub fn build_bare(package: &str, bin: &str) -> Result<PathBuf> {
    let root = workspace_root();
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .env("RUSTFLAGS", BARE_RUSTFLAGS)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .args(["build", "--quiet", "--release", "--package", package, "--bin", bin, "--target", TARGET])
        .arg("--target-dir")
        .arg(bare_target_dir())
        .output()
        .with_context(|| format!("running cargo build for {package}"))?;
    // rustc warns on every build that SSE2 belongs to the host ABI (we build
    // without it on purpose); show the compiler's output only on failure.
    if !status.status.success() {
        bail!("building {package} failed ({}):\n{}", status.status, String::from_utf8_lossy(&status.stderr));
    }
    Ok(bare_target_dir().join(TARGET).join("release").join(bin))
}

/// Build the hypervisor image.
pub fn hypervisor() -> Result<PathBuf> {
    build_bare("hypervisor", "hypervisor")
}

/// Package of the PV test kernels.
pub const GUESTS_PACKAGE: &str = "pv-guests";

/// Names of the PV test kernels (binaries of [`GUESTS_PACKAGE`]).
pub const GUESTS: &[&str] = &["hello", "bench", "traps", "hypercalls", "hostile", "mm", "mm_hostile", "crash", "domu", "events", "time", "grants", "dom0ops", "fuzz"];

/// Build the PV test kernel `name`; returns its ELF path.
pub fn guest(name: &str) -> Result<PathBuf> {
    build_bare(GUESTS_PACKAGE, name)
}

/// Build every PV test kernel; returns their ELF paths in [`GUESTS`] order.
pub fn guests() -> Result<Vec<PathBuf>> {
    GUESTS.iter().map(|name| guest(name)).collect()
}
