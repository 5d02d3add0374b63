//! Benchmark results: the `BENCH` lines the `bench` test kernel prints, and
//! the table `cargo xtask bench` shows.
//!
//! The kernel prints one line per operation:
//!
//! ```text
//! BENCH null_hypercall cycles=1234 min=1200 runs=9 iters=2000
//! BENCH exception_bounce n/a reason=set_trap_table failed: -38 (ENOSYS)
//! ```
//!
//! `cycles` is the median over `runs` timed runs of `iters` operations each,
//! `min` the fastest run. This module parses those lines out of a serial log
//! (whatever prefixes a hypervisor puts before them), fills in `n/a` for
//! operations a boot never reported, and renders the ours-vs-Xen table.
//! Nothing here judges time: a missed target is reported, never an error.

use std::fmt::Write as _;

/// What starts a result line.
pub const PREFIX: &str = "BENCH ";

/// The ratio ours/Xen the project aims at (or below).
pub const TARGET_RATIO: f64 = 0.70;

/// One benchmarked operation.
#[derive(Clone, Copy, Debug)]
pub struct Operation {
    /// Name in the `BENCH` line.
    pub name: &'static str,
    /// What is timed, for the table's legend.
    pub what: &'static str,
}

/// The operations the `bench` kernel measures, in its order.
pub const OPERATIONS: &[Operation] = &[
    Operation { name: "null_hypercall", what: "xen_version(XENVER_version) through the hypercall page" },
    Operation {
        name: "multicall_entry",
        what: "one entry of a 32-entry multicall of xen_version (batch cycles / 32)",
    },
    Operation {
        name: "update_va_mapping",
        what: "update_va_mapping(UVMF_INVLPG) remapping one page back and forth (cycles per call)",
    },
    Operation {
        name: "mmu_update_batch",
        what: "one entry of a 512-entry mmu_update rewriting a pinned L1 (batch cycles / 512)",
    },
    Operation { name: "exception_bounce", what: "ud2 -> #UD bounced to the guest handler -> iret hypercall back" },
];

/// A measured operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measurement {
    /// Median cycles per operation over the runs.
    pub cycles: u64,
    /// Cycles per operation of the fastest run.
    pub min: u64,
    /// Timed runs.
    pub runs: u64,
    /// Operations per run.
    pub iters: u64,
}

/// What one hypervisor gave for one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It ran and was timed.
    Measured(Measurement),
    /// It could not run (or the boot never reported it); why.
    Unavailable(String),
}

/// The results of one boot of the `bench` kernel, by operation name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Results {
    /// `(operation, outcome)` in the order the lines appeared.
    pub entries: Vec<(String, Outcome)>,
}

impl Results {
    /// Parse every `BENCH` line of a serial log. Lines that do not parse are
    /// kept as `n/a` with the reason, so a malformed line is visible.
    pub fn parse(serial: &str) -> Self {
        let entries = serial.lines().filter_map(parse_line).collect();
        Self { entries }
    }

    /// The outcome of `name`, if the boot reported one.
    pub fn get(&self, name: &str) -> Option<&Outcome> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, o)| o)
    }

    /// Give every operation of [`OPERATIONS`] that has no line an `n/a`
    /// with `why` (how the boot ended).
    pub fn fill_missing(&mut self, why: &str) {
        for op in OPERATIONS {
            if self.get(op.name).is_none() {
                self.entries.push((op.name.to_string(), Outcome::Unavailable(why.to_string())));
            }
        }
    }

    /// Results where every operation is `n/a` for the same reason.
    pub fn all_unavailable(why: &str) -> Self {
        let mut r = Self::default();
        r.fill_missing(why);
        r
    }
}

/// Parse one serial line: `None` if it holds no `BENCH` result.
pub fn parse_line(line: &str) -> Option<(String, Outcome)> {
    let at = line.find(PREFIX)?;
    let rest = line[at + PREFIX.len()..].trim_end();
    let (name, fields) = rest.split_once(' ').unwrap_or((rest, ""));
    if name.is_empty() {
        return None;
    }
    let outcome = match fields.strip_prefix("n/a") {
        Some(why) => Outcome::Unavailable(why.trim_start().strip_prefix("reason=").unwrap_or(why.trim()).to_string()),
        None => match parse_fields(fields) {
            Ok(m) => Outcome::Measured(m),
            Err(e) => Outcome::Unavailable(format!("unparsable BENCH line ({e}): {rest}")),
        },
    };
    Some((name.to_string(), outcome))
}

