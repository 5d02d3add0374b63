//! The IPI storm of the `domu` test kernel (`extra='ipistorm'`, config
//! `/etc/xen/ipistorm.cfg`, two vCPUs): its progress lines, shared by the
//! `xm_smp` test (is it running on both vCPUs?) and `cargo xtask bench
//! --only ipi` (how long is a round trip?).
//!
//! Once a second (by its own clock) vCPU 0 of the storm prints
//!
//! ```text
//! domu: ipistorm vcpu0 <n> vcpu1 <m> round trips; <t> ns per round trip over <ms> ms
//! ```
//!
//! where `n` and `m` count since the start and `t` is the mean of the last
//! `ms` milliseconds.

/// Start of a progress line (after the console's own prefix, if any).
pub const LINE: &str = "domu: ipistorm vcpu0 ";
/// Name of the storm domain in `/etc/xen/ipistorm.cfg`.
pub const NAME: &str = "storm";

/// A dom0 command printing domain `name`'s console log (as xenconsoled
/// keeps it) without escapes and carriage returns.
pub fn log_cmd(name: &str) -> String {
    format!("tr -d '\\033\\r' < /var/log/xen/console/guest-{name}.log; echo")
}

/// One progress line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Round trips vCPU 0 completed since the start.
    pub vcpu0: u64,
    /// Round trips vCPU 1 answered since the start.
    pub vcpu1: u64,
    /// Mean round trip over the period, in ns.
    pub ns: u64,
    /// Length of the period the line covers, in ms (guest time).
    pub period_ms: u64,
}

impl Progress {
    /// The progress line in `line`, if it is one.
    pub fn parse(line: &str) -> Option<Self> {
        let (_, rest) = line.split_once(LINE)?;
        let w: Vec<&str> = rest.split_whitespace().collect();
        match w.as_slice() {
            [v0, "vcpu1", v1, "round", "trips;", ns, "ns", "per", "round", "trip", "over", ms, "ms"] => Some(Progress {
                vcpu0: v0.parse().ok()?,
                vcpu1: v1.parse().ok()?,
                ns: ns.parse().ok()?,
                period_ms: ms.parse().ok()?,
            }),
            _ => None,
        }
    }

    /// Every progress line of a console log, in order.
    pub fn all(log: &str) -> Vec<Self> {
        log.lines().filter_map(Self::parse).collect()
    }
}

/// The mean round trip in ns over `lines` (consecutive progress lines):
/// the time the lines after the first cover over the round trips done in
/// it. `None` with fewer than two lines or no round trip.
pub fn mean_round_trip_ns(lines: &[Progress]) -> Option<f64> {
    let (first, last) = (lines.first()?, lines.last()?);
    let trips = last.vcpu0.checked_sub(first.vcpu0).filter(|&t| t > 0)?;
    let ms: u64 = lines[1..].iter().map(|p| p.period_ms).sum();
    Some(ms as f64 * 1e6 / trips as f64)
}

/// The median of the lines' per-period round trips in ns (robust against
/// periods in which the host did not run the guest's CPUs). `None` for no
/// lines.
pub fn median_round_trip_ns(lines: &[Progress]) -> Option<u64> {
    let mut ns: Vec<u64> = lines.iter().map(|p| p.ns).collect();
    ns.sort_unstable();
    ns.get(ns.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_means() {
        let log = "domu: ipistorm: vCPU 1 up, IPI ports 3 4, blocking\n\
                   domu: ipistorm vcpu0 1172 vcpu1 1171 round trips; 856098 ns per round trip over 1003 ms\n\
                   noise domu: ipistorm vcpu0 3172 vcpu1 3172 round trips; 500000 ns per round trip over 1000 ms\n\
                   domu: ipistorm vcpu0 7172 vcpu1 7171 round trips; 250000 ns per round trip over 1000 ms\n\
                   domu: ipistorm vcpu0 8172 vcpu1 81";
        let p = Progress::all(log);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0], Progress { vcpu0: 1172, vcpu1: 1171, ns: 856098, period_ms: 1003 });
        assert_eq!(p[2].vcpu1, 7171);
        assert_eq!(mean_round_trip_ns(&p), Some(2000.0 * 1e6 / 6000.0));
        assert_eq!(mean_round_trip_ns(&p[..1]), None);
        assert_eq!(mean_round_trip_ns(&[p[0], p[0]]), None);
        assert_eq!(median_round_trip_ns(&p), Some(500000));
        assert_eq!(median_round_trip_ns(&p[1..]), Some(500000));
        assert_eq!(median_round_trip_ns(&[]), None);
    }
}
