//! Panics: print `PANIC: <message> (<location>)`, close the transcript so
//! the harness stops at once, and shut down with `SHUTDOWN_crash`.

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    match info.location() {
        Some(at) => crate::println!("PANIC: {} ({}:{})", info.message(), at.file(), at.line()),
        None => crate::println!("PANIC: {}", info.message()),
    }
    crate::transcript::close();
    crate::start::crash()
}

/// The personality routine the precompiled `core` refers to from its
/// unwind tables; with `panic=abort` nothing unwinds, so it never runs.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}
