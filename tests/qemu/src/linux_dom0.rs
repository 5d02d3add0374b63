//! The Linux dom0 reference system: Xen 4.17, Debian's kernel as PV dom0
//! and a busybox initramfs carrying our statically linked `xm`,
//! `xenstored` and `xenstore` client.
//!
//! Everything comes from Debian's archive ([`debian`]) or from this
//! workspace; nothing is committed. The pieces:
//!
//! * [`Cpio`]: a writer for the `newc` cpio format the kernel unpacks as its
//!   initramfs (uncompressed: GRUB and Linux accept it as is);
//! * [`build_initramfs`]: busybox, the four Xen driver modules
//!   (`xen-privcmd`, `xen-evtchn`, `xen-gntdev`, `xenfs`, shipped
//!   uncompressed in Debian 12's kernel package), an `/init` script,
//!   `/usr/sbin/xm`, `/usr/sbin/xenstored` and `/usr/bin/xenstore` (with
//!   Xen's `xenstore-read`, `xenstore-ls`, … links), `/usr/sbin/xenconsoled`,
//!   the `domu` test kernel ([`DOMU_KERNEL`]) and `xm` configurations for it
//!   ([`DOMU_CONFIGS`]); Debian's kernel once more as [`LINUX_DOMU_KERNEL`]
//!   with a small busybox initramfs of its own ([`LINUX_DOMU_RAMDISK`],
//!   [`build_domu_initramfs`]) for a Linux PV domU;
//! * [`build_iso`]: the GRUB image (Xen as the multiboot2 image, the kernel
//!   and the initramfs as modules);
//! * [`LinuxDom0`]: a booted system driven over the serial console, one
//!   command at a time, with each command's output and exit status.
//! * virtual devices (issue 14, `add_device_files`): dom0's `loop`,
//!   bridge, `xen-blkback` and `xen-netback` modules and a bridge
//!   [`BRIDGE`] at [`DOM0_IP`] (set up by `/etc/xen/devices-init.sh`), a
//!   device domU ([`DEVICE_DOMU_CONFIG`]: blkfront, netfront and ext4 in its
//!   initramfs, its root an ext4 image made with `mke2fs -d`), the seeds'
//!   configurations in [`SEEDS_DIR`]; [`LinuxDom0::guest_answer`] types
//!   commands at a guest's shell, [`measure_device_throughput`] times its
//!   disk and network.
//!
//! `/init` starts `xenstored` and then `xenconsoled` before the shell (logs
//! in [`XENSTORED_LOG`], [`XENCONSOLED_LOG`]); `xenstored` serves the unix
//! socket and dom0's own xenbus ring,
//! which Debian's kernel (no store event channel in dom0's start info, so
//! "local" xenstore) exposes through `/dev/xen/xenbus_backend`.
//!
//! The init script has two modes, chosen on the kernel command line. In
//! the default (interactive, `cargo xtask run --reference`) it starts a
//! login-less shell on `hvc0`. With `xmdriver=1` (the tests) the shell reads
//! commands from a pipe fed by `hvc0` with the terminal's echo off, so it
//! prints neither prompts nor the typed text, only what the commands print.

use anyhow::{bail, Context, Result};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::build::TARGET;
use crate::fixture::scratch_dir;
use crate::image::{make_iso, ImageSpec, Module};
use crate::qemu::{base_args, Machine};
use crate::{debian, tools, workspace_root};

/// Debian package of the dom0 kernel (newest 6.1 build).
pub const KERNEL_PACKAGE: &str = "linux-image-6.1.*-amd64-unsigned";
/// Debian package of the statically linked busybox.
pub const BUSYBOX_PACKAGE: &str = "busybox-static";
/// The Xen driver modules loaded by `/init`, in load order (`xenfs`
/// depends on `xen-privcmd`), as paths under `kernel/drivers/xen/`.
pub const XEN_MODULES: &[&str] = &["xen-privcmd.ko", "xen-evtchn.ko", "xen-gntdev.ko", "xenfs/xenfs.ko"];

/// Xen's command line for the Linux dom0 system. `spec-ctrl=eager-fpu`:
/// QEMU's CPU is an AMD one, for which Xen 4.17 switches FPU state lazily
/// (CR0.TS and a #NM trap on first use); under QEMU 7.2's TCG that lets
/// dom0's user state be corrupted while another domain runs (xm's xz
/// checksum of a kernel failed in 3 of 16 decodes beside a busy domU, 0 of
/// 10 with eager switching, which is also faster: no #NM trap per switch;
/// the dom0 processes that died of a bad TLS base right after a fork
/// beside running domUs were most likely the same corruption).
pub const XEN_CMDLINE: &str =
    "dom0_mem=512M,max:512M console=com1 com1=115200,8n1 sched=credit loglvl=all guest_loglvl=info noreboot spec-ctrl=eager-fpu";
/// The dom0 kernel's command line (interactive mode).
pub const LINUX_CMDLINE: &str = "console=hvc0 earlyprintk=xen";
/// Kernel command-line flag that puts `/init` into driver mode.
pub const DRIVER_FLAG: &str = "xmdriver=1";
/// Line `/init` prints once the shell is about to start.
pub const READY: &str = "XM-DOM0-READY";
/// How long a boot may take to reach [`READY`].
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(240);
/// How long one command may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Where `/init` sends xenstored's log.
pub const XENSTORED_LOG: &str = "/tmp/xenstored.log";
/// Names under which the `xenstore` client is linked, as Xen installs it.
pub const XENSTORE_LINKS: &[&str] =
    &["read", "write", "exists", "list", "ls", "rm", "mkdir", "chmod", "getperms", "watch"];
/// Where `/init` sends xenconsoled's messages.
pub const XENCONSOLED_LOG: &str = "/tmp/xenconsoled.log";
/// The `domu` test kernel in the initramfs.
pub const DOMU_KERNEL: &str = "/usr/lib/xen/boot/domu";
/// Configuration files for `xm create` in the initramfs: `(path, text)`.
pub const DOMU_CONFIGS: &[(&str, &str)] = &[
    ("/etc/xen/domu.cfg", "name = 'domu1'\nkernel = '/usr/lib/xen/boot/domu'\nmemory = 32\nvcpus = 1\nextra = 'hello'\n"),
    (
        "/etc/xen/crashy.cfg",
        "name = 'crashy'\nkernel = '/usr/lib/xen/boot/domu'\nmemory = 16\nextra = 'crash'\non_crash = 'restart'\n",
    ),
    (
        "/etc/xen/ipistorm.cfg",
        "name = 'storm'\nkernel = '/usr/lib/xen/boot/domu'\nmemory = 32\nvcpus = 2\nextra = 'ipistorm'\n",
    ),
    ("/etc/xen/hostile.cfg", "name = 'hostile'\nkernel = '/usr/lib/xen/boot/hostile'\nmemory = 16\nvcpus = 1\n"),
    ("/etc/xen/mm_hostile.cfg", "name = 'mm_hostile'\nkernel = '/usr/lib/xen/boot/mm_hostile'\nmemory = 16\nvcpus = 1\n"),
    ("/etc/xen/nokernel.cfg", "name = 'nok'\nkernel = '/nonexistent/vmlinuz'\nmemory = 16\n"),
    ("/etc/xen/notelf.cfg", "name = 'notelf'\nkernel = '/etc/profile'\nmemory = 16\n"),
    ("/etc/xen/huge.cfg", "name = 'huge'\nkernel = '/usr/lib/xen/boot/domu'\nmemory = 65536\n"),
    (
        "/etc/xen/linux.cfg",
        "name = 'linux1'\nkernel = '/boot/vmlinuz'\nramdisk = '/boot/domu-initrd.cpio'\nmemory = 128\nvcpus = 2\nextra = 'console=hvc0'\n",
    ),
];
/// The hostile PV test kernels, next to [`DOMU_KERNEL`] in the initramfs
/// (`/usr/lib/xen/boot/<name>`, configuration `/etc/xen/<name>.cfg` in
/// [`DOMU_CONFIGS`]), for the `xm_hostile` test.
pub const HOSTILE_KERNELS: &[&str] = &["hostile", "mm_hostile"];
/// Debian's kernel (the dom0 one) as a domU kernel in the initramfs.
pub const LINUX_DOMU_KERNEL: &str = "/boot/vmlinuz";
/// The Linux domU's initramfs in the dom0 initramfs.
pub const LINUX_DOMU_RAMDISK: &str = "/boot/domu-initrd.cpio";
/// Line the Linux domU's `/init` prints before starting its shell.
pub const LINUX_DOMU_READY: &str = "LINUX-DOMU-READY";

/// The Linux domU's `/init`: mounts, the ready line, then a shell on the
/// console (`hvc0`), forever.
const DOMU_INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/sbin:/bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "LINUX-DOMU-""READY $(uname -r)"
while true; do
    setsid cttyhack sh
done
"#;

