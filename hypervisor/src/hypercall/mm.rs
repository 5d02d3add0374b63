//! Guest page-table hypercalls: `mmu_update`, `mmuext_op`,
//! `update_va_mapping` and `update_va_mapping_otherdomain`.
//!
//! Every change of a page-table entry goes through the validating engine
//! ([`crate::mm::pv`]). Long batches are preempted every
//! [`BATCH_SLICE`] entries with a continuation as Xen makes one: the guest's
//! SYSCALL is re-executed with the arguments advanced and the count marked
//! preempted, the work done so far kept in `*pdone`. Inside a multicall,
//! batches run to completion. A failed batch stops at the failing entry
//! and reports in `*pdone` how many succeeded.

use dom0_abi::mmu::*;
use dom0_abi::xen::{DOMID_IO, DOMID_SELF, DOMID_XEN};
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::paging::maddr_to_virt;
use crate::arch::x86_64::uaccess::{range_ok, read_guest, write_guest};
use crate::domain::Vcpu;
use crate::mm::frame_table::{self, DirectMap};
use crate::mm::page::{Owner, PageType};
use crate::mm::pv::{Memory, MmError, ADDR_MASK, P, PSE};
use crate::mm::{m2p, PAGE_SIZE};

/// Entries processed before a batch is preempted.
pub const BATCH_SLICE: u32 = 4096;
/// Marks a resumed batch's count (Xen's internal `MMU_UPDATE_PREEMPTED`).
pub const MMU_UPDATE_PREEMPTED: u32 = 0x8000_0000;

fn errno(e: MmError) -> Errno {
    match e {
        MmError::Overflow | MmError::Busy(_) => Errno::EBUSY,
        MmError::NotPermitted(_) => Errno::EPERM,
        _ => Errno::EINVAL,
    }
}

/// Whose frames a batch acts on (its `foreigndom`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PgOwner {
    /// The caller's own.
    Own,
    /// The hypervisor's or device memory's pseudo-owners (`DOMID_XEN`,
    /// `DOMID_IO`), which a privileged caller may name; nothing the caller
    /// owns belongs to them.
    Special,
    /// Another domain, named by a privileged caller: L1 entries map its
    /// frames (foreign mappings), pins act on its page tables.
    Foreign(u16),
    /// Another domain, or `DOMID_XEN`, named by an unprivileged caller:
    /// Xen's permission check comes per request in `mmu_update` (after the
    /// request is read and its command decoded: `EFAULT` and `ENOSYS`
    /// first, nothing at all for an empty batch), at once in `mmuext_op`
    /// and `update_va_mapping_otherdomain`; always `EPERM`.
    Denied,
    /// `DOMID_IO` named by an unprivileged caller: Xen lets it through
    /// `mmu_update` (whose permission check skips `DOMID_IO`), where L1
    /// entries then map nothing (RAM is not the device owner's: `EBUSY`);
    /// `mmuext_op` and `update_va_mapping_otherdomain` refuse it (`EPERM`).
    Io,
}

/// The page owner `fd` names for `v`. Another domain must exist (else
/// `ESRCH`, whoever asks: Xen looks it up first; the caller's own id is
/// `ESRCH` too); only a privileged caller may name it (else
/// [`PgOwner::Denied`]).
fn check_foreigndom(v: &Vcpu, fd: u64) -> Result<PgOwner, Errno> {
    let fd = fd as u16;
    if fd == DOMID_SELF {
        Ok(PgOwner::Own)
    } else if fd == v.domain.domid {
        // Xen's page-owner lookup: "cannot specify itself as foreign
        // domain" (DOMID_SELF is how a domain names itself).
        Err(Errno::ESRCH)
    } else if v.domain.is_privileged && (fd == DOMID_XEN || fd == DOMID_IO) {
        Ok(PgOwner::Special)
    } else if fd == DOMID_IO {
        Ok(PgOwner::Io)
    } else if fd == DOMID_XEN {
        Ok(PgOwner::Denied)
    } else {
        match crate::domain::by_id(fd) {
            None => Err(Errno::ESRCH),
            Some(_) if !v.domain.is_privileged => Ok(PgOwner::Denied),
            Some(d) if d.dying.load(core::sync::atomic::Ordering::Acquire) => Err(Errno::ESRCH),
            Some(_) => Ok(PgOwner::Foreign(fd)),
        }
    }
}

