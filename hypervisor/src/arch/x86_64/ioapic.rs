//! The IO-APICs: their registers, reached through the uncached direct map
//! of device memory, behind one lock.

use alloc::vec::Vec;
use crate::sync::Mutex;

use super::paging::maddr_to_virt;

/// An IO-APIC: its MMIO base and first GSI.
#[derive(Clone, Copy, Debug)]
pub struct IoApic {
    /// Physical base of its register window.
    pub base: u64,
    /// First global system interrupt it serves.
    pub gsi_base: u32,
}

static IOAPICS: Mutex<Vec<IoApic>> = Mutex::new(Vec::new());

/// Register the IO-APICs found in the MADT.
pub fn init(list: Vec<IoApic>) {
    *IOAPICS.lock() = list;
}

/// Index register (IOREGSEL) and data window (IOWIN) offsets.
const IOREGSEL: u64 = 0x00;
const IOWIN: u64 = 0x10;

fn access<R>(base: u64, f: impl FnOnce(*mut u32, *mut u32) -> R) -> Option<R> {
    let list = IOAPICS.lock();
    list.iter().find(|a| a.base == base)?;
    let va = maddr_to_virt(base);
    Some(f((va + IOREGSEL) as *mut u32, (va + IOWIN) as *mut u32))
}

/// Read register `reg` of the IO-APIC at `base`; `None` when no IO-APIC is
/// there.
pub fn read(base: u64, reg: u32) -> Option<u32> {
    access(base, |sel, win| {
        // SAFETY: an IO-APIC's register window, mapped uncached; the lock
        // keeps the select/data pair atomic.
        unsafe {
            sel.write_volatile(reg);
            win.read_volatile()
        }
    })
}

/// Write register `reg` of the IO-APIC at `base`; false when no IO-APIC is
/// there.
pub fn write(base: u64, reg: u32, value: u32) -> bool {
    access(base, |sel, win| {
        // SAFETY: as in `read`.
        unsafe {
            sel.write_volatile(reg);
            win.write_volatile(value);
        }
    })
    .is_some()
}

/// The IO-APIC serving `gsi` and the pin on it.
pub fn pin_of(gsi: u32) -> Option<(u64, u32)> {
    let list = IOAPICS.lock();
    let mut best: Option<&IoApic> = None;
    for a in list.iter().filter(|a| a.gsi_base <= gsi) {
        if best.is_none_or(|b| a.gsi_base > b.gsi_base) {
            best = Some(a);
        }
    }
    best.map(|a| (a.base, gsi - a.gsi_base))
}

/// Program the redirection entry of `gsi`: fixed delivery of `vector` to
/// the CPU with APIC ID `dest` (physical mode), trigger and polarity as
/// given, unmasked. False when no IO-APIC serves `gsi`.
pub fn route(gsi: u32, vector: u8, dest: u32, level: bool, active_low: bool) -> bool {
    route_masked(gsi, vector, dest, level, active_low, false)
}

/// [`route`], masked or not.
pub fn route_masked(gsi: u32, vector: u8, dest: u32, level: bool, active_low: bool, masked: bool) -> bool {
    let Some((base, pin)) = pin_of(gsi) else { return false };
    let mut low = u32::from(vector);
    if masked {
        low |= 1 << 16;
    }
    if active_low {
        low |= 1 << 13;
    }
    if level {
        low |= 1 << 15;
    }
    let reg = 0x10 + 2 * pin;
    write(base, reg + 1, (dest & 0xff) << 24) && write(base, reg, low)
}

/// Mask or unmask `gsi`'s pin, leaving the rest of its entry.
pub fn set_masked(gsi: u32, masked: bool) -> bool {
    let Some((base, pin)) = pin_of(gsi) else { return false };
    let reg = 0x10 + 2 * pin;
    let Some(low) = read(base, reg) else { return false };
    let low = if masked { low | (1 << 16) } else { low & !(1 << 16) };
    write(base, reg, low)
}