/// Parse `cycles=.. min=.. runs=.. iters=..` (any order).
fn parse_fields(fields: &str) -> Result<Measurement, String> {
    let mut m = [None::<u64>; 4];
    const KEYS: [&str; 4] = ["cycles", "min", "runs", "iters"];
    for field in fields.split_whitespace() {
        let (k, v) = field.split_once('=').ok_or_else(|| format!("field {field:?} is not key=value"))?;
        if let Some(i) = KEYS.iter().position(|&key| key == k) {
            m[i] = Some(v.parse().map_err(|_| format!("{k}={v} is not a number"))?);
        }
    }
    let get = |i: usize| m[i].ok_or_else(|| format!("no {}=", KEYS[i]));
    Ok(Measurement { cycles: get(0)?, min: get(1)?, runs: get(2)?, iters: get(3)? })
}

/// The reference column of the table.
#[derive(Clone, Debug)]
pub enum Reference {
    /// Xen 4.17 ran the kernel.
    Ran(Results),
    /// Xen 4.17 was not run; why (for example no Debian archive).
    Skipped(String),
}

/// The header printed above the table: method and caveats.
pub fn header(machine: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "cargo xtask bench: cycles per operation, measured with rdtsc inside a PV dom0 kernel");
    let _ = writeln!(
        s,
        "  value = median over the timed runs (each run = many iterations, cycles / operations); min = fastest run"
    );
    let _ = writeln!(s, "  machine (both hypervisors, same run): {machine}");
    let _ = writeln!(
        s,
        "  NOTE: under QEMU TCG, rdtsc is virtual time derived from the host clock, not CPU cycles: absolute values"
    );
    let _ = writeln!(
        s,
        "        depend on the host and its load; compare the ratios, measured back to back under the same QEMU."
    );
    s
}

/// Render the table: operation, ours, Xen, ratio ours/Xen, target.
pub fn table(ours: &Results, xen: &Reference) -> String {
    let mut rows = vec![[
        "operation".to_string(),
        "ours".to_string(),
        "Xen 4.17".to_string(),
        "ours/Xen".to_string(),
        "target".to_string(),
    ]];
    let mut notes = Vec::new();
    for op in OPERATIONS {
        let o = ours.get(op.name);
        let x = match xen {
            Reference::Ran(r) => r.get(op.name),
            Reference::Skipped(_) => None,
        };
        let ratio = match (o, x) {
            (Some(Outcome::Measured(a)), Some(Outcome::Measured(b))) if b.cycles > 0 => {
                let r = a.cycles as f64 / b.cycles as f64;
                let verdict = if r <= TARGET_RATIO { "met" } else { "not met" };
                (format!("{r:.2}"), format!("<= {TARGET_RATIO:.2} ({verdict})"))
            }
            _ => ("-".to_string(), format!("<= {TARGET_RATIO:.2}")),
        };
        let xen_cell = match xen {
            Reference::Skipped(_) => "skipped".to_string(),
            Reference::Ran(_) => cell(x, &format!("Xen {}", op.name), &mut notes),
        };
        rows.push([op.name.to_string(), cell(o, &format!("ours {}", op.name), &mut notes), xen_cell, ratio.0, ratio.1]);
    }
    let mut widths = [0usize; 5];
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut s = String::new();
    for (i, row) in rows.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(col, (c, w))| if col == 0 || col == 4 { format!("{c:<w$}") } else { format!("{c:>w$}") })
            .collect();
        let _ = writeln!(s, "{}", line.join("  ").trim_end());
        if i == 0 {
            let _ = writeln!(s, "{}", "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
        }
    }
    if let Reference::Skipped(why) = xen {
        let _ = writeln!(s, "\nXen 4.17 was skipped: {why}");
    }
    for note in notes {
        let _ = writeln!(s, "{note}");
    }
    let _ = writeln!(s, "\nOperations:");
    for op in OPERATIONS {
        let _ = writeln!(s, "  {:<18} {}", op.name, op.what);
    }
    s
}