/// Xen's page-table owner: the upper half of `mmu_update`'s foreigndom
/// names, plus one, the domain whose page tables the requests write. It is
/// looked up first (`ESRCH`); another domain than the caller is refused to
/// an unprivileged caller (`EPERM`, after the page owner's checks, as Xen
/// orders them). A privileged caller's foreign page-table owner is not
/// supported: its requests act on the caller's own tables.
fn check_pt_owner(v: &Vcpu, fd: u64) -> Result<(), Errno> {
    let pt_dom = (fd as u32) >> 16;
    if pt_dom == 0 {
        return Ok(());
    }
    let d = crate::domain::by_id((pt_dom - 1) as u16).ok_or(Errno::ESRCH)?;
    check_foreigndom(v, fd)?;
    if d.domid != v.domain.domid && !v.domain.is_privileged {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// The actor for L1 updates by `v` on behalf of `owner`'s frames.
fn actor_for(v: &Vcpu, owner: PgOwner) -> crate::mm::pv::Actor {
    let mut a = v.domain.actor();
    match owner {
        PgOwner::Foreign(id) => a.pg_owner = id,
        PgOwner::Io => a.pg_owner = DOMID_IO,
        _ => {}
    }
    a
}

/// Progress of a batch: entries done, resuming a preempted call if marked.
/// The checks Xen makes at the start of `mmu_update` and `mmuext_op`,
/// before looking at any domain: a continuation that only carries a result
/// back (count `MMU_UPDATE_PREEMPTED`, a null list: the result is the
/// foreigndom argument), then the list's start address (Xen's
/// `guest_handle_okay`: `EFAULT` for the hypervisor's range or a
/// non-canonical address, whatever the count). `Some` ends the call.
fn batch_prologue(list: u64, count: u64, fd: u64) -> Option<HcResult> {
    if count as u32 == MMU_UPDATE_PREEMPTED && list == 0 {
        return Some(Ok(i64::from(fd as u32 as i32)));
    }
    if !(list < 1 << 47 || list >= dom0_abi::arch_x86::HYPERVISOR_VIRT_END) {
        return Some(err(Errno::EFAULT));
    }
    None
}

/// The count without its preemption flag, and the progress so far (read
/// from `*pdone` when resuming; an unreadable one counts as 0, as on Xen).
fn start_batch(count: u64, pdone: u64) -> (u32, u32) {
    let mut count = count as u32;
    let mut done = 0;
    if count & MMU_UPDATE_PREEMPTED != 0 {
        count &= !MMU_UPDATE_PREEMPTED;
        if pdone != 0 {
            done = read_guest::<u32>(pdone).unwrap_or(0);
        }
    }
    (count, done)
}

/// Report progress in `*pdone`; as on Xen, a failed write is not an error
/// of the call.
fn report(pdone: u64, done: u32) {
    if pdone != 0 {
        let _ = write_guest(pdone, &done);
    }
}

/// One `mmu_update` request.
fn mmu_update_one(v: &mut Vcpu, owner: PgOwner, req: MmuUpdate) -> Result<(), Errno> {
    let cmd = req.ptr & MMU_UPDATE_CMD_MASK;
    let ptr = req.ptr & !MMU_UPDATE_CMD_MASK;
    let mfn = ptr >> 12;
    let index = ((ptr & 0xfff) / 8) as usize;
    let a = actor_for(v, owner);
    let known = matches!(cmd, MMU_NORMAL_PT_UPDATE | MMU_PT_UPDATE_PRESERVE_AD | MMU_PT_UPDATE_NO_TRANSLATE | MMU_MACHPHYS_UPDATE);
    if known && owner == PgOwner::Denied {
        return Err(Errno::EPERM);
    }
    match cmd {
        // Without translation (a PV domain's frames are machine frames)
        // NO_TRANSLATE is a normal update.
        MMU_NORMAL_PT_UPDATE | MMU_PT_UPDATE_PRESERVE_AD | MMU_PT_UPDATE_NO_TRANSLATE => {
            let preserve = cmd == MMU_PT_UPDATE_PRESERVE_AD;
            frame_table::with(|m| {
                let info = m.info(mfn).ok_or(Errno::EINVAL)?;
                if info.owner != Owner::Domain(a.domid) {
                    return Err(Errno::EINVAL);
                }
                match info.ty.level() {
                    // The table's page lock is taken there: if the page
                    // stopped being that table meanwhile, EINVAL.
                    Some(level) => m.mod_entry(mfn, level, index, req.val, preserve, a).map_err(errno),
                    None if preserve => Err(Errno::EINVAL),
                    None => {
                        // Not a page table: an ordinary, checked write.
                        m.get_page_and_type(mfn, PageType::Writable, a).map_err(errno)?;
                        m.mem.write(mfn, index, req.val);
                        m.put_page_and_type(mfn);
                        Ok(())
                    }
                }
            })
        }
        MMU_MACHPHYS_UPDATE => {
            let mine = match owner {
                PgOwner::Own => v.domain.owns(mfn),
                PgOwner::Foreign(id) => frame_table::owner(mfn) == Owner::Domain(id),
                PgOwner::Special | PgOwner::Io | PgOwner::Denied => false,
            };
            if !mine {
                return Err(Errno::EINVAL);
            }
            m2p::set(mfn, req.val);
            Ok(())
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// Run a preemptible batch of `T` entries at `list`: each through `one`,
/// stopping at the first failure; progress in `*pdone`; a continuation
/// after [`BATCH_SLICE`] entries (outside multicalls).
fn run_batch<T: dom0_abi::Pod>(
    v: &mut Vcpu,
    list: u64,
    count: u64,
    pdone: u64,
    fd: u64,
    one: fn(&mut Vcpu, PgOwner, T) -> Result<(), Errno>,
) -> HcResult {
    let (count, mut done) = start_batch(count, pdone);
    let owner = check_foreigndom(v, fd)?;
    let size = core::mem::size_of::<T>() as u64;
    for i in 0..count {
        if i == BATCH_SLICE && !v.in_multicall {
            report(pdone, done);
            v.continuation = Some([list + u64::from(i) * size, u64::from((count - i) | MMU_UPDATE_PREEMPTED), pdone, fd, 0, 0]);
            return Ok(0);
        }
        let entry: T = read_guest(list + u64::from(i) * size).map_err(|_| Errno::EFAULT)?;
        if let Err(e) = one(v, owner, entry) {
            report(pdone, done);
            return err(e);
        }
        done += 1;
    }
    report(pdone, done);
    Ok(0)
}

/// `mmu_update(reqs, count, pdone, foreigndom)`.
pub fn mmu_update(v: &mut Vcpu, reqs: u64, count: u64, pdone: u64, fd: u64) -> HcResult {
    if let Some(r) = batch_prologue(reqs, count, fd) {
        return r;
    }
    check_pt_owner(v, fd)?;
    run_batch(v, reqs, count, pdone, fd, mmu_update_one)
}

fn flush_all() {
    crate::mm::tlbflush::flush_local();
}

fn invlpg(va: u64) {
    x86_64::instructions::tlb::flush(x86_64::VirtAddr::new_truncate(va));
}

use crate::pv::canonical;

/// Switch the kernel (or user) page-table base to `mfn`.
fn new_baseptr(v: &mut Vcpu, mfn: u64, user: bool) -> Result<(), Errno> {
    let a = v.domain.actor();
    if !(user && mfn == 0) {
        frame_table::with(|m| m.get_page_and_type(mfn, PageType::L4, a)).map_err(errno)?;
    }
    let old = if user { core::mem::replace(&mut v.guest_table_user, mfn) } else { core::mem::replace(&mut v.guest_table, mfn) };
    crate::pv::load_guest_context(v);
    if old != 0 {
        frame_table::with(|m| m.put_page_and_type(old));
    }
    Ok(())
}

/// One `mmuext_op`.
fn mmuext_one(v: &mut Vcpu, owner: PgOwner, op: MmuextOp) -> Result<(), Errno> {
    if owner == PgOwner::Io {
        return Err(Errno::EPERM);
    }
    let a = match owner {
        // Pins act on the foreign domain's tables, validated as its own.
        PgOwner::Foreign(id) => {
            let d = crate::domain::by_id(id).ok_or(Errno::ESRCH)?;
            d.actor()
        }
        _ => v.domain.actor(),
    };
    let pin = |level| frame_table::with(|m| m.pin(op.arg1, PageType::table(level), a)).map_err(errno);
    let is_pin = matches!(
        op.cmd,
        MMUEXT_PIN_L1_TABLE | MMUEXT_PIN_L2_TABLE | MMUEXT_PIN_L3_TABLE | MMUEXT_PIN_L4_TABLE | MMUEXT_UNPIN_TABLE
    );
    // As Xen: with another page owner, the commands on the caller's own
    // address space are EPERM and unknown ones ENOSYS; pins act on the
    // foreign domain's frames (clearing and copying foreign pages is not
    // offered: EPERM). The hypervisor's and device memory's pseudo-owners
    // own none of the frames a guest could name (EINVAL).
    // (MARK_SUPER and UNMARK_SUPER are EOPNOTSUPP whoever owns the page.)
    let checked = op.cmd < MMUEXT_MARK_SUPER;
    if matches!(owner, PgOwner::Foreign(_) | PgOwner::Special) && !is_pin && checked {
        return Err(Errno::EPERM);
    }
    if owner == PgOwner::Special && checked {
        return Err(Errno::EINVAL);
    }
    match op.cmd {
        MMUEXT_PIN_L1_TABLE => pin(1),
        MMUEXT_PIN_L2_TABLE => pin(2),
        MMUEXT_PIN_L3_TABLE => pin(3),
        MMUEXT_PIN_L4_TABLE => pin(4),
        MMUEXT_UNPIN_TABLE => frame_table::with(|m| m.unpin(op.arg1, a)).map_err(errno),
        MMUEXT_NEW_BASEPTR => new_baseptr(v, op.arg1, false),
        MMUEXT_NEW_USER_BASEPTR => new_baseptr(v, op.arg1, true),
        MMUEXT_TLB_FLUSH_LOCAL => {
            flush_all();
            Ok(())
        }
        MMUEXT_INVLPG_LOCAL => {
            if canonical(op.arg1) {
                invlpg(op.arg1);
            }
            Ok(())
        }
        MMUEXT_TLB_FLUSH_ALL | MMUEXT_INVLPG_ALL | MMUEXT_TLB_FLUSH_MULTI | MMUEXT_INVLPG_MULTI => {
            if matches!(op.cmd, MMUEXT_TLB_FLUSH_MULTI | MMUEXT_INVLPG_MULTI) {
                // The vCPU mask must be readable.
                read_guest::<u64>(op.arg2).map_err(|_| Errno::EFAULT)?;
            }
            if op.cmd == MMUEXT_INVLPG_ALL || op.cmd == MMUEXT_INVLPG_MULTI {
                if canonical(op.arg1) {
                    invlpg(op.arg1);
                }
            } else {
                flush_all();
            }
            // Other CPUs (whole flushes: the vCPUs named may run on any).
            crate::mm::tlbflush::flush_others();
            Ok(())
        }
        MMUEXT_FLUSH_CACHE | MMUEXT_FLUSH_CACHE_GLOBAL => {
            if !v.domain.is_privileged {
                return Err(Errno::EACCES);
            }
            // SAFETY: writes back and invalidates caches; no memory effect.
            unsafe { core::arch::asm!("wbinvd", options(nostack)) };
            Ok(())
        }
        MMUEXT_SET_LDT => super::descriptor::set_ldt(v, op.arg1, op.arg2),
        MMUEXT_CLEAR_PAGE => frame_table::with(|m| {
            m.get_page_and_type(op.arg1, PageType::Writable, a).map_err(errno)?;
            // SAFETY: a frame the domain owns, typed writable: plain memory.
            unsafe { core::ptr::write_bytes(maddr_to_virt(op.arg1 << 12) as *mut u8, 0, PAGE_SIZE as usize) };
            m.put_page_and_type(op.arg1);
            Ok(())
        }),
        MMUEXT_COPY_PAGE => frame_table::with(|m| {
            m.get_page(op.arg2, a.domid).map_err(errno)?;
            if let Err(e) = m.get_page_and_type(op.arg1, PageType::Writable, a) {
                m.put_page(op.arg2);
                return Err(errno(e));
            }
            // SAFETY: both frames are the domain's; the destination is plain
            // writable memory; distinct frames or the same one (a no-op).
            unsafe {
                core::ptr::copy(
                    maddr_to_virt(op.arg2 << 12) as *const u8,
                    maddr_to_virt(op.arg1 << 12) as *mut u8,
                    PAGE_SIZE as usize,
                )
            };
            m.put_page_and_type(op.arg1);
            m.put_page(op.arg2);
            Ok(())
        }),
        MMUEXT_MARK_SUPER | MMUEXT_UNMARK_SUPER => Err(Errno::EOPNOTSUPP),
        _ => Err(Errno::ENOSYS),
    }
}

/// `mmuext_op(ops, count, pdone, foreigndom)`.
pub fn mmuext_op(v: &mut Vcpu, ops: u64, count: u64, pdone: u64, fd: u64) -> HcResult {
    if let Some(r) = batch_prologue(ops, count, fd) {
        return r;
    }
    // Xen's permission check on the page owner comes before any
    // operation: DOMID_IO, DOMID_XEN and other domains are refused to an
    // unprivileged caller even with nothing to do.
    if matches!(check_foreigndom(v, fd)?, PgOwner::Io | PgOwner::Denied) {
        return err(Errno::EPERM);
    }
    run_batch(v, ops, count, pdone, fd, mmuext_one)
}

/// The L1 table mapping `va` in `v`'s current address space, walking only
/// validated page tables.
pub fn l1_for(v: &Vcpu, va: u64) -> Option<u64> {
    let root = if v.kernel_mode || v.guest_table_user == 0 { v.guest_table } else { v.guest_table_user };
    frame_table::with(|m| {
        let mut table = root;
        for level in (2..=4u32).rev() {
            if m.page_type(table)? != PageType::table(level) {
                return None;
            }
            let e = DirectMap.read(table, crate::arch::x86_64::paging::index(va, level));
            if e & P == 0 || e & PSE != 0 {
                return None;
            }
            table = (e & ADDR_MASK) >> 12;
        }
        (m.page_type(table)? == PageType::L1).then_some(table)
    })
}

fn flush_after(va: u64, flags: u64) -> Result<(), Errno> {
    // Beyond the flush type: UVMF_LOCAL/UVMF_ALL or a vCPU-mask pointer,
    // which must be readable.
    let target = flags & !UVMF_FLUSHTYPE_MASK;
    if flags & UVMF_FLUSHTYPE_MASK != UVMF_NONE && target != UVMF_LOCAL && target != UVMF_ALL {
        read_guest::<u64>(target).map_err(|_| Errno::EFAULT)?;
    }
    match flags & UVMF_FLUSHTYPE_MASK {
        UVMF_INVLPG => invlpg(va),
        UVMF_TLB_FLUSH => flush_all(),
        _ => return Ok(()),
    }
    if target != UVMF_LOCAL {
        // All vCPUs or a mask of them: they may run on other CPUs.
        crate::mm::tlbflush::flush_others();
    }
    Ok(())
}

/// `update_va_mapping(va, val, flags)`.
pub fn update_va_mapping(v: &mut Vcpu, va: u64, val: u64, flags: u64) -> HcResult {
    if !range_ok(va, 1) || !canonical(va) {
        return err(Errno::EINVAL);
    }
    let Some(l1) = l1_for(v, va) else { return err(Errno::EINVAL) };
    let a = v.domain.actor();
    let index = crate::arch::x86_64::paging::index(va, 1);
    frame_table::with(|m| m.mod_entry(l1, 1, index, val, false, a)).map_err(errno)?;
    flush_after(va, flags)?;
    Ok(0)
}

/// `update_va_mapping_otherdomain(va, val, flags, domid)`.
pub fn update_va_mapping_otherdomain(v: &mut Vcpu, va: u64, val: u64, flags: u64, domid: u64) -> HcResult {
    match check_foreigndom(v, domid)? {
        PgOwner::Own => {}
        PgOwner::Io | PgOwner::Denied => return err(Errno::EPERM),
        _ => return err(Errno::EINVAL),
    }
    update_va_mapping(v, va, val, flags)
}