/// `/sbin/poweroff` and `/sbin/reboot` of the Linux domU: the kernel runs
/// them on a xenstore `control/shutdown` request (orderly_poweroff and
/// orderly_reboot); with a shell as init there is no init to signal, so
/// they act at once (a helper's output goes nowhere unless sent to the
/// console).
const DOMU_POWEROFF: &str = "#!/bin/sh\necho domu: powering off > /dev/console\nsync\nexec /bin/busybox poweroff -f\n";
const DOMU_REBOOT: &str = "#!/bin/sh\necho domu: rebooting > /dev/console\nsync\nexec /bin/busybox reboot -f\n";
/// Target directory of the statically linked tools.
pub const STATIC_TARGET_DIR: &str = "target/static";

/// The `/init` script. `$DRIVER` mode is selected by [`DRIVER_FLAG`].
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in /lib/modules/xen/*.ko; do
    insmod "$m" || echo "init: insmod $m failed"
done
mount -t xenfs xenfs /proc/xen || echo "init: mounting xenfs failed"
mkdir -p /run/xenstored
xenstored > /tmp/xenstored.log 2>&1 &
i=0
while [ ! -S /run/xenstored/socket ] && [ $i -lt 100 ]; do
    usleep 100000
    i=$((i+1))
done
[ -S /run/xenstored/socket ] || echo "init: xenstored did not start"
[ -x /etc/xen/devices-init.sh ] && /etc/xen/devices-init.sh
mkdir -p /var/log/xen/console /run/xenconsoled
xenconsoled > /tmp/xenconsoled.log 2>&1 &
echo 1 > /proc/sys/kernel/printk
ls -l /dev/xen
if grep -q xmdriver=1 /proc/cmdline; then
    stty -F /dev/hvc0 -echo -onlcr 2>/dev/null
    echo XM-DOM0-""READY > /dev/hvc0
    while true; do
        cat /dev/hvc0 | sh > /dev/hvc0 2>&1
    done
fi
echo XM-DOM0-""READY
echo "Linux dom0 ready; xm is /usr/sbin/xm. Ctrl-A X quits QEMU."
while true; do
    setsid cttyhack sh -l
done
"#;

/// A writer of `newc` cpio archives (the initramfs format Linux unpacks).
///
/// Each entry is a 110-byte ASCII header (magic `070701` and thirteen
/// 8-digit hex fields), the NUL-terminated name padded to 4 bytes, then
/// the data padded to 4 bytes; a `TRAILER!!!` entry ends the archive.
#[derive(Default)]
pub struct Cpio {
    out: Vec<u8>,
    next_ino: u32,
}

/// File-type bits of `st_mode`.
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

impl Cpio {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        self.next_ino += 1;
        let name_len = name.len() + 1;
        let fields = [
            self.next_ino,
            mode,
            0,
            0,
            if mode & S_IFDIR != 0 { 2 } else { 1 },
            0,
            u32::try_from(data.len()).expect("cpio entries are below 4 GiB"),
            0,
            0,
            rdev.0,
            rdev.1,
            u32::try_from(name_len).expect("short name"),
            0,
        ];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    /// A directory (parents must come first).
    pub fn dir(&mut self, name: &str) {
        self.entry(name, S_IFDIR | 0o755, (0, 0), &[]);
    }

    /// A regular file with permission bits `perm`.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) {
        self.entry(name, S_IFREG | (perm & 0o7777), (0, 0), data);
    }

    /// A symbolic link `name -> target`.
    pub fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, S_IFLNK | 0o777, (0, 0), target.as_bytes());
    }

    /// A character device node.
    pub fn char_dev(&mut self, name: &str, perm: u32, major: u32, minor: u32) {
        self.entry(name, S_IFCHR | (perm & 0o7777), (major, minor), &[]);
    }

    /// The archive with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        self.out
    }
}

/// The Debian artefacts of the system.
#[derive(Clone, Debug)]
pub struct Artefacts {
    /// Xen 4.17 (gzip'ed multiboot2 image).
    pub xen: PathBuf,
    /// The dom0 kernel (`vmlinuz-*`).
    pub vmlinuz: PathBuf,
    /// `lib/modules/<version>` of that kernel.
    pub modules_dir: PathBuf,
    /// The static busybox binary.
    pub busybox: PathBuf,
}

/// Fetch (or find in the cache) Xen, the kernel and busybox. Errors carry
/// [`debian::ArchiveUnavailable`] when the archive cannot be reached.
pub fn artefacts() -> Result<Artefacts> {
    let xen = debian::xen_hypervisor()?;
    let kernel = debian::package_dir(KERNEL_PACKAGE)?;
    let vmlinuz = only_entry(&kernel.join("boot"), "vmlinuz-")?;
    let modules_dir = only_entry(&kernel.join("lib/modules"), "")?;
    let busybox = debian::package_dir(BUSYBOX_PACKAGE)?.join("bin/busybox");
    if !busybox.is_file() {
        bail!("{BUSYBOX_PACKAGE} has no bin/busybox");
    }
    Ok(Artefacts { xen, vmlinuz, modules_dir, busybox })
}

/// The single entry of `dir` whose name starts with `prefix`.
fn only_entry(dir: &Path, prefix: &str) -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!("nothing named {prefix}* in {}", dir.display()),
        _ => bail!("several {prefix}* in {}: {found:?}", dir.display()),
    }
}

/// The statically linked tools carried by the initramfs.
#[derive(Clone, Debug)]
pub struct StaticTools {
    /// The toolstack.
    pub xm: PathBuf,
    /// The xenstore daemon.
    pub xenstored: PathBuf,
    /// The xenstore command-line client.
    pub xenstore: PathBuf,
    /// The console daemon.
    pub xenconsoled: PathBuf,
    /// The `domu` PV test kernel.
    pub domu: PathBuf,
    /// The [`HOSTILE_KERNELS`], in that order.
    pub hostile: Vec<PathBuf>,
    /// The `fuzz` PV kernel ([`crate::fuzz_domu::KERNEL`]).
    pub fuzz: PathBuf,
}

/// Build `xm` as a statically linked release binary in
/// [`STATIC_TARGET_DIR`] and return its path.
pub fn build_static_xm() -> Result<PathBuf> {
    Ok(build_static_tools()?.xm)
}

/// Build `xm`, `xenstored` and `xenstore` as statically linked release
/// binaries in [`STATIC_TARGET_DIR`] (one cargo run).
pub fn build_static_tools() -> Result<StaticTools> {
    let root = workspace_root();
    let target_dir = root.join(STATIC_TARGET_DIR);
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
        .env("CARGO_PROFILE_RELEASE_STRIP", "symbols")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .args(["build", "--quiet", "--release", "--target", TARGET])
        .args(["--package", "xm", "--bin", "xm", "--bin", "xenconsoled"])
        .args(["--package", "xenstored", "--bin", "xenstored", "--bin", "xenstore"])
        .arg("--target-dir")
        .arg(&target_dir)
        .status()
        .context("running cargo build for the static tools")?;
    if !status.success() {
        bail!("building the static xm, xenstored and xenstore failed ({status})");
    }
    let bin = |name: &str| target_dir.join(TARGET).join("release").join(name);
    let domu = crate::build::guest("domu")?;
    let hostile = HOSTILE_KERNELS.iter().map(|k| crate::build::guest(k)).collect::<Result<_>>()?;
    Ok(StaticTools {
        hostile,
        fuzz: crate::build::guest("fuzz")?,
        xm: bin("xm"),
        xenstored: bin("xenstored"),
        xenstore: bin("xenstore"),
        xenconsoled: bin("xenconsoled"),
        domu,
    })
}

/// The Linux domU's initramfs: busybox, [`DOMU_INIT`], poweroff and
/// reboot helpers.
pub fn build_domu_initramfs(a: &Artefacts) -> Result<Vec<u8>> {
    let busybox = fs::read(&a.busybox).with_context(|| format!("reading {}", a.busybox.display()))?;
    let mut c = Cpio::new();
    for d in ["bin", "sbin", "dev", "proc", "sys", "tmp", "root"] {
        c.dir(d);
    }
    c.char_dev("dev/console", 0o600, 5, 1);
    c.file("bin/busybox", 0o755, &busybox);
    c.symlink("bin/sh", "busybox");
    c.file("init", 0o755, DOMU_INIT.as_bytes());
    c.file("sbin/poweroff", 0o755, DOMU_POWEROFF.as_bytes());
    c.file("sbin/reboot", 0o755, DOMU_REBOOT.as_bytes());
    Ok(c.finish())
}

/// Build the initramfs (uncompressed newc cpio) with busybox, the Xen
/// modules, `/init` and the static tools.
pub fn build_initramfs(a: &Artefacts, t: &StaticTools) -> Result<Vec<u8>> {
    let read = |p: &Path| fs::read(p).with_context(|| format!("reading {}", p.display()));
    let mut c = Cpio::new();
    for d in ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "run", "etc", "root"] {
        c.dir(d);
    }
    c.dir("lib");
    c.dir("lib/modules");
    c.dir("lib/modules/xen");
    // The kernel opens /dev/console for init before devtmpfs is mounted.
    c.char_dev("dev/console", 0o600, 5, 1);
    c.file("bin/busybox", 0o755, &read(&a.busybox)?);
    c.symlink("bin/sh", "busybox");
    for (i, m) in XEN_MODULES.iter().enumerate() {
        let path = a.modules_dir.join("kernel/drivers/xen").join(m);
        let base = m.rsplit('/').next().unwrap_or(m);
        // Numbered so that the init script's glob loads them in order.
        c.file(&format!("lib/modules/xen/{i}-{base}"), 0o644, &read(&path)?);
    }
    c.file("init", 0o755, INIT.as_bytes());
    c.file("etc/profile", 0o644, b"export PATH=/usr/sbin:/usr/bin:/sbin:/bin\nPS1='dom0# '\n");
    c.file("usr/sbin/xm", 0o755, &read(&t.xm)?);
    c.file("usr/sbin/xenstored", 0o755, &read(&t.xenstored)?);
    c.file("usr/bin/xenstore", 0o755, &read(&t.xenstore)?);
    c.file("usr/sbin/xenconsoled", 0o755, &read(&t.xenconsoled)?);
    for d in ["usr/lib", "usr/lib/xen", "usr/lib/xen/boot", "etc/xen", "var", "var/log", "var/log/xen"] {
        c.dir(d);
    }
    c.file(DOMU_KERNEL.trim_start_matches('/'), 0o644, &read(&t.domu)?);
    for (name, path) in HOSTILE_KERNELS.iter().zip(&t.hostile) {
        c.file(&format!("usr/lib/xen/boot/{name}"), 0o644, &read(path)?);
    }
    c.dir("boot");
    c.file(LINUX_DOMU_KERNEL.trim_start_matches('/'), 0o644, &read(&a.vmlinuz)?);
    c.file(LINUX_DOMU_RAMDISK.trim_start_matches('/'), 0o644, &build_domu_initramfs(a)?);
    c.file(crate::fuzz_domu::KERNEL.trim_start_matches('/'), 0o644, &read(&t.fuzz)?);
    for (path, text) in DOMU_CONFIGS.iter().chain([&crate::fuzz_domu::CONFIG]) {
        c.file(path.trim_start_matches('/'), 0o644, text.as_bytes());
    }
    for name in XENSTORE_LINKS {
        c.symlink(&format!("usr/bin/xenstore-{name}"), "xenstore");
    }
    add_device_files(&mut c, a)?;
    Ok(c.finish())
}

/// The hypervisor a Linux dom0 system boots on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// Xen 4.17, the reference.
    Xen,
    /// Ours.
    Ours,
}

impl Host {
    /// Both, reference first.
    pub const BOTH: [Host; 2] = [Host::Xen, Host::Ours];

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Host::Xen => "Xen 4.17",
            Host::Ours => "ours",
        }
    }
}

/// Our hypervisor's command line for the Linux dom0 system: the same dom0
/// memory and console as [`XEN_CMDLINE`], in the options we take.
pub const OURS_CMDLINE: &str = "dom0_mem=512M,max:512M console=com1 com1=115200 loglvl=info noreboot";

/// Build the GRUB image of the system at `out`; `driver` selects the
/// init script's driver mode (see the module docs).
pub fn build_iso(out: &Path, driver: bool) -> Result<()> {
    build_iso_for(Host::Xen, out, driver)
}

/// [`build_iso`] with dom0 on `host`.
pub fn build_iso_for(host: Host, out: &Path, driver: bool) -> Result<()> {
    let a = artefacts()?;
    tools::ensure()?;
    let tools = build_static_tools()?;
    let initrd = out.with_extension("cpio");
    fs::write(&initrd, build_initramfs(&a, &tools)?).with_context(|| format!("writing {}", initrd.display()))?;
    let mut cmdline = LINUX_CMDLINE.to_string();
    if driver {
        cmdline.push(' ');
        cmdline.push_str(DRIVER_FLAG);
    }
    let (hypervisor, hv_cmdline) = match host {
        Host::Xen => (a.xen, XEN_CMDLINE),
        Host::Ours => (crate::build::hypervisor()?, OURS_CMDLINE),
    };
    let spec = ImageSpec {
        hypervisor,
        cmdline: Some(hv_cmdline.into()),
        modules: vec![
            Module { file: a.vmlinuz, name: "dom0".into(), args: cmdline },
            Module { file: initrd.clone(), name: "initrd".into(), args: String::new() },
        ],
    };
    let made = make_iso(&spec, out);
    let _ = fs::remove_file(&initrd);
    made
}

/// The machine the system boots on: 1 GiB, one CPU, SMAP/SMEP off.
pub fn machine() -> Machine {
    Machine { mem_mib: 1024, ..Machine::default() }
}

/// What one command printed and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit status (`$?`).
    pub exit_code: i32,
}

/// A booted Xen 4.17 + Linux dom0 system under QEMU, driven over the
/// serial console.
pub struct LinuxDom0 {
    child: Child,
    stdin: ChildStdin,
    rx: mpsc::Receiver<Vec<u8>>,
    /// Everything the serial port printed so far (`\r` removed).
    log: String,
    seq: u64,
    /// The last few KiB QEMU wrote on its stderr (why it stopped, when it
    /// does: an assertion, a fatal TCG error).
    qemu_stderr: std::sync::Arc<std::sync::Mutex<String>>,
    /// Time from QEMU start to the ready line.
    pub boot_time: Duration,
}

impl LinuxDom0 {
    /// Build the image and boot it, waiting for the shell.
    pub fn boot() -> Result<Self> {
        Self::boot_on(&machine())
    }

    /// [`LinuxDom0::boot`] on machine `m` (for example with more CPUs).
    pub fn boot_on(m: &Machine) -> Result<Self> {
        Self::boot_host(Host::Xen, m)
    }

    /// Build the image with dom0 on `host` and boot it on machine `m`.
    pub fn boot_host(host: Host, m: &Machine) -> Result<Self> {
        // Unique per boot: tests in one process may boot the same host at once.
        static BOOTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = BOOTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let iso = scratch_dir().join(format!("linux-dom0-{}-{host:?}-{n}.iso", std::process::id()));
        build_iso_for(host, &iso, true)?;
        let booted = Self::boot_iso(&iso, m);
        let _ = fs::remove_file(&iso);
        booted
    }

    /// Boot an image made by [`build_iso`] in driver mode.
    ///
    /// Xen 4.17's credit1 has a start-of-day race on machines with more than
    /// one CPU: `csched_switch_sched` arms a CPU's tick timer before
    /// `schedule_cpu_add` stores the per-CPU data the tick reads, and a
    /// QEMU vCPU thread descheduled by the host in between lets the tick
    /// fire first (a page fault at `csched_tick+0x44`, cr2 0x1c, seen once
    /// in CI). A boot that dies of exactly that is tried once more, with a
    /// note on stderr; any other failure fails at once.
    pub fn boot_iso(iso: &Path, m: &Machine) -> Result<Self> {
        match Self::boot_iso_once(iso, m) {
            Err(e) if is_xen_credit1_boot_race(&format!("{e:#}")) => {
                eprintln!("Xen 4.17 died of its credit1 start-of-day race (csched_tick); booting it again");
                Self::boot_iso_once(iso, m)
            }
            r => r,
        }
    }

    fn boot_iso_once(iso: &Path, m: &Machine) -> Result<Self> {
        let start = Instant::now();
        let mut child = Command::new("qemu-system-x86_64")
            .args(base_args(iso, m))
            .args(["-display", "none", "-monitor", "none", "-serial", "stdio"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting qemu-system-x86_64")?;
        let stdin = child.stdin.take().context("qemu stdin")?;
        let qemu_stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut err = child.stderr.take().context("qemu stderr")?;
        let keep = qemu_stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut k = keep.lock().unwrap();
                k.push_str(&String::from_utf8_lossy(&buf[..n]));
                if k.len() > 8192 {
                    let cut = k.len() - 4096;
                    let cut = (cut..k.len()).find(|&i| k.is_char_boundary(i)).unwrap_or(k.len());
                    k.drain(..cut);
                }
            }
        });
        let mut stdout = child.stdout.take().context("qemu stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut sys = LinuxDom0 { child, stdin, rx, log: String::new(), seq: 0, qemu_stderr, boot_time: Duration::ZERO };
        let ready = format!("{READY}\n");
        match sys.wait_for(0, BOOT_TIMEOUT, |text| text.contains(&ready) || text.contains(XEN_PANIC_END)) {
            Ok(_) if !sys.log.contains(&ready) => {
                bail!("the hypervisor panicked; serial log:\n{}", sys.log)
            }
            Ok(_) => {}
            Err(e) => bail!("{e:#}; serial log:\n{}", sys.log),
        }
        sys.boot_time = start.elapsed();
        // Let the shell pipeline start before typing at it.
        sys.settle(Duration::from_secs(2));
        Ok(sys)
    }

    /// Everything the serial console printed so far.
    pub fn log(&self) -> &str {
        &self.log
    }

    /// Read serial output until `done(log[from..])` holds; returns the
    /// position where the text checked started.
    fn wait_for(&mut self, from: usize, timeout: Duration, done: impl Fn(&str) -> bool) -> Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.log[from..]) {
                return Ok(from);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("timed out after {timeout:?}");
            }
            match self.rx.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(chunk) => self.log.push_str(&String::from_utf8_lossy(&chunk).replace('\r', "")),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => bail!("QEMU exited: {}", self.how_qemu_ended()),
            }
        }
    }

    /// Read serial output for `d` (test aid for debugging the console).
    pub fn settle(&mut self, d: Duration) {
        let _ = self.wait_for(0, d, |_| false);
    }

    /// How QEMU ended, once its pipes broke: its exit status (a signal
    /// means something outside the test killed it, or QEMU aborted) after
    /// waiting a little for it, and what it said on stderr.
    fn how_qemu_ended(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break format!("QEMU ended: {status}"),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                Ok(None) => break "QEMU still runs".to_string(),
                Err(w) => break format!("QEMU's status unknown: {w}"),
            }
        };
        let said = self.qemu_stderr.lock().map(|s| s.trim().to_string()).unwrap_or_default();
        if said.is_empty() {
            status
        } else {
            format!("{status}; QEMU's stderr:\n{said}")
        }
    }

    /// Type `text` slowly enough for Xen's small serial input ring.
    pub fn type_text(&mut self, text: &str) -> Result<()> {
        for chunk in text.as_bytes().chunks(8) {
            if let Err(e) = self.stdin.write_all(chunk) {
                bail!("writing to QEMU's serial input: {e} ({})", self.how_qemu_ended());
            }
            self.stdin.flush()?;
            std::thread::sleep(Duration::from_millis(30));
        }
        Ok(())
    }

    /// Run `cmd` in dom0's shell and return what it printed.
    pub fn run(&mut self, cmd: &str) -> Result<Output> {
        self.run_for(cmd, COMMAND_TIMEOUT)
    }

    /// [`LinuxDom0::run`] for a command that may take up to `timeout`.
    pub fn run_for(&mut self, cmd: &str, timeout: Duration) -> Result<Output> {
        if cmd.contains('\n') {
            bail!("one line at a time: {cmd:?}");
        }
        self.seq += 1;
        let n = self.seq;
        // The markers are split by empty quotes so that the typed line,
        // should it ever be echoed, does not contain them.
        let line = format!(
            "{cmd} 2>/tmp/.stderr; echo \"@@XM\"\"-RC $? {n}@@\"; cat /tmp/.stderr; echo \"@@XM\"\"-END {n}@@\"\n"
        );
        let from = self.log.len();
        self.type_text(&line)?;
        let end = format!("@@XM-END {n}@@\n");
        // The last characters typed can stay in Xen's serial input ring
        // until more arrive, so keep nudging with empty lines (no-ops for
        // the shell) until the command has finished.
        let deadline = Instant::now() + timeout;
        loop {
            self.type_text("\n")?;
            match self.wait_for(from, Duration::from_secs(2), |t| t.contains(&end)) {
                Ok(_) => break,
                Err(_) if Instant::now() < deadline => {}
                Err(e) => bail!("command {cmd:?}: {e:#}; output so far:\n{}", &self.log[from..]),
            }
        }
        parse_output(&self.log[from..], n).with_context(|| format!("command {cmd:?}"))
    }

    /// Type `cmd` (a power-off or a crash) and wait for QEMU to exit by
    /// itself within `timeout`; returns what the console printed meanwhile.
    pub fn run_until_exit(&mut self, cmd: &str, timeout: Duration) -> Result<String> {
        let from = self.log.len();
        self.type_text(&format!("{cmd}\n"))?;
        // Nudge with empty lines, as `run` does, until QEMU exits.
        let deadline = Instant::now() + timeout;
        loop {
            match self.wait_for(from, Duration::from_secs(2), |_| false) {
                Err(e) if format!("{e}").contains("QEMU exited") => break,
                Err(_) if Instant::now() < deadline => {
                    if self.type_text("\n").is_err() {
                        break;
                    }
                }
                Err(e) => bail!("{e:#}; output:\n{}", &self.log[from..]),
                Ok(_) => unreachable!("the condition never holds"),
            }
        }
        // Collect what was printed before the exit was noticed.
        while let Ok(chunk) = self.rx.try_recv() {
            self.log.push_str(&String::from_utf8_lossy(&chunk).replace('\r', ""));
        }
        let _ = self.child.wait();
        Ok(self.log[from..].to_string())
    }

    /// Stop QEMU (Xen does not power off when dom0 halts).
    pub fn shutdown(mut self) -> Result<()> {
        let _ = self.child.kill();
        self.child.wait().context("waiting for QEMU")?;
        Ok(())
    }
}

impl Drop for LinuxDom0 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last line Xen prints when it panics with `noreboot`.
const XEN_PANIC_END: &str = "Manual reset required ('noreboot' specified)";

/// Whether a boot failure's text is Xen 4.17's credit1 tick firing before
/// its CPU joined the scheduler (see [`LinuxDom0::boot_iso`]).
fn is_xen_credit1_boot_race(failure: &str) -> bool {
    failure.contains(XEN_PANIC_END)
        && failure.contains("csched_tick")
        && !failure.contains("*** Building a PV Dom")
}

/// Boot the reference system on machine `m` for a test, or print
/// `SKIPPED: ...` and return `None` when Debian's archive cannot be reached.
/// Any other failure (a broken build, a dom0 that never reaches its shell)
/// panics, failing the test.
pub fn boot_or_skip(m: &Machine) -> Option<LinuxDom0> {
    boot_host_or_skip(Host::Xen, m)
}

/// [`boot_or_skip`] with dom0 on `host`.
pub fn boot_host_or_skip(host: Host, m: &Machine) -> Option<LinuxDom0> {
    if let Err(e) = artefacts() {
        if debian::is_unavailable(&e) {
            println!("SKIPPED: Linux dom0 reference system: {e:#}");
            return None;
        }
        panic!("fetching the reference system: {e:#}");
    }
    let sys = LinuxDom0::boot_host(host, m).unwrap_or_else(|e| panic!("booting Linux dom0 on {}: {e:#}", host.name()));
    eprintln!("dom0 shell on {} ready after {:.1?}", host.name(), sys.boot_time);
    Some(sys)
}

/// `text` without the hypervisor's `(XEN) ` console lines, which interleave
/// with a guest's output on the shared serial port.
pub fn without_xen(text: &str) -> String {
    text.lines().filter(|l| !l.starts_with("(XEN)")).map(|l| format!("{l}\n")).collect()
}

/// Shell helpers for tests: each panics with the evidence a failing test
/// needs instead of returning an error.
impl LinuxDom0 {
    /// Run `cmd`, echoing it and its output to stderr; panics with the
    /// serial log when the shell cannot run it.
    pub fn sh(&mut self, cmd: &str) -> Output {
        let o = self.run_or_panic(cmd);
        echoed(cmd, o)
    }

    /// [`LinuxDom0::sh`] with the hypervisor's `(XEN)` lines taken out of
    /// the output (a crashing guest makes Xen print a register dump on the
    /// shared serial console). Not for `xm dmesg`, whose output is such lines.
    pub fn sh_guest(&mut self, cmd: &str) -> Output {
        let o = self.run_or_panic(cmd);
        echoed(cmd, Output { stdout: without_xen(&o.stdout), stderr: without_xen(&o.stderr), ..o })
    }

    fn run_or_panic(&mut self, cmd: &str) -> Output {
        self.run(cmd).unwrap_or_else(|e| panic!("{e:#}\nserial log:\n{}", self.log()))
    }

    /// [`LinuxDom0::sh_guest`] for a command that must exit 0: its standard
    /// output, or a panic with xenstored's and xenconsoled's logs and the
    /// end of dmesg.
    pub fn sh_ok(&mut self, cmd: &str) -> String {
        let o = self.sh_guest(cmd);
        if o.exit_code != 0 {
            let logs = self.sh_guest(&format!("cat {XENSTORED_LOG} {XENCONSOLED_LOG}; dmesg | tail -20"));
            panic!("{cmd}: {o:?}\nlogs:\n{}", logs.stdout);
        }
        o.stdout
    }

    /// `free_memory` of `xm info`, in MiB.
    pub fn xm_free_mib(&mut self) -> u64 {
        let info = self.sh_ok("xm info");
        let free = xm_info_value(&info, "free_memory");
        free.parse().unwrap_or_else(|_| panic!("free_memory {free:?} in xm info is not a number:\n{info}"))
    }

    /// Domain names of `xm list`.
    pub fn xm_names(&mut self) -> Vec<String> {
        without_xen(&self.sh_ok("xm list")).lines().skip(1).filter_map(|l| l.split_whitespace().next().map(String::from)).collect()
    }
}

/// Value of `key` in `xm info` output; panics when it has none.
pub fn xm_info_value<'a>(info: &'a str, key: &str) -> &'a str {
    info.lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim() == key).map(|(_, v)| v.trim()))
        .unwrap_or_else(|| panic!("xm info has no {key}:\n{info}"))
}

/// `o`, after echoing `cmd` and its output to stderr for the test log.
fn echoed(cmd: &str, o: Output) -> Output {
    eprintln!("$ {cmd}   (exit {})\n{}{}", o.exit_code, o.stdout, o.stderr);
    o
}

/// Times of one domU's life on the reference system, for `cargo xtask bench`.
#[derive(Clone, Copy, Debug)]
pub struct DomuTimes {
    /// From `xm create` to the guest's first console line in its log.
    pub create_to_first_line: Duration,
    /// `xm destroy` of the running guest.
    pub destroy: Duration,
}

/// Measure [`DomuTimes`] for the `domu` kernel on a booted system
/// ([`LinuxDom0::boot`]): each step runs as one shell command whose wall
/// time, seen from the host, is reduced by that of an empty command (the
/// serial console's typing and marker overhead).
pub fn measure_domu_times(sys: &mut LinuxDom0) -> Result<DomuTimes> {
    let timed = timed_ok;
    let baseline = timed(sys, "true")?;
    let log = "/var/log/xen/console/guest-domu1.log";
    let create = timed(
        sys,
        &format!("rm -f {log}; xm create /etc/xen/domu.cfg >/dev/null && while ! grep -q 'domu: ' {log} 2>/dev/null; do usleep 5000; done"),
    )?;
    timed(sys, &format!("while ! grep -q 'domu: ready' {log}; do usleep 5000; done"))?;
    let destroy = timed(sys, "xm destroy domu1")?;
    Ok(DomuTimes {
        create_to_first_line: create.saturating_sub(baseline),
        destroy: destroy.saturating_sub(baseline),
    })
}

/// Run `cmd`, which must exit 0, and return its wall time seen from the
/// host.
fn timed_ok(sys: &mut LinuxDom0, cmd: &str) -> Result<Duration> {
    let start = Instant::now();
    let o = sys.run(cmd)?;
    if o.exit_code != 0 {
        bail!("{cmd}: exit {}: {}{}", o.exit_code, o.stdout, o.stderr);
    }
    Ok(start.elapsed())
}

/// Time `xm list` (mean of 5, less an empty command's time) with `n`
/// copies of the `domu` kernel running (`xm create /etc/xen/domu.cfg
/// name=benchK memory=16`), then destroy them.
pub fn measure_xm_list(sys: &mut LinuxDom0, n: u32) -> Result<Duration> {
    let ok = timed_ok;
    for k in 1..=n {
        ok(sys, &format!("xm create /etc/xen/domu.cfg name=bench{k} memory=16 >/dev/null"))?;
    }
    for k in 1..=n {
        let log = format!("/var/log/xen/console/guest-bench{k}.log");
        ok(sys, &format!("while ! grep -q 'domu: ready' {log} 2>/dev/null; do usleep 20000; done"))?;
    }
    let listed = sys.run("xm list | grep -c '^bench'")?.stdout;
    if listed.trim() != n.to_string() {
        bail!("xm list shows {} of the {n} domains", listed.trim());
    }
    let mut total = Duration::ZERO;
    for _ in 0..5 {
        let base = ok(sys, "true")?;
        total += ok(sys, "xm list >/dev/null")?.saturating_sub(base);
    }
    for k in 1..=n {
        ok(sys, &format!("xm destroy bench{k}"))?;
    }
    Ok(total / 5)
}

/// Split the console text of command number `n` into its output.
pub fn parse_output(text: &str, n: u64) -> Result<Output> {
    let rc_tag = "@@XM-RC ";
    let rc_suffix = format!(" {n}@@");
    let end_line = format!("@@XM-END {n}@@");
    let lines: Vec<&str> = text.lines().collect();
    let rc_at = lines
        .iter()
        .position(|l| l.starts_with(rc_tag) && l.ends_with(&rc_suffix))
        .context("no exit-status marker")?;
    let end_at = lines.iter().position(|l| *l == end_line).context("no end marker")?;
    let code = lines[rc_at][rc_tag.len()..lines[rc_at].len() - rc_suffix.len()].trim();
    let exit_code = code.parse().with_context(|| format!("exit status {code:?}"))?;
    let keep = |ls: &[&str]| -> String { ls.iter().map(|l| format!("{l}\n")).collect() };
    Ok(Output { stdout: keep(&lines[..rc_at]), stderr: keep(&lines[rc_at + 1..end_at.max(rc_at + 1)]), exit_code })
}

/// Boot the system interactively with the serial console on this terminal
/// (`cargo xtask run --reference`).
pub fn run_interactive(smp: u32, mem_mib: u32) -> Result<()> {
    let iso = workspace_root().join("target/linux-dom0.iso");
    build_iso(&iso, false)?;
    let m = Machine { smp, mem_mib, ..Machine::default() };
    eprintln!("Booting Xen 4.17 + Linux dom0 ({}) under QEMU (TCG, {smp} CPUs, {mem_mib} MiB). Ctrl-A X quits.", iso.display());
    let status = Command::new("qemu-system-x86_64")
        .args(base_args(&iso, &m))
        .arg("-nographic")
        .status()
        .context("starting qemu-system-x86_64")?;
    if !status.success() {
        bail!("QEMU exited with {status}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Save, restore and migration (issue 15): the same system with a NIC.
// ---------------------------------------------------------------------------

/// The e1000 driver of Debian's kernel, for the dom0s of the migration
/// tests (QEMU's default NIC model), as a path under the modules dir.
pub const E1000_MODULE: &str = "kernel/drivers/net/ethernet/intel/e1000/e1000.ko";
/// Where the migration image puts the e1000 module.
pub const E1000_PATH: &str = "/lib/modules/net/e1000.ko";
/// The Linux domU the save, restore and migration tests move around.
pub const MIGRATE_DOMU_CONFIG: (&str, &str) = (
    "/etc/xen/mig.cfg",
    "name = 'mig1'\nkernel = '/boot/vmlinuz'\nramdisk = '/boot/domu-initrd.cpio'\nmemory = 96\nvcpus = 1\nextra = 'console=hvc0'\n",
);

/// Build the driver-mode image of the system with the e1000 module and
/// [`MIGRATE_DOMU_CONFIG`] added (a second cpio archive appended to the
/// initramfs: Linux unpacks them in turn), on Xen 4.17.
pub fn build_migrate_iso(out: &Path) -> Result<()> {
    build_migrate_iso_for(Host::Xen, out)
}

/// [`build_migrate_iso`] with dom0 on `host`.
pub fn build_migrate_iso_for(host: Host, out: &Path) -> Result<()> {
    let a = artefacts()?;
    tools::ensure()?;
    let tools = build_static_tools()?;
    let mut initramfs = build_initramfs(&a, &tools)?;
    let mut extra = Cpio::new();
    for d in ["lib", "lib/modules", "lib/modules/net", "etc", "etc/xen"] {
        extra.dir(d);
    }
    let e1000 = a.modules_dir.join(E1000_MODULE);
    extra.file(E1000_PATH.trim_start_matches('/'), 0o644, &fs::read(&e1000).with_context(|| format!("reading {}", e1000.display()))?);
    extra.file(MIGRATE_DOMU_CONFIG.0.trim_start_matches('/'), 0o644, MIGRATE_DOMU_CONFIG.1.as_bytes());
    initramfs.extend_from_slice(&extra.finish());
    let initrd = out.with_extension("cpio");
    fs::write(&initrd, initramfs).with_context(|| format!("writing {}", initrd.display()))?;
    let (hypervisor, hv_cmdline) = match host {
        Host::Xen => (a.xen, XEN_CMDLINE),
        Host::Ours => (crate::build::hypervisor()?, OURS_CMDLINE),
    };
    let spec = ImageSpec {
        hypervisor,
        cmdline: Some(hv_cmdline.into()),
        modules: vec![
            Module { file: a.vmlinuz, name: "dom0".into(), args: format!("{LINUX_CMDLINE} {DRIVER_FLAG}") },
            Module { file: initrd.clone(), name: "initrd".into(), args: String::new() },
        ],
    };
    let made = make_iso(&spec, out);
    let _ = fs::remove_file(&initrd);
    made
}

/// Bring dom0's e1000 NIC up with address `cidr` (e.g. `10.0.0.1/24`).
pub fn dom0_network_up(sys: &mut LinuxDom0, cidr: &str) -> Result<()> {
    let o = sys.run(&format!("insmod {E1000_PATH} && sleep 1 && ip link set eth0 up && ip addr add {cidr} dev eth0"))?;
    if o.exit_code != 0 {
        bail!("bringing eth0 up: {}{}", o.stdout, o.stderr);
    }
    Ok(())
}

// ---------------------------------------------------------------------
// Virtual disks and networks (issue 14): the dom0 backend modules, a
// bridge, a Linux domU whose root is an ext4 image, and its configuration.
// ---------------------------------------------------------------------

/// Dom0's modules for virtual devices, in load order, as paths under
/// `kernel/`: loop devices for `file:` disks, the bridge (with `llc` and
/// `stp`), and the block and network backends.
pub const DEVICE_MODULES: &[&str] = &[
    "drivers/block/loop.ko",
    "net/llc/llc.ko",
    "net/802/stp.ko",
    "net/bridge/bridge.ko",
    "drivers/block/xen-blkback/xen-blkback.ko",
    "drivers/net/xen-netback/xen-netback.ko",
];

/// The device domU's modules, in load order, as paths under `kernel/`:
/// ext4 (with what it needs) and the block and network frontends.
pub const DEVICE_DOMU_MODULES: &[&str] = &[
    "lib/crc16.ko",
    "fs/mbcache.ko",
    "fs/jbd2/jbd2.ko",
    "crypto/crc32c_generic.ko",
    "fs/ext4/ext4.ko",
    "drivers/block/xen-blkfront.ko",
    "drivers/net/xen-netfront.ko",
];

/// Dom0's bridge for domU networks and its address.
pub const BRIDGE: &str = "xenbr0";
/// Dom0's address on [`BRIDGE`].
pub const DOM0_IP: &str = "10.0.0.1";
/// The device domU's address (set by its init from `domuip=`).
pub const DEVICE_DOMU_IP: &str = "10.0.0.2";

/// Run by `/init` once xenstored is up: the device modules and [`BRIDGE`].
const DEVICES_INIT: &str = r#"#!/bin/sh
for m in /lib/modules/devices/*.ko; do
    insmod "$m" || echo "init: insmod $m failed"
done
ip link set lo up
brctl addbr xenbr0 || echo "init: no bridge xenbr0"
echo 0 > /sys/class/net/xenbr0/bridge/forward_delay
ip addr add 10.0.0.1/24 dev xenbr0
ip link set xenbr0 up
"#;

/// The device domU's initramfs `/init`: its modules, then its root: the
/// ext4 disk named by `devroot=` (waiting for blkfront to show it), else
/// the initramfs itself ([`DEVICE_DOMU_RC`]).
const DEVICE_DOMU_INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/sbin:/bin
mkdir -p /proc /sys /dev /tmp /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in /lib/modules/*.ko; do
    insmod "$m" || echo "domu: insmod $m failed"
done
root=$(sed -n 's/.*devroot=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$root" ]; then
    i=0
    while [ ! -b "$root" ] && [ $i -lt 200 ]; do usleep 100000; i=$((i+1)); done
    if mount -t ext4 "$root" /newroot; then
        umount /proc /sys /dev
        exec switch_root /newroot /init
    fi
    echo "domu: cannot mount $root"
fi
exec /bin/busybox sh /etc/rc.domu
"#;

/// The rest of the device domU's start, on either root: mounts, `eth0` at
/// the `domuip=` address, the ready line naming the root's filesystem,
/// then a shell on the console, forever.
const DEVICE_DOMU_RC: &str = r#"export PATH=/sbin:/bin
[ -e /proc/self ] || mount -t proc proc /proc
[ -e /sys/kernel ] || mount -t sysfs sysfs /sys
[ -c /dev/null ] || mount -t devtmpfs devtmpfs /dev
ip link set lo up
addr=$(sed -n 's/.*domuip=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$addr" ]; then
    i=0
    while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 200 ]; do usleep 100000; i=$((i+1)); done
    ip addr add "$addr" dev eth0
    ip link set eth0 up
fi
echo "LINUX-DOMU-""READY $(uname -r) root=$(awk '$2 == "/" { t = $3 } END { print t }' /proc/mounts)"
while true; do
    setsid cttyhack sh
done
"#;

/// The device domU's initramfs in the dom0 initramfs.
pub const DEVICE_DOMU_RAMDISK: &str = "/boot/domu-dev-initrd.cpio";
/// The ext4 root image of the device domU in dom0, gzip'ed (it is mostly
/// zeroes); the test unpacks it to [`DEVICE_DOMU_ROOT`].
pub const DEVICE_DOMU_ROOT_GZ: &str = "/var/xen/images/root.ext4.gz";
/// The unpacked root image.
pub const DEVICE_DOMU_ROOT: &str = "/var/xen/images/root.ext4";
/// Size of the root image in MiB.
pub const DEVICE_DOMU_ROOT_MIB: u32 = 24;
/// Where the seeds' configurations are in dom0, verbatim.
pub const SEEDS_DIR: &str = "/etc/xen/seeds";
/// The device domU's configuration: root on an ext4 image (`file:`), a
/// second disk on a loop device the test attaches at `/dev/loop7`
/// (`phy:`), one vif on [`BRIDGE`].
pub const DEVICE_DOMU_CONFIG: (&str, &str) = (
    "/etc/xen/linux-dev.cfg",
    "name = 'linux2'
kernel = '/boot/vmlinuz'
ramdisk = '/boot/domu-dev-initrd.cpio'
memory = 128
disk = [ 'file:/var/xen/images/root.ext4,xvda,w',
         'phy:/dev/loop7,xvdb,w' ]
vif = [ 'mac=00:16:3e:00:00:02, bridge=xenbr0' ]
extra = 'console=hvc0 devroot=/dev/xvda domuip=10.0.0.2/24'
",
);

/// `/sbin/poweroff` and `/sbin/reboot` of the device domU (as
/// [`DOMU_POWEROFF`], [`DOMU_REBOOT`]; they sync the ext4 root first).
fn domu_helpers(c: &mut Cpio, prefix: &str) {
    c.file(&format!("{prefix}sbin/poweroff"), 0o755, DOMU_POWEROFF.as_bytes());
    c.file(&format!("{prefix}sbin/reboot"), 0o755, DOMU_REBOOT.as_bytes());
}

/// The device domU's initramfs: busybox, its modules, `DEVICE_DOMU_INIT`
/// and `DEVICE_DOMU_RC`.
pub fn build_device_domu_initramfs(a: &Artefacts) -> Result<Vec<u8>> {
    let read = |p: &Path| fs::read(p).with_context(|| format!("reading {}", p.display()));
    let mut c = Cpio::new();
    for d in ["bin", "sbin", "dev", "proc", "sys", "tmp", "root", "etc", "lib", "lib/modules"] {
        c.dir(d);
    }
    c.char_dev("dev/console", 0o600, 5, 1);
    c.file("bin/busybox", 0o755, &read(&a.busybox)?);
    c.symlink("bin/sh", "busybox");
    c.file("init", 0o755, DEVICE_DOMU_INIT.as_bytes());
    c.file("etc/rc.domu", 0o644, DEVICE_DOMU_RC.as_bytes());
    domu_helpers(&mut c, "");
    for (i, m) in DEVICE_DOMU_MODULES.iter().enumerate() {
        let base = m.rsplit('/').next().unwrap_or(m);
        c.file(&format!("lib/modules/{i}-{base}"), 0o644, &read(&a.modules_dir.join("kernel").join(m))?);
    }
    Ok(c.finish())
}

/// The device domU's ext4 root image, gzip'ed: busybox, `/init` (which
/// runs `DEVICE_DOMU_RC`) and the poweroff/reboot helpers, made with
/// `mke2fs -d` (e2fsprogs is installed when missing).
pub fn build_device_domu_root(a: &Artefacts) -> Result<Vec<u8>> {
    if !Command::new("sh").args(["-c", "command -v mke2fs >/dev/null"]).status().is_ok_and(|s| s.success()) {
        tools::apt_install(&["e2fsprogs"])?;
    }
    // Unique per call: tests in one process build images at the same time.
    static BUILDS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = scratch_dir().join(format!("domu-root-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let tree = dir.join("tree");
    for d in ["bin", "sbin", "dev", "proc", "sys", "tmp", "root", "etc", "lost+found"] {
        fs::create_dir_all(tree.join(d))?;
    }
    fs::copy(&a.busybox, tree.join("bin/busybox")).context("copying busybox")?;
    std::os::unix::fs::symlink("busybox", tree.join("bin/sh"))?;
    // devtmpfs before anything is redirected to /dev/null: that would
    // make it a regular file on the ext4 root.
    let init = format!(
        "#!/bin/busybox sh\n/bin/busybox mount -t devtmpfs devtmpfs /dev\n/bin/busybox --install -s /bin 2>/dev/null\n{DEVICE_DOMU_RC}"
    );
    fs::write(tree.join("init"), init)?;
    fs::write(tree.join("sbin/poweroff"), DOMU_POWEROFF)?;
    fs::write(tree.join("sbin/reboot"), DOMU_REBOOT)?;
    use std::os::unix::fs::PermissionsExt;
    for f in ["init", "sbin/poweroff", "sbin/reboot", "bin/busybox"] {
        fs::set_permissions(tree.join(f), fs::Permissions::from_mode(0o755))?;
    }
    let img = dir.join("root.ext4");
    let out = Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-L", "domuroot", "-E", "root_owner=0:0", "-d"])
        .arg(&tree)
        .arg(&img)
        .arg(format!("{DEVICE_DOMU_ROOT_MIB}M"))
        .output()
        .context("running mke2fs")?;
    if !out.status.success() {
        bail!("mke2fs failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let gz = Command::new("gzip").arg("-c").arg(&img).output().context("running gzip")?;
    let _ = fs::remove_dir_all(&dir);
    if !gz.status.success() {
        bail!("gzip failed");
    }
    Ok(gz.stdout)
}

/// Add the device pieces to dom0's initramfs: [`DEVICE_MODULES`],
/// [`DEVICES_INIT`], the device domU (initramfs, root image,
/// configuration) and the seeds' configurations in [`SEEDS_DIR`].
fn add_device_files(c: &mut Cpio, a: &Artefacts) -> Result<()> {
    let read = |p: &Path| fs::read(p).with_context(|| format!("reading {}", p.display()));
    c.dir("lib/modules/devices");
    for (i, m) in DEVICE_MODULES.iter().enumerate() {
        let base = m.rsplit('/').next().unwrap_or(m);
        c.file(&format!("lib/modules/devices/{i}-{base}"), 0o644, &read(&a.modules_dir.join("kernel").join(m))?);
    }
    c.file("etc/xen/devices-init.sh", 0o755, DEVICES_INIT.as_bytes());
    c.file(DEVICE_DOMU_RAMDISK.trim_start_matches('/'), 0o644, &build_device_domu_initramfs(a)?);
    c.dir("var/xen");
    c.dir("var/xen/images");
    c.file(DEVICE_DOMU_ROOT_GZ.trim_start_matches('/'), 0o644, &build_device_domu_root(a)?);
    c.file(DEVICE_DOMU_CONFIG.0.trim_start_matches('/'), 0o644, DEVICE_DOMU_CONFIG.1.as_bytes());
    c.dir(SEEDS_DIR.trim_start_matches('/'));
    let seeds = workspace_root().join(SEEDS_SOURCE);
    let mut names: Vec<_> = fs::read_dir(&seeds)
        .with_context(|| format!("reading {}", seeds.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cfg"))
        .collect();
    names.sort();
    for n in names {
        c.file(&format!("{}/{n}", SEEDS_DIR.trim_start_matches('/')), 0o644, &read(&seeds.join(&n))?);
    }
    Ok(())
}

/// Type `line` (no single quotes) at the shell of domU `dom` through `xm
/// console` and return the value after the `RES=` it prints (write
/// `R""ES=` in `line`, so that the echoed typing does not match), or
/// `None` when no such line came back.
pub fn domu_line(sys: &mut LinuxDom0, dom: &str, line: &str) -> Result<Option<String>> {
    // `xm console` replays the guest's log: number the marker so that
    // earlier answers do not count.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let line = line.replace("R\"\"ES=", &format!("R\"\"ES{n}="));
    let cmd = format!("(sleep 1; echo '{line}'; sleep 2) | timeout 6 xm console {dom} | tr -d '\\033\\r'; echo");
    let out = sys.run(&cmd)?.stdout;
    let tag = format!("RES{n}=");
    Ok(out.lines().find_map(|l| l.trim().strip_prefix(tag.as_str())).map(|v| v.trim().to_string()))
}

/// Two systems booted from `iso` (1 vCPU each), linked by a QEMU socket
/// network on the loopback (their `eth0`), their dom0s at 10.9.0.1 and
/// 10.9.0.2 (apart from the device bridge's 10.0.0.0/24 that every dom0
/// of the system has) with `xm serve` listening on port 8002. `extra_a`
/// are more
/// QEMU arguments for the first (a second NIC, say).
pub fn boot_migration_pair(iso: &Path, extra_a: Vec<String>) -> Result<(LinuxDom0, LinuxDom0)> {
    let link = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let machine_with = move |mode: &str, mac: &str| Machine {
        smp: 1,
        extra_args: vec![
            "-netdev".into(),
            format!("socket,id=s0,{mode}=127.0.0.1:{link}"),
            "-device".into(),
            format!("e1000,netdev=s0,mac={mac}"),
        ],
        ..machine()
    };
    // The listening side must exist before the connecting one starts;
    // both boot at the same time.
    let iso_a = iso.to_path_buf();
    let mut m_a = machine_with("listen", "52:54:00:00:00:0a");
    m_a.extra_args.extend(extra_a);
    let a = std::thread::spawn(move || LinuxDom0::boot_iso(&iso_a, &m_a));
    std::thread::sleep(Duration::from_secs(2));
    let b = LinuxDom0::boot_iso(iso, &machine_with("connect", "52:54:00:00:00:0b"));
    let a = a.join().map_err(|_| anyhow::anyhow!("booting the first machine panicked"))?;
    let (mut a, mut b) = (a?, b?);
    dom0_network_up(&mut a, "10.9.0.1/24")?;
    dom0_network_up(&mut b, "10.9.0.2/24")?;
    for sys in [&mut a, &mut b] {
        sys.run("XM_LOG=debug xm serve > /tmp/serve.log 2>&1 &")?;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ping = a.run("ping -c 1 -W 2 10.9.0.2 >/dev/null && grep -q 'listening on port 8002' /tmp/serve.log && echo up")?;
        let served = b.run("grep -q 'listening on port 8002' /tmp/serve.log && echo up")?;
        if ping.stdout.contains("up") && served.stdout.contains("up") {
            return Ok((a, b));
        }
        if Instant::now() > deadline {
            bail!("the two dom0s do not reach each other's relocation servers");
        }
        a.settle(Duration::from_secs(1));
    }
}

/// Guest shells through `xm console`, for the device tests and benchmarks.
impl LinuxDom0 {
    /// Run `cmd` until its output contains `want` (at most `timeout`);
    /// the output when it does, `None` when it never did.
    pub fn poll_for(&mut self, cmd: &str, want: &str, timeout: Duration) -> Result<Option<String>> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let out = without_xen(&self.run(cmd)?.stdout);
            if out.contains(want) {
                return Ok(Some(out));
            }
            self.settle(Duration::from_secs(2));
        }
        Ok(None)
    }

    /// Type `cmd` at guest `name`'s shell (through `xm console`); it must
    /// print a line `KEY=value`, with a `key` used once per guest log, and
    /// the typed text must not contain `KEY=` (write `KEY""=`), so that its
    /// echo, wrapped by the guest's line editor, never looks like the
    /// answer. Returns the value, waiting at most `timeout`.
    ///
    /// One dom0 command per attempt: `xm console` gets the line and a
    /// `Ctrl-]` on its input, so it detaches as soon as the line is passed
    /// on, and dom0 itself watches the guest's log for the answer. The
    /// line is typed again (twice at most) only when `xm console` failed
    /// (on the TCG machine a dom0 process now and then dies right after a
    /// fork), never when the guest merely did not answer in time.
    pub fn guest_answer(&mut self, name: &str, key: &str, cmd: &str, timeout: Duration) -> Result<Option<String>> {
        if cmd.contains('\'') || cmd.contains(&format!("{key}=")) {
            bail!("{cmd}: no single quotes, and {key}= only in the output");
        }
        let log = format!("/var/log/xen/console/guest-{name}.log");
        let answer = |flags: &str| format!("tr -d '\\033\\r' < {log} | grep {flags}'^{key}='");
        let polls = timeout.as_millis() / 200 + 1;
        let line = format!(
            "printf '%s\\n\\035' '{cmd}' | xm console {name} > /dev/null; rc=$?; i=0; \
             while [ $rc = 0 ] && [ $i -lt {polls} ] && ! {}; do usleep 200000; i=$((i+1)); done; \
             echo xm-console-rc=$rc; {} | tail -1",
            answer("-q "),
            answer("")
        );
        let want = format!("{key}=");
        for _ in 0..3 {
            let out = self.run_for(&line, timeout + Duration::from_secs(30))?.stdout;
            if let Some(v) = out.lines().find_map(|l| l.trim().strip_prefix(want.as_str())) {
                return Ok(Some(v.trim().to_string()));
            }
            if out.contains("xm-console-rc=0") {
                return Ok(None);
            }
        }
        Ok(None)
    }
}

/// Device throughput of a Linux domU on the reference system: the disk as
/// the guest times it (its `/proc/uptime`; guest time on TCG is the host's
/// wall clock through the TSC), TCP as dom0 times it.
#[derive(Clone, Copy, Debug)]
pub struct DeviceThroughput {
    /// Sequential write of 64 MiB to a `file:` disk (`conv=fsync`), MB/s.
    pub disk_write: f64,
    /// Sequential read of it after dropping the guest's caches, MB/s.
    pub disk_read: f64,
    /// 64 MiB domU to dom0 over TCP through netback and the bridge (the
    /// guest's busybox httpd, dom0's wget), MB/s, timed by dom0.
    pub tcp: f64,
}

/// MB/s (10^6 bytes) of `bytes` moved between two readings of the guest's
/// `/proc/uptime` (`"T0 T1"`; Debian's busybox `dd` prints no rate).
pub fn uptime_rate(bytes: u64, answer: &str) -> Option<f64> {
    let mut t = answer.split_whitespace().map(|s| s.parse::<f64>().ok());
    let (t0, t1) = (t.next()??, t.next()??);
    (t1 > t0).then(|| bytes as f64 / 1e6 / (t1 - t0))
}

/// A guest shell command timing `cmd` and answering `KEY=T0 T1` (its start
/// and end in `/proc/uptime`).
fn timed_guest_cmd(key: &str, cmd: &str) -> String {
    let (k0, k1) = key.split_at(1);
    format!("t0=$(cut -d\" \" -f1 /proc/uptime); {cmd}; t1=$(cut -d\" \" -f1 /proc/uptime); echo {k0}\"\"{k1}=$t0 $t1")
}

/// A dom0 shell command timing `cmd` into `$t0` and `$t1` (`/proc/uptime`).
fn dom0_timed(cmd: &str) -> String {
    format!("t0=$(cut -d\" \" -f1 /proc/uptime); {cmd}; t1=$(cut -d\" \" -f1 /proc/uptime)")
}

/// Measure [`DeviceThroughput`] with the device domU
/// ([`DEVICE_DOMU_CONFIG`]) on a booted system, then destroy it.
pub fn measure_device_throughput(sys: &mut LinuxDom0) -> Result<DeviceThroughput> {
    let ok = |sys: &mut LinuxDom0, cmd: &str| -> Result<String> {
        let o = sys.run(cmd)?;
        if o.exit_code != 0 {
            bail!("{cmd}: exit {}: {}{}", o.exit_code, o.stdout, o.stderr);
        }
        Ok(o.stdout)
    };
    let minutes = |m: u64| Duration::from_secs(60 * m);
    ok(
        sys,
        &format!(
            "gunzip -c {DEVICE_DOMU_ROOT_GZ} > {DEVICE_DOMU_ROOT} && dd if=/dev/zero of=/var/xen/images/data.img bs=1M count=8 2>/dev/null \
             && losetup /dev/loop7 /var/xen/images/data.img && dd if=/dev/zero of=/var/xen/images/bench.img bs=1M count=64 2>/dev/null"
        ),
    )?;
    ok(sys, &format!("xm create {}", DEVICE_DOMU_CONFIG.0))?;
    let ready = "grep -c LINUX-DOMU-READY /var/log/xen/console/guest-linux2.log";
    if sys.poll_for(ready, "1", minutes(4))?.is_none() {
        bail!("the device domU did not start");
    }
    const BYTES: u64 = 64 << 20;
    let rate = |sys: &mut LinuxDom0, key: &str, cmd: &str| -> Result<f64> {
        let cmd = timed_guest_cmd(key, cmd);
        let answer = sys.guest_answer("linux2", key, &cmd, minutes(5))?.with_context(|| format!("no answer to {cmd}"))?;
        uptime_rate(BYTES, &answer).with_context(|| format!("no times in {answer:?}"))
    };
    ok(sys, "xm block-attach linux2 file:/var/xen/images/bench.img xvdc w")?;
    sys.guest_answer(
        "linux2",
        "BX",
        "i=0; while [ ! -b /dev/xvdc ] && [ $i -lt 100 ]; do usleep 100000; i=$((i+1)); done; echo B\"\"X=$(cat /sys/block/xvdc/size)",
        minutes(2),
    )?
    .filter(|s| s == "131072")
    .context("the benchmark disk did not show in the guest")?;
    let disk_write = rate(sys, "BW", "dd if=/dev/zero of=/dev/xvdc bs=1M count=64 conv=fsync 2> /dev/null")?;
    let disk_read = rate(sys, "BR", "echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/xvdc of=/dev/null bs=1M 2> /dev/null")?;
    // TCP: the guest serves 8 MiB from its memory with busybox httpd
    // (sendfile: large segments) and dom0 fetches it eight times with
    // wget; busybox nc as the sender is limited by its small writes (a
    // segment of ~2 KiB per few system calls of a PV guest under TCG).
    sys.guest_answer(
        "linux2",
        "BH",
        "mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/z bs=1M count=8 2>/dev/null && httpd -p 8080 -h /tmp/www && echo B\"\"H=ok",
        minutes(1),
    )?
    .filter(|s| s == "ok")
    .context("httpd did not start in the guest")?;
    // Up to minutes: Xen 4.17 under TCG on a loaded host moves ~1 MB/s.
    let fetch = format!("{}; echo $t0 $t1", dom0_timed(&format!("for i in 1 2 3 4 5 6 7 8; do wget -q -O /dev/null http://{DEVICE_DOMU_IP}:8080/z; done")));
    let t = sys.run_for(&fetch, minutes(10))?;
    if t.exit_code != 0 {
        bail!("{fetch}: exit {}: {}{}", t.exit_code, t.stdout, t.stderr);
    }
    let t = t.stdout;
    let tcp = uptime_rate(BYTES, &t).with_context(|| format!("no times in {t:?}"))?;
    ok(sys, "xm destroy linux2 && losetup -d /dev/loop7 && rm -f /var/xen/images/bench.img")?;
    Ok(DeviceThroughput { disk_write, disk_read, tcp })
}

/// The seeds' configurations in the workspace (verbatim copies, also the
/// xm unit tests' data).
pub const SEEDS_SOURCE: &str = "tools/xm/src/config/seeds";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xen_credit1_boot_race_is_recognised_and_nothing_else() {
        let race = "(XEN) Brought up 2 CPUs\n(XEN) RIP:    e008:[<ffff82d040246374>] common/sched/credit.c#csched_tick+0x44/0x440\n\
                    (XEN) Panic on CPU 1:\n(XEN) FATAL PAGE FAULT\n(XEN) Manual reset required ('noreboot' specified)\n";
        assert!(is_xen_credit1_boot_race(race));
        // The same panic once dom0 is being built, or any other panic, or a
        // plain timeout, is a failure of its own.
        let later = race.replace("Brought up 2 CPUs", "*** Building a PV Dom0 ***");
        assert!(!is_xen_credit1_boot_race(&later));
        assert!(!is_xen_credit1_boot_race(&race.replace("csched_tick", "do_page_fault")));
        assert!(!is_xen_credit1_boot_race("timed out after 240s; serial log: (XEN) csched_tick"));
    }

    #[test]
    fn cpio_layout() {
        let mut c = Cpio::new();
        c.file("init", 0o755, b"abc");
        let bytes = c.finish();
        assert_eq!(&bytes[..6], b"070701");
        // Header 110 + "init\0" = 115, padded to 116; data 3 padded to 4.
        assert_eq!(&bytes[110..115], b"init\0");
        assert_eq!(&bytes[116..119], b"abc");
        assert_eq!(&bytes[120..126], b"070701");
        let mode = std::str::from_utf8(&bytes[14..22]).unwrap();
        assert_eq!(u32::from_str_radix(mode, 16).unwrap(), 0o100755);
        let size = std::str::from_utf8(&bytes[54..62]).unwrap();
        assert_eq!(u32::from_str_radix(size, 16).unwrap(), 3);
        assert!(bytes.windows(10).any(|w| w == b"TRAILER!!!"));
        assert_eq!(bytes.len() % 4, 0);
    }

    #[test]
    fn rates_from_uptimes() {
        let r = uptime_rate(64_000_000, "100.50 104.50").unwrap();
        assert!((r - 16.0).abs() < 1e-9, "{r}");
        assert_eq!(uptime_rate(1, "5.00 5.00"), None);
        assert_eq!(uptime_rate(1, "5.00"), None);
        assert_eq!(timed_guest_cmd("BW", "true"), "t0=$(cut -d\" \" -f1 /proc/uptime); true; t1=$(cut -d\" \" -f1 /proc/uptime); echo B\"\"W=$t0 $t1");
    }

    #[test]
    fn output_parsing() {
        let text = "hello\nworld\n@@XM-RC 3 7@@\noops\n@@XM-END 7@@\n";
        let o = parse_output(text, 7).unwrap();
        assert_eq!(o, Output { stdout: "hello\nworld\n".into(), stderr: "oops\n".into(), exit_code: 3 });
        assert!(parse_output(text, 8).is_err());
    }
}
