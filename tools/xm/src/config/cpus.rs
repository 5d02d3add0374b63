//! CPU lists as written in `cpus = "0-3,^2"` and `xm vcpu-pin`.
//!
//! Syntax: `all`, or comma-separated items, each a cpu number `N` or an
//! inclusive range `N-M`, optionally prefixed with `^` to exclude it.
//! Exclusions apply after all inclusions, so `0-3,^2` and `^2,0-3` both mean
//! cpus 0, 1 and 3.  A list must include at least one cpu.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// Highest physical cpu number accepted.
pub const MAX_CPU: u32 = 4095;

/// What is wrong with a cpu list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuListError {
    /// The list (or one of its items) is empty.
    #[error("empty item in cpu list")]
    EmptyItem,
    /// An item is not `N`, `N-M`, `^N` or `^N-M`.
    #[error("'{0}' is not a cpu number or range (expected N, N-M, ^N or ^N-M)")]
    BadItem(String),
    /// A range runs backwards.
    #[error("range '{0}' is backwards")]
    Backwards(String),
    /// A cpu number is too large.
    #[error("cpu {0} is out of range (maximum {MAX_CPU})")]
    TooLarge(u32),
    /// Nothing remains after exclusions.
    #[error("the list selects no cpus")]
    Nothing,
}

/// A set of physical cpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpuSet {
    /// Every cpu of the host (`all`).
    All,
    /// These cpus (never empty).
    Cpus(BTreeSet<u32>),
}

fn parse_range(item: &str) -> Result<(u32, u32), CpuListError> {
    let num = |s: &str| -> Result<u32, CpuListError> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CpuListError::BadItem(item.to_string()));
        }
        match s.parse::<u32>() {
            Ok(n) if n <= MAX_CPU => Ok(n),
            _ => Err(CpuListError::TooLarge(s.parse::<u32>().unwrap_or(u32::MAX))),
        }
    };
    match item.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if a > b {
                return Err(CpuListError::Backwards(item.to_string()));
            }
            Ok((a, b))
        }
        None => {
            let n = num(item)?;
            Ok((n, n))
        }
    }
}

impl FromStr for CpuSet {
    type Err = CpuListError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") {
            return Ok(CpuSet::All);
        }
        let mut include = BTreeSet::new();
        let mut exclude = BTreeSet::new();
        for item in s.split(',') {
            let item = item.trim();
            if item.is_empty() {
                return Err(CpuListError::EmptyItem);
            }
            let (set, body) = match item.strip_prefix('^') {
                Some(rest) => (&mut exclude, rest),
                None => (&mut include, item),
            };
            let (a, b) = parse_range(body)?;
            set.extend(a..=b);
        }
        let cpus: BTreeSet<u32> = include.difference(&exclude).copied().collect();
        if cpus.is_empty() {
            return Err(CpuListError::Nothing);
        }
        Ok(CpuSet::Cpus(cpus))
    }
}

impl fmt::Display for CpuSet {
    /// Canonical form with ranges collapsed: `0-1,3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let CpuSet::Cpus(cpus) = self else {
            return f.write_str("all");
        };
        let mut first = true;
        let mut iter = cpus.iter().copied().peekable();
        while let Some(start) = iter.next() {
            let mut end = start;
            while iter.peek() == Some(&(end + 1)) {
                end += 1;
                iter.next();
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        s.parse::<CpuSet>().unwrap().to_string()
    }

    #[test]
    fn parses_lists() {
        assert_eq!(canon("0-3,^2"), "0-1,3");
        assert_eq!(canon("^2, 0-3"), "0-1,3");
        assert_eq!(canon("5"), "5");
        assert_eq!(canon("1,3,5-7,8"), "1,3,5-8");
        assert_eq!(canon(" all "), "all");
        assert_eq!(
            "0,1".parse::<CpuSet>().unwrap(),
            CpuSet::Cpus([0, 1].into())
        );
    }

    #[test]
    fn rejects_bad_lists() {
        let e = |s: &str| s.parse::<CpuSet>().unwrap_err();
        assert_eq!(e(""), CpuListError::EmptyItem);
        assert_eq!(e("1,,2"), CpuListError::EmptyItem);
        assert_eq!(e("a"), CpuListError::BadItem("a".into()));
        assert_eq!(e("1-"), CpuListError::BadItem("1-".into()));
        assert_eq!(e("3-1"), CpuListError::Backwards("3-1".into()));
        assert_eq!(e("5000"), CpuListError::TooLarge(5000));
        assert_eq!(e("^2"), CpuListError::Nothing);
        assert_eq!(e("2,^2"), CpuListError::Nothing);
    }
}
