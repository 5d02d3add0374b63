//! The transcript a test kernel prints: `TRANSCRIPT BEGIN <name>`, one fact
//! a line as `key: value`, then `TRANSCRIPT END`.
//!
//! Facts whose value legitimately differs between hypervisors (addresses,
//! sizes that follow from the memory layout) are printed with a `~ ` prefix:
//! a differential test then compares only their keys. Everything the ABI
//! fixes is printed plain and must match Xen 4.17 exactly. The harness side
//! is `qemu_tests::transcript`.

use core::fmt::Display;
use core::sync::atomic::{AtomicBool, Ordering};

/// First line of a transcript (the kernel's name follows).
pub const BEGIN: &str = "TRANSCRIPT BEGIN";
/// Last line of a transcript.
pub const END: &str = "TRANSCRIPT END";

/// Whether a transcript is open (so a panic can close it).
static OPEN: AtomicBool = AtomicBool::new(false);

/// An open transcript; [`Transcript::end`] closes it.
pub struct Transcript {
    _open: (),
}

impl Transcript {
    /// Print `TRANSCRIPT BEGIN <name>`.
    pub fn begin(name: &str) -> Self {
        crate::println!("{BEGIN} {name}");
        OPEN.store(true, Ordering::Relaxed);
        Self { _open: () }
    }

    /// A fact the ABI fixes: `key: value`.
    pub fn fact(&mut self, key: &str, value: impl Display) {
        crate::println!("{key}: {value}");
    }

    /// An implementation-specific fact: `~ key: value`.
    pub fn specific(&mut self, key: &str, value: impl Display) {
        crate::println!("~ {key}: {value}");
    }

    /// Print `TRANSCRIPT END`.
    pub fn end(self) {
        close();
    }
}

/// Print `TRANSCRIPT END` if a transcript is open (used after a panic, so
/// that the harness stops at once instead of waiting for its timeout).
pub fn close() {
    if OPEN.swap(false, Ordering::Relaxed) {
        crate::println!("{END}");
    }
}
