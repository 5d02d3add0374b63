//! Typed domain configuration, built from the untyped assignments.
//!
//! Keys understood (Xen 4.17 `xm` names and meanings):
//!
//! | key | type | default |
//! |-----|------|---------|
//! | `name` | string, **required** (xm: "Missing vm name") | — |
//! | `kernel` | path, **required** for `xm create` (PV guests boot a kernel image) | — |
//! | `ramdisk` | path | none |
//! | `memory` | integer MiB | 128 (xm's default) |
//! | `maxmem` | integer MiB, ≥ `memory` | `memory` |
//! | `vcpus` | integer ≥ 1 | 1 |
//! | `cpus` | cpu list string (`"0-3,^2"`) for all vcpus, or a list with one entry per vcpu | any cpu |
//! | `vif` | list of `key=value, ...` strings | none |
//! | `disk` | list of `uname,vdev,mode` strings ([`Disk`]) | none |
//! | `root`, `extra` | strings for the kernel command line | none |
//! | `builder` | only `linux` (PV) | `linux` |
//! | `on_poweroff` / `on_reboot` / `on_crash` | [`Action`] | `destroy` / `restart` / `restart` |
//! | `cpu_weight` | credit scheduler weight 1–65535 | scheduler default |
//! | `cpu_cap` | credit scheduler cap in % of one cpu, 0–65535 (0 = none) | scheduler default |
//!
//! Integer keys accept numeric strings too (xm converts with `int()`), which
//! is what makes `memory=256` work as a command-line override.  Unknown keys
//! only produce a [`Warning`].

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use super::cpus::CpuSet;
use super::vdev::VirtualDevice;
use super::error::{ConfigError, Location, Warning};
use super::parser::{Assignment, RawConfig, Value};

/// Default `memory` in MiB when the file does not say (as xm).
pub const DEFAULT_MEMORY_MIB: u64 = 128;

/// What to do when a domain powers off, reboots or crashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Destroy the domain.
    Destroy,
    /// Destroy it and start a fresh one from the same configuration.
    Restart,
    /// Leave the dead domain in place for inspection.
    Preserve,
    /// Rename the old domain and start a new one.
    RenameRestart,
    /// Dump core, then destroy.
    CoredumpDestroy,
    /// Dump core, then restart.
    CoredumpRestart,
}

impl Action {
    /// All actions with their configuration spelling.
    pub const ALL: [(&'static str, Action); 6] = [
        ("destroy", Action::Destroy),
        ("restart", Action::Restart),
        ("preserve", Action::Preserve),
        ("rename-restart", Action::RenameRestart),
        ("coredump-destroy", Action::CoredumpDestroy),
        ("coredump-restart", Action::CoredumpRestart),
    ];

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, a)| *a == self)
            .map(|(s, _)| *s)
            .expect("all listed")
    }
}

impl FromStr for Action {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, a)| *a)
            .ok_or(())
    }
}

/// A MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = VifError;
    /// Six two-digit hex octets separated by `:`; multicast addresses are
    /// rejected since a vif needs a unicast address.
    fn from_str(s: &str) -> Result<Self, VifError> {
        let bad = || VifError::BadMac(s.to_string());
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut mac = [0u8; 6];
        for (slot, p) in mac.iter_mut().zip(&parts) {
            if p.len() != 2 {
                return Err(bad());
            }
            *slot = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        if mac[0] & 1 != 0 {
            return Err(VifError::MulticastMac(s.to_string()));
        }
        Ok(MacAddr(mac))
    }
}

/// What is wrong with a `vif` entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VifError {
    /// An item is not `key=value`.
    #[error("'{0}' is not key=value")]
    NotKeyValue(String),
    /// The MAC address is malformed.
    #[error("invalid MAC address '{0}' (expected six hex octets like 00:16:3e:01:02:03)")]
    BadMac(String),
    /// The MAC address is a multicast one.
    #[error("MAC address '{0}' is multicast (low bit of the first octet set)")]
    MulticastMac(String),
    /// An `ip=` item is not a list of IP addresses.
    #[error("invalid IP address '{0}'")]
    BadIp(String),
    /// A value is empty.
    #[error("'{0}=' needs a value")]
    Empty(String),
}

