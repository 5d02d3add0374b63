//! Reference artefacts from Debian's archive: Xen 4.17, Debian's kernel,
//! busybox.
//!
//! A package is fetched with `apt-get download` and unpacked with
//! `dpkg-deb -x` into `<workspace>/.cache/debian/<package>/` (git ignores
//! `/.cache/`). The work happens in a private temporary directory that is
//! renamed into place at the end, so parallel test threads and processes
//! never see a half-extracted package: whoever renames first wins and the
//! others throw their copy away. A package already extracted is used as is,
//! without touching the network.
//!
//! When the archive cannot be reached the error is an [`ArchiveUnavailable`],
//! so tests can tell "no network" (skip) from a real failure.

use anyhow::{bail, Context, Result};
use std::cmp::Ordering;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::Mutex;

use crate::workspace_root;

/// Debian package of the reference hypervisor.
pub const XEN_PACKAGE: &str = "xen-hypervisor-4.17-amd64";
/// Path of the multiboot2 image inside [`XEN_PACKAGE`].
pub const XEN_IMAGE: &str = "boot/xen-4.17-amd64.gz";

/// The Debian archive (or the package in it) could not be reached: no
/// network, no mirror, or no such package in the configured sources.
#[derive(Debug, Clone)]
pub struct ArchiveUnavailable {
    /// The package (or pattern) asked for.
    pub package: String,
    /// Last meaningful line apt printed.
    pub reason: String,
}

impl fmt::Display for ArchiveUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Debian archive unavailable for {}: {}", self.package, self.reason)
    }
}

impl std::error::Error for ArchiveUnavailable {}

/// Whether `err` (or its cause chain) is an [`ArchiveUnavailable`].
pub fn is_unavailable(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<ArchiveUnavailable>())
}

/// Cache directory of all extracted packages.
pub fn cache_dir() -> PathBuf {
    workspace_root().join(".cache/debian")
}

/// Reference Xen 4.17: the gzip'ed multiboot2 image (GRUB unpacks it).
pub fn xen_hypervisor() -> Result<PathBuf> {
    let path = package_dir(XEN_PACKAGE)?.join(XEN_IMAGE);
    if !path.is_file() {
        bail!("{XEN_PACKAGE} has no {XEN_IMAGE}");
    }
    Ok(path)
}

/// Directory where package `name` is extracted, fetching it if needed.
///
/// `name` may contain `*` wildcards (`linux-image-6.1.*-amd64-unsigned`);
/// a `*` stands for version characters only (digits, `.`, `-`, `+`, `~`),
/// so flavours such as `-cloud-` do not match. A pattern resolves to an
/// already extracted package if there is one, else to the newest name
/// `apt-cache` knows.
pub fn package_dir(name: &str) -> Result<PathBuf> {
    // One fetch at a time per process; other processes are covered by the
    // rename-into-place protocol.
    static FETCH: Mutex<()> = Mutex::new(());
    let _guard = FETCH.lock().unwrap_or_else(|e| e.into_inner());
    let cache = cache_dir();
    fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    if let Some(dir) = cached(&cache, name) {
        return Ok(dir);
    }
    let concrete = match resolve(name) {
        Ok(c) => c,
        Err(_) if apt_update_once() => resolve(name)?,
        Err(e) => return Err(e),
    };
    let dest = cache.join(&concrete);
    if dest.is_dir() {
        return Ok(dest);
    }
    let tmp = unique_tmp(&cache);
    let result = fetch_into(&concrete, &tmp, &dest);
    let _ = fs::remove_dir_all(&tmp);
    result?;
    Ok(dest)
}

/// Newest already extracted package matching `name`.
fn cached(cache: &Path, name: &str) -> Option<PathBuf> {
    let names = fs::read_dir(cache)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with(".tmp-") && glob_match(name, n));
    newest(names).map(|n| cache.join(n))
}

/// A concrete package name for `name` (identity when it has no wildcard).
fn resolve(name: &str) -> Result<String> {
    if !name.contains('*') {
        return Ok(name.to_string());
    }
    let prefix = &name[..name.find('*').unwrap_or(name.len())];
    let out = Command::new("apt-cache").args(["pkgnames", prefix]).output().context("running apt-cache pkgnames")?;
    let text = String::from_utf8_lossy(&out.stdout);
    newest(text.lines().map(str::trim).filter(|n| glob_match(name, n)).map(String::from)).ok_or_else(|| {
        ArchiveUnavailable { package: name.into(), reason: "no package matches in apt-cache".into() }.into()
    })
}

