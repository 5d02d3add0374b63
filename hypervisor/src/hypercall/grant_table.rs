//! `grant_table_op`: grant tables (v1) as Xen 4.17 offers them to PV
//! domains: `query_size`, `setup_table`, `set_version`/`get_version`,
//! `map_grant_ref` and `unmap_grant_ref` (host mappings through the
//! caller's L1 tables, named by a linear address or, with
//! `GNTMAP_contains_pte`, by the machine address of the L1 entry),
//! `unmap_and_replace`, `copy`, `swap_grant_ref`
//! and (for v1, none) `get_status_frames`. The bookkeeping is in [`crate::grant`];
//! this module parses the guest's operations, finds the domains, takes and
//! drops page references through the page-type engine, and writes the
//! page-table entries of grant mappings.
//!
//! A grant host mapping holds what an ordinary L1 entry of the same frame
//! would hold (a general reference, plus a writable type reference when
//! writable), taken for the granting domain, so the engine's accounting
//! stays right whichever way the entry goes away. Per-operation failures
//! are `GNTST_*` statuses in the operation; only bad arguments of the
//! hypercall itself are errnos.

use core::mem::{offset_of, size_of};
use core::sync::atomic::AtomicU32;

use dom0_abi::grant_table::*;
use dom0_abi::xen::DOMID_SELF;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::paging::{self, maddr_to_virt};
use crate::arch::x86_64::uaccess::{range_ok, read_guest, write_guest};
use crate::domain::{self, Domain, Vcpu};
use crate::grant::{GrantTable, Mapping, SharedEntries, Use, VersionError, DEFAULT_MAX_FRAMES};
use crate::mm::frame_table::{self, DirectMap};
use crate::mm::page::{Owner, PageType};
use crate::mm::pv::{Memory, Mm, A, ADDR_MASK, D, P, RW, US};
use crate::mm::{self as hvmm, PAGE_SIZE};

/// Bits of `cmd` that carry a continuation's progress (Xen's
/// `GNTTABOP_CMD_MASK` is the rest).
const CMD_MASK: u32 = (1 << 12) - 1;
/// Operations of a batch run before it is preempted with a continuation
/// (outside multicalls).
pub const BATCH_SLICE: u32 = 512;
/// Execute-disable in a page-table entry.
const NX: u64 = 1 << 63;

/// The grant frames, through the direct map.
pub struct DirectFrames;

impl SharedEntries for DirectFrames {
    fn word(&self, mfn: u64, offset: usize) -> &AtomicU32 {
        // SAFETY: `mfn` is one of a grant table's frames: hypervisor RAM
        // allocated for the table and never freed while the domain lives,
        // mapped by the direct map; `offset` is 4-aligned and within it.
        // The guest writes the same words concurrently, hence atomics.
        unsafe { &*((maddr_to_virt(mfn << 12) + (offset & 0xffc) as u64) as *const AtomicU32) }
    }
}

/// A zeroed hypervisor frame shared with domain `domid` as a grant frame.
fn new_frame(domid: u16) -> Option<u64> {
    let mfn = hvmm::alloc_frame()?;
    // SAFETY: a fresh frame of RAM, ours until assigned.
    unsafe { core::ptr::write_bytes(maddr_to_virt(mfn << 12) as *mut u8, 0, PAGE_SIZE as usize) };
    frame_table::assign(mfn, domid, true);
    Some(mfn)
}

/// The grant table of a new domain `domid`, with its first frame.
pub fn new_table(domid: u16) -> Option<GrantTable> {
    let mut t = GrantTable::new(DEFAULT_MAX_FRAMES);
    t.grow(0, || new_frame(domid)).ok()?;
    Some(t)
}

/// `rcu_lock_domain_by_any_id`: `DOMID_SELF` or a domain's ID.
fn any_id(v: &Vcpu, id: u16) -> Option<&'static Domain> {
    if id == DOMID_SELF {
        Some(v.domain)
    } else {
        domain::by_id(id)
    }
}

