//! Shared test fixture: build the hypervisor once per test process, make an
//! image per test and boot it.

use anyhow::Result;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use crate::image::{make_iso, ImageSpec, Module};
use crate::qemu::{boot, Capture, Machine, Transcript};
use crate::{build, tools, workspace_root};

/// The hypervisor ELF, built (and the host tools checked) once.
pub fn hypervisor_elf() -> PathBuf {
    static ELF: OnceLock<PathBuf> = OnceLock::new();
    ELF.get_or_init(|| {
        tools::ensure().expect("QEMU and GRUB tools are available");
        build::hypervisor().expect("the hypervisor builds")
    })
    .clone()
}

/// Directory for this test run's images.
pub fn scratch_dir() -> PathBuf {
    let dir = workspace_root().join("target/qemu-tests");
    std::fs::create_dir_all(&dir).expect("create target/qemu-tests");
    dir
}

/// One hypervisor boot for a test.
pub struct Boot<'a> {
    /// Unique name (image file name).
    pub name: &'a str,
    /// Hypervisor command line.
    pub cmdline: &'a str,
    /// Machine shape.
    pub machine: Machine,
    /// Modules.
    pub modules: Vec<Module>,
    /// Stop once a line contains this.
    pub stop_on: Option<&'a str>,
    /// Kill after this long.
    pub timeout: Duration,
}

impl<'a> Boot<'a> {
    /// A boot with defaults: 1 CPU, 512 MiB, 60 s.
    pub fn new(name: &'a str, cmdline: &'a str) -> Self {
        Self { name, cmdline, machine: Machine::default(), modules: Vec::new(), stop_on: None, timeout: Duration::from_secs(60) }
    }

    /// Build the image and boot it.
    pub fn run(self) -> Result<Transcript> {
        let iso = scratch_dir().join(format!("{}.iso", self.name));
        let spec = ImageSpec { hypervisor: hypervisor_elf(), cmdline: Some(self.cmdline.to_string()), modules: self.modules };
        make_iso(&spec, &iso)?;
        let cap = Capture { timeout: self.timeout, stop_on: self.stop_on, mark: Some("Boot summary:"), ..Capture::default() };
        let t = boot(&iso, &self.machine, &cap)?;
        let _ = std::fs::remove_file(&iso);
        eprintln!("---- {} ({:?}, {:.2?}, summary at {:?})\n{}", self.name, t.ending, t.elapsed, t.mark_at, t.text);
        Ok(t)
    }
}
