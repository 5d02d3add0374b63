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
//! tables, and every end of a writable use of one of its pages, is noted
//! in [`Mm::dirtied`] for the caller to mark in its dirty bitmap.
//!
//! The engine is generic over [`Memory`] (how entries are read and
//! written) so the host tests drive it against a fake machine.

use super::page::{Owner, PageInfo, PageType};

/// Access to page-table entries in machine memory.
pub trait Memory {
    /// Entry `index` of frame `mfn`.
    fn read(&self, mfn: u64, index: usize) -> u64;
    /// Set entry `index` of frame `mfn`.
    fn write(&mut self, mfn: u64, index: usize, value: u64);
    /// Replace entry `index` of frame `mfn` with `new` if it still holds
    /// `old` (atomically: the CPU may set accessed/dirty bits meanwhile);
    /// true when replaced.
    fn cmpxchg(&mut self, mfn: u64, index: usize, old: u64, new: u64) -> bool;
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
    /// The entry was armed and is not any more; the page it maps.
    Disarmed(u64),
    /// Present, writable and not armed (another CPU disarmed it first,
    /// this one's TLB still had it armed).
    NotArmed,
    /// Not a present writable entry of this domain's own page.
    NotOurs,
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

/// The memory-management engine over a frame table and machine memory.
pub struct Mm<'a, M: Memory> {
    /// One entry per machine frame.
    pub frames: &'a mut [PageInfo],
    /// Machine memory.
    pub mem: M,
    /// The hypervisor's L4 slots 256..272, copied into every guest L4.
    pub hv_l4: &'a [u64],
    /// Device frames no guest may map (local APIC, IOAPICs).
    pub reserved_io: &'a [u64],
    /// First frame beyond the CPU's physical address width.
    pub max_io_mfn: u64,
    /// Frames whose last reference went (for the caller to free).
    pub freed: alloc::vec::Vec<u64>,
    /// The key mode of a domain (by ID).
    pub key_mode: fn(u16) -> KeyMode,
    /// Frames of domains in log-dirty mode that changed, or may have
    /// changed, without a protection-key fault (for the caller to mark).
    pub dirtied: alloc::vec::Vec<u64>,
}

