//! Displaying hypercall results as transcript values: the value on
//! success, `-N (ENAME)` on failure.

use core::fmt;

use crate::hypercall::{check, XenResult};

/// A hypercall result as a transcript value.
pub struct Show(pub XenResult);

impl fmt::Display for Show {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(v) => write!(f, "{v}"),
            Err(e) => write!(f, "{e}"),
        }
    }
}

/// Show a hypercall result.
pub fn show(r: XenResult) -> Show {
    Show(r)
}

/// Show a raw return value (`rax`).
pub fn show_raw(ret: i64) -> Show {
    Show(check(ret))
}