/// One virtual network interface (`vif = ['mac=..., bridge=...']`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vif {
    /// Fixed MAC address; xm picks a random `00:16:3e:xx:xx:xx` at create time if unset.
    pub mac: Option<MacAddr>,
    /// Bridge to attach the backend interface to.
    pub bridge: Option<String>,
    /// IP address(es), space-separated, passed to the vif script.
    pub ip: Option<String>,
    /// Emulated NIC model (only meaningful to device models).
    pub model: Option<String>,
    /// Backend hotplug script.
    pub script: Option<String>,
    /// Name of the backend interface in dom0.
    pub vifname: Option<String>,
}

impl Vif {
    /// Parses a `vif` entry. Items are separated by `,`, surrounding blanks
    /// are ignored, and an empty string means a default interface. Unknown
    /// items are returned as their names (for warnings).
    pub fn parse(spec: &str) -> Result<(Vif, Vec<String>), VifError> {
        let mut vif = Vif::default();
        let mut unknown = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| VifError::NotKeyValue(item.to_string()))?;
            let (k, v) = (k.trim(), v.trim());
            if v.is_empty() {
                return Err(VifError::Empty(k.to_string()));
            }
            match k {
                "mac" => vif.mac = Some(v.parse()?),
                "bridge" => vif.bridge = Some(v.to_string()),
                "ip" => {
                    for addr in v.split_whitespace() {
                        let host = addr.split_once('/').map_or(addr, |(h, _)| h);
                        host.parse::<IpAddr>()
                            .map_err(|_| VifError::BadIp(addr.to_string()))?;
                    }
                    vif.ip = Some(v.to_string());
                }
                "model" => vif.model = Some(v.to_string()),
                "script" => vif.script = Some(v.to_string()),
                "vifname" => vif.vifname = Some(v.to_string()),
                _ => unknown.push(k.to_string()),
            }
        }
        Ok((vif, unknown))
    }
}

/// How a virtual disk is backed in dom0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskBackend {
    /// `phy:` a block device.
    Phy,
    /// `file:` a loop-mounted image file.
    File,
    /// `tap:DRIVER:` a blktap image (`aio`, `sync`, `qcow`, ...).
    Tap(String),
}

/// blktap drivers accepted after `tap:`.
pub const TAP_DRIVERS: [&str; 7] = ["aio", "sync", "vmdk", "ram", "qcow", "qcow2", "vhd"];

/// Access mode of a virtual disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskMode {
    /// `r`
    ReadOnly,
    /// `w`
    ReadWrite,
    /// `w!`: writable even if another domain already has it writable.
    ForceReadWrite,
}

impl DiskMode {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DiskMode::ReadOnly => "r",
            DiskMode::ReadWrite => "w",
            DiskMode::ForceReadWrite => "w!",
        }
    }
}

/// What is wrong with a `disk` entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiskError {
    /// Not three comma-separated fields.
    #[error("expected 'TYPE:PATH,VDEV,MODE' (e.g. 'phy:/dev/vg/x,xvda1,w'), found {0} field(s)")]
    FieldCount(usize),
    /// Unknown backend prefix.
    #[error("unknown backend '{0}' (expected phy:, file: or tap:DRIVER:)")]
    BadBackend(String),
    /// Unknown blktap driver.
    #[error("unknown tap driver '{0}' (expected one of aio, sync, vmdk, ram, qcow, qcow2, vhd)")]
    BadTapDriver(String),
    /// Backend path missing.
    #[error("missing path after '{0}'")]
    NoPath(String),
    /// Bad virtual device name.
    #[error(
        "invalid virtual device '{0}' (expected e.g. xvda, xvda1, hda1, sdb or a device number)"
    )]
    BadVdev(String),
    /// Bad mode.
    #[error("invalid mode '{0}' (expected r, w or w!)")]
    BadMode(String),
    /// Two disks of the domain have the same virtual device.
    #[error("virtual device '{0}' is the same device as '{1}' of an earlier disk")]
    DuplicateVdev(String, String),
}

/// One virtual block device (`disk = ['phy:/dev/vg/x,hda1,w']`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// Backend kind.
    pub backend: DiskBackend,
    /// Backend path (device or file).
    pub path: String,
    /// Virtual device as the guest sees it (`hda1`, `xvda`, ...), without
    /// a device-model prefix (`ioemu:sda1` is `sda1`).
    pub vdev: String,
    /// Its Xen virtual-device number ([`VirtualDevice`]).
    pub devid: VirtualDevice,
    /// Access mode.
    pub mode: DiskMode,
}

