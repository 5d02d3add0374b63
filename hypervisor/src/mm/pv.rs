//! PV memory management: validated page-table updates.
//!
//! The rules (Xen's): a domain maps only frames it owns (a privileged
//! domain may also map device memory the hypervisor does not use); a frame
//! is validated as an Ln page table when first used as one, by taking a
//! reference on everything its entries map, and devalidated when the last
//! reference to that use goes; a page-table frame is never mapped writable;
//! superpages and disallowed flag bits are refused; the L4 slots of the
//! hypervisor's range are the hypervisor's. Linear page tables (an Ln
//! entry mapping an Ln page, read-only) are allowed as Xen allows them: a
//! self-map takes no reference; a map of another, already validated Ln
//! takes a reference of its type, and a page can either have such entries
//! or be mapped that way, never both, so no chain or loop can form.
//!
//! Present L1 entries are adjusted as Xen adjusts them for 64-bit PV: an
//! entry without the user bit is a guest-kernel page (user bit and the
//! software bit [`GUEST_KERNEL`] added), one with it a guest-user page
//! (global bit added); present L2–L4 entries get the user bit. Every guest change
//! of an entry goes through [`Mm::mod_entry`], which takes the references of
//! the new entry before dropping those of the old.
//!
//! Protection-key bits (59-62) of present L1 entries follow the table
//! owner's [`KeyMode`] (see [`super::log_dirty`]): a domain never in
//! log-dirty mode keeps what it writes there (Xen lets PV guests use bits
//! 52-62 as software bits, and runs them with CR4.PKE clear); in log-dirty
//! mode the hypervisor owns them, strips what the guest writes and arms
//! every present writable entry mapping one of the domain's own pages
//! (key 1, [`PKEY_ARMED`]); after a log-dirty period they stay stripped
//! (the guest may still write back a copy of an armed entry it read).
//! While a domain is in log-dirty mode every change of one of its page
//! tables, and every end of a writable use of one of its pages, is marked
//! dirty at once through [`Mm::mark`].
//!
//! The engine is generic over [`Memory`] (how entries are read and
//! written) so the host tests drive it against a fake machine.
//!
//! # Concurrency
//!
//! Any number of CPUs run the engine at once, each with its own [`Mm`]
//! handle over the shared frame table; nothing here takes a global lock.
//! References and types change as Xen changes `count_info` and
//! `type_info`, by compare-and-swap of a frame's whole word:
//! - [`Mm::get_page`] fails on a free frame, another owner, or overflow;
//!   the last [`Mm::put_page`] frees the frame (the caller gives it back to
//!   the allocator after the TLB-flush clock check).
//! - [`Mm::get_page_type`] changes a type only while its count is zero.
//!   The CPU that takes the first reference of a page-table or descriptor
//!   type holds the page unvalidated (its *validation claim*): it flushes
//!   stale TLBs, validates, and sets the validated bit; other getters of
//!   the type wait for that, getters of other types fail. A failed
//!   validation drops what it took and leaves the page untyped (waiters
//!   then try again, and validate it themselves).
//! - The last [`Mm::put_page_type`] of a page table clears the validated
//!   bit first (getters wait), drops the references of its entries, then
//!   the count.
//! - Entries of one table change under its page lock ([`Mm::page_lock`],
//!   Xen's `PGT_locked`): `mmu_update`, `update_va_mapping`, writable
//!   page-table emulation and grant maps of PTEs serialise per table.
//! - Linear page-table accounting is one signed count per page (entries
//!   positive, uses negative), changed atomically, so a page can never be
//!   both.
//!
//! The lock order these claims and page locks take part in is written in
//! [`crate::sync`].

use core::sync::atomic::{AtomicI32, Ordering};

use super::page::{pgc, pgt, type_bits, type_of, Owner, PageInfo, PageState, PageType};

/// Access to page-table entries in machine memory (shared by every CPU:
/// writes of one table's entries are serialised by its page lock).
pub trait Memory {
    /// Entry `index` of frame `mfn`.
    fn read(&self, mfn: u64, index: usize) -> u64;
    /// Set entry `index` of frame `mfn`.
    fn write(&self, mfn: u64, index: usize, value: u64);
    /// Replace entry `index` of frame `mfn` with `new` if it still holds
    /// `old` (atomically: the CPU may set accessed/dirty bits meanwhile);
    /// true when replaced.
    fn cmpxchg(&self, mfn: u64, index: usize, old: u64, new: u64) -> bool;
}

impl<T: Memory + ?Sized> Memory for &T {
    fn read(&self, mfn: u64, index: usize) -> u64 {
        (**self).read(mfn, index)
    }
    fn write(&self, mfn: u64, index: usize, value: u64) {
        (**self).write(mfn, index, value)
    }
    fn cmpxchg(&self, mfn: u64, index: usize, old: u64, new: u64) -> bool {
        (**self).cmpxchg(mfn, index, old, new)
    }
}

/// Protection-key bits of an L1 entry (bits 59-62).
pub const PKEY_MASK: u64 = 0xf << 59;
/// Key 1 in an L1 entry: armed for log-dirty tracking (writes fault while
/// PKRU.WD\[1\] is set).
pub const PKEY_ARMED: u64 = 1 << 59;

/// What happens to the protection-key bits of a domain's present L1
/// entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyMode {
    /// Never in log-dirty mode: the guest's bits are kept (as Xen keeps
    /// its software bits 52-62).
    Guest,
    /// Was in log-dirty mode: stripped.
    Strip,
    /// In log-dirty mode: stripped, and writable entries of its own pages
    /// armed.
    Arm,
}

/// `e` (a present or not L1 entry) with the key bits `mode` asks for;
/// `own`: it maps a RAM page of the table's owner.
pub fn l1_keys(e: u64, mode: KeyMode, own: bool) -> u64 {
    if e & P == 0 {
        return e; // a guest's own bits (swap entries, ...)
    }
    match mode {
        KeyMode::Guest => e,
        KeyMode::Strip => e & !PKEY_MASK,
        KeyMode::Arm if own && e & RW != 0 => (e & !PKEY_MASK) | PKEY_ARMED,
        KeyMode::Arm => e & !PKEY_MASK,
    }
}

/// Whether a present L1 entry is armed.
pub fn is_armed(e: u64) -> bool {
    e & P != 0 && e & PKEY_MASK == PKEY_ARMED
}

/// The result of [`Mm::disarm`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disarm {
    /// The entry was armed and is not any more (its page and the table
    /// were marked dirty first).
    Disarmed,
    /// Present, writable and not armed (another CPU disarmed it first,
    /// this one's TLB still had it armed).
    NotArmed,
    /// Not a present writable entry of this domain's own page.
    NotOurs,
}

/// How the engine learns and records log-dirty state (the machine's are
/// in [`super::log_dirty`]; the host tests bring their own).
#[derive(Clone, Copy)]
pub struct LogDirtyHooks {
    /// The key mode of a domain (by ID).
    pub key_mode: fn(u16) -> KeyMode,
    /// Mark frame `mfn` of domain `domid` (in log-dirty mode) dirty.
    pub mark: fn(u16, u64),
}

impl LogDirtyHooks {
    /// For engines that never see a domain in log-dirty mode.
    pub const NONE: Self = Self { key_mode: |_| KeyMode::Guest, mark: |_, _| {} };
}

/// Why an operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmError {
    /// No such frame, or not one the domain may use.
    BadFrame(u64),
    /// The frame is used as another type.
    TypeConflict(u64),
    /// Reserved or disallowed bits in an entry.
    BadFlags(u64),
    /// A superpage mapping.
    Superpage,
    /// An update of a hypervisor-owned L4 slot.
    HypervisorSlot,
    /// Already pinned.
    AlreadyPinned,
    /// Not pinned.
    NotPinned,
    /// A reference count would overflow.
    Overflow,
    /// A linear page-table entry that is writable, or would chain.
    BadLinear(u64),
    /// A frame that may not be mapped writable now (Xen: -EBUSY).
    Busy(u64),
    /// Device memory the domain may not map (Xen: -EPERM).
    NotPermitted(u64),
}