/// One table cell: `median (min)`, or `n/a [k]` with the reason as a note.
fn cell(o: Option<&Outcome>, label: &str, notes: &mut Vec<String>) -> String {
    match o {
        Some(Outcome::Measured(m)) => format!("{} (min {})", m.cycles, m.min),
        Some(Outcome::Unavailable(why)) => {
            if notes.is_empty() {
                notes.push(String::new());
            }
            notes.push(format!("[{}] {label}: n/a: {why}", notes.len()));
            format!("n/a [{}]", notes.len() - 1)
        }
        None => "n/a".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_parsed_whatever_their_prefix() {
        let log = "(XEN) boot\nBENCH null_hypercall cycles=1234 min=1200 runs=9 iters=2000\n\
                   (d0) BENCH exception_bounce n/a reason=set_trap_table failed: -38 (ENOSYS)\n\
                   BENCH multicall_entry cycles=x min=1 runs=9 iters=1\nnoise\n";
        let r = Results::parse(log);
        assert_eq!(
            r.get("null_hypercall"),
            Some(&Outcome::Measured(Measurement { cycles: 1234, min: 1200, runs: 9, iters: 2000 }))
        );
        assert_eq!(
            r.get("exception_bounce"),
            Some(&Outcome::Unavailable("set_trap_table failed: -38 (ENOSYS)".into()))
        );
        assert!(matches!(r.get("multicall_entry"), Some(Outcome::Unavailable(w)) if w.contains("cycles=x is not a number")));
        assert_eq!(r.entries.len(), 3);
    }

    #[test]
    fn memory_operations_are_in_the_table() {
        let ours = Results::parse(
            "BENCH update_va_mapping cycles=700 min=690 runs=9 iters=2000\n\
             BENCH mmu_update_batch cycles=60 min=58 runs=9 iters=4096\n",
        );
        let xen = Results::parse(
            "BENCH update_va_mapping cycles=1000 min=990 runs=9 iters=2000\n\
             BENCH mmu_update_batch cycles=100 min=98 runs=9 iters=4096\n",
        );
        let t = table(&ours, &Reference::Ran(xen));
        let row = |op: &str| t.lines().find(|l| l.starts_with(op)).unwrap_or_default().to_string();
        assert!(row("update_va_mapping").ends_with("0.70  <= 0.70 (met)"), "{t}");
        assert!(row("mmu_update_batch").ends_with("0.60  <= 0.70 (met)"), "{t}");
    }

    #[test]
    fn missing_operations_get_the_reason() {
        let mut r = Results::parse("BENCH null_hypercall cycles=10 min=9 runs=9 iters=5\n");
        r.fill_missing("guest crashed");
        assert_eq!(r.get("exception_bounce"), Some(&Outcome::Unavailable("guest crashed".into())));
        assert_eq!(r.entries.len(), OPERATIONS.len());
    }

    #[test]
    fn table_has_ratios_and_skips() {
        let ours = Results::parse(
            "BENCH null_hypercall cycles=500 min=490 runs=9 iters=5\n\
             BENCH multicall_entry cycles=300 min=290 runs=9 iters=5\n\
             BENCH exception_bounce n/a reason=no iret\n",
        );
        let xen = Results::parse(
            "BENCH null_hypercall cycles=1000 min=990 runs=9 iters=5\n\
             BENCH multicall_entry cycles=400 min=390 runs=9 iters=5\n\
             BENCH exception_bounce cycles=2000 min=1900 runs=9 iters=5\n",
        );
        let t = table(&ours, &Reference::Ran(xen));
        let row = |op: &str| t.lines().find(|l| l.starts_with(op)).unwrap_or_default().to_string();
        assert!(row("null_hypercall").ends_with("0.50  <= 0.70 (met)"), "{t}");
        assert!(row("multicall_entry").ends_with("0.75  <= 0.70 (not met)"), "{t}");
        assert!(row("exception_bounce").contains("n/a [1]"), "{t}");
        assert!(t.contains("n/a [1]"), "{t}");
        assert!(t.contains("[1] ours exception_bounce: n/a: no iret"), "{t}");
        let t = table(&ours, &Reference::Skipped("no archive".into()));
        assert!(t.contains("skipped"), "{t}");
        assert!(t.contains("Xen 4.17 was skipped: no archive"), "{t}");
    }
}
