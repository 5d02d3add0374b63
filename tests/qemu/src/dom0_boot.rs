//! Booting a PV test kernel as dom0 of a hypervisor (ours or Xen) and
//! extracting the transcript it prints: the shared half of the
//! differential boots in [`crate::ours`] and [`crate::xen`].

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::fixture::scratch_dir;
use crate::image::{make_iso, ImageSpec, Module};
use crate::qemu::{boot, Capture, Ending, Machine};
use crate::transcript::Transcript;

/// Which hypervisor, with what command line, and how to capture.
pub struct Dom0Boot<'a> {
    /// The multiboot2 hypervisor file.
    pub hypervisor: PathBuf,
    /// Its command line.
    pub cmdline: &'a str,
    /// Its name in messages and image file names ("ours", "Xen 4.17").
    pub label: &'a str,
    /// When to stop.
    pub capture: Capture<'a>,
}

/// Boot `kernel` (with `kernel_cmdline`) as dom0 and return its transcript,
/// with the serial log in `boot`.
pub fn boot_kernel(b: &Dom0Boot<'_>, kernel: &Path, kernel_cmdline: &str, machine: &Machine) -> Result<Transcript> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let stem = kernel.file_name().map_or("kernel".into(), |n| n.to_string_lossy().into_owned());
    let tag: String = b.label.chars().filter(char::is_ascii_alphanumeric).collect();
    let iso = scratch_dir().join(format!(
        "{tag}-{stem}-{}-{}.iso",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let spec = ImageSpec {
        hypervisor: b.hypervisor.clone(),
        cmdline: Some(b.cmdline.to_string()),
        modules: vec![Module { file: kernel.to_path_buf(), name: "dom0".into(), args: kernel_cmdline.to_string() }],
    };
    make_iso(&spec, &iso)?;
    let run = boot(&iso, machine, &b.capture);
    let _ = std::fs::remove_file(&iso);
    let run = run?;
    let mut t = Transcript::extract(&run.text).with_context(|| {
        let why = match run.ending {
            Ending::Timeout => format!("timed out after {:.0?}", run.elapsed),
            ref e => format!("{e:?} after {:.1?}", run.elapsed),
        };
        format!("no transcript from {} on {} ({why}); serial log:\n{}", kernel.display(), b.label, run.text)
    })?;
    t.boot = Some(run);
    Ok(t)
}
