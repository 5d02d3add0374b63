//! The hypervisor command line, in Xen's spelling.
//!
//! Parsing is pure: [`parse`] turns the line GRUB hands us into
//! [`BootOptions`] and reports every unknown or malformed option through a
//! callback, keeping the default for it. Recognised options:
//!
//! * `console=com1|none` (a comma list; `vga` is accepted and ignored),
//! * `com1=<baud>[,8n1]`,
//! * `loglvl=<level>[/<level>]` with `none|error|warning|info|debug|all`,
//! * `dom0_mem=[min:<size>,][max:<size>,][<size>]` with K/M/G/T suffixes
//!   (no suffix means KiB, as in Xen; a leading `-` means "all but"),
//! * `dom0_max_vcpus=<n>` or `<min>-<max>` (dom0's vCPUs: as many as the
//!   scheduler's CPUs, within these bounds, at most 32),
//! * `sched=credit` (the only scheduler),
//! * `noreboot[=<bool>]`,
//! * `debug_fault=pagefault` (test aid: take a page fault in ring 0 after
//!   bring-up, to prove the exception dump works).

use core::fmt;

/// Where hypervisor console output goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsoleTargets {
    /// The first serial port (I/O port 0x3f8).
    pub com1: bool,
}

/// Verbosity of the hypervisor log (`loglvl=`), ordered from quiet to chatty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Nothing at all.
    None,
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warning,
    /// Informational messages too (the default).
    Info,
    /// Debug messages too.
    Debug,
    /// Everything, including trace messages.
    All,
}

impl LogLevel {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "none" => Self::None,
            "error" => Self::Error,
            "warning" => Self::Warning,
            "info" => Self::Info,
            "debug" => Self::Debug,
            "all" => Self::All,
            _ => return None,
        })
    }

    /// The `log` crate filter equivalent to this level.
    pub fn to_filter(self) -> log::LevelFilter {
        match self {
            Self::None => log::LevelFilter::Off,
            Self::Error => log::LevelFilter::Error,
            Self::Warning => log::LevelFilter::Warn,
            Self::Info => log::LevelFilter::Info,
            Self::Debug => log::LevelFilter::Debug,
            Self::All => log::LevelFilter::Trace,
        }
    }
}

/// One memory amount of `dom0_mem=`: absolute, or "all but" this much.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemAmount {
    /// Exactly this many bytes.
    Bytes(u64),
    /// All available memory less this many bytes.
    AllBut(u64),
}

impl MemAmount {
    /// Resolve against the memory actually available, in bytes.
    pub fn resolve(self, available: u64) -> u64 {
        match self {
            Self::Bytes(b) => b,
            Self::AllBut(b) => available.saturating_sub(b),
        }
    }
}

/// The parsed `dom0_mem=` option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dom0Mem {
    /// Initial allocation (`<size>`).
    pub amount: Option<MemAmount>,
    /// Lower bound (`min:<size>`).
    pub min: Option<MemAmount>,
    /// Upper bound, also the initial maximum reservation (`max:<size>`).
    pub max: Option<MemAmount>,
}

impl fmt::Display for MemAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes(b) => write!(f, "{} MiB", b >> 20),
            Self::AllBut(b) => write!(f, "all but {} MiB", b >> 20),
        }
    }
}

impl fmt::Display for Dom0Mem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.amount {
            Some(a) => write!(f, "{a}")?,
            None => f.write_str("default")?,
        }
        if let Some(m) = self.min {
            write!(f, ", min {m}")?;
        }
        if let Some(m) = self.max {
            write!(f, ", max {m}")?;
        }
        Ok(())
    }
}

/// A deliberate fault injected for testing the fatal exception path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugFault {
    /// Read from an unmapped hypervisor address (vector 14).
    PageFault,
}

/// Everything the command line configures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootOptions {
    /// Console destinations.
    pub console: ConsoleTargets,
    /// COM1 speed.
    pub com1_baud: u32,
    /// Log verbosity.
    pub loglvl: LogLevel,
    /// dom0's memory.
    pub dom0_mem: Dom0Mem,
    /// Bounds on dom0's vCPU count (`dom0_max_vcpus=`).
    pub dom0_max_vcpus: Dom0Vcpus,
    /// Halt instead of rebooting after a crash.
    pub noreboot: bool,
    /// Fault injection for the test suite.
    pub debug_fault: Option<DebugFault>,
}

