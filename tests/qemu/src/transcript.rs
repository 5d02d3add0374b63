//! Guest transcripts: the facts a test kernel prints, one a line, between
//! `TRANSCRIPT BEGIN <name>` and `TRANSCRIPT END`.
//!
//! A fact is `key: value`. A line prefixed `~ ` holds an implementation-
//! specific value (an address, a size derived from the memory layout): when
//! two transcripts are compared its key must match but its value may differ.
//! Everything else is fixed by the ABI and must match exactly.
//!
//! [`Transcript::extract`] pulls the guest's lines out of a serial log,
//! dropping the hypervisor's own `(XEN) ` lines, also when one cuts a guest
//! line in two. [`compare`] reports the first difference between two
//! transcripts.

use anyhow::{bail, Result};
use std::fmt;

/// First line of a transcript; the test kernel's name follows.
pub const BEGIN: &str = "TRANSCRIPT BEGIN ";
/// Last line of a transcript.
pub const END: &str = "TRANSCRIPT END";
/// Prefix of an implementation-specific fact.
pub const SPECIFIC: &str = "~ ";
/// Prefix of the hypervisor's own console lines.
const HYPERVISOR_PREFIX: &str = "(XEN) ";

/// One fact of a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fact {
    /// Whether the value is implementation-specific (`~ ` prefix).
    pub specific: bool,
    /// Text before the first `": "` (the whole line if there is none).
    pub key: String,
    /// Text after the first `": "`.
    pub value: String,
}

impl Fact {
    /// Parse one transcript line.
    pub fn parse(line: &str) -> Self {
        let (specific, rest) = match line.strip_prefix(SPECIFIC) {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let (key, value) = match rest.split_once(": ") {
            Some((k, v)) => (k, v),
            None => (rest.strip_suffix(':').unwrap_or(rest), ""),
        };
        Self { specific, key: key.to_string(), value: value.to_string() }
    }
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.specific { SPECIFIC } else { "" };
        write!(f, "{mark}{}: {}", self.key, self.value)
    }
}

/// The facts one test kernel printed.
#[derive(Clone, Debug)]
pub struct Transcript {
    /// Name after `TRANSCRIPT BEGIN`.
    pub name: String,
    /// The facts, in order.
    pub facts: Vec<Fact>,
    /// The boot it came from, when it came from one.
    pub boot: Option<crate::qemu::Transcript>,
}

impl Transcript {
    /// Extract the (first) guest transcript from a serial log.
    pub fn extract(serial: &str) -> Result<Self> {
        let lines = guest_lines(serial);
        let Some(begin) = lines.iter().position(|l| l.starts_with(BEGIN)) else {
            bail!("no '{BEGIN}' line in the serial output");
        };
        let name = lines[begin][BEGIN.len()..].trim().to_string();
        let Some(len) = lines[begin + 1..].iter().position(|l| l.trim_end() == END) else {
            bail!("transcript '{name}' has no '{END}' line");
        };
        let facts = lines[begin + 1..begin + 1 + len].iter().map(|l| Fact::parse(l)).collect();
        Ok(Self { name, facts, boot: None })
    }

    /// The value of the first fact with `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.facts.iter().find(|f| f.key == key).map(|f| f.value.as_str())
    }

    /// The value of `key`, or a panic naming the key and showing the
    /// transcript (for test assertions).
    pub fn value(&self, key: &str) -> &str {
        self.get(key).unwrap_or_else(|| panic!("transcript has no fact {key:?}:\n{self}"))
    }
}

impl fmt::Display for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{BEGIN}{}", self.name)?;
        for fact in &self.facts {
            writeln!(f, "{fact}")?;
        }
        write!(f, "{END}")
    }
}

/// The serial log without the hypervisor's lines. When a `(XEN) ` line
/// starts in the middle of a guest line, the guest's part before it is
/// glued to the next guest line.
fn guest_lines(serial: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in serial.lines() {
        let line = line.trim_end_matches('\r');
        match line.find(HYPERVISOR_PREFIX) {
            Some(0) => {}
            Some(cut) => pending.push_str(&line[..cut]),
            None => {
                pending.push_str(line);
                out.push(std::mem::take(&mut pending));
            }
        }
    }
    if !pending.is_empty() {
        out.push(pending);
    }
    out
}