/// Present.
pub const P: u64 = 1 << 0;
/// Writable.
pub const RW: u64 = 1 << 1;
/// User.
pub const US: u64 = 1 << 2;
const PWT: u64 = 1 << 3;
const PCD: u64 = 1 << 4;
/// Accessed.
pub const A: u64 = 1 << 5;
/// Dirty.
pub const D: u64 = 1 << 6;
/// Superpage (PS) in L2/L3; PAT in L1.
pub const PSE: u64 = 1 << 7;
/// Frame address bits.
pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
/// Global.
pub const G: u64 = 1 << 8;
/// Xen's software bit marking a guest-kernel L1 mapping (bit 52).
pub const GUEST_KERNEL: u64 = 1 << 52;
/// Cache attributes in L1 entries, allowed only to domains with device
/// access.
const CACHE_ATTRS: u64 = PWT | PCD | PSE;
/// Flags refused in L2–L4 entries (superpages are refused separately).
const UPPER_DISALLOWED: u64 = PWT | PCD | G;

/// First L4 slot of the hypervisor's range (0xffff800000000000).
pub const HYPERVISOR_L4_FIRST: usize = 256;
/// One past the last hypervisor L4 slot (0xffff880000000000).
pub const HYPERVISOR_L4_END: usize = 272;

/// The domain an operation acts for.
#[derive(Clone, Copy, Debug)]
pub struct Actor {
    /// Domain ID (owner of the page tables).
    pub domid: u16,
    /// May map device memory and use cache attributes.
    pub privileged: bool,
    /// Owner of the frames L1 entries may map (Xen's `pg_owner`): the
    /// domain itself, or the foreign domain of a privileged
    /// `mmu_update` (how dom0 maps a guest's memory).
    pub pg_owner: u16,
}

impl Actor {
    /// Domain `domid` acting on its own frames.
    pub const fn own(domid: u16, privileged: bool) -> Self {
        Self { domid, privileged, pg_owner: domid }
    }
}

/// Flags whose change needs new references (presence, writability, frame).
fn significant(e: u64) -> u64 {
    e & (ADDR_MASK | P | RW)
}

/// The memory-management engine: the rules above over a shared frame
/// table and machine memory.
///
/// An `Mm` is a short-lived handle, one per operation and CPU: the frame
/// table itself is shared by every CPU and changed only through the atomic
/// words of each [`PageInfo`], so many CPUs run the engine at once without
/// a global lock.
pub struct Mm<'a, M: Memory> {
    /// One entry per machine frame.
    pub frames: &'a [PageInfo],
    /// Machine memory.
    pub mem: M,
    /// The hypervisor's L4 slots 256..272, copied into every guest L4.
    pub hv_l4: &'a [u64],
    /// Device frames no guest may map (local APIC, IOAPICs).
    pub reserved_io: &'a [u64],
    /// First frame beyond the CPU's physical address width.
    pub max_io_mfn: u64,
    /// Frames whose last reference this handle dropped (for the caller to
    /// free).
    pub freed: alloc::vec::Vec<u64>,
    /// Log-dirty mode's key modes and dirty marks.
    pub log_dirty: LogDirtyHooks,
}

