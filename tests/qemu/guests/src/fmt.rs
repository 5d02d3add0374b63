//! Formatting helpers for transcript values.

use core::fmt;

/// The bytes of `buf` up to its first NUL (all of it if there is none).
pub fn until_nul(buf: &[u8]) -> &[u8] {
    &buf[..buf.iter().position(|&b| b == 0).unwrap_or(buf.len())]
}

/// Displays bytes as text: printable ASCII as is, anything else `\xNN`.
pub struct Bytes<'a>(pub &'a [u8]);

impl fmt::Display for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.0 {
            if (0x20..0x7f).contains(&b) {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

/// Displays a NUL-terminated string held in `buf`.
pub fn cstr(buf: &[u8]) -> Bytes<'_> {
    Bytes(until_nul(buf))
}

/// Displays the set bits of `bits` by name (`A|B`), unnamed bits as one
/// hex value at the end, `0` when none is set.
pub struct Flags<'a> {
    /// The value.
    pub bits: u64,
    /// Names of single-bit masks.
    pub names: &'a [(u64, &'a str)],
}

impl fmt::Display for Flags<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.bits;
        let mut sep = "";
        for &(mask, name) in self.names {
            if self.bits & mask == mask && mask != 0 {
                write!(f, "{sep}{name}")?;
                sep = "|";
                rest &= !mask;
            }
        }
        if rest != 0 || self.bits == 0 {
            write!(f, "{sep}{rest:#x}")?;
        }
        Ok(())
    }
}

/// `yes` or `no`.
pub fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_flags() {
        assert_eq!(cstr(b"xen-3.0-x86_64\0\0junk").to_string(), "xen-3.0-x86_64");
        assert_eq!(Bytes(b"a\x01").to_string(), "a\\x01");
        let names = [(1, "A"), (2, "B")];
        assert_eq!(Flags { bits: 3, names: &names }.to_string(), "A|B");
        assert_eq!(Flags { bits: 0x11, names: &names }.to_string(), "A|0x10");
        assert_eq!(Flags { bits: 0, names: &names }.to_string(), "0x0");
    }
}
