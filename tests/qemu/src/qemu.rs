//! Booting an image under QEMU TCG and capturing its serial console.

use anyhow::{Context, Result};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Machine shape of one boot.
#[derive(Clone, Debug)]
pub struct Machine {
    /// Number of CPUs (`-smp`).
    pub smp: u32,
    /// Memory in MiB (`-m`).
    pub mem_mib: u32,
    /// CPU model (`-cpu`).
    pub cpu: String,
    /// More QEMU arguments (network devices of the two-host migration
    /// tests, for example).
    pub extra_args: Vec<String>,
}

impl Default for Machine {
    fn default() -> Self {
        Self { smp: 1, mem_mib: 512, cpu: "max,-smap,-smep".into(), extra_args: Vec::new() }
    }
}

/// The QEMU arguments shared by interactive runs and tests.
pub fn base_args(iso: &Path, m: &Machine) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "-machine".into(),
        "pc,accel=tcg".into(),
        "-cpu".into(),
        m.cpu.clone(),
        "-smp".into(),
        m.smp.to_string(),
        "-m".into(),
        m.mem_mib.to_string(),
        "-cdrom".into(),
        iso.display().to_string(),
        "-boot".into(),
        "d".into(),
        "-no-reboot".into(),
        "-device".into(),
        "isa-debug-exit,iobase=0xf4,iosize=0x04".into(),
    ];
    args.extend(m.extra_args.iter().cloned());
    // A debugging aid: extra QEMU arguments for every boot (for example
    // `-s` to attach gdb to a test's machine).
    if let Ok(extra) = std::env::var("QEMU_TESTS_EXTRA_ARGS") {
        args.extend(extra.split_whitespace().map(String::from));
    }
    args
}

/// How a captured boot ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// QEMU exited by itself (power-off, isa-debug-exit) with this code.
    Exited(Option<i32>),
    /// The stop pattern appeared and QEMU was killed.
    StopPattern,
    /// The timeout expired and QEMU was killed.
    Timeout,
}

/// The serial transcript of one boot.
#[derive(Clone, Debug)]
pub struct Transcript {
    /// Everything the serial port printed, `\r` removed.
    pub text: String,
    /// How the run ended.
    pub ending: Ending,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Time from QEMU start to the first line containing `mark`, if seen.
    pub mark_at: Option<Duration>,
}

impl Transcript {
    /// Lines of the transcript.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.text.lines()
    }

    /// Whether some line contains `needle`.
    pub fn has(&self, needle: &str) -> bool {
        self.text.contains(needle)
    }

    /// The first line containing `needle`.
    pub fn line_with(&self, needle: &str) -> Option<&str> {
        self.lines().find(|l| l.contains(needle))
    }
}

/// Options of a captured boot.
#[derive(Clone, Debug)]
pub struct Capture<'a> {
    /// Kill QEMU after this long.
    pub timeout: Duration,
    /// Kill QEMU once a line containing this appears (after printing it).
    pub stop_on: Option<&'a str>,
    /// Also kill QEMU this long after a line containing the pattern
    /// appears (to keep what follows it, e.g. a register dump).
    pub stop_after: Option<(&'a str, Duration)>,
    /// Record when a line containing this first appears.
    pub mark: Option<&'a str>,
}

impl Default for Capture<'_> {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(60), stop_on: None, stop_after: None, mark: None }
    }
}

/// Boot `iso` on machine `m`, capturing serial output.
pub fn boot(iso: &Path, m: &Machine, cap: &Capture<'_>) -> Result<Transcript> {
    let start = Instant::now();
    let mut child = Command::new("qemu-system-x86_64")
        .args(base_args(iso, m))
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
    let mut seen_after: Option<Instant> = None;
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
        if mark_at.is_none() && cap.mark.is_some_and(|mk| text.contains(mk)) {
            mark_at = Some(start.elapsed());
        }
        let stop_now = cap.stop_on.is_some_and(|stop| text.lines().any(|l| l.contains(stop)) && text.ends_with('\n'));
        if let Some((pattern, _)) = cap.stop_after {
            if seen_after.is_none() && text.lines().any(|l| l.contains(pattern)) {
                seen_after = Some(Instant::now());
            }
        }
        let grace_over = match (seen_after, cap.stop_after) {
            (Some(at), Some((_, grace))) => at.elapsed() > grace,
            _ => false,
        };
        if stop_now || grace_over {
            let _ = child.kill();
            let _ = child.wait();
            break Ending::StopPattern;
        }
        if start.elapsed() > cap.timeout {
            let _ = child.kill();
            let _ = child.wait();
            break Ending::Timeout;
        }
    };
    let _ = reader.join();
    while let Ok(chunk) = rx.try_recv() {
        raw.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&raw).replace('\r', "");
    Ok(Transcript { text, ending, elapsed: start.elapsed(), mark_at })
}
