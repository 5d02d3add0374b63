//! The neighbour a hostile kernel attacks when it runs as a domU.
//!
//! The test that starts `hostile` and `mm_hostile` with `xm create` next to
//! a healthy domU tells them about it on the command line (values read
//! from the neighbour's xenstore nodes `domid`, `console/ring-ref`,
//! `console/port`, `store/ring-ref`, `store/port`):
//!
//! ```text
//! neighbour=<domid>,<console mfn>,<console port>,<store mfn>,<store port>
//! ```
//!
//! Without that word (as dom0, in the differential tests) [`Neighbour::of`]
//! is `None` and the kernels print no neighbour facts, so their dom0
//! transcripts stay what they were.

/// What a hostile domU knows about the healthy domU beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Neighbour {
    /// Its domain id.
    pub domid: u16,
    /// The machine frame of its console ring (a frame it owns).
    pub console_mfn: u64,
    /// Its end of the console event channel (bound to dom0).
    pub console_port: u32,
    /// The machine frame of its xenstore ring (a frame it owns).
    pub store_mfn: u64,
    /// Its end of the xenstore event channel (bound to dom0).
    pub store_port: u32,
}

/// Command-line word naming the neighbour.
pub const WORD: &str = "neighbour=";

impl Neighbour {
    /// The neighbour named on `cmdline` (a command line, NUL-terminated or
    /// not), if any.
    pub fn parse(cmdline: &[u8]) -> Option<Self> {
        let line = core::str::from_utf8(crate::fmt::until_nul(cmdline)).ok()?;
        let value = line.split(' ').find_map(|w| w.strip_prefix(WORD))?;
        let mut f = value.split(',');
        let mut next = || -> Option<u64> { f.next()?.parse().ok() };
        let n = Neighbour {
            domid: u16::try_from(next()?).ok()?,
            console_mfn: next()?,
            console_port: u32::try_from(next()?).ok()?,
            store_mfn: next()?,
            store_port: u32::try_from(next()?).ok()?,
        };
        next().is_none().then_some(n)
    }

    /// The neighbour of a domU started with [`WORD`] on its command line;
    /// `None` for dom0 (whatever its command line says).
    pub fn of(si: &crate::StartInfo) -> Option<Self> {
        if !crate::console::is_domu(si) {
            return None;
        }
        Self::parse(&si.cmd_line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_word() {
        let n = Neighbour::parse(b"quiet neighbour=3,4660,2,4661,1 x\0junk").unwrap();
        assert_eq!(n, Neighbour { domid: 3, console_mfn: 4660, console_port: 2, store_mfn: 4661, store_port: 1 });
        assert_eq!(Neighbour::parse(b"neighbour=3,4660,2,4661"), None);
        assert_eq!(Neighbour::parse(b"neighbour=3,4660,2,4661,1,9"), None);
        assert_eq!(Neighbour::parse(b"neighbour=70000,1,2,3,4"), None);
        assert_eq!(Neighbour::parse(b"hello from the command line"), None);
    }
}
