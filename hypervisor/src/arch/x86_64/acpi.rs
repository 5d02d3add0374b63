//! ACPI tables through the `acpi` crate: the MADT (CPUs, APIC IDs, IOAPICs)
//! and the FADT (PM1 control blocks, with the S5 sleep type from the DSDT)
//! for power-off.

use alloc::vec::Vec;
use core::ptr::NonNull;

use acpi::address::AddressSpace;
use acpi::fadt::Fadt;
use acpi::madt::{Madt, MadtEntry};
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};

use super::paging::maddr_to_virt;
use crate::acpi_s5::{find_s5, SleepType};

/// Maps ACPI tables through the direct map.
#[derive(Clone, Copy)]
pub struct DirectMapHandler;

impl AcpiHandler for DirectMapHandler {
    unsafe fn map_physical_region<T>(&self, physical_address: usize, size: usize) -> PhysicalMapping<Self, T> {
        let va = maddr_to_virt(physical_address as u64) as *mut T;
        // SAFETY: the direct map covers all RAM and the low 4 GiB where
        // firmware places ACPI tables; the pointer is never null.
        unsafe {
            PhysicalMapping::new(physical_address, NonNull::new_unchecked(va), size, size, *self)
        }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// One processor from the MADT.
#[derive(Clone, Copy, Debug)]
pub struct AcpiCpu {
    /// ACPI processor UID.
    pub acpi_id: u32,
    /// Local APIC ID.
    pub apic_id: u32,
}

/// One IOAPIC from the MADT.
#[derive(Clone, Copy, Debug)]
pub struct AcpiIoApic {
    /// IOAPIC ID.
    pub id: u8,
    /// MMIO base.
    pub address: u32,
    /// First global system interrupt it serves.
    pub gsi_base: u32,
}

/// An ISA interrupt source override from the MADT.
#[derive(Clone, Copy, Debug)]
pub struct IsaOverride {
    /// ISA IRQ.
    pub irq: u8,
    /// The GSI it arrives on.
    pub gsi: u32,
    /// MPS INTI flags (polarity in bits 0-1, trigger in bits 2-3).
    pub flags: u16,
}

/// What the hypervisor takes from ACPI.
#[derive(Debug, Default)]
pub struct Platform {
    /// Enabled processors.
    pub cpus: Vec<AcpiCpu>,
    /// IOAPICs.
    pub ioapics: Vec<AcpiIoApic>,
    /// ISA interrupt source overrides.
    pub isa_overrides: Vec<IsaOverride>,
    /// PM1a control block I/O port.
    pub pm1a_cnt: Option<u16>,
    /// PM1b control block I/O port.
    pub pm1b_cnt: Option<u16>,
    /// S5 sleep type.
    pub s5: Option<SleepType>,
}

/// Where the boot loader said the root table is.
#[derive(Clone, Copy, Debug)]
pub enum RootTable {
    /// ACPI 1.0 RSDT at this address.
    Rsdt(u64),
    /// ACPI 2.0+ XSDT at this address.
    Xsdt(u64),
}

/// ACPI could not be read.
#[derive(Debug)]
pub struct AcpiFailure(pub acpi::AcpiError);

/// Read the MADT and FADT.
pub fn parse(root: RootTable) -> Result<Platform, AcpiFailure> {
    let (revision, address) = match root {
        RootTable::Rsdt(a) => (0, a),
        RootTable::Xsdt(a) => (2, a),
    };
    // SAFETY: the address comes from the RSDP the boot loader copied; the
    // handler maps through the direct map.
    let tables = unsafe { AcpiTables::from_rsdt(DirectMapHandler, revision, address as usize) }
        .map_err(AcpiFailure)?;
    let mut platform = Platform::default();
    if let Ok(madt) = tables.find_table::<Madt>() {
        for entry in madt.get().entries() {
            match entry {
                MadtEntry::LocalApic(e) if e.flags & 1 != 0 => platform
                    .cpus
                    .push(AcpiCpu { acpi_id: u32::from(e.processor_id), apic_id: u32::from(e.apic_id) }),
                MadtEntry::LocalX2Apic(e) if e.flags & 1 != 0 => {
                    platform.cpus.push(AcpiCpu { acpi_id: e.processor_uid, apic_id: e.x2apic_id })
                }
                MadtEntry::InterruptSourceOverride(e) if e.bus == 0 => platform.isa_overrides.push(IsaOverride {
                    irq: e.irq,
                    gsi: e.global_system_interrupt,
                    flags: e.flags,
                }),
                MadtEntry::IoApic(e) => platform.ioapics.push(AcpiIoApic {
                    id: e.io_apic_id,
                    address: e.io_apic_address,
                    gsi_base: e.global_system_interrupt_base,
                }),
                _ => {}
            }
        }
    }
    if let Ok(fadt) = tables.find_table::<Fadt>() {
        let port = |a: acpi::address::GenericAddress| {
            (a.address_space == AddressSpace::SystemIo && a.address != 0).then_some(a.address as u16)
        };
        platform.pm1a_cnt = fadt.pm1a_control_block().ok().and_then(port);
        platform.pm1b_cnt = fadt.pm1b_control_block().ok().flatten().and_then(port);
    }
    if let Ok(dsdt) = tables.dsdt() {
        // SAFETY: the DSDT body lies in firmware-reserved memory covered by
        // the direct map; we only read it.
        let aml = unsafe {
            core::slice::from_raw_parts(maddr_to_virt(dsdt.address as u64) as *const u8, dsdt.length as usize)
        };
        platform.s5 = find_s5(aml);
    }
    Ok(platform)
}

impl Platform {
    /// The GSI, level trigger and active-low polarity of ISA IRQ `irq`:
    /// an override if the MADT has one (MPS flags: polarity 3 = low,
    /// trigger 3 = level), else the ISA default (same number, edge, high).
    pub fn isa_gsi(&self, irq: u32) -> (u32, bool, bool) {
        match self.isa_overrides.iter().find(|o| u32::from(o.irq) == irq) {
            Some(o) => (o.gsi, (o.flags >> 2) & 3 == 3, o.flags & 3 == 3),
            None => (irq, false, false),
        }
    }
}
