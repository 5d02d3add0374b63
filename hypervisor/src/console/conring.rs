//! The console ring: the last bytes the hypervisor printed, kept for
//! `sysctl readconsole` (`xm dmesg`) as Xen's conring is.

/// Capacity of the console ring, Xen's default `conring_size`.
pub const CONRING_SIZE: usize = 16 * 1024;

/// A byte ring that overwrites its oldest bytes when full.
pub struct Conring {
    buf: [u8; CONRING_SIZE],
    /// Total bytes ever written; the write position is `prod % CONRING_SIZE`.
    prod: u64,
    /// Position up to which the ring was cleared (`readconsole` with
    /// `clear`: Xen's `conringc`).
    cons: u64,
}

impl Default for Conring {
    fn default() -> Self {
        Self::new()
    }
}

impl Conring {
    /// An empty ring.
    pub const fn new() -> Self {
        Self { buf: [0; CONRING_SIZE], prod: 0, cons: 0 }
    }

    /// Append bytes, dropping the oldest if full.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.buf[(self.prod % CONRING_SIZE as u64) as usize] = b;
            self.prod += 1;
        }
    }

    /// Total bytes ever written.
    pub fn produced(&self) -> u64 {
        self.prod
    }

    /// Oldest position still held.
    pub fn oldest(&self) -> u64 {
        self.prod.saturating_sub(CONRING_SIZE as u64)
    }

    /// Xen's `readconsole`: from the cleared position, or from `index` (a
    /// 32-bit position, as the ABI carries it) when `incremental` and it is
    /// past that; copies into `out`, clears the ring if asked, and returns
    /// the bytes copied and the next 32-bit index.
    pub fn read_console(&mut self, incremental: bool, index: u32, out: &mut [u8], clear: bool) -> (usize, u32) {
        let start = self.cons.max(self.oldest());
        let mut from = start;
        if incremental {
            // Widen the 32-bit index to the position nearest below `prod`.
            let mut pos = (self.prod & !0xffff_ffff) | u64::from(index);
            if pos > self.prod {
                pos = pos.wrapping_sub(1 << 32);
            }
            if pos > start {
                from = pos;
            }
        }
        let (n, next) = self.read(from, out);
        if clear {
            self.cons = self.prod;
        }
        (n, next as u32)
    }

    /// Copy bytes from position `from` (clamped to the oldest held) into
    /// `out`; returns the number of bytes copied and the next position.
    pub fn read(&self, from: u64, out: &mut [u8]) -> (usize, u64) {
        let mut pos = from.max(self.oldest());
        let mut n = 0;
        while pos < self.prod && n < out.len() {
            out[n] = self.buf[(pos % CONRING_SIZE as u64) as usize];
            n += 1;
            pos += 1;
        }
        (n, pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    #[test]
    fn keeps_the_newest_bytes() {
        let mut r = Box::new(Conring::new());
        r.write(b"hello ");
        let mut out = [0u8; 64];
        let (n, next) = r.read(0, &mut out);
        assert_eq!(&out[..n], b"hello ");
        assert_eq!(next, 6);
        for _ in 0..CONRING_SIZE {
            r.write(b"x");
        }
        r.write(b"end");
        let (n, _) = r.read(0, &mut out[..4]);
        assert_eq!(&out[..n], b"xxxx");
        let (n, next) = r.read(r.produced() - 3, &mut out);
        assert_eq!(&out[..n], b"end");
        assert_eq!(next, r.produced());
    }

    #[test]
    fn readconsole_incremental_and_clear() {
        let mut r = Box::new(Conring::new());
        r.write(b"one two");
        let mut out = [0u8; 4];
        let (n, idx) = r.read_console(true, 0, &mut out, false);
        assert_eq!((&out[..n], idx), (&b"one "[..], 4));
        let (n, idx) = r.read_console(true, idx, &mut out, false);
        assert_eq!((&out[..n], idx), (&b"two"[..], 7));
        let (n, _) = r.read_console(true, idx, &mut out, true);
        assert_eq!(n, 0);
        r.write(b"!");
        let (n, _) = r.read_console(false, 0, &mut out, false);
        assert_eq!(&out[..n], b"!", "cleared: only what came after");
    }
}
