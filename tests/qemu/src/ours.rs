//! Boots of the test kernels on our hypervisor: the differential tests'
//! first half (the other is [`crate::xen`]).
//!
//! A test kernel is module 1 of a GRUB image with our hypervisor, so it
//! runs as dom0. The boot stops at the guest's `TRANSCRIPT END`, or when
//! the hypervisor reports that the domain crashed, or at a timeout.

use anyhow::{Context, Result};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::fixture::{hypervisor_elf, scratch_dir};
use crate::image::{make_iso, ImageSpec, Module};
use crate::qemu::{base_args, Ending, Machine};
use crate::transcript::{Transcript, END};

/// Our hypervisor's command line in these boots.
pub const OURS_CMDLINE: &str = "console=com1 loglvl=all dom0_mem=256M noreboot";

/// How long a boot may take before it is given up.
pub const OURS_TIMEOUT: Duration = Duration::from_secs(120);

/// Marker of a domain crash in our console (`(XEN) ... crashed`).
pub const CRASHED: &str = "crashed";

/// Boot `kernel` as dom0 of our hypervisor with `kernel_cmdline` and return
/// the transcript it printed (with the serial log in `boot`).
pub fn boot_on_ours(kernel: &Path, kernel_cmdline: &str, machine: &Machine) -> Result<Transcript> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let stem = kernel.file_name().map_or("kernel".into(), |n| n.to_string_lossy().into_owned());
    let iso = scratch_dir().join(format!("ours-{stem}-{}-{}.iso", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
    let spec = ImageSpec {
        hypervisor: hypervisor_elf(),
        cmdline: Some(OURS_CMDLINE.to_string()),
        modules: vec![Module { file: kernel.to_path_buf(), name: "dom0".into(), args: kernel_cmdline.to_string() }],
    };
    make_iso(&spec, &iso)?;
    let run = boot_until_end_or_crash(&iso, machine);
    let _ = std::fs::remove_file(&iso);
    let run = run?;
    let mut t = Transcript::extract(&run.text).with_context(|| {
        let why = match run.ending {
            Ending::Timeout => format!("timed out after {:.0?}", run.elapsed),
            ref e => format!("{e:?} after {:.1?}", run.elapsed),
        };
        format!("no transcript from {} on our hypervisor ({why}); serial log:\n{}", kernel.display(), run.text)
    })?;
    t.boot = Some(run);
    Ok(t)
}

/// The hypervisor line that says a domain crashed, if the log has one.
pub fn crash_line(serial: &str) -> Option<&str> {
    serial.lines().find(|l| l.starts_with("(XEN) ") && l.contains(CRASHED))
}

/// After a crash line, how long to keep reading (the register dump and
/// the final "Hardware Dom0 crashed" line follow it).
const CRASH_GRACE: Duration = Duration::from_secs(1);

/// Boot `iso`, stopping at `TRANSCRIPT END`, shortly after a crash report,
/// at QEMU's exit or at [`OURS_TIMEOUT`]. ([`crate::qemu::boot`] stops on
/// one pattern only, hence this loop.)
fn boot_until_end_or_crash(iso: &Path, machine: &Machine) -> Result<crate::qemu::Transcript> {
    let start = Instant::now();
    let mut child = Command::new("qemu-system-x86_64")
        .args(base_args(iso, machine))
        .args(["-display", "none", "-monitor", "none", "-serial", "stdio"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting qemu-system-x86_64")?;
    let mut stdout = child.stdout.take().context("qemu stdout")?;
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut raw = Vec::new();
    let mut mark_at = None;
    let mut crashed_at: Option<Instant> = None;
    let ending = loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(chunk) => raw.extend_from_slice(&chunk),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child.wait().context("waiting for qemu")?;
                break Ending::Exited(status.code());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let text = String::from_utf8_lossy(&raw);
        let ended = text.lines().any(|l| l.trim_end() == END) && text.ends_with('\n');
        if mark_at.is_none() && ended {
            mark_at = Some(start.elapsed());
        }
        if crashed_at.is_none() && crash_line(&text).is_some() {
            crashed_at = Some(Instant::now());
        }
        let crash_done = crashed_at.is_some_and(|at| at.elapsed() > CRASH_GRACE);
        if ended || crash_done || start.elapsed() > OURS_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break if ended || crash_done { Ending::StopPattern } else { Ending::Timeout };
        }
    };
    drop(rx);
    let _ = reader.join();
    let text = String::from_utf8_lossy(&raw).replace('\r', "");
    Ok(crate::qemu::Transcript { text, ending, elapsed: start.elapsed(), mark_at })
}