impl Default for BootOptions {
    fn default() -> Self {
        Self {
            console: ConsoleTargets { com1: true },
            com1_baud: 115_200,
            loglvl: LogLevel::Info,
            dom0_mem: Dom0Mem::default(),
            dom0_max_vcpus: Dom0Vcpus::default(),
            noreboot: false,
            debug_fault: None,
        }
    }
}

/// A problem with one command-line option; the default stays in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionWarning<'a> {
    /// The option name is not one we know.
    Unknown {
        /// The whole `name[=value]` token.
        option: &'a str,
    },
    /// The option is known but its value does not parse.
    Malformed {
        /// The option name.
        name: &'a str,
        /// The offending value.
        value: &'a str,
        /// What was expected instead.
        expected: &'static str,
    },
}

impl fmt::Display for OptionWarning<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown { option } => write!(f, "unknown command line option '{option}' ignored"),
            Self::Malformed { name, value, expected } => write!(
                f,
                "malformed value '{value}' for option '{name}' (expected {expected}); using the default"
            ),
        }
    }
}

/// Drop a leading image path, which some loaders put before the options.
pub fn strip_image_path(line: &str) -> &str {
    let line = line.trim_start();
    match line.split_once(char::is_whitespace) {
        Some((first, rest)) if is_path(first) => rest,
        None if is_path(line) => "",
        _ => line,
    }
}

fn is_path(token: &str) -> bool {
    token.starts_with('/') && !token.contains('=')
}

/// Parse a hypervisor command line, reporting problems through `warn`.
pub fn parse<'a>(line: &'a str, mut warn: impl FnMut(OptionWarning<'a>)) -> BootOptions {
    let mut opts = BootOptions::default();
    for token in strip_image_path(line).split_ascii_whitespace() {
        if token == "--" {
            break;
        }
        let (name, value) = match token.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (token, None),
        };
        let malformed = |expected| OptionWarning::Malformed { name, value: value.unwrap_or(""), expected };
        match name {
            "console" => match value.and_then(parse_console) {
                Some(c) => opts.console = c,
                None => warn(malformed("a list of com1, vga, none")),
            },
            "com1" => match value.and_then(parse_com) {
                Some(baud) => opts.com1_baud = baud,
                None => warn(malformed("<baud>[,8n1]")),
            },
            "loglvl" => match value.and_then(parse_loglvl) {
                Some(l) => opts.loglvl = l,
                None => warn(malformed("none, error, warning, info, debug or all")),
            },
            "dom0_mem" => match value.and_then(parse_dom0_mem) {
                Some(m) => opts.dom0_mem = m,
                None => warn(malformed("[min:<size>,][max:<size>,][<size>] with K/M/G/T suffix")),
            },
            "dom0_max_vcpus" => match value.and_then(parse_dom0_vcpus) {
                Some(v) => opts.dom0_max_vcpus = v,
                None => warn(malformed("<n> or <min>-<max>")),
            },
            "sched" => match value {
                Some("credit") => {}
                _ => warn(malformed("credit (the only scheduler)")),
            },
            "noreboot" => match parse_bool(value) {
                Some(b) => opts.noreboot = b,
                None => warn(malformed("a boolean")),
            },
            "debug_fault" => match value {
                Some("pagefault") => opts.debug_fault = Some(DebugFault::PageFault),
                _ => warn(malformed("pagefault")),
            },
            _ => warn(OptionWarning::Unknown { option: token }),
        }
    }
    opts
}

fn parse_console(value: &str) -> Option<ConsoleTargets> {
    let mut targets = ConsoleTargets { com1: false };
    for item in value.split(',') {
        match item {
            "com1" => targets.com1 = true,
            "none" | "vga" => {}
            _ => return None,
        }
    }
    Some(targets)
}

