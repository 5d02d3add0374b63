//! The legacy 8254 PIT, used once at boot as the reference clock that
//! calibrates the TSC and the local APIC timer.

use x86_64::instructions::port::Port;

/// PIT input clock in Hz.
pub const PIT_HZ: u64 = 1_193_182;

/// Busy-wait `ms` milliseconds (at most 50) on PIT channel 2, calling
/// `start` right after the count is loaded and returning `stop()`'s value
/// taken the moment it expires.
pub fn measure<T>(ms: u64, start: impl FnOnce(), stop: impl FnOnce() -> T) -> T {
    let count = (PIT_HZ * ms.min(50) / 1000) as u16;
    let mut ctrl: Port<u8> = Port::new(0x61);
    let mut cmd: Port<u8> = Port::new(0x43);
    let mut ch2: Port<u8> = Port::new(0x42);
    // SAFETY: ports 0x42/0x43/0x61 are the PIT channel 2 and its gate; the
    // hypervisor owns them during boot.
    unsafe {
        let v = ctrl.read();
        ctrl.write((v & !0x02) | 0x01); // gate on, speaker off
        cmd.write(0xb0); // channel 2, lo/hi byte, mode 0, binary
        ch2.write(count as u8);
        ch2.write((count >> 8) as u8);
        start();
        while ctrl.read() & 0x20 == 0 {
            core::hint::spin_loop();
        }
    }
    stop()
}
