//! Power control: ACPI S5 power-off through PM1a/PM1b_CNT, and reboot
//! through the keyboard controller.

use spin::Once;
use x86_64::instructions::port::Port;

use crate::acpi_s5::SleepType;

/// What the FADT/DSDT told us about soft-off.
#[derive(Clone, Copy, Debug)]
pub struct PowerInfo {
    /// PM1a control port.
    pub pm1a_cnt: Option<u16>,
    /// PM1b control port.
    pub pm1b_cnt: Option<u16>,
    /// S5 sleep types.
    pub s5: Option<SleepType>,
}

static POWER: Once<PowerInfo> = Once::new();

const SLP_EN: u16 = 1 << 13;

/// Record the ACPI power-off method.
pub fn init(info: PowerInfo) {
    POWER.call_once(|| info);
}

/// Turn the machine off; halts if ACPI gave no way to do it.
pub fn power_off() -> ! {
    if let Some(PowerInfo { pm1a_cnt: Some(a), pm1b_cnt, s5: Some(s5) }) = POWER.get().copied() {
        // SAFETY: PM1x_CNT are the ACPI fixed-hardware control ports the
        // FADT names; writing SLP_TYP|SLP_EN enters S5.
        unsafe {
            Port::<u16>::new(a).write((u16::from(s5.a) << 10) | SLP_EN);
            if let Some(b) = pm1b_cnt {
                Port::<u16>::new(b).write((u16::from(s5.b) << 10) | SLP_EN);
            }
        }
        super::apic::udelay(100_000);
    }
    log::error!("ACPI power-off unavailable or failed; halting");
    super::halt_forever()
}

/// Reset the machine.
pub fn reboot() -> ! {
    // SAFETY: 0xfe on the keyboard controller's command port pulses the
    // CPU reset line.
    unsafe { Port::<u8>::new(0x64).write(0xfe) };
    super::apic::udelay(100_000);
    log::error!("reboot through the keyboard controller failed; halting");
    super::halt_forever()
}