/// Whether `v`'s domain may operate on `d`'s table (its own, or any when
/// privileged).
fn may_target(v: &Vcpu, d: &Domain) -> bool {
    d.domid == v.domain.domid || v.domain.is_privileged
}

fn args<T: dom0_abi::Pod>(addr: u64) -> Result<T, Errno> {
    read_guest(addr).map_err(|_| Errno::EFAULT)
}

fn out<T: dom0_abi::Pod>(addr: u64, value: &T) -> Result<(), Errno> {
    write_guest(addr, value).map_err(|_| Errno::EFAULT)
}

/// `guest_handle_okay`: an array of `count` `T` the guest may name.
fn array_ok<T>(addr: u64, count: u32) -> bool {
    u64::from(count).checked_mul(size_of::<T>() as u64).is_some_and(|len| range_ok(addr, len))
}

/// `grant_table_op(cmd, uop, count)`.
pub fn grant_table_op(v: &mut Vcpu, cmd: u64, uop: u64, count: u64) -> HcResult {
    let (cmd, count) = (cmd as u32, count as u32);
    if (count as i32) < 0 {
        return err(Errno::EINVAL);
    }
    if cmd & !CMD_MASK != 0 && cmd & CMD_MASK != GNTTABOP_cache_flush {
        return err(Errno::EINVAL);
    }
    match cmd & CMD_MASK {
        GNTTABOP_query_size => query_size(v, uop, count),
        GNTTABOP_setup_table => setup_table(v, uop, count),
        GNTTABOP_set_version => set_version(v, uop),
        GNTTABOP_get_version => get_version(v, uop),
        GNTTABOP_map_grant_ref => batch::<GnttabMapGrantRef>(v, cmd, uop, count, map_one),
        GNTTABOP_unmap_grant_ref => after_unmaps(batch::<GnttabUnmapGrantRef>(v, cmd, uop, count, unmap_one)),
        GNTTABOP_copy => batch::<GnttabCopy>(v, cmd, uop, count, copy_one),
        GNTTABOP_swap_grant_ref => batch::<GnttabSwapGrantRef>(v, cmd, uop, count, swap_one),
        GNTTABOP_unmap_and_replace => {
            after_unmaps(batch::<GnttabUnmapAndReplace>(v, cmd, uop, count, unmap_and_replace_one))
        }
        GNTTABOP_get_status_frames => get_status_frames(v, uop, count),
        // Page transfers and cache maintenance are not offered: an empty
        // batch succeeds as on Xen, anything else is refused.
        GNTTABOP_transfer | GNTTABOP_cache_flush if count == 0 => Ok(0),
        _ => err(Errno::ENOSYS),
    }
}

/// After a batch of unmaps (or its preempted part): each unmap flushed
/// this CPU, but the caller's other vCPUs may run elsewhere with the
/// mappings still in their TLBs; as Xen flushes the domain's CPUs once
/// after the batch, the other CPUs flush here, before the granter can
/// reuse the frames.
fn after_unmaps(r: HcResult) -> HcResult {
    crate::mm::tlbflush::flush_others();
    r
}

fn query_size(v: &Vcpu, uop: u64, count: u32) -> HcResult {
    if count != 1 {
        return err(Errno::EINVAL);
    }
    let mut q: GnttabQuerySize = args(uop)?;
    q.status = match any_id(v, q.dom.0) {
        None => GNTST_bad_domain,
        Some(d) if !may_target(v, d) => GNTST_permission_denied,
        Some(d) => {
            let t = d.grant.lock();
            q.nr_frames = t.nr_frames();
            q.max_nr_frames = t.max_frames();
            GNTST_okay
        }
    };
    out(uop, &q)?;
    Ok(0)
}

