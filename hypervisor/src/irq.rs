//! Physical interrupts at the hardware edge: each GSI gets its own vector
//! (`VECTOR_BASE + gsi`) and an IO-APIC redirection entry aimed at the boot
//! CPU; the interrupt masks a level-triggered pin until dom0's EOI, and the
//! event is raised in dom0 where the vCPU is not otherwise borrowed
//! ([`deliver`]). The bookkeeping is [`crate::pirq`]'s.
//!
//! Lock order: the pirq table, then a domain's event-channel table.

use core::sync::atomic::{AtomicU64, Ordering};
use crate::sync::Mutex;

use crate::arch::x86_64::{apic, ioapic};
use crate::pirq::{PirqTable, NR_GSIS};

/// Vector of GSI 0.
pub const VECTOR_BASE: u32 = 0x40;

static TABLE: Mutex<Option<PirqTable>> = Mutex::new(None);
/// GSIs whose interrupt is waiting to be raised in its domain.
static PENDING: [AtomicU64; (NR_GSIS / 64) as usize] = [const { AtomicU64::new(0) }; (NR_GSIS / 64) as usize];
/// APIC ID interrupts are sent to.
static DEST: AtomicU64 = AtomicU64::new(0);

/// Set up the table: ISA IRQs with their MADT trigger and polarity,
/// `reserved` GSIs kept for the hypervisor.
pub fn init(isa: impl Fn(u32) -> (u32, bool, bool), reserved: &[u32], dest_apic: u32) {
    let mut t = PirqTable::new();
    for irq in 0..16 {
        let (gsi, level, low) = isa(irq);
        let _ = t.setup(gsi, level, low);
    }
    for &g in reserved {
        t.reserve(g);
    }
    DEST.store(u64::from(dest_apic), Ordering::Relaxed);
    *TABLE.lock() = Some(t);
}

/// Run `f` on the table.
pub fn with<R>(f: impl FnOnce(&mut PirqTable) -> R) -> R {
    let mut g = TABLE.lock();
    f(g.get_or_insert_with(PirqTable::new))
}

/// Program `gsi`'s redirection entry from its table state, masked or not.
pub fn program(gsi: u32, masked: bool) -> bool {
    let Some(g) = with(|t| t.gsi(gsi).copied()) else { return false };
    let dest = DEST.load(Ordering::Relaxed) as u32;
    ioapic::route_masked(gsi, (VECTOR_BASE + gsi) as u8, dest, g.level, g.active_low, masked)
}

/// Whether `vector` is one of the GSI vectors.
pub fn is_gsi_vector(vector: u32) -> bool {
    (VECTOR_BASE..VECTOR_BASE + NR_GSIS).contains(&vector)
}

/// The interrupt of a GSI vector (interrupts masked).
pub fn interrupt(vector: u32) {
    let gsi = vector - VECTOR_BASE;
    if let Some(d) = with(|t| t.interrupt(gsi)) {
        if d.mask {
            ioapic::set_masked(gsi, true);
        }
        PENDING[(gsi / 64) as usize].fetch_or(1 << (gsi % 64), Ordering::AcqRel);
    }
    apic::eoi();
}

/// Raise the pending GSIs' events in their domains.
pub fn deliver() {
    for (w, word) in PENDING.iter().enumerate() {
        let mut bits = word.swap(0, Ordering::AcqRel);
        while bits != 0 {
            let gsi = w as u32 * 64 + bits.trailing_zeros();
            bits &= bits - 1;
            let target = with(|t| t.gsi(gsi).and_then(|g| Some((g.owner?.0, g.port?))));
            if let Some((domid, port)) = target {
                if let Some(d) = crate::domain::by_id(domid) {
                    crate::hypercall::event_channel::notify(d, port);
                }
            }
        }
    }
}

/// Set or clear `pirq`'s bit in `d`'s EOI bitmap, if it registered one:
/// set while the pirq is bound and needs `PHYSDEVOP_eoi` (level-triggered),
/// as Xen's `set_pirq_eoi`/`clear_pirq_eoi`.
pub fn set_eoi_bit(d: &crate::domain::Domain, pirq: u32, on: bool) {
    let mfn = d.pirq_eoi_mfn.load(Ordering::Acquire);
    if mfn == 0 || pirq >= 4096 * 8 {
        return;
    }
    let va = crate::arch::x86_64::paging::maddr_to_virt(mfn << 12) + u64::from(pirq / 64) * 8;
    // SAFETY: the domain's own frame, held writable while registered; an
    // aligned 64-bit word inside it, shared with the guest (atomic).
    let word = unsafe { &*(va as *const AtomicU64) };
    if on {
        word.fetch_or(1 << (pirq % 64), Ordering::AcqRel);
    } else {
        word.fetch_and(!(1 << (pirq % 64)), Ordering::AcqRel);
    }
}