fn parse_com(value: &str) -> Option<u32> {
    let (baud, rest) = value.split_once(',').unwrap_or((value, "8n1"));
    if rest != "8n1" {
        return None;
    }
    let baud: u32 = baud.parse().ok()?;
    // The UART divisor is 115200 / baud and must be a whole number >= 1.
    (baud > 0 && baud <= 115_200 && 115_200 % baud == 0).then_some(baud)
}

fn parse_loglvl(value: &str) -> Option<LogLevel> {
    let (level, rate_limited) = value.split_once('/').unwrap_or((value, value));
    LogLevel::from_name(rate_limited)?;
    LogLevel::from_name(level)
}

/// `dom0_max_vcpus=`: how many vCPUs dom0 gets (Xen's rule: as many as
/// the scheduler has CPUs, raised to `min`, lowered to `max`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dom0Vcpus {
    /// At least this many.
    pub min: u32,
    /// At most this many.
    pub max: u32,
}

impl Default for Dom0Vcpus {
    fn default() -> Self {
        Self { min: 1, max: u32::MAX }
    }
}

impl Dom0Vcpus {
    /// dom0's vCPU count with `pool_cpus` CPUs in the scheduler, within
    /// the domain limit `limit`.
    pub fn resolve(self, pool_cpus: u32, limit: u32) -> u32 {
        pool_cpus.max(self.min).min(self.max).clamp(1, limit)
    }
}

/// `<n>` (exactly n) or `<min>-<max>` (either may be empty).
fn parse_dom0_vcpus(value: &str) -> Option<Dom0Vcpus> {
    let num = |s: &str| s.parse::<u32>().ok().filter(|&n| n > 0);
    match value.split_once('-') {
        None => num(value).map(|n| Dom0Vcpus { min: n, max: n }),
        Some((lo, hi)) => {
            let min = if lo.is_empty() { 1 } else { num(lo)? };
            let max = if hi.is_empty() { u32::MAX } else { num(hi)? };
            (min <= max).then_some(Dom0Vcpus { min, max })
        }
    }
}

fn parse_bool(value: Option<&str>) -> Option<bool> {
    match value {
        None | Some("1" | "yes" | "true" | "on" | "enable") => Some(true),
        Some("0" | "no" | "false" | "off" | "disable") => Some(false),
        Some(_) => None,
    }
}

/// Parse a size in Xen's notation: digits then an optional K/M/G/T/B suffix;
/// no suffix means KiB.
pub fn parse_size(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, suffix) = s.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let shift = match suffix {
        "" | "k" | "K" => 10,
        "b" | "B" => 0,
        "m" | "M" => 20,
        "g" | "G" => 30,
        "t" | "T" => 40,
        _ => return None,
    };
    n.checked_mul(1u64 << shift)
}

fn parse_amount(s: &str) -> Option<MemAmount> {
    match s.strip_prefix('-') {
        Some(rest) => parse_size(rest).map(MemAmount::AllBut),
        None => parse_size(s).map(MemAmount::Bytes),
    }
}