fn setup_table(v: &Vcpu, uop: u64, count: u32) -> HcResult {
    if count != 1 {
        return err(Errno::EINVAL);
    }
    let s: GnttabSetupTable = args(uop)?;
    let list = s.frame_list.addr();
    if !array_ok::<u64>(list, s.nr_frames) {
        return err(Errno::EFAULT);
    }
    let status = match any_id(v, s.dom.0) {
        None => GNTST_bad_domain,
        Some(d) if !may_target(v, d) => GNTST_permission_denied,
        Some(d) => {
            let mut t = d.grant.lock();
            match t.grow(s.nr_frames, || new_frame(d.domid)) {
                Err(e) => e as i16,
                Ok(()) => {
                    let mut status = GNTST_okay;
                    for (i, mfn) in t.frames().iter().take(s.nr_frames as usize).enumerate() {
                        if write_guest(list + 8 * i as u64, mfn).is_err() {
                            status = GNTST_bad_virt_addr;
                        }
                    }
                    status
                }
            }
        }
    };
    out(uop + offset_of!(GnttabSetupTable, status) as u64, &status)?;
    Ok(0)
}

/// v2 status frames: a v1 table has none, so only a request for none
/// succeeds.
fn get_status_frames(v: &Vcpu, uop: u64, count: u32) -> HcResult {
    if count != 1 {
        return err(Errno::EINVAL);
    }
    let g: GnttabGetStatusFrames = args(uop)?;
    if !array_ok::<u64>(g.frame_list.addr(), g.nr_frames) {
        return err(Errno::EFAULT);
    }
    let status = match any_id(v, g.dom.0) {
        None => GNTST_bad_domain,
        Some(d) if !may_target(v, d) => GNTST_permission_denied,
        Some(_) if g.nr_frames > 0 => GNTST_general_error,
        Some(_) => GNTST_okay,
    };
    out(uop + offset_of!(GnttabGetStatusFrames, status) as u64, &status)?;
    Ok(0)
}

fn set_version(v: &Vcpu, uop: u64) -> HcResult {
    let mut s: GnttabSetVersion = args(uop)?;
    let mut t = v.domain.grant.lock();
    let r = t.set_version(s.version);
    s.version = t.version();
    drop(t);
    out(uop, &s)?;
    match r {
        Ok(()) => Ok(0),
        Err(VersionError::Invalid) => err(Errno::EINVAL),
        Err(VersionError::Unsupported) => err(Errno::ENOSYS),
    }
}

fn get_version(v: &Vcpu, uop: u64) -> HcResult {
    let mut g: GnttabGetVersion = args(uop)?;
    let d = any_id(v, g.dom.0).ok_or(Errno::ESRCH)?;
    if !may_target(v, d) {
        return err(Errno::EPERM);
    }
    g.version = d.grant.lock().version();
    out(uop, &g)?;
    Ok(0)
}

/// An operation of a batch: it reads its structure, acts, and says where
/// to write the result back (the whole structure or its status).
trait BatchOp: dom0_abi::Pod {
    /// Bytes written back from the start of the structure.
    const WRITE_BACK: (usize, usize);
}

impl BatchOp for GnttabMapGrantRef {
    const WRITE_BACK: (usize, usize) = (0, size_of::<Self>());
}

impl BatchOp for GnttabUnmapGrantRef {
    const WRITE_BACK: (usize, usize) = (offset_of!(Self, status), size_of::<i16>());
}

impl BatchOp for GnttabSwapGrantRef {
    const WRITE_BACK: (usize, usize) = (offset_of!(Self, status), size_of::<i16>());
}

impl BatchOp for GnttabUnmapAndReplace {
    const WRITE_BACK: (usize, usize) = (offset_of!(Self, status), size_of::<i16>());
}

impl BatchOp for GnttabCopy {
    const WRITE_BACK: (usize, usize) = (offset_of!(Self, status), size_of::<i16>());
}