/// The first way two transcripts differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// 1-based fact number (0: the names differ).
    pub line: usize,
    /// Our line (`None` past our end).
    pub ours: Option<String>,
    /// Xen's line (`None` past its end).
    pub xen: Option<String>,
    /// What is wrong.
    pub what: &'static str,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |s: &Option<String>| s.clone().unwrap_or_else(|| "<end of transcript>".into());
        write!(f, "transcript line {}: {}\n  ours: {}\n  Xen:  {}", self.line, self.what, show(&self.ours), show(&self.xen))
    }
}

impl std::error::Error for Difference {}

/// Compare our transcript with Xen's: same name, same keys in the same
/// order with the same `~ ` marks, and the same values except on `~ ` lines.
pub fn compare(ours: &Transcript, xen: &Transcript) -> Result<(), Difference> {
    if ours.name != xen.name {
        return Err(Difference { line: 0, ours: Some(ours.name.clone()), xen: Some(xen.name.clone()), what: "different test kernels" });
    }
    let n = ours.facts.len().max(xen.facts.len());
    for i in 0..n {
        let (a, b) = (ours.facts.get(i), xen.facts.get(i));
        let what = match (a, b) {
            (Some(a), Some(b)) if a.key != b.key => "different keys",
            (Some(a), Some(b)) if a.specific != b.specific => "one line is marked '~ ', the other is not",
            (Some(a), Some(b)) if !a.specific && a.value != b.value => "different values",
            (Some(_), Some(_)) => continue,
            (Some(_), None) => "ours has more lines",
            (None, _) => "ours has fewer lines",
        };
        return Err(Difference { line: i + 1, ours: a.map(Fact::to_string), xen: b.map(Fact::to_string), what });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL: &str = "(XEN) Xen version 4.17\n\
        noise\n\
        TRANSCRIPT BEGIN hello\n\
        magic: xen-3.0-x86_64\n\
        ~ start_info.nr_pages: 65536\n\
        flags: SIF_(XEN) timer tick\n\
        PRIVILEGED|SIF_INITDOMAIN\n\
        (XEN) d0v0 something\n\
        unknown hypercall: -38\n\
        TRANSCRIPT END\n\
        (XEN) Hardware Dom0 halted: halting machine\n";

    #[test]
    fn extracts_and_drops_hypervisor_lines() {
        let t = Transcript::extract(SERIAL).unwrap();
        assert_eq!(t.name, "hello");
        assert_eq!(t.facts.len(), 4, "{t}");
        assert_eq!(t.value("magic"), "xen-3.0-x86_64");
        assert_eq!(t.value("flags"), "SIF_PRIVILEGED|SIF_INITDOMAIN");
        assert!(t.facts[1].specific);
        assert_eq!(t.facts[1].key, "start_info.nr_pages");
        assert_eq!(t.to_string().lines().nth(2), Some("~ start_info.nr_pages: 65536"));
        assert!(Transcript::extract("TRANSCRIPT BEGIN x\nfoo: 1\n").is_err());
        assert!(Transcript::extract("nothing").is_err());
    }

    #[test]
    fn compare_ignores_specific_values_only() {
        let xen = Transcript::extract(SERIAL).unwrap();
        let ours = Transcript::extract(&SERIAL.replace("65536", "32768")).unwrap();
        assert_eq!(compare(&ours, &xen), Ok(()));

        let ours = Transcript::extract(&SERIAL.replace("-38", "-1")).unwrap();
        let d = compare(&ours, &xen).unwrap_err();
        assert_eq!((d.line, d.what), (4, "different values"));
        assert!(d.to_string().contains("ours: unknown hypercall: -1"), "{d}");

        let ours = Transcript::extract(&SERIAL.replace("~ start_info.nr_pages", "~ nr_pages")).unwrap();
        assert_eq!(compare(&ours, &xen).unwrap_err().what, "different keys");

        let ours = Transcript::extract(&SERIAL.replace("unknown hypercall: -38\n", "")).unwrap();
        let d = compare(&ours, &xen).unwrap_err();
        assert_eq!((d.line, d.what, d.ours.clone()), (4, "ours has fewer lines", None));
        assert!(d.to_string().contains("<end of transcript>"));
    }
}
