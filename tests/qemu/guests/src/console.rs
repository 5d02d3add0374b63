//! Console output: through `CONSOLEIO_write` for dom0 (and before
//! [`init`]), through the console ring for a domU.
//!
//! A domU's console is the `xencons_interface` page named by
//! `start_info.console.domU` (machine frame and event channel): the guest
//! produces into `out`, advances `out_prod` and notifies the backend with
//! `EVTCHNOP_send`; the backend (xenconsoled in dom0) consumes. [`init`]
//! finds the page in the initial mapping (by its PFN in the p2m list) and
//! switches the console to it when start_info says the domain is
//! unprivileged.
//!
//! [`LineWriter`] collects formatted text in a stack buffer and hands whole
//! lines to the hypervisor, so a line is one hypercall and is less likely to
//! be cut by the hypervisor's own messages. [`print!`] and [`println!`]
//! format through it.

use core::fmt::{self, Write};
use core::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

use dom0_abi::event_channel::{EvtchnSend, EVTCHNOP_send};
use dom0_abi::hypercall::{HYPERVISOR_event_channel_op, HYPERVISOR_sched_op};
use dom0_abi::io::console::{XenconsInterface, XENCONS_IN_SIZE, XENCONS_OUT_SIZE};
use dom0_abi::sched::SCHEDOP_yield;
use dom0_abi::xen::{SIF_INITDOMAIN, SIF_PRIVILEGED};

use crate::hypercall::{console_write, raw};
use crate::StartInfo;

/// Virtual address of the console ring page (0: use `CONSOLEIO_write`).
static RING: AtomicU64 = AtomicU64::new(0);
/// Event channel of the console ring.
static PORT: AtomicU32 = AtomicU32::new(0);

/// Virtual base of the test kernels' initial mapping (PFN 0).
const VIRT_BASE: u64 = 0xffff_ffff_8000_0000;

/// The PFN whose p2m entry is `mfn`, among `p2m`.
pub fn pfn_of(p2m: &[u64], mfn: u64) -> Option<u64> {
    p2m.iter().position(|&m| m == mfn).map(|p| p as u64)
}

/// Where the console goes: the ring for a domU, the hypervisor's console
/// for dom0.
pub fn is_domu(si: &StartInfo) -> bool {
    si.flags & (SIF_INITDOMAIN | SIF_PRIVILEGED) == 0
}

/// Switch the console to the ring of `start_info.console.domU` when the
/// domain is a domU (no-op for dom0). Returns whether the ring is in use.
pub fn init(si: &StartInfo) -> bool {
    if !is_domu(si) {
        return false;
    }
    // SAFETY: the console union holds `domU` for unprivileged domains.
    let (mfn, port) = unsafe { (si.console.domU.mfn, si.console.domU.evtchn) };
    // SAFETY: `mfn_list` maps `nr_pages` p2m entries (the PV ABI).
    let p2m = unsafe { core::slice::from_raw_parts(si.mfn_list as *const u64, si.nr_pages as usize) };
    let Some(pfn) = pfn_of(p2m, mfn) else { return false };
    PORT.store(port, Ordering::Relaxed);
    RING.store(VIRT_BASE + pfn * 4096, Ordering::Release);
    true
}

/// `EVTCHNOP_send` on `port` (errors ignored: nothing to report them to).
pub fn evtchn_send(port: u32) {
    let arg = EvtchnSend { port };
    // SAFETY: the argument is a live `evtchn_send`.
    unsafe { raw(HYPERVISOR_event_channel_op, EVTCHNOP_send.into(), core::ptr::addr_of!(arg) as u64, 0, 0, 0) };
}

/// `SCHEDOP_yield`: give the CPU away once.
pub fn sched_yield() {
    // SAFETY: SCHEDOP_yield takes no argument.
    unsafe { raw(HYPERVISOR_sched_op, SCHEDOP_yield.into(), 0, 0, 0, 0) };
}

/// Ring indexes as the guest sees them: where to write the next output
/// byte, given the backend's consumer index. Returns how many of `len`
/// bytes fit now.
pub fn out_space(prod: u32, cons: u32) -> usize {
    XENCONS_OUT_SIZE - (prod.wrapping_sub(cons) as usize).min(XENCONS_OUT_SIZE)
}

/// Put `bytes` into the out ring at `ring`, waiting (yielding) while it is
/// full, and notify the backend after each chunk.
fn ring_write(ring: *mut XenconsInterface, port: u32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `ring` is the mapped console page; the backend changes
        // `out_cons` concurrently, hence volatile.
        let (prod, cons) = unsafe {
            (core::ptr::addr_of!((*ring).out_prod).read_volatile(), core::ptr::addr_of!((*ring).out_cons).read_volatile())
        };
        let space = out_space(prod, cons);
        if space == 0 {
            evtchn_send(port);
            sched_yield();
            continue;
        }
        let n = space.min(bytes.len());
        for (i, &b) in bytes[..n].iter().enumerate() {
            let at = (prod as usize + i) % XENCONS_OUT_SIZE;
            // SAFETY: `at` is inside `out`.
            unsafe { core::ptr::addr_of_mut!((*ring).out[at]).write_volatile(b) };
        }
        fence(Ordering::Release);
        // SAFETY: as above; only the guest writes `out_prod`.
        unsafe { core::ptr::addr_of_mut!((*ring).out_prod).write_volatile(prod.wrapping_add(n as u32)) };
        evtchn_send(port);
        bytes = &bytes[n..];
    }
}

/// Bytes the backend put into the in ring, up to `out.len()`; returns how
/// many were read (0 before [`init`] or with nothing pending).
pub fn read_input(out: &mut [u8]) -> usize {
    let ring = RING.load(Ordering::Acquire) as *mut XenconsInterface;
    if ring.is_null() {
        return 0;
    }
    // SAFETY: as in `ring_write`; the backend writes `in_prod`.
    let (cons, prod) = unsafe {
        (core::ptr::addr_of!((*ring).in_cons).read_volatile(), core::ptr::addr_of!((*ring).in_prod).read_volatile())
    };
    fence(Ordering::Acquire);
    let n = (prod.wrapping_sub(cons) as usize).min(XENCONS_IN_SIZE).min(out.len());
    for (i, b) in out[..n].iter_mut().enumerate() {
        // SAFETY: the index is inside `in`.
        *b = unsafe { core::ptr::addr_of!((*ring).r#in[(cons as usize + i) % XENCONS_IN_SIZE]).read_volatile() };
    }
    fence(Ordering::Release);
    // SAFETY: only the guest writes `in_cons`.
    unsafe { core::ptr::addr_of_mut!((*ring).in_cons).write_volatile(cons.wrapping_add(n as u32)) };
    if n > 0 {
        evtchn_send(PORT.load(Ordering::Relaxed));
    }
    n
}

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
    let ring = RING.load(Ordering::Acquire) as *mut XenconsInterface;
    if ring.is_null() {
        let _ = console_write(bytes);
    } else {
        ring_write(ring, PORT.load(Ordering::Relaxed), bytes);
    }
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
    fn ring_space_and_pfn_lookup() {
        assert_eq!(out_space(0, 0), XENCONS_OUT_SIZE);
        assert_eq!(out_space(10, 4), XENCONS_OUT_SIZE - 6);
        assert_eq!(out_space(2048, 0), 0);
        // Wrapped indexes.
        assert_eq!(out_space(3, u32::MAX - 2), XENCONS_OUT_SIZE - 6);
        assert_eq!(pfn_of(&[7, 9, 11], 11), Some(2));
        assert_eq!(pfn_of(&[7, 9, 11], 8), None);
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