/// Run `count` operations at `uop`, each through `one`. After
/// [`BATCH_SLICE`] operations the call is preempted as Xen preempts it: a
/// continuation with `uop` advanced and `count` reduced.
fn batch<T: BatchOp>(v: &mut Vcpu, cmd: u32, uop: u64, count: u32, one: fn(&mut Vcpu, &mut T)) -> HcResult {
    if !array_ok::<T>(uop, count) {
        return err(Errno::EFAULT);
    }
    let size = size_of::<T>() as u64;
    for i in 0..u64::from(count) {
        let at = uop + i * size;
        if i == u64::from(BATCH_SLICE) && !v.in_multicall {
            v.continuation = Some([u64::from(cmd), at, u64::from(count) - i, 0, 0, 0]);
            return Ok(0);
        }
        let mut op: T = args(at)?;
        one(v, &mut op);
        let (off, len) = T::WRITE_BACK;
        // SAFETY: reading the bytes of a `Pod` value, within its size.
        let bytes = unsafe { core::slice::from_raw_parts((&op as *const T as *const u8).add(off), len) };
        crate::arch::x86_64::uaccess::copy_to_guest(at + off as u64, bytes).map_err(|_| Errno::EFAULT)?;
    }
    Ok(0)
}

/// The L1 entry of a grant host mapping of `frame`.
fn grant_pte(frame: u64, flags: u32) -> u64 {
    let mut e = (frame << 12) | P | A | D;
    if flags & GNTMAP_readonly == 0 {
        e |= RW;
    }
    if flags & GNTMAP_application_map != 0 {
        e |= US;
    }
    e |= u64::from((flags >> _GNTMAP_guest_avail0) & 7) << 9;
    if nx_enabled() {
        e |= NX;
    }
    Mm::<DirectMap>::adjust(e, 1)
}

fn nx_enabled() -> bool {
    use x86_64::registers::model_specific::{Efer, EferFlags};
    Efer::read().contains(EferFlags::NO_EXECUTE_ENABLE)
}

/// The L1 table and index mapping guest address `va` (`None`: no L1).
fn l1_slot(v: &Vcpu, va: u64) -> Option<(u64, usize)> {
    let canonical = ((va as i64) << 16 >> 16) as u64 == va;
    if !canonical || !range_ok(va, 1) {
        return None;
    }
    Some((super::mm::l1_for(v, va)?, paging::index(va, 1)))
}

/// The L1 table and index of the entry a grant host mapping writes, by
/// Xen's two meanings of `host_addr`: with `GNTMAP_contains_pte` the
/// machine address of the entry itself (8-aligned, or it would straddle
/// two entries), otherwise a linear address of the caller's current
/// address space. Either way the table is checked to be one of the
/// caller's L1s under the frame-table lock ([`is_own_l1`]).
fn host_slot(v: &Vcpu, addr: u64, contains_pte: bool) -> Option<(u64, usize)> {
    if !contains_pte {
        return l1_slot(v, addr);
    }
    if addr % 8 != 0 {
        log::debug!("grant: misaligned PTE address {addr:#x}");
        return None;
    }
    Some((addr >> 12, (addr & (PAGE_SIZE - 1)) as usize / 8))
}

/// Whether `mfn` is (still) an L1 page table of domain `domid`.
fn is_own_l1(m: &Mm<'_, DirectMap>, mfn: u64, domid: u16) -> bool {
    m.info(mfn).is_some_and(|p| p.ty == PageType::L1 && p.owner == Owner::Domain(domid))
}

/// Lock `l1`, an L1 page table of `domid`, for a change of its entries
/// (its page lock: no other CPU changes them meanwhile).
fn lock_own_l1(m: &mut Mm<'_, DirectMap>, l1: u64, domid: u16) -> Result<(), Gntst> {
    if m.owner(l1) != Owner::Domain(domid) {
        return Err(Gntst::GeneralError);
    }
    m.page_lock(l1, PageType::L1).map_err(|_| Gntst::GeneralError)
}

