//! `cargo xtask bench` (xenstore part): our `xenstored` on the host, on a
//! temporary unix socket, measured by `xenstore::bench::run` (read and
//! write round trips per second, write-to-watch-event latency).
//!
//! xtask does not link the xenstore library; it builds the release
//! `xenstored` and `xenstore` binaries and runs `xenstore bench`, which
//! calls `xenstore::bench::run` against the freshly started daemon and
//! prints the report. These are host numbers (no QEMU, no Xen): they
//! compare our daemon with itself over time, not with Xen's.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use qemu_tests::workspace_root;

/// How long the daemon may take to create its socket.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Build the tools, start a daemon on a temporary socket, benchmark it and
/// return the report's lines (`xenstore reads/s: …`, `xenstore writes/s:
/// …`, `xenstore watch latency (us): …`).
pub fn run() -> Result<String> {
    let bin_dir = build()?;
    let dir = std::env::temp_dir().join(format!("xtask-bench-xenstore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let socket = dir.join("socket");
    let result = Daemon::start(&bin_dir.join("xenstored"), &socket).and_then(|daemon| {
        let report = bench(&bin_dir.join("xenstore"), &socket);
        daemon.stop();
        report
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `cargo build --release` of `xenstored`'s two binaries; returns their directory.
fn build() -> Result<PathBuf> {
    let root = workspace_root();
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["build", "--quiet", "--release", "--package", "xenstored", "--bin", "xenstored", "--bin", "xenstore"])
        .status()
        .context("running cargo build for xenstored")?;
    if !status.success() {
        bail!("building xenstored failed ({status})");
    }
    Ok(root.join("target/release"))
}

/// A `xenstored --no-domains` child, killed when stopped or dropped.
struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(exe: &Path, socket: &Path) -> Result<Self> {
        let child = Command::new(exe)
            .args(["--no-domains", "--socket"])
            .arg(socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let mut daemon = Daemon { child };
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while std::os::unix::net::UnixStream::connect(socket).is_err() {
            if let Some(status) = daemon.child.try_wait()? {
                bail!("xenstored exited at start ({status})");
            }
            if Instant::now() > deadline {
                bail!("xenstored did not create {} within {STARTUP_TIMEOUT:?}", socket.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(daemon)
    }

    fn stop(self) {}
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `xenstore --socket S bench`: its output is the report.
fn bench(exe: &Path, socket: &Path) -> Result<String> {
    let out = Command::new(exe)
        .arg("--socket")
        .arg(socket)
        .arg("bench")
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    if !out.status.success() {
        bail!("xenstore bench failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    String::from_utf8(out.stdout).context("xenstore bench printed non-UTF-8")
}
