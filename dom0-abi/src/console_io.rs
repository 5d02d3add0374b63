//! Sub-commands of `HYPERVISOR_console_io`, through which a guest writes to
//! (and dom0 reads from) the hypervisor's own console.

/// Write `count` bytes from the buffer to the console.
pub const CONSOLEIO_write: u32 = 0;
/// Read up to `count` bytes of console input (dom0 only).
pub const CONSOLEIO_read: u32 = 1;

xen_enum! {
    /// A `console_io` command (C: `CONSOLEIO_*`).
    pub enum ConsoleIoCmd: u32 {
        /// `CONSOLEIO_write`.
        Write = CONSOLEIO_write,
        /// `CONSOLEIO_read`.
        Read = CONSOLEIO_read,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(ConsoleIoCmd::try_from(0u64), Ok(ConsoleIoCmd::Write));
        assert!(ConsoleIoCmd::try_from(2u32).is_err());
    }
}