impl Disk {
    /// Parses `TYPE:PATH,VDEV,MODE`.
    pub fn parse(spec: &str) -> Result<Disk, DiskError> {
        let fields: Vec<&str> = spec.split(',').map(str::trim).collect();
        let [uname, vdev, mode] = fields[..] else {
            return Err(DiskError::FieldCount(fields.len()));
        };
        let (backend, path) = if let Some(p) = uname.strip_prefix("phy:") {
            (DiskBackend::Phy, p)
        } else if let Some(p) = uname.strip_prefix("file:") {
            (DiskBackend::File, p)
        } else if let Some(rest) = uname.strip_prefix("tap:") {
            let (driver, p) = rest
                .split_once(':')
                .ok_or_else(|| DiskError::BadTapDriver(rest.to_string()))?;
            if !TAP_DRIVERS.contains(&driver) {
                return Err(DiskError::BadTapDriver(driver.to_string()));
            }
            (DiskBackend::Tap(driver.to_string()), p)
        } else {
            let prefix = uname.split_once(':').map_or(uname, |(p, _)| p);
            return Err(DiskError::BadBackend(prefix.to_string()));
        };
        if path.is_empty() {
            return Err(DiskError::NoPath(uname.to_string()));
        }
        let Some(devid) = VirtualDevice::parse(vdev) else {
            return Err(DiskError::BadVdev(vdev.to_string()));
        };
        let vdev = VirtualDevice::plain_name(vdev);
        let mode = match mode {
            "r" => DiskMode::ReadOnly,
            "w" => DiskMode::ReadWrite,
            "w!" => DiskMode::ForceReadWrite,
            other => return Err(DiskError::BadMode(other.to_string())),
        };
        Ok(Disk {
            backend,
            path: path.to_string(),
            vdev: vdev.to_string(),
            devid,
            mode,
        })
    }

    /// The dom0 block device of a `phy:` disk: a path (relative ones are
    /// under `/dev`, as Xen's `block` script expands them) or `MAJOR:MINOR`
    /// (decimal, or hexadecimal with `0x`). `None` for other backends.
    pub fn phy_device(&self) -> Option<PhyDevice> {
        if self.backend != DiskBackend::Phy {
            return None;
        }
        let num = |s: &str| match s.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        };
        if let Some((ma, mi)) = self.path.split_once(':') {
            if let (Some(ma), Some(mi)) = (num(ma), num(mi)) {
                return Some(PhyDevice::Number(ma, mi));
            }
        }
        Some(PhyDevice::Path(if self.path.starts_with('/') {
            self.path.clone()
        } else {
            format!("/dev/{}", self.path)
        }))
    }

    /// The `uname` as xm writes it: `phy:/dev/vg/x`, `tap:aio:/img`.
    pub fn uname(&self) -> String {
        match &self.backend {
            DiskBackend::Phy => format!("phy:{}", self.path),
            DiskBackend::File => format!("file:{}", self.path),
            DiskBackend::Tap(d) => format!("tap:{d}:{}", self.path),
        }
    }
}

/// How a `phy:` disk names its dom0 block device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhyDevice {
    /// A device node (`/dev/vg/x`; `phy:mapper/x` means `/dev/mapper/x`).
    Path(String),
    /// `MAJOR:MINOR`.
    Number(u32, u32),
}

/// Pinning of the domain's vcpus to physical cpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpuAffinity {
    /// Every vcpu may run on these cpus (`cpus = "0-3"`).
    All(CpuSet),
    /// vcpu *i* may run on entry *i* (`cpus = ["0", "1-2"]`); vcpus beyond
    /// the list are unrestricted.
    PerVcpu(Vec<CpuSet>),
}

/// A complete, validated PV domain configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainConfig {
    /// Domain name.
    pub name: String,
    /// Path of the guest kernel in dom0.
    pub kernel: String,
    /// Path of the initial ramdisk, if any.
    pub ramdisk: Option<String>,
    /// Initial memory in MiB.
    pub memory_mib: u64,
    /// Maximum memory in MiB (≥ `memory_mib`).
    pub maxmem_mib: u64,
    /// Number of vcpus.
    pub vcpus: u32,
    /// vcpu affinity, if restricted.
    pub cpus: Option<CpuAffinity>,
    /// Network interfaces.
    pub vifs: Vec<Vif>,
    /// Block devices.
    pub disks: Vec<Disk>,
    /// `root=` part of the kernel command line.
    pub root: Option<String>,
    /// Rest of the kernel command line.
    pub extra: Option<String>,
    /// Action on poweroff.
    pub on_poweroff: Action,
    /// Action on reboot.
    pub on_reboot: Action,
    /// Action on crash.
    pub on_crash: Action,
    /// Credit scheduler weight.
    pub cpu_weight: Option<u16>,
    /// Credit scheduler cap.
    pub cpu_cap: Option<u16>,
}

