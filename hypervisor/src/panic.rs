//! The panic handler: a panic is a hypervisor bug, so print where and halt.

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    crate::console::print_emergency(format_args!("Panic: {info}\n"));
    crate::arch::x86_64::halt_forever()
}

/// Referenced by the precompiled `alloc`'s landing pads; with `panic=abort`
/// no unwinding ever starts, so this is unreachable.
#[unsafe(no_mangle)]
extern "C" fn _Unwind_Resume() -> ! {
    crate::console::print_emergency(format_args!("Panic: _Unwind_Resume reached\n"));
    crate::arch::x86_64::halt_forever()
}

/// Personality routine symbol the precompiled `alloc` refers to; never
/// called since nothing unwinds.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}
