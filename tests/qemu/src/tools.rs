//! The host tools the images and boots need, installed with apt-get when
//! missing and running as root; otherwise a clear error with the command.

use anyhow::{bail, Context, Result};
use std::process::Command;

/// A command we need and the Debian package that provides it.
const TOOLS: &[(&str, &str)] = &[
    ("qemu-system-x86_64", "qemu-system-x86"),
    ("grub-mkrescue", "grub-common"),
    ("xorriso", "xorriso"),
    ("mformat", "mtools"),
];

/// GRUB's BIOS platform files, needed by grub-mkrescue for a BIOS image.
const GRUB_PC_DIR: &str = "/usr/lib/grub/i386-pc";
/// Xen 4.17's public headers (Debian `libxen-dev`), the layout oracle of
/// the `dom0-abi` conformance test.
const XEN_HEADERS: &str = "/usr/include/xen/xen.h";

fn have(cmd: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {cmd} >/dev/null 2>&1")).status().is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// The Debian packages still missing.
pub fn missing_packages() -> Vec<&'static str> {
    let mut pkgs: Vec<&str> = TOOLS.iter().filter(|(c, _)| !have(c)).map(|&(_, p)| p).collect();
    if !std::path::Path::new(GRUB_PC_DIR).exists() {
        pkgs.push("grub-pc-bin");
    }
    if !std::path::Path::new(XEN_HEADERS).exists() {
        pkgs.push("libxen-dev");
    }
    pkgs.dedup();
    pkgs
}

/// Install `packages` with apt-get when root, else fail with the command.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    let cmd = format!("apt-get install -y {}", packages.join(" "));
    if !is_root() {
        bail!("missing packages: {}. Run: sudo apt-get update && sudo {cmd}", packages.join(", "));
    }
    eprintln!("installing {} ...", packages.join(" "));
    let script = format!("(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive {cmd} -qq");
    let status = Command::new("sh").arg("-c").arg(&script).status().context("running apt-get")?;
    if !status.success() {
        bail!("'{cmd}' failed ({status})");
    }
    Ok(())
}

/// Make sure QEMU, the GRUB image tools and Xen's headers are present.
pub fn ensure() -> Result<()> {
    apt_install(&missing_packages())?;
    let still = missing_packages();
    if !still.is_empty() {
        bail!("still missing after install: {}", still.join(", "));
    }
    Ok(())
}