fn parse_dom0_mem(value: &str) -> Option<Dom0Mem> {
    let mut mem = Dom0Mem::default();
    if value.is_empty() {
        return None;
    }
    for item in value.split(',') {
        if let Some(v) = item.strip_prefix("min:") {
            mem.min = Some(parse_amount(v)?);
        } else if let Some(v) = item.strip_prefix("max:") {
            mem.max = Some(parse_amount(v)?);
        } else if mem.amount.is_none() {
            mem.amount = Some(parse_amount(item)?);
        } else {
            return None;
        }
    }
    Some(mem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn parse_collect(line: &str) -> (BootOptions, Vec<String>) {
        let mut warnings = Vec::new();
        let opts = parse(line, |w| warnings.push(w.to_string()));
        (opts, warnings)
    }

    #[test]
    fn defaults_for_empty_line() {
        let (opts, warnings) = parse_collect("");
        assert_eq!(opts, BootOptions::default());
        assert!(warnings.is_empty());
    }

    #[test]
    fn image_path_is_skipped() {
        let (opts, warnings) = parse_collect("/boot/hypervisor.elf noreboot");
        assert!(opts.noreboot);
        assert!(warnings.is_empty());
        assert_eq!(strip_image_path("/boot/x"), "");
        assert_eq!(strip_image_path("console=com1"), "console=com1");
    }

    #[test]
    fn dom0_max_vcpus_forms() {
        let (o, w) = parse_collect("dom0_max_vcpus=2 sched=credit");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(o.dom0_max_vcpus.resolve(1, 128), 2);
        let (o, _) = parse_collect("dom0_max_vcpus=2-4");
        assert_eq!((o.dom0_max_vcpus.resolve(1, 128), o.dom0_max_vcpus.resolve(8, 128)), (2, 4));
        let (o, _) = parse_collect("dom0_max_vcpus=-3");
        assert_eq!(o.dom0_max_vcpus.resolve(8, 128), 3);
        assert_eq!(BootOptions::default().dom0_max_vcpus.resolve(1, 128), 1);
        assert_eq!(Dom0Vcpus { min: 500, max: 500 }.resolve(1, 128), 128);
        for bad in ["dom0_max_vcpus=0", "dom0_max_vcpus=4-2", "dom0_max_vcpus=x", "sched=credit2"] {
            let (o, w) = parse_collect(bad);
            assert_eq!(w.len(), 1, "{bad}: {w:?}");
            assert_eq!(o.dom0_max_vcpus, Dom0Vcpus::default());
        }
    }

    #[test]
    fn dom0_mem_forms() {
        let (o, w) = parse_collect("dom0_mem=512M,max:1G");
        assert!(w.is_empty());
        assert_eq!(o.dom0_mem.amount, Some(MemAmount::Bytes(512 << 20)));
        assert_eq!(o.dom0_mem.max, Some(MemAmount::Bytes(1 << 30)));
        assert_eq!(o.dom0_mem.to_string(), "512 MiB, max 1024 MiB");
        let (o, _) = parse_collect("dom0_mem=min:64M,max:2G,-128M");
        assert_eq!(o.dom0_mem.min, Some(MemAmount::Bytes(64 << 20)));
        assert_eq!(o.dom0_mem.amount, Some(MemAmount::AllBut(128 << 20)));
        assert_eq!(MemAmount::AllBut(128 << 20).resolve(1 << 30), (1 << 30) - (128 << 20));
        let (o, _) = parse_collect("dom0_mem=262144");
        assert_eq!(o.dom0_mem.amount, Some(MemAmount::Bytes(256 << 20)), "no suffix means KiB");
    }

    #[test]
    fn malformed_values_warn_and_keep_defaults() {
        let (o, w) = parse_collect("dom0_mem=12Q loglvl=loud com1=12345 noreboot=maybe console=lpt1");
        assert_eq!(o, BootOptions::default());
        assert_eq!(w.len(), 5, "{w:?}");
        assert!(w[0].contains("'12Q'") && w[0].contains("dom0_mem"));
        assert!(w[1].contains("loglvl"));
    }

    #[test]
    fn unknown_options_are_named() {
        let (_, w) = parse_collect("frobnicate=3 bogus");
        assert_eq!(w[0], "unknown command line option 'frobnicate=3' ignored");
        assert_eq!(w[1], "unknown command line option 'bogus' ignored");
    }

    #[test]
    fn console_and_levels() {
        let (o, w) = parse_collect("console=none loglvl=debug/warning com1=9600,8n1 noreboot=0");
        assert!(w.is_empty(), "{w:?}");
        assert!(!o.console.com1);
        assert_eq!(o.loglvl, LogLevel::Debug);
        assert_eq!(o.com1_baud, 9600);
        assert!(!o.noreboot);
        let (o, _) = parse_collect("debug_fault=pagefault");
        assert_eq!(o.debug_fault, Some(DebugFault::PageFault));
    }

    #[test]
    fn size_overflow_is_rejected() {
        assert_eq!(parse_size("99999999999999999999G"), None);
        assert_eq!(parse_size("18446744073709551615G"), None);
        assert_eq!(parse_size("4G"), Some(4 << 30));
    }
}
