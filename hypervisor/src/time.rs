//! Time arithmetic: the TSC-to-nanoseconds scale guests use
//! (`vcpu_time_info`'s `tsc_to_system_mul`/`tsc_shift`, chosen as Xen
//! chooses them) and calendar dates to UNIX seconds for the wallclock.

/// Nanoseconds per second.
pub const NS_PER_SEC: u64 = 1_000_000_000;

/// A scale: `ns = ((ticks << shift) * mul) >> 32` (a negative shift shifts
/// right).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// 32.32 fixed-point multiplier.
    pub mul: u32,
    /// Pre-shift of the tick count.
    pub shift: i8,
}

impl Scale {
    /// The scale for a counter of `ticks_per_sec`, normalised so that the
    /// shifted rate lies in (1e9, 2e9] and the multiplier below 1.
    pub fn for_rate(ticks_per_sec: u64) -> Self {
        let mut tps = ticks_per_sec.max(1);
        let mut shift: i8 = 0;
        while tps > 2 * NS_PER_SEC {
            tps >>= 1;
            shift -= 1;
        }
        while tps <= NS_PER_SEC {
            tps <<= 1;
            shift += 1;
        }
        let mul = ((NS_PER_SEC << 32) / tps) as u32;
        Self { mul, shift }
    }

    /// Convert `ticks` with this scale.
    pub fn apply(self, ticks: u64) -> u64 {
        let t = if self.shift >= 0 { ticks << self.shift } else { ticks >> -self.shift };
        ((u128::from(t) * u128::from(self.mul)) >> 32) as u64
    }
}

/// Seconds since 1970-01-01 of a UTC calendar date (Gregorian).
pub fn unix_seconds(year: u64, month: u64, day: u64, hour: u64, min: u64, sec: u64) -> u64 {
    // Days from civil (H. Hinnant's algorithm), shifted so March is month 0.
    let (y, m) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hour * 3600 + min * 60 + sec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_converts_rates() {
        for rate in [1_000_000_000u64, 2_000_000_000, 2_999_999_000, 3_400_000_000, 100_000_000, 1_193_182] {
            let s = Scale::for_rate(rate);
            let one_sec = s.apply(rate);
            assert!(one_sec.abs_diff(NS_PER_SEC) < 1000, "rate {rate}: {one_sec} ns, {s:?}");
        }
        let s = Scale::for_rate(2_000_000_000);
        assert_eq!(s.shift, 0);
        assert_eq!(s.apply(2000), 1000);
    }

    #[test]
    fn calendar() {
        assert_eq!(unix_seconds(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(unix_seconds(2000, 3, 1, 0, 0, 0), 951_868_800);
        assert_eq!(unix_seconds(2026, 11, 21, 23, 40, 5), 1_795_304_405);
    }
}
