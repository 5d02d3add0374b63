//! The CMOS real-time clock, read once at boot for the wallclock.

use x86_64::instructions::port::Port;

fn read(reg: u8) -> u8 {
    let mut index: Port<u8> = Port::new(0x70);
    let mut data: Port<u8> = Port::new(0x71);
    // SAFETY: the standard CMOS index/data ports; NMIs stay enabled (bit 7
    // clear) and only clock registers are read.
    unsafe {
        index.write(reg & 0x7f);
        data.read()
    }
}

/// The RTC's date and time (UTC): year, month, day, hour, minute, second.
pub fn now() -> (u64, u64, u64, u64, u64, u64) {
    // Wait for a moment outside an update, and read until stable.
    let snapshot = || {
        while read(0x0a) & 0x80 != 0 {
            core::hint::spin_loop();
        }
        [read(0x00), read(0x02), read(0x04), read(0x07), read(0x08), read(0x09), read(0x32)]
    };
    let mut a = snapshot();
    loop {
        let b = snapshot();
        if a == b {
            break;
        }
        a = b;
    }
    let status_b = read(0x0b);
    let bcd = |v: u8| if status_b & 0x04 == 0 { u64::from((v & 0x0f) + (v >> 4) * 10) } else { u64::from(v) };
    let hour_raw = a[2];
    let mut hour = bcd(hour_raw & 0x7f);
    if status_b & 0x02 == 0 && hour_raw & 0x80 != 0 {
        hour = (hour % 12) + 12; // 12-hour mode, PM
    }
    let century = if a[6] != 0 { bcd(a[6]) } else { 20 };
    (century * 100 + bcd(a[5]), bcd(a[4]), bcd(a[3]), hour, bcd(a[1]), bcd(a[0]))
}