impl<'a, M: Memory> Mm<'a, M> {
    fn page(&self, mfn: u64) -> Result<&'a PageInfo, MmError> {
        self.frames.get(mfn as usize).ok_or(MmError::BadFrame(mfn))
    }

    /// A copy of the state of `mfn`.
    pub fn info(&self, mfn: u64) -> Option<PageState> {
        self.frames.get(mfn as usize).map(PageInfo::snapshot)
    }

    /// The type `mfn` is used as now (none without type references).
    pub fn page_type(&self, mfn: u64) -> Option<PageType> {
        self.info(mfn).map(|p| p.ty)
    }

    /// The owner of `mfn` (device memory beyond the frame table).
    pub fn owner(&self, mfn: u64) -> Owner {
        self.frames.get(mfn as usize).map_or(Owner::Io, PageInfo::owner)
    }

    /// Take a general reference on a frame that has one already, whoever
    /// owns it (Xen's `get_page_light`).
    fn get_page_light(&self, mfn: u64) -> Result<&'a PageInfo, MmError> {
        let p = self.page(mfn)?;
        let mut x = p.count_info.load(Ordering::Acquire);
        loop {
            let c = x & pgc::COUNT_MASK;
            if c == 0 {
                return Err(MmError::BadFrame(mfn));
            }
            if c == pgc::COUNT_MASK {
                return Err(MmError::Overflow);
            }
            match p.count_info.compare_exchange_weak(x, x + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(p),
                Err(y) => x = y,
            }
        }
    }

    /// Take a general reference on `mfn` for `d`: refused when another
    /// domain owns it, it is free, or the count would overflow.
    pub fn get_page(&mut self, mfn: u64, d: u16) -> Result<(), MmError> {
        let p = self.page(mfn)?;
        if p.owner() != Owner::Domain(d) {
            return Err(MmError::BadFrame(mfn));
        }
        self.get_page_light(mfn)?;
        // The owner changes only while the count is zero: with the
        // reference held it is stable, but it may have changed between the
        // look above and the increment (freed and given to another).
        if p.owner() != Owner::Domain(d) {
            self.put_page(mfn);
            return Err(MmError::BadFrame(mfn));
        }
        Ok(())
    }

    /// Drop a general reference; the frame is freed with its last one.
    pub fn put_page(&mut self, mfn: u64) {
        let Ok(p) = self.page(mfn) else { return };
        let mut x = p.count_info.load(Ordering::Acquire);
        loop {
            if x & pgc::COUNT_MASK == 0 {
                log::error!("put_page of mfn {mfn:#x} without a reference");
                return;
            }
            match p.count_info.compare_exchange_weak(x, x - 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(y) => x = y,
            }
        }
        if (x - 1) & pgc::COUNT_MASK == 0 {
            // Nobody can take a reference now (a count of zero refuses
            // them): the frame is ours alone to reset and free.
            p.tlbflush_timestamp.store(super::tlbflush::now(), Ordering::Release);
            p.type_info.store(0, Ordering::Relaxed);
            p.linear_pt_count.store(0, Ordering::Relaxed);
            p.set_owner(Owner::Free);
            p.count_info.store(0, Ordering::Release);
            self.freed.push(mfn);
        }
    }

    /// Take a type reference of `ty` on `mfn`. A general reference must
    /// already be held.
    ///
    /// As Xen's `_get_page_type`: the type may change only while no
    /// reference needs it. The first getter of a type other than writable
    /// claims the page with a count of one and no validated bit (so other
    /// getters of that type wait, getters of others fail), flushes the
    /// CPUs that may still write it through a stale TLB entry, validates a
    /// page table (entries referenced), and sets the validated bit. A
    /// failed validation leaves the page untyped, holding nothing.
    pub fn get_page_type(&mut self, mfn: u64, ty: PageType, a: Actor) -> Result<(), MmError> {
        let p = self.page(mfn)?;
        let mut x = p.type_info.load(Ordering::Acquire);
        let nx = loop {
            let count = x & pgt::COUNT_MASK;
            if count == pgt::COUNT_MASK {
                return Err(MmError::Overflow);
            }
            let nx = if count == 0 {
                let done = if ty == PageType::Writable || ty == PageType::None { pgt::VALIDATED } else { 0 };
                (x & pgt::LOCKED) | type_bits(ty) | done | 1
            } else if type_of(x) != ty {
                return Err(MmError::TypeConflict(mfn));
            } else if x & pgt::VALIDATED == 0 {
                // Another CPU validates (or devalidates) it: wait for the
                // outcome, then try again.
                crate::sync::cpu_relax();
                x = p.type_info.load(Ordering::Acquire);
                continue;
            } else {
                x + 1
            };
            match p.type_info.compare_exchange_weak(x, nx, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break nx,
                Err(y) => x = y,
            }
        };
        if nx & pgt::VALIDATED != 0 {
            return Ok(());
        }
        // This CPU holds the validation: contents the guest must not write
        // from now on, so no CPU may keep a writable TLB entry from before
        // (Xen's flush on a type change, by the TLB-flush clock).
        super::tlbflush::flush_if_stale(p.tlbflush_timestamp.load(Ordering::Acquire));
        if let Some(level) = ty.level() {
            if let Err(e) = self.validate(mfn, level, a) {
                // Nobody else changes the word in this state.
                p.type_info.store(0, Ordering::Release);
                return Err(e);
            }
        }
        p.type_info.fetch_or(pgt::VALIDATED, Ordering::AcqRel);
        Ok(())
    }

    /// Drop a type reference; a page table is devalidated with its last
    /// (Xen's `_put_page_type`): the validated bit goes first, with the
    /// count still one, so that getters wait while its entries' references
    /// are dropped; then the count goes to zero.
    pub fn put_page_type(&mut self, mfn: u64) {
        let Ok(p) = self.page(mfn) else { return };
        let mut x = p.type_info.load(Ordering::Acquire);
        if type_of(x) == PageType::Writable && x & pgt::COUNT_MASK != 0 {
            // A writable use ends (a mapping, a grant, the hypervisor's
            // own): it may have written the page.
            self.note_written(p.owner(), mfn);
        }
        loop {
            let count = x & pgt::COUNT_MASK;
            if count == 0 {
                log::error!("put_page_type of mfn {mfn:#x} without a type reference");
                return;
            }
            let ty = type_of(x);
            if count > 1 {
                match p.type_info.compare_exchange_weak(x, x - 1, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => return,
                    Err(y) => x = y,
                }
                continue;
            }
            if let (Some(level), true) = (ty.level(), x & pgt::VALIDATED != 0) {
                let nx = x & !(pgt::VALIDATED | pgt::PINNED);
                if let Err(y) = p.type_info.compare_exchange(x, nx, Ordering::AcqRel, Ordering::Acquire) {
                    x = y;
                    continue;
                }
                self.devalidate(mfn, level);
                p.type_info.store(0, Ordering::Release);
                return;
            }
            // The last writable use ends now: stamp it before the type can
            // change (a new page-table use flushes by this stamp).
            if ty == PageType::Writable {
                p.tlbflush_timestamp.store(super::tlbflush::now(), Ordering::Release);
            }
            match p.type_info.compare_exchange_weak(x, 0, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(y) => x = y,
            }
        }
    }

    /// General and type reference together.
    pub fn get_page_and_type(&mut self, mfn: u64, ty: PageType, a: Actor) -> Result<(), MmError> {
        self.get_page(mfn, a.domid)?;
        if let Err(e) = self.get_page_type(mfn, ty, a) {
            self.put_page(mfn);
            return Err(e);
        }
        Ok(())
    }

    /// Drop a type and a general reference.
    pub fn put_page_and_type(&mut self, mfn: u64) {
        self.put_page_type(mfn);
        self.put_page(mfn);
    }

    /// Lock page table `mfn`, a validated `ty`, for changes of its entries
    /// (Xen's `page_lock`): one CPU at a time changes a table's entries.
    /// The lock holds a general and a type reference, so the table stays
    /// what it is until [`Mm::page_unlock`]. Fails (without waiting) when
    /// the page is not a validated `ty`.
    pub fn page_lock(&mut self, mfn: u64, ty: PageType) -> Result<(), MmError> {
        let p = self.get_page_light(mfn)?;
        let mut x = p.type_info.load(Ordering::Acquire);
        loop {
            if x & pgt::LOCKED != 0 {
                crate::sync::cpu_relax();
                x = p.type_info.load(Ordering::Acquire);
                continue;
            }
            let count = x & pgt::COUNT_MASK;
            if x & pgt::VALIDATED == 0 || count == 0 || count == pgt::COUNT_MASK || type_of(x) != ty {
                self.put_page(mfn);
                return Err(MmError::TypeConflict(mfn));
            }
            match p.type_info.compare_exchange_weak(x, (x + 1) | pgt::LOCKED, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(()),
                Err(y) => x = y,
            }
        }
    }

    /// Release the lock of [`Mm::page_lock`] and its references (the last
    /// type reference devalidates, as any other).
    pub fn page_unlock(&mut self, mfn: u64) {
        let Ok(p) = self.page(mfn) else { return };
        p.type_info.fetch_and(!pgt::LOCKED, Ordering::AcqRel);
        self.put_page_type(mfn);
        self.put_page(mfn);
    }

    fn is_guest_slot(level: u32, index: usize) -> bool {
        level != 4 || !(HYPERVISOR_L4_FIRST..HYPERVISOR_L4_END).contains(&index)
    }

    /// Adjust a present entry as Xen does for 64-bit PV guests.
    pub fn adjust(e: u64, level: u32) -> u64 {
        if e & P == 0 {
            e
        } else if level > 1 {
            e | US
        } else if e & US == 0 {
            e | US | GUEST_KERNEL
        } else if e & GUEST_KERNEL == 0 {
            e | G
        } else {
            e
        }
    }

    /// Check an entry of the level-`level` table `table` and take the
    /// references it needs; returns the entry as stored (adjusted).
    pub fn get_entry(&mut self, table: u64, e: u64, level: u32, a: Actor) -> Result<u64, MmError> {
        if e & P == 0 {
            return Ok(e);
        }
        let mfn = (e & ADDR_MASK) >> 12;
        if level == 1 {
            if e & CACHE_ATTRS != 0 && !a.privileged {
                return Err(MmError::BadFlags(e));
            }
            let owner = self.frames.get(mfn as usize).map(PageInfo::owner);
            match owner {
                None | Some(Owner::Io) => {
                    // Device memory: only for a privileged domain, below the
                    // CPU's physical address width, never the hypervisor's
                    // own devices; not reference counted.
                    if !a.privileged || mfn >= self.max_io_mfn || self.reserved_io.contains(&mfn) {
                        return Err(MmError::NotPermitted(mfn));
                    }
                }
                _ => {
                    // RAM the page owner does not own is busy (Xen: -EBUSY).
                    self.get_page(mfn, a.pg_owner).map_err(|_| MmError::Busy(mfn))?;
                    if e & RW != 0 && self.get_page_type(mfn, PageType::Writable, a).is_err() {
                        self.put_page(mfn);
                        return Err(MmError::Busy(mfn));
                    }
                }
            }
            return Ok(self.with_keys(Self::adjust(e, 1), a.domid));
        } else {
            if e & PSE != 0 {
                return Err(MmError::Superpage);
            }
            if e & UPPER_DISALLOWED != 0 {
                return Err(MmError::BadFlags(e));
            }
            let own = PageType::table(level);
            if mfn == table || self.page_type(mfn) == Some(own) {
                self.get_linear(table, mfn, e, level, a)?;
            } else {
                self.get_page_and_type(mfn, PageType::table(level - 1), a)?;
            }
        }
        Ok(Self::adjust(e, level))
    }

    /// A linear entry in `table` mapping `target` (of the same level): the
    /// target must be a validated table of that level without linear
    /// entries of its own, and `table` must not be mapped linearly itself.
    fn get_linear(&mut self, table: u64, target: u64, e: u64, level: u32, a: Actor) -> Result<(), MmError> {
        if e & RW != 0 {
            return Err(MmError::BadLinear(target));
        }
        if target == table {
            return Ok(()); // a self-map holds no reference
        }
        let pt = self.page(table)?;
        if pt.owner() != Owner::Domain(a.domid) {
            return Err(MmError::BadLinear(target));
        }
        let pg = self.page(target)?;
        if !inc_linear(&pt.linear_pt_count, 1) {
            return Err(MmError::BadLinear(target));
        }
        if !inc_linear(&pg.linear_pt_count, -1) {
            pt.linear_pt_count.fetch_sub(1, Ordering::AcqRel);
            return Err(MmError::BadLinear(target));
        }
        let undo = || {
            pt.linear_pt_count.fetch_sub(1, Ordering::AcqRel);
            pg.linear_pt_count.fetch_add(1, Ordering::AcqRel);
        };
        if let Err(e) = self.get_page(target, a.domid) {
            undo();
            return Err(e);
        }
        // A type reference only on a table already validated as `own`
        // (never waiting for a validation in progress).
        let own = type_bits(PageType::table(level));
        let mut x = pg.type_info.load(Ordering::Acquire);
        loop {
            let count = x & pgt::COUNT_MASK;
            if count == 0 || count == pgt::COUNT_MASK || x & (pgt::TYPE_MASK | pgt::VALIDATED) != own | pgt::VALIDATED {
                undo();
                self.put_page(target);
                return Err(MmError::BadLinear(target));
            }
            match pg.type_info.compare_exchange_weak(x, x + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(()),
                Err(y) => x = y,
            }
        }
    }

    /// Drop the references an entry of the level-`level` table `table`
    /// holds.
    pub fn put_entry(&mut self, table: u64, e: u64, level: u32) {
        if e & P == 0 {
            return;
        }
        let mfn = (e & ADDR_MASK) >> 12;
        if level == 1 {
            if !matches!(self.frames.get(mfn as usize).map(PageInfo::owner), Some(Owner::Domain(_))) {
                return;
            }
            if e & RW != 0 {
                self.put_page_type(mfn);
            }
            self.put_page(mfn);
        } else if mfn == table {
            // A self-map holds nothing.
        } else if self.page_type(mfn) == Some(PageType::table(level)) {
            // A linear entry: the type reference it holds keeps the type.
            if let Ok(p) = self.page(table) {
                p.linear_pt_count.fetch_sub(1, Ordering::AcqRel);
            }
            if let Ok(p) = self.page(mfn) {
                p.linear_pt_count.fetch_add(1, Ordering::AcqRel);
            }
            self.put_page_and_type(mfn);
        } else {
            self.put_page_and_type(mfn);
        }
    }

    /// Whether `mfn` is a RAM frame of domain `domid`.
    fn owned_by(&self, mfn: u64, domid: u16) -> bool {
        self.owner(mfn) == Owner::Domain(domid)
    }

    /// `e` (an adjusted L1 entry of a table of `domid`) with the key bits
    /// of `domid`'s mode.
    fn with_keys(&self, e: u64, domid: u16) -> u64 {
        let mode = (self.log_dirty.key_mode)(domid);
        if mode == KeyMode::Guest {
            return e;
        }
        l1_keys(e, mode, self.owned_by((e & ADDR_MASK) >> 12, domid))
    }

    /// Write the present or empty L1 entry `e` (checked and referenced by
    /// the caller, who holds the table's page lock: a grant mapping) into
    /// `table`, with the key bits of its owner's mode, marking the table.
    pub fn write_l1(&mut self, table: u64, index: usize, e: u64) {
        let stored = match self.owner(table) {
            Owner::Domain(d) => self.with_keys(e, d),
            _ => e,
        };
        self.note_changed(table);
        self.mem.write(table, index, stored);
    }

    /// Mark frame `mfn` of `owner` dirty if `owner` is in log-dirty mode:
    /// it may have been written behind the protection keys' back.
    fn note_written(&self, owner: Owner, mfn: u64) {
        if let Owner::Domain(d) = owner {
            if (self.log_dirty.key_mode)(d) == KeyMode::Arm {
                (self.log_dirty.mark)(d, mfn);
            }
        }
    }

    /// Mark frame `mfn` (a page table, a descriptor page) dirty when it
    /// changes in contents, type or pin state and its owner is in
    /// log-dirty mode (Xen marks a page dirty in each of these cases).
    pub fn note_changed(&self, mfn: u64) {
        self.note_written(self.owner(mfn), mfn);
    }

    /// Mark frame `mfn` of domain `domid` dirty (log-dirty mode: a page
    /// the hypervisor writes through its direct map).
    pub fn mark(&self, domid: u16, mfn: u64) {
        if self.owned_by(mfn, domid) {
            self.note_written(Owner::Domain(domid), mfn);
        }
    }

    /// Every validated L1 table of a domain `whose` accepts, each under its
    /// page lock while `f` runs on it.
    fn for_each_l1_locked(&mut self, whose: impl Fn(u16) -> bool, mut f: impl FnMut(&mut Self, u64)) {
        let wanted = |o: Owner| matches!(o, Owner::Domain(d) if whose(d));
        for table in 0..self.frames.len() as u64 {
            let p = &self.frames[table as usize];
            if !wanted(p.owner()) || type_of(p.type_info.load(Ordering::Relaxed)) != PageType::L1 {
                continue;
            }
            if self.page_lock(table, PageType::L1).is_err() {
                continue; // not (or no longer) a validated L1
            }
            if wanted(self.owner(table)) {
                f(self, table);
            }
            self.page_unlock(table);
        }
    }

    /// Rewrite every present L1 entry of every L1 table `domid` owns with
    /// `f(entry, own)` (`own`: it maps a RAM page of `domid`), atomically
    /// against the CPU's accessed/dirty updates; returns how many changed.
    pub fn rewrite_l1_entries(&mut self, domid: u16, f: impl Fn(u64, bool) -> u64) -> usize {
        let mut changed = 0;
        self.for_each_l1_locked(|d| d == domid, |m, table| {
            for i in 0..512 {
                loop {
                    let e = m.mem.read(table, i);
                    if e & P == 0 {
                        break;
                    }
                    let n = f(e, m.owned_by((e & ADDR_MASK) >> 12, domid));
                    if n == e {
                        break;
                    }
                    if m.mem.cmpxchg(table, i, e, n) {
                        changed += 1;
                        break;
                    }
                }
            }
        });
        changed
    }

    /// Mark every page of `domid` that an L1 table of another domain maps
    /// writable (a backend's grant mapping, the toolstack's foreign
    /// mapping of its rings); returns how many entries there were.
    pub fn note_foreign_writable(&mut self, domid: u16) -> usize {
        let mut found = 0;
        self.for_each_l1_locked(|d| d != domid, |m, table| {
            for i in 0..512 {
                let e = m.mem.read(table, i);
                if e & (P | RW) == (P | RW) && m.owned_by((e & ADDR_MASK) >> 12, domid) {
                    m.note_written(Owner::Domain(domid), (e & ADDR_MASK) >> 12);
                    found += 1;
                }
            }
        });
        found
    }

    /// Disarm entry `index` of L1 table `l1` of `domid` after a
    /// protection-key fault through it: the page it maps and the table are
    /// marked dirty *before* the entry is disarmed (an unarmed writable
    /// entry is always in the current dirty set, whatever runs between).
    pub fn disarm(&mut self, l1: u64, index: usize, domid: u16) -> Disarm {
        if !self.owned_by(l1, domid) || self.page_lock(l1, PageType::L1).is_err() {
            return Disarm::NotOurs;
        }
        let r = loop {
            let e = self.mem.read(l1, index);
            let target = (e & ADDR_MASK) >> 12;
            if e & (P | RW) != (P | RW) || !self.owned_by(l1, domid) || !self.owned_by(target, domid) {
                break Disarm::NotOurs;
            }
            if !is_armed(e) {
                break Disarm::NotArmed;
            }
            self.note_written(Owner::Domain(domid), target);
            self.note_written(Owner::Domain(domid), l1);
            if self.mem.cmpxchg(l1, index, e, e & !PKEY_MASK) {
                break Disarm::Disarmed;
            }
        };
        self.page_unlock(l1);
        r
    }

    fn validate(&mut self, mfn: u64, level: u32, a: Actor) -> Result<(), MmError> {
        self.note_changed(mfn);
        for i in 0..512 {
            if !Self::is_guest_slot(level, i) {
                self.mem.write(mfn, i, self.hv_l4[i - HYPERVISOR_L4_FIRST]);
                continue;
            }
            let e = self.mem.read(mfn, i);
            match self.get_entry(mfn, e, level, a) {
                Ok(stored) => {
                    if stored != e {
                        self.mem.write(mfn, i, stored);
                    }
                }
                Err(err) => {
                    for j in (0..i).filter(|&j| Self::is_guest_slot(level, j)) {
                        let e = self.mem.read(mfn, j);
                        self.put_entry(mfn, e, level);
                    }
                    return Err(err);
                }
            }
        }
        Ok(())
    }

    fn devalidate(&mut self, mfn: u64, level: u32) {
        self.note_changed(mfn);
        for i in (0..512).filter(|&i| Self::is_guest_slot(level, i)) {
            let e = self.mem.read(mfn, i);
            self.put_entry(mfn, e, level);
        }
    }

    /// Replace entry `index` of page table `table` (of `level`) with `new`,
    /// keeping the old accessed/dirty bits when `preserve_ad`.
    pub fn mod_entry(
        &mut self,
        table: u64,
        level: u32,
        index: usize,
        new: u64,
        preserve_ad: bool,
        a: Actor,
    ) -> Result<(), MmError> {
        self.mod_entry_with(table, level, index, a, |old| Some(if preserve_ad { new | (old & (A | D)) } else { new }))
    }

    /// Change entry `index` of page table `table` (of `level`) to what
    /// `f` makes of its current value (`None`: leave it), under the
    /// table's page lock, so that the value `f` sees is the one replaced.
    pub fn mod_entry_with(
        &mut self,
        table: u64,
        level: u32,
        index: usize,
        a: Actor,
        f: impl FnOnce(u64) -> Option<u64>,
    ) -> Result<(), MmError> {
        if !Self::is_guest_slot(level, index) {
            return Err(MmError::HypervisorSlot);
        }
        self.page_lock(table, PageType::table(level))?;
        let r = self.mod_entry_locked(table, level, index, a, f);
        self.page_unlock(table);
        r
    }

    fn mod_entry_locked(
        &mut self,
        table: u64,
        level: u32,
        index: usize,
        a: Actor,
        f: impl FnOnce(u64) -> Option<u64>,
    ) -> Result<(), MmError> {
        let old = self.mem.read(table, index);
        let Some(new) = f(old) else { return Ok(()) };
        self.note_changed(table);
        if new & P != 0 && old & P != 0 && significant(new) == significant(old) {
            // Same frame, same rights: only the other flags change. They
            // are still checked.
            if (level == 1 && new & CACHE_ATTRS != 0 && !a.privileged)
                || (level > 1 && new & (PSE | UPPER_DISALLOWED) != 0)
            {
                return Err(MmError::BadFlags(new));
            }
            let stored =
                if level == 1 { self.with_keys(Self::adjust(new, 1), a.domid) } else { Self::adjust(new, level) };
            self.mem.write(table, index, stored);
            return Ok(());
        }
        let stored = self.get_entry(table, new, level, a)?;
        self.mem.write(table, index, stored);
        self.put_entry(table, old, level);
        Ok(())
    }

    /// Pin `mfn` as a page table of type `ty`.
    pub fn pin(&mut self, mfn: u64, ty: PageType, a: Actor) -> Result<(), MmError> {
        self.get_page_and_type(mfn, ty, a)?;
        let p = self.page(mfn)?;
        if p.type_info.fetch_or(pgt::PINNED, Ordering::AcqRel) & pgt::PINNED != 0 {
            self.put_page_and_type(mfn);
            return Err(MmError::AlreadyPinned);
        }
        self.note_changed(mfn);
        Ok(())
    }

    /// Unpin `mfn`.
    pub fn unpin(&mut self, mfn: u64, a: Actor) -> Result<(), MmError> {
        let p = self.page(mfn)?;
        if p.owner() != Owner::Domain(a.domid) {
            return Err(MmError::BadFrame(mfn));
        }
        if p.type_info.fetch_and(!pgt::PINNED, Ordering::AcqRel) & pgt::PINNED == 0 {
            return Err(MmError::NotPinned);
        }
        self.note_changed(mfn);
        self.put_page_and_type(mfn);
        Ok(())
    }

    /// Drop the pin of `mfn` if it has one, whoever pinned it (a
    /// reservation given back, a domain destroyed); whether it had one.
    pub fn release_pin(&mut self, mfn: u64) -> bool {
        let Ok(p) = self.page(mfn) else { return false };
        if p.type_info.fetch_and(!pgt::PINNED, Ordering::AcqRel) & pgt::PINNED == 0 {
            return false;
        }
        self.put_page_and_type(mfn);
        true
    }

    /// Drop the owner's allocation reference of `mfn` if still held
    /// (Xen's `PGC_allocated` cleared); whether it was.
    pub fn release_allocation(&mut self, mfn: u64) -> bool {
        let Ok(p) = self.page(mfn) else { return false };
        if p.count_info.fetch_and(!pgc::ALLOCATED, Ordering::AcqRel) & pgc::ALLOCATED == 0 {
            return false;
        }
        self.put_page(mfn);
        true
    }
}