/// Keys xm knows that this toolstack does not support (PV-only, no
/// bootloader, no device model): they are ignored with a specific warning.
const UNSUPPORTED_KEYS: &[&str] = &[
    "bootloader",
    "bootargs",
    "device_model",
    "pci",
    "vfb",
    "vnc",
    "vncunused",
    "sdl",
    "serial",
    "boot",
    "acpi",
    "apic",
    "pae",
    "hap",
    "localtime",
    "usb",
    "usbdevice",
    "uuid",
    "vtpm",
];

/// Keys this module understands.
const KNOWN_KEYS: &[&str] = &[
    "name",
    "kernel",
    "ramdisk",
    "memory",
    "maxmem",
    "vcpus",
    "cpus",
    "vif",
    "disk",
    "root",
    "extra",
    "builder",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "cpu_weight",
    "cpu_cap",
];

fn invalid(a: &Assignment, at: &Location, expected: &str, found: String) -> ConfigError {
    ConfigError::InvalidValue {
        at: at.clone(),
        key: a.key.clone(),
        expected: expected.into(),
        found,
    }
}

fn string(a: &Assignment) -> Result<String, ConfigError> {
    match &a.value {
        Value::Str(s) => Ok(s.clone()),
        v => Err(invalid(a, &a.at, "a string", v.describe())),
    }
}

fn integer(a: &Assignment, expected: &str, min: i64, max: i64) -> Result<i64, ConfigError> {
    let n = match &a.value {
        Value::Int(i) => Some(*i),
        Value::Str(s) => s.trim().parse::<i64>().ok(),
        Value::List(_) => None,
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(invalid(a, &a.at, expected, a.value.describe())),
    }
}

fn list(a: &Assignment) -> Result<Vec<(String, Location)>, ConfigError> {
    match &a.value {
        // xm also accepts a single string for a one-element list.
        Value::Str(s) => Ok(vec![(s.clone(), a.at.clone())]),
        Value::Int(i) => Err(invalid(a, &a.at, "a list of strings", i.to_string())),
        Value::List(items) => items
            .iter()
            .map(|i| match &i.value {
                Value::Str(s) => Ok((s.clone(), i.at.clone())),
                v => Err(invalid(
                    a,
                    &i.at,
                    "a list of strings",
                    format!("element {}", v.describe()),
                )),
            })
            .collect(),
    }
}

fn action(a: &Assignment) -> Result<Action, ConfigError> {
    let s = string(a)?;
    s.parse().map_err(|_| {
        invalid(
            a,
            &a.at,
            "one of destroy, restart, preserve, rename-restart, coredump-destroy, coredump-restart",
            format!("{s:?}"),
        )
    })
}

fn cpu_set(s: &str, at: &Location) -> Result<CpuSet, ConfigError> {
    s.parse().map_err(|source| ConfigError::Cpus {
        at: at.clone(),
        spec: s.to_string(),
        source,
    })
}

fn check_name(a: &Assignment, name: &str) -> Result<(), ConfigError> {
    let expected = "a domain name (non-empty, no blanks, '/' or control characters, not all digits, not Domain-0)";
    let ok = !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        && !name.bytes().all(|b| b.is_ascii_digit())
        && name != "Domain-0";
    if ok {
        Ok(())
    } else {
        Err(invalid(a, &a.at, expected, format!("{name:?}")))
    }
}

