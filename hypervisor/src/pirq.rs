//! Physical interrupts of the hardware domain (Xen's pirqs), as logic:
//! which GSI each of dom0's pirqs names (`PHYSDEVOP_map_pirq`), how each
//! GSI is triggered (`PHYSDEVOP_setup_gsi`, or the MADT for ISA IRQs),
//! which event-channel port it raises (`EVTCHNOP_bind_pirq`), and the
//! in-flight state of level-triggered ones between the interrupt (the pin
//! is masked) and dom0's `PHYSDEVOP_eoi` (the pin is unmasked again), as
//! Xen's "unmask" acknowledgement type does. Edge-triggered interrupts need
//! no EOI from the guest.
//!
//! The hardware edge (IO-APIC pins, vectors) is in `crate::irq`.

use alloc::vec::Vec;

/// GSIs handled (IO-APIC inputs); vectors are assigned one per GSI.
pub const NR_GSIS: u32 = 128;
/// pirqs a domain may use.
pub const NR_PIRQS: u32 = 512;

/// Why a pirq operation failed (Xen's errno in the comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PirqError {
    /// Bad GSI or pirq (`EINVAL`).
    Invalid,
    /// The GSI is the hypervisor's own (`EPERM`).
    Denied,
    /// Mapped or bound already (`EEXIST` / `EBUSY`).
    Busy,
    /// No free pirq (`ENOSPC`).
    NoSpace,
}

/// One GSI's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gsi {
    /// Reserved by the hypervisor (its timer, its serial port).
    pub reserved: bool,
    /// Trigger and polarity are known (`setup_gsi`, or an ISA default).
    pub configured: bool,
    /// Level-triggered.
    pub level: bool,
    /// Active low.
    pub active_low: bool,
    /// The (domain, pirq) it is mapped to.
    pub owner: Option<(u16, u32)>,
    /// The event-channel port it raises (bound).
    pub port: Option<u32>,
    /// A level interrupt awaiting the guest's EOI (pin masked).
    pub in_flight: bool,
}

/// What the interrupt of a GSI asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Domain to notify.
    pub domid: u16,
    /// Its port.
    pub port: u32,
    /// Mask the pin until the guest's EOI.
    pub mask: bool,
}

/// The GSI table and every domain's pirq → GSI map.
pub struct PirqTable {
    gsis: Vec<Gsi>,
    /// (domid, pirq) → GSI.
    map: Vec<(u16, u32, u32)>,
}

impl Default for PirqTable {
    fn default() -> Self {
        Self::new()
    }
}

impl PirqTable {
    /// All GSIs unconfigured and unmapped.
    pub fn new() -> Self {
        Self { gsis: alloc::vec![Gsi::default(); NR_GSIS as usize], map: Vec::new() }
    }

    /// A GSI's state.
    pub fn gsi(&self, gsi: u32) -> Option<&Gsi> {
        self.gsis.get(gsi as usize)
    }

    /// Keep `gsi` for the hypervisor (no domain may map it).
    pub fn reserve(&mut self, gsi: u32) {
        if let Some(g) = self.gsis.get_mut(gsi as usize) {
            g.reserved = true;
        }
    }

    /// Set a GSI's trigger and polarity. Refused once it is bound (Xen:
    /// the IRQ is in use).
    pub fn setup(&mut self, gsi: u32, level: bool, active_low: bool) -> Result<(), PirqError> {
        let g = self.gsis.get_mut(gsi as usize).ok_or(PirqError::Invalid)?;
        if g.port.is_some() {
            return Err(PirqError::Busy);
        }
        g.configured = true;
        g.level = level;
        g.active_low = active_low;
        Ok(())
    }

    /// The GSI `pirq` of `domid` names.
    pub fn gsi_of(&self, domid: u16, pirq: u32) -> Option<u32> {
        self.map.iter().find(|&&(d, p, _)| d == domid && p == pirq).map(|&(_, _, g)| g)
    }

    /// A pirq not mapped in `domid`, above the GSI range (MSI-style).
    pub fn free_pirq(&self, domid: u16) -> Result<u32, PirqError> {
        (NR_GSIS..NR_PIRQS).find(|&p| self.gsi_of(domid, p).is_none()).ok_or(PirqError::NoSpace)
    }

    /// Map `gsi` to `domid`'s `pirq` (or, with `None`, to the pirq of the
    /// same number when free, else any free one). Mapping the same pair
    /// again is fine; a GSI mapped elsewhere or a pirq in use is `Busy`.
    pub fn map(&mut self, domid: u16, gsi: u32, pirq: Option<u32>) -> Result<u32, PirqError> {
        let g = *self.gsis.get(gsi as usize).ok_or(PirqError::Invalid)?;
        if g.reserved {
            return Err(PirqError::Denied);
        }
        let pirq = match pirq {
            Some(p) if p >= NR_PIRQS => return Err(PirqError::Invalid),
            Some(p) => p,
            None if self.gsi_of(domid, gsi).is_none() && g.owner.is_none() => gsi,
            None => g.owner.filter(|o| o.0 == domid).map_or_else(|| self.free_pirq(domid), |o| Ok(o.1))?,
        };
        match (g.owner, self.gsi_of(domid, pirq)) {
            (Some(o), Some(mapped)) if o == (domid, pirq) && mapped == gsi => return Ok(pirq),
            (Some(_), _) | (None, Some(_)) => return Err(PirqError::Busy),
            (None, None) => {}
        }
        self.gsis[gsi as usize].owner = Some((domid, pirq));
        self.map.push((domid, pirq, gsi));
        Ok(pirq)
    }