/// Flush the TLB after a grant host mapping at `addr` changed: the one
/// page of a linear address, everything for a PTE address (whose linear
/// addresses are unknown).
fn flush_host(addr: u64, contains_pte: bool) {
    if contains_pte {
        x86_64::instructions::tlb::flush_all();
    } else {
        x86_64::instructions::tlb::flush(x86_64::VirtAddr::new_truncate(addr));
    }
}

/// References a grant use of `frame` holds (general, plus a writable type
/// unless read-only), taken for its owner `rd`.
fn get_frame(m: &mut Mm<'_, DirectMap>, frame: u64, rd: &Domain, readonly: bool) -> Result<(), Gntst> {
    m.get_page(frame, rd.domid).map_err(|_| Gntst::BadPage)?;
    if !readonly && m.get_page_type(frame, PageType::Writable, rd.actor()).is_err() {
        m.put_page(frame);
        return Err(Gntst::GeneralError);
    }
    Ok(())
}

fn put_frame(m: &mut Mm<'_, DirectMap>, frame: u64, readonly: bool) {
    if !readonly {
        m.put_page_type(frame);
    }
    m.put_page(frame);
}

fn map_one(v: &mut Vcpu, op: &mut GnttabMapGrantRef) {
    op.status = match map_grant(v, op) {
        Ok(handle) => {
            op.handle = handle;
            GNTST_okay
        }
        Err(e) => e as i16,
    };
}

fn map_grant(v: &mut Vcpu, op: &mut GnttabMapGrantRef) -> Result<u32, Gntst> {
    if op.flags & (GNTMAP_device_map | GNTMAP_host_map) == 0 {
        return Err(Gntst::BadGntref);
    }
    let rd = domain::by_id(op.dom.0).ok_or(Gntst::BadDomain)?;
    let ld = v.domain;
    let handle = ld.grant.lock().alloc_handle()?;
    match map_pinned(v, rd, op) {
        Ok(m) => {
            ld.grant.lock().record(handle, m);
            op.dev_bus_addr = m.frame << 12;
            Ok(handle)
        }
        Err(e) => {
            ld.grant.lock().release_handle(handle);
            Err(e)
        }
    }
}