impl DomainConfig {
    /// Builds the typed configuration. `source` is the configuration file
    /// name, used when a required key is missing. Returns warnings for
    /// unknown or unsupported keys and vif items.
    pub fn from_raw(
        raw: &RawConfig,
        source: &str,
    ) -> Result<(DomainConfig, Vec<Warning>), ConfigError> {
        let mut warnings = Vec::new();
        for a in &raw.assignments {
            if KNOWN_KEYS.contains(&a.key.as_str()) {
                continue;
            }
            let message = if UNSUPPORTED_KEYS.contains(&a.key.as_str()) {
                format!(
                    "'{}' is not supported by this xm (PV guests only); ignored",
                    a.key
                )
            } else {
                format!("unknown key '{}' ignored", a.key)
            };
            warnings.push(Warning {
                at: a.at.clone(),
                message,
            });
        }

        if let Some(a) = raw.get("builder") {
            let b = string(a)?;
            if b != "linux" {
                return Err(ConfigError::UnsupportedBuilder {
                    at: a.at.clone(),
                    builder: b,
                });
            }
        }

        let missing = |key, why| ConfigError::Missing {
            file: source.to_string(),
            key,
            why,
        };
        let a = raw
            .get("name")
            .ok_or_else(|| missing("name", "every domain needs a name"))?;
        let name = string(a)?;
        check_name(a, &name)?;
        let kernel = string(
            raw.get("kernel")
                .ok_or_else(|| missing("kernel", "a PV guest boots a kernel image"))?,
        )?;
        let opt_string = |key| raw.get(key).map(string).transpose();

        let memory_mib = match raw.get("memory") {
            Some(a) => integer(a, "an integer (MiB)", 1, i64::from(u32::MAX))? as u64,
            None => DEFAULT_MEMORY_MIB,
        };
        let maxmem_mib = match raw.get("maxmem") {
            Some(a) => {
                let m = integer(a, "an integer (MiB)", 1, i64::from(u32::MAX))? as u64;
                if m < memory_mib {
                    return Err(invalid(
                        a,
                        &a.at,
                        &format!("at least memory ({memory_mib} MiB)"),
                        m.to_string(),
                    ));
                }
                m
            }
            None => memory_mib,
        };
        let vcpus = match raw.get("vcpus") {
            Some(a) => integer(a, "an integer from 1 to 4096", 1, 4096)? as u32,
            None => 1,
        };
        let cpus = match raw.get("cpus") {
            None => None,
            Some(a) => Some(match &a.value {
                Value::Str(s) => CpuAffinity::All(cpu_set(s, &a.at)?),
                Value::Int(i) => CpuAffinity::All(cpu_set(&i.to_string(), &a.at)?),
                Value::List(items) => CpuAffinity::PerVcpu(
                    items
                        .iter()
                        .map(|i| match &i.value {
                            Value::Str(s) => cpu_set(s, &i.at),
                            Value::Int(n) => cpu_set(&n.to_string(), &i.at),
                            Value::List(_) => Err(invalid(a, &i.at, "a cpu list", "a list".into())),
                        })
                        .collect::<Result<_, _>>()?,
                ),
            }),
        };

        let mut vifs = Vec::new();
        if let Some(a) = raw.get("vif") {
            for (spec, at) in list(a)? {
                let (vif, unknown) = Vif::parse(&spec).map_err(|source| ConfigError::Vif {
                    at: at.clone(),
                    spec,
                    source,
                })?;
                for k in unknown {
                    warnings.push(Warning {
                        at: at.clone(),
                        message: format!("unknown vif item '{k}' ignored"),
                    });
                }
                vifs.push(vif);
            }
        }
        let mut disks = Vec::new();
        if let Some(a) = raw.get("disk") {
            for (spec, at) in list(a)? {
                let disk = Disk::parse(&spec).map_err(|source| ConfigError::Disk {
                    at: at.clone(),
                    spec: spec.clone(),
                    source,
                })?;
                if let Some(other) = disks.iter().find(|d: &&Disk| d.devid == disk.devid) {
                    return Err(ConfigError::Disk {
                        at,
                        spec,
                        source: DiskError::DuplicateVdev(disk.vdev.clone(), other.vdev.clone()),
                    });
                }
                disks.push(disk);
            }
        }

        let act = |key, default| {
            raw.get(key)
                .map(action)
                .transpose()
                .map(|a| a.unwrap_or(default))
        };
        let sched = |key, expected, min| -> Result<Option<u16>, ConfigError> {
            raw.get(key)
                .map(|a| integer(a, expected, min, 65535).map(|v| v as u16))
                .transpose()
        };

        let cfg = DomainConfig {
            name,
            kernel,
            ramdisk: opt_string("ramdisk")?,
            memory_mib,
            maxmem_mib,
            vcpus,
            cpus,
            vifs,
            disks,
            root: opt_string("root")?,
            extra: opt_string("extra")?,
            on_poweroff: act("on_poweroff", Action::Destroy)?,
            on_reboot: act("on_reboot", Action::Restart)?,
            on_crash: act("on_crash", Action::Restart)?,
            cpu_weight: sched("cpu_weight", "an integer from 1 to 65535", 1)?,
            cpu_cap: sched(
                "cpu_cap",
                "an integer from 0 to 65535 (% of one cpu, 0 = no cap)",
                0,
            )?,
        };
        Ok((cfg, warnings))
    }
}