    /// Unmap `domid`'s `pirq`; returns the GSI (to mask) if it was bound.
    pub fn unmap(&mut self, domid: u16, pirq: u32) -> Result<Option<u32>, PirqError> {
        let gsi = self.gsi_of(domid, pirq).ok_or(PirqError::Invalid)?;
        self.map.retain(|&(d, p, _)| !(d == domid && p == pirq));
        let g = &mut self.gsis[gsi as usize];
        let was_bound = g.port.take().is_some();
        g.owner = None;
        g.in_flight = false;
        Ok(was_bound.then_some(gsi))
    }

    /// Bind `domid`'s `pirq` to `port`; returns the GSI (to unmask).
    pub fn bind(&mut self, domid: u16, pirq: u32, port: u32) -> Result<u32, PirqError> {
        let gsi = self.gsi_of(domid, pirq).ok_or(PirqError::Invalid)?;
        let g = &mut self.gsis[gsi as usize];
        if g.port.is_some() {
            return Err(PirqError::Busy);
        }
        g.port = Some(port);
        g.in_flight = false;
        Ok(gsi)
    }

    /// Unbind `domid`'s `pirq` (its port closed); returns the GSI (to mask).
    pub fn unbind(&mut self, domid: u16, pirq: u32) -> Option<u32> {
        let gsi = self.gsi_of(domid, pirq)?;
        let g = &mut self.gsis[gsi as usize];
        g.port = None;
        g.in_flight = false;
        Some(gsi)
    }

    /// The interrupt of `gsi` arrived: where to send it, and whether to
    /// mask the pin until the guest's EOI.
    pub fn interrupt(&mut self, gsi: u32) -> Option<Delivery> {
        let g = self.gsis.get_mut(gsi as usize)?;
        let ((domid, _), port) = (g.owner?, g.port?);
        if g.level {
            g.in_flight = true;
        }
        Some(Delivery { domid, port, mask: g.level })
    }

    /// The guest's EOI of `pirq`: the GSI to unmask, if one was in flight.
    pub fn eoi(&mut self, domid: u16, pirq: u32) -> Result<Option<u32>, PirqError> {
        let gsi = self.gsi_of(domid, pirq).ok_or(PirqError::Invalid)?;
        let g = &mut self.gsis[gsi as usize];
        Ok(core::mem::take(&mut g.in_flight).then_some(gsi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_bind_interrupt_eoi() {
        let mut t = PirqTable::new();
        t.reserve(4);
        assert_eq!(t.map(0, 4, Some(4)), Err(PirqError::Denied));
        assert_eq!(t.map(0, 200, None), Err(PirqError::Invalid));
        assert_eq!(t.map(0, 9, Some(9)), Ok(9));
        assert_eq!(t.map(0, 9, Some(9)), Ok(9), "the same mapping again");
        assert_eq!(t.map(0, 10, Some(9)), Err(PirqError::Busy), "pirq in use");
        assert_eq!(t.map(0, 11, None), Ok(11));
        t.setup(9, true, true).unwrap();
        assert_eq!(t.interrupt(9), None, "not bound: dropped");
        assert_eq!(t.bind(0, 9, 7), Ok(9));
        assert_eq!(t.bind(0, 9, 8), Err(PirqError::Busy));
        assert_eq!(t.setup(9, false, false), Err(PirqError::Busy));
        assert!(t.gsi(9).unwrap().level);
        assert_eq!(t.interrupt(9), Some(Delivery { domid: 0, port: 7, mask: true }));
        assert_eq!(t.eoi(0, 9), Ok(Some(9)));
        assert_eq!(t.eoi(0, 9), Ok(None), "nothing in flight");
        assert_eq!(t.unmap(0, 9), Ok(Some(9)));
        assert_eq!(t.eoi(0, 9), Err(PirqError::Invalid));
    }

    #[test]
    fn edge_needs_no_eoi_and_free_pirqs_are_above_gsis() {
        let mut t = PirqTable::new();
        t.setup(1, false, false).unwrap();
        t.map(0, 1, Some(1)).unwrap();
        t.bind(0, 1, 3).unwrap();
        assert_eq!(t.interrupt(1), Some(Delivery { domid: 0, port: 3, mask: false }));
        assert_eq!(t.eoi(0, 1), Ok(None));
        assert_eq!(t.free_pirq(0), Ok(NR_GSIS));
    }
}