/// Pin the grant, take the frame's references, and write the mapping.
fn map_pinned(v: &mut Vcpu, rd: &'static Domain, op: &GnttabMapGrantRef) -> Result<Mapping, Gntst> {
    let readonly = op.flags & GNTMAP_readonly != 0;
    let contains_pte = op.flags & GNTMAP_contains_pte != 0;
    let ldom = v.domain.domid;
    let pin = rd.grant.lock().pin(&DirectFrames, op.r#ref, ldom, readonly, Use::Map)?;
    let r = (|| {
        // Device mappings are not offered.
        if op.flags & GNTMAP_device_map != 0 || op.flags & GNTMAP_host_map == 0 {
            return Err(Gntst::GeneralError);
        }
        // Found before taking the frame table (the walk takes it too).
        let slot = host_slot(v, op.host_addr, contains_pte);
        frame_table::with(|m| {
            get_frame(m, pin.frame, rd, readonly).map_err(|e| if pin.first { e } else { Gntst::GeneralError })?;
            let Some((l1, index)) = slot.filter(|&(l1, _)| lock_own_l1(m, l1, ldom).is_ok()) else {
                put_frame(m, pin.frame, readonly);
                return Err(Gntst::GeneralError);
            };
            let old = m.mem.read(l1, index);
            m.write_l1(l1, index, grant_pte(pin.frame, op.flags));
            m.put_entry(l1, old, 1);
            m.page_unlock(l1);
            Ok(())
        })
    })();
    if let Err(e) = r {
        rd.grant.lock().unpin(&DirectFrames, op.r#ref, readonly);
        return Err(e);
    }
    flush_host(op.host_addr, contains_pte);
    Ok(Mapping { dom: rd.domid, gref: op.r#ref, frame: pin.frame, readonly, host_addr: op.host_addr, contains_pte })
}

fn unmap_one(v: &mut Vcpu, op: &mut GnttabUnmapGrantRef) {
    op.status = match unmap_grant(v, op.handle, op.host_addr, op.dev_bus_addr, 0) {
        Ok(()) => GNTST_okay,
        Err(e) => e as i16,
    };
}

fn unmap_and_replace_one(v: &mut Vcpu, op: &mut GnttabUnmapAndReplace) {
    op.status = match unmap_grant(v, op.handle, op.host_addr, 0, op.new_addr) {
        Ok(()) => GNTST_okay,
        Err(e) => e as i16,
    };
}

/// Remove the grant mapping `handle` at `host_addr` (a PTE address if it
/// was mapped with `GNTMAP_contains_pte`); with `new_addr`, the mapping at
/// `new_addr` moves there (with the references it holds) and `new_addr`
/// is left unmapped, as Xen's `unmap_and_replace` does (linear addresses
/// only).
fn unmap_grant(v: &mut Vcpu, handle: u32, host_addr: u64, dev_bus_addr: u64, new_addr: u64) -> Result<(), Gntst> {
    let ld = v.domain;
    let map = ld.grant.lock().mapping(handle)?;
    // The granting domain may be gone (destroyed while mapped): the
    // mapping still goes, with the frame references it holds.
    let rd = domain::by_id(map.dom);
    if dev_bus_addr != 0 {
        return Err(Gntst::BadDevAddr);
    }
    if host_addr == 0 {
        return Ok(());
    }
    if new_addr != 0 && map.contains_pte {
        return Err(Gntst::GeneralError);
    }
    let (l1, index) = host_slot(v, host_addr, map.contains_pte).ok_or(Gntst::GeneralError)?;
    let stolen_slot = if new_addr != 0 { Some(l1_slot(v, new_addr).ok_or(Gntst::GeneralError)?) } else { None };
    let ldom = ld.domid;
    frame_table::with(|m| {
        // The tables were found before: still L1s?
        if !is_own_l1(m, l1, ldom) || stolen_slot.is_some_and(|(nl1, _)| !is_own_l1(m, nl1, ldom)) {
            return Err(Gntst::GeneralError);
        }
        // Steal the replacement first, as Xen does: it is dropped if the
        // grant mapping turns out not to be there. One page lock at a
        // time: the replacement's table's, then the mapping's.
        let replacement = match stolen_slot {
            Some((nl1, nindex)) => {
                lock_own_l1(m, nl1, ldom)?;
                let e = m.mem.read(nl1, nindex);
                if e & P != 0 {
                    m.write_l1(nl1, nindex, 0);
                }
                m.page_unlock(nl1);
                if e & P == 0 {
                    return Err(Gntst::GeneralError);
                }
                e
            }
            None => 0,
        };
        // The replacement's references move with it (to the mapping's
        // table, or are dropped).
        if let Err(e) = lock_own_l1(m, l1, ldom) {
            m.put_entry(l1, replacement, 1);
            return Err(e);
        }
        let e = m.mem.read(l1, index);
        let writable = e & RW != 0;
        if e & P == 0 || (e & ADDR_MASK) >> 12 != map.frame || writable == map.readonly {
            m.page_unlock(l1);
            m.put_entry(l1, replacement, 1);
            return Err(Gntst::GeneralError);
        }
        m.write_l1(l1, index, replacement);
        m.page_unlock(l1);
        put_frame(m, map.frame, map.readonly);
        Ok(())
    })?;
    flush_host(host_addr, map.contains_pte);
    if new_addr != 0 {
        flush_host(new_addr, false);
    }
    if let Some(rd) = rd {
        rd.grant.lock().unpin(&DirectFrames, map.gref, map.readonly);
    }
    ld.grant.lock().release_handle(handle);
    Ok(())
}

fn swap_one(v: &mut Vcpu, op: &mut GnttabSwapGrantRef) {
    op.status = match v.domain.grant.lock().swap(&DirectFrames, op.ref_a, op.ref_b) {
        Ok(()) => GNTST_okay,
        Err(e) => e as i16,
    };
}

/// One end of a copy, claimed: its frame and how to give it back.
struct Claim {
    frame: u64,
    readonly: bool,
    grant: Option<(&'static Domain, u32)>,
}

fn release(c: &Claim) {
    frame_table::with(|m| put_frame(m, c.frame, c.readonly));
    if let Some((d, gref)) = c.grant {
        d.grant.lock().unpin(&DirectFrames, gref, c.readonly);
    }
}

/// The domain of one end of a copy: only `DOMID_SELF` may name a frame.
fn copy_domain(v: &Vcpu, p: &GnttabCopyPtr, is_gref: bool) -> Result<&'static Domain, Gntst> {
    if p.domid.0 != DOMID_SELF && !is_gref {
        return Err(Gntst::PermissionDenied);
    }
    any_id(v, p.domid.0).ok_or(Gntst::BadDomain)
}

/// Claim one end of a copy (`readonly` for the source).
fn claim(v: &Vcpu, d: &'static Domain, p: &GnttabCopyPtr, is_gref: bool, readonly: bool) -> Result<Claim, Gntst> {
    if !is_gref {
        let frame = p.gmfn();
        frame_table::with(|m| get_frame(m, frame, d, readonly))?;
        return Ok(Claim { frame, readonly, grant: None });
    }
    let gref = p.gref();
    let pin = d.grant.lock().pin(&DirectFrames, gref, v.domain.domid, readonly, Use::Copy)?;
    if let Err(e) = frame_table::with(|m| get_frame(m, pin.frame, d, readonly)) {
        d.grant.lock().unpin(&DirectFrames, gref, readonly);
        return Err(if !pin.first && e == Gntst::BadPage { Gntst::GeneralError } else { e });
    }
    Ok(Claim { frame: pin.frame, readonly, grant: Some((d, gref)) })
}

fn copy_one(v: &mut Vcpu, op: &mut GnttabCopy) {
    op.status = match copy_grant(v, op) {
        Ok(()) => GNTST_okay,
        Err(e) => e as i16,
    };
}

fn copy_grant(v: &Vcpu, op: &GnttabCopy) -> Result<(), Gntst> {
    let src_gref = op.flags & GNTCOPY_source_gref != 0;
    let dst_gref = op.flags & GNTCOPY_dest_gref != 0;
    let sd = copy_domain(v, &op.source, src_gref)?;
    let dd = copy_domain(v, &op.dest, dst_gref)?;
    let src = claim(v, sd, &op.source, src_gref, true)?;
    let dst = match claim(v, dd, &op.dest, dst_gref, false) {
        Ok(c) => c,
        Err(e) => {
            release(&src);
            return Err(e);
        }
    };
    let (len, so, dof) = (u64::from(op.len), u64::from(op.source.offset), u64::from(op.dest.offset));
    let r = if so + len > PAGE_SIZE || dof + len > PAGE_SIZE {
        Err(Gntst::BadCopyArg)
    } else {
        // SAFETY: both frames are RAM held by the references just taken
        // (the destination typed writable, so no page table), reached
        // through the direct map; the ranges lie within them. `copy`
        // allows the two to be the same frame.
        unsafe {
            core::ptr::copy(
                (maddr_to_virt(src.frame << 12) + so) as *const u8,
                (maddr_to_virt(dst.frame << 12) + dof) as *mut u8,
                len as usize,
            )
        };
        Ok(())
    };
    release(&dst);
    release(&src);
    r
}