/// Download `pkg` into `tmp`, extract it, then rename it to `dest`.
fn fetch_into(pkg: &str, tmp: &Path, dest: &Path) -> Result<()> {
    fs::create_dir_all(tmp).with_context(|| format!("creating {}", tmp.display()))?;
    if let Err(first) = apt_download(pkg, tmp) {
        if !apt_update_once() {
            return Err(first);
        }
        apt_download(pkg, tmp)?;
    }
    let deb = fs::read_dir(tmp)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .with_context(|| format!("apt-get download {pkg} left no .deb"))?;
    let root = tmp.join("root");
    let out = Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root).output().context("running dpkg-deb")?;
    if !out.status.success() {
        bail!("dpkg-deb -x {} failed: {}", deb.display(), last_line(&out.stderr));
    }
    match fs::rename(&root, dest) {
        Ok(()) => Ok(()),
        // Another process won the race; its copy is as good as ours.
        Err(_) if dest.is_dir() => Ok(()),
        Err(e) => Err(e).with_context(|| format!("renaming into {}", dest.display())),
    }
}

/// `apt-get download pkg` in `dir`.
fn apt_download(pkg: &str, dir: &Path) -> Result<()> {
    let out = Command::new("apt-get")
        .args(["download", "-q", pkg])
        .current_dir(dir)
        .output()
        .context("running apt-get download")?;
    if out.status.success() {
        return Ok(());
    }
    Err(ArchiveUnavailable { package: pkg.into(), reason: last_line(&out.stderr) }.into())
}

/// Run `apt-get update` the first time it is asked for in this process;
/// returns whether it ran now (so a retry is worth it).
fn apt_update_once() -> bool {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return false;
    }
    *done = true;
    eprintln!("debian: running apt-get update");
    Command::new("apt-get")
        .args(["update", "-qq"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A fresh temporary directory name under `cache`.
fn unique_tmp(cache: &Path) -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    cache.join(format!(".tmp-{}-{}-{}", std::process::id(), SEQ.fetch_add(1, AtomicOrdering::Relaxed), nanos))
}

/// Last non-empty line of a tool's output, apt's `W:` warnings skipped.
fn last_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let errors: Vec<&str> = lines.clone().filter(|l| l.starts_with("E:")).collect();
    errors.last().copied().or_else(|| lines.next_back()).unwrap_or("(no output)").to_string()
}

/// Whether `name` matches `pattern`, `*` standing for version characters.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn version_char(c: u8) -> bool {
        c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'~')
    }
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).take_while(|&i| i == 0 || version_char(n[i - 1])).any(|i| go(rest, &n[i..])),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Order names by their numeric runs compared as numbers ("6.1.0-10" > "6.1.0-9").
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    for (x, y) in chunks(a).into_iter().zip(chunks(b)) {
        let ord = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}

fn newest(names: impl Iterator<Item = String>) -> Option<String> {
    names.max_by(|a, b| natural_cmp(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_versions_only() {
        let p = "linux-image-6.1.*-amd64-unsigned";
        assert!(glob_match(p, "linux-image-6.1.0-47-amd64-unsigned"));
        assert!(!glob_match(p, "linux-image-6.1.0-47-cloud-amd64-unsigned"));
        assert!(!glob_match(p, "linux-image-6.1.0-47-rt-amd64-unsigned"));
        assert!(glob_match("busybox-static", "busybox-static"));
        assert!(!glob_match("busybox-static", "busybox"));
    }

    #[test]
    fn newest_compares_numbers_as_numbers() {
        let names = ["linux-image-6.1.0-9-amd64-unsigned", "linux-image-6.1.0-47-amd64-unsigned", "linux-image-6.1.0-10-amd64-unsigned"];
        assert_eq!(newest(names.iter().map(|s| s.to_string())).unwrap(), "linux-image-6.1.0-47-amd64-unsigned");
    }

    #[test]
    fn patterns_resolve_to_a_matching_name() {
        // Uses only the local apt cache; nothing to check where it is empty.
        let pattern = "linux-image-6.1.*-amd64-unsigned";
        if let Ok(name) = resolve(pattern) {
            assert!(glob_match(pattern, &name), "{name}");
        }
    }

    /// Network: `cargo test -p qemu-tests --lib -- --ignored`.
    #[test]
    #[ignore]
    fn fetches_busybox_static() {
        let dir = package_dir("busybox-static").unwrap();
        assert!(dir.join("bin/busybox").is_file(), "{}", dir.display());
        assert_eq!(package_dir("busybox-static").unwrap(), dir, "second call uses the cache");
    }

    #[test]
    fn apt_errors_are_summarised() {
        let err = b"W: some warning\nE: Unable to locate package nope\nmore\n";
        assert_eq!(last_line(err), "E: Unable to locate package nope");
        assert_eq!(last_line(b"only line\n"), "only line");
    }
}
