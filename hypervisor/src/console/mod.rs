//! The hypervisor console: serial output, the console ring, and the `log`
//! backend. Every line the hypervisor prints starts with `(XEN) `, the
//! prefix Xen users and tools look for.

pub mod conring;
#[cfg(not(test))]
pub mod input;
#[cfg(not(test))]
pub mod serial;

use core::fmt::{self, Write};
use crate::sync::Mutex;

use conring::Conring;

/// Line prefix of hypervisor messages.
pub const PREFIX: &str = "(XEN) ";

/// The console state behind one lock.
pub struct Console {
    ring: Conring,
    at_line_start: bool,
    serial_enabled: bool,
}

/// The one console.
pub static CONSOLE: Mutex<Console> =
    Mutex::new(Console { ring: Conring::new(), at_line_start: true, serial_enabled: false });

impl Console {
    fn emit(&mut self, bytes: &[u8]) {
        self.ring.write(bytes);
        if self.serial_enabled {
            #[cfg(not(test))]
            serial::write(bytes);
        }
    }

    /// Write hypervisor text, prefixing each line.
    pub fn write_prefixed(&mut self, s: &str) {
        for piece in s.split_inclusive('\n') {
            if self.at_line_start {
                self.emit(PREFIX.as_bytes());
            }
            self.emit(piece.as_bytes());
            self.at_line_start = piece.ends_with('\n');
        }
    }

    /// Write guest text as it is (dom0's `console_io` output): to the
    /// serial port only, not the console ring, as Xen does without
    /// `console_to_ring`. The hypervisor's own lines keep their prefix
    /// whatever the guest printed (as Xen's do), so that they can be told
    /// apart also when they cut a guest line in two.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        if self.serial_enabled && !bytes.is_empty() {
            #[cfg(not(test))]
            serial::write(bytes);
        }
    }

    /// The console ring, for `readconsole`.
    pub fn ring(&self) -> &Conring {
        &self.ring
    }

    /// The console ring, for `readconsole` with `clear`.
    pub fn ring_mut(&mut self) -> &mut Conring {
        &mut self.ring
    }
}

struct Prefixed<'a>(&'a mut Console);

impl Write for Prefixed<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_prefixed(s);
        Ok(())
    }
}

/// Run formatting code (which uses SSE in the precompiled `core::fmt`)
/// without disturbing the interrupted FPU state.
fn formatting<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(not(test))]
    return crate::arch::x86_64::fpu::with_guest_fpu_saved(f);
    #[cfg(test)]
    f()
}

/// Print formatted hypervisor text under the console lock.
pub fn print(args: fmt::Arguments<'_>) {
    formatting(|| {
        let mut console = CONSOLE.lock();
        let _ = Prefixed(&mut console).write_fmt(args);
    })
}

/// Print from a context that may have interrupted a holder of the console
/// lock (the fatal-exception path): takes the lock if it can, else writes
/// around it.
pub fn print_emergency(args: fmt::Arguments<'_>) {
    formatting(|| print_emergency_unguarded(args))
}

fn print_emergency_unguarded(args: fmt::Arguments<'_>) {
    match CONSOLE.try_lock() {
        Some(mut c) => {
            let _ = Prefixed(&mut c).write_fmt(args);
        }
        None => {
            // SAFETY: we only get here when the lock holder was interrupted
            // on this CPU by a fatal exception and will never resume, or
            // another CPU holds it; interleaved output is acceptable for a
            // last-gasp dump.
            unsafe { CONSOLE.force_unlock() };
            let mut c = CONSOLE.lock();
            let _ = Prefixed(&mut c).write_fmt(args);
        }
    }
}

/// `printk!`: hypervisor console output regardless of the log level.
#[macro_export]
macro_rules! printk {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

/// Turn serial output on (after the UART is initialised) or off.
pub fn set_serial(enabled: bool) {
    CONSOLE.lock().serial_enabled = enabled;
}

/// The `log` backend: level-filtered messages on the console.
pub struct Logger;

/// The logger instance registered with `log`.
pub static LOGGER: Logger = Logger;

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let tag = match record.level() {
            log::Level::Error => "ERROR: ",
            log::Level::Warn => "WARNING: ",
            log::Level::Info => "",
            log::Level::Debug => "DEBUG: ",
            log::Level::Trace => "TRACE: ",
        };
        print(format_args!("{tag}{}\n", record.args()));
    }

    fn flush(&self) {}
}

/// Register the logger with the given maximum level.
pub fn init_logger(level: log::LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
