//! Console output through `CONSOLEIO_write`.
//!
//! [`LineWriter`] collects formatted text in a stack buffer and hands whole
//! lines to the hypervisor, so a line is one hypercall and is less likely to
//! be cut by the hypervisor's own messages. [`print!`] and [`println!`]
//! format through it.

use core::fmt::{self, Write};

use crate::hypercall::console_write;

/// Buffer size of a [`LineWriter`]; longer lines are written in pieces.
pub const LINE_BUFFER: usize = 256;

/// Formatting sink that writes to a byte sink one line (or a full buffer)
/// at a time.
pub struct LineWriter<F: FnMut(&[u8])> {
    buf: [u8; LINE_BUFFER],
    len: usize,
    sink: F,
}

impl<F: FnMut(&[u8])> LineWriter<F> {
    /// A writer that passes its output to `sink`.
    pub fn new(sink: F) -> Self {
        Self { buf: [0; LINE_BUFFER], len: 0, sink }
    }

    /// Hand what is buffered to the sink.
    pub fn flush(&mut self) {
        if self.len > 0 {
            (self.sink)(&self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl<F: FnMut(&[u8])> Write for LineWriter<F> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == LINE_BUFFER {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
            if b == b'\n' {
                self.flush();
            }
        }
        Ok(())
    }
}

impl<F: FnMut(&[u8])> Drop for LineWriter<F> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Write raw bytes to the console (errors are ignored: there is nowhere
/// else to report them).
pub fn write_bytes(bytes: &[u8]) {
    let _ = console_write(bytes);
}

/// Format `args` to the console.
pub fn print_fmt(args: fmt::Arguments<'_>) {
    let mut w = LineWriter::new(write_bytes);
    let _ = w.write_fmt(args);
}

/// Print to the hypervisor console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::print_fmt(format_args!($($arg)*)) };
}

/// Print a line to the hypervisor console.
#[macro_export]
macro_rules! println {
    () => { $crate::console::print_fmt(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::print_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_lines() {
        let mut calls: Vec<Vec<u8>> = Vec::new();
        {
            let mut w = LineWriter::new(|b: &[u8]| calls.push(b.to_vec()));
            write!(w, "a: {}\nb", 1).unwrap();
            writeln!(w, ": {}", 2).unwrap();
            write!(w, "tail").unwrap();
        }
        assert_eq!(calls, vec![b"a: 1\n".to_vec(), b"b: 2\n".to_vec(), b"tail".to_vec()]);
    }

    #[test]
    fn long_lines_are_split() {
        let mut total = 0;
        let mut pieces = 0;
        {
            let mut w = LineWriter::new(|b: &[u8]| {
                total += b.len();
                pieces += 1;
            });
            for _ in 0..300 {
                w.write_str("x").unwrap();
            }
        }
        assert_eq!((total, pieces), (300, 2));
    }
}