/// Move a linear page-table count one step away from zero in the
/// direction of `dir` (+1: one more linear entry; -1: one more linear
/// use), refused when it points the other way or would overflow.
fn inc_linear(count: &AtomicI32, dir: i32) -> bool {
    let mut x = count.load(Ordering::Acquire);
    loop {
        if x.signum() == -dir || x.checked_add(dir).is_none_or(|n| n.unsigned_abs() > u32::from(u16::MAX)) {
            return false;
        }
        match count.compare_exchange_weak(x, x + dir, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return true,
            Err(y) => x = y,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::vec;
    use std::vec::Vec;

    #[derive(Default)]
    struct FakeMem(std::sync::Mutex<HashMap<(u64, usize), u64>>);

    impl Memory for FakeMem {
        fn read(&self, mfn: u64, index: usize) -> u64 {
            *self.0.lock().unwrap().get(&(mfn, index)).unwrap_or(&0)
        }
        fn write(&self, mfn: u64, index: usize, value: u64) {
            self.0.lock().unwrap().insert((mfn, index), value);
        }
        fn cmpxchg(&self, mfn: u64, index: usize, old: u64, new: u64) -> bool {
            let mut m = self.0.lock().unwrap();
            let e = m.entry((mfn, index)).or_insert(0);
            let ok = *e == old;
            if ok {
                *e = new;
            }
            ok
        }
    }

    const DOM: Actor = Actor::own(1, false);
    const DOM0: Actor = Actor::own(0, true);

    fn machine(frames: usize, owned_by_1: std::ops::Range<u64>) -> Vec<PageInfo> {
        let f: Vec<PageInfo> = (0..frames).map(|_| PageInfo::default()).collect();
        for m in owned_by_1 {
            f[m as usize].assign(Owner::Domain(1), false);
        }
        f
    }

    fn mm<'a>(frames: &'a [PageInfo], hv: &'a [u64]) -> Mm<'a, FakeMem> {
        Mm {
            frames,
            mem: FakeMem::default(),
            hv_l4: hv,
            reserved_io: &[0xfee00],
            max_io_mfn: 1 << 28,
            freed: Vec::new(),
            log_dirty: LogDirtyHooks::NONE,
        }
    }

    fn pte(mfn: u64, flags: u64) -> u64 {
        (mfn << 12) | flags
    }

    const HV: [u64; 16] = [0xabc0_0003; 16];

    /// L4 (10) -> L3 (11) -> L2 (12) -> L1 (13) -> data 14 (rw), 15 (ro).
    fn address_space(m: &mut Mm<'_, FakeMem>) {
        m.mem.write(10, 0, pte(11, P | RW));
        m.mem.write(11, 0, pte(12, P | RW));
        m.mem.write(12, 0, pte(13, P | RW));
        m.mem.write(13, 0, pte(14, P | RW));
        m.mem.write(13, 1, pte(15, P));
        m.mem.write(13, 2, pte(13, P)); // the L1 maps itself read-only
    }

    #[test]
    fn pin_validates_and_unpin_releases() {
        let f = machine(32, 10..20);
        let mut m = mm(&f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        assert_eq!(m.info(10).unwrap().ty, PageType::L4);
        assert_eq!(m.info(13).unwrap().ty, PageType::L1);
        assert_eq!(m.info(14).unwrap().ty, PageType::Writable);
        assert_eq!(m.info(15).unwrap().ty, PageType::None);
        assert_eq!(m.info(13).unwrap().count, 3, "allocation + L2 entry + its own RO mapping");
        assert_eq!(m.mem.read(10, 256), HV[0], "hypervisor slots installed");
        assert_ne!(m.mem.read(13, 0) & US, 0, "user bit added");
        m.unpin(10, DOM).unwrap();
        for mfn in 10..16 {
            assert_eq!(m.info(mfn as u64).unwrap().ty, PageType::None, "frame {mfn} devalidated");
            assert_eq!(m.info(mfn as u64).unwrap().count, 1, "frame {mfn} back to its allocation reference");
        }
        assert_eq!(m.unpin(10, DOM), Err(MmError::NotPinned));
    }

    #[test]
    fn page_table_cannot_be_mapped_writable() {
        let f = machine(32, 10..20);
        let mut m = mm(&f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        // Map the L1 itself writable: refused, nothing changes.
        assert_eq!(m.mod_entry(13, 1, 3, pte(13, P | RW), false, DOM), Err(MmError::Busy(13)));
        assert_eq!(m.mem.read(13, 3), 0);
        // And the other way round: a writable page cannot become a table.
        assert_eq!(m.mod_entry(12, 2, 1, pte(14, P | RW), false, DOM), Err(MmError::TypeConflict(14)));
    }

    #[test]
    fn foreign_and_hypervisor_frames_are_refused() {
        let f = machine(32, 10..20);
        f[20].assign(Owner::Domain(2), false);
        f[21].set_owner(Owner::Xen);
        f[21].count_info.store(1, Ordering::Relaxed);
        f[22].set_owner(Owner::Io);
        let mut m = mm(&f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        assert_eq!(m.mod_entry(13, 1, 5, pte(20, P), false, DOM), Err(MmError::Busy(20)));
        assert_eq!(m.mod_entry(13, 1, 5, pte(21, P), false, DOM), Err(MmError::Busy(21)));
        // In an L2 entry, a frame not ours is simply invalid.
        assert_eq!(m.mod_entry(12, 2, 5, pte(21, P), false, DOM), Err(MmError::BadFrame(21)));
        assert_eq!(m.mod_entry(13, 1, 5, pte(22, P), false, DOM), Err(MmError::NotPermitted(22)));
        assert_eq!(m.mod_entry(13, 1, 5, pte(9999, P), false, DOM), Err(MmError::NotPermitted(9999)));
    }

    #[test]
    fn privileged_domain_maps_devices_but_not_the_apic() {
        let f = machine(32, 10..20);
        for p in &f[10..20] {
            p.assign(Owner::Domain(0), false);
        }
        let mut m = mm(&f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM0).unwrap();
        m.mod_entry(13, 1, 5, pte(0xb8, P | RW | PCD), false, DOM0).unwrap();
        assert_eq!(m.mod_entry(13, 1, 6, pte(0xfee00, P | RW), false, DOM0), Err(MmError::NotPermitted(0xfee00)));
        // Beyond the physical address width (bit 51 set): refused too.
        assert_eq!(m.mod_entry(13, 1, 6, pte(1 << 39, P), false, DOM0), Err(MmError::NotPermitted(1 << 39)));
    }

    #[test]
    fn superpages_reserved_bits_linear_tables_and_hypervisor_slots() {
        let f = machine(32, 10..20);
        let mut m = mm(&f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        assert_eq!(m.mod_entry(12, 2, 1, pte(16, P | PSE), false, DOM), Err(MmError::Superpage));
        // Software bits 52-62 are the guest's; cache attributes are not.
        m.mod_entry(13, 1, 5, pte(16, P) | (1 << 55), false, DOM).unwrap();
        assert!(matches!(m.mod_entry(13, 1, 6, pte(16, P | PCD), false, DOM), Err(MmError::BadFlags(_))));
        assert!(matches!(m.mod_entry(12, 2, 6, pte(17, P | PCD), false, DOM), Err(MmError::BadFlags(_))));
        // Linear page tables: read-only self-maps are fine and hold nothing;
        // writable ones are refused.
        m.mod_entry(10, 4, 1, pte(10, P), false, DOM).unwrap();
        assert_eq!(m.info(10).unwrap().type_count, 1);
        assert_eq!(m.mod_entry(10, 4, 2, pte(10, P | RW), false, DOM), Err(MmError::BadLinear(10)));
        m.mod_entry(10, 4, 1, 0, false, DOM).unwrap();
        // L2-as-L3 confusion: an L4 entry naming the L2 (it would be used
        // as an L3).
        assert_eq!(m.mod_entry(10, 4, 1, pte(12, P), false, DOM), Err(MmError::TypeConflict(12)));
        // A second reference of the right type is fine.
        m.mod_entry(11, 3, 1, pte(12, P), false, DOM).unwrap();
        assert_eq!(m.info(12).unwrap().type_count, 2);
        assert_eq!(m.mod_entry(10, 4, 256, 0, false, DOM), Err(MmError::HypervisorSlot));
        assert_eq!(m.mod_entry(12, 2, 1, pte(16, P | RW), false, DOM).map(|_| m.info(16).unwrap().ty), Ok(PageType::L1));
    }

    #[test]
    fn linear_maps_of_other_tables_cannot_chain() {
        let f = machine(40, 10..40);
        let mut m = mm(&f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        // A second validated L4 (30, empty) pinned.
        m.pin(30, PageType::L4, DOM).unwrap();
        // L4 10 maps L4 30 read-only: a type reference on 30.
        m.mod_entry(10, 4, 3, pte(30, P), false, DOM).unwrap();
        assert_eq!((m.info(30).unwrap().type_count, m.info(30).unwrap().linear_uses, m.info(10).unwrap().linear_entries), (2, 1, 1));
        // 30 is used linearly, so it may not get linear entries itself, and
        // 10 (which has some) may not be used linearly: no chains, no loops.
        assert_eq!(m.mod_entry(30, 4, 1, pte(10, P), false, DOM), Err(MmError::BadLinear(10)));
        m.pin(31, PageType::L4, DOM).unwrap();
        assert_eq!(m.mod_entry(31, 4, 1, pte(10, P), false, DOM), Err(MmError::BadLinear(10)));
        // Removing the entry gives everything back.
        m.mod_entry(10, 4, 3, 0, false, DOM).unwrap();
        assert_eq!((m.info(30).unwrap().type_count, m.info(30).unwrap().linear_uses, m.info(10).unwrap().linear_entries), (1, 0, 0));
    }

    #[test]
    fn mod_entry_moves_references() {
        let f = machine(32, 10..20);
        let mut m = mm(&f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        m.mod_entry(13, 1, 0, pte(16, P | RW), false, DOM).unwrap();
        assert_eq!(m.info(14).unwrap().ty, PageType::None, "old mapping dropped");
        assert_eq!(m.info(16).unwrap().ty, PageType::Writable);
        // Flag-only change keeps references; A/D preserved when asked.
        m.mem.write(13, 0, pte(16, P | RW | US | A | D));
        m.mod_entry(13, 1, 0, pte(16, P | RW | (1 << 9)), true, DOM).unwrap();
        // No user bit from the guest: a guest-kernel page.
        assert_eq!(m.mem.read(13, 0), pte(16, P | RW | US | A | D | (1 << 9) | GUEST_KERNEL));
        // With it: a user page, made global.
        m.mod_entry(13, 1, 0, pte(16, P | RW | US), false, DOM).unwrap();
        assert_eq!(m.mem.read(13, 0), pte(16, P | RW | US | G));
        assert_eq!(m.info(16).unwrap().type_count, 1);
        m.mod_entry(13, 1, 0, 0, false, DOM).unwrap();
        assert_eq!(m.info(16).unwrap().count, 1);
    }

    #[test]
    fn failed_validation_leaves_no_references() {
        let f = machine(32, 10..20);
        let mut m = mm(&f, &HV);
        address_space(&mut m);
        m.mem.write(13, 7, pte(25, P)); // frame 25 is not ours
        assert_eq!(m.pin(10, PageType::L4, DOM), Err(MmError::Busy(25)));
        for mfn in 10..20 {
            assert_eq!(m.info(mfn as u64).unwrap().count, 1, "frame {mfn}");
            assert_eq!(m.info(mfn as u64).unwrap().type_count, 0, "frame {mfn}");
        }
    }

    #[test]
    fn last_reference_frees() {
        let f = machine(32, 10..20);
        let mut m = mm(&f, &HV);
        m.get_page(14, 1).unwrap();
        assert!(m.release_allocation(14)); // the allocation reference
        assert!(!m.release_allocation(14));
        assert!(m.freed.is_empty());
        m.put_page(14);
        assert_eq!(m.freed, vec![14]);
        assert_eq!(m.info(14).unwrap().owner, Owner::Free);
    }

    // Concurrency: the engine on many threads at once, over one frame
    // table and one memory, as CPUs run it.

    const THREADS: usize = 8;

    fn handle<'a>(frames: &'a [PageInfo], mem: &'a FakeMem) -> Mm<'a, &'a FakeMem> {
        Mm {
            frames,
            mem,
            hv_l4: &HV,
            reserved_io: &[0xfee00],
            max_io_mfn: 1 << 28,
            freed: Vec::new(),
            log_dirty: LogDirtyHooks::NONE,
        }
    }

    /// Every frame of `range` holds only its allocation reference again.
    fn all_back(frames: &[PageInfo], range: std::ops::Range<u64>) {
        for mfn in range {
            let p = frames[mfn as usize].snapshot();
            assert_eq!((p.count, p.type_count, p.pinned, p.linear_entries, p.linear_uses), (1, 0, false, 0, 0), "frame {mfn}: {p:?}");
            assert!(p.allocated);
        }
    }

    /// Run `body(t, engine)` on [`THREADS`] threads at once, thread `t`
    /// with an engine handle of its own over `frames` and `mem`.
    fn race<'a>(frames: &'a [PageInfo], mem: &'a FakeMem, body: impl Fn(usize, &mut Mm<'a, &'a FakeMem>) + Sync) {
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let body = &body;
                s.spawn(move || body(t, &mut handle(frames, mem)));
            }
        });
    }

    fn shared_space(frames: &[PageInfo]) -> FakeMem {
        let mem = FakeMem::default();
        let m = handle(frames, &mem);
        m.mem.write(10, 0, pte(11, P | RW));
        m.mem.write(11, 0, pte(12, P | RW));
        m.mem.write(12, 0, pte(13, P | RW));
        m.mem.write(13, 0, pte(14, P | RW));
        m.mem.write(13, 1, pte(15, P));
        m.mem.write(13, 2, pte(13, P));
        mem
    }

    #[test]
    fn concurrent_pins_and_uses_of_one_table_validate_it_once() {
        let f = machine(40, 10..40);
        let mem = shared_space(&f);
        let pinned = std::sync::atomic::AtomicU32::new(0);
        race(&f, &mem, |t, m| {
            for _ in 0..60 {
                if t % 2 == 0 {
                    match m.pin(10, PageType::L4, DOM) {
                        Ok(()) => {
                            pinned.fetch_add(1, Ordering::Relaxed);
                            m.unpin(10, DOM).unwrap();
                        }
                        Err(e) => assert_eq!(e, MmError::AlreadyPinned),
                    }
                } else {
                    // A base-pointer use (as new_baseptr).
                    m.get_page_and_type(10, PageType::L4, DOM).unwrap();
                    let p = m.info(13).unwrap();
                    assert!(p.ty == PageType::L1 && p.validated, "the tree is validated under any holder: {p:?}");
                    m.put_page_and_type(10);
                }
            }
            assert!(m.freed.is_empty());
        });
        assert!(pinned.load(Ordering::Relaxed) > 0);
        all_back(&f, 10..40);
    }

    #[test]
    fn writable_and_page_table_uses_race_and_exactly_one_type_wins() {
        let f = machine(40, 10..40);
        let mem = FakeMem::default();
        let rounds = 200;
        let barrier = std::sync::Barrier::new(THREADS);
        let wins: Vec<std::sync::Mutex<Vec<PageType>>> = (0..rounds).map(|_| Default::default()).collect();
        race(&f, &mem, |t, m| {
            let ty = [PageType::Writable, PageType::L1, PageType::L2, PageType::SegDesc][t % 4];
            for w in wins.iter() {
                barrier.wait();
                let won = m.get_page_and_type(20, ty, DOM);
                if won.is_ok() {
                    w.lock().unwrap().push(ty);
                } else {
                    assert_eq!(won, Err(MmError::TypeConflict(20)));
                }
                barrier.wait();
                if won.is_ok() {
                    m.put_page_and_type(20);
                }
            }
        });
        for w in &wins {
            let w = w.lock().unwrap();
            assert!(!w.is_empty(), "someone wins each round");
            assert!(w.iter().all(|&t| t == w[0]), "one type per round: {w:?}");
        }
        all_back(&f, 10..40);
    }

    #[test]
    fn concurrent_entry_changes_of_one_table_are_serialised() {
        let f = machine(40, 10..40);
        let mem = shared_space(&f);
        handle(&f, &mem).pin(10, PageType::L4, DOM).unwrap();
        const STEP: u64 = 1 << 53; // a software bit field (53..61) as a counter
        let per = 40u64;
        race(&f, &mem, |t, m| {
            for i in 0..per {
                // Read-modify-write of one entry (as ptwr emulation).
                m.mod_entry_with(13, 1, 1, DOM, |old| Some(old + STEP)).unwrap();
                // Map and unmap frames in slots of its own, writable and
                // read-only, in the same table.
                let slot = 10 + t;
                let target = 20 + (i + t as u64) % 10;
                m.mod_entry(13, 1, slot, pte(target, P | if i % 2 == 0 { RW } else { 0 }), false, DOM).unwrap();
                m.mod_entry(13, 1, slot, 0, false, DOM).unwrap();
            }
        });
        let m = handle(&f, &mem);
        let counter = (m.mem.read(13, 1) >> 53) & 0x1ff;
        assert_eq!(counter, (THREADS as u64 * per) & 0x1ff, "no update lost");
        for mfn in 20..30 {
            assert_eq!(m.info(mfn).unwrap().count, 1, "frame {mfn}");
        }
        handle(&f, &mem).unpin(10, DOM).unwrap();
        all_back(&f, 10..40);
    }

    #[test]
    fn mapping_writable_races_use_as_page_table() {
        // Threads map frame 20 writable through the L1 13 while others link
        // it as an L1 from the L2 12: in every round one kind wins.
        let f = machine(40, 10..40);
        let mem = shared_space(&f);
        handle(&f, &mem).pin(10, PageType::L4, DOM).unwrap();
        let barrier = std::sync::Barrier::new(THREADS);
        let rounds = 150;
        let won: Vec<[std::sync::atomic::AtomicU32; 2]> = (0..rounds).map(|_| Default::default()).collect();
        race(&f, &mem, |t, m| {
            let as_table = t % 2 == 1;
            let (table, level) = if as_table { (12, 2) } else { (13, 1) };
            for w in won.iter() {
                barrier.wait();
                let r = m.mod_entry(table, level, 10 + t, pte(20, P | RW), false, DOM);
                if r.is_ok() {
                    w[usize::from(as_table)].fetch_add(1, Ordering::Relaxed);
                }
                barrier.wait();
                if r.is_ok() {
                    m.mod_entry(table, level, 10 + t, 0, false, DOM).unwrap();
                }
            }
        });
        for w in &won {
            let (wr, pt) = (w[0].load(Ordering::Relaxed), w[1].load(Ordering::Relaxed));
            assert!((wr == 0) != (pt == 0), "writable {wr} and page-table {pt} uses at once");
        }
        handle(&f, &mem).unpin(10, DOM).unwrap();
        all_back(&f, 10..40);
    }

    #[test]
    fn concurrent_failed_validations_leave_no_references() {
        let f = machine(40, 10..40);
        let mem = shared_space(&f);
        handle(&f, &mem).mem.write(13, 7, pte(39, P)); // fine
        handle(&f, &mem).mem.write(13, 8, pte(5, P)); // not a frame of the domain
        race(&f, &mem, |_, m| {
            for _ in 0..100 {
                assert_eq!(m.get_page_and_type(10, PageType::L4, DOM), Err(MmError::Busy(5)));
            }
        });
        all_back(&f, 10..40);
    }

    #[test]
    fn opposite_linear_maps_race_and_at_most_one_holds() {
        let f = machine(40, 10..40);
        let mem = shared_space(&f);
        {
            let mut m = handle(&f, &mem);
            m.pin(10, PageType::L4, DOM).unwrap();
            m.pin(30, PageType::L4, DOM).unwrap();
        }
        let barrier = std::sync::Barrier::new(2);
        for _ in 0..200 {
            let results: Vec<bool> = std::thread::scope(|s| {
                let hs: Vec<_> = [(10u64, 30u64), (30, 10)]
                    .into_iter()
                    .map(|(table, target)| {
                        let (f, mem, barrier) = (&f, &mem, &barrier);
                        s.spawn(move || {
                            let mut m = handle(f, mem);
                            barrier.wait();
                            m.mod_entry(table, 4, 5, pte(target, P), false, DOM).is_ok()
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert!(!(results[0] && results[1]), "a linear chain 10 -> 30 -> 10 formed");
            let mut m = handle(&f, &mem);
            m.mod_entry(10, 4, 5, 0, false, DOM).unwrap();
            m.mod_entry(30, 4, 5, 0, false, DOM).unwrap();
        }
        let mut m = handle(&f, &mem);
        m.unpin(10, DOM).unwrap();
        m.unpin(30, DOM).unwrap();
        all_back(&f, 10..40);
    }

    #[test]
    fn a_frame_is_freed_exactly_once() {
        let f = machine(64, 0..64);
        let mem = FakeMem::default();
        let barrier = std::sync::Barrier::new(THREADS);
        let freed = std::sync::Mutex::new(Vec::new());
        race(&f, &mem, |t, m| {
            for mfn in 0..64u64 {
                // Everyone maps it (takes references), one thread gives the
                // reservation back, everyone unmaps.
                let got = m.get_page(mfn, 1).is_ok() && m.get_page_type(mfn, PageType::Writable, DOM).is_ok();
                barrier.wait();
                if t == (mfn as usize) % THREADS {
                    assert!(m.release_allocation(mfn));
                }
                if got {
                    m.put_page_and_type(mfn);
                }
                // A late getter finds it gone or still held.
                if m.get_page(mfn, 1).is_ok() {
                    m.put_page(mfn);
                }
            }
            freed.lock().unwrap().append(&mut m.freed);
        });
        let freed = freed.into_inner().unwrap();
        let mut sorted = freed.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..64).collect::<Vec<_>>(), "each frame freed once");
        for p in &f {
            assert_eq!(p.snapshot(), PageState { owner: Owner::Free, tlbflush_timestamp: p.snapshot().tlbflush_timestamp, ..Default::default() });
        }
    }

    std::thread_local! {
        /// Frames the engine marked dirty in this test's thread.
        static DIRTIED: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// Domain 1 is in log-dirty mode, domain 3 was, the others never;
    /// marks go to [`DIRTIED`].
    const TEST_HOOKS: LogDirtyHooks = LogDirtyHooks {
        key_mode: |d| match d {
            1 => KeyMode::Arm,
            3 => KeyMode::Strip,
            _ => KeyMode::Guest,
        },
        mark: |_, mfn| DIRTIED.with(|v| v.borrow_mut().push(mfn)),
    };

    /// The frames marked dirty since the last call.
    fn take_dirtied() -> Vec<u64> {
        DIRTIED.with(|v| core::mem::take(&mut *v.borrow_mut()))
    }

    fn mm_mode<'a>(frames: &'a [PageInfo], hv: &'a [u64]) -> Mm<'a, FakeMem> {
        Mm { log_dirty: TEST_HOOKS, ..mm(frames, hv) }
    }

    #[test]
    fn key_bits_follow_the_mode() {
        let armed = pte(5, P | RW) | PKEY_ARMED;
        let guest = pte(5, P | RW) | (3 << 59);
        assert_eq!(l1_keys(guest, KeyMode::Guest, true), guest, "never log-dirty: the guest's bits, as on Xen");
        assert_eq!(l1_keys(guest, KeyMode::Strip, true), pte(5, P | RW));
        assert_eq!(l1_keys(guest, KeyMode::Arm, true), armed);
        assert_eq!(l1_keys(guest, KeyMode::Arm, false), pte(5, P | RW), "another's page: never armed");
        assert_eq!(l1_keys(pte(5, P) | (1 << 59), KeyMode::Arm, true), pte(5, P), "read-only: never armed");
        let swap = (3 << 59) | (7 << 12) | 0x40;
        assert_eq!(l1_keys(swap, KeyMode::Arm, true), swap, "not present: the guest's bits");
        assert!(is_armed(armed) && !is_armed(guest) && !is_armed(armed & !P));
    }

    #[test]
    fn log_dirty_domain_gets_armed_entries_and_marked_tables() {
        let f = machine(32, 10..20);
        f[20].assign(Owner::Domain(2), false);
        let mut m = mm_mode(&f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        assert!(is_armed(m.mem.read(13, 0)), "validation arms the writable own page");
        assert!(!is_armed(m.mem.read(13, 1)), "read-only stays unarmed");
        let d = take_dirtied();
        assert!(d.contains(&13), "validated tables marked");
        assert!(d.contains(&10), "the pinned L4 marked");
        m.unpin(10, DOM).unwrap();
        assert!(take_dirtied().contains(&12), "devalidated tables marked (their type changed)");
        m.pin(10, PageType::L4, DOM).unwrap();
        take_dirtied();
        // The guest echoes an armed entry back with D set: accepted, armed.
        let echo = m.mem.read(13, 0) | D;
        m.mod_entry(13, 1, 0, echo, false, DOM).unwrap();
        assert!(is_armed(m.mem.read(13, 0)) && m.mem.read(13, 0) & D != 0);
        assert_eq!(take_dirtied(), vec![13], "the changed table is marked");
        // A new writable mapping with a key of the guest's: armed instead.
        m.mod_entry(13, 1, 4, pte(16, P | RW) | (5 << 59), false, DOM).unwrap();
        assert_eq!(m.mem.read(13, 4) & PKEY_MASK, PKEY_ARMED);
        // Removing a writable mapping marks the page (its writable use ended).
        take_dirtied();
        m.mod_entry(13, 1, 4, 0, false, DOM).unwrap();
        assert!(take_dirtied().contains(&16));
    }

    #[test]
    fn disarm_marks_first_and_rearm() {
        let f = machine(32, 10..20);
        let mut m = mm_mode(&f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        take_dirtied();
        assert_eq!(m.disarm(13, 0, 1), Disarm::Disarmed);
        assert_eq!(take_dirtied(), vec![14, 13], "the page and its table");
        assert_eq!(m.mem.read(13, 0) & PKEY_MASK, 0);
        assert_eq!(m.disarm(13, 0, 1), Disarm::NotArmed, "a second CPU finds it disarmed");
        assert_eq!(m.disarm(13, 1, 1), Disarm::NotOurs, "read-only");
        assert_eq!(m.disarm(13, 0, 2), Disarm::NotOurs, "another domain's table");
        assert_eq!(m.disarm(14, 0, 1), Disarm::NotOurs, "not a page table");
        assert!(take_dirtied().is_empty(), "nothing marked when nothing is disarmed");
        assert_eq!(m.info(13).unwrap().count, 3, "the page lock's references are back");
        // CLEAN re-arms it (and leaves the rest alone).
        let n = m.rewrite_l1_entries(1, |e, own| l1_keys(e, KeyMode::Arm, own));
        assert_eq!(n, 1);
        assert!(is_armed(m.mem.read(13, 0)));
        // OFF strips every key.
        let n = m.rewrite_l1_entries(1, |e, own| l1_keys(e, KeyMode::Strip, own));
        assert_eq!(n, 1);
        assert_eq!(m.mem.read(13, 0) & PKEY_MASK, 0);
        m.unpin(10, DOM).unwrap();
        all_back(&f, 10..20);
    }

    #[test]
    fn foreign_writable_mappings_are_found() {
        let f = machine(48, 10..20);
        for p in &f[30..40] {
            p.assign(Owner::Domain(0), false);
        }
        let mut m = mm_mode(&f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        // Domain 0's address space 30 -> 31 -> 32 -> 33 maps domain 1's
        // page 16 writable and 17 read-only (a foreign mapping).
        m.mem.write(30, 0, pte(31, P | RW));
        m.mem.write(31, 0, pte(32, P | RW));
        m.mem.write(32, 0, pte(33, P | RW));
        m.pin(30, PageType::L4, DOM0).unwrap();
        let foreign = Actor { pg_owner: 1, ..DOM0 };
        m.mod_entry(33, 1, 0, pte(16, P | RW), false, foreign).unwrap();
        m.mod_entry(33, 1, 1, pte(17, P), false, foreign).unwrap();
        assert_eq!(m.mem.read(33, 0) & PKEY_MASK, 0, "dom0's own tables are never armed");
        take_dirtied();
        assert_eq!(m.note_foreign_writable(1), 1);
        assert_eq!(take_dirtied(), vec![16]);
        m.mod_entry(33, 1, 0, 0, false, foreign).unwrap();
        assert_eq!(take_dirtied(), vec![16], "the unmap marks the page of the log-dirty domain");
    }

    #[test]
    fn strip_mode_after_log_dirty() {
        let f = machine(32, 10..20);
        for p in &f[10..20] {
            p.set_owner(Owner::Domain(3));
        }
        let mut m = mm_mode(&f, &HV);
        address_space(&mut m);
        let d3 = Actor::own(3, false);
        m.pin(10, PageType::L4, d3).unwrap();
        m.mod_entry(13, 1, 0, pte(14, P | RW) | PKEY_ARMED, false, d3).unwrap();
        assert_eq!(m.mem.read(13, 0) & PKEY_MASK, 0, "an old armed copy written back is stripped");
        assert!(take_dirtied().is_empty(), "no bookkeeping outside log-dirty mode");
    }
}