impl<M: Memory> Mm<'_, M> {
    fn page(&mut self, mfn: u64) -> Result<&mut PageInfo, MmError> {
        self.frames.get_mut(mfn as usize).ok_or(MmError::BadFrame(mfn))
    }

    /// Take a general reference on `mfn` for `d`.
    pub fn get_page(&mut self, mfn: u64, d: u16) -> Result<(), MmError> {
        let p = self.page(mfn)?;
        if p.owner != Owner::Domain(d) || p.count == 0 {
            return Err(MmError::BadFrame(mfn));
        }
        p.count = p.count.checked_add(1).ok_or(MmError::Overflow)?;
        Ok(())
    }

    /// Drop a general reference; the frame is freed with its last one.
    pub fn put_page(&mut self, mfn: u64) {
        let Ok(p) = self.page(mfn) else { return };
        p.count = p.count.saturating_sub(1);
        if p.count == 0 {
            *p = PageInfo { tlbflush_timestamp: super::tlbflush::now(), ..PageInfo::default() };
            self.freed.push(mfn);
        }
    }

    /// Take a type reference of `ty` on `mfn` (validating a page table on
    /// first use). A general reference must already be held.
    pub fn get_page_type(&mut self, mfn: u64, ty: PageType, a: Actor) -> Result<(), MmError> {
        let p = self.page(mfn)?;
        if p.type_count > 0 {
            if p.ty != ty {
                return Err(MmError::TypeConflict(mfn));
            }
            p.type_count = p.type_count.checked_add(1).ok_or(MmError::Overflow)?;
            return Ok(());
        }
        // First use: claim the type provisionally (so a table reaching
        // itself as another type conflicts), then validate. Contents the
        // guest must not write: no CPU may keep a writable TLB entry from
        // before (Xen's flush on a type change, by the TLB-flush clock).
        if ty != PageType::Writable {
            super::tlbflush::flush_if_stale(p.tlbflush_timestamp);
        }
        p.ty = ty;
        p.type_count = 1;
        if let Some(level) = ty.level() {
            if let Err(e) = self.validate(mfn, level, a) {
                let p = self.page(mfn)?;
                p.ty = PageType::None;
                p.type_count = 0;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Drop a type reference; a page table is devalidated with its last.
    pub fn put_page_type(&mut self, mfn: u64) {
        let Ok(p) = self.page(mfn) else { return };
        let owner = p.owner;
        let writable = p.ty == PageType::Writable && p.type_count > 0;
        p.type_count = p.type_count.saturating_sub(1);
        if writable {
            // A writable use ends (a mapping, a grant, the hypervisor's
            // own): it may have written the page.
            self.note_written(owner, mfn);
        }
        let Ok(p) = self.page(mfn) else { return };
        if p.type_count == 0 {
            let ty = p.ty;
            p.ty = PageType::None;
            if ty == PageType::Writable {
                p.tlbflush_timestamp = super::tlbflush::now();
            }
            if let Some(level) = ty.level() {
                self.devalidate(mfn, level);
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
            let owner = self.frames.get(mfn as usize).map(|p| p.owner);
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
            let target_ty = self.frames.get(mfn as usize).map(|p| p.ty);
            if mfn == table || target_ty == Some(own) {
                self.get_linear(table, mfn, e, level, a)?;
            } else {
                self.get_page_and_type(mfn, PageType::table(level - 1), a)?;
            }
        }
        Ok(Self::adjust(e, level))
    }

    /// A linear entry in `table` mapping `target` (of the same level).
    fn get_linear(&mut self, table: u64, target: u64, e: u64, level: u32, a: Actor) -> Result<(), MmError> {
        if e & RW != 0 {
            return Err(MmError::BadLinear(target));
        }
        if target == table {
            return Ok(()); // a self-map holds no reference
        }
        let own = PageType::table(level);
        let ok = self.page(table)?.owner == Owner::Domain(a.domid)
            && self.page(table)?.linear_uses == 0
            && self.frames.get(target as usize).is_some_and(|p| p.linear_entries == 0 && p.ty == own);
        if !ok {
            return Err(MmError::BadLinear(target));
        }
        self.get_page_and_type(target, own, a)?;
        self.page(table)?.linear_entries += 1;
        self.page(target)?.linear_uses += 1;
        Ok(())
    }

    /// Drop the references an entry of the level-`level` table `table`
    /// holds.
    pub fn put_entry(&mut self, table: u64, e: u64, level: u32) {
        if e & P == 0 {
            return;
        }
        let mfn = (e & ADDR_MASK) >> 12;
        if level == 1 {
            if !matches!(self.frames.get(mfn as usize).map(|p| p.owner), Some(Owner::Domain(_))) {
                return;
            }
            if e & RW != 0 {
                self.put_page_type(mfn);
            }
            self.put_page(mfn);
        } else if mfn == table {
            // A self-map holds nothing.
        } else if self.frames.get(mfn as usize).is_some_and(|p| p.ty == PageType::table(level)) {
            if let Ok(p) = self.page(table) {
                p.linear_entries = p.linear_entries.saturating_sub(1);
            }
            if let Ok(p) = self.page(mfn) {
                p.linear_uses = p.linear_uses.saturating_sub(1);
            }
            self.put_page_and_type(mfn);
        } else {
            self.put_page_and_type(mfn);
        }
    }

    /// `e` (an adjusted L1 entry of a table of `domid`) with the key bits
    /// of `domid`'s mode.
    fn with_keys(&self, e: u64, domid: u16) -> u64 {
        let mode = (self.key_mode)(domid);
        if mode == KeyMode::Guest {
            return e;
        }
        let target = (e & ADDR_MASK) >> 12;
        let own = self.frames.get(target as usize).is_some_and(|p| p.owner == Owner::Domain(domid));
        l1_keys(e, mode, own)
    }

    /// Write the present or empty L1 entry `e` (checked and referenced by
    /// the caller: a grant mapping) into `table`, with the key bits of
    /// its owner's mode, noting the change.
    pub fn write_l1(&mut self, table: u64, index: usize, e: u64) {
        let stored = match self.frames.get(table as usize).map(|p| p.owner) {
            Some(Owner::Domain(d)) => self.with_keys(e, d),
            _ => e,
        };
        self.note_changed(table);
        self.mem.write(table, index, stored);
    }

    /// Note that frame `mfn` of `owner` may have been written behind the
    /// protection keys' back.
    fn note_written(&mut self, owner: Owner, mfn: u64) {
        if let Owner::Domain(d) = owner {
            if (self.key_mode)(d) == KeyMode::Arm {
                self.dirtied.push(mfn);
            }
        }
    }

    /// Note that frame `table` (a page table, a descriptor page) changed
    /// in contents, type or pin state, if its owner is in log-dirty mode
    /// (Xen marks a page dirty in each of these cases).
    pub fn note_changed(&mut self, table: u64) {
        if let Some(owner) = self.frames.get(table as usize).map(|p| p.owner) {
            self.note_written(owner, table);
        }
    }

    /// Rewrite every present L1 entry of every L1 table `domid` owns with
    /// `f(entry, own)` (`own`: it maps a RAM page of `domid`), atomically
    /// against the CPU's accessed/dirty updates; returns how many changed.
    pub fn rewrite_l1_entries(&mut self, domid: u16, f: impl Fn(u64, bool) -> u64) -> usize {
        let mut changed = 0;
        for table in 0..self.frames.len() {
            let p = &self.frames[table];
            if p.owner != Owner::Domain(domid) || p.ty != PageType::L1 {
                continue;
            }
            for i in 0..512 {
                loop {
                    let e = self.mem.read(table as u64, i);
                    if e & P == 0 {
                        break;
                    }
                    let target = (e & ADDR_MASK) >> 12;
                    let own = self.frames.get(target as usize).is_some_and(|p| p.owner == Owner::Domain(domid));
                    let n = f(e, own);
                    if n == e {
                        break;
                    }
                    if self.mem.cmpxchg(table as u64, i, e, n) {
                        changed += 1;
                        break;
                    }
                }
            }
        }
        changed
    }

    /// Note (in [`Self::dirtied`]) every page of `domid` that an L1
    /// table of another domain maps writable (a backend's grant mapping,
    /// the toolstack's foreign mapping of its rings); returns how many
    /// entries there were.
    pub fn note_foreign_writable(&mut self, domid: u16) -> usize {
        let mut found = 0;
        for table in 0..self.frames.len() {
            let p = &self.frames[table];
            if p.ty != PageType::L1 || p.owner == Owner::Domain(domid) || !matches!(p.owner, Owner::Domain(_)) {
                continue;
            }
            for i in 0..512 {
                let e = self.mem.read(table as u64, i);
                if e & (P | RW) != (P | RW) {
                    continue;
                }
                let target = (e & ADDR_MASK) >> 12;
                if self.frames.get(target as usize).is_some_and(|p| p.owner == Owner::Domain(domid)) {
                    self.dirtied.push(target);
                    found += 1;
                }
            }
        }
        found
    }

    /// Disarm entry `index` of L1 table `l1` of `domid` after a
    /// protection-key fault through it.
    pub fn disarm(&mut self, l1: u64, index: usize, domid: u16) -> Disarm {
        if self.frames.get(l1 as usize).is_none_or(|p| p.owner != Owner::Domain(domid) || p.ty != PageType::L1) {
            return Disarm::NotOurs;
        }
        loop {
            let e = self.mem.read(l1, index);
            if e & (P | RW) != (P | RW) {
                return Disarm::NotOurs;
            }
            let target = (e & ADDR_MASK) >> 12;
            if self.frames.get(target as usize).is_none_or(|p| p.owner != Owner::Domain(domid)) {
                return Disarm::NotOurs;
            }
            if !is_armed(e) {
                return Disarm::NotArmed;
            }
            if self.mem.cmpxchg(l1, index, e, e & !PKEY_MASK) {
                return Disarm::Disarmed(target);
            }
        }
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
        if !Self::is_guest_slot(level, index) {
            return Err(MmError::HypervisorSlot);
        }
        let old = self.mem.read(table, index);
        let new = if preserve_ad { new | (old & (A | D)) } else { new };
        self.note_changed(table);
        if new & P != 0 && old & P != 0 && significant(new) == significant(old) {
            // Same frame, same rights: only the other flags change. They
            // are still checked.
            if (level == 1 && new & CACHE_ATTRS != 0 && !a.privileged)
                || (level > 1 && new & (PSE | UPPER_DISALLOWED) != 0)
            {
                return Err(MmError::BadFlags(new));
            }
            let stored = if level == 1 { self.with_keys(Self::adjust(new, 1), a.domid) } else { Self::adjust(new, level) };
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
        if p.pinned {
            self.put_page_and_type(mfn);
            return Err(MmError::AlreadyPinned);
        }
        p.pinned = true;
        self.note_changed(mfn);
        Ok(())
    }

    /// Unpin `mfn`.
    pub fn unpin(&mut self, mfn: u64, a: Actor) -> Result<(), MmError> {
        let p = self.page(mfn)?;
        if p.owner != Owner::Domain(a.domid) {
            return Err(MmError::BadFrame(mfn));
        }
        if !p.pinned {
            return Err(MmError::NotPinned);
        }
        p.pinned = false;
        self.note_changed(mfn);
        self.put_page_and_type(mfn);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::vec;
    use std::vec::Vec;

    #[derive(Default)]
    struct FakeMem(HashMap<(u64, usize), u64>);

    impl Memory for FakeMem {
        fn read(&self, mfn: u64, index: usize) -> u64 {
            *self.0.get(&(mfn, index)).unwrap_or(&0)
        }
        fn write(&mut self, mfn: u64, index: usize, value: u64) {
            self.0.insert((mfn, index), value);
        }
        fn cmpxchg(&mut self, mfn: u64, index: usize, old: u64, new: u64) -> bool {
            let ok = self.read(mfn, index) == old;
            if ok {
                self.write(mfn, index, new);
            }
            ok
        }
    }

    /// Domain 1 is in log-dirty mode, domain 3 was, the others never.
    fn test_key_mode(d: u16) -> KeyMode {
        match d {
            1 => KeyMode::Arm,
            3 => KeyMode::Strip,
            _ => KeyMode::Guest,
        }
    }

    const DOM: Actor = Actor::own(1, false);
    const DOM0: Actor = Actor::own(0, true);

    fn machine(frames: usize, owned_by_1: std::ops::Range<u64>) -> Vec<PageInfo> {
        let mut f = vec![PageInfo::default(); frames];
        for m in owned_by_1 {
            f[m as usize] = PageInfo { owner: Owner::Domain(1), count: 1, allocated: true, ..Default::default() };
        }
        f
    }

    fn mm<'a>(frames: &'a mut [PageInfo], hv: &'a [u64]) -> Mm<'a, FakeMem> {
        Mm {
            frames,
            mem: FakeMem::default(),
            hv_l4: hv,
            reserved_io: &[0xfee00],
            max_io_mfn: 1 << 28,
            freed: Vec::new(),
            key_mode: |_| KeyMode::Guest,
            dirtied: Vec::new(),
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
        let mut f = machine(32, 10..20);
        let mut m = mm(&mut f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        assert_eq!(m.frames[10].ty, PageType::L4);
        assert_eq!(m.frames[13].ty, PageType::L1);
        assert_eq!(m.frames[14].ty, PageType::Writable);
        assert_eq!(m.frames[15].ty, PageType::None);
        assert_eq!(m.frames[13].count, 3, "allocation + L2 entry + its own RO mapping");
        assert_eq!(m.mem.read(10, 256), HV[0], "hypervisor slots installed");
        assert_ne!(m.mem.read(13, 0) & US, 0, "user bit added");
        m.unpin(10, DOM).unwrap();
        for mfn in 10..16 {
            assert_eq!(m.frames[mfn].ty, PageType::None, "frame {mfn} devalidated");
            assert_eq!(m.frames[mfn].count, 1, "frame {mfn} back to its allocation reference");
        }
        assert_eq!(m.unpin(10, DOM), Err(MmError::NotPinned));
    }

    #[test]
    fn page_table_cannot_be_mapped_writable() {
        let mut f = machine(32, 10..20);
        let mut m = mm(&mut f, &HV);
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
        let mut f = machine(32, 10..20);
        f[20] = PageInfo { owner: Owner::Domain(2), count: 1, allocated: true, ..Default::default() };
        f[21] = PageInfo { owner: Owner::Xen, count: 1, ..Default::default() };
        f[22] = PageInfo { owner: Owner::Io, ..Default::default() };
        let mut m = mm(&mut f, &HV);
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
        let mut f = machine(32, 10..20);
        for p in &mut f[10..20] {
            p.owner = Owner::Domain(0);
        }
        let mut m = mm(&mut f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM0).unwrap();
        m.mod_entry(13, 1, 5, pte(0xb8, P | RW | PCD), false, DOM0).unwrap();
        assert_eq!(m.mod_entry(13, 1, 6, pte(0xfee00, P | RW), false, DOM0), Err(MmError::NotPermitted(0xfee00)));
        // Beyond the physical address width (bit 51 set): refused too.
        assert_eq!(m.mod_entry(13, 1, 6, pte(1 << 39, P), false, DOM0), Err(MmError::NotPermitted(1 << 39)));
    }

    #[test]
    fn superpages_reserved_bits_linear_tables_and_hypervisor_slots() {
        let mut f = machine(32, 10..20);
        let mut m = mm(&mut f, &HV);
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
        assert_eq!(m.frames[10].type_count, 1);
        assert_eq!(m.mod_entry(10, 4, 2, pte(10, P | RW), false, DOM), Err(MmError::BadLinear(10)));
        m.mod_entry(10, 4, 1, 0, false, DOM).unwrap();
        // L2-as-L3 confusion: an L4 entry naming the L2 (it would be used
        // as an L3).
        assert_eq!(m.mod_entry(10, 4, 1, pte(12, P), false, DOM), Err(MmError::TypeConflict(12)));
        // A second reference of the right type is fine.
        m.mod_entry(11, 3, 1, pte(12, P), false, DOM).unwrap();
        assert_eq!(m.frames[12].type_count, 2);
        assert_eq!(m.mod_entry(10, 4, 256, 0, false, DOM), Err(MmError::HypervisorSlot));
        assert_eq!(m.mod_entry(12, 2, 1, pte(16, P | RW), false, DOM).map(|_| m.frames[16].ty), Ok(PageType::L1));
    }

    #[test]
    fn linear_maps_of_other_tables_cannot_chain() {
        let mut f = machine(40, 10..40);
        let mut m = mm(&mut f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        // A second validated L4 (30, empty) pinned.
        m.pin(30, PageType::L4, DOM).unwrap();
        // L4 10 maps L4 30 read-only: a type reference on 30.
        m.mod_entry(10, 4, 3, pte(30, P), false, DOM).unwrap();
        assert_eq!((m.frames[30].type_count, m.frames[30].linear_uses, m.frames[10].linear_entries), (2, 1, 1));
        // 30 is used linearly, so it may not get linear entries itself, and
        // 10 (which has some) may not be used linearly: no chains, no loops.
        assert_eq!(m.mod_entry(30, 4, 1, pte(10, P), false, DOM), Err(MmError::BadLinear(10)));
        m.pin(31, PageType::L4, DOM).unwrap();
        assert_eq!(m.mod_entry(31, 4, 1, pte(10, P), false, DOM), Err(MmError::BadLinear(10)));
        // Removing the entry gives everything back.
        m.mod_entry(10, 4, 3, 0, false, DOM).unwrap();
        assert_eq!((m.frames[30].type_count, m.frames[30].linear_uses, m.frames[10].linear_entries), (1, 0, 0));
    }

    #[test]
    fn mod_entry_moves_references() {
        let mut f = machine(32, 10..20);
        let mut m = mm(&mut f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        m.mod_entry(13, 1, 0, pte(16, P | RW), false, DOM).unwrap();
        assert_eq!(m.frames[14].ty, PageType::None, "old mapping dropped");
        assert_eq!(m.frames[16].ty, PageType::Writable);
        // Flag-only change keeps references; A/D preserved when asked.
        m.mem.write(13, 0, pte(16, P | RW | US | A | D));
        m.mod_entry(13, 1, 0, pte(16, P | RW | (1 << 9)), true, DOM).unwrap();
        // No user bit from the guest: a guest-kernel page.
        assert_eq!(m.mem.read(13, 0), pte(16, P | RW | US | A | D | (1 << 9) | GUEST_KERNEL));
        // With it: a user page, made global.
        m.mod_entry(13, 1, 0, pte(16, P | RW | US), false, DOM).unwrap();
        assert_eq!(m.mem.read(13, 0), pte(16, P | RW | US | G));
        assert_eq!(m.frames[16].type_count, 1);
        m.mod_entry(13, 1, 0, 0, false, DOM).unwrap();
        assert_eq!(m.frames[16].count, 1);
    }

    #[test]
    fn failed_validation_leaves_no_references() {
        let mut f = machine(32, 10..20);
        let mut m = mm(&mut f, &HV);
        address_space(&mut m);
        m.mem.write(13, 7, pte(25, P)); // frame 25 is not ours
        assert_eq!(m.pin(10, PageType::L4, DOM), Err(MmError::Busy(25)));
        for mfn in 10..20 {
            assert_eq!(m.frames[mfn].count, 1, "frame {mfn}");
            assert_eq!(m.frames[mfn].type_count, 0, "frame {mfn}");
        }
    }

    #[test]
    fn last_reference_frees() {
        let mut f = machine(32, 10..20);
        let mut m = mm(&mut f, &HV);
        m.get_page(14, 1).unwrap();
        m.frames[14].allocated = false;
        m.put_page(14); // the allocation reference
        assert!(m.freed.is_empty());
        m.put_page(14);
        assert_eq!(m.freed, vec![14]);
        assert_eq!(m.frames[14].owner, Owner::Free);
    }

    fn mm_mode<'a>(frames: &'a mut [PageInfo], hv: &'a [u64]) -> Mm<'a, FakeMem> {
        Mm { key_mode: test_key_mode, ..mm(frames, hv) }
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
    fn log_dirty_domain_gets_armed_entries_and_dirtied_tables() {
        let mut f = machine(32, 10..20);
        f[20] = PageInfo { owner: Owner::Domain(2), count: 1, allocated: true, ..Default::default() };
        let mut m = mm_mode(&mut f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        assert!(is_armed(m.mem.read(13, 0)), "validation arms the writable own page");
        assert!(!is_armed(m.mem.read(13, 1)), "read-only stays unarmed");
        assert!(m.dirtied.contains(&13), "validated tables noted");
        assert!(m.dirtied.contains(&10), "the pinned L4 noted");
        m.unpin(10, DOM).unwrap();
        assert!(m.dirtied.contains(&12), "devalidated tables noted (their type changed)");
        m.pin(10, PageType::L4, DOM).unwrap();
        m.dirtied.clear();
        // The guest echoes an armed entry back with D set: accepted, armed.
        let echo = m.mem.read(13, 0) | D;
        m.mod_entry(13, 1, 0, echo, false, DOM).unwrap();
        assert!(is_armed(m.mem.read(13, 0)) && m.mem.read(13, 0) & D != 0);
        assert_eq!(m.dirtied, vec![13], "the changed table is noted");
        // A new writable mapping with a key of the guest's: armed instead.
        m.mod_entry(13, 1, 4, pte(16, P | RW) | (5 << 59), false, DOM).unwrap();
        assert_eq!(m.mem.read(13, 4) & PKEY_MASK, PKEY_ARMED);
        // Removing a writable mapping notes the page (its writable use ended).
        m.dirtied.clear();
        m.mod_entry(13, 1, 4, 0, false, DOM).unwrap();
        assert!(m.dirtied.contains(&16));
    }

    #[test]
    fn disarm_and_rearm() {
        let mut f = machine(32, 10..20);
        let mut m = mm_mode(&mut f, &HV);
        address_space(&mut m);
        m.pin(10, PageType::L4, DOM).unwrap();
        assert_eq!(m.disarm(13, 0, 1), Disarm::Disarmed(14));
        assert_eq!(m.mem.read(13, 0) & PKEY_MASK, 0);
        assert_eq!(m.disarm(13, 0, 1), Disarm::NotArmed, "a second CPU finds it disarmed");
        assert_eq!(m.disarm(13, 1, 1), Disarm::NotOurs, "read-only");
        assert_eq!(m.disarm(13, 0, 2), Disarm::NotOurs, "another domain's table");
        // CLEAN re-arms it (and leaves the rest alone).
        let n = m.rewrite_l1_entries(1, |e, own| l1_keys(e, KeyMode::Arm, own));
        assert_eq!(n, 1);
        assert!(is_armed(m.mem.read(13, 0)));
        // OFF strips every key.
        let n = m.rewrite_l1_entries(1, |e, own| l1_keys(e, KeyMode::Strip, own));
        assert_eq!(n, 1);
        assert_eq!(m.mem.read(13, 0) & PKEY_MASK, 0);
    }

    #[test]
    fn foreign_writable_mappings_are_found() {
        let mut f = machine(48, 10..20);
        for p in &mut f[30..40] {
            *p = PageInfo { owner: Owner::Domain(0), count: 1, allocated: true, ..Default::default() };
        }
        let mut m = mm_mode(&mut f, &HV);
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
        m.dirtied.clear();
        assert_eq!(m.note_foreign_writable(1), 1);
        assert_eq!(m.dirtied, vec![16]);
        m.dirtied.clear();
        m.mod_entry(33, 1, 0, 0, false, foreign).unwrap();
        assert_eq!(m.dirtied, vec![16], "the unmap notes the page of the log-dirty domain");
    }

    #[test]
    fn strip_mode_after_log_dirty() {
        let mut f = machine(32, 10..20);
        for p in &mut f[10..20] {
            p.owner = Owner::Domain(3);
        }
        let mut m = mm_mode(&mut f, &HV);
        address_space(&mut m);
        let d3 = Actor::own(3, false);
        m.pin(10, PageType::L4, d3).unwrap();
        m.mod_entry(13, 1, 0, pte(14, P | RW) | PKEY_ARMED, false, d3).unwrap();
        assert_eq!(m.mem.read(13, 0) & PKEY_MASK, 0, "an old armed copy written back is stripped");
        assert!(m.dirtied.is_empty(), "no bookkeeping outside log-dirty mode");
    }
}
