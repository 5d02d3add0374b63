//! PCI configuration space through ports 0xcf8/0xcfc for the hardware
//! domain, as Xen gives it: a 32-bit access to 0xcf8 reads or writes the
//! domain's own copy of the address register, and accesses to
//! 0xcfc-0xcff reach the configuration space it selects (the real address
//! register is written under a lock just before, so the hypervisor's own
//! configuration accesses never interleave with the domain's).

use crate::sync::Mutex;
use x86_64::instructions::port::Port;

use crate::domain::Domain;

const PCI_CONF_ADDRESS: u16 = 0xcf8;
const PCI_CONF_DATA: u16 = 0xcfc;
/// The enable bit of the address register.
const CF8_ENABLE: u32 = 1 << 31;

/// Serialises use of the real address/data pair.
static CONF: Mutex<()> = Mutex::new(());

/// Whether `(port, bytes)` is a configuration access handled here.
pub fn handles(port: u16, bytes: u16) -> bool {
    (port == PCI_CONF_ADDRESS && bytes == 4) || (port & !3) == PCI_CONF_DATA
}

/// Read `bytes` at `port` (one of [`handles`]'s).
pub fn read(d: &Domain, port: u16, bytes: u16) -> u32 {
    if port == PCI_CONF_ADDRESS {
        return d.state.lock().pci_cf8;
    }
    let cf8 = d.state.lock().pci_cf8;
    if cf8 & CF8_ENABLE == 0 {
        return !0;
    }
    let _g = CONF.lock();
    // SAFETY: the PCI configuration mechanism #1 ports, used only under
    // `CONF`; the hardware domain may read any configuration register.
    unsafe {
        Port::<u32>::new(PCI_CONF_ADDRESS).write(cf8);
        let data = PCI_CONF_DATA + (port & 3);
        match bytes {
            1 => u32::from(Port::<u8>::new(data).read()),
            2 => u32::from(Port::<u16>::new(data).read()),
            _ => Port::<u32>::new(data).read(),
        }
    }
}

/// Write `bytes` of `value` at `port` (one of [`handles`]'s).
pub fn write(d: &Domain, port: u16, bytes: u16, value: u32) {
    if port == PCI_CONF_ADDRESS {
        d.state.lock().pci_cf8 = value;
        return;
    }
    let cf8 = d.state.lock().pci_cf8;
    if cf8 & CF8_ENABLE == 0 {
        return;
    }
    let _g = CONF.lock();
    // SAFETY: as in `read`; the hardware domain owns PCI configuration.
    unsafe {
        Port::<u32>::new(PCI_CONF_ADDRESS).write(cf8);
        let data = PCI_CONF_DATA + (port & 3);
        match bytes {
            1 => Port::<u8>::new(data).write(value as u8),
            2 => Port::<u16>::new(data).write(value as u16),
            _ => Port::<u32>::new(data).write(value),
        }
    }
}

/// The PCI devices the hardware domain reported (`PHYSDEVOP_pci_device_add`
/// and the older `manage_pci_*`), by segment, bus and devfn. Xen keeps
/// them for passthrough and MSI; here they are the record of what exists.
static DEVICES: Mutex<alloc::vec::Vec<(u16, u8, u8)>> = Mutex::new(alloc::vec::Vec::new());

/// Vendor ID of a segment-0 device read through mechanism #1.
fn vendor_id(bus: u8, devfn: u8) -> u16 {
    let _g = CONF.lock();
    let addr = CF8_ENABLE | (u32::from(bus) << 16) | (u32::from(devfn) << 8);
    // SAFETY: configuration mechanism #1 under `CONF`; reading a vendor ID
    // has no side effects.
    unsafe {
        Port::<u32>::new(PCI_CONF_ADDRESS).write(addr);
        Port::<u16>::new(PCI_CONF_DATA).read()
    }
}

/// Record a device; `Err(())` when no such device answers (`ENODEV`).
pub fn device_add(seg: u16, bus: u8, devfn: u8) -> Result<(), ()> {
    if seg != 0 || vendor_id(bus, devfn) == 0xffff {
        return Err(());
    }
    let mut list = DEVICES.lock();
    if !list.contains(&(seg, bus, devfn)) {
        list.push((seg, bus, devfn));
    }
    Ok(())
}

/// Forget a device; `Err(())` when it was not recorded (`ENODEV`).
pub fn device_remove(seg: u16, bus: u8, devfn: u8) -> Result<(), ()> {
    let mut list = DEVICES.lock();
    let before = list.len();
    list.retain(|&d| d != (seg, bus, devfn));
    if list.len() == before { Err(()) } else { Ok(()) }
}
